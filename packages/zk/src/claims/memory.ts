/**
 * @module claims/memory
 * The memory autoscaling claim. Private: per-process memory usage over a window
 * of samples, swap activity and page faults per sample. Public: the allocated
 * memory, the percentile and threshold (policy), the percentile usage as a
 * share of the allocated memory and the scale-out decision.
 *
 *   total_s  = sum over processes of usageKiB[s][p]
 *   V        = nearest-rank percentileBp of the totals (p90 by default)
 *   usageBp  = floor(10000 * V / allocatedKiB)          e.g. 8712 = 87.12 %, rounded down
 *   scaleOut = 10000 * V > thresholdBp * allocatedKiB    strict: "p90 > 85 % of allocated"
 *
 * scaleOut is decided on V exactly, so 85.004 % reports 8500 bp and scales out.
 * Circuit: prover/internal/circuits/memory.
 */
import { z } from 'zod';
import { memoryCommitment, VeriteeError } from '@veritee/core';
import { defineClaim, publicInputLayout, type ClaimBundle } from './claim.js';
import { integerKey, percentKey, periodKey } from './expect-keys.js';
import { parsePeriod } from './records.js';
import { checkBp, checkCount, checkMatrix, checkParam, shapeMisfit, floorRatio, isoPeriod, pct, percentileOf, productGreater, validatePeriod } from './telemetry.js';

export const MEMORY_CLAIM = 'memory';
/**
 * Version 3 (what `prove` makes): version 2's statement with cheaper range
 * checks of the items (about 3.4 instead of 5.2 constraints per cell).
 * Version 2 bound the samples by the BSB22 commitment in the proof instead of
 * hashing them in the circuit. Version-1 and version-2 bundles keep verifying
 * ({@link memoryClaimV1}, {@link memoryClaimV2}).
 */
export const MEMORY_CIRCUIT_VERSION = 3;
/** Size classes (samples x processes) and their shapes. */
export const MEMORY_CLASSES: Readonly<Record<number, { samples: number; processes: number }>> = {
  512: { samples: 16, processes: 32 },
  16384: { samples: 64, processes: 256 },
  65536: { samples: 128, processes: 512 },
};
export const MEMORY_CAPACITIES = [512, 16384, 65536] as const;
export const MEMORY_DEFAULTS = { percentileBp: 9000, thresholdBp: 8500 } as const;
/** allocatedKiB is below 2^40 (1 PiB). */
export const MEMORY_ALLOCATED_LIMIT = 2 ** 40;
const ITEM_BITS = 32;
const USAGE_BP_LIMIT = 2 ** 32;

export interface MemoryParams {
  periodStartUs: number;
  periodEndUs: number;
  /** Memory allocated to the workload, KiB (measured and committed). */
  allocatedKiB: number;
  /** Percentile of the per-sample totals, basis points (9000 = p90). */
  percentileBp: number;
  /** Scale out when the percentile exceeds this share of allocatedKiB, basis points. */
  thresholdBp: number;
}

export interface MemoryOutputs {
  nSamples: number;
  nProcesses: number;
  /** floor(10000 * percentile total / allocatedKiB). */
  usageBp: number;
  scaleOut: boolean;
}

/** The private window. */
export interface MemoryData {
  /** Pages swapped in + out during each sample. */
  swapPages: readonly number[];
  /** Page faults during each sample. */
  pageFaults: readonly number[];
  /** usageKiB[sample][process], the same processes in the same order in every sample. */
  usageKiB: readonly (readonly number[])[];
}

export function validateMemoryParams(p: MemoryParams): void {
  validatePeriod(p);
  checkParam('allocatedKiB', p.allocatedKiB, 1, MEMORY_ALLOCATED_LIMIT - 1);
  checkBp('percentile', p.percentileBp, 1);
  checkBp('threshold', p.thresholdBp);
}

/** Validates the window's shape and ranges; messages name the sample and process (1-based). */
export function validateMemoryData(d: MemoryData): void {
  const nS = d.usageKiB.length;
  if (nS === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no memory samples');
  const nP = d.usageKiB[0]!.length;
  if (nP === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'the memory samples list no processes');
  if (d.swapPages.length !== nS || d.pageFaults.length !== nS) throw new VeriteeError('INPUT_INVALID', `swapPages and pageFaults need one entry per sample (${nS})`);
  checkMatrix(d.usageKiB, nP, ITEM_BITS, (s, p) => (p < 0 ? `sample ${s + 1}` : `sample ${s + 1}, process ${p + 1}`));
  checkMatrix([d.swapPages, d.pageFaults], nS, ITEM_BITS, (r, s) => (s < 0 ? (r ? 'pageFaults' : 'swapPages') : `sample ${s + 1} ${r ? 'page faults' : 'swap pages'}`));
  const max = MEMORY_CLASSES[MEMORY_CAPACITIES[MEMORY_CAPACITIES.length - 1]]!;
  if (nS > max.samples || nP > max.processes) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${nS} samples x ${nP} processes exceed the largest size class (${max.samples} x ${max.processes})`);
}

/** Per-sample totals (KiB). */
export function memoryTotals(d: MemoryData): number[] {
  return d.usageKiB.map((row) => row.reduce((a, b) => a + b, 0));
}

/** The plain reference computation the circuit must agree with. */
export function computeMemoryOutputs(p: MemoryParams, d: MemoryData): MemoryOutputs {
  const v = percentileOf(memoryTotals(d), p.percentileBp);
  const usageBp = floorRatio(v, 10000, p.allocatedKiB);
  if (usageBp >= USAGE_BP_LIMIT) throw new VeriteeError('RECORD_VALUE_TOO_LARGE', `memory usage ${v} KiB is implausibly large for ${p.allocatedKiB} KiB allocated`);
  return { nSamples: d.usageKiB.length, nProcesses: d.usageKiB[0]!.length, usageBp, scaleOut: productGreater(v, 10000, p.thresholdBp, p.allocatedKiB) };
}

const gib = (kib: number) => `${(kib / 2 ** 20).toFixed(1)} GiB`;

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Version 1: the samples are hashed in the circuit and the commitment is a public input. */
export const memoryClaimV1 = defineClaim<MemoryParams, MemoryOutputs, MemoryData, MemoryParams, typeof MEMORY_CLAIM>({
  kind: MEMORY_CLAIM,
  version: 1,
  capacities: MEMORY_CAPACITIES,
  unit: 'cell (sample × process)',
  title: 'memory autoscaling: the percentile of total usage against the allocation, and the scale-out decision',
  schema: z.object({
    params: z.object({ periodStartUs: u, periodEndUs: u, allocatedKiB: u, percentileBp: u, thresholdBp: u }).strict(),
    outputs: z.object({ nSamples: u, nProcesses: u, usageBp: u, scaleOut: z.boolean() }).strict(),
  }),
  validate(params, outputs, capacity) {
    validateMemoryParams(params);
    const sh = MEMORY_CLASSES[capacity];
    if (!sh) throw new VeriteeError('ZK_PUBLIC_INPUT_MISMATCH', `memory has no size class ${capacity}`);
    checkCount('nSamples', outputs.nSamples, 1, sh.samples);
    checkCount('nProcesses', outputs.nProcesses, 1, sh.processes);
    checkCount('usageBp', outputs.usageBp, 0, USAGE_BP_LIMIT - 1);
  },
  publicInputs: publicInputLayout('commitment', 'nSamples', 'nProcesses', 'periodStartUs', 'periodEndUs', 'allocatedKiB', 'percentileBp', 'thresholdBp', 'usageBp', 'scaleOut'),
  summarize: (p, o) => [
    isoPeriod(p),
    `window: ${o.nSamples} samples x ${o.nProcesses} processes`,
    `p${p.percentileBp / 100} total memory usage: ${pct(o.usageBp)} of ${gib(p.allocatedKiB)} allocated (rounded down)`,
    `scale out when over ${pct(p.thresholdBp)}: ${o.scaleOut ? 'SCALE OUT' : 'no scale-out'}`,
  ],
  check(params, data) {
    validateMemoryParams(params);
    validateMemoryData(data);
  },
  misfit: (c, _p, d) => shapeMisfit(MEMORY_CLASSES, c, { samples: d.usageKiB.length, processes: d.usageKiB[0]!.length }, `${d.usageKiB.length} samples x ${d.usageKiB[0]!.length} processes`),
  compute: computeMemoryOutputs,
  commit: (params, data, salt) => memoryCommitment({ salt, ...params, ...data }),
  sample(r) {
    const nS = 60, nP = 256;
    const usageKiB = Array.from({ length: nS }, () => Array.from({ length: nP }, () => Math.floor(r() * r() * 480_000)));
    const data = { swapPages: usageKiB.map(() => Math.floor(r() * 500)), pageFaults: usageKiB.map(() => Math.floor(r() * 80_000)), usageKiB };
    const P0 = Date.UTC(2026, 10, 20) * 1000;
    return { size: `${nS} samples × ${nP} processes`, elements: nS * nP, target: '≤ 2 s', params: { periodStartUs: P0, periodEndUs: P0 + nS * 60_000_000, allocatedKiB: 64 << 20, ...MEMORY_DEFAULTS }, data };
  },
  statement: (p, o) => ({ n: o.nSamples, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs }),
  expectations: [
    periodKey(parsePeriod),
    integerKey('allocatedKiB', (p) => p.allocatedKiB, 'KiB, an integer'),
    percentKey('percentile', 'percentileBp', (p) => p.percentileBp),
    percentKey('threshold', 'thresholdBp', (p) => p.thresholdBp),
  ],
});

export type MemoryBundle = ClaimBundle<typeof MEMORY_CLAIM, MemoryParams, MemoryOutputs>;

/**
 * Version 2: the same parameters and outputs as version 1; no commitment
 * public input (the bundle's `commitment` is the version-1 Poseidon2 digest of
 * the samples, computed outside the circuit and signed by the enclave next to
 * the proof's BSB22 commitment; `veritee audit --data` recomputes both).
 */
export const memoryClaimV2 = defineClaim<MemoryParams, MemoryOutputs, MemoryData, MemoryParams, typeof MEMORY_CLAIM>({
  ...memoryClaimV1,
  version: 2,
  binding: 'bsb22',
  publicInputs: publicInputLayout('nSamples', 'nProcesses', 'periodStartUs', 'periodEndUs', 'allocatedKiB', 'percentileBp', 'thresholdBp', 'usageBp', 'scaleOut'),
});

/**
 * The memory claim (version 3): version 2's parameters, public inputs, outputs
 * and binding; only the circuit's range checks of the items changed
 * (prover/internal/gadget/limbs), so bundles differ from version 2 in their
 * version and verification key.
 */
export const memoryClaim = defineClaim<MemoryParams, MemoryOutputs, MemoryData, MemoryParams, typeof MEMORY_CLAIM>({
  ...memoryClaimV2,
  version: MEMORY_CIRCUIT_VERSION,
});
