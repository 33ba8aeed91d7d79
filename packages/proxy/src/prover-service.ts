/**
 * @module prover-service
 * `veritee prover serve`: the zero-knowledge prover over HTTP, meant to listen on
 * loopback inside the TEE behind `veritee proxy` (which adds TLS, attestation and
 * response signatures).
 *
 * | route | what |
 * |---|---|
 * | `POST /v1/prove` | latency claim input (params + record offsets) -> 202 `{ id, status, links }` |
 * | `GET /v1/jobs/:id` | job status: queued, running, succeeded, failed, cancelled |
 * | `GET /v1/jobs/:id/bundle` | the proof bundle (409 until it exists) |
 * | `DELETE /v1/jobs/:id` | cancel a queued or running job |
 * | `GET /healthz` | liveness, queue depth |
 *
 * THREAT MODEL: the request carries private inputs (the records). They are validated,
 * kept in memory only until the prover has them, never logged and never echoed in an
 * error. Job ids are 128-bit random: knowing one is the capability to read its bundle,
 * so logs never carry one (paths are logged as `/v1/jobs/[redacted]`, jobs by a `ref`:
 * the first 12 hex digits of the id's SHA-256). Errors sent to clients carry no local
 * paths (the full message is logged here). The job table is bounded (`maxJobs`
 * unfinished, finished ones expire after `jobTtlMs`).
 *
 * Scheduling: at most `pool.size` jobs run at once (the pool is the service's own); the
 * others stay `queued` until a prover process is free for them.
 */
import { createHash, randomBytes } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES, isVeriteeError, systemClock, VeriteeError, type Clock, type ErrorCode } from '@veritee/core';
import {
  devSetup,
  latencyCapacityFor,
  LATENCY_CAPACITIES,
  LATENCY_CLAIM,
  LATENCY_SLOTS,
  latencyClaim,
  prove,
  validateLatencyParams,
  validateLatencyRecords,
  type LatencyParams,
  type ProofBundle,
  type ProverPool,
} from '@veritee/zk';
import { redactPath } from './server.js';

export interface ProverServiceOptions {
  /** The prover pool (owned by the caller, who closes it). */
  pool: ProverPool;
  /** Run (or reuse) the DEV trusted setup for a size class without keys. Default false: such jobs fail with ZK_SETUP_MISSING. */
  devSetup?: boolean;
  /** Most unfinished jobs (queued + running); beyond: 503 PROXY_PROVER_BUSY. Default 16. */
  maxJobs?: number;
  /** Finished jobs are forgotten after this long (default 1 hour). */
  jobTtlMs?: number;
  /** Per-proof time limit (default 10 minutes). */
  proveTimeoutMs?: number;
  /** Largest request body (default 8 MiB: 65,536 records as JSON). */
  bodyLimit?: number;
  clock?: Clock;
  /** pino logging: false (default), true, or pino options / an instance's options. */
  logger?: boolean | Record<string, unknown>;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A job as the service keeps it (inputs only until the prover has them). */
export interface ProverJob {
  id: string;
  status: JobStatus;
  claim: typeof LATENCY_CLAIM;
  n: number;
  capacity: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  input?: { params: LatencyParams; records: number[] };
  bundle?: ProofBundle;
  error?: { code: ErrorCode; message: string };
  timings?: { witnessMs: number; proveMs: number; totalMs: number };
  abort: AbortController;
}

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** The body of `POST /v1/prove`. */
export const ProveRequestSchema = z.strictObject({
  claim: z.literal(LATENCY_CLAIM),
  params: z.strictObject({
    periodStartUs: u,
    periodEndUs: u,
    minN: u,
    slots: z.array(z.strictObject({ percentileBp: u, thresholdUs: u, enforce: z.boolean() })).length(LATENCY_SLOTS),
  }),
  /** Offsets from the period start: [start0, end0, start1, end1, ...]. */
  records: z.array(u).min(2).max(2 * LATENCY_CAPACITIES[LATENCY_CAPACITIES.length - 1]!),
  capacity: z.number().int().optional(),
});
export type ProveRequest = z.infer<typeof ProveRequestSchema>;

export interface JobView {
  id: string;
  claim: string;
  status: JobStatus;
  n: number;
  capacity: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: { code: ErrorCode; message: string };
  timings?: { witnessMs: number; proveMs: number; totalMs: number };
  links: { self: string; bundle: string };
}

function sendError(reply: FastifyReply, err: VeriteeError): FastifyReply {
  const status = ERROR_CODES[err.code]?.http ?? 500;
  const message = status >= 500 && err.code === 'INTERNAL' ? 'internal error' : err.message;
  return reply.code(status).type('application/json').send({ error: { code: err.code, message } });
}

/** A job as logs may name it: not the id (a capability), a hash prefix of it. */
export function jobRef(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 12);
}

/** Absolute file paths in a message: POSIX (two segments or more), home-relative, Windows. */
const PATH_RE = /(?<=^|[\s"'`(=\[])(?:[A-Za-z]:\\[^\s"'`)\]:,]*|~\/[^\s"'`)\]:,]*|\/[^\s"'`)\]/:,]+\/[^\s"'`)\]:,]*)/g;

/**
 * What a remote client may see of a job's failure: never the server's file paths. A
 * missing key set becomes a generic message (the server log keeps the full one).
 */
export function clientSafeError(err: VeriteeError, job: { claim: string; capacity: number }): { code: ErrorCode; message: string } {
  switch (err.code) {
    case 'ZK_SETUP_MISSING':
      return { code: err.code, message: `no keys for circuit ${job.claim} size ${job.capacity} on the prover (its operator must run a trusted setup for this size class)` };
    case 'INTERNAL':
      return { code: err.code, message: 'internal error in the prover (details are in its log)' };
    default:
      return { code: err.code, message: err.message.replace(PATH_RE, '[path]').slice(0, 500) };
  }
}

function toServiceError(e: unknown): VeriteeError {
  if (e instanceof VeriteeError) return e;
  const fe = e as Partial<FastifyError>;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new VeriteeError('PROXY_REQUEST_TOO_LARGE', 'request body exceeds the prover service limit');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new VeriteeError('INPUT_JSON_INVALID', 'request body is empty; send the claim input as JSON');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new VeriteeError('INPUT_INVALID', 'unsupported content type; send application/json');
    default:
      break;
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  // Never echo parser detail: it may quote the (private) body.
  if (status === 400) return new VeriteeError('INPUT_JSON_INVALID', 'request body is not valid JSON');
  if (status === 413) return new VeriteeError('PROXY_REQUEST_TOO_LARGE', 'request body exceeds the prover service limit');
  if (status >= 400 && status < 500) return new VeriteeError('INPUT_INVALID', 'bad request');
  return new VeriteeError('INTERNAL', fe.message ?? String(e), undefined, { cause: e });
}

/** Builds (does not start) the prover service. */
export async function buildProverService(opts: ProverServiceOptions): Promise<FastifyInstance & { jobs: Map<string, ProverJob> }> {
  const clock = opts.clock ?? systemClock;
  const maxJobs = opts.maxJobs ?? 16;
  const ttl = opts.jobTtlMs ?? 3_600_000;
  const jobs = new Map<string, ProverJob>();
  // Request lines are logged with job ids redacted: an id is the capability to read a bundle.
  const serializers = {
    req: (r: { method?: string; url?: string; ip?: string; id?: string }) => ({ method: r.method, url: redactPath(r.url ?? '/'), remoteAddress: r.ip, reqId: r.id }),
  };
  const app = Fastify({
    logger:
      opts.logger === undefined || opts.logger === false
        ? false
        : { level: 'info', redact: ['req.headers.authorization', 'req.headers.cookie'], ...(opts.logger === true ? {} : opts.logger), serializers },
    bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024,
    requestTimeout: 60_000,
  });
  app.decorate('jobs', jobs);

  app.setErrorHandler((e, request, reply) => {
    const err = toServiceError(e);
    const status = ERROR_CODES[err.code]?.http ?? 500;
    if (status >= 500) request.log.error({ code: err.code }, 'request failed');
    else request.log.info({ code: err.code, status }, 'request refused');
    return sendError(reply, err);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, new VeriteeError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`)));

  const view = (j: ProverJob): JobView => ({
    id: j.id,
    claim: j.claim,
    status: j.status,
    n: j.n,
    capacity: j.capacity,
    createdAt: new Date(j.createdAt).toISOString(),
    ...(j.startedAt ? { startedAt: new Date(j.startedAt).toISOString() } : {}),
    ...(j.finishedAt ? { finishedAt: new Date(j.finishedAt).toISOString() } : {}),
    ...(j.error ? { error: j.error } : {}),
    ...(j.timings ? { timings: j.timings } : {}),
    links: { self: `/v1/jobs/${j.id}`, bundle: `/v1/jobs/${j.id}/bundle` },
  });

  const purge = () => {
    const now = clock.now();
    for (const [id, j] of jobs) if (j.finishedAt !== undefined && now - j.finishedAt > ttl) jobs.delete(id);
  };
  const unfinished = () => [...jobs.values()].filter((j) => j.status === 'queued' || j.status === 'running').length;

  // Jobs wait here until one of the pool's processes is theirs; only then are they `running`.
  const concurrency = Math.max(1, (opts.pool as { size?: number }).size ?? 1);
  const waiting: ProverJob[] = [];
  let active = 0;
  const schedule = () => {
    while (active < concurrency && waiting.length > 0) {
      const job = waiting.shift()!;
      if (job.status !== 'queued') continue; // cancelled while it waited
      active++;
      void run(job).finally(() => {
        active--;
        schedule();
      });
    }
  };

  async function run(job: ProverJob): Promise<void> {
    const input = job.input!;
    try {
      if (job.abort.signal.aborted) return;
      job.status = 'running';
      job.startedAt = clock.now();
      if (opts.devSetup) await devSetup(opts.pool, LATENCY_CLAIM, job.capacity, { signal: job.abort.signal });
      const r = await prove(opts.pool, latencyClaim, {
        params: input.params,
        data: { records: input.records },
        capacity: job.capacity,
        signal: job.abort.signal,
        timeoutMs: opts.proveTimeoutMs ?? 600_000,
      });
      job.bundle = r.bundle;
      job.timings = r.timings;
      job.status = 'succeeded';
    } catch (e) {
      const err = isVeriteeError(e) ? e : new VeriteeError('INTERNAL', e instanceof Error ? e.message : String(e));
      job.status = job.abort.signal.aborted ? 'cancelled' : 'failed';
      job.error = job.status === 'cancelled' ? { code: 'ZK_PROVER_CANCELLED', message: 'cancelled while running' } : clientSafeError(err, job);
      // The full message (it may name server paths) stays in this log.
      app.log.warn({ job: jobRef(job.id), code: err.code, message: err.message }, job.status === 'cancelled' ? 'proof cancelled' : 'proof failed');
    } finally {
      delete job.input; // private inputs leave memory as soon as the proof is done
      job.finishedAt = clock.now();
    }
  }

  app.get('/healthz', async () => {
    const byStatus: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const j of jobs.values()) byStatus[j.status]++;
    return { status: 'ok', jobs: jobs.size, unfinished: byStatus.queued + byStatus.running, byStatus, poolQueued: opts.pool.queued };
  });

  app.post('/v1/prove', async (request, reply) => {
    const parsed = ProveRequestSchema.safeParse(request.body);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      const where = i.path.join('.') || '(body)';
      const what = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.message;
      throw new VeriteeError('INPUT_INVALID', `prove request: ${where}: ${what}`);
    }
    const body = parsed.data;
    if (body.records.length % 2 !== 0) throw new VeriteeError('INPUT_INVALID', 'prove request: records must hold start,end pairs (an even count)');
    validateLatencyParams(body.params);
    validateLatencyRecords(body.params, body.records);
    const n = body.records.length / 2;
    const capacity = body.capacity ?? latencyCapacityFor(n);
    if (!(LATENCY_CAPACITIES as readonly number[]).includes(capacity)) {
      throw new VeriteeError('INPUT_INVALID', `capacity must be one of ${LATENCY_CAPACITIES.join(', ')} (got ${capacity})`);
    }
    if (capacity < n) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${n} records do not fit the ${capacity}-record size class`);
    purge();
    if (unfinished() >= maxJobs) throw new VeriteeError('PROXY_PROVER_BUSY', `the prover has ${maxJobs} unfinished jobs; retry later`);
    const job: ProverJob = {
      id: randomBytes(16).toString('hex'),
      status: 'queued',
      claim: LATENCY_CLAIM,
      n,
      capacity,
      createdAt: clock.now(),
      input: { params: body.params, records: body.records },
      abort: new AbortController(),
    };
    jobs.set(job.id, job);
    request.log.info({ job: jobRef(job.id), n, capacity }, 'proof job queued');
    waiting.push(job);
    schedule();
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(view(job));
  });

  const find = (id: string): ProverJob => {
    const j = /^[0-9a-f]{32}$/.test(id) ? jobs.get(id) : undefined;
    if (!j) throw new VeriteeError('PROXY_JOB_NOT_FOUND', `no job ${id.slice(0, 40)} (unknown, or expired ${Math.round(ttl / 60000)} min after it finished)`);
    return j;
  };

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (request) => view(find(request.params.id)));

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/bundle', async (request, reply) => {
    const j = find(request.params.id);
    if (j.status === 'succeeded') return reply.type('application/json').send(j.bundle);
    if (j.error) throw new VeriteeError(j.error.code, `job ${j.id} ${j.status}: ${j.error.message}`);
    throw new VeriteeError('PROXY_JOB_NOT_READY', `job ${j.id} is ${j.status}; poll GET /v1/jobs/${j.id}`);
  });

  app.delete<{ Params: { id: string } }>('/v1/jobs/:id', async (request) => {
    const j = find(request.params.id);
    if (j.status === 'queued') {
      j.abort.abort();
      j.status = 'cancelled';
      j.error = { code: 'ZK_PROVER_CANCELLED', message: 'cancelled before it started' };
      j.finishedAt = clock.now();
      delete j.input;
      const i = waiting.indexOf(j);
      if (i >= 0) waiting.splice(i, 1);
      request.log.info({ job: jobRef(j.id) }, 'proof job cancelled while queued');
    } else if (j.status === 'running') {
      // The pool kills the prover process; the job turns `cancelled` and frees its slot
      // as soon as that is done: wait briefly so the answer can already say so.
      j.abort.abort();
      const until = Date.now() + 5_000;
      while (j.status === 'running' && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    }
    return view(j);
  });

  app.addHook('onClose', async () => {
    for (const j of jobs.values()) if (j.status === 'queued' || j.status === 'running') j.abort.abort();
  });

  return app as unknown as FastifyInstance & { jobs: Map<string, ProverJob> };
}
