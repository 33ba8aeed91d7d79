/**
 * The order-statistics claim's reference semantics (ties, n = 1, all equal,
 * even n, nearest ranks at the edges, a full class), checked against a naive
 * definition on random windows, and its input checks. Its agreement with the
 * circuit: claims/vectors.test.ts (Go vectors); proofs: prove-streamorder.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { capacityOf } from './claim.js';
import { expectationMismatches, formatExpectation, parseExpectationText, resolveExpectation } from './expect.js';
import { streamAggClaim } from './streamagg.js';
import { computeStreamOrderOutputs, streamOrderClaim, streamOrderRank, validateStreamOrderParams, STREAMORDER_TOP_N } from './streamorder.js';

const p = { periodStartUs: 1_000_000, periodEndUs: 2_000_000, percentileBp: 9000 };
const win = (values: number[]) => ({ readings: values.map((value, i) => ({ ts: 1_000_000 + i, value, salt: String(i + 1) })) });

test('outputs of a window with ties', () => {
  // sorted 3 3 7 7 7 9 12 15 20 20
  assert.deepEqual(computeStreamOrderOutputs(p, win([7, 20, 3, 12, 7, 9, 20, 3, 15, 7])), {
    n: 10, min: 3, max: 20, median: 7, percentile: 20, topSum: 20 + 20 + 15 + 12 + 9, bottomSum: 3 + 3 + 7 + 7 + 7, distinct: 6,
  });
});

test('edges: n = 1, all equal, even n (lower median), fewer than 5 readings, values at 0 and 2^32 - 1', () => {
  assert.deepEqual(computeStreamOrderOutputs(p, win([42])), { n: 1, min: 42, max: 42, median: 42, percentile: 42, topSum: 42, bottomSum: 42, distinct: 1 });
  const same = computeStreamOrderOutputs(p, win(new Array(7).fill(5)));
  assert.deepEqual([same.distinct, same.median, same.topSum, same.bottomSum], [1, 5, 25, 25]);
  const even = computeStreamOrderOutputs({ ...p, percentileBp: 5001 }, win([60, 10, 50, 20, 40, 30]));
  assert.equal(even.median, 30); // w_3, not w_4 nor (30 + 40) / 2
  assert.equal(even.percentile, 40); // rank ceil(3.0006) = 4
  const two = computeStreamOrderOutputs(p, win([4, 1]));
  assert.deepEqual([two.median, two.topSum, two.bottomSum], [1, 5, 5]);
  const extremes = computeStreamOrderOutputs({ ...p, percentileBp: 1 }, win([0, 2 ** 32 - 1, 0]));
  assert.deepEqual([extremes.min, extremes.max, extremes.percentile, extremes.distinct, extremes.topSum], [0, 2 ** 32 - 1, 0, 2, 2 ** 32 - 1]);
  const full = computeStreamOrderOutputs({ ...p, percentileBp: 10000 }, win(Array.from({ length: 256 }, (_, i) => (i * 7919) % 50)));
  assert.deepEqual([full.n, full.percentile, full.max, full.distinct], [256, 49, 49, 50]);
});

test('nearest rank in integers: ceil(p·n / 10000), never 0, never past n', () => {
  assert.equal(streamOrderRank(1, 1), 1);
  assert.equal(streamOrderRank(10000, 256), 256);
  assert.equal(streamOrderRank(5000, 10), 5);
  assert.equal(streamOrderRank(5001, 10), 6);
  assert.equal(streamOrderRank(9500, 180), 171);
  assert.equal(streamOrderRank(9999, 1024), 1024);
});

test('the reference agrees with a naive definition on random windows', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let trial = 0; trial < 150; trial++) {
    const n = 1 + Math.floor(rand() * 300);
    const span = [1, 3, 1000, 2 ** 32][Math.floor(rand() * 4)]!;
    const values = Array.from({ length: n }, () => Math.floor(rand() * span));
    const pb = 1 + Math.floor(rand() * 10000);
    const o = computeStreamOrderOutputs({ ...p, percentileBp: pb }, win(values));
    // the k-th smallest: #{< v} < k <= #{<= v}
    const kth = (k: number) => values.find((v) => values.filter((u) => u < v).length < k && k <= values.filter((u) => u <= v).length)!;
    const m = Math.min(STREAMORDER_TOP_N, n);
    let top = 0;
    let bottom = 0;
    for (let k = 1; k <= m; k++) {
      bottom += kth(k);
      top += kth(n + 1 - k);
    }
    assert.deepEqual(o, { n, min: kth(1), max: kth(n), median: kth(Math.ceil(n / 2)), percentile: kth(Math.ceil((pb * n) / 10000)), topSum: top, bottomSum: bottom, distinct: new Set(values).size }, `trial ${trial}`);
  }
});

test('the commitment is the stream-window claim\'s over the same signed digests', () => {
  const d = win([5, 1, 9]);
  assert.equal(streamOrderClaim.commit(p, d, 0n), streamAggClaim.commit({ ...p, threshold: 0 }, d, 0n));
});

test('bad inputs and outputs carry codes', () => {
  const code = (f: () => void, c: string, re?: RegExp) => assert.throws(f, (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test(e.message)));
  code(() => computeStreamOrderOutputs(p, { readings: [] }), 'INPUT_FILE_EMPTY');
  code(() => streamOrderClaim.check(p, { readings: [] }), 'INPUT_FILE_EMPTY');
  code(() => streamOrderClaim.check(p, win([2 ** 32])), 'RECORD_VALUE_TOO_LARGE');
  code(() => streamOrderClaim.check(p, { readings: [{ ts: 2_000_000, value: 1, salt: '1' }] }), 'RECORD_OUTSIDE_PERIOD', /reading 1/);
  code(() => validateStreamOrderParams({ ...p, percentileBp: 0 }), 'CLAIM_PARAMS_INVALID');
  code(() => validateStreamOrderParams({ ...p, percentileBp: 10001 }), 'CLAIM_PARAMS_INVALID');
  code(() => validateStreamOrderParams({ ...p, periodEndUs: p.periodStartUs }), 'PERIOD_INVALID');
  const o = computeStreamOrderOutputs(p, win([7, 20, 3]));
  streamOrderClaim.validate(p, o, 256);
  code(() => streamOrderClaim.validate(p, { ...o, median: 21 }, 256), 'ZK_PUBLIC_INPUT_MISMATCH', /median/);
  code(() => streamOrderClaim.validate(p, { ...o, distinct: 4 }, 256), 'ZK_PUBLIC_INPUT_MISMATCH', /distinct/);
  code(() => streamOrderClaim.validate(p, { ...o, n: 257 }, 256), 'ZK_PUBLIC_INPUT_MISMATCH', /n = 257/);
  code(() => streamOrderClaim.validate(p, { ...o, max: 2 ** 32 }, 256), 'ZK_PUBLIC_INPUT_MISMATCH', /max/);
  assert.equal(capacityOf(streamOrderClaim, p, win(new Array(180).fill(1))), 192);
  assert.equal(capacityOf(streamOrderClaim, p, win(new Array(193).fill(1))), 256);
  assert.equal(capacityOf(streamOrderClaim, p, win(new Array(257).fill(1))), 1024);
});

test('a verifier pins the window and the percentile with --expect', () => {
  const claim = { kind: 'streamorder', params: { periodStartUs: 1_750_000_000_000_000, periodEndUs: 1_750_000_900_000_000, percentileBp: 9500 } };
  const mismatches = (text: string) => expectationMismatches(claim, resolveExpectation(parseExpectationText(text), claim.kind));
  assert.equal(formatExpectation(claim), 'kind=streamorder,period=2025-06-15T15:06:40Z/2025-06-15T15:21:40Z,percentile=95');
  assert.deepEqual(mismatches('percentile=95'), []);
  assert.deepEqual(mismatches('percentileBp=9500'), []);
  assert.deepEqual(mismatches('percentile=99').map((m) => `${m.name}: ${m.expected}/${m.found}`), ['percentile: 99/95']);
});
