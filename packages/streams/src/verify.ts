/**
 * @module verify
 * The consumer's check of a run's results (results.jsonl), in one call, failing
 * closed on the first problem with its code:
 *
 *  1. every line is a well-formed window result; windows are in order and do not overlap
 *     (STREAM_RESULT_INVALID, STREAM_WINDOW_INVALID);
 *  2. every reading's signature verifies under its sensor's registered key
 *     (STREAM_SENSOR_UNKNOWN, STREAM_SIGNATURE_INVALID);
 *  3. per sensor, the sequence numbers across all windows run without a gap or a
 *     repeat from 1 (or from `resume`) (STREAM_SEQUENCE_GAP / _REPLAY);
 *  4. the window commitment recomputed from the signed digests is the bundle's
 *     commitment, and the bundle's claim is streamagg over exactly this window and
 *     threshold (STREAM_COMMITMENT_MISMATCH);
 *  5. the proof bundle verifies (keys, setup kind, proof, createdAt against `at`)
 *     (STREAM_PROOF_INVALID, naming the failed check).
 */
import { VeriteeError } from '@veritee/core';
import { STREAMAGG_CLAIM, streamWindowCommitment, verifyProofBundle, type KeyRing, type StreamAggOutputs } from '@veritee/zk';
import { z } from 'zod';
import { parseWith, PublicReadingSchema, verifyReadingSignature } from './reading.js';
import { RESULT_FORMAT } from './pipeline.js';
import { SequenceTracker } from './tracker.js';

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const WindowResultSchema = z.object({ format: z.literal(RESULT_FORMAT), startUs: u, endUs: u, threshold: u, readings: z.array(PublicReadingSchema).min(1).max(1024), bundle: z.unknown() }).strict();

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
}

export interface VerifiedWindow {
  startUs: number;
  endUs: number;
  outputs: StreamAggOutputs;
}

export interface ResultsVerification {
  windows: VerifiedWindow[];
  readings: number;
  /** Last sequence number per sensor. */
  sequences: Record<string, number>;
}

export function verifyWindowResults(lines: readonly unknown[], o: VerifyResultsOptions): ResultsVerification {
  if (lines.length === 0) throw new VeriteeError('STREAM_RESULT_INVALID', 'there are no window results');
  const tracker = new SequenceTracker(o.resume);
  const windows: VerifiedWindow[] = [];
  let threshold = o.threshold;
  let lastEnd = -1;
  let readings = 0;
  lines.forEach((line, i) => {
    const what = `window result ${i + 1}`;
    const w = parseWith(WindowResultSchema, line, 'STREAM_RESULT_INVALID', what);
    if (w.endUs <= w.startUs || w.startUs < lastEnd) throw new VeriteeError('STREAM_WINDOW_INVALID', `${what}: window [${w.startUs}, ${w.endUs}) is empty or overlaps the window before`);
    lastEnd = w.endUs;
    threshold ??= w.threshold;
    if (w.threshold !== threshold) throw new VeriteeError('STREAM_COMMITMENT_MISMATCH', `${what}: threshold ${w.threshold}, expected ${threshold}`);
    for (const r of w.readings) {
      verifyReadingSignature(o.sensors, r);
      tracker.accept(r.sensor, r.seq);
    }
    readings += w.readings.length;
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
  return { windows, readings, sequences: tracker.snapshot() };
}
