/**
 * The pipeline end to end, the same scenario on three queues (in process, a real NATS
 * JetStream server and a real Kafka broker in KRaft mode, both started here on
 * loopback): two sensors sign readings over two 15-minute windows and then their end
 * markers; a replay, a gap, a forged signature, a reading whose value was changed after
 * signing, a late reading, a forged end marker and a reading after an end marker are
 * refused with their codes; each window is proven (real prover, streamagg at its
 * smallest class, dev keys) and the chained results verify in one call, end markers
 * included. Then forged results must fail: a dropped, reordered or replaced record
 * (chain), and, with the chain recomputed by the forger, a dropped reading, a swapped
 * proof, changed outputs, another threshold, a dev key without --allow-dev-setup.
 * Kafka also carries the results (a record sent twice is read once) and commits its
 * consumer offsets only when told to.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { computeStreamAggOutputs, devSetup, KeyRing, prove, ProverPool } from '@veritee/zk';
import { testHome } from '@veritee/zk/testing';
import { startNats, type RunningEngine } from '@veritee/control-plane';
import { generateSensorKey, sensorKeys, signClose, signReading, type SignedReading } from './reading.js';
import { CHAIN_GENESIS, recordId, StreamPipeline, type ChainRecord, type EndRecord, type Refusal, type WindowResult } from './pipeline.js';
import { InProcessQueue, JetStreamReadingQueue, type ReadingQueue } from './queue.js';
import { KafkaReadingQueue, KafkaResultSink, readKafkaResults } from './kafka.js';
import { startKafka, type RunningKafka } from './kafka-broker.js';
import { verifyWindowResults } from './verify.js';

let nats: RunningEngine;
let kafka: RunningKafka;
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
  [nats, kafka] = await Promise.all([startNats(), startKafka()]);
  prover = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(prover, 'streamagg', 256));
});
after(async () => {
  await prover?.close();
  await nats?.stop();
  await kafka?.stop();
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

const proveWindow = async (params: Parameters<typeof prove>[2]['params'], data: Parameters<typeof prove>[2]['data']) => (await prove(prover, 'streamagg', { params, data } as never)).bundle;

async function runOn(queue: ReadingQueue): Promise<{ results: ChainRecord[]; refused: Refusal[]; sent: SignedReading[] }> {
  const results: ChainRecord[] = [];
  const pipeline = new StreamPipeline({ sensors, window: { sizeUs: W, originUs: 0 }, threshold: THRESHOLD, prove: proveWindow, onResult: (r) => void results.push(r), onEnd: (r) => void results.push(r) });
  queue.consume((m) => pipeline.ingest(m).then(() => undefined));
  // Closed whatever happens: a client left open after a failure keeps the test process alive.
  try {
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
    msgs.push({ ...signClose(a, { lastSeq: 10, endUs: T0 + 2 * W }), lastSeq: 9 }); // forged end marker
    msgs.push(signClose(a, { lastSeq: 10, endUs: T0 + 2 * W }));
    msgs.push(signReading(a, { seq: 11, ts: T0 + W + 600_000_000, value: 3 })); // after plug-a's end marker
    msgs.push(signClose(b, { lastSeq: 10, endUs: T0 + 2 * W }));
    for (const m of msgs) await queue.publish(m);
    await queue.waitHandled(msgs.length, 120_000);
    await pipeline.flush();
    return { results, refused: pipeline.refused, sent: rs };
  } finally {
    await queue.close();
  }
}

/** What a forger who rewrites records can do: renumber and re-hash the chain. */
function rechain(records: ChainRecord[]): ChainRecord[] {
  let prev = CHAIN_GENESIS;
  return records.map((r, i) => {
    const { id: _id, ...body } = { ...r, seq: i + 1, prev };
    const id = recordId(body as Omit<WindowResult, 'id'>);
    prev = id;
    return { ...body, id } as ChainRecord;
  });
}

const code = (f: () => unknown, c: string, re?: RegExp) => assert.throws(f, (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test(e.message)));

for (const backend of ['in-process', 'jetstream', 'kafka'] as const) {
  test(`${backend}: refusals carry codes; every window is proven and the chained results verify; forged results fail`, async () => {
    const queue =
      backend === 'in-process' ? new InProcessQueue() : backend === 'jetstream' ? await JetStreamReadingQueue.connect({ servers: nats.url, consumer: `test-${Date.now()}` }) : await KafkaReadingQueue.connect({ brokers: [kafka.bootstrap], topic: `readings-${Date.now()}`, group: 'pipeline', commitEach: true });
    const { results, refused, sent } = await runOn(queue);
    assert.deepEqual(
      refused.map((r) => [r.code, r.sensor, r.seq]),
      [
        ['STREAM_SEQUENCE_REPLAY', 'plug-b', 2],
        ['STREAM_SEQUENCE_GAP', 'plug-a', 5],
        ['STREAM_SIGNATURE_INVALID', 'plug-b', 4],
        ['STREAM_DIGEST_MISMATCH', 'plug-a', 5],
        ['STREAM_READING_LATE', 'plug-b', 8],
        ['STREAM_CLOSE_INVALID', 'plug-a', undefined],
        ['STREAM_CLOSE_INVALID', 'plug-a', 11],
      ],
    );
    assert.equal(results.length, 2);
    const [w0, w1] = results as WindowResult[];
    const want = [sent.slice(0, 12), sent.slice(12)].map((rs) => computeStreamAggOutputs({ periodStartUs: 0, periodEndUs: 1, threshold: THRESHOLD }, { readings: rs }));
    assert.deepEqual(
      [w0, w1].map((r) => [r.seq, r.startUs, r.endUs, r.readings.length, r.closes.map((c) => c.sensor)]),
      [
        [1, T0, T0 + W, 12, []],
        [2, T0 + W, T0 + 2 * W, 8, ['plug-a', 'plug-b']],
      ],
    );
    assert.equal(w0!.prev, CHAIN_GENESIS);
    assert.equal(w1!.prev, w0!.id);
    const opts = { sensors, keys, allowDevSetup: true, at };
    const v = verifyWindowResults(results, { ...opts, threshold: THRESHOLD, requireEnd: 'all' });
    assert.deepEqual(
      v.windows.map((w) => w.outputs),
      want,
    );
    assert.equal(v.readings, 20);
    assert.deepEqual(v.sequences, { 'plug-a': 10, 'plug-b': 10 });
    assert.deepEqual(v.closed, { 'plug-a': 10, 'plug-b': 10 });
    assert.deepEqual(v.head, { seq: 2, id: w1!.id });
    // no value leaves the processor: the results carry digests and signatures only
    assert.doesNotMatch(JSON.stringify(results.map((r) => (r as WindowResult).readings)), /"value"|"salt"|"ts"/);

    const clone = () => JSON.parse(JSON.stringify(results)) as WindowResult[];
    // the chain: dropped, reordered, replaced, changed in place
    code(() => verifyWindowResults([clone()[1]!], opts), 'STREAM_CHAIN_BROKEN', /dropped, reordered or replaced/);
    code(() => verifyWindowResults([clone()[1]!, clone()[0]!], opts), 'STREAM_CHAIN_BROKEN');
    let f = clone();
    f[0]!.readings.splice(3, 1);
    code(() => verifyWindowResults(f, opts), 'STREAM_CHAIN_BROKEN', /changed/);
    f = clone();
    // record 1 replaced by another valid record (an end marker moved into it, re-hashed): record 2 no longer follows
    const other = rechain([{ ...clone()[0]!, closes: [clone()[1]!.closes[0]!] }]);
    code(() => verifyWindowResults(other, opts), 'STREAM_TAIL_MISSING'); // every check of record 1 passes; alone, plug-a's tail is missing
    code(() => verifyWindowResults([other[0]!, f[1]!], opts), 'STREAM_CHAIN_BROKEN', /record 2/);
    // a record delivered twice is skipped
    assert.equal(verifyWindowResults([clone()[0], clone()[0], clone()[1], clone()[1]], opts).duplicates, 2);
    // with the chain recomputed, each deeper check still holds
    assert.equal(verifyWindowResults(rechain(clone()), opts).windows.length, 2);
    f = clone();
    f[1]!.readings.splice(3, 1);
    code(() => verifyWindowResults(rechain(f), opts), 'STREAM_SEQUENCE_GAP');
    f = clone();
    f[0]!.bundle = f[1]!.bundle;
    code(() => verifyWindowResults(rechain(f), opts), 'STREAM_COMMITMENT_MISMATCH');
    f = clone();
    (f[0]!.bundle as { claim: { outputs: { mean: number } } }).claim.outputs.mean += 1;
    code(() => verifyWindowResults(rechain(f), opts), 'STREAM_PROOF_INVALID');
    f = clone();
    code(() => verifyWindowResults(rechain([f[0]!, { ...f[1]!, startUs: f[0]!.startUs + 1 }]), opts), 'STREAM_WINDOW_INVALID');
    // the end markers: the last readings dropped (and re-chained) → tail missing; the marker dropped → end missing
    // (a processor that leaves out the second window and passes the markers on in an end record)
    f = clone();
    const cut = rechain([f[0]!, { format: 'veritee.streams.end.v1', seq: 0, prev: '', id: '', closes: f[1]!.closes } as EndRecord]);
    code(() => verifyWindowResults(cut, opts), 'STREAM_TAIL_MISSING', /plug-a signed 10 readings but the results end at 6: 7\.\.10 are missing/);
    f = clone();
    f[1]!.closes = [f[1]!.closes[0]!];
    assert.ok(verifyWindowResults(rechain(f), opts));
    code(() => verifyWindowResults(rechain(f), { ...opts, requireEnd: 'all' }), 'STREAM_END_MISSING', /plug-b/);
    f = clone();
    f[1]!.closes[0]!.lastSeq = 9;
    code(() => verifyWindowResults(rechain(f), opts), 'STREAM_CLOSE_INVALID');
    // the second window alone verifies when the consumer says where sequences and chain resume
    assert.deepEqual(verifyWindowResults([clone()[1]], { ...opts, resume: { 'plug-a': 6, 'plug-b': 6 }, chainFrom: { seq: 1, id: w0!.id } }).sequences, { 'plug-a': 10, 'plug-b': 10 });
    code(() => verifyWindowResults([clone()[1]], { ...opts, resume: { 'plug-a': 5, 'plug-b': 6 }, chainFrom: { seq: 1, id: w0!.id } }), 'STREAM_SEQUENCE_GAP');
    code(() => verifyWindowResults(clone(), { ...opts, threshold: THRESHOLD + 1 }), 'STREAM_COMMITMENT_MISMATCH', /threshold/);
    code(() => verifyWindowResults(clone(), { ...opts, allowDevSetup: false }), 'STREAM_PROOF_INVALID', /key\.setup/);
    code(() => verifyWindowResults(clone(), { ...opts, at: T0 / 1000 }), 'STREAM_PROOF_INVALID');
    code(() => verifyWindowResults(clone(), { ...opts, sensors: sensorKeys({ version: 1, sensors: [{ id: a.sensor, publicKey: a.publicKey }] }) }), 'STREAM_SENSOR_UNKNOWN');
    f = clone();
    f[0]!.readings[2]!.sig = f[0]!.readings[3]!.sig;
    code(() => verifyWindowResults(rechain(f), opts), 'STREAM_SIGNATURE_INVALID');
    code(() => verifyWindowResults([], opts), 'STREAM_RESULT_INVALID');
    code(() => verifyWindowResults([{ ...clone()[0], extra: 1 }], opts), 'STREAM_RESULT_INVALID');

    if (backend === 'kafka') {
      // the results on Kafka: each record sent twice (a restart proving again), read back once each
      const topic = `results-${Date.now()}`;
      const sink = await KafkaResultSink.connect({ brokers: [kafka.bootstrap], topic });
      try {
        for (const r of results) {
          await sink.send(r);
          await sink.send(r);
        }
      } finally {
        await sink.close();
      }
      const back = await readKafkaResults({ brokers: [kafka.bootstrap], topic });
      assert.equal(back.duplicates, 2);
      assert.deepEqual(back.records, JSON.parse(JSON.stringify(results)));
      assert.equal(verifyWindowResults(back.records, { ...opts, requireEnd: 'all' }).windows.length, 2);
    }
  });
}

test('end markers alone: an end record in the chain; a marker announcing more readings than arrived is STREAM_TAIL_MISSING', async () => {
  const out: ChainRecord[] = [];
  const p = new StreamPipeline({ sensors, window: { sizeUs: W, originUs: 0 }, threshold: 1, prove: () => Promise.reject(new Error('nothing to prove')), onResult: (r) => void out.push(r), onEnd: (r) => void out.push(r) });
  assert.equal(await p.ingest(signClose(a, { lastSeq: 0, endUs: T0 })), undefined);
  assert.equal(await p.ingest(signClose(b, { lastSeq: 3, endUs: T0 })), undefined); // 3 readings lost on the way
  await p.flush();
  assert.equal(out.length, 1);
  const end = out[0] as EndRecord;
  assert.equal(end.format, 'veritee.streams.end.v1');
  const opts = { sensors, keys, allowDevSetup: true, at };
  code(() => verifyWindowResults(out, opts), 'STREAM_TAIL_MISSING', /plug-b signed 3 readings but the results end at 0: 1\.\.3 are missing/);
  assert.deepEqual(verifyWindowResults(rechain([{ ...end, closes: [end.closes[0]!] }]), opts).closed, { 'plug-a': 0 });
  code(() => verifyWindowResults([{ ...end, closes: [{ ...end.closes[0]!, sensor: 'plug-b' }] }], opts), 'STREAM_CHAIN_BROKEN');
  code(() => verifyWindowResults(rechain([{ ...end, closes: [{ ...end.closes[0]!, sensor: 'plug-b' }] }]), opts), 'STREAM_CLOSE_INVALID');
});

test('kafka: offsets are committed only when the consumer says so', async () => {
  const topic = `commit-${Date.now()}`;
  const seen = async (n: number) => {
    const q = await KafkaReadingQueue.connect({ brokers: [kafka.bootstrap], topic, group: 'g' });
    const got: unknown[] = [];
    q.consume(async (m) => void got.push(m));
    try {
      await q.waitHandled(n, 60_000);
      return { q, got };
    } catch (e) {
      await q.close();
      throw e;
    }
  };
  const pub = await KafkaReadingQueue.connect({ brokers: [kafka.bootstrap], topic, group: 'publisher' });
  for (let i = 1; i <= 5; i++) await pub.publish({ n: i });
  await pub.close();
  let { q, got } = await seen(5);
  assert.deepEqual(got, [1, 2, 3, 4, 5].map((n) => ({ n })));
  await q.close(); // nothing committed: the group starts over
  ({ q, got } = await seen(5));
  assert.deepEqual(got.slice(0, 5), [1, 2, 3, 4, 5].map((n) => ({ n })));
  await q.commitHandled();
  assert.equal(q.committedOffset, 4n);
  await q.close();
  const after = await KafkaReadingQueue.connect({ brokers: [kafka.bootstrap], topic, group: 'g' });
  try {
    await after.publish({ n: 6 });
    const rest: unknown[] = [];
    after.consume(async (m) => void rest.push(m));
    await after.waitHandled(1, 60_000);
    assert.deepEqual(rest, [{ n: 6 }]);
  } finally {
    await after.close();
  }
});

test('kafka and jetstream: an unreachable server is STREAM_QUEUE_UNAVAILABLE', async () => {
  await assert.rejects(JetStreamReadingQueue.connect({ servers: 'nats://127.0.0.1:1' }), (e: unknown) => isVeriteeError(e, 'STREAM_QUEUE_UNAVAILABLE'));
  await assert.rejects(KafkaReadingQueue.connect({ brokers: ['127.0.0.1:1'], timeoutMs: 2000 }), (e: unknown) => isVeriteeError(e, 'STREAM_QUEUE_UNAVAILABLE'));
});

test('sliding windows: a processor that leaves a reading out of an overlapping window is caught, though that window\'s proof is valid', async () => {
  // plug-a at 1, 2, 3, 6, 7 minutes; windows of 10 minutes every 5: [-5, 5) holds 1..3, [0, 10) 1..5, [5, 15) 4..5
  const M = 60_000_000;
  const rs = [1, 2, 3, 6, 7].map((m, i) => signReading(a, { seq: i + 1, ts: T0 + m * M, value: 100 * (i + 1) }));
  const results: ChainRecord[] = [];
  const p = new StreamPipeline({ sensors, window: { sizeUs: 10 * M, slideUs: 5 * M, originUs: 0 }, threshold: 250, workers: 1, prove: proveWindow, onResult: (r) => void results.push(r) });
  for (const r of rs) assert.equal(await p.ingest(r), undefined);
  await p.flush();
  const ws = results as WindowResult[];
  assert.deepEqual(
    ws.map((w) => [w.startUs - T0, w.readings.map((r) => r.seq)]),
    [
      [-5 * M, [1, 2, 3]],
      [0, [1, 2, 3, 4, 5]],
      [5 * M, [4, 5]],
    ],
  );
  const opts = { sensors, keys, allowDevSetup: true, at };
  const v = verifyWindowResults(ws, opts);
  assert.deepEqual(
    v.windows.map((w) => [w.outputs.n, w.outputs.sum, w.outputs.above]),
    [
      [3, 600, 1],
      [5, 1500, 3],
      [2, 900, 2],
    ],
  );
  assert.equal(v.readings, 5);
  // the dishonest processor proves [0, 10) without reading 2 (a valid proof of a smaller window)
  const drop = (w: WindowResult, seq: number) => ({ ...w, readings: w.readings.filter((r) => r.seq !== seq) });
  const reprove = async (w: WindowResult, seqs: number[]) => ({ ...w, bundle: await proveWindow({ periodStartUs: w.startUs, periodEndUs: w.endUs, threshold: 250 }, { readings: rs.filter((r) => seqs.includes(r.seq)) }) });
  const mid = await reprove(drop(ws[1]!, 2), [1, 3, 4, 5]);
  code(() => verifyWindowResults(rechain([ws[0]!, mid, ws[2]!]), opts), 'STREAM_SEQUENCE_GAP', /record 2: sensor plug-a's readings 1\.\.5 in this window miss 1/);
  // reading 5 left out of [0, 10), at the window's end: the documented edge, not caught (README)
  const tail = await reprove(drop(ws[1]!, 5), [1, 2, 3, 4]);
  assert.equal(verifyWindowResults(rechain([ws[0]!, tail, ws[2]!]), opts).windows[1]!.outputs.n, 4);
  code(() => verifyWindowResults(rechain([ws[1]!, ws[0]!]), opts), 'STREAM_WINDOW_INVALID');
  // a later window holding readings from before an earlier window's: the bounds go down (checked before its proof)
  const back = { ...ws[2]!, startUs: ws[2]!.startUs + 10 * M, endUs: ws[2]!.endUs + 10 * M, readings: ws[1]!.readings.slice(1, 3) };
  code(() => verifyWindowResults(rechain([ws[0]!, ws[1]!, back]), opts), 'STREAM_SEQUENCE_GAP', /come before 1\.\.5/);
});
