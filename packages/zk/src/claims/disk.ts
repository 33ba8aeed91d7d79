/**
 * @module claims/disk
 * The disk autoscaling claim. Private: per mount the used and total KiB, the
 * used and total inodes, and the I/O queue depth (I/Os in flight on its device)
 * per sample. Public: the thresholds (policy) and the outputs:
 *
 *   maxUsageBp       = max over mounts of floor(10000 * usedKiB / totalKiB)     storage pressure (0 for totalKiB = 0)
 *   maxInodeUsageBp  = max over mounts of floor(10000 * inodesUsed / inodesTotal) (0 without inode accounting)
 *   scaleOut         = some mount has 10000 * usedKiB > usageThresholdBp * totalKiB
 *                      or 10000 * inodesUsed > inodeThresholdBp * inodesTotal    strict: "> 85 %", "> 90 %"
 *   performanceIssue = some queue sample > queueThreshold                        strict
 *
 * The decisions use exact comparisons; the maxima are rounded down.
 * Circuit: prover/internal/circuits/disk.
 */
import { z } from 'zod';
import { diskCommitment, VeriteeError, type DiskMount } from '@veritee/core';
import { defineClaim, publicInputLayout, type ClaimBundle } from './claim.js';
import { integerKey, percentKey, periodKey } from './expect-keys.js';
import { parsePeriod } from './records.js';
import { checkBp, checkCount, checkMatrix, checkParam, shapeMisfit, floorRatio, isoPeriod, pct, productGreater, validatePeriod } from './telemetry.js';

export const DISK_CLAIM = 'disk';
export const DISK_CIRCUIT_VERSION = 1;
export const DISK_CLASSES: Readonly<Record<number, { mounts: number; samples: number }>> = {
  128: { mounts: 8, samples: 16 },
  4096: { mounts: 64, samples: 64 },
};
export const DISK_CAPACITIES = [128, 4096] as const;
export const DISK_DEFAULTS = { usageThresholdBp: 8500, inodeThresholdBp: 9000, queueThreshold: 32 } as const;
const STAT_BITS = 48;
const QUEUE_BITS = 16;

export interface DiskParams {
  periodStartUs: number;
  periodEndUs: number;
  /** Scale out when a mount's block usage exceeds this, basis points. */
  usageThresholdBp: number;
  /** Scale out when a mount's inode usage exceeds this, basis points. */
  inodeThresholdBp: number;
  /** A performance issue is a queue depth above this (I/Os in flight). */
  queueThreshold: number;
}

export interface DiskOutputs {
  nMounts: number;
  nSamples: number;
  maxUsageBp: number;
  maxInodeUsageBp: number;
  scaleOut: boolean;
  performanceIssue: boolean;
}

export interface DiskData {
  mounts: readonly DiskMount[];
}

export function validateDiskParams(p: DiskParams): void {
  validatePeriod(p);
  checkBp('usage threshold', p.usageThresholdBp);
  checkBp('inode threshold', p.inodeThresholdBp);
  checkParam('queueThreshold', p.queueThreshold, 0, 2 ** QUEUE_BITS - 1);
}

export function validateDiskData(d: DiskData): void {
  const nM = d.mounts.length;
  if (nM === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no mounts');
  const nS = d.mounts[0]!.queueDepth.length;
  if (nS === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no queue depth samples');
  const names = ['usedKiB', 'totalKiB', 'inodesUsed', 'inodesTotal'];
  checkMatrix(
    d.mounts.map((m) => [m.usedKiB, m.totalKiB, m.inodesUsed, m.inodesTotal]),
    4,
    STAT_BITS,
    (m, k) => `mount ${m + 1}${k < 0 ? '' : ` ${names[k]}`}`,
  );
  checkMatrix(
    d.mounts.map((m) => m.queueDepth),
    nS,
    QUEUE_BITS,
    (m, s) => (s < 0 ? `mount ${m + 1} queue samples` : `mount ${m + 1}, queue sample ${s + 1}`),
  );
  d.mounts.forEach((m, i) => {
    if (m.usedKiB > m.totalKiB || m.inodesUsed > m.inodesTotal) throw new VeriteeError('INPUT_INVALID', `mount ${i + 1} uses more blocks or inodes than it has`);
  });
  const max = DISK_CLASSES[DISK_CAPACITIES[DISK_CAPACITIES.length - 1]]!;
  if (nM > max.mounts || nS > max.samples) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${nM} mounts x ${nS} samples exceed the largest size class (${max.mounts} x ${max.samples})`);
}

const ratioBp = (used: number, total: number) => (total === 0 ? 0 : floorRatio(used, 10000, total));

/** The plain reference computation the circuit must agree with. */
export function computeDiskOutputs(p: DiskParams, d: DiskData): DiskOutputs {
  let maxUsageBp = 0;
  let maxInodeUsageBp = 0;
  let scaleOut = false;
  let performanceIssue = false;
  for (const m of d.mounts) {
    maxUsageBp = Math.max(maxUsageBp, ratioBp(m.usedKiB, m.totalKiB));
    maxInodeUsageBp = Math.max(maxInodeUsageBp, ratioBp(m.inodesUsed, m.inodesTotal));
    if (productGreater(m.usedKiB, 10000, p.usageThresholdBp, m.totalKiB) || productGreater(m.inodesUsed, 10000, p.inodeThresholdBp, m.inodesTotal)) scaleOut = true;
    if (m.queueDepth.some((q) => q > p.queueThreshold)) performanceIssue = true;
  }
  return { nMounts: d.mounts.length, nSamples: d.mounts[0]!.queueDepth.length, maxUsageBp, maxInodeUsageBp, scaleOut, performanceIssue };
}

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const diskClaim = defineClaim<DiskParams, DiskOutputs, DiskData, DiskParams, typeof DISK_CLAIM>({
  kind: DISK_CLAIM,
  version: DISK_CIRCUIT_VERSION,
  capacities: DISK_CAPACITIES,
  unit: 'cell (mount × sample)',
  title: 'disk autoscaling: the fullest mount by space and inodes, scale-out, an I/O queue performance issue',
  schema: z.object({
    params: z.object({ periodStartUs: u, periodEndUs: u, usageThresholdBp: u, inodeThresholdBp: u, queueThreshold: u }).strict(),
    outputs: z.object({ nMounts: u, nSamples: u, maxUsageBp: u, maxInodeUsageBp: u, scaleOut: z.boolean(), performanceIssue: z.boolean() }).strict(),
  }),
  validate(params, outputs, capacity) {
    validateDiskParams(params);
    const sh = DISK_CLASSES[capacity];
    if (!sh) throw new VeriteeError('ZK_PUBLIC_INPUT_MISMATCH', `disk has no size class ${capacity}`);
    checkCount('nMounts', outputs.nMounts, 1, sh.mounts);
    checkCount('nSamples', outputs.nSamples, 1, sh.samples);
    checkCount('maxUsageBp', outputs.maxUsageBp, 0, 10000);
    checkCount('maxInodeUsageBp', outputs.maxInodeUsageBp, 0, 10000);
  },
  publicInputs: publicInputLayout('commitment', 'nMounts', 'nSamples', 'periodStartUs', 'periodEndUs', 'usageThresholdBp', 'inodeThresholdBp', 'queueThreshold', 'maxUsageBp', 'maxInodeUsageBp', 'scaleOut', 'performanceIssue'),
  summarize: (p, o) => [
    isoPeriod(p),
    `${o.nMounts} mounts, ${o.nSamples} queue samples each`,
    `storage pressure: fullest mount ${pct(o.maxUsageBp)} of its blocks, ${pct(o.maxInodeUsageBp)} of its inodes (rounded down)`,
    `scale out when a mount is over ${pct(p.usageThresholdBp)} of its blocks or ${pct(p.inodeThresholdBp)} of its inodes: ${o.scaleOut ? 'SCALE OUT' : 'no scale-out'}`,
    `I/O queue deeper than ${p.queueThreshold}: ${o.performanceIssue ? 'PERFORMANCE ISSUE' : 'no'}`,
  ],
  check(params, data) {
    validateDiskParams(params);
    validateDiskData(data);
  },
  misfit: (c, _p, d) => shapeMisfit(DISK_CLASSES, c, { mounts: d.mounts.length, samples: d.mounts[0]!.queueDepth.length }, `${d.mounts.length} mounts x ${d.mounts[0]!.queueDepth.length} samples`),
  compute: computeDiskOutputs,
  commit: (params, data, salt) => diskCommitment({ salt, periodStartUs: params.periodStartUs, periodEndUs: params.periodEndUs, mounts: data.mounts }),
  // only the mount fields the prover reads
  proverInput: (p, d, salt) => ({ salt: salt.toString(), ...p, mounts: d.mounts.map(({ usedKiB, totalKiB, inodesUsed, inodesTotal, queueDepth }) => ({ usedKiB, totalKiB, inodesUsed, inodesTotal, queueDepth })) }),
  sample(r) {
    const nM = 24, nS = 60;
    const mounts = Array.from({ length: nM }, () => {
      const totalKiB = Math.floor((10 + r() * 4000) * 2 ** 20);
      return { totalKiB, usedKiB: Math.floor(totalKiB * r() * 0.9), inodesTotal: 64_000_000, inodesUsed: Math.floor(r() * 20_000_000), queueDepth: Array.from({ length: nS }, () => Math.floor(r() * 40)) };
    });
    const P0 = Date.UTC(2026, 10, 20) * 1000;
    return { size: `${nM} mounts × ${nS} samples`, elements: nM * nS, params: { periodStartUs: P0, periodEndUs: P0 + nS * 10_000_000, ...DISK_DEFAULTS }, data: { mounts } };
  },
  statement: (p, o) => ({ n: o.nMounts, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs }),
  expectations: [
    periodKey(parsePeriod),
    percentKey('usageThreshold', 'usageThresholdBp', (p) => p.usageThresholdBp),
    percentKey('inodeThreshold', 'inodeThresholdBp', (p) => p.inodeThresholdBp),
    integerKey('queueThreshold', (p) => p.queueThreshold, 'I/Os in flight, an integer'),
  ],
});

export type DiskBundle = ClaimBundle<typeof DISK_CLAIM, DiskParams, DiskOutputs>;
