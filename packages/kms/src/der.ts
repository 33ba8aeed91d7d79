/**
 * @module der
 * The few DER (X.690) pieces the workload CA needs: encoding of the X.509 structures it
 * issues and a bounded, non-recursive reader for walking certificates it checks.
 */
import { VeriteeError } from '@veritee/core';

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const len = lengthBytes(content.length);
  const out = new Uint8Array(1 + len.length + content.length);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const seq = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, cat(...parts));
export const set = (...parts: Uint8Array[]): Uint8Array => tlv(0x31, cat(...parts));
export const ctx = (n: number, content: Uint8Array, constructed = true): Uint8Array => tlv((constructed ? 0xa0 : 0x80) | n, content);
export const octets = (b: Uint8Array): Uint8Array => tlv(0x04, b);
export const utf8Str = (s: string): Uint8Array => tlv(0x0c, new TextEncoder().encode(s));
export const bool = (v: boolean): Uint8Array => tlv(0x01, new Uint8Array([v ? 0xff : 0]));
export const bits = (b: Uint8Array, unused = 0): Uint8Array => tlv(0x03, cat(new Uint8Array([unused]), b));

/** A non-negative INTEGER from big-endian bytes. */
export function uint(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? cat(new Uint8Array([0]), v) : v);
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const out: number[] = [];
  const push = (v: bigint) => {
    const tmp: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) tmp.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...tmp);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, new Uint8Array(out));
}

/** UTCTime before 2050, GeneralizedTime after (RFC 5280 §4.1.2.5). */
export function time(ms: number): Uint8Array {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, new TextEncoder().encode(iso.slice(2) + 'Z')) : tlv(0x18, new TextEncoder().encode(iso + 'Z'));
}

// ---- reading ----------------------------------------------------------------------------

export interface Node {
  tag: number;
  /** Offset of the content. */
  start: number;
  /** Offset just past the content. */
  end: number;
  /** Offset of the tag byte (whole TLV = [head, end)). */
  head: number;
}

const bad = (why: string): VeriteeError => new VeriteeError('INPUT_INVALID', `certificate DER is malformed: ${why}`);

export function read(b: Uint8Array, at: number, limit = b.length): Node {
  if (at + 2 > limit) throw bad('truncated header');
  const tag = b[at]!;
  if ((tag & 0x1f) === 0x1f) throw bad('multi-byte tags are not used in X.509');
  let len = b[at + 1]!;
  let o = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || o + n > limit) throw bad('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[o + i]!;
    o += n;
  }
  if (o + len > limit) throw bad('content runs past its parent');
  return { tag, start: o, end: o + len, head: at };
}

export function children(b: Uint8Array, n: Node): Node[] {
  const out: Node[] = [];
  for (let o = n.start; o < n.end; ) {
    const c = read(b, o, n.end);
    out.push(c);
    o = c.end;
    if (out.length > 10_000) throw bad('too many elements');
  }
  return out;
}

export function oidString(b: Uint8Array, n: Node): string {
  if (n.tag !== 0x06) throw bad('expected an OBJECT IDENTIFIER');
  const arcs: bigint[] = [];
  let v = 0n;
  for (let i = n.start; i < n.end; i++) {
    v = (v << 7n) | BigInt(b[i]! & 0x7f);
    if (!(b[i]! & 0x80)) {
      arcs.push(v);
      v = 0n;
    }
  }
  const first = arcs.shift() ?? 0n;
  const a = first < 80n ? first / 40n : 2n;
  return [a, first - a * 40n, ...arcs].join('.');
}

export function timeMs(b: Uint8Array, n: Node): number {
  const s = new TextDecoder().decode(b.subarray(n.start, n.end));
  const m = n.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : n.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) throw bad('bad time');
  let y = Number(m[1]);
  if (n.tag === 0x17) y += y < 50 ? 2000 : 1900;
  return Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}
