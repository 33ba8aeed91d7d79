/**
 * @module plane/jetstream
 * Proof jobs on NATS JetStream: prover workers on any machine consume them.
 *
 *   stream CP_PROOFS  subject veritee.cp.proofs   work queue; message id = decision id, so a
 *                                                  re-submitted job is dropped by the server's
 *                                                  duplicate window (idempotent publish)
 *   consumer provers  explicit ack, ack wait W, max deliveries N, server-side backoff: a job
 *                     whose worker dies mid-proof is not acked and is redelivered to another
 *   stream CP_RESULTS subject veritee.cp.results  worker → control plane (consumer control-plane)
 *   stream CP_DEAD    subject veritee.cp.dead     dead letters: jobs that failed permanently or
 *                                                  on their last delivery (the failure is also
 *                                                  sent as a result, so the decision is flagged)
 *
 * A live worker calls `working()` while it proves, so a slow proof is not redelivered.
 * Results are at least once; the control plane's log ignores a second result for a
 * verified decision.
 */
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { VeriteeError } from '@veritee/core';
import { backoffMs, claimIndexOf, DEFAULT_RETRY, isPermanent, jobKey, type ProofJob, type ProofQueue, type ProofResult, type ProveFn, type RetryPolicy } from './queue.js';

export const JOBS_STREAM = 'CP_PROOFS';
export const JOBS_SUBJECT = 'veritee.cp.proofs';
export const RESULTS_STREAM = 'CP_RESULTS';
export const RESULTS_SUBJECT = 'veritee.cp.results';
export const DEAD_STREAM = 'CP_DEAD';
export const DEAD_SUBJECT = 'veritee.cp.dead';
export const WORKER_CONSUMER = 'provers';

export interface JetStreamOptions {
  servers: string | string[];
  /** Redelivery after this long without an ack or a progress signal (default 30 s). */
  ackWaitMs?: number;
  retry?: RetryPolicy;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function connectOrFail(servers: string | string[]): Promise<NatsConnection> {
  try {
    return await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  } catch (e) {
    throw new VeriteeError('CP_QUEUE_UNAVAILABLE', `cannot connect to NATS at ${String(servers)}: ${(e as Error).message}`);
  }
}

/** Creates (or updates) the streams and the workers' consumer. */
export async function ensureTopology(jsm: JetStreamManager, o: { ackWaitMs: number; retry: RetryPolicy }): Promise<void> {
  const streams = [
    { name: JOBS_STREAM, subjects: [JOBS_SUBJECT], retention: RetentionPolicy.Workqueue, duplicate_window: nanos(10 * 60_000) },
    { name: RESULTS_STREAM, subjects: [RESULTS_SUBJECT], retention: RetentionPolicy.Workqueue },
    { name: DEAD_STREAM, subjects: [DEAD_SUBJECT], retention: RetentionPolicy.Limits },
  ];
  for (const s of streams) {
    try {
      await jsm.streams.info(s.name);
    } catch {
      await jsm.streams.add(s);
    }
  }
  const backoff = Array.from({ length: Math.max(1, o.retry.maxAttempts - 1) }, (_, i) => nanos(Math.max(o.ackWaitMs, backoffMs(i + 1, o.retry))));
  const cfg = { durable_name: WORKER_CONSUMER, ack_policy: AckPolicy.Explicit, ack_wait: nanos(o.ackWaitMs), max_deliver: o.retry.maxAttempts, backoff };
  try {
    await jsm.consumers.info(JOBS_STREAM, WORKER_CONSUMER);
  } catch {
    await jsm.consumers.add(JOBS_STREAM, cfg);
  }
  try {
    await jsm.consumers.info(RESULTS_STREAM, 'control-plane');
  } catch {
    await jsm.consumers.add(RESULTS_STREAM, { durable_name: 'control-plane', ack_policy: AckPolicy.Explicit, ack_wait: nanos(30_000) });
  }
}

/** The control plane's side: publishes jobs, consumes results. */
export class JetStreamQueue implements ProofQueue {
  readonly kind = 'jetstream' as const;
  private handler: ((r: ProofResult) => Promise<void>) | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
  ) {}

  static async connect(o: JetStreamOptions): Promise<JetStreamQueue> {
    const nc = await connectOrFail(o.servers);
    const jsm = await jetstreamManager(nc);
    await ensureTopology(jsm, { ackWaitMs: o.ackWaitMs ?? 30_000, retry: o.retry ?? DEFAULT_RETRY });
    return new JetStreamQueue(nc, jsm);
  }

  async submit(job: ProofJob): Promise<void> {
    try {
      await jetstream(this.nc).publish(JOBS_SUBJECT, enc.encode(JSON.stringify(job)), { msgID: jobKey(job) });
    } catch (e) {
      throw new VeriteeError('CP_QUEUE_UNAVAILABLE', `JetStream refused the proof job: ${(e as Error).message}`);
    }
  }

  onResult(handler: (r: ProofResult) => Promise<void>): void {
    this.handler = handler;
    this.loop ??= this.consumeResults();
  }

  private async consumeResults(): Promise<void> {
    const c = await jetstream(this.nc).consumers.get(RESULTS_STREAM, 'control-plane');
    while (!this.stopped) {
      const msgs = await c.consume({ max_messages: 16 });
      try {
        for await (const m of msgs) {
          if (this.stopped) break;
          try {
            await this.handler?.(JSON.parse(dec.decode(m.data)) as ProofResult);
            m.ack();
          } catch {
            m.nak(1000);
          }
        }
      } catch {
        // connection trouble: consume again
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 200));
    }
  }

  async depth(): Promise<number> {
    try {
      return (await this.jsm.streams.info(JOBS_STREAM)).state.messages;
    } catch {
      return NaN;
    }
  }

  /** Dead letters (for tests and operators). */
  async deadLetters(): Promise<ProofResult[]> {
    const out: ProofResult[] = [];
    const n = (await this.jsm.streams.info(DEAD_STREAM)).state.messages;
    const c = await jetstream(this.nc).consumers.get(DEAD_STREAM);
    for (let i = 0; i < n; i++) {
      const m = await c.next({ expires: 2000 });
      if (!m) break;
      out.push(JSON.parse(dec.decode(m.data)) as ProofResult);
    }
    return out;
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.nc.drain().catch(() => undefined);
  }
}

export interface JetStreamWorker {
  /** Jobs this worker finished (proved or dead-lettered). */
  readonly done: string[];
  close(): Promise<void>;
}

/**
 * A prover worker: consumes jobs one at a time, proves, publishes the result, then acks.
 * A failure is retried by redelivery (server backoff) until the last delivery, when it is
 * dead-lettered and reported; a permanent failure (bad inputs) is dead-lettered at once.
 */
export async function runJetStreamWorker(o: { servers: string | string[]; name: string; prove: ProveFn; ackWaitMs?: number; retry?: RetryPolicy; onJob?: (job: ProofJob, delivery: number) => void }): Promise<JetStreamWorker> {
  const nc = await connectOrFail(o.servers);
  const retry = o.retry ?? DEFAULT_RETRY;
  await ensureTopology(await jetstreamManager(nc), { ackWaitMs: o.ackWaitMs ?? 30_000, retry });
  const js = jetstream(nc);
  const c = await js.consumers.get(JOBS_STREAM, WORKER_CONSUMER);
  const done: string[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const msgs = await c.consume({ max_messages: 1 });
      try {
        for await (const m of msgs) {
          const job = JSON.parse(dec.decode(m.data)) as ProofJob;
          const delivery = m.info.deliveryCount;
          o.onJob?.(job, delivery);
          const beat = setInterval(() => m.working(), Math.max(200, Math.floor((o.ackWaitMs ?? 30_000) / 3)));
          try {
            const bundle = await o.prove(job);
            await js.publish(RESULTS_SUBJECT, enc.encode(JSON.stringify({ decisionId: job.decisionId, ...claimIndexOf(job), ok: true, bundle, worker: o.name } satisfies ProofResult)));
            m.ack();
            done.push(jobKey(job));
          } catch (e) {
            const last = delivery >= retry.maxAttempts || isPermanent(e);
            if (last) {
              const r: ProofResult = { decisionId: job.decisionId, ...claimIndexOf(job), ok: false, error: (e as Error)?.message ?? String(e), worker: o.name, ...(e instanceof VeriteeError ? { code: e.code } : {}) };
              await js.publish(DEAD_SUBJECT, enc.encode(JSON.stringify({ ...r, job: { ...job, data: undefined }, deliveries: delivery })));
              await js.publish(RESULTS_SUBJECT, enc.encode(JSON.stringify(r)));
              m.term();
              done.push(jobKey(job));
            } else {
              m.nak(backoffMs(delivery, retry));
            }
          } finally {
            clearInterval(beat);
          }
          if (stopped) break;
        }
      } catch {
        // connection trouble: consume again
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    done,
    close: async () => {
      stopped = true;
      await nc.drain().catch(() => undefined);
      await Promise.race([loop, new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}
