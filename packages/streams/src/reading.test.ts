/**
 * Signed readings, the sequence tracker and tumbling windows (no prover).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { streamReadingDigest } from '@veritee/zk';
import { checkSignedReading, generateSensorKey, publicPart, sensorKeys, signReading, verifyReadingSignature } from './reading.js';
import { SequenceTracker } from './tracker.js';
import { parseWindowSize, WindowAssembler } from './window.js';

const code = (f: () => unknown, c: string, re?: RegExp) => assert.throws(f, (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test(e.message)));

const a = generateSensorKey('plug-a');
const b = generateSensorKey('plug-b');
const keys = sensorKeys({ version: 1, sensors: [{ id: a.sensor, publicKey: a.publicKey }, { id: b.sensor, publicKey: b.publicKey }] });

test('a signed reading verifies and opens its digest; any change is refused', () => {
  const r = signReading(a, { seq: 1, ts: 1_700_000_000_000_000, value: 1234 });
  assert.deepEqual(checkSignedReading(keys, r), r);
  assert.equal(r.digest, streamReadingDigest(r).toString());
  // the digest hides the value: two signings of the same reading differ (fresh salts)
  assert.notEqual(signReading(a, { seq: 1, ts: r.ts, value: 1234 }).digest, r.digest);
  code(() => checkSignedReading(keys, { ...r, value: 1235 }), 'STREAM_DIGEST_MISMATCH', /reading 1 of sensor plug-a/);
  code(() => checkSignedReading(keys, { ...r, ts: r.ts + 1 }), 'STREAM_DIGEST_MISMATCH');
  code(() => checkSignedReading(keys, { ...r, seq: 2 }), 'STREAM_SIGNATURE_INVALID');
  code(() => checkSignedReading(keys, { ...r, sensor: 'plug-b' }), 'STREAM_SIGNATURE_INVALID');
  code(() => checkSignedReading(keys, { ...r, sig: r.sig.replace(/^./, (c) => (c === '0' ? '1' : '0')) }), 'STREAM_SIGNATURE_INVALID');
  code(() => checkSignedReading(keys, { ...signReading(generateSensorKey('plug-c'), { seq: 1, ts: r.ts, value: 1 }) }), 'STREAM_SENSOR_UNKNOWN', /plug-c/);
  // signed by another sensor's key under this sensor's name
  code(() => checkSignedReading(keys, { ...signReading({ ...b, sensor: 'plug-a' }, { seq: 1, ts: r.ts, value: 1 }) }), 'STREAM_SIGNATURE_INVALID');
  code(() => verifyReadingSignature(keys, { ...publicPart(r), digest: '1' }), 'STREAM_SIGNATURE_INVALID');
});

test('malformed readings, keys and registries carry codes', () => {
  const r = signReading(a, { seq: 1, ts: 5, value: 1 });
  code(() => checkSignedReading(keys, undefined), 'STREAM_READING_INVALID');
  code(() => checkSignedReading(keys, { ...r, value: 2 ** 32 }), 'STREAM_READING_INVALID', /value/);
  code(() => checkSignedReading(keys, { ...r, seq: 0 }), 'STREAM_READING_INVALID', /seq/);
  code(() => checkSignedReading(keys, { ...r, extra: 1 }), 'STREAM_READING_INVALID');
  code(() => checkSignedReading(keys, { ...r, sensor: 'a.b' }), 'STREAM_READING_INVALID');
  code(() => signReading({ ...a, secretKey: 'zz' }, { seq: 1, ts: 1, value: 1 }), 'STREAM_SENSOR_KEY_INVALID');
  code(() => generateSensorKey('no spaces'), 'STREAM_SENSOR_KEY_INVALID');
  code(() => sensorKeys({ version: 1, sensors: [{ id: 'x', publicKey: a.publicKey }, { id: 'x', publicKey: b.publicKey }] }), 'STREAM_SENSOR_KEY_INVALID', /twice/);
  code(() => sensorKeys({ version: 2, sensors: [] }), 'STREAM_SENSOR_KEY_INVALID');
});

test('the sequence tracker refuses gaps and replays without changing state', () => {
  const t = new SequenceTracker();
  t.accept('s', 1);
  t.accept('s', 2);
  code(() => t.accept('s', 2), 'STREAM_SEQUENCE_REPLAY', /reading 2 was already accepted \(next expected 3\)/);
  code(() => t.accept('s', 1), 'STREAM_SEQUENCE_REPLAY');
  code(() => t.accept('s', 5), 'STREAM_SEQUENCE_GAP', /3\.\.4 did not/);
  code(() => t.accept('other', 2), 'STREAM_SEQUENCE_GAP', /1 did not/);
  t.accept('s', 3); // the missing one can still arrive
  assert.deepEqual(t.snapshot(), { s: 3 });
  const resumed = new SequenceTracker({ s: 3 });
  code(() => resumed.accept('s', 3), 'STREAM_SEQUENCE_REPLAY');
  resumed.accept('s', 4);
});

test('tumbling windows close as event time passes; late readings are refused', () => {
  assert.equal(parseWindowSize('15m'), 900_000_000);
  assert.equal(parseWindowSize('500ms'), 500_000);
  assert.equal(parseWindowSize('42'), 42);
  for (const bad of ['0', '15 minutes', '-1s', '1.5m', '60d', '']) code(() => parseWindowSize(bad), 'STREAM_WINDOW_INVALID');
  const w = new WindowAssembler<number>({ sizeUs: 10, originUs: 100 });
  assert.deepEqual(w.add(100, 1), []);
  assert.deepEqual(w.add(109, 2), []);
  assert.deepEqual(w.add(125, 3), [{ startUs: 100, endUs: 110, items: [1, 2] }]);
  code(() => w.add(105, 4), 'STREAM_READING_LATE', /window starting at 100, already closed/);
  code(() => w.add(115, 4), 'STREAM_READING_LATE', /starting at 110/); // an empty window that time has passed
  code(() => w.add(99, 4), 'STREAM_READING_LATE', /origin/);
  assert.deepEqual(w.add(120, 5), []);
  assert.deepEqual(w.flush(), [{ startUs: 120, endUs: 130, items: [3, 5] }]);
  code(() => new WindowAssembler({ sizeUs: 0, originUs: 0 }), 'STREAM_WINDOW_INVALID');
});
