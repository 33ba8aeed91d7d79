/**
 * The loop the gateway exists for: traffic through it on loopback (a fast and a slow
 * backend, a rate-limited client, a backend killed mid-run), a period closed, and the
 * published bundles fetched over an attested session and verified (whole chain):
 * the latency bundle covers exactly the requests an upstream answered, its percentiles
 * match the client's own measurements within loopback overhead, and the health bundle
 * counts the rate-limited request and the failed health checks. Plus the spool.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVeriteeError } from '@veritee/core';
import { parsePolicy } from '@veritee/attestation';
import { createAttestedClient } from '@veritee/proxy';
import { loadKeyRingFromHome, nearestRank, productionBundlePolicy, verifyBundle } from '@veritee/zk';
import { baseConfig, ensureGatewayTestKeys, gatewayTestHome, send, startBackend, startGateway, type Backend } from './testing.js';
import { FLAG_SERVED, periodFunction, RecordStore } from './records.js';
import { SLAS_PATH, type SlaIndex } from './scheduler.js';

const home = gatewayTestHome();
/** The slow backend's delay: half the api requests (round-robin) take at least this long at the gateway. */
const SLOW_MS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PERIOD_S = 8;

describe('scheduled SLA proofs over the served traffic', () => {
  let fast: Backend, slow: Backend, victim: Backend;
  let g: Awaited<ReturnType<typeof startGateway>>;
  const clientMs: number[] = [];
  let served = 0;
  let total = 0;
  let period: { startMs: number; endMs: number };

  before(async () => {
    await ensureGatewayTestKeys(home);
    [fast, slow, victim] = await Promise.all([startBackend('fast', 0), startBackend('slow', SLOW_MS), startBackend('victim', 0)]);
    const periodOf = periodFunction({ seconds: PERIOD_S });
    g = await startGateway(
      baseConfig({
        pools: {
          api: { balance: 'round-robin', backends: [fast.url, slow.url], healthCheck: false },
          flaky: { backends: [victim.url], healthCheck: { intervalMs: 150, timeoutMs: 100, unhealthyAfter: 1, healthyAfter: 1 } },
        },
        routes: [
          { name: 'api', pathPrefix: '/api', pool: 'api' },
          { name: 'tiny', pathPrefix: '/tiny', pool: 'flaky', rateLimit: { ratePerSec: 0.01, burst: 2 } },
        ],
        slas: {
          period: { seconds: PERIOD_S },
          latency: 'p95<500ms,p99<1s,min=1',
          groups: { tiny: { latency: 'p95<100ms,min=1000' } },
          graceMs: 0,
          health: { max5xx: 50, minAvailability: 99, minConnection: 50, maxRateLimited: 0 },
        },
      }),
    );
    // Start early in a period, so that all the traffic falls in one (a shared machine is slow).
    const now = Date.now();
    if (periodOf(now).endMs - now < 6000) await sleep(periodOf(now).endMs - now + 20);
    period = periodOf(Date.now());
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    // The TLS handshake on a request the gateway answers itself (not served: not in the latency claim).
    assert.equal((await send(g.url, SLAS_PATH, { agent })).status, 200);
    total++;
    for (let i = 0; i < 25; i++) {
      const r = await send(g.url, `/api/item/${i}`, { agent });
      assert.equal(r.status, 200);
      clientMs.push(r.ms);
      served++;
      total++;
    }
    // Two requests to tiny pass, the third is rate-limited; then its backend dies.
    for (let i = 0; i < 3; i++) total += (await send(g.url, '/tiny/x', { agent })).status > 0 ? 1 : 0;
    await sleep(400); // a few passed health checks
    await victim.close();
    await sleep(500); // failed health checks
    agent.destroy();
    assert.ok(Date.now() < period.endMs, 'the traffic fit in one period (machine too slow?)');
    await sleep(period.endMs - Date.now() + 50);
    await g.gw.scheduler.runDue(period.endMs);
  });
  after(async () => {
    await g?.close();
    await Promise.all([fast, slow].map((b) => b.close()));
  });

  const policy = () => parsePolicy({ name: 'dev', platforms: ['snp'], allowSimulated: true, snp: { measurements: 'any' }, reportData: { require: ['nonce', 'publicKeyHash'] } });

  async function fetchPublished(): Promise<{ index: SlaIndex; bundles: Map<string, string> }> {
    const client = createAttestedClient({ baseUrl: g.url, policy: policy(), allowSimulated: true });
    try {
      const res = await client.fetch(SLAS_PATH);
      assert.equal(res.status, 200);
      assert.equal(res.attestation.verified, true, 'the index came over an attested session, signed');
      const index = JSON.parse(await res.text()) as SlaIndex;
      const bundles = new Map<string, string>();
      for (const e of index.entries) {
        if (!e.bundle) continue;
        const r = await client.fetch(e.bundle);
        assert.equal(r.status, 200);
        bundles.set(e.bundle, await r.text());
      }
      return { index, bundles };
    } finally {
      await client.close();
    }
  }

  test('the index lists the period by route group; the thin group says it is insufficient', async () => {
    const { index } = await fetchPublished();
    assert.equal(index.format, 'veritee.gateway.slas/v1');
    assert.equal(index.periodSeconds, PERIOD_S);
    const mine = index.entries.filter((e) => e.periodStart === new Date(period.startMs).toISOString());
    const by = (group: string, kind: string) => mine.find((e) => e.group === group && e.kind === kind)!;
    assert.equal(by('api', 'latency').status, 'proven', JSON.stringify(by('api', 'latency')));
    assert.equal(by('api', 'latency').n, served);
    const tiny = by('tiny', 'latency');
    assert.equal(tiny.status, 'insufficient');
    assert.equal(tiny.n, 2);
    assert.equal(tiny.compliant, false);
    assert.match(tiny.detail!, /fewer than the SLA minimum of 1000/);
    assert.equal(by('*', 'gateway').status, 'proven', JSON.stringify(by('*', 'gateway')));
  });

  test('the latency bundle verifies (whole chain) and covers exactly the served requests; percentiles match the client side', async () => {
    const { index, bundles } = await fetchPublished();
    const e = index.entries.find((x) => x.group === 'api' && x.kind === 'latency' && x.periodStart === new Date(period.startMs).toISOString())!;
    const text = bundles.get(e.bundle!)!;
    const v = await verifyBundle(text, {
      keys: loadKeyRingFromHome(home),
      allowDevSetup: true,
      policy: productionBundlePolicy(),
      allowSimulated: true,
      at: new Date(),
      expect: `kind=latency,period=${new Date(period.startMs).toISOString()}/${new Date(period.endMs).toISOString()},sla=p95<500ms,p99<1s,min=1`,
    });
    assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => !c.ok)));
    const out = v.bundle!.claim.outputs as { n: number; slots: { valueUs: number; exceeding: number }[]; compliant: boolean };
    assert.equal(out.n, served, 'n is exactly the number of requests the upstreams answered');
    assert.equal(out.compliant, true);
    // Each request's gateway latency lies between its backend's own service time and the
    // client's time for it, so every proven percentile is sandwiched between the backends'
    // and the client's percentiles of the same rank (order statistics keep an elementwise
    // bound). Both sides are measured, so the bound holds however loaded the machine is.
    assert.equal(clientMs.length, served);
    const sorted = [...clientMs].sort((a, b) => a - b);
    const backendMs = [...fast.serviceMs, ...slow.serviceMs].sort((a, b) => a - b);
    assert.equal(backendMs.length, served, 'the backends answered exactly the served requests');
    const params = v.bundle!.claim.params as { slots: { percentileBp: number }[] };
    params.slots.forEach((slot, i) => {
      const rank = nearestRank(slot.percentileBp, sorted.length) - 1;
      const client = sorted[rank]!;
      const backend = backendMs[rank]!;
      const proven = out.slots[i]!.valueUs / 1000;
      assert.ok(proven <= client + 0.5, `p${slot.percentileBp / 100}: proven ${proven} ms <= client ${client.toFixed(3)} ms`);
      assert.ok(proven >= backend - 0.5, `p${slot.percentileBp / 100}: proven ${proven} ms >= backend ${backend.toFixed(3)} ms`);
      // half the requests went to the slow backend: above the median, its delay shows
      if (slot.percentileBp > 5000) assert.ok(proven >= SLOW_MS, `p${slot.percentileBp / 100}: proven ${proven} ms includes the slow backend's ${SLOW_MS} ms`);
    });
    assert.ok(params.slots.some((s) => s.percentileBp === 9500), 'the SLA has a p95 slot');
    // A tampered outcome fails the chain.
    const tampered = JSON.parse(text) as { claim: { outputs: { n: number } } };
    tampered.claim.outputs.n += 1;
    const bad = await verifyBundle(JSON.stringify(tampered), { keys: loadKeyRingFromHome(home), allowDevSetup: true, policy: productionBundlePolicy(), allowSimulated: true, at: new Date() });
    assert.equal(bad.ok, false);
  });

  test('the health bundle counts every request, the rate-limited one and the failed checks of the killed backend', async () => {
    const { index, bundles } = await fetchPublished();
    const e = index.entries.find((x) => x.group === '*' && x.kind === 'gateway' && x.periodStart === new Date(period.startMs).toISOString())!;
    const v = await verifyBundle(bundles.get(e.bundle!)!, { keys: loadKeyRingFromHome(home), allowDevSetup: true, policy: productionBundlePolicy(), allowSimulated: true, at: new Date(), expect: 'kind=gateway,maxRateLimited=0' });
    assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => !c.ok)));
    const out = v.bundle!.claim.outputs as { n: number; nChecks: number; availabilityOk: boolean; rateLimitOk: boolean; compliant: boolean };
    assert.equal(out.n, total, 'every request of the period');
    assert.equal(out.rateLimitOk, false, 'the rate-limited request is counted');
    assert.ok(out.nChecks >= 4, `${out.nChecks} health checks`);
    assert.equal(out.availabilityOk, false, 'the killed backend failed its checks');
    assert.equal(out.compliant, false);
  });

  test('a period without traffic is published as no-requests, without a bundle', async () => {
    const next = { startMs: period.endMs, endMs: period.endMs + PERIOD_S * 1000 };
    while (Date.now() < next.endMs + 20) await sleep(100);
    await g.gw.scheduler.runDue(next.endMs);
    const idx = g.gw.scheduler.index;
    const es = idx.entries.filter((x) => x.periodStart === new Date(next.startMs).toISOString());
    assert.ok(es.length >= 2);
    for (const x of es) {
      if (x.kind === 'gateway' && x.n > 0) continue; // health checks of the dead backend keep no requests
      assert.equal(x.bundle, undefined);
    }
    assert.equal(es.find((x) => x.group === 'api')!.status, 'no-requests');
  });
});

describe('record store and encrypted spool', () => {
  const periodOf = periodFunction({ seconds: 60 });
  const rec = (i: number, startMs: number) => ({ startUs: startMs * 1000 + i * 10, endUs: startMs * 1000 + i * 10 + 5, status: 200, flags: FLAG_SERVED, group: 0 });

  test('records overflow from memory into the spool and come back in order; the spool is ciphertext', () => {
    const dir = mkdtempSync(join(tmpdir(), 'veritee-spool-'));
    const s = new RecordStore({ periodOf, memoryRecords: 4, spoolDir: dir, spoolMaxBytes: 1 << 20 });
    const start = periodOf(Date.now()).startMs;
    for (let i = 0; i < 11; i++) s.addRequest(rec(i, start));
    assert.equal(s.inMemory, 3);
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    const bytes = readFileSync(join(dir, files[0]!));
    // 8 records of 21 bytes in 2 segments, each with a length, nonce and tag: no plaintext status.
    assert.equal(bytes.length, 2 * (4 + 12 + 16) + 8 * 21);
    const p = s.seal(start)!;
    assert.deepEqual(p.requests.map((r) => r.startUs), Array.from({ length: 11 }, (_, i) => start * 1000 + i * 10));
    assert.equal(p.dropped, 0);
    assert.equal(readdirSync(dir).length, 0, 'sealed segments are removed');
    writeFileSync(join(dir, 'keep-me.txt'), 'not the spool');
    s.addRequest(rec(0, start + 120_000));
    for (let i = 0; i < 5; i++) s.addRequest(rec(i, start + 60_000));
    assert.equal(readdirSync(dir).length, 2);
    s.close();
    assert.deepEqual(readdirSync(dir), ['keep-me.txt'], 'closing removes only the spool files it wrote');
    s.addRequest(rec(99, start));
    assert.equal(s.late, 1, 'a record of a sealed period is late, not added');
    s.close();
  });

  test('a changed spool segment is refused (GATEWAY_SPOOL_CORRUPT); a full spool drops and counts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'veritee-spool-'));
    const s = new RecordStore({ periodOf, memoryRecords: 2, spoolDir: dir, spoolMaxBytes: 100 });
    const start = periodOf(Date.now()).startMs;
    for (let i = 0; i < 9; i++) s.addRequest(rec(i, start));
    const file = join(dir, readdirSync(dir)[0]!);
    const b = readFileSync(file);
    b[20] ^= 1;
    writeFileSync(file, b);
    // 100 bytes hold one segment of 2 records (74 bytes): 2 spooled + 2 in memory, 5 dropped.
    assert.throws(() => s.seal(start), (e: unknown) => isVeriteeError(e, 'GATEWAY_SPOOL_CORRUPT'));
    const s2 = new RecordStore({ periodOf, memoryRecords: 2, spoolDir: mkdtempSync(join(tmpdir(), 'veritee-spool-')), spoolMaxBytes: 100 });
    for (let i = 0; i < 9; i++) s2.addRequest(rec(i, start));
    const p = s2.seal(start)!;
    assert.equal(p.requests.length, 4);
    assert.equal(p.dropped, 5);
    s.close();
    s2.close();
  });

  test('periods are aligned in UTC: hours, days, weeks from Monday', () => {
    const t = Date.parse('2026-12-03T15:42:10Z'); // a Thursday
    assert.equal(new Date(periodFunction('hourly')(t).startMs).toISOString(), '2026-12-03T15:00:00.000Z');
    assert.equal(new Date(periodFunction('daily')(t).endMs).toISOString(), '2026-12-04T00:00:00.000Z');
    assert.equal(new Date(periodFunction('weekly')(t).startMs).toISOString(), '2026-11-30T00:00:00.000Z');
  });
});

describe('proof scheduling bounds', () => {
  test('periods that end while the prover is maxBacklog periods behind are published as skipped, not queued', async () => {
    const { ProofScheduler } = await import('./scheduler.js');
    const { parseGatewayConfig } = await import('./config.js');
    const cfg = parseGatewayConfig({ pools: { p: { backends: ['http://127.0.0.1:9'] } }, routes: [{ name: 'r', pathPrefix: '/', pool: 'p' }], slas: { period: { seconds: 10 }, maxBacklog: 1 } });
    const periodOf = periodFunction({ seconds: 10 });
    const t0 = periodOf(Date.now()).startMs - 30_000;
    const store = new RecordStore({ periodOf, memoryRecords: 16, spoolMaxBytes: 1 });
    for (let k = 0; k < 3; k++) store.addRequest({ startUs: (t0 + k * 10_000 + 5) * 1000, endUs: (t0 + k * 10_000 + 6) * 1000, status: 200, flags: FLAG_SERVED | 1, group: 0 });
    const sched = new ProofScheduler({
      store,
      config: () => cfg,
      groupName: (i) => (i === 0 ? 'r' : undefined),
      signer: () => Promise.reject(new Error('not reached')),
      periodOf,
      home: mkdtempSync(join(tmpdir(), 'veritee-nokeys-')), // no keys: the one proof attempted fails fast
      now: () => t0,
    });
    try {
      await sched.runDue(t0 + 30_000);
      const es = sched.index.entries;
      const status = (k: number, kind: string) => es.find((e) => e.periodStart === new Date(t0 + k * 10_000).toISOString() && e.kind === kind)!.status;
      assert.equal(status(0, 'latency'), 'failed', 'the first period was attempted (no keys here)');
      assert.match(es.find((e) => e.status === 'failed')!.detail!, /ZK_SETUP_MISSING/);
      assert.equal(status(1, 'latency'), 'skipped');
      assert.equal(status(2, 'gateway'), 'skipped');
      assert.equal(sched.stats.skipped, 2);
      assert.match(es.find((e) => e.status === 'skipped')!.detail!, /prover was 1 periods behind/);
    } finally {
      await sched.close();
    }
  });
});
