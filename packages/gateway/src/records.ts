/**
 * @module records
 * What the gateway keeps about its traffic, inside the TEE, for the SLA proofs.
 *
 * Per request: start and end (µs since the epoch), HTTP status (0 when no response was
 * produced), flags (client connection completed, rate limiter fired, answered by an
 * upstream) and the route group (an index into the configuration's groups). Per health
 * check: pool, backend index, outcome. NOTHING ELSE: no path, query, header, client
 * address, token subject or body enters a record, so nothing identifying can reach a
 * claim.
 *
 * Records are grouped by reporting period (by their start time). A period's records live
 * in memory up to `memoryRecords`; beyond that, batches are encrypted (AES-256-GCM under
 * a key generated in this process, never written or logged: the spool is unreadable
 * outside this TEE instance, and after a restart) and appended to a size-bounded spool
 * file. Records that fit neither are counted as dropped: a period with dropped records is
 * never proven (a proof over part of a period would claim more than was measured).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { VeriteeError } from '@veritee/core';

export const FLAG_CONNECTION_OK = 1;
export const FLAG_RATE_LIMITED = 2;
/** The response came from an upstream (the request was routed, forwarded and answered). */
export const FLAG_SERVED = 4;
/** Group index of a request no route matched (or refused before routing). */
export const NO_GROUP = 0xffff;

/** Bytes per request record in a spool segment: start f64, end f64, status u16, flags u8, group u16. */
const RECORD_BYTES = 21;

export interface RequestRecord {
  startUs: number;
  endUs: number;
  status: number;
  flags: number;
  group: number;
}

export interface CheckRecord {
  pool: number;
  backend: number;
  ok: boolean;
}

/** The records of one sealed period. */
export interface PeriodRecords {
  startMs: number;
  endMs: number;
  requests: RequestRecord[];
  checks: CheckRecord[];
  /** Records lost because memory and spool were full. */
  dropped: number;
}

interface Open {
  startMs: number;
  endMs: number;
  /** In-memory columns. */
  start: Float64Array;
  end: Float64Array;
  status: Uint16Array;
  flags: Uint8Array;
  group: Uint16Array;
  n: number;
  checks: CheckRecord[];
  dropped: number;
  spoolSegments: number;
}

export interface RecordStoreOptions {
  /** Maps a time (ms) to its period [startMs, endMs). */
  periodOf: (ms: number) => { startMs: number; endMs: number };
  memoryRecords: number;
  spoolDir?: string;
  spoolMaxBytes: number;
  /** Most health-check records per period (default 65,536). */
  maxChecks?: number;
}

/** Encrypted, size-bounded spool: one file per period of length-prefixed AES-256-GCM segments. */
export class Spool {
  private readonly key = randomBytes(32);
  private bytes = 0;
  /** Periods with a spool file written by this instance. */
  private readonly files = new Set<number>();
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  get size(): number {
    return this.bytes;
  }

  private file(periodStartMs: number): string {
    return join(this.dir, `${periodStartMs}.spool`);
  }

  private aad(periodStartMs: number, seq: number): Buffer {
    return Buffer.from(`veritee.gateway.spool/v1\n${periodStartMs}\n${seq}`);
  }

  /** Appends a segment; false when it would exceed the bound (nothing written). */
  append(periodStartMs: number, seq: number, plain: Buffer): boolean {
    const total = 4 + 12 + plain.length + 16;
    if (this.bytes + total > this.maxBytes) return false;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(this.aad(periodStartMs, seq));
    const ct = Buffer.concat([c.update(plain), c.final()]);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(ct.length);
    this.files.add(periodStartMs);
    const fd = openSync(this.file(periodStartMs), 'a', 0o600);
    try {
      writeSync(fd, Buffer.concat([head, iv, ct, c.getAuthTag()]));
    } finally {
      closeSync(fd);
    }
    this.bytes += total;
    return true;
  }

  /** Reads back and removes a period's segments, in order. */
  take(periodStartMs: number, segments: number): Buffer[] {
    if (segments === 0) return [];
    const path = this.file(periodStartMs);
    const buf = readFileSync(path);
    const out: Buffer[] = [];
    let off = 0;
    for (let seq = 0; seq < segments; seq++) {
      if (off + 4 > buf.length) throw new VeriteeError('GATEWAY_SPOOL_CORRUPT', `spool ${path} ends before segment ${seq}`);
      const len = buf.readUInt32BE(off);
      const iv = buf.subarray(off + 4, off + 16);
      const ct = buf.subarray(off + 16, off + 16 + len);
      const tag = buf.subarray(off + 16 + len, off + 32 + len);
      if (tag.length !== 16) throw new VeriteeError('GATEWAY_SPOOL_CORRUPT', `spool ${path}: segment ${seq} is truncated`);
      const d = createDecipheriv('aes-256-gcm', this.key, iv);
      d.setAAD(this.aad(periodStartMs, seq));
      d.setAuthTag(tag);
      try {
        out.push(Buffer.concat([d.update(ct), d.final()]));
      } catch {
        throw new VeriteeError('GATEWAY_SPOOL_CORRUPT', `spool ${path}: segment ${seq} does not decrypt (changed on disk, or another instance's spool)`);
      }
      off += 32 + len;
      this.bytes -= 32 + len;
    }
    rmSync(path, { force: true });
    this.files.delete(periodStartMs);
    return out;
  }

  /** Removes the spool files this instance wrote (shutdown); nothing else in the directory. */
  clear(): void {
    for (const start of this.files) rmSync(this.file(start), { force: true });
    this.files.clear();
    this.bytes = 0;
  }
}

export class RecordStore {
  private readonly open = new Map<number, Open>();
  private readonly spool: Spool | undefined;
  private readonly maxChecks: number;
  /** Records of periods already sealed (they arrived too late to be proven). */
  late = 0;
  /** Highest period start sealed so far. */
  private sealedThrough = -Infinity;

  constructor(private readonly opts: RecordStoreOptions) {
    this.spool = opts.spoolDir ? new Spool(opts.spoolDir, opts.spoolMaxBytes) : undefined;
    this.maxChecks = opts.maxChecks ?? 65_536;
  }

  get spoolBytes(): number {
    return this.spool?.size ?? 0;
  }

  private periodFor(ms: number): Open | undefined {
    const p = this.opts.periodOf(ms);
    if (p.startMs <= this.sealedThrough) return undefined;
    let o = this.open.get(p.startMs);
    if (!o) {
      const cap = this.opts.memoryRecords;
      o = {
        startMs: p.startMs,
        endMs: p.endMs,
        start: new Float64Array(cap),
        end: new Float64Array(cap),
        status: new Uint16Array(cap),
        flags: new Uint8Array(cap),
        group: new Uint16Array(cap),
        n: 0,
        checks: [],
        dropped: 0,
        spoolSegments: 0,
      };
      this.open.set(p.startMs, o);
    }
    return o;
  }

  /** Adds a request record (called when its response is done). */
  addRequest(r: RequestRecord): void {
    const o = this.periodFor(r.startUs / 1000);
    if (!o) {
      this.late++;
      return;
    }
    if (o.n === o.start.length) this.flush(o);
    if (o.n === o.start.length) {
      o.dropped++;
      return;
    }
    const i = o.n++;
    o.start[i] = r.startUs;
    o.end[i] = r.endUs;
    o.status[i] = r.status;
    o.flags[i] = r.flags;
    o.group[i] = r.group;
  }

  addCheck(atMs: number, c: CheckRecord): void {
    const o = this.periodFor(atMs);
    if (!o) return;
    if (o.checks.length >= this.maxChecks) {
      o.dropped++;
      return;
    }
    o.checks.push(c);
  }

  /** Moves the in-memory records of `o` to the spool (when there is one with room). */
  private flush(o: Open): void {
    if (!this.spool || o.n === 0) return;
    const buf = Buffer.alloc(o.n * RECORD_BYTES);
    for (let i = 0, off = 0; i < o.n; i++, off += RECORD_BYTES) {
      buf.writeDoubleLE(o.start[i]!, off);
      buf.writeDoubleLE(o.end[i]!, off + 8);
      buf.writeUInt16LE(o.status[i]!, off + 16);
      buf.writeUInt8(o.flags[i]!, off + 18);
      buf.writeUInt16LE(o.group[i]!, off + 19);
    }
    if (this.spool.append(o.startMs, o.spoolSegments, buf)) {
      o.spoolSegments++;
      o.n = 0;
    }
  }

  /** Periods that ended at or before `ms`, oldest first. */
  endedBy(ms: number): { startMs: number; endMs: number }[] {
    return [...this.open.values()]
      .filter((o) => o.endMs <= ms)
      .sort((a, b) => a.startMs - b.startMs)
      .map((o) => ({ startMs: o.startMs, endMs: o.endMs }));
  }

  /** Records in memory now (all open periods). */
  get inMemory(): number {
    let n = 0;
    for (const o of this.open.values()) n += o.n;
    return n;
  }

  /**
   * Seals a period and returns its records (spooled ones first, in arrival order);
   * records of it that arrive later are counted in `late`.
   */
  seal(startMs: number): PeriodRecords | undefined {
    const o = this.open.get(startMs);
    this.sealedThrough = Math.max(this.sealedThrough, startMs);
    if (!o) return undefined;
    this.open.delete(startMs);
    const requests: RequestRecord[] = [];
    for (const seg of this.spool ? this.spool.take(startMs, o.spoolSegments) : []) {
      for (let off = 0; off + RECORD_BYTES <= seg.length; off += RECORD_BYTES) {
        requests.push({ startUs: seg.readDoubleLE(off), endUs: seg.readDoubleLE(off + 8), status: seg.readUInt16LE(off + 16), flags: seg.readUInt8(off + 18), group: seg.readUInt16LE(off + 19) });
      }
    }
    for (let i = 0; i < o.n; i++) requests.push({ startUs: o.start[i]!, endUs: o.end[i]!, status: o.status[i]!, flags: o.flags[i]!, group: o.group[i]! });
    return { startMs: o.startMs, endMs: o.endMs, requests, checks: o.checks, dropped: o.dropped };
  }

  close(): void {
    this.spool?.clear();
    this.open.clear();
  }
}

/** Period boundaries (UTC) for a period setting. */
export function periodFunction(period: 'hourly' | 'daily' | 'weekly' | { seconds: number }): (ms: number) => { startMs: number; endMs: number } {
  const lenMs = typeof period === 'object' ? period.seconds * 1000 : period === 'hourly' ? 3_600_000 : period === 'daily' ? 86_400_000 : 7 * 86_400_000;
  // Weeks start on Monday 00:00 UTC (the epoch was a Thursday: shift by 4 days).
  const shift = period === 'weekly' ? 4 * 86_400_000 : 0;
  return (ms: number) => {
    const startMs = Math.floor((ms - shift) / lenMs) * lenMs + shift;
    return { startMs, endMs: startMs + lenMs };
  };
}
