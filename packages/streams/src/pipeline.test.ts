/**
 * The pipeline end to end, the same scenario on both queues (in process, and a real
 * NATS JetStream server started here on loopback): two sensors sign readings over
 * two 15-minute windows; a replay, a gap, a forged signature, a reading whose value
 * was changed after signing and a late reading are refused with their codes; each
 * window is proven (real prover, streamagg at its smallest class, dev keys), and the
 * results verify in one call. Then forged results must fail: a dropped reading, a
 * window's proof swapped for another's, changed outputs, a reordered window, another
 * threshold, a dev key without --allow-dev-setup.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { computeStreamAggOutputs, devSetup, KeyRing, prove, ProverPool } from '@veritee/zk';
import { testHome } from '@veritee/zk/testing';
import { startNats, type RunningEngine } from '@veritee/control-plane';
import { generateSensorKey, sensorKeys, signReading, type SignedReading } from './reading.js';
import { StreamPipeline, type Refusal, type WindowResult } from './pipeline.js';
import { InProcessQueue, JetStreamReadingQueue, type ReadingQueue } from './queue.js';
import { verifyWindowResults } from './verify.js';

let nats: RunningEngine;
let prover: ProverPool;
const keys = new KeyRing();
const a = generateSensorKey('plug-a');
const b = generateSensorKey('plug-b');
const sensors = sensorKeys({ version: 1, sensors: [{ id: a.sensor, publicKey: a.publicKey }, { id: b.sensor, publicKey: b.publicKey }] });
const W = 900_000_000; // 15 minutes
const T0 = Date.UTC(2026, 0, 5) * 1000; // a past, window-aligned time
const at = Date.now() + 60_000; // the bundles are made during the test
const THRESHOLD = 1500;

before(async () => {
  nats = await startNats();
  prover = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(prover, 'streamagg', 256));
});
after(async () => {
  await prover?.close();
  await nats?.stop();
});

/** 2 sensors × 6 readings in window 0, 2 × 4 in window 1 (values 1000 + 97·k). */
function readings(): SignedReading[] {
  const out: SignedReading[] = [];
  const seq = { a: 0, b: 0 };
  for (let k = 0; k < 20; k++) {
    const key = k % 2 === 0 ? a : b;
    const s = k % 2 === 0 ? ++seq.a : ++seq.b;
    const ts = T0 + (k < 12 ? k * 60_000_000 : W + (k - 12) * 60_000_000);
    out.push(signReading(key, { seq: s, ts, value: 1000 + 97 * k }));
  }
  return out;
}

async function runOn(queue: ReadingQueue): Promise<{ results: WindowResult[]; refused: Refusal[]; sent: SignedReading[] }> {
  const results: WindowResult[] = [];
  const pipeline = new StreamPipeline({
    sensors,
    window: { sizeUs: W, originUs: 0 },
    threshold: THRESHOLD,
    prove: async (params, data) => (await prove(prover, 'streamagg', { params, data })).bundle,
    onResult: (r) => void results.push(r),
  });
  queue.consume((m) => pipeline.ingest(m).then(() => undefined));
  // Closed whatever happens: a JetStream client left open after a failure keeps the test process alive.
  try {
    return await feed(queue, pipeline, results);
  } finally {
    await queue.close();
  }
}

async function feed(queue: ReadingQueue, pipeline: StreamPipeline, results: WindowResult[]): Promise<{ results: WindowResult[]; refused: Refusal[]; sent: SignedReading[] }> {
  const rs = readings();
  const msgs: unknown[] = [];
  for (const [i, r] of rs.entries()) {
    msgs.push(r);
    if (i === 3) msgs.push(r); // replay of plug-b #2
    if (i === 5) msgs.push(signReading(a, { seq: 5, ts: r.ts, value: 1 })); // plug-a skips #4
    if (i === 6) msgs.push({ ...signReading(b, { seq: 4, ts: r.ts, value: 7 }), sig: rs[0]!.sig }); // forged signature
    if (i === 7) msgs.push({ ...signReading(a, { seq: 5, ts: r.ts, value: 9 }), value: 9000 }); // value changed after signing
    if (i === 13) msgs.push(signReading(b, { seq: 8, ts: T0 + 60_000_000, value: 5 })); // window 0 is closed
  }
  for (const m of msgs) await queue.publish(m);
  await queue.waitHandled(msgs.length);
  await pipeline.flush();
  return { results, refused: pipeline.refused, sent: rs };
}

const code = (f: () => unknown, c: string, re?: RegExp) => assert.throws(f, (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test(e.message)));

for (const backend of ['in-process', 'jetstream'] as const) {
  test(`${backend}: refusals carry codes; every window is proven and the results verify; forged results fail`, async () => {
    const queue = backend === 'in-process' ? new InProcessQueue() : await JetStreamReadingQueue.connect({ servers: nats.url, consumer: `test-${Date.now()}` });
    const { results, refused, sent } = await runOn(queue);
    assert.deepEqual(
      refused.map((r) => [r.code, r.sensor, r.seq]),
      [
        ['STREAM_SEQUENCE_REPLAY', 'plug-b', 2],
        ['STREAM_SEQUENCE_GAP', 'plug-a', 5],
        ['STREAM_SIGNATURE_INVALID', 'plug-b', 4],
        ['STREAM_DIGEST_MISMATCH', 'plug-a', 5],
        ['STREAM_READING_LATE', 'plug-b', 8],
      ],
    );
    assert.equal(results.length, 2);
    const want = [sent.slice(0, 12), sent.slice(12)].map((rs) => computeStreamAggOutputs({ periodStartUs: 0, periodEndUs: 1, threshold: THRESHOLD }, { readings: rs }));
    assert.deepEqual(
      results.map((r) => [r.startUs, r.endUs, r.readings.length]),
      [
        [T0, T0 + W, 12],
        [T0 + W, T0 + 2 * W, 8],
      ],
    );
    const v = verifyWindowResults(results, { sensors, keys, allowDevSetup: true, at, threshold: THRESHOLD });
    assert.deepEqual(
      v.windows.map((w) => w.outputs),
      want,
    );
    assert.equal(v.readings, 20);
    assert.deepEqual(v.sequences, { 'plug-a': 10, 'plug-b': 10 });
    // no value leaves the processor: the results carry digests and signatures only
    assert.doesNotMatch(JSON.stringify(results.map((r) => r.readings)), /"value"|"salt"|"ts"/);

    const opts = { sensors, keys, allowDevSetup: true, at };
    const clone = () => JSON.parse(JSON.stringify(results)) as WindowResult[];
    let f = clone();
    f[1]!.readings.splice(3, 1);
    code(() => verifyWindowResults(f, opts), 'STREAM_SEQUENCE_GAP');
    f = clone();
    f[1]!.readings.pop(); // the last reading of the run: no gap, but the commitment no longer matches
    code(() => verifyWindowResults(f, opts), 'STREAM_COMMITMENT_MISMATCH', /commitment/);
    f = clone();
    f[0]!.bundle = f[1]!.bundle;
    code(() => verifyWindowResults(f, opts), 'STREAM_COMMITMENT_MISMATCH');
    f = clone();
    (f[0]!.bundle as { claim: { outputs: { mean: number } } }).claim.outputs.mean += 1;
    code(() => verifyWindowResults(f, opts), 'STREAM_PROOF_INVALID');
    f = clone();
    (f[0]!.bundle as { claim: { outputs: { above: number } } }).claim.outputs.above -= 1;
    code(() => verifyWindowResults(f, opts), 'STREAM_PROOF_INVALID');
    f = clone();
    code(() => verifyWindowResults([f[0], { ...f[1]!, startUs: f[0]!.startUs + 1 }], opts), 'STREAM_WINDOW_INVALID', /overlaps/);
    f = clone();
    code(() => verifyWindowResults([f[1], f[0]], opts), 'STREAM_SEQUENCE_GAP'); // reordered: plug-a starts at 7
    // the second window alone verifies when the consumer says where the sequences resume
    assert.deepEqual(verifyWindowResults([f[1]], { ...opts, resume: { 'plug-a': 6, 'plug-b': 6 } }).sequences, { 'plug-a': 10, 'plug-b': 10 });
    code(() => verifyWindowResults([f[1]], { ...opts, resume: { 'plug-a': 5, 'plug-b': 6 } }), 'STREAM_SEQUENCE_GAP');
    code(() => verifyWindowResults(clone(), { ...opts, threshold: THRESHOLD + 1 }), 'STREAM_COMMITMENT_MISMATCH', /threshold/);
    code(() => verifyWindowResults(clone(), { ...opts, allowDevSetup: false }), 'STREAM_PROOF_INVALID', /key\.setup/);
    code(() => verifyWindowResults(clone(), { ...opts, at: T0 / 1000 }), 'STREAM_PROOF_INVALID');
    code(() => verifyWindowResults(clone(), { ...opts, sensors: sensorKeys({ version: 1, sensors: [{ id: a.sensor, publicKey: a.publicKey }] }) }), 'STREAM_SENSOR_UNKNOWN');
    f = clone();
    f[0]!.readings[2]!.sig = f[0]!.readings[3]!.sig;
    code(() => verifyWindowResults(f, opts), 'STREAM_SIGNATURE_INVALID');
    code(() => verifyWindowResults([], opts), 'STREAM_RESULT_INVALID');
    code(() => verifyWindowResults([{ ...clone()[0], extra: 1 }], opts), 'STREAM_RESULT_INVALID');
  });
}

test('jetstream: an unreachable server is STREAM_QUEUE_UNAVAILABLE', async () => {
  await assert.rejects(JetStreamReadingQueue.connect({ servers: 'nats://127.0.0.1:1' }), (e: unknown) => isVeriteeError(e, 'STREAM_QUEUE_UNAVAILABLE'));
});
