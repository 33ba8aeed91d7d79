/**
 * @module nvidia/der
 * A small strict DER reader (definite lengths, single-byte tags, every read inside its
 * parent) and the few encoders the simulated GPU needs to issue X.509 certificates.
 *
 * INVARIANT: reading never goes outside the given buffer; any malformed input throws
 * VeriteeError ATTEST_EVIDENCE_INVALID naming `what`.
 */
import { VeriteeError, concatBytes } from '@veritee/core';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One TLV inside `buf`: header at `start`, content at `[content, end)`. */
export interface Tlv {
  buf: Uint8Array;
  tag: number;
  start: number;
  content: number;
  end: number;
}

function bad(what: string, msg: string): VeriteeError {
  return new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: ${msg}`);
}

/** Reads the TLV at `off`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, off: number, limit: number, what: string): Tlv {
  if (off + 2 > limit) throw bad(what, `DER element at ${off} is truncated`);
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw bad(what, `multi-byte DER tag at ${off} is not supported`);
  let p = off + 1;
  const first = buf[p++]!;
  let len: number;
  if (first < 0x80) {
    len = first;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw bad(what, `indefinite length at ${off} is not DER`);
    if (n > 4) throw bad(what, `length of ${n} bytes at ${off} is too large`);
    if (p + n > limit) throw bad(what, `DER length at ${off} is truncated`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
  }
  if (p + len > limit) throw bad(what, `DER element at ${off} declares ${len} bytes, only ${limit - p} left`);
  return { buf, tag, start: off, content: p, end: p + len };
}

/** Parses `buf` as exactly one TLV (no trailing bytes). */
export function parseDer(buf: Uint8Array, what: string): Tlv {
  const t = readTlv(buf, 0, buf.length, what);
  if (t.end !== buf.length) throw bad(what, `${buf.length - t.end} trailing byte(s) after the DER element`);
  return t;
}

/** Children of a constructed element. */
export function kids(t: Tlv, what: string): Tlv[] {
  if ((t.tag & 0x20) === 0) throw bad(what, `DER tag 0x${t.tag.toString(16)} is not constructed`);
  const out: Tlv[] = [];
  let off = t.content;
  while (off < t.end) {
    const k = readTlv(t.buf, off, t.end, what);
    out.push(k);
    off = k.end;
  }
  return out;
}

export function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t === undefined) throw bad(what, `missing DER element (expected tag 0x${tag.toString(16)})`);
  if (t.tag !== tag) throw bad(what, `DER tag 0x${t.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return t;
}

/** Content bytes. */
export function val(t: Tlv): Uint8Array {
  return t.buf.subarray(t.content, t.end);
}

/** The whole encoded element (header + content). */
export function raw(t: Tlv): Uint8Array {
  return t.buf.subarray(t.start, t.end);
}

export function oidOf(t: Tlv, what: string): string {
  const b = val(expect(t, TAG.OID, what));
  if (b.length === 0) throw bad(what, 'empty OID');
  const parts: number[] = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw bad(what, 'OID arc too large');
    if ((b[i]! & 0x80) === 0) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else {
        parts.push(v);
      }
      v = 0;
    } else if (i === b.length - 1) {
      throw bad(what, 'OID ends inside an arc');
    }
  }
  return parts.join('.');
}

/** UTCTime / GeneralizedTime in their DER forms (`...Z`). */
export function timeOf(t: Tlv, what: string): Date {
  const s = new TextDecoder().decode(val(t));
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === TAG.UTC_TIME && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (t.tag === TAG.GENERALIZED_TIME && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    year = Number(m[1]);
  } else {
    throw bad(what, `unsupported time encoding '${s}'`);
  }
  const d = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  d.setUTCFullYear(year); // years < 100 would otherwise be mapped to 19xx
  if (Number.isNaN(d.getTime())) throw bad(what, `invalid time '${s}'`);
  return d;
}

/** Text of a directory string (UTF8/Printable/IA5/T61/BMP), or `#hex` for anything else. */
export function textOf(t: Tlv): string {
  const b = val(t);
  switch (t.tag) {
    case TAG.UTF8_STRING:
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
      return new TextDecoder('utf-8', { fatal: false }).decode(b);
    case TAG.T61_STRING:
      return new TextDecoder('latin1').decode(b);
    case TAG.BMP_STRING:
      return new TextDecoder('utf-16be').decode(b);
    default:
      return '#' + Array.from(raw(t), (x) => x.toString(16).padStart(2, '0')).join('');
  }
}

// ---- encoders -------------------------------------------------------------------

function lengthBytes(n: number): Uint8Array {
  if (n < 0x80) return new Uint8Array([n]);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return new Uint8Array([0x80 | out.length, ...out]);
}

export function enc(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concatBytes(...content);
  return concatBytes(new Uint8Array([tag]), lengthBytes(body.length), body);
}

export function encOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map(Number);
  const out: number[] = [];
  const push = (v: number): void => {
    const bytes = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift(0x80 | (v & 0x7f));
    out.push(...bytes);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return enc(TAG.OID, new Uint8Array(out));
}

/** Unsigned big-endian integer, minimal DER form. */
export function encUint(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let b = bytes.subarray(i);
  if (b.length === 0) b = new Uint8Array([0]);
  if (b[0]! & 0x80) b = concatBytes(new Uint8Array([0]), b);
  return enc(TAG.INTEGER, b);
}

export function encTime(d: Date): Uint8Array {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const y = d.getUTCFullYear();
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return enc(TAG.UTC_TIME, new TextEncoder().encode(`${p(y % 100)}${rest}`));
  return enc(TAG.GENERALIZED_TIME, new TextEncoder().encode(`${p(y, 4)}${rest}`));
}

export function encUtf8(s: string): Uint8Array {
  return enc(TAG.UTF8_STRING, new TextEncoder().encode(s));
}

/** ECDSA raw r || s -> DER Ecdsa-Sig-Value. */
export function ecdsaRawToDer(rawSig: Uint8Array): Uint8Array {
  const n = rawSig.length / 2;
  return enc(TAG.SEQUENCE, encUint(rawSig.subarray(0, n)), encUint(rawSig.subarray(n)));
}

/** DER Ecdsa-Sig-Value -> raw r || s with `size`-byte halves. */
export function ecdsaDerToRaw(der: Uint8Array, size: number, what: string): Uint8Array {
  const seq = kids(expect(parseDer(der, what), TAG.SEQUENCE, what), what);
  if (seq.length !== 2) throw bad(what, 'ECDSA signature must hold r and s');
  const out = new Uint8Array(2 * size);
  seq.forEach((t, i) => {
    let b = val(expect(t, TAG.INTEGER, what));
    if (b.length === 0 || (b[0]! & 0x80) !== 0) throw bad(what, 'ECDSA signature integer is empty or negative');
    while (b.length > 1 && b[0] === 0) b = b.subarray(1);
    if (b.length > size) throw bad(what, 'ECDSA signature integer out of range');
    out.set(b, i * size + size - b.length);
  });
  return out;
}
