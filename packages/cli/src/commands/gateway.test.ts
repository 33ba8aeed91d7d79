/**
 * `veritee gateway serve` and `veritee gateway slas` as child processes on loopback with
 * the simulated TEE and the shared test home: a refused configuration, traffic through
 * the gateway, a SIGHUP reload, and the period's bundles fetched and verified.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasStackTrace, runCli } from '../testing.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..', '..', '..');
const testHome = process.env['VERITEE_TEST_HOME'] ?? join(repoRoot, '.veritee', 'test-home');
const tmp = mkdtempSync(join(tmpdir(), 'veritee-gw-cli-'));
const children: ChildProcess[] = [];
// A fresh clone has no keys: the period proofs below need latency and gateway at 1,024.
before(async () => {
  for (const circuit of ['latency', 'gateway']) {
    const r = await runCli(['zk', 'setup', '--circuit', circuit, '--size', '1024', '--home', testHome]);
    assert.equal(r.code, 0, r.stderr);
  }
}, { timeout: 900_000 });
const servers: http.Server[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const s of servers) s.close();
});

test('a configuration with an unknown field and an overlapping route is refused at start (exit 2, both named)', async () => {
  const file = join(tmp, 'bad.yaml');
  writeFileSync(file, 'pools: {a: {backends: [http://127.0.0.1:9]}}\nroutes:\n  - {name: one, pathPrefix: /api, pool: a}\n  - {name: two, pathPrefix: /api/, pool: a, colour: red}\n');
  const r = await runCli(['gateway', 'serve', '--config', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error\[GATEWAY_CONFIG_INVALID\]: .*routes\[1\]: unknown field "colour"/);
  assert.ok(!hasStackTrace(r.stderr));
  writeFileSync(file, 'pools: {a: {backends: [http://127.0.0.1:9]}}\nroutes:\n  - {name: one, pathPrefix: /api, pool: a}\n  - {name: two, pathPrefix: /api/, pool: a}\n');
  const o = await runCli(['gateway', 'serve', '--config', file]);
  assert.equal(o.code, 2);
  assert.match(o.stderr, /routes\[1\] \(two\) overlaps routes\[0\] \(one\)/);
});

test('serve, reload on SIGHUP, and `gateway slas` verifies the published bundles of a period', { timeout: 180_000 }, async () => {
  const upstream = http.createServer((req, res) => res.writeHead(200).end(req.url === '/healthz' ? '' : 'hello'));
  servers.push(upstream);
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upPort = (upstream.address() as AddressInfo).port;
  const cfg = join(tmp, 'gw.yaml');
  const yaml = (prefix: string) =>
    `listen: 127.0.0.1:0\nlogLevel: warn\npools: {a: {backends: ["http://127.0.0.1:${upPort}"], healthCheck: {intervalMs: 500}}}\nroutes: [{name: api, pathPrefix: ${prefix}, pool: a}]\nslas: {period: {seconds: 4}, graceMs: 0, latency: "p99<1s,min=1", health: {max5xx: 1, minAvailability: 50, minConnection: 50, maxRateLimited: 0}}\n`;
  writeFileSync(cfg, yaml('/api'));
  const bin = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');
  const gw = spawn(process.execPath, [bin, 'gateway', 'serve', '--config', cfg], { env: { ...process.env, VERITEE_HOME: testHome }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(gw);
  let err = '';
  gw.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setInterval(() => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearInterval(t);
        resolve(Number(m[1]));
      }
    }, 50);
    gw.once('exit', (c) => reject(new Error(`gateway exited ${c}: ${err}`)));
  });
  const get = (path: string) =>
    new Promise<number>((resolve, reject) => https.get({ host: '127.0.0.1', port, path, rejectUnauthorized: false }, (res) => (res.resume(), res.on('end', () => resolve(res.statusCode ?? 0)))).on('error', reject));
  assert.deepEqual([await get('/api/a'), await get('/api/b'), await get('/other')], [200, 200, 404]);
  writeFileSync(cfg, yaml('/'));
  gw.kill('SIGHUP');
  for (let i = 0; i < 50 && !err.includes('configuration reloaded'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(err, /configuration reloaded/);
  assert.equal(await get('/other'), 200, 'the reloaded route applies');
  // Let the period close and its proofs be published.
  let out = '';
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    const policy = join(tmp, 'policy.yaml');
    writeFileSync(policy, 'name: dev\nplatforms: [snp]\nallowSimulated: true\nsnp: {measurements: any}\n');
    const r = await runCli(['gateway', 'slas', `https://127.0.0.1:${port}`, '--policy', policy, '--allow-simulated', '--allow-dev-setup', '--json'], { VERITEE_HOME: testHome });
    assert.equal(r.code, 0, r.stderr);
    out = r.stdout;
    const doc = JSON.parse(out) as { entries: { kind: string; status: string; n: number; verified?: boolean; bundle?: string }[] };
    const proven = doc.entries.filter((e) => e.status === 'proven' && e.kind === 'latency');
    assert.ok(doc.entries.every((e) => e.verified !== false), out);
    // The three answered requests (two before the reload, one after), in one or two periods.
    if (proven.reduce((a, e) => a + e.n, 0) === 3 && doc.entries.some((e) => e.kind === 'gateway' && e.verified)) {
      // `veritee verify` works on any one published bundle.
      const text = await new Promise<string>((resolve, reject) =>
        https.get({ host: '127.0.0.1', port, path: proven[0]!.bundle!, rejectUnauthorized: false }, (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c.toString()));
          res.on('end', () => resolve(b));
        }).on('error', reject),
      );
      const file = join(tmp, 'period.json');
      writeFileSync(file, text);
      const bundlePolicy = join(tmp, 'bundle-policy.yaml');
      writeFileSync(bundlePolicy, 'name: dev-bundles\nplatforms: [snp]\nallowSimulated: true\nsnp: {measurements: any}\nreportData: {require: [publicKeyHash]}\n');
      const v = await runCli(['verify', file, '--policy', bundlePolicy, '--allow-simulated', '--allow-dev-setup', '--expect', 'kind=latency,sla=p99<1s,min=1'], { VERITEE_HOME: testHome });
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /VERIFIED \(attested\)/);
      return;
    }
  }
  assert.fail(`no proven period was published: ${out}`);
});
