/**
 * @module kafka
 * Apache Kafka as the readings' transport and as the results' sink, with
 * @platformatic/kafka (pure JavaScript, no native client library).
 *
 * {@link KafkaReadingQueue}: readings on a topic of one partition (default
 * `veritee.streams.readings`, keyed by sensor), so arrival order is total; a consumer
 * group per pipeline, no auto-commit. The offset is committed by `commitHandled()`,
 * which the runner calls once everything the handled messages caused is durable
 * (results in the sink and, with a state file, the processor's state): at least once.
 * With `commitEach` the offset is committed after every handled message (the
 * JetStream behaviour).
 *
 * {@link KafkaResultSink}: proven records on a results topic, key = the record's id,
 * acks from all in-sync replicas; `send` resolves once the broker has the record. A
 * record sent twice (a restart that proves a window again) has the same id, and
 * {@link readKafkaResults} keeps the first.
 */
import { Admin, Consumer, Producer, type Message, type MessagesStream } from '@platformatic/kafka';
import { VeriteeError } from '@veritee/core';
import { MAX_READING_BYTES, QueueBase, safeParse, type ReadingHandler, type ReadingQueue } from './queue.js';

export const KAFKA_READINGS_TOPIC = 'veritee.streams.readings';
export const KAFKA_RESULTS_TOPIC = 'veritee.streams.results';
/** The largest result record, under the broker's default message.max.bytes (a window of 1024 readings is about 250 kB). */
export const MAX_RESULT_BYTES = 1_000_000;

const unavailable = (what: string, e: unknown) => new VeriteeError('STREAM_QUEUE_UNAVAILABLE', `${what}: ${(e as Error)?.message ?? String(e)}`.slice(0, 600));

export interface KafkaOptions {
  /** host:port list. */
  brokers: string[];
  topic?: string;
  clientId?: string;
  /** Connection and request timeout, ms (default 10 s). */
  timeoutMs?: number;
}

async function ensureTopic(o: KafkaOptions, topic: string): Promise<void> {
  const admin = new Admin({ clientId: o.clientId ?? 'veritee-streams', bootstrapBrokers: o.brokers, timeout: o.timeoutMs ?? 10_000, retries: 2 });
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) {
      try {
        await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      } catch (e) {
        if (!/already exists/i.test(String((e as Error).message) + JSON.stringify((e as { errors?: unknown }).errors ?? ''))) throw e;
      }
    }
  } catch (e) {
    throw unavailable(`Kafka at ${o.brokers.join(',')} refused the topic ${topic}`, e);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

export class KafkaReadingQueue extends QueueBase implements ReadingQueue {
  readonly kind = 'kafka' as const;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private loop: Promise<void> | undefined;
  private last: Message<Buffer, Buffer, Buffer, Buffer> | undefined;
  private committed: bigint | undefined;
  private stopped = false;

  private constructor(
    private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>,
    private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    readonly topic: string,
    private readonly commitEach: boolean,
  ) {
    super();
  }

  static async connect(o: KafkaOptions & { group?: string; commitEach?: boolean }): Promise<KafkaReadingQueue> {
    const topic = o.topic ?? KAFKA_READINGS_TOPIC;
    await ensureTopic(o, topic);
    const base = { clientId: o.clientId ?? 'veritee-streams', bootstrapBrokers: o.brokers, timeout: o.timeoutMs ?? 10_000, retries: 3 };
    const producer = new Producer({ ...base, acks: -1 });
    const consumer = new Consumer({ ...base, groupId: o.group ?? 'veritee-streams-pipeline', sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTime: 100 });
    return new KafkaReadingQueue(producer, consumer, topic, o.commitEach === true);
  }

  async publish(reading: unknown): Promise<void> {
    const sensor = (reading as { sensor?: unknown })?.sensor;
    try {
      await this.producer.send({ messages: [{ topic: this.topic, partition: 0, key: Buffer.from(typeof sensor === 'string' ? sensor.slice(0, 64) : '_'), value: Buffer.from(JSON.stringify(reading)) }] });
    } catch (e) {
      throw unavailable('Kafka refused the reading', e);
    }
  }

  consume(handler: ReadingHandler): void {
    if (this.loop) throw new VeriteeError('INTERNAL', 'the queue already has a consumer');
    this.loop = this.run(handler).catch((e) => this.fail(unavailable('consuming from Kafka failed', e)));
  }

  private async run(handler: ReadingHandler): Promise<void> {
    this.stream = await this.consumer.consume({ topics: [this.topic], autocommit: false, mode: 'committed', fallbackMode: 'earliest', maxWaitTime: 100 });
    for await (const m of this.stream) {
      if (this.stopped) break;
      try {
        await handler(m.value.length > MAX_READING_BYTES ? undefined : safeParse(m.value.toString('utf8')));
      } catch (e) {
        this.fail(e); // not committed: delivered again to the group's next consumer
        break;
      }
      this.last = m;
      if (this.commitEach) await this.commitHandled();
      this.done();
    }
  }

  async commitHandled(): Promise<void> {
    const m = this.last;
    if (!m || (this.committed !== undefined && this.committed >= m.offset)) return;
    try {
      await m.commit();
      this.committed = m.offset;
    } catch (e) {
      throw unavailable('Kafka refused the offset commit', e);
    }
  }

  /** The offset of the last committed message (undefined before any). */
  get committedOffset(): bigint | undefined {
    return this.committed;
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.stream?.close().catch(() => undefined);
    if (this.loop) await Promise.race([this.loop, new Promise((r) => setTimeout(r, 2000))]);
    await new Promise<void>((res) => this.consumer.close(true, () => res()));
    await this.producer.close().catch(() => undefined);
  }
}

/** A durable sink for chain records. */
export interface ResultSink {
  readonly kind: string;
  /** Resolves once the record is stored. */
  send(record: { id: string }): Promise<void>;
  close(): Promise<void>;
}

export class KafkaResultSink implements ResultSink {
  readonly kind = 'kafka';
  private constructor(
    private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>,
    readonly topic: string,
  ) {}

  static async connect(o: KafkaOptions): Promise<KafkaResultSink> {
    const topic = o.topic ?? KAFKA_RESULTS_TOPIC;
    await ensureTopic(o, topic);
    return new KafkaResultSink(new Producer({ clientId: o.clientId ?? 'veritee-streams', bootstrapBrokers: o.brokers, timeout: o.timeoutMs ?? 10_000, retries: 3, acks: -1 }), topic);
  }

  async send(record: { id: string }): Promise<void> {
    const value = Buffer.from(JSON.stringify(record));
    if (value.length > MAX_RESULT_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `a result record of ${value.length} bytes is over the ${MAX_RESULT_BYTES}-byte cap`);
    try {
      await this.producer.send({ messages: [{ topic: this.topic, partition: 0, key: Buffer.from(record.id), value }] });
    } catch (e) {
      throw unavailable('Kafka refused the result', e);
    }
  }

  async close(): Promise<void> {
    await this.producer.close().catch(() => undefined);
  }
}

/**
 * Reads every record on a results topic (from the start, up to the end offset at the
 * time of the call), keeping the first of records with the same id.
 */
export async function readKafkaResults(o: KafkaOptions & { timeoutMs?: number }): Promise<{ records: unknown[]; duplicates: number }> {
  const topic = o.topic ?? KAFKA_RESULTS_TOPIC;
  const consumer = new Consumer({ clientId: o.clientId ?? 'veritee-streams-reader', bootstrapBrokers: o.brokers, groupId: `veritee-streams-reader-${process.pid}-${Date.now()}`, timeout: o.timeoutMs ?? 10_000, maxWaitTime: 100 });
  try {
    const ends = await consumer.listOffsets({ topics: [topic] });
    const end = ends.get(topic)?.[0] ?? 0n;
    const records: unknown[] = [];
    const seen = new Set<string>();
    let duplicates = 0;
    if (end === 0n) return { records, duplicates };
    const stream = await consumer.consume({ topics: [topic], autocommit: false, mode: 'earliest', maxWaitTime: 100 });
    try {
      for await (const m of stream) {
        const id = m.key.toString('utf8');
        if (seen.has(id)) duplicates++;
        else {
          seen.add(id);
          records.push(m.value.length > MAX_RESULT_BYTES ? undefined : safeParse(m.value.toString('utf8')));
        }
        if (m.offset + 1n >= end) break;
      }
    } finally {
      await stream.close().catch(() => undefined);
    }
    return { records, duplicates };
  } catch (e) {
    throw unavailable(`reading results from Kafka topic ${topic} failed`, e);
  } finally {
    await new Promise<void>((res) => consumer.close(true, () => res()));
  }
}
