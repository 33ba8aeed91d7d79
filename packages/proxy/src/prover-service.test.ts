/**
 * The remote prover: request validation (in process, with a stub pool), then end to end
 * with the real Go prover behind the attesting proxy at the 1024 size class: the bundle
 * comes back through the attested session and verifies locally.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { devSetup, KeyRing, ProverPool, type ProverPool as Pool } from '@veritee/zk';
import { createAttestedClient } from './client.js';
import { buildProverService } from './prover-service.js';
import { proveLatencyRemote } from './remote-prove.js';
import { devPolicy, latencyInput, sharedTee, startProxy, testHome } from './testing/fixtures.js';

/** A pool whose requests never finish (jobs stay queued/running). */
const stuckPool = { request: () => new Promise(() => {}), queued: 0, close: async () => {} } as unknown as Pool;

describe('prover service: bad requests get clear errors', () => {
  let app: Awaited<ReturnType<typeof buildProverService>>;
  before(async () => {
    app = await buildProverService({ pool: stuckPool, maxJobs: 2, bodyLimit: 64 * 1024 });
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

describe('remote prover behind the attesting proxy (1024 size class, real prover)', () => {
  let pool: ProverPool;
  let keys: KeyRing;
  let app: Awaited<ReturnType<typeof buildProverService>>;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  before(async () => {
    pool = new ProverPool({ home: testHome(), size: 1 });
    keys = new KeyRing();
    keys.add(await devSetup(pool, 'latency', 1024)); // cached in the shared test home
    app = await buildProverService({ pool });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    proxy = await startProxy(`http://127.0.0.1:${port}`);
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
      const r = await proveLatencyRemote(client, input, { keys, allowDevSetup: true, pollMs: 200, onStatus: (j) => statuses.push(j.status) });
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
});
