/**
 * @module gateway
 * The API gateway: the attesting proxy (@veritee/proxy: TLS 1.3 inside the TEE, sessions
 * bound to attestation by exported keying material, every response signed) with a
 * dispatcher in front of its forwarding: route by host and path prefix, validate, check
 * the bearer JWT, rate-limit per client, choose a backend, and record the outcome.
 *
 * Order of the checks for a request (each refusal is signed like any response and never
 * reaches an upstream): SLA index (`/.well-known/veritee/slas`, answered here) → in-flight
 * limit (503) → route (404) → method (405) → body length and header rules (413 / 400) →
 * rate limit by address when the route has no auth or clients are keyed by address (429) →
 * bearer JWT (401) → rate limit by token subject (429) → backend (503 when none is usable).
 *
 * Reload (`reload()`, SIGHUP in the CLI) swaps routes, pools, key sets and limits
 * atomically for new requests; requests in flight finish on the backends they were given,
 * and no connection is closed. The listen address, TEE, records, SLA period and prover,
 * mTLS CA, timeouts, body/head limits, host and logging need a restart (a reload that
 * changes them is refused with the reason).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { quoteInput, VeriteeError, type ErrorCode } from '@veritee/core';
import {
  checkTlsCredentials,
  createAttestingProxy,
  responseErrorCode,
  type AttestingProxy,
  type DispatchDecision,
  type Enclave,
} from '@veritee/proxy';
import type { EvidenceEnvelope } from '@veritee/attestation';
import type { EnclaveSigner } from '@veritee/zk';
import type { JWTVerifyGetKey } from 'jose';
import { authenticate, buildKeySets } from './auth.js';
import { Pool, type Backend } from './balancer.js';
import { parseGatewayConfig, parseListen, type GatewayConfig, type RouteConfig } from './config.js';
import { RateLimiter, type RateLimit } from './ratelimit.js';
import { FLAG_CONNECTION_OK, FLAG_RATE_LIMITED, FLAG_SERVED, NO_GROUP, periodFunction, RecordStore } from './records.js';
import { ProofScheduler, SLAS_PATH } from './scheduler.js';
import { BundlePublisher } from './publish.js';
import { KmsClientAuth, KmsServerCertificate, spiffeAllowed, type KmsCertificate } from './kms.js';
import { KmsClient, type EvidenceProvider as KmsEvidenceProvider } from '@veritee/kms';
import { renderMetrics } from './metrics.js';

export const METRICS_PATH = '/.well-known/veritee/metrics';

export interface GatewayOptions {
  config: GatewayConfig;
  enclave: Enclave;
  /** Directory that relative file names in the configuration are resolved against (default: cwd). */
  baseDir?: string;
  /** TLS material (PEM); default: the configuration's files, else a self-signed certificate. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** veritee home with the proving keys (default: slas.home, $VERITEE_HOME, ~/.veritee). */
  home: string;
  logger?: Logger | false;
  /** Clock for JWT checks (tests); default now. */
  authTime?: () => Date;
  /** Clock for certificate checks and renewal (ms); default Date.now. */
  now?: () => number;
  /** The KMS client (default: one for `kms.url` whose evidence comes from the enclave's provider). */
  kmsClient?: KmsClient;
}

interface State {
  config: GatewayConfig;
  routes: RouteConfig[];
  pools: Map<string, Pool>;
  keySets: Map<string, JWTVerifyGetKey>;
}

interface Meta {
  startUs: number;
  group: number;
  rateLimited: boolean;
  backend?: Backend;
  pool?: Pool;
}

/** µs since the epoch, from the monotonic clock (sub-µs resolution). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function sortRoutes(routes: RouteConfig[]): RouteConfig[] {
  // Exact host before '*', then longest prefix, then configuration order.
  return [...routes].sort((a, b) => Number(a.host === '*') - Number(b.host === '*') || b.pathPrefix.length - a.pathPrefix.length || a.index - b.index);
}

function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47 /* / */);
}

/** Why a path is not canonical (RFC 3986 §6.2.2), or undefined. */
export function nonCanonical(path: string): string | undefined {
  if (path.includes('\\')) return 'a backslash';
  if (/\/\/|\/\.\.?(?:\/|$)/.test(path)) return 'an empty or dot segment';
  const enc = /%([0-9A-Fa-f]{2})/g;
  for (let m = enc.exec(path); m; m = enc.exec(path)) {
    const c = String.fromCharCode(parseInt(m[1]!, 16));
    if (c === '/' || c === '\\' || /[A-Za-z0-9._~-]/.test(c)) return `an encoded ${JSON.stringify(c)}`;
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(path)) return 'a malformed percent-encoding';
  return undefined;
}

function err(code: ErrorCode, message: string, headers?: Record<string, string>): DispatchDecision {
  return { error: { code, message, ...(headers ? { headers } : {}) } };
}

/** An EnclaveSigner (for bundles) from the proxy's enclave: same key, evidence without a nonce. */
export async function signerFromEnclave(enclave: Enclave): Promise<EnclaveSigner> {
  const header = await enclave.evidenceHeader();
  const evidence = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as EvidenceEnvelope;
  const anchors = enclave.simulatedAnchorsJson();
  return { publicKey: enclave.spki, evidence, ...(anchors ? { simulatedAnchors: anchors } : {}), sign: (m) => new Uint8Array(enclave.sign(m)) };
}

export class Gateway {
  readonly proxy: AttestingProxy;
  readonly store: RecordStore;
  readonly scheduler: ProofScheduler;
  readonly limiter: RateLimiter;
  private state: State;
  private readonly metas = new WeakMap<IncomingMessage, Meta>();
  private readonly groupIndex = new Map<string, number>();
  private readonly groupNames: string[] = [];
  private inFlight = 0;
  private readonly log: Logger | undefined;
  private signer: Promise<EnclaveSigner> | undefined;
  /** The gateway's TLS certificate from the KMS (with `kms.serverCertificate`). */
  readonly kmsCertificate: KmsServerCertificate | undefined;
  /** Checks of client certificates the KMS CA issued (with `kms.clientCertificates`). */
  readonly kmsClients: KmsClientAuth | undefined;
  /** Posts proven bundles to the control plane (with `controlPlane`). */
  readonly publisher: BundlePublisher | undefined;
  /** Counters for metrics. */
  readonly counters = { requests: new Map<string, number>(), rateLimited: 0, authFailures: 0, overloaded: 0, noBackend: 0, droppedConnections: 0, reloads: 0 };

  private constructor(
    private readonly opts: GatewayOptions,
    proxy: AttestingProxy,
    state: State,
    log: Logger | undefined,
    kms: { cert?: KmsServerCertificate; clients?: KmsClientAuth } = {},
  ) {
    this.kmsCertificate = kms.cert;
    this.kmsClients = kms.clients;
    this.proxy = proxy;
    this.state = state;
    this.log = log;
    const cfg = state.config;
    const periodOf = periodFunction(cfg.slas.period);
    this.store = new RecordStore({ periodOf, memoryRecords: cfg.records.memoryRecords, spoolMaxBytes: cfg.records.spoolMaxBytes, ...(cfg.records.spoolDir ? { spoolDir: cfg.records.spoolDir } : {}) });
    this.limiter = new RateLimiter(cfg.limits.maxClients);
    if (cfg.controlPlane) {
      const c = cfg.controlPlane;
      const base = opts.baseDir ?? '.';
      let ca: Buffer | undefined;
      if (c.ca) {
        try {
          ca = readFileSync(c.ca.startsWith('/') ? c.ca : `${base}/${c.ca}`);
        } catch (e) {
          throw new VeriteeError('INPUT_FILE_UNREADABLE', `controlPlane.ca ${quoteInput(c.ca, 200)} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      this.publisher = new BundlePublisher({ url: c.url, timeoutMs: c.timeoutMs, retryBaseMs: c.retryBaseMs, retryMaxMs: c.retryMaxMs, maxQueue: c.maxQueue, ...(ca ? { ca } : {}), onLog: (level, obj, msg) => this.log?.[level](obj, msg) });
    } else this.publisher = undefined;
    const publisher = this.publisher;
    for (const g of cfg.groups) this.groupOf(g);
    this.scheduler = new ProofScheduler({
      store: this.store,
      config: () => this.state.config,
      groupName: (i) => this.groupNames[i],
      signer: () => (this.signer ??= signerFromEnclave(opts.enclave)),
      periodOf,
      home: opts.home,
      onLog: (level, obj, msg) => this.log?.[level](obj, msg),
      ...(publisher ? { onBundle: (e, body) => publisher.enqueue({ source: this.state.config.host, periodStart: e.periodStart, group: e.group, kind: e.kind, bundle: body }) } : {}),
    });
    this.attachPools(state.pools);
  }

  /** Builds the gateway (does not listen). */
  static async create(opts: GatewayOptions): Promise<Gateway> {
    const cfg = opts.config;
    const log: Logger | undefined = opts.logger === false ? undefined : (opts.logger ?? pino({ level: cfg.logLevel, base: { svc: 'veritee-gateway' } }));
    const state = Gateway.buildState(cfg, opts.baseDir ?? '.');
    let tls = opts.tls;
    if (!tls && cfg.tls) tls = Gateway.readTls(cfg, opts.baseDir ?? '.');
    const cas: string[] = [];
    if (cfg.mtls) cas.push(Gateway.readClientCa(cfg.mtls.ca, opts.baseDir ?? '.').toString());
    const now = opts.now ?? Date.now;
    let kmsCert: KmsServerCertificate | undefined;
    let kmsClients: KmsClientAuth | undefined;
    let self: Gateway | undefined;
    if (cfg.kms) {
      const k = cfg.kms;
      const client = opts.kmsClient ?? Gateway.kmsClientFor(cfg, opts.enclave, opts.baseDir ?? '.');
      // The gateway attests and gets a workload certificate; its chain[0] is the KMS CA.
      kmsCert = new KmsServerCertificate({
        client,
        tenant: k.tenant,
        workload: k.workload,
        dns: /^[a-z0-9.-]+$/.test(cfg.host) && !/^[0-9.]+$/.test(cfg.host) ? [cfg.host] : [],
        ...(k.ttlSeconds ? { ttlSeconds: k.ttlSeconds } : {}),
        now,
        apply: (c) => self?.installKmsCertificate(c),
        onLog: (level, obj, msg) => log?.[level](obj, msg),
      });
      const first = await kmsCert.obtain();
      if (k.serverCertificate && !opts.tls) tls = { cert: first.certPem, key: first.keyPem };
      if (k.clientCertificates) {
        cas.push(first.caPem);
        kmsClients = new KmsClientAuth({ caPem: first.caPem, client, tenant: k.clientTenant ?? k.tenant, ...(k.trustDomain ? { trustDomain: k.trustDomain } : {}), allowSimulated: k.allowSimulatedClients, now, statusCacheMs: k.statusCacheMs });
      }
      if (!k.serverCertificate || opts.tls) kmsCert = undefined;
    }
    const clientCa = cas.length ? cas.join('\n') : undefined;
    const proxy = await createAttestingProxy({
      host: cfg.host,
      enclave: opts.enclave,
      ...(tls ? { tls } : {}),
      ...(clientCa ? { clientCa } : {}),
      logger: log ?? false,
      accessLog: cfg.accessLog,
      limits: { maxRequestBodyBytes: cfg.limits.maxBodyBytes, maxHeaderBytes: cfg.limits.maxHeaderBytes },
      timeouts: cfg.timeouts,
      dispatch: (req) => self!.dispatch(req),
    });
    self = new Gateway(opts, proxy, state, log, { ...(kmsCert ? { cert: kmsCert } : {}), ...(kmsClients ? { clients: kmsClients } : {}) });
    self.wire();
    kmsCert?.start();
    return self;
  }

  /** A KMS client for `kms.url` whose evidence comes from the enclave's evidence provider. */
  private static kmsClientFor(cfg: GatewayConfig, enclave: Enclave, baseDir: string): KmsClient {
    const k = cfg.kms!;
    const p = enclave.provider;
    if (p.platform !== 'snp' && p.platform !== 'tdx') throw new VeriteeError('GATEWAY_CONFIG_INVALID', `kms: the KMS accepts snp or tdx evidence, this gateway runs on ${p.platform}`);
    const evidence: KmsEvidenceProvider = { tee: p.platform, evidence: (rd) => p.evidence(rd) };
    let ca: Buffer | undefined;
    if (k.ca) {
      const abs = k.ca.startsWith('/') ? k.ca : `${baseDir}/${k.ca}`;
      try {
        ca = readFileSync(abs);
      } catch (e) {
        throw new VeriteeError('INPUT_FILE_UNREADABLE', `kms.ca ${quoteInput(k.ca, 200)} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    return new KmsClient({ url: k.url, evidence, timeoutMs: k.timeoutMs, ...(ca ? { ca } : {}), ...(k.pinSpkiSha256 ? { pinSpkiSha256: k.pinSpkiSha256 } : {}) });
  }

  /** New handshakes present `c` (renewed at the KMS); the client CA(s) stay. */
  private installKmsCertificate(c: KmsCertificate): void {
    this.proxy.setTls({ cert: c.certPem, key: c.keyPem });
  }

  private static readTls(cfg: GatewayConfig, baseDir: string): { cert: Buffer; key: Buffer } {
    const abs = (p: string) => (p.startsWith('/') ? p : `${baseDir}/${p}`);
    const read = (p: string, what: string) => {
      try {
        return readFileSync(abs(p));
      } catch (e) {
        throw new VeriteeError('INPUT_FILE_UNREADABLE', `${what} ${quoteInput(p, 200)} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    const t = { cert: read(cfg.tls!.cert, 'tls.cert'), key: read(cfg.tls!.key, 'tls.key') };
    checkTlsCredentials(t.cert, t.key, { cert: `tls.cert ${cfg.tls!.cert}`, key: `tls.key ${cfg.tls!.key}` });
    return t;
  }

  private static readClientCa(path: string, baseDir: string): Buffer {
    const abs = path.startsWith('/') ? path : `${baseDir}/${path}`;
    let pem: Buffer;
    try {
      pem = readFileSync(abs);
    } catch (e) {
      throw new VeriteeError('INPUT_FILE_UNREADABLE', `mtls.ca ${quoteInput(path, 200)} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      new X509Certificate(pem);
    } catch {
      throw new VeriteeError('TLS_CREDENTIALS_INVALID', `mtls.ca ${quoteInput(path, 200)} is not a PEM X.509 certificate`);
    }
    return pem;
  }

  private static buildState(config: GatewayConfig, baseDir: string): State {
    const pools = new Map<string, Pool>();
    for (const [name, p] of config.pools) pools.set(name, new Pool(p));
    return { config, routes: sortRoutes(config.routes), pools, keySets: buildKeySets(config.jwks, baseDir) };
  }

  private groupOf(name: string): number {
    let i = this.groupIndex.get(name);
    if (i === undefined) {
      i = this.groupNames.length;
      this.groupNames.push(name);
      this.groupIndex.set(name, i);
    }
    return i;
  }

  /** Gives pools their health-check callback and starts them. */
  private attachPools(pools: Map<string, Pool>): void {
    const names = [...this.state.config.pools.keys()];
    for (const [name, pool] of pools) {
      const idx = names.indexOf(name);
      pool.onCheck = (r) => {
        if (this.state.config.records.enabled) this.store.addCheck(r.atMs, { pool: idx, backend: r.backend, ok: r.ok });
      };
      pool.start();
    }
  }

  get config(): GatewayConfig {
    return this.state.config;
  }

  get pools(): ReadonlyMap<string, Pool> {
    return this.state.pools;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  private metaOf(req: IncomingMessage): Meta {
    let m = this.metas.get(req);
    if (!m) {
      m = { startUs: nowUs(), group: NO_GROUP, rateLimited: false };
      this.metas.set(req, m);
    }
    return m;
  }

  /** Listeners for records, limits and refused connections. */
  private wire(): void {
    const server = this.proxy.server;
    const cfg = this.state.config;
    server.maxConnections = cfg.limits.maxConnections;
    if (cfg.limits.maxRequestsPerConnection > 0) server.maxRequestsPerSocket = cfg.limits.maxRequestsPerConnection;
    // Connections refused at the limit: the gateway failed them, the health claim counts them.
    server.on('drop', () => {
      this.counters.droppedConnections++;
      const t = nowUs();
      if (cfg.records.enabled) this.store.addRequest({ startUs: t, endUs: t, status: 0, flags: 0, group: NO_GROUP });
    });
    const recording = cfg.records.enabled;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const m = this.metaOf(req);
      this.inFlight++;
      res.once('close', () => {
        this.inFlight--;
        const endUs = nowUs();
        const finished = res.writableFinished;
        const status = res.headersSent ? res.statusCode : 0;
        const code = responseErrorCode(res);
        const served = m.backend !== undefined && code === undefined && res.headersSent;
        let flags = 0;
        if (finished) flags |= FLAG_CONNECTION_OK;
        if (m.rateLimited) flags |= FLAG_RATE_LIMITED;
        if (served && finished) flags |= FLAG_SERVED;
        if (recording) this.store.addRequest({ startUs: m.startUs, endUs, status: status >= 100 && status <= 599 ? status : 0, flags, group: m.group });
        const cls = status === 0 ? 'none' : `${Math.floor(status / 100)}xx`;
        const key = `${m.group === NO_GROUP ? '' : this.groupNames[m.group]}|${cls}`;
        this.counters.requests.set(key, (this.counters.requests.get(key) ?? 0) + 1);
        if (m.backend && m.pool) {
          m.backend.outstanding--;
          // A backend failed the request: it refused, reset, timed out, or answered 502-504.
          const failed = code === 'PROXY_UPSTREAM_UNAVAILABLE' || code === 'PROXY_UPSTREAM_TIMEOUT' || (served && status >= 502 && status <= 504);
          m.pool.report(m.backend, failed);
        }
      });
    });
  }

  private respondJson(status: number, body: Buffer, cache = 'no-store'): DispatchDecision {
    return { respond: { status, headers: { 'content-type': 'application/json', 'cache-control': cache }, body } };
  }

  private rateLimit(route: RouteConfig, key: string, m: Meta): DispatchDecision | undefined {
    const limit: RateLimit | undefined = route.rateLimit === false ? undefined : (route.rateLimit ?? this.state.config.rateLimit);
    if (!limit) return undefined;
    const wait = this.limiter.take(`${route.group}\u0000${key}`, limit);
    if (wait === 0) return undefined;
    m.rateLimited = true;
    this.counters.rateLimited++;
    return err('GATEWAY_RATE_LIMITED', `rate limit of ${limit.ratePerSec} requests/s (burst ${limit.burst}) exceeded; retry in ${wait} s`, { 'retry-after': String(wait) });
  }

  /** The dispatcher the attesting proxy calls for every request. */
  dispatch(req: IncomingMessage): DispatchDecision | Promise<DispatchDecision> {
    const m = this.metaOf(req);
    const st = this.state;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === SLAS_PATH || path.startsWith(SLAS_PATH + '/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return err('GATEWAY_METHOD_NOT_ALLOWED', `${SLAS_PATH} accepts GET`, { allow: 'GET, HEAD' });
      const body = this.scheduler.published(path);
      if (!body) return err('ROUTE_NOT_FOUND', `no published SLA document at ${quoteInput(path, 120)}`);
      return this.respondJson(200, body, path === SLAS_PATH ? 'no-cache' : 'public, max-age=31536000, immutable');
    }
    if (path === METRICS_PATH && st.config.metrics) {
      return { respond: { status: 200, headers: { 'content-type': 'text/plain; version=0.0.4', 'cache-control': 'no-store' }, body: Buffer.from(renderMetrics(this)) } };
    }
    if (this.inFlight >= st.config.limits.maxInFlight) {
      this.counters.overloaded++;
      return err('GATEWAY_OVERLOADED', `the gateway holds ${st.config.limits.maxInFlight} requests in flight; retry shortly`, { 'retry-after': '1' });
    }
    // Only canonical paths are routed: a dot segment, an empty segment, a backslash or a
    // percent-encoded "/", "\\" or unreserved character could match one route here and
    // mean another path to the upstream (e.g. /%61dmin or /x/../admin past /admin's auth).
    const bad = nonCanonical(path);
    if (bad) return err('GATEWAY_REQUEST_REJECTED', `the request path is not canonical (${bad}): send it normalised`);
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
    const route = st.routes.find((r) => (r.host === '*' || r.host === host) && prefixMatches(r.pathPrefix, path));
    if (!route) return err('GATEWAY_NO_ROUTE', `no route for host ${quoteInput(host, 64)} and path ${quoteInput(path.split('/').slice(0, 3).join('/'), 64)}`);
    m.group = this.groupOf(route.group);
    const method = req.method ?? 'GET';
    if (route.methods && !route.methods.includes(method as never)) {
      return err('GATEWAY_METHOD_NOT_ALLOWED', `route ${route.name} does not accept ${quoteInput(method, 16)} (allowed: ${route.methods.join(', ')})`, { allow: route.methods.join(', ') });
    }
    if (route.maxBodyBytes !== undefined) {
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > route.maxBodyBytes) return err('PROXY_REQUEST_TOO_LARGE', `route ${route.name} accepts request bodies up to ${route.maxBodyBytes} bytes (got ${Number(declared)})`);
      if (declared === undefined && req.headers['transfer-encoding'] !== undefined) return err('GATEWAY_REQUEST_REJECTED', `route ${route.name} limits request bodies: send Content-Length`);
    }
    for (const h of route.requireHeaders) if (req.headers[h] === undefined) return err('GATEWAY_REQUEST_REJECTED', `route ${route.name} requires the ${h} header`);
    for (const h of route.forbidHeaders) if (req.headers[h] !== undefined) return err('GATEWAY_REQUEST_REJECTED', `route ${route.name} does not accept the ${h} header`);
    const address = req.socket.remoteAddress ?? 'unknown';
    if (route.mtls) {
      const s = req.socket as TLSSocket;
      const challenge = { 'www-authenticate': `Mutual realm="${route.group}"` };
      if (!s.authorized) {
        this.counters.authFailures++;
        const why = s.authorizationError ? ` (${String(s.authorizationError).slice(0, 80)})` : '';
        return err('GATEWAY_UNAUTHENTICATED', `route ${route.name} requires a client certificate issued by the configured CA${why}`, challenge);
      }
      const kms = this.kmsClients;
      if (kms && kms.knows(s)) return this.kmsClientRequest(kms, s, req, route, m, url, address);
      const peer = s.getPeerCertificate();
      if (kms && peer.raw && kms.issued(peer.raw)) return this.kmsClientRequest(kms, s, req, route, m, url, address);
      if (route.allowClients) {
        this.counters.authFailures++;
        return err('GATEWAY_FORBIDDEN', `route ${route.name} allows named KMS workloads only: present a workload certificate from the KMS`);
      }
      return this.afterClientCertificate(req, route, m, url, address, `c:${peer.fingerprint256}`);
    }
    return this.afterClientCertificate(req, route, m, url, address, undefined);
  }

  /** A request with a KMS workload certificate: verified (once per connection), status asked, allow-list. */
  private kmsClientRequest(kms: KmsClientAuth, s: TLSSocket, req: IncomingMessage, route: RouteConfig, m: Meta, url: string, address: string): Promise<DispatchDecision> {
    const challenge = { 'www-authenticate': `Mutual realm="${route.group}"` };
    // A connection's certificate is parsed and verified on its first request only.
    const raw = kms.knows(s) ? Buffer.alloc(0) : s.getPeerCertificate().raw;
    return kms.check(raw, s).then((c) => {
      if (!c.ok) {
        this.counters.authFailures++;
        return err(c.code, `route ${route.name}: ${c.message}`, c.code === 'GATEWAY_KMS_UNAVAILABLE' ? { 'retry-after': '1' } : challenge);
      }
      if (route.allowClients && !spiffeAllowed(route.allowClients, c.spiffeId)) {
        this.counters.authFailures++;
        return err('GATEWAY_FORBIDDEN', `route ${route.name} does not allow the workload ${quoteInput(c.spiffeId, 200)}`);
      }
      return this.afterClientCertificate(req, route, m, url, address, `w:${c.spiffeId}`);
    });
  }

  /** The rest of a request's checks once its client certificate (if any) is accepted; `certId` keys its rate limit. */
  private afterClientCertificate(req: IncomingMessage, route: RouteConfig, m: Meta, url: string, address: string, certId: string | undefined): DispatchDecision | Promise<DispatchDecision> {
    const st = this.state;
    const byAddress = st.config.clientKey === 'address' || (!route.auth && certId === undefined);
    if (byAddress) {
      const limited = this.rateLimit(route, `a:${address}`, m);
      if (limited) return limited;
    }
    if (!route.auth) {
      if (!byAddress) {
        const limited = this.rateLimit(route, certId!, m);
        if (limited) return limited;
      }
      return this.forward(route, m, url);
    }
    return authenticate(req.headers.authorization, route, st.keySets, this.opts.authTime?.()).then((a) => {
      if (!a.ok) {
        this.counters.authFailures++;
        return err('GATEWAY_UNAUTHENTICATED', a.message, { 'www-authenticate': a.challenge });
      }
      if (!byAddress) {
        const limited = this.rateLimit(route, a.subject !== undefined ? `s:${a.subject}` : `a:${address}`, m);
        if (limited) return limited;
      }
      return this.forward(route, m, url);
    });
  }

  private forward(route: RouteConfig, m: Meta, url: string): DispatchDecision {
    const pool = this.state.pools.get(route.pool)!;
    const b = pool.pick();
    if (!b) {
      this.counters.noBackend++;
      return err('GATEWAY_NO_BACKEND', `no healthy backend in pool ${pool.name} for route ${route.name}`, { 'retry-after': '1' });
    }
    b.outstanding++;
    m.backend = b;
    m.pool = pool;
    let upstreamPath = b.target.basePath + url;
    if (route.stripPrefix && route.pathPrefix !== '/') {
      const rest = url.slice(route.pathPrefix.length);
      upstreamPath = b.target.basePath + (rest.startsWith('/') ? rest : `/${rest}`);
    }
    return { forward: { ...b.target, path: upstreamPath } };
  }

  /**
   * Applies a new configuration to new requests without closing a connection. Throws
   * GATEWAY_CONFIG_INVALID (the running configuration stays) when it does not validate or
   * changes something only a restart can change.
   */
  reload(input: GatewayConfig | string, source = 'reload'): void {
    const next = typeof input === 'string' ? parseGatewayConfig(input, { source }) : input;
    const cur = this.state.config;
    const fixed: string[] = [];
    if (next.listen !== cur.listen) fixed.push('listen');
    if (next.tee !== cur.tee) fixed.push('tee');
    if (JSON.stringify(next.records) !== JSON.stringify(cur.records)) fixed.push('records');
    if (JSON.stringify(next.slas.period) !== JSON.stringify(cur.slas.period)) fixed.push('slas.period');
    if (next.slas.proverCpus !== cur.slas.proverCpus || next.slas.devSetup !== cur.slas.devSetup || next.slas.home !== cur.slas.home) fixed.push('slas.proverCpus/devSetup/home');
    if (next.limits.maxClients !== cur.limits.maxClients) fixed.push('limits.maxClients');
    if (JSON.stringify(next.mtls) !== JSON.stringify(cur.mtls)) fixed.push('mtls');
    if (JSON.stringify(next.kms) !== JSON.stringify(cur.kms)) fixed.push('kms');
    if (JSON.stringify(next.controlPlane) !== JSON.stringify(cur.controlPlane)) fixed.push('controlPlane');
    if (JSON.stringify(next.timeouts) !== JSON.stringify(cur.timeouts)) fixed.push('timeouts');
    if (next.limits.maxBodyBytes !== cur.limits.maxBodyBytes || next.limits.maxHeaderBytes !== cur.limits.maxHeaderBytes) fixed.push('limits.maxBodyBytes/maxHeaderBytes');
    if (next.host !== cur.host || next.logLevel !== cur.logLevel || next.accessLog !== cur.accessLog) fixed.push('host/logLevel/accessLog');
    if (fixed.length) throw new VeriteeError('GATEWAY_CONFIG_INVALID', `reload: ${fixed.join(', ')} cannot change without a restart (the running configuration stays)`);
    const baseDir = this.opts.baseDir ?? '.';
    const tls = next.tls && JSON.stringify(next.tls) !== JSON.stringify(cur.tls) ? Gateway.readTls(next, baseDir) : undefined;
    const state = Gateway.buildState(next, baseDir);
    for (const [name, p] of state.pools) {
      const old = this.state.pools.get(name);
      if (old) p.adopt(old);
    }
    const oldPools = this.state.pools;
    for (const g of next.groups) this.groupOf(g);
    this.state = state;
    this.attachPools(state.pools);
    for (const p of oldPools.values()) p.stop();
    // setTls keeps the client CA(s): a context from cert and key alone would stop verifying client certificates.
    if (tls) this.proxy.setTls(tls);
    this.proxy.server.maxConnections = next.limits.maxConnections;
    this.proxy.server.maxRequestsPerSocket = next.limits.maxRequestsPerConnection > 0 ? next.limits.maxRequestsPerConnection : null;
    this.counters.reloads++;
    this.log?.info({ routes: next.routes.length, pools: next.pools.size, source }, 'configuration reloaded');
  }

  async listen(): Promise<{ address: string; port: number }> {
    const { host, port } = parseListen(this.state.config.listen);
    const a = await this.proxy.listen(port, host);
    if (this.state.config.records.enabled && this.state.config.slas.enabled) this.scheduler.start();
    return { address: a.address, port: a.port };
  }

  /** Stops: in-flight requests finish, health checks and the proving worker stop, the spool is removed. */
  async close(): Promise<void> {
    this.kmsCertificate?.stop();
    for (const p of this.state.pools.values()) p.stop();
    await this.proxy.close();
    await this.scheduler.close();
    this.publisher?.close();
    this.store.close();
  }
}

/** `veritee gateway` defaults (relative file names in the config resolve against its directory). */
export function configBaseDir(configPath: string): string {
  return dirname(configPath);
}

