/**
 * @module proof-systems/circom-groth16
 * The `circom-groth16` proof system: bring-your-own circom circuits, proven with
 * snarkjs Groth16 over BN254.
 *
 * - verification key: a `veritee.circom-vk/v1` document (circom/format.ts), as
 *   {@link setupCircom} writes it; checked strictly (curve, protocol, point shapes,
 *   coordinates below p, points on the curve, G2 points in the subgroup, one IC
 *   point per public signal plus one). Keys from a dev setup are refused with
 *   ZK_DEV_SETUP_REFUSED unless `allowDevSetup`; keys labelled `external` (made in
 *   a ceremony veritee did not witness) unless `allowExternalSetup`.
 * - public inputs: the public signals, decimal strings below r, exactly nPublic.
 * - proof: snarkjs's proof JSON.
 *
 * With `crossCheck`, a proof is accepted only when @veritee/zk's independent
 * TypeScript pairing code accepts it too.
 *
 * `verify` throws for malformed input (CIRCOM_VK_INVALID,
 * CIRCOM_PUBLIC_SIGNALS_INVALID, CIRCOM_PROOF_MALFORMED) and resolves false for a
 * well-formed proof that does not verify, including one whose points are off the
 * curve or outside the subgroup (snarkjs is not asked about those).
 */
import { VeriteeError } from '@veritee/core';
import type { ProofSystem } from '../proof-system.js';
import {
  canonicalCircomVerificationKey,
  parseCircomVerificationKey,
  parsePublicSignals,
  parseSnarkjsProof,
  proofPointsValid,
  type CircomVerificationKeyDocument,
} from '../circom/format.js';
import { snarkjs } from '../circom/snarkjs.js';
import { checkCircomInputs } from '../circom/prove.js';
import { verifyCircomWithZk } from '../circom/second-verifier.js';

export const CIRCOM_GROTH16 = 'circom-groth16';

export interface CircomGroth16Options {
  /** Accept keys from a one-party dev setup (whoever made it can forge proofs). */
  allowDevSetup?: boolean;
  /** Accept keys labelled `external`: made in a ceremony that veritee did not check. */
  allowExternalSetup?: boolean;
  /**
   * Also verify with @veritee/zk's independent pairing code (circom/second-verifier.ts)
   * and accept only when both verifiers do (about doubles the verification time).
   */
  crossCheck?: boolean;
}

export interface CircomGroth16ProofSystem extends ProofSystem {
  readonly id: typeof CIRCOM_GROTH16;
  parseVerificationKey(vk: unknown): { canonical: CircomVerificationKeyDocument; digest: string };
  /**
   * Checks what can be checked of private inputs without the circuit's witness
   * generator (the key does not carry it): public signals well formed for the key,
   * inputs an object of signal names to non-negative integers. Whether they satisfy
   * the circuit shows only when the generator computes the witness
   * (CIRCOM_WITNESS_FAILED from proveCircom).
   */
  checkPrivateInputs(vk: unknown, publicInputs: unknown, privateInputs: unknown): void;
}

function trusted(doc: CircomVerificationKeyDocument, opts: CircomGroth16Options): void {
  if (doc.setup.kind === 'dev' && !opts.allowDevSetup) {
    throw new VeriteeError('ZK_DEV_SETUP_REFUSED', `the circom key for ${doc.circuit.name} comes from a DEV setup (one party, forgeable); pass allowDevSetup to accept it`);
  }
  if (doc.setup.kind === 'external' && !opts.allowExternalSetup) {
    throw new VeriteeError('ZK_DEV_SETUP_REFUSED', `the circom key for ${doc.circuit.name} is labelled "external": the label alone proves nothing (importCircomSetup checks a ceremony's files); pass allowExternalSetup to accept it`);
  }
}

export function circomGroth16ProofSystem(opts: CircomGroth16Options = {}): CircomGroth16ProofSystem {
  const parse = (vk: unknown) => {
    const doc = parseCircomVerificationKey(vk);
    trusted(doc, opts);
    return canonicalCircomVerificationKey(doc);
  };
  return {
    id: CIRCOM_GROTH16,
    parseVerificationKey: parse,
    checkPrivateInputs(vk, publicInputs, privateInputs) {
      const { canonical } = parse(vk);
      parsePublicSignals(publicInputs, canonical.groth16.nPublic);
      checkCircomInputs(privateInputs);
    },
    async verify(vk, publicInputs, proof) {
      const { canonical } = parse(vk);
      const signals = parsePublicSignals(publicInputs, canonical.groth16.nPublic);
      const p = parseSnarkjsProof(proof);
      if (!proofPointsValid(p)) return false;
      const s = await snarkjs();
      const full = { ...p, protocol: 'groth16', curve: 'bn128' };
      const ok = (await s.groth16.verify(canonical.groth16, signals, full)) === true;
      return opts.crossCheck ? ok && verifyCircomWithZk(canonical, signals, p) : ok;
    },
  };
}
