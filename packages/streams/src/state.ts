/**
 * @module state
 * The processor's state on disk, for a restart: the pipeline's snapshot (sequence
 * numbers, end markers seen, watermark, readings of open windows, windows being
 * proven, chain head) plus the input position it covers, the pipeline's fingerprint
 * (sensors, window, threshold: a state file of another pipeline is refused) and a
 * SHA-256 of the content (a torn or edited file is refused, STREAM_STATE_INVALID).
 *
 * Written as a temporary file in the same directory, fsynced, renamed over the old
 * one and the directory fsynced: a crash leaves the old state or the new one, never
 * half of either. The file holds readings' values: mode 0600, the processor's own.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson, parseJsonStrict, sha256, toHex, utf8, VeriteeError } from '@veritee/core';
import { z } from 'zod';
import { SensorCloseSchema, SignedReadingSchema } from './reading.js';
import type { PipelineSnapshot } from './pipeline.js';

export const STATE_FORMAT = 'veritee.streams.state.v1';
/** A state file is at most this large (open windows of up to 1024 readings each). */
export const MAX_STATE_BYTES = 256 * 1024 * 1024;

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const SnapshotSchema = z
  .object({
    sequences: z.record(z.string(), u),
    lastTs: z.record(z.string(), u),
    closed: z.record(z.string(), u),
    watermarkUs: u.nullable(),
    open: z.array(SignedReadingSchema),
    pending: z.array(z.object({ startUs: u, endUs: u, readings: z.array(SignedReadingSchema) }).strict()),
    pendingCloses: z.array(SensorCloseSchema),
    resultSeq: u,
    prev: hex64,
    accepted: u,
  })
  .strict();
const StateFileSchema = z.object({ format: z.literal(STATE_FORMAT), pipeline: hex64, position: u, snapshot: SnapshotSchema, digest: hex64 }).strict();

export interface SavedState {
  /** Messages of the input consumed (the next one to read is number position). */
  position: number;
  snapshot: PipelineSnapshot;
}

/** The fingerprint a state file is bound to. */
export function pipelineFingerprint(p: { sensors: ReadonlyMap<string, Uint8Array>; window: { sizeUs: number; slideUs?: number; originUs: number }; threshold: number }): string {
  const sensors = [...p.sensors.entries()].map(([k, v]) => [k, toHex(v)]).sort(([a], [b]) => (a! < b! ? -1 : 1));
  return toHex(sha256(utf8(canonicalJson({ sensors, window: { sizeUs: p.window.sizeUs, slideUs: p.window.slideUs ?? p.window.sizeUs, originUs: p.window.originUs }, threshold: p.threshold }))));
}

const digestOf = (pipeline: string, position: number, snapshot: unknown) => toHex(sha256(utf8(canonicalJson({ format: STATE_FORMAT, pipeline, position, snapshot }))));

export class StateFile {
  constructor(
    readonly path: string,
    private readonly fingerprint: string,
  ) {}

  /** The saved state, or undefined when there is no file yet. */
  load(): SavedState | undefined {
    if (!existsSync(this.path)) return undefined;
    if (statSync(this.path).size > MAX_STATE_BYTES) throw new VeriteeError('STREAM_STATE_INVALID', `the state file is over ${MAX_STATE_BYTES} bytes`);
    const raw = parseJsonStrict(readFileSync(this.path, 'utf8'), { what: 'the state file', code: 'STREAM_STATE_INVALID' });
    const r = StateFileSchema.safeParse(raw);
    if (!r.success) throw new VeriteeError('STREAM_STATE_INVALID', `the state file is malformed: ${r.error.issues.slice(0, 2).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const s = r.data;
    if (s.digest !== digestOf(s.pipeline, s.position, s.snapshot)) throw new VeriteeError('STREAM_STATE_INVALID', 'the state file does not match its digest (torn or edited)');
    if (s.pipeline !== this.fingerprint) throw new VeriteeError('STREAM_STATE_INVALID', 'the state file belongs to another pipeline (sensors, window or threshold differ)');
    return { position: s.position, snapshot: s.snapshot };
  }

  /** Replaces the file atomically. */
  save(position: number, snapshot: PipelineSnapshot): void {
    const body = JSON.stringify({ format: STATE_FORMAT, pipeline: this.fingerprint, position, snapshot, digest: digestOf(this.fingerprint, position, snapshot) });
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const d = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }
}
