/**
 * @module claims/registry
 * Every claim kind a bundle can carry: its schema, how its public inputs are laid
 * out for the circuit, and how its parameters are range-checked. Adding a claim
 * means writing one module and listing it in claims/index.ts; the bundle format
 * and the verifier do not change.
 */
import type { z } from 'zod';
import type { ExpectationKey } from './expect.js';

export interface ClaimDefinition<P = unknown, O = unknown> {
  /** Claim kind, also the circuit name in the prover. */
  kind: string;
  /** Circuit version; changes with the constraint system. */
  version: number;
  /** Supported size classes. */
  capacities: readonly number[];
  /** Strict schema of `{ params, outputs }`. */
  schema: z.ZodType<{ params: P; outputs: O }>;
  /** Throws a VeriteeError naming the problem when parameters are outside the circuit's ranges. */
  validate(params: P, outputs: O, capacity: number): void;
  /** The circuit's public inputs, in witness order. */
  publicInputs(commitment: bigint, params: P, outputs: O): bigint[];
  /**
   * The record count and the reporting period (0/0 for claims without a period).
   * The enclave signs the whole claim (see attested.ts); the period end also bounds
   * the bundle's creation time (a claim about a period is made after it ends).
   */
  statement(params: P, outputs: O): { n: number; periodStartUs: number; periodEndUs: number };
  /**
   * The parameters a verifier can pin with `--expect` / `verifyBundle({ expect })`
   * (see claims/expect.ts). Together they cover every parameter of the claim.
   */
  expectations: readonly ExpectationKey<P>[];
  /** One-line summaries for people. */
  summarize?(params: P, outputs: O): string[];
}

const registry = new Map<string, ClaimDefinition<any, any>>();

export function registerClaim<P, O>(def: ClaimDefinition<P, O>): ClaimDefinition<P, O> {
  if (registry.has(def.kind)) throw new Error(`claim ${def.kind} registered twice`);
  registry.set(def.kind, def);
  return def;
}

export function claimDefinition(kind: string): ClaimDefinition<any, any> | undefined {
  return registry.get(kind);
}

export function claimKinds(): string[] {
  return [...registry.keys()].sort();
}
