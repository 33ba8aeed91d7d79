/**
 * @module runner
 * One run of a pipeline: input messages go onto a readings queue, the pipeline
 * consumes them, records go to a durable sink, and after each message the state is
 * saved (when a state file is given) and then the queue's offset committed, in that
 * order: a record is stored before the state that says it was emitted, and the state
 * before the offset. A run killed at any point and started again with the same input
 * and state file goes on from the saved position; a window it had proven but not yet
 * recorded as emitted is proven again, gets the same id and the sink drops it: the
 * results are those of an uninterrupted run, no gap, no duplicate.
 *
 * Without a state file the queue's offset is committed only at the end of the run.
 */
import { VeriteeError } from '@veritee/core';
import type { ResultSink } from './kafka.js';
import { StreamPipeline, type EndRecord, type PipelineOptions, type WindowResult } from './pipeline.js';
import type { ReadingQueue } from './queue.js';
import type { StateFile } from './state.js';

export interface RunOptions extends Omit<PipelineOptions, 'onResult' | 'onEnd' | 'restore'> {
  queue: ReadingQueue;
  sink: ResultSink;
  /** Messages to publish onto the queue and process (a restart skips those the state covers). */
  input: readonly unknown[];
  state?: StateFile;
  onRecord?: (r: WindowResult | EndRecord) => void;
}

export interface RunSummary {
  queue: ReadingQueue['kind'];
  sink: string;
  /** Messages of the input this run processed (after the restart point). */
  processed: number;
  resumedAt: number;
  accepted: number;
  refused: Record<string, number>;
  records: number;
  head: { seq: number; id: string };
  sequences: Record<string, number>;
}

export async function runPipeline(o: RunOptions): Promise<RunSummary> {
  const saved = o.state?.load();
  const start = saved?.position ?? 0;
  if (start > o.input.length) throw new VeriteeError('STREAM_STATE_INVALID', `the state file says ${start} messages were consumed, but the input has ${o.input.length}`);
  const refused: Record<string, number> = {};
  let records = 0;
  const emit = async (r: WindowResult | EndRecord) => {
    await o.sink.send(r);
    records++;
    o.onRecord?.(r);
  };
  const pipeline = new StreamPipeline({
    ...o,
    ...(saved ? { restore: saved.snapshot } : {}),
    onResult: emit,
    onEnd: emit,
    onRefused: (f) => {
      refused[f.code] = (refused[f.code] ?? 0) + 1;
      o.onRefused?.(f);
    },
  });
  let position = start;
  o.queue.consume(async (m) => {
    await pipeline.ingest(m);
    position++;
    if (o.state) {
      o.state.save(position, pipeline.snapshot());
      await o.queue.commitHandled();
    }
  });
  const todo = o.input.slice(start);
  for (const m of todo) await o.queue.publish(m);
  await o.queue.waitHandled(todo.length);
  await pipeline.flush();
  o.state?.save(position, pipeline.snapshot());
  await o.queue.commitHandled();
  return { queue: o.queue.kind, sink: o.sink.kind, processed: todo.length, resumedAt: start, accepted: pipeline.accepted, refused, records, head: pipeline.head, sequences: pipeline.tracker.snapshot() };
}
