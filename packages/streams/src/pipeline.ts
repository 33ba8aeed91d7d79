/**
 * @module pipeline
 * The processor: takes signed readings and sensors' end markers in arrival order,
 * checks each (schema, sensor, signature, digest opening, sequence number, window),
 * groups readings into windows (tumbling or sliding) and proves each closed window
 * with the streamagg claim, up to `workers` windows at a time. Results are emitted in
 * window order as a hash chain: each carries its sequence number in the run, the id of
 * the result before it (`prev`) and its own `id`, a SHA-256 over its statement (window,
 * threshold, readings' public part, end markers, commitment, outputs; not the proof
 * bytes, which are randomised, so a window proven again after a restart has the same id
 * and a sink drops it as a duplicate).
 *
 * End markers (a sensor's signed "last sequence number") ride on the next result; at
 * the end of input, markers no window carried go into an end record (format
 * veritee.streams.end.v1, in the chain too).
 *
 * A refused message is reported (onRefused, with its code) and changes nothing.
 * `snapshot()` / `restore` carry everything a restart needs (see state.ts).
 */
import { canonicalJson, isVeriteeError, sha256, toHex, utf8, VeriteeError, type ErrorCode } from '@veritee/core';
import { STREAMAGG_CLAIM, type StreamAggData, type StreamAggOutputs, type StreamAggParams } from '@veritee/zk';
import { checkCloseRecord, checkSignedReading, isCloseRecord, publicPart, type PublicReading, type SensorClose, type SignedReading } from './reading.js';
import { SequenceTracker } from './tracker.js';
import { WindowAssembler, type ClosedWindow, type WindowSpec } from './window.js';

export const RESULT_FORMAT = 'veritee.streams.window.v2';
export const END_FORMAT = 'veritee.streams.end.v1';
/** `prev` of a run's first result. */
export const CHAIN_GENESIS = '0'.repeat(64);

/** One proven window (a line of results.jsonl). */
export interface WindowResult {
  format: typeof RESULT_FORMAT;
  seq: number;
  prev: string;
  id: string;
  startUs: number;
  endUs: number;
  slideUs: number;
  threshold: number;
  readings: PublicReading[];
  closes: SensorClose[];
  bundle: unknown;
}

/** End markers that no window carried, at the end of a run. */
export interface EndRecord {
  format: typeof END_FORMAT;
  seq: number;
  prev: string;
  id: string;
  closes: SensorClose[];
}

export type ChainRecord = WindowResult | EndRecord;

type Bundle = { commitment?: unknown; claim?: { kind?: unknown; outputs?: StreamAggOutputs } };

/** The id of a record: SHA-256 of the canonical JSON of its statement. */
export function recordId(r: Omit<WindowResult, 'id'> | Omit<EndRecord, 'id'>): string {
  if (r.format === END_FORMAT) return toHex(sha256(utf8(canonicalJson({ format: r.format, seq: r.seq, prev: r.prev, closes: r.closes }))));
  const w = r as Omit<WindowResult, 'id'>;
  const b = w.bundle as Bundle;
  const statement = { format: w.format, seq: w.seq, prev: w.prev, startUs: w.startUs, endUs: w.endUs, slideUs: w.slideUs, threshold: w.threshold, readings: w.readings, closes: w.closes, commitment: b?.commitment ?? null, outputs: b?.claim?.outputs ?? null };
  return toHex(sha256(utf8(canonicalJson(statement))));
}

/** Proves one window; `prove(pool, 'streamagg', …)` of @veritee/zk, returning the bundle. */
export type WindowProver = (params: StreamAggParams, data: StreamAggData) => Promise<unknown>;

export interface Refusal {
  code: ErrorCode;
  message: string;
  sensor?: string;
  seq?: number;
}

/** What a restart needs; JSON-safe (see state.ts for the file). */
export interface PipelineSnapshot {
  sequences: Record<string, number>;
  /** Time of each sensor's last accepted reading. */
  lastTs: Record<string, number>;
  closed: Record<string, number>;
  /** Latest reading time seen (null before any). */
  watermarkUs: number | null;
  /** Readings of windows still open, in arrival order. */
  open: SignedReading[];
  /** Windows closed but not yet emitted (being proven). */
  pending: { startUs: number; endUs: number; readings: SignedReading[] }[];
  pendingCloses: SensorClose[];
  resultSeq: number;
  prev: string;
  accepted: number;
}

export interface PipelineOptions {
  /** Sensor id → Ed25519 public key (sensorKeys()). */
  sensors: ReadonlyMap<string, Uint8Array>;
  window: WindowSpec;
  threshold: number;
  prove: WindowProver;
  /** Called once per record, in chain order; awaited (a durable sink resolves once the record is stored). */
  onResult: (r: WindowResult) => void | Promise<void>;
  onEnd?: (r: EndRecord) => void | Promise<void>;
  onRefused?: (r: Refusal) => void;
  /** Windows proven at the same time (default 1). */
  workers?: number;
  /** Last accepted sequence number per sensor (a run that continues another). */
  resume?: Record<string, number>;
  /** A restart: the state saved by a run of the same pipeline (overrides resume). */
  restore?: PipelineSnapshot;
}

interface PendingWindow {
  w: ClosedWindow<SignedReading>;
  bundle: Promise<unknown>;
}

export class StreamPipeline {
  readonly tracker: SequenceTracker;
  private readonly windows: WindowAssembler<SignedReading>;
  private readonly closed = new Map<string, number>();
  private readonly lastTs = new Map<string, number>();
  private pendingCloses: SensorClose[] = [];
  private readonly pending: PendingWindow[] = [];
  private emitting: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly workers: number;
  private readonly slideUs: number;
  readonly refused: Refusal[] = [];
  accepted = 0;
  proven = 0;
  private resultSeq = 0;
  private prev = CHAIN_GENESIS;

  constructor(private readonly o: PipelineOptions) {
    this.workers = o.workers ?? 1;
    if (!Number.isInteger(this.workers) || this.workers < 1 || this.workers > 64) throw new VeriteeError('STREAM_PIPELINE_INVALID', 'workers must be 1 to 64');
    this.windows = new WindowAssembler(o.window);
    this.slideUs = o.window.slideUs ?? o.window.sizeUs;
    const s = o.restore;
    this.tracker = new SequenceTracker(s ? s.sequences : o.resume);
    if (s) {
      for (const [k, v] of Object.entries(s.closed)) this.closed.set(k, v);
      for (const [k, v] of Object.entries(s.lastTs)) this.lastTs.set(k, v);
      this.windows.restore(s.watermarkUs ?? -Infinity, s.open.map((r) => ({ ts: r.ts, item: r })));
      this.pendingCloses = [...s.pendingCloses];
      this.resultSeq = s.resultSeq;
      this.prev = s.prev;
      this.accepted = s.accepted;
      for (const p of s.pending) this.schedule({ startUs: p.startUs, endUs: p.endUs, items: p.readings });
    }
  }

  /**
   * Takes one message. A bad one is refused (returned, and reported) without touching
   * any state; a good reading may close windows, which are scheduled for proving. With
   * one worker this resolves once they are emitted; with more, once fewer than
   * `workers` windows wait (a proving or sink failure rejects).
   */
  async ingest(raw: unknown): Promise<Refusal | undefined> {
    if (this.failure) throw this.failure;
    if (isCloseRecord(raw)) return this.ingestClose(raw);
    let r: SignedReading;
    try {
      r = checkSignedReading(this.o.sensors, raw);
      if (this.closed.has(r.sensor)) throw new VeriteeError('STREAM_CLOSE_INVALID', `reading ${r.seq} of sensor ${r.sensor} arrived after the sensor's end marker`);
      this.tracker.check(r.sensor, r.seq);
      // in time order per sensor: then a sensor's readings in any window are a run of
      // consecutive sequence numbers, which the consumer checks (sliding windows)
      this.windows.checkOnTime(r.ts, `reading ${r.seq} of sensor ${r.sensor}`);
      const before = this.lastTs.get(r.sensor);
      if (before !== undefined && r.ts < before) throw new VeriteeError('STREAM_TIME_BACKWARDS', `reading ${r.seq} of sensor ${r.sensor} at ${r.ts} us is timed before the sensor's previous reading (${before} us)`);
    } catch (e) {
      return this.refuse(e, raw);
    }
    this.tracker.accept(r.sensor, r.seq);
    this.lastTs.set(r.sensor, r.ts);
    this.accepted++;
    for (const w of this.windows.add(r.ts, r)) this.schedule(w);
    await this.backpressure(this.workers - 1);
    return undefined;
  }

  private ingestClose(raw: unknown): Refusal | undefined {
    try {
      const c = checkCloseRecord(this.o.sensors, raw);
      if (this.closed.has(c.sensor)) throw new VeriteeError('STREAM_CLOSE_INVALID', `sensor ${c.sensor} sent a second end marker`);
      const last = this.tracker.expected(c.sensor) - 1;
      if (c.lastSeq < last) throw new VeriteeError('STREAM_CLOSE_INVALID', `sensor ${c.sensor}'s end marker says its last reading is ${c.lastSeq}, but ${last} were accepted`);
      // lastSeq > last: readings were lost before they reached us; the marker still goes
      // on, so the consumer sees the missing tail.
      this.closed.set(c.sensor, c.lastSeq);
      this.pendingCloses.push(c);
      return undefined;
    } catch (e) {
      return this.refuse(e, raw);
    }
  }

  private refuse(e: unknown, raw: unknown): Refusal {
    if (!isVeriteeError(e)) throw e;
    const f: Refusal = { code: e.code, message: e.message };
    const m = raw as { sensor?: unknown; seq?: unknown };
    if (typeof m?.sensor === 'string') f.sensor = m.sensor.slice(0, 64);
    if (typeof m?.seq === 'number') f.seq = m.seq;
    this.refused.push(f);
    this.o.onRefused?.(f);
    return f;
  }

  /** Closes and proves every open window, emits everything, then an end record for markers no window carried. */
  async flush(): Promise<void> {
    for (const w of this.windows.flush()) this.schedule(w);
    await this.backpressure(0);
    if (this.pendingCloses.length > 0) {
      const body: Omit<EndRecord, 'id'> = { format: END_FORMAT, seq: this.resultSeq + 1, prev: this.prev, closes: this.pendingCloses };
      const rec: EndRecord = { ...body, id: recordId(body) };
      await this.o.onEnd?.(rec);
      this.pendingCloses = [];
      this.resultSeq = rec.seq;
      this.prev = rec.id;
    }
  }

  /** Waits until at most `max` windows are waiting to be emitted. */
  private async backpressure(max: number): Promise<void> {
    while (this.pending.length > max) {
      await this.emitting;
      if (this.failure) throw this.failure;
    }
    if (this.failure) throw this.failure;
  }

  private schedule(w: ClosedWindow<SignedReading>): void {
    const params: StreamAggParams = { periodStartUs: w.startUs, periodEndUs: w.endUs, threshold: this.o.threshold };
    const data: StreamAggData = { readings: w.items.map((r) => ({ ts: r.ts, value: r.value, salt: r.salt })) };
    const p: PendingWindow = { w, bundle: this.o.prove(params, data) };
    p.bundle.catch(() => undefined); // reported in order by emit
    this.pending.push(p);
    this.emitting = this.emitting.then(() => this.emit(p));
  }

  private async emit(p: PendingWindow): Promise<void> {
    if (this.failure) return;
    try {
      const bundle = await p.bundle;
      const kind = (bundle as Bundle)?.claim?.kind;
      if (kind !== STREAMAGG_CLAIM) throw new VeriteeError('INTERNAL', `the window prover returned a ${String(kind)} bundle`);
      const body: Omit<WindowResult, 'id'> = { format: RESULT_FORMAT, seq: this.resultSeq + 1, prev: this.prev, startUs: p.w.startUs, endUs: p.w.endUs, slideUs: this.slideUs, threshold: this.o.threshold, readings: p.w.items.map(publicPart), closes: this.pendingCloses, bundle };
      const rec: WindowResult = { ...body, id: recordId(body) };
      await this.o.onResult(rec);
      // committed: the record is out
      this.proven++;
      this.pendingCloses = [];
      this.resultSeq = rec.seq;
      this.prev = rec.id;
      this.pending.splice(this.pending.indexOf(p), 1);
    } catch (e) {
      this.failure ??= e;
    }
  }

  /** Everything a restart needs, as of now (call between messages). */
  snapshot(): PipelineSnapshot {
    const wm = this.windows.watermarkUs;
    return {
      sequences: this.tracker.snapshot(),
      lastTs: Object.fromEntries([...this.lastTs.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
      closed: Object.fromEntries(this.closed),
      watermarkUs: Number.isFinite(wm) ? wm : null,
      open: this.windows.openItems(),
      pending: this.pending.map((p) => ({ startUs: p.w.startUs, endUs: p.w.endUs, readings: p.w.items })),
      pendingCloses: [...this.pendingCloses],
      resultSeq: this.resultSeq,
      prev: this.prev,
      accepted: this.accepted,
    };
  }

  /** The chain head: the last emitted record's sequence number and id. */
  get head(): { seq: number; id: string } {
    return { seq: this.resultSeq, id: this.prev };
  }
}
