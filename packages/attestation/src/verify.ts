/**
 * @module verify
 * One call from evidence to verdict: `verifyEvidence(evidence, { policy, at })` decodes
 * the evidence (envelope object, envelope JSON, `Attestation-Report` header value or the
 * legacy base64(gzip(TDX quote)) header), runs the platform verifier, then every policy
 * check, and returns all checks with the ones that failed.
 *
 * THREAT MODEL: the evidence, including everything in the envelope, is attacker-chosen.
 * It is size-limited before it is parsed. The envelope's `platform` is only a routing
 * hint: the claims the verifier extracts must name the same platform. Simulated trust
 * anchors reach the platform verifier only when the policy sets `allowSimulated`.
 *
 * INVARIANT: `ok` is true only when every platform check and every policy check ran and
 * passed (fail closed). A check that cannot run (no claims, missing collateral, no
 * section for the platform in the policy) is a failed check.
 */
import { z } from 'zod';
import {
  bytesEqual,
  fromBase64,
  fromHex,
  fromUtf8,
  parseJsonStrict,
  toEpochMs,
  toHex,
  utf8,
  VeriteeError,
  type ErrorCode,
} from '@veritee/core';
import type { Check, Claims, EvidenceEnvelope, Platform, PlatformVerifier, TrustAnchors, VerifyParams } from './types.js';
import { parsePolicy, policyId, type Policy } from './policy.js';
import { BINDING_PART_BYTES, computeReportData, REPORT_DATA_BYTES } from './report-data.js';
import { hardwareOf, isCloudPlatform, providerOf } from './cloud/tags.js';
import { checkCloudPolicy, checkPcrPolicy } from './cloud/policy-checks.js';

/** Largest evidence accepted, in bytes (as JSON or header text), checked before parsing. */
export const MAX_EVIDENCE_BYTES = 1024 * 1024;

export const PLATFORMS: readonly Platform[] = ['snp', 'tdx', 'nvidia', 'az-snp', 'az-tdx', 'gcp-snp', 'gcp-tdx'];

/** Evidence as it arrives: an envelope, its JSON, an `Attestation-Report` header value, or bytes of any of these. */
export type EvidenceInput = EvidenceEnvelope | string | Uint8Array;

export interface VerifyEvidenceOptions {
  /** The appraisal policy (see policy.ts). */
  policy: Policy;
  /** Verification time: certificates, collateral and CRLs are checked at this instant. */
  at: Date | string | number;
  /** The verifier's 32-byte nonce (bytes or hex), bound into report data (report-data.ts). */
  nonce?: Uint8Array | string;
  /** SHA-256 of the enclave key's SPKI (32 bytes or hex), bound into report data. */
  publicKeyHash?: Uint8Array | string;
  /**
   * Raw expected report data (64 bytes; NVIDIA: the 32-byte SPDM nonce), for evidence bound
   * some other way. Checked in addition to the veritee binding; it satisfies no `require`.
   */
  expectedReportData?: Uint8Array | string;
  /** The simulated TEE's anchors. Offered to the verifier only if `policy.allowSimulated`. */
  simulatedAnchors?: TrustAnchors;
  /** TDX collateral for evidence that carries none (e.g. the legacy header). */
  collateral?: Record<string, unknown>;
  /** Override platform verifiers (tests, alternative implementations). */
  verifiers?: Partial<Record<Platform, PlatformVerifier>>;
  /** Size limit in bytes; default {@link MAX_EVIDENCE_BYTES}. */
  maxEvidenceBytes?: number;
}

/** AR4SI trust tiers, as used by EAR's `ear.status`. */
export type AppraisalStatus = 'affirming' | 'warning' | 'contraindicated';

/** AR4SI trustworthiness vector (draft-ietf-rats-ar4si); claims not made are absent. */
export interface TrustworthinessVector {
  'instance-identity'?: number;
  configuration?: number;
  executables?: number;
  hardware?: number;
  'runtime-opaque'?: number;
}

export interface AttestationResult {
  /** True only if every check passed. */
  ok: boolean;
  /** `unverified` when missing collateral is the only reason the evidence failed; never a pass. */
  status: 'verified' | 'failed' | 'unverified';
  platform: Platform;
  /** Verification time, RFC 3339. */
  at: string;
  /** Identifier of the policy applied (`veritee:policy/<name>`). */
  policyId: string;
  /** How the evidence arrived. */
  source: 'envelope' | 'header' | 'legacy-header';
  /** Every check, platform checks first, then `evidence.*` and `policy.*`. */
  checks: Check[];
  /** The checks that failed (empty when ok). */
  failures: Check[];
  claims?: Claims;
  /** The nonce that was bound, hex (goes into the result token's `eat_nonce`). */
  nonce?: string;
  /** AR4SI view of the checks, for the EAR result token. */
  appraisal: { status: AppraisalStatus; trustworthinessVector: TrustworthinessVector };
  /** The platform verifier's notes: facts that changed no verdict (e.g. unsigned trailing bytes ignored). */
  notes?: string[];
}

// ---- evidence decoding ---------------------------------------------------------------

const envelopeSchema = z.strictObject({
  platform: z.string(),
  evidence: z.record(z.string(), z.unknown()),
  collateral: z.record(z.string(), z.unknown()).optional(),
  /** Free text (e.g. the "SIMULATED" label of `veritee attest sim`); never trusted. */
  note: z.string().max(1000).optional(),
});

function tooLarge(size: number, max: number): VeriteeError {
  return new VeriteeError('INPUT_TOO_LARGE', `evidence is ${size} bytes, over the ${max}-byte limit`);
}

function validateEnvelope(value: unknown): EvidenceEnvelope {
  if (value !== null && typeof value === 'object' && 'platform' in value) {
    const p = (value as { platform: unknown }).platform;
    if (typeof p === 'string' && !PLATFORMS.includes(p as Platform)) {
      throw new VeriteeError('ATTEST_PLATFORM_UNSUPPORTED', `evidence platform "${p.slice(0, 40)}" is not one of ${PLATFORMS.join(', ')}`);
    }
  }
  const r = envelopeSchema.safeParse(value);
  if (!r.success) {
    const why = r.error.issues
      .slice(0, 5)
      .map((i) => (i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : `${i.path.join('.') || '(top)'}: ${i.message}`))
      .join('; ');
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `evidence envelope is malformed: ${why}`);
  }
  const env: EvidenceEnvelope = { platform: r.data.platform as Platform, evidence: r.data.evidence };
  if (r.data.collateral !== undefined) env.collateral = r.data.collateral;
  return env;
}

async function parseLegacy(value: string): Promise<EvidenceEnvelope> {
  const { parseLegacyAttestationHeader } = await import('./tdx/legacy-header.js');
  return parseLegacyAttestationHeader(value);
}

/**
 * Decodes any accepted evidence form into an envelope, enforcing the size limit first.
 * Throws INPUT_TOO_LARGE, INPUT_JSON_INVALID, ATTEST_EVIDENCE_INVALID or ATTEST_PLATFORM_UNSUPPORTED.
 */
export async function decodeEvidence(
  input: EvidenceInput,
  maxBytes = MAX_EVIDENCE_BYTES,
): Promise<{ envelope: EvidenceEnvelope; source: AttestationResult['source'] }> {
  if (input instanceof Uint8Array) {
    if (input.length > maxBytes) throw tooLarge(input.length, maxBytes);
    return decodeEvidence(fromUtf8(input), maxBytes);
  }
  if (typeof input === 'string') {
    // Cheap upper bound first (UTF-16 length <= 3x UTF-8 bytes), exact byte count next.
    if (input.length > maxBytes) throw tooLarge(input.length, maxBytes);
    const size = utf8(input).length;
    if (size > maxBytes) throw tooLarge(size, maxBytes);
    const text = input.trim();
    if (text.length === 0) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'evidence is empty');
    if (text.startsWith('{')) {
      // Strict: a duplicate key ("platform" twice) or deep nesting is refused, not last-wins.
      const doc = parseJsonStrict(text, { what: 'evidence' });
      return { envelope: validateEnvelope(doc), source: 'envelope' };
    }
    // A header value: base64url(envelope JSON), or the legacy base64(gzip(raw TDX quote)).
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(text, 'Attestation-Report header');
    } catch {
      throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'evidence is neither JSON nor a base64 Attestation-Report header value');
    }
    if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      return { envelope: await parseLegacy(text), source: 'legacy-header' };
    }
    if (bytes.length > 0 && bytes[0] === 0x7b /* { */) {
      let json: string;
      try {
        json = fromUtf8(bytes);
      } catch (e) {
        throw new VeriteeError('INPUT_JSON_INVALID', `Attestation-Report header does not hold UTF-8 JSON: ${(e as Error).message}`);
      }
      return { envelope: validateEnvelope(parseJsonStrict(json, { what: 'Attestation-Report header JSON' })), source: 'header' };
    }
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'Attestation-Report header holds neither an envelope (JSON) nor a gzip-compressed TDX quote');
  }
  if (input === null || typeof input !== 'object') {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `evidence must be an envelope object or a string, not ${input === null ? 'null' : typeof input}`);
  }
  let json: string;
  try {
    json = JSON.stringify(input);
  } catch (e) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `evidence envelope is not serialisable: ${(e as Error).message}`);
  }
  if (json.length > maxBytes) throw tooLarge(json.length, maxBytes);
  return { envelope: validateEnvelope(input), source: 'envelope' };
}

// ---- platform dispatch -----------------------------------------------------------------

/** Loads a platform verifier on first use (the TDX verifier pulls in DCAP code). */
export async function platformVerifier(platform: Platform): Promise<PlatformVerifier> {
  switch (platform) {
    case 'snp':
      return (await import('./snp/index.js')).snpVerifier;
    case 'tdx':
      return (await import('./tdx/index.js')).tdxVerifier;
    case 'nvidia':
      return (await import('./nvidia/index.js')).nvidiaVerifier;
    case 'az-snp':
    case 'az-tdx':
    case 'gcp-snp':
    case 'gcp-tdx':
      return (await import('./cloud/index.js')).cloudVerifier(platform);
    default:
      throw new VeriteeError('ATTEST_PLATFORM_UNSUPPORTED', `no verifier for platform ${String(platform)}`);
  }
}

function bytesOpt(v: Uint8Array | string | undefined, len: number | number[], what: string): Uint8Array | undefined {
  if (v === undefined) return undefined;
  const b = typeof v === 'string' ? fromHex(v, what) : v;
  const lens = Array.isArray(len) ? len : [len];
  if (!(b instanceof Uint8Array) || !lens.includes(b.length)) {
    throw new VeriteeError('INPUT_INVALID', `${what} must be ${lens.join(' or ')} bytes (got ${b instanceof Uint8Array ? b.length : typeof b})`);
  }
  return b;
}

// ---- policy checks ------------------------------------------------------------------------

const pass = (name: string, detail: string): Check => ({ name, ok: true, detail });
const fail = (name: string, code: ErrorCode, detail: string): Check => ({ name, ok: false, detail, code });
const short = (hex: string) => (hex.length > 24 ? `${hex.slice(0, 16)}…${hex.slice(-8)}` : hex);

interface Binding {
  nonce?: Uint8Array;
  publicKeyHash?: Uint8Array;
  raw?: Uint8Array;
}

interface PolicyFacts {
  measurementPinned: boolean;
  tcbWarning: boolean;
  bindingChecked: boolean;
}

function allowed(list: 'any' | string[] | undefined, value: string | undefined): 'any' | boolean {
  if (list === 'any') return 'any';
  if (list === undefined || value === undefined) return false;
  return list.includes(value.toLowerCase());
}

function checkMeasurement(policy: Policy, c: Claims, facts: PolicyFacts): Check {
  const name = 'policy.measurement';
  const bad: string[] = [];
  const ok: string[] = [];
  const test = (label: string, list: 'any' | string[] | undefined, value: string | undefined, required: boolean) => {
    if (list === undefined && !required) return;
    if (list !== undefined && list !== 'any') facts.measurementPinned = true;
    const r = allowed(list, value);
    if (r === 'any') ok.push(`${label} any`);
    else if (r) ok.push(`${label} ${short(value!)} allowed`);
    else if (list === undefined) bad.push(`policy lists no allowed ${label}`);
    else if (value === undefined) bad.push(`${label} missing from the evidence`);
    else bad.push(`${label} ${value} is not among the ${list.length} allowed`);
  };
  switch (c.platform) {
    case 'snp': {
      const s = policy.snp;
      test('launch measurement', s?.measurements, c.measurement, true);
      test('host data', s?.hostData, c.hostData, false);
      break;
    }
    case 'tdx': {
      const t = policy.tdx;
      test('MRTD', t?.mrtd, c.measurement, true);
      for (const r of ['rtmr0', 'rtmr1', 'rtmr2', 'rtmr3'] as const) test(r.toUpperCase(), t?.[r], c.measurements[r], false);
      test('MRCONFIGID', t?.mrConfigId, c.hostData, false);
      break;
    }
    case 'nvidia': {
      const ref = policy.nvidia?.measurements;
      if (ref === undefined) bad.push('policy lists no GPU reference measurements');
      else if (ref === 'any') ok.push('GPU measurements any');
      else {
        facts.measurementPinned = true;
        for (const [index, values] of Object.entries(ref)) {
          const v = c.measurements[`gpu.${index}`] ?? c.measurements[index];
          if (v === undefined) bad.push(`GPU measurement block ${index} missing from the evidence`);
          else if (!values.includes(v.toLowerCase())) bad.push(`GPU block ${index} = ${short(v)} does not match its ${values.length} reference value(s)`);
        }
        if (bad.length === 0) ok.push(`${Object.keys(ref).length} GPU measurement block(s) match their reference values`);
      }
      break;
    }
  }
  return bad.length ? fail(name, 'ATTEST_MEASUREMENT_MISMATCH', bad.join('; ')) : pass(name, ok.join('; '));
}

function checkTcb(policy: Policy, c: Claims, facts: PolicyFacts): Check {
  const name = 'policy.tcb';
  if (c.platform === 'snp') {
    const min = policy.snp?.minTcb ?? {};
    const entries = Object.entries(min).filter(([, v]) => v !== undefined) as [string, number][];
    if (entries.length === 0) return pass(name, 'policy sets no minimum SNP TCB');
    const bad: string[] = [];
    for (const [comp, minimum] of entries) {
      const got = c.tcb.components.find((x) => x.name === comp);
      if (got === undefined) bad.push(`${comp} missing from the reported TCB (minimum ${minimum})`);
      else if (got.value < minimum) bad.push(`${comp} ${got.value} < minimum ${minimum}`);
    }
    const shown = c.tcb.components.map((x) => `${x.name}=${x.value}`).join(' ');
    return bad.length ? fail(name, 'ATTEST_TCB_OUTDATED', `reported TCB below policy: ${bad.join('; ')}`) : pass(name, `reported TCB ${shown} meets the policy minimum`);
  }
  if (c.platform === 'tdx') {
    const t = policy.tdx;
    const statuses: readonly string[] = t?.tcbStatuses ?? ['UpToDate'];
    const status = c.tcb.status;
    if (status === undefined) return tdxTcbUnknown(name, c);
    if (!statuses.includes(status)) {
      return fail(name, 'ATTEST_TCB_OUTDATED', `TCB status ${status} is not accepted (policy accepts ${statuses.join(', ')})`);
    }
    const advisories = c.tcb.advisoryIds ?? [];
    const tolerated = t?.allowedAdvisoryIds ?? [];
    const refused = tolerated === 'any' ? [] : advisories.filter((a) => !tolerated.includes(a));
    if (refused.length) return fail(name, 'ATTEST_TCB_OUTDATED', `TCB status ${status} with advisories not allowed by the policy: ${refused.join(', ')}`);
    if (status !== 'UpToDate' || advisories.length) facts.tcbWarning = true;
    return pass(name, `TCB status ${status}${advisories.length ? ` (advisories ${advisories.join(', ')} allowed)` : ''} accepted`);
  }
  return pass(name, `no TCB policy applies to ${c.platform}`);
}

/** policy.tcb for a TDX quote without a converged TCB status: says whether collateral was evaluated and what did not match. */
function tdxTcbUnknown(name: string, c: Claims): Check {
  const pd = c.platformData as { fmspc?: unknown; tcb?: Record<string, unknown> };
  const t = pd.tcb ?? {};
  if (t.collateralSource === undefined) {
    return fail(name, 'ATTEST_COLLATERAL_MISSING', 'TCB status unknown: no collateral was evaluated (TCB info and QE identity are missing or unusable; see tdx.collateral)');
  }
  const comp = (prefix: string) => c.tcb.components.filter((x) => x.name.startsWith(prefix)).map((x) => x.value);
  const sgx = comp('sgx.');
  const pcesvn = c.tcb.components.find((x) => x.name === 'pcesvn')?.value;
  const info = `TCB info${t.tcbInfoFmspc !== undefined ? ` for FMSPC ${String(t.tcbInfoFmspc)}` : ''}, evaluation data ${String(t.tcbEvaluationDataNumber ?? '?')}`;
  const platform =
    pd.fmspc === undefined
      ? 'no PCK certificate extension, so the platform TCB (FMSPC, SGX components, PCESVN) is unknown'
      : `platform FMSPC ${String(pd.fmspc)}, SGX TCB components [${sgx.join(',')}], PCESVN ${pcesvn ?? '?'}, TDX TEE_TCB_SVN [${comp('tdx.').join(',')}]`;
  let why: string;
  if (pd.fmspc === undefined) why = platform;
  else if (t.tcbInfoFmspc !== undefined && String(t.tcbInfoFmspc).toLowerCase() !== String(pd.fmspc).toLowerCase()) why = `the TCB info is for another platform (${platform})`;
  else if (t.platformStatus === undefined) why = `no TCB level matched: ${platform}`;
  else {
    const parts = [`platform TCB level ${String(t.platformStatus)}`];
    if (t.tdxModuleStatus === undefined) parts.push('TDX module identity not matched (see tdx.tdx_module)');
    if (t.qeStatus === undefined) parts.push('QE identity not matched (see tdx.qe_identity)');
    why = `${parts.join('; ')}; ${platform}`;
  }
  return fail(name, 'ATTEST_TCB_OUTDATED', `TCB status unknown: collateral was evaluated (${info}) but ${why}`);
}

function checkDebug(policy: Policy, c: Claims): Check {
  const name = 'policy.debug';
  if (!c.debug) return pass(name, 'debug mode is off');
  return policy.allowDebug
    ? pass(name, 'debug mode is on and the policy allows debug')
    : fail(name, 'ATTEST_DEBUG_REFUSED', `the ${c.platform} TEE runs in debug mode (its memory is readable by the host) and the policy does not allow debug`);
}

function checkVmpl(policy: Policy, c: Claims): Check {
  const name = 'policy.vmpl';
  if (c.platform !== 'snp') return pass(name, `VMPL does not apply to ${c.platform}`);
  const v = policy.snp?.vmpl;
  if (v === undefined) return pass(name, `VMPL ${c.vmpl ?? '?'} (policy sets no VMPL constraint)`);
  if (c.vmpl === undefined) return fail(name, 'ATTEST_POLICY_VIOLATION', 'the report carries no VMPL');
  if (v.exact !== undefined && c.vmpl !== v.exact) return fail(name, 'ATTEST_POLICY_VIOLATION', `report VMPL ${c.vmpl}, policy demands VMPL ${v.exact}`);
  if (v.max !== undefined && c.vmpl > v.max) return fail(name, 'ATTEST_POLICY_VIOLATION', `report VMPL ${c.vmpl}, policy allows at most VMPL ${v.max}`);
  return pass(name, `VMPL ${c.vmpl} satisfies ${v.exact !== undefined ? `exact ${v.exact}` : `max ${v.max}`}`);
}

function checkSigner(policy: Policy, c: Claims): Check {
  const name = 'policy.signer';
  const expected: Record<Claims['platform'], readonly string[]> = {
    snp: policy.snp?.signers ?? ['vcek', 'vlek'],
    tdx: ['pck'],
    nvidia: ['nvidia-device'],
  };
  const ok = expected[c.platform].includes(c.signer);
  return ok
    ? pass(name, `signed by ${c.signer}`)
    : fail(name, 'ATTEST_POLICY_VIOLATION', `signed by ${c.signer}; the policy accepts ${expected[c.platform].join(', ')} for ${c.platform}`);
}

function checkReportData(policy: Policy, c: Claims, b: Binding, facts: PolicyFacts): Check {
  const name = 'policy.report_data';
  const missing = policy.reportData.require.filter((r) => (r === 'nonce' ? b.nonce === undefined : b.publicKeyHash === undefined));
  const problems: string[] = missing.map((m) => `the policy requires a ${m === 'nonce' ? 'nonce' : 'public-key hash'} binding but none was supplied`);
  const width = c.platform === 'nvidia' ? BINDING_PART_BYTES : REPORT_DATA_BYTES;
  let actual: Uint8Array | undefined;
  try {
    actual = fromHex(c.reportData, 'claims.reportData');
  } catch {
    problems.push('the evidence report data is not hex');
  }
  const bound: string[] = [];
  if (actual !== undefined && (b.nonce !== undefined || b.publicKeyHash !== undefined)) {
    const expected = computeReportData(b).slice(0, width);
    const parts = [b.publicKeyHash ? 'public-key hash' : '', b.nonce ? 'nonce' : ''].filter(Boolean).join(' + ');
    if (bytesEqual(actual, expected)) bound.push(`report data binds the ${parts} (veritee.report-data/v1)`);
    else problems.push(`report data ${short(c.reportData)} does not bind the given ${parts}: expected ${short(toHex(expected))}`);
  }
  if (actual !== undefined && b.raw !== undefined) {
    if (bytesEqual(actual, b.raw)) bound.push('report data equals the expected value');
    else problems.push(`report data ${short(c.reportData)} differs from the expected ${short(toHex(b.raw))}`);
  }
  if (problems.length) return fail(name, 'ATTEST_REPORT_DATA_MISMATCH', problems.join('; '));
  if (bound.length) {
    facts.bindingChecked = true;
    return pass(name, bound.join('; '));
  }
  return pass(name, 'no binding required by the policy and none supplied (evidence freshness not checked)');
}

/** The platform checks that establish the chain to the vendor root (SNP/NVIDIA cert_chain, TDX pck_chain). */
const CHAIN_CHECK = /\.(cert_chain|pck_chain)$/;

function checkSimulated(policy: Policy, c: Claims, platformChecks: Check[]): Check {
  const name = 'policy.simulated';
  if (!c.simulated) {
    const chain = platformChecks.filter((k) => CHAIN_CHECK.test(k.name));
    const failed = chain.filter((k) => !k.ok).map((k) => k.name);
    if (chain.length > 0 && failed.length === 0) return pass(name, `evidence chains to genuine vendor roots (${chain.map((k) => k.name).join(', ')})`);
    return pass(
      name,
      failed.length > 0
        ? `not simulated (no test anchor was accepted), but the evidence does not chain to a genuine vendor root either: ${failed.join(', ')} failed`
        : 'not simulated (no test anchor was accepted); no certificate chain to a vendor root was checked',
    );
  }
  return policy.allowSimulated
    ? pass(name, 'SIMULATED evidence accepted because the policy sets allowSimulated (development only)')
    : fail(name, 'ATTEST_SIMULATED_REFUSED', 'the evidence is simulated (test trust anchors) and the policy does not allow simulated evidence');
}

// ---- appraisal (AR4SI) --------------------------------------------------------------------

function tierOf(v: number): number {
  if (v >= 96) return 3;
  if (v >= 32) return 2;
  if (v >= 2) return 1;
  return 0;
}

function worse(a: number | undefined, b: number): number {
  if (a === undefined) return b;
  const ta = tierOf(a);
  const tb = tierOf(b);
  return tb > ta || (tb === ta && b > a) ? b : a;
}

function appraise(checks: Check[], claims: Claims | undefined, ok: boolean, facts: PolicyFacts): AttestationResult['appraisal'] {
  const v: TrustworthinessVector = {};
  const set = (k: keyof TrustworthinessVector, x: number) => {
    v[k] = worse(v[k], x);
  };
  const platformOk = checks.filter((c) => !c.name.startsWith('policy.')).every((c) => c.ok);
  for (const c of checks) {
    if (c.ok) continue;
    switch (c.code) {
      case 'ATTEST_SIGNATURE_INVALID':
        set('hardware', 99);
        break;
      case 'ATTEST_TCB_OUTDATED':
        set('hardware', 96);
        break;
      case 'ATTEST_DEBUG_REFUSED':
        set('configuration', 96);
        set('runtime-opaque', 96);
        break;
      case 'ATTEST_REPORT_DATA_MISMATCH':
      case 'ATTEST_NONCE_INVALID':
        set('instance-identity', 97);
        break;
      case 'ATTEST_MEASUREMENT_MISMATCH':
      case 'ATTEST_PCR_MISMATCH':
        set('executables', 33);
        break;
      case 'ATTEST_SIMULATED_REFUSED':
        set('hardware', 97);
        break;
      case 'ATTEST_POLICY_VIOLATION':
        set('configuration', 96);
        break;
      default:
        set('hardware', 97);
    }
  }
  if (claims && platformOk) {
    set('hardware', claims.simulated ? 32 : facts.tcbWarning ? 32 : 2);
    if (!claims.debug && !claims.simulated) set('runtime-opaque', 2);
    set('configuration', 2);
    if (facts.measurementPinned) set('executables', 2);
    if (facts.bindingChecked) set('instance-identity', 2);
  }
  const tiers = Object.values(v).map(tierOf);
  const status: AppraisalStatus = !ok || tiers.includes(3) ? 'contraindicated' : tiers.includes(2) ? 'warning' : 'affirming';
  return { status, trustworthinessVector: v };
}

// ---- the pipeline -----------------------------------------------------------------------------

/**
 * Verifies evidence against a policy at a given time.
 *
 * 1. Size limit, then decode (envelope / JSON / header / legacy header).
 * 2. `policy.platform`: the envelope's platform is accepted by the policy.
 * 3. Platform verifier: signatures, certificate chain to the vendor root, collateral, TCB
 *    consistency, binding (the expected report data / SPDM nonce is passed to it).
 * 4. `evidence.platform`: the claims name the platform the envelope claimed.
 * 5. Policy checks on the claims: measurement, tcb, debug, vmpl, signer, report_data, simulated;
 *    `policy.cloud` and `policy.pcrs` when the policy sets them or the claims carry them
 *    (cloud variants, see cloud/verify.ts).
 *
 * Throws a VeriteeError only for bad input (oversize, malformed envelope, bad nonce hex);
 * every verification failure is a failed check in the result.
 *
 * @example
 * const r = await verifyEvidence(envelopeJson, { policy: loadPolicy('prod.yaml'), at: new Date(), nonce });
 * if (!r.ok) for (const f of r.failures) console.error(`${f.name}: ${f.detail}`);
 */
export async function verifyEvidence(input: EvidenceInput, opts: VerifyEvidenceOptions): Promise<AttestationResult> {
  if (opts.policy === undefined || opts.policy === null) {
    throw new VeriteeError('ATTEST_POLICY_INVALID', 'verifyEvidence needs a policy (parsePolicy / loadPolicy / productionPolicy)');
  }
  // Re-validated on every call (cheap): a policy assembled in code gets the same strictness
  // and defaults as a policy file, and later mutation of the caller's object cannot bypass it.
  const policy = parsePolicy(opts.policy, { source: 'options.policy' });
  if (opts.at === undefined) throw new VeriteeError('INPUT_TIME_INVALID', 'verifyEvidence needs an explicit verification time `at`');
  const at = new Date(toEpochMs(opts.at, 'verification time'));
  const binding: Binding = {};
  const nonce = bytesOpt(opts.nonce, BINDING_PART_BYTES, 'nonce');
  const pkh = bytesOpt(opts.publicKeyHash, BINDING_PART_BYTES, 'publicKeyHash');
  const raw = bytesOpt(opts.expectedReportData, [BINDING_PART_BYTES, REPORT_DATA_BYTES], 'expectedReportData');
  if (nonce) binding.nonce = nonce;
  if (pkh) binding.publicKeyHash = pkh;
  if (raw) binding.raw = raw;

  // 1. decode
  const { envelope, source } = await decodeEvidence(input, opts.maxEvidenceBytes ?? MAX_EVIDENCE_BYTES);
  if (hardwareOf(envelope.platform) === 'tdx' && envelope.collateral === undefined && opts.collateral !== undefined) {
    envelope.collateral = opts.collateral;
  }
  const platform = envelope.platform;
  const checks: Check[] = [];

  // 2. platform accepted by the policy
  const platformCheck = policy.platforms.includes(platform)
    ? pass('policy.platform', `platform ${platform} is accepted`)
    : fail('policy.platform', 'ATTEST_POLICY_VIOLATION', `platform ${platform} is not accepted by the policy (accepts ${policy.platforms.join(', ')})`);

  // 3. platform verifier
  const params: VerifyParams = { at };
  if (nonce || pkh) {
    const rd = computeReportData(binding);
    if (platform === 'nvidia') params.expectedNonce = rd.slice(0, BINDING_PART_BYTES);
    else params.expectedReportData = rd;
  } else if (raw) {
    if (platform === 'nvidia' && raw.length === BINDING_PART_BYTES) params.expectedNonce = raw;
    else if (platform !== 'nvidia' && raw.length === REPORT_DATA_BYTES) params.expectedReportData = raw;
  }
  if (policy.allowSimulated && opts.simulatedAnchors) params.simulatedAnchors = opts.simulatedAnchors;

  let claims: Claims | undefined;
  let notes: string[] | undefined;
  try {
    const verifier = opts.verifiers?.[platform] ?? (await platformVerifier(platform));
    const r = await verifier.verify(envelope, params);
    checks.push(...r.checks);
    claims = r.claims;
    if (r.notes !== undefined && r.notes.length > 0) notes = r.notes.slice(0, 20);
    if (!r.ok && !r.checks.some((c) => !c.ok)) {
      checks.push(fail(`${platform}.verify`, 'ATTEST_EVIDENCE_INVALID', `the ${platform} verifier rejected the evidence without naming a check`));
    }
    if (r.checks.length === 0) checks.push(fail(`${platform}.verify`, 'ATTEST_EVIDENCE_INVALID', `the ${platform} verifier ran no checks`));
  } catch (e) {
    if (e instanceof VeriteeError && e.info.exit === 2) throw e; // malformed input: the caller's error
    const code: ErrorCode = e instanceof VeriteeError ? e.code : 'ATTEST_EVIDENCE_INVALID';
    checks.push(fail(`${platform}.verify`, code, `the ${platform} verifier failed: ${(e as Error).message ?? String(e)}`));
  }

  // 4. claims consistent with the envelope
  if (claims !== undefined && claims.platform !== hardwareOf(platform)) {
    checks.push(fail('evidence.platform', 'ATTEST_EVIDENCE_INVALID', `the envelope says ${platform} but the evidence parsed as ${claims.platform}`));
  }
  if (claims !== undefined && claims.platform === hardwareOf(platform) && (claims.cloud?.tag ?? claims.platform) !== platform) {
    const named = isCloudPlatform(platform) ? `the ${providerOf(platform)} variant ${platform}` : `bare ${platform}`;
    checks.push(fail('evidence.cloud', 'ATTEST_EVIDENCE_INVALID', `the envelope says ${named} but the verifier's claims name ${claims.cloud ? claims.cloud.tag : 'no cloud variant'}`));
  }

  // 5. policy
  checks.push(platformCheck);
  const facts: PolicyFacts = { measurementPinned: false, tcbWarning: false, bindingChecked: false };
  if (claims === undefined) {
    checks.push(fail('policy.claims', 'ATTEST_POLICY_VIOLATION', 'policy checks not evaluated: the evidence yielded no claims'));
  } else {
    checks.push(
      checkMeasurement(policy, claims, facts),
      checkTcb(policy, claims, facts),
      checkDebug(policy, claims),
      checkVmpl(policy, claims),
      checkSigner(policy, claims),
      checkReportData(policy, claims, binding, facts),
      checkSimulated(policy, claims, checks),
    );
    const cloudCheck = checkCloudPolicy(policy, claims);
    if (cloudCheck) checks.push(cloudCheck);
    const pcrCheck = checkPcrPolicy(policy, claims);
    if (pcrCheck) {
      checks.push(pcrCheck.check);
      if (pcrCheck.pinned) facts.measurementPinned = true;
    }
  }

  const failures = checks.filter((c) => !c.ok);
  const ok = failures.length === 0;
  const result: AttestationResult = {
    ok,
    // unverified only when missing collateral is the sole reason: a missing PCK certificate,
    // a bad signature or a policy mismatch is a failure whatever collateral would say.
    status: ok ? 'verified' : failures.every((f) => f.code === 'ATTEST_COLLATERAL_MISSING') ? 'unverified' : 'failed',
    platform,
    at: at.toISOString(),
    policyId: policyId(policy),
    source,
    checks,
    failures,
    appraisal: appraise(checks, claims, ok, facts),
  };
  if (claims !== undefined) result.claims = claims;
  if (nonce !== undefined) result.nonce = toHex(nonce);
  if (notes !== undefined) result.notes = notes;
  return result;
}

/** One line per check, `✓ name: detail` / `✗ name: detail`, then the verdict. */
export function formatResult(r: AttestationResult): string {
  const lines = r.checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
  for (const n of r.notes ?? []) lines.push(`note: ${n}`);
  const verdict =
    r.status === 'verified'
      ? `PASS: ${r.platform} evidence satisfies ${r.policyId} at ${r.at}`
      : r.status === 'unverified'
        ? `UNVERIFIED: collateral missing; ${r.failures.length} check(s) failed`
        : `FAIL: ${r.failures.length} check(s) failed (${r.failures.map((f) => f.name).join(', ')})`;
  return [...lines, verdict].join('\n');
}
