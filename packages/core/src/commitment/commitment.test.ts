import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { latencyCommitment, packLatencyRecords, poseidon2Permute, poseidon2Sponge } from './index.js';
import { isVeriteeError } from '../errors.js';

// Works from src/commitment (tsx) and dist/commitment (compiled): both are two
// levels below the package root.
const vectorsPath = fileURLToPath(new URL('../../src/commitment/testdata/poseidon2-vectors.json', import.meta.url));
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8')) as {
  permutation: { in: string[]; out: string[] }[];
  sponge: { in: string[]; digest: string }[];
};

test('Poseidon2 permutation agrees with gnark-crypto', () => {
  assert.ok(vectors.permutation.length >= 3);
  for (const v of vectors.permutation) {
    const st = v.in.map(BigInt);
    poseidon2Permute(st);
    assert.deepEqual(st.map(String), v.out);
  }
});

test('sponge agrees with Go for every length (block boundaries included)', () => {
  for (const v of vectors.sponge) assert.equal(poseidon2Sponge(v.in.map(BigInt)).toString(), v.digest, `length ${v.in.length}`);
});

test('any change to the data changes the commitment', () => {
  const records = [5, 9, 100, 2000, 2 ** 42 - 2, 2 ** 42 - 1, 7, 7];
  const base = { salt: 2n ** 247n + 1n, periodStartUs: 1_750_000_000_000_000, periodEndUs: 1_750_086_400_000_000, records };
  const c = latencyCommitment(base).toString();
  const recs = [...records];
  recs[3] = recs[3]! + 1;
  assert.notEqual(latencyCommitment({ ...base, records: recs }).toString(), c);
  assert.notEqual(latencyCommitment({ ...base, salt: base.salt + 1n }).toString(), c);
  assert.notEqual(latencyCommitment({ ...base, periodEndUs: base.periodEndUs + 1 }).toString(), c);
  assert.notEqual(latencyCommitment({ ...base, records: records.slice(0, -2) }).toString(), c);
});

test('offsets of 2^42 or negative are refused with a code', () => {
  for (const bad of [[2 ** 42, 2 ** 42], [-1, 5], [1.5, 2]]) {
    assert.throws(() => packLatencyRecords(bad), (e: unknown) => isVeriteeError(e, 'RECORD_VALUE_TOO_LARGE'));
  }
});
