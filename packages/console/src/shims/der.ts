/**
 * @module shims/der
 * The few DER structures the browser crypto shim reads: SubjectPublicKeyInfo
 * (EC and RSA), RSAPublicKey, and ECDSA-Sig-Value. Strict (definite lengths,
 * minimal length encoding, no trailing bytes); any deviation throws.
 */
export interface Tlv {
  tag: number;
  /** The content bytes. */
  value: Uint8Array;
  /** Offset just after this element. */
  end: number;
}

export function readTlv(b: Uint8Array, off: number): Tlv {
  if (off + 2 > b.length) throw new Error('DER: truncated element');
  const tag = b[off]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('DER: multi-byte tags are not supported');
  let len = b[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('DER: unsupported length form');
    if (p + n > b.length) throw new Error('DER: truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    if (len < 0x80 || b[p] === 0) throw new Error('DER: non-minimal length');
    p += n;
  }
  if (p + len > b.length) throw new Error('DER: element runs past its end');
  return { tag, value: b.subarray(p, p + len), end: p + len };
}

/** The elements of a constructed value's content, in order. */
export function children(content: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let off = 0;
  while (off < content.length) {
    const t = readTlv(content, off);
    out.push(t);
    off = t.end;
  }
  return out;
}

/** Reads one whole element that must fill `b` exactly. */
export function readWhole(b: Uint8Array, tag: number, what: string): Tlv {
  const t = readTlv(b, 0);
  if (t.tag !== tag) throw new Error(`DER: ${what} has tag 0x${t.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  if (t.end !== b.length) throw new Error(`DER: ${b.length - t.end} trailing byte(s) after ${what}`);
  return t;
}

export function oidToString(v: Uint8Array): string {
  if (v.length === 0) throw new Error('DER: empty OID');
  const parts: number[] = [];
  const first = v[0]!;
  parts.push(first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80);
  let acc = 0;
  for (let i = 1; i < v.length; i++) {
    acc = acc * 128 + (v[i]! & 0x7f);
    if (!(v[i]! & 0x80)) {
      parts.push(acc);
      acc = 0;
    }
  }
  if (v[v.length - 1]! & 0x80) throw new Error('DER: truncated OID');
  return parts.join('.');
}

/** A DER INTEGER's content as a non-negative bigint (negative integers throw). */
export function derUint(v: Uint8Array, what: string): bigint {
  if (v.length === 0) throw new Error(`DER: empty INTEGER ${what}`);
  if (v[0]! & 0x80) throw new Error(`DER: negative INTEGER ${what}`);
  if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) throw new Error(`DER: non-minimal INTEGER ${what}`);
  let n = 0n;
  for (const x of v) n = (n << 8n) | BigInt(x);
  return n;
}

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
export const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';
export const OID_P256 = '1.2.840.10045.3.1.7';
export const OID_P384 = '1.3.132.0.34';
export const OID_P521 = '1.3.132.0.35';

export type ParsedSpki =
  | { kind: 'ec'; curve: 'P-256' | 'P-384' | 'P-521'; point: Uint8Array }
  | { kind: 'rsa' | 'rsa-pss'; n: bigint; e: bigint };

export function parseSpki(der: Uint8Array): ParsedSpki {
  const spki = children(readWhole(der, 0x30, 'SubjectPublicKeyInfo').value);
  if (spki.length !== 2 || spki[0]!.tag !== 0x30 || spki[1]!.tag !== 0x03) throw new Error('DER: SubjectPublicKeyInfo is not SEQUENCE { AlgorithmIdentifier, BIT STRING }');
  const alg = children(spki[0]!.value);
  if (!alg.length || alg[0]!.tag !== 0x06) throw new Error('DER: AlgorithmIdentifier has no OID');
  const oid = oidToString(alg[0]!.value);
  const bits = spki[1]!.value;
  if (bits.length < 1 || bits[0] !== 0) throw new Error('DER: public key BIT STRING has unused bits');
  const key = bits.subarray(1);
  if (oid === OID_EC_PUBLIC_KEY) {
    if (alg.length !== 2 || alg[1]!.tag !== 0x06) throw new Error('DER: EC key without a named curve');
    const c = oidToString(alg[1]!.value);
    const curve = c === OID_P256 ? 'P-256' : c === OID_P384 ? 'P-384' : c === OID_P521 ? 'P-521' : undefined;
    if (!curve) throw new Error(`unsupported EC curve ${c}`);
    return { kind: 'ec', curve, point: key };
  }
  if (oid === OID_RSA_ENCRYPTION || oid === OID_RSASSA_PSS) {
    const rsa = children(readWhole(key, 0x30, 'RSAPublicKey').value);
    if (rsa.length !== 2 || rsa[0]!.tag !== 0x02 || rsa[1]!.tag !== 0x02) throw new Error('DER: RSAPublicKey is not SEQUENCE { n, e }');
    return { kind: oid === OID_RSA_ENCRYPTION ? 'rsa' : 'rsa-pss', n: derUint(rsa[0]!.value, 'n'), e: derUint(rsa[1]!.value, 'e') };
  }
  throw new Error(`unsupported public key algorithm ${oid}`);
}

/** ECDSA-Sig-Value DER → r || s, each `size` bytes. */
export function ecdsaDerToCompact(sig: Uint8Array, size: number): Uint8Array {
  const seq = children(readWhole(sig, 0x30, 'ECDSA signature').value);
  if (seq.length !== 2 || seq[0]!.tag !== 0x02 || seq[1]!.tag !== 0x02) throw new Error('DER: ECDSA signature is not SEQUENCE { r, s }');
  const out = new Uint8Array(2 * size);
  [derUint(seq[0]!.value, 'r'), derUint(seq[1]!.value, 's')].forEach((v, i) => {
    const hex = v.toString(16);
    if (hex.length > 2 * size) throw new Error('DER: ECDSA signature component too large');
    const bytes = hex.padStart(2 * size, '0');
    for (let j = 0; j < size; j++) out[i * size + j] = parseInt(bytes.slice(2 * j, 2 * j + 2), 16);
  });
  return out;
}
