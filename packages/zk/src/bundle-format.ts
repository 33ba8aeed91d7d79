/**
 * @module bundle-format
 * The proof bundle `veritee.proof/v2`: a JSON document carrying the claim (kind,
 * version, public parameters and outputs), the data commitment, its creation
 * time, the Groth16 proof with the hash of its verification key, and (for
 * attested bundles) the enclave signature and the attestation evidence.
 *
 * The public inputs are not stored separately: verifiers rebuild them from the
 * claim, so the numbers a person reads are exactly the numbers that were proven.
 *
 * v2 (this version) differs from v1 in what the enclave signs: the v2 statement
 * (attested.ts) covers the whole claim (parameters and outputs) and `createdAt`;
 * v1 signed only kind, version, commitment, count and period. v1 bundles are
 * refused with ZK_BUNDLE_VERSION: re-prove them.
 *
 * This module is the format alone (no claim code), so claim modules can name
 * the bundle type without an import circle; bundle.ts adds the parser, which
 * checks the claim against the catalogue.
 *
 * Groth16 proofs are malleable: anyone can turn a valid proof into another valid
 * proof of the same statement (e.g. by negating A and B). Nothing identifies a
 * bundle or a claim by its proof bytes; use the commitment and the claim.
 */
import { z } from 'zod';
import { Groth16ProofSchema } from './groth16/index.js';

export const BUNDLE_FORMAT = 'veritee.proof/v2';
/** Formats this verifier knows but refuses, with the reason. */
export const RETIRED_FORMATS: Readonly<Record<string, string>> = {
  'veritee.proof/v1':
    "its enclave signature covers only the claim kind, version, commitment, count and period, not the claim's parameters, outputs or creation time; re-prove it with this version of veritee",
};

/** Deepest nesting of a bundle (the evidence envelope is the deepest part). */
export const BUNDLE_MAX_DEPTH = 64;

/**
 * RFC 3339 UTC with `Z` and an optional fraction (1-9 digits), a real calendar date
 * and time (no 24:00, no leap second, no February 30). Returns epoch microseconds
 * (fraction truncated), or undefined.
 */
export function rfc3339UtcToUs(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  if (new Date(ms).getUTCDate() !== d) return undefined;
  return ms * 1000 + Number((m[7] ?? '').padEnd(6, '0').slice(0, 6));
}

const createdAt = z.string().max(40).refine((s) => rfc3339UtcToUs(s) !== undefined, 'expected an RFC 3339 UTC time such as 2025-06-01T00:00:00.000Z');

const decimal = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'expected a decimal field element');
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');

const jsonObject = z.custom<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object');

/** `{ kind, version, params, outputs }`; params/outputs are checked by the claim's own schema. */
export const ClaimSchema = z
  .object({
    kind: z.string().min(1),
    version: z.number().int().positive(),
    params: jsonObject,
    outputs: jsonObject,
  })
  .strict();

export const ProofSectionSchema = z
  .object({
    system: z.literal('groth16'),
    curve: z.literal('bn254'),
    circuit: z.string().min(1),
    circuitVersion: z.number().int().positive(),
    capacity: z.number().int().positive(),
    vkHash: hex64,
    setup: z.enum(['dev', 'ceremony']),
    groth16: Groth16ProofSchema,
  })
  .strict();

export const ProofBundleSchema = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    /** When the bundle was made (RFC 3339 UTC); signed, not after the verification time, not before the period's end. */
    createdAt,
    claim: ClaimSchema,
    commitment: decimal,
    proof: ProofSectionSchema,
    /** Enclave signature over the statement (`veritee.statement/v2`: the claim, the commitment and createdAt). */
    signature: z
      .object({
        alg: z.literal('ES256'),
        /** The enclave public key, SubjectPublicKeyInfo DER, base64url. */
        publicKey: z.string().regex(/^[A-Za-z0-9_-]+$/).max(4096),
        /** IEEE P1363 r||s, base64url. */
        value: z.string().regex(/^[A-Za-z0-9_-]+$/).max(256),
      })
      .strict()
      .optional(),
    /** Attestation evidence whose report data binds the enclave key. */
    evidence: z
      .object({
        /** `{ platform, evidence, collateral? }` as verified by @veritee/attestation. */
        envelope: z.record(z.string(), z.unknown()),
        /**
         * Trust anchors of a simulated TEE (dev only). Used only when the verifier
         * allows simulated evidence; otherwise ignored, and simulated evidence fails.
         */
        simulatedAnchors: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ProofBundle = z.infer<typeof ProofBundleSchema>;

