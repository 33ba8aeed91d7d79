/**
 * @module cloud/hcl
 * Azure's HCL (paravisor) attestation report, as read from vTPM NV index 0x01400001 on an
 * Azure confidential VM:
 *
 *   0x000  attestation header, 32 bytes: "HCLA", version u32, report size u32,
 *          request type u32, status u32, 12 reserved bytes (all little-endian)
 *   0x020  hardware report, 1184 bytes: the SEV-SNP report (0x4A0 bytes), or the 1024-byte
 *          TDX TD report followed by 160 zero bytes
 *   0x4C0  IGVM request data header, 20 bytes: data size u32 (= 20 + runtime-claims size),
 *          version u32, report type u32 (2 = SNP, 4 = TDX), report-data hash type u32
 *          (1 = SHA-256), runtime-claims size u32
 *   0x4D4  runtime claims: JSON `{"keys":[{"kid":"HCLAkPub","kty":"RSA","n":..,"e":..},..],
 *          "vm-configuration":{..},"user-data":".."}`
 *   ...    zero padding to the NV index size (2600 bytes on current Azure VMs)
 *
 * The hardware report's REPORT_DATA is SHA-256(runtime claims) followed by 32 zero bytes:
 * that is how the hardware vouches for the vTPM's attestation key (AK, `kid` "HCLAkPub").
 * Layout learnt from Microsoft's az-cvm-vtpm crate and attestation-rs (read, not copied)
 * and confirmed on real az-snp and az-tdx reports (test/fixtures/azure).
 *
 * THREAT MODEL: every byte comes from the guest. The header's sizes must agree with each
 * other and with the bytes present; the padding after the runtime claims must be zero
 * (unsigned bytes may not vary); the runtime claims are parsed as strict JSON (a duplicate
 * key is refused, so two `keys` members cannot show two readers two different AKs).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { fromBase64, parseJsonStrict, quoteInput, VeriteeError } from '@veritee/core';

export const HCL_HEADER_BYTES = 0x20;
export const HCL_HW_REPORT_BYTES = 1184;
export const IGVM_REQUEST_HEADER_BYTES = 20;
/** Offset of the runtime claims: header + hardware report + IGVM request header. */
export const HCL_RUNTIME_CLAIMS_OFFSET = HCL_HEADER_BYTES + HCL_HW_REPORT_BYTES + IGVM_REQUEST_HEADER_BYTES;
/** Largest HCL report accepted (Azure's NV index holds 2600 bytes). */
export const MAX_HCL_REPORT_BYTES = 64 * 1024;
export const HCL_MAGIC = 'HCLA';
export const HCL_REPORT_TYPE = { snp: 2, tdx: 4 } as const;
/** IGVM report-data hash types; Azure uses SHA-256. */
export const HCL_HASH_SHA256 = 1;
export const TD_REPORT_BYTES = 1024;
/** The AK's key id in the runtime claims. */
export const HCL_AK_KID = 'HCLAkPub';

export interface HclReport {
  /** Header fields (little-endian u32s). */
  header: { version: number; reportSize: number; requestType: number; status: number };
  /** Which hardware report is embedded (from the IGVM report type). */
  reportType: 'snp' | 'tdx';
  /** The hardware report: 1184 bytes for SNP; the 1024-byte TD report for TDX. */
  hwReport: Uint8Array;
  /** IGVM request data fields. */
  igvm: { dataSize: number; version: number; reportType: number; hashType: number; runtimeClaimsSize: number };
  /** The runtime-claims JSON bytes, exactly as hashed into the hardware report. */
  runtimeClaims: Uint8Array;
  /** Zero bytes after the runtime claims. */
  paddingBytes: number;
}

function bad(code: 'ATTEST_EVIDENCE_INVALID' | 'ATTEST_REPORT_TRUNCATED', msg: string): VeriteeError {
  return new VeriteeError(code, `HCL report: ${msg}`);
}

/**
 * Parses an HCL report. Throws ATTEST_REPORT_TRUNCATED when bytes are missing and
 * ATTEST_EVIDENCE_INVALID for any other inconsistency, naming the field.
 */
export function parseHclReport(raw: Uint8Array): HclReport {
  if (raw.length > MAX_HCL_REPORT_BYTES) throw bad('ATTEST_EVIDENCE_INVALID', `${raw.length} bytes, over the ${MAX_HCL_REPORT_BYTES}-byte limit`);
  if (raw.length < HCL_RUNTIME_CLAIMS_OFFSET) {
    throw bad('ATTEST_REPORT_TRUNCATED', `${raw.length} bytes, shorter than its ${HCL_RUNTIME_CLAIMS_OFFSET}-byte fixed part (header, hardware report, IGVM request header)`);
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const u32 = (off: number) => dv.getUint32(off, true);
  const magic = String.fromCharCode(raw[0]!, raw[1]!, raw[2]!, raw[3]!);
  if (magic !== HCL_MAGIC) {
    throw bad('ATTEST_EVIDENCE_INVALID', `magic is ${quoteInput(magic, 8)} (hex ${Buffer.from(raw.subarray(0, 4)).toString('hex')}), not "HCLA"`);
  }
  const header = { version: u32(4), reportSize: u32(8), requestType: u32(12), status: u32(16) };
  if (header.status !== 0) throw bad('ATTEST_EVIDENCE_INVALID', `header status is ${header.status}, not 0 (the paravisor reported a failed request)`);
  const ig = HCL_HEADER_BYTES + HCL_HW_REPORT_BYTES;
  const igvm = { dataSize: u32(ig), version: u32(ig + 4), reportType: u32(ig + 8), hashType: u32(ig + 12), runtimeClaimsSize: u32(ig + 16) };
  let reportType: 'snp' | 'tdx';
  if (igvm.reportType === HCL_REPORT_TYPE.snp) reportType = 'snp';
  else if (igvm.reportType === HCL_REPORT_TYPE.tdx) reportType = 'tdx';
  else throw bad('ATTEST_EVIDENCE_INVALID', `IGVM report type is ${igvm.reportType}; only 2 (SEV-SNP) and 4 (TDX) are defined`);
  if (igvm.hashType !== HCL_HASH_SHA256) {
    throw bad('ATTEST_EVIDENCE_INVALID', `report-data hash type is ${igvm.hashType}; only 1 (SHA-256, what Azure uses) is supported`);
  }
  const size = igvm.runtimeClaimsSize;
  if (size === 0) throw bad('ATTEST_EVIDENCE_INVALID', 'runtime claims are empty (no attestation key to take)');
  if (HCL_RUNTIME_CLAIMS_OFFSET + size > raw.length) {
    throw bad('ATTEST_REPORT_TRUNCATED', `runtime claims are ${size} bytes but only ${raw.length - HCL_RUNTIME_CLAIMS_OFFSET} follow the IGVM request header`);
  }
  if (igvm.dataSize !== IGVM_REQUEST_HEADER_BYTES + size) {
    throw bad('ATTEST_EVIDENCE_INVALID', `IGVM data size ${igvm.dataSize} is not ${IGVM_REQUEST_HEADER_BYTES} + runtime-claims size ${size}`);
  }
  if (header.reportSize !== HCL_RUNTIME_CLAIMS_OFFSET + size) {
    throw bad('ATTEST_EVIDENCE_INVALID', `header report size ${header.reportSize} is not ${HCL_RUNTIME_CLAIMS_OFFSET} + runtime-claims size ${size}`);
  }
  const end = HCL_RUNTIME_CLAIMS_OFFSET + size;
  for (let i = end; i < raw.length; i++) {
    if (raw[i] !== 0) throw bad('ATTEST_EVIDENCE_INVALID', `byte ${i} after the runtime claims is 0x${raw[i]!.toString(16)}; the padding must be zero`);
  }
  const hw = raw.subarray(HCL_HEADER_BYTES, HCL_HEADER_BYTES + HCL_HW_REPORT_BYTES);
  let hwReport = hw;
  if (reportType === 'tdx') {
    for (let i = TD_REPORT_BYTES; i < HCL_HW_REPORT_BYTES; i++) {
      if (hw[i] !== 0) throw bad('ATTEST_EVIDENCE_INVALID', `byte ${i} of the hardware report area after the 1024-byte TD report is not zero`);
    }
    hwReport = hw.subarray(0, TD_REPORT_BYTES);
  }
  return {
    header,
    reportType,
    hwReport: hwReport.slice(),
    igvm,
    runtimeClaims: raw.slice(HCL_RUNTIME_CLAIMS_OFFSET, end),
    paddingBytes: raw.length - end,
  };
}

/** The fields of a TDX TD report (TDREPORT_STRUCT) the verifier compares with the TD quote. */
export interface TdReportFields {
  /** REPORTMACSTRUCT.REPORTTYPE byte 0 (0x81 = TDX). */
  teeType: number;
  reportData: Uint8Array;
  /** TEE_TCB_INFO.TEE_TCB_SVN (16 bytes) and MRSEAM (48). */
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  /** TDINFO bytes 0-399: ATTRIBUTES, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0-3. */
  tdInfo: Uint8Array;
}

/** Reads a 1024-byte TD report (REPORTMACSTRUCT 0-255, TEE_TCB_INFO 256-494, TDINFO 512-1023). */
export function tdReportFields(td: Uint8Array): TdReportFields {
  if (td.length !== TD_REPORT_BYTES) throw bad('ATTEST_REPORT_TRUNCATED', `TD report is ${td.length} bytes, not ${TD_REPORT_BYTES}`);
  return {
    teeType: td[0]!,
    reportData: td.subarray(128, 192),
    teeTcbSvn: td.subarray(256 + 8, 256 + 24),
    mrSeam: td.subarray(256 + 24, 256 + 72),
    tdInfo: td.subarray(512, 912),
  };
}

export interface RuntimeClaims {
  /** The vTPM attestation key. */
  ak: KeyObject;
  /** Its modulus size in bits. */
  akBits: number;
  /** Key ids present in `keys` (e.g. HCLAkPub, HCLEkPub). */
  keyIds: string[];
  /** `vm-configuration`, when present (Azure: secure boot, TPM enabled, console, ...). */
  vmConfiguration?: Record<string, unknown>;
  /** `user-data`, when present (hex text the guest asked the paravisor to include). */
  userData?: string;
}

/** Smallest and largest AK modulus accepted (Azure's vTPM AK is RSA-2048). */
export const MIN_AK_BITS = 2048;
export const MAX_AK_BITS = 8192;

/**
 * Parses the runtime-claims JSON strictly and takes the AK (`kid` "HCLAkPub", `kty` RSA).
 * Throws ATTEST_EVIDENCE_INVALID naming the problem.
 */
export function parseRuntimeClaims(bytes: Uint8Array): RuntimeClaims {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'HCL runtime claims are not UTF-8');
  }
  const doc = parseJsonStrict(text, { what: 'HCL runtime claims', code: 'ATTEST_EVIDENCE_INVALID', maxDepth: 16 });
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'HCL runtime claims are not a JSON object');
  const d = doc as Record<string, unknown>;
  const keys = d['keys'];
  if (!Array.isArray(keys)) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'HCL runtime claims have no "keys" array');
  const keyIds: string[] = [];
  const aks: Record<string, unknown>[] = [];
  for (const k of keys) {
    if (k === null || typeof k !== 'object' || Array.isArray(k)) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'HCL runtime claims: an entry of "keys" is not an object');
    const kid = (k as Record<string, unknown>)['kid'];
    keyIds.push(typeof kid === 'string' ? kid : '?');
    if (kid === HCL_AK_KID) aks.push(k as Record<string, unknown>);
  }
  if (aks.length === 0) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `HCL runtime claims hold no key with kid "${HCL_AK_KID}" (found: ${quoteInput(keyIds.join(', '), 200)})`);
  if (aks.length > 1) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `HCL runtime claims hold ${aks.length} keys with kid "${HCL_AK_KID}"; exactly one is allowed`);
  const jwk = aks[0]!;
  if (jwk['kty'] !== 'RSA') throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `the ${HCL_AK_KID} key has kty ${quoteInput(String(jwk['kty']), 20)}, not RSA`);
  const n = jwk['n'];
  const e = jwk['e'];
  if (typeof n !== 'string' || typeof e !== 'string' || !/^[A-Za-z0-9_-]+$/.test(n) || !/^[A-Za-z0-9_-]+$/.test(e)) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `the ${HCL_AK_KID} key needs base64url "n" and "e"`);
  }
  const nBytes = fromBase64(n, `${HCL_AK_KID}.n`);
  let i = 0;
  while (i < nBytes.length && nBytes[i] === 0) i++;
  const akBits = (nBytes.length - i) * 8 - (i < nBytes.length ? Math.clz32(nBytes[i]!) - 24 : 0);
  if (akBits < MIN_AK_BITS || akBits > MAX_AK_BITS) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `the ${HCL_AK_KID} RSA modulus is ${akBits} bits; ${MIN_AK_BITS} to ${MAX_AK_BITS} are accepted`);
  }
  // A bounded public exponent keeps verification cheap (an attacker picks the key).
  if (fromBase64(e, `${HCL_AK_KID}.e`).length > 4) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `the ${HCL_AK_KID} RSA public exponent is longer than 4 bytes`);
  let ak: KeyObject;
  try {
    ak = createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' });
  } catch (err) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `the ${HCL_AK_KID} key is not a valid RSA public key: ${(err as Error).message}`);
  }
  const out: RuntimeClaims = { ak, akBits, keyIds };
  const vm = d['vm-configuration'];
  if (vm !== null && typeof vm === 'object' && !Array.isArray(vm)) out.vmConfiguration = vm as Record<string, unknown>;
  const ud = d['user-data'];
  if (typeof ud === 'string') out.userData = ud.slice(0, 256);
  return out;
}
