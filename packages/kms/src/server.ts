/**
 * @module server
 * The KMS over HTTP (Fastify):
 *
 * | route | who |
 * |---|---|
 * | `POST /kbs/v0/auth`, `POST /kbs/v0/attest`, `GET /kms/v0/bootstrap` | anyone (rate-limited per client address: 429) |
 * | `POST /kms/v0/transit/<tenant>/<op>/<key>`, `POST /kms/v0/ca/issue`, `POST /kms/v0/registry/register` | attested workloads |
 * | `GET /kbs/v0/resource/<repo>/<type>/<tag>` | attested workloads (cookie `kbs-session-id` or `Authorization: Bearer <EAR token>`) |
 * | `GET /kms/v0/jwks`, `GET /kms/v0/healthz`, `GET /kms/v0/ca/bundle`, `GET /kms/v0/ca/status/<serial>` | anyone (rate-limited) |
 * | `/kms/v0/tenants/<tenant>/…` (secrets, policies, dry-run, audit) | admin bearer JWT (or an admin client certificate, see `adminClientCa`): role `kms-admin`, or `tenant-admin` with `tenant` = <tenant> |
 * | `POST /kms/v0/sessions/revoke`, `GET /kms/v0/audit` | `kms-admin` |
 *
 * Status codes: 401 not attested / attestation failed (the message lists every failed
 * check), 403 policy denies, 404 unknown, 409 check-and-set, 429 too many requests.
 * Errors are `{"error": {"code", "message"}}`; 5xx say only "internal error".
 *
 * THREAT MODEL: every request is untrusted; bodies are capped. Logs (pino) carry method,
 * URL (paths, never values), status and error codes: never bodies, cookies, tokens,
 * nonces, keys or secret values (`authorization`, `cookie` and `set-cookie` are redacted
 * in case a serializer adds headers).
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { ERROR_CODES, VeriteeError, type ErrorCode } from '@veritee/core';
import { MAX_EVIDENCE_BYTES } from '@veritee/attestation';
import type { Kms } from './kms.js';
import { KBS_PROTOCOL_VERSION } from './kms.js';

export const SESSION_COOKIE = 'kbs-session-id';
export const ADMIN_AUDIENCE = 'veritee-kms-admin';

export interface KmsServerOptions {
  kms: Kms;
  /** Public keys that sign admin JWTs (ES256). Without them the admin API answers 401. */
  adminJwks?: { keys: JWK[] };
  /** Unauthenticated endpoints: burst per client address (default 60) and refill per second (default 30). */
  rateLimit?: { burst?: number; perSecond?: number };
  /** pino: false (default), true, or pino options (e.g. `{ stream }` in tests). */
  logger?: boolean | Record<string, unknown>;
  /** Set the cookie's Secure flag (default: true when served over TLS). */
  secureCookie?: boolean;
  https?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  /**
   * PEM CA of admin client certificates (mTLS admin authentication; needs `https`). Every
   * client is asked for a certificate but may connect without one (workloads do). A
   * certificate chaining to this CA, valid at the KMS clock's time, authenticates an admin:
   * subject CN = the admin's name; URI SANs `urn:veritee:kms-admin:kms-admin` and
   * `urn:veritee:kms-admin:tenant-admin:<tenant>` give the roles (as the JWT's `roles` and
   * `tenant`). A bearer token, when sent, is what counts.
   */
  adminClientCa?: string;
}

/** Per-address token bucket. */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly now: () => number,
  ) {}
  take(key: string): boolean {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    if (this.buckets.size > 100_000) this.buckets.clear(); // bounded memory under address floods
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

function sendError(reply: FastifyReply, err: VeriteeError): FastifyReply {
  const status = ERROR_CODES[err.code]?.http ?? 500;
  const message = status >= 500 ? 'internal error' : err.message;
  return reply.code(status).type('application/json').send({ error: { code: err.code, message } });
}

function toServiceError(e: unknown): VeriteeError {
  if (e instanceof VeriteeError) return e;
  const fe = e as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413) return new VeriteeError('INPUT_TOO_LARGE', 'request body exceeds the size limit');
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new VeriteeError('INPUT_INVALID', 'unsupported content type; send application/json');
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new VeriteeError('INPUT_JSON_INVALID', 'request body is empty; a JSON document is expected');
  if (fe.statusCode === 400) return new VeriteeError('INPUT_JSON_INVALID', 'request body is not valid JSON');
  if (typeof fe.statusCode === 'number' && fe.statusCode < 500) return new VeriteeError('INPUT_INVALID', 'bad request');
  return new VeriteeError('INTERNAL', 'internal error', undefined, { cause: e });
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/.exec(h);
  return m ? m[1] : undefined;
}

function obj(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new VeriteeError('INPUT_INVALID', 'request body must be a JSON object');
  return body as Record<string, unknown>;
}

function versionsOf(body: unknown): number[] {
  const v = obj(body)['versions'];
  if (!Array.isArray(v) || v.length === 0 || v.length > 1000 || !v.every((x) => Number.isInteger(x) && (x as number) > 0)) {
    throw new VeriteeError('INPUT_INVALID', 'versions must be a non-empty array of positive integers');
  }
  return v as number[];
}

export interface AdminIdentity {
  sub: string;
  roles: string[];
  tenant?: string;
}

/** Builds (does not start) the KMS HTTP service. */
export async function buildKmsServer(opts: KmsServerOptions): Promise<FastifyInstance> {
  const kms = opts.kms;
  const logger =
    opts.logger === undefined || opts.logger === false
      ? false
      : {
          level: 'info',
          redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'headers.authorization', 'headers.cookie'], censor: '[redacted]' },
          ...(opts.logger === true ? {} : opts.logger),
        };
  const app = Fastify({
    logger,
    bodyLimit: MAX_EVIDENCE_BYTES + 64 * 1024,
    requestTimeout: 30_000,
    // TEE ids (chip:<128 hex>) are path parameters
    routerOptions: { maxParamLength: 300 },
    ...(opts.https ? { https: { ...opts.https, ...(opts.adminClientCa ? { ca: opts.adminClientCa, requestCert: true, rejectUnauthorized: false } : {}) } } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  const limiter = new RateLimiter(opts.rateLimit?.burst ?? 60, opts.rateLimit?.perSecond ?? 30, () => kms.now);
  const secure = opts.secureCookie ?? opts.https !== undefined;

  app.setErrorHandler((e, request, reply) => {
    const err = toServiceError(e);
    const status = ERROR_CODES[err.code]?.http ?? 500;
    // Only the code reaches the log: messages may name resources, never values.
    if (status >= 500) request.log.error({ code: err.code }, 'request failed');
    else request.log.info({ code: err.code, status }, 'request refused');
    return sendError(reply, err);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, new VeriteeError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`)));

  const limited = (req: FastifyRequest): void => {
    if (!limiter.take(req.ip)) throw new VeriteeError('KMS_RATE_LIMITED', 'too many requests from this address to an unauthenticated KMS endpoint; slow down');
  };

  // ---- KBS protocol ---------------------------------------------------------
  const workload = (req: FastifyRequest) => {
    const tok = bearer(req);
    const c = cookieValue(req.headers.cookie, SESSION_COOKIE);
    return kms.authenticate(tok !== undefined ? { bearer: tok } : c !== undefined ? { cookie: c } : {});
  };
  app.post('/kbs/v0/auth', async (req, reply) => {
    limited(req);
    const body = obj(req.body);
    const { sessionId, nonce, expiresMs } = await kms.auth({ version: body['version'], tee: body['tee'] });
    const maxAge = Math.max(1, Math.floor((expiresMs - kms.now) / 1000));
    reply.header('set-cookie', `${SESSION_COOKIE}=${sessionId}; Path=/kbs; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`);
    return { nonce, 'extra-params': '' };
  });

  app.post('/kbs/v0/attest', async (req, reply) => {
    limited(req);
    const body = obj(req.body);
    const sid = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const { token, session } = await kms.attest(sid, body);
    const maxAge = Math.max(1, Math.floor((session.expiresMs - kms.now) / 1000));
    reply.header('set-cookie', `${SESSION_COOKIE}=${session.id}; Path=/kbs; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`);
    return { token };
  });

  app.get<{ Params: { repo: string; type: string; tag: string } }>('/kbs/v0/resource/:repo/:type/:tag', async (req) => {
    const session = await workload(req);
    const { jwe } = await kms.release(session, req.params.repo, req.params.type, req.params.tag);
    return jwe;
  });

  app.post<{ Params: { tenant: string; op: string; name: string } }>('/kms/v0/transit/:tenant/:op/:name', async (req) => {
    const op = req.params.op;
    if (op !== 'encrypt' && op !== 'decrypt' && op !== 'rewrap' && op !== 'datakey') throw new VeriteeError('ROUTE_NOT_FOUND', 'transit operations: encrypt, decrypt, rewrap, datakey');
    const session = await workload(req);
    return kms.transitOp(session, req.params.tenant, req.params.name, op, obj(req.body ?? {}));
  });

  app.post('/kms/v0/ca/issue', async (req) => {
    const session = await workload(req);
    const b = obj(req.body);
    if (typeof b['tenant'] !== 'string' || typeof b['workload'] !== 'string') throw new VeriteeError('INPUT_INVALID', 'certificate request needs tenant and workload');
    const dns = b['dns'];
    if (dns !== undefined && (!Array.isArray(dns) || !dns.every((d) => typeof d === 'string'))) throw new VeriteeError('INPUT_INVALID', 'dns must be an array of host names');
    const ttl = b['ttl'];
    if (ttl !== undefined && typeof ttl !== 'number') throw new VeriteeError('INPUT_INVALID', 'ttl must be a number of seconds');
    const c = await kms.issueCertificate(session, b['tenant'], b['workload'], { ...(dns ? { dns: dns as string[] } : {}), ...(ttl !== undefined ? { ttlSeconds: ttl as number } : {}) });
    return { certificate: c.certPem, chain: c.chainPem, spiffe_id: c.spiffeId, not_after: c.notAfter, serial: c.serial };
  });
  app.get('/kms/v0/ca/bundle', async (req) => {
    limited(req);
    const ca = await kms.workloadCa();
    return { trust_domain: ca.trustDomain, bundle: ca.certPem };
  });
  // certificate (lease) status: peers ask it on top of checking the certificate and its attestation
  app.get<{ Params: { serial: string } }>('/kms/v0/ca/status/:serial', async (req) => {
    limited(req);
    const st = await kms.certificateStatus(req.params.serial);
    return { serial: st.serial, status: st.status, ...(st.notAfter ? { not_after: st.notAfter } : {}), ...(st.revokedAt ? { revoked_at: st.revokedAt, reason: st.reason } : {}) };
  });
  app.post('/kms/v0/registry/register', async (req) => {
    const session = await workload(req);
    const b = obj(req.body);
    if (typeof b['tenant'] !== 'string') throw new VeriteeError('INPUT_INVALID', 'registration needs tenant');
    const entry = await kms.registry.request(b['tenant'], session);
    await kms.audit.append({ tenant: b['tenant'], actor: 'session', action: 'registry.request', decision: 'ok', resource: entry.teeId });
    return entry;
  });
  app.get<{ Querystring: { nonce?: string } }>('/kms/v0/bootstrap', async (req) => {
    limited(req);
    return kms.bootstrap(String(req.query.nonce ?? ''));
  });
  app.get('/kms/v0/jwks', async (req) => {
    limited(req);
    return kms.jwks();
  });
  app.get('/kms/v0/healthz', async (req) => {
    limited(req);
    await kms.db.query('SELECT 1');
    return { ok: true, protocol: KBS_PROTOCOL_VERSION, backend: kms.db.backend, rootKey: kms.rootKeyLabel };
  });

  // ---- admin API --------------------------------------------------------------
  const adminKeys = opts.adminJwks ? createLocalJWKSet(opts.adminJwks as Parameters<typeof createLocalJWKSet>[0]) : undefined;
  if (opts.adminClientCa !== undefined && opts.https === undefined) throw new VeriteeError('INPUT_INVALID', 'adminClientCa (mTLS admin authentication) needs https');
  /** The admin named by a verified client certificate, or undefined when the client sent none. */
  const certAdmin = (req: FastifyRequest): AdminIdentity | undefined => {
    if (opts.adminClientCa === undefined) return undefined;
    const sock = req.raw.socket as TLSSocket;
    if (typeof sock.getPeerCertificate !== 'function') return undefined;
    const peer = sock.getPeerCertificate();
    if (!peer || !peer.raw) return undefined;
    if (!sock.authorized) throw new VeriteeError('KMS_ADMIN_UNAUTHENTICATED', 'admin API: the client certificate does not chain to the admin CA');
    const x = new X509Certificate(peer.raw);
    const now = kms.now;
    if (now < Date.parse(x.validFrom) || now > Date.parse(x.validTo)) throw new VeriteeError('KMS_ADMIN_UNAUTHENTICATED', 'admin API: the client certificate is not valid at this time');
    const cn = /(?:^|\n)CN=([^\n]{1,200})/.exec(x.subject)?.[1];
    if (!cn) throw new VeriteeError('KMS_ADMIN_UNAUTHENTICATED', 'admin API: the client certificate has no subject CN');
    const roles: string[] = [];
    let tenantOf: string | undefined;
    for (const part of (x.subjectAltName ?? '').split(', ')) {
      const m = /^URI:urn:veritee:kms-admin:(kms-admin|tenant-admin)(?::([A-Za-z0-9][A-Za-z0-9._-]{0,63}))?$/.exec(part);
      if (!m) continue;
      if (m[1] === 'kms-admin') roles.push('kms-admin');
      else if (m[2] !== undefined && tenantOf === undefined) {
        roles.push('tenant-admin');
        tenantOf = m[2];
      }
    }
    return { sub: `cert:${cn}`, roles, ...(tenantOf !== undefined ? { tenant: tenantOf } : {}) };
  };
  const admin = async (req: FastifyRequest, tenant: string | null): Promise<AdminIdentity> => {
    const tok = bearer(req);
    const fromCert = tok === undefined ? certAdmin(req) : undefined;
    if (fromCert) {
      if (fromCert.roles.includes('kms-admin')) return fromCert;
      if (tenant !== null && fromCert.roles.includes('tenant-admin') && fromCert.tenant === tenant) return fromCert;
      await kms.audit.append({ tenant: tenant ?? '', actor: `admin:${fromCert.sub.slice(0, 64)}`, action: `admin.${req.method.toLowerCase()}`, decision: 'deny', resource: req.url.split('?')[0]!.slice(0, 200), reason: 'no role for this tenant' });
      throw new VeriteeError('KMS_ADMIN_FORBIDDEN', tenant === null ? 'this action needs the kms-admin role' : `no admin role for tenant ${tenant}`);
    }
    if (!tok || !adminKeys) throw new VeriteeError('KMS_ADMIN_UNAUTHENTICATED', 'admin API: send Authorization: Bearer <admin JWT>, or an admin client certificate');
    let id: AdminIdentity;
    try {
      const { payload } = await jwtVerify(tok, adminKeys, { algorithms: ['ES256'], audience: ADMIN_AUDIENCE, currentDate: new Date(kms.now), requiredClaims: ['sub', 'exp'] });
      const roles = Array.isArray(payload['roles']) ? payload['roles'].filter((r): r is string => typeof r === 'string') : [];
      id = { sub: String(payload.sub), roles, ...(typeof payload['tenant'] === 'string' ? { tenant: payload['tenant'] } : {}) };
    } catch {
      throw new VeriteeError('KMS_ADMIN_UNAUTHENTICATED', 'admin API: the bearer token is not a valid, unexpired admin JWT for this KMS');
    }
    if (id.roles.includes('kms-admin')) return id;
    if (tenant !== null && id.roles.includes('tenant-admin') && id.tenant === tenant) return id;
    await kms.audit.append({ tenant: tenant ?? '', actor: `admin:${id.sub.slice(0, 64)}`, action: `admin.${req.method.toLowerCase()}`, decision: 'deny', resource: req.url.split('?')[0]!.slice(0, 200), reason: 'no role for this tenant' });
    throw new VeriteeError('KMS_ADMIN_FORBIDDEN', tenant === null ? 'this action needs the kms-admin role' : `no admin role for tenant ${tenant}`);
  };
  const audited = async (id: AdminIdentity, tenant: string, action: string, resource: string, fn: () => Promise<unknown>): Promise<unknown> => {
    try {
      const out = await fn();
      await kms.audit.append({ tenant, actor: `admin:${id.sub.slice(0, 64)}`, action, decision: 'ok', resource });
      return out;
    } catch (e) {
      await kms.audit.append({ tenant, actor: `admin:${id.sub.slice(0, 64)}`, action, decision: 'error', resource, reason: e instanceof VeriteeError ? e.code : 'INTERNAL' });
      throw e;
    }
  };

  type TP = { Params: { tenant: string; '*': string }; Querystring: Record<string, string | undefined> };
  const T = '/kms/v0/tenants/:tenant';

  app.post<TP>(`${T}/secrets/data/*`, async (req) => {
    const id = await admin(req, req.params.tenant);
    const body = obj(req.body);
    const options = body['options'] === undefined ? {} : obj(body['options']);
    const cas = options['cas'];
    if (cas !== undefined && (!Number.isInteger(cas) || (cas as number) < 0)) throw new VeriteeError('INPUT_INVALID', 'options.cas must be a non-negative integer');
    const data = obj(body['data']);
    const path = req.params['*'];
    const r = await audited(id, req.params.tenant, 'secret.put', `${req.params.tenant}/${path}`, () =>
      kms.secrets.put(req.params.tenant, path, data, cas !== undefined ? { cas: cas as number } : {}),
    );
    return { data: r };
  });
  app.get<TP>(`${T}/secrets/data/*`, async (req) => {
    const id = await admin(req, req.params.tenant);
    const v = req.query['version'];
    const version = v === undefined ? undefined : Number(v);
    if (version !== undefined && (!Number.isInteger(version) || version < 1)) throw new VeriteeError('INPUT_INVALID', 'version must be a positive integer');
    const path = req.params['*'];
    return { data: await audited(id, req.params.tenant, 'secret.read', `${req.params.tenant}/${path}`, () => kms.secrets.get(req.params.tenant, path, version)) };
  });
  for (const op of ['delete', 'undelete', 'destroy'] as const) {
    app.post<TP>(`${T}/secrets/${op}/*`, async (req) => {
      const id = await admin(req, req.params.tenant);
      const path = req.params['*'];
      const versions = op === 'delete' && (req.body === undefined || req.body === null || obj(req.body)['versions'] === undefined) ? undefined : versionsOf(req.body);
      await audited(id, req.params.tenant, `secret.${op}`, `${req.params.tenant}/${path}`, () =>
        op === 'delete' ? kms.secrets.delete(req.params.tenant, path, versions) : op === 'undelete' ? kms.secrets.undelete(req.params.tenant, path, versions!) : kms.secrets.destroy(req.params.tenant, path, versions!),
      );
      return { ok: true };
    });
  }
  app.get<TP>(`${T}/secrets/metadata/*`, async (req) => {
    await admin(req, req.params.tenant);
    return { data: await kms.secrets.metadata(req.params.tenant, req.params['*']) };
  });
  app.post<TP>(`${T}/secrets/metadata/*`, async (req) => {
    const id = await admin(req, req.params.tenant);
    const b = obj(req.body);
    const m: { max_versions?: number; cas_required?: boolean; custom_metadata?: Record<string, string> } = {};
    if (b['max_versions'] !== undefined) m.max_versions = b['max_versions'] as number;
    if (b['cas_required'] !== undefined) {
      if (typeof b['cas_required'] !== 'boolean') throw new VeriteeError('INPUT_INVALID', 'cas_required must be a boolean');
      m.cas_required = b['cas_required'];
    }
    if (b['custom_metadata'] !== undefined) {
      const c = obj(b['custom_metadata']);
      if (Object.keys(c).length > 64 || !Object.values(c).every((x) => typeof x === 'string' && x.length <= 512)) throw new VeriteeError('INPUT_INVALID', 'custom_metadata: at most 64 string values of 512 characters');
      m.custom_metadata = c as Record<string, string>;
    }
    await audited(id, req.params.tenant, 'secret.metadata', `${req.params.tenant}/${req.params['*']}`, () => kms.secrets.setMetadata(req.params.tenant, req.params['*'], m));
    return { ok: true };
  });
  app.delete<TP>(`${T}/secrets/metadata/*`, async (req) => {
    const id = await admin(req, req.params.tenant);
    await audited(id, req.params.tenant, 'secret.delete-all', `${req.params.tenant}/${req.params['*']}`, () => kms.secrets.deleteAll(req.params.tenant, req.params['*']));
    return { ok: true };
  });
  app.get<TP>(`${T}/secrets`, async (req) => {
    await admin(req, req.params.tenant);
    return { keys: await kms.secrets.list(req.params.tenant, req.query['prefix'] ?? '') };
  });

  app.put<TP>(`${T}/policies`, async (req) => {
    const id = await admin(req, req.params.tenant);
    const prefix = req.query['prefix'] ?? '';
    const version = (await audited(id, req.params.tenant, 'policy.put', `${req.params.tenant}/${prefix}`, () => kms.policies.put(req.params.tenant, prefix, req.body))) as number;
    return { prefix, version };
  });
  app.delete<TP>(`${T}/policies`, async (req) => {
    const id = await admin(req, req.params.tenant);
    const prefix = req.query['prefix'] ?? '';
    const version = (await audited(id, req.params.tenant, 'policy.delete', `${req.params.tenant}/${prefix}`, () => kms.policies.remove(req.params.tenant, prefix))) as number;
    return { prefix, version };
  });
  app.get<TP>(`${T}/policies`, async (req) => {
    await admin(req, req.params.tenant);
    const prefix = req.query['prefix'];
    return prefix === undefined ? { policies: await kms.policies.current(req.params.tenant) } : { history: await kms.policies.history(req.params.tenant, prefix) };
  });
  app.post<TP>(`${T}/policies/dry-run`, async (req) => {
    await admin(req, req.params.tenant);
    const b = obj(req.body);
    if (typeof b['path'] !== 'string') throw new VeriteeError('INPUT_INVALID', 'dry-run needs path (the secret path) and claims (normalised attestation claims)');
    const claims = obj(b['claims']) as never;
    const c = claims as { platform?: unknown; measurement?: unknown; tcb?: unknown };
    if (typeof c.platform !== 'string' || typeof c.measurement !== 'string') throw new VeriteeError('INPUT_INVALID', 'claims need at least platform and measurement');
    const full = { simulated: false, debug: false, measurements: {}, reportData: '', tcb: { components: [] }, signer: 'vcek', product: '', certChain: [], version: 0, ...(claims as object) } as never;
    return kms.policies.decide(req.params.tenant, b['path'], full, { registered: b['registered'] === true });
  });
  app.get<TP>(`${T}/audit`, async (req) => {
    await admin(req, req.params.tenant);
    const after = Number(req.query['after'] ?? 0);
    return { entries: await kms.audit.list({ tenant: req.params.tenant, afterSeq: Number.isFinite(after) ? after : 0 }) };
  });

  type KP = { Params: { tenant: string; name: string; action?: string } };
  app.post<KP>(`${T}/transit/keys/:name`, async (req) => {
    const id = await admin(req, req.params.tenant);
    const b = req.body === undefined || req.body === null ? {} : obj(req.body);
    const period = b['auto_rotate_period'];
    if (period !== undefined && typeof period !== 'number') throw new VeriteeError('INPUT_INVALID', 'auto_rotate_period must be a number of seconds');
    return audited(id, req.params.tenant, 'transit.create', `${req.params.tenant}/transit/${req.params.name}`, () =>
      kms.transit.create(req.params.tenant, req.params.name, period !== undefined ? { autoRotatePeriodSeconds: period as number } : {}),
    );
  });
  app.get<KP>(`${T}/transit/keys/:name`, async (req) => {
    await admin(req, req.params.tenant);
    return kms.transit.info(req.params.tenant, req.params.name);
  });
  app.post<KP>(`${T}/transit/keys/:name/:action`, async (req) => {
    const id = await admin(req, req.params.tenant);
    const { tenant, name } = req.params;
    const b = req.body === undefined || req.body === null ? {} : obj(req.body);
    const res = `${tenant}/transit/${name}`;
    switch (req.params.action) {
      case 'rotate':
        return { latest_version: await audited(id, tenant, 'transit.rotate', res, () => kms.transit.rotate(tenant, name)) };
      case 'revoke':
        await audited(id, tenant, 'transit.revoke', res, () => kms.transit.revoke(tenant, name));
        return { revoked: true };
      case 'config': {
        const c: { minDecryptionVersion?: number; autoRotatePeriodSeconds?: number } = {};
        if (b['min_decryption_version'] !== undefined) c.minDecryptionVersion = b['min_decryption_version'] as number;
        if (b['auto_rotate_period'] !== undefined) c.autoRotatePeriodSeconds = b['auto_rotate_period'] as number;
        return audited(id, tenant, 'transit.config', res, () => kms.transit.configure(tenant, name, c));
      }
      default:
        throw new VeriteeError('ROUTE_NOT_FOUND', 'transit key actions: rotate, revoke, config');
    }
  });

  app.get<TP>(`${T}/registry`, async (req) => {
    await admin(req, req.params.tenant);
    return { tees: await kms.registry.list(req.params.tenant) };
  });
  app.post<{ Params: { tenant: string; teeId: string; action: string } }>(`${T}/registry/:teeId/:action`, async (req) => {
    const id = await admin(req, req.params.tenant);
    const { tenant, teeId, action } = req.params;
    if (action !== 'approve' && action !== 'revoke') throw new VeriteeError('ROUTE_NOT_FOUND', 'registry actions: approve, revoke');
    await audited(id, tenant, `registry.${action}`, teeId.slice(0, 200), () => kms.registry.decide(tenant, teeId, action === 'approve' ? 'approved' : 'revoked', id.sub));
    return { ok: true };
  });

  app.post('/kms/v0/sessions/revoke', async (req) => {
    const id = await admin(req, null);
    const b = obj(req.body);
    const sel: { sessionId?: string; measurement?: string; chipId?: string } = {};
    for (const k of ['sessionId', 'measurement', 'chipId'] as const) if (typeof b[k] === 'string') sel[k] = b[k] as string;
    const r = await kms.revokeSessionsAndLeases(sel, `by admin ${id.sub.slice(0, 64)}: ${typeof b['reason'] === 'string' ? b['reason'].slice(0, 120) : 'incident'}`);
    return { revoked: r.sessions, leases_revoked: r.leases };
  });
  app.get<{ Querystring: Record<string, string | undefined> }>('/kms/v0/audit', async (req) => {
    await admin(req, null);
    const after = Number(req.query['after'] ?? 0);
    return { entries: await kms.audit.list({ afterSeq: Number.isFinite(after) ? after : 0 }) };
  });

  return app;
}

export type { ErrorCode };
