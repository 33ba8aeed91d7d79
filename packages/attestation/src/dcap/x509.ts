/**
 * @module dcap/x509
 * X.509 certificates and CRLs for Intel DCAP: parsing (own DER reader), ECDSA signature
 * verification (node:crypto), chain building to a pinned root, CRL checks, all at an
 * explicit time.
 *
 * THREAT MODEL: every certificate and CRL comes from the attacker (quote or collateral).
 * Only the pinned root bytes are trusted. A chain is accepted when each certificate is
 * signed by the next, names chain, every issuer is a CA allowed to sign certificates,
 * no unknown critical extension is present, and the last certificate either IS a pinned
 * root (byte equality) or is signed by one.
 *
 * INVARIANT: the time-independent part of chain verification (names, signatures, CA
 * constraints) is cached by the SHA-256 of the exact bytes; validity periods are
 * always re-checked at the caller's `at`.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { VeriteeError, type ErrorCode } from '@veritee/core';
import {
  bitStringBytes,
  children,
  content,
  derTime,
  encoded,
  expectTag,
  integerHex,
  oidString,
  parseDer,
  smallInt,
  TAG,
  type DerNode,
} from './der.js';

export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  crlDistributionPoints: '2.5.29.31',
  sgxExtension: '1.2.840.113741.1.13.1',
} as const;

const HASH_BY_SIG_OID: Record<string, string> = {
  [OID.ecdsaWithSha256]: 'sha256',
  [OID.ecdsaWithSha384]: 'sha384',
  [OID.ecdsaWithSha512]: 'sha512',
};

/** Extensions we understand; a critical one outside this set rejects the certificate. */
const KNOWN_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.crlDistributionPoints,
  OID.sgxExtension,
]);

const NAME_ATTR: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
};

export function sha256Hex(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export interface CertExtension {
  oid: string;
  critical: boolean;
  value: Uint8Array;
}

export interface ParsedCert {
  der: Uint8Array;
  /** SHA-256 of `der`, hex: the cache key. */
  id: string;
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
  extensions: CertExtension[];
  isCa: boolean;
  pathLen?: number;
  /** keyUsage bits as a number (bit 0 = digitalSignature ... bit 5 = keyCertSign, bit 6 = cRLSign); undefined when absent. */
  keyUsage?: number;
}

export interface ParsedCrl {
  der: Uint8Array;
  id: string;
  tbs: Uint8Array;
  sigAlg: string;
  signature: Uint8Array;
  issuerRaw: Uint8Array;
  issuer: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Revoked serial numbers, lowercase hex without leading zeros. */
  revoked: Set<string>;
}

function nameString(name: DerNode, what: string): string {
  const parts: string[] = [];
  for (const rdn of children(expectTag(name, TAG.SEQUENCE, what), what)) {
    for (const atv of children(expectTag(rdn, TAG.SET, what), what)) {
      const [t, v] = children(expectTag(atv, TAG.SEQUENCE, what), what);
      const oid = oidString(expectTag(t, TAG.OID, what), what);
      if (v === undefined) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: name attribute without value`);
      parts.push(`${NAME_ATTR[oid] ?? oid}=${new TextDecoder().decode(content(v))}`);
    }
  }
  return parts.join(', ');
}

function algOid(node: DerNode | undefined, what: string): string {
  const seq = children(expectTag(node, TAG.SEQUENCE, what), what);
  return oidString(expectTag(seq[0], TAG.OID, what), what);
}

const certCache = new Map<string, ParsedCert>();
const CACHE_MAX = 512;

function remember<K, V>(m: Map<K, V>, k: K, v: V): V {
  if (m.size >= CACHE_MAX) {
    const first = m.keys().next();
    if (!first.done) m.delete(first.value);
  }
  m.set(k, v);
  return v;
}

/** Parses a DER certificate (cached by its SHA-256). Throws ATTEST_EVIDENCE_INVALID. */
export function parseCert(der: Uint8Array, what = 'certificate'): ParsedCert {
  const id = sha256Hex(der);
  const hit = certCache.get(id);
  if (hit) return hit;
  const root = parseDer(der, what);
  const [tbsN, algN, sigN] = children(expectTag(root, TAG.SEQUENCE, what), what);
  const tbsNode = expectTag(tbsN, TAG.SEQUENCE, what);
  const sigAlg = algOid(algN, what);
  const signature = bitStringBytes(expectTag(sigN, TAG.BIT_STRING, what), what);
  const f = children(tbsNode, what);
  let i = 0;
  if (f[i]?.tag === 0xa0) i++; // version [0] EXPLICIT
  const serialHex = integerHex(expectTag(f[i++], TAG.INTEGER, what), what);
  const innerAlg = algOid(f[i++], what);
  if (innerAlg !== sigAlg) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: inner and outer signature algorithms differ`);
  const issuerN = expectTag(f[i++], TAG.SEQUENCE, what);
  const validity = children(expectTag(f[i++], TAG.SEQUENCE, what), what);
  const subjectN = expectTag(f[i++], TAG.SEQUENCE, what);
  const spkiN = expectTag(f[i++], TAG.SEQUENCE, what);
  const extensions: CertExtension[] = [];
  for (; i < f.length; i++) {
    if (f[i]!.tag !== 0xa3) continue; // issuer/subject unique IDs are ignored
    const [extSeq] = children(f[i]!, what);
    for (const e of children(expectTag(extSeq, TAG.SEQUENCE, what), what)) {
      const parts = children(expectTag(e, TAG.SEQUENCE, what), what);
      const oid = oidString(expectTag(parts[0], TAG.OID, what), what);
      let critical = false;
      let k = 1;
      if (parts[k]?.tag === TAG.BOOLEAN) {
        critical = content(parts[k]!)[0] !== 0;
        k++;
      }
      const value = content(expectTag(parts[k], TAG.OCTET_STRING, what));
      if (extensions.some((x) => x.oid === oid)) {
        throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: extension ${oid} appears twice`);
      }
      extensions.push({ oid, critical, value });
    }
  }
  let isCa = false;
  let pathLen: number | undefined;
  const bc = extensions.find((e) => e.oid === OID.basicConstraints);
  if (bc) {
    const seq = children(parseDer(bc.value, `${what} basicConstraints`), what);
    let k = 0;
    if (seq[k]?.tag === TAG.BOOLEAN) isCa = content(seq[k++]!)[0] !== 0;
    if (seq[k]?.tag === TAG.INTEGER) pathLen = smallInt(seq[k]!, what);
  }
  let keyUsage: number | undefined;
  const ku = extensions.find((e) => e.oid === OID.keyUsage);
  if (ku) {
    const n = parseDer(ku.value, `${what} keyUsage`);
    const b = content(expectTag(n, TAG.BIT_STRING, what));
    // DER BIT STRING: first byte = unused bits; bit 0 is the MSB of the first data byte.
    keyUsage = 0;
    for (let bit = 0; bit < (b.length - 1) * 8; bit++) {
      if ((b[1 + (bit >> 3)]! >> (7 - (bit & 7))) & 1) keyUsage |= 1 << bit;
    }
  }
  const cert: ParsedCert = {
    der,
    id,
    tbs: encoded(tbsNode),
    sigAlg,
    signature,
    serialHex,
    issuerRaw: encoded(issuerN),
    subjectRaw: encoded(subjectN),
    issuer: nameString(issuerN, what),
    subject: nameString(subjectN, what),
    notBefore: derTime(validity[0]!, what),
    notAfter: derTime(expectTag(validity[1], validity[1]?.tag ?? TAG.UTC_TIME, what), what),
    spki: encoded(spkiN),
    extensions,
    isCa,
    ...(pathLen !== undefined ? { pathLen } : {}),
    ...(keyUsage !== undefined ? { keyUsage } : {}),
  };
  return remember(certCache, id, cert);
}

/** Parses a DER CRL. Throws ATTEST_COLLATERAL_INVALID naming `what`. */
export function parseCrl(der: Uint8Array, what = 'CRL'): ParsedCrl {
  try {
    const root = parseDer(der, what);
    const [tbsN, algN, sigN] = children(expectTag(root, TAG.SEQUENCE, what), what);
    const tbsNode = expectTag(tbsN, TAG.SEQUENCE, what);
    const sigAlg = algOid(algN, what);
    const signature = bitStringBytes(expectTag(sigN, TAG.BIT_STRING, what), what);
    const f = children(tbsNode, what);
    let i = 0;
    if (f[i]?.tag === TAG.INTEGER) i++; // version
    const innerAlg = algOid(f[i++], what);
    if (innerAlg !== sigAlg) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: inner and outer signature algorithms differ`);
    const issuerN = expectTag(f[i++], TAG.SEQUENCE, what);
    const thisUpdate = derTime(f[i++]!, what);
    let nextUpdate: Date | undefined;
    if (f[i] && (f[i]!.tag === TAG.UTC_TIME || f[i]!.tag === TAG.GENERALIZED_TIME)) nextUpdate = derTime(f[i++]!, what);
    const revoked = new Set<string>();
    if (f[i]?.tag === TAG.SEQUENCE) {
      for (const entry of children(f[i++]!, what)) {
        const [serial] = children(expectTag(entry, TAG.SEQUENCE, what), what);
        revoked.add(integerHex(expectTag(serial, TAG.INTEGER, what), what));
      }
    }
    return {
      der,
      id: sha256Hex(der),
      tbs: encoded(tbsNode),
      sigAlg,
      signature,
      issuerRaw: encoded(issuerN),
      issuer: nameString(issuerN, what),
      thisUpdate,
      ...(nextUpdate ? { nextUpdate } : {}),
      revoked,
    };
  } catch (e) {
    if (e instanceof VeriteeError) throw new VeriteeError('ATTEST_COLLATERAL_INVALID', e.message, undefined, { cause: e });
    throw e;
  }
}

/** Splits PEM text into DER blocks of the given label (CERTIFICATE by default). */
export function pemBlocks(pem: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`, 'g');
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(re)) out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

const keyCache = new Map<string, KeyObject>();

export function spkiKey(spki: Uint8Array): KeyObject {
  const id = sha256Hex(spki);
  const hit = keyCache.get(id);
  if (hit) return hit;
  return remember(keyCache, id, createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
}

/** A P-256 public key from 64 raw bytes X || Y. Throws when the point is not on the curve. */
export function p256RawKey(xy: Uint8Array): KeyObject {
  if (xy.length !== 64) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `P-256 key must be 64 bytes, got ${xy.length}`);
  const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(xy.subarray(0, 32)), y: b64u(xy.subarray(32)) }, format: 'jwk' });
}

/** ECDSA verification; `sig` is DER (X.509) or 64/96/132-byte r||s (`p1363`). Never throws. */
export function ecdsaVerify(key: KeyObject, hash: string, data: Uint8Array, sig: Uint8Array, p1363 = false): boolean {
  try {
    return cryptoVerify(hash, data, { key, dsaEncoding: p1363 ? 'ieee-p1363' : 'der' }, sig);
  } catch {
    return false;
  }
}

const sigCache = new Map<string, boolean>();

/** Verifies that `signed` (a certificate or CRL) is signed by the key of `issuer`. Cached by bytes. */
export function signedBy(signed: { id: string; tbs: Uint8Array; sigAlg: string; signature: Uint8Array }, issuer: ParsedCert): boolean {
  const k = `${signed.id}:${issuer.id}`;
  const hit = sigCache.get(k);
  if (hit !== undefined) return hit;
  const hash = HASH_BY_SIG_OID[signed.sigAlg];
  let ok = false;
  if (hash) {
    try {
      ok = ecdsaVerify(spkiKey(issuer.spki), hash, signed.tbs, signed.signature);
    } catch {
      ok = false;
    }
  }
  return remember(sigCache, k, ok);
}

function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export interface Anchor {
  cert: ParsedCert;
  simulated: boolean;
}

export interface ChainOutcome {
  ok: boolean;
  code?: ErrorCode;
  detail: string;
  /** The chain as verified, leaf first, ending with the anchor (when one was found). */
  chain: ParsedCert[];
  anchor?: Anchor;
}

interface StructuralOutcome {
  ok: boolean;
  detail: string;
  anchorIndex: number;
  appendedAnchor: boolean;
}

const chainCache = new Map<string, StructuralOutcome>();

function structural(certs: ParsedCert[], anchors: Anchor[], what: string): StructuralOutcome {
  const bad = (detail: string): StructuralOutcome => ({ ok: false, detail, anchorIndex: -1, appendedAnchor: false });
  if (certs.length === 0) return bad(`${what}: empty certificate chain`);
  if (certs.length > 5) return bad(`${what}: chain of ${certs.length} certificates is too long`);
  const last = certs[certs.length - 1]!;
  let anchorIndex = anchors.findIndex((a) => bytesEq(a.cert.der, last.der));
  let appendedAnchor = false;
  let full = certs;
  if (anchorIndex < 0) {
    anchorIndex = anchors.findIndex((a) => bytesEq(a.cert.subjectRaw, last.issuerRaw) && signedBy(last, a.cert));
    if (anchorIndex < 0) return bad(`${what}: chain ends at "${last.subject}", which is not a trusted root and is not signed by one`);
    appendedAnchor = true;
    full = [...certs, anchors[anchorIndex]!.cert];
  }
  for (let i = 0; i < full.length; i++) {
    const c = full[i]!;
    const unknownCritical = c.extensions.find((e) => e.critical && !KNOWN_EXTENSIONS.has(e.oid));
    if (unknownCritical) return bad(`${what}: "${c.subject}" has unknown critical extension ${unknownCritical.oid}`);
    if (i === full.length - 1) break; // the anchor is trusted by its bytes
    const issuer = full[i + 1]!;
    if (!bytesEq(c.issuerRaw, issuer.subjectRaw)) return bad(`${what}: issuer of "${c.subject}" is "${c.issuer}", next certificate is "${issuer.subject}"`);
    if (!issuer.isCa) return bad(`${what}: "${issuer.subject}" is not a CA (basicConstraints)`);
    if (issuer.keyUsage !== undefined && (issuer.keyUsage & (1 << 5)) === 0) return bad(`${what}: "${issuer.subject}" may not sign certificates (keyUsage)`);
    // pathLen: number of non-self-issued intermediate CAs below the issuer.
    const below = full.slice(1, i + 1).length;
    if (issuer.pathLen !== undefined && below > issuer.pathLen) return bad(`${what}: path length of "${issuer.subject}" exceeded`);
    if (!signedBy(c, issuer)) return bad(`${what}: signature of "${c.subject}" does not verify with the key of "${issuer.subject}"`);
  }
  return { ok: true, detail: '', anchorIndex, appendedAnchor };
}

/**
 * Verifies `certs` (leaf first) up to one of `anchors` at time `at`.
 * Fails with ATTEST_CERT_CHAIN_INVALID or ATTEST_CERT_EXPIRED; never throws.
 */
export function verifyChain(certs: ParsedCert[], anchors: Anchor[], at: Date, what: string): ChainOutcome {
  const key = `${what}:${sha256Hex(...certs.map((c) => Buffer.from(c.id, 'hex')), ...anchors.map((a) => Buffer.from(a.cert.id, 'hex')))}`;
  let s = chainCache.get(key);
  if (!s) s = remember(chainCache, key, structural(certs, anchors, what));
  if (!s.ok) return { ok: false, code: 'ATTEST_CERT_CHAIN_INVALID', detail: s.detail, chain: certs };
  const anchor = anchors[s.anchorIndex]!;
  const chain = s.appendedAnchor ? [...certs, anchor.cert] : certs;
  for (const c of chain) {
    if (at < c.notBefore || at > c.notAfter) {
      return {
        ok: false,
        code: 'ATTEST_CERT_EXPIRED',
        detail: `${what}: "${c.subject}" is valid ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()}, not at ${at.toISOString()}`,
        chain,
        anchor,
      };
    }
  }
  return {
    ok: true,
    detail: `${what}: ${chain.map((c) => `"${c.subject}"`).join(' -> ')} (${anchor.simulated ? 'simulated' : 'Intel'} root), valid at ${at.toISOString()}`,
    chain,
    anchor,
  };
}

export interface CrlOutcome {
  ok: boolean;
  code?: ErrorCode;
  detail: string;
}

/**
 * Checks every certificate of a verified `chain` against `crls`: for each certificate a CRL
 * from its issuer must be present, signed by that issuer, and must not list the
 * certificate's serial number. CRL currency (thisUpdate/nextUpdate) is checked with the
 * other collateral times by {@link crlCurrent}.
 */
export function checkRevocation(chain: ParsedCert[], crls: ParsedCrl[], what: string): CrlOutcome {
  const notes: string[] = [];
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i]!;
    const issuer = i + 1 < chain.length ? chain[i + 1]! : c; // the root issues its own CRL
    const crl = crls.find((x) => bytesEq(x.issuerRaw, issuer.subjectRaw));
    if (!crl) {
      return { ok: false, code: 'ATTEST_COLLATERAL_MISSING', detail: `${what}: no CRL from "${issuer.subject}" to check "${c.subject}"` };
    }
    if (issuer.keyUsage !== undefined && (issuer.keyUsage & (1 << 6)) === 0) {
      return { ok: false, code: 'ATTEST_COLLATERAL_INVALID', detail: `${what}: "${issuer.subject}" may not sign CRLs (keyUsage)` };
    }
    if (!signedBy(crl, issuer)) {
      return { ok: false, code: 'ATTEST_COLLATERAL_INVALID', detail: `${what}: CRL of "${crl.issuer}" is not signed by its issuer` };
    }
    if (crl.revoked.has(c.serialHex)) {
      return { ok: false, code: 'ATTEST_CERT_REVOKED', detail: `${what}: "${c.subject}" (serial ${c.serialHex}) is revoked by the CRL of "${crl.issuer}"` };
    }
    notes.push(`"${c.subject}" not revoked (CRL of "${crl.issuer}", ${crl.revoked.size} entries)`);
  }
  return { ok: true, detail: `${what}: ${notes.join('; ')}` };
}

/** Whether a CRL is current at `at` (thisUpdate <= at <= nextUpdate; a CRL without nextUpdate is refused). */
export function crlCurrent(crl: ParsedCrl, at: Date): CrlOutcome {
  if (!crl.nextUpdate) return { ok: false, code: 'ATTEST_COLLATERAL_INVALID', detail: `CRL of "${crl.issuer}" has no nextUpdate` };
  if (at < crl.thisUpdate || at > crl.nextUpdate) {
    return {
      ok: false,
      code: 'ATTEST_COLLATERAL_EXPIRED',
      detail: `CRL of "${crl.issuer}" is current ${crl.thisUpdate.toISOString()} .. ${crl.nextUpdate.toISOString()}, not at ${at.toISOString()}`,
    };
  }
  return { ok: true, detail: `CRL of "${crl.issuer}" current until ${crl.nextUpdate.toISOString()}` };
}
