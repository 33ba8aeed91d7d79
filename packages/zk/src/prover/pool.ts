/**
 * @module prover/pool
 * A pool of Go prover processes: queued requests, per-request timeouts and
 * cancellation (AbortSignal). A running request cannot be interrupted inside
 * gnark, so cancelling or timing it out kills its process; the pool starts a
 * fresh one for the next request. Keys stay loaded in each live process.
 */
import { availableParallelism } from 'node:os';
import { VeriteeError } from '@veritee/core';
import { ProverProcess, type ProgressEvent, type ProverRequest } from './process.js';

export interface ProverPoolOptions {
  home: string;
  binary?: string;
  /**
   * Number of processes. Default: one per two cores (at least one): gnark already
   * uses every core for one proof, so more processes only help on larger machines.
   */
  size?: number;
  /** Default timeout per request in milliseconds (default 10 minutes). */
  timeoutMs?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
}

interface Job {
  req: ProverRequest;
  opts: RequestOptions;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  started: boolean;
}

interface Slot {
  proc: ProverProcess | undefined;
  busy: boolean;
}

export class ProverPool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private closed = false;
  readonly size: number;

  constructor(private readonly opts: ProverPoolOptions) {
    this.size = Math.max(1, opts.size ?? Math.floor(availableParallelism() / 2));
    this.slots = Array.from({ length: this.size }, () => ({ proc: undefined, busy: false }));
  }

  /** Number of requests waiting for a free process. */
  get queued(): number {
    return this.queue.length;
  }

  request<T>(req: ProverRequest, opts: RequestOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new VeriteeError('ZK_PROVER_UNAVAILABLE', 'prover pool is closed'));
    if (opts.signal?.aborted) return Promise.reject(new VeriteeError('ZK_PROVER_CANCELLED', `${req.op} request cancelled before it started`));
    return new Promise<T>((resolve, reject) => {
      const job: Job = { req, opts, resolve: resolve as (v: unknown) => void, reject, started: false };
      opts.signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(job);
          if (i >= 0) {
            this.queue.splice(i, 1);
            reject(new VeriteeError('ZK_PROVER_CANCELLED', `${req.op} request cancelled while queued`));
          }
        },
        { once: true },
      );
      this.queue.push(job);
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      void this.run(slot, job);
    }
  }

  private async run(slot: Slot, job: Job): Promise<void> {
    slot.busy = true;
    job.started = true;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      if (!slot.proc || !slot.proc.alive) slot.proc = new ProverProcess({ home: this.opts.home, ...(this.opts.binary ? { binary: this.opts.binary } : {}) });
      const proc = slot.proc;
      const timeoutMs = job.opts.timeoutMs ?? this.opts.timeoutMs ?? 10 * 60_000;
      const interrupted = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          proc.kill();
          reject(new VeriteeError('ZK_PROVER_TIMEOUT', `${job.req.op} request timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        onAbort = () => {
          proc.kill();
          reject(new VeriteeError('ZK_PROVER_CANCELLED', `${job.req.op} request cancelled while running`));
        };
        job.opts.signal?.addEventListener('abort', onAbort, { once: true });
      });
      const result = await Promise.race([proc.request(job.req, job.opts.onProgress), interrupted]);
      job.resolve(result);
    } catch (e) {
      job.reject(e);
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) job.opts.signal?.removeEventListener('abort', onAbort);
      slot.busy = false;
      if (!this.closed) this.pump();
    }
  }

  /** Closes every process; queued requests are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new VeriteeError('ZK_PROVER_CANCELLED', 'prover pool closed'));
    await Promise.all(this.slots.map((s) => s.proc?.close()));
  }
}
