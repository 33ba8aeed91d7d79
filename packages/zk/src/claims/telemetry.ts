/**
 * @module claims/telemetry
 * What the telemetry claims (memory, cpu, disk, gateway) share: parameter checks
 * that mirror the circuits' ranges, size-class fit for fixed shapes, the
 * nearest-rank order statistic and formatting. Browser-safe.
 *
 * All percentages are carried in basis points (8712 = 87.12 %). Every ratio the
 * circuits compare is compared here with BigInt products, exactly as in the
 * circuit (never with floating point), so the reference agrees at the edges.
 */
import { VeriteeError, OFFSET_LIMIT } from '@veritee/core';

export const BP_SCALE = 10000;

/** The reporting period: non-negative integer microseconds, end after start, at most 2^42 us long. */
export function validatePeriod(p: { periodStartUs: number; periodEndUs: number }): void {
  const int = (v: number) => Number.isSafeInteger(v) && v >= 0;
  if (!int(p.periodStartUs) || !int(p.periodEndUs)) throw new VeriteeError('PERIOD_INVALID', 'period bounds must be non-negative integer microseconds');
  if (p.periodEndUs <= p.periodStartUs) throw new VeriteeError('PERIOD_INVALID', 'period end is not after period start');
  if (p.periodEndUs - p.periodStartUs > OFFSET_LIMIT) throw new VeriteeError('PERIOD_INVALID', 'period is longer than 2^42 us (about 50.9 days)');
}

/** An integer parameter in [lo, hi]. */
export function checkParam(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isSafeInteger(v) || v < lo || v > hi) throw new VeriteeError('CLAIM_PARAMS_INVALID', `${name} = ${v} is outside ${lo}..${hi}`);
}

/** A basis-point parameter in [lo, 10000]. */
export function checkBp(name: string, v: number, lo = 0): void {
  checkParam(`${name} (basis points)`, v, lo, BP_SCALE);
}

/** An output count in [lo, hi] (a public input the proof must carry). */
export function checkCount(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isSafeInteger(v) || v < lo || v > hi) throw new VeriteeError('ZK_PUBLIC_INPUT_MISMATCH', `${name} = ${v} is outside ${lo}..${hi}`);
}

/** Nearest rank: ceil(p * n / 10000) for p in basis points. */
export function rankOf(percentileBp: number, n: number): number {
  return Math.ceil((percentileBp * n) / BP_SCALE);
}

/** The nearest-rank percentile of values (p in basis points). */
export function percentileOf(values: readonly number[], percentileBp: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[rankOf(percentileBp, values.length) - 1]!;
}

/** a * b > c * d, exactly. */
export const productGreater = (a: number, b: number, c: number, d: number): boolean => BigInt(a) * BigInt(b) > BigInt(c) * BigInt(d);

/** floor(a * b / c), exactly (c >= 1). */
export const floorRatio = (a: number, b: number, c: number): number => Number((BigInt(a) * BigInt(b)) / BigInt(c));

/** Why data of a shape (its size per dimension) does not fit a size class, or undefined when it does. */
export function shapeMisfit<S extends Record<string, number>>(classes: Readonly<Record<number, S>>, capacity: number, need: S, what: string): string | undefined {
  const shape = classes[capacity];
  return shape && Object.keys(need).every((k) => need[k]! <= shape[k]!) ? undefined : `size class ${capacity} cannot hold ${what}`;
}

/** Basis points as a percentage with two decimals. */
export const pct = (bp: number): string => `${(bp / 100).toFixed(2)} %`;

export const isoPeriod = (p: { periodStartUs: number; periodEndUs: number }): string =>
  `period: ${new Date(p.periodStartUs / 1000).toISOString()} .. ${new Date(p.periodEndUs / 1000).toISOString()}`;

/** Checks a matrix of safe non-negative integers below 2^bits, rectangular. */
export function checkMatrix(rows: readonly (readonly number[])[], cols: number, bits: number, what: (r: number, c: number) => string): void {
  const limit = 2 ** bits;
  rows.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== cols) throw new VeriteeError('INPUT_INVALID', `${what(r, -1)} has ${Array.isArray(row) ? row.length : 'no'} entries, expected ${cols}`);
    row.forEach((v, c) => {
      if (!Number.isSafeInteger(v) || v < 0) throw new VeriteeError('RECORD_FIELD_INVALID', `${what(r, c)}: ${v} is not a non-negative integer`);
      if (v >= limit) throw new VeriteeError('RECORD_VALUE_TOO_LARGE', `${what(r, c)}: ${v} does not fit ${bits} bits`);
    });
  });
}
