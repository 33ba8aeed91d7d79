/**
 * @module groth16
 * Verifier for gnark BN254 Groth16 proofs with gnark's commitment extension, and the
 * JSON formats exported by the Go prover (`prover/internal/export`).
 */
export {
  BN254_P,
  BN254_R,
  COMMITMENT_DST,
  COMMITMENT_FOLD_DST,
  Fp2Schema,
  G1PointSchema,
  G2PointSchema,
  Groth16ProofSchema,
  Groth16VerifyingKeySchema,
  commitmentHash,
  deriveCommitmentInputs,
  isInG2Subgroup,
  parsePublicInputs,
  prepareGroth16VerifyingKey,
  verifyGroth16,
} from './verify.js';
export type {
  G1PointJSON,
  G2PointJSON,
  Groth16ProofJSON,
  Groth16VerifyingKeyJSON,
  PreparedGroth16VerifyingKey,
  VerifyGroth16Options,
} from './verify.js';
