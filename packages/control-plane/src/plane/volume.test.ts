/**
 * Request volume from the attesting proxy's counters, end to end on loopback: a workload's
 * real attesting proxy counts the requests it receives; the node agent collects a real
 * telemetry window, reads the arrivals of the window's period from the proxy's loopback
 * counters endpoint and sends them over its attested channel; the control plane scales out
 * (and later in) on request volume, and the real Go prover proves each decision with the
 * volume claim, verified by the control plane. Counters that cannot be read, answer garbage
 * or hold no request leave the volume rule unavailable (CP_REQUESTS_UNAVAILABLE), never an error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAttestedClient, createAttestingProxy, createCountersServer, RequestCounter, type AttestedClient, type AttestingProxy, type CountersServer } from '@veritee/proxy';
import { devSetup, ProverPool } from '@veritee/zk';
import { KeyRing } from '@veritee/zk/verify';
import { testHome } from '@veritee/zk/testing';
import type { FastifyInstance } from 'fastify';
import { ControlPlaneAgent, readRequestCounters } from './agent.js';
import { openEmbeddedLog } from './db.js';
import { buildControlPlaneServer } from './server.js';
import { devAgentPolicy, sharedTee, simulatedEnclave, testPlane, type TestPlane } from './testing.js';
import { InProcessQueue, proverWorker } from './queue.js';

let prover: ProverPool;
const keys = new KeyRing();
let tp: TestPlane;
let cpApp: FastifyInstance;
let cpProxy: AttestingProxy;
let cpUrl: string;
// The workload: a plain upstream behind its own attesting proxy, which counts requests.
let upstream: http.Server;
let appProxy: AttestingProxy;
let appClient: AttestedClient;
let counters: CountersServer;
let countersUrl: string;
const counter = new RequestCounter();

before(async () => {
  prover = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(prover, 'volume', 1024));
  tp = await testPlane(await openEmbeddedLog(), { proveFn: proverWorker(prover), keys });
  await tp.cp.addWorkload({
    name: 'web',
    minReplicas: 1,
    maxReplicas: 3,
    target: { kind: 'process', command: ['sleep', '300'] },
    rules: [{ metric: 'volume', scaleOutAbove: 600, scaleInBelow: 300 }],
    cooldown: { outMs: 0, inMs: 0 },
  });
  cpApp = await buildControlPlaneServer(tp.cp);
  await cpApp.listen({ port: 0, host: '127.0.0.1' });
  cpProxy = await createAttestingProxy({ host: 'localhost', upstream: `http://127.0.0.1:${(cpApp.server.address() as AddressInfo).port}`, enclave: tp.enclave, logger: false });
  cpUrl = `https://127.0.0.1:${(await cpProxy.listen(0, '127.0.0.1')).port}`;

  upstream = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  appProxy = await createAttestingProxy({ host: 'localhost', upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, enclave: await simulatedEnclave(), logger: false, requestCounter: counter });
  const appUrl = `https://127.0.0.1:${(await appProxy.listen(0, '127.0.0.1')).port}`;
  appClient = createAttestedClient({ baseUrl: appUrl, policy: devAgentPolicy(), simulatedAnchors: (await sharedTee()).anchors });
  counters = createCountersServer(counter);
  countersUrl = `http://127.0.0.1:${(await counters.listen(0)).port}`;
  // Bind the client's session before any window (the binding is not counted; this request is).
  assert.equal(await (await appClient.fetch('/')).text(), 'ok');
});
after(async () => {
  await appClient?.close();
  await counters?.close();
  await appProxy?.close();
  await new Promise((r) => upstream?.close(r));
  await cpProxy?.close();
  await cpApp?.close();
  await tp?.close();
  await prover?.close();
});

const agent = async (requestCountersUrl: string) =>
  new ControlPlaneAgent({ agentId: 'node-v', controlPlaneUrl: cpUrl, policy: devAgentPolicy(), simulatedAnchors: (await sharedTee()).anchors, enclave: await simulatedEnclave(), requestCountersUrl });

/** One real 2 s window while `n` requests go through the workload's proxy. */
async function windowWith(a: ControlPlaneAgent, n: number) {
  const sending = a.collectAndSend('web', { samples: 4, intervalMs: 500, maxProcesses: 8 });
  await new Promise((r) => setTimeout(r, 400));
  for (let i = 0; i < n; i++) await (await appClient.fetch(`/item/${i}`)).text();
  return sending;
}

test('the agent reads the proxy counters; a scale-out and a scale-in on request volume are each proven with the volume claim', async () => {
  const a = await agent(countersUrl);
  try {
    await a.attest();
    const out = await windowWith(a, 40); // 40 requests in 2 s: about 1200 per minute
    const d = out.decision!;
    assert.ok(d, `no decision: ${out.note}`);
    assert.equal(d.direction, 'out');
    assert.equal(d.metric, 'volume');
    assert.match(d.reason, /^volume \d+ requests\/min > 600 requests\/min$/);
    assert.deepEqual(d.claims.map((c) => [c.kind, c.expectScaleOut, c.threshold]), [['volume', true, 600]]);
    assert.equal(d.enact.state, 'enacted');
    assert.equal(tp.pool.pids('web').length, 2);

    const inn = await windowWith(a, 2); // 2 requests in 2 s: about 60 per minute
    const e = inn.decision!;
    assert.ok(e, `no decision: ${inn.note}`);
    assert.equal(e.direction, 'in');
    assert.deepEqual(e.claims.map((c) => [c.kind, c.expectScaleOut, c.threshold]), [['volume', false, 300]]);

    await (tp.queue as InProcessQueue).drained();
    for (const [id, n, scaleOut] of [[d.id, 40, true], [e.id, 2, false]] as const) {
      const v = (await tp.log.decision(id))!;
      assert.equal(v.proof.state, 'verified', v.proof.error);
      const b = v.claims[0]!.proof.bundle as { claim: { kind: string; params: { periodStartUs: number; periodEndUs: number; thresholdPerMin: number }; outputs: { n: number; scaleOut: boolean } } };
      assert.equal(b.claim.kind, 'volume');
      assert.equal(b.claim.outputs.n, n, 'exactly the requests sent during the window');
      assert.equal(b.claim.outputs.scaleOut, scaleOut);
      assert.ok(b.claim.params.periodEndUs - b.claim.params.periodStartUs >= 1_500_000, 'the period is the telemetry window');
    }
  } finally {
    await a.close();
  }
});

test('counters that are down, answer garbage or hold no request: the volume rule is unavailable with CP_REQUESTS_UNAVAILABLE', async () => {
  // Down: a port nothing listens on.
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((r) => closed.close(r));
  const a = await agent(deadUrl);
  try {
    await a.attest();
    const r = await windowWith(a, 3);
    assert.equal(r.decision, null);
    const m = r.measurements!.find((x) => x.metric === 'volume')!;
    assert.equal(m.code, 'CP_REQUESTS_UNAVAILABLE');
    assert.match(m.unavailable!, /request counters at http:\/\/127\.0\.0\.1:\d+ cannot be read/);
  } finally {
    await a.close();
  }
  // Idle: a window in which no request arrived.
  const b = await agent(countersUrl);
  try {
    await b.attest();
    const r = await windowWith(b, 0);
    assert.equal(r.decision, null);
    const m = r.measurements!.find((x) => x.metric === 'volume')!;
    assert.equal(m.code, 'CP_REQUESTS_UNAVAILABLE');
    assert.match(m.unavailable!, /no request arrived in the period/);
  } finally {
    await b.close();
  }
  // Garbage, an error answer, an unbounded answer.
  const junk = http.createServer((req, res) => {
    if (req.url!.startsWith('/v1/requests?fromUs=1&')) return res.end('{"periodStartUs": "soon"}');
    if (req.url!.startsWith('/v1/requests?fromUs=2&')) {
      res.statusCode = 400;
      return res.end('{"error":{"code":"INPUT_INVALID","message":"nope"}}');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"arrivalsUs":[');
    res.end('1]}');
  });
  await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));
  const junkUrl = `http://127.0.0.1:${(junk.address() as AddressInfo).port}`;
  try {
    assert.match(JSON.stringify(await readRequestCounters(junkUrl, 1, 10)), /malformed period/);
    assert.match(JSON.stringify(await readRequestCounters(junkUrl, 2, 10)), /answered 400: INPUT_INVALID nope/);
    assert.match(JSON.stringify(await readRequestCounters(junkUrl, 3, 10)), /without a length/);
    assert.match(JSON.stringify(await readRequestCounters('not a url', 3, 10)), /is not a URL/);
    const good = await readRequestCounters(countersUrl, 1, Date.now() * 1000);
    assert.ok('requests' in good && good.requests.arrivalsUs.length === counter.total, 'every request the proxy counted');
  } finally {
    await new Promise((r) => junk.close(r));
  }
});
