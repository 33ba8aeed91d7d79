/**
 * @module sim/tdx
 * DEVELOPMENT ONLY. A simulated Intel TDX platform: a test "Intel SGX Root CA", a PCK
 * platform CA and PCK leaf (P-256, with the Intel SGX extension carrying FMSPC, PCE-ID and
 * TCB), a TCB signing certificate, a quoting enclave (QE) and its attestation key, all
 * generated at run time. It emits quotes in the exact DCAP v4/v5 layout and collateral
 * (signed TCB info, QE identity, CRLs) in dcap-qvl's JSON layout, so the real verifier
 * (tdx/verify.ts) checks them unchanged; only the trust anchor differs.
 *
 * THREAT MODEL: anyone can run this and quote any measurement. Its root must never be a
 * production anchor; the verifier accepts it only through `params.simulatedAnchors` and then
 * marks the claims `simulated`. Subjects say SIMULATED so the certificates are never mistaken
 * for Intel's.
 */
import { createHash, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { concatBytes, toHex, utf8, VeriteeError } from '@veritee/core';
import { toPem } from '../dcap/x509.js';
import {
  ATT_KEY_ECDSA_P256,
  BODY_TYPE_TD15,
  CERT_DATA_PCK_CHAIN,
  CERT_DATA_QE_REPORT,
  INTEL_QE_VENDOR_ID,
  TEE_TYPE_TDX,
} from '../dcap/quote.js';
import type { EvidenceEnvelope, TrustAnchors } from '../types.js';
import { tdxEnvelope } from '../tdx/evidence.js';

const DAY_MS = 86_400_000;

/** SGX TCB components, PCESVN and TDX module SVNs of the simulated platform. */
const SIM_SGX_COMPONENTS = [4, 4, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
const SIM_PCESVN = 13;
const SIM_FMSPC = '00a06f000000';
const SIM_PCEID = '0000';
/** TEE_TCB_SVN: byte 0 TDX module SVN, byte 1 module major version, byte 2 late microcode. */
const SIM_TEE_TCB_SVN = [5, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const SIM_QE_ISVSVN = 4;
const SIM_QE_PRODID = 2;
const ZERO48 = '0'.repeat(96);

export interface SimTdxAuthorityOptions {
  notBefore?: Date;
  notAfter?: Date;
  /** TCB status the simulated collateral gives this platform (default UpToDate). */
  tcbStatus?: 'UpToDate' | 'OutOfDate';
}

export interface SimTdxAuthority {
  /** Pass as `params.simulatedAnchors`: the simulated Intel root, DER. */
  anchors: TrustAnchors;
  notBefore: Date;
  notAfter: Date;
  tcbStatus: 'UpToDate' | 'OutOfDate';
  /** Collateral in dcap-qvl JSON layout (the same object for every quote). */
  collateral: Record<string, unknown>;
  /** PEM chain PCK leaf -> PCK CA -> root, as carried in the quote. */
  pckChainPem: string;
  /** @internal */
  readonly keys: { pck: KeyObject; attestation: KeyObject; attestationPublic: Uint8Array; tcbSigning: KeyObject };
  /** MRSIGNER of the simulated QE. */
  qeMrSigner: Uint8Array;
}

export interface SimTdxEvidenceRequest {
  /** 64 bytes. */
  reportData: Uint8Array;
  /** 48 bytes; default a fixed test value. */
  mrtd?: Uint8Array;
  /** Up to four 48-byte RTMRs; missing ones are zero. */
  rtmrs?: Uint8Array[];
  /** 48 bytes; default zero. */
  mrConfigId?: Uint8Array;
  /** Sets TDATTRIBUTES.DEBUG (bit 0). */
  debug?: boolean;
  /** 4: TD 1.0 body; 5: v5 header with a TD 1.5 body (type 3). Default 4. */
  version?: 4 | 5;
}

// ---- small DER encoder (for the SGX extension) -----------------------------------------

function derLen(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const b: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) b.unshift(x & 255);
  return Uint8Array.from([0x80 | b.length, ...b]);
}
const tlv = (tag: number, body: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(tag), derLen(body.length), body);
const seq = (...items: Uint8Array[]): Uint8Array => tlv(0x30, concatBytes(...items));
function oid(dotted: string): Uint8Array {
  const p = dotted.split('.').map(Number);
  const out: number[] = [p[0]! * 40 + p[1]!];
  for (const arc of p.slice(2)) {
    const b: number[] = [arc & 0x7f];
    for (let x = Math.floor(arc / 128); x > 0; x = Math.floor(x / 128)) b.unshift(0x80 | (x & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Uint8Array.from(out));
}
function int(v: number, tag = 0x02): Uint8Array {
  const b: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) b.unshift(x & 255);
  if (b.length === 0 || b[0]! & 0x80) b.unshift(0);
  return tlv(tag, Uint8Array.from(b));
}
const octets = (b: Uint8Array): Uint8Array => tlv(0x04, b);
const hexBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

const SGX = '1.2.840.113741.1.13.1';

function sgxExtensionValue(ppid: Uint8Array): Uint8Array {
  const tcb = seq(
    ...SIM_SGX_COMPONENTS.map((v, i) => seq(oid(`${SGX}.2.${i + 1}`), int(v))),
    seq(oid(`${SGX}.2.17`), int(SIM_PCESVN)),
    seq(oid(`${SGX}.2.18`), octets(Uint8Array.from(SIM_SGX_COMPONENTS))),
  );
  return seq(
    seq(oid(`${SGX}.1`), octets(ppid)),
    seq(oid(`${SGX}.2`), tcb),
    seq(oid(`${SGX}.3`), octets(hexBytes(SIM_PCEID))),
    seq(oid(`${SGX}.4`), octets(hexBytes(SIM_FMSPC))),
    seq(oid(`${SGX}.5`), int(1, 0x0a)),
  );
}

// ---- keys, certificates and CRLs (own DER encoder: no reflect-metadata polyfill needed) ----

interface SimKey {
  priv: KeyObject;
  spki: Uint8Array;
  /** X || Y, 64 bytes. */
  rawPublic: Uint8Array;
}

function keyPair(): SimKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = concatBytes(Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url'));
  return { priv: privateKey, spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })), rawPublic: raw };
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function time(d: Date): Uint8Array {
  const iso = d.toISOString();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return d.getUTCFullYear() < 2050 ? tlv(0x17, utf8(`${digits.slice(2)}Z`)) : tlv(0x18, utf8(`${digits}Z`));
}

/** `[['CN', '...'], ...]` -> Name (C as PrintableString, the rest UTF8String). */
function name(attrs: [string, string][]): Uint8Array {
  const ids: Record<string, string> = { CN: '2.5.4.3', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', O: '2.5.4.10' };
  return seq(...attrs.map(([k, v]) => tlv(0x31, seq(oid(ids[k]!), tlv(k === 'C' ? 0x13 : 0x0c, utf8(v))))));
}

function ext(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return seq(oid(id), ...(critical ? [Uint8Array.of(0x01, 0x01, 0xff)] : []), octets(value));
}

const keyId = (k: SimKey): Uint8Array => new Uint8Array(createHash('sha1').update(Uint8Array.of(4)).update(k.rawPublic).digest());

function signDer(key: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(cryptoSign('sha256', data, { key, dsaEncoding: 'der' }));
}

function signedStructure(tbs: Uint8Array, issuer: SimKey): Uint8Array {
  return seq(tbs, ECDSA_SHA256, tlv(0x03, concatBytes(Uint8Array.of(0), signDer(issuer.priv, tbs))));
}

function serialNumber(): Uint8Array {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return tlv(0x02, new Uint8Array(b));
}

function certificate(p: {
  subject: Uint8Array;
  issuer: Uint8Array;
  subjectKey: SimKey;
  issuerKey: SimKey;
  notBefore: Date;
  notAfter: Date;
  ca?: { pathLen: number };
  extra?: Uint8Array[];
}): Uint8Array {
  const exts = [
    ext('2.5.29.19', true, p.ca ? seq(Uint8Array.of(0x01, 0x01, 0xff), int(p.ca.pathLen)) : seq()),
    // keyUsage: CA keyCertSign|cRLSign (0x06, 1 unused bit); leaf digitalSignature|nonRepudiation (0xc0, 6 unused bits)
    ext('2.5.29.15', true, p.ca ? Uint8Array.of(0x03, 0x02, 0x01, 0x06) : Uint8Array.of(0x03, 0x02, 0x06, 0xc0)),
    ext('2.5.29.14', false, octets(keyId(p.subjectKey))),
    ext('2.5.29.35', false, seq(tlv(0x80, keyId(p.issuerKey)))),
    ...(p.extra ?? []),
  ];
  const tbs = seq(
    Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02), // version v3
    serialNumber(),
    ECDSA_SHA256,
    p.issuer,
    seq(time(p.notBefore), time(p.notAfter)),
    p.subject,
    p.subjectKey.spki,
    tlv(0xa3, seq(...exts)),
  );
  return signedStructure(tbs, p.issuerKey);
}

function crl(issuer: Uint8Array, issuerKey: SimKey, thisUpdate: Date, nextUpdate: Date): Uint8Array {
  const tbs = seq(
    int(1), // v2
    ECDSA_SHA256,
    issuer,
    time(thisUpdate),
    time(nextUpdate),
    tlv(0xa0, seq(ext('2.5.29.20', false, int(1)), ext('2.5.29.35', false, seq(tlv(0x80, keyId(issuerKey)))))),
  );
  return signedStructure(tbs, issuerKey);
}

function signP1363(key: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }));
}

/** DEVELOPMENT ONLY: builds a simulated Intel DCAP hierarchy and its collateral. */
export async function createSimTdxAuthority(opts: SimTdxAuthorityOptions = {}): Promise<SimTdxAuthority> {
  const now = Date.now();
  const notBefore = opts.notBefore ?? new Date(now - DAY_MS);
  const notAfter = opts.notAfter ?? new Date(now + 365 * DAY_MS);
  if (!(notBefore < notAfter)) throw new VeriteeError('INPUT_TIME_INVALID', 'simulated TDX authority: notBefore must precede notAfter');
  const tcbStatus = opts.tcbStatus ?? 'UpToDate';

  const [root, pckCa, pck, tcbSigner, att] = [keyPair(), keyPair(), keyPair(), keyPair(), keyPair()];
  const O: [string, string][] = [['O', 'veritee simulator (NOT Intel)'], ['L', 'Santa Clara'], ['ST', 'CA'], ['C', 'US']];
  const rootName = name([['CN', 'SIMULATED Intel SGX Root CA'], ...O]);
  const pckCaName = name([['CN', 'SIMULATED Intel SGX PCK Platform CA'], ...O]);
  const window = { notBefore, notAfter };
  const rootCert = certificate({ ...window, subject: rootName, issuer: rootName, subjectKey: root, issuerKey: root, ca: { pathLen: 1 } });
  const pckCaCert = certificate({ ...window, subject: pckCaName, issuer: rootName, subjectKey: pckCa, issuerKey: root, ca: { pathLen: 0 } });
  const ppid = new Uint8Array(createHash('sha256').update('veritee sim ppid').digest().subarray(0, 16));
  const pckCert = certificate({
    ...window,
    subject: name([['CN', 'SIMULATED Intel SGX PCK Certificate'], ...O]),
    issuer: pckCaName,
    subjectKey: pck,
    issuerKey: pckCa,
    extra: [ext(SGX, false, sgxExtensionValue(ppid))],
  });
  const tcbCert = certificate({ ...window, subject: name([['CN', 'SIMULATED Intel SGX TCB Signing'], ...O]), issuer: rootName, subjectKey: tcbSigner, issuerKey: root });
  const rootCrl = crl(rootName, root, notBefore, notAfter);
  const pckCrl = crl(pckCaName, pckCa, notBefore, notAfter);

  const rootPem = toPem(rootCert);
  const pckChainPem = toPem(pckCert) + toPem(pckCaCert) + rootPem;
  const tcbChainPem = toPem(tcbCert) + rootPem;

  const qeMrSigner = new Uint8Array(createHash('sha256').update('veritee simulated TD quoting enclave').digest());
  const issueDate = notBefore.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const nextUpdate = notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const comps = (svns: number[]) => svns.map((svn) => ({ svn }));
  const platformLevel = {
    tcb: { sgxtcbcomponents: comps(SIM_SGX_COMPONENTS), pcesvn: SIM_PCESVN, tdxtcbcomponents: comps(SIM_TEE_TCB_SVN) },
    tcbDate: issueDate,
    tcbStatus,
    ...(tcbStatus === 'OutOfDate' ? { advisoryIDs: ['INTEL-SA-00000'] } : {}),
  };
  const newerLevel = {
    tcb: {
      sgxtcbcomponents: comps(SIM_SGX_COMPONENTS.map((v) => v + 1)),
      pcesvn: SIM_PCESVN + 1,
      tdxtcbcomponents: comps(SIM_TEE_TCB_SVN.map((v, i) => (i < 2 ? v : v + 1))),
    },
    tcbDate: issueDate,
    tcbStatus: 'UpToDate',
  };
  const tcbInfo = JSON.stringify({
    id: 'TDX',
    version: 3,
    issueDate,
    nextUpdate,
    fmspc: SIM_FMSPC.toUpperCase(),
    pceId: SIM_PCEID,
    tcbType: 0,
    tcbEvaluationDataNumber: 1,
    tdxModule: { mrsigner: ZERO48, attributes: '0000000000000000', attributesMask: 'FFFFFFFFFFFFFFFF' },
    tdxModuleIdentities: [
      {
        id: 'TDX_01',
        mrsigner: ZERO48,
        attributes: '0000000000000000',
        attributesMask: 'FFFFFFFFFFFFFFFF',
        tcbLevels: [{ tcb: { isvsvn: SIM_TEE_TCB_SVN[0] }, tcbDate: issueDate, tcbStatus: 'UpToDate' }],
      },
    ],
    tcbLevels: tcbStatus === 'OutOfDate' ? [newerLevel, platformLevel] : [platformLevel],
  });
  const qeIdentity = JSON.stringify({
    id: 'TD_QE',
    version: 2,
    issueDate,
    nextUpdate,
    tcbEvaluationDataNumber: 1,
    miscselect: '00000000',
    miscselectMask: 'FFFFFFFF',
    attributes: '11000000000000000000000000000000',
    attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
    mrsigner: toHex(qeMrSigner).toUpperCase(),
    isvprodid: SIM_QE_PRODID,
    tcbLevels: [{ tcb: { isvsvn: SIM_QE_ISVSVN }, tcbDate: issueDate, tcbStatus: 'UpToDate' }],
  });
  const collateral: Record<string, unknown> = {
    pck_crl_issuer_chain: toPem(pckCaCert) + rootPem,
    root_ca_crl: toHex(rootCrl),
    pck_crl: toHex(pckCrl),
    tcb_info_issuer_chain: tcbChainPem,
    tcb_info: tcbInfo,
    tcb_info_signature: toHex(signP1363(tcbSigner.priv, utf8(tcbInfo))),
    qe_identity_issuer_chain: tcbChainPem,
    qe_identity: qeIdentity,
    qe_identity_signature: toHex(signP1363(tcbSigner.priv, utf8(qeIdentity))),
  };
  return {
    anchors: { intelRoot: rootCert },
    notBefore,
    notAfter,
    tcbStatus,
    collateral,
    pckChainPem,
    keys: { pck: pck.priv, attestation: att.priv, attestationPublic: att.rawPublic, tcbSigning: tcbSigner.priv },
    qeMrSigner,
  };
}

// ---- quotes ----------------------------------------------------------------------------

function u16(v: number): Uint8Array {
  return Uint8Array.of(v & 255, (v >> 8) & 255);
}
function u32(v: number): Uint8Array {
  return Uint8Array.of(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
}
function fixed(v: Uint8Array | undefined, len: number, what: string, fallback: () => Uint8Array): Uint8Array {
  const b = v ?? fallback();
  if (b.length !== len) throw new VeriteeError('INPUT_INVALID', `simulated TDX: ${what} must be ${len} bytes, got ${b.length}`);
  return b;
}
const sha384 = (s: string): Uint8Array => new Uint8Array(createHash('sha384').update(s).digest());

/** DEVELOPMENT ONLY: a quote in the real DCAP layout plus the authority's collateral. */
export function simTdxEvidence(auth: SimTdxAuthority, req: SimTdxEvidenceRequest): EvidenceEnvelope {
  const version = req.version ?? 4;
  if (version !== 4 && version !== 5) throw new VeriteeError('INPUT_INVALID', `simulated TDX: quote version ${String(version)} is not 4 or 5`);
  const reportData = fixed(req.reportData, 64, 'reportData', () => new Uint8Array(64));
  const rtmrs = req.rtmrs ?? [];
  if (rtmrs.length > 4) throw new VeriteeError('INPUT_INVALID', 'simulated TDX: at most four RTMRs');
  const tdAttributes = new Uint8Array(8);
  tdAttributes[0] = req.debug ? 1 : 0; // DEBUG
  tdAttributes[3] = 0x10; // SEPT_VE_DISABLE (bit 28)
  const xfam = Uint8Array.of(0xe7, 0x02, 0x06, 0, 0, 0, 0, 0);
  const bodyParts = [
    Uint8Array.from(SIM_TEE_TCB_SVN), // TEE_TCB_SVN
    sha384('veritee simulated TDX module'), // MRSEAM
    new Uint8Array(48), // MRSIGNERSEAM (Intel's module: zero)
    new Uint8Array(8), // SEAMATTRIBUTES
    tdAttributes,
    xfam,
    fixed(req.mrtd, 48, 'mrtd', () => sha384('veritee simulated TD')),
    fixed(req.mrConfigId, 48, 'mrConfigId', () => new Uint8Array(48)),
    new Uint8Array(48), // MROWNER
    new Uint8Array(48), // MROWNERCONFIG
    ...[0, 1, 2, 3].map((i) => fixed(rtmrs[i], 48, `rtmrs[${i}]`, () => new Uint8Array(48))),
    reportData,
  ];
  if (version === 5) bodyParts.push(new Uint8Array(16), new Uint8Array(48)); // TEE_TCB_SVN2, MRSERVICETD
  const body = concatBytes(...bodyParts);
  const header = concatBytes(u16(version), u16(ATT_KEY_ECDSA_P256), u32(TEE_TYPE_TDX), u16(0), u16(0), INTEL_QE_VENDOR_ID, new Uint8Array(20));
  const signed = version === 5 ? concatBytes(header, u16(BODY_TYPE_TD15), u32(body.length), body) : concatBytes(header, body);

  const attKey = auth.keys.attestationPublic;
  const qeAuthData = Uint8Array.from({ length: 32 }, (_, i) => i);
  const qeReport = new Uint8Array(384);
  qeReport.set(Uint8Array.from(SIM_SGX_COMPONENTS), 0); // CPUSVN
  qeReport.set(hexBytes('11000000000000000000000000000000'), 48); // ATTRIBUTES (INIT | MODE64BIT)
  qeReport.set(sha384('veritee simulated QE').subarray(0, 32), 64); // MRENCLAVE
  qeReport.set(auth.qeMrSigner, 128); // MRSIGNER
  qeReport.set(u16(SIM_QE_PRODID), 256);
  qeReport.set(u16(SIM_QE_ISVSVN), 258);
  qeReport.set(createHash('sha256').update(attKey).update(qeAuthData).digest(), 320); // REPORTDATA[0..32]
  const qeReportSig = signP1363(auth.keys.pck, qeReport);
  const certData = concatBytes(utf8(auth.pckChainPem), Uint8Array.of(0));
  const qeCertData = concatBytes(qeReport, qeReportSig, u16(qeAuthData.length), qeAuthData, u16(CERT_DATA_PCK_CHAIN), u32(certData.length), certData);
  const quoteSig = signP1363(auth.keys.attestation, signed);
  const sigData = concatBytes(quoteSig, attKey, u16(CERT_DATA_QE_REPORT), u32(qeCertData.length), qeCertData);
  const quote = concatBytes(signed, u32(sigData.length), sigData);
  return tdxEnvelope(quote, auth.collateral);
}
