/**
 * @module enclave
 * The enclave identity of a proxy: an ECDSA P-256 key generated inside the TEE at
 * startup (it never leaves the process), and the evidence provider that asks the TEE
 * for evidence whose report data binds that key and a verifier's nonce.
 *
 * INVARIANT: the private key is created here and is never exported, logged or written;
 * the only operations offered are "sign these protocol bytes" and "get evidence for
 * this nonce". Evidence always binds the key: report_data = computeReportData({
 * publicKeyHash: SHA-256(SPKI), nonce }).
 *
 * A real deployment supplies an {@link EvidenceProvider} that talks to the hardware
 * (e.g. Linux configfs-tsm); development uses {@link simulatedEvidenceProvider}, whose
 * evidence is refused by every policy that does not set allowSimulated.
 */
import { generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { fromHex, toBase64Url, utf8, VeriteeError } from '@veritee/core';
import {
  anchorsToJson,
  computeReportData,
  publicKeyHash,
  SimulatedTee,
  type EvidenceEnvelope,
  type Platform,
  type TrustAnchors,
} from '@veritee/attestation';

/** Produces evidence for given 64 bytes of report data. */
export interface EvidenceProvider {
  readonly platform: Platform;
  /** True for the simulated TEE (development only). */
  readonly simulated: boolean;
  /** The simulated TEE's anchors (published to clients that set allowSimulated); absent for real hardware. */
  readonly simulatedAnchors?: TrustAnchors;
  evidence(reportData: Uint8Array): Promise<EvidenceEnvelope>;
}

export interface SimulatedProviderOptions {
  /** `snp` (default) or `tdx`. */
  platform?: 'snp' | 'tdx';
  /** Launch measurement / MRTD, 48 bytes hex (default: the simulator's). */
  measurement?: string;
  /** Report a debug-mode TEE (policies refuse it unless allowDebug). */
  debug?: boolean;
  /** Reuse an existing simulated TEE (tests share one to save key generation). */
  tee?: SimulatedTee;
  /** Certificate validity centre (default now). */
  at?: Date | number;
}

/** DEVELOPMENT ONLY: evidence from the simulated TEE of @veritee/attestation. */
export async function simulatedEvidenceProvider(opts: SimulatedProviderOptions = {}): Promise<EvidenceProvider> {
  const platform = opts.platform ?? 'snp';
  if (platform !== 'snp' && platform !== 'tdx') throw new VeriteeError('ATTEST_PLATFORM_UNSUPPORTED', `the proxy simulates snp or tdx, not ${String(platform)}`);
  const tee = opts.tee ?? (await SimulatedTee.create({ platforms: [platform], ...(opts.at !== undefined ? { at: opts.at } : {}) }));
  const measurement = opts.measurement === undefined ? undefined : fromHex(opts.measurement, 'measurement');
  if (measurement !== undefined && measurement.length !== 48) throw new VeriteeError('INPUT_INVALID', `measurement must be 48 bytes (96 hex digits), got ${measurement.length}`);
  const debug = opts.debug === true;
  return {
    platform,
    simulated: true,
    simulatedAnchors: tee.anchors,
    async evidence(reportData) {
      if (platform === 'snp') return tee.evidence('snp', { reportData, debug, ...(measurement ? { measurement } : {}) });
      return tee.evidence('tdx', { reportData, debug, ...(measurement ? { mrtd: measurement } : {}) });
    },
  };
}

/** The enclave key and evidence source of one proxy process. */
export class Enclave {
  /** DER SubjectPublicKeyInfo of the enclave key. */
  readonly spki: Uint8Array;
  /** SHA-256 of {@link spki}: the `publicKeyHash` bound into report data. */
  readonly publicKeyHash: Uint8Array;
  /** First 16 hex digits of publicKeyHash (the `key=` of Veritee-Signature). */
  readonly keyId: string;
  readonly spkiBase64Url: string;

  private constructor(
    private readonly privateKey: KeyObject,
    spki: Uint8Array,
    readonly provider: EvidenceProvider,
  ) {
    this.spki = spki;
    this.publicKeyHash = publicKeyHash(spki);
    this.keyId = Buffer.from(this.publicKeyHash).toString('hex').slice(0, 16);
    this.spkiBase64Url = toBase64Url(spki);
  }

  /** Generates a fresh P-256 key (inside the TEE: this process) bound to `provider`'s evidence. */
  static create(provider: EvidenceProvider): Enclave {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    return new Enclave(privateKey, spki, provider);
  }

  /** ES256 over `message`: 64 bytes r||s. */
  sign(message: Uint8Array): Buffer {
    return nodeSign('sha256', message, { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
  }

  /** Evidence binding this key and `nonce` (32 bytes; zeros when absent), as an `Attestation-Report` value. */
  async evidenceHeader(nonce?: Uint8Array): Promise<string> {
    const rd = computeReportData({ publicKeyHash: this.publicKeyHash, ...(nonce ? { nonce } : {}) });
    const env = await this.provider.evidence(rd);
    return toBase64Url(utf8(JSON.stringify(env)));
  }

  /** The simulated anchors as JSON (published in binding responses), or undefined on real hardware. */
  simulatedAnchorsJson(): Record<string, unknown> | undefined {
    return this.provider.simulatedAnchors ? anchorsToJson(this.provider.simulatedAnchors) : undefined;
  }
}
