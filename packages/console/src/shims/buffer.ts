/**
 * @module shims/buffer
 * The part of Node's `Buffer` that veritee's verifiers use (`from`, `toString` in
 * hex/base64/base64url/utf8, `compare`, `concat`, `equals`), for the browser build:
 * Vite installs it as `globalThis.Buffer` before any verifier module runs (see
 * web/src/buffer-global.ts). A Uint8Array subclass, so every byte API keeps working.
 */
type Encoding = 'hex' | 'base64' | 'base64url' | 'utf8' | 'utf-8' | 'latin1' | 'binary';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function encodeBase64(b: Uint8Array, url: boolean): string {
  let out = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  if (i < b.length) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]!;
    out += i + 1 < b.length ? B64[(n >> 6) & 63]! + (url ? '' : '=') : url ? '' : '==';
  }
  return url ? out.replace(/\+/g, '-').replace(/\//g, '_') : out;
}

/** Node-compatible lenient base64/base64url decoding: skips characters outside the alphabet, stops at '='. */
function decodeBase64(s: string): Uint8Array {
  const vals: number[] = [];
  for (const ch of s) {
    if (ch === '=') break;
    const c = ch === '-' ? '+' : ch === '_' ? '/' : ch;
    const v = B64.indexOf(c);
    if (v >= 0) vals.push(v);
  }
  const out = new Uint8Array(Math.floor((vals.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (const v of vals) {
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Node-compatible hex decoding: stops at the first pair that is not hex. */
function decodeHex(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i + 1 < s.length; i += 2) {
    const pair = s.slice(i, i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) break;
    out.push(parseInt(pair, 16));
  }
  return Uint8Array.from(out);
}

export class BrowserBuffer extends Uint8Array {
  // Node's signature, not Uint8Array.from's: (value, encoding | byteOffset).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  static override from(value: unknown, encoding?: unknown): any {
    if (typeof value === 'string') {
      const enc = (encoding ?? 'utf8') as Encoding;
      let bytes: Uint8Array;
      if (enc === 'hex') bytes = decodeHex(value);
      else if (enc === 'base64' || enc === 'base64url') bytes = decodeBase64(value);
      else if (enc === 'latin1' || enc === 'binary') bytes = Uint8Array.from(value, (c) => c.charCodeAt(0) & 0xff);
      else bytes = new TextEncoder().encode(value);
      return BrowserBuffer.wrap(bytes);
    }
    if (value instanceof ArrayBuffer) return new BrowserBuffer(value, typeof encoding === 'number' ? encoding : 0);
    const arr = value as ArrayLike<number>;
    if (arr.length === undefined) return BrowserBuffer.wrap(Uint8Array.from(value as Iterable<number>));
    const copy = new BrowserBuffer(arr.length);
    copy.set(arr);
    return copy;
  }

  private static wrap(b: Uint8Array): BrowserBuffer {
    return new BrowserBuffer(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength);
  }

  static alloc(n: number, fill = 0): BrowserBuffer {
    return new BrowserBuffer(n).fill(fill) as BrowserBuffer;
  }

  static allocUnsafe(n: number): BrowserBuffer {
    return new BrowserBuffer(n);
  }

  static isBuffer(v: unknown): v is BrowserBuffer {
    return v instanceof BrowserBuffer;
  }

  static byteLength(s: string, encoding?: Encoding): number {
    return BrowserBuffer.from(s, encoding).length;
  }

  static concat(parts: readonly Uint8Array[], total?: number): BrowserBuffer {
    const n = total ?? parts.reduce((a, p) => a + p.length, 0);
    const out = new BrowserBuffer(n);
    let off = 0;
    for (const p of parts) {
      if (off >= n) break;
      const take = p.subarray(0, n - off);
      out.set(take, off);
      off += take.length;
    }
    return out;
  }

  /** Lexicographic comparison: -1, 0 or 1. */
  static compare(a: Uint8Array, b: Uint8Array): number {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }

  equals(other: Uint8Array): boolean {
    return BrowserBuffer.compare(this, other) === 0;
  }

  override toString(encoding?: Encoding): string {
    const enc = encoding ?? 'utf8';
    if (enc === 'hex') return Array.from(this, (x) => x.toString(16).padStart(2, '0')).join('');
    if (enc === 'base64') return encodeBase64(this, false);
    if (enc === 'base64url') return encodeBase64(this, true);
    if (enc === 'latin1' || enc === 'binary') return Array.from(this, (x) => String.fromCharCode(x)).join('');
    return new TextDecoder().decode(this);
  }

  toJSON(): { type: 'Buffer'; data: number[] } {
    return { type: 'Buffer', data: Array.from(this) };
  }
}
