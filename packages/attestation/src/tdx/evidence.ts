/**
 * @module tdx/evidence
 * The TDX evidence envelope, compatible with attestation-rs:
 * `{"platform":"tdx","evidence":{"quote":"<base64>"},"collateral"?:{...}}`.
 * `collateral` is either layout accepted by dcap/collateral.ts.
 *
 * INVARIANT: the quote text is size-checked before it is decoded.
 */
import { fromBase64, VeriteeError, toBase64 } from '@veritee/core';
import { z } from 'zod';
import { MAX_QUOTE_BYTES } from '../dcap/quote.js';
import type { EvidenceEnvelope } from '../types.js';

export const tdxEnvelopeSchema = z.object({
  platform: z.literal('tdx'),
  evidence: z.object({ quote: z.string().min(1) }).passthrough(),
  collateral: z.record(z.string(), z.unknown()).optional(),
});

export type TdxEnvelope = z.infer<typeof tdxEnvelopeSchema>;

/** Validates a TDX envelope and decodes its quote. Throws VeriteeError. */
export function decodeTdxEnvelope(envelope: unknown): { quote: Uint8Array; collateral?: Record<string, unknown> } {
  const platform = (envelope as { platform?: unknown } | null)?.platform;
  if (platform !== undefined && platform !== 'tdx') {
    throw new VeriteeError('ATTEST_PLATFORM_UNSUPPORTED', `the TDX verifier was given evidence for platform "${String(platform)}"`);
  }
  const r = tdxEnvelopeSchema.safeParse(envelope);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `TDX evidence envelope: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const text = r.data.evidence.quote;
  const limit = Math.ceil((MAX_QUOTE_BYTES * 4) / 3) + 4;
  if (text.length > limit) {
    throw new VeriteeError('INPUT_TOO_LARGE', `evidence.quote is ${text.length} base64 characters; the limit is ${limit} (${MAX_QUOTE_BYTES} bytes)`);
  }
  const quote = fromBase64(text, 'evidence.quote');
  return r.data.collateral ? { quote, collateral: r.data.collateral } : { quote };
}

/** Builds a TDX envelope around a raw quote. */
export function tdxEnvelope(quote: Uint8Array, collateral?: Record<string, unknown>): EvidenceEnvelope {
  return { platform: 'tdx', evidence: { quote: toBase64(quote) }, ...(collateral ? { collateral } : {}) };
}
