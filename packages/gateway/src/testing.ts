/**
 * @module testing
 * Test helpers (loopback only): scriptable HTTP upstreams, a shared simulated TEE,
 * gateways on ephemeral ports and requests over real TLS.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { SimulatedTee } from '@veritee/attestation';
import { Enclave, simulatedEvidenceProvider } from '@veritee/proxy';
import { devSetup, ProverPool } from '@veritee/zk';
import { testHome } from '@veritee/zk/testing';
import { Gateway } from './gateway.js';
import { parseGatewayConfig, type GatewayConfigInput } from './config.js';

export interface Backend {
  url: string;
  hits: number;
  /** Per request, the milliseconds from the backend receiving it to its answer being written. */
  serviceMs: number[];
  server: http.Server;
  close(): Promise<void>;
  /** Health endpoint answer. */
  healthy: boolean;
}

/** An upstream that answers `name` after delayMs (and /healthz with 200 or 503). */
export async function startBackend(name: string, delayMs = 0): Promise<Backend> {
  const b = { hits: 0, healthy: true, serviceMs: [] as number[] } as Backend;
  b.server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(b.healthy ? 200 : 503).end();
      return;
    }
    b.hits++;
    const t0 = performance.now();
    res.on('finish', () => b.serviceMs.push(performance.now() - t0));
    req.resume();
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain', 'x-path': req.url ?? '' }).end(name), delayMs);
  });
  b.server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', r));
  b.url = `http://127.0.0.1:${(b.server.address() as AddressInfo).port}`;
  b.close = () =>
    new Promise<void>((r) => {
      b.server.closeAllConnections();
      b.server.close(() => r());
    });
  return b;
}

/** The shared test home ($VERITEE_TEST_HOME or <repo>/.veritee/test-home). */
export function gatewayTestHome(): string {
  return testHome();
}

/**
 * Makes (or reuses) the dev keys the gateway proves with: latency and gateway at the
 * 1,024 class. A fresh clone has none, so tests that expect proofs call this first.
 */
export async function ensureGatewayTestKeys(home = gatewayTestHome()): Promise<void> {
  const pool = new ProverPool({ home, size: 1 });
  try {
    await devSetup(pool, 'latency', 1024);
    await devSetup(pool, 'gateway', 1024);
  } finally {
    await pool.close();
  }
}

let tee: Promise<SimulatedTee> | undefined;
export async function testEnclave(): Promise<Enclave> {
  tee ??= SimulatedTee.create({ platforms: ['snp'] });
  return Enclave.create(await simulatedEvidenceProvider({ tee: await tee }));
}

export function baseConfig(extra: Partial<GatewayConfigInput> & Pick<GatewayConfigInput, 'pools' | 'routes'>): GatewayConfigInput {
  return { listen: '127.0.0.1:0', logLevel: 'silent', accessLog: false, slas: { enabled: false }, ...extra };
}

export async function startGateway(cfg: GatewayConfigInput, opts: { authTime?: () => Date } = {}): Promise<{ gw: Gateway; url: string; close(): Promise<void> }> {
  const gw = await Gateway.create({ config: parseGatewayConfig(cfg), enclave: await testEnclave(), home: gatewayTestHome(), logger: false, ...opts });
  const a = await gw.listen();
  return { gw, url: `https://127.0.0.1:${a.port}`, close: () => gw.close() };
}

export interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  ms: number;
}

const insecure = new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 1 });

/** One request over real TLS (the self-signed certificate is not what is tested here). */
export function send(url: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string; agent?: https.Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const u = new URL(url);
    // The path goes out exactly as given (a URL string would be normalised first).
    const req = https.request({ host: u.hostname, port: u.port, path, method: init.method ?? 'GET', headers: init.headers, agent: init.agent ?? insecure, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

