/**
 * @module proof-systems
 * The proof systems a market trades in, behind the ProofSystem seam
 * (../proof-system.ts): veritee claims and bring-your-own circom circuits.
 */
import type { ProofSystem } from '../proof-system.js';
import { circomGroth16ProofSystem, type CircomGroth16Options } from './circom-groth16.js';
import { veriteeClaimProofSystem, type VeriteeClaimOptions } from './veritee-claim.js';

export * from './veritee-claim.js';
export * from './circom-groth16.js';
export * from '../circom/index.js';

/** Both proof systems, by id, with the same trust options. */
export function builtinProofSystems(opts: VeriteeClaimOptions & CircomGroth16Options = {}): Map<string, ProofSystem> {
  const systems: ProofSystem[] = [veriteeClaimProofSystem(opts), circomGroth16ProofSystem(opts)];
  return new Map(systems.map((s) => [s.id, s]));
}
