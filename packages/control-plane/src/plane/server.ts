/**
 * @module plane/server
 * The control plane over HTTP (Fastify, loopback or behind the attesting proxy, which binds
 * the TLS session to the control plane's attestation):
 *
 *   POST /v1/workloads               register (admin bearer token when configured)
 *   GET  /v1/workloads               list, with the replica count in force
 *   POST /v1/agents/challenge        {agentId} → {nonce, controlPlaneKey}
 *   POST /v1/agents/attest           {agentId, nonce, spki, evidence} → {attestedUntilMs}
 *   POST /v1/telemetry               report JSON; headers veritee-agent, veritee-agent-signature
 *   POST /v1/decisions/:id/enacted   untrusted mode: the agent reports (signed like telemetry)
 *   GET  /v1/decisions[?workload=&limit=], GET /v1/decisions/:id
 *   POST /v1/bundles, GET /v1/bundles[/:id]   published proof bundles (bundles.ts)
 *   GET  /metrics                    Prometheus text
 *
 * Bodies are read as text (the telemetry signature covers the exact bytes) and parsed
 * strictly; errors are `{error: {code, message}}` with the code's HTTP status.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { ERROR_CODES, parseJsonStrict, VeriteeError } from '@veritee/core';
import type { ControlPlane } from './plane.js';
import { registerBundleRoutes, type BundleRoutesOptions } from './bundles.js';

export interface ControlPlaneServerOptions {
  /** Bearer token required to register workloads (none: open, loopback development only). */
  adminToken?: string;
  /** pino options or false (default false). */
  logger?: boolean | Record<string, unknown>;
  bodyLimit?: number;
  /** Published proof bundles (`/v1/bundles`, bundles.ts). */
  bundles?: BundleRoutesOptions;
}

function toServiceError(e: unknown): VeriteeError {
  if (e instanceof VeriteeError) return e;
  const fe = e as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413) return new VeriteeError('INPUT_TOO_LARGE', 'request body exceeds the size limit');
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new VeriteeError('INPUT_INVALID', 'unsupported content type; send application/json');
  if (typeof fe.statusCode === 'number' && fe.statusCode < 500) return new VeriteeError('INPUT_INVALID', 'bad request');
  return new VeriteeError('INTERNAL', 'internal error', undefined, { cause: e });
}

const obj = (text: unknown, what: string): Record<string, unknown> => {
  const v = parseJsonStrict(typeof text === 'string' ? text : '', { what, code: 'INPUT_JSON_INVALID' });
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new VeriteeError('INPUT_INVALID', `${what} must be a JSON object`);
  return v as Record<string, unknown>;
};

const str = (v: unknown, what: string, max = 65_536): string => {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new VeriteeError('INPUT_INVALID', `${what} must be a non-empty string of at most ${max} characters`);
  return v;
};

export async function buildControlPlaneServer(cp: ControlPlane, opts: ControlPlaneServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((e, request, reply) => {
    const err = toServiceError(e);
    const status = ERROR_CODES[err.code]?.http ?? 500;
    if (status >= 500) request.log.error({ code: err.code }, 'request failed');
    else request.log.info({ code: err.code, status }, 'request refused');
    return reply
      .code(status)
      .type('application/json')
      .send({ error: { code: err.code, message: status >= 500 && err.code === 'INTERNAL' ? 'internal error' : err.message } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'ROUTE_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}` } }),
  );

  const admin = (req: FastifyRequest): void => {
    if (opts.adminToken === undefined) return;
    const h = req.headers.authorization;
    const got = Buffer.from(typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : '');
    const want = Buffer.from(opts.adminToken);
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new VeriteeError('CP_ADMIN_UNAUTHENTICATED', 'workload registration needs the admin bearer token');
  };

  app.get('/healthz', async () => ({ ok: true }));

  app.post('/v1/workloads', async (req, reply) => {
    admin(req);
    const spec = await cp.addWorkload(obj(req.body, 'workload'));
    return reply.code(201).send({ workload: spec });
  });
  app.get('/v1/workloads', async () => ({
    workloads: (await cp.log.workloads()).map((w) => ({ ...w.spec, replicas: w.replicas, lastScaledMs: w.lastScaledMs })),
  }));

  app.post('/v1/agents/challenge', async (req) => {
    const b = obj(req.body, 'challenge request');
    return { nonce: cp.challenge(str(b['agentId'], 'agentId', 128)), controlPlaneKey: cp.keyId, controlPlaneSpki: Buffer.from(cp.opts.signer.spki).toString('base64url') };
  });
  app.post('/v1/agents/attest', async (req) => {
    const b = obj(req.body, 'attestation');
    return cp.attestAgent({ agentId: str(b['agentId'], 'agentId', 128), nonce: str(b['nonce'], 'nonce', 64), spki: str(b['spki'], 'spki', 1024), evidence: str(b['evidence'], 'evidence', 4 * 1024 * 1024), ...(b['simulatedAnchors'] !== undefined ? { simulatedAnchors: b['simulatedAnchors'] } : {}) });
  });

  const agentHeaders = (req: FastifyRequest): { agentId: string; signature: string } => {
    const agentId = req.headers['veritee-agent'];
    const signature = req.headers['veritee-agent-signature'];
    if (typeof agentId !== 'string') throw new VeriteeError('CP_AGENT_UNATTESTED', 'the request names no agent (veritee-agent header)');
    if (typeof signature !== 'string') throw new VeriteeError('CP_AGENT_SIGNATURE_INVALID', 'the request carries no veritee-agent-signature header');
    return { agentId, signature };
  };

  app.post('/v1/telemetry', async (req) => {
    const { agentId, signature } = agentHeaders(req);
    const r = await cp.telemetry(agentId, typeof req.body === 'string' ? req.body : '', signature);
    return {
      decision: r.decision ?? null,
      note: r.note ?? null,
      measurements: r.measurements.map((m) => ({ metric: m.metric, direction: m.direction, value: m.value, above: m.above, ...(m.unavailable ? { unavailable: m.unavailable, ...(m.code ? { code: m.code } : {}) } : {}) })),
      timings: r.timings,
    };
  });

  app.post('/v1/decisions/:id/enacted', async (req) => {
    const { agentId, signature } = agentHeaders(req);
    const text = typeof req.body === 'string' ? req.body : '';
    cp.checkAgentBody(agentId, text, signature);
    const b = obj(text, 'enactment report');
    const id = (req.params as { id: string }).id;
    await cp.agentEnacted(id, b['ok'] === true, typeof b['detail'] === 'string' ? b['detail'] : '');
    return { ok: true };
  });

  app.get('/v1/decisions', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new VeriteeError('INPUT_INVALID', 'limit must be an integer from 1 to 10000');
    return { decisions: await cp.log.decisions({ ...(q.workload ? { workload: q.workload } : {}), limit }) };
  });
  app.get('/v1/decisions/:id', async (req) => {
    const id = (req.params as { id: string }).id;
    const d = await cp.log.decision(id);
    if (!d) throw new VeriteeError('CP_DECISION_NOT_FOUND', `no decision ${id.slice(0, 40)}`);
    return { decision: d };
  });

  await registerBundleRoutes(app, cp, opts.bundles);
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(await cp.metricsText()));
  return app;
}
