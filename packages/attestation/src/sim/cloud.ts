/**
 * @module sim/cloud
 * DEVELOPMENT ONLY. Simulated cloud-variant evidence in the real formats:
 *
 * - gcp-snp / gcp-tdx: the simulated SNP / TDX evidence under the cloud tag (it is the same
 *   evidence; see cloud/tags.ts).
 * - az-snp / az-tdx: a real Azure HCL report layout (cloud/hcl.ts) embedding a simulated SNP
 *   report (or the TD report of a simulated TD quote) whose report data is SHA-256 of a
 *   runtime-claims JSON holding a freshly generated RSA-2048 attestation key (AK, `kid`
 *   "HCLAkPub"), and a real TPMS_ATTEST quote over 24 SHA-256 PCRs with the caller's report
 *   data as extraData, signed by the AK (RSASSA-PKCS1-v1_5 by default, or RSASSA-PSS; bare
 *   signature bytes as attestation-rs ships them, or a TPMT_SIGNATURE).
 *
 * The verifier checks it unchanged; it is accepted only with the simulated hardware
 * anchors and is then marked `simulated`, like every simulated evidence.
 *
 * THREAT MODEL: nothing here is secret; the runtime claims say "veritee-simulated".
 */
import { createHash, createPublicKey, generateKeyPair, sign as cryptoSign, constants as cryptoConstants, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { concatBytes, fromBase64, toBase64Url, toHex, utf8, VeriteeError } from '@veritee/core';
import type { EvidenceEnvelope } from '../types.js';
import { HCL_HASH_SHA256, HCL_HW_REPORT_BYTES, HCL_REPORT_TYPE, HCL_RUNTIME_CLAIMS_OFFSET, IGVM_REQUEST_HEADER_BYTES, TD_REPORT_BYTES } from '../cloud/hcl.js';
import { PCR_COUNT, TPM_ALG_RSAPSS, TPM_ALG_RSASSA, TPM_ALG_SHA256, TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE } from '../cloud/tpm.js';
import { simSnpEvidence, type SimSnpAuthority, type SimSnpReportOptions } from './snp.js';
import { simTdxEvidence, type SimTdxAuthority, type SimTdxEvidenceRequest } from './tdx.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Size of the vTPM NV index holding the HCL report on Azure. */
export const AZURE_HCL_NV_BYTES = 2600;

export interface SimAzureAuthority {
  /** The vTPM attestation key (private: test material, not secret). */
  readonly ak: KeyObject;
  readonly akJwk: { kty: 'RSA'; n: string; e: string };
  readonly ekJwk: { kty: 'RSA'; n: string; e: string };
}

/** Generates the simulated vTPM's AK and EK (RSA-2048, as on Azure). */
export async function createSimAzureAuthority(): Promise<SimAzureAuthority> {
  const [ak, ek] = await Promise.all([
    generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 }),
    generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 }),
  ]);
  const jwk = (k: KeyObject) => {
    const j = k.export({ format: 'jwk' }) as { n: string; e: string };
    return { kty: 'RSA' as const, n: j.n, e: j.e };
  };
  return { ak: ak.privateKey, akJwk: jwk(ak.publicKey), ekJwk: jwk(ek.publicKey) };
}

export interface SimTpmOptions {
  /** PCR overrides by index (32 bytes each); the rest are fixed simulated values. */
  pcrs?: Record<number, Uint8Array>;
  /** Signature scheme (default rsassa, what Azure's vTPM uses). */
  scheme?: 'rsassa' | 'rsapss';
  /** Bare signature bytes (default, attestation-rs's form) or a TPMT_SIGNATURE. */
  signatureForm?: 'raw' | 'tpmt';
  /** PCRs the quote selects (default all 24, as Azure's az-cvm-vtpm quotes). */
  pcrSelection?: number[];
}

/** The 24 simulated PCR values (SHA-256 bank) with the overrides applied. */
export function simPcrValues(overrides: Record<number, Uint8Array> = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < PCR_COUNT; i++) {
    const o = overrides[i];
    if (o !== undefined && (!(o instanceof Uint8Array) || o.length !== 32)) throw new VeriteeError('INPUT_INVALID', `simulated PCR ${i} must be 32 bytes`);
    out.push(o ?? new Uint8Array(createHash('sha256').update(`veritee simulated vTPM PCR ${i}`).digest()));
  }
  for (const k of Object.keys(overrides)) {
    if (!/^(1?[0-9]|2[0-3])$/.test(k)) throw new VeriteeError('INPUT_INVALID', `simulated PCR index ${k} is not 0-23`);
  }
  return out;
}

const be16 = (v: number) => Uint8Array.of((v >> 8) & 255, v & 255);
const be32 = (v: number) => Uint8Array.of((v >>> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255);
const le32 = (v: number) => Uint8Array.of(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
const tpm2b = (b: Uint8Array) => concatBytes(be16(b.length), b);

/** A TPMS_ATTEST quote over all 24 SHA-256 PCRs, and its signature by the AK. */
export function simTpmQuote(az: SimAzureAuthority, extraData: Uint8Array, pcrs: readonly Uint8Array[], opts: SimTpmOptions = {}): { message: Uint8Array; signature: Uint8Array } {
  if (extraData.length > 64) throw new VeriteeError('INPUT_INVALID', `TPM extraData is at most 64 bytes (got ${extraData.length})`);
  const akSpki = new Uint8Array(createPublicKeyDer(az));
  const name = concatBytes(be16(TPM_ALG_SHA256), new Uint8Array(createHash('sha256').update(akSpki).digest()));
  const selection = [...new Set(opts.pcrSelection ?? pcrs.map((_, i) => i))].sort((a, b) => a - b);
  const bitmap = new Uint8Array(3);
  for (const i of selection) {
    if (!Number.isInteger(i) || i < 0 || i >= PCR_COUNT) throw new VeriteeError('INPUT_INVALID', `PCR selection ${i} is not 0-23`);
    bitmap[i >> 3]! |= 1 << (i & 7);
  }
  const digest = new Uint8Array(createHash('sha256').update(concatBytes(...selection.map((i) => pcrs[i]!))).digest());
  const message = concatBytes(
    be32(TPM_GENERATED_VALUE),
    be16(TPM_ST_ATTEST_QUOTE),
    tpm2b(name), // qualifiedSigner (not checked by the verifier: the AK is what vouches)
    tpm2b(extraData),
    new Uint8Array([0, 0, 0, 0, 0x07, 0x5b, 0xcd, 0x15]), // clock
    be32(2), // resetCount
    be32(0), // restartCount
    Uint8Array.of(1), // safe
    Uint8Array.from([0x20, 0x20, 0x03, 0x12, 0x00, 0x12, 0x00, 0x03]), // firmwareVersion
    be32(1), // one PCR bank
    be16(TPM_ALG_SHA256),
    Uint8Array.of(3), // sizeofSelect
    bitmap, // pcrSelect
    tpm2b(digest),
  );
  const scheme = opts.scheme ?? 'rsassa';
  const raw = new Uint8Array(
    cryptoSign(
      'sha256',
      message,
      scheme === 'rsassa' ? { key: az.ak, padding: cryptoConstants.RSA_PKCS1_PADDING } : { key: az.ak, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    ),
  );
  const signature = (opts.signatureForm ?? 'raw') === 'raw' ? raw : concatBytes(be16(scheme === 'rsassa' ? TPM_ALG_RSASSA : TPM_ALG_RSAPSS), be16(TPM_ALG_SHA256), tpm2b(raw));
  return { message, signature };
}

/** The AK's public key, SPKI DER (the TPM name here is a stand-in: SHA-256 of it). */
function createPublicKeyDer(az: SimAzureAuthority): Buffer {
  return createPublicKey(az.ak).export({ type: 'spki', format: 'der' });
}

/** The runtime-claims JSON an Azure HCL includes (keys, vm-configuration, user-data). */
export function simRuntimeClaims(az: SimAzureAuthority, userData: Uint8Array = new Uint8Array(64)): Uint8Array {
  const doc = {
    keys: [
      { kid: 'HCLAkPub', key_ops: ['sign'], ...az.akJwk },
      { kid: 'HCLEkPub', key_ops: ['encrypt'], ...az.ekJwk },
    ],
    'vm-configuration': {
      'console-enabled': false,
      'secure-boot': true,
      'tpm-enabled': true,
      'tpm-persisted': true,
      vmUniqueId: 'veritee-simulated',
    },
    'user-data': toHex(userData).toUpperCase(),
  };
  return utf8(JSON.stringify(doc));
}

/** An HCL report in Azure's layout around a hardware report and runtime claims, zero-padded to 2600 bytes. */
export function buildHclReport(type: 'snp' | 'tdx', hwReport: Uint8Array, runtimeClaims: Uint8Array): Uint8Array {
  if (hwReport.length > HCL_HW_REPORT_BYTES) throw new VeriteeError('INPUT_INVALID', `hardware report is ${hwReport.length} bytes; at most ${HCL_HW_REPORT_BYTES}`);
  const total = Math.max(AZURE_HCL_NV_BYTES, HCL_RUNTIME_CLAIMS_OFFSET + runtimeClaims.length);
  const out = new Uint8Array(total);
  out.set(utf8('HCLA'), 0);
  out.set(le32(type === 'snp' ? 1 : 2), 4); // header version (as seen on Azure SNP / TDX VMs)
  out.set(le32(HCL_RUNTIME_CLAIMS_OFFSET + runtimeClaims.length), 8); // report size
  out.set(le32(2), 12); // request type
  out.set(le32(0), 16); // status
  out.set(hwReport, 0x20);
  const ig = 0x20 + HCL_HW_REPORT_BYTES;
  out.set(le32(IGVM_REQUEST_HEADER_BYTES + runtimeClaims.length), ig);
  out.set(le32(1), ig + 4);
  out.set(le32(HCL_REPORT_TYPE[type]), ig + 8);
  out.set(le32(HCL_HASH_SHA256), ig + 12);
  out.set(le32(runtimeClaims.length), ig + 16);
  out.set(runtimeClaims, HCL_RUNTIME_CLAIMS_OFFSET);
  return out;
}

/** SHA-256(runtime claims) || 32 zero bytes: the hardware report data Azure's HCL requests. */
export function hclReportData(runtimeClaims: Uint8Array): Uint8Array {
  const rd = new Uint8Array(64);
  rd.set(createHash('sha256').update(runtimeClaims).digest(), 0);
  return rd;
}

/** A 1024-byte TD report consistent with a TD quote (v4/v5) body. The MAC is random: only the TDX module could compute it. */
export function tdReportFromQuote(quote: Uint8Array): Uint8Array {
  const version = quote[0]! | (quote[1]! << 8);
  const start = version === 5 ? 54 : 48;
  const body = quote.subarray(start, start + 584);
  const td = new Uint8Array(TD_REPORT_BYTES);
  td[0] = 0x81; // REPORTTYPE: TDX
  const teeTcbInfo = new Uint8Array(239);
  teeTcbInfo.set([0xff, 0x01, 0xff, 0x01, 0, 0, 0, 0], 0); // VALID
  teeTcbInfo.set(body.subarray(0, 120), 8); // TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, ATTRIBUTES
  const tdInfo = new Uint8Array(512);
  tdInfo.set(body.subarray(120, 520), 0);
  td.set(createHash('sha384').update(teeTcbInfo).digest(), 36); // TEE_TCB_INFO_HASH
  td.set(createHash('sha384').update(tdInfo).digest(), 84); // TEE_INFO_HASH
  td.set(body.subarray(520, 584), 128); // REPORTDATA
  td.set(createHash('sha256').update(td.subarray(0, 224)).digest(), 224); // MAC stand-in
  td.set(teeTcbInfo, 256);
  td.set(tdInfo, 512);
  return td;
}

export interface SimAzureRequest extends SimTpmOptions {
  /** The TPM quote's extraData: the caller's report data / nonce binding (at most 64 bytes). */
  reportData: Uint8Array;
  /** `user-data` of the runtime claims (64 bytes, default zeros). */
  userData?: Uint8Array;
}

function tpmEvidence(az: SimAzureAuthority, req: SimAzureRequest): Record<string, unknown> {
  const pcrs = simPcrValues(req.pcrs);
  const { message, signature } = simTpmQuote(az, req.reportData, pcrs, req);
  return { signature: toHex(signature), message: toHex(message), pcrs: pcrs.map(toHex) };
}

/** DEVELOPMENT ONLY: az-snp evidence (attestation-rs layout) over a simulated SNP report. */
export function simAzureSnpEvidence(snp: SimSnpAuthority, az: SimAzureAuthority, req: SimAzureRequest & Omit<SimSnpReportOptions, 'reportData'>): EvidenceEnvelope {
  const { reportData: _rd, pcrs: _p, scheme: _s, signatureForm: _f, userData, ...snpOpts } = req;
  const claims = simRuntimeClaims(az, userData);
  const inner = simSnpEvidence(snp, { ...snpOpts, reportData: hclReportData(claims) });
  const ev = inner.evidence as { attestation_report: string; cert_chain: Record<string, string> };
  const report = fromBase64(ev.attestation_report);
  const leaf = ev.cert_chain['vcek'] ?? ev.cert_chain['vlek']!;
  return {
    platform: 'az-snp',
    evidence: {
      version: 1,
      tpm_quote: tpmEvidence(az, req),
      hcl_report: toBase64Url(buildHclReport('snp', report, claims)),
      vcek: toBase64Url(fromBase64(leaf)),
    },
  };
}

/** DEVELOPMENT ONLY: az-tdx evidence (attestation-rs layout) over a simulated TD quote, with its collateral. */
export function simAzureTdxEvidence(tdx: SimTdxAuthority, az: SimAzureAuthority, req: SimAzureRequest & Omit<SimTdxEvidenceRequest, 'reportData'>): EvidenceEnvelope {
  const { reportData: _rd, pcrs: _p, scheme: _s, signatureForm: _f, userData, ...tdxOpts } = req;
  const claims = simRuntimeClaims(az, userData);
  const inner = simTdxEvidence(tdx, { ...tdxOpts, reportData: hclReportData(claims) });
  const quote = fromBase64((inner.evidence as { quote: string }).quote);
  const env: EvidenceEnvelope = {
    platform: 'az-tdx',
    evidence: {
      version: 1,
      tpm_quote: tpmEvidence(az, req),
      hcl_report: toBase64Url(buildHclReport('tdx', tdReportFromQuote(quote), claims)),
      td_quote: toBase64Url(quote),
    },
  };
  if (inner.collateral) env.collateral = inner.collateral;
  return env;
}
