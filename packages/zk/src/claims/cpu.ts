/**
 * @module claims/cpu
 * The CPU autoscaling claim. Private: per-process CPU samples (milli-cores:
 * 1000 = one core busy for the whole sample) and each process's ownership
 * (platform or customer). Public: the machine capacity (measured, committed),
 * the percentile, threshold and platform limit (policy), and the outputs:
 *
 *   cust_s             = sum of the customer's processes in sample s
 *   scaleOut           = 10000 * p95(cust_s) > thresholdBp * capacityMilli   strict: "customer p95 > 80 %"
 *   U                  = sum of every process over every sample
 *   band               = floor(10 * U / (nSamples * capacityMilli))          band b: mean utilisation in [10b, 10b+10) %
 *   platformBelowLimit = 10000 * (U - sum_s cust_s) < platformLimitBp * U   strict: "platform share < 10 %" (false when U = 0)
 *
 * Circuit: prover/internal/circuits/cpu. Ownership flags are committed, so
 * relabelling a process changes the commitment.
 */
import { z } from 'zod';
import { cpuCommitment, VeriteeError } from '@veritee/core';
import { defineClaim, publicInputLayout, type ClaimBundle } from './claim.js';
import { integerKey, percentKey, periodKey } from './expect-keys.js';
import { parsePeriod } from './records.js';
import { checkBp, checkCount, checkMatrix, checkParam, shapeMisfit, isoPeriod, pct, percentileOf, productGreater, validatePeriod } from './telemetry.js';

export const CPU_CLAIM = 'cpu';
export const CPU_CIRCUIT_VERSION = 1;
export const CPU_CLASSES: Readonly<Record<number, { samples: number; processes: number }>> = {
  512: { samples: 16, processes: 32 },
  16384: { samples: 64, processes: 256 },
  65536: { samples: 128, processes: 512 },
};
export const CPU_CAPACITIES = [512, 16384, 65536] as const;
export const CPU_DEFAULTS = { percentileBp: 9500, thresholdBp: 8000, platformLimitBp: 1000 } as const;
/** capacityMilli is below 2^20 (1048 cores). */
export const CPU_CAPACITY_LIMIT = 2 ** 20;
const ITEM_BITS = 20;
const BAND_LIMIT = 256;

export interface CpuParams {
  periodStartUs: number;
  periodEndUs: number;
  /** CPU capacity of the machine in milli-cores. */
  capacityMilli: number;
  /** Percentile of the customer's per-sample load, basis points (9500 = p95). */
  percentileBp: number;
  /** Scale out when that percentile exceeds this share of the capacity, basis points. */
  thresholdBp: number;
  /** The platform's share of the CPU used must stay below this, basis points. */
  platformLimitBp: number;
}

export interface CpuOutputs {
  nSamples: number;
  nProcesses: number;
  /** Mean utilisation band: b means [10b, 10b+10) %. */
  band: number;
  scaleOut: boolean;
  platformBelowLimit: boolean;
}

export interface CpuData {
  /** Per process: true = customer, false = platform. */
  customer: readonly boolean[];
  /** usageMilli[sample][process]. */
  usageMilli: readonly (readonly number[])[];
}

export function validateCpuParams(p: CpuParams): void {
  validatePeriod(p);
  checkParam('capacityMilli', p.capacityMilli, 1, CPU_CAPACITY_LIMIT - 1);
  checkBp('percentile', p.percentileBp, 1);
  checkBp('threshold', p.thresholdBp);
  checkBp('platform limit', p.platformLimitBp);
}

export function validateCpuData(d: CpuData): void {
  const nS = d.usageMilli.length;
  const nP = d.customer.length;
  if (nS === 0 || nP === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no CPU samples or no processes');
  if (!d.customer.every((c) => typeof c === 'boolean')) throw new VeriteeError('RECORD_FIELD_INVALID', 'ownership flags must be booleans (true = customer)');
  checkMatrix(d.usageMilli, nP, ITEM_BITS, (s, p) => (p < 0 ? `sample ${s + 1}` : `sample ${s + 1}, process ${p + 1}`));
  const max = CPU_CLASSES[CPU_CAPACITIES[CPU_CAPACITIES.length - 1]]!;
  if (nS > max.samples || nP > max.processes) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${nS} samples x ${nP} processes exceed the largest size class (${max.samples} x ${max.processes})`);
}

/** Figures of the reference computation (private; exported for tests and tools). */
export function cpuFigures(d: CpuData): { customerPerSample: number[]; total: number; platform: number } {
  let total = 0;
  let cust = 0;
  const customerPerSample = d.usageMilli.map((row) => {
    let c = 0;
    row.forEach((v, p) => {
      total += v;
      if (d.customer[p]) c += v;
    });
    cust += c;
    return c;
  });
  return { customerPerSample, total, platform: total - cust };
}

/** The plain reference computation the circuit must agree with. */
export function computeCpuOutputs(p: CpuParams, d: CpuData): CpuOutputs {
  const f = cpuFigures(d);
  const nS = d.usageMilli.length;
  const band = Number((BigInt(f.total) * 10n) / (BigInt(nS) * BigInt(p.capacityMilli)));
  if (band >= BAND_LIMIT) throw new VeriteeError('RECORD_VALUE_TOO_LARGE', `mean CPU use is implausibly large for a capacity of ${p.capacityMilli} milli-cores`);
  const v = percentileOf(f.customerPerSample, p.percentileBp);
  return {
    nSamples: nS,
    nProcesses: d.customer.length,
    band,
    scaleOut: productGreater(v, 10000, p.thresholdBp, p.capacityMilli),
    platformBelowLimit: productGreater(p.platformLimitBp, f.total, f.platform, 10000),
  };
}

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const cpuClaim = defineClaim<CpuParams, CpuOutputs, CpuData, CpuParams, typeof CPU_CLAIM>({
  kind: CPU_CLAIM,
  version: CPU_CIRCUIT_VERSION,
  capacities: CPU_CAPACITIES,
  unit: 'cell (sample × process)',
  title: "cpu autoscaling: the customer's percentile load and mean band, scale-out, platform overhead below a limit",
  schema: z.object({
    params: z.object({ periodStartUs: u, periodEndUs: u, capacityMilli: u, percentileBp: u, thresholdBp: u, platformLimitBp: u }).strict(),
    outputs: z.object({ nSamples: u, nProcesses: u, band: u, scaleOut: z.boolean(), platformBelowLimit: z.boolean() }).strict(),
  }),
  validate(params, outputs, capacity) {
    validateCpuParams(params);
    const sh = CPU_CLASSES[capacity];
    if (!sh) throw new VeriteeError('ZK_PUBLIC_INPUT_MISMATCH', `cpu has no size class ${capacity}`);
    checkCount('nSamples', outputs.nSamples, 1, sh.samples);
    checkCount('nProcesses', outputs.nProcesses, 1, sh.processes);
    checkCount('band', outputs.band, 0, BAND_LIMIT - 1);
  },
  publicInputs: publicInputLayout('commitment', 'nSamples', 'nProcesses', 'periodStartUs', 'periodEndUs', 'capacityMilli', 'percentileBp', 'thresholdBp', 'platformLimitBp', 'band', 'scaleOut', 'platformBelowLimit'),
  summarize: (p, o) => [
    isoPeriod(p),
    `window: ${o.nSamples} samples x ${o.nProcesses} processes on ${p.capacityMilli / 1000} cores`,
    `mean utilisation: ${o.band * 10}-${o.band * 10 + 10} %`,
    `customer p${p.percentileBp / 100} over ${pct(p.thresholdBp)}: ${o.scaleOut ? 'SCALE OUT' : 'no scale-out'}`,
    `platform overhead below ${pct(p.platformLimitBp)} of the CPU used: ${o.platformBelowLimit ? 'yes' : 'NO'}`,
  ],
  check(params, data) {
    validateCpuParams(params);
    validateCpuData(data);
  },
  misfit: (c, _p, d) => shapeMisfit(CPU_CLASSES, c, { samples: d.usageMilli.length, processes: d.customer.length }, `${d.usageMilli.length} samples x ${d.customer.length} processes`),
  compute: computeCpuOutputs,
  commit: (params, data, salt) => cpuCommitment({ salt, ...params, ...data }),
  sample(r) {
    const nS = 60, nP = 256;
    const customer = Array.from({ length: nP }, (_, p) => p >= 40);
    const usageMilli = Array.from({ length: nS }, () => customer.map((c) => Math.floor(r() * (c ? 60 : 10))));
    const P0 = Date.UTC(2026, 10, 20) * 1000;
    return { size: `${nS} samples × ${nP} processes`, elements: nS * nP, params: { periodStartUs: P0, periodEndUs: P0 + nS * 10_000_000, capacityMilli: 16_000, ...CPU_DEFAULTS }, data: { customer, usageMilli } };
  },
  statement: (p, o) => ({ n: o.nSamples, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs }),
  expectations: [
    periodKey(parsePeriod),
    integerKey('capacityMilli', (p) => p.capacityMilli, 'milli-cores, an integer'),
    percentKey('percentile', 'percentileBp', (p) => p.percentileBp),
    percentKey('threshold', 'thresholdBp', (p) => p.thresholdBp),
    percentKey('platformLimit', 'platformLimitBp', (p) => p.platformLimitBp),
  ],
});

export type CpuBundle = ClaimBundle<typeof CPU_CLAIM, CpuParams, CpuOutputs>;
