/**
 * @module prove
 * Producing proof bundles: validate inputs, commit in TypeScript, prove in Go,
 * cross-check the prover's outputs against the TypeScript reference, assemble
 * the bundle.
 */
import { latencyCommitment, VeriteeError } from '@veritee/core';
import { BUNDLE_FORMAT, type ProofBundle } from './bundle.js';
import type { Groth16ProofJSON } from './groth16/index.js';
import { vkHash, parseVerificationKeyDocument, type VerificationKeyDocument } from './keys.js';
import type { ProverPool, RequestOptions } from './prover/pool.js';
import type { ClaimDefinition } from './claims/registry.js';
import {
  computeLatencyOutputs,
  latencyCapacityFor,
  latencyProverInput,
  LATENCY_CAPACITIES,
  latencyClaim,
  validateLatencyParams,
  validateLatencyRecords,
  type LatencyBundle,
  type LatencyParams,
} from './claims/latency.js';

/** A random salt below 2^248 (so below the field modulus). */
export function randomSalt(): bigint {
  const b = new Uint8Array(31);
  crypto.getRandomValues(b);
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export interface ProveLatencyOptions extends RequestOptions {
  params: LatencyParams;
  /** Offsets from the period start: [start0, end0, start1, end1, ...]. */
  records: readonly number[];
  salt?: bigint;
  /** Size class; default the smallest that fits. */
  capacity?: number;
}

export interface ProveResult {
  /** The bundle (typed for latency; other claims narrow it with their own guard). */
  bundle: LatencyBundle;
  vk: VerificationKeyDocument;
  timings: { witnessMs: number; proveMs: number; totalMs: number };
}

interface ProveResponse {
  proof: Groth16ProofJSON;
  publicInputs: string[];
  outputs: unknown;
  vk: unknown;
  timings: { witnessMs: number; proveMs: number };
}

export async function proveLatency(pool: ProverPool, opts: ProveLatencyOptions): Promise<ProveResult> {
  const t0 = performance.now();
  const { params, records } = opts;
  validateLatencyParams(params);
  validateLatencyRecords(params, records);
  const n = records.length / 2;
  const capacity = opts.capacity ?? latencyCapacityFor(n);
  if (!(LATENCY_CAPACITIES as readonly number[]).includes(capacity) || capacity < n) {
    throw new VeriteeError('INPUT_INVALID', `size class ${capacity} cannot hold ${n} records (classes: ${LATENCY_CAPACITIES.join(', ')})`);
  }
  const salt = opts.salt ?? randomSalt();
  const commitment = latencyCommitment({ salt, periodStartUs: params.periodStartUs, periodEndUs: params.periodEndUs, records });
  const expected = computeLatencyOutputs(params, records);

  const { signal, timeoutMs, onProgress } = opts;
  const r = await proveClaim(pool, {
    def: latencyClaim,
    capacity,
    params,
    outputs: expected,
    commitment,
    proverInput: latencyProverInput(params, salt, records),
    ...(signal ? { signal } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  return { ...r, bundle: r.bundle as LatencyBundle, timings: { ...r.timings, totalMs: Math.round(performance.now() - t0) } };
}

export interface ProveClaimOptions<P, O> extends RequestOptions {
  def: ClaimDefinition<P, O>;
  capacity: number;
  params: P;
  /** Outputs from the plain TypeScript reference computation. */
  outputs: O;
  /** The data commitment computed in TypeScript. */
  commitment: bigint;
  /** The JSON input of the Go prover's `prove` op for this circuit. */
  proverInput: unknown;
}

/**
 * Proves any registered claim: asks the Go prover, then requires that the public
 * inputs it proved equal those rebuilt from the TypeScript reference outputs and
 * commitment (so a disagreement between Go and TypeScript can never be published),
 * and assembles the bundle.
 */
export async function proveClaim<P, O>(pool: ProverPool, opts: ProveClaimOptions<P, O>): Promise<ProveResult> {
  const t0 = performance.now();
  const { def, capacity } = opts;
  if (!def.capacities.includes(capacity)) {
    throw new VeriteeError('INPUT_INVALID', `claim ${def.kind} has no size class ${capacity} (classes: ${def.capacities.join(', ')})`);
  }
  const res = await pool.request<ProveResponse>({ op: 'prove', circuit: def.kind, capacity, input: opts.proverInput }, opts);
  const vk = parseVerificationKeyDocument(res.vk, 'prover verification key');
  const expected = def.publicInputs(opts.commitment, opts.params, opts.outputs).map(String);
  const mismatch = expected.findIndex((v, i) => v !== res.publicInputs[i]);
  if (mismatch >= 0 || expected.length !== res.publicInputs.length) {
    const name = vk.publicInputs[mismatch] ?? `#${mismatch}`;
    throw new VeriteeError('INTERNAL', `the prover and the TypeScript reference disagree on public input ${name} of ${def.kind}: ${res.publicInputs[mismatch]} vs ${expected[mismatch]}`);
  }
  const bundle: ProofBundle = {
    format: BUNDLE_FORMAT,
    createdAt: new Date().toISOString(),
    claim: { kind: def.kind, version: def.version, params: opts.params as object, outputs: opts.outputs as object },
    commitment: opts.commitment.toString(),
    proof: {
      system: 'groth16',
      curve: 'bn254',
      circuit: def.kind,
      circuitVersion: def.version,
      capacity,
      vkHash: vkHash(vk),
      setup: vk.setup.kind,
      groth16: res.proof,
    },
  };
  return { bundle: bundle as LatencyBundle, vk, timings: { ...res.timings, totalMs: Math.round(performance.now() - t0) } };
}

/** Runs (or reuses) the dev setup of a circuit size class. */
export async function devSetup(
  pool: ProverPool,
  circuit: string,
  capacity: number,
  opts: RequestOptions & { force?: boolean } = {},
): Promise<VerificationKeyDocument> {
  const res = await pool.request<{ vk: unknown }>({ op: 'setup', circuit, capacity, force: opts.force ?? false }, { timeoutMs: 6 * 60 * 60_000, ...opts });
  return parseVerificationKeyDocument(res.vk, 'prover verification key');
}

/** Verifies with the Go verifier (used to check that both verifiers agree). */
export async function verifyWithGo(
  pool: ProverPool,
  vk: VerificationKeyDocument,
  proof: unknown,
  publicInputs: readonly bigint[],
  allowDevSetup: boolean,
): Promise<{ valid: boolean; code?: string; reason?: string }> {
  return pool.request({ op: 'verify', vk, proof, publicInputs: publicInputs.map(String), allowDevSetup });
}
