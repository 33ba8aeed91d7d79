/**
 * @module keys
 * Verification key documents (`veritee.vk/v1`, written by the Go prover next to
 * its proving keys) and the key ring verifiers trust.
 *
 * THREAT MODEL: a Groth16 key made by a party that kept its toxic waste lets that
 * party forge proofs. A bundle therefore names its key only by hash; verifiers
 * take keys from a source they trust (their own key store, a pinned file, later a
 * ceremony transcript), never from the bundle. Keys from a dev setup say so in
 * `setup.kind`, that field is covered by the hash, and verifiers refuse dev keys
 * unless told `allowDevSetup`.
 *
 * Browser-safe: reading keys from disk lives in keystore.ts.
 */
import { z } from 'zod';
import { canonicalJsonBytes, parseJsonStrict, sha256, toHex, VeriteeError } from '@veritee/core';
import { Groth16VerifyingKeySchema } from './groth16/index.js';

export const VK_FORMAT = 'veritee.vk/v1';

export const SetupSchema = z.object({
  kind: z.enum(['dev', 'ceremony']),
  createdAt: z.string(),
  warning: z.string().optional(),
  durationMs: z.number().int().nonnegative().optional(),
  ceremony: z
    .object({
      phase1: z.string(),
      transcriptSha256: z.string().regex(/^[0-9a-f]{64}$/),
      contributions: z.array(z.object({ name: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
      beacon: z.string().optional(),
    })
    .optional(),
});

export const VerificationKeyDocumentSchema = z.object({
  format: z.literal(VK_FORMAT),
  circuit: z.string().min(1),
  circuitVersion: z.number().int().positive(),
  capacity: z.number().int().positive(),
  constraints: z.number().int().nonnegative(),
  publicInputs: z.array(z.string()),
  setup: SetupSchema,
  groth16: Groth16VerifyingKeySchema,
});

export type VerificationKeyDocument = z.infer<typeof VerificationKeyDocumentSchema>;

/** sha256 over the canonical JSON of the whole document, hex. */
export function vkHash(doc: VerificationKeyDocument): string {
  return toHex(sha256(canonicalJsonBytes(doc)));
}

export function parseVerificationKeyDocument(value: unknown, what = 'verification key'): VerificationKeyDocument {
  const r = VerificationKeyDocumentSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new VeriteeError('ZK_VK_INVALID', `${what}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}

/**
 * Parses a verification key document from JSON text, strictly: duplicate keys and
 * deep nesting are ZK_VK_INVALID (an object parsed by the caller cannot be checked
 * for duplicate keys).
 */
export function parseVerificationKeyText(text: string, what = 'verification key'): VerificationKeyDocument {
  const json = parseJsonStrict(text, { what, code: 'ZK_VK_INVALID', maxDepth: 16 });
  return parseVerificationKeyDocument(json, what);
}

/** Keys a verifier trusts, indexed by hash. */
export class KeyRing {
  private readonly byHash = new Map<string, VerificationKeyDocument>();

  add(doc: VerificationKeyDocument): string {
    const h = vkHash(doc);
    this.byHash.set(h, doc);
    return h;
  }

  get(hash: string): VerificationKeyDocument | undefined {
    return this.byHash.get(hash);
  }

  get size(): number {
    return this.byHash.size;
  }

  entries(): [string, VerificationKeyDocument][] {
    return [...this.byHash.entries()];
  }
}
