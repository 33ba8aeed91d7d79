/**
 * @module events
 * Carries the market's events to NATS JetStream: every event is published once to
 * `<prefix>.<type>` with the JetStream message id = the event id, so a publisher restarted
 * from an older cursor (or two publishers at once) produce no duplicates inside the stream's
 * duplicate window; the cursor (last published sequence number) is stored in the database
 * after each acknowledged batch, so nothing is lost across restarts either.
 */
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { VeriteeError } from '@veritee/core';
import { num } from './db.js';
import type { Market, MarketEvent } from './market.js';

export const EVENTS_STREAM = 'MARKET_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'veritee.market.events';

export interface JetStreamPublisher {
  /** Publishes everything not yet published; resolves with the new cursor. */
  flush(): Promise<number>;
  stop(): Promise<void>;
}

const enc = new TextEncoder();

export async function startJetStreamPublisher(o: { market: Market; servers: string | string[]; cursorName?: string; stream?: string; subjectPrefix?: string }): Promise<JetStreamPublisher> {
  const stream = o.stream ?? EVENTS_STREAM;
  const prefix = o.subjectPrefix ?? EVENTS_SUBJECT_PREFIX;
  const cursorName = o.cursorName ?? 'jetstream';
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: o.servers, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(stream);
    } catch {
      await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: nanos(10 * 60_000) });
    }
  } catch (e) {
    throw new VeriteeError('MARKET_EVENTS_UNAVAILABLE', `cannot reach NATS JetStream at ${String(o.servers)}: ${(e as Error).message.slice(0, 200)}`);
  }
  const js = jetstream(nc);
  const db = o.market.db;
  await db.query('INSERT INTO market_cursors (name, seq) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING', [cursorName]);
  let chain: Promise<number> = Promise.resolve(0);
  let stopped = false;

  const publishOnce = async (): Promise<number> => {
    let cursor = num((await db.query('SELECT seq FROM market_cursors WHERE name = $1', [cursorName]))[0]!['seq']);
    for (;;) {
      const batch: MarketEvent[] = await o.market.events(cursor, 500);
      if (!batch.length) return cursor;
      for (const e of batch) {
        try {
          await js.publish(`${prefix}.${e.type}`, enc.encode(JSON.stringify(e)), { msgID: e.id });
        } catch (err) {
          throw new VeriteeError('MARKET_EVENTS_UNAVAILABLE', `JetStream refused event ${e.seq}: ${(err as Error).message.slice(0, 200)}`);
        }
        cursor = e.seq;
      }
      await db.query('UPDATE market_cursors SET seq = $2 WHERE name = $1 AND seq < $2', [cursorName, cursor]);
    }
  };
  const flush = (): Promise<number> => {
    chain = chain.catch(() => 0).then(publishOnce);
    return chain;
  };
  const onEvent = () => {
    if (!stopped) flush().catch(() => undefined);
  };
  o.market.notifier.on('event', onEvent);
  const timer = setInterval(onEvent, 1000);
  timer.unref();
  return {
    flush,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      o.market.notifier.off('event', onEvent);
      await chain.catch(() => undefined);
      await nc.drain().catch(() => undefined);
    },
  };
}
