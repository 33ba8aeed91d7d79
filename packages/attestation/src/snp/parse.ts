/**
 * @module snp/parse
 * Parser for the AMD SEV-SNP ATTESTATION_REPORT structure, versions 2 to 5
 * (SEV-SNP Firmware ABI Specification, AMD pub. 56860, table "ATTESTATION_REPORT
 * Structure"). A report is exactly 0x4A0 bytes, little-endian; the signature covers
 * bytes 0x000-0x29F.
 *
 * INVARIANT: parsing never trusts anything. It only checks the size and the version and
 * decodes fields; every security decision (signature, chain, TCB match) is in verify.ts.
 * Any input (garbage, wrong size, wrong type) yields a VeriteeError, never a crash:
 * short input -> ATTEST_REPORT_TRUNCATED, long input -> ATTEST_EVIDENCE_INVALID,
 * unknown version -> ATTEST_REPORT_VERSION.
 *
 * TCB_VERSION layout differs by product:
 *   Milan/Genoa: byte 0 BOOT_LOADER, 1 TEE, 2-5 reserved, 6 SNP, 7 MICROCODE
 *   Turin:       byte 0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP, 4-6 reserved, 7 MICROCODE
 * The product is read from CPUID_FAM_ID/CPUID_MOD_ID (v3+). A v2 report does not name
 * its CPU; Turin firmware never emits v2, so v2 is decoded with the Milan/Genoa layout
 * (verify.ts re-decodes if the certificate chain says otherwise).
 */
import { VeriteeError, toHex } from '@veritee/core';
import type { SnpProduct } from './roots.js';

/** Total size of an attestation report. */
export const SNP_REPORT_SIZE = 0x4a0;
/** The signature covers bytes [0, SNP_SIGNED_LENGTH). */
export const SNP_SIGNED_LENGTH = 0x2a0;
export const SNP_MIN_VERSION = 2;
export const SNP_MAX_VERSION = 5;
/** SIGNATURE_ALGO value for ECDSA P-384 with SHA-384, the only algorithm defined. */
export const SNP_SIG_ALGO_ECDSA_P384_SHA384 = 1;

/**
 * Byte layout of the report: [offset, size]. Every field boundary is a truncation
 * point tested in parse.test.ts. Offsets and sizes from AMD 56860 rev 1.58.
 */
export const SNP_LAYOUT = {
  version: [0x000, 4], // u32 VERSION
  guestSvn: [0x004, 4], // u32 GUEST_SVN
  policy: [0x008, 8], // u64 POLICY (guest policy)
  familyId: [0x010, 16], // FAMILY_ID
  imageId: [0x020, 16], // IMAGE_ID
  vmpl: [0x030, 4], // u32 VMPL of the request
  signatureAlgo: [0x034, 4], // u32 SIGNATURE_ALGO
  currentTcb: [0x038, 8], // TCB_VERSION CURRENT_TCB
  platformInfo: [0x040, 8], // u64 PLATFORM_INFO
  signerInfo: [0x048, 4], // u32 AUTHOR_KEY_EN / MASK_CHIP_KEY / SIGNING_KEY
  reserved0: [0x04c, 4],
  reportData: [0x050, 64], // REPORT_DATA (guest supplied)
  measurement: [0x090, 48], // MEASUREMENT (launch digest)
  hostData: [0x0c0, 32], // HOST_DATA
  idKeyDigest: [0x0e0, 48], // ID_KEY_DIGEST
  authorKeyDigest: [0x110, 48], // AUTHOR_KEY_DIGEST
  reportId: [0x140, 32], // REPORT_ID
  reportIdMa: [0x160, 32], // REPORT_ID_MA
  reportedTcb: [0x180, 8], // TCB_VERSION REPORTED_TCB
  cpuidFamId: [0x188, 1], // v3+: CPUID_FAM_ID (reserved in v2)
  cpuidModId: [0x189, 1], // v3+: CPUID_MOD_ID
  cpuidStep: [0x18a, 1], // v3+: CPUID_STEP
  reserved1: [0x18b, 21],
  chipId: [0x1a0, 64], // CHIP_ID (zero when MASK_CHIP_ID or VLEK)
  committedTcb: [0x1e0, 8], // TCB_VERSION COMMITTED_TCB
  currentBuild: [0x1e8, 1],
  currentMinor: [0x1e9, 1],
  currentMajor: [0x1ea, 1],
  reserved2: [0x1eb, 1],
  committedBuild: [0x1ec, 1],
  committedMinor: [0x1ed, 1],
  committedMajor: [0x1ee, 1],
  reserved3: [0x1ef, 1],
  launchTcb: [0x1f0, 8], // TCB_VERSION LAUNCH_TCB
  launchMitVector: [0x1f8, 8], // v5+: LAUNCH_MIT_VECTOR (reserved before)
  currentMitVector: [0x200, 8], // v5+: CURRENT_MIT_VECTOR
  reserved4: [0x208, 0x98],
  signatureR: [0x2a0, 72], // ECDSA R, little-endian, zero-extended to 72 bytes
  signatureS: [0x2e8, 72], // ECDSA S, little-endian
  reservedSig: [0x330, 0x170], // rest of the 512-byte signature field
} as const satisfies Record<string, readonly [number, number]>;

export type SnpSigningKey = 'vcek' | 'vlek' | 'none' | `reserved(${number})`;

/** A decoded TCB_VERSION. `fmc` is present only in the Turin layout. */
export interface SnpTcbVersion {
  /** The 64-bit value, 16 hex digits (big-endian reading of the little-endian field). */
  raw: string;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
}

export interface SnpGuestPolicy {
  raw: bigint;
  abiMinor: number;
  abiMajor: number;
  smt: boolean;
  /** Bit 17 must be one; reported, not enforced here. */
  reserved1: boolean;
  migrateMa: boolean;
  debug: boolean;
  singleSocket: boolean;
  cxlAllow: boolean;
  memAes256Xts: boolean;
  raplDis: boolean;
  ciphertextHiding: boolean;
  pageSwapDisable: boolean;
}

export interface SnpPlatformInfo {
  raw: bigint;
  smtEnabled: boolean;
  tsmeEnabled: boolean;
  eccEnabled: boolean;
  raplDisabled: boolean;
  ciphertextHidingEnabled: boolean;
  aliasCheckComplete: boolean;
  tioEnabled: boolean;
}

export interface SnpSignerInfo {
  raw: number;
  authorKeyEn: boolean;
  maskChipKey: boolean;
  /** Bits 4:2: 0 = VCEK, 1 = VLEK, 7 = no signature. */
  signingKey: SnpSigningKey;
}

export interface SnpFirmwareVersion {
  major: number;
  minor: number;
  build: number;
}

/** Every field of an SNP attestation report. Byte fields are copies (not views of the input). */
export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: SnpGuestPolicy;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: SnpTcbVersion;
  platformInfo: SnpPlatformInfo;
  signerInfo: SnpSignerInfo;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcb: SnpTcbVersion;
  /** v3+ only. */
  cpuid?: { family: number; model: number; stepping: number };
  /** Product named by CPUID (v3+), undefined for v2 or an unknown CPU. */
  product?: SnpProduct;
  /** Which TCB_VERSION layout the TCB fields were decoded with. */
  tcbLayout: 'milan-genoa' | 'turin';
  chipId: Uint8Array;
  committedTcb: SnpTcbVersion;
  currentVersion: SnpFirmwareVersion;
  committedVersion: SnpFirmwareVersion;
  launchTcb: SnpTcbVersion;
  /** v5+ only. */
  launchMitVector?: bigint;
  /** v5+ only. */
  currentMitVector?: bigint;
  /** ECDSA R and S as 48-byte big-endian integers (converted from the 72-byte little-endian fields). */
  signature: {
    r: Uint8Array;
    s: Uint8Array;
    rawR: Uint8Array;
    rawS: Uint8Array;
    /** Bytes 48..71 of R and S are zero (a P-384 value fits in 48). */
    highBytesZero: boolean;
    /** The reserved rest of the signature field (0x330-0x49F) is zero: nothing unsigned may vary. */
    reservedZero: boolean;
  };
  /** Bytes [0x000, 0x2A0): what the signature covers. */
  signedBytes: Uint8Array;
  /** The whole report (a copy). */
  raw: Uint8Array;
}

/** Product named by CPUID family/model (AMD Fn0000_0001_EAX, extended family+model). */
export function productFromCpuid(family: number, model: number): SnpProduct | undefined {
  if (family === 0x19) {
    if (model <= 0x0f) return 'milan';
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)) return 'genoa';
  }
  if (family === 0x1a && model <= 0x11) return 'turin';
  return undefined;
}

/** Decodes an 8-byte TCB_VERSION with the layout of `layout`. */
export function decodeTcb(b: Uint8Array, layout: 'milan-genoa' | 'turin'): SnpTcbVersion {
  if (b.length !== 8) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `TCB_VERSION must be 8 bytes, got ${b.length}`);
  const raw = toHex(Uint8Array.from(b).reverse());
  if (layout === 'turin') {
    return { raw, fmc: b[0]!, bootloader: b[1]!, tee: b[2]!, snp: b[3]!, microcode: b[7]! };
  }
  return { raw, bootloader: b[0]!, tee: b[1]!, snp: b[6]!, microcode: b[7]! };
}

/** TCB layout used by a product. */
export function tcbLayoutFor(product: SnpProduct | undefined): 'milan-genoa' | 'turin' {
  return product === 'turin' ? 'turin' : 'milan-genoa';
}

function u32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

function u64(b: Uint8Array, off: number): bigint {
  return (BigInt(u32(b, off + 4)) << 32n) | BigInt(u32(b, off));
}

function bit(v: bigint, n: number): boolean {
  return ((v >> BigInt(n)) & 1n) === 1n;
}

/** Little-endian 72-byte field -> 48-byte big-endian integer; reports whether bytes 48..71 are zero. */
function leToBe48(le: Uint8Array): { be: Uint8Array; highZero: boolean } {
  const be = new Uint8Array(48);
  for (let i = 0; i < 48; i++) be[i] = le[47 - i]!;
  let high = 0;
  for (let i = 48; i < le.length; i++) high |= le[i]!;
  return { be, highZero: high === 0 };
}

/**
 * Checks size and version only (cheap). Throws ATTEST_REPORT_TRUNCATED,
 * ATTEST_EVIDENCE_INVALID (too long / not bytes) or ATTEST_REPORT_VERSION.
 */
export function checkSnpReportFormat(bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'SNP attestation report must be bytes (Uint8Array)');
  }
  if (bytes.length < SNP_REPORT_SIZE) {
    throw new VeriteeError(
      'ATTEST_REPORT_TRUNCATED',
      `SNP attestation report is ${bytes.length} bytes; the format requires exactly ${SNP_REPORT_SIZE} (0x4A0)`,
      { length: bytes.length, required: SNP_REPORT_SIZE },
    );
  }
  if (bytes.length > SNP_REPORT_SIZE) {
    throw new VeriteeError(
      'ATTEST_EVIDENCE_INVALID',
      `SNP attestation report is ${bytes.length} bytes; the format allows exactly ${SNP_REPORT_SIZE} (0x4A0), trailing bytes are refused`,
      { length: bytes.length, required: SNP_REPORT_SIZE },
    );
  }
  const version = u32(bytes, 0);
  if (version < SNP_MIN_VERSION || version > SNP_MAX_VERSION) {
    throw new VeriteeError(
      'ATTEST_REPORT_VERSION',
      `SNP attestation report version ${version} is not supported (supported: ${SNP_MIN_VERSION}..${SNP_MAX_VERSION})`,
      { version },
    );
  }
}

/**
 * Parses an SNP attestation report (v2..v5, exactly 0x4A0 bytes). Decodes all fields,
 * verifies nothing. `layoutOverride` forces the TCB layout (verify.ts uses it when the
 * product is only known from the certificate chain).
 */
export function parseSnpReport(bytes: Uint8Array, layoutOverride?: 'milan-genoa' | 'turin'): SnpReport {
  checkSnpReportFormat(bytes);
  const b = Uint8Array.from(bytes);
  const f = (name: keyof typeof SNP_LAYOUT): Uint8Array => {
    const [off, len] = SNP_LAYOUT[name];
    return b.slice(off, off + len);
  };
  const version = u32(b, SNP_LAYOUT.version[0]);

  let cpuid: SnpReport['cpuid'];
  let product: SnpProduct | undefined;
  if (version >= 3) {
    cpuid = { family: b[SNP_LAYOUT.cpuidFamId[0]]!, model: b[SNP_LAYOUT.cpuidModId[0]]!, stepping: b[SNP_LAYOUT.cpuidStep[0]]! };
    product = productFromCpuid(cpuid.family, cpuid.model);
  }
  const tcbLayout = layoutOverride ?? tcbLayoutFor(product);

  const policyRaw = u64(b, SNP_LAYOUT.policy[0]);
  const policy: SnpGuestPolicy = {
    raw: policyRaw,
    abiMinor: Number(policyRaw & 0xffn),
    abiMajor: Number((policyRaw >> 8n) & 0xffn),
    smt: bit(policyRaw, 16),
    reserved1: bit(policyRaw, 17),
    migrateMa: bit(policyRaw, 18),
    debug: bit(policyRaw, 19),
    singleSocket: bit(policyRaw, 20),
    cxlAllow: bit(policyRaw, 21),
    memAes256Xts: bit(policyRaw, 22),
    raplDis: bit(policyRaw, 23),
    ciphertextHiding: bit(policyRaw, 24),
    pageSwapDisable: bit(policyRaw, 25),
  };

  const piRaw = u64(b, SNP_LAYOUT.platformInfo[0]);
  const platformInfo: SnpPlatformInfo = {
    raw: piRaw,
    smtEnabled: bit(piRaw, 0),
    tsmeEnabled: bit(piRaw, 1),
    eccEnabled: bit(piRaw, 2),
    raplDisabled: bit(piRaw, 3),
    ciphertextHidingEnabled: bit(piRaw, 4),
    aliasCheckComplete: bit(piRaw, 5),
    tioEnabled: bit(piRaw, 7),
  };

  const si = u32(b, SNP_LAYOUT.signerInfo[0]);
  const keySel = (si >>> 2) & 7;
  const signerInfo: SnpSignerInfo = {
    raw: si,
    authorKeyEn: (si & 1) === 1,
    maskChipKey: (si & 2) === 2,
    signingKey: keySel === 0 ? 'vcek' : keySel === 1 ? 'vlek' : keySel === 7 ? 'none' : `reserved(${keySel})`,
  };

  const rawR = f('signatureR');
  const rawS = f('signatureS');
  const r = leToBe48(rawR);
  const s = leToBe48(rawS);
  let reservedSig = 0;
  for (let i = SNP_LAYOUT.reservedSig[0]; i < SNP_REPORT_SIZE; i++) reservedSig |= b[i]!;

  const report: SnpReport = {
    version,
    guestSvn: u32(b, SNP_LAYOUT.guestSvn[0]),
    policy,
    familyId: f('familyId'),
    imageId: f('imageId'),
    vmpl: u32(b, SNP_LAYOUT.vmpl[0]),
    signatureAlgo: u32(b, SNP_LAYOUT.signatureAlgo[0]),
    currentTcb: decodeTcb(f('currentTcb'), tcbLayout),
    platformInfo,
    signerInfo,
    reportData: f('reportData'),
    measurement: f('measurement'),
    hostData: f('hostData'),
    idKeyDigest: f('idKeyDigest'),
    authorKeyDigest: f('authorKeyDigest'),
    reportId: f('reportId'),
    reportIdMa: f('reportIdMa'),
    reportedTcb: decodeTcb(f('reportedTcb'), tcbLayout),
    tcbLayout,
    chipId: f('chipId'),
    committedTcb: decodeTcb(f('committedTcb'), tcbLayout),
    currentVersion: {
      major: b[SNP_LAYOUT.currentMajor[0]]!,
      minor: b[SNP_LAYOUT.currentMinor[0]]!,
      build: b[SNP_LAYOUT.currentBuild[0]]!,
    },
    committedVersion: {
      major: b[SNP_LAYOUT.committedMajor[0]]!,
      minor: b[SNP_LAYOUT.committedMinor[0]]!,
      build: b[SNP_LAYOUT.committedBuild[0]]!,
    },
    launchTcb: decodeTcb(f('launchTcb'), tcbLayout),
    signature: { r: r.be, s: s.be, rawR, rawS, highBytesZero: r.highZero && s.highZero, reservedZero: reservedSig === 0 },
    signedBytes: b.slice(0, SNP_SIGNED_LENGTH),
    raw: b,
  };
  if (cpuid !== undefined) report.cpuid = cpuid;
  if (product !== undefined) report.product = product;
  if (version >= 5) {
    report.launchMitVector = u64(b, SNP_LAYOUT.launchMitVector[0]);
    report.currentMitVector = u64(b, SNP_LAYOUT.currentMitVector[0]);
  }
  return report;
}

/** Hex of a u64, 16 lowercase digits. */
export function u64Hex(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

/** JSON-safe view of every report field (for Claims.platformData and debugging). */
export function snpReportToJson(r: SnpReport): Record<string, unknown> {
  const out: Record<string, unknown> = {
    version: r.version,
    guestSvn: r.guestSvn,
    policy: {
      raw: u64Hex(r.policy.raw),
      abiMajor: r.policy.abiMajor,
      abiMinor: r.policy.abiMinor,
      smt: r.policy.smt,
      reserved1: r.policy.reserved1,
      migrateMa: r.policy.migrateMa,
      debug: r.policy.debug,
      singleSocket: r.policy.singleSocket,
      cxlAllow: r.policy.cxlAllow,
      memAes256Xts: r.policy.memAes256Xts,
      raplDis: r.policy.raplDis,
      ciphertextHiding: r.policy.ciphertextHiding,
      pageSwapDisable: r.policy.pageSwapDisable,
    },
    familyId: toHex(r.familyId),
    imageId: toHex(r.imageId),
    vmpl: r.vmpl,
    signatureAlgo: r.signatureAlgo,
    currentTcb: { ...r.currentTcb },
    platformInfo: {
      raw: u64Hex(r.platformInfo.raw),
      smtEnabled: r.platformInfo.smtEnabled,
      tsmeEnabled: r.platformInfo.tsmeEnabled,
      eccEnabled: r.platformInfo.eccEnabled,
      raplDisabled: r.platformInfo.raplDisabled,
      ciphertextHidingEnabled: r.platformInfo.ciphertextHidingEnabled,
      aliasCheckComplete: r.platformInfo.aliasCheckComplete,
      tioEnabled: r.platformInfo.tioEnabled,
    },
    signerInfo: { ...r.signerInfo },
    reportData: toHex(r.reportData),
    measurement: toHex(r.measurement),
    hostData: toHex(r.hostData),
    idKeyDigest: toHex(r.idKeyDigest),
    authorKeyDigest: toHex(r.authorKeyDigest),
    reportId: toHex(r.reportId),
    reportIdMa: toHex(r.reportIdMa),
    reportedTcb: { ...r.reportedTcb },
    tcbLayout: r.tcbLayout,
    chipId: toHex(r.chipId),
    committedTcb: { ...r.committedTcb },
    currentVersion: `${r.currentVersion.major}.${r.currentVersion.minor}.${r.currentVersion.build}`,
    committedVersion: `${r.committedVersion.major}.${r.committedVersion.minor}.${r.committedVersion.build}`,
    launchTcb: { ...r.launchTcb },
    signatureR: toHex(r.signature.r),
    signatureS: toHex(r.signature.s),
  };
  if (r.cpuid) out['cpuid'] = { ...r.cpuid };
  if (r.launchMitVector !== undefined) out['launchMitVector'] = u64Hex(r.launchMitVector);
  if (r.currentMitVector !== undefined) out['currentMitVector'] = u64Hex(r.currentMitVector);
  return out;
}
