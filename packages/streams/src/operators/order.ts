/**
 * @module operators/order
 * Order statistics (min, max, lower median, a nearest-rank percentile, top-5 /
 * bottom-5 sums, distinct count) of each window, proven with the streamorder
 * claim of @veritee/zk beside the pipeline's streamagg proof, and the
 * consumer's check of such a proof against the window's signed readings.
 *
 * The pipeline stays as it is: {@link withOrderStatistics} wraps its
 * WindowProver, proves the same window's readings a second time with
 * streamorder and hands that bundle to `onOrder`. Both claims commit to the
 * same signed digests, so {@link verifyOrderBundle} recomputes the commitment
 * from the public readings of the window result.
 */
import { VeriteeError } from '@veritee/core';
import { STREAMORDER_CLAIM, streamWindowCommitment, verifyProofBundle, type KeyRing, type StreamOrderData, type StreamOrderOutputs, type StreamOrderParams } from '@veritee/zk';
import type { WindowProver } from '../pipeline.js';
import { verifyReadingSignature, type PublicReading } from '../reading.js';

/** Proves one window with streamorder; `prove(pool, 'streamorder', …)` of @veritee/zk, returning the bundle. */
export type OrderProver = (params: StreamOrderParams, data: StreamOrderData) => Promise<unknown>;

export interface OrderStatisticsOptions {
  /** The percentile each window reports, basis points 1..10000 (9500 = p95). */
  percentileBp: number;
  prove: OrderProver;
  onOrder: (window: { startUs: number; endUs: number }, bundle: unknown) => void | Promise<void>;
}

/**
 * A WindowProver for StreamPipeline that proves each window with `inner`
 * (streamagg) and with streamorder, in that order; the streamagg bundle is
 * returned to the pipeline, the streamorder bundle goes to `onOrder`.
 */
export function withOrderStatistics(inner: WindowProver, o: OrderStatisticsOptions): WindowProver {
  if (!Number.isSafeInteger(o.percentileBp) || o.percentileBp < 1 || o.percentileBp > 10000) throw new VeriteeError('CLAIM_PARAMS_INVALID', `percentileBp = ${o.percentileBp} is outside 1..10000`);
  return async (params, data) => {
    const bundle = await inner(params, data);
    const window = { startUs: params.periodStartUs, endUs: params.periodEndUs };
    const order = await o.prove({ periodStartUs: window.startUs, periodEndUs: window.endUs, percentileBp: o.percentileBp }, data);
    await o.onOrder(window, order);
    return bundle;
  };
}

export interface VerifyOrderOptions {
  /** Sensor id → Ed25519 public key: every reading's signature is checked. */
  sensors: ReadonlyMap<string, Uint8Array>;
  keys: KeyRing;
  allowDevSetup?: boolean;
  /** Verification time (the bundle must not be made after it). */
  at: Date | number;
  /** The percentile the consumer asked for (unset: any). */
  percentileBp?: number;
}

/**
 * Checks a streamorder bundle against one window's signed readings (the
 * `readings` of its window result): every signature, the claim is streamorder
 * over exactly this window (and percentile), the commitment recomputed from the
 * signed digests, and the proof. Returns the proven outputs.
 */
export function verifyOrderBundle(window: { startUs: number; endUs: number; readings: readonly PublicReading[] }, bundle: unknown, o: VerifyOrderOptions): StreamOrderOutputs {
  const what = `window [${window.startUs}, ${window.endUs})`;
  for (const r of window.readings) verifyReadingSignature(o.sensors, r);
  const b = bundle as { claim?: { kind?: unknown; params?: Record<string, unknown>; outputs?: StreamOrderOutputs }; commitment?: unknown };
  const p = b?.claim?.params;
  if (b?.claim?.kind !== STREAMORDER_CLAIM || !p || p['periodStartUs'] !== window.startUs || p['periodEndUs'] !== window.endUs) {
    throw new VeriteeError('STREAM_COMMITMENT_MISMATCH', `${what}: the bundle is not a streamorder claim over this window`);
  }
  if (o.percentileBp !== undefined && p['percentileBp'] !== o.percentileBp) {
    throw new VeriteeError('STREAM_COMMITMENT_MISMATCH', `${what}: the bundle proves percentile ${String(p['percentileBp'])} bp, not ${o.percentileBp} bp`);
  }
  const c = streamWindowCommitment({ periodStartUs: window.startUs, periodEndUs: window.endUs }, window.readings.map((r) => BigInt(r.digest)));
  if (typeof b.commitment !== 'string' || b.commitment !== c.toString()) throw new VeriteeError('STREAM_COMMITMENT_MISMATCH', `${what}: the bundle's commitment is not the one of the signed readings`);
  const v = verifyProofBundle(bundle, { keys: o.keys, allowDevSetup: o.allowDevSetup === true, at: o.at });
  if (!v.ok) {
    const bad = v.checks.find((c) => !c.ok);
    throw new VeriteeError('STREAM_PROOF_INVALID', `${what}: the proof does not verify (${bad?.name ?? 'unknown check'}: ${bad?.detail ?? ''})`);
  }
  return b.claim.outputs!;
}
