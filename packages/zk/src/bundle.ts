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
import { claimDefinition, claimKinds } from './claims/index.js';

export const BUNDLE_FORMAT = 'veritee.proof/v1';

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
    createdAt: z.string(),
    claim: ClaimSchema,
    commitment: decimal,
    proof: ProofSectionSchema,
    /** Enclave signature over the statement (claim kind, version, commitment, n, period). */
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
  const def = claimDefinition(r.data.claim.kind);
  if (!def) throw new VeriteeError('ZK_BUNDLE_INVALID', `proof bundle field claim.kind: unknown claim "${r.data.claim.kind}" (known: ${claimKinds().join(', ')})`);
  if (def.version !== r.data.claim.version) throw new VeriteeError('ZK_BUNDLE_VERSION', `claim ${def.kind} version ${r.data.claim.version} is not supported (this verifier reads version ${def.version})`);
  const body = def.schema.safeParse({ params: r.data.claim.params, outputs: r.data.claim.outputs });
  if (!body.success) {
    const issue = body.error.issues[0]!;
    throw new VeriteeError('ZK_BUNDLE_INVALID', `proof bundle field claim.${issue.path.join('.')}: ${issue.message}`);
  }
  return r.data;
}
