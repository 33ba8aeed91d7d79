/**
 * @module dcap/tcb
 * TCB evaluation after Intel's Quote Verification Library (QVL):
 * - platform TCB level: the first level of the (signed, descending) TCB info whose SGX
 *   components and PCESVN are <= the PCK certificate's and, for TDX, whose TDX components
 *   are <= TEE_TCB_SVN (from index 2 when the TDX module major version TEE_TCB_SVN[1] > 0);
 * - TDX module identity: MRSIGNERSEAM / SEAMATTRIBUTES against `tdxModule` (major 0) or
 *   `tdxModuleIdentities["TDX_<major as 2 hex digits>"]`, whose levels rate TEE_TCB_SVN[0];
 * - QE identity: MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES (masked) of the QE report,
 *   and its ISVSVN rated by the identity's levels;
 * - convergence: an OutOfDate module or QE downgrades the platform status; Revoked wins.
 *
 * INVARIANT: no match is a failure (never a default status). `Revoked` and unknown statuses
 * fail the verifier's TCB check; every other status (including OutOfDate) passes it with the
 * status and advisory IDs reported, and the policy decides which statuses it accepts
 * (policy.ts `tdx.tcbStatuses`, default UpToDate only).
 */
import { fromHex, toHex, type ErrorCode } from '@veritee/core';
import type { IsvTcbLevel, QeIdentity, TcbInfo, TcbLevel } from './collateral.js';
import type { EnclaveReport } from './quote.js';

/** Statuses for which the platform runs the latest TCB (possibly needing configuration or software mitigations). */
export const LATEST_TCB_STATUSES: readonly string[] = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded'];

export const KNOWN_TCB_STATUSES: readonly string[] = [...LATEST_TCB_STATUSES, 'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked'];

export interface Rating {
  ok: boolean;
  status?: string;
  advisoryIds: string[];
  detail: string;
  code?: ErrorCode;
}

export interface PlatformTcbInput {
  /** 16 SGX TCB component SVNs from the PCK certificate. */
  sgxComponents: number[];
  pceSvn: number;
  /** TDX only: TEE_TCB_SVN from the TD report (16 bytes). */
  teeTcbSvn?: Uint8Array;
}

function geq(actual: ArrayLike<number>, required: number[], from = 0): boolean {
  if (actual.length !== required.length) return false;
  for (let i = from; i < required.length; i++) if (actual[i]! < required[i]!) return false;
  return true;
}

/** The first TCB level the platform meets, or undefined. */
export function matchPlatformTcbLevel(info: TcbInfo, p: PlatformTcbInput): TcbLevel | undefined {
  const tdx = p.teeTcbSvn !== undefined;
  const from = tdx && p.teeTcbSvn![1]! > 0 ? 2 : 0;
  for (const level of info.tcbLevels) {
    if (!geq(p.sgxComponents, level.sgxComponents)) continue;
    if (p.pceSvn < level.pceSvn) continue;
    if (tdx) {
      if (level.tdxComponents.length !== 16) continue;
      if (!geq(p.teeTcbSvn!, level.tdxComponents, from)) continue;
    }
    return level;
  }
  return undefined;
}

/** Rates the platform TCB; fails when no level matches. */
export function ratePlatformTcb(info: TcbInfo, p: PlatformTcbInput): Rating {
  const level = matchPlatformTcbLevel(info, p);
  const have = `SGX components [${p.sgxComponents.join(',')}] PCESVN ${p.pceSvn}${p.teeTcbSvn ? ` TEE_TCB_SVN ${toHex(p.teeTcbSvn)}` : ''}`;
  if (!level) {
    return {
      ok: false,
      code: 'ATTEST_TCB_OUTDATED',
      advisoryIds: [],
      detail: `no TCB level of TCB info (FMSPC ${info.fmspc}, evaluation data ${info.tcbEvaluationDataNumber}) matches ${have}`,
    };
  }
  return { ok: true, status: level.tcbStatus, advisoryIds: level.advisoryIds, detail: `${have} matches the level of ${level.tcbDate}: ${level.tcbStatus}` };
}

function maskedEqual(actual: Uint8Array, expectedHex: string, maskHex: string): boolean {
  const expected = fromHex(expectedHex);
  const mask = fromHex(maskHex);
  if (actual.length !== expected.length || mask.length !== expected.length) return false;
  for (let i = 0; i < mask.length; i++) if ((actual[i]! & mask[i]!) !== (expected[i]! & mask[i]!)) return false;
  return true;
}

function rateIsv(levels: IsvTcbLevel[], isvsvn: number): IsvTcbLevel | undefined {
  return levels.find((l) => isvsvn >= l.isvsvn);
}

/** TDX module identity and TCB (TEE_TCB_SVN[0] = module SVN, [1] = module major version). */
export function rateTdxModule(info: TcbInfo, td: { teeTcbSvn: Uint8Array; mrSignerSeam: Uint8Array; seamAttributes: Uint8Array }): Rating {
  const major = td.teeTcbSvn[1]!;
  const moduleSvn = td.teeTcbSvn[0]!;
  if (major === 0) {
    const m = info.tdxModule;
    if (!m) return { ok: false, code: 'ATTEST_COLLATERAL_INVALID', advisoryIds: [], detail: 'TCB info has no tdxModule for a TDX 1.0 module' };
    if (toHex(td.mrSignerSeam) !== m.mrsigner) {
      return { ok: false, code: 'ATTEST_TCB_MISMATCH', advisoryIds: [], detail: `MRSIGNERSEAM ${toHex(td.mrSignerSeam)} differs from TCB info tdxModule.mrsigner ${m.mrsigner}` };
    }
    if (!maskedEqual(td.seamAttributes, m.attributes, m.attributesMask)) {
      return { ok: false, code: 'ATTEST_TCB_MISMATCH', advisoryIds: [], detail: `SEAMATTRIBUTES ${toHex(td.seamAttributes)} differ from ${m.attributes} under mask ${m.attributesMask}` };
    }
    return { ok: true, advisoryIds: [], detail: `TDX module major 0 SVN ${moduleSvn}: MRSIGNERSEAM and SEAMATTRIBUTES match tdxModule` };
  }
  const id = `TDX_${major.toString(16).toUpperCase().padStart(2, '0')}`;
  const ident = info.tdxModuleIdentities.find((x) => x.id.toUpperCase() === id);
  if (!ident) return { ok: false, code: 'ATTEST_TCB_MISMATCH', advisoryIds: [], detail: `TCB info has no TDX module identity ${id}` };
  if (toHex(td.mrSignerSeam) !== ident.mrsigner) {
    return { ok: false, code: 'ATTEST_TCB_MISMATCH', advisoryIds: [], detail: `MRSIGNERSEAM ${toHex(td.mrSignerSeam)} differs from ${id}.mrsigner ${ident.mrsigner}` };
  }
  if (!maskedEqual(td.seamAttributes, ident.attributes, ident.attributesMask)) {
    return { ok: false, code: 'ATTEST_TCB_MISMATCH', advisoryIds: [], detail: `SEAMATTRIBUTES ${toHex(td.seamAttributes)} differ from ${id}.attributes ${ident.attributes}` };
  }
  const level = rateIsv(ident.tcbLevels, moduleSvn);
  if (!level) {
    return { ok: false, code: 'ATTEST_TCB_OUTDATED', advisoryIds: [], detail: `TDX module ${id} SVN ${moduleSvn} is below every level of the TCB info` };
  }
  return { ok: true, status: level.tcbStatus, advisoryIds: level.advisoryIds, detail: `TDX module ${id} SVN ${moduleSvn}: ${level.tcbStatus} (level of ${level.tcbDate})` };
}

/** QE report against the QE identity (`TD_QE` for TDX quotes). */
export function rateQeIdentity(ident: QeIdentity, qe: EnclaveReport, expectedId: 'TD_QE' | 'QE'): Rating {
  const fail = (code: ErrorCode, detail: string): Rating => ({ ok: false, code, advisoryIds: [], detail });
  if (ident.id !== expectedId || ident.version < 2) return fail('ATTEST_COLLATERAL_INVALID', `QE identity is ${ident.id} v${ident.version}, expected ${expectedId} v2 or later`);
  if (toHex(qe.mrSigner) !== ident.mrsigner) return fail('ATTEST_TCB_MISMATCH', `QE MRSIGNER ${toHex(qe.mrSigner)} differs from the QE identity's ${ident.mrsigner}`);
  if (qe.isvProdId !== ident.isvprodid) return fail('ATTEST_TCB_MISMATCH', `QE ISVPRODID ${qe.isvProdId} differs from the QE identity's ${ident.isvprodid}`);
  if (((qe.miscSelect & ident.miscselectMask) >>> 0) !== ((ident.miscselect & ident.miscselectMask) >>> 0)) {
    return fail('ATTEST_TCB_MISMATCH', `QE MISCSELECT ${qe.miscSelect.toString(16)} differs under mask ${ident.miscselectMask.toString(16)}`);
  }
  if (!maskedEqual(qe.attributes, ident.attributes, ident.attributesMask)) {
    return fail('ATTEST_TCB_MISMATCH', `QE ATTRIBUTES ${toHex(qe.attributes)} differ from ${ident.attributes} under mask ${ident.attributesMask}`);
  }
  const level = rateIsv(ident.tcbLevels, qe.isvSvn);
  if (!level) return fail('ATTEST_TCB_OUTDATED', `QE ISVSVN ${qe.isvSvn} is below every level of the QE identity`);
  return {
    ok: true,
    status: level.tcbStatus,
    advisoryIds: level.advisoryIds,
    detail: `QE MRSIGNER, ISVPRODID ${qe.isvProdId}, MISCSELECT and ATTRIBUTES match ${ident.id}; ISVSVN ${qe.isvSvn}: ${level.tcbStatus}`,
  };
}

/** Folds a module or QE status into the platform status (Intel QVL convergence rules). */
export function convergeStatus(platform: string, other: string | undefined): string {
  if (other === undefined) return platform;
  if (other === 'Revoked' || platform === 'Revoked') return 'Revoked';
  if (other === 'OutOfDate') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  if (!KNOWN_TCB_STATUSES.includes(other)) return other; // unknown statuses propagate and fail
  return platform;
}

export function mergeAdvisories(...lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}

/** Whether the verifier's TCB check passes: a known status other than Revoked (policy decides the rest). */
export function isAcceptableTcbStatus(status: string): boolean {
  return KNOWN_TCB_STATUSES.includes(status) && status !== 'Revoked';
}
