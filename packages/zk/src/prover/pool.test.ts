/**
 * The prover pool against the real Go prover: queueing, timeouts, cancellation,
 * protocol errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVeriteeError } from '@veritee/core';
import { ProverPool } from './pool.js';
import { ProverProcess } from './process.js';

const tmpHome = () => mkdtempSync(join(tmpdir(), 'veritee-pool-'));
const code = (c: string) => (e: unknown) => isVeriteeError(e) && e.code === c;

test('info answers and queued requests all complete on one process', async () => {
  const home = tmpHome();
  const pool = new ProverPool({ home, size: 1 });
  try {
    const all = await Promise.all(Array.from({ length: 5 }, () => pool.request<{ protocol: string; circuits: { name: string }[] }>({ op: 'info' })));
    for (const r of all) {
      assert.equal(r.protocol, 'veritee.prover/v1');
      assert.ok(r.circuits.map((c) => c.name).includes('latency'));
    }
  } finally {
    await pool.close();
    rmSync(home, { recursive: true, force: true });
  }
});

test('prover errors keep their stable codes', async () => {
  const home = tmpHome();
  const pool = new ProverPool({ home, size: 1 });
  try {
    await assert.rejects(pool.request({ op: 'prove', circuit: 'latency', capacity: 1024, input: {} }), code('ZK_SETUP_MISSING'));
    await assert.rejects(pool.request({ op: 'setup', circuit: 'nope', capacity: 1024 }), code('CLAIM_UNKNOWN'));
    await assert.rejects(pool.request({ op: 'setup', circuit: 'latency', capacity: 1000 }), code('INPUT_INVALID'));
    await assert.rejects(pool.request({ op: 'frobnicate' } as never), code('INPUT_INVALID'));
    await assert.rejects(pool.request({ op: 'verify' }), code('ZK_BUNDLE_INVALID'));
  } finally {
    await pool.close();
    rmSync(home, { recursive: true, force: true });
  }
});

test('a request that runs too long times out, and the pool recovers', async () => {
  const home = tmpHome();
  const pool = new ProverPool({ home, size: 1 });
  try {
    // a dev setup of the 1024 class takes seconds: 50 ms is far too short
    await assert.rejects(pool.request({ op: 'setup', circuit: 'latency', capacity: 1024 }, { timeoutMs: 50 }), code('ZK_PROVER_TIMEOUT'));
    const r = await pool.request<{ protocol: string }>({ op: 'info' });
    assert.equal(r.protocol, 'veritee.prover/v1', 'a fresh process serves the next request');
  } finally {
    await pool.close();
    rmSync(home, { recursive: true, force: true });
  }
});

test('cancellation: while running (process killed) and while queued', async () => {
  const home = tmpHome();
  const pool = new ProverPool({ home, size: 1 });
  try {
    const running = new AbortController();
    const queued = new AbortController();
    const p1 = pool.request({ op: 'setup', circuit: 'latency', capacity: 1024 }, { signal: running.signal });
    const p2 = pool.request({ op: 'info' }, { signal: queued.signal });
    assert.equal(pool.queued, 1);
    queued.abort();
    await assert.rejects(p2, (e: unknown) => code('ZK_PROVER_CANCELLED')(e) && /queued/.test((e as Error).message));
    setTimeout(() => running.abort(), 100);
    await assert.rejects(p1, (e: unknown) => code('ZK_PROVER_CANCELLED')(e) && /running/.test((e as Error).message));
    const already = new AbortController();
    already.abort();
    await assert.rejects(pool.request({ op: 'info' }, { signal: already.signal }), code('ZK_PROVER_CANCELLED'));
    assert.equal((await pool.request<{ protocol: string }>({ op: 'info' })).protocol, 'veritee.prover/v1');
  } finally {
    await pool.close();
    rmSync(home, { recursive: true, force: true });
  }
});

test('a missing prover binary is a clear environment error', () => {
  assert.throws(() => new ProverProcess({ home: tmpdir(), binary: '/nonexistent/veritee-prover' }), code('ZK_PROVER_UNAVAILABLE'));
});

test('a closed pool refuses work', async () => {
  const pool = new ProverPool({ home: tmpdir(), size: 1 });
  await pool.close();
  await assert.rejects(pool.request({ op: 'info' }), code('ZK_PROVER_UNAVAILABLE'));
});
