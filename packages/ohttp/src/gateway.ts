/**
 * @module gateway
 * The Oblivious Gateway Resource (RFC 9458), meant to run inside the TEE, as a Fastify
 * server:
 *
 * | route | what |
 * |---|---|
 * | `GET /ohttp-keys`, `GET /.well-known/ohttp-gateway` | key configurations, `application/ohttp-keys` (RFC 9458 §3, RFC 9540) |
 * | `POST /gateway`, `POST /.well-known/ohttp-gateway` | `message/ohttp-req` → decapsulate → BHTTP → allowed target → `message/ohttp-res` |
 * | `GET /attestation?nonce=HEX` | evidence whose report data binds SHA-256 of the served key configurations and the nonce |
 * | `GET /healthz` | liveness |
 *
 * Errors are kept in two classes (RFC 9458 §5.2):
 *
 * - OUTER, before the request is decrypted: an unencapsulated `application/problem+json`
 *   reply. 415 wrong media type, 413 too large, 405 wrong method, 400 truncated or
 *   undecryptable; 400 with problem type `…#ohttp-key` for an unknown key ID or an
 *   unoffered suite (RFC 9458 §5.3).
 * - INNER, after it: a 200 `message/ohttp-res` whose encapsulated BHTTP response carries
 *   the status: 400 invalid BHTTP, 417 `Expect: 100-continue` (§5.1), 403 target not
 *   allowed, 502/504 target unreachable, too large or too slow, 400 `…#date` for a Date
 *   outside the replay window (§6.5.2).
 * - REPLAY (§6.5, on by default, `replayWindowMs`): a request whose HPKE `enc` was already
 *   decrypted inside the window is refused with an outer 400 OHTTP_REPLAY after
 *   decryption and before anything is forwarded; a full window answers 503
 *   OHTTP_REPLAY_WINDOW_FULL with Retry-After (src/replay.ts).
 *
 * THREAT MODEL: the gateway sees requests in the clear but not who sent them; the relay
 * is the only peer it talks to. It forwards only to the configured targets (nothing is
 * sent anywhere for a refused request), adds no header of its own, and logs neither
 * bodies nor decrypted request lines (logs leave the TEE). Its HPKE private keys never
 * leave the process. The attestation binds exactly the bytes served as
 * `application/ohttp-keys`:
 *
 *   report_data = computeReportData({ publicKeyHash: SHA-256(application/ohttp-keys body), nonce })
 *
 * so a client that checks the evidence knows the keys it encrypts to live in the
 * measured TEE.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { Agent, type Dispatcher } from 'undici';
import { ERROR_CODES, fromHex, isVeriteeError, quoteInput, systemClock, toBase64, toHex, VeriteeError, type Clock, type ErrorCode } from '@veritee/core';
import { anchorsToJson, computeReportData, SimulatedTee, type EvidenceEnvelope, type Platform, type TrustAnchors } from '@veritee/attestation';
import { KeyStore, OHTTP_KEYS_MEDIA_TYPE } from './keyconfig.js';
import { decapsulate, OHTTP_REQUEST_MEDIA_TYPE, OHTTP_RESPONSE_MEDIA_TYPE, type ServerResponseContext } from './encapsulate.js';
import { decodeRequest, encodeResponse, fieldValue, type BhttpRequest, type FieldLine } from './bhttp.js';
import { DEFAULT_REPLAY_MAX_ENTRIES, DEFAULT_REPLAY_WINDOW_MS, ReplayWindow, replayKey } from './replay.js';

/** RFC 9458 §5.3 problem type for key configuration problems. */
export const OHTTP_KEY_PROBLEM_TYPE = 'https://iana.org/assignments/http-problem-types#ohttp-key';
/** RFC 9458 §6.5.2 problem type for a request whose Date is outside the gateway's window. */
export const DATE_PROBLEM_TYPE = 'https://iana.org/assignments/http-problem-types#date';
export const ATTESTATION_FORMAT = 'veritee.ohttp-attestation/v1';

// ---- evidence ----------------------------------------------------------------------------------------

/** Produces TEE evidence carrying given 64 bytes of report data. */
export interface EvidenceProvider {
  readonly platform: Platform;
  /** True for the simulated TEE (development only). */
  readonly simulated: boolean;
  /** The simulated TEE's trust anchors (published to clients whose policy allows simulated evidence). */
  readonly simulatedAnchors?: TrustAnchors;
  evidence(reportData: Uint8Array): Promise<EvidenceEnvelope>;
}

export interface SimulatedProviderOptions {
  /** `snp` (default) or `tdx`. */
  platform?: 'snp' | 'tdx';
  /** Reuse a simulated TEE (tests share one). */
  tee?: SimulatedTee;
  /** Certificate validity centre (default now). */
  at?: Date | number;
}

/** DEVELOPMENT ONLY: evidence from @veritee/attestation's simulated TEE, labelled simulated. */
export async function simulatedEvidenceProvider(opts: SimulatedProviderOptions = {}): Promise<EvidenceProvider> {
  const platform = opts.platform ?? 'snp';
  if (platform !== 'snp' && platform !== 'tdx') throw new VeriteeError('ATTEST_PLATFORM_UNSUPPORTED', `the OHTTP gateway simulates snp or tdx, not ${String(platform)}`);
  const tee = opts.tee ?? (await SimulatedTee.create({ platforms: [platform], ...(opts.at !== undefined ? { at: opts.at } : {}) }));
  return {
    platform,
    simulated: true,
    simulatedAnchors: tee.anchors,
    async evidence(reportData) {
      return platform === 'snp' ? tee.evidence('snp', { reportData }) : tee.evidence('tdx', { reportData });
    },
  };
}

/** The JSON served at `GET /attestation`. */
export interface GatewayAttestation {
  format: typeof ATTESTATION_FORMAT;
  /** Hex SHA-256 of the `application/ohttp-keys` body served now. */
  keyConfigSha256: string;
  /** Base64 of that body (for out-of-band checks; clients compare it with what they fetched). */
  keyConfigs: string;
  /** Hex of the 32-byte nonce bound (zeros when the request gave none). */
  nonce: string;
  /** How report data is computed. */
  binding: string;
  platform: Platform;
  simulated: boolean;
  evidence: EvidenceEnvelope;
  /** Present for simulated evidence only: the simulator's (untrusted) anchors. */
  simulatedAnchors?: Record<string, unknown>;
  note?: string;
}

// ---- targets -------------------------------------------------------------------------------------------

export interface AllowedTarget {
  /** `http://host:port` (URL.origin form). */
  origin: string;
  /** Path prefix ('' = any path). */
  prefix: string;
}

/** Parses `http(s)://host[:port][/prefix]` into an allow-list entry. */
export function parseTarget(url: string): AllowedTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new VeriteeError('INPUT_INVALID', `target ${quoteInput(url)} is not an absolute URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new VeriteeError('INPUT_INVALID', `target ${quoteInput(url)} must be http or https`);
  if (u.username || u.password || u.search || u.hash) throw new VeriteeError('INPUT_INVALID', `target ${quoteInput(url)} must not carry credentials, a query or a fragment`);
  const prefix = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
  return { origin: u.origin, prefix };
}

function allowedBy(t: AllowedTarget, origin: string, path: string): boolean {
  if (t.origin !== origin) return false;
  if (t.prefix === '') return true;
  const p = path.split('?')[0]!;
  return p === t.prefix || p.startsWith(t.prefix + '/');
}

/**
 * A request path the gateway forwards: origin-form (`/…`, or `*` for OPTIONS), without
 * dot segments (plain or percent-encoded), so that a path prefix cannot be escaped by a
 * target that normalises `/allowed/../secret`.
 */
function safePath(method: string, path: string): boolean {
  if (path === '*') return method === 'OPTIONS';
  if (!path.startsWith('/')) return false;
  const p = path.split('?')[0]!;
  for (const seg of p.split('/')) {
    const d = seg.replace(/%2e/gi, '.');
    if (d === '.' || d === '..') return false;
  }
  return true;
}

// ---- options and server ------------------------------------------------------------------------------------

export interface GatewayOptions {
  /** The default target: requests without an authority go here. Always allowed. */
  target: string;
  /** Further targets (`http(s)://host[:port][/path-prefix]`). Nothing else is ever contacted. */
  allowTargets?: readonly string[];
  /** HPKE keys (default: a fresh store with one key). */
  keys?: KeyStore;
  /** Rotate keys every this many ms (default: never). Old keys stay valid for the store's grace period. */
  rotateEveryMs?: number;
  /** TEE evidence for `GET /attestation`; without it that route answers 503. */
  evidence?: EvidenceProvider;
  /** Time source (key grace periods use the store's own clock). */
  clock?: Clock;
  /** Largest encapsulated request accepted, bytes (default 1 MiB). */
  maxRequestBytes?: number;
  /** Largest target response body relayed, bytes (default 8 MiB). */
  maxResponseBytes?: number;
  /** Target timeout, ms (default 30 s). */
  upstreamTimeoutMs?: number;
  /** HTTP client towards targets (default: an undici Agent with keep-alive). */
  dispatcher?: Dispatcher;
  /** pino logging: false (default), true, or pino options. Bodies and request lines are never logged. */
  logger?: boolean | Record<string, unknown>;
  /** Most evidence requests served at once (TEE reports are costly); more get 503 (default 8). */
  maxConcurrentAttestations?: number;
  /**
   * Replay window, ms (RFC 9458 §6.5; default 60 000; 0 turns it off). The HPKE `enc` of
   * every request that decrypts is remembered this long; the same `enc` again is refused
   * (outer 400 OHTTP_REPLAY) and nothing is forwarded. A request carrying a `Date` field
   * more than this far from the gateway's clock gets an encapsulated 400 (problem type
   * `…#date`, with the gateway's `Date`, §6.5.2). See src/replay.ts.
   */
  replayWindowMs?: number;
  /** Most requests the replay window remembers (default 250 000); a full window answers 503 OHTTP_REPLAY_WINDOW_FULL. */
  replayMaxEntries?: number;
}

export interface GatewayStats {
  /** POSTs to the gateway resource. */
  requests: number;
  /** Answered unencapsulated (before decryption). */
  outerErrors: number;
  /** Answered with an encapsulated error (after decryption, nothing forwarded or the target failed). */
  innerErrors: number;
  /** Requests sent to a target. */
  forwarded: number;
  /** Requests refused by the replay window (same enc, or a Date outside it). */
  replays: number;
}

export interface GatewayServer extends FastifyInstance {
  keys: KeyStore;
  /** The replay window, or undefined when it is off. */
  replay: ReplayWindow | undefined;
  stats: GatewayStats;
  targets: readonly AllowedTarget[];
}

interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code?: ErrorCode;
}

const OUTER_STATUS: Partial<Record<ErrorCode, number>> = {
  OHTTP_REQUEST_INVALID: 400,
  OHTTP_KEY_UNKNOWN: 400,
  OHTTP_SUITE_UNSUPPORTED: 400,
  OHTTP_DECRYPT_FAILED: 400,
  OHTTP_REPLAY: 400,
  OHTTP_REPLAY_WINDOW_FULL: 503,
  OHTTP_MEDIA_TYPE: 415,
  INPUT_TOO_LARGE: 413,
  INPUT_INVALID: 400,
  ROUTE_NOT_FOUND: 404,
};

/** Hop-by-hop and framing fields never forwarded either way (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'host',
  'content-length',
]);

function dropHopByHop(fields: readonly FieldLine[]): Array<[string, string]> {
  const connectionListed = new Set<string>();
  for (const [k, v] of fields) if (k.toLowerCase() === 'connection') for (const t of v.split(',')) connectionListed.add(t.trim().toLowerCase());
  const out: Array<[string, string]> = [];
  for (const [k, v] of fields) {
    const n = k.toLowerCase();
    if (n.startsWith(':') || HOP_BY_HOP.has(n) || connectionListed.has(n)) continue;
    out.push([n, v]);
  }
  return out;
}

const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * RFC 9458 §6.5.1: a request's `Date` (when it has one) must lie within the replay window
 * of the gateway's clock, either way. Requests without `Date` pass (the enc check covers
 * them inside the window).
 */
function checkDate(req: BhttpRequest, now: number, windowMs: number): { ok: true; at?: number } | { ok: false; why: string } {
  const dates = req.headers.filter(([k]) => k.toLowerCase() === 'date');
  if (dates.length === 0) return { ok: true };
  if (dates.length > 1) return { ok: false, why: 'the request carries more than one Date field' };
  const v = dates[0]![1];
  const at = IMF_FIXDATE.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(at)) return { ok: false, why: 'the Date field is not an HTTP date (IMF-fixdate)' };
  if (Math.abs(now - at) > windowMs) return { ok: false, why: `the request's Date is more than ${Math.round(windowMs / 1000)} s away from the gateway's clock` };
  return { ok: true, at };
}

/** Builds (does not start) the gateway. */
export async function buildGateway(opts: GatewayOptions): Promise<GatewayServer> {
  const keys = opts.keys ?? (await KeyStore.create());
  const clock = opts.clock ?? systemClock;
  const maxRequestBytes = opts.maxRequestBytes ?? 1024 * 1024;
  const maxResponseBytes = opts.maxResponseBytes ?? 8 * 1024 * 1024;
  const upstreamTimeoutMs = opts.upstreamTimeoutMs ?? 30_000;
  const defaultTarget = parseTarget(opts.target);
  const targets = [defaultTarget, ...(opts.allowTargets ?? []).map(parseTarget)];
  const ownDispatcher = opts.dispatcher === undefined;
  const dispatcher = opts.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 256, pipelining: 1, maxResponseSize: maxResponseBytes });
  const stats: GatewayStats = { requests: 0, outerErrors: 0, innerErrors: 0, forwarded: 0, replays: 0 };
  const replayWindowMs = opts.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
  if (!(Number.isFinite(replayWindowMs) && replayWindowMs >= 0)) throw new VeriteeError('INPUT_INVALID', `the replay window must be >= 0 ms (got ${replayWindowMs})`);
  const replay = replayWindowMs > 0 ? new ReplayWindow(clock, { windowMs: replayWindowMs, maxEntries: opts.replayMaxEntries ?? DEFAULT_REPLAY_MAX_ENTRIES }) : undefined;

  const logger: FastifyServerOptions['logger'] =
    opts.logger === undefined || opts.logger === false
      ? false
      : {
          level: 'info',
          // Never the body; never headers (they are the relay's, but keep the log boring).
          serializers: { req: (r: { method: string; url: string }) => ({ method: r.method, url: r.url.split('?')[0] }) },
          ...(typeof opts.logger === 'object' ? opts.logger : {}),
        };
  const app = Fastify({
    logger,
    bodyLimit: maxRequestBytes,
    return503OnClosing: true,
    // The router's own refusals (malformed URL) would echo the URL in Fastify's shape.
    frameworkErrors: (_e, _req, reply) => {
      void (reply as unknown as FastifyReply).code(400).header('cache-control', 'no-store').type('application/problem+json').send({ type: 'about:blank', title: 'malformed request URL', status: 400, code: 'INPUT_INVALID' });
    },
  }) as unknown as GatewayServer;
  app.decorate('keys', keys);
  app.decorate('stats', stats);
  app.decorate('replay', replay);
  app.decorate('targets', Object.freeze(targets));

  // Only message/ohttp-req bodies are read; anything else is an outer 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(OHTTP_REQUEST_MEDIA_TYPE, { parseAs: 'buffer', bodyLimit: maxRequestBytes }, (_req, body, done) => done(null, body));

  const sendOuter = (reply: FastifyReply, err: VeriteeError) => {
    const status = OUTER_STATUS[err.code] ?? (err.info.http >= 400 && err.info.http < 500 ? err.info.http : 400);
    const keyProblem = err.code === 'OHTTP_KEY_UNKNOWN' || err.code === 'OHTTP_SUITE_UNSUPPORTED';
    const problem: Problem = keyProblem
      ? { type: OHTTP_KEY_PROBLEM_TYPE, title: 'key identifier unknown', status, detail: err.message, code: err.code }
      : { type: 'about:blank', title: err.info.description, status, detail: err.message, code: err.code };
    const retryAfter = err.details?.['retryAfterSeconds'];
    if (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0) reply.header('retry-after', String(Math.ceil(retryAfter)));
    return reply.code(status).header('cache-control', 'no-store').type('application/problem+json').send(problem);
  };

  app.setErrorHandler((e, request, reply) => {
    let err: VeriteeError;
    const fe = e as { code?: string; statusCode?: number; message?: string };
    if (e instanceof VeriteeError) err = e;
    else if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fe.statusCode === 415) {
      err = new VeriteeError('OHTTP_MEDIA_TYPE', `content type ${JSON.stringify(String(request.headers['content-type'] ?? '(none)')).slice(0, 80)} is not ${OHTTP_REQUEST_MEDIA_TYPE}`);
    } else if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413) {
      err = new VeriteeError('INPUT_TOO_LARGE', `encapsulated request exceeds ${maxRequestBytes} bytes`);
    } else if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      err = new VeriteeError('OHTTP_REQUEST_INVALID', fe.message ?? 'bad request');
    } else {
      request.log.error({ err: e }, 'gateway failure');
      return reply.code(500).type('application/problem+json').send({ type: 'about:blank', title: 'internal error', status: 500, code: 'INTERNAL' });
    }
    if (request.routeOptions.url === '/gateway' || request.routeOptions.url === '/.well-known/ohttp-gateway') stats.outerErrors++;
    return sendOuter(reply, err);
  });
  app.setNotFoundHandler((request, reply) => sendOuter(reply, new VeriteeError('ROUTE_NOT_FOUND', `no route ${request.method} ${quoteInput(request.url.split('?')[0]!, 80)}`)));

  // ---- keys ----
  const serveKeys = async (_req: unknown, reply: FastifyReply) =>
    reply.header('cache-control', 'max-age=60').type(OHTTP_KEYS_MEDIA_TYPE).send(Buffer.from(keys.encoded()));
  app.get('/ohttp-keys', serveKeys);

  // ---- the gateway resource ----
  const innerError = (ctx: ServerResponseContext, status: number, code: ErrorCode, detail: string): Uint8Array => {
    stats.innerErrors++;
    const body = Buffer.from(JSON.stringify({ type: 'about:blank', title: ERROR_CODES[code].description, status, detail, code }));
    return ctx.seal(encodeResponse({ informational: [], status, headers: [['content-type', 'application/problem+json']], content: body, trailers: [] }));
  };

  const dateError = (ctx: ServerResponseContext, now: number, detail: string): Uint8Array => {
    stats.innerErrors++;
    const body = Buffer.from(JSON.stringify({ type: DATE_PROBLEM_TYPE, title: 'date field value out of range', status: 400, detail, code: 'OHTTP_REPLAY' }));
    return ctx.seal(
      encodeResponse({
        informational: [],
        status: 400,
        headers: [
          ['date', new Date(now).toUTCString()],
          ['cache-control', 'no-store'],
          ['content-type', 'application/problem+json'],
        ],
        content: body,
        trailers: [],
      }),
    );
  };

  const forward = async (req: BhttpRequest, ctx: ServerResponseContext): Promise<Uint8Array> => {
    // Expect: 100-continue cannot work through encapsulation (RFC 9458 §5.1).
    const expect = fieldValue(req.headers, 'expect');
    if (expect !== undefined && expect.toLowerCase().includes('100-continue')) {
      return innerError(ctx, 417, 'OHTTP_BHTTP_INVALID', 'requests through Oblivious HTTP must not expect 100-continue');
    }
    if (req.method === 'CONNECT') return innerError(ctx, 405, 'OHTTP_BHTTP_INVALID', 'CONNECT cannot be carried through Oblivious HTTP');
    const authority = req.authority || fieldValue(req.headers, 'host') || '';
    if (authority.includes('@')) return innerError(ctx, 400, 'OHTTP_BHTTP_INVALID', 'the request authority must not carry user information');
    if (!safePath(req.method, req.path)) return innerError(ctx, 400, 'OHTTP_BHTTP_INVALID', 'the request path must be origin-form without dot segments');
    let origin: string;
    if (authority === '') origin = defaultTarget.origin;
    else {
      try {
        origin = new URL(`${req.scheme}://${authority}`).origin;
      } catch {
        return innerError(ctx, 400, 'OHTTP_BHTTP_INVALID', 'the request target is not a valid URL');
      }
    }
    if (!targets.some((t) => allowedBy(t, origin, req.path))) {
      return innerError(ctx, 403, 'OHTTP_TARGET_FORBIDDEN', 'this gateway does not forward to that target');
    }
    const headers = dropHopByHop(req.headers);
    headers.push(['host', new URL(origin).host]);
    const hasBody = req.content.length > 0 || !(req.method === 'GET' || req.method === 'HEAD');
    stats.forwarded++;
    let res: Dispatcher.ResponseData;
    try {
      res = await dispatcher.request({
        origin,
        path: req.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: headers.flat(),
        body: hasBody ? Buffer.from(req.content.buffer, req.content.byteOffset, req.content.length) : null,
        headersTimeout: upstreamTimeoutMs,
        bodyTimeout: upstreamTimeoutMs,
      });
    } catch (e) {
      const timeout = /timeout/i.test(String((e as { code?: string }).code ?? (e as Error).message));
      return innerError(ctx, timeout ? 504 : 502, 'OHTTP_TARGET_UNAVAILABLE', timeout ? 'the target did not answer in time' : 'the target could not be reached');
    }
    let content: Uint8Array;
    try {
      // The agent enforces maxResponseSize (an own dispatcher); the check below covers a given one.
      content = new Uint8Array(await res.body.arrayBuffer());
    } catch (e) {
      const tooBig = /size|RESPONSE_EXCEEDED/i.test(String((e as { code?: string }).code ?? (e as Error).message));
      return innerError(ctx, 502, 'OHTTP_TARGET_UNAVAILABLE', tooBig ? `the target response exceeds ${maxResponseBytes} bytes` : 'the target response was cut short');
    }
    if (content.length > maxResponseBytes) return innerError(ctx, 502, 'OHTTP_TARGET_UNAVAILABLE', `the target response exceeds ${maxResponseBytes} bytes`);
    if (res.statusCode < 200 || res.statusCode > 599) return innerError(ctx, 502, 'OHTTP_TARGET_UNAVAILABLE', `the target answered status ${res.statusCode}`);
    const responseHeaders: FieldLine[] = [];
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) responseHeaders.push([k.toLowerCase(), x]);
    }
    const trailers: FieldLine[] = [];
    for (const [k, v] of Object.entries(res.trailers ?? {})) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) trailers.push([k.toLowerCase(), String(x)]);
    }
    let encoded: Uint8Array;
    try {
      encoded = encodeResponse({
        informational: [],
        status: res.statusCode,
        headers: dropHopByHop(responseHeaders),
        content,
        trailers: dropHopByHop(trailers),
      });
    } catch {
      return innerError(ctx, 502, 'OHTTP_TARGET_UNAVAILABLE', 'the target response cannot be represented as binary HTTP');
    }
    return ctx.seal(encoded);
  };

  const gatewayHandler = async (request: { body: unknown }, reply: FastifyReply) => {
    stats.requests++;
    const body = request.body;
    if (!(body instanceof Uint8Array) || body.length === 0) throw new VeriteeError('OHTTP_REQUEST_INVALID', 'empty encapsulated request');
    // OUTER: every failure up to here and inside decapsulate() is answered unencapsulated.
    const d = await decapsulate(keys, body);
    // INNER: from here on, every answer is encapsulated (except a replay, see below).
    let out: Uint8Array;
    let req: BhttpRequest | undefined;
    try {
      req = decodeRequest(d.request);
    } catch (e) {
      out = innerError(d.responseContext, 400, 'OHTTP_BHTTP_INVALID', e instanceof VeriteeError ? e.message : 'invalid binary HTTP request');
    }
    if (replay !== undefined) {
      const now = clock.now();
      const date = req !== undefined ? checkDate(req, now, replay.windowMs) : { ok: true as const };
      // A replayed enc is refused OUTSIDE the encapsulation (400 OHTTP_REPLAY): whoever
      // replays cannot open an encapsulated answer, the client that made the request is
      // not waiting for a second one, and the sender already knows it sent the bytes twice.
      try {
        replay.admit(replayKey(d.keyId, d.responseContext.enc), date.ok && date.at !== undefined ? date.at + replay.windowMs : undefined);
      } catch (e) {
        if (isVeriteeError(e, 'OHTTP_REPLAY')) stats.replays++;
        throw e;
      }
      if (!date.ok) {
        // The Date check answers INSIDE (§6.5.2): an honest client with a wrong clock
        // reads the gateway's Date and retries with a fresh encapsulation.
        stats.replays++;
        out = dateError(d.responseContext, now, date.why);
        req = undefined;
      }
    }
    if (req !== undefined) out = await forward(req, d.responseContext);
    return reply
      .code(200)
      .header('cache-control', 'no-store')
      .type(OHTTP_RESPONSE_MEDIA_TYPE)
      .send(Buffer.from(out!.buffer, out!.byteOffset, out!.length));
  };
  app.post('/gateway', gatewayHandler);

  // RFC 9540: the same resource at the well-known URI (GET: keys, POST: requests).
  app.get('/.well-known/ohttp-gateway', serveKeys);
  app.post('/.well-known/ohttp-gateway', gatewayHandler);
  for (const url of ['/gateway', '/.well-known/ohttp-gateway']) {
    app.route({
      method: url === '/gateway' ? ['GET', 'PUT', 'DELETE', 'PATCH'] : ['PUT', 'DELETE', 'PATCH'],
      url,
      handler: async (_req, reply) =>
        reply
          .code(405)
          .header('allow', url === '/gateway' ? 'POST' : 'GET, POST')
          .type('application/problem+json')
          .send({ type: 'about:blank', title: 'method not allowed', status: 405 }),
    });
  }

  // ---- attestation ----
  const maxAttestations = opts.maxConcurrentAttestations ?? 8;
  let attestationsInFlight = 0;
  app.get('/attestation', async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const nonceHex = typeof q['nonce'] === 'string' ? q['nonce'] : undefined;
    let nonce: Uint8Array = new Uint8Array(32);
    if (nonceHex !== undefined) {
      if (!/^[0-9a-fA-F]{64}$/.test(nonceHex)) throw new VeriteeError('INPUT_INVALID', 'nonce must be 32 bytes of hex (64 digits)');
      nonce = fromHex(nonceHex);
    }
    const provider = opts.evidence;
    if (provider === undefined) {
      return reply.code(503).type('application/problem+json').send({ type: 'about:blank', title: 'no TEE evidence provider configured', status: 503 });
    }
    if (attestationsInFlight >= maxAttestations) {
      return reply.code(503).header('retry-after', '1').type('application/problem+json').send({ type: 'about:blank', title: 'too many attestation requests at once', status: 503 });
    }
    const encoded = keys.encoded();
    const digest = keys.digest();
    let evidence: EvidenceEnvelope;
    attestationsInFlight++;
    try {
      evidence = await provider.evidence(computeReportData({ publicKeyHash: digest, nonce }));
    } finally {
      attestationsInFlight--;
    }
    const doc: GatewayAttestation = {
      format: ATTESTATION_FORMAT,
      keyConfigSha256: toHex(digest),
      keyConfigs: toBase64(encoded),
      nonce: toHex(nonce),
      binding: 'report_data = SHA-512("veritee.report-data/v1" || 0x00 || SHA-256(application/ohttp-keys body) || nonce)',
      platform: provider.platform,
      simulated: provider.simulated,
      evidence,
    };
    if (provider.simulated) {
      if (provider.simulatedAnchors) doc.simulatedAnchors = anchorsToJson(provider.simulatedAnchors);
      doc.note = SimulatedTee.LABEL;
    }
    return reply.header('cache-control', 'no-store').send(doc);
  });

  app.get('/healthz', async () => ({ ok: true, keys: keys.status().length, at: new Date(clock.now()).toISOString() }));

  // ---- rotation and shutdown ----
  let timer: NodeJS.Timeout | undefined;
  if (opts.rotateEveryMs !== undefined) {
    if (!(opts.rotateEveryMs >= 1000)) throw new VeriteeError('INPUT_INVALID', `key rotation interval must be at least 1000 ms, got ${opts.rotateEveryMs}`);
    timer = setInterval(() => {
      keys.rotate().then(
        () => app.log.info({ keyConfigSha256: keys.digestHex() }, 'rotated OHTTP key'),
        (e: unknown) => app.log.error({ err: e }, 'key rotation failed'),
      );
    }, opts.rotateEveryMs);
    timer.unref();
  }
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
    if (ownDispatcher) await (dispatcher as Agent).close();
  });
  return app;
}
