/**
 * @module prove-memory
 * Proving a memory autoscaling decision: validate, commit in TypeScript, compute
 * the plain reference, prove in Go (which must agree), assemble the bundle.
 *
 * @example
 * const { bundle } = await proveMemory(pool, {
 *   params: { periodStartUs, periodEndUs, allocatedKiB: 64 << 20, ...MEMORY_DEFAULTS },
 *   data: { swapPages, pageFaults, usageKiB }, // usageKiB[sample][process]
 * });
 */
import { memoryCommitment, VeriteeError } from '@veritee/core';
import { proveClaim, randomSalt, type ProveResult } from './prove.js';
import type { ProverPool, RequestOptions } from './prover/pool.js';
import { pick } from './prove-options.js';
import {
  computeMemoryOutputs,
  memoryCapacityFor,
  memoryClaim,
  memoryProverInput,
  MEMORY_CLASSES,
  validateMemoryData,
  validateMemoryParams,
  type MemoryBundle,
  type MemoryData,
  type MemoryParams,
} from './claims/memory.js';

export interface ProveMemoryOptions extends RequestOptions {
  params: MemoryParams;
  data: MemoryData;
  /** Commitment salt (decimal field element below 2^248); default random. */
  salt?: bigint;
  /** Size class; default the smallest that fits. */
  capacity?: number;
}

export type ProveMemoryResult = Omit<ProveResult, 'bundle'> & { bundle: MemoryBundle };

export async function proveMemory(pool: ProverPool, opts: ProveMemoryOptions): Promise<ProveMemoryResult> {
  const t0 = performance.now();
  const { params, data } = opts;
  validateMemoryParams(params);
  validateMemoryData(data);
  const nS = data.usageKiB.length;
  const nP = data.usageKiB[0]!.length;
  const capacity = opts.capacity ?? memoryCapacityFor(nS, nP);
  const shape = MEMORY_CLASSES[capacity];
  if (!shape || nS > shape.samples || nP > shape.processes) {
    throw new VeriteeError('INPUT_INVALID', `size class ${capacity} cannot hold ${nS} samples x ${nP} processes`);
  }
  const salt = opts.salt ?? randomSalt();
  const commitment = memoryCommitment({ salt, ...params, ...data });
  const r = await proveClaim(pool, {
    def: memoryClaim,
    capacity,
    params,
    outputs: computeMemoryOutputs(params, data),
    commitment,
    proverInput: memoryProverInput(params, salt, data),
    ...pick(opts),
  });
  return { ...r, bundle: r.bundle as unknown as MemoryBundle, timings: { ...r.timings, totalMs: Math.round(performance.now() - t0) } };
}
