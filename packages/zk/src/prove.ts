/**
 * @module prove
 * Producing proof bundles for any claim: validate the inputs, commit in
 * TypeScript, prove in Go, require that the prover's public inputs equal those
 * rebuilt from the TypeScript reference, assemble the bundle. Everything
 * claim-specific comes from the claim's definition (claims/claim.ts).
 *
 * @example
 * const { bundle } = await prove(pool, 'memory', { params, data: { swapPages, pageFaults, usageKiB } });
 * const { bundle } = await prove(pool, latencyClaim, { params, data: { records } }); // typed bundle
 */
import { quoteInput, VeriteeError } from '@veritee/core';
import { BUNDLE_FORMAT, type ProofBundle } from './bundle-format.js';
import type { Groth16ProofJSON } from './groth16/index.js';
import { vkHash, parseVerificationKeyDocument, type VerificationKeyDocument } from './keys.js';
import type { ProverPool, RequestOptions } from './prover/pool.js';
import { capacityOf, proverInputOf, type ClaimBundle, type ClaimDefinition } from './claims/claim.js';
import { claimDefinition, claimKinds } from './claims/registry.js';
import { bsb22Mask } from './binding.js';

/** A random salt below 2^248 (so below the field modulus). */
export function randomSalt(): bigint {
  const b = new Uint8Array(31);
  crypto.getRandomValues(b);
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export interface ProveInput<PI, D> extends RequestOptions {
  params: PI;
  /** The private data (never leaves this process except to the local prover). */
  data: D;
  /** Commitment salt (a field element below 2^248); default random. */
  salt?: bigint;
  /** Size class; default the smallest that fits. */
  capacity?: number;
  /**
   * Benchmarks: also time each prover step (the Go prover repeats the computation step
   * by step after the proof, so the call takes about twice as long). Default false.
   */
  steps?: boolean;
}

/** One prover step timed by the Go prover (`prover/internal/profile`). */
export interface ProverStep {
  /** solve, commitment pok, fft: …, msm: A (G1), msm: B (G1), msm: B (G2), msm: K (G1), msm: H (G1) */
  step: string;
  /** Constraints solved, FFT domain size or MSM length. */
  size: number;
  /** Wall time. */
  ms: number;
  /** Prover process CPU time during the step. */
  cpuMs: number;
}

/** Prover timings; `proveCpuMs` is the prover process's CPU time during the proof. */
export interface ProveTimings {
  witnessMs: number;
  proveMs: number;
  proveCpuMs?: number;
  /** Only when `steps` was asked for. */
  steps?: ProverStep[];
}

export interface ProveResult<B = ProofBundle> {
  bundle: B;
  vk: VerificationKeyDocument;
  /**
   * The opening of the bundle's commitments: the salt (decimal). Secret; whoever
   * holds it and the data can check the bundle was made from exactly that data
   * (`veritee audit`).
   */
  opening: { salt: string };
  timings: ProveTimings & { totalMs: number };
  /** Claim-specific facts from its `prepare` step (inclusion: `tree`). */
  [detail: string]: unknown;
}

interface ProveResponse {
  proof: Groth16ProofJSON;
  publicInputs: string[];
  outputs: unknown;
  vk: unknown;
  timings: ProveTimings;
}

function definitionOf(claim: string | ClaimDefinition): ClaimDefinition {
  if (typeof claim !== 'string') return claim;
  const def = claimDefinition(claim);
  if (!def) throw new VeriteeError('CLAIM_UNKNOWN', `no claim kind ${quoteInput(claim, 40)} (known: ${claimKinds().join(', ')})`);
  return def;
}

const requestOptions = (o: RequestOptions): RequestOptions => ({
  ...(o.signal ? { signal: o.signal } : {}),
  ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  ...(o.onProgress ? { onProgress: o.onProgress } : {}),
});

/**
 * Proves a claim of any registered kind (by name, or by its definition for a
 * typed bundle). The definition validates and sizes the input, computes the
 * reference outputs and the commitment; the Go prover proves; a disagreement
 * between Go and TypeScript on any public input is refused (INTERNAL), so it can
 * never be published.
 */
export async function prove<P, O, D, PI, K extends string = string>(
  pool: ProverPool,
  claim: ClaimDefinition<P, O, D, PI, K>,
  input: ProveInput<PI, D>,
): Promise<ProveResult<ClaimBundle<K, P, O>>>;
export async function prove(pool: ProverPool, kind: string, input: ProveInput<any, any>): Promise<ProveResult<any>>;
export async function prove(pool: ProverPool, claim: string | ClaimDefinition, input: ProveInput<any, any>): Promise<ProveResult<any>> {
  const t0 = performance.now();
  const def = definitionOf(claim);
  const opts = requestOptions(input);
  let params = input.params;
  let data = def.normalize ? def.normalize(input.data) : input.data;
  let commitment: bigint | undefined;
  let details: Record<string, unknown> = {};
  if (def.prepare) {
    const p = await def.prepare((req) => pool.request(req, opts), params, data);
    ({ params, data, commitment } = p);
    details = p.details ?? {};
  }
  def.check(params, data);
  const capacity = input.capacity ?? capacityOf(def, params, data);
  const misfit = def.misfit(capacity, params, data);
  if (misfit !== undefined || !def.capacities.includes(capacity)) {
    throw new VeriteeError('INPUT_INVALID', misfit ?? `claim ${def.kind} has no size class ${capacity} (classes: ${def.capacities.join(', ')})`);
  }
  const salt = input.salt ?? randomSalt();
  commitment ??= def.commit(params, data, salt);
  const outputs = def.compute(params, data);

  const res = await pool.request<ProveResponse>(
    { op: 'prove', circuit: def.kind, version: def.version, capacity, input: proverInputOf(def, params, data, salt), ...(def.binding === 'bsb22' ? { mask: bsb22Mask(salt).toString() } : {}), ...(input.steps === true ? { steps: true } : {}) },
    opts,
  );
  const vk = parseVerificationKeyDocument(res.vk, 'prover verification key');
  const expected = def.publicInputs(commitment, params, outputs).map(String);
  const mismatch = expected.findIndex((v, i) => v !== res.publicInputs[i]);
  if (mismatch >= 0 || expected.length !== res.publicInputs.length) {
    const name = vk.publicInputs[mismatch] ?? `#${mismatch}`;
    throw new VeriteeError('INTERNAL', `the prover and the TypeScript reference disagree on public input ${name} of ${def.kind}: ${res.publicInputs[mismatch]} vs ${expected[mismatch]}`);
  }
  const bundle: ProofBundle = {
    format: BUNDLE_FORMAT,
    createdAt: new Date().toISOString(),
    claim: { kind: def.kind, version: def.version, params: params as object, outputs: outputs as object },
    commitment: commitment.toString(),
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
  return { ...details, bundle, vk, opening: { salt: salt.toString() }, timings: { ...res.timings, totalMs: Math.round(performance.now() - t0) } };
}

/** Runs (or reuses) the dev setup of a circuit size class. */
export async function devSetup(
  pool: ProverPool,
  circuit: string,
  capacity: number,
  opts: RequestOptions & { force?: boolean; version?: number } = {},
): Promise<VerificationKeyDocument> {
  const { version, ...rest } = opts;
  const res = await pool.request<{ vk: unknown }>({ op: 'setup', circuit, capacity, force: opts.force ?? false, ...(version !== undefined ? { version } : {}) }, { timeoutMs: 6 * 60 * 60_000, ...rest });
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
