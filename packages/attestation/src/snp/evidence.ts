/**
 * @module snp/evidence
 * The SEV-SNP evidence envelope, as produced by attestation-rs:
 *
 *   {"platform": "snp",
 *    "evidence": {"attestation_report": "<base64>",
 *                 "cert_chain": {"vcek" | "vlek": "<base64 DER>", "ask"?: "...", "ark"?: "..."}}}
 *
 * attestation-rs puts a VLEK under the `vcek` key too; the report's SIGNING_KEY field,
 * not the key name, decides which chain is built (verify.ts step 3).
 *
 * INVARIANT: unknown keys anywhere are refused (ATTEST_EVIDENCE_INVALID): evidence that
 * does not have exactly this shape is not SNP evidence. `ask`/`ark` are decoded only to
 * be reported as ignored: the bundled roots are the only ones trusted.
 */
import { z } from 'zod';
import { VeriteeError, fromBase64 } from '@veritee/core';

/** Base64 or base64url text; 64 KiB is far above any real report or certificate. */
const B64 = z.string().min(1).max(65536);

const CertChainSchema = z.strictObject({
  vcek: B64.optional(),
  vlek: B64.optional(),
  ask: B64.optional(),
  ark: B64.optional(),
});

export const SnpEvidenceSchema = z.strictObject({
  attestation_report: B64,
  cert_chain: CertChainSchema.optional(),
});

export const SnpEnvelopeSchema = z.strictObject({
  platform: z.literal('snp'),
  evidence: SnpEvidenceSchema,
  /** SNP has no separate collateral; present only as undefined. */
  collateral: z.undefined().optional(),
});

export interface DecodedSnpEvidence {
  report: Uint8Array;
  /** The VCEK/VLEK the host supplied, and the key it was filed under. */
  leaf?: { key: 'vcek' | 'vlek'; der: Uint8Array };
  /** Host-supplied intermediates/roots: never trusted, only reported. */
  ignored: string[];
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(envelope)'}: ${i.message}`)
    .join('; ');
}

/**
 * Validates and decodes an SNP envelope. Throws ATTEST_EVIDENCE_INVALID naming the
 * offending field for any other shape (including other platforms' evidence).
 */
export function decodeSnpEvidence(envelope: unknown): DecodedSnpEvidence {
  const parsed = SnpEnvelopeSchema.safeParse(envelope);
  if (!parsed.success) {
    const platform =
      typeof envelope === 'object' && envelope !== null && 'platform' in envelope ? String((envelope as { platform: unknown }).platform) : undefined;
    const prefix = platform !== undefined && platform !== 'snp' ? `envelope platform "${platform}" is not "snp"; ` : '';
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `SNP evidence is malformed: ${prefix}${describeIssues(parsed.error)}`);
  }
  const ev = parsed.data.evidence;
  const b64 = (s: string, what: string): Uint8Array => {
    try {
      return fromBase64(s, what);
    } catch (e) {
      throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `SNP evidence: ${what} is not valid base64`, undefined, { cause: e });
    }
  };
  const out: DecodedSnpEvidence = { report: b64(ev.attestation_report, 'evidence.attestation_report'), ignored: [] };
  const chain = ev.cert_chain;
  if (chain) {
    if (chain.vcek !== undefined && chain.vlek !== undefined) {
      throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'SNP evidence: cert_chain holds both vcek and vlek; exactly one is allowed');
    }
    if (chain.vcek !== undefined) out.leaf = { key: 'vcek', der: b64(chain.vcek, 'evidence.cert_chain.vcek') };
    else if (chain.vlek !== undefined) out.leaf = { key: 'vlek', der: b64(chain.vlek, 'evidence.cert_chain.vlek') };
    else throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'SNP evidence: cert_chain holds neither vcek nor vlek');
    if (chain.ask !== undefined) {
      b64(chain.ask, 'evidence.cert_chain.ask');
      out.ignored.push('ask');
    }
    if (chain.ark !== undefined) {
      b64(chain.ark, 'evidence.cert_chain.ark');
      out.ignored.push('ark');
    }
  }
  return out;
}
