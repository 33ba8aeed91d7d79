/**
 * @module bhttp
 * Binary HTTP messages (RFC 9292), hand-written: requests and responses, known-length
 * and indeterminate-length framing, informational (1xx) responses, trailers, padding
 * and truncation.
 *
 * ```
 * Known-Length Request  { Framing (i) = 0, Request Control Data, KL Field Section, KL Content, KL Field Section, Padding }
 * Known-Length Response { Framing (i) = 1, KL Informational Response ..., Status (i), KL Field Section, KL Content, KL Field Section, Padding }
 * Indeterminate-Length  { Framing (i) = 2 | 3, ..., IL Field Section, IL Content, IL Field Section, Padding }
 * Request Control Data  { Method, Scheme, Authority, Path: each Length (i) + bytes }
 * KL Field Section      { Length (i), Field Line ... }        IL Field Section { Field Line ..., 0 }
 * KL Content            { Length (i), bytes }                 IL Content { (Length (i) = 1.., bytes) ..., 0 }
 * Field Line            { Name Length (i) = 1.., Name, Value Length (i), Value }
 * ```
 *
 * Integers are QUIC variable-length integers (RFC 9000 §16); the decoder accepts
 * non-minimal encodings, the encoder writes minimal ones. Field names, values and
 * control data are carried as latin1 strings so every byte round-trips.
 *
 * Truncation (RFC 9292 §3.8): a message may end where a header section, content or
 * trailer section would start; the missing parts are empty. Ending anywhere else is
 * invalid. Padding: any number of zero bytes after the message; a non-zero byte is
 * invalid.
 *
 * THREAT MODEL: the input is attacker-controlled (it is decrypted client data at the
 * gateway and decrypted target data at the client). Every length is checked against the
 * remaining input before use, the number of field lines is capped, and every invalid
 * message raises OHTTP_BHTTP_INVALID; nothing is partially returned.
 */
import { VeriteeError } from '@veritee/core';

export const BHTTP_MEDIA_TYPE = 'message/bhttp';

export type FieldLine = readonly [name: string, value: string];

export interface BhttpRequest {
  method: string;
  scheme: string;
  authority: string;
  path: string;
  headers: FieldLine[];
  content: Uint8Array;
  trailers: FieldLine[];
}

export interface BhttpInformational {
  /** 100..199 */
  status: number;
  headers: FieldLine[];
}

export interface BhttpResponse {
  /** Interim responses, in order (e.g. 102, 103). */
  informational: BhttpInformational[];
  /** 200..599 */
  status: number;
  headers: FieldLine[];
  content: Uint8Array;
  trailers: FieldLine[];
}

export type BhttpMode = 'known-length' | 'indeterminate-length';

export interface EncodeOptions {
  /** Framing (default known-length). */
  mode?: BhttpMode;
  /** Zero bytes appended (default 0). */
  padding?: number;
  /** Omit empty trailers, and empty content when trailers are empty too (RFC 9292 §3.8). */
  truncate?: boolean;
  /** Indeterminate-length: split content into chunks of at most this many bytes (default: one chunk). */
  chunkSize?: number;
}

export interface DecodeOptions {
  /** Most field lines in the whole message (headers, trailers, informational), default 1024. */
  maxFieldLines?: number;
  /** Check that padding bytes are zero (default true; RFC 9292 lets a processor skip it). */
  checkPadding?: boolean;
}

export interface DecodeInfo {
  mode: BhttpMode;
  /** Bytes of zero padding after the message. */
  padding: number;
  /** True when the message ended before its trailer section (or earlier; RFC 9292 §3.8). */
  truncated: boolean;
}

export type DecodedRequest = BhttpRequest & DecodeInfo;
export type DecodedResponse = BhttpResponse & DecodeInfo;

const invalid = (msg: string) => new VeriteeError('OHTTP_BHTTP_INVALID', `binary HTTP: ${msg}`);

// ---- variable-length integers (RFC 9000 §16) ----------------------------------------------------

/** Largest value a QUIC varint holds. */
export const VARINT_MAX = 2 ** 62 - 1;

export function varintLength(v: number): 1 | 2 | 4 | 8 {
  if (v < 0x40) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x40000000) return 4;
  return 8;
}

function writeVarint(out: Uint8Array, off: number, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) throw invalid(`cannot encode ${v} as a variable-length integer`);
  switch (varintLength(v)) {
    case 1:
      out[off] = v;
      return off + 1;
    case 2:
      out[off] = 0x40 | (v >> 8);
      out[off + 1] = v & 0xff;
      return off + 2;
    case 4:
      out[off] = 0x80 | (v >>> 24);
      out[off + 1] = (v >>> 16) & 0xff;
      out[off + 2] = (v >>> 8) & 0xff;
      out[off + 3] = v & 0xff;
      return off + 4;
    default: {
      const hi = Math.floor(v / 2 ** 32);
      const lo = v >>> 0;
      out[off] = 0xc0 | (hi >>> 24);
      out[off + 1] = (hi >>> 16) & 0xff;
      out[off + 2] = (hi >>> 8) & 0xff;
      out[off + 3] = hi & 0xff;
      out[off + 4] = lo >>> 24;
      out[off + 5] = (lo >>> 16) & 0xff;
      out[off + 6] = (lo >>> 8) & 0xff;
      out[off + 7] = lo & 0xff;
      return off + 8;
    }
  }
}

// ---- validation (RFC 9110 §5.1, RFC 9113 §8.2.1, §8.3.1) --------------------------------------------

const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Visible ASCII without space (request target components). */
function isVisible(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function isScheme(s: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*$/.test(s);
}

/** H2 §8.2.1: no NUL, CR or LF; no leading or trailing SP / HTAB. */
function isFieldValue(s: string): boolean {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d || c > 0xff) return false;
  }
  if (n > 0) {
    const a = s.charCodeAt(0);
    const z = s.charCodeAt(n - 1);
    if (a === 0x20 || a === 0x09 || z === 0x20 || z === 0x09) return false;
  }
  return true;
}

const FORBIDDEN_PSEUDO = new Set([':method', ':scheme', ':authority', ':path', ':status']);

function checkFields(fields: readonly FieldLine[], where: 'header' | 'trailer'): void {
  let regularSeen = false;
  for (const [name, value] of fields) {
    if (name.length === 0) throw invalid(`empty field name in the ${where} section`);
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (FORBIDDEN_PSEUDO.has(name.toLowerCase())) throw invalid(`pseudo-field ${name} is not allowed in a field section`);
      if (where === 'trailer') throw invalid(`pseudo-field ${name} in the trailer section`);
      if (regularSeen) throw invalid(`pseudo-field ${name} after a regular field`);
      if (!isToken(name.slice(1))) throw invalid(`invalid pseudo-field name ${JSON.stringify(name.slice(0, 40))}`);
    } else {
      regularSeen = true;
      if (!isToken(name)) throw invalid(`invalid field name ${JSON.stringify(name.slice(0, 40))}`);
    }
    if (!isFieldValue(value)) throw invalid(`invalid value for field ${name} (NUL, CR, LF, or leading/trailing whitespace)`);
  }
}

function checkRequestControl(r: Pick<BhttpRequest, 'method' | 'scheme' | 'authority' | 'path'>): void {
  if (!isToken(r.method)) throw invalid(`invalid method ${JSON.stringify(r.method.slice(0, 40))}`);
  const connect = r.method === 'CONNECT';
  if (!(connect && r.scheme === '') && !isScheme(r.scheme)) throw invalid(`invalid scheme ${JSON.stringify(r.scheme.slice(0, 40))}`);
  if (!isVisible(r.authority)) throw invalid('authority holds a byte outside visible ASCII');
  if (!isVisible(r.path)) throw invalid('path holds a byte outside visible ASCII');
  if (!connect && r.path.length === 0) throw invalid('path is empty');
}

function checkStatus(status: number, informational: boolean): void {
  const [lo, hi] = informational ? [100, 199] : [200, 599];
  if (!Number.isInteger(status) || status < lo || status > hi) {
    throw invalid(`${informational ? 'informational' : 'final'} status ${status} is outside ${lo}..${hi}`);
  }
}

// ---- encoding ------------------------------------------------------------------------------------------

function latin1(s: string, what: string): Uint8Array {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) throw invalid(`${what} holds a character above U+00FF`);
  return Buffer.from(s, 'latin1');
}

/** Collects parts, then concatenates once. */
class Writer {
  private parts: Uint8Array[] = [];
  private scratch = new Uint8Array(8);
  size = 0;
  varint(v: number): void {
    const n = writeVarint(this.scratch, 0, v);
    this.push(this.scratch.slice(0, n));
  }
  push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }
  bytesWithLength(b: Uint8Array): void {
    this.varint(b.length);
    if (b.length > 0) this.push(b);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

function fieldLines(fields: readonly FieldLine[]): Writer {
  const w = new Writer();
  for (const [name, value] of fields) {
    w.bytesWithLength(latin1(name, `field name ${name.slice(0, 40)}`));
    w.bytesWithLength(latin1(value, `value of field ${name.slice(0, 40)}`));
  }
  return w;
}

function writeFieldSection(w: Writer, fields: readonly FieldLine[], mode: BhttpMode): void {
  const lines = fieldLines(fields).finish();
  if (mode === 'known-length') {
    w.bytesWithLength(lines);
  } else {
    if (lines.length > 0) w.push(lines);
    w.varint(0);
  }
}

function writeContent(w: Writer, content: Uint8Array, mode: BhttpMode, chunkSize: number | undefined): void {
  if (mode === 'known-length') {
    w.bytesWithLength(content);
    return;
  }
  const step = chunkSize !== undefined && chunkSize > 0 ? chunkSize : Math.max(content.length, 1);
  for (let o = 0; o < content.length; o += step) w.bytesWithLength(content.subarray(o, Math.min(content.length, o + step)));
  w.varint(0);
}

function writeTail(w: Writer, m: { headers: readonly FieldLine[]; content: Uint8Array; trailers: readonly FieldLine[] }, o: EncodeOptions): void {
  const mode = o.mode ?? 'known-length';
  writeFieldSection(w, m.headers, mode);
  const omitTrailers = o.truncate === true && m.trailers.length === 0;
  const omitContent = omitTrailers && m.content.length === 0;
  if (!omitContent) writeContent(w, m.content, mode, o.chunkSize);
  if (!omitTrailers) writeFieldSection(w, m.trailers, mode);
  const pad = o.padding ?? 0;
  if (!Number.isInteger(pad) || pad < 0) throw invalid(`padding must be a non-negative integer, got ${pad}`);
  if (pad > 0) w.push(new Uint8Array(pad));
}

/** Encodes a request (validated first). */
export function encodeRequest(r: BhttpRequest, o: EncodeOptions = {}): Uint8Array {
  checkRequestControl(r);
  checkFields(r.headers, 'header');
  checkFields(r.trailers, 'trailer');
  const w = new Writer();
  w.varint(o.mode === 'indeterminate-length' ? 2 : 0);
  w.bytesWithLength(latin1(r.method, 'method'));
  w.bytesWithLength(latin1(r.scheme, 'scheme'));
  w.bytesWithLength(latin1(r.authority, 'authority'));
  w.bytesWithLength(latin1(r.path, 'path'));
  writeTail(w, r, o);
  return w.finish();
}

/** Encodes a response, informational responses first (validated first). */
export function encodeResponse(r: BhttpResponse, o: EncodeOptions = {}): Uint8Array {
  for (const i of r.informational) {
    checkStatus(i.status, true);
    checkFields(i.headers, 'header');
  }
  checkStatus(r.status, false);
  checkFields(r.headers, 'header');
  checkFields(r.trailers, 'trailer');
  const mode = o.mode ?? 'known-length';
  const w = new Writer();
  w.varint(mode === 'indeterminate-length' ? 3 : 1);
  for (const i of r.informational) {
    w.varint(i.status);
    writeFieldSection(w, i.headers, mode);
  }
  w.varint(r.status);
  writeTail(w, r, o);
  return w.finish();
}

// ---- decoding -----------------------------------------------------------------------------------------

class Reader {
  pos = 0;
  fieldLines = 0;
  constructor(
    readonly b: Uint8Array,
    readonly maxFieldLines: number,
  ) {}

  get atEnd(): boolean {
    return this.pos >= this.b.length;
  }

  varint(what: string, end = this.b.length): number {
    if (this.pos >= end) throw invalid(`truncated: ${what} missing at byte ${this.pos}`);
    const first = this.b[this.pos]!;
    const len = 1 << (first >> 6);
    if (this.pos + len > end) throw invalid(`truncated: ${what} needs ${len} bytes at byte ${this.pos}, ${end - this.pos} left`);
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + this.b[this.pos + i]!;
    this.pos += len;
    return v;
  }

  bytes(n: number, what: string, end = this.b.length): Uint8Array {
    if (n > end - this.pos) throw invalid(`truncated: ${what} of ${n} bytes at byte ${this.pos}, ${end - this.pos} left`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(what: string, end = this.b.length): string {
    const n = this.varint(`${what} length`, end);
    return Buffer.from(this.bytes(n, what, end)).toString('latin1');
  }

  fieldLine(where: string, end: number, nameLength?: number): FieldLine {
    if (++this.fieldLines > this.maxFieldLines) throw invalid(`more than ${this.maxFieldLines} field lines`);
    const nlen = nameLength ?? this.varint(`${where} field name length`, end);
    if (nlen === 0) throw invalid(`zero-length field name in the ${where} section at byte ${this.pos}`);
    const name = Buffer.from(this.bytes(nlen, `${where} field name`, end)).toString('latin1');
    const value = this.string(`${where} field ${name.slice(0, 40)} value`, end);
    return [name, value];
  }

  /** A field section; returns undefined when the input ends where the section would start (truncation). */
  fieldSection(mode: BhttpMode, where: 'header' | 'trailer' | 'informational header'): FieldLine[] | undefined {
    if (this.atEnd) return undefined;
    const out: FieldLine[] = [];
    if (mode === 'known-length') {
      const len = this.varint(`${where} section length`);
      if (len > this.b.length - this.pos) throw invalid(`truncated: ${where} section of ${len} bytes at byte ${this.pos}, ${this.b.length - this.pos} left`);
      const end = this.pos + len;
      while (this.pos < end) out.push(this.fieldLine(where, end));
      return out;
    }
    for (;;) {
      const nlen = this.varint(`${where} field name length or section terminator`);
      if (nlen === 0) return out;
      out.push(this.fieldLine(where, this.b.length, nlen));
    }
  }

  /** Content; undefined when the input ends where it would start (truncation). */
  content(mode: BhttpMode): Uint8Array | undefined {
    if (this.atEnd) return undefined;
    if (mode === 'known-length') {
      const len = this.varint('content length');
      return this.bytes(len, 'content').slice();
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const len = this.varint('content chunk length or terminator');
      if (len === 0) break;
      const c = this.bytes(len, 'content chunk');
      chunks.push(c);
      total += c.length;
    }
    if (chunks.length === 1) return chunks[0]!.slice();
    const out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  padding(check: boolean): number {
    const n = this.b.length - this.pos;
    if (check) {
      for (let i = this.pos; i < this.b.length; i++) {
        if (this.b[i] !== 0) throw invalid(`non-zero padding byte 0x${this.b[i]!.toString(16).padStart(2, '0')} at byte ${i}`);
      }
    }
    this.pos = this.b.length;
    return n;
  }
}

function framing(r: Reader): number {
  const f = r.varint('framing indicator');
  if (f > 3) throw invalid(`framing indicator ${f} is not 0..3`);
  return f;
}

function tail(r: Reader, mode: BhttpMode, opts: DecodeOptions) {
  const headers = r.fieldSection(mode, 'header');
  const content = headers === undefined ? undefined : r.content(mode);
  const trailers = content === undefined ? undefined : r.fieldSection(mode, 'trailer');
  const truncated = trailers === undefined;
  const padding = r.padding(opts.checkPadding !== false);
  return { headers: headers ?? [], content: content ?? new Uint8Array(0), trailers: trailers ?? [], truncated, padding };
}

function decodeRequestBody(r: Reader, f: number, opts: DecodeOptions): DecodedRequest {
  const mode: BhttpMode = f === 0 ? 'known-length' : 'indeterminate-length';
  const method = r.string('method');
  const scheme = r.string('scheme');
  const authority = r.string('authority');
  const path = r.string('path');
  const t = tail(r, mode, opts);
  const req: DecodedRequest = { method, scheme, authority, path, headers: t.headers, content: t.content, trailers: t.trailers, mode, padding: t.padding, truncated: t.truncated };
  checkRequestControl(req);
  checkFields(req.headers, 'header');
  checkFields(req.trailers, 'trailer');
  return req;
}

function decodeResponseBody(r: Reader, f: number, opts: DecodeOptions): DecodedResponse {
  const mode: BhttpMode = f === 1 ? 'known-length' : 'indeterminate-length';
  const informational: BhttpInformational[] = [];
  for (;;) {
    const status = r.varint('status code');
    if (status >= 100 && status <= 199) {
      const headers = r.fieldSection(mode, 'informational header');
      if (headers === undefined) throw invalid(`truncated: informational response ${status} has no header section and no final response follows`);
      checkFields(headers, 'header');
      informational.push({ status, headers });
      continue;
    }
    checkStatus(status, false);
    const t = tail(r, mode, opts);
    checkFields(t.headers, 'header');
    checkFields(t.trailers, 'trailer');
    return { informational, status, headers: t.headers, content: t.content, trailers: t.trailers, mode, padding: t.padding, truncated: t.truncated };
  }
}

function reader(bytes: Uint8Array, opts: DecodeOptions): Reader {
  return new Reader(bytes, opts.maxFieldLines ?? 1024);
}

/** Decodes a request (framing 0 or 2). Throws OHTTP_BHTTP_INVALID. */
export function decodeRequest(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedRequest {
  const r = reader(bytes, opts);
  const f = framing(r);
  if (f !== 0 && f !== 2) throw invalid(`framing indicator ${f} is a response, a request was expected`);
  return decodeRequestBody(r, f, opts);
}

/** Decodes a response (framing 1 or 3). Throws OHTTP_BHTTP_INVALID. */
export function decodeResponse(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedResponse {
  const r = reader(bytes, opts);
  const f = framing(r);
  if (f !== 1 && f !== 3) throw invalid(`framing indicator ${f} is a request, a response was expected`);
  return decodeResponseBody(r, f, opts);
}

/** Decodes either kind, telling which it was. */
export function decodeMessage(bytes: Uint8Array, opts: DecodeOptions = {}): ({ kind: 'request' } & DecodedRequest) | ({ kind: 'response' } & DecodedResponse) {
  const r = reader(bytes, opts);
  const f = framing(r);
  return f === 0 || f === 2 ? { kind: 'request', ...decodeRequestBody(r, f, opts) } : { kind: 'response', ...decodeResponseBody(r, f, opts) };
}

/** The value of the first field named `name` (case-insensitive), or undefined. */
export function fieldValue(fields: readonly FieldLine[], name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of fields) if (k.toLowerCase() === n) return v;
  return undefined;
}
