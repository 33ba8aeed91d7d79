/**
 * Every error code is documented in docs/ERRORS.md and used somewhere in the
 * code (TypeScript or the Go prover), and every documented code exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, VeriteeError, toVeriteeError, isVeriteeError } from './errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'testdata' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|go)$/.test(name) && !/errors\.(test\.)?ts$/.test(name)) out.push(p);
  }
  return out;
}

test('docs/ERRORS.md documents exactly the codes of the table', () => {
  const doc = readFileSync(join(root, 'docs/ERRORS.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
  const codes = Object.keys(ERROR_CODES);
  for (const c of codes) assert.ok(documented.has(c), `${c} is missing from docs/ERRORS.md (run node scripts/gen-errors-doc.mjs)`);
  for (const c of documented) assert.ok(c in ERROR_CODES, `docs/ERRORS.md lists ${c}, which does not exist`);
});

test('every code is used somewhere in the code', () => {
  const text = [...sources(join(root, 'packages')), ...sources(join(root, 'prover'))].map((f) => readFileSync(f, 'utf8')).join('\n');
  const unused = Object.keys(ERROR_CODES).filter((c) => !text.includes(`'${c}'`) && !text.includes(`"${c}"`));
  assert.deepEqual(unused, [], `codes in the table that nothing uses: ${unused.join(', ')}`);
});

test('codes map to statuses; messages and details serialise without stacks', () => {
  const e = new VeriteeError('RECORD_OUTSIDE_PERIOD', 'record 3 starts outside the period', { record: 3 });
  assert.equal(e.info.exit, 2);
  assert.equal(e.info.http, 400);
  assert.deepEqual(e.toJSON(), { code: 'RECORD_OUTSIDE_PERIOD', message: 'record 3 starts outside the period', details: { record: 3 } });
  assert.equal(new VeriteeError('ZK_PROOF_INVALID', 'x').info.exit, 1);
  assert.equal(new VeriteeError('ZK_PROVER_UNAVAILABLE', 'x').info.exit, 3);
  const wrapped = toVeriteeError(new TypeError('boom'));
  assert.equal(wrapped.code, 'INTERNAL');
  assert.ok(isVeriteeError(wrapped, 'INTERNAL'));
  assert.equal(isVeriteeError(new Error('x')), false);
});
