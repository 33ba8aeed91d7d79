/**
 * @module snp/der
 * A small bounds-checked DER reader (to take X.509 certificates apart byte-exactly) and
 * a DER writer (for the simulated AMD key hierarchy). Self-contained on purpose:
 * @peculiar/x509 needs a global Reflect metadata polyfill (tsyringe), which veritee
 * does not install, and verification must not depend on global state.
 *
 * INVARIANT: every read is checked against the enclosing element; a length running past
 * its parent, an indefinite length, a length over 4 bytes or a multi-byte tag throws
 * ATTEST_EVIDENCE_INVALID. Nothing here reads outside the buffer.
 */
import { VeriteeError } from '@veritee/core';

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  body: number;
  /** Offset just past the content. */
  end: number;
}

export const T = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8: 0x0c,
  PRINTABLE: 0x13,
  T61: 0x14,
  IA5: 0x16,
  UTC_TIME: 0x17,
  GEN_TIME: 0x18,
  BMP: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export function derError(what: string): VeriteeError {
  return new VeriteeError('ATTEST_EVIDENCE_INVALID', `malformed DER: ${what}`);
}

export function readTlv(b: Uint8Array, off: number, limit: number): Tlv {
  if (off + 2 > limit) throw derError(`truncated element at offset ${off}`);
  const tag = b[off]!;
  if ((tag & 0x1f) === 0x1f) throw derError(`multi-byte tag at offset ${off}`);
  let len = b[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw derError(`unsupported length form at offset ${off}`);
    if (p + n > limit) throw derError(`truncated length at offset ${off}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    p += n;
  }
  if (p + len > limit) throw derError(`length ${len} at offset ${off} overruns its container`);
  return { tag, start: off, body: p, end: p + len };
}

/** The children of a constructed element. */
export function children(b: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = t.body;
  while (p < t.end) {
    const c = readTlv(b, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t === undefined) throw derError(`${what} is missing`);
  if (t.tag !== tag) throw derError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

/** Parses exactly one element filling `b`. */
export function readOne(b: Uint8Array, what: string): Tlv {
  const t = readTlv(b, 0, b.length);
  if (t.end !== b.length) throw derError(`${what}: ${b.length - t.end} trailing bytes`);
  return t;
}

export function decodeOid(b: Uint8Array, t: Tlv): string {
  expectTag(t, T.OID, 'OBJECT IDENTIFIER');
  if (t.end <= t.body) throw derError('empty OBJECT IDENTIFIER');
  if (b[t.end - 1]! & 0x80) throw derError('truncated OBJECT IDENTIFIER');
  const parts: number[] = [];
  let v = 0;
  for (let i = t.body; i < t.end; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw derError('OBJECT IDENTIFIER arc too large');
    if (!(b[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  const first = parts.shift()!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

/** Non-negative INTEGER of at most 6 bytes, minimally encoded. */
export function decodeSmallUint(b: Uint8Array, t: Tlv): number {
  expectTag(t, T.INTEGER, 'INTEGER');
  const n = t.end - t.body;
  if (n < 1 || n > 6) throw derError(`INTEGER of ${n} bytes where a small one is expected`);
  if (b[t.body]! & 0x80) throw derError('negative INTEGER');
  if (n > 1 && b[t.body] === 0 && !(b[t.body + 1]! & 0x80)) throw derError('non-minimal INTEGER');
  let v = 0;
  for (let i = t.body; i < t.end; i++) v = v * 256 + b[i]!;
  return v;
}

export function decodeBoolean(b: Uint8Array, t: Tlv): boolean {
  expectTag(t, T.BOOLEAN, 'BOOLEAN');
  if (t.end - t.body !== 1) throw derError('BOOLEAN must be one byte');
  return b[t.body] !== 0;
}

/** A string value (UTF8String, PrintableString, IA5String, T61String, BMPString). */
export function decodeString(b: Uint8Array, t: Tlv): string {
  const body = b.subarray(t.body, t.end);
  switch (t.tag) {
    case T.UTF8:
    case T.PRINTABLE:
    case T.IA5:
      return new TextDecoder('utf-8', { fatal: false }).decode(body);
    case T.T61:
      return new TextDecoder('latin1').decode(body);
    case T.BMP: {
      let s = '';
      for (let i = 0; i + 1 < body.length; i += 2) s += String.fromCharCode((body[i]! << 8) | body[i + 1]!);
      return s;
    }
    default:
      throw derError(`tag 0x${t.tag.toString(16)} is not a string`);
  }
}

/** UTCTime (YYMMDDHHMMSSZ, 50..99 -> 19xx) or GeneralizedTime (YYYYMMDDHHMMSSZ). */
export function decodeTime(b: Uint8Array, t: Tlv): Date {
  const s = new TextDecoder('latin1').decode(b.subarray(t.body, t.end));
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === T.UTC_TIME && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (t.tag === T.GEN_TIME && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    year = Number(m[1]);
  } else {
    throw derError(`invalid time "${s}"`);
  }
  const [mo, da, h, mi, se] = [2, 3, 4, 5, 6].map((i) => Number(m![i]));
  const d = new Date(Date.UTC(year, mo! - 1, da, h, mi, se));
  // Date.UTC rolls over out-of-range fields (month 13, day 32): refuse instead.
  if (Number.isNaN(d.getTime()) || d.getUTCMonth() !== mo! - 1 || d.getUTCDate() !== da || d.getUTCHours() !== h || d.getUTCMinutes() !== mi || d.getUTCSeconds() !== se) {
    throw derError(`invalid time "${s}"`);
  }
  return d;
}

const NAME_ATTRS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'E',
};

/** Renders a Name in encoding order, `OU=Engineering, C=US, ..., CN=SEV-VCEK`; also returns the CN. */
export function decodeName(b: Uint8Array, t: Tlv): { text: string; cn: string } {
  expectTag(t, T.SEQUENCE, 'Name');
  const parts: string[] = [];
  let cn = '';
  for (const rdn of children(b, t)) {
    expectTag(rdn, T.SET, 'RelativeDistinguishedName');
    for (const atv of children(b, rdn)) {
      const [typ, val] = children(b, expectTag(atv, T.SEQUENCE, 'AttributeTypeAndValue'));
      const oid = decodeOid(b, expectTag(typ, T.OID, 'attribute type'));
      if (val === undefined) throw derError('attribute without value');
      const value = decodeString(b, val);
      const key = NAME_ATTRS[oid] ?? oid;
      if (key === 'CN') cn = value;
      parts.push(`${key}=${value}`);
    }
  }
  return { text: parts.join(', '), cn };
}

// ---- writer --------------------------------------------------------------------------

function lenBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

export function enc(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const head = [tag, ...lenBytes(len)];
  const out = new Uint8Array(head.length + len);
  out.set(head, 0);
  let o = head.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const seq = (...parts: Uint8Array[]): Uint8Array => enc(T.SEQUENCE, ...parts);
export const set = (...parts: Uint8Array[]): Uint8Array => enc(T.SET, ...parts);
export const explicit = (n: number, inner: Uint8Array): Uint8Array => enc(0xa0 | n, inner);
export const octets = (b: Uint8Array): Uint8Array => enc(T.OCTET_STRING, b);
export const bitString = (b: Uint8Array): Uint8Array => enc(T.BIT_STRING, Uint8Array.of(0), b);
export const nullValue = (): Uint8Array => Uint8Array.of(T.NULL, 0);
export const boolean = (v: boolean): Uint8Array => Uint8Array.of(T.BOOLEAN, 1, v ? 0xff : 0);
export const utf8String = (s: string): Uint8Array => enc(T.UTF8, new TextEncoder().encode(s));
export const ia5String = (s: string): Uint8Array => enc(T.IA5, new TextEncoder().encode(s));
export const printableString = (s: string): Uint8Array => enc(T.PRINTABLE, new TextEncoder().encode(s));

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (v: number): void => {
    const tmp = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) tmp.unshift((x & 0x7f) | 0x80);
    out.push(...tmp);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return enc(T.OID, Uint8Array.from(out));
}

/** Non-negative INTEGER, minimal encoding. */
export function integer(v: number | bigint): Uint8Array {
  let x = BigInt(v);
  if (x < 0n) throw new RangeError('negative INTEGER');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(x & 0xffn));
    x >>= 8n;
  } while (x > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return enc(T.INTEGER, Uint8Array.from(bytes));
}

/** UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
export function time(d: Date): Uint8Array {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const y = d.getUTCFullYear();
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return enc(T.UTC_TIME, new TextEncoder().encode(`${p(y % 100)}${rest}`));
  return enc(T.GEN_TIME, new TextEncoder().encode(`${p(y, 4)}${rest}`));
}
