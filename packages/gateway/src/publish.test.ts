/**
 * The gateway publishes each period's bundles to a real control plane (@veritee/control-plane
 * server on loopback, embedded PGlite), at least once: the control plane is down when the
 * period is proven, the gateway retries, and once it is up both bundles are stored after
 * the control plane verified them. A second post of a bundle stores nothing; a changed
 * bundle is refused with CP_BUNDLE_INVALID and not stored.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { parsePolicy } from '@veritee/attestation';
import { loadKeyRingFromHome } from '@veritee/zk';
import { buildControlPlaneServer, ControlPlane, DecisionLog, InProcessQueue, openEmbeddedLog } from '@veritee/control-plane';
import { baseConfig, ensureGatewayTestKeys, gatewayTestHome, send, startBackend, startGateway, testEnclave } from './testing.js';
import { periodFunction } from './records.js';

const home = gatewayTestHome();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function call(port: number, method: string, path: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let t = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (t += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(t) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('period bundles reach the control plane at least once, verified before they are stored', { timeout: 300_000 }, async () => {
  await ensureGatewayTestKeys(home);
  const cpPort = await freePort();
  const backend = await startBackend('b', 2);
  cleanup.push(() => backend.close());
  const PERIOD_S = 5;
  const g = await startGateway(
    baseConfig({
      pools: { p: { backends: [backend.url], healthCheck: false } },
      routes: [{ name: 'api', pathPrefix: '/api', pool: 'p' }],
      slas: { period: { seconds: PERIOD_S }, latency: 'p99<1s,min=1', graceMs: 0, health: { max5xx: 50, minAvailability: 0, minConnection: 50, maxRateLimited: 0 } },
      controlPlane: { url: `http://127.0.0.1:${cpPort}`, retryBaseMs: 200, retryMaxMs: 400, timeoutMs: 5000 },
    }),
  );
  cleanup.push(() => g.close());
  const periodOf = periodFunction({ seconds: PERIOD_S });
  if (periodOf(Date.now()).endMs - Date.now() < 3000) await sleep(periodOf(Date.now()).endMs - Date.now() + 20);
  const period = periodOf(Date.now());
  for (let i = 0; i < 5; i++) assert.equal((await send(g.url, `/api/${i}`)).status, 200);
  await sleep(period.endMs - Date.now() + 50);

  // The period is proven while the control plane is down: the gateway keeps the bundles and retries.
  const pub = g.gw.publisher!;
  await until('the period to be proven', () => g.gw.scheduler.index.entries.some((e) => e.periodStart === new Date(period.startMs).toISOString() && e.kind === 'gateway'), 240_000);
  const mine = g.gw.scheduler.index.entries.filter((e) => e.periodStart === new Date(period.startMs).toISOString());
  assert.deepEqual(mine.map((e) => `${e.kind}:${e.group}:${e.status}`).sort(), ['gateway:*:proven', 'latency:api:proven']);
  await until('a failed attempt', () => pub.stats.retries >= 1, 10_000);
  assert.equal(pub.stats.published, 0);

  // The control plane comes up on that port.
  const db = await openEmbeddedLog();
  const cp = new ControlPlane({
    log: new DecisionLog(db),
    orchestrators: {},
    queue: new InProcessQueue(async () => new Promise(() => undefined)),
    keys: loadKeyRingFromHome(home),
    allowDevSetup: true,
    signer: await testEnclave(),
    agentPolicy: parsePolicy({ name: 'cp-dev', platforms: ['snp', 'tdx'], allowSimulated: true, reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: 'any' }, tdx: { mrtd: 'any' } }),
  });
  const app = await buildControlPlaneServer(cp);
  await app.listen({ host: '127.0.0.1', port: cpPort });
  cleanup.push(async () => {
    await app.close();
    await cp.close();
    await db.close();
  });
  await until('the bundles to be published', () => pub.stats.published >= 2 && pub.pending === 0, 30_000);
  assert.equal(pub.stats.rejected, 0);

  const list = await call(cpPort, 'GET', '/v1/bundles?source=localhost');
  assert.equal(list.status, 200);
  const entries = list.json['bundles'] as { id: string; kind: string; group: string; periodStart: string; compliant: boolean }[];
  assert.deepEqual(entries.map((e) => `${e.kind}:${e.group}`).sort(), ['gateway:*', 'latency:api']);
  for (const e of entries) assert.equal(e.periodStart, new Date(period.startMs).toISOString());
  assert.equal(entries.find((e) => e.kind === 'latency')!.compliant, true);

  // What is stored is what the gateway published at its well-known path.
  const lat = mine.find((e) => e.kind === 'latency')!;
  const published = JSON.parse(g.gw.scheduler.published(lat.bundle!)!.toString()) as Record<string, unknown>;
  const one = await call(cpPort, 'GET', `/v1/bundles/${entries.find((e) => e.kind === 'latency')!.id}`);
  assert.deepEqual((one.json['bundle'] as { bundle: unknown }).bundle, published);

  // At least once is harmless: the same bundle again stores nothing.
  const pubBody = (b: unknown, kind = 'latency') => JSON.stringify({ source: 'localhost', periodStart: lat.periodStart, group: 'api', kind, bundle: b });
  const again = await call(cpPort, 'POST', '/v1/bundles', pubBody(published));
  assert.equal(again.status, 200);
  assert.equal(again.json['created'], false);

  // A changed bundle (outputs edited after signing), or one posted under another kind, is refused and not stored.
  const forged = structuredClone(published) as { claim: { outputs: Record<string, unknown> } };
  forged.claim.outputs['breaches'] = Array.isArray(forged.claim.outputs['breaches']) ? (forged.claim.outputs['breaches'] as number[]).map((x) => x + 1) : 1;
  forged.claim.outputs['compliant'] = !forged.claim.outputs['compliant'];
  const bad = await call(cpPort, 'POST', '/v1/bundles', pubBody(forged));
  assert.equal(bad.status, 422);
  assert.equal((bad.json['error'] as { code: string }).code, 'CP_BUNDLE_INVALID');
  // Only the enclave signature catches this one: the proof is intact, the statement's createdAt is not.
  const resigned = structuredClone(published) as { createdAt: string };
  resigned.createdAt = new Date(Date.parse(resigned.createdAt) + 1000).toISOString();
  const unsigned = await call(cpPort, 'POST', '/v1/bundles', pubBody(resigned));
  assert.equal(unsigned.status, 422);
  assert.equal((unsigned.json['error'] as { code: string }).code, 'CP_BUNDLE_INVALID');
  assert.match((unsigned.json['error'] as { message: string }).message, /statement\.signature/);
  const wrongKind = await call(cpPort, 'POST', '/v1/bundles', pubBody(published, 'gateway'));
  assert.equal(wrongKind.status, 422);
  assert.match((wrongKind.json['error'] as { message: string }).message, /proves a latency claim/);
  const malformed = await call(cpPort, 'POST', '/v1/bundles', JSON.stringify({ source: 'localhost', periodStart: 'yesterday', group: 'api', kind: 'latency', bundle: published }));
  assert.equal(malformed.status, 400);
  assert.equal(((await call(cpPort, 'GET', '/v1/bundles')).json['bundles'] as unknown[]).length, 2, 'nothing refused was stored');
});
