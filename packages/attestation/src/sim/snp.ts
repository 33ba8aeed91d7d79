/**
 * @module sim/snp
 * DEVELOPMENT ONLY. A simulated AMD SEV-SNP key hierarchy and report generator.
 *
 * At run time it generates a test ARK (self-signed), ASK and ASVK (RSASSA-PSS, SHA-384,
 * MGF1-SHA-384, salt 48, exactly AMD's algorithm) and a VCEK and a VLEK (ECDSA P-384)
 * carrying AMD's extensions (productName, blSPL/teeSPL/snpSPL/ucodeSPL[/fmcSPL], hwID on
 * the VCEK, cspID on the VLEK). Reports use the exact 0x4A0-byte layout of parse.ts
 * and are signed over bytes 0x000-0x29F with R/S little-endian, so the real verifier
 * (snp/verify.ts) checks them unchanged: it accepts them only when the caller passes
 * `auth.anchors` as `simulatedAnchors`, and then marks the claims `simulated: true`.
 *
 * AMD's real ARK/ASK/ASVK are RSA-4096; generating three 4096-bit keys takes seconds,
 * so the simulation uses RSA-2048 (the verifier does not depend on the modulus size).
 *
 * THREAT MODEL: nothing here is secret and anyone can produce such evidence for any
 * measurement; the subject names say "veritee simulated" so they are never mistaken
 * for AMD's, and these anchors must never be configured as trusted in production.
 */
import { constants as cryptoConstants, generateKeyPair, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { VeriteeError, sha384, toBase64, utf8 } from '@veritee/core';
import type { EvidenceEnvelope, TrustAnchors } from '../types.js';
import { AMD_OID, X509_OID } from '../snp/certs.js';
import { bitString, boolean, enc, explicit, ia5String, integer, nullValue, octets, oid, printableString, seq, set, T, time, utf8String } from '../snp/der.js';
import { SNP_LAYOUT, SNP_REPORT_SIZE, SNP_SIGNED_LENGTH, SNP_SIG_ALGO_ECDSA_P384_SHA384 } from '../snp/parse.js';
import type { SnpProduct } from '../snp/roots.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface SimSnpAuthorityOptions {
  product?: SnpProduct;
  /** Start of every certificate's validity (default 2024-01-01T00:00:00Z). */
  notBefore?: Date;
  /** End of every certificate's validity (default 2049-12-31T23:59:59Z). */
  notAfter?: Date;
}

/** Reported TCB of the simulated platform. `fmc` only for Turin. */
export interface SimSnpTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
}

export interface SimSnpAuthority {
  readonly product: SnpProduct;
  /** Pass as `params.simulatedAnchors`: `{ amd: { [product]: { ark, ask, asvk } } }`. */
  readonly anchors: TrustAnchors;
  /** DER certificates. */
  readonly certs: { ark: Uint8Array; ask: Uint8Array; asvk: Uint8Array; vcek: Uint8Array; vlek: Uint8Array };
  /** The simulated chip's 64-byte CHIP_ID (= hwID of the VCEK). */
  readonly chipId: Uint8Array;
  readonly tcb: SimSnpTcb;
  /** Private signing keys of the leaves (test material, not secret). */
  readonly keys: { vcek: KeyObject; vlek: KeyObject };
}

export interface SimSnpReportOptions {
  /** REPORT_DATA: at most 64 bytes, zero-padded to 64. */
  reportData: Uint8Array;
  /** MEASUREMENT, 48 bytes (default SHA-384 of "veritee simulated SEV-SNP guest"). */
  measurement?: Uint8Array;
  /** HOST_DATA, 32 bytes (default zeros). */
  hostData?: Uint8Array;
  /** Sets guest policy bit 19 (DEBUG). */
  debug?: boolean;
  /** VMPL 0..3 (default 0). */
  vmpl?: number;
  /** Which key signs (default VCEK). A VLEK report has CHIP_ID zero. */
  signer?: 'vcek' | 'vlek';
  /** Report version (default 3). v2 has no CPUID fields; v5 adds the mitigation vectors. */
  version?: 2 | 3 | 5;
}

const PRODUCT_INFO: Record<SnpProduct, { name: string; productName: string; cpuid: [number, number, number]; tcb: SimSnpTcb }> = {
  milan: { name: 'Milan', productName: 'Milan-B0', cpuid: [0x19, 0x01, 0x01], tcb: { bootloader: 4, tee: 0, snp: 24, microcode: 219 } },
  genoa: { name: 'Genoa', productName: 'Genoa-B1', cpuid: [0x19, 0x11, 0x01], tcb: { bootloader: 9, tee: 0, snp: 23, microcode: 72 } },
  turin: { name: 'Turin', productName: 'Turin-C1', cpuid: [0x1a, 0x02, 0x01], tcb: { fmc: 1, bootloader: 1, tee: 1, snp: 3, microcode: 76 } },
};

const ORG = 'veritee simulated SEV-SNP (NOT AMD)';

function name(cn: string): Uint8Array {
  const rdn = (type: string, value: Uint8Array): Uint8Array => set(seq(oid(type), value));
  return seq(
    rdn('2.5.4.11', utf8String('Engineering')),
    rdn('2.5.4.6', printableString('US')),
    rdn('2.5.4.7', utf8String('Santa Clara')),
    rdn('2.5.4.8', utf8String('CA')),
    rdn('2.5.4.10', utf8String(ORG)),
    rdn('2.5.4.3', utf8String(cn)),
  );
}

/** RSASSA-PSS / SHA-384 / MGF1-SHA-384 / salt 48 / trailer 1, encoded as AMD does. */
function pssAlgorithm(): Uint8Array {
  const sha384Alg = seq(oid(X509_OID.sha384), nullValue());
  return seq(
    oid(X509_OID.rsassaPss),
    seq(explicit(0, sha384Alg), explicit(1, seq(oid(X509_OID.mgf1), sha384Alg)), explicit(2, integer(48)), explicit(3, integer(1))),
  );
}

function extension(id: string, value: Uint8Array, critical = false): Uint8Array {
  return critical ? seq(oid(id), boolean(true), octets(value)) : seq(oid(id), octets(value));
}

interface CertSpec {
  serial: number;
  issuer: string;
  subject: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  extensions: Uint8Array[];
  notBefore: Date;
  notAfter: Date;
}

function makeCert(s: CertSpec): Uint8Array {
  const alg = pssAlgorithm();
  const spki = new Uint8Array(s.publicKey.export({ type: 'spki', format: 'der' }));
  const tbs = seq(
    explicit(0, integer(2)),
    integer(s.serial),
    alg,
    name(s.issuer),
    seq(time(s.notBefore), time(s.notAfter)),
    name(s.subject),
    spki,
    explicit(3, seq(...s.extensions)),
  );
  const sig = cryptoSign('sha384', tbs, { key: s.signingKey, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
  return seq(tbs, alg, bitString(new Uint8Array(sig)));
}

const caExtensions = (pathLen?: number): Uint8Array[] => [
  extension(X509_OID.keyUsage, enc(T.BIT_STRING, Uint8Array.of(0x01, 0x06)), true), // keyCertSign | cRLSign
  extension(X509_OID.basicConstraints, pathLen === undefined ? seq(boolean(true)) : seq(boolean(true), integer(pathLen)), true),
];

function splExtensions(productName: string, tcb: SimSnpTcb): Uint8Array[] {
  const out = [
    extension(AMD_OID.structVersion, integer(0)),
    extension(AMD_OID.productName, ia5String(productName)),
    extension(AMD_OID.blSPL, integer(tcb.bootloader)),
    extension(AMD_OID.teeSPL, integer(tcb.tee)),
    extension(AMD_OID.spl4, integer(0)),
    extension(AMD_OID.spl5, integer(0)),
    extension(AMD_OID.spl6, integer(0)),
    extension(AMD_OID.spl7, integer(0)),
    extension(AMD_OID.snpSPL, integer(tcb.snp)),
    extension(AMD_OID.ucodeSPL, integer(tcb.microcode)),
  ];
  if (tcb.fmc !== undefined) out.push(extension(AMD_OID.fmcSPL, integer(tcb.fmc)));
  return out;
}

/**
 * DEVELOPMENT ONLY: generates a simulated AMD hierarchy for `product` (default milan):
 * ARK -> ASK -> VCEK and ARK -> ASVK -> VLEK, all valid from `notBefore` to `notAfter`.
 */
export async function createSimSnpAuthority(opts: SimSnpAuthorityOptions = {}): Promise<SimSnpAuthority> {
  const product = opts.product ?? 'milan';
  const info = PRODUCT_INFO[product];
  if (info === undefined) throw new VeriteeError('INPUT_INVALID', `unknown SNP product ${String(product)} (milan, genoa, turin)`);
  const notBefore = opts.notBefore ?? new Date('2024-01-01T00:00:00Z');
  const notAfter = opts.notAfter ?? new Date('2049-12-31T23:59:59Z');
  if (!(notBefore instanceof Date) || !(notAfter instanceof Date) || !(notBefore.getTime() < notAfter.getTime())) {
    throw new VeriteeError('INPUT_TIME_INVALID', 'simulated SNP certificates need notBefore < notAfter');
  }
  // RSA-2048 instead of AMD's RSA-4096: see the module comment.
  const rsa = (): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> => generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const [arkKey, askKey, asvkKey] = await Promise.all([rsa(), rsa(), rsa()]);
  const vcekKey = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const vlekKey = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const chipId = new Uint8Array(randomBytes(64));
  const tcb = { ...info.tcb };
  const validity = { notBefore, notAfter };

  const arkName = `ARK-${info.name}`;
  const askName = `SEV-${info.name}`;
  const asvkName = `SEV-VLEK-${info.name}`;
  const ark = makeCert({ serial: 0x10000, issuer: arkName, subject: arkName, publicKey: arkKey.publicKey, signingKey: arkKey.privateKey, extensions: caExtensions(), ...validity });
  const ask = makeCert({ serial: 0x10001, issuer: arkName, subject: askName, publicKey: askKey.publicKey, signingKey: arkKey.privateKey, extensions: caExtensions(0), ...validity });
  const asvk = makeCert({ serial: 0x10002, issuer: arkName, subject: asvkName, publicKey: asvkKey.publicKey, signingKey: arkKey.privateKey, extensions: caExtensions(0), ...validity });
  const vcek = makeCert({
    serial: 0, // AMD VCEKs have serial 0
    issuer: askName,
    subject: 'SEV-VCEK',
    publicKey: vcekKey.publicKey,
    signingKey: askKey.privateKey,
    extensions: [...splExtensions(info.productName, tcb), extension(AMD_OID.hwID, chipId)],
    ...validity,
  });
  const vlek = makeCert({
    serial: 0,
    issuer: asvkName,
    subject: 'SEV-VLEK',
    publicKey: vlekKey.publicKey,
    signingKey: asvkKey.privateKey,
    extensions: [...splExtensions(info.name, tcb), extension(AMD_OID.cspID, ia5String('CN=veritee-simulator'))],
    ...validity,
  });
  return {
    product,
    anchors: { amd: { [product]: { ark, ask, asvk } } },
    certs: { ark, ask, asvk, vcek, vlek },
    chipId,
    tcb,
    keys: { vcek: vcekKey.privateKey, vlek: vlekKey.privateKey },
  };
}

function tcbBytes(product: SnpProduct, t: SimSnpTcb): Uint8Array {
  // Milan/Genoa: BOOT_LOADER, TEE, 4 reserved, SNP, MICROCODE; Turin: FMC, BOOT_LOADER, TEE, SNP, 3 reserved, MICROCODE
  return product === 'turin'
    ? Uint8Array.of(t.fmc ?? 0, t.bootloader, t.tee, t.snp, 0, 0, 0, t.microcode)
    : Uint8Array.of(t.bootloader, t.tee, 0, 0, 0, 0, t.snp, t.microcode);
}

function fixed(v: Uint8Array | undefined, len: number, what: string, fallback: Uint8Array): Uint8Array {
  if (v === undefined) return fallback;
  if (!(v instanceof Uint8Array) || v.length !== len) {
    throw new VeriteeError('INPUT_INVALID', `simulated SNP ${what} must be ${len} bytes (got ${v instanceof Uint8Array ? v.length : typeof v})`);
  }
  return v;
}

const DEFAULT_MEASUREMENT = sha384(utf8('veritee simulated SEV-SNP guest'));

/** DEVELOPMENT ONLY: a signed 0x4A0-byte SEV-SNP attestation report in the real layout. */
export function simSnpReport(auth: SimSnpAuthority, opts: SimSnpReportOptions): Uint8Array {
  const version = opts.version ?? 3;
  if (![2, 3, 4, 5].includes(version)) throw new VeriteeError('INPUT_INVALID', `simulated SNP report version ${String(version)} (2, 3 or 5)`);
  const rd = opts.reportData;
  if (!(rd instanceof Uint8Array) || rd.length > 64) {
    throw new VeriteeError('INPUT_INVALID', `simulated SNP reportData must be at most 64 bytes (got ${rd instanceof Uint8Array ? rd.length : typeof rd})`);
  }
  const vmpl = opts.vmpl ?? 0;
  if (!Number.isInteger(vmpl) || vmpl < 0 || vmpl > 3) throw new VeriteeError('INPUT_INVALID', `simulated SNP vmpl must be 0..3 (got ${String(vmpl)})`);
  const signer = opts.signer ?? 'vcek';
  if (signer !== 'vcek' && signer !== 'vlek') throw new VeriteeError('INPUT_INVALID', `simulated SNP signer must be vcek or vlek`);
  const measurement = fixed(opts.measurement, 48, 'measurement', DEFAULT_MEASUREMENT);
  const hostData = fixed(opts.hostData, 32, 'hostData', new Uint8Array(32));

  const b = new Uint8Array(SNP_REPORT_SIZE);
  const dv = new DataView(b.buffer);
  const put = (field: keyof typeof SNP_LAYOUT, bytes: Uint8Array): void => {
    const [off, len] = SNP_LAYOUT[field];
    if (bytes.length > len) throw new VeriteeError('INTERNAL', `field ${field} overflow`);
    b.set(bytes, off);
  };
  const u32 = (field: keyof typeof SNP_LAYOUT, v: number): void => dv.setUint32(SNP_LAYOUT[field][0], v >>> 0, true);
  const u64 = (field: keyof typeof SNP_LAYOUT, v: bigint): void => dv.setBigUint64(SNP_LAYOUT[field][0], v, true);

  const tcb = tcbBytes(auth.product, auth.tcb);
  // Guest policy: bit 16 SMT allowed, bit 17 reserved (must be 1), bit 19 DEBUG.
  const policy = (1n << 16n) | (1n << 17n) | (opts.debug ? 1n << 19n : 0n);
  u32('version', version);
  u32('guestSvn', 1);
  u64('policy', policy);
  u32('vmpl', vmpl);
  u32('signatureAlgo', SNP_SIG_ALGO_ECDSA_P384_SHA384);
  put('currentTcb', tcb);
  u64('platformInfo', 0x1n); // SMT enabled
  u32('signerInfo', signer === 'vlek' ? 1 << 2 : 0); // SIGNING_KEY bits 4:2
  put('reportData', rd);
  put('measurement', measurement);
  put('hostData', hostData);
  put('reportId', new Uint8Array(randomBytes(32)));
  put('reportIdMa', new Uint8Array(32).fill(0xff));
  put('reportedTcb', tcb);
  if (version >= 3) {
    const [fam, model, step] = PRODUCT_INFO[auth.product].cpuid;
    put('cpuidFamId', Uint8Array.of(fam));
    put('cpuidModId', Uint8Array.of(model));
    put('cpuidStep', Uint8Array.of(step));
  }
  if (signer === 'vcek') put('chipId', auth.chipId); // a VLEK is not bound to a chip: CHIP_ID stays zero
  put('committedTcb', tcb);
  put('currentBuild', Uint8Array.of(21));
  put('currentMinor', Uint8Array.of(55));
  put('currentMajor', Uint8Array.of(1));
  put('committedBuild', Uint8Array.of(21));
  put('committedMinor', Uint8Array.of(55));
  put('committedMajor', Uint8Array.of(1));
  put('launchTcb', tcb);
  if (version >= 5) {
    u64('launchMitVector', 0n);
    u64('currentMitVector', 0n);
  }

  const sig = cryptoSign('sha384', b.subarray(0, SNP_SIGNED_LENGTH), { key: auth.keys[signer], dsaEncoding: 'ieee-p1363' });
  // R and S: 48-byte big-endian -> little-endian, zero-extended to 72 bytes.
  const r = new Uint8Array(72);
  const s = new Uint8Array(72);
  for (let i = 0; i < 48; i++) {
    r[i] = sig[47 - i]!;
    s[i] = sig[95 - i]!;
  }
  put('signatureR', r);
  put('signatureS', s);
  return b;
}

/** DEVELOPMENT ONLY: an SNP evidence envelope (attestation-rs layout) for a simulated report. */
export function simSnpEvidence(auth: SimSnpAuthority, opts: SimSnpReportOptions): EvidenceEnvelope {
  const signer = opts.signer ?? 'vcek';
  const report = simSnpReport(auth, opts);
  const chain: Record<string, string> =
    signer === 'vlek'
      ? { vlek: toBase64(auth.certs.vlek), ark: toBase64(auth.certs.ark) }
      : { vcek: toBase64(auth.certs.vcek), ask: toBase64(auth.certs.ask), ark: toBase64(auth.certs.ark) };
  return { platform: 'snp', evidence: { attestation_report: toBase64(report), cert_chain: chain } };
}
