/**
 * @module claims/latency
 * The latency SLA claim: parameters, the SLA expression, exact nearest-rank
 * percentiles (the plain reference the circuit must agree with), size classes
 * and the mapping between the claim and the circuit's public inputs.
 *
 * Nearest rank: the p-th percentile of n values is the value at rank
 * ceil(p/100 · n) in ascending order. Percentiles are carried in basis points
 * (9500 = p95) so that p99.9 is expressible.
 */
import { z } from 'zod';
import { latencyCommitment, VeriteeError, OFFSET_LIMIT, quoteInput } from '@veritee/core';
import { defineClaim, field, type ClaimBundle, type ExpectationKey } from './claim.js';
import { periodKey } from './expect-keys.js';
import { detectRecordsFormat, parsePeriod, parseRecordsText, toPeriodOffsets } from './records.js';

export const LATENCY_CLAIM = 'latency';
/**
 * Version 3 (the one `prove` makes): version 2's statement with cheaper range
 * checks of the record starts and of the sorted latencies (gadget/limbs, about
 * 15 instead of 17 constraints per record). Version 2 bound the records by the
 * BSB22 commitment in the proof instead of hashing them in the circuit
 * (see {@link latencyClaimV2}). Version-1 and version-2 bundles keep verifying
 * ({@link latencyClaimV1}, {@link latencyClaimV2}).
 */
export const LATENCY_CIRCUIT_VERSION = 3;
export const LATENCY_SLOTS = 3;
export const LATENCY_CAPACITIES = [1024, 16384, 50000, 65536] as const;
/** The size classes of version 1. */
export const LATENCY_V1_CAPACITIES = [1024, 16384, 65536] as const;
export const DEFAULT_PERCENTILES_BP = [5000, 9500, 9900] as const;
/** Threshold used for slots without an SLA bound: nothing can reach it. */
export const NO_THRESHOLD_US = OFFSET_LIMIT;

export interface LatencySlot {
  /** Percentile in basis points, 1..10000. */
  percentileBp: number;
  /** Upper bound in microseconds (latency must be strictly below it). */
  thresholdUs: number;
  /** Whether the slot's bound is part of the SLA verdict. */
  enforce: boolean;
}

export interface LatencyParams {
  periodStartUs: number;
  periodEndUs: number;
  /** Minimum number of requests for compliance. */
  minN: number;
  slots: LatencySlot[];
}

/** The private data: request records as offsets from the period start, [start0, end0, start1, end1, ...]. */
export interface LatencyData {
  records: readonly number[];
}

export interface LatencyOutputs {
  n: number;
  /** Per slot: the percentile value and how many requests were at or over the threshold. */
  slots: { valueUs: number; exceeding: number }[];
  compliant: boolean;
}

const UNIT_US: Record<string, number> = { us: 1, µs: 1, ms: 1000, s: 1_000_000 };

/**
 * Parses an SLA such as `p95<100ms,p99<500ms,min=10000`. Terms: `pNN[.N]<VALUE UNIT`
 * (units us, ms, s; strict bound) and `min=N`. The three slots are p50, p95, p99
 * unless the SLA names other percentiles, which take the slots of unnamed ones.
 * Every term may appear once: a repeated `min` or percentile is refused, never
 * resolved by keeping one of them.
 */
export function parseSla(sla: string): { minN: number; slots: LatencySlot[] } {
  let minN = 0;
  let minTerm: string | undefined;
  const bounds = new Map<number, number>();
  const boundTerms = new Map<number, string>();
  const terms = sla
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (terms.length === 0) throw new VeriteeError('SLA_INVALID', 'SLA is empty: expected terms like "p95<100ms,min=10000"');
  for (const term of terms) {
    const min = /^min\s*=\s*(\d+)$/i.exec(term);
    if (min) {
      if (minTerm !== undefined) throw new VeriteeError('SLA_INVALID', `SLA names min twice (${quoteInput(minTerm, 40)} and ${quoteInput(term, 40)})`);
      minTerm = term;
      minN = Number(min[1]);
      if (!Number.isSafeInteger(minN) || minN >= 2 ** 32) throw new VeriteeError('SLA_INVALID', `SLA term ${quoteInput(term, 40)}: minimum count is too large`);
      continue;
    }
    const m = /^p(\d{1,3}(?:\.\d{1,2})?)\s*<\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s)$/i.exec(term);
    if (!m) {
      throw new VeriteeError('SLA_INVALID', `SLA term ${quoteInput(term, 40)} is not understood: expected "pNN<VALUE(us|ms|s)" or "min=N" (only strict "<" bounds)`);
    }
    const bp = Math.round(Number(m[1]) * 100);
    if (bp < 1 || bp > 10000) throw new VeriteeError('SLA_INVALID', `SLA term ${quoteInput(term, 40)}: percentile must be in (0, 100]`);
    const unit = UNIT_US[m[3]!.toLowerCase()]!;
    const fraction = (m[2]!.split('.')[1] ?? '').replace(/0+$/, '');
    if (fraction.length > Math.log10(unit)) throw new VeriteeError('SLA_INVALID', `SLA term ${quoteInput(term, 40)}: bound is not a whole number of microseconds`);
    const us = Math.round(Number(m[2]) * unit);
    if (us < 1 || us > NO_THRESHOLD_US) throw new VeriteeError('SLA_INVALID', `SLA term ${quoteInput(term, 40)}: bound must be between 1 us and 2^42 us`);
    if (bounds.has(bp)) throw new VeriteeError('SLA_INVALID', `SLA names p${bp / 100} twice (${quoteInput(boundTerms.get(bp)!, 40)} and ${quoteInput(term, 40)})`);
    bounds.set(bp, us);
    boundTerms.set(bp, term);
  }
  if (bounds.size > LATENCY_SLOTS) throw new VeriteeError('SLA_INVALID', `SLA names ${bounds.size} percentiles; at most ${LATENCY_SLOTS} are supported`);
  const percentiles: number[] = [...DEFAULT_PERCENTILES_BP];
  const extra = [...bounds.keys()].filter((bp) => !percentiles.includes(bp));
  for (let i = percentiles.length - 1; i >= 0 && extra.length > 0; i--) {
    if (!bounds.has(percentiles[i]!)) percentiles[i] = extra.shift()!;
  }
  percentiles.sort((a, b) => a - b);
  const slots = percentiles.map((bp) => {
    const t = bounds.get(bp);
    return t === undefined ? { percentileBp: bp, thresholdUs: NO_THRESHOLD_US, enforce: false } : { percentileBp: bp, thresholdUs: t, enforce: true };
  });
  return { minN, slots };
}

/** Renders the SLA back in the syntax of {@link parseSla}. */
export function formatSla(p: Pick<LatencyParams, 'minN' | 'slots'>): string {
  const terms = p.slots.filter((s) => s.enforce).map((s) => `p${s.percentileBp / 100}<${formatDuration(s.thresholdUs)}`);
  if (p.minN > 0) terms.push(`min=${p.minN}`);
  return terms.join(',');
}

export function formatDuration(us: number): string {
  if (us % 1_000_000 === 0) return `${us / 1_000_000}s`;
  if (us % 1000 === 0) return `${us / 1000}ms`;
  return `${us}us`;
}

/** Nearest rank: ceil(p · n / 10000) for p in basis points. */
export function nearestRank(percentileBp: number, n: number): number {
  return Math.ceil((percentileBp * n) / 10000);
}

/** Validates parameters against the circuit's ranges. */
export function validateLatencyParams(p: LatencyParams): void {
  const int = (v: number) => Number.isSafeInteger(v) && v >= 0;
  if (!int(p.periodStartUs) || !int(p.periodEndUs)) throw new VeriteeError('PERIOD_INVALID', 'period bounds must be non-negative integer microseconds');
  if (p.periodEndUs <= p.periodStartUs) throw new VeriteeError('PERIOD_INVALID', 'period end is not after period start');
  if (p.periodEndUs - p.periodStartUs > OFFSET_LIMIT) throw new VeriteeError('PERIOD_INVALID', `period is longer than 2^42 us (about 50.9 days)`);
  if (!int(p.minN) || p.minN >= 2 ** 32) throw new VeriteeError('SLA_INVALID', 'minimum count must be an integer below 2^32');
  if (p.slots.length !== LATENCY_SLOTS) throw new VeriteeError('SLA_INVALID', `expected ${LATENCY_SLOTS} percentile slots`);
  for (const s of p.slots) {
    if (!Number.isInteger(s.percentileBp) || s.percentileBp < 1 || s.percentileBp > 10000) throw new VeriteeError('SLA_INVALID', `percentile ${s.percentileBp} bp outside 1..10000`);
    if (!Number.isInteger(s.thresholdUs) || s.thresholdUs < 1 || s.thresholdUs > NO_THRESHOLD_US) throw new VeriteeError('SLA_INVALID', `threshold ${s.thresholdUs} us outside 1..2^42`);
  }
}

/**
 * Validates records given as offsets [start0, end0, ...] from the period start.
 * Error messages name the record (1-based, as a person counts lines).
 */
export function validateLatencyRecords(params: LatencyParams, records: readonly number[]): void {
  const n = records.length / 2;
  if (n === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no records');
  const max = LATENCY_CAPACITIES[LATENCY_CAPACITIES.length - 1]!;
  if (n > max) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${n} records exceed the largest size class (${max})`);
  const periodLen = params.periodEndUs - params.periodStartUs;
  for (let i = 0; i < n; i++) {
    const s = records[2 * i]!, e = records[2 * i + 1]!;
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e)) throw new VeriteeError('RECORD_FIELD_INVALID', `record ${i + 1}: start and end must be integers`);
    if (s < 0 || s >= periodLen) throw new VeriteeError('RECORD_OUTSIDE_PERIOD', `record ${i + 1} starts outside the reporting period`);
    if (e < s) throw new VeriteeError('RECORD_END_BEFORE_START', `record ${i + 1} ends before it starts`);
    if (e >= OFFSET_LIMIT) throw new VeriteeError('RECORD_VALUE_TOO_LARGE', `record ${i + 1} ends more than 2^42 us after the period start`);
  }
}

/** Smallest size class holding n records. */
export function latencyCapacityFor(n: number): number {
  for (const c of LATENCY_CAPACITIES) if (n <= c) return c;
  throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${n} records exceed the largest size class (${LATENCY_CAPACITIES[LATENCY_CAPACITIES.length - 1]})`);
}

/** The plain reference computation the circuit must agree with. */
export function computeLatencyOutputs(params: LatencyParams, records: readonly number[]): LatencyOutputs {
  const n = records.length / 2;
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) lat[i] = records[2 * i + 1]! - records[2 * i]!;
  lat.sort();
  let compliant = n >= params.minN;
  const slots = params.slots.map((s) => {
    const valueUs = lat[nearestRank(s.percentileBp, n) - 1]!;
    let exceeding = 0;
    for (let i = 0; i < n; i++) if (lat[i]! >= s.thresholdUs) exceeding++;
    if (s.enforce && !(valueUs < s.thresholdUs)) compliant = false;
    return { valueUs, exceeding };
  });
  return { n, slots, compliant };
}

/** Public inputs in the circuit's order (see prover/internal/circuits/latency/claim.go). */
export function latencyPublicInputs(commitment: bigint, p: LatencyParams, o: LatencyOutputs): bigint[] {
  const b = field;
  return [
    commitment,
    b(o.n),
    b(p.periodStartUs),
    b(p.periodEndUs),
    b(p.minN),
    ...p.slots.map((s) => b(s.percentileBp)),
    ...p.slots.map((s) => b(s.thresholdUs)),
    ...p.slots.map((s) => b(s.enforce)),
    ...o.slots.map((s) => b(s.valueUs)),
    ...o.slots.map((s) => b(s.exceeding)),
    b(o.compliant),
  ];
}

/**
 * Public inputs of version 2: those of version 1 without the commitment (the
 * records are bound by the BSB22 commitment the proof carries).
 */
export function latencyPublicInputsV2(commitment: bigint, p: LatencyParams, o: LatencyOutputs): bigint[] {
  return latencyPublicInputs(commitment, p, o).slice(1);
}

/** Records [start0, end0, ...] sorted by start, then end: the order version 2 commits them in. */
export function latencyRecordsInStartOrder(records: readonly number[]): number[] {
  const n = records.length / 2;
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => records[2 * a]! - records[2 * b]! || records[2 * a + 1]! - records[2 * b + 1]!);
  const out = new Array<number>(records.length);
  idx.forEach((j, i) => {
    out[2 * i] = records[2 * j]!;
    out[2 * i + 1] = records[2 * j + 1]!;
  });
  return out;
}

/**
 * The version-2 records digest: the Poseidon2 latency commitment of the records
 * in start order (computed outside the circuit; the enclave signs it next to the
 * proof's BSB22 commitment, and `veritee audit` recomputes it).
 */
export function latencyDigestV2(p: Pick<LatencyParams, 'periodStartUs' | 'periodEndUs'>, records: readonly number[], salt: bigint): bigint {
  return latencyCommitment({ salt, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs, records: latencyRecordsInStartOrder(records) });
}

/** The JSON input of a prove request for the Go prover. */
export function latencyProverInput(params: LatencyParams, salt: bigint, records: readonly number[]): Record<string, unknown> {
  return {
    salt: salt.toString(),
    periodStartUs: params.periodStartUs,
    periodEndUs: params.periodEndUs,
    minN: params.minN,
    percentiles: params.slots.map((s) => s.percentileBp),
    thresholdsUs: params.slots.map((s) => s.thresholdUs),
    enforce: params.slots.map((s) => s.enforce),
    records,
  };
}

const msText = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(us % 1000 === 0 ? 0 : 1)} ms` : `${us} us`);

/** Human lines: period, n, each percentile with its bound, the verdict. */
export function summarizeLatency(p: LatencyParams, o: LatencyOutputs): string[] {
  const lines = [
    `period: ${new Date(p.periodStartUs / 1000).toISOString()} .. ${new Date(p.periodEndUs / 1000).toISOString()}`,
    `requests: n = ${o.n}${p.minN ? ` (SLA minimum ${p.minN})` : ''}`,
  ];
  p.slots.forEach((s, i) => {
    const v = o.slots[i]!;
    const bound = s.enforce ? `  SLA < ${formatDuration(s.thresholdUs)}: ${v.valueUs < s.thresholdUs ? 'met' : 'MISSED'}, ${v.exceeding} requests at or over it` : '';
    lines.push(`p${s.percentileBp / 100}: ${msText(v.valueUs)}${bound}`);
  });
  lines.push(`SLA "${formatSla(p)}": ${o.compliant ? 'COMPLIANT' : 'NOT COMPLIANT'}`);
  return lines;
}

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const LatencyClaimBodySchema = z.object({
  params: z
    .object({
      periodStartUs: u,
      periodEndUs: u,
      minN: u,
      slots: z.array(z.object({ percentileBp: u, thresholdUs: u, enforce: z.boolean() }).strict()).length(LATENCY_SLOTS),
    })
    .strict(),
  outputs: z
    .object({
      n: u,
      slots: z.array(z.object({ valueUs: u, exceeding: u }).strict()).length(LATENCY_SLOTS),
      compliant: z.boolean(),
    })
    .strict(),
});

/**
 * Version 1 of the latency claim: the records are hashed in the circuit
 * (Poseidon2 sponge) and the commitment is a public input. Kept so that
 * version-1 bundles keep verifying (and can still be proven with it).
 */
export const latencyClaimV1 = defineClaim<LatencyParams, LatencyOutputs, LatencyData, LatencyParams, typeof LATENCY_CLAIM>({
  kind: LATENCY_CLAIM,
  version: 1,
  capacities: LATENCY_V1_CAPACITIES,
  unit: 'record',
  title: 'latency SLA: exact nearest-rank percentiles of request latencies, over-threshold counts and the SLA verdict',
  schema: LatencyClaimBodySchema,
  validate(params, outputs, capacity) {
    validateLatencyParams(params);
    if (outputs.n < 1 || outputs.n > capacity) throw new VeriteeError('ZK_PUBLIC_INPUT_MISMATCH', `n = ${outputs.n} is outside 1..${capacity}`);
  },
  publicInputs: latencyPublicInputs,
  summarize: summarizeLatency,
  check(params, data) {
    validateLatencyParams(params);
    validateLatencyRecords(params, data.records);
  },
  capacityFor: (_p, d) => LATENCY_V1_CAPACITIES.find((c) => c >= d.records.length / 2) ?? latencyCapacityFor(d.records.length / 2),
  misfit: (capacity, _p, d) => ((LATENCY_V1_CAPACITIES as readonly number[]).includes(capacity) && capacity >= d.records.length / 2 ? undefined : `size class ${capacity} cannot hold ${d.records.length / 2} records (classes: ${LATENCY_V1_CAPACITIES.join(', ')})`),
  compute: (p, d) => computeLatencyOutputs(p, d.records),
  commit: (p, d, salt) => latencyCommitment({ salt, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs, records: d.records }),
  proverInput: (p, d, salt) => latencyProverInput(p, salt, d.records),
  fromProverInput: (i) => {
    const [pct, thr, enf] = [i.percentiles, i.thresholdsUs, i.enforce] as [number[], number[], boolean[]];
    const slots = pct.map((percentileBp, j) => ({ percentileBp, thresholdUs: thr[j]!, enforce: enf[j]! }));
    return { params: { periodStartUs: Number(i.periodStartUs), periodEndUs: Number(i.periodEndUs), minN: Number(i.minN), slots }, data: { records: i.records as number[] }, salt: BigInt(String(i.salt)) };
  },
  cli: {
    description: 'prove latency percentiles and an SLA verdict over request records',
    options: [
      { flags: '--records <file>', description: 'records as CSV (start_us,end_us) or JSON Lines ({"start_us","end_us"})', required: true },
      { flags: '--period <start/end>', description: 'reporting period, RFC 3339 or microseconds: 2025-06-01T00:00:00Z/2025-06-02T00:00:00Z', required: true },
      { flags: '--sla <expr>', description: 'SLA, e.g. "p95<100ms,p99<500ms,min=10000"', required: true },
    ],
    read(o, readText) {
      const { periodStartUs, periodEndUs } = parsePeriod(String(o.period));
      const { minN, slots } = parseSla(String(o.sla));
      const path = String(o.records);
      const text = readText(path, 'records file');
      const records = toPeriodOffsets(parseRecordsText(text, detectRecordsFormat(path, text)), periodStartUs, periodEndUs);
      return { params: { periodStartUs, periodEndUs, minN, slots }, data: { records } };
    },
  },
  statement: (p, o) => ({ n: o.n, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs }),
  expectations: [periodKey(parsePeriod), slaExpectation()],
});

/**
 * Version 2 of the latency claim. The circuit commits to the records in start
 * order, as (start, latency), with gnark's BSB22 commitment (a Pedersen vector
 * commitment carried in the proof, masked with a value derived from the salt);
 * there is no commitment public input. The bundle's `commitment` is the
 * Poseidon2 digest of the records in start order ({@link latencyDigestV2}),
 * computed outside the circuit; the enclave statement covers both, and a holder
 * of the records and the salt recomputes both (`veritee audit`).
 */
export const latencyClaimV2 = defineClaim<LatencyParams, LatencyOutputs, LatencyData, LatencyParams, typeof LATENCY_CLAIM>({
  ...latencyClaimV1,
  version: 2,
  capacities: LATENCY_CAPACITIES,
  binding: 'bsb22',
  publicInputs: latencyPublicInputsV2,
  capacityFor: (_p, d) => latencyCapacityFor(d.records.length / 2),
  misfit: (capacity, _p, d) => ((LATENCY_CAPACITIES as readonly number[]).includes(capacity) && capacity >= d.records.length / 2 ? undefined : `size class ${capacity} cannot hold ${d.records.length / 2} records (classes: ${LATENCY_CAPACITIES.join(', ')})`),
  commit: (p, d, salt) => latencyDigestV2(p, d.records, salt),
});

/**
 * The latency claim (version 3): version 2's parameters, size classes, public
 * inputs, outputs, digest and BSB22 binding; only the circuit's range checks
 * changed (prover/internal/gadget/limbs), so bundles differ from version 2 in
 * their version and verification key.
 */
export const latencyClaim = defineClaim<LatencyParams, LatencyOutputs, LatencyData, LatencyParams, typeof LATENCY_CLAIM>({
  ...latencyClaimV2,
  version: LATENCY_CIRCUIT_VERSION,
});

/**
 * `sla=p95<100ms,p99<500ms,min=1000`: the SLA the verdict is about, in the syntax of
 * {@link parseSla}. It matches when the bundle enforces exactly these percentiles
 * with exactly these bounds and this minimum count (0 when `min` is not written);
 * percentiles the bundle reports without enforcing them do not count. A stricter
 * or looser SLA is a mismatch: the verifier says what it wants, not a range.
 */
function slaExpectation(): ExpectationKey<LatencyParams> {
  type Sla = Pick<LatencyParams, 'minN' | 'slots'>;
  const enforced = (s: Sla) => new Map(s.slots.filter((x) => x.enforce).map((x) => [x.percentileBp, x.thresholdUs] as const));
  return {
    key: 'sla',
    rest: true,
    syntax: 'an SLA such as p95<100ms,p99<500ms,min=1000 (written last: it holds commas)',
    parse: (v) => parseSla(v),
    format: (p) => formatSla(p),
    matches: (p, e) => {
      const want = e as Sla;
      const a = enforced(p);
      const b = enforced(want);
      return p.minN === want.minN && a.size === b.size && [...b].every(([bp, us]) => a.get(bp) === us);
    },
    show: (e) => formatSla(e as Sla),
  };
}

/** A bundle whose claim is a latency claim (typed access to params and outputs). */
export type LatencyBundle = ClaimBundle<typeof LATENCY_CLAIM, LatencyParams, LatencyOutputs>;

export function isLatencyBundle(b: { claim: { kind: string } }): b is LatencyBundle {
  return b.claim.kind === LATENCY_CLAIM;
}
