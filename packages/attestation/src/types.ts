/**
 * @module types
 * The vocabulary shared by every attestation verifier: the evidence envelope
 * (compatible with attestation-rs), verification parameters with strict defaults,
 * the normalised claim set and the per-check verification result.
 *
 * INVARIANT: a verifier never returns `ok: true` unless every check it ran passed.
 * Verifiers fail closed: a check that could not run (missing collateral, unknown
 * version) is a failed check, never a skipped one.
 */

/** The hardware whose evidence a verifier checks. */
export type HardwarePlatform = 'snp' | 'tdx' | 'nvidia';

/**
 * attestation-rs's cloud tags. `gcp-snp`/`gcp-tdx` carry the same evidence as `snp`/`tdx`;
 * `az-snp`/`az-tdx` carry an Azure HCL report and a vTPM quote (see cloud/). The tag is the
 * attester's claim: nothing proves GCP, and only the HCL layout (weakly) suggests Azure.
 */
export type CloudPlatform = 'az-snp' | 'az-tdx' | 'gcp-snp' | 'gcp-tdx';

/** An envelope's platform tag. */
export type Platform = HardwarePlatform | CloudPlatform;

/** `{ platform, evidence }` as produced by attestation-rs, plus optional collateral. */
export interface EvidenceEnvelope {
  platform: Platform;
  evidence: Record<string, unknown>;
  /** TDX collateral: dcap-qvl JSON layout or Intel PCS files (see tdx/collateral.ts). */
  collateral?: Record<string, unknown>;
}

/** Which trust anchors a verifier may accept. Real vendor roots always; test roots only when asked. */
export interface TrustAnchors {
  /** AMD ARK/ASK/ASVK per product, DER. Defaults to the bundled real roots. */
  amd?: Partial<Record<'milan' | 'genoa' | 'turin', { ark: Uint8Array; ask?: Uint8Array; asvk?: Uint8Array }>>;
  /** Intel SGX Root CA, DER. Defaults to the bundled real root. */
  intelRoot?: Uint8Array;
  /** NVIDIA device identity root, DER. Defaults to the bundled real root. */
  nvidiaRoot?: Uint8Array;
}

export interface VerifyParams {
  /** Verification time. Required: certificates and collateral are checked at this instant. */
  at: Date;
  /** Expected report data (SNP report_data / TDX REPORTDATA), compared over its full 64 bytes when given. */
  expectedReportData?: Uint8Array;
  /** NVIDIA: expected 32-byte SPDM nonce. */
  expectedNonce?: Uint8Array;
  /** Extra trust anchors (the simulated TEE's). Evidence chaining only to these is marked `simulated`. */
  simulatedAnchors?: TrustAnchors;
}

/** One named check with its outcome. Every verifier reports every check it ran. */
export interface Check {
  /** Stable machine name, e.g. `snp.signature`, `tdx.tcb_status`, `policy.debug`. */
  name: string;
  ok: boolean;
  /** Human text: what was checked and, on failure, why (names the values). */
  detail: string;
  /** A VeriteeError code when the check failed. */
  code?: import('@veritee/core').ErrorCode;
}

export interface TcbComponent {
  name: string;
  value: number;
}

/** The normalised claim set, the same shape for every platform. Binary values are lowercase hex. */
export interface Claims {
  /** The hardware that produced the verified report (for `az-snp`/`gcp-snp`: `snp`). */
  platform: HardwarePlatform;
  /** True when the evidence chained only to simulated-TEE test anchors. */
  simulated: boolean;
  /** Primary measurement: SNP launch measurement, TDX MRTD, NVIDIA: hash of all measurement blocks. */
  measurement: string;
  /** Additional measurements by name: `rtmr0..3`, `mrseam`, GPU block indices `gpu.<index>`... */
  measurements: Record<string, string>;
  /** 64 bytes of report data (SNP/TDX), hex; NVIDIA: the SPDM nonce. */
  reportData: string;
  /** SNP host_data / TDX MRCONFIGID, hex (absent for NVIDIA). */
  hostData?: string;
  /** TCB components (SNP: bootloader, tee, snp, microcode[, fmc]; TDX: sgx/tdx svns) and status. */
  tcb: { components: TcbComponent[]; status?: string; advisoryIds?: string[] };
  debug: boolean;
  /** SNP VMPL; absent elsewhere. */
  vmpl?: number;
  /** TDX TD attributes hex; SNP guest policy hex. */
  attributes?: string;
  /** SNP chip id / NVIDIA device serial, hex. */
  chipId?: string;
  /** Who signed: `vcek`, `vlek`, `pck`, `nvidia-device`. */
  signer: 'vcek' | 'vlek' | 'pck' | 'nvidia-device';
  /** Product/generation: `milan`, `genoa`, `turin`, `tdx`, `hopper`. */
  product: string;
  /** Subjects of the certificate chain that was checked, leaf first. */
  certChain: string[];
  /** Report/quote version. */
  version: number;
  /** Platform-specific extras (raw parsed fields) for policy authors. */
  platformData: Record<string, unknown>;
  /**
   * The cloud variant the envelope named (`az-snp` → azure). The attester's claim: for
   * gcp-* nothing in the evidence proves it (`basis: 'attester-tag'`); for az-* the Azure
   * HCL report layout and vTPM quote suggest it, weakly (`basis: 'hcl-report'`).
   */
  cloud?: { provider: 'azure' | 'gcp'; tag: CloudPlatform; basis: 'attester-tag' | 'hcl-report' };
  /**
   * TPM PCR values (SHA-256 bank) covered by a verified TPM quote, by PCR index ("0".."23"),
   * lowercase hex. Only PCRs the quote selected appear here (az-snp, az-tdx).
   */
  pcrs?: Record<string, string>;
}

export interface VerificationResult {
  ok: boolean;
  platform: Platform;
  checks: Check[];
  /** Present when parsing succeeded, even if a check failed (so a caller can show what was claimed). */
  claims?: Claims;
  /** Facts about the evidence that changed no verdict but a reader should see (e.g. unsigned trailing bytes that were ignored). */
  notes?: string[];
}

/** What every platform verifier implements. */
export interface PlatformVerifier {
  platform: Platform;
  verify(envelope: EvidenceEnvelope, params: VerifyParams): Promise<VerificationResult>;
}
