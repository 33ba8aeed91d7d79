/**
 * @module prove-cpu
 * Proving a CPU autoscaling decision (customer percentile load, utilisation
 * band, platform overhead) from per-process samples and ownership flags.
 *
 * @example
 * const { bundle } = await proveCpu(pool, {
 *   params: { periodStartUs, periodEndUs, capacityMilli: 8000, ...CPU_DEFAULTS },
 *   data: { customer, usageMilli }, // usageMilli[sample][process]
 * });
 */
import { cpuCommitment, VeriteeError } from '@veritee/core';
import { proveClaim, randomSalt, type ProveResult } from './prove.js';
import { pick } from './prove-options.js';
import type { ProverPool, RequestOptions } from './prover/pool.js';
import { computeCpuOutputs, cpuCapacityFor, cpuClaim, cpuProverInput, CPU_CLASSES, validateCpuData, validateCpuParams, type CpuBundle, type CpuData, type CpuParams } from './claims/cpu.js';

export interface ProveCpuOptions extends RequestOptions {
  params: CpuParams;
  data: CpuData;
  salt?: bigint;
  capacity?: number;
}

export type ProveCpuResult = Omit<ProveResult, 'bundle'> & { bundle: CpuBundle };

export async function proveCpu(pool: ProverPool, opts: ProveCpuOptions): Promise<ProveCpuResult> {
  const t0 = performance.now();
  const { params, data } = opts;
  validateCpuParams(params);
  validateCpuData(data);
  const nS = data.usageMilli.length;
  const nP = data.customer.length;
  const capacity = opts.capacity ?? cpuCapacityFor(nS, nP);
  const shape = CPU_CLASSES[capacity];
  if (!shape || nS > shape.samples || nP > shape.processes) {
    throw new VeriteeError('INPUT_INVALID', `size class ${capacity} cannot hold ${nS} samples x ${nP} processes`);
  }
  const salt = opts.salt ?? randomSalt();
  const commitment = cpuCommitment({ salt, ...params, ...data });
  const r = await proveClaim(pool, {
    def: cpuClaim,
    capacity,
    params,
    outputs: computeCpuOutputs(params, data),
    commitment,
    proverInput: cpuProverInput(params, salt, data),
    ...pick(opts),
  });
  return { ...r, bundle: r.bundle as unknown as CpuBundle, timings: { ...r.timings, totalMs: Math.round(performance.now() - t0) } };
}
