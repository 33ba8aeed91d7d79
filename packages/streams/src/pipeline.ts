/**
 * @module pipeline
 * The processor: takes signed readings in arrival order, checks each (schema,
 * sensor, signature, digest opening, sequence number, window), groups them into
 * tumbling windows and proves each closed window with the streamagg claim. Each
 * window yields a {@link WindowResult}: the window, the public part of its
 * readings (sensor, seq, digest, signature) and the proof bundle; the readings'
 * values never leave the processor.
 *
 * A refused reading is reported (onRefused, with its code) and changes nothing.
 */
import { isVeriteeError, VeriteeError, type ErrorCode } from '@veritee/core';
import { STREAMAGG_CLAIM, type StreamAggData, type StreamAggParams } from '@veritee/zk';
import { checkSignedReading, publicPart, type PublicReading, type SignedReading } from './reading.js';
import { SequenceTracker } from './tracker.js';
import { WindowAssembler, type ClosedWindow, type TumblingWindow } from './window.js';

export const RESULT_FORMAT = 'veritee.streams.window.v1';

/** One proven window (a line of results.jsonl). */
export interface WindowResult {
  format: typeof RESULT_FORMAT;
  startUs: number;
  endUs: number;
  threshold: number;
  readings: PublicReading[];
  bundle: unknown;
}

/** Proves one window; `prove(pool, 'streamagg', …)` of @veritee/zk, returning the bundle. */
export type WindowProver = (params: StreamAggParams, data: StreamAggData) => Promise<unknown>;

export interface Refusal {
  code: ErrorCode;
  message: string;
  sensor?: string;
  seq?: number;
}

export interface PipelineOptions {
  /** Sensor id → Ed25519 public key (sensorKeys()). */
  sensors: ReadonlyMap<string, Uint8Array>;
  window: TumblingWindow;
  threshold: number;
  prove: WindowProver;
  onResult: (r: WindowResult) => void | Promise<void>;
  onRefused?: (r: Refusal) => void;
  /** Last accepted sequence number per sensor (restart). */
  resume?: Record<string, number>;
}

export class StreamPipeline {
  readonly tracker: SequenceTracker;
  private readonly windows: WindowAssembler<SignedReading>;
  readonly refused: Refusal[] = [];
  accepted = 0;
  proven = 0;

  constructor(private readonly o: PipelineOptions) {
    this.tracker = new SequenceTracker(o.resume);
    this.windows = new WindowAssembler(o.window);
  }

  /**
   * Takes one message. A bad reading is refused (returned, and reported) without
   * touching any state; a good one may close windows, which are proven before
   * this resolves (a proving failure rejects).
   */
  async ingest(raw: unknown): Promise<Refusal | undefined> {
    let r: SignedReading;
    try {
      r = checkSignedReading(this.o.sensors, raw);
      this.tracker.check(r.sensor, r.seq);
      this.windows.checkOnTime(r.ts, `reading ${r.seq} of sensor ${r.sensor}`);
    } catch (e) {
      if (!isVeriteeError(e)) throw e;
      const f: Refusal = { code: e.code, message: e.message };
      const m = raw as { sensor?: unknown; seq?: unknown };
      if (typeof m?.sensor === 'string') f.sensor = m.sensor.slice(0, 64);
      if (typeof m?.seq === 'number') f.seq = m.seq;
      this.refused.push(f);
      this.o.onRefused?.(f);
      return f;
    }
    this.tracker.accept(r.sensor, r.seq);
    this.accepted++;
    for (const w of this.windows.add(r.ts, r)) await this.proveWindow(w);
    return undefined;
  }

  /** Closes and proves every open window (end of input). */
  async flush(): Promise<void> {
    for (const w of this.windows.flush()) await this.proveWindow(w);
  }

  private async proveWindow(w: ClosedWindow<SignedReading>): Promise<void> {
    const params: StreamAggParams = { periodStartUs: w.startUs, periodEndUs: w.endUs, threshold: this.o.threshold };
    const data: StreamAggData = { readings: w.items.map((r) => ({ ts: r.ts, value: r.value, salt: r.salt })) };
    const bundle = await this.o.prove(params, data);
    const kind = (bundle as { claim?: { kind?: unknown } })?.claim?.kind;
    if (kind !== STREAMAGG_CLAIM) throw new VeriteeError('INTERNAL', `the window prover returned a ${String(kind)} bundle`);
    this.proven++;
    await this.o.onResult({ format: RESULT_FORMAT, startUs: w.startUs, endUs: w.endUs, threshold: this.o.threshold, readings: w.items.map(publicPart), bundle });
  }
}
