/**
 * @module pipeline-file
 * A pipeline described in YAML (`veritee streams run pipeline.yaml`), checked by a zod
 * schema after a nesting bound (core's checkYamlNesting) and a size cap; relative paths
 * are taken from the file's directory. Refusals are STREAM_PIPELINE_INVALID.
 *
 *   version: 1
 *   sensors: sensors.json
 *   source:
 *     input: signed.jsonl              # signed readings and end markers, JSON Lines
 *     queue: { kind: kafka, brokers: ["127.0.0.1:9092"], topic: veritee.streams.readings }
 *                                      # or { kind: in-process } (default), { kind: nats, url: … }
 *   window: { kind: sliding, size: 15m, slide: 5m }   # or { kind: tumbling, size: 15m }
 *   aggregate: { kind: streamagg, threshold: 1500 }
 *   sink: { kind: file, path: results.jsonl }          # or { kind: kafka, brokers: […], topic: … }
 *   state: state.json                  # optional: restart from here
 *   workers: 2                         # windows proven at once (default 1)
 *
 * Also a small TypeScript builder with the same parts:
 *   pipeline().from('signed.jsonl').window(sliding('15m', '5m')).aggregate(streamagg({ threshold: 1500 })).to({ kind: 'file', path: 'results.jsonl' }).spec()
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { checkYamlNesting, VeriteeError } from '@veritee/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { checkWindowSpec, parseWindowSize, type WindowSpec } from './window.js';

/** A pipeline file is at most 64 KiB. */
export const MAX_PIPELINE_BYTES = 64 * 1024;

const path = z.string().min(1).max(4096);
const size = z.union([z.string().max(30), z.number().int().positive()]);
const brokers = z.array(z.string().regex(/^[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$/)).min(1).max(16);
const topic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/);
const QueueSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('in-process') }).strict(),
  z.object({ kind: z.literal('nats'), url: z.string().max(500) }).strict(),
  z.object({ kind: z.literal('kafka'), brokers, topic: topic.optional(), group: topic.optional() }).strict(),
]);
const SinkSchema = z.discriminatedUnion('kind', [z.object({ kind: z.literal('file'), path }).strict(), z.object({ kind: z.literal('kafka'), brokers, topic: topic.optional() }).strict()]);
const WindowSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tumbling'), size, origin: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional() }).strict(),
  z.object({ kind: z.literal('sliding'), size, slide: size, origin: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional() }).strict(),
]);
const AggregateSchema = z.object({ kind: z.literal('streamagg'), threshold: z.number().int().nonnegative().max(2 ** 32 - 1) }).strict();
export const PipelineFileSchema = z
  .object({
    version: z.literal(1),
    sensors: path,
    source: z.object({ input: path, queue: QueueSchema.default({ kind: 'in-process' }) }).strict(),
    window: WindowSchema,
    aggregate: AggregateSchema,
    sink: SinkSchema,
    state: path.optional(),
    workers: z.number().int().min(1).max(64).default(1),
  })
  .strict();
export type PipelineFile = z.infer<typeof PipelineFileSchema>;
export type QueueSpec = z.infer<typeof QueueSchema>;
export type SinkSpec = z.infer<typeof SinkSchema>;

/** A checked pipeline: paths absolute, the window parsed. */
export interface PipelineSpec {
  sensors: string;
  input: string;
  queue: QueueSpec;
  window: WindowSpec;
  threshold: number;
  sink: SinkSpec;
  state?: string;
  workers: number;
}

function toWindow(w: PipelineFile['window']): WindowSpec {
  const us = (v: string | number) => (typeof v === 'number' ? v : parseWindowSize(v));
  return checkWindowSpec({ sizeUs: us(w.size), ...(w.kind === 'sliding' ? { slideUs: us(w.slide) } : {}), originUs: w.origin ?? 0 });
}

/** Parses and checks a pipeline file's text; `base` is the directory relative paths start from. */
export function parsePipelineFile(text: string, base: string): PipelineSpec {
  if (text.length > MAX_PIPELINE_BYTES) throw new VeriteeError('STREAM_PIPELINE_INVALID', `the pipeline file is over ${MAX_PIPELINE_BYTES} bytes`);
  checkYamlNesting(text, { maxFlowDepth: 8, maxIndent: 32, what: 'the pipeline file', code: 'STREAM_PIPELINE_INVALID' });
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 0, uniqueKeys: true, strict: true });
  } catch (e) {
    throw new VeriteeError('STREAM_PIPELINE_INVALID', `the pipeline file is not valid YAML: ${String((e as Error).message).split('\n')[0]!.slice(0, 200)}`);
  }
  const r = PipelineFileSchema.safeParse(raw);
  if (!r.success) throw new VeriteeError('STREAM_PIPELINE_INVALID', `the pipeline file is malformed: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const f = r.data;
  let window: WindowSpec;
  try {
    window = toWindow(f.window);
  } catch (e) {
    throw new VeriteeError('STREAM_PIPELINE_INVALID', `the pipeline file's window: ${(e as Error).message}`);
  }
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const sink: SinkSpec = f.sink.kind === 'file' ? { kind: 'file', path: abs(f.sink.path) } : f.sink;
  return { sensors: abs(f.sensors), input: abs(f.source.input), queue: f.source.queue, window, threshold: f.aggregate.threshold, sink, ...(f.state ? { state: abs(f.state) } : {}), workers: f.workers };
}

export const pipelineFileBase = (file: string) => dirname(resolve(file));

/** The streamagg aggregate: n, sum, mean and #{value > threshold} per window. */
export const streamagg = (o: { threshold: number }) => ({ kind: 'streamagg' as const, threshold: o.threshold });

/** A fluent builder for a {@link PipelineSpec}. */
export class PipelineBuilder {
  private s: Partial<PipelineSpec> & { workers: number; queue: QueueSpec } = { workers: 1, queue: { kind: 'in-process' } };
  sensors(path: string): this {
    this.s.sensors = path;
    return this;
  }
  from(input: string, queue: QueueSpec = { kind: 'in-process' }): this {
    this.s.input = input;
    this.s.queue = QueueSchema.parse(queue);
    return this;
  }
  window(w: WindowSpec): this {
    this.s.window = checkWindowSpec(w);
    return this;
  }
  aggregate(a: ReturnType<typeof streamagg>): this {
    this.s.threshold = AggregateSchema.parse(a).threshold;
    return this;
  }
  to(sink: SinkSpec): this {
    this.s.sink = SinkSchema.parse(sink);
    return this;
  }
  state(path: string): this {
    this.s.state = path;
    return this;
  }
  workers(n: number): this {
    this.s.workers = z.number().int().min(1).max(64).parse(n);
    return this;
  }
  /** The finished spec; every part but state must have been given. */
  spec(): PipelineSpec {
    const missing = (['sensors', 'input', 'window', 'threshold', 'sink'] as const).filter((k) => this.s[k] === undefined);
    if (missing.length > 0) throw new VeriteeError('STREAM_PIPELINE_INVALID', `the pipeline has no ${missing.join(', ')}`);
    return { ...(this.s as PipelineSpec) };
  }
}

export const pipeline = () => new PipelineBuilder();
