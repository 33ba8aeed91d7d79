/**
 * @module circom/second-verifier
 * A second, independent verification of circom Groth16 proofs: the key and proof
 * rewritten into the gnark JSON form that @veritee/zk's TypeScript verifier reads
 * (no commitments), checked with its BN254 pairing code (@noble/curves based)
 * instead of snarkjs's (ffjavascript/wasmcurves). The two share no code; the
 * circom-groth16 proof system runs both when asked (`crossCheck`), and the tests
 * require them to agree on every honest and forged proof.
 */
import { BN254_R, verifyGroth16, type G1PointJSON, type G2PointJSON, type Groth16VerifyingKeyJSON } from '@veritee/zk';
import type { CircomVerificationKeyDocument, SnarkjsProof } from './format.js';

type G1 = readonly [string, string, string];
type G2 = readonly [readonly [string, string], readonly [string, string], readonly [string, string]];

// snarkjs writes the point at infinity with z = 0; the gnark form writes it as (0, 0).
const g1 = (p: G1): G1PointJSON => (p[2] === '0' ? ['0', '0'] : [p[0], p[1]]);
const g2 = (p: G2): G2PointJSON => (p[2][0] === '0' && p[2][1] === '0' ? { x: ['0', '0'], y: ['0', '0'] } : { x: [p[0][0], p[0][1]], y: [p[1][0], p[1][1]] });

/** The snarkjs key in the gnark JSON form (no commitments). */
export function circomKeyForZk(doc: CircomVerificationKeyDocument): Groth16VerifyingKeyJSON {
  const k = doc.groth16;
  return {
    protocol: 'groth16',
    curve: 'bn254',
    alpha: g1(k.vk_alpha_1),
    beta: g2(k.vk_beta_2),
    gamma: g2(k.vk_gamma_2),
    delta: g2(k.vk_delta_2),
    ic: k.IC.map(g1),
    commitmentKeys: [],
    publicAndCommitmentCommitted: [],
    nbPublic: k.nPublic,
  };
}

/**
 * Verifies with @veritee/zk's pairing code. Inputs must already have passed the
 * strict checks (parseCircomVerificationKey, parsePublicSignals, parseSnarkjsProof).
 * Returns false for a proof that does not verify, including points off the curve.
 */
export function verifyCircomWithZk(doc: CircomVerificationKeyDocument, signals: readonly string[], proof: SnarkjsProof): boolean {
  const inputs = signals.map((s) => BigInt(s));
  if (inputs.some((v) => v >= BN254_R)) return false;
  try {
    return verifyGroth16(circomKeyForZk(doc), { ar: g1(proof.pi_a), bs: g2(proof.pi_b), krs: g1(proof.pi_c), commitments: [], commitmentPok: ['0', '0'] }, inputs);
  } catch {
    return false; // a point the zk parser refuses (off the curve, outside the subgroup)
  }
}
