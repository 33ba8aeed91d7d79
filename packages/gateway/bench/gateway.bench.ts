/**
 * Benchmark of the API gateway on loopback, in one run and against the same upstream:
 *
 *   1. throughput (autocannon, 1 KiB responses) and sequential latency (hrtime) of: the
 *      upstream directly, a naive TLS 1.3 proxy, the attesting proxy, the gateway with
 *      record keeping on, and the gateway with record keeping off; then the gateway with a
 *      KMS-issued TLS certificate on a route that takes KMS client certificates (mTLS: the
 *      client's attestation extension checked and its status asked of the KMS, its own
 *      process, on every request), records on;
 *   2. the cost of the scheduled proofs at a fixed 1,000 req/s: the gateway with 1 s
 *      periods (about 1,000 requests each, the 1,024-record size class) proving every
 *      period, against the same gateway with proofs off. Reported: CPU of the prover
 *      processes (GOMAXPROCS=1) as a share of one core and of the machine, the gateway
 *      process's own CPU (the proving worker thread included), and the request latency
 *      at that rate with and without proofs (did proving slow traffic?).
 *
 * Every server runs in its own process. Needs the 1,024-record latency and gateway keys
 * in $VERITEE_TEST_HOME (or $VERITEE_HOME); the prover binary from `npm install`.
 *
 *   node --import tsx packages/gateway/bench/gateway.bench.ts [--duration 6] [--connections 50] [--rate-seconds 15] [--json out.json]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const role = process.argv[2];
const home = process.env['VERITEE_TEST_HOME'] ?? process.env['VERITEE_HOME'] ?? join(os.homedir(), '.veritee');

function answerCpu(): void {
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpu: u.user + u.system });
    }
  });
}

async function childUpstream(): Promise<void> {
  answerCpu();
  const body = Buffer.alloc(1024, 'x');
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
}

async function childNaive(upstreamPort: number): Promise<void> {
  answerCpu();
  const { selfSignedCertificate } = await import('@veritee/proxy');
  const { cert, key } = selfSignedCertificate('localhost');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const server = https.createServer({ cert, key, minVersion: 'TLSv1.3', keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
    const up = http.request({ agent, host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
}

const timeouts = { idleMs: 60_000, headersMs: 30_000, requestMs: 60_000 };

async function childProxy(upstreamPort: number): Promise<void> {
  answerCpu();
  const { createAttestingProxy, Enclave, simulatedEvidenceProvider } = await import('@veritee/proxy');
  const proxy = await createAttestingProxy({ host: 'localhost', upstream: `http://127.0.0.1:${upstreamPort}`, enclave: Enclave.create(await simulatedEvidenceProvider()), logger: false, timeouts });
  const a = await proxy.listen(0, '127.0.0.1');
  process.send!({ port: a.port });
}

async function childGateway(upstreamPort: number, mode: string): Promise<void> {
  answerCpu();
  const { Gateway, parseGatewayConfig } = await import('../dist/index.js');
  const { Enclave, simulatedEvidenceProvider } = await import('@veritee/proxy');
  const config = parseGatewayConfig({
    listen: '127.0.0.1:0',
    logLevel: 'silent',
    accessLog: false,
    timeouts,
    limits: { maxInFlight: 100_000 },
    pools: { p: { backends: [`http://127.0.0.1:${upstreamPort}`], healthCheck: { intervalMs: 1000 } } },
    routes: [{ name: 'api', pathPrefix: '/', pool: 'p' }],
    records: { enabled: mode !== 'norec' },
    slas: { enabled: mode === 'prove', period: { seconds: 1 }, graceMs: 200, proverCpus: 1, latency: 'p95<100ms,p99<500ms,min=100', keep: 1000 },
  });
  const gw = await Gateway.create({ config, enclave: Enclave.create(await simulatedEvidenceProvider()), home, logger: false });
  const a = await gw.listen();
  process.on('message', (m) => {
    if (m === 'slas') {
      const idx = gw.scheduler.index;
      process.send!({ slas: idx.entries.map((e) => ({ kind: e.kind, status: e.status, n: e.n, proveMs: e.proveMs })), stats: gw.scheduler.stats });
    }
  });
  process.send!({ port: a.port });
}

/** The KMS (@veritee/kms, embedded PGlite) trusting the simulated TEE whose anchors it is sent. */
async function childKms(): Promise<void> {
  answerCpu();
  const { randomBytes } = await import('node:crypto');
  const { parsePolicy, anchorsFromJson } = await import('@veritee/attestation');
  const { buildKmsServer, Kms, openEmbedded, rootKeyBytes } = await import('@veritee/kms');
  let anchors: ReturnType<typeof anchorsFromJson> | undefined;
  const kms = await Kms.open({
    db: await openEmbedded(),
    rootKey: rootKeyBytes(new Uint8Array(randomBytes(32))),
    attestationPolicy: parsePolicy({ name: 'bench', platforms: ['snp'], allowSimulated: true, reportData: { require: ['nonce'] }, snp: { measurements: 'any' } }),
    simulatedAnchors: () => anchors,
  });
  await kms.policies.put('bench', '', { rules: [{ name: 'dev', allowSimulated: true }] });
  const app = await buildKmsServer({ kms, rateLimit: { burst: 1_000_000, perSecond: 1_000_000 } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.on('message', (m) => {
    if (m && typeof m === 'object' && 'anchors' in m) {
      anchors = anchorsFromJson((m as { anchors: Record<string, unknown> }).anchors as never);
      process.send!({ trusted: true });
    }
  });
  process.send!({ port: (app.server.address() as { port: number }).port });
}

/** The gateway with its TLS certificate from the KMS and a route for KMS client certificates. */
async function childGatewayKms(upstreamPort: number, kmsPort: number, statusCacheMs: number): Promise<void> {
  answerCpu();
  const { Gateway, parseGatewayConfig } = await import('../dist/index.js');
  const { Enclave, simulatedEvidenceProvider } = await import('@veritee/proxy');
  const { anchorsToJson } = await import('@veritee/attestation');
  const { KmsClient } = await import('@veritee/kms');
  const provider = await simulatedEvidenceProvider();
  // The KMS must trust this (simulated) TEE: its anchors go there first.
  process.send!({ anchors: anchorsToJson(provider.simulatedAnchors!) });
  await new Promise<void>((r) => process.once('message', () => r()));
  const url = `http://127.0.0.1:${kmsPort}`;
  const config = parseGatewayConfig({
    listen: '127.0.0.1:0',
    logLevel: 'silent',
    accessLog: false,
    timeouts,
    limits: { maxInFlight: 100_000 },
    kms: { url, tenant: 'bench', workload: 'gateway', allowSimulatedClients: true, statusCacheMs },
    pools: { p: { backends: [`http://127.0.0.1:${upstreamPort}`], healthCheck: { intervalMs: 1000 } } },
    routes: [{ name: 'api', pathPrefix: '/', pool: 'p', mtls: true, allowClients: ['spiffe://veritee.local/tenant/bench/workload/client'] }],
    slas: { enabled: false },
  });
  const gw = await Gateway.create({ config, enclave: Enclave.create(provider), home, logger: false });
  const a = await gw.listen();
  // The load generator's workload certificate (a client in the same simulated TEE: the cost measured is the gateway's).
  const c = await new KmsClient({ url, evidence: { tee: 'snp', evidence: (rd) => provider.evidence(rd) } }).getCertificate('bench', 'client');
  process.send!({ port: a.port, cert: c.certPem, key: c.keyPem });
}

// ---- the benchmark ------------------------------------------------------------------------

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function start(r: string, ...args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(self, [r, ...args], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env } });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once('exit', (code) => reject(new Error(`${r} exited ${code}`)));
  });
}

function ask<T>(child: ChildProcess, q: string, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (m && typeof m === 'object' && key in m) {
        child.off('message', on);
        resolve(m as T);
      }
    };
    child.on('message', on);
    child.send(q);
  });
}

/** CPU seconds (user + system) of every process whose parent is `pid` (and theirs): the prover under the gateway. */
function descendantsCpu(pid: number): number {
  const ticks = 100; // USER_HZ
  const kids = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      (kids.get(ppid) ?? kids.set(ppid, []).get(ppid)!).push(Number(d));
      cpu.set(Number(d), (Number(f[11]) + Number(f[12])) / ticks);
    } catch {
      /* gone */
    }
  }
  let total = 0;
  const stack = [...(kids.get(pid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    total += cpu.get(p) ?? 0;
    stack.push(...(kids.get(p) ?? []));
  }
  return total;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
}

async function load(url: string, connections: number, duration: number, overallRate?: number, tlsOptions?: { cert: string; key: string }): Promise<Load> {
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({ url, connections, duration, pipelining: 1, timeout: 20, ...(overallRate ? { overallRate } : {}), ...(tlsOptions ? { tlsOptions } : {}) });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, total: r.requests.total };
}

async function latency(url: string, n: number, tlsOptions?: { cert: string; key: string }): Promise<{ p50: number; p99: number }> {
  const u = new URL(url);
  const agent = u.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false, ...(tlsOptions ?? {}) }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = u.protocol === 'https:' ? https.get : http.get;
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      get(url, { agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`${url}: HTTP ${res.statusCode}`));
        res.resume();
        res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
      }).on('error', reject);
    });
  for (let i = 0; i < 100; i++) await once();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await once());
  agent.destroy();
  xs.sort((a, b) => a - b);
  return { p50: xs[Math.floor(xs.length / 2)]!, p99: xs[Math.floor(xs.length * 0.99)]! };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const duration = arg('--duration', 6);
  const connections = arg('--connections', 50);
  const rateSeconds = arg('--rate-seconds', 15);
  const up = await start('upstream');
  const children: ChildProcess[] = [up.child];
  try {
    const servers: [string, string, { cert: string; key: string }?][] = [['direct to upstream (http)', `http://127.0.0.1:${up.port}/x`]];
    for (const [name, r, extra] of [
      ['naive TLS 1.3 proxy', 'naive', ''],
      ['veritee attesting proxy', 'proxy', ''],
      ['gateway, records on', 'gateway', 'rec'],
      ['gateway, records off', 'gateway', 'norec'],
    ] as const) {
      const s = await start(r, String(up.port), extra);
      children.push(s.child);
      servers.push([name, `https://127.0.0.1:${s.port}/x`]);
    }
    const kms = await start('kms');
    children.push(kms.child);
    for (const statusCacheMs of [0, 1000]) {
      const gwChild = fork(self, ['gateway-kms', String(up.port), String(kms.port), String(statusCacheMs)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env } });
      children.push(gwChild);
      const anchors = await new Promise<unknown>((r) => gwChild.once('message', r));
      await ask(kms.child, anchors as never, 'trusted');
      gwChild.send('go');
      const ready = await new Promise<{ port: number; cert: string; key: string }>((r) => gwChild.once('message', (m) => r(m as never)));
      servers.push([`gateway, KMS certificate + KMS client mTLS (status ${statusCacheMs ? `cached ${statusCacheMs} ms` : 'asked per request'}), records on`, `https://127.0.0.1:${ready.port}/x`, { cert: ready.cert, key: ready.key }]);
    }
    process.stderr.write(`throughput: ${connections} connections, ${duration} s each…\n`);
    const rows: string[] = [];
    const results: Record<string, unknown> = {};
    for (const [name, url, tlsOptions] of servers) {
      await load(url, connections, 1, undefined, tlsOptions);
      const t = await load(url, connections, duration, undefined, tlsOptions);
      const l = await latency(url, 1000, tlsOptions);
      results[name] = { ...t, seq: l };
      rows.push(`| ${name} | ${t.rps.toFixed(0)} | ${t.p50} | ${t.p99} | ${l.p50.toFixed(3)} | ${l.p99.toFixed(3)} | ${t.errors} | ${t.non2xx} |`);
    }
    // Proof scheduling overhead at 1,000 req/s.
    const prov: Record<string, { gatewayCpuS: number; proverCpuS: number; load: Load; wallS: number; slas?: { kind: string; status: string; n: number; proveMs?: number }[] }> = {};
    for (const mode of ['rec', 'prove'] as const) {
      const s = await start('gateway', String(up.port), mode);
      children.push(s.child);
      const url = `https://127.0.0.1:${s.port}/x`;
      process.stderr.write(`1000 req/s for ${rateSeconds} s, proofs ${mode === 'prove' ? 'on' : 'off'}…\n`);
      await load(url, 10, 2, 1000);
      const c0 = (await ask<{ cpu: number }>(s.child, 'cpu', 'cpu')).cpu;
      const p0 = descendantsCpu(s.child.pid!);
      const t0 = performance.now();
      const r = await load(url, 10, rateSeconds, 1000);
      await sleep(3000); // the last periods' proofs
      const wallS = (performance.now() - t0) / 1000;
      const c1 = (await ask<{ cpu: number }>(s.child, 'cpu', 'cpu')).cpu;
      const p1 = descendantsCpu(s.child.pid!);
      const slas = mode === 'prove' ? (await ask<{ slas: { kind: string; status: string; n: number; proveMs?: number }[] }>(s.child, 'slas', 'slas')).slas : undefined;
      prov[mode] = { gatewayCpuS: (c1 - c0) / 1e6, proverCpuS: p1 - p0, load: r, wallS, ...(slas ? { slas } : {}) };
      s.child.kill('SIGTERM');
    }
    const on = prov['prove']!;
    const off = prov['rec']!;
    const proven = (on.slas ?? []).filter((e) => e.status === 'proven' || e.status === 'insufficient');
    const statuses = (on.slas ?? []).reduce<Record<string, number>>((acc, e) => ((acc[`${e.kind}:${e.status}`] = (acc[`${e.kind}:${e.status}`] ?? 0) + 1), acc), {});
    const proveMs = proven.map((e) => e.proveMs ?? 0).sort((a, b) => a - b);
    const out: string[] = [];
    out.push(`## veritee gateway benchmark (loopback, 1 KiB responses, autocannon ${connections} connections × ${duration} s; sequential: 1000 requests, hrtime)`, '');
    out.push('| run | req/s | p50 ms | p99 ms | sequential p50 ms | sequential p99 ms | errors | non-2xx |', '|---|---:|---:|---:|---:|---:|---:|---:|', ...rows, '');
    out.push(`### scheduled proofs at 1,000 req/s (${rateSeconds} s, 1 s periods, prover GOMAXPROCS=1)`, '');
    out.push('| | proofs off | proofs on |', '|---|---:|---:|');
    out.push(`| requests served (req/s) | ${off.load.total} (${off.load.rps.toFixed(0)}) | ${on.load.total} (${on.load.rps.toFixed(0)}) |`);
    out.push(`| latency p50 / p99 ms (autocannon, 1 ms resolution) | ${off.load.p50} / ${off.load.p99} | ${on.load.p50} / ${on.load.p99} |`);
    out.push(`| gateway process CPU (event loop + proving worker thread), share of one core | ${((off.gatewayCpuS / off.wallS) * 100).toFixed(1)} % | ${((on.gatewayCpuS / on.wallS) * 100).toFixed(1)} % |`);
    out.push(`| prover processes CPU, share of one core | ${((off.proverCpuS / off.wallS) * 100).toFixed(1)} % | ${((on.proverCpuS / on.wallS) * 100).toFixed(1)} % |`);
    out.push(`| proofs CPU (prover + added gateway CPU) share of the machine (${os.cpus().length} cores) | | ${(((on.proverCpuS + on.gatewayCpuS - off.gatewayCpuS) / on.wallS / os.cpus().length) * 100).toFixed(1)} % |`, '');
    out.push(`entries published: ${JSON.stringify(statuses)}; prove time per proof (worker, wall) median ${proveMs[Math.floor(proveMs.length / 2)] ?? 'n/a'} ms, max ${proveMs[proveMs.length - 1] ?? 'n/a'} ms.`);
    const cpus = os.cpus();
    out.push(`machine: ${cpus.length} × ${cpus[0]?.model ?? '?'}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; node ${process.version}; load generator, upstream and servers share the cores.`);
    process.stdout.write(out.join('\n') + '\n');
    const ji = process.argv.indexOf('--json');
    if (ji >= 0) {
      const file = process.argv[ji + 1]!;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ results, prov }, null, 2) + '\n');
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}

if (role === 'upstream') await childUpstream();
else if (role === 'naive') await childNaive(Number(process.argv[3]));
else if (role === 'proxy') await childProxy(Number(process.argv[3]));
else if (role === 'kms') await childKms();
else if (role === 'gateway-kms') await childGatewayKms(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 0));
else if (role === 'gateway') await childGateway(Number(process.argv[3]), process.argv[4] ?? 'rec');
else await main();
