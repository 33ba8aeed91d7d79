/**
 * @module proof-systems/veritee-claim
 * The `veritee-claim` proof system: markets for veritee's own claims (latency,
 * inclusion, memory, …), proven by the Go prover and verified by the TypeScript
 * verifier of @veritee/zk.
 *
 * - verification key: a claim key document `veritee.vk/v1` (zk keys.ts), its
 *   Groth16 points checked on the curve and in the subgroup; digest = the key hash
 *   bundles name (`vkHash`). Keys from a dev setup are refused with
 *   ZK_DEV_SETUP_REFUSED unless `allowDevSetup`; ceremony keys must pass zk's
 *   checks (transcript hash, contribution chain, the optional `ceremony` policy),
 *   else ZK_CEREMONY_POLICY.
 * - public inputs: what the requester pins, {@link VeriteeClaimPublicInputs}:
 *   the claim kind and, when given, its version, parameters, outputs, data
 *   commitment and a zk expectation (`'sla=p95<100ms'`). Each given field must
 *   equal the bundle's (canonical JSON). Claims whose proof binds the records
 *   through a BSB22 commitment (latency, memory) carry a commitment that only the
 *   enclave signature binds: pinning it is refused (INPUT_INVALID).
 * - proof: a proof bundle `veritee.proof/v2` (object, JSON text or UTF-8 bytes;
 *   text is parsed strictly).
 *
 * `verify` runs `verifyProofBundle` with the key as the only trusted key and the
 * clock's time as the verification time: a bundle under another key, with other
 * public values, a tampered proof or a creation time in the future resolves
 * false; a malformed bundle, key or public inputs throws. The enclave signature
 * and attestation evidence a bundle may carry are not checked here (the market
 * checks the prover's attestation when it assigns the job); use
 * `verifyBundle` of @veritee/zk for that.
 */
import { z } from 'zod';
import { canonicalJson, quoteInput, systemClock, VeriteeError, type Clock } from '@veritee/core';
import {
  claimDefinition,
  KeyRing,
  parseProofBundle,
  parseVerificationKeyDocument,
  parseVerificationKeyText,
  prepareGroth16VerifyingKey,
  setupProblem,
  verifyProofBundle,
  vkHash,
  type CeremonyPolicy,
  type ClaimExpectation,
  type ProofBundle,
  type VerificationKeyDocument,
} from '@veritee/zk';
import type { ProofSystem } from '../proof-system.js';

export const VERITEE_CLAIM = 'veritee-claim';

/** Largest bundle or key accepted as text or bytes. */
export const VERITEE_CLAIM_MAX_BYTES = 4 * 1024 * 1024;

const jsonObject = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object');

export const VeriteeClaimPublicInputsSchema = z
  .object({
    kind: z.string().min(1).max(64),
    version: z.number().int().positive().optional(),
    params: jsonObject.optional(),
    outputs: jsonObject.optional(),
    commitment: z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'expected a decimal field element').optional(),
    /** A zk claim expectation (claims/expect.ts), e.g. "sla=p95<100ms,p99<500ms". */
    expect: z.string().min(1).max(1000).optional(),
  })
  .strict();

export type VeriteeClaimPublicInputs = z.infer<typeof VeriteeClaimPublicInputsSchema>;

export interface VeriteeClaimOptions {
  /** Accept keys from a dev trusted setup (whoever ran it can forge proofs). */
  allowDevSetup?: boolean;
  /** What a ceremony key must show (zk CeremonyPolicy). */
  ceremony?: CeremonyPolicy;
  /** The verification time (bundles made after it, beyond clock skew, fail). Default: the system clock. */
  clock?: Clock;
}

export interface VeriteeClaimProofSystem extends ProofSystem {
  readonly id: typeof VERITEE_CLAIM;
  parseVerificationKey(vk: unknown): { canonical: VerificationKeyDocument; digest: string };
  /**
   * Checks decrypted private inputs (the claim's data) against the key and the
   * pinned parameters before anyone proves: the claim's own validation (records in
   * range, periods, shapes) and whether the data fits the key's size class. Throws
   * the claim's VeriteeError (RECORD_*, CLAIM_*, INPUT_INVALID) or ZK_VK_MISMATCH.
   */
  checkPrivateInputs(vk: unknown, publicInputs: unknown, privateInputs: unknown): void;
}

function sized(input: unknown, what: string): void {
  const n = typeof input === 'string' ? input.length : input instanceof Uint8Array ? input.byteLength : 0;
  if (n > VERITEE_CLAIM_MAX_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `${what}: ${n} bytes, more than ${VERITEE_CLAIM_MAX_BYTES}`);
}

function parseKey(vk: unknown): VerificationKeyDocument {
  sized(vk, 'verification key');
  if (vk instanceof Uint8Array) vk = new TextDecoder().decode(vk);
  const doc = typeof vk === 'string' ? parseVerificationKeyText(vk) : parseVerificationKeyDocument(vk);
  prepareGroth16VerifyingKey(doc.groth16); // points on the curve, in the subgroup (ZK_VK_INVALID)
  return doc;
}

export function parseVeriteeClaimPublicInputs(value: unknown): VeriteeClaimPublicInputs {
  const r = VeriteeClaimPublicInputsSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new VeriteeError('INPUT_INVALID', `veritee-claim public inputs: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (r.data.commitment !== undefined && claimDefinition(r.data.kind)?.binding === 'bsb22') {
    // The proof binds the records through its BSB22 commitment; the decimal
    // "commitment" of such a bundle is bound only by the enclave signature, so a
    // pin on it would promise what the proof does not show.
    throw new VeriteeError('INPUT_INVALID', `veritee-claim public inputs: commitment: a ${r.data.kind} proof does not bind its commitment (only the enclave signature does); it cannot be pinned here`);
  }
  return r.data;
}

/** The fields of the bundle that differ from the pinned public inputs (empty when all agree). */
export function publicInputMismatches(bundle: ProofBundle, pin: VeriteeClaimPublicInputs): string[] {
  const bad: string[] = [];
  const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
  if (bundle.claim.kind !== pin.kind) bad.push(`kind ${quoteInput(bundle.claim.kind, 40)}, expected ${quoteInput(pin.kind, 40)}`);
  if (pin.version !== undefined && bundle.claim.version !== pin.version) bad.push(`version ${bundle.claim.version}, expected ${pin.version}`);
  if (pin.params !== undefined && !same(bundle.claim.params, pin.params)) bad.push('params differ');
  if (pin.outputs !== undefined && !same(bundle.claim.outputs, pin.outputs)) bad.push('outputs differ');
  if (pin.commitment !== undefined && bundle.commitment !== pin.commitment) bad.push('commitment differs');
  return bad;
}

export function veriteeClaimProofSystem(opts: VeriteeClaimOptions = {}): VeriteeClaimProofSystem {
  const clock = opts.clock ?? systemClock;
  const parse = (vk: unknown) => {
    const doc = parseKey(vk);
    const bad = setupProblem(doc, { ...(opts.allowDevSetup ? { allowDevSetup: true } : {}), ...(opts.ceremony ? { ceremony: opts.ceremony } : {}) });
    if (bad) throw new VeriteeError(bad.code, bad.message);
    return { canonical: doc, digest: vkHash(doc) };
  };
  return {
    id: VERITEE_CLAIM,
    parseVerificationKey: parse,
    checkPrivateInputs(vk, publicInputs, privateInputs) {
      const { canonical: doc } = parse(vk);
      const pin = parseVeriteeClaimPublicInputs(publicInputs);
      const def = claimDefinition(pin.kind, pin.version);
      if (!def) throw new VeriteeError('CLAIM_UNKNOWN', `no claim ${quoteInput(pin.kind, 40)}${pin.version !== undefined ? ` version ${pin.version}` : ''}`);
      if (def.kind !== doc.circuit || def.version !== doc.circuitVersion) throw new VeriteeError('ZK_VK_MISMATCH', `the key proves ${doc.circuit} v${doc.circuitVersion}, not ${def.kind} v${def.version}`);
      if (pin.params === undefined) throw new VeriteeError('INPUT_INVALID', 'veritee-claim public inputs: params: required to check private inputs');
      if (typeof privateInputs !== 'object' || privateInputs === null || Array.isArray(privateInputs)) throw new VeriteeError('INPUT_INVALID', 'private inputs must be an object (the claim data)');
      try {
        const data = def.normalize ? def.normalize(privateInputs) : privateInputs;
        def.check(pin.params, data);
        const misfit = def.misfit(doc.capacity, pin.params, data);
        if (misfit !== undefined) throw new VeriteeError('INPUT_INVALID', `the data does not fit the key's size class ${doc.capacity}: ${misfit}`);
      } catch (e) {
        if (e instanceof VeriteeError) throw e;
        throw new VeriteeError('INPUT_INVALID', `private inputs of a ${def.kind} claim are malformed: ${String((e as Error)?.message ?? e).slice(0, 200)}`);
      }
    },
    async verify(vk, publicInputs, proof) {
      const { canonical } = parse(vk);
      const pin = parseVeriteeClaimPublicInputs(publicInputs);
      sized(proof, 'proof bundle');
      const bundle = parseProofBundle(proof); // malformed → ZK_BUNDLE_INVALID / ZK_BUNDLE_VERSION
      if (publicInputMismatches(bundle, pin).length) return false;
      const keys = new KeyRing();
      keys.add(canonical);
      const expect: ClaimExpectation | undefined = pin.expect;
      const r = verifyProofBundle(bundle, {
        keys,
        ...(opts.allowDevSetup ? { allowDevSetup: true } : {}),
        ...(opts.ceremony ? { ceremony: opts.ceremony } : {}),
        ...(expect !== undefined ? { expect } : {}),
        at: clock.now(),
      });
      return r.ok;
    },
  };
}
