/**
 * @module dcap/pck
 * PCK certificates: the chain carried in the quote (certification data type 5, PEM),
 * the Intel SGX extensions of the PCK leaf (OID 1.2.840.113741.1.13.1: PPID, TCB
 * components, PCESVN, CPUSVN, PCE-ID, FMSPC, SGX type), and the trust anchors.
 *
 * THREAT MODEL: the PCK chain is attacker-supplied; it is only believed after
 * {@link verifyChain} succeeds to a pinned root. The extension values are read from the
 * leaf that signed the QE report, so they describe the platform that produced the quote.
 */
import { toHex, VeriteeError, type ErrorCode } from '@veritee/core';
import type { TrustAnchors } from '../types.js';
import { children, content, expectTag, oidString, parseDer, smallInt, TAG, type DerNode } from './der.js';
import { INTEL_SGX_ROOT_CA_PEM } from './roots/intel-sgx-root-ca.js';
import { OID, parseCert, pemBlocks, type Anchor, type ParsedCert } from './x509.js';

const SGX = OID.sgxExtension;

export interface PckExtension {
  ppid: string;
  /** 16 SGX TCB component SVNs (extension .2.1 .. .2.16). */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  /** 2 bytes, hex. */
  pceId: string;
  /** 6 bytes, hex (lowercase). */
  fmspc: string;
  /** 0 standard, 1 scalable, 2 scalable with integrity. */
  sgxType: number;
  platformInstanceId?: string;
}

/** Reads the Intel SGX extension of a PCK certificate. Throws ATTEST_EVIDENCE_INVALID. */
export function parsePckExtension(cert: ParsedCert): PckExtension {
  const what = `SGX extension of "${cert.subject}"`;
  const ext = cert.extensions.find((e) => e.oid === SGX);
  if (!ext) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what} is missing (OID ${SGX})`);
  const fields = new Map<string, DerNode>();
  for (const item of children(expectTag(parseDer(ext.value, what), TAG.SEQUENCE, what), what)) {
    const [oidN, valueN] = children(expectTag(item, TAG.SEQUENCE, what), what);
    const oid = oidString(expectTag(oidN, TAG.OID, what), what);
    if (valueN === undefined) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: ${oid} has no value`);
    if (fields.has(oid)) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: ${oid} appears twice`);
    fields.set(oid, valueN);
  }
  const get = (suffix: string, tag: number): DerNode => {
    const n = fields.get(`${SGX}.${suffix}`);
    if (!n) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: field ${SGX}.${suffix} is missing`);
    return expectTag(n, tag, `${what} field .${suffix}`);
  };
  const octets = (suffix: string, len: number): Uint8Array => {
    const b = content(get(suffix, TAG.OCTET_STRING));
    if (b.length !== len) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: field .${suffix} must be ${len} bytes, got ${b.length}`);
    return b;
  };
  const tcb = new Map<string, DerNode>();
  for (const item of children(get('2', TAG.SEQUENCE), what)) {
    const [oidN, valueN] = children(expectTag(item, TAG.SEQUENCE, what), what);
    const oid = oidString(expectTag(oidN, TAG.OID, what), what);
    if (valueN === undefined) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: ${oid} has no value`);
    tcb.set(oid, valueN);
  }
  const tcbInt = (n: number): number => {
    const node = tcb.get(`${SGX}.2.${n}`);
    if (!node) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: TCB field .2.${n} is missing`);
    return smallInt(expectTag(node, TAG.INTEGER, what), what);
  };
  const tcbComponents = Array.from({ length: 16 }, (_, i) => tcbInt(i + 1));
  const pceSvn = tcbInt(17);
  const cpuSvnN = tcb.get(`${SGX}.2.18`);
  if (!cpuSvnN) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: CPUSVN (.2.18) is missing`);
  const cpuSvn = content(expectTag(cpuSvnN, TAG.OCTET_STRING, what));
  if (cpuSvn.length !== 16) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: CPUSVN must be 16 bytes`);
  const pii = fields.get(`${SGX}.6`);
  return {
    ppid: toHex(octets('1', 16)),
    tcbComponents,
    pceSvn,
    cpuSvn,
    pceId: toHex(octets('3', 2)),
    fmspc: toHex(octets('4', 6)),
    sgxType: smallInt(get('5', TAG.ENUMERATED), what),
    ...(pii && pii.tag === TAG.OCTET_STRING ? { platformInstanceId: toHex(content(pii)) } : {}),
  };
}

/** Intel DCAP QE certification data types (Intel SGX ECDSA Quote Library API, "Certification Data"). */
const CERT_DATA_TYPES: Readonly<Record<number, string>> = {
  1: 'PPID in clear text, CPUSVN, PCESVN, PCE-ID',
  2: 'PPID encrypted with RSA-2048-OAEP, CPUSVN, PCESVN, PCE-ID',
  3: 'PPID encrypted with RSA-3072-OAEP, CPUSVN, PCESVN, PCE-ID',
  4: 'PCK leaf certificate only',
  5: 'PCK certificate chain',
  6: 'QE report certification data',
  7: 'platform manifest',
};

/**
 * PCK chain certificates (leaf first) from certification data type 5. Throws
 * ATTEST_CERT_CHAIN_INVALID naming the type when the quote carries no PCK certificate
 * (a verification failure, not missing collateral), or a certificate parse error.
 */
export function parsePckChain(certData: Uint8Array, certDataType: number): ParsedCert[] {
  if (certDataType !== 5) {
    const what = CERT_DATA_TYPES[certDataType] ?? 'unknown type';
    throw new VeriteeError(
      'ATTEST_CERT_CHAIN_INVALID',
      `the quote carries no PCK certificate: its certification data is type ${certDataType} (${what}), not type 5 (PCK certificate chain), so the QE report cannot be verified`,
      { certDataType },
    );
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(certData);
  const ders = pemBlocks(text);
  if (ders.length === 0) {
    throw new VeriteeError('ATTEST_CERT_CHAIN_INVALID', `the quote carries no PCK certificate: its certification data (type 5, PCK certificate chain) holds no PEM certificate in ${certData.length} byte(s)`);
  }
  return ders.map((d, i) => parseCert(d, `PCK chain certificate ${i}`));
}

let intelRoot: Anchor | undefined;

/** The pinned Intel SGX Root CA plus, when given, the simulated-TEE root. */
export function dcapAnchors(simulated?: TrustAnchors): Anchor[] {
  intelRoot ??= { cert: parseCert(pemBlocks(INTEL_SGX_ROOT_CA_PEM)[0]!, 'Intel SGX Root CA'), simulated: false };
  const out: Anchor[] = [intelRoot];
  if (simulated?.intelRoot) out.push({ cert: parseCert(simulated.intelRoot, 'simulated Intel root'), simulated: true });
  return out;
}

/** The code for a parse failure: VeriteeError keeps its own, anything else is INTERNAL. */
export function errorCodeOf(e: unknown): ErrorCode {
  return e instanceof VeriteeError ? e.code : 'INTERNAL';
}
