/**
 * @module snp/verify
 * The SEV-SNP verifier: evidence envelope -> checks + normalised claims.
 *
 * THREAT MODEL: the report, the VCEK/VLEK and any ASK/ARK come from the untrusted host.
 * Trusted are only the AMD roots compiled into roots.ts and, when the caller passes
 * them, the simulated TEE's anchors (`params.simulatedAnchors.amd`), whose evidence is
 * then marked `simulated: true`. Time is the caller's `params.at`, never the clock.
 *
 * Pipeline (every step reports a Check; only steps 1-2 stop the pipeline, because
 * nothing after them can run without a parsed report):
 *   1. envelope shape (snp.evidence), report size (snp.report_size) and version (snp.report_version)
 *   2. parse every field (snp.parse)
 *   3. signer from SIGNING_KEY bits 4:2 of signer info: 0 = VCEK, 1 = VLEK (snp.signer)
 *   4. chain VCEK -> ASK -> ARK or VLEK -> ASVK -> ARK to a bundled root of the product
 *      named by CPUID (v3+), or of any product whose ARK/ASK verify the leaf (v2)
 *      (snp.cert_chain); host-supplied ASK/ARK are ignored
 *   5. validity of every certificate of that chain at `at` (snp.cert_validity)
 *   6. VCEK/VLEK extensions: TCB SPLs = REPORTED_TCB (snp.tcb), hwID = CHIP_ID for a
 *      VCEK and absent for a VLEK (snp.chip_id), productName = product (snp.product)
 *   7. report signature: ECDSA P-384 SHA-384 over bytes 0x000-0x29F, R/S little-endian
 *      at 0x2A0/0x2E8; high-S accepted as AMD produces it; the unsigned rest of the
 *      signature field (R/S bytes 48-71, 0x330-0x49F) must be zero (snp.signature)
 *   8. REPORT_DATA = params.expectedReportData over 64 bytes, when given (snp.report_data)
 *
 * INVARIANT: `ok` is true only if every check ran and passed. Debug, VMPL, measurement
 * and minimum TCB are policy decisions (policy.ts) made on the claims.
 */
import { createHash, verify as cryptoVerify } from 'node:crypto';
import { VeriteeError, bytesEqual, isVeriteeError, toHex, type ErrorCode } from '@veritee/core';
import type { Check, Claims, EvidenceEnvelope, PlatformVerifier, TrustAnchors, VerificationResult, VerifyParams } from '../types.js';
import { buildSnpClaims } from './claims.js';
import { checkValidity, parseAmdCert, readAmdExtensions, verifyIssuedBy, type AmdCert, type AmdExtensions } from './certs.js';
import { decodeSnpEvidence, type DecodedSnpEvidence } from './evidence.js';
import {
  SNP_MAX_VERSION,
  SNP_MIN_VERSION,
  SNP_REPORT_SIZE,
  SNP_SIG_ALGO_ECDSA_P384_SHA384,
  checkSnpReportFormat,
  parseSnpReport,
  tcbLayoutFor,
  type SnpReport,
} from './parse.js';
import { SNP_PRODUCTS, amdRoots, type SnpProduct } from './roots.js';

class Checks {
  readonly list: Check[] = [];
  add(name: string, ok: boolean, detail: string, code?: ErrorCode): boolean {
    const c: Check = { name, ok, detail };
    if (!ok && code !== undefined) c.code = code;
    this.list.push(c);
    return ok;
  }
  result(claims?: Claims): VerificationResult {
    const r: VerificationResult = { ok: this.list.length > 0 && this.list.every((c) => c.ok), platform: 'snp', checks: this.list };
    if (claims) r.claims = claims;
    return r;
  }
}

interface Anchor {
  product: SnpProduct;
  simulated: boolean;
  ark: AmdCert;
  /** ASK for a VCEK, ASVK for a VLEK. */
  intermediate: AmdCert;
}

interface ChainOutcome {
  anchor?: Anchor;
  detail: string;
}

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Anchors to try, bundled real roots first, then the caller's simulated ones. */
function candidateAnchors(products: readonly SnpProduct[], signer: 'vcek' | 'vlek', sim: TrustAnchors | undefined, problems: string[]): Anchor[] {
  const out: Anchor[] = [];
  const real = amdRoots();
  const interName = signer === 'vlek' ? 'asvk' : 'ask';
  for (const product of products) {
    const set = real[product];
    out.push({
      product,
      simulated: false,
      ark: parseAmdCert(set.ark, `bundled ${product} ARK`),
      intermediate: parseAmdCert(signer === 'vlek' ? set.asvk : set.ask, `bundled ${product} ${interName.toUpperCase()}`),
    });
  }
  for (const product of products) {
    const set = sim?.amd?.[product];
    if (!set) continue;
    const interDer = signer === 'vlek' ? set.asvk : set.ask;
    if (!interDer) {
      problems.push(`simulated ${product} anchors have no ${interName.toUpperCase()}`);
      continue;
    }
    try {
      out.push({
        product,
        simulated: true,
        ark: parseAmdCert(set.ark, `simulated ${product} ARK`),
        intermediate: parseAmdCert(interDer, `simulated ${product} ${interName.toUpperCase()}`),
      });
    } catch (e) {
      problems.push(errMsg(e));
    }
  }
  return out;
}

/** Step 4: the first anchor under which ARK (self-signed) -> intermediate -> leaf all verify. */
function buildChain(leaf: AmdCert, products: readonly SnpProduct[], signer: 'vcek' | 'vlek', params: VerifyParams): ChainOutcome {
  const problems: string[] = [];
  const anchors = candidateAnchors(products, signer, params.simulatedAnchors, problems);
  for (const a of anchors) {
    const steps = [verifyIssuedBy(leaf, a.intermediate), verifyIssuedBy(a.intermediate, a.ark), verifyIssuedBy(a.ark, a.ark)];
    const bad = steps.find((s) => !s.ok);
    if (!bad) {
      return {
        anchor: a,
        detail: `${leaf.commonName} -> ${a.intermediate.commonName} -> ${a.ark.commonName} (${a.simulated ? 'SIMULATED test root' : 'bundled AMD root'}, ${a.product}); ${steps.map((s) => s.detail).join('; ')}`,
      };
    }
    problems.push(`${a.simulated ? 'simulated' : 'AMD'} ${a.product}: ${bad.detail}`);
  }
  return { detail: `${leaf.commonName || 'leaf'} does not chain to a trusted ${signer === 'vlek' ? 'ASVK' : 'ASK'}/ARK (tried ${products.join(', ')}): ${problems.join(' | ')}` };
}

const reportSigCache = new Map<string, { ok: boolean; detail: string }>();

/**
 * Step 7, cached by (SHA-256 of the whole report, leaf fingerprint): the outcome is a
 * pure function of those bytes, and ECDSA P-384 verification is most of the cost of a
 * warm verification.
 */
function checkReportSignature(r: SnpReport, leaf: AmdCert): { ok: boolean; detail: string } {
  const key = `${createHash('sha256').update(r.raw).digest('hex')}:${leaf.fingerprint}`;
  const hit = reportSigCache.get(key);
  if (hit) return hit;
  const res = checkReportSignatureUncached(r, leaf);
  if (reportSigCache.size >= 4096) reportSigCache.clear();
  reportSigCache.set(key, res);
  return res;
}

/** Step 7: ECDSA P-384 / SHA-384 over bytes 0x000-0x29F. */
function checkReportSignatureUncached(r: SnpReport, leaf: AmdCert): { ok: boolean; detail: string } {
  if (r.signatureAlgo !== SNP_SIG_ALGO_ECDSA_P384_SHA384) {
    return { ok: false, detail: `SIGNATURE_ALGO is ${r.signatureAlgo}, only 1 (ECDSA P-384 SHA-384) is defined` };
  }
  if (r.signerInfo.maskChipKey) return { ok: false, detail: 'MASK_CHIP_KEY is set: the firmware did not sign this report' };
  if (!r.signature.highBytesZero) return { ok: false, detail: 'signature R or S has non-zero bytes above bit 384' };
  if (!r.signature.reservedZero) return { ok: false, detail: 'reserved bytes 0x330-0x49F of the signature field are not zero (unsigned bytes may not vary)' };
  if (leaf.keyDescription !== 'ec:secp384r1') return { ok: false, detail: `${leaf.commonName} key is ${leaf.keyDescription}, not P-384` };
  let ok = false;
  try {
    const sig = new Uint8Array(96);
    sig.set(r.signature.r, 0);
    sig.set(r.signature.s, 48);
    ok = cryptoVerify('sha384', r.signedBytes, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
  } catch (e) {
    return { ok: false, detail: `ECDSA verification error: ${errMsg(e)}` };
  }
  return ok
    ? { ok: true, detail: `ECDSA P-384 SHA-384 signature over bytes 0x000-0x29F verifies with ${leaf.commonName}` }
    : { ok: false, detail: `ECDSA P-384 SHA-384 signature over bytes 0x000-0x29F does not verify with ${leaf.commonName}` };
}

/** Step 6a: SPLs in the certificate equal REPORTED_TCB. */
function checkTcb(r: SnpReport, ext: AmdExtensions, product: SnpProduct | undefined): { ok: boolean; detail: string } {
  const t = r.reportedTcb;
  const pairs: Array<[string, number | undefined, number]> = [
    ['bootloader', ext.bootloader, t.bootloader],
    ['tee', ext.tee, t.tee],
    ['snp', ext.snp, t.snp],
    ['microcode', ext.microcode, t.microcode],
  ];
  const bad: string[] = [];
  for (const [name, cert, rep] of pairs) {
    if (cert === undefined) bad.push(`${name}: certificate has no SPL extension`);
    else if (cert !== rep) bad.push(`${name}: certificate ${cert} != report ${rep}`);
  }
  if (product === 'turin') {
    // Turin adds the FMC SPL. A certificate without it can only vouch for FMC 0.
    if (ext.fmc !== undefined && ext.fmc !== t.fmc) bad.push(`fmc: certificate ${ext.fmc} != report ${t.fmc}`);
    if (ext.fmc === undefined && t.fmc !== 0) bad.push(`fmc: report ${t.fmc} but certificate has no fmcSPL extension`);
  }
  for (const e of ext.errors) bad.push(`undecodable extension ${e}`);
  const shown = pairs.map(([n, , v]) => `${n}=${v}`).join(' ') + (t.fmc !== undefined ? ` fmc=${t.fmc}` : '');
  return bad.length === 0
    ? { ok: true, detail: `REPORTED_TCB ${shown} (raw ${t.raw}, ${r.tcbLayout} layout) matches the certificate SPLs` }
    : { ok: false, detail: `REPORTED_TCB ${shown} (raw ${t.raw}, ${r.tcbLayout} layout) disagrees with the certificate: ${bad.join('; ')}` };
}

/** Step 6b: hwID = CHIP_ID for a VCEK; no hwID on a VLEK. */
function checkChipId(r: SnpReport, ext: AmdExtensions, signer: 'vcek' | 'vlek'): { ok: boolean; detail: string } {
  if (signer === 'vlek') {
    return ext.hwId === undefined
      ? { ok: true, detail: 'VLEK carries no hwID (not bound to one chip); CHIP_ID not compared' }
      : { ok: false, detail: 'VLEK certificate unexpectedly carries a hwID extension' };
  }
  if (ext.hwId === undefined) return { ok: false, detail: 'VCEK has no hwID extension (1.3.6.1.4.1.3704.1.4)' };
  return bytesEqual(ext.hwId, r.chipId)
    ? { ok: true, detail: `VCEK hwID equals CHIP_ID ${toHex(r.chipId).slice(0, 16)}...` }
    : { ok: false, detail: `VCEK hwID ${toHex(ext.hwId).slice(0, 16)}... differs from report CHIP_ID ${toHex(r.chipId).slice(0, 16)}...` };
}

function assertParams(params: VerifyParams): void {
  if (typeof params !== 'object' || params === null || !(params.at instanceof Date) || Number.isNaN(params.at.getTime())) {
    throw new VeriteeError('INPUT_TIME_INVALID', 'SNP verification needs params.at, a valid Date (the verification time)');
  }
}

/** Verifies SNP evidence. Throws only for invalid `params`; evidence problems are failed checks. */
export async function verifySnpEvidence(envelope: EvidenceEnvelope | unknown, params: VerifyParams): Promise<VerificationResult> {
  assertParams(params);
  const checks = new Checks();

  // 1. envelope, size, version
  let ev: DecodedSnpEvidence;
  try {
    ev = decodeSnpEvidence(envelope);
  } catch (e) {
    checks.add('snp.evidence', false, errMsg(e), isVeriteeError(e) ? e.code : 'ATTEST_EVIDENCE_INVALID');
    return checks.result();
  }
  checks.add(
    'snp.evidence',
    true,
    `SNP envelope with a ${ev.report.length}-byte report` +
      (ev.leaf ? ` and a ${ev.leaf.key.toUpperCase()} certificate` : ' and no certificate') +
      (ev.ignored.length ? `; host-supplied ${ev.ignored.join('/')} ignored (bundled roots are used)` : ''),
  );
  try {
    checkSnpReportFormat(ev.report);
  } catch (e) {
    const code = isVeriteeError(e) ? e.code : 'ATTEST_EVIDENCE_INVALID';
    checks.add(code === 'ATTEST_REPORT_VERSION' ? 'snp.report_version' : 'snp.report_size', false, errMsg(e), code);
    return checks.result();
  }
  checks.add('snp.report_size', true, `report is ${SNP_REPORT_SIZE} (0x4A0) bytes`);

  // 2. parse
  let report: SnpReport;
  try {
    report = parseSnpReport(ev.report);
  } catch (e) {
    checks.add('snp.parse', false, errMsg(e), isVeriteeError(e) ? e.code : 'ATTEST_EVIDENCE_INVALID');
    return checks.result();
  }
  checks.add('snp.report_version', true, `report version ${report.version} (supported ${SNP_MIN_VERSION}..${SNP_MAX_VERSION})`);
  const cpuidText = report.cpuid
    ? `CPUID family 0x${report.cpuid.family.toString(16)} model 0x${report.cpuid.model.toString(16)} stepping 0x${report.cpuid.stepping.toString(16)}` +
      (report.product ? ` = ${report.product}` : ' (unknown product)')
    : 'no CPUID fields (v2)';
  checks.add('snp.parse', true, `parsed all fields; ${cpuidText}`);

  // 3. signer
  const sk = report.signerInfo.signingKey;
  const signer: 'vcek' | 'vlek' = sk === 'vlek' ? 'vlek' : sk === 'vcek' ? 'vcek' : (ev.leaf?.key ?? 'vcek');
  let leaf: AmdCert | undefined;
  let leafProblem: string | undefined;
  let leafCode: ErrorCode = 'ATTEST_COLLATERAL_MISSING';
  if (!ev.leaf) {
    leafProblem = 'evidence carries no VCEK/VLEK certificate (fetching from AMD KDS is not done by this verifier)';
  } else {
    try {
      leaf = parseAmdCert(ev.leaf.der, `evidence ${ev.leaf.key.toUpperCase()}`);
    } catch (e) {
      leafProblem = errMsg(e);
      leafCode = 'ATTEST_EVIDENCE_INVALID';
    }
  }
  {
    const problems: string[] = [];
    if (sk !== 'vcek' && sk !== 'vlek') problems.push(`SIGNING_KEY is ${sk} (signer info 0x${report.signerInfo.raw.toString(16)}); only VCEK (0) and VLEK (1) sign reports`);
    if (sk === 'vcek' && ev.leaf?.key === 'vlek') problems.push('report is VCEK-signed but the evidence supplies a VLEK');
    if (leaf) {
      const cnKind = /VLEK/i.test(leaf.commonName) ? 'vlek' : /VCEK/i.test(leaf.commonName) ? 'vcek' : undefined;
      if (cnKind !== undefined && cnKind !== signer) problems.push(`report names ${signer.toUpperCase()} but the certificate is "${leaf.commonName}"`);
    }
    if (leafProblem) problems.push(leafProblem);
    const code: ErrorCode = leafProblem && problems.length === 1 ? leafCode : 'ATTEST_EVIDENCE_INVALID';
    checks.add(
      'snp.signer',
      problems.length === 0,
      problems.length === 0 ? `signed by ${signer.toUpperCase()} (SIGNING_KEY ${sk === 'vlek' ? 1 : 0}): ${leaf!.subject}` : problems.join('; '),
      code,
    );
  }

  // 4. chain to a trusted root
  const products: readonly SnpProduct[] = report.product ? [report.product] : SNP_PRODUCTS;
  let chain: ChainOutcome = { detail: leafProblem ?? 'no leaf certificate' };
  if (leaf) {
    try {
      chain = buildChain(leaf, products, signer, params);
    } catch (e) {
      chain = { detail: errMsg(e) };
    }
  }
  checks.add('snp.cert_chain', chain.anchor !== undefined, chain.detail, leaf ? 'ATTEST_CERT_CHAIN_INVALID' : leafCode);
  const anchor = chain.anchor;
  const product = anchor?.product ?? report.product;
  // A v2 report (no CPUID) is decoded with the Milan/Genoa layout; re-decode if the chain says Turin.
  if (anchor && tcbLayoutFor(anchor.product) !== report.tcbLayout) {
    report = parseSnpReport(ev.report, tcbLayoutFor(anchor.product));
  }
  const chainCerts: AmdCert[] = leaf ? (anchor ? [leaf, anchor.intermediate, anchor.ark] : [leaf]) : [];

  // 5. validity at `at`
  if (chainCerts.length === 0) {
    checks.add('snp.cert_validity', false, `no certificate to check at ${params.at.toISOString()}`, leafCode);
  } else {
    const v = chainCerts.map((c) => checkValidity(c, params.at));
    const bad = v.filter((x) => !x.ok);
    const scope = anchor ? '' : ' (leaf only: no trusted chain was found)';
    checks.add(
      'snp.cert_validity',
      bad.length === 0,
      bad.length === 0 ? `all certificates valid at ${params.at.toISOString()}${scope}` : `certificate expired or not yet valid${scope}: ${bad.map((x) => x.detail).join('; ')}`,
      'ATTEST_CERT_EXPIRED',
    );
  }

  // 6. certificate extensions vs report
  let ext: AmdExtensions | undefined;
  if (leaf) ext = readAmdExtensions(leaf);
  if (!ext) {
    checks.add('snp.tcb', false, 'no certificate to compare REPORTED_TCB with', leafCode);
    checks.add('snp.chip_id', false, 'no certificate to compare CHIP_ID with', leafCode);
  } else {
    const t = checkTcb(report, ext, product);
    checks.add('snp.tcb', t.ok, t.detail, 'ATTEST_TCB_MISMATCH');
    const c = checkChipId(report, ext, signer);
    checks.add('snp.chip_id', c.ok, c.detail, 'ATTEST_TCB_MISMATCH');
    if (product === undefined) {
      checks.add('snp.product', false, `product unknown: ${cpuidText}, and no trusted chain names one`, 'ATTEST_CERT_CHAIN_INVALID');
    } else if (ext.productName === undefined) {
      checks.add('snp.product', false, `${leaf!.commonName} has no productName extension (1.3.6.1.4.1.3704.1.2)`, 'ATTEST_TCB_MISMATCH');
    } else {
      const ok = ext.productName.toLowerCase().startsWith(product);
      checks.add(
        'snp.product',
        ok,
        ok ? `product ${product}; certificate productName "${ext.productName}"` : `certificate productName "${ext.productName}" is not ${product}`,
        'ATTEST_TCB_MISMATCH',
      );
    }
  }

  // 7. report signature
  if (!leaf) {
    checks.add('snp.signature', false, 'no certificate to verify the report signature with', leafCode);
  } else {
    const s = checkReportSignature(report, leaf);
    checks.add('snp.signature', s.ok, s.detail, 'ATTEST_SIGNATURE_INVALID');
  }

  // 8. report data binding
  if (params.expectedReportData !== undefined) {
    const exp = params.expectedReportData;
    if (!(exp instanceof Uint8Array) || exp.length !== 64) {
      checks.add(
        'snp.report_data',
        false,
        `expected report data must be 64 bytes, got ${exp instanceof Uint8Array ? exp.length : typeof exp}`,
        'ATTEST_REPORT_DATA_MISMATCH',
      );
    } else {
      const ok = bytesEqual(exp, report.reportData);
      checks.add(
        'snp.report_data',
        ok,
        ok ? 'REPORT_DATA equals the expected 64 bytes' : `REPORT_DATA ${toHex(report.reportData).slice(0, 32)}... differs from expected ${toHex(exp).slice(0, 32)}...`,
        'ATTEST_REPORT_DATA_MISMATCH',
      );
    }
  }

  const claims = buildSnpClaims(report, {
    signer,
    product: product ?? 'unknown',
    simulated: anchor?.simulated === true,
    chain: chainCerts,
    ...(ext ? { leafExtensions: ext } : {}),
  });
  return checks.result(claims);
}

/** The SEV-SNP platform verifier. */
export const snpVerifier: PlatformVerifier = {
  platform: 'snp',
  verify: (envelope, params) => verifySnpEvidence(envelope, params),
};
