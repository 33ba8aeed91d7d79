/**
 * Streams sustained throughput: readings/s ingested and proven with 1 and 2 proving
 * workers (ProverPool of the same size; windows proven concurrently, emitted in order,
 * chained). 180 readings per 15-minute window (the DEBS 2014 Q1 slice shape), size
 * class 256; a warm-up window first (keys loaded in every worker), then the clock runs
 * from the first reading to the last window emitted. Readings are signed beforehand
 * (the sensors' cost, not the processor's); the processor checks each (signature,
 * digest opening, sequence, window) and proves each window.
 * A second table: the transports alone (a real KRaft broker on loopback for Kafka):
 * readings published one by one (each awaited: Kafka acks = all) and consumed, each
 * checked (signature, digest), no proof.
 * Run: node --import tsx packages/streams/bench/throughput.bench.ts [--windows 6] [--no-kafka]
 * Uses the veritee home ($VERITEE_HOME or ~/.veritee); a missing key is made by a dev setup.
 */
import { loadavg } from 'node:os';
import { devSetup, KeyRing, prove, ProverPool, veriteeHome } from '@veritee/zk';
import { checkSignedReading, generateSensorKey, InProcessQueue, KafkaReadingQueue, sensorKeys, signReading, StreamPipeline, verifyWindowResults, type ReadingQueue, type SignedReading, type WindowResult } from '../src/index.js';
import { startKafka } from '../src/kafka-broker.js';

const arg = process.argv.indexOf('--windows');
const WINDOWS = arg > 0 ? Number(process.argv[arg + 1]) : 6;
const PER_WINDOW = 180;
const W = 900_000_000;
const T0 = Date.UTC(2026, 0, 5) * 1000;

const key = generateSensorKey('plug-1');
const sensors = sensorKeys({ version: 1, sensors: [{ id: key.sensor, publicKey: key.publicKey }] });
// warm-up window, WINDOWS measured windows, and one reading that closes the last of them
const readings: SignedReading[] = [];
for (let i = 0; i < (WINDOWS + 1) * PER_WINDOW + 1; i++) readings.push(signReading(key, { seq: i + 1, ts: T0 + Math.floor((i * W) / PER_WINDOW), value: (i * 7919) % 3_000_000 }));

const rows: string[] = [];
for (const workers of [1, 2]) {
  const pool = new ProverPool({ home: veriteeHome(), size: workers, timeoutMs: 3600_000 });
  const keys = new KeyRing();
  try {
    keys.add(await devSetup(pool, 'streamagg', 256));
    const results: WindowResult[] = [];
    let firstEmitted = 0;
    const pipeline = new StreamPipeline({
      sensors,
      window: { sizeUs: W, originUs: 0 },
      threshold: 2_000_000,
      workers,
      resume: { 'plug-1': PER_WINDOW },
      prove: async (params, data) => (await prove(pool, 'streamagg', { params, data })).bundle,
      onResult: (r) => {
        results.push(r);
        if (results.length === 1) firstEmitted = performance.now();
      },
    });
    // warm-up: each worker proves a window (keys loaded) before the clock runs
    await Promise.all(Array.from({ length: workers }, () => prove(pool, 'streamagg', { params: { periodStartUs: T0, periodEndUs: T0 + W, threshold: 1 }, data: { readings: readings.slice(0, PER_WINDOW) } })));
    const t0 = performance.now();
    for (const r of readings.slice(PER_WINDOW)) await pipeline.ingest(r);
    const ingestedMs = performance.now() - t0;
    await pipeline.flush();
    const ms = performance.now() - t0;
    const proven = results.reduce((n, r) => n + r.readings.length, 0);
    const v = verifyWindowResults(results, { sensors, keys, allowDevSetup: true, at: Date.now(), resume: { 'plug-1': PER_WINDOW } });
    if (v.windows.length !== results.length) throw new Error('results did not verify');
    rows.push(`| ${workers} | ${results.length} | ${proven} | ${(ms / 1000).toFixed(1)} s | ${((ms - (firstEmitted - t0)) / Math.max(1, results.length - 1) / 1000).toFixed(2)} s | ${(proven / (ms / 1000)).toFixed(1)} | ${(ingestedMs / 1000).toFixed(1)} s | ${loadavg()[0]!.toFixed(1)} |`);
  } finally {
    await pool.close();
  }
}
console.log(`## Streams sustained throughput (streamagg, ${PER_WINDOW} readings per 15-minute window, size class 256, ${WINDOWS} windows after a warm-up)\n`);
console.log('| proving workers | windows | readings proven | wall (first reading → last window emitted) | per window after the first | readings/s ingested and proven | ingest returned after | load avg (1 min) |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);

const transport: string[] = [];
const N = 1000;
const sample = readings.slice(0, N);
const queues: [string, () => Promise<ReadingQueue>][] = [['in-process', async () => new InProcessQueue()]];
const kafka = process.argv.includes('--no-kafka') ? undefined : await startKafka();
if (kafka) queues.push(['Kafka (KRaft, 1 partition)', () => KafkaReadingQueue.connect({ brokers: [kafka.bootstrap], topic: `bench-${Date.now()}`, group: 'bench', commitEach: false })]);
try {
  for (const [name, make] of queues) {
    const q = await make();
    try {
      q.consume(async (m) => void checkSignedReading(sensors, m));
      const t0 = performance.now();
      for (const r of sample) await q.publish(r);
      const pub = performance.now() - t0;
      await q.waitHandled(N, 600_000);
      await q.commitHandled();
      const ms = performance.now() - t0;
      transport.push(`| ${name} | ${N} | ${(N / (pub / 1000)).toFixed(0)} | ${(N / (ms / 1000)).toFixed(0)} | ${loadavg()[0]!.toFixed(1)} |`);
    } finally {
      await q.close();
    }
  }
} finally {
  await kafka?.stop();
}
console.log('\n## Streams transport (no proof: publish each reading, awaited; consume and check signature + digest)\n');
console.log('| queue | readings | published/s | delivered and checked/s | load avg (1 min) |');
console.log('|---|---:|---:|---:|---:|');
for (const r of transport) console.log(r);
