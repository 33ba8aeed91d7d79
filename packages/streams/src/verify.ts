/**
 * @module verify
 * The consumer's check of a run's records (results.jsonl, or a results topic), in one
 * call, failing closed on the first problem with its code:
 *
 *  1. every line is a well-formed window result or end record (STREAM_RESULT_INVALID);
 *  2. the chain: record k has seq k (from 1, or from `resume.seq + 1`), its `prev` is
 *     the id of record k − 1 (CHAIN_GENESIS first) and its `id` is the hash of its
 *     statement, so a dropped, reordered or replaced record is caught
 *     (STREAM_CHAIN_BROKEN); a record repeated with the same id (at-least-once
 *     delivery) is skipped and counted;
 *  3. windows start later than the one before, all of one size and slide, aligned;
 *     tumbling windows do not overlap (STREAM_WINDOW_INVALID);
 *  4. every reading's signature verifies under its sensor's registered key
 *     (STREAM_SENSOR_UNKNOWN, STREAM_SIGNATURE_INVALID);
 *  5. per sensor, the sequence numbers run without a gap or a repeat from 1 (or from
 *     `resume.sequences`); in sliding windows a reading met again must be the same one
 *     (STREAM_SEQUENCE_GAP / _REPLAY). As the processor takes a sensor's readings in
 *     time order only, a sensor's readings in one window are consecutive numbers, and
 *     from window to window their first and last numbers never go down: a reading left
 *     out of the middle of an overlapping window is caught (STREAM_SEQUENCE_GAP);
 *  6. the window commitment recomputed from the signed digests is the bundle's, and
 *     the bundle's claim is streamagg over exactly this window and threshold
 *     (STREAM_COMMITMENT_MISMATCH); the proof bundle verifies (STREAM_PROOF_INVALID);
 *  7. end markers: each verifies (STREAM_CLOSE_INVALID) and, at the end, the sensor's
 *     last sequence number seen is the one it signed (STREAM_TAIL_MISSING); a sensor
 *     the consumer requires to have closed without a marker is STREAM_END_MISSING.
 */
import { VeriteeError } from '@veritee/core';
import { STREAMAGG_CLAIM, streamWindowCommitment, verifyProofBundle, type KeyRing, type StreamAggOutputs } from '@veritee/zk';
import { z } from 'zod';
import { checkCloseRecord, parseWith, PublicReadingSchema, SensorCloseSchema, verifyReadingSignature } from './reading.js';
import { CHAIN_GENESIS, END_FORMAT, recordId, RESULT_FORMAT, type EndRecord, type WindowResult } from './pipeline.js';

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const WindowResultSchema = z
  .object({ format: z.literal(RESULT_FORMAT), seq: u.min(1), prev: hex64, id: hex64, startUs: u, endUs: u, slideUs: u.min(1), threshold: u, readings: z.array(PublicReadingSchema).min(1).max(1024), closes: z.array(SensorCloseSchema).max(100_000), bundle: z.unknown() })
  .strict();
export const EndRecordSchema = z.object({ format: z.literal(END_FORMAT), seq: u.min(1), prev: hex64, id: hex64, closes: z.array(SensorCloseSchema).min(1).max(100_000) }).strict();

export interface VerifyResultsOptions {
  sensors: ReadonlyMap<string, Uint8Array>;
  keys: KeyRing;
  allowDevSetup?: boolean;
  /** Verification time (bundles must not be made after it). */
  at: Date | number;
  /** The threshold the consumer asked for (default: whatever the results say, the same in every window). */
  threshold?: number;
  /** Last sequence number per sensor before these results (default 0: every sensor's readings start at 1). */
  resume?: Record<string, number>;
  /** Where the chain resumes: the last record's seq and id before these (default: the run's start). */
  chainFrom?: { seq: number; id: string };
  /** Sensors that must have sent an end marker ('all': every registered sensor). */
  requireEnd?: 'all' | readonly string[];
}

export interface VerifiedWindow {
  startUs: number;
  endUs: number;
  outputs: StreamAggOutputs;
}

export interface ResultsVerification {
  windows: VerifiedWindow[];
  /** Distinct readings. */
  readings: number;
  /** Last sequence number per sensor. */
  sequences: Record<string, number>;
  /** Sensors whose end marker matched: sensor → last sequence number. */
  closed: Record<string, number>;
  /** Records skipped as repeats of the record before (same id). */
  duplicates: number;
  head: { seq: number; id: string };
}

export function verifyWindowResults(lines: readonly unknown[], o: VerifyResultsOptions): ResultsVerification {
  if (lines.length === 0) throw new VeriteeError('STREAM_RESULT_INVALID', 'there are no window results');
  const last = new Map<string, number>(Object.entries(o.resume ?? {}));
  /** sensor:seq → digest of readings seen (sliding windows repeat them). */
  const seen = new Map<string, string>();
  const closes = new Map<string, number>();
  const windows: VerifiedWindow[] = [];
  let threshold = o.threshold;
  let shape: { size: number; slide: number; firstStart: number } | undefined;
  let lastStart = -1;
  let lastEnd = -1;
  let readings = 0;
  let duplicates = 0;
  let head = o.chainFrom ?? { seq: 0, id: CHAIN_GENESIS };
  let ended = false;
  /** per sensor: first and last sequence number in the latest window that held it */
  const bounds = new Map<string, { lo: number; hi: number }>();
  lines.forEach((line, i) => {
    const what = `record ${i + 1}`;
    const isEnd = (line as { format?: unknown })?.format === END_FORMAT;
    const rec: WindowResult | EndRecord = isEnd ? (parseWith(EndRecordSchema, line, 'STREAM_RESULT_INVALID', what) as EndRecord) : (parseWith(WindowResultSchema, line, 'STREAM_RESULT_INVALID', what) as WindowResult);
    const { id, ...body } = rec;
    if (recordId(body) !== id) throw new VeriteeError('STREAM_CHAIN_BROKEN', `${what}: its id is not the hash of its content (the record was changed)`);
    if (id === head.id && rec.seq === head.seq) {
      duplicates++;
      return;
    }
    if (ended) throw new VeriteeError('STREAM_CHAIN_BROKEN', `${what} follows the end record`);
    if (rec.seq !== head.seq + 1 || rec.prev !== head.id) throw new VeriteeError('STREAM_CHAIN_BROKEN', `${what}: it is number ${rec.seq} and follows ${rec.prev.slice(0, 12)}…, but the chain is at number ${head.seq} (${head.id.slice(0, 12)}…): a result was dropped, reordered or replaced`);
    head = { seq: rec.seq, id };
    for (const c of rec.closes) {
      checkCloseRecord(o.sensors, c);
      if (closes.has(c.sensor)) throw new VeriteeError('STREAM_CLOSE_INVALID', `${what}: a second end marker of sensor ${c.sensor}`);
      closes.set(c.sensor, c.lastSeq);
    }
    if (rec.format === END_FORMAT) {
      ended = true;
      return;
    }
    const w = rec;
    if (w.endUs <= w.startUs || w.startUs <= lastStart) throw new VeriteeError('STREAM_WINDOW_INVALID', `${what}: window [${w.startUs}, ${w.endUs}) is empty or does not start after the window before`);
    shape ??= { size: w.endUs - w.startUs, slide: w.slideUs, firstStart: w.startUs };
    if (w.endUs - w.startUs !== shape.size || w.slideUs !== shape.slide || w.slideUs > shape.size || (w.startUs - shape.firstStart) % shape.slide !== 0) throw new VeriteeError('STREAM_WINDOW_INVALID', `${what}: window [${w.startUs}, ${w.endUs}) slide ${w.slideUs} is not of the run's size ${shape.size} and slide ${shape.slide}`);
    if (shape.slide === shape.size && w.startUs < lastEnd) throw new VeriteeError('STREAM_WINDOW_INVALID', `${what}: window [${w.startUs}, ${w.endUs}) overlaps the window before`);
    lastStart = w.startUs;
    lastEnd = w.endUs;
    threshold ??= w.threshold;
    if (w.threshold !== threshold) throw new VeriteeError('STREAM_COMMITMENT_MISMATCH', `${what}: threshold ${w.threshold}, expected ${threshold}`);
    const inWindow = new Set<string>();
    for (const r of w.readings) {
      verifyReadingSignature(o.sensors, r);
      const key = `${r.sensor}:${r.seq}`;
      if (inWindow.has(key)) throw new VeriteeError('STREAM_SEQUENCE_REPLAY', `${what}: reading ${r.seq} of sensor ${r.sensor} is in the window twice`);
      inWindow.add(key);
      if (closes.has(r.sensor) && r.seq > closes.get(r.sensor)!) throw new VeriteeError('STREAM_CLOSE_INVALID', `${what}: reading ${r.seq} of sensor ${r.sensor} is past its end marker`);
      const want = (last.get(r.sensor) ?? 0) + 1;
      if (r.seq === want) {
        last.set(r.sensor, r.seq);
        readings++;
        if (shape.slide < shape.size) seen.set(key, r.digest);
      } else if (r.seq > want) {
        throw new VeriteeError('STREAM_SEQUENCE_GAP', `sensor ${r.sensor}: reading ${r.seq} is in the results but ${want}${r.seq - want > 1 ? `..${r.seq - 1}` : ''} is not`);
      } else if (seen.get(key) !== r.digest) {
        throw new VeriteeError('STREAM_SEQUENCE_REPLAY', `sensor ${r.sensor}: reading ${r.seq} appears again${shape.slide < shape.size ? ' with another digest' : ''}`);
      }
    }
    const span = new Map<string, { lo: number; hi: number; n: number }>();
    for (const r of w.readings) {
      const x = span.get(r.sensor);
      span.set(r.sensor, x ? { lo: Math.min(x.lo, r.seq), hi: Math.max(x.hi, r.seq), n: x.n + 1 } : { lo: r.seq, hi: r.seq, n: 1 });
    }
    for (const [sensor, x] of span) {
      if (x.hi - x.lo + 1 !== x.n) throw new VeriteeError('STREAM_SEQUENCE_GAP', `${what}: sensor ${sensor}'s readings ${x.lo}..${x.hi} in this window miss ${x.hi - x.lo + 1 - x.n} (a reading left out of the window)`);
      const p = bounds.get(sensor);
      if (p && (x.lo < p.lo || x.hi < p.hi)) throw new VeriteeError('STREAM_SEQUENCE_GAP', `${what}: sensor ${sensor}'s readings ${x.lo}..${x.hi} come before ${p.lo}..${p.hi} of an earlier window (a reading left out of an overlapping window)`);
      bounds.set(sensor, { lo: x.lo, hi: x.hi });
    }
    const b = w.bundle as { claim?: { kind?: unknown; params?: Record<string, unknown>; outputs?: StreamAggOutputs }; commitment?: unknown };
    const p = b?.claim?.params;
    if (b?.claim?.kind !== STREAMAGG_CLAIM || !p || p['periodStartUs'] !== w.startUs || p['periodEndUs'] !== w.endUs || p['threshold'] !== w.threshold) {
      throw new VeriteeError('STREAM_COMMITMENT_MISMATCH', `${what}: the bundle is not a streamagg claim over this window and threshold`);
    }
    const c = streamWindowCommitment({ periodStartUs: w.startUs, periodEndUs: w.endUs }, w.readings.map((r) => BigInt(r.digest)));
    if (typeof b.commitment !== 'string' || b.commitment !== c.toString()) throw new VeriteeError('STREAM_COMMITMENT_MISMATCH', `${what}: the bundle's commitment is not the one of the signed readings`);
    const v = verifyProofBundle(w.bundle, { keys: o.keys, allowDevSetup: o.allowDevSetup === true, at: o.at });
    if (!v.ok) {
      const bad = v.checks.find((c) => !c.ok);
      throw new VeriteeError('STREAM_PROOF_INVALID', `${what}: the proof does not verify (${bad?.name ?? 'unknown check'}: ${bad?.detail ?? ''})`);
    }
    windows.push({ startUs: w.startUs, endUs: w.endUs, outputs: b.claim.outputs! });
  });
  for (const [sensor, lastSeq] of closes) {
    const got = last.get(sensor) ?? 0;
    if (got < lastSeq) throw new VeriteeError('STREAM_TAIL_MISSING', `sensor ${sensor} signed ${lastSeq} readings but the results end at ${got}: ${got + 1}${lastSeq - got > 1 ? `..${lastSeq}` : ''} ${lastSeq - got > 1 ? 'are' : 'is'} missing`);
  }
  const required = o.requireEnd === 'all' ? [...o.sensors.keys()] : (o.requireEnd ?? []);
  for (const s of required) if (!closes.has(s)) throw new VeriteeError('STREAM_END_MISSING', `sensor ${s} has no end marker in the results: readings it sent after the last one seen would go unnoticed`);
  const sequences = Object.fromEntries([...last.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  return { windows, readings, sequences, closed: Object.fromEntries([...closes.entries()].sort(([a], [b]) => (a < b ? -1 : 1))), duplicates, head };
}
