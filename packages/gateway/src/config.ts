/**
 * @module config
 * The gateway configuration (`gateway.yaml`): YAML or JSON, validated with zod (strict:
 * an unknown field is an error), then checked as a whole: every route names a pool that
 * exists, no two routes claim the same host and path prefix, every backend is an
 * `http://host:port` URL inside the TEE, SLA terms parse. Errors are GATEWAY_CONFIG_INVALID
 * and list every problem with its path (`routes[1].pathPrefix: ...`).
 *
 * @example
 * listen: 127.0.0.1:8443
 * pools:
 *   api: { balance: least-outstanding, backends: [http://127.0.0.1:9001, http://127.0.0.1:9002] }
 * routes:
 *   - { name: api, pathPrefix: /api, pool: api, methods: [GET, POST] }
 * slas: { period: hourly, latency: "p95<100ms,p99<500ms,min=100" }
 */
import { readFileSync, statSync } from 'node:fs';
import { parseDocument, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { quoteInput, VeriteeError } from '@veritee/core';
import { parseUpstreamUrl, type UpstreamTarget } from '@veritee/proxy';
import { parseSla, type LatencySlot } from '@veritee/zk';

export const MAX_CONFIG_BYTES = 1024 * 1024;

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"');
const posInt = z.number().int().positive();
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, 'must be an HTTP header name').transform((s) => s.toLowerCase());
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const rateLimitSchema = z
  .object({
    /** Tokens added per second (sustained requests per second). */
    ratePerSec: z.number().positive().max(1e6),
    /** Bucket size: the largest burst. */
    burst: posInt.max(1e7),
  })
  .strict();

const healthCheckSchema = z
  .object({
    path: z.string().startsWith('/').max(256).default('/healthz'),
    intervalMs: posInt.min(50).max(3_600_000).default(5000),
    timeoutMs: posInt.max(60_000).default(2000),
    /** Consecutive failed checks before a backend is marked down. */
    unhealthyAfter: posInt.max(100).default(2),
    /** Consecutive passed checks before a down backend is used again. */
    healthyAfter: posInt.max(100).default(2),
  })
  .strict();

const poolSchema = z
  .object({
    balance: z.enum(['round-robin', 'least-outstanding']).default('round-robin'),
    backends: z.array(z.string().max(512)).min(1).max(256),
    healthCheck: z.union([healthCheckSchema, z.literal(false)]).default({ path: '/healthz', intervalMs: 5000, timeoutMs: 2000, unhealthyAfter: 2, healthyAfter: 2 }),
    /** Passive ejection: this many consecutive failed requests (connection refused/reset, timeout, 502-504) eject a backend for ejectMs. */
    ejection: z
      .object({ consecutiveFailures: posInt.max(1000).default(3), ejectMs: posInt.max(3_600_000).default(10_000) })
      .strict()
      .default({ consecutiveFailures: 3, ejectMs: 10_000 }),
  })
  .strict();

const authSchema = z
  .object({
    /** Name of a JWKS under `jwks`. */
    jwks: name,
    issuer: z.string().min(1).max(512).optional(),
    audience: z.string().min(1).max(512).optional(),
    /** Allowed algorithms (default ES256, RS256, EdDSA). */
    algorithms: z.array(z.enum(['ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'EdDSA'])).min(1).default(['ES256', 'RS256', 'EdDSA']),
    /** Allowed clock skew, seconds. */
    clockToleranceSec: z.number().int().min(0).max(300).default(30),
  })
  .strict();

const routeSchema = z
  .object({
    name,
    /** Host name the route answers for (the Host header without port); '*' for any. */
    host: z
      .string()
      .max(253)
      .regex(/^(\*|[A-Za-z0-9.-]+)$/, 'must be a host name or "*"')
      .transform((s) => s.toLowerCase())
      .default('*'),
    pathPrefix: z.string().startsWith('/', 'must start with "/"').max(256).regex(/^[^?#\s]*$/, 'must not hold a query, fragment or space'),
    pool: name,
    /** Route group: the unit of the published SLA proofs (default: the route's name). */
    group: name.optional(),
    /** Remove the prefix before forwarding (`/api/x` → `/x`). */
    stripPrefix: z.boolean().default(false),
    methods: z.array(z.enum(METHODS)).min(1).optional(),
    maxBodyBytes: z.number().int().min(0).optional(),
    requireHeaders: z.array(headerName).max(32).default([]),
    forbidHeaders: z.array(headerName).max(32).default([]),
    auth: authSchema.optional(),
    /** Require a client certificate issued by the `mtls.ca` CA(s) (401 otherwise). */
    mtls: z.boolean().default(false),
    /** Per-client rate limit of this route (overrides the default); false: none. */
    rateLimit: z.union([rateLimitSchema, z.literal(false)]).optional(),
    /**
     * Only these KMS workload identities (SPIFFE IDs; an entry ending in "/*" allows every ID
     * under it) may use the route: others are 403. Needs `mtls: true` and `kms`.
     */
    allowClients: z.array(z.string().max(300).regex(/^spiffe:\/\/[^/\s]+\/\S*$/, 'must be a SPIFFE ID (spiffe://trust-domain/path, optionally ending in /*)')).min(1).max(256).optional(),
  })
  .strict();

const kmsSchema = z
  .object({
    /** The KMS (@veritee/kms), e.g. https://kms:8444. */
    url: z.string().url().regex(/^https?:\/\//, 'must be an http(s):// URL'),
    /** PEM file of the CA of the KMS's TLS certificate (https). */
    ca: z.string().min(1).optional(),
    /** SHA-256 (hex) of the KMS TLS key's SPKI (e.g. from a bootstrap): any other key is refused. */
    pinSpkiSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits').optional(),
    /** The gateway's workload identity at the KMS: spiffe://<td>/tenant/<tenant>/workload/<workload>. */
    tenant: name,
    workload: name,
    /** Lifetime asked for (the KMS caps it at its session's); renewed at two thirds. */
    ttlSeconds: posInt.min(60).max(86_400).optional(),
    /** Serve TLS with the KMS-issued certificate (host as its DNS name); else tls files or self-signed. */
    serverCertificate: z.boolean().default(true),
    /** Accept client certificates of the KMS CA on mtls routes (checked per request, status included). */
    clientCertificates: z.boolean().default(true),
    /** Accept client certificates of this tenant only (default: the gateway's tenant). */
    clientTenant: name.optional(),
    /** Required trust domain of client SPIFFE IDs. */
    trustDomain: z.string().min(1).max(253).optional(),
    /** DEVELOPMENT ONLY: accept client certificates issued on simulated evidence. */
    allowSimulatedClients: z.boolean().default(false),
    /** Reuse a client certificate's `good` status this long, ms (0: ask the KMS on every request; a revocation takes effect within it). */
    statusCacheMs: z.number().int().min(0).max(60_000).default(0),
    /** Timeout of each KMS call (certificate status is asked per request), ms. */
    timeoutMs: posInt.max(60_000).default(5000),
  })
  .strict();

const jwksSchema = z.union([z.object({ file: z.string().min(1) }).strict(), z.object({ url: z.string().url() }).strict(), z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).strict()]);

const periodSchema = z.union([z.enum(['hourly', 'daily', 'weekly']), z.object({ seconds: posInt.min(1).max(31 * 86400) }).strict()]);

const slasSchema = z
  .object({
    period: periodSchema.default('hourly'),
    /** Latency SLA of every route group, e.g. "p95<100ms,p99<500ms,min=100". */
    latency: z.string().min(1).max(200).default('p95<500ms,p99<1s,min=1'),
    /** Per-group override of the latency SLA. */
    groups: z.record(name, z.object({ latency: z.string().min(1).max(200) }).strict()).default({}),
    health: z
      .object({
        /** Percent: the 5xx rate must stay below it. */
        max5xx: z.number().min(0).max(100).default(0.1),
        /** Percent: backend availability (passed health checks) must exceed it. */
        minAvailability: z.number().min(0).max(100).default(99),
        /** Percent: connection success must exceed it. */
        minConnection: z.number().min(0).max(100).default(99.5),
        maxRateLimited: z.number().int().min(0).max(2 ** 32 - 1).default(0),
      })
      .strict()
      .default({ max5xx: 0.1, minAvailability: 99, minConnection: 99.5, maxRateLimited: 0 }),
    /** Periods kept published (default 168: a week of hours). */
    keep: posInt.max(10_000).default(168),
    /** After a period ends, wait this long for its last requests to finish before sealing it. */
    graceMs: z.number().int().min(0).max(3_600_000).default(5000),
    /** Periods that may wait for proving; a period that ends with this many waiting is published as skipped. */
    maxBacklog: posInt.max(1000).default(4),
    /** CPUs the prover may use (GOMAXPROCS of the prover process). */
    proverCpus: posInt.max(256).default(1),
    /** veritee home holding the proving keys (default $VERITEE_HOME or ~/.veritee). */
    home: z.string().min(1).optional(),
    /** Run a DEV trusted setup for missing keys (development only). */
    devSetup: z.boolean().default(false),
    enabled: z.boolean().default(true),
  })
  .strict();

export const configSchema = z
  .object({
    /** `host:port` to listen on. */
    listen: z.string().max(300).default('127.0.0.1:8443'),
    /** Public host name (certificate subject). */
    host: z.string().min(1).max(253).default('localhost'),
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
    /** Client certificates (mTLS): PEM file of the CA(s) that issue them; routes opt in with `mtls: true`. */
    mtls: z.object({ ca: z.string().min(1) }).strict().optional(),
    /** The KMS: TLS certificate of the gateway, and client certificates of attested workloads. */
    kms: kmsSchema.optional(),
    /** The control plane's log: every proven bundle is posted to <url>/v1/bundles (at least once). */
    controlPlane: z
      .object({
        url: z.string().url().regex(/^https?:\/\//, 'must be an http(s):// URL'),
        /** PEM file of the CA of the control plane's TLS certificate (https). */
        ca: z.string().min(1).optional(),
        timeoutMs: posInt.max(300_000).default(10_000),
        /** Backoff of retries: retryBaseMs doubling up to retryMaxMs. */
        retryBaseMs: posInt.max(3_600_000).default(1000),
        retryMaxMs: posInt.max(3_600_000).default(60_000),
        /** Bundles waiting for the control plane; past it the oldest is dropped (and counted). */
        maxQueue: posInt.max(1_000_000).default(1000),
      })
      .strict()
      .optional(),
    /** Evidence source: the simulated TEE only in this build. */
    tee: z.enum(['sim-snp', 'sim-tdx']).default('sim-snp'),
    limits: z
      .object({
        /** Open client connections (more are refused at accept). */
        maxConnections: posInt.max(1_000_000).default(10_000),
        /** Requests in flight (more: 503 GATEWAY_OVERLOADED). */
        maxInFlight: posInt.max(1_000_000).default(4096),
        /** Requests per keep-alive connection (0: unlimited). */
        maxRequestsPerConnection: z.number().int().min(0).default(0),
        maxBodyBytes: posInt.default(16 * 1024 * 1024),
        maxHeaderBytes: posInt.max(1024 * 1024).default(16 * 1024),
        /** Rate-limit buckets kept (least recently used ones are dropped first). */
        maxClients: posInt.max(10_000_000).default(100_000),
      })
      .strict()
      .default({ maxConnections: 10_000, maxInFlight: 4096, maxRequestsPerConnection: 0, maxBodyBytes: 16 * 1024 * 1024, maxHeaderBytes: 16 * 1024, maxClients: 100_000 }),
    timeouts: z
      .object({ upstreamMs: posInt.optional(), headersMs: posInt.optional(), requestMs: posInt.optional(), idleMs: posInt.optional(), shutdownMs: posInt.optional() })
      .strict()
      .default({}),
    /** Default per-client rate limit (routes may override); absent: none. */
    rateLimit: rateLimitSchema.optional(),
    /** Client identity for rate limiting: the token's `sub` when authenticated (else the address), or always the address. */
    clientKey: z.enum(['auth', 'address']).default('auth'),
    jwks: z.record(name, jwksSchema).default({}),
    pools: z.record(name, poolSchema),
    routes: z.array(routeSchema).min(1).max(1000),
    slas: slasSchema.default(slasSchema.parse({})),
    records: z
      .object({
        /** Keep request records at all (off: no records and no SLA proofs; for benchmarks and comparison). */
        enabled: z.boolean().default(true),
        /** Records kept in memory per period before they go to the encrypted spool. */
        memoryRecords: posInt.max(1 << 22).default(65_536),
        /** Directory of the encrypted spool (absent: records beyond memoryRecords are dropped and counted). */
        spoolDir: z.string().min(1).optional(),
        /** Largest spool size, bytes. */
        spoolMaxBytes: posInt.default(64 * 1024 * 1024),
      })
      .strict()
      .default({ enabled: true, memoryRecords: 65_536, spoolMaxBytes: 64 * 1024 * 1024 }),
    /** Serve Prometheus metrics at /.well-known/veritee/metrics on the gateway's listener (default off: they describe traffic volumes). */
    metrics: z.boolean().default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    accessLog: z.boolean().default(true),
  })
  .strict();

export type GatewayConfigInput = z.input<typeof configSchema>;
type Parsed = z.output<typeof configSchema>;

export interface PoolConfig {
  name: string;
  balance: 'round-robin' | 'least-outstanding';
  backends: UpstreamTarget[];
  healthCheck: Parsed['pools'][string]['healthCheck'];
  ejection: { consecutiveFailures: number; ejectMs: number };
}

export interface RouteConfig extends Omit<Parsed['routes'][number], 'group'> {
  group: string;
  /** Index in the configuration (routes are matched longest prefix first). */
  index: number;
}

export interface LatencySla {
  text: string;
  minN: number;
  slots: LatencySlot[];
}

/** A validated configuration. */
export interface GatewayConfig extends Omit<Parsed, 'pools' | 'routes'> {
  pools: Map<string, PoolConfig>;
  routes: RouteConfig[];
  /** Route group names, in first-use order. */
  groups: string[];
  /** Latency SLA per group. */
  latencySla: Map<string, LatencySla>;
}

function describePath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s || '(top level)';
}

function invalid(source: string, problems: string[]): VeriteeError {
  return new VeriteeError('GATEWAY_CONFIG_INVALID', `gateway configuration ${source} is invalid: ${problems.slice(0, 20).join('; ')}${problems.length > 20 ? `; and ${problems.length - 20} more` : ''}`, {
    problems: problems.slice(0, 100),
  });
}

/** Normalises a path prefix: no trailing slash except the root. */
export function normalizePrefix(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') || '/' : p;
}

/** Validates a configuration given as YAML/JSON text or a parsed object. */
export function parseGatewayConfig(input: string | unknown, opts: { source?: string } = {}): GatewayConfig {
  const source = opts.source ?? 'document';
  let doc: unknown = input;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input) > MAX_CONFIG_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `gateway configuration ${source} exceeds ${MAX_CONFIG_BYTES} bytes`);
    const d = parseDocument(input, { uniqueKeys: true, prettyErrors: false });
    const err = d.errors[0];
    if (err) throw invalid(source, [`not valid YAML/JSON: ${err instanceof YAMLParseError ? err.message.split('\n')[0] : String(err)}`]);
    try {
      doc = d.toJS({ maxAliasCount: 50 });
    } catch (e) {
      throw invalid(source, [`not valid YAML/JSON: ${(e as Error).message}`]);
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(source, ['the top level must be a mapping']);
  const r = configSchema.safeParse(doc);
  if (!r.success) {
    throw invalid(
      source,
      r.error.issues.map((i) => {
        if (i.code === 'unrecognized_keys') return `${describePath(i.path)}: unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => quoteInput(k, 40)).join(', ')}`;
        return `${describePath(i.path)}: ${i.message}`;
      }),
    );
  }
  const c = r.data;
  const problems: string[] = [];
  const pools = new Map<string, PoolConfig>();
  for (const [pname, p] of Object.entries(c.pools)) {
    const backends: UpstreamTarget[] = [];
    const seen = new Set<string>();
    p.backends.forEach((b, i) => {
      try {
        const t = parseUpstreamUrl(b, `pools.${pname}.backends[${i}]`);
        if (!t.host || !Number.isInteger(t.port) || t.port < 1) throw new VeriteeError('INPUT_INVALID', `pools.${pname}.backends[${i}] needs a host and a port`);
        if (seen.has(t.label + t.basePath)) problems.push(`pools.${pname}.backends[${i}]: ${quoteInput(b, 80)} is listed twice`);
        seen.add(t.label + t.basePath);
        backends.push(t);
      } catch (e) {
        problems.push(`pools.${pname}.backends[${i}]: ${quoteInput(b, 80)} is not an upstream URL (${(e as Error).message.replace(/^.*?(must|is not)/, '$1')})`);
      }
    });
    pools.set(pname, { name: pname, balance: p.balance, backends, healthCheck: p.healthCheck, ejection: p.ejection });
  }
  const claimed = new Map<string, number>();
  const groups: string[] = [];
  const routes: RouteConfig[] = c.routes.map((rt, index) => {
    const prefix = normalizePrefix(rt.pathPrefix);
    if (!pools.has(rt.pool)) problems.push(`routes[${index}].pool: no pool named ${quoteInput(rt.pool, 64)} (pools: ${[...pools.keys()].join(', ')})`);
    const kmsClients = c.kms?.clientCertificates === true;
    if (rt.mtls && !c.mtls && !kmsClients) problems.push(`routes[${index}].mtls: needs a top-level mtls.ca (the CA that issues client certificates) or kms with clientCertificates`);
    if (rt.allowClients && (!rt.mtls || !kmsClients)) problems.push(`routes[${index}].allowClients: needs mtls: true and kms.clientCertificates (SPIFFE IDs come from KMS workload certificates)`);
    if (rt.auth && !(rt.auth.jwks in c.jwks)) problems.push(`routes[${index}].auth.jwks: no JWKS named ${quoteInput(rt.auth.jwks, 64)}`);
    const key = `${rt.host} ${prefix}`;
    const prior = claimed.get(key);
    if (prior !== undefined) problems.push(`routes[${index}] (${rt.name}) overlaps routes[${prior}] (${c.routes[prior]!.name}): both claim host ${rt.host} and path prefix ${prefix}`);
    else claimed.set(key, index);
    const group = rt.group ?? rt.name;
    if (!groups.includes(group)) groups.push(group);
    return { ...rt, pathPrefix: prefix, group, index };
  });
  const names = new Set<string>();
  routes.forEach((rt, i) => {
    if (names.has(rt.name)) problems.push(`routes[${i}].name: ${rt.name} is used twice`);
    names.add(rt.name);
  });
  const latencySla = new Map<string, LatencySla>();
  for (const g of groups) {
    const text = c.slas.groups[g]?.latency ?? c.slas.latency;
    try {
      const { minN, slots } = parseSla(text);
      latencySla.set(g, { text, minN, slots });
    } catch (e) {
      problems.push(`slas${c.slas.groups[g] ? `.groups.${g}` : ''}.latency: ${(e as Error).message}`);
    }
  }
  for (const g of Object.keys(c.slas.groups)) if (!groups.includes(g)) problems.push(`slas.groups.${g}: no route is in group ${g}`);
  if (c.kms?.serverCertificate && c.tls) problems.push('tls: the KMS issues the TLS certificate (kms.serverCertificate): give one of them');
  if (!/^(?:\[[^\]]+\]|[^:]*):\d{1,5}$/.test(c.listen)) problems.push(`listen: ${quoteInput(c.listen, 60)} must be HOST:PORT`);
  if (problems.length) throw invalid(source, problems);
  return { ...c, pools, routes, groups, latencySla };
}

/** Reads and validates a configuration file (bounded read). */
export function loadGatewayConfig(path: string): GatewayConfig {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_CONFIG_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `gateway configuration ${path} is ${size} bytes, over ${MAX_CONFIG_BYTES}`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof VeriteeError) throw e;
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `gateway configuration "${path}" cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseGatewayConfig(text, { source: path });
}

/** `host:port` → parts. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new VeriteeError('GATEWAY_CONFIG_INVALID', `listen ${quoteInput(v, 60)} must be HOST:PORT`);
  return { host: m[1] || m[2] || '0.0.0.0', port };
}
