/**
 * Streams benchmark: the sensor and processor costs outside the proof (signing a
 * reading, checking one: signature and digest opening) and one window end to end
 * at the smallest size class (180 readings of a 15-minute window, the DEBS 2014 Q1
 * slice shape): ingest and prove through the pipeline, then verify the results
 * (signatures, sequences, commitment, Groth16 in TypeScript).
 * Run: node --import tsx packages/streams/bench/streams.bench.ts [--windows 3]
 * Uses the veritee home ($VERITEE_HOME or ~/.veritee); a missing key is made by a dev setup.
 */
import { loadavg } from 'node:os';
import { devSetup, KeyRing, prove, ProverPool, veriteeHome } from '@veritee/zk';
import { checkSignedReading, generateSensorKey, sensorKeys, signReading, StreamPipeline, verifyWindowResults, type SignedReading, type WindowResult } from '../src/index.js';

const arg = process.argv.indexOf('--windows');
const WINDOWS = arg > 0 ? Number(process.argv[arg + 1]) : 3;
const PER_WINDOW = 180;
const W = 900_000_000;
const T0 = Date.UTC(2026, 0, 5) * 1000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(0)} µs`);

const key = generateSensorKey('plug-1');
const sensors = sensorKeys({ version: 1, sensors: [{ id: key.sensor, publicKey: key.publicKey }] });
const readings: SignedReading[] = [];
let t = performance.now();
for (let i = 0; i < (WINDOWS + 1) * PER_WINDOW; i++) readings.push(signReading(key, { seq: i + 1, ts: T0 + Math.floor((i * W) / PER_WINDOW), value: (i * 7919) % 3_000_000 }));
const signMs = (performance.now() - t) / readings.length;
t = performance.now();
for (const r of readings) checkSignedReading(sensors, r);
const checkMs = (performance.now() - t) / readings.length;

const pool = new ProverPool({ home: veriteeHome(), size: 1, timeoutMs: 3600_000 });
const keys = new KeyRing();
try {
  keys.add(await devSetup(pool, 'streamagg', 256));
  const results: WindowResult[] = [];
  const proveMs: number[] = [];
  const pipeline = new StreamPipeline({
    sensors,
    window: { sizeUs: W, originUs: 0 },
    threshold: 2_000_000,
    prove: async (params, data) => {
      const t0 = performance.now();
      const r = await prove(pool, 'streamagg', { params, data });
      proveMs.push(performance.now() - t0);
      return r.bundle;
    },
    onResult: (r) => void results.push(r),
  });
  // the first window warms the prover (keys loaded); the last one stays open and is not proven
  const ingestMs: number[] = [];
  for (let wdx = 0; wdx <= WINDOWS; wdx++) {
    const t0 = performance.now();
    for (const r of readings.slice(wdx * PER_WINDOW, (wdx + 1) * PER_WINDOW)) await pipeline.ingest(r);
    ingestMs.push(performance.now() - t0);
  }
  const verifyMs: number[] = [];
  for (let i = 0; i < results.length; i++) {
    const t0 = performance.now();
    verifyWindowResults([results[i]!], { sensors, keys, allowDevSetup: true, at: Date.now(), resume: { 'plug-1': i * PER_WINDOW }, ...(i > 0 ? { chainFrom: { seq: i, id: results[i - 1]!.id } } : {}) });
    verifyMs.push(performance.now() - t0);
  }
  const warm = proveMs.slice(1);
  console.log(`## Streams (streamagg, ${PER_WINDOW} readings per 15-minute window, size class 256; ${results.length} windows, first one warm-up)\n`);
  console.log('| sign a reading | check a reading (signature + digest) | prove a window (pipeline, wall, median) | verify a window (TS: signatures, sequences, commitment, Groth16; median) | load avg |');
  console.log('|---:|---:|---:|---:|---:|');
  console.log(`| ${fmt(signMs)} | ${fmt(checkMs)} | ${fmt(median(warm.length ? warm : proveMs))} | ${fmt(median(verifyMs))} | ${loadavg()[0]!.toFixed(1)} |`);
  console.log('\nzkStream (Middleware \'24, 48 cores): 4.08 s per historical slice proof, 47–49 ms verification per proof, 418 µs per signature check.');
} finally {
  await pool.close();
}
