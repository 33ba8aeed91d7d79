/**
 * @module snp/certs
 * AMD SEV-SNP certificates: VCEK/VLEK leaves and the ARK/ASK/ASVK hierarchy.
 *
 * THREAT MODEL: the VCEK/VLEK arrives from the untrusted host together with the report;
 * the host may also send any ASK/ARK it likes. Only roots compiled into roots.ts (or test
 * anchors the caller passes explicitly as `simulatedAnchors`) are trusted.
 *
 * INVARIANTS:
 * - every certificate signature in the chain is checked for real (RSASSA-PSS, SHA-384,
 *   MGF1-SHA-384, salt 48, the only algorithm AMD uses), including the ARK's
 *   self-signature and the ASK/ASVK's signature by the ARK;
 * - the algorithm identifier is parsed and must be exactly that; the outer and the
 *   TBS signature algorithms must agree (RFC 5280 4.1.1.2);
 * - an issuer must be a CA (basicConstraints cA=TRUE) and its subject must equal the
 *   child's issuer byte for byte;
 * - no unknown critical extension on any certificate of the chain;
 * - results are cached by the exact certificate bytes (parsing and signature checks
 *   are deterministic; validity at `at` is never cached).
 *
 * Parsing uses the local DER reader (der.ts), not @peculiar/x509: the latter needs a
 * global Reflect-metadata polyfill that veritee does not install.
 */
import { createHash, createPublicKey, constants as cryptoConstants, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { VeriteeError, toHex } from '@veritee/core';
import {
  T,
  children,
  decodeBoolean,
  decodeName,
  decodeOid,
  decodeSmallUint,
  decodeString,
  decodeTime,
  derError,
  expectTag,
  readOne,
  readTlv,
  type Tlv,
} from './der.js';

// ---- OIDs ----------------------------------------------------------------------------
/** AMD's extensions on VCEK/VLEK certificates (AMD pub. 57230, "VCEK Certificate"). */
export const AMD_OID = {
  structVersion: '1.3.6.1.4.1.3704.1.1',
  productName: '1.3.6.1.4.1.3704.1.2',
  blSPL: '1.3.6.1.4.1.3704.1.3.1',
  teeSPL: '1.3.6.1.4.1.3704.1.3.2',
  snpSPL: '1.3.6.1.4.1.3704.1.3.3',
  spl4: '1.3.6.1.4.1.3704.1.3.4',
  spl5: '1.3.6.1.4.1.3704.1.3.5',
  spl6: '1.3.6.1.4.1.3704.1.3.6',
  spl7: '1.3.6.1.4.1.3704.1.3.7',
  ucodeSPL: '1.3.6.1.4.1.3704.1.3.8',
  fmcSPL: '1.3.6.1.4.1.3704.1.3.9',
  hwID: '1.3.6.1.4.1.3704.1.4',
  cspID: '1.3.6.1.4.1.3704.1.5',
} as const;

export const X509_OID = {
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha1: '1.3.14.3.2.26',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  crlDistributionPoints: '2.5.29.31',
} as const;

/** A critical extension outside this set makes the certificate unusable (RFC 5280 4.2). */
const KNOWN_EXTENSIONS = new Set<string>([
  X509_OID.basicConstraints,
  X509_OID.keyUsage,
  X509_OID.subjectKeyIdentifier,
  X509_OID.authorityKeyIdentifier,
  X509_OID.crlDistributionPoints,
  ...Object.values(AMD_OID),
]);

// ---- parsed certificate ------------------------------------------------------------

export interface CertExtension {
  critical: boolean;
  /** Content of extnValue (the bytes inside the OCTET STRING). */
  value: Uint8Array;
}

/** A parsed certificate with the exact byte slices needed for verification. */
export interface AmdCert {
  der: Uint8Array;
  /** Cache key: SHA-256 of the DER, hex. */
  fingerprint: string;
  /** Subject in encoding order, e.g. `OU=Engineering, C=US, ..., CN=SEV-VCEK`. */
  subject: string;
  issuer: string;
  /** CN of the subject, '' when absent. */
  commonName: string;
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  tbs: Uint8Array;
  signature: Uint8Array;
  /** Why the signature algorithm is unacceptable; undefined when it is RSASSA-PSS/SHA-384/MGF1-SHA-384/48. */
  sigAlgProblem?: string;
  sigAlgDescription: string;
  /** basicConstraints cA = TRUE. */
  isCa: boolean;
  /** keyUsage absent or has keyCertSign. */
  mayCertSign: boolean;
  /** Unknown critical extensions, if any. */
  unknownCritical: string[];
  extensions: Map<string, CertExtension>;
  publicKey: KeyObject;
  /** `ec:secp384r1`, `rsa:4096`, ... */
  keyDescription: string;
}

const certCache = new Map<string, AmdCert>();
const CERT_CACHE_MAX = 512;

function cacheSet<V>(m: Map<string, V>, max: number, k: string, v: V): void {
  if (m.size >= max) m.clear(); // bounded; entries are cheap to recompute
  m.set(k, v);
}

/** Reads an AlgorithmIdentifier that must be RSASSA-PSS with SHA-384 / MGF1-SHA-384 / salt 48. */
function checkPssAlgorithm(b: Uint8Array, alg: Tlv): { problem?: string; description: string } {
  const parts = children(b, alg);
  const oidStr = decodeOid(b, expectTag(parts[0], T.OID, 'signature algorithm'));
  if (oidStr !== X509_OID.rsassaPss) return { problem: `signature algorithm ${oidStr} is not RSASSA-PSS`, description: oidStr };
  const params = parts[1];
  if (params === undefined || params.tag !== T.SEQUENCE) {
    return { problem: 'RSASSA-PSS without parameters (defaults to SHA-1)', description: 'RSASSA-PSS(defaults)' };
  }
  let hash: string = X509_OID.sha1;
  let mgf: string = X509_OID.mgf1;
  let mgfHash: string = X509_OID.sha1;
  let salt = 20;
  let trailer = 1;
  for (const f of children(b, params)) {
    const inner = readTlv(b, f.body, f.end);
    switch (f.tag) {
      case 0xa0:
        hash = decodeOid(b, expectTag(children(b, expectTag(inner, T.SEQUENCE, 'hashAlgorithm'))[0], T.OID, 'hash OID'));
        break;
      case 0xa1: {
        const mg = children(b, expectTag(inner, T.SEQUENCE, 'maskGenAlgorithm'));
        mgf = decodeOid(b, expectTag(mg[0], T.OID, 'mask OID'));
        mgfHash = decodeOid(b, expectTag(children(b, expectTag(mg[1], T.SEQUENCE, 'mask hash'))[0], T.OID, 'mask hash OID'));
        break;
      }
      case 0xa2:
        salt = decodeSmallUint(b, inner);
        break;
      case 0xa3:
        trailer = decodeSmallUint(b, inner);
        break;
      default:
        throw derError(`unexpected RSASSA-PSS parameter tag 0x${f.tag.toString(16)}`);
    }
  }
  const description = `RSASSA-PSS(hash=${hash}, mgf=${mgf}/${mgfHash}, salt=${salt}, trailer=${trailer})`;
  if (hash !== X509_OID.sha384) return { problem: `RSASSA-PSS hash ${hash} is not SHA-384`, description };
  if (mgf !== X509_OID.mgf1 || mgfHash !== X509_OID.sha384) {
    return { problem: `RSASSA-PSS mask ${mgf}/${mgfHash} is not MGF1-SHA-384`, description };
  }
  if (salt !== 48) return { problem: `RSASSA-PSS salt length ${salt} is not 48`, description };
  if (trailer !== 1) return { problem: `RSASSA-PSS trailer ${trailer} is not 1`, description };
  return { description };
}

function parseUncached(b: Uint8Array, fingerprint: string): AmdCert {
  const outer = readOne(b, 'certificate');
  expectTag(outer, T.SEQUENCE, 'Certificate');
  const [tbsT, algT, sigT, extra] = children(b, outer);
  expectTag(tbsT, T.SEQUENCE, 'tbsCertificate');
  expectTag(algT, T.SEQUENCE, 'signatureAlgorithm');
  expectTag(sigT, T.BIT_STRING, 'signatureValue');
  if (extra !== undefined) throw derError('Certificate has more than three elements');
  const tbs = children(b, tbsT!);
  let i = 0;
  if (tbs[0]?.tag === 0xa0) {
    const vT = readTlv(b, tbs[0].body, tbs[0].end);
    if (vT.end !== tbs[0].end) throw derError('trailing bytes after version');
    const v = decodeSmallUint(b, vT);
    if (v !== 2) throw derError(`certificate version ${v + 1} is not v3`);
    i = 1;
  }
  const serialT = expectTag(tbs[i], T.INTEGER, 'serialNumber');
  const innerAlg = expectTag(tbs[i + 1], T.SEQUENCE, 'signature');
  const issuerT = expectTag(tbs[i + 2], T.SEQUENCE, 'issuer');
  const validityT = expectTag(tbs[i + 3], T.SEQUENCE, 'validity');
  const subjectT = expectTag(tbs[i + 4], T.SEQUENCE, 'subject');
  const spkiT = expectTag(tbs[i + 5], T.SEQUENCE, 'subjectPublicKeyInfo');
  const [nbT, naT] = children(b, validityT);
  if (nbT === undefined || naT === undefined) throw derError('validity needs notBefore and notAfter');

  const extensions = new Map<string, CertExtension>();
  const unknownCritical: string[] = [];
  for (const t of tbs.slice(i + 6)) {
    if (t.tag === 0xa1 || t.tag === 0xa2 || t.tag === 0x81 || t.tag === 0x82) continue; // unique ids
    if (t.tag !== 0xa3) throw derError(`unexpected TBSCertificate element 0x${t.tag.toString(16)}`);
    const list = expectTag(readTlv(b, t.body, t.end), T.SEQUENCE, 'extensions');
    for (const e of children(b, list)) {
      const f = children(b, expectTag(e, T.SEQUENCE, 'Extension'));
      const id = decodeOid(b, expectTag(f[0], T.OID, 'extnID'));
      let k = 1;
      let critical = false;
      if (f[1]?.tag === T.BOOLEAN) {
        critical = decodeBoolean(b, f[1]);
        k = 2;
      }
      const val = expectTag(f[k], T.OCTET_STRING, `extnValue of ${id}`);
      if (extensions.has(id)) throw derError(`extension ${id} appears twice`);
      extensions.set(id, { critical, value: b.slice(val.body, val.end) });
      if (critical && !KNOWN_EXTENSIONS.has(id)) unknownCritical.push(id);
    }
  }

  let isCa = false;
  const bc = extensions.get(X509_OID.basicConstraints);
  if (bc) {
    const s = expectTag(readOne(bc.value, 'basicConstraints'), T.SEQUENCE, 'basicConstraints');
    const first = children(bc.value, s)[0];
    if (first?.tag === T.BOOLEAN) isCa = decodeBoolean(bc.value, first);
  }
  let mayCertSign = true;
  const ku = extensions.get(X509_OID.keyUsage);
  if (ku) {
    const t = expectTag(readOne(ku.value, 'keyUsage'), T.BIT_STRING, 'keyUsage');
    const firstByte = t.end - t.body >= 2 ? ku.value[t.body + 1]! : 0;
    mayCertSign = (firstByte & 0x04) !== 0; // bit 5 keyCertSign
  }

  const pss = checkPssAlgorithm(b, algT!);
  let sigAlgProblem = pss.problem;
  if (sigAlgProblem === undefined && toHex(b.subarray(algT!.start, algT!.end)) !== toHex(b.subarray(innerAlg.start, innerAlg.end))) {
    sigAlgProblem = 'outer signatureAlgorithm differs from the TBSCertificate signature field';
  }
  if (sigT!.end - sigT!.body < 2 || b[sigT!.body] !== 0) throw derError('signature BIT STRING is empty or has unused bits');

  const publicKey = createPublicKey({ key: Buffer.from(b.subarray(spkiT.start, spkiT.end)), format: 'der', type: 'spki' });
  const details = publicKey.asymmetricKeyDetails ?? {};
  const keyDescription =
    publicKey.asymmetricKeyType === 'ec'
      ? `ec:${details.namedCurve ?? '?'}`
      : `${publicKey.asymmetricKeyType ?? '?'}:${details.modulusLength ?? '?'}`;
  const subject = decodeName(b, subjectT);
  const issuer = decodeName(b, issuerT);
  const cert: AmdCert = {
    der: b,
    fingerprint,
    subject: subject.text,
    issuer: issuer.text,
    commonName: subject.cn,
    subjectDer: b.slice(subjectT.start, subjectT.end),
    issuerDer: b.slice(issuerT.start, issuerT.end),
    serialHex: toHex(b.subarray(serialT.body, serialT.end)),
    notBefore: decodeTime(b, nbT),
    notAfter: decodeTime(b, naT),
    tbs: b.slice(tbsT!.start, tbsT!.end),
    signature: b.slice(sigT!.body + 1, sigT!.end),
    sigAlgDescription: pss.description,
    isCa,
    mayCertSign,
    unknownCritical,
    extensions,
    publicKey,
    keyDescription,
  };
  if (sigAlgProblem !== undefined) cert.sigAlgProblem = sigAlgProblem;
  return cert;
}

/**
 * Parses a DER certificate (cached by its bytes). Throws ATTEST_EVIDENCE_INVALID naming
 * `what` when it is not a well-formed X.509 v3 certificate.
 */
export function parseAmdCert(der: Uint8Array, what = 'certificate'): AmdCert {
  if (!(der instanceof Uint8Array) || der.length === 0) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what} is empty or not bytes`);
  }
  const fingerprint = createHash('sha256').update(der).digest('hex');
  const hit = certCache.get(fingerprint);
  if (hit) return hit;
  let cert: AmdCert;
  try {
    cert = parseUncached(Uint8Array.from(der), fingerprint);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what} is not a valid X.509 certificate: ${msg}`, undefined, { cause: e });
  }
  cacheSet(certCache, CERT_CACHE_MAX, fingerprint, cert);
  return cert;
}

// ---- signatures ---------------------------------------------------------------------

export interface Finding {
  ok: boolean;
  detail: string;
}

const sigCache = new Map<string, Finding>();

/**
 * Checks that `child` was issued by `issuer`: names match byte for byte, the issuer is a
 * CA with an RSA key, the algorithm is RSASSA-PSS/SHA-384/48, and the signature verifies.
 * Cached by (child bytes, issuer bytes).
 */
export function verifyIssuedBy(child: AmdCert, issuer: AmdCert): Finding {
  const key = `${child.fingerprint}:${issuer.fingerprint}`;
  const hit = sigCache.get(key);
  if (hit) return hit;
  const res = verifyIssuedByUncached(child, issuer);
  cacheSet(sigCache, 4096, key, res);
  return res;
}

function verifyIssuedByUncached(child: AmdCert, issuer: AmdCert): Finding {
  const who = `${child.commonName || child.subject} <- ${issuer.commonName || issuer.subject}`;
  if (toHex(child.issuerDer) !== toHex(issuer.subjectDer)) {
    return { ok: false, detail: `${who}: issuer name "${child.issuer}" is not the subject "${issuer.subject}"` };
  }
  if (!issuer.isCa) return { ok: false, detail: `${who}: issuer is not a CA (basicConstraints cA is not TRUE)` };
  if (!issuer.mayCertSign) return { ok: false, detail: `${who}: issuer keyUsage does not allow keyCertSign` };
  if (issuer.unknownCritical.length > 0) return { ok: false, detail: `${who}: issuer has unknown critical extensions ${issuer.unknownCritical.join(', ')}` };
  if (child.unknownCritical.length > 0) return { ok: false, detail: `${who}: certificate has unknown critical extensions ${child.unknownCritical.join(', ')}` };
  if (child.sigAlgProblem !== undefined) return { ok: false, detail: `${who}: ${child.sigAlgProblem}` };
  if (issuer.publicKey.asymmetricKeyType !== 'rsa' && issuer.publicKey.asymmetricKeyType !== 'rsa-pss') {
    return { ok: false, detail: `${who}: issuer key ${issuer.keyDescription} is not RSA` };
  }
  let ok = false;
  try {
    ok = cryptoVerify(
      'sha384',
      child.tbs,
      { key: issuer.publicKey, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
      child.signature,
    );
  } catch (e) {
    return { ok: false, detail: `${who}: RSA-PSS verification error: ${e instanceof Error ? e.message : String(e)}` };
  }
  return ok
    ? { ok: true, detail: `${who}: RSA-PSS SHA-384 signature valid` }
    : { ok: false, detail: `${who}: RSA-PSS SHA-384 signature does not verify` };
}

/** notBefore <= at <= notAfter. */
export function checkValidity(c: AmdCert, at: Date): Finding {
  const name = c.commonName || c.subject;
  if (at.getTime() < c.notBefore.getTime()) {
    return { ok: false, detail: `${name} is not yet valid at ${at.toISOString()} (notBefore ${c.notBefore.toISOString()})` };
  }
  if (at.getTime() > c.notAfter.getTime()) {
    return { ok: false, detail: `${name} expired: notAfter ${c.notAfter.toISOString()} is before ${at.toISOString()}` };
  }
  return { ok: true, detail: `${name} valid ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()}` };
}

// ---- AMD extensions on VCEK/VLEK ----------------------------------------------------

export interface AmdExtensions {
  structVersion?: number;
  productName?: string;
  bootloader?: number;
  tee?: number;
  snp?: number;
  microcode?: number;
  fmc?: number;
  /** VCEK only: the chip id the key belongs to (64 bytes). */
  hwId?: Uint8Array;
  /** VLEK only: the cloud service provider the key was issued to. */
  cspId?: string;
  /** Extensions present but undecodable. */
  errors: string[];
}

function decodeStringValue(b: Uint8Array): string {
  return decodeString(b, readOne(b, 'string extension'));
}

function decodeSpl(b: Uint8Array): number {
  const v = decodeSmallUint(b, readOne(b, 'SPL'));
  if (v > 255) throw derError(`SPL ${v} exceeds 255`);
  return v;
}

const extCache = new Map<string, AmdExtensions>();

/**
 * Decodes AMD's extensions of a VCEK/VLEK. hwID is accepted both as the raw 64 bytes
 * (what AMD KDS issues) and wrapped in an OCTET STRING (seen in some issued certificates).
 */
export function readAmdExtensions(c: AmdCert): AmdExtensions {
  const hit = extCache.get(c.fingerprint);
  if (hit) return hit;
  const out: AmdExtensions = { errors: [] };
  for (const [type, ext] of c.extensions) {
    const v = ext.value;
    try {
      switch (type) {
        case AMD_OID.structVersion:
          out.structVersion = decodeSpl(v);
          break;
        case AMD_OID.productName:
          out.productName = decodeStringValue(v);
          break;
        case AMD_OID.blSPL:
          out.bootloader = decodeSpl(v);
          break;
        case AMD_OID.teeSPL:
          out.tee = decodeSpl(v);
          break;
        case AMD_OID.snpSPL:
          out.snp = decodeSpl(v);
          break;
        case AMD_OID.ucodeSPL:
          out.microcode = decodeSpl(v);
          break;
        case AMD_OID.fmcSPL:
          out.fmc = decodeSpl(v);
          break;
        case AMD_OID.hwID:
          if (v.length === 64) out.hwId = v;
          else if (v.length === 66 && v[0] === 0x04 && v[1] === 0x40) out.hwId = v.slice(2);
          else throw derError(`hwID of ${v.length} bytes`);
          break;
        case AMD_OID.cspID:
          out.cspId = decodeStringValue(v);
          break;
        default:
          break;
      }
    } catch (e) {
      out.errors.push(`${type}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  cacheSet(extCache, CERT_CACHE_MAX, c.fingerprint, out);
  return out;
}
