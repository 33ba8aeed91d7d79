/**
 * Nonce store cost per issue + consume with 1 000 and with 100 000 nonces outstanding
 * (issue 9: the old store scanned the whole map on every issue). The ratio should be
 * about 1. The clock is injected and advances 1 ms per operation, so expiry runs too.
 * Run: node --import tsx packages/attestation/bench/nonce.bench.ts
 */
import { NonceStore } from '../src/service/nonce.js';

function measure(outstanding: number, ops: number): number {
  let t = 0;
  // Lifetime long enough that the preloaded nonces stay outstanding for the whole run.
  const store = new NonceStore({ now: () => t }, { ttlMs: 10 * (outstanding + ops), maxEntries: outstanding + 10, maxPerClient: outstanding + 10 });
  for (let i = 0; i < outstanding; i++) store.issue(`c${i % 1000}`);
  const clients = Array.from({ length: 64 }, (_, i) => `x${i}`);
  // warm-up
  for (let i = 0; i < 20_000; i++) store.consume(store.issue(clients[i % 64]).nonce);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    t++;
    store.consume(store.issue(clients[i % 64]).nonce);
  }
  const ns = Number(process.hrtime.bigint() - t0) / ops;
  if (store.size !== outstanding) throw new Error(`expected ${outstanding} outstanding, found ${store.size}`);
  return ns;
}

/** Baseline: a bare Map with as many random 64-hex keys, one set + get + delete per op. */
function baseline(outstanding: number, ops: number): number {
  const hex = () => Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32))).toString('hex');
  const m = new Map<string, number>();
  for (let i = 0; i < outstanding; i++) m.set(hex(), i);
  for (let i = 0; i < 20_000; i++) {
    const k = hex();
    m.set(k, i);
    m.delete(k);
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    const k = hex();
    m.set(k, i);
    if (m.get(k) !== i) throw new Error('map');
    m.delete(k);
  }
  return Number(process.hrtime.bigint() - t0) / ops;
}

const ops = 200_000;
const rows: Array<[number, number]> = [];
for (const n of [1_000, 100_000]) {
  const runs = [measure(n, ops), measure(n, ops), measure(n, ops)].sort((a, b) => a - b);
  rows.push([n, runs[1]!]);
}
for (const [n, ns] of rows) console.log(`${String(n).padStart(7)} outstanding: ${(ns / 1000).toFixed(2)} µs per issue+consume (median of 3 runs of ${ops})`);
console.log(`ratio 100k / 1k: ${(rows[1]![1] / rows[0]![1]).toFixed(2)}`);
const base = [1_000, 100_000].map((n) => [baseline(n, ops), baseline(n, ops), baseline(n, ops)].sort((a, b) => a - b)[1]!);
console.log(`baseline (bare Map, random key, set+get+delete): ${(base[0]! / 1000).toFixed(2)} µs vs ${(base[1]! / 1000).toFixed(2)} µs, ratio ${(base[1]! / base[0]!).toFixed(2)}`);
