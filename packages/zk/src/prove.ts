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
import {
  computeLatencyOutputs,
  latencyCapacityFor,
  latencyProverInput,
  LATENCY_CAPACITIES,
  LATENCY_CIRCUIT_VERSION,
  LATENCY_CLAIM,
  validateLatencyParams,
  validateLatencyRecords,
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
  bundle: ProofBundle;
  vk: VerificationKeyDocument;
  timings: { witnessMs: number; proveMs: number; totalMs: number };
}

interface ProveResponse {
  proof: Groth16ProofJSON;
  publicInputs: string[];
  outputs: { commitment: string; n: number; valuesUs: number[]; exceeding: number[]; compliant: boolean };
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

  const res = await pool.request<ProveResponse>(
    { op: 'prove', circuit: LATENCY_CLAIM, capacity, input: latencyProverInput(params, salt, records) },
    opts,
  );
  const vk = parseVerificationKeyDocument(res.vk, 'prover verification key');

  // The Go prover and the TypeScript reference must agree before anything is published.
  const got = res.outputs;
  const agree =
    got.commitment === commitment.toString() &&
    got.n === expected.n &&
    got.compliant === expected.compliant &&
    expected.slots.every((s, i) => s.valueUs === got.valuesUs[i] && s.exceeding === got.exceeding[i]);
  if (!agree) {
    throw new VeriteeError('INTERNAL', `prover outputs disagree with the TypeScript reference (commitment ${got.commitment} vs ${commitment})`);
  }

  const bundle: ProofBundle = {
    format: BUNDLE_FORMAT,
    createdAt: new Date().toISOString(),
    claim: { kind: LATENCY_CLAIM, version: LATENCY_CIRCUIT_VERSION, params, outputs: expected },
    commitment: commitment.toString(),
    proof: {
      system: 'groth16',
      curve: 'bn254',
      circuit: LATENCY_CLAIM,
      circuitVersion: LATENCY_CIRCUIT_VERSION,
      capacity,
      vkHash: vkHash(vk),
      setup: vk.setup.kind,
      groth16: res.proof,
    },
  };
  return { bundle, vk, timings: { ...res.timings, totalMs: Math.round(performance.now() - t0) } };
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
