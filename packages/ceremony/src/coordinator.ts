/**
 * @module coordinator
 * `veritee zk ceremony serve`: the phase-2 coordinator over HTTP (put it behind
 * the attesting proxy if contributors should know which code coordinates).
 *
 * | route | what |
 * |---|---|
 * | `GET /v1/ceremony` | the manifest, the slot holder (name, expiry) and the next index |
 * | `POST /v1/ceremony/turn` | `{ name }` -> `{ token, index, expiresAt }`: the slot, if free (else 409 CEREMONY_TURN) |
 * | `GET /v1/ceremony/state` | the last state (octet-stream; headers give its index and sha256) |
 * | `POST /v1/ceremony/contribution` | `Authorization: Bearer <token>`, the new state -> verified, then appended |
 * | `GET /v1/ceremony/transcript/:file` | `ceremony.json`, `phase1.bin`, `state-NNNN.bin`: the public transcript |
 * | `GET /healthz` | liveness |
 *
 * THREAT MODEL: the coordinator is not trusted with soundness: every check it makes
 * is re-made by verifiers from the transcript. What it enforces is order and
 * liveness: one contributor at a time (a slot with a deadline, so a stalled
 * contributor cannot block the ceremony), a contribution verified against the last
 * state before it is appended (INVARIANT: the transcript on disk always verifies),
 * and bounded bodies. Slot tokens are 256-bit random and compared in constant time;
 * they are never logged.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES, isVeriteeError, parseJsonStrict, sha256, systemClock, toHex, VeriteeError, type Clock } from '@veritee/core';
import { CEREMONY_NAME_RE } from '@veritee/zk';
import { runEngine, stateFile, type CeremonyManifest, type EngineOptions } from './engine.js';

export interface CoordinatorOptions {
  /** The ceremony directory (made by `veritee zk ceremony init`). */
  dir: string;
  /** How long a contributor holds the slot (default 10 minutes). */
  slotMs?: number;
  /** Largest contribution accepted (default 512 MiB). */
  maxStateBytes?: number;
  engine?: EngineOptions;
  clock?: Clock;
  logger?: boolean | Record<string, unknown>;
}

interface Slot {
  name: string;
  token: Buffer;
  index: number;
  expiresAt: number;
}

const TurnSchema = z.strictObject({ name: z.string().regex(CEREMONY_NAME_RE, 'a name is 1-64 letters, digits, space and ._@+:-') });
const TRANSCRIPT_FILE = /^(ceremony\.json|phase1\.bin|state-\d{4}\.bin)$/;

function sendError(reply: FastifyReply, err: VeriteeError): FastifyReply {
  const status = ERROR_CODES[err.code]?.http ?? 500;
  // Engine messages may hold local paths: clients get the code and a path-free message.
  const message = err.code === 'INTERNAL' ? 'internal error' : err.message.replace(/(?:\/[^\s:"']+)+/g, '[path]').slice(0, 500);
  return reply.code(status).type('application/json').send({ error: { code: err.code, message } });
}

/** Reads the manifest (strict JSON). */
export function readManifest(dir: string): CeremonyManifest {
  let text: string;
  try {
    text = readFileSync(join(dir, 'ceremony.json'), 'utf8');
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `no ceremony in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const m = parseJsonStrict(text, { what: 'ceremony manifest', code: 'CEREMONY_INVALID', maxDepth: 8 }) as CeremonyManifest;
  if (m?.format !== 'veritee.ceremony/v2') throw new VeriteeError('CEREMONY_INVALID', `${dir}/ceremony.json is not a veritee.ceremony/v2 manifest`);
  return m;
}

/** Builds the coordinator (not listening: call `listen`, or `inject` in tests). */
export function buildCoordinator(opts: CoordinatorOptions): FastifyInstance {
  const slotMs = opts.slotMs ?? 600_000;
  const maxStateBytes = opts.maxStateBytes ?? 512 * 1024 * 1024;
  const clock = opts.clock ?? systemClock;
  let slot: Slot | undefined;
  let accepting = false;
  readManifest(opts.dir); // fail at start, not at the first request

  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: maxStateBytes });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: maxStateBytes }, (_req, body, done) => done(null, body));
  app.setErrorHandler((e: FastifyError, _req, reply) => {
    if (isVeriteeError(e)) return sendError(reply, e);
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, new VeriteeError('INPUT_TOO_LARGE', `the body exceeds ${maxStateBytes} bytes`));
    if (e.statusCode && e.statusCode < 500) return sendError(reply, new VeriteeError('INPUT_INVALID', e.message.slice(0, 200)));
    app.log.error({ err: e }, 'coordinator error');
    return sendError(reply, new VeriteeError('INTERNAL', 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new VeriteeError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 100)}`)));

  const current = (): Slot | undefined => {
    if (slot && clock.now() >= slot.expiresAt) {
      app.log.info({ name: slot.name, index: slot.index }, 'slot expired');
      slot = undefined;
    }
    return slot;
  };

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/v1/ceremony', async () => {
    const m = readManifest(opts.dir);
    const s = current();
    return {
      manifest: m,
      nextIndex: m.ceremony.contributions.length + 1,
      open: !m.sealed,
      slot: s ? { name: s.name, index: s.index, expiresAt: new Date(s.expiresAt).toISOString() } : null,
      slotMs,
    };
  });

  app.post('/v1/ceremony/turn', { bodyLimit: 4096 }, async (req, reply) => {
    const r = TurnSchema.safeParse(req.body);
    if (!r.success) throw new VeriteeError('INPUT_INVALID', `turn request: ${r.error.issues[0]!.path.join('.') || '(body)'}: ${r.error.issues[0]!.message}`);
    const m = readManifest(opts.dir);
    if (m.sealed) throw new VeriteeError('CEREMONY_STATE', 'the ceremony is sealed (the beacon was applied): no more contributions');
    if (m.ceremony.contributions.some((c) => c.name === r.data.name)) throw new VeriteeError('CEREMONY_STATE', `${r.data.name} has already contributed`);
    const s = current();
    if (s || accepting) throw new VeriteeError('CEREMONY_TURN', `${s ? s.name : 'another contributor'} holds the slot${s ? ` until ${new Date(s.expiresAt).toISOString()}` : ''}; try again later`);
    const token = randomBytes(32);
    slot = { name: r.data.name, token, index: m.ceremony.contributions.length + 1, expiresAt: clock.now() + slotMs };
    app.log.info({ name: slot.name, index: slot.index }, 'slot granted');
    return reply.code(201).send({ token: token.toString('hex'), index: slot.index, expiresAt: new Date(slot.expiresAt).toISOString(), state: '/v1/ceremony/state' });
  });

  app.get('/v1/ceremony/state', async (_req, reply) => {
    const m = readManifest(opts.dir);
    const i = m.ceremony.contributions.length;
    const bytes = readFileSync(join(opts.dir, stateFile(i)));
    return reply
      .type('application/octet-stream')
      .header('x-veritee-state-index', String(i))
      .header('x-veritee-state-sha256', toHex(sha256(bytes)))
      .send(bytes);
  });

  app.post('/v1/ceremony/contribution', async (req, reply) => {
    const auth = /^Bearer ([0-9a-f]{64})$/.exec(String(req.headers.authorization ?? ''));
    const s = current();
    if (!auth || !s || !timingSafeEqual(Buffer.from(auth[1]!, 'hex'), s.token)) {
      throw new VeriteeError('CEREMONY_TURN', s ? 'this is not the slot holder\'s token (or the slot expired): ask for a turn first' : 'no slot is held, or it expired: ask for a turn first');
    }
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new VeriteeError('INPUT_INVALID', 'the contribution must be the new state as application/octet-stream');
    accepting = true;
    const holder = s;
    slot = undefined; // one attempt per slot: a refused contribution releases it
    const tmp = mkdtempSync(join(tmpdir(), 'veritee-contribution-'));
    try {
      const file = join(tmp, 'next.bin');
      writeFileSync(file, req.body);
      const r = await runEngine<{ sha256: string; verifyMs: number }>('accept', { dir: opts.dir, name: holder.name, file }, opts.engine);
      app.log.info({ name: holder.name, index: holder.index, sha256: r.sha256, verifyMs: r.verifyMs }, 'contribution accepted');
      return reply.code(201).send({ index: holder.index, name: holder.name, sha256: r.sha256, verifyMs: r.verifyMs });
    } catch (e) {
      app.log.warn({ name: holder.name, index: holder.index, code: isVeriteeError(e) ? e.code : 'INTERNAL' }, 'contribution refused');
      throw e;
    } finally {
      accepting = false;
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  app.get<{ Params: { file: string } }>('/v1/ceremony/transcript/:file', async (req, reply) => {
    const f = req.params.file;
    if (!TRANSCRIPT_FILE.test(f)) throw new VeriteeError('ROUTE_NOT_FOUND', 'not a transcript file (ceremony.json, phase1.bin, state-NNNN.bin)');
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(opts.dir, f));
    } catch {
      throw new VeriteeError('ROUTE_NOT_FOUND', `${f} is not in the transcript`);
    }
    return reply.type(f.endsWith('.json') ? 'application/json' : 'application/octet-stream').send(bytes);
  });

  return app;
}
