/**
 * The volume claim's TypeScript half against the Go vector set (commitment and
 * reference outputs, bit for bit) and its input checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isVeriteeError } from '@veritee/core';
import { computeVolumeOutputs, validateVolumeData, validateVolumeParams, volumeClaim, volumeCommitment, type VolumeParams } from './volume.js';

const path = fileURLToPath(new URL('../../src/claims/testdata/volume-vectors.json', import.meta.url));
const V = JSON.parse(readFileSync(path, 'utf8')) as {
  vectors: { salt: string; periodStartUs: number; periodEndUs: number; thresholdPerMin: number; times: number[]; commitment: string; n: number; ratePerMin: number; scaleOut: boolean }[];
};

test('commitment and reference outputs equal the Go vectors', () => {
  assert.ok(V.vectors.length >= 9);
  for (const v of V.vectors) {
    const p: VolumeParams = { periodStartUs: v.periodStartUs, periodEndUs: v.periodEndUs, thresholdPerMin: v.thresholdPerMin };
    const d = { times: v.times };
    volumeClaim.check(p, d);
    assert.equal(volumeCommitment(BigInt(v.salt), p, d).toString(), v.commitment, `n = ${v.n}`);
    assert.deepEqual(computeVolumeOutputs(p, d), { n: v.n, ratePerMin: v.ratePerMin, scaleOut: v.scaleOut }, `n = ${v.n}`);
  }
  // the vectors cover both decisions
  assert.ok(V.vectors.some((v) => v.scaleOut) && V.vectors.some((v) => !v.scaleOut));
});

test('the decision is strict and exact: at the threshold there is no scale-out', () => {
  const p = { periodStartUs: 0, periodEndUs: 120_000_000, thresholdPerMin: 20 };
  assert.deepEqual(computeVolumeOutputs(p, { times: Array.from({ length: 40 }, (_, i) => i) }), { n: 40, ratePerMin: 20, scaleOut: false });
  assert.deepEqual(computeVolumeOutputs(p, { times: Array.from({ length: 41 }, (_, i) => i) }), { n: 41, ratePerMin: 20, scaleOut: true });
});

test('bad inputs carry codes naming the request', () => {
  const p = { periodStartUs: 0, periodEndUs: 60_000_000, thresholdPerMin: 1 };
  const code = (f: () => void, c: string, re?: RegExp) => assert.throws(f, (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test(e.message)));
  code(() => validateVolumeData(p, { times: [] }), 'INPUT_FILE_EMPTY');
  code(() => validateVolumeData(p, { times: [1, 60_000_000] }), 'RECORD_OUTSIDE_PERIOD', /request 2/);
  code(() => validateVolumeData(p, { times: [1, -1] }), 'RECORD_FIELD_INVALID', /request 2/);
  code(() => validateVolumeData({ ...p, periodEndUs: 2 ** 43 }, { times: [2 ** 42] }), 'RECORD_VALUE_TOO_LARGE');
  code(() => validateVolumeData(p, { times: new Array(65537).fill(0) }), 'CLAIM_TOO_MANY_RECORDS');
  code(() => validateVolumeParams({ ...p, thresholdPerMin: 2 ** 32 }), 'CLAIM_PARAMS_INVALID');
  code(() => validateVolumeParams({ ...p, periodEndUs: 0 }), 'PERIOD_INVALID');
  assert.equal(volumeClaim.capacityFor(p, { times: new Array(1025).fill(0) }), 16384);
  assert.match(volumeClaim.misfit(1024, p, { times: new Array(1025).fill(0) })!, /cannot hold 1025/);
});
