/**
 * Wrong successes refused: impossible period times, extra CSV columns, duplicate or
 * ambiguous JSONL keys, deep JSON nesting, repeated SLA terms, bounds finer than a
 * microsecond; and echoed input stays short and escaped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { parseSla } from './claims/latency.js';
import { parsePeriod, parseRecordsText } from './claims/records.js';

const is = (code: string, re?: RegExp) => (e: unknown) => isVeriteeError(e) && e.code === code && (!re || re.test(e.message));

test('parsePeriod refuses impossible dates and times instead of rolling them over', () => {
  assert.throws(() => parsePeriod('2025-02-30T00:00:00Z/2025-03-05T00:00:00Z'), is('PERIOD_INVALID', /period start "2025-02-30T00:00:00Z".*day 30 does not exist/));
  assert.throws(() => parsePeriod('2025-03-01T00:00:00Z/2025-03-01T24:00:00Z'), is('PERIOD_INVALID', /period end .*hour 24/));
  assert.throws(() => parsePeriod('2025-03-01T00:00:00Z/2025-03-01'), is('PERIOD_INVALID'));
  assert.throws(() => parsePeriod('2025-03-01T00:00:00/2025-03-02T00:00:00Z'), is('PERIOD_INVALID'), 'an offset is required');
  assert.throws(() => parsePeriod('1/99999999999999999999'), is('PERIOD_INVALID', /too large/));
  const p = parsePeriod('2025-03-01T00:00:00.000001Z/2025-03-01T02:00:00+01:00');
  assert.equal(p.periodStartUs, Date.UTC(2025, 2, 1) * 1000 + 1);
  assert.equal(p.periodEndUs, Date.UTC(2025, 2, 1, 1) * 1000);
  assert.throws(() => parsePeriod('2025-03-01T00:00:00.000001Z/2025-03-01T01:00:00+01:00'), is('PERIOD_INVALID', /not after period start/), 'end (the same instant minus 1 us) not after start');
});

test('CSV records must have exactly two columns, header included', () => {
  assert.throws(() => parseRecordsText('10,20\n30,40,50\n', 'csv'), is('RECORD_FIELD_INVALID', /line 2: has 3 columns; expected exactly two/));
  assert.throws(() => parseRecordsText('10,20,\n', 'csv'), is('RECORD_FIELD_INVALID', /line 1: has 3 columns/));
  assert.throws(() => parseRecordsText('start_us,end_us,path\n10,20\n', 'csv'), is('RECORD_FIELD_INVALID', /line 1: header has 3 columns/));
  assert.throws(() => parseRecordsText('10\n', 'csv'), is('RECORD_FIELD_INVALID', /line 1: has 1 column;/));
  assert.deepEqual(parseRecordsText('start_us,end_us\n10,20\n', 'csv'), [10, 20]);
});

test('JSONL records: duplicate keys, both spellings and deep nesting are refused naming the line', () => {
  assert.throws(() => parseRecordsText('{"start_us":10,"end_us":20}\n{"start_us":10,"end_us":20,"end_us":5}\n', 'jsonl'), is('RECORD_FIELD_INVALID', /line 2 .*duplicate key "end_us"/));
  assert.throws(() => parseRecordsText('{"start_us":10,"start":11,"end_us":20}\n', 'jsonl'), is('RECORD_FIELD_INVALID', /line 1: gives both/));
  const deep = '{"start_us":1,"end_us":2,"x":' + '['.repeat(200000) + ']'.repeat(200000) + '}';
  assert.throws(() => parseRecordsText(deep, 'jsonl'), is('RECORD_FIELD_INVALID', /line 1 .*nesting deeper than 8/));
});

test('record errors quote a bounded, escaped excerpt of a huge or hostile line', () => {
  const huge = '1,' + 'x'.repeat(5_000_000) + '\u001b[31m';
  try {
    parseRecordsText(huge, 'csv');
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isVeriteeError(e, 'RECORD_FIELD_INVALID'));
    assert.ok((e as Error).message.length < 300, `${(e as Error).message.length} characters`);
    assert.ok(!(e as Error).message.includes('\u001b'));
  }
  try {
    parseRecordsText('{"start_us":"\\u001b[2J' + 'y'.repeat(100000) + '","end_us":1}', 'jsonl');
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isVeriteeError(e, 'RECORD_FIELD_INVALID'));
    assert.ok((e as Error).message.length < 300);
    assert.ok(!(e as Error).message.includes('\u001b'));
  }
});

test('every SLA term may appear once: a repeated min is refused like a repeated percentile', () => {
  assert.throws(() => parseSla('min=1,min=2'), is('SLA_INVALID', /SLA names min twice \("min=1" and "min=2"\)/));
  assert.throws(() => parseSla('p95<1ms,min=5,MIN=5'), is('SLA_INVALID', /min twice/));
  assert.throws(() => parseSla('p95<1ms,p95<2ms'), is('SLA_INVALID', /p95 twice \("p95<1ms" and "p95<2ms"\)/));
  assert.throws(() => parseSla('p95<1ms,p95.0<1ms'), is('SLA_INVALID', /p95 twice/));
  assert.equal(parseSla('p95<1ms,min=5').minN, 5);
});

test('SLA bounds finer than a microsecond are refused, not rounded', () => {
  assert.throws(() => parseSla('p95<1.5us'), is('SLA_INVALID', /whole number of microseconds/));
  assert.throws(() => parseSla('p95<1.0005ms'), is('SLA_INVALID', /whole number of microseconds/));
  assert.throws(() => parseSla('p95<0.0000001s'), is('SLA_INVALID'));
  assert.equal(parseSla('p95<1.5ms').slots[1]!.thresholdUs, 1500);
  assert.equal(parseSla('p95<1.000001s').slots[1]!.thresholdUs, 1_000_001);
  assert.equal(parseSla('p95<2.500ms').slots[1]!.thresholdUs, 2500);
  for (const bad of ['p95<1e3ms', 'p95<0x10ms', 'p95<12abcms', 'p95<-1ms', 'p95<ms', 'min=1e3', 'min=0x10', 'min=-1', 'min=']) assert.throws(() => parseSla(bad), is('SLA_INVALID'), bad);
  assert.throws(() => parseSla('\u001b[2J' + 'z'.repeat(10000)), (e: unknown) => isVeriteeError(e, 'SLA_INVALID') && (e as Error).message.length < 400 && !(e as Error).message.includes('\u001b'));
});
