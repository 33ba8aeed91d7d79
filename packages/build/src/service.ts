/**
 * @module service
 * `veritee build serve`: a build service shaped like kettle's hosted API.
 *
 *   POST /build                 {bundle: base64 `git bundle`, rev?, cmd, artifacts[], nonce?: 32-byte hex}
 *                               → 202 {id, links}
 *   GET  /build/{id}/events     server-sent events: `progress` {phase, message}, then `done`
 *                               {subjects, provenanceSha256, ...} or `failed` {code, message}
 *   GET  /build/{id}/result     200 {status, subjects, provenance (Sigstore bundle), evidence,
 *                               builderKey, anchors, ...}; 409 while it runs
 *   GET  /build/{id}/artifact?name=dist/app.js   the artifact bytes
 *   GET  /builder               the builder measurement and build type (what a policy pins)
 *
 * One build runs at a time (kettle: one build per CVM); up to `maxQueued` wait, more get
 * 429. The source arrives as a git bundle, is cloned into a scratch directory and built
 * with `runBuild`; the client's nonce is bound into the evidence, so the result is fresh
 * for that client. Run it behind the attesting proxy (`veritee proxy --upstream`), so a
 * client verifies the builder's TEE before it sends its source.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES, fromBase64, fromHex, quoteInput, toVeriteeError, VeriteeError } from '@veritee/core';
import type { SimulatedTee } from '@veritee/attestation';
import { runBuild, type BuildProgress, type BuildResult } from './builder.js';
import { builderMeasurement } from './measurement.js';
import { VERITEE_BUILDER_ID } from './provenance.js';
import type { SandboxMethod } from './sandbox.js';

export interface BuildServiceOptions {
  tee?: SimulatedTee;
  /** Largest request body (the git bundle is base64 in it), default 64 MiB. */
  bodyLimit?: number;
  /** Builds waiting behind the running one before 429 (default 4). */
  maxQueued?: number;
  /** Scratch parent (default the OS temp dir). */
  workRoot?: string;
  sandbox?: SandboxMethod | 'auto';
  logger?: boolean;
  /** Finished builds kept (default 32); the oldest is dropped. */
  keep?: number;
}

const RequestSchema = z.strictObject({
  bundle: z.string().min(4).max(128 * 1024 * 1024),
  rev: z.string().regex(/^[A-Za-z0-9_./-]{1,200}$/).optional(),
  cmd: z.string().min(1).max(65536),
  artifacts: z.array(z.string().min(1).max(4096)).min(1).max(256),
  nonce: z.string().regex(/^[0-9a-fA-F]{64}$/, 'nonce: 32 bytes of hex').optional(),
});

interface Job {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  events: { event: string; data: unknown }[];
  emitter: EventEmitter;
  dir: string;
  result?: BuildResult;
  error?: { code: string; message: string };
}

function sendError(reply: { code: (n: number) => { send: (b: unknown) => unknown } }, e: unknown) {
  const err = toVeriteeError(e);
  const status = ERROR_CODES[err.code]?.http ?? 500;
  return reply.code(status).send({ error: { code: err.code, message: status >= 500 && err.code === 'INTERNAL' ? 'internal error' : err.message } });
}

export function buildService(opts: BuildServiceOptions = {}): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 64 * 1024 * 1024 });
  const jobs = new Map<string, Job>();
  const queue: Job[] = [];
  let running = false;
  const root = mkdtempSync(join(opts.workRoot ?? tmpdir(), 'veritee-build-service-'));
  app.addHook('onClose', async () => rmSync(root, { recursive: true, force: true }));

  app.setErrorHandler((e, _req, reply) => {
    const v = (e as { validation?: unknown }).validation ? new VeriteeError('INPUT_INVALID', (e as Error).message) : (e as { statusCode?: number }).statusCode === 413 ? new VeriteeError('INPUT_TOO_LARGE', 'the request body is over the limit') : e;
    return sendError(reply, v);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new VeriteeError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`)));

  const emit = (job: Job, event: string, data: unknown) => {
    job.events.push({ event, data });
    job.emitter.emit('event', { event, data });
  };

  const next = async (): Promise<void> => {
    if (running) return;
    const job = queue.shift();
    if (!job) return;
    running = true;
    job.status = 'running';
    const req = (job as Job & { req: z.infer<typeof RequestSchema> }).req;
    try {
      const src = join(job.dir, 'src');
      const bundlePath = join(job.dir, 'source.bundle');
      writeFileSync(bundlePath, fromBase64(req.bundle, 'bundle'));
      try {
        execFileSync('git', ['clone', '-q', '--no-hardlinks', bundlePath, src], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (e) {
        throw new VeriteeError('BUILD_SOURCE_INVALID', `the git bundle cannot be cloned: ${quoteInput(String((e as { stderr?: Buffer }).stderr ?? ''), 160)}`);
      }
      job.result = await runBuild({
        source: src,
        ...(req.rev ? { rev: req.rev } : {}),
        command: req.cmd,
        artifacts: req.artifacts,
        outDir: join(job.dir, 'out'),
        ...(opts.tee ? { tee: opts.tee } : {}),
        ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
        ...(req.nonce ? { nonce: fromHex(req.nonce, 'nonce') } : {}),
        workRoot: job.dir,
        onProgress: (p: BuildProgress) => emit(job, 'progress', p),
      });
      job.status = 'succeeded';
      const { outDir: _o, ...summary } = job.result;
      emit(job, 'done', summary);
    } catch (e) {
      const err = toVeriteeError(e);
      job.status = 'failed';
      job.error = { code: err.code, message: err.code === 'INTERNAL' ? 'internal error' : err.message };
      emit(job, 'failed', job.error);
    } finally {
      (job as { req?: unknown }).req = undefined;
      running = false;
      const finished = [...jobs.values()].filter((j) => j.status === 'succeeded' || j.status === 'failed');
      for (const old of finished.slice(0, Math.max(0, finished.length - (opts.keep ?? 32)))) {
        jobs.delete(old.id);
        rmSync(old.dir, { recursive: true, force: true });
      }
      void next();
    }
  };

  app.get('/builder', async () => ({ builderId: VERITEE_BUILDER_ID, measurement: builderMeasurement(), simulated: true }));

  app.post('/build', async (request, reply) => {
    const r = RequestSchema.safeParse(request.body);
    if (!r.success) throw new VeriteeError('INPUT_INVALID', `build request: ${quoteInput(r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; '), 300)}`);
    for (const a of r.data.artifacts) {
      const n = normalize(a);
      if (a.startsWith('/') || n === '..' || n.startsWith('../')) throw new VeriteeError('INPUT_INVALID', `artifact path ${quoteInput(a)} must stay inside the repository`);
    }
    if (queue.length >= (opts.maxQueued ?? 4)) {
      throw new VeriteeError('BUILD_SERVICE_BUSY', `the builder is busy: ${queue.length} builds are queued, retry later`);
    }
    const id = randomBytes(16).toString('hex');
    const job: Job & { req: z.infer<typeof RequestSchema> } = { id, status: 'queued', events: [], emitter: new EventEmitter(), dir: mkdtempSync(join(root, 'job-')), req: r.data };
    jobs.set(id, job);
    queue.push(job);
    void next();
    return reply.code(202).send({ id, status: job.status, links: { events: `/build/${id}/events`, result: `/build/${id}/result` } });
  });

  const jobOf = (id: string): Job => {
    const j = /^[0-9a-f]{32}$/.test(id) ? jobs.get(id) : undefined;
    if (!j) throw new VeriteeError('ROUTE_NOT_FOUND', 'no such build');
    return j;
  };

  app.get('/build/:id/events', (request, reply) => {
    const job = jobOf((request.params as { id: string }).id);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const write = (e: { event: string; data: unknown }) => {
      res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
      if (e.event === 'done' || e.event === 'failed') {
        job.emitter.off('event', write);
        res.end();
      }
    };
    for (const e of job.events) write(e);
    if (job.status === 'succeeded' || job.status === 'failed') return;
    job.emitter.on('event', write);
    request.raw.on('close', () => job.emitter.off('event', write));
  });

  app.get('/build/:id/result', async (request, reply) => {
    const job = jobOf((request.params as { id: string }).id);
    if (job.status === 'failed') return reply.code(200).send({ id: job.id, status: job.status, error: job.error });
    if (job.status !== 'succeeded' || !job.result) return reply.code(409).send({ id: job.id, status: job.status });
    const out = join(job.dir, 'out');
    const read = (f: string) => readFileSync(join(out, f), 'utf8');
    const { outDir: _o, ...summary } = job.result;
    return {
      id: job.id,
      status: job.status,
      ...summary,
      provenance: JSON.parse(read('provenance.sigstore.json')) as unknown,
      evidence: JSON.parse(read('evidence.json')) as unknown,
      builderKey: read('builder-key.pem'),
      anchors: JSON.parse(read('builder-anchors.json')) as unknown,
      inputs: JSON.parse(read('inputs.json')) as unknown,
      binding: JSON.parse(read('binding.json')) as unknown,
    };
  });

  app.get('/build/:id/artifact', async (request, reply) => {
    const job = jobOf((request.params as { id: string }).id);
    const name = String((request.query as { name?: unknown }).name ?? '');
    const subject = job.result?.subjects.find((s) => s.name === name);
    if (!subject) throw new VeriteeError('ROUTE_NOT_FOUND', `build ${job.id} has no artifact ${quoteInput(name)}`);
    return reply.header('content-type', 'application/octet-stream').send(readFileSync(join(job.dir, 'out', 'artifacts', subject.name)));
  });

  return app;
}
