/**
 * The stream-window claim's reference semantics at their edges and its input
 * checks (its agreement with Go: claims/vectors.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { capacityOf } from './claim.js';
import { computeStreamAggOutputs, streamAggClaim, streamReadingDigest, streamWindowCommitment, validateStreamAggData, validateStreamAggParams } from './streamagg.js';

const p = { periodStartUs: 1_000_000, periodEndUs: 2_000_000, threshold: 10 };
const rd = (ts: number, value: number, salt = '7') => ({ ts, value, salt });

test('sum, mean rounded down, and a strict threshold', () => {
  assert.deepEqual(computeStreamAggOutputs(p, { readings: [rd(1_000_000, 10), rd(1_500_000, 11), rd(1_999_999, 0)] }), { n: 3, sum: 21, mean: 7, above: 1 });
});

test('the commitment binds every reading, its order and the window', () => {
  const readings = [rd(1_000_000, 10, '1'), rd(1_500_000, 11, '2')];
  const c = streamAggClaim.commit(p, { readings }, 0n);
  assert.equal(c, streamWindowCommitment(p, readings.map(streamReadingDigest)));
  assert.notEqual(streamAggClaim.commit(p, { readings: [readings[1]!, readings[0]!] }, 0n), c);
  assert.notEqual(streamAggClaim.commit(p, { readings: [readings[0]!, { ...readings[1]!, value: 12 }] }, 0n), c);
  assert.notEqual(streamAggClaim.commit(p, { readings: [readings[0]!, { ...readings[1]!, salt: '3' }] }, 0n), c);
  assert.notEqual(streamAggClaim.commit({ ...p, periodEndUs: 2_000_001 }, { readings }, 0n), c);
  assert.notEqual(streamAggClaim.commit(p, { readings: readings.slice(0, 1) }, 0n), c);
  // the bundle salt opens nothing here
  assert.equal(streamAggClaim.commit(p, { readings }, 99n), c);
});

test('bad inputs carry codes naming the reading', () => {
  const code = (f: () => void, c: string, re?: RegExp) => assert.throws(f, (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test(e.message)));
  code(() => validateStreamAggData(p, { readings: [] }), 'INPUT_FILE_EMPTY');
  code(() => validateStreamAggData(p, { readings: [rd(1_000_000, 1), rd(2_000_000, 1)] }), 'RECORD_OUTSIDE_PERIOD', /reading 2/);
  code(() => validateStreamAggData(p, { readings: [rd(999_999, 1)] }), 'RECORD_OUTSIDE_PERIOD', /reading 1/);
  code(() => validateStreamAggData(p, { readings: [rd(1_000_000, 2 ** 32)] }), 'RECORD_VALUE_TOO_LARGE');
  code(() => validateStreamAggData(p, { readings: [rd(1_000_000, -1)] }), 'RECORD_FIELD_INVALID');
  code(() => validateStreamAggData(p, { readings: [rd(1_000_000, 1, '0x10')] }), 'RECORD_FIELD_INVALID', /salt/);
  code(() => validateStreamAggData(p, { readings: new Array(1025).fill(rd(1_000_000, 1)) }), 'CLAIM_TOO_MANY_RECORDS');
  code(() => validateStreamAggParams({ ...p, threshold: 2 ** 32 }), 'CLAIM_PARAMS_INVALID');
  code(() => validateStreamAggParams({ ...p, periodEndUs: 1_000_000 }), 'PERIOD_INVALID');
  assert.equal(capacityOf(streamAggClaim, p, { readings: new Array(257).fill(rd(1_000_000, 1)) }), 1024);
});
