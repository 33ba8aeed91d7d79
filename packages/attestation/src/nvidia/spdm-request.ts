/**
 * @module nvidia/spdm-request
 * The SPDM 1.1 GET_MEASUREMENTS request (DMTF DSP0274 1.1, section 10.11) that opens an
 * NVIDIA GPU attestation report. Its length is fixed by its own fields, which is how the
 * verifier finds where the response starts in `request || response`.
 *
 * Layout (little-endian where multi-byte):
 *
 *   offset  size  field
 *   0       1     SPDMVersion            0x11 = SPDM 1.1 (the only version accepted)
 *   1       1     RequestResponseCode    0xE0 = GET_MEASUREMENTS
 *   2       1     Param1                 bit 0 = signature requested (must be set)
 *   3       1     Param2                 measurement operation: 0 = count, 1..0xFE = one index, 0xFF = all
 *   4       32    Nonce                  requester's fresh nonce (present when bit 0 of Param1 is set)
 *   36      1     SlotIDParam            bits 3:0 = certificate slot (present when bit 0 of Param1 is set)
 *   37            end of request
 *
 * INVARIANT: the parser reads only inside `bytes` and throws VeriteeError (never a
 * RangeError) naming the field that is missing or wrong.
 */
import { VeriteeError } from '@veritee/core';

export const SPDM_VERSION_1_1 = 0x11;
export const SPDM_GET_MEASUREMENTS = 0xe0;
export const SPDM_NONCE_SIZE = 32;
/** Param1 bit 0: the responder must sign the MEASUREMENTS response. */
export const SPDM_MEASUREMENTS_SIGNATURE_REQUESTED = 0x01;
/** Length of a signed GET_MEASUREMENTS request in SPDM 1.1. */
export const SPDM_SIGNED_REQUEST_LENGTH = 4 + SPDM_NONCE_SIZE + 1;

/** Field offsets inside the request, for tests and error messages. */
export const SPDM_REQUEST_LAYOUT = {
  version: 0,
  code: 1,
  param1: 2,
  param2: 3,
  nonce: 4,
  slot: 36,
  end: 37,
} as const;

export interface SpdmGetMeasurementsRequest {
  /** Raw SPDMVersion byte (0x11). */
  version: number;
  /** Request code, always 0xE0. */
  code: number;
  param1: number;
  /** Measurement operation: 0 = total count only, 1..0xFE = that index, 0xFF = all blocks. */
  param2: number;
  signatureRequested: boolean;
  /** Requester nonce (32 bytes): what `expectedNonce` is compared with. */
  nonce: Uint8Array;
  /** SlotIDParam byte; the slot is bits 3:0. */
  slotIdParam: number;
  slotId: number;
  /** Bytes the request occupies (37 for a signed SPDM 1.1 request). */
  length: number;
}

/** Human form of an SPDM version byte: 0x11 -> "1.1". */
export function spdmVersionString(v: number): string {
  return `${v >> 4}.${v & 0x0f}`;
}

function truncated(field: string, offset: number, need: number, have: number): VeriteeError {
  return new VeriteeError(
    'ATTEST_REPORT_TRUNCATED',
    `SPDM GET_MEASUREMENTS request: ${field} at offset ${offset} needs ${need} byte(s), only ${Math.max(0, have - offset)} left`,
    { field, offset, need, have },
  );
}

/**
 * Parses the GET_MEASUREMENTS request at the start of `bytes` (anything after it is the
 * response and is ignored here). Accepts SPDM 1.1 requests that ask for a signature.
 */
export function parseSpdmRequest(bytes: Uint8Array): SpdmGetMeasurementsRequest {
  const L = SPDM_REQUEST_LAYOUT;
  if (bytes.length < L.version + 1) throw truncated('SPDMVersion', L.version, 1, bytes.length);
  const version = bytes[L.version]!;
  if (version !== SPDM_VERSION_1_1) {
    throw new VeriteeError(
      'ATTEST_REPORT_VERSION',
      `SPDM GET_MEASUREMENTS request: SPDM version 0x${version.toString(16).padStart(2, '0')} is not supported (only 0x11 = SPDM 1.1, whose signature covers request || response)`,
      { version },
    );
  }
  if (bytes.length < L.code + 1) throw truncated('RequestResponseCode', L.code, 1, bytes.length);
  const code = bytes[L.code]!;
  if (code !== SPDM_GET_MEASUREMENTS) {
    throw new VeriteeError(
      'ATTEST_EVIDENCE_INVALID',
      `SPDM GET_MEASUREMENTS request: request code is 0x${code.toString(16).padStart(2, '0')}, expected 0xe0`,
      { code },
    );
  }
  if (bytes.length < L.param1 + 1) throw truncated('Param1', L.param1, 1, bytes.length);
  const param1 = bytes[L.param1]!;
  const signatureRequested = (param1 & SPDM_MEASUREMENTS_SIGNATURE_REQUESTED) !== 0;
  if (!signatureRequested) {
    throw new VeriteeError(
      'ATTEST_EVIDENCE_INVALID',
      `SPDM GET_MEASUREMENTS request: Param1 0x${param1.toString(16).padStart(2, '0')} does not request a signature; unsigned measurements cannot be verified`,
      { param1 },
    );
  }
  if (bytes.length < L.param2 + 1) throw truncated('Param2', L.param2, 1, bytes.length);
  const param2 = bytes[L.param2]!;
  if (bytes.length < L.nonce + SPDM_NONCE_SIZE) throw truncated('Nonce', L.nonce, SPDM_NONCE_SIZE, bytes.length);
  const nonce = bytes.slice(L.nonce, L.nonce + SPDM_NONCE_SIZE);
  if (bytes.length < L.slot + 1) throw truncated('SlotIDParam', L.slot, 1, bytes.length);
  const slotIdParam = bytes[L.slot]!;
  return {
    version,
    code,
    param1,
    param2,
    signatureRequested,
    nonce,
    slotIdParam,
    slotId: slotIdParam & 0x0f,
    length: L.end,
  };
}

/** Serialises a signed SPDM 1.1 GET_MEASUREMENTS request (used by the simulated GPU). */
export function encodeSpdmRequest(req: { nonce: Uint8Array; param2?: number; slotId?: number }): Uint8Array {
  if (req.nonce.length !== SPDM_NONCE_SIZE) {
    throw new VeriteeError('INPUT_INVALID', `SPDM nonce must be ${SPDM_NONCE_SIZE} bytes, got ${req.nonce.length}`);
  }
  const out = new Uint8Array(SPDM_SIGNED_REQUEST_LENGTH);
  out[0] = SPDM_VERSION_1_1;
  out[1] = SPDM_GET_MEASUREMENTS;
  out[2] = SPDM_MEASUREMENTS_SIGNATURE_REQUESTED;
  out[3] = req.param2 ?? 0xff;
  out.set(req.nonce, 4);
  out[36] = (req.slotId ?? 0) & 0x0f;
  return out;
}
