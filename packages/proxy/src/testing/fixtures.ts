/**
 * @module testing/fixtures
 * Test helpers (loopback only): a scriptable upstream, a shared simulated TEE, proxies
 * started on ephemeral ports, a pino log capture and a man-in-the-middle TLS terminator.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parsePolicy, SimulatedTee, type Policy } from '@veritee/attestation';
import { parseSla, type LatencyParams } from '@veritee/zk';
import { Enclave, simulatedEvidenceProvider, type EvidenceProvider, type SimulatedProviderOptions } from '../enclave.js';
import { createAttestingProxy, type AttestingProxy, type AttestingProxyOptions } from '../server.js';
import { selfSignedCertificate } from '../tls-cert.js';

/** The simulator's default SNP launch measurement. */
export const SIM_MEASUREMENT = createHash('sha384').update('veritee simulated SEV-SNP guest').digest('hex');
export const OTHER_MEASUREMENT = 'ab'.repeat(48);

let teePromise: Promise<SimulatedTee> | undefined;
/** One simulated TEE per test process (its key hierarchy takes ~1 s to make). */
export function sharedTee(): Promise<SimulatedTee> {
  teePromise ??= SimulatedTee.create({ platforms: ['snp', 'tdx'] });
  return teePromise;
}

/** Development policy: simulated SNP evidence with the simulator's measurement, key and nonce bound. */
export function devPolicy(extra: Record<string, unknown> = {}): Policy {
  return parsePolicy({
    name: 'test-dev',
    platforms: ['snp', 'tdx'],
    allowSimulated: true,
    reportData: { require: ['nonce', 'publicKeyHash'] },
    snp: { measurements: [SIM_MEASUREMENT] },
    tdx: { mrtd: 'any' },
    ...extra,
  });
}

export interface Upstream {
  url: string;
  server: http.Server;
  /** Every request body the upstream received, as text. */
  bodies: string[];
  /** Number of requests it received. */
  hits: number;
  close(): Promise<void>;
}

/**
 * Routes: `/hello` (1 KiB text), `/echo` (echoes the body), `/json`, `/slow?ms=` (answers
 * after ms), `/big?bytes=` (chunked, no content-length), `/status/:n`, `/stall` (headers,
 * then nothing).
 */
export async function startUpstream(): Promise<Upstream> {
  const state = { bodies: [] as string[], hits: 0 };
  const hello = Buffer.alloc(1024, 'h');
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    state.hits++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.length) state.bodies.push(body.toString('utf8'));
      const u = new URL(req.url ?? '/', 'http://x');
      const p = u.pathname;
      if (p === '/hello') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': hello.length });
        res.end(hello);
      } else if (p === '/echo') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-seen-forwarded-proto': String(req.headers['x-forwarded-proto']) });
        res.end(body);
      } else if (p === '/headers') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.rawHeaders));
      } else if (p === '/json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, query: u.search }));
      } else if (p === '/slow') {
        const t = setTimeout(() => res.end('slow'), Number(u.searchParams.get('ms') ?? 1000));
        res.on('close', () => clearTimeout(t));
      } else if (p === '/big') {
        let left = Number(u.searchParams.get('bytes') ?? 3 * 1024 * 1024);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const block = Buffer.alloc(64 * 1024, 'b');
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, block.length);
            left -= n;
            if (!res.write(block.subarray(0, n))) return res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else if (p.startsWith('/status/')) {
        res.writeHead(Number(p.slice(8)));
        res.end();
      } else if (p === '/stall') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 10 });
        res.write('abc');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    get bodies() {
      return state.bodies;
    },
    get hits() {
      return state.hits;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface RacyUpstream {
  url: string;
  /** Requests answered 200. */
  answered: number;
  /** Requests met with a TCP reset instead of an answer. */
  resets: number;
  /** TCP connections accepted. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A minimal HTTP/1.1 upstream that plays the keep-alive race deterministically. It
 * answers with keep-alive and no Keep-Alive hint (as Go's net/http or nginx do), then,
 * on a connection that was already used: with `idleResetMs`, a request arriving after the
 * connection was idle that long is met with a TCP reset (an upstream whose keep-alive
 * timeout fired just as the request came in); without it, every second request on a
 * connection is. Either way the request never reaches an application.
 */
export async function startRacyUpstream(opts: { idleResetMs?: number } = {}): Promise<RacyUpstream> {
  const state = { answered: 0, resets: 0, connections: 0 };
  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let served = 0;
    let idleSince = 0;
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.subarray(end + 4 + len);
        const stale = served > 0 && (opts.idleResetMs === undefined || performance.now() - idleSince >= opts.idleResetMs);
        if (stale) {
          state.resets++;
          socket.resetAndDestroy();
          return;
        }
        served++;
        state.answered++;
        const body = 'ok';
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        idleSince = performance.now();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get answered() {
      return state.answered;
    },
    get resets() {
      return state.resets;
    },
    get connections() {
      return state.connections;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Captures pino output (one JSON object per line). */
export function logCapture(): { logger: pino.Logger; lines: () => string[]; text: () => string } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines: () => out, text: () => out.join('\n') };
}

export interface RunningProxy {
  proxy: AttestingProxy;
  url: string;
  port: number;
  enclave: Enclave;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 with a simulated SNP enclave (options override). */
export async function startProxy(
  upstream: string,
  opts: Partial<AttestingProxyOptions> & { sim?: SimulatedProviderOptions; provider?: EvidenceProvider } = {},
): Promise<RunningProxy> {
  const provider = opts.provider ?? (await simulatedEvidenceProvider({ tee: await sharedTee(), ...opts.sim }));
  const enclave = opts.enclave ?? Enclave.create(provider);
  const proxy = await createAttestingProxy({ host: 'localhost', upstream, enclave, logger: false, ...opts });
  const a = await proxy.listen(0, '127.0.0.1');
  return { proxy, url: `https://127.0.0.1:${a.port}`, port: a.port, enclave, close: () => proxy.close() };
}

export interface Mitm {
  url: string;
  /** Every request body the man in the middle saw, as text. */
  bodies: string[];
  /** Paths it saw. */
  paths: string[];
  close(): Promise<void>;
}

/**
 * A man in the middle: terminates TLS with its own certificate, reads everything, and
 * re-encrypts to the real proxy over its own TLS session, relaying headers and trailers.
 */
export async function startMitm(targetPort: number, rewrite?: (path: string, body: Buffer) => Buffer): Promise<Mitm> {
  const { cert, key } = selfSignedCertificate('localhost');
  const bodies: string[] = [];
  const paths: string[] = [];
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
  const server = https.createServer({ cert, key }, (req, res) => {
    paths.push(req.url ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.length) bodies.push(body.toString('utf8'));
      const headers = { ...req.headers };
      delete headers['connection'];
      const up = https.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers, agent, maxHeaderSize: 256 * 1024 }, (upRes) => {
        const h = { ...upRes.headers };
        delete h['transfer-encoding'];
        delete h['connection'];
        const out: Buffer[] = [];
        upRes.on('data', (c: Buffer) => out.push(c));
        upRes.on('end', () => {
          const b = rewrite ? rewrite(req.url ?? '', Buffer.concat(out)) : Buffer.concat(out);
          if (upRes.trailers['veritee-signature']) h['veritee-signature'] = upRes.trailers['veritee-signature'];
          delete h['trailer'];
          h['content-length'] = String(b.length);
          res.writeHead(upRes.statusCode ?? 502, h);
          res.end(b);
        });
      });
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    bodies,
    paths,
    async close() {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * The veritee home shared by every test run on this machine, so the dev setup of the
 * 1024 size class runs once: the same directory as packages/zk/src/testing/home.ts
 * ($VERITEE_TEST_HOME or <repo>/.veritee/test-home), which @veritee/zk does not export.
 */
export function testHome(): string {
  if (process.env.VERITEE_TEST_HOME) return process.env.VERITEE_TEST_HOME;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'prover', 'go.mod'))) return join(dir, '.veritee', 'test-home');
    dir = dirname(dir);
  }
  throw new Error('repository root not found');
}

/** A deterministic latency claim input: n records in a one-hour period. */
export function latencyInput(n: number, seed = 7): { params: LatencyParams; records: number[] } {
  let a = seed;
  const r = () => (a = (a * 1103515245 + 12345) % 2147483648) / 2147483648;
  const records: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.floor(r() * 3_500_000_000);
    records.push(s, s + 1000 + Math.floor(r() * 200_000));
  }
  const periodStartUs = 1_763_596_800_000_000;
  return { params: { periodStartUs, periodEndUs: periodStartUs + 3_600_000_000, ...parseSla('p95<150ms,p99<250ms,min=500') }, records };
}
