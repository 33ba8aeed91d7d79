/**
 * @module queue
 * Where signed readings travel from sensors to the processor. Two backends behind
 * {@link ReadingQueue}: {@link InProcessQueue} (the default, in memory) and
 * NATS JetStream ({@link JetStreamReadingQueue}: stream STREAMS_READINGS,
 * subject veritee.streams.readings.<sensor>, a durable consumer per pipeline,
 * one message in flight, acknowledged once the pipeline has handled it; a reading
 * whose handling failed is not acknowledged and stays in the stream).
 *
 * Not yet: restart from committed state. The pipeline acknowledges a reading when
 * it joins an open window, so a processor that dies loses its open window's
 * readings (the consumer then sees a sequence gap, never a wrong aggregate).
 *
 * A third, Kafka ({@link KafkaReadingQueue}), is in kafka.ts.
 *
 * All deliver in publication order, one message at a time. Neither drops a
 * duplicate: replays are the sequence tracker's to refuse, on either backend.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { VeriteeError } from '@veritee/core';

/** A message handler; it is awaited before the next message is delivered. */
export type ReadingHandler = (msg: unknown) => Promise<void>;

export interface ReadingQueue {
  readonly kind: 'in-process' | 'jetstream' | 'kafka';
  publish(reading: unknown): Promise<void>;
  /** Starts delivering to handler (once). A message that is not JSON is handed over as undefined. */
  consume(handler: ReadingHandler): void;
  /** Messages handled so far. */
  readonly handled: number;
  /** Resolves when `handled` reaches n (or rejects after timeoutMs, or when a handler threw). */
  waitHandled(n: number, timeoutMs?: number): Promise<void>;
  /**
   * Marks every handled message as done for good (the caller has made its effects
   * durable): Kafka commits the consumer group's offset; the in-process queue has
   * nothing to keep and JetStream acknowledges each message once handled.
   */
  commitHandled(): Promise<void>;
  close(): Promise<void>;
}

export abstract class QueueBase {
  handled = 0;
  protected failure: unknown;
  private waiters: (() => void)[] = [];

  protected done(): void {
    this.handled++;
    for (const w of this.waiters.splice(0)) w();
  }

  protected fail(e: unknown): void {
    this.failure ??= e;
    for (const w of this.waiters.splice(0)) w();
  }

  async waitHandled(n: number, timeoutMs = 600_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.handled < n) {
      if (this.failure) throw this.failure;
      if (Date.now() > end) throw new VeriteeError('STREAM_QUEUE_UNAVAILABLE', `only ${this.handled} of ${n} readings were delivered in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(1000, Math.max(1, end - Date.now())));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    if (this.failure) throw this.failure;
  }
}

/** In memory, in order. */
export class InProcessQueue extends QueueBase implements ReadingQueue {
  readonly kind = 'in-process' as const;
  private readonly items: string[] = [];
  private handler: ReadingHandler | undefined;
  private running = false;

  async publish(reading: unknown): Promise<void> {
    this.items.push(JSON.stringify(reading));
    void this.pump();
  }

  consume(handler: ReadingHandler): void {
    if (this.handler) throw new VeriteeError('INTERNAL', 'the queue already has a consumer');
    this.handler = handler;
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running || !this.handler) return;
    this.running = true;
    try {
      while (this.items.length > 0 && !this.failure) {
        const raw = this.items.shift()!;
        try {
          await this.handler(safeParse(raw));
          this.done();
        } catch (e) {
          this.fail(e);
        }
      }
    } finally {
      this.running = false;
    }
  }

  async commitHandled(): Promise<void> {}

  async close(): Promise<void> {
    this.items.length = 0;
  }
}

export function safeParse(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

export const READINGS_STREAM = 'STREAMS_READINGS';
export const READINGS_SUBJECT = 'veritee.streams.readings';
/** The largest message the queue carries (a signed reading is about 400 bytes). */
export const MAX_READING_BYTES = 4096;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Readings on NATS JetStream; `consumer` names the durable consumer (one per pipeline). */
export class JetStreamReadingQueue extends QueueBase implements ReadingQueue {
  readonly kind = 'jetstream' as const;
  private stopped = false;
  private loop: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly consumerName: string,
  ) {
    super();
  }

  static async connect(o: { servers: string | string[]; consumer?: string }): Promise<JetStreamReadingQueue> {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: o.servers, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    } catch (e) {
      throw new VeriteeError('STREAM_QUEUE_UNAVAILABLE', `cannot connect to NATS at ${String(o.servers)}: ${(e as Error).message}`);
    }
    const consumer = o.consumer ?? 'pipeline';
    try {
      const jsm = await jetstreamManager(nc);
      try {
        await jsm.streams.info(READINGS_STREAM);
      } catch {
        await jsm.streams.add({ name: READINGS_STREAM, subjects: [`${READINGS_SUBJECT}.>`], max_msg_size: MAX_READING_BYTES });
      }
      try {
        await jsm.consumers.info(READINGS_STREAM, consumer);
      } catch {
        await jsm.consumers.add(READINGS_STREAM, { durable_name: consumer, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 1 });
      }
    } catch (e) {
      await nc.close().catch(() => undefined);
      throw new VeriteeError('STREAM_QUEUE_UNAVAILABLE', `JetStream refused the readings stream: ${(e as Error).message}`);
    }
    return new JetStreamReadingQueue(nc, consumer);
  }

  async publish(reading: unknown): Promise<void> {
    const sensor = (reading as { sensor?: unknown })?.sensor;
    const token = typeof sensor === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(sensor) ? sensor : '_';
    try {
      await jetstream(this.nc).publish(`${READINGS_SUBJECT}.${token}`, enc.encode(JSON.stringify(reading)));
    } catch (e) {
      throw new VeriteeError('STREAM_QUEUE_UNAVAILABLE', `JetStream refused the reading: ${(e as Error).message}`);
    }
  }

  consume(handler: ReadingHandler): void {
    if (this.loop) throw new VeriteeError('INTERNAL', 'the queue already has a consumer');
    this.loop = this.run(handler);
  }

  private async run(handler: ReadingHandler): Promise<void> {
    const c = await jetstream(this.nc).consumers.get(READINGS_STREAM, this.consumerName);
    while (!this.stopped && !this.failure) {
      try {
        const msgs = await c.consume({ max_messages: 1 });
        for await (const m of msgs) {
          if (this.stopped) break;
          try {
            await handler(m.data.length > MAX_READING_BYTES ? undefined : safeParse(dec.decode(m.data)));
            m.ack();
            this.done();
          } catch (e) {
            // not acknowledged: redelivered to whoever consumes next
            this.fail(e);
            break;
          }
        }
      } catch {
        // connection trouble: consume again
      }
      if (!this.stopped && !this.failure) await new Promise((r) => setTimeout(r, 200));
    }
  }

  async commitHandled(): Promise<void> {}

  async close(): Promise<void> {
    this.stopped = true;
    await this.nc.drain().catch(() => undefined);
    if (this.loop) await Promise.race([this.loop, new Promise((r) => setTimeout(r, 2000))]);
  }
}
