/**
 * @module tdx/verify
 * Verifies an Intel TDX quote (v4/v5) with DCAP collateral, in numbered steps:
 *
 *  1. size / version / key type / TEE type / QE vendor        `tdx.quote_format`
 *  2. parse header, TD report body and signature data          `tdx.quote_parse`
 *  3. PCK chain to the Intel SGX Root CA at `at`, its SGX      `tdx.pck_chain`, `tdx.pck_extension`,
 *     extension, and revocation by the root and PCK CRLs       `tdx.pck_crl`
 *  4. QE report signed by the PCK key                          `tdx.qe_report_signature`
 *  5. QE report data = SHA-256(attestation key || QE auth      `tdx.qe_report_binding`
 *     data) || 32 zero bytes
 *  6. quote (header || body) signed by the attestation key     `tdx.quote_signature`
 *  7. collateral present; TCB info and QE identity signed by   `tdx.collateral`, `tdx.tcb_info_signature`,
 *     the TCB signing chain to the same root                   `tdx.qe_identity_signature`
 *  8. collateral current at `at` (TCB info, QE identity, CRLs) `tdx.collateral_time`
 *  9. TCB info is for this platform; TDX module identity;      `tdx.fmspc`, `tdx.tdx_module`,
 *     QE identity; a TCB level matches and the converged        `tdx.qe_identity`, `tdx.tcb_status`
 *     status is not Revoked (policy decides among the others)
 * 10. REPORTDATA equals `params.expectedReportData`            `tdx.report_data` (when given)
 *
 * THREAT MODEL: the quote and the collateral come from the attacker. Only the pinned Intel
 * root (or, when the caller passes them, simulated anchors) is trusted. Evidence chaining to
 * a simulated anchor is marked `claims.simulated`; the PCK chain and both collateral chains
 * must end at the same anchor.
 *
 * INVARIANT: every check that runs is reported; a check that cannot run because an earlier
 * one failed is reported failed ("not checked: ..."), never skipped; `ok` is true only when
 * every reported check passed. Missing collateral fails `tdx.collateral` with
 * ATTEST_COLLATERAL_MISSING: "unverified: collateral missing". DEBUG is reported in the
 * claims (`debug`) and left to policy.
 */
import { bytesEqual, toHex, VeriteeError, type ErrorCode } from '@veritee/core';
import { createHash } from 'node:crypto';
import { parseDcapCollateral, type DcapCollateral, type SignedJson } from '../dcap/collateral.js';
import { dcapAnchors, errorCodeOf, parsePckChain, parsePckExtension, type PckExtension } from '../dcap/pck.js';
import { ATT_KEY_ECDSA_P256, HEADER_LEN, INTEL_QE_VENDOR_ID, MAX_QUOTE_BYTES, TEE_TYPE_TDX } from '../dcap/quote.js';
import {
  convergeStatus,
  isAcceptableTcbStatus,
  mergeAdvisories,
  ratePlatformTcb,
  rateQeIdentity,
  rateTdxModule,
  type Rating,
} from '../dcap/tcb.js';
import {
  checkRevocation,
  crlCurrent,
  ecdsaVerify,
  OID,
  p256RawKey,
  spkiKey,
  verifyChain,
  type Anchor,
  type ChainOutcome,
  type ParsedCert,
} from '../dcap/x509.js';
import type { Check, EvidenceEnvelope, PlatformVerifier, VerificationResult, VerifyParams } from '../types.js';
import { buildTdxClaims, type TdxTcbOutcome } from './claims.js';
import { decodeTdxEnvelope } from './evidence.js';
import { parseTdxQuote, type TdxQuote } from './parse.js';

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
  /** A check that could not run because `because` failed. */
  blocked(name: string, because: string, code: ErrorCode = 'ATTEST_EVIDENCE_INVALID'): false {
    return this.fail(name, code, `not checked: ${because}`);
  }
  get ok(): boolean {
    return this.list.length > 0 && this.list.every((c) => c.ok);
  }
}

function describeError(e: unknown): { code: ErrorCode; message: string } {
  return { code: errorCodeOf(e), message: e instanceof Error ? e.message : String(e) };
}

/** Step 1: the fixed-format facts, read without trusting any length field. */
function checkFormat(raw: Uint8Array, checks: Checks): boolean {
  const name = 'tdx.quote_format';
  if (raw.length > MAX_QUOTE_BYTES) return checks.fail(name, 'INPUT_TOO_LARGE', `quote is ${raw.length} bytes; the limit is ${MAX_QUOTE_BYTES}`);
  if (raw.length < HEADER_LEN) return checks.fail(name, 'ATTEST_REPORT_TRUNCATED', `quote is ${raw.length} bytes, shorter than its ${HEADER_LEN}-byte header`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const version = dv.getUint16(0, true);
  const keyType = dv.getUint16(2, true);
  const teeType = dv.getUint32(4, true);
  if (version !== 4 && version !== 5) return checks.fail(name, 'ATTEST_REPORT_VERSION', `quote version ${version} is not supported (expected 4 or 5)`);
  if (keyType !== ATT_KEY_ECDSA_P256) return checks.fail(name, 'ATTEST_REPORT_VERSION', `attestation key type ${keyType} is not supported (expected 2, ECDSA P-256)`);
  if (teeType !== TEE_TYPE_TDX) return checks.fail(name, 'ATTEST_EVIDENCE_INVALID', `TEE type 0x${teeType.toString(16)} is not TDX (0x81)`);
  if (!bytesEqual(raw.subarray(12, 28), INTEL_QE_VENDOR_ID)) {
    return checks.fail(name, 'ATTEST_EVIDENCE_INVALID', `QE vendor ID ${toHex(raw.subarray(12, 28))} is not Intel's`);
  }
  return checks.pass(name, `quote v${version}, ECDSA P-256 attestation key, TEE type TDX, Intel QE, ${raw.length} bytes`);
}

function verifySignedJson(
  name: string,
  doc: SignedJson<unknown>,
  crls: DcapCollateral,
  anchors: Anchor[],
  at: Date,
  memo: Map<string, unknown>,
  checks: Checks,
): ChainOutcome | undefined {
  const chain = verifyChain(doc.issuerChain, anchors, at, `${name} signing chain`);
  if (!chain.ok) {
    checks.fail(name, chain.code!, chain.detail);
    return undefined;
  }
  const leaf = chain.chain[0]!;
  // Only Intel's TCB signing certificate may sign collateral: issued directly by the root,
  // named so, and not a PCK certificate (a PCK key extracted from one platform must never
  // be able to vouch for TCB levels).
  const expectedCn = chain.anchor!.simulated ? 'SIMULATED Intel SGX TCB Signing' : 'Intel SGX TCB Signing';
  if (chain.chain.length !== 2 || !leaf.subject.startsWith(`CN=${expectedCn},`) || leaf.extensions.some((e) => e.oid === OID.sgxExtension)) {
    checks.fail(name, 'ATTEST_CERT_CHAIN_INVALID', `${name}: "${leaf.subject}" is not the ${expectedCn} certificate issued by the root`);
    return undefined;
  }
  const rev = checkRevocation(chain.chain, [crls.rootCaCrl], `${name} signing chain`);
  if (!rev.ok) {
    checks.fail(name, rev.code!, rev.detail);
    return undefined;
  }
  const key = `${name}:${leaf.id}`;
  let ok = memo.get(key) as boolean | undefined;
  if (ok === undefined) {
    ok = ecdsaVerify(spkiKey(leaf.spki), 'sha256', doc.body, doc.signature, true);
    memo.set(key, ok);
  }
  if (!ok) {
    checks.fail(name, 'ATTEST_COLLATERAL_INVALID', `${name}: signature does not verify with the key of "${leaf.subject}"`);
    return undefined;
  }
  checks.pass(name, `signed by "${leaf.subject}"; ${chain.detail}`);
  return chain;
}

export interface TdxVerifyOptions {
  /** Pre-parsed collateral (parse once with parseDcapCollateral, verify many) or either raw layout. */
  collateral?: DcapCollateral | Record<string, unknown>;
}

function isParsedCollateral(c: unknown): c is DcapCollateral {
  return typeof c === 'object' && c !== null && 'memo' in c && (c as { memo: unknown }).memo instanceof Map && 'tcbInfo' in c;
}

/**
 * Verifies a raw TDX quote. Never throws for bad evidence: failures are checks.
 * Throws INPUT_TIME_INVALID when `params.at` is not a valid date.
 */
export function verifyTdxQuote(raw: Uint8Array, opts: TdxVerifyOptions, params: VerifyParams): VerificationResult {
  if (!(params.at instanceof Date) || Number.isNaN(params.at.getTime())) {
    throw new VeriteeError('INPUT_TIME_INVALID', 'VerifyParams.at must be a valid Date (the verification time)');
  }
  const at = params.at;
  const checks = new Checks();
  const result = (claims?: VerificationResult['claims']): VerificationResult => ({
    ok: checks.ok,
    platform: 'tdx',
    checks: checks.list,
    ...(claims ? { claims } : {}),
  });

  // 1. size / version
  if (!checkFormat(raw, checks)) return result();

  // 2. parse
  let q: TdxQuote;
  try {
    q = parseTdxQuote(raw);
  } catch (e) {
    const { code, message } = describeError(e);
    checks.fail('tdx.quote_parse', code, message);
    return result();
  }
  const { quote, td } = q;
  const sig = quote.signature;
  checks.pass(
    'tdx.quote_parse',
    `${td.kind === 'td15' ? 'TD 1.5' : 'TD 1.0'} body (${quote.body.length} bytes), signature data with QE report, ${sig.qeAuthData.length}-byte QE auth data, certification data type ${sig.certDataType}` +
      (quote.trailingBytes > 0 ? `; ${quote.trailingBytes} trailing bytes ignored` : ''),
  );

  const anchors = dcapAnchors(params.simulatedAnchors);

  // 3. PCK chain, SGX extension, revocation
  let pckChain: ParsedCert[] | undefined;
  let pckOutcome: ChainOutcome | undefined;
  let pck: PckExtension | undefined;
  try {
    pckChain = parsePckChain(sig.certData, sig.certDataType);
  } catch (e) {
    const { code, message } = describeError(e);
    checks.fail('tdx.pck_chain', code, message);
  }
  if (pckChain) {
    pckOutcome = verifyChain(pckChain, anchors, at, 'PCK chain');
    if (pckOutcome.ok) checks.pass('tdx.pck_chain', pckOutcome.detail);
    else checks.fail('tdx.pck_chain', pckOutcome.code!, pckOutcome.detail);
    try {
      pck = parsePckExtension(pckChain[0]!);
      checks.pass('tdx.pck_extension', `FMSPC ${pck.fmspc}, PCE-ID ${pck.pceId}, PCESVN ${pck.pceSvn}, SGX TCB components [${pck.tcbComponents.join(',')}]`);
    } catch (e) {
      const { code, message } = describeError(e);
      checks.fail('tdx.pck_extension', code, message);
    }
  } else {
    checks.blocked('tdx.pck_extension', 'no PCK certificate');
  }
  const pckLeaf = pckOutcome?.ok ? pckOutcome.chain[0] : undefined;

  // Collateral is parsed here so step 3 can use its CRLs; its own checks are step 7.
  let collateral: DcapCollateral | undefined;
  let collateralError: { code: ErrorCode; message: string } | undefined;
  if (opts.collateral === undefined) {
    collateralError = { code: 'ATTEST_COLLATERAL_MISSING', message: 'unverified: collateral missing (TCB info, QE identity and CRLs are needed to verify a TDX quote)' };
  } else {
    try {
      collateral = isParsedCollateral(opts.collateral) ? opts.collateral : parseDcapCollateral(opts.collateral);
    } catch (e) {
      const { code, message } = describeError(e);
      collateralError = { code, message: `unverified: collateral ${code === 'ATTEST_COLLATERAL_MISSING' ? 'incomplete' : 'invalid'}: ${message}` };
    }
  }

  if (!pckOutcome?.ok) checks.blocked('tdx.pck_crl', 'the PCK chain did not verify', 'ATTEST_CERT_CHAIN_INVALID');
  else if (!collateral) {
    checks.fail('tdx.pck_crl', collateralError!.code, `${collateralError!.message}; the PCK chain was not checked for revocation`);
  } else {
    const rev = checkRevocation(pckOutcome.chain, [collateral.rootCaCrl, collateral.pckCrl], 'PCK chain');
    if (rev.ok) checks.pass('tdx.pck_crl', rev.detail);
    else checks.fail('tdx.pck_crl', rev.code!, rev.detail);
  }

  // 4. QE report signed by the PCK
  if (!pckLeaf) checks.blocked('tdx.qe_report_signature', 'no verified PCK certificate', 'ATTEST_CERT_CHAIN_INVALID');
  else if (ecdsaVerify(spkiKey(pckLeaf.spki), 'sha256', sig.qeReport.raw, sig.qeReportSignature, true)) {
    checks.pass('tdx.qe_report_signature', `QE report signed by "${pckLeaf.subject}"`);
  } else checks.fail('tdx.qe_report_signature', 'ATTEST_SIGNATURE_INVALID', `QE report signature does not verify with the PCK key of "${pckLeaf.subject}"`);

  // 5. QE report binds the attestation key
  const binding = createHash('sha256').update(sig.attestationKey).update(sig.qeAuthData).digest();
  const rd = sig.qeReport.reportData;
  if (bytesEqual(rd.subarray(0, 32), binding) && rd.subarray(32).every((b) => b === 0)) {
    checks.pass('tdx.qe_report_binding', `QE report data = SHA-256(attestation key || QE auth data) = ${toHex(binding)} || 32 zero bytes`);
  } else {
    checks.fail('tdx.qe_report_binding', 'ATTEST_SIGNATURE_INVALID', `QE report data ${toHex(rd)} does not equal SHA-256(attestation key || QE auth data) ${toHex(binding)} || zeros`);
  }

  // 6. quote signed by the attestation key
  try {
    const key = p256RawKey(sig.attestationKey);
    if (ecdsaVerify(key, 'sha256', quote.signedBytes, sig.quoteSignature, true)) checks.pass('tdx.quote_signature', `header and TD report (${quote.signedBytes.length} bytes) signed by attestation key ${toHex(sig.attestationKey).slice(0, 16)}...`);
    else checks.fail('tdx.quote_signature', 'ATTEST_SIGNATURE_INVALID', 'quote signature does not verify with the attestation key');
  } catch {
    checks.fail('tdx.quote_signature', 'ATTEST_SIGNATURE_INVALID', `attestation key ${toHex(sig.attestationKey).slice(0, 16)}... is not a valid P-256 point`);
  }

  // 7. collateral and its signatures
  let simulated = pckOutcome?.anchor?.simulated ?? false;
  const tcb: TdxTcbOutcome = {};
  if (!collateral) {
    checks.fail('tdx.collateral', collateralError!.code, collateralError!.message);
    checks.blocked('tdx.tcb_status', 'no collateral', collateralError!.code);
  } else {
    checks.pass('tdx.collateral', `${collateral.source} layout: TCB info (FMSPC ${collateral.tcbInfo.value.fmspc}, evaluation data ${collateral.tcbInfo.value.tcbEvaluationDataNumber}), QE identity ${collateral.qeIdentity.value.id}, PCK and root CRLs`);
    tcb.collateralSource = collateral.source;
    tcb.tcbEvaluationDataNumber = collateral.tcbInfo.value.tcbEvaluationDataNumber;
    tcb.tcbInfoFmspc = collateral.tcbInfo.value.fmspc;
    const tcbChain = verifySignedJson('tdx.tcb_info_signature', collateral.tcbInfo, collateral, anchors, at, collateral.memo, checks);
    const qeChain = verifySignedJson('tdx.qe_identity_signature', collateral.qeIdentity, collateral, anchors, at, collateral.memo, checks);
    for (const c of [tcbChain, qeChain]) {
      if (c?.anchor && pckOutcome?.anchor && c.anchor.cert.id !== pckOutcome.anchor.cert.id) {
        checks.fail('tdx.collateral_anchor', 'ATTEST_CERT_CHAIN_INVALID', 'the collateral and the PCK chain end at different roots');
        break;
      }
      if (c?.anchor?.simulated) simulated = true;
    }

    // 8. collateral times
    const times: string[] = [];
    const expired: string[] = [];
    for (const [label, v] of [
      ['TCB info', collateral.tcbInfo.value],
      ['QE identity', collateral.qeIdentity.value],
    ] as const) {
      if (at < v.issueDate || at > v.nextUpdate) expired.push(`${label} is current ${v.issueDate.toISOString()} .. ${v.nextUpdate.toISOString()}`);
      else times.push(`${label} until ${v.nextUpdate.toISOString()}`);
    }
    let timeCode: ErrorCode = 'ATTEST_COLLATERAL_EXPIRED';
    for (const crl of [collateral.pckCrl, collateral.rootCaCrl]) {
      const c = crlCurrent(crl, at);
      if (c.ok) times.push(c.detail);
      else {
        expired.push(c.detail);
        if (c.code !== 'ATTEST_COLLATERAL_EXPIRED') timeCode = c.code!;
      }
    }
    if (expired.length) checks.fail('tdx.collateral_time', timeCode, `collateral expired at ${at.toISOString()}: ${expired.join('; ')}`);
    else checks.pass('tdx.collateral_time', `at ${at.toISOString()}: ${times.join('; ')}`);

    // 9. TCB: platform, TDX module, QE identity
    const info = collateral.tcbInfo.value;
    let platform: Rating | undefined;
    if (!pck) checks.blocked('tdx.fmspc', 'no PCK SGX extension');
    else if (info.id !== 'TDX' || info.version < 3) {
      checks.fail('tdx.fmspc', 'ATTEST_COLLATERAL_INVALID', `TCB info is ${info.id} v${info.version}; a TDX quote needs TDX TCB info v3`);
    } else if (info.fmspc !== pck.fmspc || info.pceId !== pck.pceId) {
      checks.fail('tdx.fmspc', 'ATTEST_TCB_MISMATCH', `TCB info is for FMSPC ${info.fmspc} PCE-ID ${info.pceId}; the PCK certificate has FMSPC ${pck.fmspc} PCE-ID ${pck.pceId}`);
    } else {
      checks.pass('tdx.fmspc', `TCB info (TDX v${info.version}) is for FMSPC ${info.fmspc}, PCE-ID ${info.pceId}, as the PCK certificate`);
      platform = ratePlatformTcb(info, { sgxComponents: pck.tcbComponents, pceSvn: pck.pceSvn, teeTcbSvn: td.teeTcbSvn });
    }
    const mod = rateTdxModule(info, td);
    if (mod.ok) checks.pass('tdx.tdx_module', mod.detail);
    else checks.fail('tdx.tdx_module', mod.code!, mod.detail);
    const qe = rateQeIdentity(collateral.qeIdentity.value, sig.qeReport, 'TD_QE');
    if (qe.ok) checks.pass('tdx.qe_identity', qe.detail);
    else checks.fail('tdx.qe_identity', qe.code!, qe.detail);

    if (platform) {
      tcb.platformStatus = platform.status;
      tcb.tdxModuleStatus = mod.status;
      tcb.qeStatus = qe.status;
      if (!platform.ok) checks.fail('tdx.tcb_status', platform.code!, platform.detail);
      else if (!mod.ok || !qe.ok) {
        checks.blocked('tdx.tcb_status', `the ${!mod.ok ? 'TDX module' : 'QE'} identity did not match`, (!mod.ok ? mod.code : qe.code) ?? 'ATTEST_TCB_MISMATCH');
      } else {
        const status = convergeStatus(convergeStatus(platform.status!, mod.status), qe.status);
        const advisoryIds = mergeAdvisories(platform.advisoryIds, mod.advisoryIds, qe.advisoryIds);
        tcb.status = status;
        tcb.advisoryIds = advisoryIds;
        const detail = `${platform.detail}; TDX module ${mod.status ?? '(TDX 1.0, not rated)'}; QE ${qe.status}; converged: ${status}${advisoryIds.length ? ` (${advisoryIds.join(', ')})` : ''}`;
        if (isAcceptableTcbStatus(status)) checks.pass('tdx.tcb_status', detail);
        else checks.fail('tdx.tcb_status', status === 'Revoked' ? 'ATTEST_CERT_REVOKED' : 'ATTEST_TCB_OUTDATED', `${detail}: status not accepted`);
      }
    } else if (pck) {
      checks.blocked('tdx.tcb_status', 'the TCB info does not describe this platform', 'ATTEST_TCB_MISMATCH');
    } else {
      checks.blocked('tdx.tcb_status', 'no PCK SGX extension');
    }
  }

  // 10. report data
  if (params.expectedReportData !== undefined) {
    const exp = params.expectedReportData;
    if (exp.length !== 64) {
      checks.fail('tdx.report_data', 'ATTEST_REPORT_DATA_MISMATCH', `expected report data must be 64 bytes, got ${exp.length}`);
    } else if (bytesEqual(exp, td.reportData)) {
      checks.pass('tdx.report_data', `REPORTDATA equals the expected ${toHex(exp).slice(0, 16)}...`);
    } else {
      checks.fail('tdx.report_data', 'ATTEST_REPORT_DATA_MISMATCH', `REPORTDATA ${toHex(td.reportData)} differs from the expected ${toHex(exp)}`);
    }
  }

  const chainForClaims = pckOutcome?.chain ?? pckChain ?? [];
  return result(buildTdxClaims(q, { simulated, certChain: chainForClaims.map((c) => c.subject), ...(pck ? { pck } : {}), tcb }));
}

/** The TDX {@link PlatformVerifier}: envelope in, per-check result out. */
export const tdxVerifier: PlatformVerifier = {
  platform: 'tdx',
  async verify(envelope: EvidenceEnvelope, params: VerifyParams): Promise<VerificationResult> {
    let decoded: ReturnType<typeof decodeTdxEnvelope>;
    try {
      decoded = decodeTdxEnvelope(envelope);
    } catch (e) {
      const { code, message } = describeError(e);
      return { ok: false, platform: 'tdx', checks: [{ name: 'tdx.evidence', ok: false, detail: message, code }] };
    }
    const r = verifyTdxQuote(decoded.quote, decoded.collateral ? { collateral: decoded.collateral } : {}, params);
    r.checks.unshift({ name: 'tdx.evidence', ok: true, detail: `TDX envelope with a ${decoded.quote.length}-byte quote${decoded.collateral ? ' and collateral' : ', no collateral'}` });
    return r;
  },
};
