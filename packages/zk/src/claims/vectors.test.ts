/**
 * Every claim's TypeScript half against its Go vector set (one per claim, all
 * written by prover/internal/circuits/vectors_test.go from the Go registry):
 * the public inputs rebuilt from the commitment, the parameters and the
 * reference outputs equal the ones Go's witness yields, bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../testing/home.js';
import { fromProverInputOf, proverInputOf } from './claim.js';
import { LEGACY_CLAIMS, claimDefinitions, claimKinds } from './registry.js';

const dir = join(repoRoot(), 'packages/zk/src/claims/testdata');
const regen = 'VERITEE_WRITE_VECTORS=1 go test ./internal/circuits -run TestVectors (in prover/)';

interface VectorSet {
  kind: string;
  version: number;
  vectors: { capacity: number; input: Record<string, unknown>; publicInputs: string[] }[];
}

/** The newest version of a claim has <kind>-vectors.json, an older one <kind>-v<N>-vectors.json. */
const vectorFile = (def: { kind: string; version: number }, legacy: boolean) => (legacy ? `${def.kind}-v${def.version}-vectors.json` : `${def.kind}-vectors.json`);
const checked = [...claimDefinitions().map((def) => ({ def, file: vectorFile(def, false) })), ...LEGACY_CLAIMS.map((def) => ({ def, file: vectorFile(def, true) }))];

for (const { def, file } of checked) {
  test(`${def.kind} v${def.version}: commitment and public inputs equal the Go vectors`, () => {
    const path = join(dir, file);
    assert.ok(existsSync(path), `${def.kind} has no vector set: ${regen}`);
    const set = JSON.parse(readFileSync(path, 'utf8')) as VectorSet;
    assert.deepEqual([set.kind, set.version], [def.kind, def.version], `${path} is stale: ${regen}`);
    assert.ok(set.vectors.length >= 3);
    set.vectors.forEach((v, i) => {
      const { params, data, salt, commitment } = fromProverInputOf(def, v.input, v.capacity);
      def.check(params, data);
      assert.equal(def.misfit(v.capacity, params, data), undefined);
      assert.deepEqual(proverInputOf(def, params, data, salt), v.input, `${def.kind} vector ${i}: the prover input round-trips`);
      const outputs = def.compute(params, data);
      def.validate(params, outputs, v.capacity);
      const got = def.publicInputs(commitment ?? def.commit(params, data, salt), params, outputs).map(String);
      assert.deepEqual(got, v.publicInputs, `${def.kind} vector ${i}`);
    });
  });
}

test('every vector set names a registered claim version', () => {
  assert.ok(claimKinds().length > 0);
  const files = new Set(checked.map((c) => c.file));
  for (const f of readdirSync(dir).filter((f) => f.endsWith('-vectors.json'))) assert.ok(files.has(f), `${f} names no claim version`);
});
