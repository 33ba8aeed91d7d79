/**
 * @module audit
 * Checks that a proof bundle was computed from exactly a given data set: what a
 * holder of the raw records (the customer, an auditor) runs with the bundle's
 * opening (the salt `prove` returned). Every check is reported; the audit is ok
 * only if all pass.
 *
 *   records.valid      the records are valid for the claim's parameters
 *   outputs.recomputed the plain reference computation over the records gives the bundle's outputs
 *   commitment.digest  the records and salt give the bundle's `commitment` (Poseidon2, outside
 *                      the circuit for latency v2, the circuit's public input for v1)
 *   commitment.key     (BSB22-bound claims) the local proving key is the bundle's key
 *   commitment.proof   (BSB22-bound claims) the records and salt give the commitment the proof
 *                      carries (Pedersen, under the proving key's basis, mask derived from the salt)
 *
 * The last two need the Go prover and the proving key of the bundle's size class
 * (the commitment basis is part of it); the others run in TypeScript alone.
 * The audit does not verify the proof or the attestation: run `verify` for that.
 */
import { canonicalJsonBytes, isVeriteeError, VeriteeError, type ErrorCode } from '@veritee/core';
import { parseProofBundle, type ProofBundle } from './bundle.js';
import { claimDefinition } from './claims/registry.js';
import { proverInputOf } from './claims/claim.js';
import { bsb22Mask } from './binding.js';
import { vkHash, parseVerificationKeyDocument } from './keys.js';
import type { ProverPool } from './prover/pool.js';

export interface AuditCheck {
  name: string;
  ok: boolean;
  detail: string;
  code?: ErrorCode;
}

export interface AuditResult {
  ok: boolean;
  checks: AuditCheck[];
  bundle: ProofBundle;
}

export interface AuditInput {
  /** The bundle (text, bytes or a parsed object). */
  bundle: unknown;
  /** The private data in the claim's form (latency: offsets from the period start), or a function of the bundle's parameters giving it. */
  data: unknown | ((params: any) => unknown);
  /** The salt of the bundle's opening. */
  salt: bigint;
}

const same = (a: unknown, b: unknown) => Buffer.from(canonicalJsonBytes(a)).equals(Buffer.from(canonicalJsonBytes(b)));

/** Audits a bundle against data and its salt; `pool` runs the BSB22 recomputation (needed for claims bound that way). */
export async function auditBundle(pool: ProverPool | undefined, input: AuditInput): Promise<AuditResult> {
  const bundle = parseProofBundle(input.bundle);
  const def = claimDefinition(bundle.claim.kind, bundle.claim.version)!;
  const checks: AuditCheck[] = [];
  const pass = (name: string, detail: string) => checks.push({ name, ok: true, detail });
  const fail = (name: string, detail: string, code: ErrorCode = 'ZK_AUDIT_MISMATCH') => checks.push({ name, ok: false, detail, code });
  const { params } = bundle.claim;
  let data = typeof input.data === 'function' ? (input.data as (p: unknown) => unknown)(params) : input.data;
  if (def.normalize) data = def.normalize(data);
  try {
    def.check(params, data);
    pass('records.valid', `the records are valid for the bundle's parameters`);
  } catch (e) {
    fail('records.valid', (e as Error).message, isVeriteeError(e) ? e.code : 'ZK_AUDIT_MISMATCH');
    return { ok: false, checks, bundle };
  }
  const outputs = def.compute(params, data);
  if (same(outputs, bundle.claim.outputs)) pass('outputs.recomputed', 'the reference computation over these records gives the bundle\'s outputs');
  else fail('outputs.recomputed', `these records give other outputs than the bundle's: ${JSON.stringify(outputs).slice(0, 300)}`);
  const digest = def.commit(params, data, input.salt);
  if (digest.toString() === bundle.commitment) pass('commitment.digest', `the records and the salt give the bundle's commitment ${bundle.commitment.slice(0, 16)}…`);
  else fail('commitment.digest', `the records and the salt give the commitment ${digest.toString().slice(0, 24)}…, not the bundle's ${bundle.commitment.slice(0, 24)}…`);

  if (def.binding === 'bsb22') {
    if (!pool) throw new VeriteeError('ZK_PROVER_UNAVAILABLE', 'auditing the commitment inside the proof needs the Go prover');
    let res: { commitments: [string, string][]; vk: unknown } | undefined;
    try {
      res = await pool.request<{ commitments: [string, string][]; vk: unknown }>({
        op: 'commitments',
        circuit: def.kind,
        version: def.version,
        capacity: bundle.proof.capacity,
        input: proverInputOf(def, params, data, input.salt),
        mask: bsb22Mask(input.salt).toString(),
      });
    } catch (e) {
      fail('commitment.proof', `the commitment could not be recomputed: ${(e as Error).message}`, isVeriteeError(e) ? e.code : 'ZK_PROVER_FAILED');
    }
    if (res) {
      const vk = parseVerificationKeyDocument(res.vk, 'prover verification key');
      if (vkHash(vk) !== bundle.proof.vkHash) {
        fail('commitment.key', `the proving key of ${def.kind} v${def.version} (${bundle.proof.capacity}) on this machine has verification key ${vkHash(vk).slice(0, 16)}…, the bundle was proven with ${bundle.proof.vkHash.slice(0, 16)}…: install the bundle's keys to recompute its commitment`, 'ZK_VK_MISMATCH');
      } else {
        pass('commitment.key', `the local proving key is the bundle's (${bundle.proof.vkHash.slice(0, 16)}…)`);
        if (same(res.commitments, bundle.proof.groth16.commitments)) pass('commitment.proof', 'the records and the salt give the BSB22 commitment the proof carries: the proof was computed from exactly these records');
        else fail('commitment.proof', 'the records and the salt give another BSB22 commitment than the one the proof carries: the proof was not computed from exactly these records');
      }
    }
  }
  return { ok: checks.every((c) => c.ok), checks, bundle };
}
