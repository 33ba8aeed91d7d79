/**
 * @module report-data
 * How veritee binds a key and a nonce into TEE evidence. Every package that asks a TEE
 * for evidence, and every verifier that checks it, computes the binding here, so the
 * two sides cannot drift apart.
 *
 * DEFINITION (veritee.report-data/v1):
 *
 *   report_data (64 bytes) = SHA-512( "veritee.report-data/v1" || 0x00 || pkh || nonce )
 *
 *   - "veritee.report-data/v1": the 22 ASCII bytes of the domain tag, then one 0x00 byte;
 *   - pkh: 32 bytes, SHA-256 of the enclave public key's DER SubjectPublicKeyInfo
 *     ({@link publicKeyHash}); 32 zero bytes when no key is bound;
 *   - nonce: 32 bytes chosen by the verifier (e.g. `POST /v1/nonce`); 32 zero bytes when
 *     no nonce is bound.
 *
 * SEV-SNP REPORT_DATA and TDX REPORTDATA carry all 64 bytes. NVIDIA's SPDM nonce has
 * 32 bytes: it carries the first 32 bytes of the same digest ({@link computeSpdmNonce}).
 *
 * INVARIANT: the zero placeholders never satisfy a policy that requires the component;
 * the policy check (`policy.report_data`) demands the caller supply every required part.
 * Browser-safe: no node: imports.
 */
import { concatBytes, sha256, sha512, utf8, VeriteeError } from '@veritee/core';

/** Domain-separation tag of the report-data binding. */
export const REPORT_DATA_DOMAIN = 'veritee.report-data/v1';
/** Size of a veritee nonce and of a public-key hash, in bytes. */
export const BINDING_PART_BYTES = 32;
/** Size of SNP/TDX report data. */
export const REPORT_DATA_BYTES = 64;

export interface ReportDataInputs {
  /** SHA-256 of the enclave public key's SubjectPublicKeyInfo DER (32 bytes). */
  publicKeyHash?: Uint8Array;
  /** Verifier-chosen nonce (32 bytes). */
  nonce?: Uint8Array;
}

function part(value: Uint8Array | undefined, what: string): Uint8Array {
  if (value === undefined) return new Uint8Array(BINDING_PART_BYTES);
  if (!(value instanceof Uint8Array) || value.length !== BINDING_PART_BYTES) {
    const len = value instanceof Uint8Array ? value.length : typeof value;
    throw new VeriteeError('INPUT_INVALID', `${what} must be ${BINDING_PART_BYTES} bytes (got ${String(len)})`);
  }
  return value;
}

/**
 * The 64 bytes of report data that bind `publicKeyHash` and `nonce` (see the module doc).
 *
 * @example
 * const reportData = computeReportData({ publicKeyHash: publicKeyHash(spkiDer), nonce });
 */
export function computeReportData(inputs: ReportDataInputs): Uint8Array {
  return sha512(
    concatBytes(
      utf8(REPORT_DATA_DOMAIN),
      new Uint8Array([0]),
      part(inputs.publicKeyHash, 'publicKeyHash'),
      part(inputs.nonce, 'nonce'),
    ),
  );
}

/** NVIDIA SPDM nonce (32 bytes): the first half of {@link computeReportData}. */
export function computeSpdmNonce(inputs: ReportDataInputs): Uint8Array {
  return computeReportData(inputs).slice(0, BINDING_PART_BYTES);
}

/** SHA-256 of a DER SubjectPublicKeyInfo: the `publicKeyHash` of the binding. */
export function publicKeyHash(spkiDer: Uint8Array): Uint8Array {
  return sha256(spkiDer);
}
