/**
 * @module nvidia/cert-chain
 * The NVIDIA device certificate chain: PEM parsing, chain building leaf -> ... -> NVIDIA
 * device identity root (ECDSA signatures checked with WebCrypto), validity at an explicit
 * time, and the device identity carried by the leaf (FWID, device id, serial).
 *
 * THREAT MODEL: every certificate in the evidence comes from the attacker. Only the
 * bundled root (or a simulated anchor the caller passes explicitly) is trusted, compared
 * by exact DER bytes. A chain is accepted when each certificate's issuer name equals the
 * next one's subject, each is signed by the next, every issuer is a CA allowed to sign
 * certificates (basicConstraints cA, keyUsage keyCertSign when present, pathLen), no
 * unknown critical extension is present, and the last certificate is signed by (or is)
 * the anchor. Validity periods are checked separately at the caller's `at`.
 */
import { VeriteeError, fromBase64, toBase64, toHex, bytesEqual, type ErrorCode } from '@veritee/core';
import { TAG, expect, kids, oidOf, parseDer, raw, textOf, timeOf, val, ecdsaDerToRaw, type Tlv } from './der.js';

export const MAX_CERT_CHAIN_PEM_CHARS = 64 * 1024;
export const MAX_CERTS_IN_CHAIN = 8;

export const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  p521: '1.3.132.0.35',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  ecdsaSha512: '1.2.840.10045.4.3.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  /** TCG DICE TcbInfo: NVIDIA puts the FMC firmware digest (FWID) here. */
  diceTcbInfo: '2.23.133.5.4.1',
  /** NVIDIA otherName in subjectAltName: `NVIDIA:<chip>:<device id>`. */
  nvidiaDeviceName: '1.3.6.1.4.1.412.274.1',
  serialNumberAttr: '2.5.4.5',
} as const;

const CURVES: Record<string, { name: 'P-256' | 'P-384' | 'P-521'; size: number }> = {
  [OID.p256]: { name: 'P-256', size: 32 },
  [OID.p384]: { name: 'P-384', size: 48 },
  [OID.p521]: { name: 'P-521', size: 66 },
};
const SIG_HASH: Record<string, 'SHA-256' | 'SHA-384' | 'SHA-512'> = {
  [OID.ecdsaSha256]: 'SHA-256',
  [OID.ecdsaSha384]: 'SHA-384',
  [OID.ecdsaSha512]: 'SHA-512',
};
const FWID_HASH_LEN: Record<string, number> = { [OID.sha256]: 32, [OID.sha384]: 48, [OID.sha512]: 64 };

const ATTR_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
};

/** Extensions this module understands; a critical one outside the set rejects the chain. */
const KNOWN_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.subjectAltName,
  OID.diceTcbInfo,
]);

export const KEY_USAGE = { digitalSignature: 0x80, keyCertSign: 0x04 } as const; // bits of the first byte

export interface CertExtension {
  oid: string;
  critical: boolean;
  value: Uint8Array;
}

export interface ParsedCert {
  der: Uint8Array;
  /** Human label for messages: `certificate 2 of 5 (CN=...)`. */
  label: string;
  tbs: Uint8Array;
  sigAlg: string;
  signature: Uint8Array;
  serialHex: string;
  issuerRaw: Uint8Array;
  subjectRaw: Uint8Array;
  issuer: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  keyAlg: string;
  keyCurve?: string;
  extensions: CertExtension[];
  basicConstraints?: { ca: boolean; pathLen?: number };
  /** First byte(s) of the keyUsage BIT STRING, when present. */
  keyUsage?: number;
  /** The subject's serialNumber attribute (NVIDIA: hex of the key id). */
  subjectSerialNumber?: string;
  /** `NVIDIA:GH100:48B02D92494BADF4` from the subjectAltName otherName. */
  nvidiaDeviceName?: string;
  /** FWID from the DICE TcbInfo extension. */
  fwid?: { hashAlg: string; digest: Uint8Array };
}

function bad(what: string, msg: string, code: ErrorCode = 'ATTEST_EVIDENCE_INVALID'): VeriteeError {
  return new VeriteeError(code, `${what}: ${msg}`);
}

function formatName(name: Tlv, what: string): { text: string; serialNumber?: string } {
  const parts: string[] = [];
  let serialNumber: string | undefined;
  for (const rdn of kids(expect(name, TAG.SEQUENCE, what), what)) {
    for (const atv of kids(expect(rdn, TAG.SET, what), what)) {
      const [t, v] = kids(expect(atv, TAG.SEQUENCE, what), what);
      const oid = oidOf(expect(t, TAG.OID, what), what);
      if (v === undefined) throw bad(what, 'attribute without value');
      const text = textOf(v);
      if (oid === OID.serialNumberAttr) serialNumber = text;
      parts.push(`${ATTR_NAMES[oid] ?? oid}=${text}`);
    }
  }
  return serialNumber === undefined ? { text: parts.join(', ') } : { text: parts.join(', '), serialNumber };
}

/** Depth-first search for FWID ::= SEQUENCE { hashAlg OID, digest OCTET STRING }. */
function findFwid(t: Tlv, what: string, depth = 0): { hashAlg: string; digest: Uint8Array } | undefined {
  if (depth > 8 || (t.tag & 0x20) === 0) return undefined;
  const ks = kids(t, what);
  if (t.tag === TAG.SEQUENCE && ks.length === 2 && ks[0]!.tag === TAG.OID && ks[1]!.tag === TAG.OCTET_STRING) {
    const alg = oidOf(ks[0]!, what);
    const len = FWID_HASH_LEN[alg];
    if (len !== undefined && val(ks[1]!).length === len) return { hashAlg: alg, digest: val(ks[1]!).slice() };
  }
  for (const k of ks) {
    const f = findFwid(k, what, depth + 1);
    if (f) return f;
  }
  return undefined;
}

/** subjectAltName otherName with NVIDIA's OID -> its string value. */
function findNvidiaName(san: Uint8Array, what: string): string | undefined {
  const names = parseDer(san, what);
  for (const gn of kids(expect(names, TAG.SEQUENCE, what), what)) {
    if (gn.tag !== 0xa0) continue; // otherName [0]
    const [typeId, wrapped] = kids(gn, what);
    if (typeId?.tag !== TAG.OID || oidOf(typeId, what) !== OID.nvidiaDeviceName || wrapped?.tag !== 0xa0) continue;
    const inner = kids(wrapped, what)[0];
    if (inner) return textOf(inner);
  }
  return undefined;
}

/** Parses one DER certificate (structure only; nothing is trusted here). */
export function parseCertificate(der: Uint8Array, label = 'certificate'): ParsedCert {
  const what = label;
  const cert = expect(parseDer(der, what), TAG.SEQUENCE, what);
  const [tbsT, algT, sigT, ...extra] = kids(cert, what);
  if (extra.length > 0 || tbsT === undefined || algT === undefined || sigT === undefined) {
    throw bad(what, 'a certificate is SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }');
  }
  const tbsKids = kids(expect(tbsT, TAG.SEQUENCE, what), what);
  let i = 0;
  if (tbsKids[0]?.tag === 0xa0) i = 1; // [0] version
  const serialT = expect(tbsKids[i], TAG.INTEGER, what);
  const innerAlgT = expect(tbsKids[i + 1], TAG.SEQUENCE, what);
  const issuerT = expect(tbsKids[i + 2], TAG.SEQUENCE, what);
  const validityT = expect(tbsKids[i + 3], TAG.SEQUENCE, what);
  const subjectT = expect(tbsKids[i + 4], TAG.SEQUENCE, what);
  const spkiT = expect(tbsKids[i + 5], TAG.SEQUENCE, what);
  const sigAlg = oidOf(expect(kids(expect(algT, TAG.SEQUENCE, what), what)[0], TAG.OID, what), what);
  const innerAlg = oidOf(expect(kids(innerAlgT, what)[0], TAG.OID, what), what);
  if (innerAlg !== sigAlg) throw bad(what, `signature algorithm ${sigAlg} differs from the TBS algorithm ${innerAlg}`);
  const sigBits = val(expect(sigT, TAG.BIT_STRING, what));
  if (sigBits.length < 1 || sigBits[0] !== 0) throw bad(what, 'signature BIT STRING has unused bits');
  const [nbT, naT] = kids(validityT, what);
  if (nbT === undefined || naT === undefined) throw bad(what, 'validity needs notBefore and notAfter');
  const [spkiAlgT, spkiKeyT] = kids(spkiT, what);
  const spkiAlgKids = kids(expect(spkiAlgT, TAG.SEQUENCE, what), what);
  expect(spkiKeyT, TAG.BIT_STRING, what);
  const keyAlg = oidOf(expect(spkiAlgKids[0], TAG.OID, what), what);
  const keyCurve = spkiAlgKids[1]?.tag === TAG.OID ? oidOf(spkiAlgKids[1], what) : undefined;
  const issuer = formatName(issuerT, what);
  const subject = formatName(subjectT, what);

  const extensions: CertExtension[] = [];
  for (const t of tbsKids.slice(i + 6)) {
    if (t.tag !== 0xa3) continue; // [1]/[2] unique ids are ignored
    const list = expect(kids(t, what)[0], TAG.SEQUENCE, what);
    for (const e of kids(list, what)) {
      const ek = kids(expect(e, TAG.SEQUENCE, what), what);
      const oid = oidOf(expect(ek[0], TAG.OID, what), what);
      let critical = false;
      let vi = 1;
      if (ek[1]?.tag === TAG.BOOLEAN) {
        critical = val(ek[1])[0] !== 0;
        vi = 2;
      }
      const value = val(expect(ek[vi], TAG.OCTET_STRING, what)).slice();
      if (extensions.some((x) => x.oid === oid)) throw bad(what, `extension ${oid} appears twice`);
      extensions.push({ oid, critical, value });
    }
  }

  const parsed: ParsedCert = {
    der,
    label: `${label} (${subject.text})`,
    tbs: raw(tbsT).slice(),
    sigAlg,
    signature: sigBits.slice(1),
    serialHex: toHex(val(serialT)),
    issuerRaw: raw(issuerT).slice(),
    subjectRaw: raw(subjectT).slice(),
    issuer: issuer.text,
    subject: subject.text,
    notBefore: timeOf(nbT, what),
    notAfter: timeOf(naT, what),
    spki: raw(spkiT).slice(),
    keyAlg,
    extensions,
  };
  if (keyCurve !== undefined) parsed.keyCurve = keyCurve;
  if (subject.serialNumber !== undefined) parsed.subjectSerialNumber = subject.serialNumber;

  for (const e of extensions) {
    const ew = `${what} extension ${e.oid}`;
    if (e.oid === OID.basicConstraints) {
      const bk = kids(expect(parseDer(e.value, ew), TAG.SEQUENCE, ew), ew);
      let ca = false;
      let k = 0;
      if (bk[0]?.tag === TAG.BOOLEAN) {
        ca = val(bk[0])[0] !== 0;
        k = 1;
      }
      const bc: { ca: boolean; pathLen?: number } = { ca };
      if (bk[k]?.tag === TAG.INTEGER) {
        const b = val(bk[k]!);
        if (b.length > 2 || (b[0]! & 0x80) !== 0) throw bad(ew, 'pathLenConstraint out of range');
        bc.pathLen = b.reduce((a, x) => a * 256 + x, 0);
      }
      parsed.basicConstraints = bc;
    } else if (e.oid === OID.keyUsage) {
      const b = val(expect(parseDer(e.value, ew), TAG.BIT_STRING, ew));
      parsed.keyUsage = b.length > 1 ? b[1]! : 0;
    } else if (e.oid === OID.subjectAltName) {
      const n = findNvidiaName(e.value, ew);
      if (n !== undefined) parsed.nvidiaDeviceName = n;
    } else if (e.oid === OID.diceTcbInfo) {
      const f = findFwid(parseDer(e.value, ew), ew);
      if (f !== undefined) parsed.fwid = f;
    }
  }
  return parsed;
}

/** Splits a PEM bundle into certificates, leaf first as sent. */
export function parsePemChain(pem: string): ParsedCert[] {
  if (typeof pem !== 'string') throw bad('cert_chain', 'must be a PEM string');
  if (pem.length > MAX_CERT_CHAIN_PEM_CHARS) {
    throw new VeriteeError('INPUT_TOO_LARGE', `cert_chain is ${pem.length} characters, larger than the ${MAX_CERT_CHAIN_PEM_CHARS} limit`);
  }
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw bad('cert_chain', 'holds no PEM certificate');
  if (blocks.length > MAX_CERTS_IN_CHAIN) throw bad('cert_chain', `holds ${blocks.length} certificates, at most ${MAX_CERTS_IN_CHAIN} accepted`);
  return blocks.map((m, i) => {
    const label = `cert_chain certificate ${i + 1} of ${blocks.length}`;
    const der = fromBase64(m[1]!, label);
    return parseCertificate(der, label);
  });
}

export function toPem(der: Uint8Array): string {
  const b64 = toBase64(der);
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

// ---- signatures -----------------------------------------------------------------------

/** A copy backed by a plain ArrayBuffer, as WebCrypto's BufferSource type requires. */
export function bufferSource(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

/** Imports an EC public key from a SubjectPublicKeyInfo for ECDSA verification. */
export async function importEcKey(cert: ParsedCert): Promise<{ key: CryptoKey; size: number; curve: string }> {
  const curve = cert.keyCurve !== undefined ? CURVES[cert.keyCurve] : undefined;
  if (cert.keyAlg !== OID.ecPublicKey || curve === undefined) {
    throw bad(cert.label, `public key ${cert.keyAlg}/${cert.keyCurve ?? '-'} is not an ECDSA P-256/P-384/P-521 key`, 'ATTEST_CERT_CHAIN_INVALID');
  }
  const key = await globalThis.crypto.subtle.importKey('spki', bufferSource(cert.spki), { name: 'ECDSA', namedCurve: curve.name }, false, ['verify']);
  return { key, size: curve.size, curve: curve.name };
}

/** True when `child`'s signature verifies under `issuer`'s key (ECDSA only). */
export async function signedBy(child: ParsedCert, issuer: ParsedCert): Promise<boolean> {
  const hash = SIG_HASH[child.sigAlg];
  if (hash === undefined) return false;
  try {
    const { key, size } = await importEcKey(issuer);
    const rawSig = ecdsaDerToRaw(child.signature, size, `${child.label} signature`);
    return await globalThis.crypto.subtle.verify({ name: 'ECDSA', hash }, key, bufferSource(rawSig), bufferSource(child.tbs));
  } catch {
    return false;
  }
}

// ---- chain ----------------------------------------------------------------------------

export interface TrustAnchor {
  cert: ParsedCert;
  /** True for test anchors (the simulated GPU's root). */
  simulated: boolean;
}

export interface ChainOutcome {
  ok: boolean;
  code?: ErrorCode;
  detail: string;
  /** The checked path, leaf first, ending with the anchor (when ok). */
  path: ParsedCert[];
  simulated: boolean;
}

function isCa(c: ParsedCert): boolean {
  return c.basicConstraints?.ca === true && (c.keyUsage === undefined || (c.keyUsage & KEY_USAGE.keyCertSign) !== 0);
}

/** Checks `certs` (leaf first) against one anchor; returns a reason on failure. */
async function chainTo(certs: ParsedCert[], anchor: TrustAnchor): Promise<string | undefined> {
  let presented = certs;
  const last = presented[presented.length - 1]!;
  if (bytesEqual(last.der, anchor.cert.der)) presented = presented.slice(0, -1);
  if (presented.length === 0) return 'the chain holds only the root, no device certificate';
  const path = [...presented, anchor.cert];
  for (const c of path) {
    const unknown = c.extensions.find((e) => e.critical && !KNOWN_EXTENSIONS.has(e.oid));
    if (unknown) return `${c.label} has an unknown critical extension ${unknown.oid}`;
  }
  const leaf = path[0]!;
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & KEY_USAGE.digitalSignature) === 0) {
    return `${leaf.label} keyUsage does not allow digitalSignature`;
  }
  for (let i = 0; i + 1 < path.length; i++) {
    const child = path[i]!;
    const parent = path[i + 1]!;
    if (!bytesEqual(child.issuerRaw, parent.subjectRaw)) {
      return `${child.label} is issued by '${child.issuer}', but the next certificate is '${parent.subject}'`;
    }
    if (!isCa(parent)) return `${parent.label} is not a CA allowed to sign certificates`;
    const below = i; // intermediate CAs between the leaf and `parent`
    if (parent.basicConstraints?.pathLen !== undefined && below > parent.basicConstraints.pathLen) {
      return `${parent.label} pathLenConstraint ${parent.basicConstraints.pathLen} exceeded`;
    }
    if (SIG_HASH[child.sigAlg] === undefined) return `${child.label} uses unsupported signature algorithm ${child.sigAlg}`;
    if (!(await signedBy(child, parent))) return `${child.label} signature does not verify under ${parent.label}'s key`;
  }
  return undefined;
}

/**
 * Builds and checks the chain leaf -> ... -> anchor. Anchors are tried in order (real
 * root first); `simulated` is true only when the chain ends at a simulated anchor.
 */
export async function verifyChain(certs: ParsedCert[], anchors: TrustAnchor[]): Promise<ChainOutcome> {
  if (certs.length === 0) return { ok: false, code: 'ATTEST_CERT_CHAIN_INVALID', detail: 'empty certificate chain', path: [], simulated: false };
  const reasons: string[] = [];
  for (const a of anchors) {
    const why = await chainTo(certs, a);
    if (why === undefined) {
      const presented = bytesEqual(certs[certs.length - 1]!.der, a.cert.der) ? certs.slice(0, -1) : certs;
      const path = [...presented, a.cert];
      return {
        ok: true,
        detail: `${path.length} certificates chain to ${a.simulated ? 'the simulated root' : 'the NVIDIA device identity root'} '${a.cert.subject}'`,
        path,
        simulated: a.simulated,
      };
    }
    reasons.push(`${a.simulated ? 'simulated root' : 'NVIDIA root'}: ${why}`);
  }
  return {
    ok: false,
    code: 'ATTEST_CERT_CHAIN_INVALID',
    detail: `certificate chain does not lead to a trusted root (${reasons.join('; ')})`,
    path: [],
    simulated: false,
  };
}

/** Every certificate of `path` must be valid at `at` (notBefore <= at <= notAfter). */
export function checkValidityAt(path: ParsedCert[], at: Date): { ok: boolean; code?: ErrorCode; detail: string } {
  const t = at.getTime();
  for (const c of path) {
    if (t < c.notBefore.getTime() || t > c.notAfter.getTime()) {
      return {
        ok: false,
        code: 'ATTEST_CERT_EXPIRED',
        detail: `${c.label} is not valid at ${at.toISOString()} (valid ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()})`,
      };
    }
  }
  return { ok: true, detail: `${path.length} certificates valid at ${at.toISOString()}` };
}

/** Device identity from the leaf: FWID hex, device id (from `NVIDIA:<chip>:<id>`), subject serial. */
export function leafIdentity(leaf: ParsedCert): { fwid?: string; deviceName?: string; deviceId?: string; serialNumber?: string } {
  const out: { fwid?: string; deviceName?: string; deviceId?: string; serialNumber?: string } = {};
  if (leaf.fwid) out.fwid = toHex(leaf.fwid.digest);
  if (leaf.nvidiaDeviceName !== undefined) {
    out.deviceName = leaf.nvidiaDeviceName;
    const id = leaf.nvidiaDeviceName.split(':').pop() ?? '';
    if (/^[0-9a-fA-F]+$/.test(id) && id.length % 2 === 0) out.deviceId = id.toLowerCase();
  }
  if (leaf.subjectSerialNumber !== undefined) out.serialNumber = leaf.subjectSerialNumber;
  return out;
}

/** Parses a DER anchor (bundled or simulated). */
export function anchorFromDer(der: Uint8Array, simulated: boolean): TrustAnchor {
  return { cert: parseCertificate(der, simulated ? 'simulated NVIDIA root' : 'bundled NVIDIA root'), simulated };
}

