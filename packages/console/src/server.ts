/**
 * @module server
 * The console's HTTP server: the built browser app (static files, read into memory
 * at start) and a read-only JSON API over what the platform already produced: proof
 * bundles in a directory (the demo's output, or any directory of bundles) and the
 * verification keys of a veritee home. It verifies nothing itself: the page does,
 * in the browser. It only listens on loopback.
 *
 * Every response carries a strict Content-Security-Policy: scripts, styles,
 * connections and images from this origin only, no inline script or style, no
 * eval, no framing, no plugins.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { isVeriteeError, parseJsonStrict, VeriteeError } from '@veritee/core';
import { readFileBounded } from '@veritee/core/node-fs';
import { isLoopbackHost, parseUpstreamUrl, relayGet, type ServiceName, type Upstream } from './relay.js';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
};

/** Limits: built assets, bundle files, bundles listed, key documents. */
export const MAX_ASSET_BYTES = 8 * 1024 * 1024;
export const MAX_ASSETS = 200;
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;
export const MAX_BUNDLES_LISTED = 1000;
export const MAX_KEY_BYTES = 4 * 1024 * 1024;

const BUNDLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.json$/;
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Where `npm install` puts the built browser app (packages/console/dist-web). */
export function defaultAssetsDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'dist-web');
}

export interface ConsoleServerOptions {
  /** The built browser app (default: {@link defaultAssetsDir}). */
  assetsDir?: string;
  /** A directory of proof bundles (`*.json`), listed by /api/bundles. */
  bundlesDir?: string;
  /** A veritee home: its keys/<id>/vk.json are listed by /api/keys. */
  home?: string;
  /** The KMS to relay read-only admin GETs to (loopback only; `token`: its admin JWT). */
  kms?: Upstream;
  /** The control plane to relay read-only GETs to (loopback only). */
  cp?: Upstream;
  logger?: boolean;
}

interface Asset {
  body: Buffer;
  type: string;
}

function loadAssets(dir: string): Map<string, Asset> {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new VeriteeError('CONSOLE_ASSETS_MISSING', `the web console is not built: ${join(dir, 'index.html')} is missing (run npm install, or node scripts/build.mjs)`);
  }
  const out = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        if (out.size >= MAX_ASSETS) throw new VeriteeError('INPUT_TOO_LARGE', `the console assets hold more than ${MAX_ASSETS} files`);
        const type = TYPES[extname(name)];
        if (!type) continue;
        out.set('/' + relative(dir, p).split(sep).join('/'), { body: readFileBounded(p, { what: 'console asset', maxBytes: MAX_ASSET_BYTES }), type });
      }
    }
  };
  walk(dir);
  return out;
}

/** What /api/bundles says of one bundle: read from the file, not verified (the page verifies). */
export interface BundleSummary {
  name: string;
  bytes: number;
  kind?: string;
  createdAt?: string;
  periodStartUs?: number;
  periodEndUs?: number;
  attested?: boolean;
  setup?: string;
  claim?: { kind: string; version: number; params: unknown; outputs: unknown };
  problem?: string;
}

function summarize(dir: string, name: string): BundleSummary {
  const p = join(dir, name);
  const bytes = statSync(p).size;
  try {
    const text = readFileBounded(p, { what: 'proof bundle', maxBytes: MAX_BUNDLE_BYTES }).toString('utf8');
    const j = parseJsonStrict(text, { what: name, code: 'ZK_BUNDLE_INVALID', maxDepth: 64 }) as Record<string, unknown>;
    const claim = j.claim as { kind?: unknown; version?: unknown; params?: Record<string, unknown>; outputs?: unknown } | undefined;
    const proof = j.proof as { setup?: unknown } | undefined;
    if (!claim || typeof claim.kind !== 'string') return { name, bytes, problem: 'not a proof bundle (no claim kind)' };
    const params = claim.params ?? {};
    return {
      name,
      bytes,
      kind: claim.kind,
      ...(typeof j.createdAt === 'string' ? { createdAt: j.createdAt.slice(0, 40) } : {}),
      ...(typeof params.periodStartUs === 'number' ? { periodStartUs: params.periodStartUs } : {}),
      ...(typeof params.periodEndUs === 'number' ? { periodEndUs: params.periodEndUs } : {}),
      attested: j.signature !== undefined && j.evidence !== undefined,
      ...(typeof proof?.setup === 'string' ? { setup: proof.setup } : {}),
      claim: { kind: claim.kind, version: Number(claim.version), params: claim.params, outputs: claim.outputs },
    };
  } catch (e) {
    return { name, bytes, problem: isVeriteeError(e) ? `${e.code}: ${e.message.slice(0, 200)}` : 'unreadable' };
  }
}

function bundleNames(dir: string | undefined): string[] {
  if (!dir || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => BUNDLE_NAME.test(n) && statSync(join(dir, n)).isFile())
    .sort()
    .slice(0, MAX_BUNDLES_LISTED);
}

function keyIds(home: string | undefined): string[] {
  if (!home) return [];
  const dir = join(home, 'keys');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => KEY_ID.test(n) && existsSync(join(dir, n, 'vk.json')))
    .sort();
}

export async function buildConsoleServer(opts: ConsoleServerOptions = {}): Promise<FastifyInstance> {
  const assets = loadAssets(opts.assetsDir ?? defaultAssetsDir());
  const upstreams: Partial<Record<ServiceName, Upstream>> = {};
  if (opts.kms) upstreams.kms = { url: parseUpstreamUrl('kms', opts.kms.url), ...(opts.kms.token ? { token: opts.kms.token } : {}) };
  if (opts.cp) upstreams.cp = { url: parseUpstreamUrl('cp', opts.cp.url), ...(opts.cp.token ? { token: opts.cp.token } : {}) };
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 1024 });
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
  });
  app.setErrorHandler((err, _req, reply) => {
    const ve = isVeriteeError(err) ? err : undefined;
    const code = ve?.code ?? ((err as { statusCode?: number }).statusCode === 404 ? 'NOT_FOUND' : 'INTERNAL');
    const status = (err as { status?: number }).status;
    void reply.code(ve ? (status ?? ve.info.http) : ((err as { statusCode?: number }).statusCode ?? 500)).send({ error: { code, message: ve ? ve.message : 'request failed' } });
  });
  app.setNotFoundHandler((_req, reply) => void reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such page or resource' } }));

  const sendAsset = (path: string) => {
    const a = assets.get(path)!;
    return { a, cache: path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache' };
  };
  app.get('/', async (_req, reply) => {
    const { a, cache } = sendAsset('/index.html');
    return reply.type(a.type).header('cache-control', cache).send(a.body);
  });
  app.get('/assets/*', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (!assets.has(path)) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such asset' } });
    const { a, cache } = sendAsset(path);
    return reply.type(a.type).header('cache-control', cache).send(a.body);
  });

  app.get('/api/health', async () => ({ ok: true }));
  app.get('/api/services', async () => ({ kms: upstreams.kms !== undefined, cp: upstreams.cp !== undefined }));
  for (const service of ['kms', 'cp'] as const) {
    app.all(`/api/${service}/*`, async (req, reply) => {
      if (req.method !== 'GET') {
        void reply.header('allow', 'GET');
        throw Object.assign(new VeriteeError('CONSOLE_RELAY_REFUSED', `the console relays GET only, not ${req.method.slice(0, 10)}`), { status: 405 });
      }
      const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(host)) throw new VeriteeError('CONSOLE_RELAY_REFUSED', 'the relay answers requests addressed to a loopback host only');
      const up = upstreams[service];
      if (!up) throw new VeriteeError('CONSOLE_SERVICE_NOT_CONFIGURED', service === 'kms' ? 'this console was started without a KMS (veritee console --kms URL --kms-token-file FILE)' : 'this console was started without a control plane (veritee console --cp URL)');
      const raw = req.url;
      const q = raw.indexOf('?');
      const path = (q < 0 ? raw : raw.slice(0, q)).slice(`/api/${service}/`.length);
      const a = await relayGet(service as ServiceName, up, path, new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)));
      return reply.code(a.status).type('application/json; charset=utf-8').header('cache-control', 'no-store').send(a.body);
    });
  }
  app.get('/api/bundles', async () => ({
    dir: opts.bundlesDir ?? '(none)',
    bundles: bundleNames(opts.bundlesDir).map((n) => summarize(opts.bundlesDir!, n)),
  }));
  app.get<{ Params: { name: string } }>('/api/bundles/:name', async (req, reply) => {
    const { name } = req.params;
    if (!BUNDLE_NAME.test(name) || !bundleNames(opts.bundlesDir).includes(name)) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such bundle' } });
    const body = readFileBounded(join(opts.bundlesDir!, name), { what: 'proof bundle', maxBytes: MAX_BUNDLE_BYTES });
    return reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(body);
  });
  app.get('/api/keys', async () => ({
    keys: keyIds(opts.home).map((id) => {
      try {
        const text = readFileBounded(join(opts.home!, 'keys', id, 'vk.json'), { what: 'verification key', maxBytes: MAX_KEY_BYTES }).toString('utf8');
        const j = parseJsonStrict(text, { what: id, code: 'ZK_VK_INVALID', maxDepth: 16 }) as { circuit?: unknown; capacity?: unknown; setup?: { kind?: unknown } };
        return { id, circuit: String(j.circuit), capacity: Number(j.capacity), setup: String(j.setup?.kind) };
      } catch (e) {
        return { id, problem: isVeriteeError(e) ? e.code : 'unreadable' };
      }
    }),
  }));
  app.get<{ Params: { id: string } }>('/api/keys/:id', async (req, reply) => {
    const { id } = req.params;
    if (!KEY_ID.test(id) || !keyIds(opts.home).includes(id)) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such key' } });
    const body = readFileBounded(join(opts.home!, 'keys', id, 'vk.json'), { what: 'verification key', maxBytes: MAX_KEY_BYTES });
    return reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(body);
  });
  return app;
}

export { isLoopbackHost };

/** Parses `HOST:PORT`, `[::1]:PORT` or `PORT`; refuses hosts outside loopback. */
export function parseConsoleListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new VeriteeError('INPUT_INVALID', `--listen ${JSON.stringify(v.slice(0, 80))} must be HOST:PORT or PORT`);
  const host = m[1] || m[2] || '127.0.0.1';
  if (!isLoopbackHost(host)) throw new VeriteeError('INPUT_INVALID', `--listen ${JSON.stringify(v.slice(0, 80))}: the console listens on loopback only (127.0.0.1, ::1 or localhost)`);
  return { host, port };
}
