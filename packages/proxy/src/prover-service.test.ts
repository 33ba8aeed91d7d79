/**
 * The remote prover: request validation (in process, with a stub pool), then end to end
 * with the real Go prover behind the attesting proxy at the 1024 size class: the bundle
 * comes back through the attested session and verifies locally.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { isVeriteeError, VeriteeError } from '@veritee/core';
import { devSetup, KeyRing, ProverPool, type ProverPool as Pool } from '@veritee/zk';
import { createAttestedClient } from './client.js';
import { buildProverService, clientSafeError, type JobView } from './prover-service.js';
import { proveLatencyRemote } from './remote-prove.js';
import { devPolicy, latencyInput, logCapture, sharedTee, startProxy, testHome } from './testing/fixtures.js';

/**
 * A pool of `size` processes whose requests never finish by themselves; like the real
 * pool, a request is rejected when its signal aborts. `started` counts requests begun.
 */
function stuckPool(size = 1): Pool & { started: number } {
  const state = { started: 0 };
  return {
    size,
    queued: 0,
    get started() {
      return state.started;
    },
    request: (_req: unknown, o?: { signal?: AbortSignal }) =>
      new Promise((_, reject) => {
        state.started++;
        o?.signal?.addEventListener('abort', () => reject(new VeriteeError('ZK_PROVER_CANCELLED', 'request cancelled while running')), { once: true });
      }),
    close: async () => {},
  } as unknown as Pool & { started: number };
}

/** A pino destination that keeps every line (for Fastify's `logger.stream`). */
function lineSink(): { stream: Writable; text: () => string } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { stream, text: () => out.join('') };
}

describe('prover service: bad requests get clear errors', () => {
  let app: Awaited<ReturnType<typeof buildProverService>>;
  before(async () => {
    app = await buildProverService({ pool: stuckPool(2), maxJobs: 2, bodyLimit: 64 * 1024 });
  });
  after(async () => {
    await app.close();
  });

  const post = (payload: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    app.inject({ method: 'POST', url: '/v1/prove', headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
  const code = (r: { json: () => unknown }) => (r.json() as { error: { code: string; message: string } }).error;

  test('400 INPUT_INVALID: missing or unknown fields, named', async () => {
    const r = await post({ claim: 'latency', records: [0, 1] });
    assert.equal(r.statusCode, 400);
    assert.equal(code(r).code, 'INPUT_INVALID');
    assert.match(code(r).message, /params/);
    const r2 = await post({ ...latencyInput(2), claim: 'latency', extra: 1 });
    assert.equal(r2.statusCode, 400);
    assert.match(code(r2).message, /unknown key\(s\) extra/);
  });

  test('400 with record codes; the message names the record and never echoes values', async () => {
    const input = latencyInput(3);
    input.records[3] = input.records[2]! - 5; // record 2 ends before it starts
    const r = await post({ claim: 'latency', ...input });
    assert.equal(r.statusCode, 400);
    assert.equal(code(r).code, 'RECORD_END_BEFORE_START');
    assert.match(code(r).message, /record 2/);
    assert.ok(!code(r).message.includes(String(input.records[2])));
  });

  test('400 INPUT_JSON_INVALID for broken JSON, 413 for an oversized body', async () => {
    const r = await post('{"claim": "latency", "records": [1,');
    assert.equal(r.statusCode, 400);
    assert.equal(code(r).code, 'INPUT_JSON_INVALID');
    assert.ok(!code(r).message.includes('records'), 'the parser error does not quote the body');
    const big = await post({ claim: 'latency', ...latencyInput(5000) });
    assert.equal(big.statusCode, 413);
    assert.equal(code(big).code, 'PROXY_REQUEST_TOO_LARGE');
  });

  test('202 then job status; 409 until the bundle exists; 404 for unknown jobs; 503 when full', async () => {
    const r = await post({ claim: 'latency', ...latencyInput(10) });
    assert.equal(r.statusCode, 202);
    const job = r.json() as { id: string; status: string; links: { bundle: string } };
    assert.match(job.id, /^[0-9a-f]{32}$/);
    assert.equal(r.headers['location'], `/v1/jobs/${job.id}`);
    const s = await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` });
    assert.equal(s.statusCode, 200);
    assert.ok(['queued', 'running'].includes((s.json() as { status: string }).status));
    const b = await app.inject({ method: 'GET', url: job.links.bundle });
    assert.equal(b.statusCode, 409);
    assert.equal(code(b).code, 'PROXY_JOB_NOT_READY');
    const missing = await app.inject({ method: 'GET', url: `/v1/jobs/${'0'.repeat(32)}/bundle` });
    assert.equal(missing.statusCode, 404);
    assert.equal(code(missing).code, 'PROXY_JOB_NOT_FOUND');
    assert.equal((await post({ claim: 'latency', ...latencyInput(10) })).statusCode, 202);
    const full = await post({ claim: 'latency', ...latencyInput(10) });
    assert.equal(full.statusCode, 503);
    assert.equal(code(full).code, 'PROXY_PROVER_BUSY');
    const cancelled = await app.inject({ method: 'DELETE', url: `/v1/jobs/${job.id}` });
    assert.equal(cancelled.statusCode, 200);
    const route = await app.inject({ method: 'GET', url: '/v2/nothing' });
    assert.equal(route.statusCode, 404);
    assert.equal(code(route).code, 'ROUTE_NOT_FOUND');
  });
});

describe('prover service: queue, cancellation, logs and errors (stub pool of 1)', () => {
  test('a pool of 1 and two jobs: the second is queued until the first ends; cancelling either frees the slot', async () => {
    const pool = stuckPool(1);
    const app = await buildProverService({ pool });
    try {
      const post = async () => (await app.inject({ method: 'POST', url: '/v1/prove', payload: { claim: 'latency', ...latencyInput(10) } })).json() as JobView;
      const status = async (id: string) => ((await app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json() as JobView).status;
      const a = await post();
      const b = await post();
      const c = await post();
      assert.equal(await status(a.id), 'running');
      assert.equal(await status(b.id), 'queued', 'not picked up by a prover process yet');
      assert.equal(await status(c.id), 'queued');
      assert.equal(pool.started, 1);
      // Cancelling a queued job: cancelled at once, its inputs dropped, nothing started.
      const cb = (await app.inject({ method: 'DELETE', url: `/v1/jobs/${b.id}` })).json() as JobView;
      assert.equal(cb.status, 'cancelled');
      assert.equal(app.jobs.get(b.id)?.input, undefined);
      // Cancelling the running one frees the slot for c (b is skipped).
      const ca = (await app.inject({ method: 'DELETE', url: `/v1/jobs/${a.id}` })).json() as JobView;
      assert.equal(ca.status, 'cancelled');
      assert.equal(ca.error?.code, 'ZK_PROVER_CANCELLED');
      await new Promise((r) => setImmediate(r));
      assert.equal(await status(c.id), 'running');
      assert.equal(await status(b.id), 'cancelled');
      assert.equal(pool.started, 2);
    } finally {
      await app.close();
    }
  });

  test('clientSafeError: no server paths in what a remote client sees', () => {
    const job = { claim: 'latency', capacity: 4096 };
    const missing = clientSafeError(new VeriteeError('ZK_SETUP_MISSING', 'no keys for latency (4096 records) in /srv/veritee/keys/latency-v1-4096: run `veritee zk setup`'), job);
    assert.equal(missing.message, 'no keys for circuit latency size 4096 on the prover (its operator must run a trusted setup for this size class)');
    const spawn = clientSafeError(new VeriteeError('ZK_PROVER_UNAVAILABLE', 'prover binary not found at /opt/veritee/bin/veritee-prover: run `npm install`'), job);
    assert.equal(spawn.message, 'prover binary not found at [path]: run `npm install`');
    assert.equal(clientSafeError(new VeriteeError('ZK_PROVER_FAILED', 'cannot read "C:\\keys\\pk.bin"'), job).message, 'cannot read "[path]"');
    assert.equal(clientSafeError(new VeriteeError('INTERNAL', 'ENOENT /home/op/.veritee'), job).message, 'internal error in the prover (details are in its log)');
    assert.equal(clientSafeError(new VeriteeError('INPUT_INVALID', 'period start/end: p95<100ms'), job).message, 'period start/end: p95<100ms');
  });

  test('ZK_SETUP_MISSING from the real prover: the client sees no path, the server log has it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'veritee-nokeys-'));
    const pool = new ProverPool({ home, size: 1 });
    const sink = lineSink();
    const app = await buildProverService({ pool, logger: { stream: sink.stream } });
    try {
      const job = (await app.inject({ method: 'POST', url: '/v1/prove', payload: { claim: 'latency', ...latencyInput(10) } })).json() as JobView;
      let view = job;
      for (let i = 0; i < 300 && (view.status === 'queued' || view.status === 'running'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        view = (await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` })).json() as JobView;
      }
      assert.equal(view.status, 'failed');
      assert.equal(view.error?.code, 'ZK_SETUP_MISSING');
      assert.equal(view.error?.message, 'no keys for circuit latency size 1024 on the prover (its operator must run a trusted setup for this size class)');
      const bundle = await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/bundle` });
      assert.equal(bundle.statusCode, 500);
      assert.ok(!bundle.body.includes(home), 'the bundle route names no path either');
      assert.ok(sink.text().includes(home), 'the server log keeps the full message');
      assert.ok(!sink.text().includes(job.id), 'and never the job id');
    } finally {
      await app.close();
      await pool.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('remote prover behind the attesting proxy (1024 size class, real prover)', () => {
  let pool: ProverPool;
  let keys: KeyRing;
  let app: Awaited<ReturnType<typeof buildProverService>>;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const proverLog = lineSink();
  const proxyLog = logCapture();
  /** Every job id seen by the tests below: none may reach a log. */
  const ids: string[] = [];
  before(async () => {
    pool = new ProverPool({ home: testHome(), size: 1 });
    keys = new KeyRing();
    keys.add(await devSetup(pool, 'latency', 1024)); // cached in the shared test home
    app = await buildProverService({ pool, logger: { stream: proverLog.stream } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    proxy = await startProxy(`http://127.0.0.1:${port}`, { logger: proxyLog.logger });
  });
  const client = async () => createAttestedClient({ baseUrl: proxy.url, policy: devPolicy(), simulatedAnchors: (await sharedTee()).anchors });

  test('cancelled while running (abort signal): the client sends DELETE, the job is cancelled, its process slot freed', async () => {
    const c = await client();
    const ac = new AbortController();
    let cancelled: JobView | undefined;
    try {
      await assert.rejects(
        proveLatencyRemote(c, latencyInput(1000), {
          keys,
          allowDevSetup: true,
          pollMs: 50,
          signal: ac.signal,
          onStatus: (j) => {
            ids.push(j.id);
            if (j.status === 'running') ac.abort();
          },
          onCancel: (j) => (cancelled = j),
        }),
        (e: unknown) => isVeriteeError(e, 'ZK_PROVER_CANCELLED') && /cancelled by the caller \(the prover reports it cancelled\)/.test((e as Error).message),
      );
      assert.equal(cancelled?.status, 'cancelled');
      assert.equal(app.jobs.get(cancelled!.id)?.status, 'cancelled');
      assert.equal(app.jobs.get(cancelled!.id)?.input, undefined);
      const health = (await (await c.fetch('/healthz')).json()) as { unfinished: number };
      assert.equal(health.unfinished, 0);
    } finally {
      await c.close();
    }
  });

  test('a pool of 1 and two jobs: the second reports queued until a prover process takes it; both succeed', async () => {
    const c = await client();
    try {
      const submit = async (seed: number) => {
        const r = await c.fetch('/v1/prove', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ claim: 'latency', ...latencyInput(600, seed) }) });
        assert.equal(r.status, 202);
        return (await r.json()) as JobView;
      };
      const first = await submit(1);
      const second = await submit(2);
      ids.push(first.id, second.id);
      const seen: Record<string, string[]> = { [first.id]: [], [second.id]: [] };
      for (let i = 0; i < 1200; i++) {
        for (const id of [first.id, second.id]) {
          const s = ((await (await c.fetch(`/v1/jobs/${id}`)).json()) as JobView).status;
          if (seen[id]!.at(-1) !== s) seen[id]!.push(s);
        }
        if (seen[second.id]!.at(-1) === 'succeeded') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(seen[first.id], ['running', 'succeeded'], 'the slot freed by the cancelled job is free again');
      assert.deepEqual(seen[second.id], ['queued', 'running', 'succeeded']);
    } finally {
      await c.close();
    }
  });
  after(async () => {
    await proxy?.close();
    await app?.close();
    await pool?.close();
  });

  test('private inputs go only to the attested prover; the bundle it returns verifies locally', async () => {
    const client = createAttestedClient({ baseUrl: proxy.url, policy: devPolicy(), simulatedAnchors: (await sharedTee()).anchors });
    const statuses: string[] = [];
    try {
      const input = latencyInput(1000);
      const r = await proveLatencyRemote(client, input, {
        keys,
        allowDevSetup: true,
        pollMs: 200,
        onStatus: (j) => {
          statuses.push(j.status);
          ids.push(j.id);
        },
      });
      assert.equal(r.submitted.verified, true, 'the inputs travelled on a verified session');
      assert.equal(r.received.verified, true, 'the bundle came back signed by the enclave');
      assert.equal(r.verification.ok, true, JSON.stringify(r.verification.checks));
      assert.equal(r.job.status, 'succeeded');
      assert.equal(r.job.capacity, 1024);
      assert.equal((r.verification.bundle?.claim.outputs as { n: number } | undefined)?.n, 1000);
      assert.equal(statuses.at(-1), 'succeeded');
      // The job keeps no private inputs once proven.
      assert.equal(app.jobs.get(r.job.id)?.input, undefined);
    } finally {
      await client.close();
    }
  });

  test('no job id (the capability to read a bundle) in the proxy log or the prover log', () => {
    assert.ok(ids.length >= 3);
    const logs = { proxy: proxyLog.text(), prover: proverLog.text() };
    assert.match(logs.proxy, /"path":"\/v1\/jobs\/\[redacted\]"/, 'the proxy logged job requests, redacted');
    assert.match(logs.prover, /\/v1\/jobs\/\[redacted\]/, 'the prover logged job requests, redacted');
    for (const id of new Set(ids)) {
      for (const [name, text] of Object.entries(logs)) assert.ok(!text.includes(id), `job id ${id} appears in the ${name} log`);
    }
  });
});
