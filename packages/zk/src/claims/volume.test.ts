/**
 * The volume claim's decision at its edge and its input checks (its agreement
 * with Go: claims/vectors.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { computeVolumeOutputs, validateVolumeData, validateVolumeParams, volumeClaim } from './volume.js';
import { capacityOf } from './claim.js';

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
  assert.equal(capacityOf(volumeClaim, p, { times: new Array(1025).fill(0) }), 16384);
  assert.throws(() => capacityOf(volumeClaim, p, { times: new Array(65537).fill(0) }), (e: unknown) => isVeriteeError(e, 'CLAIM_TOO_MANY_RECORDS') && /cannot hold 65537 requests, the largest/.test(e.message));
  assert.match(volumeClaim.misfit(1024, p, { times: new Array(1025).fill(0) })!, /cannot hold 1025/);
});
