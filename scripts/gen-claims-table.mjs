#!/usr/bin/env node
// Regenerates the claim table in README.md (between the claims markers) from the
// TypeScript claim definitions (packages/zk, compiled) and the Go catalogue
// (prover/internal/circuits/testdata/catalogue.json). `npm run build` first.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { claimDefinitions } = await import(join(root, 'packages/zk/dist/claims/registry.js'));
const { renderClaimTable, CLAIM_TABLE_BEGIN, CLAIM_TABLE_END } = await import(join(root, 'packages/zk/dist/claims/table.js'));
const go = JSON.parse(readFileSync(join(root, 'prover/internal/circuits/testdata/catalogue.json'), 'utf8'));
const path = join(root, 'README.md');
const readme = readFileSync(path, 'utf8');
const a = readme.indexOf(CLAIM_TABLE_BEGIN);
const b = readme.indexOf(CLAIM_TABLE_END);
if (a < 0 || b < a) throw new Error('README.md has no claim table markers');
writeFileSync(path, readme.slice(0, a) + renderClaimTable(claimDefinitions(), go) + readme.slice(b + CLAIM_TABLE_END.length));
console.log(`README.md: ${claimDefinitions().length} claims`);
