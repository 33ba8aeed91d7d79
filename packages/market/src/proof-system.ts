// The one seam between the market and the proof systems it trades in. A market names a
// proof system and carries its verification key; the market verifies every submitted proof
// through this interface before it pays (and verifies a sample proof before it creates the
// market). Implementations: veritee claims (the Go prover, verified in TypeScript) and
// bring-your-own circom circuits (circom2 + snarkjs Groth16).

export interface ProofSystem {
  /** Stable identifier stored with the market, e.g. "veritee-claim" or "circom-groth16". */
  readonly id: string;
  /**
   * Checks a verification key document for this system and returns a canonical form and a
   * digest (hex SHA-256) that identify it. Throws a VeriteeError (INPUT_INVALID or a
   * MARKET_* code) when the key is malformed.
   */
  parseVerificationKey(vk: unknown): { canonical: unknown; digest: string };
  /**
   * Verifies a proof against the key and the public inputs. Resolves false for a proof that
   * does not verify; throws only for input that is malformed (a clear error code).
   */
  verify(vk: unknown, publicInputs: unknown, proof: unknown): Promise<boolean>;
}
