/**
 * @module router/router
 * `veritee market router serve`: one public endpoint in front of many sealed provers.
 *
 * | route | what |
 * |---|---|
 * | `GET /v1/directory?nonce=<64 hex>` | every backend's attestation for the client's nonce, and its load |
 * | `POST /v1/backends/:id/sealed` | forwards a sealed input to backend `id`, returns its sealed result as is |
 * | `GET /healthz` | liveness and the backend ids |
 *
 * THREAT MODEL: the router is NOT trusted by clients and holds no secret: it forwards
 * the client's nonce to each backend and the backends' evidence back, and carries sealed
 * inputs and sealed results it cannot read. A client verifies every directory entry
 * against its own policy and nonce (client.ts); this service only has to be available.
 * Bodies are read with size caps in both directions; every backend call has a time limit.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ERROR_CODES, VeriteeError } from '@veritee/core';
import { AttestAnswerSchema, BACKEND_ID, firstIssue, MAX_SEALED_BYTES, ROUTER_PROTOCOL, type Directory, type DirectoryEntry } from './protocol.js';

export interface RouterBackend {
  /** The id clients see (must equal the id the backend attests). */
  id: string;
  /** Base URL of the sealed prover (http://host:port; inside the operator's network). */
  url: string;
}

export interface MarketRouterOptions {
  backends: RouterBackend[];
  /** Time limit of a backend's attestation or load answer (default 10 s). */
  attestTimeoutMs?: number;
  /** Time limit of a forwarded sealed request (the proof included; default 15 minutes). */
  proveTimeoutMs?: number;
  logger?: boolean | Record<string, unknown>;
}

export type MarketRouter = FastifyInstance & { readonly forwarded: Record<string, number> };

/** Parses `id=url,id=url` (the CLI's --backends). */
export function parseBackendList(text: string): RouterBackend[] {
  const out: RouterBackend[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new VeriteeError('INPUT_INVALID', `backend "${part.slice(0, 80)}": write id=url`);
    out.push({ id: part.slice(0, eq), url: part.slice(eq + 1) });
  }
  return checkBackends(out);
}

function checkBackends(list: RouterBackend[]): RouterBackend[] {
  if (list.length === 0) throw new VeriteeError('INPUT_INVALID', 'the router needs at least one backend');
  if (list.length > 256) throw new VeriteeError('INPUT_INVALID', 'the router takes at most 256 backends');
  const ids = new Set<string>();
  return list.map((b) => {
    if (!BACKEND_ID.test(b.id)) throw new VeriteeError('INPUT_INVALID', `backend id "${b.id.slice(0, 70)}": lowercase letters, digits, . _ - (max 63)`);
    if (ids.has(b.id)) throw new VeriteeError('INPUT_INVALID', `backend id ${b.id} is listed twice`);
    ids.add(b.id);
    let u: URL;
    try {
      u = new URL(b.url);
    } catch {
      throw new VeriteeError('INPUT_INVALID', `backend ${b.id}: "${b.url.slice(0, 200)}" is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new VeriteeError('INPUT_INVALID', `backend ${b.id}: URL must be http or https`);
    return { id: b.id, url: u.origin };
  });
}

/** Reads a fetch response body up to `max` bytes; more is INPUT_TOO_LARGE. */
export async function readBounded(res: Response, max: number, what: string): Promise<Buffer> {
  const len = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(len) && len > max) {
    await res.body?.cancel();
    throw new VeriteeError('INPUT_TOO_LARGE', `${what} is ${len} bytes, over the ${max}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += c.byteLength;
      if (size > max) {
        await res.body.cancel().catch(() => {});
        throw new VeriteeError('INPUT_TOO_LARGE', `${what} is over the ${max}-byte limit`);
      }
      chunks.push(Buffer.from(c));
    }
  }
  return Buffer.concat(chunks);
}

function sendError(reply: FastifyReply, err: VeriteeError): FastifyReply {
  const status = ERROR_CODES[err.code]?.http ?? 500;
  return reply.code(status).type('application/json').send({ error: { code: err.code, message: err.message } });
}

function upstreamError(e: unknown, id: string, what: string): VeriteeError {
  if (e instanceof VeriteeError) return e;
  const name = (e as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return new VeriteeError('PROXY_UPSTREAM_TIMEOUT', `backend ${id} did not answer ${what} in time`);
  return new VeriteeError('PROXY_UPSTREAM_UNAVAILABLE', `backend ${id} could not be reached for ${what}`);
}

/** Builds (does not start) the router. */
export async function buildMarketRouter(opts: MarketRouterOptions): Promise<MarketRouter> {
  const backends = checkBackends(opts.backends);
  const byId = new Map(backends.map((b) => [b.id, b]));
  const attestMs = opts.attestTimeoutMs ?? 10_000;
  const proveMs = opts.proveTimeoutMs ?? 15 * 60_000;
  const forwarded: Record<string, number> = Object.fromEntries(backends.map((b) => [b.id, 0]));

  const app = Fastify({
    logger: opts.logger === undefined || opts.logger === false ? false : { level: 'info', ...(opts.logger === true ? {} : opts.logger) },
    bodyLimit: MAX_SEALED_BYTES + 4096,
    // Time to RECEIVE a request (headers and body); answering may take as long as a proof.
    requestTimeout: 60_000,
  });
  // Sealed bodies are forwarded byte for byte: the router never parses what it cannot read anyway.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_SEALED_BYTES + 4096 }, (_req, body, done) => done(null, body));
  app.setErrorHandler((e, request, reply) => {
    let err: VeriteeError;
    if (e instanceof VeriteeError) err = e;
    else {
      const status = (e as { statusCode?: number }).statusCode ?? 500;
      err =
        status === 413
          ? new VeriteeError('INPUT_TOO_LARGE', `sealed request exceeds ${MAX_SEALED_BYTES} bytes`)
          : status >= 400 && status < 500
            ? new VeriteeError('INPUT_INVALID', 'bad request')
            : new VeriteeError('INTERNAL', 'internal error');
    }
    request.log.info({ code: err.code }, 'request refused');
    return sendError(reply, err);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, new VeriteeError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`)));

  app.get('/healthz', async () => ({ status: 'ok', protocol: ROUTER_PROTOCOL, backends: backends.map((b) => b.id) }));

  async function entryFor(b: RouterBackend, nonce: string): Promise<DirectoryEntry> {
    try {
      const [att, load] = await Promise.all([
        fetch(`${b.url}/v1/attest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nonce }), signal: AbortSignal.timeout(attestMs), redirect: 'error' }),
        fetch(`${b.url}/v1/load`, { signal: AbortSignal.timeout(attestMs), redirect: 'error' }),
      ]);
      const attBody = await readBounded(att, 2 * 1024 * 1024, `backend ${b.id} attestation`);
      const loadBody = await readBounded(load, 4096, `backend ${b.id} load`);
      if (att.status !== 200) throw new VeriteeError('PROXY_UPSTREAM_UNAVAILABLE', `backend ${b.id} answered its attestation with HTTP ${att.status}`);
      const parsed = AttestAnswerSchema.safeParse(JSON.parse(attBody.toString('utf8')));
      if (!parsed.success) throw new VeriteeError('ROUTER_BACKEND_UNATTESTED', `backend ${b.id} sent a malformed attestation: ${firstIssue(parsed.error)}`);
      let inFlight: number | undefined;
      try {
        const l = JSON.parse(loadBody.toString('utf8')) as { inFlight?: unknown };
        if (load.status === 200 && Number.isInteger(l.inFlight) && (l.inFlight as number) >= 0) inFlight = l.inFlight as number;
      } catch {
        /* no load figure: the entry says nothing about load */
      }
      return { id: b.id, ...(inFlight !== undefined ? { load: inFlight } : {}), attestation: parsed.data };
    } catch (e) {
      const err = e instanceof SyntaxError ? new VeriteeError('ROUTER_BACKEND_UNATTESTED', `backend ${b.id} sent an attestation that is not JSON`) : upstreamError(e, b.id, 'its attestation');
      app.log.warn({ backend: b.id, code: err.code }, 'backend attestation unavailable');
      return { id: b.id, error: { code: err.code, message: err.message.slice(0, 500) } };
    }
  }

  app.get<{ Querystring: { nonce?: string } }>('/v1/directory', async (request): Promise<Directory> => {
    const nonce = request.query.nonce;
    if (typeof nonce !== 'string' || !/^[0-9a-f]{64}$/.test(nonce)) throw new VeriteeError('INPUT_INVALID', 'directory: nonce must be 64 lowercase hex digits (the client\'s fresh nonce)');
    const entries = await Promise.all(backends.map((b) => entryFor(b, nonce)));
    return { version: ROUTER_PROTOCOL, nonce, backends: entries };
  });

  app.post<{ Params: { id: string } }>('/v1/backends/:id/sealed', async (request, reply) => {
    const b = byId.get(request.params.id);
    if (!b) throw new VeriteeError('ROUTER_BACKEND_UNKNOWN', `the router has no backend ${request.params.id.slice(0, 70)}`);
    if (!Buffer.isBuffer(request.body)) throw new VeriteeError('INPUT_INVALID', 'send the sealed input as application/json');
    forwarded[b.id] = (forwarded[b.id] ?? 0) + 1;
    let res: Response;
    let body: Buffer;
    try {
      res = await fetch(`${b.url}/v1/sealed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array(request.body), signal: AbortSignal.timeout(proveMs), redirect: 'error' });
      body = await readBounded(res, MAX_SEALED_BYTES + 4096, `backend ${b.id} sealed result`);
    } catch (e) {
      throw upstreamError(e, b.id, 'a sealed request');
    }
    // Status and body as the backend sent them (the client checks everything it relies on).
    return reply.code(res.status).type('application/json').send(body);
  });

  Object.defineProperty(app, 'forwarded', { value: forwarded, enumerable: true });
  return app as unknown as MarketRouter;
}

