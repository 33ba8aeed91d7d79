/**
 * @module sim/nvidia
 * A simulated NVIDIA Hopper GPU. It emits the real evidence layout (SPDM 1.1
 * GET_MEASUREMENTS request || MEASUREMENTS response with NVIDIA opaque fields, signed
 * ECDSA P-384 / SHA-384 over request || response-without-signature) and a PEM chain
 * device leaf -> intermediate -> root generated at run time. The real verifier
 * (nvidia/verify.ts) checks it; it is accepted only when the caller passes
 * `simulatedAnchors = auth.anchors`, and then the claims say `simulated: true`.
 *
 * INVARIANT: nothing here is trusted by default; the keys live only in memory.
 */
import { p384 } from '@noble/curves/nist.js';
import { concatBytes, sha256, sha384, toBase64, utf8, VeriteeError } from '@veritee/core';
import type { EvidenceEnvelope, TrustAnchors } from '../types.js';
import { enc, encOid, encTime, encUint, encUtf8, ecdsaRawToDer, TAG } from '../nvidia/der.js';
import { OID, toPem } from '../nvidia/cert-chain.js';
import { encodeSpdmRequest, SPDM_NONCE_SIZE, SPDM_VERSION_1_1 } from '../nvidia/spdm-request.js';
import { encodeSpdmResponseUnsigned, OPAQUE } from '../nvidia/spdm-response.js';

export interface SimNvidiaAuthority {
  /** Pass as `params.simulatedAnchors` to make the verifier accept this GPU's evidence. */
  anchors: TrustAnchors;
  /** Device leaf, intermediate, root (PEM), as the envelope carries it. */
  certChainPem: string;
  rootDer: Uint8Array;
  intermediateDer: Uint8Array;
  leafDer: Uint8Array;
  /** FMC firmware digest, in the leaf's DICE extension and the report's opaque data. */
  fwid: Uint8Array;
  /** Device id in the leaf's `NVIDIA:GH100:<id>` subjectAltName (hex). */
  deviceId: string;
  notBefore: Date;
  notAfter: Date;
  /** Signs as the device: ECDSA P-384 over SHA-384(message), raw r || s (96 bytes). */
  signSpdm(message: Uint8Array): Uint8Array;
}

const ECDSA_SHA384 = enc(TAG.SEQUENCE, encOid(OID.ecdsaSha384));

function random(n: number): Uint8Array {
  const b = new Uint8Array(n);
  globalThis.crypto.getRandomValues(b);
  return b;
}

function name(attrs: [oid: string, value: string, printable?: boolean][]): Uint8Array {
  return enc(
    TAG.SEQUENCE,
    ...attrs.map(([oid, v, printable]) =>
      enc(TAG.SET, enc(TAG.SEQUENCE, encOid(oid), printable ? enc(TAG.PRINTABLE_STRING, utf8(v)) : encUtf8(v))),
    ),
  );
}

function spki(publicKey: Uint8Array): Uint8Array {
  return enc(
    TAG.SEQUENCE,
    enc(TAG.SEQUENCE, encOid(OID.ecPublicKey), encOid(OID.p384)),
    enc(TAG.BIT_STRING, new Uint8Array([0]), publicKey),
  );
}

function ext(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? enc(TAG.SEQUENCE, encOid(oid), enc(TAG.BOOLEAN, new Uint8Array([0xff])), enc(TAG.OCTET_STRING, value))
    : enc(TAG.SEQUENCE, encOid(oid), enc(TAG.OCTET_STRING, value));
}

const keyId = (pub: Uint8Array): Uint8Array => sha256(pub).slice(0, 20);

interface Issued {
  der: Uint8Array;
  subject: Uint8Array;
  pub: Uint8Array;
}

function issue(p: {
  subject: Uint8Array;
  issuer: Uint8Array;
  pub: Uint8Array;
  issuerPub: Uint8Array;
  signerKey: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  extensions: Uint8Array[];
}): Issued {
  const serial = random(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const tbs = enc(
    TAG.SEQUENCE,
    enc(0xa0, encUint(new Uint8Array([2]))),
    encUint(serial),
    ECDSA_SHA384,
    p.issuer,
    enc(TAG.SEQUENCE, encTime(p.notBefore), encTime(p.notAfter)),
    p.subject,
    spki(p.pub),
    enc(0xa3, enc(TAG.SEQUENCE, ...p.extensions, ext(OID.authorityKeyIdentifier, false, enc(TAG.SEQUENCE, enc(0x80, keyId(p.issuerPub)))))),
  );
  const sig = p384.sign(tbs, p.signerKey); // SHA-384 prehash, raw r || s
  const der = enc(TAG.SEQUENCE, tbs, ECDSA_SHA384, enc(TAG.BIT_STRING, new Uint8Array([0]), ecdsaRawToDer(sig)));
  return { der, subject: p.subject, pub: p.pub };
}

const CA_EXTENSIONS = (pub: Uint8Array): Uint8Array[] => [
  ext(OID.basicConstraints, true, enc(TAG.SEQUENCE, enc(TAG.BOOLEAN, new Uint8Array([0xff])))),
  ext(OID.keyUsage, true, enc(TAG.BIT_STRING, new Uint8Array([0x01, 0x06]))), // keyCertSign | cRLSign
  ext(OID.subjectKeyIdentifier, false, enc(TAG.OCTET_STRING, keyId(pub))),
];

/**
 * Generates a test root, an intermediate and a device leaf (all ECDSA P-384). `chip` is
 * the chip named in the leaf (`NVIDIA:<chip>:<id>`), GH100 unless a test needs another
 * device (e.g. `LS10`, an NVSwitch, which the verifier must refuse by name).
 */
export async function createSimNvidiaAuthority(opts: { notBefore?: Date; notAfter?: Date; chip?: string } = {}): Promise<SimNvidiaAuthority> {
  const notBefore = opts.notBefore ?? new Date('2024-01-01T00:00:00Z');
  const notAfter = opts.notAfter ?? new Date('2049-12-31T23:59:59Z');
  if (!(notBefore.getTime() < notAfter.getTime())) {
    throw new VeriteeError('INPUT_INVALID', 'simulated NVIDIA authority: notBefore must be before notAfter');
  }
  const chip = opts.chip ?? 'GH100';
  if (!/^[A-Z0-9]{1,16}$/.test(chip)) throw new VeriteeError('INPUT_INVALID', 'simulated NVIDIA authority: chip must be 1-16 upper-case letters or digits');
  const rootSk = p384.utils.randomSecretKey();
  const icaSk = p384.utils.randomSecretKey();
  const devSk = p384.utils.randomSecretKey();
  const rootPub = p384.getPublicKey(rootSk, false);
  const icaPub = p384.getPublicKey(icaSk, false);
  const devPub = p384.getPublicKey(devSk, false);

  const rootName = name([
    ['2.5.4.3', 'veritee simulated NVIDIA Device Identity CA'],
    ['2.5.4.10', 'veritee (simulated)'],
  ]);
  const icaName = name([
    ['2.5.4.3', `veritee simulated ${chip} Provisioner ICA`],
    ['2.5.4.10', 'veritee (simulated)'],
  ]);
  const deviceIdBytes = random(8);
  const deviceId = Array.from(deviceIdBytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const leafName = name([
    ['2.5.4.5', Array.from(keyId(devPub), (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase(), true],
    ['2.5.4.10', 'veritee (simulated)'],
    ['2.5.4.3', `veritee simulated ${chip} GSP FMC LF`],
  ]);
  const fwid = sha384(concatBytes(utf8('veritee simulated GH100 FMC'), deviceIdBytes));

  const common = { notBefore, notAfter };
  const root = issue({ ...common, subject: rootName, issuer: rootName, pub: rootPub, issuerPub: rootPub, signerKey: rootSk, extensions: CA_EXTENSIONS(rootPub) });
  const ica = issue({ ...common, subject: icaName, issuer: rootName, pub: icaPub, issuerPub: rootPub, signerKey: rootSk, extensions: CA_EXTENSIONS(icaPub) });
  const san = enc(
    TAG.SEQUENCE,
    enc(0xa0, encOid(OID.nvidiaDeviceName), enc(0xa0, encUtf8(`NVIDIA:${chip}:${deviceId.toUpperCase()}`))),
  );
  const tcbInfo = enc(TAG.SEQUENCE, encUint(new Uint8Array([1])), enc(TAG.SEQUENCE, encOid(OID.sha384), enc(TAG.OCTET_STRING, fwid)));
  const leaf = issue({
    ...common,
    subject: leafName,
    issuer: icaName,
    pub: devPub,
    issuerPub: icaPub,
    signerKey: icaSk,
    extensions: [
      ext(OID.keyUsage, true, enc(TAG.BIT_STRING, new Uint8Array([0x07, 0x80]))), // digitalSignature
      ext(OID.subjectKeyIdentifier, false, enc(TAG.OCTET_STRING, keyId(devPub))),
      ext(OID.subjectAltName, false, san),
      ext(OID.diceTcbInfo, false, tcbInfo),
    ],
  });

  return {
    anchors: { nvidiaRoot: root.der },
    certChainPem: [leaf.der, ica.der, root.der].map(toPem).join(''),
    rootDer: root.der,
    intermediateDer: ica.der,
    leafDer: leaf.der,
    fwid,
    deviceId,
    notBefore,
    notAfter,
    signSpdm: (message: Uint8Array): Uint8Array => p384.sign(message, devSk),
  };
}

function u32le(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]);
}

/** Default measurements: 8 SHA-384 values, one per block index 1..8. */
export function defaultSimNvidiaMeasurements(): Uint8Array[] {
  return Array.from({ length: 8 }, (_, i) => sha384(utf8(`veritee simulated GH100 measurement ${i + 1}`)));
}

/**
 * Evidence of the simulated GPU answering GET_MEASUREMENTS(all, signed) with `nonce`.
 * Block `i` (1-based) carries `measurements[i - 1]`. `extraOpaqueFields` are appended to
 * the signed opaque data (tests: e.g. NVSwitch-only fields).
 */
export function simNvidiaEvidence(
  auth: SimNvidiaAuthority,
  req: { nonce: Uint8Array; measurements?: Uint8Array[]; extraOpaqueFields?: { type: number; data: Uint8Array }[] },
): EvidenceEnvelope {
  if (!(req.nonce instanceof Uint8Array) || req.nonce.length !== SPDM_NONCE_SIZE) {
    throw new VeriteeError('INPUT_INVALID', `simulated NVIDIA evidence: nonce must be ${SPDM_NONCE_SIZE} bytes`);
  }
  const values = req.measurements ?? defaultSimNvidiaMeasurements();
  if (values.length === 0 || values.length > 255) {
    throw new VeriteeError('INPUT_INVALID', 'simulated NVIDIA evidence: between 1 and 255 measurements');
  }
  const request = encodeSpdmRequest({ nonce: req.nonce, param2: 0xff, slotId: 0 });
  const text = (s: string): Uint8Array => concatBytes(utf8(s), new Uint8Array([0]));
  const response = encodeSpdmResponseUnsigned({
    version: SPDM_VERSION_1_1,
    blocks: values.map((value, i) => ({ index: i + 1, valueType: 0x01, value })),
    nonce: random(SPDM_NONCE_SIZE),
    opaqueFields: [
      { type: OPAQUE.vbiosVersion, data: new Uint8Array([0x00, 0x9f, 0x00, 0x96, 0x01, 0x00, 0x00, 0x00]) },
      { type: OPAQUE.chipSku, data: text('882') },
      { type: OPAQUE.project, data: text('SIM') },
      { type: OPAQUE.driverVersion, data: text('550.90.07') },
      { type: OPAQUE.measurementCount, data: concatBytes(...values.map(() => u32le(1))) },
      { type: OPAQUE.nvdec0Status, data: new Uint8Array([0x55]) },
      { type: OPAQUE.fwid, data: auth.fwid },
      { type: OPAQUE.protectedPcieStatus, data: new Uint8Array([0x55]) },
      ...(req.extraOpaqueFields ?? []),
    ],
  });
  const signed = concatBytes(request, response);
  const spdm = concatBytes(signed, auth.signSpdm(signed));
  return { platform: 'nvidia', evidence: { spdm: toBase64(spdm), cert_chain: auth.certChainPem } };
}
