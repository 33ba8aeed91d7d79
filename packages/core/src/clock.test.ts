import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from './errors.js';
import { parseRfc3339Us, toEpochMs } from './clock.js';

const refused = (s: string, re: RegExp) =>
  assert.throws(() => parseRfc3339Us(s, 'at'), (e: unknown) => isVeriteeError(e, 'INPUT_TIME_INVALID') && re.test(e.message), s);

test('parseRfc3339Us reads real RFC 3339 times, with offsets and fractions, to the microsecond', () => {
  assert.equal(parseRfc3339Us('2025-06-01T00:00:00Z'), Date.UTC(2025, 5, 1) * 1000);
  assert.equal(parseRfc3339Us('2025-06-01t02:00:00+02:00'), Date.UTC(2025, 5, 1) * 1000);
  assert.equal(parseRfc3339Us('2025-05-31T19:30:00-04:30'), Date.UTC(2025, 5, 1) * 1000);
  assert.equal(parseRfc3339Us('2025-06-01T00:00:00.123456Z'), Date.UTC(2025, 5, 1) * 1000 + 123456);
  assert.equal(parseRfc3339Us('2025-06-01T00:00:00.5z'), Date.UTC(2025, 5, 1) * 1000 + 500000);
  assert.equal(parseRfc3339Us('2025-06-01T00:00:00.123456000Z'), Date.UTC(2025, 5, 1) * 1000 + 123456);
  assert.equal(parseRfc3339Us('2024-02-29T23:59:59Z'), Date.UTC(2024, 1, 29, 23, 59, 59) * 1000, 'a leap day exists');
  assert.equal(parseRfc3339Us('0001-01-01T00:00:00Z') / 1000, new Date('0001-01-01T00:00:00Z').getTime());
});

test('parseRfc3339Us refuses dates and times that do not exist instead of rolling them over', () => {
  refused('2025-02-30T00:00:00Z', /day 30 does not exist in 2025-02/);
  refused('2025-02-29T00:00:00Z', /day 29 does not exist/);
  refused('2025-04-31T00:00:00Z', /day 31/);
  refused('2025-13-01T00:00:00Z', /month 13/);
  refused('2025-00-10T00:00:00Z', /month 00/);
  refused('2025-06-00T00:00:00Z', /day 00/);
  refused('2025-06-01T24:00:00Z', /hour 24/);
  refused('2025-06-01T23:60:00Z', /minute 60/);
  refused('2025-06-01T23:59:60Z', /second 60/);
  refused('2025-06-01T00:00:00+24:00', /offset/);
  refused('2025-06-01T00:00:00.0000001Z', /microsecond/);
});

test('parseRfc3339Us refuses what Date.parse would guess at', () => {
  for (const s of ['2025-06-01', '2025-06-01T00:00:00', '2025-06-01 00:00:00Z', 'June 1, 2025', '2025-6-1T00:00:00Z', ' 2025-06-01T00:00:00Z', '2025-06-01T00:00Z', '1748736000000', '', '+002025-06-01T00:00:00Z'])
    refused(s, /not a valid RFC 3339 time/);
});

test('toEpochMs is strict for strings and quotes the input escaped', () => {
  assert.equal(toEpochMs('2025-06-01T00:00:00.999999Z'), Date.UTC(2025, 5, 1) + 999);
  assert.throws(() => toEpochMs('2025-02-30T00:00:00Z', '--at'), (e: unknown) => isVeriteeError(e, 'INPUT_TIME_INVALID') && /--at "2025-02-30T00:00:00Z"/.test(e.message));
  assert.throws(() => toEpochMs('x\u001b[2J'.repeat(1000), '--at'), (e: unknown) => isVeriteeError(e) && e.message.length < 300 && !e.message.includes('\u001b'));
});
