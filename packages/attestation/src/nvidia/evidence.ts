/**
 * @module nvidia/evidence
 * The NVIDIA GPU evidence envelope:
 *
 *   {"platform": "nvidia",
 *    "evidence": {"spdm": "<base64 of GET_MEASUREMENTS request || MEASUREMENTS response>",
 *                 "cert_chain": "<PEM, device leaf first>",
 *                 "uuid"?: "<GPU UUID, informational, NOT signed>"}}
 *
 * INVARIANT: any other shape is refused (ATTEST_EVIDENCE_INVALID, or INPUT_TOO_LARGE
 * before decoding anything oversized); unknown keys are refused too. `uuid` is carried
 * into platformData as-is and marked unsigned: nothing in the SPDM report binds it.
 */
import { z } from 'zod';
import { VeriteeError, fromBase64 } from '@veritee/core';
import { MAX_SPDM_EVIDENCE_BYTES } from './spdm-response.js';
import { MAX_CERT_CHAIN_PEM_CHARS } from './cert-chain.js';

/** Base64 text of at most MAX_SPDM_EVIDENCE_BYTES, plus slack for line breaks. */
export const MAX_SPDM_BASE64_CHARS = Math.ceil(MAX_SPDM_EVIDENCE_BYTES / 3) * 4 + 8192;

export const NvidiaEvidenceSchema = z.strictObject({
  spdm: z.string().min(1).max(MAX_SPDM_BASE64_CHARS),
  cert_chain: z.string().min(1).max(MAX_CERT_CHAIN_PEM_CHARS),
  uuid: z.string().max(128).optional(),
});

export const NvidiaEnvelopeSchema = z.strictObject({
  platform: z.literal('nvidia'),
  evidence: NvidiaEvidenceSchema,
  collateral: z.undefined().optional(),
});

export type NvidiaEnvelope = z.infer<typeof NvidiaEnvelopeSchema>;

export interface DecodedNvidiaEvidence {
  spdm: Uint8Array;
  certChainPem: string;
  uuid?: string;
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(envelope)'}: ${i.message}`)
    .join('; ');
}

/** Validates the envelope and base64-decodes the SPDM bytes. */
export function decodeNvidiaEvidence(envelope: unknown): DecodedNvidiaEvidence {
  const env = envelope as { platform?: unknown; evidence?: { spdm?: unknown; cert_chain?: unknown } } | null;
  if (typeof env === 'object' && env !== null) {
    if (env.platform !== undefined && env.platform !== 'nvidia') {
      throw new VeriteeError(
        'ATTEST_PLATFORM_UNSUPPORTED',
        `NVIDIA verifier: envelope platform "${String(env.platform)}" is not "nvidia"`,
      );
    }
    const spdm = env.evidence?.spdm;
    if (typeof spdm === 'string' && spdm.length > MAX_SPDM_BASE64_CHARS) {
      throw new VeriteeError('INPUT_TOO_LARGE', `evidence.spdm is ${spdm.length} characters, over the ${MAX_SPDM_BASE64_CHARS} limit`);
    }
    const pem = env.evidence?.cert_chain;
    if (typeof pem === 'string' && pem.length > MAX_CERT_CHAIN_PEM_CHARS) {
      throw new VeriteeError('INPUT_TOO_LARGE', `evidence.cert_chain is ${pem.length} characters, over the ${MAX_CERT_CHAIN_PEM_CHARS} limit`);
    }
  }
  const parsed = NvidiaEnvelopeSchema.safeParse(envelope);
  if (!parsed.success) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `NVIDIA evidence is malformed: ${describeIssues(parsed.error)}`);
  }
  const ev = parsed.data.evidence;
  let spdm: Uint8Array;
  try {
    spdm = fromBase64(ev.spdm, 'evidence.spdm');
  } catch (e) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'NVIDIA evidence: evidence.spdm is not valid base64', undefined, { cause: e });
  }
  const out: DecodedNvidiaEvidence = { spdm, certChainPem: ev.cert_chain };
  if (ev.uuid !== undefined) out.uuid = ev.uuid;
  return out;
}
