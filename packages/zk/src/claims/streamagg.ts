/**
 * @module claims/streamagg
 * The stream-window claim: "this tumbling window of signed sensor readings held
 * n readings, summing to S, mean floor(S / n), k of them above the threshold",
 * the readings staying private. The sensors' signatures cover each reading's
 * digest (see @veritee/streams); this claim binds the aggregate to those digests.
 *
 *   reading digest d = C(K·2^96 + ts·2^32 + value, salt)   (C: Poseidon2 2-to-1 compression,
 *                      K: the first 15 bytes of SHA-256("veritee.streams.reading.v1"))
 *   window commitment = Poseidon2Sponge(tag("veritee.streamagg.v1"), n, periodStartUs, periodEndUs, d_1 .. d_n)
 *   sum = Σ value;  mean = floor(sum / n);  above = #{value > threshold} (strict)
 *
 * The commitment depends only on public digests, so a consumer holding the
 * signed digests recomputes it; the bundle salt is not used (every reading has
 * its own salt). Values are unsigned integers below 2^32, timestamps µs since
 * the epoch inside [periodStartUs, periodEndUs); an empty window has no claim.
 * Circuit and argument: prover/internal/circuits/streamagg (its package doc).
 */
import { z } from 'zod';
import { domainTag, frFromDecimal, poseidon2Compress, poseidon2Sponge, sha256, utf8, VeriteeError } from '@veritee/core';
import { defineClaim, publicInputLayout, type ClaimBundle } from './claim.js';
import { integerKey, periodKey } from './expect-keys.js';
import { parsePeriod } from './records.js';
import { checkCount, checkParam, isoPeriod, validatePeriod } from './telemetry.js';

export const STREAMAGG_CLAIM = 'streamagg';
export const STREAMAGG_CIRCUIT_VERSION = 1;
export const STREAMAGG_DOMAIN = 'veritee.streamagg.v1';
export const STREAM_READING_DOMAIN = 'veritee.streams.reading.v1';
export const STREAMAGG_CAPACITIES = [256, 1024] as const;
/** Reading values and the threshold are below 2^32. */
export const STREAM_VALUE_LIMIT = 2 ** 32;

export interface StreamAggParams {
  periodStartUs: number;
  periodEndUs: number;
  /** Counted: values strictly above this. */
  threshold: number;
}

/** One private reading: timestamp (µs since the epoch), value, and its salt (decimal field element). */
export interface StreamReading {
  ts: number;
  value: number;
  salt: string;
}

export interface StreamAggData {
  readings: readonly StreamReading[];
}

export interface StreamAggOutputs {
  n: number;
  sum: number;
  mean: number;
  above: number;
}

/** K·2^96: the reading digest's domain prefix. */
const READING_PREFIX = sha256(utf8(STREAM_READING_DOMAIN))
  .slice(0, 15)
  .reduce((k, b) => (k << 8n) | BigInt(b), 0n) << 96n;

/** What a sensor signs: the digest of one reading (ts < 2^64, value < 2^32). */
export function streamReadingDigest(r: StreamReading): bigint {
  return poseidon2Compress(READING_PREFIX + (BigInt(r.ts) << 32n) + BigInt(r.value), frFromDecimal(r.salt, 'reading salt'));
}

/** The window commitment over reading digests (anyone holding the signed digests computes it). */
export function streamWindowCommitment(p: { periodStartUs: number; periodEndUs: number }, digests: readonly bigint[]): bigint {
  return poseidon2Sponge([domainTag(STREAMAGG_DOMAIN), BigInt(digests.length), BigInt(p.periodStartUs), BigInt(p.periodEndUs), ...digests]);
}

export function validateStreamAggParams(p: StreamAggParams): void {
  validatePeriod(p);
  checkParam('threshold', p.threshold, 0, STREAM_VALUE_LIMIT - 1);
}

export function validateStreamAggData(p: StreamAggParams, d: StreamAggData): void {
  if (!Array.isArray(d.readings) || d.readings.length === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'the window has no readings');
  const max = STREAMAGG_CAPACITIES[STREAMAGG_CAPACITIES.length - 1];
  if (d.readings.length > max) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${d.readings.length} readings exceed the largest size class (${max})`);
  d.readings.forEach((r, i) => {
    const what = `reading ${i + 1}`;
    if (typeof r !== 'object' || r === null || !Number.isSafeInteger(r.ts) || !Number.isSafeInteger(r.value) || r.value < 0 || typeof r.salt !== 'string') throw new VeriteeError('RECORD_FIELD_INVALID', `${what}: ts and value must be non-negative integers and salt a decimal string`);
    if (r.value >= STREAM_VALUE_LIMIT) throw new VeriteeError('RECORD_VALUE_TOO_LARGE', `${what}: value ${r.value} does not fit 32 bits`);
    if (r.ts < p.periodStartUs || r.ts >= p.periodEndUs) throw new VeriteeError('RECORD_OUTSIDE_PERIOD', `${what} at ${r.ts} us is outside the window [${p.periodStartUs}, ${p.periodEndUs})`);
    try {
      frFromDecimal(r.salt, `${what} salt`);
    } catch (e) {
      throw new VeriteeError('RECORD_FIELD_INVALID', (e as Error).message);
    }
  });
}

/** The plain reference computation the circuit must agree with. */
export function computeStreamAggOutputs(p: StreamAggParams, d: StreamAggData): StreamAggOutputs {
  let sum = 0;
  let above = 0;
  for (const r of d.readings) {
    sum += r.value;
    if (r.value > p.threshold) above++;
  }
  const n = d.readings.length;
  return { n, sum, mean: Math.floor(sum / n), above };
}

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const streamAggClaim = defineClaim<StreamAggParams, StreamAggOutputs, StreamAggData, StreamAggParams, typeof STREAMAGG_CLAIM>({
  kind: STREAMAGG_CLAIM,
  version: STREAMAGG_CIRCUIT_VERSION,
  capacities: STREAMAGG_CAPACITIES,
  unit: 'reading',
  title: 'a tumbling window of signed sensor readings: count, sum, mean and count above a threshold',
  schema: z.object({
    params: z.object({ periodStartUs: u, periodEndUs: u, threshold: u }).strict(),
    outputs: z.object({ n: u, sum: u, mean: u, above: u }).strict(),
  }),
  validate(params, o, capacity) {
    validateStreamAggParams(params);
    checkCount('n', o.n, 1, capacity);
    checkCount('above', o.above, 0, o.n);
    checkCount('sum', o.sum, 0, o.n * (STREAM_VALUE_LIMIT - 1));
    checkCount('mean', o.mean, 0, STREAM_VALUE_LIMIT - 1);
  },
  // prover/internal/circuits/streamagg/claim.go
  publicInputs: publicInputLayout('commitment', 'periodStartUs', 'periodEndUs', 'threshold', 'n', 'sum', 'mean', 'above'),
  statement: (p, o) => ({ n: o.n, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs }),
  expectations: [periodKey(parsePeriod), integerKey('threshold', (p) => p.threshold, 'an integer below 2^32')],
  summarize: (p, o) => [isoPeriod(p), `readings: n = ${o.n}, sum ${o.sum}, mean ${o.mean} (rounded down)`, `above ${p.threshold}: ${o.above}`],
  check(p, d) {
    validateStreamAggParams(p);
    validateStreamAggData(p, d);
  },
  misfit: (capacity, _p, d) => (d.readings.length <= capacity ? undefined : `size class ${capacity} cannot hold ${d.readings.length} readings`),
  compute: computeStreamAggOutputs,
  commit: (p, d) => streamWindowCommitment(p, d.readings.map(streamReadingDigest)),
  proverInput: (p, d) => ({ ...p, readings: d.readings.map((r) => ({ ts: r.ts, value: r.value, salt: r.salt })) }),
  fromProverInput(input) {
    const { readings, ...params } = input as unknown as StreamAggParams & StreamAggData;
    return { params, data: { readings }, salt: 0n };
  },
  sample(r) {
    // DEBS 2014 Q1 shape: a 15-minute slice of 180 smart-plug load readings (milliwatts)
    const n = 180;
    const P0 = Date.UTC(2026, 10, 20) * 1000;
    const length = 15 * 60_000_000;
    const readings = Array.from({ length: n }, (_, i) => ({ ts: P0 + Math.floor((i * length) / n), value: Math.floor(r() * 3_000_000), salt: String(Math.floor(r() * 2 ** 52)) }));
    return { size: `${n} readings in a 15-minute window`, elements: n, params: { periodStartUs: P0, periodEndUs: P0 + length, threshold: 2_000_000 }, data: { readings }, target: '≤ 1 s' };
  },
});

export type StreamAggBundle = ClaimBundle<typeof STREAMAGG_CLAIM, StreamAggParams, StreamAggOutputs>;
