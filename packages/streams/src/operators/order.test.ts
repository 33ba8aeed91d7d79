/**
 * The order-statistics operator with the real prover (streamagg at 256,
 * streamorder at 192, dev keys): a window proven by both claims through the
 * pipeline's WindowProver seam, the streamorder bundle checked against the
 * window's signed readings, and every mismatch refused with its code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { computeStreamOrderOutputs, devSetup, KeyRing, prove, ProverPool, STREAMAGG_CLAIM, type StreamOrderOutputs } from '@veritee/zk';
import { testHome } from '@veritee/zk/testing';
import { generateSensorKey, publicPart, sensorKeys, signReading, type SignedReading } from '../reading.js';
import { verifyOrderBundle, withOrderStatistics } from './order.js';

let prover: ProverPool;
const keys = new KeyRing();
const a = generateSensorKey('plug-a');
const sensors = sensorKeys({ version: 1, sensors: [{ id: a.sensor, publicKey: a.publicKey }] });
const T0 = Date.UTC(2026, 0, 5) * 1000;
const W = 900_000_000;
const at = Date.now() + 60_000;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

// 12 readings with ties: values 1000 + 100·(k mod 5)
const signed: SignedReading[] = Array.from({ length: 12 }, (_, k) => signReading(a, { seq: k + 1, ts: T0 + k * 60_000_000, value: 1000 + 100 * (k % 5) }));
const window = { startUs: T0, endUs: T0 + W, readings: signed.map(publicPart) };
let aggBundle: unknown;
let orderBundle: unknown;

before(async () => {
  prover = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(prover, 'streamagg', 256));
  keys.add(await devSetup(prover, 'streamorder', 192));
  const windowProver = withOrderStatistics(async (params, data) => (await prove(prover, 'streamagg', { params, data })).bundle, {
    percentileBp: 9000,
    prove: async (params, data) => (await prove(prover, 'streamorder', { params, data })).bundle,
    onOrder: (w, bundle) => {
      assert.deepEqual(w, { startUs: window.startUs, endUs: window.endUs });
      orderBundle = bundle;
    },
  });
  aggBundle = await windowProver({ periodStartUs: window.startUs, periodEndUs: window.endUs, threshold: 1200 }, { readings: signed.map((r) => ({ ts: r.ts, value: r.value, salt: r.salt })) });
});
after(async () => {
  await prover?.close();
});

const code = (f: () => unknown, c: string, re?: RegExp) => assert.throws(f, (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test(e.message)));

test('the pipeline keeps its streamagg bundle; the window\'s order statistics verify against its signed readings', () => {
  assert.equal((aggBundle as { claim: { kind: string } }).claim.kind, STREAMAGG_CLAIM);
  const out: StreamOrderOutputs = verifyOrderBundle(window, orderBundle, { sensors, keys, allowDevSetup: true, at, percentileBp: 9000 });
  const want = computeStreamOrderOutputs({ periodStartUs: window.startUs, periodEndUs: window.endUs, percentileBp: 9000 }, { readings: signed.map((r) => ({ ts: r.ts, value: r.value, salt: r.salt })) });
  assert.deepEqual(out, want);
  // sorted: 1000 ×3, 1100 ×3, 1200 ×2, 1300 ×2, 1400 ×2; the lower median is w_6
  assert.deepEqual([out.min, out.max, out.median, out.distinct], [1000, 1400, 1100, 5]);
  // both claims commit to the same signed digests
  assert.equal((orderBundle as { commitment: string }).commitment, (aggBundle as { commitment: string }).commitment);
});

test('mismatches are refused with their codes', () => {
  const o = { sensors, keys, allowDevSetup: true, at };
  code(() => verifyOrderBundle({ ...window, readings: window.readings.slice(1) }, orderBundle, o), 'STREAM_COMMITMENT_MISMATCH', /commitment/);
  code(() => verifyOrderBundle({ ...window, endUs: window.endUs + 1 }, orderBundle, o), 'STREAM_COMMITMENT_MISMATCH', /not a streamorder claim/);
  code(() => verifyOrderBundle(window, aggBundle, o), 'STREAM_COMMITMENT_MISMATCH', /not a streamorder claim/);
  code(() => verifyOrderBundle(window, orderBundle, { ...o, percentileBp: 9500 }), 'STREAM_COMMITMENT_MISMATCH', /percentile/);
  const forged = clone(orderBundle) as { claim: { outputs: StreamOrderOutputs } };
  forged.claim.outputs.median += 100;
  code(() => verifyOrderBundle(window, forged, o), 'STREAM_PROOF_INVALID');
  const badSig = { ...window, readings: window.readings.map((r, i) => (i === 3 ? { ...r, sig: r.sig.replace(/^./, (ch) => (ch === '0' ? '1' : '0')) } : r)) };
  code(() => verifyOrderBundle(badSig, orderBundle, o), 'STREAM_SIGNATURE_INVALID');
  code(() => withOrderStatistics(async () => null, { percentileBp: 0, prove: async () => null, onOrder: () => {} }), 'CLAIM_PARAMS_INVALID');
});
