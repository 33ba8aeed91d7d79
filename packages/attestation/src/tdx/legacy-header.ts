/**
 * @module tdx/legacy-header
 * Reads, read-only, the legacy `Attestation-Report` header of an existing TEE proxy:
 * base64(gzip(raw TDX quote)), without collateral. The result is an ordinary TDX envelope;
 * verifying it without collateral fails `tdx.collateral` ("unverified: collateral missing").
 *
 * THREAT MODEL: the header is attacker-controlled. INVARIANT: the header text is length-capped
 * before decoding and gunzip runs with `maxOutputLength`, so a zip bomb stops at
 * {@link MAX_LEGACY_QUOTE_BYTES} instead of exhausting memory.
 */
import { gunzipSync } from 'node:zlib';
import { fromBase64, VeriteeError } from '@veritee/core';
import { MAX_QUOTE_BYTES } from '../dcap/quote.js';
import type { EvidenceEnvelope } from '../types.js';
import { tdxEnvelope } from './evidence.js';
import { parseTdxQuote } from './parse.js';

/** Largest decompressed quote accepted. */
export const MAX_LEGACY_QUOTE_BYTES = MAX_QUOTE_BYTES;
/** Largest header value accepted (base64 of the compressed quote). */
export const MAX_LEGACY_HEADER_CHARS = 128 * 1024;

/** Decodes a legacy header value into `{ platform: 'tdx', evidence: { quote } }`. Throws VeriteeError. */
export function parseLegacyAttestationHeader(value: string): EvidenceEnvelope {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'Attestation-Report header is empty');
  }
  if (value.length > MAX_LEGACY_HEADER_CHARS) {
    throw new VeriteeError('INPUT_TOO_LARGE', `Attestation-Report header is ${value.length} characters; the limit is ${MAX_LEGACY_HEADER_CHARS}`);
  }
  const gz = fromBase64(value.trim(), 'Attestation-Report header');
  if (gz.length < 2 || gz[0] !== 0x1f || gz[1] !== 0x8b) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'Attestation-Report header is not base64 of gzip data (no gzip magic)');
  }
  let quote: Uint8Array;
  try {
    quote = new Uint8Array(gunzipSync(gz, { maxOutputLength: MAX_LEGACY_QUOTE_BYTES }));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new VeriteeError('INPUT_TOO_LARGE', `Attestation-Report header decompresses to more than ${MAX_LEGACY_QUOTE_BYTES} bytes`, undefined, { cause: e });
    }
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `Attestation-Report header is not valid gzip: ${(e as Error).message}`, undefined, { cause: e });
  }
  parseTdxQuote(quote); // layout check: throws a VeriteeError naming the bad field
  return tdxEnvelope(quote);
}
