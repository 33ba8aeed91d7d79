/**
 * @module cloud/evidence
 * The az-snp / az-tdx evidence envelopes, as attestation-rs produces them (evidence
 * version 1):
 *
 *   {"platform": "az-snp",
 *    "evidence": {"version": 1,
 *                 "tpm_quote": {"signature": "<hex>", "message": "<hex TPMS_ATTEST>",
 *                               "pcrs": ["<hex SHA-256 PCR 0>", ..., "<PCR 23>"]},
 *                 "hcl_report": "<base64url HCL report>",
 *                 "vcek": "<base64url DER>"}}                       (az-snp)
 *   az-tdx: the same with "td_quote": "<base64url TD quote>" instead of "vcek", and an
 *   optional top-level "collateral" (DCAP collateral, as for `tdx`).
 *
 * INVARIANT: unknown keys are refused; every field is size-bounded before it is decoded.
 */
import { z } from 'zod';
import { fromBase64, fromHex, VeriteeError } from '@veritee/core';
import { MAX_QUOTE_BYTES } from '../dcap/quote.js';
import { MAX_HCL_REPORT_BYTES } from './hcl.js';
import { MAX_TPM_ATTEST_BYTES, PCR_COUNT, type PcrValues } from './tpm.js';

const b64Limit = (bytes: number) => Math.ceil((bytes * 4) / 3) + 4;
const hexText = (maxBytes: number) => z.string().min(2).max(maxBytes * 2).regex(/^([0-9a-fA-F]{2})+$/, 'must be hex');

const TpmQuoteSchema = z.strictObject({
  signature: hexText(6 + 1024),
  message: hexText(MAX_TPM_ATTEST_BYTES),
  pcrs: z
    .array(z.string().regex(/^[0-9a-fA-F]{64}$/, 'each PCR value must be 32 bytes of hex (SHA-256 bank)'))
    .min(1)
    .max(PCR_COUNT, `at most ${PCR_COUNT} PCR values`),
});

const common = {
  version: z.literal(1, 'evidence version must be 1'),
  tpm_quote: TpmQuoteSchema,
  hcl_report: z.string().min(1).max(b64Limit(MAX_HCL_REPORT_BYTES)),
};

const AzSnpSchema = z.strictObject({ ...common, vcek: z.string().min(1).max(65536) });
const AzTdxSchema = z.strictObject({ ...common, td_quote: z.string().min(1).max(b64Limit(MAX_QUOTE_BYTES)) });

export interface DecodedAzureEvidence {
  hclReport: Uint8Array;
  tpm: { signature: Uint8Array; message: Uint8Array; pcrs: PcrValues };
  /** az-snp: the VCEK (or VLEK) DER as supplied. */
  vcek?: Uint8Array;
  /** az-tdx: the TD quote. */
  tdQuote?: Uint8Array;
}

function describe(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => (i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : `${i.path.length ? i.path.join('.') : '(evidence)'}: ${i.message}`))
    .join('; ');
}

function b64(s: string, what: string): Uint8Array {
  // PEM is accepted too; only the first block counts (the leaf; intermediates are never trusted from evidence).
  const pem = /-----BEGIN [A-Z ]+-----([^-]*)-----END [A-Z ]+-----/.exec(s);
  if (s.includes('-----BEGIN') && !pem) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what} is malformed PEM`);
  const body = pem ? pem[1]! : s;
  try {
    return fromBase64(body, what);
  } catch {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what} is not valid base64`);
  }
}

/** Validates and decodes `envelope.evidence` for az-snp / az-tdx. Throws ATTEST_EVIDENCE_INVALID. */
export function decodeAzureEvidence(tag: 'az-snp' | 'az-tdx', evidence: unknown): DecodedAzureEvidence {
  const schema = tag === 'az-snp' ? AzSnpSchema : AzTdxSchema;
  const r = schema.safeParse(evidence);
  if (!r.success) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${tag} evidence is malformed: ${describe(r.error)}`);
  const ev = r.data as z.infer<typeof AzSnpSchema> & z.infer<typeof AzTdxSchema>;
  const out: DecodedAzureEvidence = {
    hclReport: b64(ev.hcl_report, 'evidence.hcl_report'),
    tpm: {
      signature: fromHex(ev.tpm_quote.signature, 'evidence.tpm_quote.signature'),
      message: fromHex(ev.tpm_quote.message, 'evidence.tpm_quote.message'),
      pcrs: ev.tpm_quote.pcrs.map((p, i) => fromHex(p, `evidence.tpm_quote.pcrs[${i}]`)),
    },
  };
  if (tag === 'az-snp') out.vcek = b64(ev.vcek, 'evidence.vcek');
  else out.tdQuote = b64(ev.td_quote, 'evidence.td_quote');
  return out;
}
