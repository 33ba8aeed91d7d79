/**
 * @module prove-disk
 * Proving a disk autoscaling decision (storage pressure, scale-out,
 * performance issue) from per-mount usage, inode usage and queue depths.
 *
 * @example
 * const { bundle } = await proveDisk(pool, {
 *   params: { periodStartUs, periodEndUs, ...DISK_DEFAULTS },
 *   data: { mounts: [{ usedKiB, totalKiB, inodesUsed, inodesTotal, queueDepth: [3, 1, 0] }] },
 * });
 */
import { diskCommitment, VeriteeError } from '@veritee/core';
import { proveClaim, randomSalt, type ProveResult } from './prove.js';
import { pick } from './prove-options.js';
import type { ProverPool, RequestOptions } from './prover/pool.js';
import { computeDiskOutputs, diskCapacityFor, diskClaim, diskProverInput, DISK_CLASSES, validateDiskData, validateDiskParams, type DiskBundle, type DiskData, type DiskParams } from './claims/disk.js';

export interface ProveDiskOptions extends RequestOptions {
  params: DiskParams;
  data: DiskData;
  salt?: bigint;
  capacity?: number;
}

export type ProveDiskResult = Omit<ProveResult, 'bundle'> & { bundle: DiskBundle };

export async function proveDisk(pool: ProverPool, opts: ProveDiskOptions): Promise<ProveDiskResult> {
  const t0 = performance.now();
  const { params, data } = opts;
  validateDiskParams(params);
  validateDiskData(data);
  const nM = data.mounts.length;
  const nS = data.mounts[0]!.queueDepth.length;
  const capacity = opts.capacity ?? diskCapacityFor(nM, nS);
  const shape = DISK_CLASSES[capacity];
  if (!shape || nM > shape.mounts || nS > shape.samples) {
    throw new VeriteeError('INPUT_INVALID', `size class ${capacity} cannot hold ${nM} mounts x ${nS} samples`);
  }
  const salt = opts.salt ?? randomSalt();
  const commitment = diskCommitment({ salt, periodStartUs: params.periodStartUs, periodEndUs: params.periodEndUs, mounts: data.mounts });
  const r = await proveClaim(pool, {
    def: diskClaim,
    capacity,
    params,
    outputs: computeDiskOutputs(params, data),
    commitment,
    proverInput: diskProverInput(params, salt, data),
    ...pick(opts),
  });
  return { ...r, bundle: r.bundle as unknown as DiskBundle, timings: { ...r.timings, totalMs: Math.round(performance.now() - t0) } };
}
