/**
 * The runtime parts without a proof: sliding and tumbling window assignment and
 * lateness, restoring open windows, the state file (atomic, bound to its pipeline,
 * torn or edited files refused), the file sink (a record already there is not written
 * again, a torn last line is dropped), the pipeline file (YAML: schema, nesting bound,
 * unknown parts) and the builder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVeriteeError } from '@veritee/core';
import { WindowAssembler, sliding, tumbling, windowStartsOf } from './window.js';
import { StateFile, pipelineFingerprint } from './state.js';
import { FileResultSink } from './sink.js';
import { parsePipelineFile, pipeline, streamagg } from './pipeline-file.js';
import { generateSensorKey, sensorKeys, signReading } from './reading.js';
import { StreamPipeline } from './pipeline.js';

const M = 60_000_000;
const rejectsCode = (f: () => unknown, c: string, re?: RegExp) => assert.throws(f, (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test(e.message)));
const dir = mkdtempSync(join(tmpdir(), 'veritee-streams-rt-'));

test('sliding windows: a reading is in every window that covers it; windows close as event time passes; late readings are refused', () => {
  const w = sliding('10m', '5m');
  assert.deepEqual(windowStartsOf(w, 12 * M), [5 * M, 10 * M]);
  assert.deepEqual(windowStartsOf(w, 2 * M), [0]); // no window before the origin
  assert.deepEqual(windowStartsOf(tumbling('10m'), 12 * M), [10 * M]);
  const a = new WindowAssembler<string>(w);
  assert.deepEqual(a.add(1 * M, 'r1'), []);
  assert.deepEqual(a.add(6 * M, 'r2'), []);
  const closed = a.add(11 * M, 'r3');
  assert.deepEqual(closed, [{ startUs: 0, endUs: 10 * M, items: ['r1', 'r2'] }]);
  rejectsCode(() => a.add(4 * M, 'late'), 'STREAM_READING_LATE', /window starting at 0/);
  rejectsCode(() => a.add(7 * M, 'late'), 'STREAM_READING_LATE'); // in [5, 15), open, but also in [0, 10), closed
  assert.deepEqual(a.add(12 * M, 'r4'), []);
  assert.deepEqual(a.openItems(), ['r2', 'r3', 'r4']);
  assert.deepEqual(a.flush(), [
    { startUs: 5 * M, endUs: 15 * M, items: ['r2', 'r3', 'r4'] },
    { startUs: 10 * M, endUs: 20 * M, items: ['r3', 'r4'] },
  ]);
  // restored from a snapshot, an assembler closes the same windows
  const b = new WindowAssembler<string>(w);
  b.restore(11 * M, [
    { ts: 6 * M, item: 'r2' },
    { ts: 11 * M, item: 'r3' },
  ]);
  rejectsCode(() => b.add(4 * M, 'late'), 'STREAM_READING_LATE');
  assert.deepEqual(b.add(16 * M, 'r5'), [{ startUs: 5 * M, endUs: 15 * M, items: ['r2', 'r3'] }]);
  rejectsCode(() => sliding('10m', '11m'), 'STREAM_WINDOW_INVALID', /slide/);
  rejectsCode(() => sliding('10m', '1s'), 'STREAM_WINDOW_INVALID', /at most 64/);
  rejectsCode(() => tumbling('0s'), 'STREAM_WINDOW_INVALID');
});

test('state file: saved atomically, bound to its pipeline; torn, edited or foreign files are STREAM_STATE_INVALID', () => {
  const key = generateSensorKey('s1');
  const sensors = sensorKeys({ version: 1, sensors: [{ id: 's1', publicKey: key.publicKey }] });
  const fp = pipelineFingerprint({ sensors, window: tumbling('15m'), threshold: 5 });
  const path = join(dir, 'state.json');
  const st = new StateFile(path, fp);
  assert.equal(st.load(), undefined);
  const p = new StreamPipeline({ sensors, window: tumbling('15m'), threshold: 5, prove: () => Promise.reject(new Error('unused')), onResult: () => undefined });
  return (async () => {
    await p.ingest(signReading(key, { seq: 1, ts: 3 * M, value: 9 }));
    await p.ingest(signReading(key, { seq: 2, ts: 4 * M, value: 10 }));
    st.save(2, p.snapshot());
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const back = st.load()!;
    assert.equal(back.position, 2);
    assert.deepEqual(back.snapshot.lastTs, { s1: 4 * M });
    assert.deepEqual(back.snapshot, JSON.parse(JSON.stringify(p.snapshot())));
    // a sensor's readings must be in time order (reading 3 before reading 2's time, its window still open)
    const back3 = await p.ingest(signReading(key, { seq: 3, ts: 3 * M + 1, value: 1 }));
    assert.equal(back3?.code, 'STREAM_TIME_BACKWARDS');
    assert.deepEqual(p.snapshot().sequences, { s1: 2 });
    assert.deepEqual(p.snapshot().lastTs, { s1: 4 * M });
    // a pipeline restored from it expects reading 3 and holds the open window
    const q = new StreamPipeline({ sensors, window: tumbling('15m'), threshold: 5, prove: () => Promise.reject(new Error('unused')), onResult: () => undefined, restore: back.snapshot });
    assert.equal((await q.ingest(signReading(key, { seq: 2, ts: 5 * M, value: 1 })))?.code, 'STREAM_SEQUENCE_REPLAY');
    assert.equal((await q.ingest(signReading(key, { seq: 3, ts: 4 * M - 1, value: 1 })))?.code, 'STREAM_TIME_BACKWARDS'); // restored too
    assert.deepEqual(q.snapshot().open.map((r) => r.seq), [1, 2]);
    rejectsCode(() => new StateFile(path, pipelineFingerprint({ sensors, window: tumbling('15m'), threshold: 6 })).load(), 'STREAM_STATE_INVALID', /another pipeline/);
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('"position":2', '"position":1'));
    rejectsCode(() => st.load(), 'STREAM_STATE_INVALID', /digest/);
    writeFileSync(path, text.slice(0, text.length / 2));
    rejectsCode(() => st.load(), 'STREAM_STATE_INVALID');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(text), extra: 1 }));
    rejectsCode(() => st.load(), 'STREAM_STATE_INVALID', /malformed/);
  })();
});

test('file sink: a record already in the file is not written again; a torn last line is dropped', async () => {
  const path = join(dir, 'results.jsonl');
  let sink = new FileResultSink(path);
  await sink.send({ id: 'a'.repeat(64) });
  await sink.send({ id: 'b'.repeat(64) });
  await sink.send({ id: 'a'.repeat(64) });
  await sink.close();
  assert.equal(sink.duplicates, 1);
  appendFileSync(path, '{"id":"cc'); // a crash mid-write
  sink = new FileResultSink(path);
  await sink.send({ id: 'b'.repeat(64) });
  await sink.send({ id: 'c'.repeat(64) });
  await sink.close();
  assert.deepEqual(
    readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id[0]),
    ['a', 'b', 'c'],
  );
  writeFileSync(path, 'not json\n');
  rejectsCode(() => new FileResultSink(path), 'STREAM_STATE_INVALID');
});

test('pipeline file: YAML checked by schema and nesting bound; relative paths from its directory; the builder gives the same spec', () => {
  const yaml = ['version: 1', 'sensors: sensors.json', 'source:', '  input: signed.jsonl', '  queue: { kind: kafka, brokers: ["127.0.0.1:9092"], topic: readings }', 'window: { kind: sliding, size: 15m, slide: 5m }', 'aggregate: { kind: streamagg, threshold: 1500 }', 'sink: { kind: file, path: out/results.jsonl }', 'state: state.json', 'workers: 2', ''].join('\n');
  const spec = parsePipelineFile(yaml, '/srv/p');
  assert.deepEqual(spec, {
    sensors: '/srv/p/sensors.json',
    input: '/srv/p/signed.jsonl',
    queue: { kind: 'kafka', brokers: ['127.0.0.1:9092'], topic: 'readings' },
    window: { sizeUs: 15 * M, slideUs: 5 * M, originUs: 0 },
    threshold: 1500,
    sink: { kind: 'file', path: '/srv/p/out/results.jsonl' },
    state: '/srv/p/state.json',
    workers: 2,
  });
  const built = pipeline().sensors('/srv/p/sensors.json').from('/srv/p/signed.jsonl', { kind: 'kafka', brokers: ['127.0.0.1:9092'], topic: 'readings' }).window(sliding('15m', '5m')).aggregate(streamagg({ threshold: 1500 })).to({ kind: 'file', path: '/srv/p/out/results.jsonl' }).state('/srv/p/state.json').workers(2).spec();
  assert.deepEqual(built, spec);
  const bad = (text: string, re: RegExp) => rejectsCode(() => parsePipelineFile(text, '/srv'), 'STREAM_PIPELINE_INVALID', re);
  bad(yaml.replace('kind: sliding', 'kind: session'), /window/);
  bad(yaml.replace('kind: streamagg', 'kind: median'), /aggregate/);
  bad(yaml.replace('kind: kafka', 'kind: rabbitmq'), /queue/);
  bad(yaml.replace('slide: 5m', 'slide: 20m'), /slide/);
  bad(yaml.replace('workers: 2', 'workers: 0'), /workers/);
  bad(yaml + 'extra: 1\n', /extra|Unrecognized/i);
  bad('version: 1\nsensors: [' + '['.repeat(40) + ']'.repeat(41) + '\n', /nested too deeply/);
  bad('a: &x [1]\nb: *x\n', /YAML|alias/i);
  bad(': : :\n\t- ]', /YAML|malformed/);
  bad('x'.repeat(70_000), /over/);
  rejectsCode(() => pipeline().from('in.jsonl').spec(), 'STREAM_PIPELINE_INVALID', /sensors, window, threshold, sink/);
});
