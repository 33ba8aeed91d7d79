/**
 * @module claims/registry
 * The catalogue: every claim kind a bundle can carry and `prove` can make. A
 * claim is one module (claims/<kind>.ts, one definition object, see
 * claims/claim.ts) listed here once; the bundle format, the prover, the
 * verifier, the CLI and the benchmark do not change when a claim is added.
 */
import type { ClaimDefinition } from './claim.js';
import { latencyClaim, latencyClaimV1, latencyClaimV2 } from './latency.js';
import { inclusionClaim } from './inclusion.js';
import { memoryClaim, memoryClaimV1, memoryClaimV2 } from './memory.js';
import { cpuClaim } from './cpu.js';
import { diskClaim } from './disk.js';
import { gatewayClaim } from './gateway.js';
import { volumeClaim } from './volume.js';
import { streamAggClaim } from './streamagg.js';
import { streamOrderClaim } from './streamorder.js';

/** The claims veritee ships, one line each. */
export const BUILTIN_CLAIMS: readonly ClaimDefinition[] = [latencyClaim, inclusionClaim, memoryClaim, cpuClaim, diskClaim, gatewayClaim, volumeClaim, streamAggClaim, streamOrderClaim];

/**
 * Older versions of claims that bundles may still carry: verified (and provable)
 * with their own definitions, never listed as a kind of their own.
 */
export const LEGACY_CLAIMS: readonly ClaimDefinition[] = [latencyClaimV1, latencyClaimV2, memoryClaimV1, memoryClaimV2];

const registry = new Map<string, ClaimDefinition>(BUILTIN_CLAIMS.map((d) => [d.kind, d]));
const legacy = new Map<string, ClaimDefinition>(LEGACY_CLAIMS.map((d) => [`${d.kind}@${d.version}`, d]));

/** Adds a claim defined outside this package (its circuit must be registered in the Go prover too). */
export function registerClaim<P, O, D, PI>(def: ClaimDefinition<P, O, D, PI>): ClaimDefinition<P, O, D, PI> {
  if (registry.has(def.kind)) throw new Error(`claim ${def.kind} registered twice`);
  registry.set(def.kind, def as ClaimDefinition);
  return def;
}

/** The definition of a claim kind: its current version, or the given version (undefined when unknown). */
export function claimDefinition(kind: string, version?: number): ClaimDefinition | undefined {
  const d = registry.get(kind);
  if (version === undefined || d?.version === version) return d;
  return legacy.get(`${kind}@${version}`);
}

export function claimKinds(): string[] {
  return [...registry.keys()].sort();
}

/** Every registered definition, sorted by kind. */
export function claimDefinitions(): ClaimDefinition[] {
  return claimKinds().map((k) => registry.get(k)!);
}
