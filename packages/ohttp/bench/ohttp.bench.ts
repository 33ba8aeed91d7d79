/**
 * Oblivious HTTP on loopback: requests per second and added latency through relay +
 * gateway for 1 KiB requests, against the target called directly.
 *
 *   node --import tsx packages/ohttp/bench/ohttp.bench.ts [--requests 4000] [--concurrency 32] [--payload 1024] [--single-process]
 *
 * Four processes, as deployed: this one is the load generator (the OHTTP client SDK:
 * BHTTP encode, HPKE encapsulate, POST, decrypt, decode), and it forks the target, the
 * gateway (simulated TEE) and the relay, each listening on 127.0.0.1:0. Every phase is
 * bounded by a request count and a time cap; only loopback is used. The client verifies
 * the gateway's attestation once, at connect, as a real client would.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Agent } from 'undici';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const role = args.includes('--role') ? args[args.indexOf('--role') + 1] : 'main';

// ---- children ------------------------------------------------------------------------------------

async function runChild(): Promise<void> {
  const send = (url: string) => process.send!({ url });
  process.on('message', (m) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
  process.on('SIGTERM', () => process.exit(0));
  if (role === 'target') {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.end(body);
      });
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => send(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  } else if (role === 'gateway') {
    const { buildGateway, simulatedEvidenceProvider } = await import('../src/index.js');
    const target = args[args.indexOf('--target') + 1]!;
    const app = await buildGateway({ target, evidence: await simulatedEvidenceProvider({ platform: 'tdx' }) });
    send(await app.listen({ host: '127.0.0.1', port: 0 }));
  } else if (role === 'relay') {
    const { buildRelay } = await import('../src/index.js');
    const gateway = args[args.indexOf('--gateway') + 1]!;
    const app = await buildRelay({ gateway });
    send(await app.listen({ host: '127.0.0.1', port: 0 }));
  }
}

// ---- load generator ----------------------------------------------------------------------------------

interface Result {
  path: string;
  concurrency: number;
  requests: number;
  seconds: number;
  latencies: number[];
  errors: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

async function load(path: string, total: number, concurrency: number, capMs: number, one: () => Promise<void>): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const deadline = performance.now() + capMs;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total && performance.now() < deadline) {
        next++;
        const t = performance.now();
        try {
          await one();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { path, concurrency, requests: latencies.length, seconds: (performance.now() - start) / 1000, latencies, errors };
}

/** CPU time (user + system, µs) a child has used so far. */
function childCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      const c = (m as { cpu?: NodeJS.CpuUsage }).cpu;
      if (c) {
        child.off('message', on);
        resolve(c.user + c.system);
      }
    };
    child.on('message', on);
    child.send('cpu');
  });
}

function spawn(r: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  // OHTTP_BENCH_PROFILE=DIR writes a CPU profile of every child into DIR.
  const prof = process.env['OHTTP_BENCH_PROFILE'];
  const semi = process.env['OHTTP_BENCH_SEMI_SPACE_MB'];
  const execArgv = ['--import', 'tsx', ...(semi ? [`--max-semi-space-size=${semi}`] : []), ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}/${r}`] : [])];
  const child = fork(fileURLToPath(import.meta.url), ['--role', r, ...extra], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, url: (m as { url: string }).url }));
    child.once('exit', (code) => reject(new Error(`${r} exited with ${code}`)));
  });
}

function version(pkg: string): string {
  try {
    const req = createRequire(import.meta.url);
    let dir = req.resolve(pkg);
    for (let i = 0; i < 6; i++) {
      dir = dir.slice(0, dir.lastIndexOf('/'));
      try {
        const j = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { name?: string; version?: string };
        if (j.name === pkg) return j.version ?? '?';
      } catch {
        /* keep walking up */
      }
    }
  } catch {
    /* not resolvable */
  }
  return '?';
}

async function main(): Promise<void> {
  const total = arg('requests', 4000);
  const concurrency = arg('concurrency', 32);
  const payloadBytes = arg('payload', 1024);
  const latencyRuns = arg('latency-requests', 400);
  const capMs = arg('cap-seconds', 30) * 1000;
  const load0 = loadavg();

  const { OhttpClient, closeSharedAgent, buildGateway, buildRelay, simulatedEvidenceProvider } = await import('../src/index.js');
  const { parsePolicy } = await import('@veritee/attestation');
  const children: ChildProcess[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  const single = args.includes('--single-process');
  try {
    let target: { child?: ChildProcess; url: string };
    let gateway: { child?: ChildProcess; url: string };
    let relay: { child?: ChildProcess; url: string };
    if (single) {
      // everything in this process: no context switches between the parties
      const t = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.concat(chunks)));
      });
      t.keepAliveTimeout = 60_000;
      await new Promise<void>((r) => t.listen(0, '127.0.0.1', r));
      closers.push(() => new Promise((r) => (t.closeAllConnections(), t.close(r))));
      target = { url: `http://127.0.0.1:${(t.address() as AddressInfo).port}` };
      const g = await buildGateway({ target: target.url, evidence: await simulatedEvidenceProvider({ platform: 'tdx' }) });
      gateway = { url: await g.listen({ host: '127.0.0.1', port: 0 }) };
      const r = await buildRelay({ gateway: gateway.url });
      relay = { url: await r.listen({ host: '127.0.0.1', port: 0 }) };
      closers.push(() => r.close(), () => g.close());
    } else {
      target = await spawn('target');
      children.push(target.child!);
      gateway = await spawn('gateway', ['--target', target.url]);
      children.push(gateway.child!);
      relay = await spawn('relay', ['--gateway', gateway.url]);
      children.push(relay.child!);
    }

    const policy = parsePolicy({ platforms: ['tdx'], allowSimulated: true, tdx: { mrtd: 'any' }, reportData: { require: ['nonce', 'publicKeyHash'] } });
    const client = await OhttpClient.connect({ relayUrl: `${relay.url}/`, keysUrl: `${relay.url}/ohttp-keys`, policy });
    const payload = new Uint8Array(payloadBytes).map((_, i) => (i * 7) & 0xff);
    const direct = new Agent({ keepAliveTimeout: 60_000, connections: 64 });
    const targetUrl = new URL(`${target.url}/echo`);

    const viaDirect = async () => {
      const r = await direct.request({ origin: targetUrl.origin, path: targetUrl.pathname, method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(payload) });
      const b = Buffer.from(await r.body.arrayBuffer());
      if (r.statusCode !== 200 || b.length !== payloadBytes) throw new Error('bad direct response');
    };
    const viaOhttp = async () => {
      const r = await client.request({ url: targetUrl.toString(), method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: payload });
      if (r.status !== 200 || r.body.length !== payloadBytes) throw new Error('bad OHTTP response');
    };

    // warm up both paths (JIT, connection pools)
    await load('warmup', 600, concurrency, 15_000, viaDirect);
    await load('warmup', 600, concurrency, 15_000, viaOhttp);

    const results: Result[] = [];
    const parties: Array<readonly [string, ChildProcess | undefined]> = [
      [single ? 'all parties (one process)' : 'client (load generator)', undefined],
      ['relay', relay.child],
      ['gateway', gateway.child],
      ['target', target.child],
    ];
    const cpuNow = () => Promise.all(parties.map(([, c]) => (c ? childCpu(c) : Promise.resolve(process.cpuUsage().user + process.cpuUsage().system))));
    if (single) parties.splice(1);
    results.push(await load('direct to target', total, concurrency, capMs, viaDirect));
    const cpu0 = await cpuNow();
    results.push(await load('OHTTP: client → relay → gateway → target', total, concurrency, capMs, viaOhttp));
    const cpu1 = await cpuNow();
    const perRequest = parties.map(([name], i) => [name, (cpu1[i]! - cpu0[i]!) / results[1]!.requests] as const);
    results.push(await load('direct to target', latencyRuns, 1, capMs, viaDirect));
    results.push(await load('OHTTP: client → relay → gateway → target', latencyRuns, 1, capMs, viaOhttp));
    await direct.close();
    await closeSharedAgent();

    const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '—');
    const lines = [
      `Oblivious HTTP on loopback, ${payloadBytes}-byte POST bodies echoed by the target (HPKE X25519/HKDF-SHA256/AES-128-GCM)`,
      '',
      '| path | concurrency | requests | errors | req/s | p50 ms | p90 ms | p99 ms |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.path} | ${r.concurrency} | ${r.requests} | ${r.errors} | ${fmt(r.requests / r.seconds, 0)} | ${fmt(pct(r.latencies, 50))} | ${fmt(pct(r.latencies, 90))} | ${fmt(pct(r.latencies, 99))} |`,
      ),
      '',
    ];
    const [dT, oT, d1, o1] = results as [Result, Result, Result, Result];
    lines.push(
      `added latency (concurrency 1): p50 +${fmt(pct(o1.latencies, 50) - pct(d1.latencies, 50))} ms, p99 +${fmt(pct(o1.latencies, 99) - pct(d1.latencies, 99))} ms`,
      `throughput (concurrency ${concurrency}): OHTTP ${fmt(oT.requests / oT.seconds, 0)} req/s = ${fmt((100 * (oT.requests / oT.seconds)) / (dT.requests / dT.seconds), 0)}% of direct; target >= 1500 req/s: ${oT.requests / oT.seconds >= 1500 ? 'MET' : 'NOT MET'}`,
      `CPU per OHTTP request (µs, concurrency ${concurrency}): ${perRequest.map(([n, us]) => `${n} ${us.toFixed(0)}`).join(', ')}`,
      `CPU-bound ceiling if all ${cpus().length} cores were ours: ${fmt((cpus().length * 1e6) / perRequest.reduce((a, [, us]) => a + us, 0), 0)} req/s (estimate: ${cpus().length} × 10^6 µs / total CPU µs per request; CPU time itself inflates under contention)`,
      '',
      'machine:',
      `  cpu: ${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
      `  memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`,
      `  node ${process.version}; @hpke/core ${version('@hpke/core')}; fastify ${version('fastify')}; undici ${version('undici')}`,
      `  load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')} (the cores are shared)`,
      single ? '  processes: one (load generator, client, relay, gateway and target share an event loop)' : '  processes: load generator + OHTTP client, relay, gateway, target (one each)',
    );
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    for (const c of children) c.kill();
    for (const c of closers) await c();
  }
}

if (role === 'main') {
  main().catch((e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
} else {
  runChild().catch((e: unknown) => {
    process.stderr.write(`${role} failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
