/**
 * @module server
 * The market service on Fastify (loopback by default): bounded bodies, every body validated
 * (zod), every refusal `{ code, message }` with the code's HTTP status.
 *
 *   GET  /v0/engine                       the engine's attested keys (HPKE + Ed25519, evidence)
 *   POST /v0/markets                      create a market (its sample proof must verify)
 *   GET  /v0/markets/:id
 *   POST /v0/generators                   register (stake, declared compute)
 *   POST /v0/markets/:id/join             join with cost, proving time, attested keys (signed)
 *   GET  /v0/generators/:id/assignments   live assignments of a generator
 *   POST /v0/asks                         create an ask (idempotent by id)
 *   GET  /v0/asks/:id                     state computed at the server's now
 *   POST /v0/asks/:id/cancel              signed by the requester key
 *   POST /v0/asks/:id/claim               signed by the assignee
 *   POST /v0/asks/:id/submit              signed by the assignee; the proof is verified
 *   GET  /v0/asks/:id/result              proof + key + public inputs, to verify locally
 *   GET  /v0/events?after=&waitMs=        events after a sequence number (long poll, ≤ 25 s)
 *   GET  /v0/ledger                       the ledger invariants
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES, isVeriteeError, VeriteeError } from '@veritee/core';
import type { Market } from './market.js';

export const MAX_BODY_BYTES = 2 * 1024 * 1024;
const MAX_WAIT_MS = 25_000;

export interface MarketServerOptions {
  market: Market;
  /** The service's clock (ms). Default Date.now. */
  clock?: () => number;
  /** Run match + settle every this many ms (0 = never; tests drive `market.match`). Default 0. */
  matchEveryMs?: number;
  bodyLimit?: number;
}

const idParam = z.strictObject({ id: z.string().min(1).max(64) });
const signedBody = z.strictObject({ generatorId: z.string().min(1).max(64), attempt: z.number().int().min(1), signature: z.string().regex(/^[0-9a-f]{128}$/) });
const submitBody = signedBody.extend({ proof: z.unknown() });
const joinBody = z.strictObject({ generatorId: z.string().min(1).max(64), cost: z.number().int().min(0), provingTimeMs: z.number().int().min(1), keys: z.unknown().optional(), signature: z.string().regex(/^[0-9a-f]{128}$/) });
const cancelBody = z.strictObject({ signature: z.string().regex(/^[0-9a-f]{128}$/) });
const eventsQuery = z.strictObject({ after: z.coerce.number().int().min(0).default(0), waitMs: z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(0), limit: z.coerce.number().int().min(1).max(5000).default(500) });

function parse<T>(schema: z.ZodType<T>, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new VeriteeError('INPUT_INVALID', `${what}: ${i.path.map(String).join('.') || '(root)'}: ${i.message}`.slice(0, 300));
  }
  return r.data;
}

export type MarketServer = FastifyInstance & { stopMatching(): void };

export async function buildMarketServer(o: MarketServerOptions): Promise<MarketServer> {
  const { market } = o;
  const now = o.clock ?? (() => Date.now());
  const app = Fastify({ logger: false, bodyLimit: o.bodyLimit ?? MAX_BODY_BYTES });

  app.setErrorHandler((err, _req, reply) => {
    let e: VeriteeError;
    if (isVeriteeError(err)) e = err;
    else if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') e = new VeriteeError('INPUT_TOO_LARGE', `the body is over ${o.bodyLimit ?? MAX_BODY_BYTES} bytes`);
    else if ((err as { statusCode?: number }).statusCode === 400) e = new VeriteeError('INPUT_JSON_INVALID', 'the body is not valid JSON');
    else if ((err as { statusCode?: number }).statusCode === 415) e = new VeriteeError('INPUT_INVALID', 'the body must be application/json');
    else e = new VeriteeError('INTERNAL', 'an unexpected error');
    void reply.code(ERROR_CODES[e.code].http).send({ code: e.code, message: e.message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ code: 'ROUTE_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 100)}` });
  });

  app.get('/v0/engine', async () => market.engine.attested);
  app.post('/v0/markets', async (req, reply) => {
    const r = await market.createMarket(req.body, now());
    return reply.code(r.created ? 201 : 200).send(r);
  });
  app.get('/v0/markets/:id', async (req) => market.getMarket(parse(idParam, req.params, 'path').id));
  app.post('/v0/generators', async (req, reply) => {
    const r = await market.registerGenerator(req.body, now());
    return reply.code(r.created ? 201 : 200).send(r);
  });
  app.post('/v0/markets/:id/join', async (req) => {
    const { id } = parse(idParam, req.params, 'path');
    const b = parse(joinBody, req.body, 'join');
    return market.joinMarket({ marketId: id, generatorId: b.generatorId, cost: b.cost, provingTimeMs: b.provingTimeMs, signature: b.signature, ...(b.keys !== undefined ? { keys: b.keys as never } : {}) }, now());
  });
  app.get('/v0/generators/:id/assignments', async (req) => market.assignmentsOf(parse(idParam, req.params, 'path').id, now()));
  app.post('/v0/asks', async (req, reply) => reply.code(201).send(await market.createAsk(req.body, now())));
  app.get('/v0/asks/:id', async (req) => market.status(parse(idParam, req.params, 'path').id, now()));
  app.post('/v0/asks/:id/cancel', async (req) => market.cancelAsk(parse(idParam, req.params, 'path').id, parse(cancelBody, req.body, 'cancel').signature, now()));
  app.post('/v0/asks/:id/claim', async (req) => {
    const b = parse(signedBody, req.body, 'claim');
    return market.claim({ askId: parse(idParam, req.params, 'path').id, ...b }, now());
  });
  app.post('/v0/asks/:id/submit', async (req) => {
    const b = parse(submitBody, req.body, 'submit');
    return market.submit({ askId: parse(idParam, req.params, 'path').id, generatorId: b.generatorId, attempt: b.attempt, signature: b.signature, proof: b.proof }, now());
  });
  app.get('/v0/asks/:id/result', async (req) => market.result(parse(idParam, req.params, 'path').id, now()));
  app.get('/v0/events', async (req) => {
    const q = parse(eventsQuery, req.query, 'query');
    let events = await market.events(q.after, q.limit);
    if (events.length === 0 && q.waitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          market.notifier.off('event', done);
          req.raw.off('close', done);
          resolve();
        };
        const t = setTimeout(done, q.waitMs);
        market.notifier.on('event', done);
        req.raw.on('close', done);
      });
      events = await market.events(q.after, q.limit);
    }
    return { events };
  });
  app.get('/v0/ledger', async () => market.ledgerCheck());

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  if (o.matchEveryMs && o.matchEveryMs > 0) {
    timer = setInterval(() => {
      if (running) return;
      running = true;
      market
        .match(now())
        .catch(() => undefined)
        .finally(() => (running = false));
    }, o.matchEveryMs);
    timer.unref();
  }
  const stopMatching = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  app.addHook('onClose', async () => stopMatching());
  return Object.assign(app, { stopMatching }) as unknown as MarketServer;
}
