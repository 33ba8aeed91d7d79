/**
 * @module relay
 * The console's read-only relay to the platform's services: the page (whose CSP allows
 * its own origin only) asks `/api/kms/<path>` and `/api/cp/<path>`, the console forwards
 * the request to the KMS or control plane it was started with, adding the KMS admin token
 * (which therefore never reaches the browser).
 *
 * What it forwards, and nothing else:
 * - GET only (any other method: CONSOLE_RELAY_REFUSED, 405);
 * - paths on an allowlist of read-only endpoints that return metadata (the KMS's secret
 *   VALUES, `secrets/data/…`, are not on it: the console shows secrets by metadata only);
 * - to upstreams on loopback (127.0.0.0/8, ::1, localhost), checked at start;
 * - for requests whose Host is a loopback name (a page on another site cannot reach the
 *   relay through DNS rebinding);
 * - answers read up to {@link MAX_UPSTREAM_BYTES}, within {@link UPSTREAM_TIMEOUT_MS},
 *   redirects not followed; a service's own coded errors pass through with their status.
 *
 * It adds no back door: every byte comes from the services' existing APIs, and the KMS
 * checks the admin token as for any other client.
 */
import { VeriteeError } from '@veritee/core';

export const MAX_UPSTREAM_BYTES = 32 * 1024 * 1024;
export const UPSTREAM_TIMEOUT_MS = 15_000;

export type ServiceName = 'kms' | 'cp';

export interface Upstream {
  /** Base URL, e.g. http://127.0.0.1:8200 (loopback only). */
  url: string;
  /** Bearer token added to every relayed request (the KMS admin JWT). */
  token?: string;
}

const SEG = '[A-Za-z0-9][A-Za-z0-9._-]{0,63}';
const TEE_ID = '[A-Za-z0-9][A-Za-z0-9:._-]{0,299}';

/** Allowed paths under the service's API prefix, and the query parameters each may carry. */
const ALLOW: Record<ServiceName, { prefix: string; rules: { path: RegExp; query: string[] }[] }> = {
  kms: {
    prefix: '/kms/v0/',
    rules: [
      { path: /^healthz$/, query: [] },
      { path: /^audit$/, query: ['after'] },
      { path: new RegExp(`^tenants/${SEG}/audit$`), query: ['after'] },
      { path: new RegExp(`^tenants/${SEG}/secrets$`), query: ['prefix'] },
      { path: new RegExp(`^tenants/${SEG}/secrets/metadata/${SEG}(?:/${SEG}){0,15}$`), query: [] },
      { path: new RegExp(`^tenants/${SEG}/policies$`), query: ['prefix'] },
      { path: new RegExp(`^tenants/${SEG}/registry$`), query: [] },
      { path: new RegExp(`^tenants/${SEG}/transit/keys/${SEG}$`), query: [] },
      { path: new RegExp(`^ca/status/${TEE_ID}$`), query: [] },
    ],
  },
  cp: {
    prefix: '/v1/',
    rules: [
      { path: /^decisions$/, query: ['workload', 'limit'] },
      { path: new RegExp(`^decisions/${SEG}$`), query: [] },
      { path: /^workloads$/, query: [] },
    ],
  },
};

/** Loopback only: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h === 'localhost' || h === '::1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

/** Checks a service's base URL: http(s), loopback host, no credentials, query or fragment. Returns it without a trailing slash. */
export function parseUpstreamUrl(service: ServiceName, raw: string): string {
  const flag = service === 'kms' ? '--kms' : '--cp';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new VeriteeError('INPUT_INVALID', `${flag} ${JSON.stringify(raw.slice(0, 80))} is not a URL (http://127.0.0.1:PORT)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new VeriteeError('INPUT_INVALID', `${flag} must be an http:// or https:// URL`);
  if (u.username || u.password || u.search || u.hash) throw new VeriteeError('INPUT_INVALID', `${flag} must not carry credentials, a query or a fragment`);
  if (!isLoopbackHost(u.hostname)) {
    throw new VeriteeError('INPUT_INVALID', `${flag} ${JSON.stringify(u.host.slice(0, 80))}: the console relays to services on loopback only (127.0.0.1, ::1 or localhost)`);
  }
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/**
 * The upstream URL for a relayed path and query, or a CONSOLE_RELAY_REFUSED error.
 * `path` is what follows /api/<service>/ (not decoded: encoded slashes or dots are refused).
 */
export function relayTarget(service: ServiceName, base: string, path: string, query: URLSearchParams): string {
  const a = ALLOW[service];
  const rule = a.rules.find((r) => r.path.test(path));
  if (!rule) throw new VeriteeError('CONSOLE_RELAY_REFUSED', `the console does not relay ${service} path ${JSON.stringify(path.slice(0, 120))}: only read-only metadata endpoints are allowed`);
  const out = new URLSearchParams();
  for (const [k, v] of query) {
    if (!rule.query.includes(k)) throw new VeriteeError('CONSOLE_RELAY_REFUSED', `the console does not relay the query parameter ${JSON.stringify(k.slice(0, 40))} for ${service} ${path.slice(0, 120)}`);
    if (v.length > 512) throw new VeriteeError('CONSOLE_RELAY_REFUSED', `query parameter ${k} is longer than 512 characters`);
    out.append(k, v);
  }
  const qs = out.toString();
  return `${base}${a.prefix}${path}${qs ? `?${qs}` : ''}`;
}

/** Reads at most `max` bytes of a response body; more is CONSOLE_UPSTREAM_UNAVAILABLE. */
async function readBounded(r: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(r.headers.get('content-length') ?? NaN);
  if (declared > max) throw new VeriteeError('CONSOLE_UPSTREAM_UNAVAILABLE', `${what} answered ${declared} bytes; the console relays at most ${max}`);
  if (!r.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let n = 0;
  const reader = r.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel();
      throw new VeriteeError('CONSOLE_UPSTREAM_UNAVAILABLE', `${what} answered more than ${max} bytes; the console relays at most ${max}`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

export interface RelayAnswer {
  status: number;
  body: Buffer;
}

/** Forwards one GET to the upstream; the answer's status and JSON body pass through. */
export async function relayGet(service: ServiceName, up: Upstream, path: string, query: URLSearchParams, opts: { timeoutMs?: number; maxBytes?: number } = {}): Promise<RelayAnswer> {
  const target = relayTarget(service, up.url, path, query);
  const what = service === 'kms' ? 'the KMS' : 'the control plane';
  let r: Response;
  try {
    r = await fetch(target, {
      method: 'GET',
      redirect: 'manual',
      headers: { accept: 'application/json', ...(up.token ? { authorization: `Bearer ${up.token}` } : {}) },
      signal: AbortSignal.timeout(opts.timeoutMs ?? UPSTREAM_TIMEOUT_MS),
    });
  } catch (e) {
    const timeout = (e as Error).name === 'TimeoutError';
    throw new VeriteeError('CONSOLE_UPSTREAM_UNAVAILABLE', `${what} at ${up.url} ${timeout ? 'did not answer in time' : 'could not be reached'}`);
  }
  if (r.status >= 300 && r.status < 400) throw new VeriteeError('CONSOLE_UPSTREAM_UNAVAILABLE', `${what} answered a redirect (${r.status}); the console does not follow redirects`);
  const type = r.headers.get('content-type') ?? '';
  const body = await readBounded(r, opts.maxBytes ?? MAX_UPSTREAM_BYTES, what);
  if (!/^application\/json\b/.test(type)) throw new VeriteeError('CONSOLE_UPSTREAM_UNAVAILABLE', `${what} answered ${JSON.stringify(type.slice(0, 60))}, not JSON`);
  return { status: r.status, body };
}
