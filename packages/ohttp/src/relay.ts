/**
 * @module relay
 * The Oblivious Relay Resource (RFC 9458 §6.3), run OUTSIDE the TEE by a party other
 * than the gateway's operator. It forwards opaque bodies between clients and one
 * gateway:
 *
 * | relay route | forwarded to |
 * |---|---|
 * | `POST /` , `POST /gateway` (`message/ohttp-req`) | `POST {gateway}/gateway` |
 * | `GET /ohttp-keys` | `GET {gateway}/ohttp-keys` |
 * | `GET /attestation?nonce=HEX` | `GET {gateway}/attestation?nonce=HEX` |
 * | `GET /healthz` | answered by the relay |
 *
 * THREAT MODEL: the relay knows who asks (the client's address) but must not pass it on
 * and cannot read what is asked. The forwarded request is built from scratch from an
 * allow-list: method, path, `content-type: message/ohttp-req` and the body; no client
 * header survives (Forwarded, X-Forwarded-For, Via, Cookie, User-Agent, Authorization,
 * anything unknown), and the relay adds none of its own. Towards the client, only the
 * gateway's status, `content-type`, `cache-control`, `allow` and body are passed back.
 * The relay never parses, stores or logs a body, and its logs omit client addresses.
 * Outgoing connections can be bound to a dedicated local address (`localAddress`).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { Agent, type Dispatcher } from 'undici';
import { isIP } from 'node:net';
import { quoteInput, VeriteeError } from '@veritee/core';
import { OHTTP_REQUEST_MEDIA_TYPE } from './encapsulate.js';

export interface RelayOptions {
  /** Gateway base URL (`http(s)://host[:port][/base]`). */
  gateway: string;
  /** Largest encapsulated request forwarded, bytes (default 1 MiB). */
  maxRequestBytes?: number;
  /** Largest gateway response passed back, bytes (default 9 MiB). */
  maxResponseBytes?: number;
  /** Gateway timeout, ms (default 35 s). */
  upstreamTimeoutMs?: number;
  /** Local address outgoing connections are bound to (e.g. a dedicated egress address). */
  localAddress?: string;
  /** HTTP client towards the gateway (default: an undici Agent with keep-alive). */
  dispatcher?: Dispatcher;
  /** pino logging: false (default), true, or pino options. Never bodies, never client addresses. */
  logger?: boolean | Record<string, unknown>;
}

export interface RelayStats {
  /** Requests passed to the gateway (all routes). */
  forwarded: number;
  /** Requests the relay refused itself (media type, size, route). */
  refused: number;
}

export interface RelayServer extends FastifyInstance {
  stats: RelayStats;
  gatewayUrl: URL;
}

/** Headers of a gateway response a client may see. */
const RESPONSE_HEADERS = ['content-type', 'cache-control', 'allow'] as const;

const problem = (reply: FastifyReply, status: number, title: string, detail?: string) =>
  reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, ...(detail ? { detail } : {}) });

/** Builds (does not start) the relay. */
export async function buildRelay(opts: RelayOptions): Promise<RelayServer> {
  let gw: URL;
  try {
    gw = new URL(opts.gateway);
  } catch {
    throw new VeriteeError('INPUT_INVALID', `gateway ${quoteInput(opts.gateway)} is not an absolute URL`);
  }
  if (gw.protocol !== 'http:' && gw.protocol !== 'https:') throw new VeriteeError('INPUT_INVALID', `gateway ${quoteInput(opts.gateway)} must be http or https`);
  if (gw.username || gw.password || gw.search || gw.hash) throw new VeriteeError('INPUT_INVALID', `gateway ${quoteInput(opts.gateway)} must not carry credentials, a query or a fragment`);
  if (opts.localAddress !== undefined && isIP(opts.localAddress) === 0) {
    throw new VeriteeError('INPUT_INVALID', `egress address ${quoteInput(opts.localAddress)} is not an IPv4 or IPv6 address literal`);
  }
  const base = gw.pathname.replace(/\/+$/, '');
  const maxRequestBytes = opts.maxRequestBytes ?? 1024 * 1024;
  const maxResponseBytes = opts.maxResponseBytes ?? 9 * 1024 * 1024;
  const timeout = opts.upstreamTimeoutMs ?? 35_000;
  const ownDispatcher = opts.dispatcher === undefined;
  const dispatcher =
    opts.dispatcher ??
    new Agent({
      keepAliveTimeout: 30_000,
      connections: 256,
      pipelining: 1,
      maxResponseSize: maxResponseBytes,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
  const stats: RelayStats = { forwarded: 0, refused: 0 };

  const logger: FastifyServerOptions['logger'] =
    opts.logger === undefined || opts.logger === false
      ? false
      : {
          level: 'info',
          // The relay knows the client's address; its logs do not keep it, nor headers, nor bodies.
          serializers: {
            req: (r: { method: string; url: string }) => ({ method: r.method, url: r.url.split('?')[0] }),
            res: (r: { statusCode: number }) => ({ statusCode: r.statusCode }),
          },
          ...(typeof opts.logger === 'object' ? opts.logger : {}),
        };
  const app = Fastify({
    logger,
    bodyLimit: maxRequestBytes,
    return503OnClosing: true,
    // The router's own refusals (malformed URL) would echo the URL in Fastify's shape.
    frameworkErrors: (_e, _req, reply) => {
      stats.refused++;
      void problem(reply, 400, 'malformed request URL');
    },
  }) as unknown as RelayServer;
  app.decorate('stats', stats);
  app.decorate('gatewayUrl', gw);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(OHTTP_REQUEST_MEDIA_TYPE, { parseAs: 'buffer', bodyLimit: maxRequestBytes }, (_req, body, done) => done(null, body));

  app.setErrorHandler((e, _request, reply) => {
    const fe = e as { code?: string; statusCode?: number };
    stats.refused++;
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fe.statusCode === 415) return problem(reply, 415, 'unsupported media type', `send ${OHTTP_REQUEST_MEDIA_TYPE}`);
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413) return problem(reply, 413, 'request too large', `at most ${maxRequestBytes} bytes`);
    if (e instanceof VeriteeError) return problem(reply, e.info.http, e.info.description, e.message);
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return problem(reply, fe.statusCode, 'bad request');
    return problem(reply, 502, 'bad gateway');
  });
  app.setNotFoundHandler((_request, reply) => {
    stats.refused++;
    return problem(reply, 404, 'not found');
  });

  /** Sends a request built from scratch (no client header) and relays the answer. */
  async function pass(reply: FastifyReply, method: 'GET' | 'POST', path: string, body?: Buffer): Promise<FastifyReply> {
    stats.forwarded++;
    let res: Dispatcher.ResponseData;
    try {
      res = await dispatcher.request({
        origin: gw.origin,
        path: base + path,
        method,
        headers: body !== undefined ? { 'content-type': OHTTP_REQUEST_MEDIA_TYPE } : {},
        body: body ?? null,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch {
      return problem(reply, 502, 'bad gateway', 'the oblivious gateway could not be reached');
    }
    let answer: Buffer;
    try {
      answer = Buffer.from(await res.body.arrayBuffer());
    } catch {
      return problem(reply, 502, 'bad gateway', 'the gateway response was cut short or too large');
    }
    if (answer.length > maxResponseBytes) return problem(reply, 502, 'bad gateway', 'the gateway response is too large');
    reply.code(res.statusCode);
    for (const h of RESPONSE_HEADERS) {
      const v = res.headers[h];
      if (typeof v === 'string') reply.header(h, v);
    }
    return reply.send(answer);
  }

  const relayRequest = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      stats.refused++;
      return problem(reply, 400, 'empty encapsulated request');
    }
    return pass(reply, 'POST', '/gateway', body);
  };
  app.post('/', relayRequest);
  app.post('/gateway', relayRequest);
  app.get('/ohttp-keys', async (_request, reply) => pass(reply, 'GET', '/ohttp-keys'));
  app.get('/attestation', async (request, reply) => {
    const nonce = (request.query as Record<string, unknown>)['nonce'];
    if (nonce !== undefined && (typeof nonce !== 'string' || !/^[0-9a-fA-F]{64}$/.test(nonce))) {
      stats.refused++;
      return problem(reply, 400, 'bad request', 'nonce must be 64 hex digits');
    }
    return pass(reply, 'GET', `/attestation${typeof nonce === 'string' ? `?nonce=${nonce}` : ''}`);
  });
  app.get('/healthz', async () => ({ ok: true }));

  app.addHook('onClose', async () => {
    if (ownDispatcher) await (dispatcher as Agent).close();
  });
  return app;
}
