/**
 * @module claims/registry
 * The catalogue: every claim kind a bundle can carry and `prove` can make. A
 * claim is one module (claims/<kind>.ts, one definition object, see
 * claims/claim.ts) listed here once; the bundle format, the prover, the
 * verifier, the CLI and the benchmark do not change when a claim is added.
 */
import type { ClaimDefinition } from './claim.js';
import { latencyClaim } from './latency.js';
import { inclusionClaim } from './inclusion.js';
import { memoryClaim } from './memory.js';
import { cpuClaim } from './cpu.js';
import { diskClaim } from './disk.js';
import { gatewayClaim } from './gateway.js';
import { volumeClaim } from './volume.js';

/** The claims veritee ships, one line each. */
export const BUILTIN_CLAIMS: readonly ClaimDefinition[] = [latencyClaim, inclusionClaim, memoryClaim, cpuClaim, diskClaim, gatewayClaim, volumeClaim];

const registry = new Map<string, ClaimDefinition>(BUILTIN_CLAIMS.map((d) => [d.kind, d]));

/** Adds a claim defined outside this package (its circuit must be registered in the Go prover too). */
export function registerClaim<P, O, D, PI>(def: ClaimDefinition<P, O, D, PI>): ClaimDefinition<P, O, D, PI> {
  if (registry.has(def.kind)) throw new Error(`claim ${def.kind} registered twice`);
  registry.set(def.kind, def as ClaimDefinition);
  return def;
}

export function claimDefinition(kind: string): ClaimDefinition | undefined {
  return registry.get(kind);
}

export function claimKinds(): string[] {
  return [...registry.keys()].sort();
}

/** Every registered definition, sorted by kind. */
export function claimDefinitions(): ClaimDefinition[] {
  return claimKinds().map((k) => registry.get(k)!);
}
