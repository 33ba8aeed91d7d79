import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import {
  computeLatencyOutputs,
  formatSla,
  latencyCapacityFor,
  nearestRank,
  parseSla,
  validateLatencyRecords,
  NO_THRESHOLD_US,
  type LatencyParams,
} from './claims/latency.js';
import { parsePeriod, parseRecordsText, toPeriodOffsets } from './claims/records.js';

const code = (c: string) => (e: unknown) => isVeriteeError(e) && e.code === c;

test('SLA expressions parse into three slots', () => {
  const s = parseSla('p95<100ms,p99<500ms,min=10000');
  assert.equal(s.minN, 10000);
  assert.deepEqual(s.slots, [
    { percentileBp: 5000, thresholdUs: NO_THRESHOLD_US, enforce: false },
    { percentileBp: 9500, thresholdUs: 100_000, enforce: true },
    { percentileBp: 9900, thresholdUs: 500_000, enforce: true },
  ]);
  assert.equal(formatSla(s), 'p95<100ms,p99<500ms,min=10000');
  // other percentiles take the slots of unnamed defaults
  const t = parseSla('p99.9<2s,p90<80ms');
  assert.deepEqual(t.slots.map((x) => x.percentileBp), [5000, 9000, 9990], "p50 is kept; later defaults give way");
  assert.equal(t.slots[2]!.thresholdUs, 2_000_000);
  assert.equal(parseSla('p50<250us').slots[0]!.thresholdUs, 250);
});

test('bad SLA expressions are refused with SLA_INVALID and name the term', () => {
  for (const bad of ['', 'p95<=100ms', 'p95>100ms', 'p0<1ms', 'p101<1ms', 'p95<100', 'p95<100ms,p95<200ms', 'p90<1ms,p91<1ms,p92<1ms,p93<1ms', 'min=-1', 'p95<0ms', 'latency<3']) {
    assert.throws(() => parseSla(bad), code('SLA_INVALID'), bad);
  }
  assert.throws(() => parseSla('p95<=100ms'), /p95<=100ms/);
});

test('nearest rank matches the definition ceil(p/100 n)', () => {
  assert.equal(nearestRank(9500, 20), 19);
  assert.equal(nearestRank(9500, 1), 1);
  assert.equal(nearestRank(5000, 4), 2);
  assert.equal(nearestRank(10000, 7), 7);
  assert.equal(nearestRank(1, 100), 1);
});

test('reference computation: percentiles, counts at or over thresholds, verdict', () => {
  const params: LatencyParams = { periodStartUs: 0, periodEndUs: 1000, ...parseSla('p95<100us,p99<150us,min=3') };
  // latencies 1..20 us
  const recs: number[] = [];
  for (let i = 1; i <= 20; i++) recs.push(i, 2 * i);
  const o = computeLatencyOutputs(params, recs);
  assert.equal(o.n, 20);
  assert.deepEqual(o.slots.map((s) => s.valueUs), [10, 19, 20]);
  assert.deepEqual(o.slots.map((s) => s.exceeding), [0, 0, 0]);
  assert.equal(o.compliant, true);
  const strict = { ...params, ...parseSla('p95<19us,min=3') };
  const s = computeLatencyOutputs(strict, recs);
  assert.equal(s.compliant, false, 'p95 == bound is not < bound');
  assert.equal(s.slots[1]!.exceeding, 2, 'latencies 19 and 20 are at or over 19');
  assert.equal(computeLatencyOutputs({ ...params, minN: 21 }, recs).compliant, false);
});

test('records parse from CSV and JSONL with line-numbered errors', () => {
  assert.deepEqual(parseRecordsText('start_us,end_us\n10,20\n# comment\n\n30,45\n', 'csv'), [10, 20, 30, 45]);
  assert.deepEqual(parseRecordsText('10,20\n30,45', 'csv'), [10, 20, 30, 45]);
  assert.deepEqual(parseRecordsText('{"start_us":10,"end_us":20}\n{"start":30,"end":"45"}\n', 'jsonl'), [10, 20, 30, 45]);
  assert.throws(() => parseRecordsText('start_us,end_us\n10,abc\n', 'csv'), (e: unknown) => code('RECORD_FIELD_INVALID')(e) && /line 2/.test((e as Error).message));
  assert.throws(() => parseRecordsText('{"start_us":1}\n', 'jsonl'), code('RECORD_FIELD_INVALID'));
  assert.throws(() => parseRecordsText('not json\n', 'jsonl'), code('RECORD_FIELD_INVALID'));
  assert.throws(() => parseRecordsText('10,-5\n', 'csv'), code('RECORD_FIELD_INVALID'));
  assert.throws(() => parseRecordsText('\n# nothing\n', 'csv'), code('INPUT_FILE_EMPTY'));
  assert.throws(() => parseRecordsText('', 'jsonl'), code('INPUT_FILE_EMPTY'));
});

test('periods and offsets: reversed period, outside records, end before start', () => {
  const p = parsePeriod('2025-06-01T00:00:00Z/2025-06-02T00:00:00Z');
  assert.equal(p.periodEndUs - p.periodStartUs, 86_400_000_000);
  assert.deepEqual(parsePeriod('100/200'), { periodStartUs: 100, periodEndUs: 200 });
  assert.throws(() => parsePeriod('2025-06-02T00:00:00Z/2025-06-01T00:00:00Z'), code('PERIOD_INVALID'));
  assert.throws(() => parsePeriod('yesterday/today'), code('PERIOD_INVALID'));
  assert.throws(() => parsePeriod('100'), code('PERIOD_INVALID'));
  assert.deepEqual(toPeriodOffsets([150, 160], 100, 200), [50, 60]);
  assert.throws(() => toPeriodOffsets([200, 210], 100, 200), code('RECORD_OUTSIDE_PERIOD'), 'period end is exclusive');
  assert.throws(() => toPeriodOffsets([99, 120], 100, 200), code('RECORD_OUTSIDE_PERIOD'));
  assert.throws(() => toPeriodOffsets([150, 140], 100, 200), code('RECORD_END_BEFORE_START'));
});

test('size classes and record limits', () => {
  assert.equal(latencyCapacityFor(1), 1024);
  assert.equal(latencyCapacityFor(1024), 1024);
  assert.equal(latencyCapacityFor(1025), 16384);
  assert.equal(latencyCapacityFor(65536), 65536);
  assert.throws(() => latencyCapacityFor(65537), code('CLAIM_TOO_MANY_RECORDS'));
  const params: LatencyParams = { periodStartUs: 0, periodEndUs: 10, ...parseSla('p95<1ms') };
  assert.throws(() => validateLatencyRecords(params, new Array(65537 * 2).fill(0)), code('CLAIM_TOO_MANY_RECORDS'));
  assert.throws(() => validateLatencyRecords(params, []), code('INPUT_FILE_EMPTY'));
  assert.throws(() => validateLatencyRecords(params, [2 ** 42, 2 ** 42]), code('RECORD_OUTSIDE_PERIOD'));
});
