/**
 * @module plane/queue
 * Proof jobs: each decision is proven out of band. A job carries the claim inputs (the
 * private telemetry: it travels only between the control plane and prover workers, inside
 * the TEE boundary) and the outcome the proof must show; its key is the decision id.
 *
 * Two queues behind {@link ProofQueue}: {@link InProcessQueue} (embedded default) and
 * NATS JetStream (jetstream.ts). Both deliver at least once; results are idempotent because
 * the decision log never overwrites a verified proof, and the control plane verifies every
 * bundle itself (a worker is not trusted: {@link checkDecisionBundle}).
 */
import { VeriteeError } from '@veritee/core';
import { prove, type ProverPool } from '@veritee/zk';
import { verifyProofBundle, type KeyRing } from '@veritee/zk/verify';
import type { DecisionClaim } from './log.js';

export interface ProofJob {
  decisionId: string;
  /** Which claim of the decision (absent: the first). The job key is decisionId, then decisionId.N. */
  claimIndex?: number;
  kind: string;
  params: Record<string, unknown>;
  data: unknown;
  expectScaleOut: boolean;
}

export type ProofResult =
  | { decisionId: string; claimIndex?: number; ok: true; bundle: unknown; worker?: string }
  | { decisionId: string; claimIndex?: number; ok: false; error: string; code?: string; worker?: string };

/** The job key: the decision id for its first claim, `id.N` for claim N > 0. */
export const jobKey = (job: Pick<ProofJob, 'decisionId' | 'claimIndex'>): string => (job.claimIndex ? `${job.decisionId}.${job.claimIndex}` : job.decisionId);

/** The claim index a result refers to, echoed from its job. */
const idxOf = (job: ProofJob): { claimIndex?: number } => (job.claimIndex ? { claimIndex: job.claimIndex } : {});

export interface ProofQueue {
  readonly kind: 'in-process' | 'jetstream';
  /** Enqueues a job (the decision id is its key: a second submission of the same id is dropped). */
  submit(job: ProofJob): Promise<void>;
  /** Where results go (set once, before jobs complete). */
  onResult(handler: (r: ProofResult) => Promise<void>): void;
  /** Jobs not yet finished. */
  depth(): Promise<number>;
  close(): Promise<void>;
}

/** Proves one job: the bundle, or a throw (retried by the queue). */
export type ProveFn = (job: ProofJob, signal?: AbortSignal) => Promise<unknown>;

/** The prove function of a prover worker: the generic `prove(pool, kind, {params, data})`. */
export function proverWorker(pool: ProverPool, opts: { timeoutMs?: number } = {}): ProveFn {
  return async (job, signal) => {
    const r = await prove(pool, job.kind, { params: job.params, data: job.data, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(signal ? { signal } : {}) });
    return r.bundle;
  };
}

export interface RetryPolicy {
  /** Attempts per job before it is dead-lettered (default 3). */
  maxAttempts: number;
  /** Backoff before attempt k+1: baseMs × 2^(k-1), at most maxMs. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseMs: 1000, maxMs: 30_000 };

export const backoffMs = (attempt: number, r: RetryPolicy): number => Math.min(r.maxMs, r.baseMs * 2 ** Math.max(0, attempt - 1));

/** Codes of failures that no retry can fix (the inputs are wrong): dead-lettered at once. */
const PERMANENT = new Set(['INPUT_INVALID', 'INPUT_FILE_EMPTY', 'CLAIM_UNKNOWN', 'CLAIM_TOO_MANY_RECORDS', 'RECORD_OUTSIDE_PERIOD', 'RECORD_VALUE_TOO_LARGE', 'INTERNAL']);
export { idxOf as claimIndexOf };
export const isPermanent = (e: unknown): boolean => e instanceof VeriteeError && PERMANENT.has(e.code);

/** The embedded queue: jobs proven in this process, one at a time (or `concurrency`). */
export class InProcessQueue implements ProofQueue {
  readonly kind = 'in-process' as const;
  private readonly waiting: { job: ProofJob; attempt: number; notBefore: number }[] = [];
  private readonly seen = new Set<string>();
  private running = 0;
  private handler: ((r: ProofResult) => Promise<void>) | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly idle: (() => void)[] = [];
  readonly dead: ProofResult[] = [];

  constructor(
    private readonly proveFn: ProveFn,
    private readonly opts: { concurrency?: number; retry?: RetryPolicy } = {},
  ) {}

  onResult(handler: (r: ProofResult) => Promise<void>): void {
    this.handler = handler;
  }

  async submit(job: ProofJob): Promise<void> {
    if (this.closed) throw new VeriteeError('CP_QUEUE_UNAVAILABLE', 'the proof queue is closed');
    if (this.seen.has(jobKey(job))) return;
    this.seen.add(jobKey(job));
    this.waiting.push({ job, attempt: 1, notBefore: 0 });
    this.pump();
  }

  async depth(): Promise<number> {
    return this.waiting.length + this.running;
  }

  /** Resolves when no job is waiting or running. */
  drained(): Promise<void> {
    if (this.waiting.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private pump(): void {
    if (this.closed) return;
    const retry = this.opts.retry ?? DEFAULT_RETRY;
    const now = Date.now();
    while (this.running < (this.opts.concurrency ?? 1)) {
      const i = this.waiting.findIndex((w) => w.notBefore <= now);
      if (i < 0) break;
      const item = this.waiting.splice(i, 1)[0]!;
      this.running++;
      void this.proveFn(item.job)
        .then((bundle) => this.deliver({ decisionId: item.job.decisionId, ...idxOf(item.job), ok: true, bundle }))
        .catch(async (e: unknown) => {
          if (item.attempt >= retry.maxAttempts || isPermanent(e)) {
            const r: ProofResult = { decisionId: item.job.decisionId, ...idxOf(item.job), ok: false, error: (e as Error)?.message ?? String(e), ...(e instanceof VeriteeError ? { code: e.code } : {}) };
            this.dead.push(r);
            await this.deliver(r);
          } else {
            this.waiting.push({ job: item.job, attempt: item.attempt + 1, notBefore: Date.now() + backoffMs(item.attempt, retry) });
          }
        })
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
    if (this.waiting.length > 0 && this.running < (this.opts.concurrency ?? 1)) {
      const next = Math.min(...this.waiting.map((w) => w.notBefore));
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.pump(), Math.max(1, next - Date.now()));
    }
    if (this.waiting.length === 0 && this.running === 0) for (const r of this.idle.splice(0)) r();
  }

  private async deliver(r: ProofResult): Promise<void> {
    try {
      await this.handler?.(r);
    } catch {
      // the handler records its own failures; a result is never retried from here
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.waiting.length = 0;
    for (const r of this.idle.splice(0)) r();
  }
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Checks a bundle against the decision it should prove: a valid proof (fails closed: unknown
 * keys, dev keys unless allowed, malformed bundles) of the decision's claim kind, with the
 * decision's parameters, showing the decision's outcome. Returns the problem, or undefined.
 */
export function checkDecisionBundle(bundle: unknown, claim: DecisionClaim, opts: { keys: KeyRing; allowDevSetup?: boolean; at?: number }): string | undefined {
  const v = verifyProofBundle(bundle, { keys: opts.keys, allowDevSetup: opts.allowDevSetup ?? false, ...(opts.at !== undefined ? { at: opts.at } : {}) });
  if (!v.ok || !v.bundle) {
    const bad = v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    return `the proof does not verify (${bad.join('; ').slice(0, 400) || 'malformed bundle'})`;
  }
  const b = v.bundle;
  if (b.claim.kind !== claim.kind) return `the bundle proves a ${b.claim.kind} claim, the decision needs ${claim.kind}`;
  const params = b.claim.params as Record<string, unknown>;
  for (const [k, want] of Object.entries(claim.params)) {
    if (!same(params[k], want)) return `the bundle proves ${k} = ${JSON.stringify(params[k])?.slice(0, 40)}, the decision used ${JSON.stringify(want).slice(0, 40)}`;
  }
  const scaleOut = (b.claim.outputs as { scaleOut?: unknown }).scaleOut;
  if (scaleOut !== claim.expectScaleOut) return `the bundle proves scaleOut = ${String(scaleOut)}, the decision needs ${String(claim.expectScaleOut)}`;
  return undefined;
}
