/**
 * @module claims/volume
 * The request-volume claim, the example of a claim added through the claim
 * framework: "n requests arrived in the period, R per minute, and that rate
 * does (not) call for scaling out", the arrival times staying private.
 *
 *   ratePerMin = floor(n * 60_000_000 / (periodEndUs - periodStartUs))
 *   scaleOut   = n * 60_000_000 > thresholdPerMin * (periodEndUs - periodStartUs)   (exact, strict)
 *
 * Commitment ("veritee.volume.v1"): the Poseidon2 sponge over (tag, n, salt,
 * period start, period end) and the arrival offsets (µs from the period start,
 * each below 2^42) packed 6 per field element; the same bits as the Go
 * `volume.Commit` (checked by claims/volume.test.ts against vectors written by
 * prover/internal/circuits/volume). Circuit: prover/internal/circuits/volume.
 *
 * This module is everything TypeScript knows about the claim; adding it took
 * this file, the Go package and one line in each catalogue.
 */
import { z } from 'zod';
import { checkItems, domainTag, packItems, poseidon2Sponge, quoteInput, VeriteeError } from '@veritee/core';
import { defineClaim, publicInputLayout, type ClaimBundle } from './claim.js';
import { integerKey, periodKey } from './expect-keys.js';
import { detectRecordsFormat, parsePeriod, parseRecordsText, toPeriodOffsets } from './records.js';
import { checkCount, checkParam, isoPeriod, validatePeriod } from './telemetry.js';

export const VOLUME_CLAIM = 'volume';
export const VOLUME_CIRCUIT_VERSION = 1;
export const VOLUME_DOMAIN = 'veritee.volume.v1';
export const VOLUME_CAPACITIES = [1024, 16384, 65536] as const;
/** Arrival offsets are below 2^42 µs (about 50.9 days), like latency records. */
export const VOLUME_TIME_BITS = 42;
/** The threshold is below 2^32 requests per minute. */
export const VOLUME_THRESHOLD_LIMIT = 2 ** 32;
const US_PER_MIN = 60_000_000;

export interface VolumeParams {
  periodStartUs: number;
  periodEndUs: number;
  /** Scale out when the rate is above this many requests per minute. */
  thresholdPerMin: number;
}

export interface VolumeData {
  /** Arrival offsets, µs from the period start, in any order. */
  times: readonly number[];
}

export interface VolumeOutputs {
  n: number;
  ratePerMin: number;
  scaleOut: boolean;
}

export function validateVolumeParams(p: VolumeParams): void {
  validatePeriod(p);
  checkParam('thresholdPerMin', p.thresholdPerMin, 0, VOLUME_THRESHOLD_LIMIT - 1);
}

export function validateVolumeData(p: VolumeParams, d: VolumeData): void {
  if (!Array.isArray(d.times) || d.times.length === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no requests');
  const max = VOLUME_CAPACITIES[VOLUME_CAPACITIES.length - 1];
  if (d.times.length > max) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${d.times.length} requests exceed the largest size class (${max})`);
  checkItems(d.times, VOLUME_TIME_BITS, (i) => `request ${i + 1}`);
  const length = p.periodEndUs - p.periodStartUs;
  d.times.forEach((t, i) => {
    if (t >= length) throw new VeriteeError('RECORD_OUTSIDE_PERIOD', `request ${i + 1} arrives ${t} us after the period start, outside the ${length} us period`);
  });
}

/** The plain reference computation the circuit must agree with. */
export function computeVolumeOutputs(p: VolumeParams, d: VolumeData): VolumeOutputs {
  const n = d.times.length;
  const length = BigInt(p.periodEndUs - p.periodStartUs);
  const perMin = BigInt(n) * BigInt(US_PER_MIN);
  return { n, ratePerMin: Number(perMin / length), scaleOut: perMin > BigInt(p.thresholdPerMin) * length };
}

/** The commitment (see the module doc); the data must be valid. */
export function volumeCommitment(salt: bigint, p: VolumeParams, d: VolumeData): bigint {
  return poseidon2Sponge([domainTag(VOLUME_DOMAIN), BigInt(d.times.length), salt, BigInt(p.periodStartUs), BigInt(p.periodEndUs), ...packItems(d.times, VOLUME_TIME_BITS)]);
}

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const volumeClaim = defineClaim<VolumeParams, VolumeOutputs, VolumeData, VolumeParams, typeof VOLUME_CLAIM>({
  kind: VOLUME_CLAIM,
  version: VOLUME_CIRCUIT_VERSION,
  capacities: VOLUME_CAPACITIES,
  unit: 'request',
  title: 'request volume over a window: the count and the rate per minute, with a scale-out decision',
  schema: z.object({
    params: z.object({ periodStartUs: u, periodEndUs: u, thresholdPerMin: u }).strict(),
    outputs: z.object({ n: u, ratePerMin: u, scaleOut: z.boolean() }).strict(),
  }),
  validate(params, outputs, capacity) {
    validateVolumeParams(params);
    checkCount('n', outputs.n, 1, capacity);
  },
  // prover/internal/circuits/volume/claim.go
  publicInputs: publicInputLayout('commitment', 'n', 'periodStartUs', 'periodEndUs', 'thresholdPerMin', 'ratePerMin', 'scaleOut'),
  statement: (p, o) => ({ n: o.n, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs }),
  expectations: [periodKey(parsePeriod), integerKey('threshold', (p) => p.thresholdPerMin, 'requests per minute, an integer')],
  summarize: (p, o) => [
    isoPeriod(p),
    `requests: n = ${o.n}, ${o.ratePerMin} per minute (rounded down)`,
    `scale out when over ${p.thresholdPerMin} per minute: ${o.scaleOut ? 'SCALE OUT' : 'no scale-out'}`,
  ],
  check(p, d) {
    validateVolumeParams(p);
    validateVolumeData(p, d);
  },
  misfit: (capacity, _p, d) => (d.times.length <= capacity ? undefined : `size class ${capacity} cannot hold ${d.times.length} requests`),
  compute: computeVolumeOutputs,
  commit: (p, d, salt) => volumeCommitment(salt, p, d),
  sample(r) {
    const n = 10_000;
    const P0 = Date.UTC(2026, 10, 20) * 1000;
    const length = 3600_000_000;
    return { size: `${n.toLocaleString('en')} requests in an hour`, elements: n, params: { periodStartUs: P0, periodEndUs: P0 + length, thresholdPerMin: 600 }, data: { times: Array.from({ length: n }, () => Math.floor(r() * length)) } };
  },
  cli: {
    description: 'prove the request count and rate of a period and a scale-out decision, the arrival times hidden',
    options: [
      { flags: '--records <file>', description: 'requests as records, CSV (start_us,end_us) or JSON Lines ({"start_us","end_us"}); each request counts at its start', required: true },
      { flags: '--period <start/end>', description: 'reporting period, RFC 3339 or microseconds: 2025-06-01T00:00:00Z/2025-06-01T01:00:00Z', required: true },
      { flags: '--threshold <perMin>', description: 'scale out when the rate is above this many requests per minute', required: true },
    ],
    read(o, readText) {
      const { periodStartUs, periodEndUs } = parsePeriod(String(o.period));
      const thr = String(o.threshold);
      if (!/^\d{1,10}$/.test(thr) || Number(thr) >= VOLUME_THRESHOLD_LIMIT) throw new VeriteeError('CLAIM_PARAMS_INVALID', `--threshold must be a whole number of requests per minute below 2^32 (got ${quoteInput(thr, 20)})`);
      const path = String(o.records);
      const text = readText(path, 'records file');
      const offsets = toPeriodOffsets(parseRecordsText(text, detectRecordsFormat(path, text)), periodStartUs, periodEndUs);
      return { params: { periodStartUs, periodEndUs, thresholdPerMin: Number(thr) }, data: { times: offsets.filter((_, i) => i % 2 === 0) } };
    },
  },
});

export type VolumeBundle = ClaimBundle<typeof VOLUME_CLAIM, VolumeParams, VolumeOutputs>;
