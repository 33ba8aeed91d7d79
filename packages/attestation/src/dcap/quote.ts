/**
 * @module dcap/quote
 * Intel DCAP quote layout, versions 4 and 5 (ECDSA-256 with P-256 attestation key).
 *
 * ```
 * v4: header(48) | body(584, TD 1.0)                        | sigLen(4) | signature data | trailing?
 * v5: header(48) | bodyType(2) bodySize(4) | body(584 | 648) | sigLen(4) | signature data | trailing?
 *
 * header: 0 version u16 | 2 attestationKeyType u16 | 4 teeType u32 | 8 reserved/qeSvn u16 |
 *         10 reserved/pceSvn u16 | 12 qeVendorId[16] | 28 userData[20]
 * signature data (ECDSA-256):
 *   0 quoteSignature[64] (r||s) | 64 attestationKey[64] (x||y) |
 *   128 certDataType u16 (= 6) | 130 certDataSize u32 | 134 QE report certification data:
 *     0 qeReport[384] | 384 qeReportSignature[64] | 448 qeAuthDataSize u16 | 450 qeAuthData |
 *     certDataType u16 (= 5, PCK chain PEM) | certDataSize u32 | certData
 * ```
 * The quote signature covers header || (v5 body descriptor) || body.
 *
 * THREAT MODEL: the quote is attacker-controlled. INVARIANT: every length field is checked
 * against the bytes actually present before use; the input size is capped; bytes after the
 * signature data are tolerated (real quotes carry padding) but recorded, never signed over.
 */
import { VeriteeError } from '@veritee/core';

export const MAX_QUOTE_BYTES = 64 * 1024;
export const HEADER_LEN = 48;
export const TD10_BODY_LEN = 584;
export const TD15_BODY_LEN = 648;
export const SGX_REPORT_LEN = 384;
export const BODY_DESCRIPTOR_LEN = 6;
export const TEE_TYPE_TDX = 0x81;
export const TEE_TYPE_SGX = 0x00;
export const ATT_KEY_ECDSA_P256 = 2;
export const CERT_DATA_QE_REPORT = 6;
export const CERT_DATA_PCK_CHAIN = 5;
export const BODY_TYPE_SGX = 1;
export const BODY_TYPE_TD10 = 2;
export const BODY_TYPE_TD15 = 3;
/** Intel's QE vendor ID 939A7233-F79C-4CA9-940A-0DB3957F0607. */
export const INTEL_QE_VENDOR_ID = Uint8Array.from([0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07]);

export interface QuoteHeader {
  version: number;
  attestationKeyType: number;
  teeType: number;
  /** v3: QE SVN; v4/v5: reserved. */
  qeSvn: number;
  /** v3: PCE SVN; v4/v5: reserved. */
  pceSvn: number;
  qeVendorId: Uint8Array;
  userData: Uint8Array;
}

/** SGX enclave report (the QE's report), 384 bytes. */
export interface EnclaveReport {
  raw: Uint8Array;
  cpuSvn: Uint8Array;
  miscSelect: number;
  attributes: Uint8Array;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  reportData: Uint8Array;
}

export interface QuoteSignatureData {
  /** ECDSA P-256 signature r||s over the signed part of the quote. */
  quoteSignature: Uint8Array;
  /** Attestation public key x||y. */
  attestationKey: Uint8Array;
  qeReport: EnclaveReport;
  /** ECDSA P-256 signature r||s by the PCK over the QE report. */
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** Inner certification data type (5 = PCK certificate chain, PEM). */
  certDataType: number;
  certData: Uint8Array;
}

export interface DcapQuote {
  /** The quote as received (including any trailing bytes). */
  raw: Uint8Array;
  header: QuoteHeader;
  /** 1 SGX, 2 TD 1.0, 3 TD 1.5 (v4 TDX quotes are always 2). */
  bodyType: number;
  body: Uint8Array;
  /** header || [body descriptor] || body: what the attestation key signed. */
  signedBytes: Uint8Array;
  signature: QuoteSignatureData;
  /** Bytes after the signature data (tolerated, not covered by any signature). */
  trailingBytes: number;
}

class Reader {
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
    public off = 0,
    private readonly limit = buf.length,
  ) {}

  need(n: number, field: string): void {
    if (this.off + n > this.limit) {
      throw new VeriteeError(
        'ATTEST_REPORT_TRUNCATED',
        `${this.what} is truncated: ${field} needs ${n} bytes at offset ${this.off}, only ${Math.max(0, this.limit - this.off)} remain`,
        { offset: this.off, field, needed: n },
      );
    }
  }

  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }

  u16(field: string): number {
    const b = this.bytes(2, field);
    return b[0]! | (b[1]! << 8);
  }

  u32(field: string): number {
    const b = this.bytes(4, field);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
}

export function parseEnclaveReport(raw: Uint8Array, what = 'QE report'): EnclaveReport {
  if (raw.length !== SGX_REPORT_LEN) {
    throw new VeriteeError('ATTEST_REPORT_TRUNCATED', `${what} must be ${SGX_REPORT_LEN} bytes, got ${raw.length}`);
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return {
    raw,
    cpuSvn: raw.subarray(0, 16),
    miscSelect: dv.getUint32(16, true),
    attributes: raw.subarray(48, 64),
    mrEnclave: raw.subarray(64, 96),
    mrSigner: raw.subarray(128, 160),
    isvProdId: dv.getUint16(256, true),
    isvSvn: dv.getUint16(258, true),
    reportData: raw.subarray(320, 384),
  };
}

/**
 * Parses a DCAP quote v4 or v5 with an ECDSA-256 attestation key and a QE report
 * certification data block. Throws VeriteeError: INPUT_TOO_LARGE, ATTEST_REPORT_TRUNCATED
 * (naming the field and offset), ATTEST_REPORT_VERSION, ATTEST_EVIDENCE_INVALID.
 */
export function parseDcapQuote(raw: Uint8Array, what = 'DCAP quote'): DcapQuote {
  if (raw.length > MAX_QUOTE_BYTES) {
    throw new VeriteeError('INPUT_TOO_LARGE', `${what} is ${raw.length} bytes; the limit is ${MAX_QUOTE_BYTES}`, { size: raw.length, limit: MAX_QUOTE_BYTES });
  }
  const r = new Reader(raw, what);
  // 0..48: header
  r.need(HEADER_LEN, 'header');
  const header: QuoteHeader = {
    version: r.u16('header.version'),
    attestationKeyType: r.u16('header.attestation_key_type'),
    teeType: r.u32('header.tee_type'),
    qeSvn: r.u16('header.qe_svn'),
    pceSvn: r.u16('header.pce_svn'),
    qeVendorId: r.bytes(16, 'header.qe_vendor_id'),
    userData: r.bytes(20, 'header.user_data'),
  };
  if (header.version !== 4 && header.version !== 5) {
    throw new VeriteeError('ATTEST_REPORT_VERSION', `${what} version ${header.version} is not supported (expected 4 or 5)`, { version: header.version });
  }
  if (header.attestationKeyType !== ATT_KEY_ECDSA_P256) {
    throw new VeriteeError('ATTEST_REPORT_VERSION', `${what} attestation key type ${header.attestationKeyType} is not supported (expected 2, ECDSA-256 with P-256)`);
  }
  let bodyType: number;
  let bodyLen: number;
  if (header.version === 4) {
    // 48..632: TD 1.0 body (or 48..432 SGX enclave report)
    if (header.teeType === TEE_TYPE_TDX) [bodyType, bodyLen] = [BODY_TYPE_TD10, TD10_BODY_LEN];
    else if (header.teeType === TEE_TYPE_SGX) [bodyType, bodyLen] = [BODY_TYPE_SGX, SGX_REPORT_LEN];
    else throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what} TEE type 0x${header.teeType.toString(16)} is unknown`);
  } else {
    // 48..54: body descriptor, then the body
    bodyType = r.u16('body.type');
    bodyLen = r.u32('body.size');
    const expected = bodyType === BODY_TYPE_TD10 ? TD10_BODY_LEN : bodyType === BODY_TYPE_TD15 ? TD15_BODY_LEN : bodyType === BODY_TYPE_SGX ? SGX_REPORT_LEN : -1;
    if (expected < 0) throw new VeriteeError('ATTEST_REPORT_VERSION', `${what} body type ${bodyType} is not supported (expected 1, 2 or 3)`);
    if (bodyLen !== expected) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what} body type ${bodyType} must be ${expected} bytes, header says ${bodyLen}`);
    const sgxBody = bodyType === BODY_TYPE_SGX;
    if (sgxBody !== (header.teeType === TEE_TYPE_SGX) || (!sgxBody && header.teeType !== TEE_TYPE_TDX)) {
      throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what} body type ${bodyType} does not match TEE type 0x${header.teeType.toString(16)}`);
    }
  }
  const body = r.bytes(bodyLen, 'body');
  const signedBytes = raw.subarray(0, r.off);
  // signature data
  const sigLen = r.u32('signature_data_len');
  r.need(sigLen, 'signature_data');
  const sigEnd = r.off + sigLen;
  const s = new Reader(raw, what, r.off, sigEnd);
  const quoteSignature = s.bytes(64, 'signature_data.quote_signature');
  const attestationKey = s.bytes(64, 'signature_data.attestation_key');
  const outerType = s.u16('signature_data.certification_data_type');
  if (outerType !== CERT_DATA_QE_REPORT) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what} certification data type ${outerType} is not supported (expected 6, QE report certification data)`);
  }
  const outerSize = s.u32('signature_data.certification_data_size');
  s.need(outerSize, 'signature_data.certification_data');
  const q = new Reader(raw, what, s.off, s.off + outerSize);
  const qeReport = parseEnclaveReport(q.bytes(SGX_REPORT_LEN, 'qe_report'));
  const qeReportSignature = q.bytes(64, 'qe_report_signature');
  const authLen = q.u16('qe_auth_data_size');
  const qeAuthData = q.bytes(authLen, 'qe_auth_data');
  const certDataType = q.u16('pck_certification_data_type');
  const certLen = q.u32('pck_certification_data_size');
  const certData = q.bytes(certLen, 'pck_certification_data');
  return {
    raw,
    header,
    bodyType,
    body,
    signedBytes,
    signature: { quoteSignature, attestationKey, qeReport, qeReportSignature, qeAuthData, certDataType, certData },
    trailingBytes: raw.length - sigEnd,
  };
}
