/**
 * Benchmark of the attesting proxy on loopback (wrk when installed, else autocannon),
 * against the targets:
 *
 *   1. throughput with signatures off (the default: no `Veritee-Sign` request header)
 *      >= 80 % of a naive Node TLS 1.3 reverse proxy in the same run, 1 KiB responses;
 *      the same with signatures on (`Veritee-Sign: 1` on every request), reported;
 *   2. added p50 latency <= 1 ms (sequential keep-alive requests, timed with hrtime:
 *      autocannon's histogram has 1 ms resolution);
 *   3. 1,000 concurrent connections held without errors (signatures off and on).
 *
 * Every server runs in its own process (upstream, attesting proxy, the same proxy set up
 * as v1 was, signing every response and repeating the evidence on each, and a naive TLS
 * reverse proxy without attestation); the load generator runs from here. Throughput runs
 * alternate direct / naive / sig off / sig on / v1 `--reps` times and report medians, and
 * the ratios to the naive proxy are taken per round, so a change in machine load hits all
 * alike. Each server also reports its CPU time per
 * request in the steady state (after the TLS handshakes), which machine load does not
 * inflate the way it inflates wall-clock throughput. Bounded: about 3 minutes by default.
 *
 *   node --import tsx packages/proxy/bench/proxy.bench.ts [--duration 4] [--reps 5] [--connections 50] [--c1000-duration 10]
 *        [--tool wrk|autocannon] [--json out.json] [--upstream-keepalive 60000]
 *
 *   --only c1000: just the 1,000-connection run through the proxy (`--connections`
 *   default 1000, `--duration` default 10), with the status codes seen; about 15 s.
 *   --upstream-keepalive <ms>: the upstream's keep-alive timeout (default 60000; node's
 *   own default, 5000, exercises the keep-alive race with the proxy's pool).
 *   --upstream-no-hint: the upstream sends no Keep-Alive timeout hint (as Go or nginx).
 *   --prime <ms> (with --only c1000): 2 s of load on 512 connections, then <ms> idle,
 *   then the run: pooled upstream sockets reach the upstream's keep-alive timeout mid-run.
 *
 * BENCH_DEBUG=1 makes the proxy print, every second, new TLS connections, requests,
 * worst event-loop lag and CPU used: a starved process (CPU pressure from other work on
 * the machine) shows as lag with little CPU.
 */
import { execFile, execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const role = process.argv[2];

// ---- child roles ---------------------------------------------------------------------------

/** Children count the requests they serve and report it with their CPU time (user + system, µs) when asked. */
let served = 0;
function answerCpuQueries(): void {
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpu: u.user + u.system, served });
    }
  });
}

async function childUpstream(): Promise<void> {
  answerCpuQueries();
  const body = Buffer.alloc(1024, 'x');
  // --upstream-no-hint: answer like Go's net/http or nginx, without a Keep-Alive timeout
  // hint (an explicit Connection header stops node from adding one).
  const headers = { 'content-type': 'text/plain', 'content-length': body.length, ...(process.argv[4] === 'no-hint' ? { connection: 'keep-alive' } : {}) };
  const server = http.createServer((req, res) => {
    served++;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, headers);
      res.end(body);
    });
  });
  server.keepAliveTimeout = Number(process.argv[3] ?? 60_000);
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
}

async function childProxy(upstreamPort: number, v1: boolean): Promise<void> {
  answerCpuQueries();
  const { Enclave, simulatedEvidenceProvider } = await import('../src/enclave.js');
  const { createAttestingProxy } = await import('../src/server.js');
  const enclave = Enclave.create(await simulatedEvidenceProvider({ platform: 'snp' }));
  const proxy = await createAttestingProxy({
    host: 'localhost',
    // v1: every response signed and carrying the full evidence (what the proxy did before).
    ...(v1 ? { signResponses: 'always' as const, evidence: 'always' as const } : {}),
    upstream: `http://127.0.0.1:${upstreamPort}`,
    enclave,
    logger: false,
    // Generous handshake/header time: 1,000 handshakes at once queue up on 2 cores.
    timeouts: {
      idleMs: 60_000,
      headersMs: 30_000,
      requestMs: 60_000,
      handshakeMs: 60_000,
      // BENCH_UPSTREAM_IDLE_MS: the proxy's idle time for pooled upstream sockets (to
      // measure the retry alone, set it above the upstream's keep-alive timeout).
      ...(process.env['BENCH_UPSTREAM_IDLE_MS'] ? { upstreamIdleMs: Number(process.env['BENCH_UPSTREAM_IDLE_MS']) } : {}),
    },
  });
  proxy.server.on('request', () => served++);
  if (process.env['BENCH_DEBUG']) {
    // Per second: new TLS connections, requests, worst event-loop lag, CPU.
    let conns = 0;
    let reqs = 0;
    let lag = 0;
    let last = performance.now();
    let c0 = process.cpuUsage();
    proxy.server.on('secureConnection', () => conns++);
    proxy.server.on('request', () => reqs++);
    setInterval(() => {
      const now = performance.now();
      lag = Math.max(lag, now - last - 50);
      last = now;
    }, 50).unref();
    setInterval(() => {
      const c = process.cpuUsage(c0);
      c0 = process.cpuUsage();
      process.stderr.write(`[proxy] conns ${conns} reqs ${reqs} maxlag ${lag.toFixed(0)} ms cpu ${((c.user + c.system) / 1000).toFixed(0)} ms inflight ${proxy.inFlight}\n`);
      conns = reqs = lag = 0;
    }, 1000).unref();
  }
  const a = await proxy.listen(0, '127.0.0.1');
  // The per-response signature alone, timed in this process.
  const msg = Buffer.alloc(300, 7);
  for (let i = 0; i < 200; i++) enclave.sign(msg);
  const t0 = process.cpuUsage();
  for (let i = 0; i < 2000; i++) enclave.sign(msg);
  const t1 = process.cpuUsage(t0);
  process.send!({ port: a.port, evidenceBytes: (await enclave.evidenceHeader()).length, signUs: (t1.user + t1.system) / 2000 });
}

async function childNaive(upstreamPort: number): Promise<void> {
  answerCpuQueries();
  const { selfSignedCertificate } = await import('../src/tls-cert.js');
  const { cert, key } = selfSignedCertificate('localhost');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const server = https.createServer({ cert, key, minVersion: 'TLSv1.3', keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
    served++;
    const up = http.request({ agent, host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
}


// ---- the benchmark ----------------------------------------------------------------------------

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function start(r: string, ...args: string[]): Promise<{ child: ChildProcess; msg: Record<string, number> }> {
  const child = fork(self, [r, ...args], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, msg: m as Record<string, number> }));
    child.once('exit', (code) => reject(new Error(`${r} exited ${code}`)));
  });
}

interface LoadResult {
  /** Responses by status code (autocannon only). */
  statusCodes?: Record<string, number>;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  total: number;
  mbps: number;
}

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    // wrk --version exits 1 but exists; a missing binary fails to spawn (ENOENT, status null).
    return (e as { code?: string }).code !== 'ENOENT' && typeof (e as { status?: unknown }).status === 'number';
  }
}

/** `Veritee-Sign: 1`: ask the proxy for a signed response. */
const SIGN = { 'veritee-sign': '1' };

async function loadAutocannon(url: string, connections: number, duration: number, headers: Record<string, string> = {}): Promise<LoadResult> {
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({ url, connections, duration, pipelining: 1, timeout: 20, headers });
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, (v as { count: number }).count]));
  return {
    statusCodes,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total,
    mbps: r.throughput.average / 1e6,
  };
}

function ms(v: string, unit: string): number {
  const x = Number(v);
  return unit === 'us' ? x / 1000 : unit === 's' ? x * 1000 : unit === 'm' ? x * 60_000 : x;
}

async function loadWrk(url: string, connections: number, duration: number, headers: Record<string, string> = {}): Promise<LoadResult> {
  const threads = String(Math.min(2, connections));
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const out = await new Promise<string>((resolve, reject) =>
    execFile('wrk', ['-t', threads, '-c', String(connections), '-d', `${duration}s`, '--timeout', '20s', '--latency', ...h, url], { maxBuffer: 1 << 20 }, (e, stdout) =>
      e ? reject(e) : resolve(stdout),
    ),
  );
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const lat = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? ms(m[1]!, m[2]!) : NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out);
  const unit = transfer?.[2] === 'GB' ? 1e3 : transfer?.[2] === 'KB' ? 1e-3 : 1;
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50: lat('50'),
    p99: lat('99'),
    errors: sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) : 0,
    timeouts: sock ? Number(sock[4]) : 0,
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    total: num(/(\d+) requests in/),
    mbps: Number(transfer?.[1] ?? 0) * unit * 1.048576,
  };
}

let tool: 'wrk' | 'autocannon' = 'autocannon';
function load(url: string, connections: number, duration: number, headers: Record<string, string> = {}): Promise<LoadResult> {
  return tool === 'wrk' ? loadWrk(url, connections, duration, headers) : loadAutocannon(url, connections, duration, headers);
}

/** /proc/pressure/cpu "some avg60": the share of time runnable tasks waited for a CPU (other work on the machine). */
function pressure(): string {
  try {
    const m = /some avg10=([\d.]+) avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? `${m[2]} % (avg60)` : 'unknown';
  } catch {
    return 'unknown';
  }
}

function cpuOf(child: ChildProcess): Promise<{ cpu: number; served: number }> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (m && typeof m === 'object' && 'cpu' in m) {
        child.off('message', on);
        resolve(m as { cpu: number; served: number });
      }
    };
    child.on('message', on);
    child.send('cpu');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a load and measures, in the steady state (after the first third of the run, when
 * the TLS handshakes are done, until shortly before the end), the CPU microseconds each
 * listed server spends per request it serves.
 */
async function measured(url: string, connections: number, duration: number, servers: ChildProcess[], headers: Record<string, string> = {}): Promise<LoadResult & { cpuUs: number[] }> {
  const running = load(url, connections, duration, headers);
  await sleep((duration * 1000) / 3);
  const before = await Promise.all(servers.map(cpuOf));
  await sleep((duration * 1000) / 2);
  const after = await Promise.all(servers.map(cpuOf));
  const r = await running;
  return { ...r, cpuUs: after.map((a, i) => (a.cpu - before[i]!.cpu) / Math.max(1, a.served - before[i]!.served)) };
}

/** Proxy-side CPU of one TLS handshake: sequential connects, server CPU per connection (ms). */
async function handshakeCpu(port: number, child: ChildProcess, n: number): Promise<number> {
  const tls = await import('node:tls');
  const before = await cpuOf(child);
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
        c.end();
        resolve();
      });
      c.on('error', reject);
    });
  }
  await sleep(200);
  const after = await cpuOf(child);
  return (after.cpu - before.cpu) / n / 1000;
}

function median<T extends LoadResult>(rs: T[]): T {
  const sorted = [...rs].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Sequential keep-alive requests, each timed with hrtime: microsecond resolution. */
async function latency(url: string, n: number): Promise<{ p50: number; p90: number; p99: number }> {
  const u = new URL(url);
  const agent = u.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = u.protocol === 'https:' ? https.get : http.get;
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
      }).on('error', reject);
    });
  for (let i = 0; i < 200; i++) await once(); // warm up
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await once());
  agent.destroy();
  xs.sort((a, b) => a - b);
  const q = (p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99) };
}

/** The attested SDK end to end (checks each response; with `signed`, asks for and verifies each signature): sequential latency. */
async function sdkLatency(url: string, n: number, signed: boolean): Promise<{ p50: number; p99: number }> {
  const { createAttestedClient } = await import('../src/client.js');
  const { parsePolicy } = await import('@veritee/attestation');
  const client = createAttestedClient({
    baseUrl: url,
    policy: parsePolicy({ platforms: ['snp'], allowSimulated: true, snp: { measurements: 'any' } }),
    allowSimulated: true,
    maxConnections: 1,
    signedResponses: signed,
  });
  for (let i = 0; i < 100; i++) await (await client.fetch('/hello')).arrayBuffer();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await (await client.fetch('/hello')).arrayBuffer();
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await client.close();
  xs.sort((a, b) => a - b);
  return { p50: xs[Math.floor(xs.length / 2)]!, p99: xs[Math.floor(xs.length * 0.99)]! };
}

/** `--only c1000`: upstream and proxy, one run of many connections, the figures and status codes. */
async function onlyC1000(): Promise<void> {
  const duration = arg('--duration', 10);
  const connections = arg('--connections', 1000);
  const keepAlive = arg('--upstream-keepalive', 60_000);
  const up = await start('upstream', String(keepAlive), process.argv.includes('--upstream-no-hint') ? 'no-hint' : 'hint');
  const px = await start('proxy', String(up.msg['port']));
  try {
    const url = `https://127.0.0.1:${px.msg['port']}/hello`;
    // --prime <ms>: a short load first fills the proxy's upstream pool, then a pause of
    // <ms> leaves those sockets idle, so that the upstream's keep-alive timer fires during
    // the main run (the race of a pooled socket closed by the upstream as it is reused).
    const prime = arg('--prime', -1);
    if (prime >= 0) {
      await loadAutocannon(url, 512, 2);
      await sleep(prime);
    }
    process.stderr.write(`${connections} connections through the proxy for ${duration} s (autocannon, upstream keep-alive ${keepAlive} ms${process.argv.includes('--upstream-no-hint') ? ', no hint' : ''}${prime >= 0 ? `, primed, ${prime} ms idle` : ''})…\n`);
    const r = await loadAutocannon(url, connections, duration);
    const row = `| ${connections} connections, ${duration} s | ${r.rps.toFixed(0)} req/s | p50 ${r.p50} ms | p99 ${r.p99} ms | ${r.total} requests | ${r.errors} errors | ${r.timeouts} timeouts | ${r.non2xx} non-2xx | status codes ${JSON.stringify(r.statusCodes)} | CPU pressure ${pressure()} |`;
    process.stdout.write(row + '\n');
    const jsonIdx = process.argv.indexOf('--json');
    if (jsonIdx >= 0) {
      const file = process.argv[jsonIdx + 1]!;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ connections, duration, keepAlive, ...r }, null, 2) + '\n');
    }
  } finally {
    for (const c of [up.child, px.child]) c.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const onlyIdx = process.argv.indexOf('--only');
  if (onlyIdx >= 0) {
    if (process.argv[onlyIdx + 1] !== 'c1000') throw new Error('--only accepts c1000');
    return onlyC1000();
  }
  // Short runs, many rounds: the per-round ratios compare runs seconds apart on a shared machine.
  const duration = arg('--duration', 4);
  const reps = arg('--reps', 5);
  const connections = arg('--connections', 50);
  const jsonIdx = process.argv.indexOf('--json');
  const toolIdx = process.argv.indexOf('--tool');
  tool = toolIdx >= 0 ? (process.argv[toolIdx + 1] as 'wrk' | 'autocannon') : hasWrk() ? 'wrk' : 'autocannon';
  const up = await start('upstream', String(arg('--upstream-keepalive', 60_000)));
  const upPort = up.msg['port']!;
  const px = await start('proxy', String(upPort));
  const v1 = await start('proxy', String(upPort), 'v1');
  const nv = await start('naive', String(upPort));
  const direct = `http://127.0.0.1:${upPort}/hello`;
  const proxied = `https://127.0.0.1:${px.msg['port']}/hello`;
  const proxiedV1 = `https://127.0.0.1:${v1.msg['port']}/hello`;
  const naive = `https://127.0.0.1:${nv.msg['port']}/hello`;
  const children = [up.child, px.child, v1.child, nv.child];
  try {
    process.stderr.write(`throughput (${tool}): ${connections} connections, ${duration} s per run, ${reps} rounds of direct / naive / sig off / sig on / v1…\n`);
    await load(proxied, connections, 2); // warm up
    await load(proxiedV1, connections, 1);
    await load(naive, connections, 1);
    type Measured = LoadResult & { cpuUs: number[] };
    type Kind = 'direct' | 'naive' | 'off' | 'on' | 'v1';
    const runs: Record<Kind, Measured[]> = { direct: [], naive: [], off: [], on: [], v1: [] };
    for (let i = 0; i < reps; i++) {
      runs.direct.push(await measured(direct, connections, duration, [up.child]));
      runs.naive.push(await measured(naive, connections, duration, [nv.child, up.child]));
      runs.off.push(await measured(proxied, connections, duration, [px.child, up.child]));
      runs.on.push(await measured(proxied, connections, duration, [px.child, up.child], SIGN));
      runs.v1.push(await measured(proxiedV1, connections, duration, [v1.child, up.child]));
    }
    const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const kinds: Kind[] = ['direct', 'naive', 'off', 'on', 'v1'];
    const cpu = Object.fromEntries(kinds.map((k) => [k, medianOf(runs[k].map((r) => r.cpuUs[0]!))])) as Record<Kind, number>;
    const t = Object.fromEntries(kinds.map((k) => [k, median(runs[k])])) as Record<Kind, Measured>;
    // The ratio per round (same moment, same machine load), then the median of the ratios.
    const ratioTo = (k: Kind, base: Kind) => runs[k].map((r, i) => r.rps / runs[base][i]!.rps).sort((a, b) => a - b);
    const rOff = ratioTo('off', 'naive');
    const rOn = ratioTo('on', 'naive');
    const rV1 = ratioTo('v1', 'naive');
    const rDirect = ratioTo('off', 'direct');
    const mid = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
    process.stderr.write('latency: 2000 sequential requests each…\n');
    const lDirect = await latency(direct, 2000);
    const lNaive = await latency(naive, 2000);
    const lProxy = await latency(proxied, 2000);
    const lSdk = await sdkLatency(`https://127.0.0.1:${px.msg['port']}`, 1000, false);
    const lSdkSigned = await sdkLatency(`https://127.0.0.1:${px.msg['port']}`, 1000, true);
    const handshakeMs = await handshakeCpu(px.msg['port']!, px.child, 100);
    const c1000Duration = arg('--c1000-duration', Math.max(10, duration));
    process.stderr.write(`1000 connections through the proxy, signatures off then on, ${c1000Duration} s each…\n`);
    const c1000 = await load(proxied, 1000, c1000Duration);
    const c1000On = await load(proxied, 1000, c1000Duration, SIGN);

    const added = lProxy.p50 - lDirect.p50;
    const f = (x: number, d = 0) => x.toFixed(d);
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    const row = (name: string, r: LoadResult, ratio: string, cpuUs: string) => [name, f(r.rps), ratio, cpuUs, f(r.mbps, 1), f(r.p50, 2), f(r.p99, 2), String(r.errors), String(r.timeouts), String(r.non2xx)];
    const rows = [
      ['run', 'req/s', 'of naive', 'CPU µs/req', 'MB/s', 'p50 ms', 'p99 ms', 'errors', 'timeouts', 'non-2xx'],
      // f() below prints latency with 2 decimals (wrk) or whole ms (autocannon's histogram).
      row('direct to upstream (http)', t.direct, '', f(cpu.direct)),
      row('naive TLS 1.3 proxy (no attestation)', t.naive, '100 %', f(cpu.naive)),
      row('veritee proxy, signatures off (default)', t.off, pct(mid(rOff)), f(cpu.off)),
      row('veritee proxy, signatures on (Veritee-Sign: 1)', t.on, pct(mid(rOn)), f(cpu.on)),
      row('veritee proxy as v1 (sign + evidence every response)', t.v1, pct(mid(rV1)), f(cpu.v1)),
      row('veritee, 1000 connections, signatures off', c1000, '', ''),
      row('veritee, 1000 connections, signatures on', c1000On, '', ''),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
    const out: string[] = [];
    out.push(`## veritee proxy benchmark (loopback, 1 KiB responses, ${tool}, ${connections} connections, median of ${reps} × ${duration} s; "of naive" = median of the per-round ratios; CPU = the proxy process's µs per request, steady state)`, '');
    out.push(line(rows[0]!), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`, ...rows.slice(1).map(line), '');
    out.push('| sequential latency (hrtime, 2000 requests) | p50 ms | p90 ms | p99 ms |', '|---|---:|---:|---:|');
    out.push(`| direct to upstream | ${lDirect.p50.toFixed(3)} | ${lDirect.p90.toFixed(3)} | ${lDirect.p99.toFixed(3)} |`);
    out.push(`| naive TLS 1.3 proxy | ${lNaive.p50.toFixed(3)} | ${lNaive.p90.toFixed(3)} | ${lNaive.p99.toFixed(3)} |`);
    out.push(`| veritee attesting proxy (signatures off) | ${lProxy.p50.toFixed(3)} | ${lProxy.p90.toFixed(3)} | ${lProxy.p99.toFixed(3)} |`);
    out.push(`| same, through the SDK (checks the session and evidence reference) | ${lSdk.p50.toFixed(3)} | | ${lSdk.p99.toFixed(3)} |`);
    out.push(`| same, through the SDK with signedResponses (verifies each signature) | ${lSdkSigned.p50.toFixed(3)} | | ${lSdkSigned.p99.toFixed(3)} |`, '');
    out.push('| CPU time per request, steady state (median of rounds) | µs |', '|---|---:|');
    out.push(`| upstream (1 KiB responder) | ${cpu.direct.toFixed(0)} |`);
    out.push(`| naive TLS 1.3 proxy | ${cpu.naive.toFixed(0)} |`);
    out.push(`| veritee proxy, signatures off | ${cpu.off.toFixed(0)} |`);
    out.push(`| veritee proxy, signatures on | ${cpu.on.toFixed(0)} |`);
    out.push(`| veritee proxy as v1 (signature and ${px.msg['evidenceBytes']}-byte evidence on every response) | ${cpu.v1.toFixed(0)} |`);
    out.push(`| of which the ES256 response signature (timed alone) | ${px.msg['signUs']!.toFixed(0)} |`);
    out.push(`| one TLS 1.3 handshake, proxy side (per connection, not per request) | ${(handshakeMs * 1000).toFixed(0)} |`, '');
    const ok = (b: boolean) => (b ? 'MET' : 'NOT MET');
    const rounds = (xs: number[]) => xs.map((r) => (r * 100).toFixed(1)).join(', ');
    out.push('| target | measured | |', '|---|---|---|');
    out.push(`| signatures off >= 80 % of the naive TLS proxy | ${pct(mid(rOff))} (rounds: ${rounds(rOff)}) | ${ok(mid(rOff) >= 0.8)} |`);
    out.push(`| signatures on (reported) | ${pct(mid(rOn))} of naive (rounds: ${rounds(rOn)}); v1 config: ${pct(mid(rV1))} (rounds: ${rounds(rV1)}) | |`);
    out.push(`| (earlier target) throughput >= 85 % of direct | ${pct(mid(rDirect))} (naive TLS proxy: ${pct(t.naive.rps / t.direct.rps)}) | ${ok(mid(rDirect) >= 0.85)} |`);
    out.push(`| added p50 <= 1 ms | ${added.toFixed(3)} ms (naive TLS proxy: ${(lNaive.p50 - lDirect.p50).toFixed(3)} ms) | ${ok(added <= 1)} |`);
    // Held: every connection was served (at least one response each) and none failed.
    const held = (r: LoadResult) => r.total >= 1000 && r.errors === 0 && r.timeouts === 0 && r.non2xx === 0;
    out.push(
      `| 1000 connections, no errors | signatures off: ${c1000.total} requests, ${c1000.errors} errors, ${c1000.timeouts} timeouts, ${c1000.non2xx} non-2xx; on: ${c1000On.total}, ${c1000On.errors}, ${c1000On.timeouts}, ${c1000On.non2xx} | ${ok(held(c1000) && held(c1000On))} |`,
      '',
    );
    const cpus = os.cpus();
    out.push(
      `machine: ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ` +
        `node ${process.version}, OpenSSL ${process.versions.openssl}, ${os.type()} ${os.release()}; ` +
        `Attestation-Report header ${px.msg['evidenceBytes']} bytes (simulated SNP); load generator, upstream and proxies share the cores; access log off; ` +
        `CPU pressure ${pressure()}.`,
    );
    process.stdout.write(out.join('\n') + '\n');
    if (jsonIdx >= 0) {
      const file = process.argv[jsonIdx + 1]!;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ tool, runs, cpu, handshakeMs, signUs: px.msg['signUs'], c1000, c1000On, lDirect, lNaive, lProxy, lSdk, lSdkSigned, ratios: { off: rOff, on: rOn, v1: rV1, offToDirect: rDirect }, added }, null, 2) + '\n');
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}

// Dispatch last: everything above is initialised by now.
if (role === 'upstream') await childUpstream();
else if (role === 'proxy') await childProxy(Number(process.argv[3]), process.argv[4] === 'v1');
else if (role === 'naive') await childNaive(Number(process.argv[3]));
else await main();
