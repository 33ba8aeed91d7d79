/**
 * @module ca
 * Certificate authority for attested workloads. Each certificate is short-lived (default
 * 15 min), names the workload by a SPIFFE ID URI SAN
 * (`spiffe://<trust-domain>/tenant/<t>/workload/<w>`) and carries the attestation it was
 * issued on in a non-critical extension (OID {@link ATTESTATION_EXT_OID}, an OCTET STRING
 * holding a UTF8String of canonical JSON):
 *
 * ```json
 * {"v":1,"platform":"snp","measurement":"…","tcb":{…},"reportDataHash":"…","evidenceDigest":"…",
 *  "simulated":false,"chipId":"…","tenant":"t","workload":"w"}
 * ```
 *
 * The certified key is the workload's attested tee-pubkey (EC P-256, bound into the
 * evidence through the KBS runtime data), so the certificate's key is the key the TEE
 * proved it holds. A peer checks the CA signature, validity at an explicit time, the SPIFFE
 * ID and the attestation extension ({@link verifyWorkloadCertificate}), not only the chain.
 *
 * The CA key is created once per database and stored sealed under the root key, so every
 * instance issues under the same CA.
 */
import { createHash, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, sign, X509Certificate, createPrivateKey } from 'node:crypto';
import type { JWK } from 'jose';
import { canonicalJson, parseJsonStrict, VeriteeError } from '@veritee/core';
import { bits, bool, cat, children, ctx, octets, oid, oidString, read, seq, set, time, timeMs, tlv, uint, utf8Str } from './der.js';
import type { SqlDb } from './db.js';
import type { Keyring } from './rootkey.js';

/** veritee attestation extension (a UUID-derived OID, X.667). */
export const ATTESTATION_EXT_OID = '2.25.133441473808826937305621868513498296804';
const OID = {
  ecdsaSha256: '1.2.840.10045.4.3.2',
  cn: '2.5.4.3',
  o: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  san: '2.5.29.17',
  ski: '2.5.29.14',
  aki: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};
export const DEFAULT_CERT_TTL_SECONDS = 900;

export interface AttestationExtension {
  v: 1;
  platform: string;
  measurement: string;
  tcb: unknown;
  reportDataHash: string;
  evidenceDigest: string;
  simulated: boolean;
  chipId?: string;
  tenant: string;
  workload: string;
}

const name = (cn: string, o: string): Uint8Array => seq(set(seq(oid(OID.o), utf8Str(o))), set(seq(oid(OID.cn), utf8Str(cn))));
const ext = (id: string, critical: boolean, value: Uint8Array): Uint8Array => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
const keyId = (spki: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(spki).digest().subarray(0, 20));
const pem = (der: Uint8Array): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;

function signCert(tbs: Uint8Array, key: KeyObject): Uint8Array {
  const sig = sign('sha256', tbs, key); // DER-encoded ECDSA signature
  return seq(tbs, seq(oid(OID.ecdsaSha256)), bits(new Uint8Array(sig)));
}

function checkSpiffeSegment(s: string, what: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s)) throw new VeriteeError('INPUT_INVALID', `${what} must be 1-64 of A-Z a-z 0-9 . _ -`);
  return s;
}

export class WorkloadCa {
  private constructor(
    readonly trustDomain: string,
    private readonly key: KeyObject,
    readonly certDer: Uint8Array,
    private readonly subject: Uint8Array,
    private readonly spki: Uint8Array,
    private readonly now: () => number,
  ) {}

  get certPem(): string {
    return pem(this.certDer);
  }

  /** A CA held in memory only (tests, or a second trust domain in a demo). */
  static ephemeral(now: () => number, trustDomain = 'veritee.local'): WorkloadCa {
    const { key, der } = WorkloadCa.generate(now, trustDomain);
    return new WorkloadCa(trustDomain, key, der, name('veritee KMS workload CA', trustDomain), new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' })), now);
  }

  private static generate(now: () => number, trustDomain: string): { key: KeyObject; der: Uint8Array } {
    if (!/^[a-z0-9]([a-z0-9.-]{0,250}[a-z0-9])?$/.test(trustDomain)) throw new VeriteeError('INPUT_INVALID', 'trust domain must be a lowercase DNS-like name');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const subject = name('veritee KMS workload CA', trustDomain);
    const t = now();
    const tbs = seq(
      ctx(0, uint(new Uint8Array([2]))),
      uint(new Uint8Array(randomBytes(16))),
      seq(oid(OID.ecdsaSha256)),
      subject,
      seq(time(t - 3_600_000), time(t + 10 * 365 * 86_400_000)),
      subject,
      spki,
      ctx(3, seq(ext(OID.basicConstraints, true, seq(bool(true), uint(new Uint8Array([0])))), ext(OID.keyUsage, true, bits(new Uint8Array([0x06]), 1)), ext(OID.ski, false, octets(keyId(spki))))),
    );
    return { key: privateKey, der: signCert(tbs, privateKey) };
  }

  /** Loads the CA of this database, creating it (sealed under the root key) on first use. */
  static async load(db: SqlDb, keys: Keyring, now: () => number, trustDomain = 'veritee.local'): Promise<WorkloadCa> {
    const { key: privateKey, der } = WorkloadCa.generate(now, trustDomain);
    const doc = JSON.stringify({ key: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'), cert: Buffer.from(der).toString('base64'), trustDomain });
    const sealed = Buffer.from(keys.seal('signer', 'workload-ca|v1', new TextEncoder().encode(doc))).toString('base64');
    await db.query('INSERT INTO kms_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', ['workload_ca', sealed]);
    const [row] = await db.query('SELECT value FROM kms_meta WHERE name = $1', ['workload_ca']);
    const stored = JSON.parse(new TextDecoder().decode(keys.open('signer', 'workload-ca|v1', Buffer.from(String(row!['value']), 'base64')))) as { key: string; cert: string; trustDomain: string };
    const key = createPrivateKey({ key: Buffer.from(stored.key, 'base64'), format: 'der', type: 'pkcs8' });
    const certDer = new Uint8Array(Buffer.from(stored.cert, 'base64'));
    const storedSpki = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
    return new WorkloadCa(stored.trustDomain, key, certDer, name('veritee KMS workload CA', stored.trustDomain), storedSpki, now);
  }

  spiffeId(tenant: string, workload: string): string {
    return `spiffe://${this.trustDomain}/tenant/${checkSpiffeSegment(tenant, 'tenant')}/workload/${checkSpiffeSegment(workload, 'workload')}`;
  }

  /** Issues a certificate for `publicJwk` (EC P-256) carrying `attestation`. */
  issue(req: { publicJwk: JWK; attestation: AttestationExtension; dns?: string[]; ttlSeconds?: number }): { certPem: string; certDer: Uint8Array; spiffeId: string; notAfter: string; serial: string } {
    const { publicJwk, attestation } = req;
    if (publicJwk.kty !== 'EC' || publicJwk.crv !== 'P-256') throw new VeriteeError('KMS_TEE_PUBKEY_INVALID', 'workload certificates need an EC P-256 tee-pubkey');
    const spki = new Uint8Array(createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: publicJwk.x!, y: publicJwk.y! }, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
    const ttl = req.ttlSeconds ?? DEFAULT_CERT_TTL_SECONDS;
    if (!(Number.isInteger(ttl) && ttl >= 60 && ttl <= 86_400)) throw new VeriteeError('INPUT_INVALID', 'certificate lifetime must be 60..86400 seconds');
    const dns = req.dns ?? [];
    if (dns.length > 10 || !dns.every((d) => /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(d))) {
      throw new VeriteeError('INPUT_INVALID', 'dns names must be at most 10 lowercase host names');
    }
    const spiffeId = this.spiffeId(attestation.tenant, attestation.workload);
    const t = this.now();
    const notAfter = t + ttl * 1000;
    const serial = cat(new Uint8Array([0x01]), new Uint8Array(randomBytes(15)));
    const san = seq(tlv(0x86, new TextEncoder().encode(spiffeId)), ...dns.map((d) => tlv(0x82, new TextEncoder().encode(d))));
    const tbs = seq(
      ctx(0, uint(new Uint8Array([2]))),
      uint(serial),
      seq(oid(OID.ecdsaSha256)),
      this.subject,
      seq(time(t - 60_000), time(notAfter)),
      name(`${attestation.tenant}/${attestation.workload}`, this.trustDomain),
      spki,
      ctx(
        3,
        seq(
          ext(OID.basicConstraints, true, seq()),
          ext(OID.keyUsage, true, bits(new Uint8Array([0x80]), 7)),
          ext(OID.extKeyUsage, false, seq(oid(OID.serverAuth), oid(OID.clientAuth))),
          ext(OID.san, false, san),
          ext(OID.aki, false, seq(tlv(0x80, keyId(this.spki)))),
          ext(ATTESTATION_EXT_OID, false, utf8Str(canonicalJson(attestation))),
        ),
      ),
    );
    const der = signCert(tbs, this.key);
    return { certPem: pem(der), certDer: der, spiffeId, notAfter: new Date(notAfter).toISOString(), serial: Buffer.from(serial).toString('hex') };
  }
}

export interface VerifiedWorkloadCert {
  spiffeId: string;
  /** Serial number, lowercase hex (what /kms/v0/ca/status/<serial> takes). */
  serial: string;
  attestation: AttestationExtension;
  notBefore: string;
  notAfter: string;
}

function toDer(c: Uint8Array | string): Uint8Array {
  if (typeof c !== 'string') return c;
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(c);
  if (!m) throw new VeriteeError('KMS_CERTIFICATE_INVALID', 'not a PEM certificate');
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/**
 * Checks a workload certificate the way a peer must: CA signature, issuer, validity at
 * `at`, not a CA, a SPIFFE ID in the trust domain, and the attestation extension against
 * `expect` (tenant, workload, accepted measurements, simulated allowed). Throws
 * KMS_CERTIFICATE_INVALID naming the first failed check.
 */
export function verifyWorkloadCertificate(
  cert: Uint8Array | string,
  opts: { caCert: Uint8Array | string; at: Date | number; trustDomain?: string; expect?: { tenant?: string; workload?: string; measurements?: string[]; allowSimulated?: boolean } },
): VerifiedWorkloadCert {
  const fail = (why: string): never => {
    throw new VeriteeError('KMS_CERTIFICATE_INVALID', `workload certificate rejected: ${why}`);
  };
  const der = toDer(cert);
  const caDer = toDer(opts.caCert);
  let x: X509Certificate;
  let ca: X509Certificate;
  try {
    x = new X509Certificate(der);
    ca = new X509Certificate(caDer);
  } catch {
    return fail('not a parsable X.509 certificate');
  }
  if (!x.verify(ca.publicKey)) fail('signature does not verify under the KMS CA');
  if (!x.checkIssued(ca)) fail('not issued by the KMS CA');
  const at = typeof opts.at === 'number' ? opts.at : opts.at.getTime();
  // walk the DER: Certificate → tbsCertificate → validity, extensions
  const root = read(der, 0);
  const tbs = children(der, root)[0]!;
  const f = children(der, tbs);
  const hasVersion = f[0]!.tag === 0xa0;
  const validity = children(der, f[hasVersion ? 4 : 3]!);
  const nb = timeMs(der, validity[0]!);
  const na = timeMs(der, validity[1]!);
  if (at < nb) fail(`not valid before ${new Date(nb).toISOString()} (time ${new Date(at).toISOString()})`);
  if (at > na) fail(`expired at ${new Date(na).toISOString()} (time ${new Date(at).toISOString()})`);
  if (x.ca) fail('is a CA certificate');
  const extsNode = f.find((n) => n.tag === 0xa3);
  if (!extsNode) return fail('has no extensions');
  let att: AttestationExtension | undefined;
  let spiffeId: string | undefined;
  for (const e of children(der, children(der, extsNode)[0]!)) {
    const parts = children(der, e);
    const id = oidString(der, parts[0]!);
    const value = parts[parts.length - 1]!;
    if (id === ATTESTATION_EXT_OID) {
      const inner = read(der, value.start, value.end);
      if (inner.tag !== 0x0c) fail('attestation extension is not a UTF8String');
      att = parseJsonStrict(new TextDecoder().decode(der.subarray(inner.start, inner.end)), { what: 'attestation extension', code: 'KMS_CERTIFICATE_INVALID' }) as AttestationExtension;
    } else if (id === OID.san) {
      for (const g of children(der, read(der, value.start, value.end))) {
        if (g.tag === 0x86) {
          const uri = new TextDecoder().decode(der.subarray(g.start, g.end));
          if (uri.startsWith('spiffe://')) spiffeId = uri;
        }
      }
    }
  }
  if (!att || att.v !== 1) return fail('carries no veritee attestation extension');
  if (!spiffeId) return fail('carries no SPIFFE ID');
  const td = opts.trustDomain;
  const m = /^spiffe:\/\/([^/]+)\/tenant\/([^/]+)\/workload\/([^/]+)$/.exec(spiffeId);
  if (!m) return fail(`SPIFFE ID ${spiffeId.slice(0, 100)} is not a veritee workload ID`);
  if (td !== undefined && m[1] !== td) fail(`SPIFFE ID trust domain ${m[1]} is not ${td}`);
  if (m[2] !== att.tenant || m[3] !== att.workload) fail('SPIFFE ID and attestation extension name different workloads');
  const ex = opts.expect ?? {};
  if (ex.tenant !== undefined && att.tenant !== ex.tenant) fail(`tenant ${att.tenant} is not ${ex.tenant}`);
  if (ex.workload !== undefined && att.workload !== ex.workload) fail(`workload ${att.workload} is not ${ex.workload}`);
  if (att.simulated && ex.allowSimulated !== true) fail('issued on SIMULATED evidence');
  if (ex.measurements !== undefined && !ex.measurements.map((s) => s.toLowerCase()).includes(String(att.measurement).toLowerCase())) {
    fail(`measurement ${String(att.measurement).slice(0, 96)} is not an accepted one`);
  }
  return { spiffeId, serial: x.serialNumber.toLowerCase(), attestation: att, notBefore: new Date(nb).toISOString(), notAfter: new Date(na).toISOString() };
}

/** The PEM private key of a workload key pair (for TLS), from a CryptoKey. */
export function privateKeyPem(key: CryptoKey | KeyObject): string {
  const ko = key instanceof KeyObject ? key : KeyObject.from(key);
  return ko.export({ type: 'pkcs8', format: 'pem' }).toString();
}
