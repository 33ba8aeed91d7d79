/**
 * The claim catalogue agrees across languages and with the README: every
 * TypeScript definition has a Go circuit of the same version and size classes
 * (and the reverse), and the README's claim table is the one rendered from both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../testing/home.js';
import { claimDefinitions } from './registry.js';
import { catalogueMismatches, CLAIM_TABLE_BEGIN, CLAIM_TABLE_END, renderClaimTable, type GoCatalogueEntry } from './table.js';

const root = repoRoot();
const go = JSON.parse(readFileSync(join(root, 'prover/internal/circuits/testdata/catalogue.json'), 'utf8')) as GoCatalogueEntry[];

test('the TypeScript claim definitions and the Go circuit registry agree', () => {
  assert.deepEqual(catalogueMismatches(claimDefinitions(), go), []);
  // and the check notices a disagreement
  const bumped = go.map((e) => (e.name === 'latency' ? { ...e, version: e.version + 1 } : e));
  assert.deepEqual(catalogueMismatches(claimDefinitions(), bumped), ['latency: version 3 in TypeScript, 4 in Go']);
  assert.deepEqual(catalogueMismatches(claimDefinitions(), go.slice(1)), [`${go[0]!.name}: no Go circuit`]);
});

test('the README claim table is generated from the catalogue (node scripts/gen-claims-table.mjs)', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const a = readme.indexOf(CLAIM_TABLE_BEGIN);
  const b = readme.indexOf(CLAIM_TABLE_END);
  assert.ok(a >= 0 && b > a, 'README.md has the claim table markers');
  assert.equal(readme.slice(a, b + CLAIM_TABLE_END.length), renderClaimTable(claimDefinitions(), go), 'README claim table is stale: run node scripts/gen-claims-table.mjs');
  for (const d of claimDefinitions()) assert.match(readme.slice(a, b), new RegExp(`\\| \`${d.kind}\` \\| ${d.version} \\|`));
});
