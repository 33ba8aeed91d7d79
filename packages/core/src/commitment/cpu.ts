/**
 * @module commitment/cpu
 * The commitment to a CPU window, identical to prover/internal/commitment:
 *
 *   inputs = [tag, nSamples, nProcesses, salt, periodStartUs, periodEndUs, capacityMilli, owner, row_0 .. row_{nSamples-1}]
 *   owner  = H(pack1(customer_0 .. customer_{nProcesses-1}))     1 = customer, 0 = platform
 *   row_s  = H(pack20(milli_{s,0} .. milli_{s,nProcesses-1}))
 *
 * The ownership of every process is committed: relabelling one changes the commitment.
 */
import { VeriteeError } from '../errors.js';
import { domainTag } from './latency.js';
import { poseidon2Sponge } from './poseidon2.js';
import { checkItems, checkRows, hashItems } from './telemetry.js';

export const CPU_DOMAIN = 'veritee.cpu.v1';
/** Every CPU sample (milli-cores) is below 2^20. */
export const CPU_ITEM_BITS = 20;

export interface CpuCommitmentInput {
  salt: bigint;
  periodStartUs: number;
  periodEndUs: number;
  /** Machine capacity in milli-cores (1000 per core). */
  capacityMilli: number;
  /** Per process: true = customer, false = platform. */
  customer: readonly boolean[];
  /** usageMilli[sample][process], milli-cores used during the sample. */
  usageMilli: readonly (readonly number[])[];
}

/** The ownership digest. */
export function cpuOwnerDigest(customer: readonly boolean[]): bigint {
  return hashItems(
    customer.map((c) => (c ? 1 : 0)),
    1,
  );
}

/** The row digests (one per sample); validates the shape and the item ranges. */
export function cpuRowDigests(input: CpuCommitmentInput): bigint[] {
  const nP = input.customer.length;
  if (input.usageMilli.length === 0 || nP === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no CPU samples or no processes');
  checkRows(input.usageMilli, nP, 'CPU sample');
  return input.usageMilli.map((row, s) => {
    checkItems(row, CPU_ITEM_BITS, (p) => `sample ${s + 1}, process ${p + 1}`);
    return hashItems(row, CPU_ITEM_BITS);
  });
}

/** Computes the CPU commitment (a BN254 scalar). */
export function cpuCommitment(input: CpuCommitmentInput): bigint {
  const rows = cpuRowDigests(input);
  return poseidon2Sponge([
    domainTag(CPU_DOMAIN),
    BigInt(rows.length),
    BigInt(input.customer.length),
    input.salt,
    BigInt(input.periodStartUs),
    BigInt(input.periodEndUs),
    BigInt(input.capacityMilli),
    cpuOwnerDigest(input.customer),
    ...rows,
  ]);
}
