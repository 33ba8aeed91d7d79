/**
 * @module tls-cert
 * A self-signed TLS certificate (ECDSA P-256) made at proxy startup when no
 * `--cert/--key` is given. Encoded with @peculiar/asn1-x509 (no Reflect polyfill
 * needed), signed with node:crypto.
 *
 * Why a self-signed certificate is enough: an attested client does not rely on the
 * WebPKI to authenticate the proxy. It checks that the enclave key (bound into the
 * evidence) signed the exporter value of ITS TLS session; a different certificate
 * means a different session and a failed binding. Clients that fall back to legacy
 * (unattested) servers do check the certificate chain.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';

export interface SelfSignedCertificate {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
  /** SHA-256 fingerprint of the DER certificate, hex. */
  fingerprint256: string;
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

/**
 * A self-signed certificate for `host` (also valid for localhost, 127.0.0.1 and ::1),
 * valid from one hour ago for `days` days (default 30).
 */
export function selfSignedCertificate(host: string, opts: { days?: number; now?: Date } = {}): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  const name = new Name([
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: host.slice(0, 64) }) })]),
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: '2.5.4.10', value: new AttributeValue({ utf8String: 'veritee attesting proxy (self-signed)' }) })]),
  ]);
  const names = new Set([host, 'localhost', '127.0.0.1', '::1']);
  const san = new SubjectAlternativeName([...names].map((n) => (isIP(n) ? new GeneralName({ iPAddress: n }) : new GeneralName({ dNSName: n }))));
  const now = opts.now ?? new Date();
  const serial = randomBytes(16);
  // Positive, and a non-zero first byte: DER INTEGERs are minimal, and a 0x00 before a byte
  // below 0x80 is padding OpenSSL refuses ("illegal padding") about once in 256 certificates.
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const alg = new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const ext = (id: string, critical: boolean, value: unknown) =>
    new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial.buffer.slice(serial.byteOffset, serial.byteOffset + serial.byteLength),
    signature: alg,
    issuer: name,
    subject: name,
    validity: new Validity({ notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + (opts.days ?? 30) * 86_400_000) }),
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      ext('2.5.29.19', true, new BasicConstraints({ cA: false })),
      ext('2.5.29.37', false, new ExtendedKeyUsage([SERVER_AUTH])),
      ext('2.5.29.17', false, san),
    ]),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = sign('sha256', tbsDer, privateKey); // DER ECDSA-Sig-Value
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: alg,
    signatureValue: signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength),
  });
  const der = new Uint8Array(AsnConvert.serialize(cert));
  return {
    cert: pem('CERTIFICATE', der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fingerprint256: createHash('sha256').update(der).digest('hex'),
  };
}
