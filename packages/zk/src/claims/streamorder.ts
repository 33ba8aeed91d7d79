/**
 * @module claims/streamorder
 * The stream order-statistics claim: "this tumbling window of signed sensor
 * readings held n readings; their minimum, maximum, lower median, p-th
 * percentile (nearest rank), the sums of the 5 largest and the 5 smallest, and
 * the number of distinct values are these", the readings staying private.
 *
 * Same readings, reading digests and window commitment as the stream-window
 * claim (claims/streamagg.ts), so a consumer recomputes the commitment from the
 * same signed digests and one window can carry both claims.
 *
 * Exact semantics, with w_1 <= ... <= w_n the window's values sorted:
 *
 *   min = w_1;  max = w_n
 *   median     = w_ceil(n/2)               the LOWER median for even n (n = 4: w_2), never an average
 *   percentile = w_k, k = ceil(p·n/10000)  nearest rank, p in 1..10000 basis points (9500 = p95)
 *   topSum     = w_(n-m+1) + ... + w_n     m = min(5, n); ties count as often as they occur
 *   bottomSum  = w_1 + ... + w_m
 *   distinct   = the number of different values
 *
 * Values are unsigned integers below 2^32 (sums below 5·2^32, exact in a JS
 * number); an empty window has no claim (INPUT_FILE_EMPTY). The circuit checks
 * that the sorted sequence the prover supplies is sorted AND a permutation of
 * the committed readings (prover/internal/circuits/streamorder, its package doc).
 */
import { z } from 'zod';
import { VeriteeError } from '@veritee/core';
import { defineClaim, publicInputLayout, type ClaimBundle } from './claim.js';
import { percentKey, periodKey } from './expect-keys.js';
import { parsePeriod } from './records.js';
import { STREAM_VALUE_LIMIT, streamReadingDigest, streamWindowCommitment, validateStreamAggData, type StreamAggData } from './streamagg.js';
import { checkBp, checkCount, isoPeriod, validatePeriod, BP_SCALE } from './telemetry.js';

export const STREAMORDER_CLAIM = 'streamorder';
export const STREAMORDER_CIRCUIT_VERSION = 1;
export const STREAMORDER_CAPACITIES = [192, 256, 1024] as const;
/** How many of the largest (smallest) values topSum (bottomSum) adds. */
export const STREAMORDER_TOP_N = 5;

export interface StreamOrderParams {
  periodStartUs: number;
  periodEndUs: number;
  /** The percentile reported, in basis points 1..10000 (9500 = p95). */
  percentileBp: number;
}

export type StreamOrderData = StreamAggData;

export interface StreamOrderOutputs {
  n: number;
  min: number;
  max: number;
  median: number;
  percentile: number;
  topSum: number;
  bottomSum: number;
  distinct: number;
}

export function validateStreamOrderParams(p: StreamOrderParams): void {
  validatePeriod(p);
  checkBp('percentileBp', p.percentileBp, 1);
}

/** The nearest rank ceil(p·n / 10000), in integers. */
export const streamOrderRank = (percentileBp: number, n: number): number => Math.floor((percentileBp * n + BP_SCALE - 1) / BP_SCALE);

/**
 * The plain reference the circuit is tested against: sort, then read ranks.
 * Refuses an empty window (the circuit has no proof for n = 0).
 */
export function computeStreamOrderOutputs(p: StreamOrderParams, d: StreamOrderData): StreamOrderOutputs {
  const w = d.readings.map((r) => r.value).sort((a, b) => a - b);
  const n = w.length;
  if (n === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'the window has no readings');
  const m = Math.min(STREAMORDER_TOP_N, n);
  let topSum = 0;
  let bottomSum = 0;
  for (let i = 0; i < m; i++) {
    bottomSum += w[i]!;
    topSum += w[n - 1 - i]!;
  }
  let distinct = 1;
  for (let i = 1; i < n; i++) if (w[i] !== w[i - 1]) distinct++;
  return { n, min: w[0]!, max: w[n - 1]!, median: w[Math.ceil(n / 2) - 1]!, percentile: w[streamOrderRank(p.percentileBp, n) - 1]!, topSum, bottomSum, distinct };
}

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const streamOrderClaim = defineClaim<StreamOrderParams, StreamOrderOutputs, StreamOrderData, StreamOrderParams, typeof STREAMORDER_CLAIM>({
  kind: STREAMORDER_CLAIM,
  version: STREAMORDER_CIRCUIT_VERSION,
  capacities: STREAMORDER_CAPACITIES,
  unit: 'reading',
  title: 'a tumbling window of signed sensor readings: min, max, lower median, a percentile, top-5 and bottom-5 sums, distinct values',
  schema: z.object({
    params: z.object({ periodStartUs: u, periodEndUs: u, percentileBp: u }).strict(),
    outputs: z.object({ n: u, min: u, max: u, median: u, percentile: u, topSum: u, bottomSum: u, distinct: u }).strict(),
  }),
  validate(params, o, capacity) {
    validateStreamOrderParams(params);
    checkCount('n', o.n, 1, capacity);
    const v = STREAM_VALUE_LIMIT - 1;
    checkCount('min', o.min, 0, v);
    checkCount('max', o.max, o.min, v);
    checkCount('median', o.median, o.min, o.max);
    checkCount('percentile', o.percentile, o.min, o.max);
    const m = Math.min(STREAMORDER_TOP_N, o.n);
    checkCount('topSum', o.topSum, m * o.min, m * o.max);
    checkCount('bottomSum', o.bottomSum, m * o.min, m * o.max);
    checkCount('distinct', o.distinct, 1, o.n);
  },
  // prover/internal/circuits/streamorder/claim.go
  publicInputs: publicInputLayout('commitment', 'periodStartUs', 'periodEndUs', 'percentileBp', 'n', 'min', 'max', 'median', 'percentile', 'topSum', 'bottomSum', 'distinct'),
  statement: (p, o) => ({ n: o.n, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs }),
  expectations: [periodKey(parsePeriod), percentKey('percentile', 'percentileBp', (p) => p.percentileBp)],
  summarize: (p, o) => [
    isoPeriod(p),
    `readings: n = ${o.n}, ${o.distinct} distinct; min ${o.min}, max ${o.max}, median ${o.median} (lower)`,
    `p${p.percentileBp / 100} (nearest rank): ${o.percentile}`,
    `sum of the ${Math.min(STREAMORDER_TOP_N, o.n)} largest ${o.topSum}, of the ${Math.min(STREAMORDER_TOP_N, o.n)} smallest ${o.bottomSum}`,
  ],
  check(p, d) {
    validateStreamOrderParams(p);
    validateStreamAggData({ ...p, threshold: 0 }, d); // the readings checks use the window only
  },
  misfit: (capacity, _p, d) => (d.readings.length <= capacity ? undefined : `size class ${capacity} cannot hold ${d.readings.length} readings`),
  compute: computeStreamOrderOutputs,
  commit: (p, d) => streamWindowCommitment(p, d.readings.map(streamReadingDigest)),
  proverInput: (p, d) => ({ ...p, readings: d.readings.map((r) => ({ ts: r.ts, value: r.value, salt: r.salt })) }),
  fromProverInput(input) {
    const { readings, ...params } = input as unknown as StreamOrderParams & StreamOrderData;
    return { params, data: { readings }, salt: 0n };
  },
  sample(r) {
    // the stream-window claim's workload: 180 smart-plug load readings (milliwatts) in 15 minutes, p95
    const n = 180;
    const P0 = Date.UTC(2026, 10, 20) * 1000;
    const length = 15 * 60_000_000;
    const readings = Array.from({ length: n }, (_, i) => ({ ts: P0 + Math.floor((i * length) / n), value: Math.floor(r() * 3_000_000), salt: String(Math.floor(r() * 2 ** 52)) }));
    return { size: `${n} readings in a 15-minute window`, elements: n, params: { periodStartUs: P0, periodEndUs: P0 + length, percentileBp: 9500 }, data: { readings }, target: '≤ 1 s' };
  },
});

export type StreamOrderBundle = ClaimBundle<typeof STREAMORDER_CLAIM, StreamOrderParams, StreamOrderOutputs>;
