/**
 * @module commitment/disk
 * The commitment to disk telemetry, identical to prover/internal/commitment:
 *
 *   inputs = [tag, nMounts, nSamples, salt, periodStartUs, periodEndUs, row_0 .. row_{nMounts-1}]
 *   row_m  = H(pack48(usedKiB, totalKiB, inodesUsed, inodesTotal) || pack16(queue_{m,0} .. queue_{m,nSamples-1}))
 */
import { VeriteeError } from '../errors.js';
import { domainTag } from './latency.js';
import { poseidon2Sponge } from './poseidon2.js';
import { checkItems, packItems } from './telemetry.js';

export const DISK_DOMAIN = 'veritee.disk.v1';
/** Block and inode figures are below 2^48. */
export const DISK_STAT_BITS = 48;
/** Queue depth samples are below 2^16. */
export const QUEUE_BITS = 16;

export interface DiskMount {
  usedKiB: number;
  totalKiB: number;
  inodesUsed: number;
  /** 0 when the filesystem does not account inodes. */
  inodesTotal: number;
  /** I/Os in flight on the mount's device, per sample. */
  queueDepth: readonly number[];
}

export interface DiskCommitmentInput {
  salt: bigint;
  periodStartUs: number;
  periodEndUs: number;
  mounts: readonly DiskMount[];
}

/** The row digests (one per mount); validates shapes and ranges. */
export function diskRowDigests(input: DiskCommitmentInput): bigint[] {
  if (input.mounts.length === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no mounts');
  const nS = input.mounts[0]!.queueDepth.length;
  return input.mounts.map((m, i) => {
    if (m.queueDepth.length !== nS) throw new VeriteeError('INPUT_INVALID', `mount ${i + 1} has ${m.queueDepth.length} queue samples, mount 1 has ${nS}`);
    const stats = [m.usedKiB, m.totalKiB, m.inodesUsed, m.inodesTotal];
    checkItems(stats, DISK_STAT_BITS, (k) => `mount ${i + 1} ${['usedKiB', 'totalKiB', 'inodesUsed', 'inodesTotal'][k]}`);
    checkItems(m.queueDepth, QUEUE_BITS, (s) => `mount ${i + 1}, queue sample ${s + 1}`);
    return poseidon2Sponge([...packItems(stats, DISK_STAT_BITS), ...packItems(m.queueDepth, QUEUE_BITS)]);
  });
}

/** Computes the disk commitment (a BN254 scalar). */
export function diskCommitment(input: DiskCommitmentInput): bigint {
  const rows = diskRowDigests(input);
  return poseidon2Sponge([
    domainTag(DISK_DOMAIN),
    BigInt(rows.length),
    BigInt(input.mounts[0]!.queueDepth.length),
    input.salt,
    BigInt(input.periodStartUs),
    BigInt(input.periodEndUs),
    ...rows,
  ]);
}
