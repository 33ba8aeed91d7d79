/**
 * @module cloud/verify
 * Verifiers for attestation-rs's cloud tags.
 *
 * gcp-snp / gcp-tdx: the evidence is `snp` / `tdx` evidence; the SNP / TDX verifier runs
 * unchanged and the claims record the tag (`claims.cloud`, basis `attester-tag`: nothing in
 * the evidence proves the machine is in GCP).
 *
 * az-snp / az-tdx (Azure confidential VMs, vTPM attestation through the HCL paravisor):
 *   1. envelope shape                                               `azure.evidence`
 *   2. HCL report layout, report type = the tag's hardware          `azure.hcl_report`
 *   3. the hardware report with the existing verifier: the SNP report and VCEK chain
 *      (`snp.*`), or the TD quote with its collateral (`tdx.*`) plus the agreement of
 *      the HCL's TD report with the quote body                      `azure.td_report`
 *   4. the hardware report's REPORT_DATA = SHA-256(runtime claims) || 32 zero bytes
 *                                                                   `azure.runtime_claims`
 *   5. the AK, the RSA key `kid` "HCLAkPub" of the runtime claims   `azure.ak`
 *   6. TPMS_ATTEST: TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE       `tpm.quote`
 *   7. the quote's signature by the AK (RSASSA / RSAPSS, SHA-256)   `tpm.signature`
 *   8. pcrDigest = SHA-256 of the supplied values of the selected PCRs   `tpm.pcr_digest`
 *   9. extraData = the expected report data, when given            `tpm.extra_data`
 *
 * The chain of trust: vendor root → hardware report → runtime claims → AK → TPM quote →
 * nonce and PCRs. `claims.reportData` is the quote's extraData (what the relying party's
 * nonce binds); the hardware report's own REPORT_DATA is in `platformData.azure`.
 * `claims.pcrs` holds only the PCRs the verified quote covers.
 *
 * THREAT MODEL: everything in the envelope, including its tag, is attacker-chosen. The
 * az-* tag is believed only as far as the HCL layout goes (a paravisor that is not Azure's
 * could produce the same layout); `claims.cloud.basis` says so.
 *
 * INVARIANT: a check that cannot run because an earlier one failed is reported failed
 * ("not checked: ..."); `ok` only when every check passed. Never throws for bad evidence.
 */
import { createHash } from 'node:crypto';
import { bytesEqual, isVeriteeError, toBase64, toHex, type ErrorCode } from '@veritee/core';
import type { Check, Claims, CloudPlatform, EvidenceEnvelope, PlatformVerifier, VerificationResult, VerifyParams } from '../types.js';
import { decodeAzureEvidence, type DecodedAzureEvidence } from './evidence.js';
import { parseHclReport, parseRuntimeClaims, tdReportFields, type HclReport, type RuntimeClaims } from './hcl.js';
import { checkPcrDigest, describeSelection, parseTpmSignature, parseTpmsAttestQuote, verifyTpmSignature, type TpmsAttestQuote } from './tpm.js';

class Checks {
  readonly list: Check[] = [];
  pass(name: string, detail: string): true {
    this.list.push({ name, ok: true, detail });
    return true;
  }
  fail(name: string, code: ErrorCode, detail: string): false {
    this.list.push({ name, ok: false, detail, code });
    return false;
  }
  blocked(name: string, because: string, code: ErrorCode = 'ATTEST_EVIDENCE_INVALID'): false {
    return this.fail(name, code, `not checked: ${because}`);
  }
}

const errCode = (e: unknown): ErrorCode => (isVeriteeError(e) ? e.code : 'ATTEST_EVIDENCE_INVALID');
const errMsg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function otherPlatformResult(tag: CloudPlatform, checks: Check[]): VerificationResult {
  return { ok: false, platform: tag, checks };
}

/** gcp-snp / gcp-tdx: the bare verifier on the same evidence, the tag recorded in the claims. */
async function verifyGcp(tag: 'gcp-snp' | 'gcp-tdx', envelope: EvidenceEnvelope, params: VerifyParams): Promise<VerificationResult> {
  const hw = tag === 'gcp-snp' ? 'snp' : 'tdx';
  const inner: EvidenceEnvelope = { platform: hw, evidence: envelope.evidence };
  if (envelope.collateral !== undefined) inner.collateral = envelope.collateral;
  const verifier = hw === 'snp' ? (await import('../snp/index.js')).snpVerifier : (await import('../tdx/index.js')).tdxVerifier;
  const r = await verifier.verify(inner, params);
  const checks: Check[] = [
    {
      name: 'cloud.tag',
      ok: true,
      detail: `${tag}: ${hw.toUpperCase()} evidence verified as such; the GCP origin is the attester's claim (nothing in the evidence proves it)`,
    },
    ...r.checks,
  ];
  const out: VerificationResult = { ok: r.ok && r.checks.length > 0, platform: tag, checks };
  if (r.claims) out.claims = { ...r.claims, cloud: { provider: 'gcp', tag, basis: 'attester-tag' } };
  return out;
}

/** The fields of a TD quote body (TD10 layout, shared by v4 and v5 quotes) compared with the HCL's TD report. */
function tdQuoteBody(quote: Uint8Array): Uint8Array | undefined {
  if (quote.length < 48 + 584) return undefined;
  const version = quote[0]! | (quote[1]! << 8);
  const start = version === 5 ? 48 + 6 : 48;
  if (quote.length < start + 584) return undefined;
  return quote.subarray(start, start + 584);
}

function checkTdReport(hcl: HclReport, quote: Uint8Array, checks: Checks): void {
  const name = 'azure.td_report';
  const body = tdQuoteBody(quote);
  if (!body) {
    checks.blocked(name, 'the TD quote is too short to hold a TD report body', 'ATTEST_REPORT_TRUNCATED');
    return;
  }
  const td = tdReportFields(hcl.hwReport);
  const bad: string[] = [];
  if (td.teeType !== 0x81) bad.push(`report type 0x${td.teeType.toString(16)} is not TDX (0x81)`);
  if (!bytesEqual(td.teeTcbSvn, body.subarray(0, 16))) bad.push('TEE_TCB_SVN differs');
  if (!bytesEqual(td.mrSeam, body.subarray(16, 64))) bad.push('MRSEAM differs');
  if (!bytesEqual(td.tdInfo, body.subarray(120, 520))) bad.push('TD attributes, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG or RTMRs differ');
  if (!bytesEqual(td.reportData, body.subarray(520, 584))) bad.push('REPORTDATA differs');
  if (bad.length) checks.fail(name, 'ATTEST_EVIDENCE_INVALID', `the HCL report's TD report does not match the TD quote: ${bad.join('; ')}`);
  else checks.pass(name, "the HCL report's TD report matches the TD quote body (TEE_TCB_SVN, MRSEAM, TD info, RTMRs, REPORTDATA)");
}

/** az-snp / az-tdx. */
async function verifyAzure(tag: 'az-snp' | 'az-tdx', envelope: EvidenceEnvelope, params: VerifyParams): Promise<VerificationResult> {
  const hw = tag === 'az-snp' ? 'snp' : 'tdx';
  const checks = new Checks();

  // 1. envelope
  let ev: DecodedAzureEvidence;
  try {
    ev = decodeAzureEvidence(tag, envelope.evidence);
  } catch (e) {
    checks.fail('azure.evidence', errCode(e), errMsg(e));
    return otherPlatformResult(tag, checks.list);
  }
  checks.pass(
    'azure.evidence',
    `${tag} envelope (version 1): ${ev.hclReport.length}-byte HCL report, ${ev.tpm.message.length}-byte TPM quote, ${ev.tpm.pcrs.length} PCR value(s)` +
      (ev.vcek ? ', a VCEK certificate' : '') +
      (ev.tdQuote ? `, a ${ev.tdQuote.length}-byte TD quote${envelope.collateral ? ' and collateral' : ', no collateral'}` : ''),
  );

  // 2. HCL report
  let hcl: HclReport;
  try {
    hcl = parseHclReport(ev.hclReport);
  } catch (e) {
    checks.fail('azure.hcl_report', errCode(e), errMsg(e));
    return otherPlatformResult(tag, checks.list);
  }
  if (hcl.reportType !== hw) {
    checks.fail('azure.hcl_report', 'ATTEST_EVIDENCE_INVALID', `the HCL report embeds a ${hcl.reportType.toUpperCase()} report but the envelope says ${tag}`);
    return otherPlatformResult(tag, checks.list);
  }
  checks.pass(
    'azure.hcl_report',
    `HCL report v${hcl.header.version} with a ${hw === 'snp' ? '1184-byte SEV-SNP report' : '1024-byte TD report'}, ${hcl.runtimeClaims.length}-byte runtime claims (SHA-256 bound), ${hcl.paddingBytes} zero padding byte(s)`,
  );

  // 3. hardware report through the existing verifier (its own report-data check is replaced by step 4)
  const { expectedReportData, ...innerParams } = params;
  let hwResult: VerificationResult;
  let hwReportData: Uint8Array | undefined;
  if (hw === 'snp') {
    const inner: EvidenceEnvelope = { platform: 'snp', evidence: { attestation_report: toBase64(hcl.hwReport), cert_chain: { vcek: toBase64(ev.vcek!) } } };
    hwResult = await (await import('../snp/index.js')).snpVerifier.verify(inner, innerParams);
    hwReportData = hcl.hwReport.subarray(0x50, 0x90);
  } else {
    const inner: EvidenceEnvelope = { platform: 'tdx', evidence: { quote: toBase64(ev.tdQuote!) } };
    if (envelope.collateral !== undefined) inner.collateral = envelope.collateral;
    hwResult = await (await import('../tdx/index.js')).tdxVerifier.verify(inner, innerParams);
    checkTdReport(hcl, ev.tdQuote!, checks);
    const body = tdQuoteBody(ev.tdQuote!);
    if (body) hwReportData = body.subarray(520, 584);
  }
  checks.list.push(...hwResult.checks);
  if (hwResult.checks.length === 0) checks.fail(`${hw}.verify`, 'ATTEST_EVIDENCE_INVALID', `the ${hw} verifier ran no checks`);

  // 4. runtime claims bound by the hardware report
  const expectedHw = new Uint8Array(64);
  expectedHw.set(createHash('sha256').update(hcl.runtimeClaims).digest(), 0);
  if (hwReportData === undefined) {
    checks.blocked('azure.runtime_claims', 'the hardware report could not be read', 'ATTEST_REPORT_TRUNCATED');
  } else if (bytesEqual(hwReportData, expectedHw)) {
    checks.pass('azure.runtime_claims', `the ${hw === 'snp' ? 'SNP REPORT_DATA' : 'TD quote REPORTDATA'} is SHA-256 of the runtime claims (${toHex(expectedHw.subarray(0, 8))}…) followed by 32 zero bytes`);
  } else {
    checks.fail(
      'azure.runtime_claims',
      'ATTEST_REPORT_DATA_MISMATCH',
      `the hardware report data ${toHex(hwReportData).slice(0, 16)}… is not SHA-256 of the runtime claims || 32 zero bytes (${toHex(expectedHw).slice(0, 16)}…): the runtime claims (and the AK in them) are not the ones the hardware vouched for`,
    );
  }

  // 5. AK
  let rc: RuntimeClaims | undefined;
  try {
    rc = parseRuntimeClaims(hcl.runtimeClaims);
    checks.pass('azure.ak', `AK "HCLAkPub": RSA-${rc.akBits} from the runtime claims (keys: ${rc.keyIds.join(', ')})`);
  } catch (e) {
    checks.fail('azure.ak', errCode(e), errMsg(e));
  }

  // 6. TPMS_ATTEST
  let quote: TpmsAttestQuote | undefined;
  try {
    quote = parseTpmsAttestQuote(ev.tpm.message);
    checks.pass(
      'tpm.quote',
      `TPMS_ATTEST quote (TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE): ${quote.extraData.length}-byte extraData, PCR ${quote.selections.map((s) => `${describeSelection(s.pcrs)} (bank 0x${s.hash.toString(16)})`).join('; ')}, resetCount ${quote.resetCount}, restartCount ${quote.restartCount}`,
    );
  } catch (e) {
    checks.fail('tpm.quote', errCode(e), errMsg(e));
  }

  // 7. signature by the AK
  if (!rc) checks.blocked('tpm.signature', 'no attestation key (azure.ak failed)');
  else {
    const modulusBytes = Math.ceil(rc.akBits / 8);
    try {
      const sig = parseTpmSignature(ev.tpm.signature, modulusBytes);
      const scheme = sig.scheme === 'rsassa' ? 'RSASSA-PKCS1-v1_5' : 'RSASSA-PSS';
      if (verifyTpmSignature(ev.tpm.message, sig, rc.ak)) {
        checks.pass('tpm.signature', `${scheme} SHA-256 signature (${sig.form === 'raw' ? 'bare' : 'TPMT_SIGNATURE'}) over the TPMS_ATTEST verifies with the AK`);
      } else {
        checks.fail('tpm.signature', 'ATTEST_SIGNATURE_INVALID', `${scheme} SHA-256 signature over the TPMS_ATTEST does not verify with the AK from the runtime claims`);
      }
    } catch (e) {
      checks.fail('tpm.signature', errCode(e), errMsg(e));
    }
  }

  // 8. PCR digest
  let covered: Record<string, string> | undefined;
  if (!quote) checks.blocked('tpm.pcr_digest', 'the TPM quote could not be parsed');
  else {
    const d = checkPcrDigest(quote, ev.tpm.pcrs);
    if (d.ok) {
      covered = d.covered;
      checks.pass('tpm.pcr_digest', d.detail);
    } else checks.fail('tpm.pcr_digest', d.code ?? 'ATTEST_PCR_MISMATCH', d.detail);
  }

  // 9. nonce
  if (expectedReportData !== undefined) {
    if (!quote) checks.blocked('tpm.extra_data', 'the TPM quote could not be parsed', 'ATTEST_REPORT_DATA_MISMATCH');
    else if (bytesEqual(quote.extraData, expectedReportData)) checks.pass('tpm.extra_data', `the quote's extraData equals the expected ${expectedReportData.length} bytes`);
    else {
      checks.fail(
        'tpm.extra_data',
        'ATTEST_REPORT_DATA_MISMATCH',
        `the quote's extraData (${quote.extraData.length} bytes, ${toHex(quote.extraData).slice(0, 16)}…) differs from the expected ${expectedReportData.length} bytes (${toHex(expectedReportData).slice(0, 16)}…)`,
      );
    }
  }

  const ok = checks.list.length > 0 && checks.list.every((c) => c.ok);
  const out: VerificationResult = { ok, platform: tag, checks: checks.list };
  if (hwResult.claims) {
    const base = hwResult.claims;
    const azure: Record<string, unknown> = {
      hardwareReportData: hwReportData ? toHex(hwReportData) : undefined,
      runtimeClaimsSha256: toHex(expectedHw.subarray(0, 32)),
      hclVersion: hcl.header.version,
      akBits: rc?.akBits,
      keyIds: rc?.keyIds,
      vmConfiguration: rc?.vmConfiguration,
      userData: rc?.userData,
    };
    if (quote) {
      azure['tpm'] = {
        extraData: toHex(quote.extraData),
        clock: quote.clock.toString(),
        resetCount: quote.resetCount,
        restartCount: quote.restartCount,
        safe: quote.safe,
        firmwareVersion: toHex(quote.firmwareVersion),
        qualifiedSigner: toHex(quote.qualifiedSigner),
      };
    }
    const claims: Claims = {
      ...base,
      // What the relying party's nonce binds on Azure: the TPM quote's extraData.
      reportData: quote ? toHex(quote.extraData) : '',
      platformData: { ...base.platformData, azure },
      cloud: { provider: 'azure', tag, basis: 'hcl-report' },
    };
    if (covered) claims.pcrs = covered;
    out.claims = claims;
  }
  return out;
}

function verifierFor(tag: CloudPlatform): PlatformVerifier {
  return {
    platform: tag,
    verify: (envelope, params) =>
      tag === 'az-snp' || tag === 'az-tdx' ? verifyAzure(tag, envelope, params) : verifyGcp(tag, envelope, params),
  };
}

export const azSnpVerifier = verifierFor('az-snp');
export const azTdxVerifier = verifierFor('az-tdx');
export const gcpSnpVerifier = verifierFor('gcp-snp');
export const gcpTdxVerifier = verifierFor('gcp-tdx');

/** The verifier for a cloud tag. */
export function cloudVerifier(tag: CloudPlatform): PlatformVerifier {
  switch (tag) {
    case 'az-snp':
      return azSnpVerifier;
    case 'az-tdx':
      return azTdxVerifier;
    case 'gcp-snp':
      return gcpSnpVerifier;
    case 'gcp-tdx':
      return gcpTdxVerifier;
  }
}
