/**
 * @module sim
 * DEVELOPMENT ONLY. A simulated TEE: SEV-SNP reports, TDX quotes (with collateral) and
 * NVIDIA SPDM evidence in the exact real binary formats, signed by a key hierarchy
 * generated at run time. The real verifiers check it unchanged; only the trust anchors
 * differ, and `verifyEvidence` offers those anchors to a verifier only when the policy
 * sets `allowSimulated: true`. Evidence produced here is marked `simulated` in the
 * claims and refused by every production policy.
 *
 * THREAT MODEL: anyone can run this and produce evidence for any measurement. Its
 * anchors must never be configured as trusted in production; nothing here is secret.
 *
 * @example
 * const tee = await SimulatedTee.create({ at: new Date() });
 * const envelope = tee.evidence('snp', { reportData: computeReportData({ nonce }) });
 * await verifyEvidence(envelope, { policy: devPolicy, at: new Date(), nonce, simulatedAnchors: tee.anchors });
 */
import { fromBase64, fromHex, toBase64, toEpochMs, VeriteeError } from '@veritee/core';
import type { EvidenceEnvelope, Platform, TrustAnchors } from '../types.js';
import { BINDING_PART_BYTES, computeReportData, REPORT_DATA_BYTES, type ReportDataInputs } from '../report-data.js';
import { createSimSnpAuthority, simSnpEvidence } from './snp.js';
import { createSimTdxAuthority, simTdxEvidence } from './tdx.js';
import { createSimNvidiaAuthority, simNvidiaEvidence } from './nvidia.js';
import { createSimAzureAuthority, simAzureSnpEvidence, simAzureTdxEvidence, type SimTpmOptions } from './cloud.js';
import { hardwareOf } from '../cloud/tags.js';
import { PLATFORMS } from '../verify.js';

type SnpAuthority = Awaited<ReturnType<typeof createSimSnpAuthority>>;
type TdxAuthority = Awaited<ReturnType<typeof createSimTdxAuthority>>;
type NvidiaAuthority = Awaited<ReturnType<typeof createSimNvidiaAuthority>>;
type AzureAuthority = Awaited<ReturnType<typeof createSimAzureAuthority>>;

type ReportDataInput = Uint8Array | string;
/** SNP overrides (measurement, hostData, debug, vmpl, signer, version) plus report data. */
export type SimSnpRequest = Omit<Parameters<typeof simSnpEvidence>[1], 'reportData'> & { reportData: ReportDataInput };
/** TDX overrides (mrtd, rtmrs, mrConfigId, debug, version) plus report data. */
export type SimTdxRequest = Omit<Parameters<typeof simTdxEvidence>[1], 'reportData'> & { reportData: ReportDataInput };
/** NVIDIA overrides (measurements) plus report data: the SPDM nonce is its first 32 bytes. */
export type SimNvidiaRequest = Omit<Parameters<typeof simNvidiaEvidence>[1], 'nonce'> & { reportData: ReportDataInput };
/**
 * az-snp / az-tdx: the SNP / TDX overrides, plus the vTPM's PCR overrides (index → 32 bytes or
 * hex) and signature form. `reportData` becomes the TPM quote's extraData; the hardware report
 * data is SHA-256 of the runtime claims, as on Azure.
 */
export type SimAzureRequest = (SimSnpRequest | SimTdxRequest) & Omit<SimTpmOptions, 'pcrs'> & { pcrs?: Record<number, Uint8Array | string> };

export interface SimulatedTeeOptions {
  /** Platforms to build authorities for (default snp, tdx, nvidia; cloud tags use their hardware's). */
  platforms?: Platform[];
  /** Centre of the certificates' validity window (default now): valid from `at` − 1 day to `at` + `validityDays`. */
  at?: Date | string | number;
  /** Certificate lifetime after `at`, in days (default 365). */
  validityDays?: number;
  /** AMD product of the simulated SNP chip (default milan). */
  snpProduct?: 'milan' | 'genoa' | 'turin';
  /** TCB status the simulated TDX collateral assigns (default UpToDate). */
  tdxTcbStatus?: 'UpToDate' | 'OutOfDate';
}

const DAY_MS = 86_400_000;

function reportDataBytes(v: ReportDataInput, what: string): Uint8Array {
  const b = typeof v === 'string' ? fromHex(v, what) : v;
  if (!(b instanceof Uint8Array)) throw new VeriteeError('INPUT_INVALID', `${what} must be bytes or hex`);
  return b;
}

function mergeAnchors(parts: TrustAnchors[]): TrustAnchors {
  const out: TrustAnchors = {};
  for (const a of parts) {
    if (a.amd) out.amd = { ...(out.amd ?? {}), ...a.amd };
    if (a.intelRoot) out.intelRoot = a.intelRoot;
    if (a.nvidiaRoot) out.nvidiaRoot = a.nvidiaRoot;
  }
  return out;
}

/** DEVELOPMENT ONLY: a simulated TEE for every platform, with its (untrusted) test anchors. */
export class SimulatedTee {
  /** Label carried by evidence files written from the simulator. */
  static readonly LABEL = 'SIMULATED veritee TEE evidence (development only; refused unless policy.allowSimulated)';

  /** The simulated trust anchors of every authority, merged. Pass as `simulatedAnchors`. */
  readonly anchors: TrustAnchors;
  readonly platforms: readonly Platform[];
  readonly notBefore: Date;
  readonly notAfter: Date;

  private constructor(
    private readonly snp: SnpAuthority | undefined,
    private readonly tdx: TdxAuthority | undefined,
    private readonly nvidia: NvidiaAuthority | undefined,
    private readonly azure: AzureAuthority | undefined,
    platforms: Platform[],
    notBefore: Date,
    notAfter: Date,
  ) {
    this.platforms = Object.freeze([...platforms]);
    this.notBefore = notBefore;
    this.notAfter = notAfter;
    this.anchors = mergeAnchors([snp?.anchors, tdx?.anchors, nvidia?.anchors].filter((a): a is TrustAnchors => a !== undefined));
  }

  /** Builds the key hierarchies (test ARK/ASK/VCEK/VLEK, Intel root/PCK/TCB signing, NVIDIA device chain). */
  static async create(opts: SimulatedTeeOptions = {}): Promise<SimulatedTee> {
    const platforms = opts.platforms ?? ['snp', 'tdx', 'nvidia'];
    for (const p of platforms) {
      if (!PLATFORMS.includes(p)) throw new VeriteeError('ATTEST_PLATFORM_UNSUPPORTED', `no simulator for platform ${String(p)}`);
    }
    const hw = new Set(platforms.map(hardwareOf));
    const at = toEpochMs(opts.at ?? Date.now(), 'simulator time');
    const notBefore = new Date(at - DAY_MS);
    const notAfter = new Date(at + (opts.validityDays ?? 365) * DAY_MS);
    const validity = { notBefore, notAfter };
    const [snp, tdx, nvidia, azure] = await Promise.all([
      hw.has('snp') ? createSimSnpAuthority({ ...validity, ...(opts.snpProduct ? { product: opts.snpProduct } : {}) }) : undefined,
      hw.has('tdx') ? createSimTdxAuthority({ ...validity, ...(opts.tdxTcbStatus ? { tcbStatus: opts.tdxTcbStatus } : {}) }) : undefined,
      hw.has('nvidia') ? createSimNvidiaAuthority(validity) : undefined,
      platforms.some((p) => p.startsWith('az-')) ? createSimAzureAuthority() : undefined,
    ]);
    return new SimulatedTee(snp, tdx, nvidia, azure, platforms, notBefore, notAfter);
  }

  /**
   * Simulated evidence for `platform` carrying `reportData` (64 bytes for SNP/TDX; for
   * NVIDIA the SPDM nonce is the first 32 bytes, or exactly the 32 given).
   */
  evidence(platform: 'snp', req: SimSnpRequest): EvidenceEnvelope;
  evidence(platform: 'tdx', req: SimTdxRequest): EvidenceEnvelope;
  evidence(platform: 'nvidia', req: SimNvidiaRequest): EvidenceEnvelope;
  evidence(platform: 'az-snp' | 'az-tdx', req: SimAzureRequest): EvidenceEnvelope;
  evidence(platform: 'gcp-snp', req: SimSnpRequest): EvidenceEnvelope;
  evidence(platform: 'gcp-tdx', req: SimTdxRequest): EvidenceEnvelope;
  evidence(platform: Platform, req: SimSnpRequest | SimTdxRequest | SimNvidiaRequest | SimAzureRequest): EvidenceEnvelope;
  evidence(platform: Platform, req: SimSnpRequest | SimTdxRequest | SimNvidiaRequest | SimAzureRequest): EvidenceEnvelope {
    const rd = reportDataBytes(req.reportData, 'reportData');
    switch (platform) {
      case 'gcp-snp':
      case 'gcp-tdx': {
        // The same evidence as snp / tdx: only the tag differs (it is the attester's claim).
        const inner = this.evidence(hardwareOf(platform), req as SimSnpRequest);
        return { ...inner, platform };
      }
      case 'az-snp':
      case 'az-tdx': {
        if (rd.length > REPORT_DATA_BYTES) throw new VeriteeError('INPUT_INVALID', `reportData is ${rd.length} bytes; at most ${REPORT_DATA_BYTES}`);
        const { pcrs: pcrIn, ...rest } = req as SimAzureRequest;
        const pcrs: Record<number, Uint8Array> = {};
        for (const [k, v] of Object.entries(pcrIn ?? {})) pcrs[Number(k)] = reportDataBytes(v, `pcrs[${k}]`);
        const azure = this.need(this.azure, platform);
        const full = { ...rest, reportData: rd, pcrs };
        return platform === 'az-snp'
          ? simAzureSnpEvidence(this.need(this.snp, platform), azure, full as Parameters<typeof simAzureSnpEvidence>[2])
          : simAzureTdxEvidence(this.need(this.tdx, platform), azure, full as Parameters<typeof simAzureTdxEvidence>[2]);
      }
      case 'snp':
      case 'tdx': {
        if (rd.length > REPORT_DATA_BYTES) throw new VeriteeError('INPUT_INVALID', `reportData is ${rd.length} bytes; at most ${REPORT_DATA_BYTES}`);
        const padded = new Uint8Array(REPORT_DATA_BYTES);
        padded.set(rd);
        if (platform === 'snp') return simSnpEvidence(this.need(this.snp, 'snp'), { ...(req as SimSnpRequest), reportData: padded });
        return simTdxEvidence(this.need(this.tdx, 'tdx'), { ...(req as SimTdxRequest), reportData: padded });
      }
      case 'nvidia': {
        if (rd.length !== BINDING_PART_BYTES && rd.length !== REPORT_DATA_BYTES) {
          throw new VeriteeError('INPUT_INVALID', `NVIDIA reportData must be 32 or 64 bytes (got ${rd.length})`);
        }
        const { reportData: _rd, ...rest } = req as SimNvidiaRequest;
        return simNvidiaEvidence(this.need(this.nvidia, 'nvidia'), { ...rest, nonce: rd.slice(0, BINDING_PART_BYTES) });
      }
      default:
        throw new VeriteeError('ATTEST_PLATFORM_UNSUPPORTED', `no simulator for platform ${String(platform)}`);
    }
  }

  /** Evidence bound the veritee way (report-data.ts) to a nonce and/or a public-key hash. */
  boundEvidence(platform: Platform, binding: ReportDataInputs, overrides: Record<string, unknown> = {}): EvidenceEnvelope {
    return this.evidence(platform, { ...overrides, reportData: computeReportData(binding) } as SimSnpRequest);
  }

  private need<T>(auth: T | undefined, platform: Platform): T {
    if (auth === undefined) {
      throw new VeriteeError('ATTEST_PLATFORM_UNSUPPORTED', `this SimulatedTee was created without ${platform} (platforms: ${this.platforms.join(', ')})`);
    }
    return auth;
  }
}

/** Trust anchors as JSON (DER as base64), e.g. the `*.anchors.json` written by `veritee attest sim`. */
export function anchorsToJson(a: TrustAnchors): Record<string, unknown> {
  const out: Record<string, unknown> = { note: SimulatedTee.LABEL };
  if (a.amd) {
    const amd: Record<string, Record<string, string>> = {};
    for (const [product, certs] of Object.entries(a.amd)) {
      if (!certs) continue;
      const c: Record<string, string> = { ark: toBase64(certs.ark) };
      if (certs.ask) c['ask'] = toBase64(certs.ask);
      if (certs.asvk) c['asvk'] = toBase64(certs.asvk);
      amd[product] = c;
    }
    out['amd'] = amd;
  }
  if (a.intelRoot) out['intelRoot'] = toBase64(a.intelRoot);
  if (a.nvidiaRoot) out['nvidiaRoot'] = toBase64(a.nvidiaRoot);
  return out;
}

/** Parses {@link anchorsToJson} output. Throws INPUT_INVALID naming the bad field. */
export function anchorsFromJson(doc: unknown): TrustAnchors {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new VeriteeError('INPUT_INVALID', 'trust anchors must be a JSON object');
  const d = doc as Record<string, unknown>;
  const der = (v: unknown, what: string): Uint8Array => {
    if (typeof v !== 'string') throw new VeriteeError('INPUT_INVALID', `trust anchors: ${what} must be base64 DER`);
    return fromBase64(v, `trust anchors ${what}`);
  };
  const out: TrustAnchors = {};
  if (d['amd'] !== undefined) {
    if (d['amd'] === null || typeof d['amd'] !== 'object') throw new VeriteeError('INPUT_INVALID', 'trust anchors: amd must be an object');
    const amd: NonNullable<TrustAnchors['amd']> = {};
    for (const [product, v] of Object.entries(d['amd'] as Record<string, unknown>)) {
      if (!['milan', 'genoa', 'turin'].includes(product)) throw new VeriteeError('INPUT_INVALID', `trust anchors: unknown AMD product ${product}`);
      const c = (v ?? {}) as Record<string, unknown>;
      const entry: { ark: Uint8Array; ask?: Uint8Array; asvk?: Uint8Array } = { ark: der(c['ark'], `amd.${product}.ark`) };
      if (c['ask'] !== undefined) entry.ask = der(c['ask'], `amd.${product}.ask`);
      if (c['asvk'] !== undefined) entry.asvk = der(c['asvk'], `amd.${product}.asvk`);
      amd[product as 'milan' | 'genoa' | 'turin'] = entry;
    }
    out.amd = amd;
  }
  if (d['intelRoot'] !== undefined) out.intelRoot = der(d['intelRoot'], 'intelRoot');
  if (d['nvidiaRoot'] !== undefined) out.nvidiaRoot = der(d['nvidiaRoot'], 'nvidiaRoot');
  return out;
}
