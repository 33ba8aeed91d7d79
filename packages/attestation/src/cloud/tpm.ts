/**
 * @module cloud/tpm
 * TPM 2.0 quotes (TPM 2.0 Library, Part 2: Structures): the TPMS_ATTEST a vTPM signs with
 * its attestation key, the TPMT_SIGNATURE over it, and the PCR digest it commits to.
 *
 *   TPMS_ATTEST (big-endian): magic u32 = TPM_GENERATED_VALUE 0xFF544347,
 *     type u16 = TPM_ST_ATTEST_QUOTE 0x8018, qualifiedSigner TPM2B_NAME,
 *     extraData TPM2B_DATA (the caller's nonce, at most 64 bytes),
 *     clockInfo (clock u64, resetCount u32, restartCount u32, safe u8), firmwareVersion u64,
 *     attested TPMS_QUOTE_INFO: pcrSelect TPML_PCR_SELECTION (count u32, then per bank
 *     hash u16, sizeofSelect u8, pcrSelect[sizeofSelect], bit i of byte j = PCR 8j+i),
 *     pcrDigest TPM2B_DIGEST = H(the selected PCR values, bank by bank, in ascending PCR order)
 *   TPMT_SIGNATURE: sigAlg u16 (TPM_ALG_RSASSA 0x0014 | TPM_ALG_RSAPSS 0x0016),
 *     hash u16 (TPM_ALG_SHA256 0x000B), TPM2B_PUBLIC_KEY_RSA signature
 *
 * Azure's az-cvm-vtpm (and so attestation-rs) ship only the bare RSASSA signature bytes;
 * both forms are accepted: a signature exactly as long as the AK modulus is RSASSA-PKCS1-v1_5
 * with SHA-256, anything else must be a complete TPMT_SIGNATURE.
 *
 * THREAT MODEL: the quote, the signature and the PCR values are attacker-supplied; only the
 * AK (vouched for by the hardware report, see hcl.ts) is trusted. Every length field is
 * bounded by the bytes present and the structure must end exactly where the data ends.
 * Only the SHA-256 bank is supported (the PCR values are supplied for it alone); a quote
 * selecting another bank is refused rather than half-checked.
 */
import { createHash, constants as cryptoConstants, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { bytesEqual, toHex, VeriteeError } from '@veritee/core';

export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = 0x8018;
export const TPM_ALG_SHA256 = 0x000b;
export const TPM_ALG_RSASSA = 0x0014;
export const TPM_ALG_RSAPSS = 0x0016;
/** Largest TPMS_ATTEST accepted (real quotes are ~140 bytes). */
export const MAX_TPM_ATTEST_BYTES = 4096;
/** TPM2B_DATA holds at most the largest digest, 64 bytes. */
export const MAX_EXTRA_DATA_BYTES = 64;
export const PCR_COUNT = 24;

export interface PcrSelection {
  hash: number;
  /** Selected PCR indices, ascending. */
  pcrs: number[];
}

export interface TpmsAttestQuote {
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: boolean;
  firmwareVersion: Uint8Array;
  selections: PcrSelection[];
  pcrDigest: Uint8Array;
}

function malformed(msg: string, truncated = false): VeriteeError {
  return new VeriteeError(truncated ? 'ATTEST_REPORT_TRUNCATED' : 'ATTEST_EVIDENCE_INVALID', `TPM quote: ${msg}`);
}

class Reader {
  off = 0;
  constructor(private readonly b: Uint8Array) {}
  private need(n: number, what: string): void {
    if (this.off + n > this.b.length) throw malformed(`truncated at ${what} (needs ${n} byte(s) at offset ${this.off}, ${this.b.length - this.off} left)`, true);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.off++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.b[this.off]! << 8) | this.b[this.off + 1]!;
    this.off += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = ((this.b[this.off]! << 24) >>> 0) + (this.b[this.off + 1]! << 16) + (this.b[this.off + 2]! << 8) + this.b[this.off + 3]!;
    this.off += 4;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.b.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }
  tpm2b(what: string, max: number): Uint8Array {
    const n = this.u16(`${what} size`);
    if (n > max) throw malformed(`${what} is ${n} bytes; at most ${max} are allowed`);
    return this.bytes(n, what);
  }
  get left(): number {
    return this.b.length - this.off;
  }
}

/** Parses a TPMS_ATTEST that must be a quote. Throws ATTEST_EVIDENCE_INVALID / ATTEST_REPORT_TRUNCATED. */
export function parseTpmsAttestQuote(msg: Uint8Array): TpmsAttestQuote {
  if (msg.length > MAX_TPM_ATTEST_BYTES) throw malformed(`message is ${msg.length} bytes, over the ${MAX_TPM_ATTEST_BYTES}-byte limit`);
  const r = new Reader(msg);
  const magic = r.u32('magic');
  if (magic !== TPM_GENERATED_VALUE) throw malformed(`magic is 0x${magic.toString(16).padStart(8, '0')}, not TPM_GENERATED_VALUE 0xff544347 (not produced by a TPM)`);
  const type = r.u16('type');
  if (type !== TPM_ST_ATTEST_QUOTE) throw malformed(`type is 0x${type.toString(16)}, not TPM_ST_ATTEST_QUOTE 0x8018`);
  const qualifiedSigner = r.tpm2b('qualifiedSigner', 2 + 64);
  const extraData = r.tpm2b('extraData', MAX_EXTRA_DATA_BYTES);
  const hi = BigInt(r.u32('clock'));
  const clock = (hi << 32n) | BigInt(r.u32('clock'));
  const resetCount = r.u32('resetCount');
  const restartCount = r.u32('restartCount');
  const safeByte = r.u8('safe');
  if (safeByte > 1) throw malformed(`clockInfo.safe is ${safeByte}, not 0 or 1`);
  const firmwareVersion = r.bytes(8, 'firmwareVersion');
  const count = r.u32('pcrSelect count');
  if (count === 0 || count > 16) throw malformed(`pcrSelect has ${count} banks; 1 to 16 expected`);
  const selections: PcrSelection[] = [];
  for (let s = 0; s < count; s++) {
    const hash = r.u16(`pcrSelect[${s}].hash`);
    const size = r.u8(`pcrSelect[${s}].sizeofSelect`);
    if (size > 4) throw malformed(`pcrSelect[${s}].sizeofSelect is ${size}; at most 4 (32 PCRs) expected`);
    const bitmap = r.bytes(size, `pcrSelect[${s}].pcrSelect`);
    const pcrs: number[] = [];
    bitmap.forEach((byte, j) => {
      for (let i = 0; i < 8; i++) if (byte & (1 << i)) pcrs.push(j * 8 + i);
    });
    selections.push({ hash, pcrs });
  }
  const pcrDigest = r.tpm2b('pcrDigest', 64);
  if (r.left !== 0) throw malformed(`${r.left} byte(s) after the end of TPMS_ATTEST`);
  return { qualifiedSigner, extraData, clock, resetCount, restartCount, safe: safeByte === 1, firmwareVersion, selections, pcrDigest };
}

export interface TpmSignature {
  scheme: 'rsassa' | 'rsapss';
  /** How it was supplied: a bare RSASSA signature, or a TPMT_SIGNATURE. */
  form: 'raw' | 'tpmt';
  signature: Uint8Array;
}

/**
 * Reads the quote signature: bare RSASSA bytes exactly as long as the modulus, or a
 * complete TPMT_SIGNATURE (RSASSA or RSAPSS, SHA-256). Throws ATTEST_EVIDENCE_INVALID.
 */
export function parseTpmSignature(sig: Uint8Array, modulusBytes: number): TpmSignature {
  if (sig.length === modulusBytes) return { scheme: 'rsassa', form: 'raw', signature: sig };
  const r = new Reader(sig);
  let alg: number;
  let hash: number;
  let body: Uint8Array;
  try {
    alg = r.u16('sigAlg');
    hash = r.u16('hash');
    body = r.tpm2b('signature', 1024);
  } catch {
    throw malformed(`signature is ${sig.length} bytes: neither a ${modulusBytes}-byte RSA signature nor a TPMT_SIGNATURE`);
  }
  if (r.left !== 0) throw malformed(`signature is ${sig.length} bytes: neither a ${modulusBytes}-byte RSA signature nor a TPMT_SIGNATURE (${r.left} byte(s) after its end)`);
  if (alg !== TPM_ALG_RSASSA && alg !== TPM_ALG_RSAPSS) throw malformed(`TPMT_SIGNATURE sigAlg is 0x${alg.toString(16)}; only RSASSA (0x14) and RSAPSS (0x16) are supported`);
  if (hash !== TPM_ALG_SHA256) throw malformed(`TPMT_SIGNATURE hash is 0x${hash.toString(16)}; only SHA-256 (0xb) is supported`);
  if (body.length !== modulusBytes) throw malformed(`TPMT_SIGNATURE holds ${body.length} signature bytes; the AK modulus is ${modulusBytes} bytes`);
  return { scheme: alg === TPM_ALG_RSASSA ? 'rsassa' : 'rsapss', form: 'tpmt', signature: body };
}

/** Verifies the AK's signature over the TPMS_ATTEST bytes (SHA-256). */
export function verifyTpmSignature(message: Uint8Array, sig: TpmSignature, ak: KeyObject): boolean {
  const key =
    sig.scheme === 'rsassa'
      ? { key: ak, padding: cryptoConstants.RSA_PKCS1_PADDING }
      : { key: ak, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_AUTO };
  try {
    return cryptoVerify('sha256', message, key, sig.signature);
  } catch {
    return false;
  }
}

/** PCR values as supplied (index = PCR number, SHA-256 bank). */
export type PcrValues = readonly (Uint8Array | undefined)[];

export interface PcrDigestOutcome {
  ok: boolean;
  detail: string;
  code?: 'ATTEST_PCR_MISMATCH' | 'ATTEST_EVIDENCE_INVALID';
  /** The PCRs the quote covers, when the digest matched. */
  covered?: Record<string, string>;
}

/** pcrDigest = SHA-256 of the selected PCR values, in ascending order (SHA-256 bank only). */
export function checkPcrDigest(q: TpmsAttestQuote, pcrs: PcrValues): PcrDigestOutcome {
  const banks = q.selections.filter((s) => s.pcrs.length > 0);
  const other = banks.find((s) => s.hash !== TPM_ALG_SHA256);
  if (other) return { ok: false, code: 'ATTEST_EVIDENCE_INVALID', detail: `the quote selects PCRs of hash bank 0x${other.hash.toString(16)}; only the SHA-256 bank (0xb) is supported` };
  if (banks.length !== 1) return { ok: false, code: 'ATTEST_EVIDENCE_INVALID', detail: `the quote selects ${banks.length} SHA-256 bank entries; exactly one is expected` };
  const selected = banks[0]!.pcrs;
  const missing = selected.filter((i) => pcrs[i] === undefined);
  if (missing.length) return { ok: false, code: 'ATTEST_PCR_MISMATCH', detail: `the quote covers PCR ${missing.join(', ')} but no value was supplied for ${missing.length > 1 ? 'them' : 'it'}` };
  if (q.pcrDigest.length !== 32) return { ok: false, code: 'ATTEST_EVIDENCE_INVALID', detail: `pcrDigest is ${q.pcrDigest.length} bytes, not 32 (SHA-256)` };
  const h = createHash('sha256');
  for (const i of selected) h.update(pcrs[i]!);
  const digest = new Uint8Array(h.digest());
  const range = describeSelection(selected);
  if (!bytesEqual(digest, q.pcrDigest)) {
    return {
      ok: false,
      code: 'ATTEST_PCR_MISMATCH',
      detail: `quoted pcrDigest ${toHex(q.pcrDigest).slice(0, 16)}… is not SHA-256 of the supplied values of PCR ${range} (${toHex(digest).slice(0, 16)}…): a supplied PCR value was changed`,
    };
  }
  const covered: Record<string, string> = {};
  for (const i of selected) covered[String(i)] = toHex(pcrs[i]!);
  return { ok: true, covered, detail: `pcrDigest is SHA-256 of the supplied values of PCR ${range} (SHA-256 bank)` };
}

/** "0-23" / "0-7, 14". */
export function describeSelection(pcrs: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < pcrs.length; ) {
    let j = i;
    while (j + 1 < pcrs.length && pcrs[j + 1] === pcrs[j]! + 1) j++;
    parts.push(i === j ? `${pcrs[i]}` : `${pcrs[i]}-${pcrs[j]}`);
    i = j + 1;
  }
  return parts.join(', ') || '(none)';
}
