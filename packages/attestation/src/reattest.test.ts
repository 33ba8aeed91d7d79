/**
 * Re-attestation against a real HTTP server on loopback, with an injected clock and
 * injected timers: `failed` when the served measurement changes, when the TCB falls
 * behind the policy, and when `at` passes certificate expiry; `recovered` afterwards.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '@veritee/core';
import { parsePolicy, type Policy } from './policy.js';
import { computeReportData } from './report-data.js';
import { SimulatedTee } from './sim/index.js';
import { ReattestationScheduler, type ReattestFailedEvent, type ReattestVerifiedEvent } from './reattest.js';
import { FIXTURE_TIMES as T, snpFixture } from './testing/envelopes.js';

const START = Date.parse('2025-06-01T00:00:00Z');
const M_A = new Uint8Array(48).fill(0xaa);
const M_B = new Uint8Array(48).fill(0xbb);

let served: { body: string; status: number; header?: string } = { body: '', status: 200 };
let requests: string[] = [];
let server: Server;
let base: string;
let tee: SimulatedTee;

before(async () => {
  tee = await SimulatedTee.create({ platforms: ['snp'], at: START, validityDays: 30 });
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (served.header) res.setHeader('attestation-report', served.header);
    res.writeHead(served.status, { 'content-type': 'application/json' });
    res.end(served.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function serveSim(measurement: Uint8Array): void {
  const env = tee.evidence('snp', { reportData: computeReportData({}), measurement });
  served = { body: JSON.stringify(env), status: 200 };
}

function record(s: ReattestationScheduler) {
  const events: { type: string; e: ReattestVerifiedEvent | ReattestFailedEvent }[] = [];
  s.on('verified', (e) => events.push({ type: 'verified', e }));
  s.on('failed', (e) => events.push({ type: 'failed', e }));
  s.on('recovered', (e) => events.push({ type: 'recovered', e }));
  return events;
}

function fakeTimers() {
  const t = { fn: undefined as (() => void) | undefined, ms: 0, cleared: false };
  return {
    t,
    timers: {
      setInterval: (fn: () => void, ms: number) => {
        t.fn = fn;
        t.ms = ms;
        return 1;
      },
      clearInterval: () => {
        t.cleared = true;
      },
    },
  };
}

test('measurement change on the served evidence -> failed(measurement-changed); back -> recovered', async () => {
  let now = START;
  const clock: Clock = { now: () => now };
  const policies: Record<string, Policy> = {
    pinned: parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: [] }, snp: { measurements: ['aa'.repeat(48)] } }),
  };
  const { t, timers } = fakeTimers();
  const s = new ReattestationScheduler({ clock, timers, policies, intervalMs: 60_000, simulatedAnchors: tee.anchors });
  const events = record(s);
  s.register({ id: 'node-1', url: `${base}/evidence`, policy: 'pinned' });

  serveSim(M_A);
  s.start({ immediately: false });
  assert.equal(t.ms, 60_000);
  t.fn!(); // the interval fires
  await s.runOnce(); // joins the run the timer started
  assert.deepEqual(events.map((x) => x.type), ['verified']);
  assert.equal(s.state('node-1')?.status, 'verified');

  serveSim(M_B);
  now += 60_000;
  await s.runOnce();
  const failed = events.at(-1)!;
  assert.equal(failed.type, 'failed');
  const fe = failed.e as ReattestFailedEvent;
  assert.deepEqual(fe.reasons, ['measurement-changed']);
  assert.match(fe.detail, /policy\.measurement/);
  assert.equal(fe.at, new Date(now).toISOString());
  assert.equal(fe.consecutiveFailures, 1);

  serveSim(M_A);
  now += 60_000;
  await s.runOnce();
  assert.deepEqual(events.slice(-2).map((x) => x.type), ['recovered', 'verified']);
  s.stop();
  assert.equal(t.cleared, true);
});

test('pinning: a measurement change the policy would accept still fails (secrets went to the old software)', async () => {
  const clock: Clock = { now: () => START };
  const anyPolicy = parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: [] }, snp: { measurements: 'any' } });
  const s = new ReattestationScheduler({ clock, simulatedAnchors: tee.anchors, timers: fakeTimers().timers });
  const events = record(s);
  s.register({ id: 'n', url: `${base}/e`, policy: anyPolicy });
  serveSim(M_A);
  await s.runOnce();
  serveSim(M_B);
  await s.runOnce();
  assert.deepEqual(events.map((x) => x.type), ['verified', 'failed']);
  assert.deepEqual((events[1]!.e as ReattestFailedEvent).reasons, ['measurement-changed']);
  assert.match((events[1]!.e as ReattestFailedEvent).detail, /pinned/);
});

test('TCB fell behind: raising the policy minimum fails a node on its next run', async () => {
  const clock: Clock = { now: () => START };
  const policies: Record<string, Policy> = {
    p: parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: [] }, snp: { measurements: 'any', minTcb: { snp: 1 } } }),
  };
  const s = new ReattestationScheduler({ clock, policies, simulatedAnchors: tee.anchors, timers: fakeTimers().timers });
  const events = record(s);
  s.register({ id: 'n', url: `${base}/e`, policy: 'p' });
  serveSim(M_A);
  await s.runOnce();
  policies['p'] = parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: [] }, snp: { measurements: 'any', minTcb: { snp: 250 } } });
  await s.runOnce();
  assert.deepEqual(events.map((x) => x.type), ['verified', 'failed']);
  assert.deepEqual((events[1]!.e as ReattestFailedEvent).reasons, ['tcb-outdated']);
});

test('certificate expiry: the same evidence fails once `at` passes notAfter (simulated and real VLEK)', async () => {
  let now = START;
  const clock: Clock = { now: () => now };
  const anyPolicy = parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: [] }, snp: { measurements: 'any' } });
  const s = new ReattestationScheduler({ clock, simulatedAnchors: tee.anchors, timers: fakeTimers().timers });
  const events = record(s);
  s.register({ id: 'sim', url: `${base}/sim`, policy: anyPolicy });
  serveSim(M_A);
  await s.runOnce();
  now = tee.notAfter.getTime() + 1000;
  await s.runOnce();
  assert.deepEqual(events.map((x) => x.type), ['verified', 'failed']);
  assert.deepEqual((events[1]!.e as ReattestFailedEvent).reasons, ['certificate-expired']);

  // The real VLEK fixture: valid at 2025-06-01, expired (notAfter 2025-12-10) at 2026-11-21.
  now = T.snp.getTime();
  const real = new ReattestationScheduler({ clock, timers: fakeTimers().timers });
  const realEvents = record(real);
  real.register({ id: 'vlek', url: `${base}/vlek`, policy: anyPolicy });
  served = { body: JSON.stringify(snpFixture('vlek-v3')), status: 200 };
  await real.runOnce();
  now = T.vlekExpired.getTime();
  await real.runOnce();
  assert.deepEqual(realEvents.map((x) => x.type), ['verified', 'failed']);
  assert.deepEqual((realEvents[1]!.e as ReattestFailedEvent).reasons, ['certificate-expired']);
});

test('unreachable targets, HTTP errors, header-only evidence and fresh nonces', async () => {
  const clock: Clock = { now: () => START };
  const anyPolicy = parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: [] }, snp: { measurements: 'any' } });
  const s = new ReattestationScheduler({ clock, simulatedAnchors: tee.anchors, timers: fakeTimers().timers });
  const events = record(s);
  s.register({ id: 'down', url: 'http://127.0.0.1:1/evidence', policy: anyPolicy });
  await s.runOnce();
  assert.deepEqual((events[0]!.e as ReattestFailedEvent).reasons, ['unreachable']);
  s.unregister('down');

  s.register({ id: 'err', url: `${base}/err`, policy: anyPolicy });
  served = { body: 'nope', status: 500 };
  await s.runOnce();
  assert.deepEqual((events[1]!.e as ReattestFailedEvent).reasons, ['unreachable']);
  served = { body: '{"platform":"snp"', status: 200 };
  await s.runOnce();
  assert.deepEqual((events[2]!.e as ReattestFailedEvent).reasons, ['invalid-evidence']);
  assert.equal((events[2]!.e as ReattestFailedEvent).consecutiveFailures, 2);
  // Evidence in the Attestation-Report header (base64url envelope), empty body.
  const env = tee.evidence('snp', { reportData: computeReportData({}), measurement: M_A });
  served = { body: '', status: 200, header: Buffer.from(JSON.stringify(env)).toString('base64url') };
  await s.runOnce();
  assert.deepEqual(events.slice(-2).map((x) => x.type), ['recovered', 'verified']);
  s.unregister('err');

  // freshNonce: the URL carries ?nonce=...; evidence that does not bind it fails.
  requests = [];
  s.register({ id: 'fresh', url: `${base}/fresh?x=1`, policy: anyPolicy, freshNonce: true });
  serveSim(M_A);
  await s.runOnce();
  assert.match(requests[0]!, /^\/fresh\?x=1&nonce=[0-9a-f]{64}$/);
  assert.deepEqual((events.at(-1)!.e as ReattestFailedEvent).reasons, ['report-data']);
});

test('registration is validated', () => {
  const s = new ReattestationScheduler({ timers: fakeTimers().timers });
  const p = parsePolicy({ platforms: ['snp'], snp: { measurements: 'any' } });
  assert.throws(() => s.register({ id: 'a', url: 'ftp://x/y', policy: p }), /http/);
  assert.throws(() => s.register({ id: 'a', url: 'not a url', policy: p }), /not a URL/);
  assert.throws(() => s.register({ id: 'a', url: 'http://x/', policy: 'missing' }), /no policy named missing/);
  s.register({ id: 'a', url: 'http://x/', policy: p });
  assert.throws(() => s.register({ id: 'a', url: 'http://x/', policy: p }), /already registered/);
});
