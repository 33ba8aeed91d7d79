/**
 * @module dcap/der
 * A minimal, bounds-checked DER reader: just enough to take apart X.509 certificates,
 * CRLs and the Intel SGX extension without trusting any length field.
 *
 * INVARIANT: every read checks its bounds against the enclosing element; a length that
 * runs past its parent throws ATTEST_EVIDENCE_INVALID naming `what`, never reads past
 * the buffer. Indefinite lengths and lengths over 4 bytes are refused (DER forbids them).
 */
import { VeriteeError } from '@veritee/core';

export interface DerNode {
  /** Full tag byte (class + constructed bit + number); multi-byte tags are refused. */
  tag: number;
  /** Offset of the tag byte within `buf`. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset one past the last content byte. */
  end: number;
  buf: Uint8Array;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
} as const;

function fail(what: string, why: string): never {
  throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `${what}: malformed DER (${why})`);
}

/** Reads one TLV at `offset`, which must end at or before `limit`. */
export function readNode(buf: Uint8Array, offset: number, limit: number, what: string): DerNode {
  if (offset + 2 > limit) fail(what, `element header at offset ${offset} runs past ${limit}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) fail(what, `multi-byte tag at offset ${offset}`);
  let p = offset + 1;
  const first = buf[p++]!;
  let len: number;
  if (first < 0x80) {
    len = first;
  } else {
    const n = first & 0x7f;
    if (n === 0) fail(what, `indefinite length at offset ${offset}`);
    if (n > 4) fail(what, `length of ${n} bytes at offset ${offset}`);
    if (p + n > limit) fail(what, `length bytes at offset ${offset} run past ${limit}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
  }
  const end = p + len;
  if (end > limit) fail(what, `element at offset ${offset} of length ${len} runs past ${limit}`);
  return { tag, start: offset, contentStart: p, end, buf };
}

/** Parses the single top-level element of `buf` (trailing bytes are refused). */
export function parseDer(buf: Uint8Array, what: string): DerNode {
  const n = readNode(buf, 0, buf.length, what);
  if (n.end !== buf.length) fail(what, `${buf.length - n.end} trailing bytes`);
  return n;
}

/** The children of a constructed element. */
export function children(node: DerNode, what: string): DerNode[] {
  if ((node.tag & 0x20) === 0) fail(what, `tag 0x${node.tag.toString(16)} is not constructed`);
  const out: DerNode[] = [];
  let p = node.contentStart;
  while (p < node.end) {
    const c = readNode(node.buf, p, node.end, what);
    out.push(c);
    p = c.end;
  }
  return out;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined) fail(what, `missing element (expected tag 0x${tag.toString(16)})`);
  if (node.tag !== tag) fail(what, `tag 0x${node.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return node;
}

export function content(node: DerNode): Uint8Array {
  return node.buf.subarray(node.contentStart, node.end);
}

/** The full encoding (tag, length and content) of `node`. */
export function encoded(node: DerNode): Uint8Array {
  return node.buf.subarray(node.start, node.end);
}

/** Dotted-decimal OID. */
export function oidString(node: DerNode, what: string): string {
  expectTag(node, TAG.OID, what);
  const b = content(node);
  if (b.length === 0) fail(what, 'empty OID');
  const parts: number[] = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) fail(what, 'OID arc too large');
    if ((b[i]! & 0x80) === 0) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else parts.push(v);
      v = 0;
    }
  }
  if ((b[b.length - 1]! & 0x80) !== 0) fail(what, 'truncated OID');
  return parts.join('.');
}

/** A non-negative INTEGER or ENUMERATED that fits a JS number. */
export function smallInt(node: DerNode, what: string): number {
  if (node.tag !== TAG.INTEGER && node.tag !== TAG.ENUMERATED) fail(what, `tag 0x${node.tag.toString(16)} is not an integer`);
  const b = content(node);
  if (b.length === 0 || b.length > 6) fail(what, `integer of ${b.length} bytes`);
  if ((b[0]! & 0x80) !== 0) fail(what, 'negative integer');
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

/** INTEGER content as lowercase hex without leading zero bytes (certificate serial numbers). */
export function integerHex(node: DerNode, what: string): string {
  expectTag(node, TAG.INTEGER, what);
  const b = content(node);
  if (b.length === 0) fail(what, 'empty integer');
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let s = '';
  for (; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

/** UTCTime or GeneralizedTime (Z form only, as DER requires). */
export function derTime(node: DerNode, what: string): Date {
  const s = new TextDecoder().decode(content(node));
  let m: RegExpMatchArray | null;
  if (node.tag === TAG.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) fail(what, `bad UTCTime "${s}"`);
    const yy = Number(m[1]);
    const year = yy >= 50 ? 1900 + yy : 2000 + yy;
    return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }
  if (node.tag === TAG.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) fail(what, `bad GeneralizedTime "${s}"`);
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }
  fail(what, `tag 0x${node.tag.toString(16)} is not a time`);
}

/** BIT STRING content without its unused-bits byte (which must be 0 here). */
export function bitStringBytes(node: DerNode, what: string): Uint8Array {
  expectTag(node, TAG.BIT_STRING, what);
  const b = content(node);
  if (b.length === 0 || b[0] !== 0) fail(what, 'bit string with unused bits');
  return b.subarray(1);
}
