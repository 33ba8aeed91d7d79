/**
 * @module claims/claim
 * What a claim is: one definition object per claim module (claims/<kind>.ts)
 * that says everything the rest of veritee needs to prove, verify, pin and show
 * it. The generic `prove` (prove.ts), `verifyProofBundle` (verify.ts), the CLI's
 * `prove <claim>` and `verify`, and the benchmark read only this interface;
 * the catalogue (claims/registry.ts) lists the definitions.
 *
 * Browser-safe: nothing here needs Node. This module imports no claim and no
 * bundle code, so no import circle runs through it. The helpers at the end
 * give the defaults of the optional members.
 */
import type { z } from 'zod';
import { VeriteeError, type ErrorCode } from '@veritee/core';
import type { ProofBundle } from '../bundle-format.js';

/** One key a verifier can pin for a claim kind (see claims/expect.ts). */
export interface ExpectationKey<P> {
  /** The key in `--expect`. */
  readonly key: string;
  /** Other names of the same parameter (e.g. the basis-point parameter name). */
  readonly aliases?: readonly string[];
  /** Its value runs to the end of the expression (it may hold commas). */
  readonly rest?: boolean;
  /** How to write the value, for help and messages. */
  readonly syntax: string;
  /**
   * Parses the expected value written under `name` (the key or an alias) to a
   * comparable form; throws any error (it is reported as INPUT_INVALID naming the term).
   */
  parse(value: string, name: string): unknown;
  /** The bundle's value, in the syntax of `key`. */
  format(params: P): string;
  /** True when the bundle's parameters match the parsed expectation. */
  matches(params: P, expected: unknown): boolean;
  /** The parsed expectation, in the syntax of `key` (for messages). */
  show(expected: unknown): string;
}

/** What an image-enforcement check needs of an image policy (@veritee/image `ImagePolicy` has this shape). */
export interface EnforcingImagePolicy {
  platform: string;
  /** Accepted launch measurements (SNP MEASUREMENT / TDX MRTD), lower-case hex. */
  measurements: readonly string[];
  /** HOST_DATA / MRCONFIGID the image is launched with, lower-case hex. */
  hostData: string;
  enforcing: boolean;
}

/** Verified attestation evidence, as a claim's evidence checks see it. */
export interface AttestedEvidence {
  platform: string;
  /** SNP HOST_DATA / TDX MRCONFIGID, hex. */
  hostData?: string | undefined;
  /** SNP MEASUREMENT / TDX MRTD, hex. */
  measurement?: string | undefined;
}

/** What the verifier was given for a claim's evidence checks. */
export interface EvidenceCheckOptions {
  /** Policies of images that enforce their component tree at boot (`veritee image policy --enforcing`). */
  imagePolicies: readonly EnforcingImagePolicy[];
}

/** One check of a claim against verified attestation evidence (see {@link ClaimDefinition.evidence}). */
export interface ClaimEvidenceCheck<P> {
  check: string;
  code: ErrorCode;
  verify(bundle: { claim: { kind: string; params: P }; commitment: string }, evidence: AttestedEvidence, opts: EvidenceCheckOptions): string;
}

/** A request to the Go prover (what `ProverPool.request` does), for claims that need the prover before proving. */
export type ProverCall = <T>(req: { op: string; [key: string]: unknown }) => Promise<T>;

/** A command-line option of `veritee prove <kind>`. */
export interface ClaimCliOption {
  /** Commander flags, e.g. `--records <file>`. */
  flags: string;
  description: string;
  required?: boolean;
  default?: string;
}

/** How `veritee prove <kind>` reads a claim's inputs from its options. */
export interface ClaimCli<PI, D> {
  /** One line for `veritee prove --help`. */
  description: string;
  options: readonly ClaimCliOption[];
  /** The prove input from the parsed options; readText reads a user-named file (bounded). */
  read(opts: Record<string, string | boolean | undefined>, readText: (path: string, what: string) => string): { params: PI; data: D };
}

/**
 * One claim. P: public parameters, O: public outputs, D: private data, PI: the
 * parameters a caller gives `prove` (P unless the claim completes them in
 * {@link ClaimDefinition.prepare}).
 */
export interface ClaimDefinition<P = any, O = any, D = any, PI = P, K extends string = string> {
  /** Claim kind, also the circuit name in the prover (prover/internal/circuits/<kind>). */
  kind: K;
  /** Circuit version; changes with the constraint system. */
  version: number;
  /** Supported size classes. */
  capacities: readonly number[];
  /** What one element of capacity is ("record", "cell (sample × process)"), singular, for tables and the benchmark. */
  unit: string;
  /** One line: what the claim says. */
  title: string;
  /**
   * How the private data is bound to the proof. `public-input` (default): the
   * data commitment is a public input of the circuit. `bsb22`: the circuit
   * commits to the data with gnark's BSB22 commitment, carried in the proof and
   * masked with a value derived from the salt ({@link bsb22Mask} in binding.ts);
   * the bundle's `commitment` is a digest computed outside the circuit, and the
   * enclave statement covers both (attested.ts).
   */
  binding?: 'public-input' | 'bsb22';
  /** Strict schema of `{ params, outputs }` as a bundle carries them. */
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
  summarize(params: P, outputs: O): string[];

  // ---- proving ---------------------------------------------------------------
  /** Brings data given in a convenience form to the form the claim computes on (default: as is). */
  normalize?(data: D): D;
  /** Validates parameters and private data (throws VeriteeError naming the record). */
  check(params: P, data: D): void;
  /** The smallest size class holding the data (default: the first class without a {@link misfit}). */
  capacityFor?(params: P, data: D): number;
  /** Why the data does not fit a size class, or undefined when it does. */
  misfit(capacity: number, params: P, data: D): string | undefined;
  /** The plain reference computation the circuit must agree with. */
  compute(params: P, data: D): O;
  /** The data commitment (package commitment in @veritee/core). */
  commit(params: P, data: D, salt: bigint): bigint;
  /**
   * The JSON input of the Go prover's `prove` op (prover/internal/circuits/<kind>/claim.go);
   * default `{ salt, ...params, ...data }`.
   */
  proverInput?(params: P, data: D, salt: bigint): unknown;
  /**
   * The inverse of {@link proverInput}, for the claim's Go vector set (claims/vectors.test.ts);
   * default: the schema's parameter keys are params, the rest data. `commitment` when
   * the claim's commitment does not come from {@link commit} (inclusion: the tree root).
   */
  fromProverInput?(input: Record<string, unknown>, capacity: number): { params: P; data: D; salt: bigint; commitment?: bigint };
  /**
   * For claims whose parameters or commitment come from the prover (inclusion:
   * the tree root): completes the parameters before proving. Returns the
   * parameters, the commitment (overriding {@link commit}) and details for the result.
   */
  prepare?(call: ProverCall, params: PI, data: D): Promise<{ params: P; data: D; commitment?: bigint; details?: Record<string, unknown> }>;

  /**
   * Checks of the claim against verified attestation evidence (inclusion: the
   * proven root is the attested image's host data, and the attested image
   * enforces it). Each returns the check's detail; throws a VeriteeError (code
   * `code` unless it carries its own) when it fails.
   */
  evidence?: readonly ClaimEvidenceCheck<P>[];

  /**
   * A typical workload for the benchmark (packages/zk/bench/claims.bench.ts):
   * inputs drawn with `rand` (uniform in [0, 1)), their size in words and in
   * elements of `unit`, and an optional proving-time target.
   */
  sample?(rand: () => number): { size: string; elements: number; params: PI; data: D; target?: string };

  /** `veritee prove <kind>` (absent: the claim has no CLI). */
  cli?: ClaimCli<PI, D>;
}

/** Types a definition (an identity function, so a module states its types once). */
export function defineClaim<P, O, D, PI = P, const K extends string = string>(def: ClaimDefinition<P, O, D, PI, K>): ClaimDefinition<P, O, D, PI, K> {
  return def;
}

/** A bundle whose claim has the given kind, parameters and outputs. */
export type ClaimBundle<K extends string, P, O> = Omit<ProofBundle, 'claim'> & { claim: { kind: K; version: number; params: P; outputs: O } };

/** A boolean or number as a public input. */
export const field = (v: number | boolean): bigint => BigInt(typeof v === 'boolean' ? (v ? 1 : 0) : v);

/**
 * {@link ClaimDefinition.publicInputs} from the names of the circuit's public inputs, in
 * witness order as the Go claim registers them: `commitment`, then parameters and outputs by name.
 */
export function publicInputLayout<P, O>(...names: readonly ('commitment' | (keyof P & string) | (keyof O & string))[]): (commitment: bigint, params: P, outputs: O) => bigint[] {
  const value = (p: P, o: O, n: string) => ((p as Record<string, unknown>)[n] ?? (o as Record<string, unknown>)[n]) as number | boolean;
  return (c, p, o) => names.map((n) => (n === 'commitment' ? c : field(value(p, o, n))));
}

/** Narrows a bundle to the kind of a claim definition. */
export function isBundleOf<P, O, K extends string>(def: ClaimDefinition<P, O, any, any, K>, b: { claim: { kind: string } }): b is ClaimBundle<K, P, O> {
  return b.claim.kind === def.kind;
}

/** The size class to prove data at: {@link ClaimDefinition.capacityFor}, or the first class the data fits. */
export function capacityOf<P, D>(def: ClaimDefinition<P, any, D, any>, params: P, data: D): number {
  if (def.capacityFor) return def.capacityFor(params, data);
  const c = def.capacities.find((c) => def.misfit(c, params, data) === undefined);
  if (c === undefined) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${def.misfit(def.capacities[def.capacities.length - 1]!, params, data)}, the largest`);
  return c;
}

/** The Go prover's JSON input for a claim (its {@link ClaimDefinition.proverInput}, or `{ salt, ...params, ...data }`). */
export function proverInputOf<P, D>(def: ClaimDefinition<P, any, D, any>, params: P, data: D, salt: bigint): unknown {
  return def.proverInput ? def.proverInput(params, data, salt) : { salt: salt.toString(), ...params, ...data };
}

/** A Go prover input back as the claim's parameters, data and salt (see {@link ClaimDefinition.fromProverInput}). */
export function fromProverInputOf<P, D>(def: ClaimDefinition<P, any, D, any>, input: Record<string, unknown>, capacity: number): { params: P; data: D; salt: bigint; commitment?: bigint } {
  if (def.fromProverInput) return def.fromProverInput(input, capacity);
  const keys = Object.keys((def.schema as unknown as { shape: { params: { shape: object } } }).shape.params.shape);
  const { salt, ...rest } = input;
  const pick = (isParam: boolean) => Object.fromEntries(Object.entries(rest).filter(([k]) => keys.includes(k) === isParam));
  return { params: pick(true) as P, data: pick(false) as D, salt: BigInt(String(salt)) };
}
