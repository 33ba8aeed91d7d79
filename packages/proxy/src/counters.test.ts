/**
 * Request counters: the real proxy counts every request it receives (binding requests
 * excepted) and the loopback endpoint answers a period exactly, cut and marked when older
 * arrivals were evicted; bad queries, other routes and non-loopback listeners are refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { createAttestedClient } from './client.js';
import { createCountersServer, nowUs, RequestCounter, type CountersServer, type RequestPeriod } from './counters.js';
import { devPolicy, sharedTee, startProxy, startUpstream, type Upstream } from './testing/fixtures.js';

let upstream: Upstream;
before(async () => {
  upstream = await startUpstream();
});
after(async () => {
  await upstream.close();
});

test('the counter keeps arrivals in order, answers [from, to) exactly, and cuts a period that reaches past evicted arrivals', () => {
  let t = 1_000_000;
  const c = new RequestCounter(4, () => t);
  for (const at of [100, 200, 200, 300]) c.record(at);
  const p = c.period(150, 1000);
  assert.deepEqual(p, { version: 1, periodStartUs: 150, periodEndUs: 1000, arrivalsUs: [50, 50, 150], truncated: false, total: 4 });
  // The end is clamped to now: a period still open would miss later arrivals.
  t = 250;
  assert.deepEqual(c.period(0).arrivalsUs, [100, 200, 200]);
  assert.equal(c.period(0, 10_000).periodEndUs, 250);
  t = 1_000_000;
  // Two more arrivals evict 100 and the first 200: a period from 0 now starts after 200.
  c.record(400);
  c.record(500);
  const q = c.period(0);
  assert.equal(q.truncated, true);
  assert.equal(q.periodStartUs, 201, 'starts after the last evicted arrival, so the other arrival at 200 is not half-counted');
  assert.deepEqual(q.arrivalsUs, [99, 199, 299]);
  assert.equal(q.total, 6);
  assert.equal(c.retained, 4);
  assert.equal(c.period(350).truncated, false);
  // An arrival stamped earlier than the last one is counted at the last one (never out of order).
  c.record(450);
  assert.deepEqual(c.period(300).arrivalsUs, [0, 100, 200, 200]);
});

test('the counter refuses empty or inverted periods and bad capacities', () => {
  const c = new RequestCounter(2, () => 1000);
  for (const [from, to] of [[500, 500], [900, 100], [-1, 10], [1.5, 10], [2000, undefined]] as [number, number | undefined][]) {
    assert.throws(() => c.period(from, to), (e: unknown) => isVeriteeError(e) && e.code === 'INPUT_INVALID', `${from}..${to}`);
  }
  assert.throws(() => new RequestCounter(0), (e: unknown) => isVeriteeError(e) && e.code === 'INPUT_INVALID');
});

test('the proxy counts every request it receives, not the binding; the loopback endpoint serves the period', async () => {
  const counter = new RequestCounter();
  const p = await startProxy(upstream.url, { requestCounter: counter });
  const server = createCountersServer(counter);
  const a = await server.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${a.port}`;
  const client = createAttestedClient({ baseUrl: p.url, policy: devPolicy(), simulatedAnchors: (await sharedTee()).anchors });
  try {
    const from = nowUs();
    for (let i = 0; i < 5; i++) assert.equal((await client.fetch('/hello')).status, 200);
    // A request the upstream does not know is still a request that arrived.
    await (await client.fetch('/nope')).text();
    assert.ok(client.sessions.some((s) => s.attested), 'the client bound its session (a binding request the counter skips)');
    const r = await fetch(`${base}/v1/requests?fromUs=${from}`);
    assert.equal(r.status, 200);
    const period = (await r.json()) as RequestPeriod;
    assert.equal(period.arrivalsUs.length, 6);
    assert.equal(period.truncated, false);
    assert.equal(period.periodStartUs, from);
    assert.ok(period.periodEndUs > from && period.periodEndUs <= nowUs());
    assert.ok(period.arrivalsUs.every((x, i) => x >= 0 && x < period.periodEndUs - from && (i === 0 || x >= period.arrivalsUs[i - 1]!)));
    const summary = (await (await fetch(`${base}/v1/counters`)).json()) as { total: number; retained: number; capacity: number };
    assert.deepEqual([summary.total, summary.retained, summary.capacity], [6, 6, 65_536]);
    // A period after the requests holds none.
    const later = nowUs();
    await new Promise((res) => setTimeout(res, 5));
    assert.deepEqual(((await (await fetch(`${base}/v1/requests?fromUs=${later}`)).json()) as RequestPeriod).arrivalsUs, []);
  } finally {
    await client.close();
    await server.close();
    await p.close();
  }
});

test('the endpoint refuses bad queries, other routes and methods with a code, and listens on loopback only', async () => {
  const server: CountersServer = createCountersServer(new RequestCounter(8, () => 5_000_000));
  const a = await server.listen(0);
  const base = `http://127.0.0.1:${a.port}`;
  try {
    for (const [path, code, status] of [
      ['/v1/requests', 'INPUT_INVALID', 400],
      ['/v1/requests?fromUs=abc', 'INPUT_INVALID', 400],
      ['/v1/requests?fromUs=10&toUs=-5', 'INPUT_INVALID', 400],
      ['/v1/requests?fromUs=10&limit=5', 'INPUT_INVALID', 400],
      ['/v1/requests?fromUs=99999999999999999', 'INPUT_INVALID', 400],
      ['/v1/requests?fromUs=6000000', 'INPUT_INVALID', 400],
      ['/v1/other', 'ROUTE_NOT_FOUND', 404],
    ] as const) {
      const r = await fetch(base + path);
      assert.equal(r.status, status, path);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, code, path);
    }
    const post = await fetch(`${base}/v1/requests?fromUs=1`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 404);
    assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
  } finally {
    await server.close();
  }
  await assert.rejects(createCountersServer(new RequestCounter()).listen(0, '0.0.0.0'), (e: unknown) => isVeriteeError(e) && e.code === 'INPUT_INVALID' && /loopback only/.test(e.message));
});
