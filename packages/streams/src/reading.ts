/**
 * @module reading
 * Signed sensor readings. A sensor holds an Ed25519 key and numbers its readings
 * 1, 2, 3, … (per sensor). For each reading (ts, value) it draws a salt and signs
 *
 *   "veritee.streams.reading.v1" 0x00 sensor-id 0x00 seq (u64 BE) digest (32 bytes BE)
 *
 * where digest = C(K·2^96 + ts·2^32 + value, salt), C the Poseidon2 2-to-1
 * compression (streamReadingDigest in @veritee/zk, the same the streamagg circuit
 * recomputes). The signature binds the
 * sensor and the sequence number in clear (so a consumer checks completeness) and
 * the reading only through its salted digest (so the consumer does not see it).
 *
 * Two forms: a {@link SignedReading} (what a sensor hands the processor: the
 * reading and its opening) and a {@link PublicReading} (what results carry).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bigintToBytesBE, concatBytes, fromHex, toHex, utf8, VeriteeError } from '@veritee/core';
import { randomSalt, STREAM_READING_DOMAIN, STREAM_VALUE_LIMIT, streamReadingDigest } from '@veritee/zk';
import { z } from 'zod';

/** Sensor ids: letters, digits, '_' and '-' (also a NATS subject token). */
export const SENSOR_ID = /^[A-Za-z0-9_-]{1,64}$/;
const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));
const decimal = z.string().regex(/^(0|[1-9][0-9]{0,77})$/);
const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const ts = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const SensorKeySchema = z.object({ version: z.literal(1), kind: z.literal('veritee.streams.sensor-key'), sensor: z.string().regex(SENSOR_ID), publicKey: hex(32), secretKey: hex(32) }).strict();
export type SensorKey = z.infer<typeof SensorKeySchema>;

export const SensorRegistrySchema = z.object({ version: z.literal(1), sensors: z.array(z.object({ id: z.string().regex(SENSOR_ID), publicKey: hex(32) }).strict()).max(100_000) }).strict();
export type SensorRegistry = z.infer<typeof SensorRegistrySchema>;

export const PublicReadingSchema = z.object({ sensor: z.string().regex(SENSOR_ID), seq, digest: decimal, sig: hex(64) }).strict();
export type PublicReading = z.infer<typeof PublicReadingSchema>;

export const SignedReadingSchema = z
  .object({ sensor: z.string().regex(SENSOR_ID), seq, ts, value: z.number().int().nonnegative().max(STREAM_VALUE_LIMIT - 1), salt: decimal, digest: decimal, sig: hex(64) })
  .strict();
export type SignedReading = z.infer<typeof SignedReadingSchema>;

function issues(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** Parses a value against a schema, or throws `code` naming `what`. */
export function parseWith<T>(schema: z.ZodType<T>, v: unknown, code: 'STREAM_READING_INVALID' | 'STREAM_SENSOR_KEY_INVALID' | 'STREAM_RESULT_INVALID', what: string): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new VeriteeError(code, `${what} is malformed: ${issues(r.error)}`);
  return r.data;
}

export function generateSensorKey(sensor: string): SensorKey {
  if (!SENSOR_ID.test(sensor)) throw new VeriteeError('STREAM_SENSOR_KEY_INVALID', 'a sensor id is 1 to 64 letters, digits, "_" or "-"');
  const secretKey = ed25519.utils.randomSecretKey();
  return { version: 1, kind: 'veritee.streams.sensor-key', sensor, publicKey: toHex(ed25519.getPublicKey(secretKey)), secretKey: toHex(secretKey) };
}

/** The bytes a sensor signs for one reading. */
export function readingMessage(sensor: string, seqNo: number, digest: bigint): Uint8Array {
  return concatBytes(utf8(STREAM_READING_DOMAIN), new Uint8Array([0]), utf8(sensor), new Uint8Array([0]), bigintToBytesBE(BigInt(seqNo), 8), bigintToBytesBE(digest, 32));
}

/** Signs one reading (salt: random unless given, for tests). */
export function signReading(key: SensorKey, r: { seq: number; ts: number; value: number }, salt: bigint = randomSalt()): SignedReading {
  const k = parseWith(SensorKeySchema, key, 'STREAM_SENSOR_KEY_INVALID', 'the sensor key');
  const reading = { ts: r.ts, value: r.value, salt: salt.toString() };
  const digest = streamReadingDigest(reading);
  const sig = ed25519.sign(readingMessage(k.sensor, r.seq, digest), fromHex(k.secretKey));
  return parseWith(SignedReadingSchema, { sensor: k.sensor, seq: r.seq, ...reading, digest: digest.toString(), sig: toHex(sig) }, 'STREAM_READING_INVALID', `reading ${r.seq} of ${k.sensor}`);
}

export const publicPart = (r: SignedReading): PublicReading => ({ sensor: r.sensor, seq: r.seq, digest: r.digest, sig: r.sig });

/** Sensor id → public key bytes; a sensor listed twice is refused. */
export function sensorKeys(registry: unknown): Map<string, Uint8Array> {
  const reg = parseWith(SensorRegistrySchema, registry, 'STREAM_SENSOR_KEY_INVALID', 'the sensor registry');
  const m = new Map<string, Uint8Array>();
  for (const s of reg.sensors) {
    if (m.has(s.id)) throw new VeriteeError('STREAM_SENSOR_KEY_INVALID', `sensor ${s.id} is listed twice in the sensor registry`);
    m.set(s.id, fromHex(s.publicKey));
  }
  return m;
}

/** Checks a reading's signature under its sensor's registered key. */
export function verifyReadingSignature(keys: ReadonlyMap<string, Uint8Array>, r: PublicReading): void {
  const pub = keys.get(r.sensor);
  if (!pub) throw new VeriteeError('STREAM_SENSOR_UNKNOWN', `sensor ${r.sensor} is not in the sensor registry`);
  let ok = false;
  try {
    ok = ed25519.verify(fromHex(r.sig), readingMessage(r.sensor, r.seq, BigInt(r.digest)), pub);
  } catch {
    ok = false;
  }
  if (!ok) throw new VeriteeError('STREAM_SIGNATURE_INVALID', `reading ${r.seq} of sensor ${r.sensor}: the signature does not verify under the sensor's key`);
}

/** Parses a signed reading, checks its signature and that its digest opens to its (ts, value, salt). */
export function checkSignedReading(keys: ReadonlyMap<string, Uint8Array>, raw: unknown): SignedReading {
  const r = parseWith(SignedReadingSchema, raw, 'STREAM_READING_INVALID', 'a signed reading');
  verifyReadingSignature(keys, r);
  if (streamReadingDigest(r).toString() !== r.digest) throw new VeriteeError('STREAM_DIGEST_MISMATCH', `reading ${r.seq} of sensor ${r.sensor}: (ts, value, salt) do not open the signed digest`);
  return r;
}

/**
 * A sensor's signed end marker: "my last reading is number lastSeq, and I send none
 * after endUs". It signs
 *
 *   "veritee.streams.close.v1" 0x00 sensor-id 0x00 lastSeq (u64 BE) endUs (u64 BE)
 *
 * The processor passes it on in the results; a consumer then knows how many readings
 * the sensor sent, so readings dropped after the last one it sees are caught
 * (STREAM_TAIL_MISSING), which sequence numbers alone cannot show.
 */
export const STREAM_CLOSE_DOMAIN = 'veritee.streams.close.v1';
export const SensorCloseSchema = z.object({ close: z.literal(true), sensor: z.string().regex(SENSOR_ID), lastSeq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), endUs: ts, sig: hex(64) }).strict();
export type SensorClose = z.infer<typeof SensorCloseSchema>;

export function closeMessage(sensor: string, lastSeq: number, endUs: number): Uint8Array {
  return concatBytes(utf8(STREAM_CLOSE_DOMAIN), new Uint8Array([0]), utf8(sensor), new Uint8Array([0]), bigintToBytesBE(BigInt(lastSeq), 8), bigintToBytesBE(BigInt(endUs), 8));
}

/** Signs a sensor's end marker: its last sequence number (0: it sent none) and the time after which it sends nothing. */
export function signClose(key: SensorKey, c: { lastSeq: number; endUs: number }): SensorClose {
  const k = parseWith(SensorKeySchema, key, 'STREAM_SENSOR_KEY_INVALID', 'the sensor key');
  const sig = ed25519.sign(closeMessage(k.sensor, c.lastSeq, c.endUs), fromHex(k.secretKey));
  return parseCloseRecord({ close: true, sensor: k.sensor, lastSeq: c.lastSeq, endUs: c.endUs, sig: toHex(sig) });
}

export function parseCloseRecord(v: unknown): SensorClose {
  const r = SensorCloseSchema.safeParse(v);
  if (!r.success) throw new VeriteeError('STREAM_CLOSE_INVALID', `an end marker is malformed: ${issues(r.error)}`);
  return r.data;
}

/** A message is an end marker when it says close: true (then it must parse as one). */
export const isCloseRecord = (m: unknown): boolean => typeof m === 'object' && m !== null && (m as { close?: unknown }).close === true;

/** Parses an end marker and checks its signature under its sensor's registered key. */
export function checkCloseRecord(keys: ReadonlyMap<string, Uint8Array>, raw: unknown): SensorClose {
  const c = parseCloseRecord(raw);
  const pub = keys.get(c.sensor);
  if (!pub) throw new VeriteeError('STREAM_SENSOR_UNKNOWN', `sensor ${c.sensor} is not in the sensor registry`);
  let ok = false;
  try {
    ok = ed25519.verify(fromHex(c.sig), closeMessage(c.sensor, c.lastSeq, c.endUs), pub);
  } catch {
    ok = false;
  }
  if (!ok) throw new VeriteeError('STREAM_CLOSE_INVALID', `the end marker of sensor ${c.sensor} does not verify under the sensor's key`);
  return c;
}
