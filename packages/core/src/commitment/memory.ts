/**
 * @module commitment/memory
 * The commitment to a memory window, identical to prover/internal/commitment:
 *
 *   inputs = [tag, nSamples, nProcesses, salt, periodStartUs, periodEndUs, allocatedKiB, row_0 .. row_{nSamples-1}]
 *   row_s  = H(pack32(swapPages_s, pageFaults_s, usageKiB_{s,0} .. usageKiB_{s,nProcesses-1}))
 *
 * H is the Poseidon2 sponge, pack32 packs 32-bit items 7 per field element, tag is
 * "veritee.memory.v1" read as a big-endian integer.
 */
import { VeriteeError } from '../errors.js';
import { domainTag } from './latency.js';
import { poseidon2Sponge } from './poseidon2.js';
import { checkItems, checkRows, hashItems } from './telemetry.js';

export const MEMORY_DOMAIN = 'veritee.memory.v1';
/** Every memory item (KiB, pages, faults) is below 2^32. */
export const MEMORY_ITEM_BITS = 32;

export interface MemoryCommitmentInput {
  salt: bigint;
  periodStartUs: number;
  periodEndUs: number;
  allocatedKiB: number;
  /** Pages swapped in + out during each sample. */
  swapPages: readonly number[];
  /** Page faults during each sample. */
  pageFaults: readonly number[];
  /** usageKiB[sample][process]: every sample lists the same processes in the same order. */
  usageKiB: readonly (readonly number[])[];
}

/** The row digests (one per sample); validates the shape and the item ranges. */
export function memoryRowDigests(input: MemoryCommitmentInput): bigint[] {
  const nS = input.usageKiB.length;
  if (nS === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no memory samples');
  if (input.swapPages.length !== nS || input.pageFaults.length !== nS) {
    throw new VeriteeError('INPUT_INVALID', `swapPages, pageFaults and usageKiB must have one entry per sample (${nS})`);
  }
  const nP = input.usageKiB[0]!.length;
  checkRows(input.usageKiB, nP, 'memory sample');
  return input.usageKiB.map((row, s) => {
    const items = [input.swapPages[s]!, input.pageFaults[s]!, ...row];
    checkItems(items, MEMORY_ITEM_BITS, (i) => (i < 2 ? `sample ${s + 1} ${i === 0 ? 'swap pages' : 'page faults'}` : `sample ${s + 1}, process ${i - 1}`));
    return hashItems(items, MEMORY_ITEM_BITS);
  });
}

/** Computes the memory commitment (a BN254 scalar). */
export function memoryCommitment(input: MemoryCommitmentInput): bigint {
  const rows = memoryRowDigests(input);
  const nP = input.usageKiB[0]!.length;
  return poseidon2Sponge([
    domainTag(MEMORY_DOMAIN),
    BigInt(rows.length),
    BigInt(nP),
    input.salt,
    BigInt(input.periodStartUs),
    BigInt(input.periodEndUs),
    BigInt(input.allocatedKiB),
    ...rows,
  ]);
}
