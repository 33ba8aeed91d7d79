/**
 * @module bundle
 * The proof bundle `veritee.proof/v1`: a JSON document carrying the claim (kind,
 * version, public parameters and outputs), the data commitment, the Groth16
 * proof with the hash of its verification key, and (once attestation binding
 * exists) the enclave signature and the attestation evidence.
 *
 * The public inputs are not stored separately: verifiers rebuild them from the
 * claim, so the numbers a person reads are exactly the numbers that were proven.
 */
import { z } from 'zod';
import { VeriteeError } from '@veritee/core';
import { Groth16ProofSchema } from './groth16/index.js';
import { LATENCY_CLAIM, LATENCY_CIRCUIT_VERSION, LATENCY_SLOTS } from './claims/latency.js';

export const BUNDLE_FORMAT = 'veritee.proof/v1';

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const decimal = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'expected a decimal field element');
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');

export const LatencyClaimSchema = z
  .object({
    kind: z.literal(LATENCY_CLAIM),
    version: z.literal(LATENCY_CIRCUIT_VERSION),
    params: z
      .object({
        periodStartUs: u,
        periodEndUs: u,
        minN: u,
        slots: z
          .array(z.object({ percentileBp: u, thresholdUs: u, enforce: z.boolean() }).strict())
          .length(LATENCY_SLOTS),
      })
      .strict(),
    outputs: z
      .object({
        n: u,
        slots: z.array(z.object({ valueUs: u, exceeding: u }).strict()).length(LATENCY_SLOTS),
        compliant: z.boolean(),
      })
      .strict(),
  })
  .strict();

export const ClaimSchema = z.discriminatedUnion('kind', [LatencyClaimSchema]);

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
    createdAt: z.string(),
    claim: ClaimSchema,
    commitment: decimal,
    proof: ProofSectionSchema,
    /** Enclave signature over (claim kind, commitment, n, period): issue "proven telemetry". */
    signature: z.unknown().optional(),
    /** Attestation evidence binding the enclave key. */
    evidence: z.unknown().optional(),
  })
  .strict();

export type ProofBundle = z.infer<typeof ProofBundleSchema>;
export type LatencyClaim = z.infer<typeof LatencyClaimSchema>;

/** Validates a bundle (object or JSON text); errors name the offending field. */
export function parseProofBundle(input: unknown): ProofBundle {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new VeriteeError('ZK_BUNDLE_INVALID', `proof bundle is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VeriteeError('ZK_BUNDLE_INVALID', 'proof bundle must be a JSON object');
  }
  const fmt = (value as { format?: unknown }).format;
  if (fmt !== BUNDLE_FORMAT) {
    if (typeof fmt === 'string' && fmt.startsWith('veritee.proof/')) {
      throw new VeriteeError('ZK_BUNDLE_VERSION', `proof bundle format "${fmt}" is not supported (this verifier reads ${BUNDLE_FORMAT})`);
    }
    throw new VeriteeError('ZK_BUNDLE_INVALID', `not a veritee proof bundle: "format" must be "${BUNDLE_FORMAT}"`);
  }
  const r = ProofBundleSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new VeriteeError('ZK_BUNDLE_INVALID', `proof bundle field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}
