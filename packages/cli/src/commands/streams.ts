/**
 * @module commands/streams
 * `veritee streams`: verifiable stream processing (@veritee/streams).
 *
 *   veritee streams sensor keygen --id ID --out key.json [--registry sensors.json]
 *   veritee streams sensor sign --key key.json --readings readings.jsonl --out signed.jsonl [--first-seq N] [--close]
 *   veritee streams run --sensors sensors.json --input signed.jsonl --window 15m [--slide 5m] --threshold N --out results.jsonl
 *                       [--origin US] [--nats URL | --kafka HOST:PORT,…] [--state state.json] [--workers N] [--home DIR]
 *   veritee streams run pipeline.yaml [--home DIR]          (source, window, aggregate, sink, state, workers in YAML)
 *   veritee streams verify results.jsonl --sensors sensors.json [--threshold N] [--require-end] [--allow-dev-setup] [--home DIR]
 *   veritee streams verify --kafka HOST:PORT [--topic T] --sensors sensors.json …
 *
 * readings.jsonl: one {"ts": <µs since the epoch>, "value": <integer below 2^32>} per line.
 * signed.jsonl: signed readings (what a sensor sends the processor: value and salt included).
 * results.jsonl: one proven window per line (digests and signatures only, no value).
 * Refused readings (replays, gaps, bad signatures, late) are reported on stderr with
 * their STREAM_* code and left out; `run` exits 0 unless proving or input reading fails.
 */
import { chmodSync, existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { parseJsonStrict, quoteInput, VeriteeError, type ErrorCode } from '@veritee/core';
import { assertWritable, MAX_RECORDS_BYTES, readJsonFile, readTextFile, warnLoudly, writeOutputFile } from '../io.js';
import { homeOf, parseIntegerOption } from './common.js';
import { ensureDevKeys } from './zk.js';

/** Lines a JSON Lines input may hold. */
const MAX_LINES = 1_000_000;

function readJsonLines(path: string, what: string, code: ErrorCode): unknown[] {
  const text = readTextFile(path, what, { maxBytes: MAX_RECORDS_BYTES });
  const lines = text.split('\n');
  const out: unknown[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    if (out.length >= MAX_LINES) throw new VeriteeError('INPUT_TOO_LARGE', `${what} ${quoteInput(path, 200)} has more than ${MAX_LINES} lines`);
    out.push(parseJsonStrict(line, { what: `${what} line ${i + 1}`, code }));
  });
  if (out.length === 0) throw new VeriteeError('INPUT_FILE_EMPTY', `${what} ${quoteInput(path, 200)} holds no lines`);
  return out;
}

const thresholdOf = (v: string) => parseIntegerOption('--threshold', v, 0, 2 ** 32 - 1, 'CLAIM_PARAMS_INVALID');

export function registerStreamsCommands(program: Command): void {
  const streams = program.command('streams').description('verifiable stream processing: signed sensor readings, windows proven in zero knowledge');
  const sensor = streams.command('sensor').description('sensor keys and signed readings');

  sensor
    .command('keygen')
    .description('make an Ed25519 sensor key (written 0600) and, optionally, add its public key to a sensor registry')
    .requiredOption('--id <id>', 'sensor id: 1 to 64 letters, digits, "_" or "-"')
    .requiredOption('--out <file>', 'where to write the secret key file')
    .option('--registry <file>', 'sensor registry (sensors.json) to create or add the sensor to')
    .action(async (o: { id: string; out: string; registry?: string }) => {
      const s = await import('@veritee/streams');
      const key = s.generateSensorKey(o.id);
      let registry: { version: 1; sensors: { id: string; publicKey: string }[] } | undefined;
      if (o.registry) {
        registry = existsSync(o.registry) ? s.parseWith(s.SensorRegistrySchema, readJsonFile(o.registry, 'sensor registry', 'STREAM_SENSOR_KEY_INVALID'), 'STREAM_SENSOR_KEY_INVALID', 'the sensor registry') : { version: 1, sensors: [] };
        if (registry.sensors.some((e) => e.id === o.id)) throw new VeriteeError('STREAM_SENSOR_KEY_INVALID', `sensor ${o.id} is already in ${quoteInput(o.registry, 200)}`);
        assertWritable(o.registry, '--registry');
      }
      if (existsSync(o.out)) throw new VeriteeError('INPUT_FILE_UNWRITABLE', `--out ${quoteInput(o.out, 200)} exists: a sensor key is never overwritten`);
      assertWritable(o.out);
      writeOutputFile(o.out, JSON.stringify(key, null, 2) + '\n', 'sensor key file');
      chmodSync(o.out, 0o600);
      const entry = { id: key.sensor, publicKey: key.publicKey };
      if (registry && o.registry) {
        registry.sensors.push(entry);
        writeOutputFile(o.registry, JSON.stringify(registry, null, 2) + '\n', 'sensor registry');
      }
      process.stdout.write(JSON.stringify(entry) + '\n');
    });

  sensor
    .command('sign')
    .description('sign readings ({"ts","value"} per line) as a sensor, numbering them from --first-seq')
    .requiredOption('--key <file>', 'sensor key file')
    .requiredOption('--readings <file>', 'readings, JSON Lines: {"ts": µs since the epoch, "value": integer below 2^32}')
    .requiredOption('--out <file>', 'signed readings (JSON Lines)')
    .option('--first-seq <n>', 'sequence number of the first reading', '1')
    .option('--close', 'append the sensor\'s signed end marker (last sequence number, end time = last reading\'s time + 1)')
    .action(async (o: { key: string; readings: string; out: string; firstSeq: string; close?: boolean }) => {
      const s = await import('@veritee/streams');
      const key = s.parseWith(s.SensorKeySchema, readJsonFile(o.key, 'sensor key', 'STREAM_SENSOR_KEY_INVALID'), 'STREAM_SENSOR_KEY_INVALID', 'the sensor key');
      const first = parseIntegerOption('--first-seq', o.firstSeq, 1, Number.MAX_SAFE_INTEGER - MAX_LINES);
      const rows = readJsonLines(o.readings, 'readings file', 'STREAM_READING_INVALID');
      assertWritable(o.out);
      const lines = rows.map((row, i) => {
        const r = row as { ts?: unknown; value?: unknown };
        if (typeof r !== 'object' || r === null || Array.isArray(r) || Object.keys(r).some((k) => k !== 'ts' && k !== 'value') || !Number.isSafeInteger(r.ts) || !Number.isSafeInteger(r.value) || (r.ts as number) < 0 || (r.value as number) < 0 || (r.value as number) >= 2 ** 32) {
          throw new VeriteeError('STREAM_READING_INVALID', `reading ${i + 1}: expected {"ts": µs since the epoch, "value": integer below 2^32}`);
        }
        return JSON.stringify(s.signReading(key, { seq: first + i, ts: r.ts as number, value: r.value as number }));
      });
      if (o.close) {
        const lastTs = Math.max(...rows.map((r) => (r as { ts: number }).ts));
        lines.push(JSON.stringify(s.signClose(key, { lastSeq: first + rows.length - 1, endUs: lastTs + 1 })));
      }
      writeOutputFile(o.out, lines.join('\n') + '\n', 'signed readings');
      process.stdout.write(`signed ${lines.length} readings of ${key.sensor}, sequence ${first}..${first + lines.length - 1}\n`);
    });

  streams
    .command('run [pipeline]')
    .description('check signed readings, group them into windows and prove each (streamagg); from flags or a pipeline file (YAML)')
    .option('--sensors <file>', 'sensor registry (sensors.json)')
    .option('--input <file>', 'signed readings and end markers, JSON Lines, in arrival order')
    .option('--window <size>', 'window size: 15m, 30s, 1h, … (at most 2^42 us)')
    .option('--slide <size>', 'sliding windows: a new window every <size> (default: tumbling)')
    .option('--threshold <n>', 'count the readings above this value')
    .option('--out <file>', 'proven windows, JSON Lines (appended and fsynced one by one)')
    .option('--origin <us>', 'windows start at origin + k·slide (µs since the epoch)', '0')
    .option('--nats <url>', 'carry the readings on NATS JetStream (default: an in-process queue)')
    .option('--kafka <brokers>', 'carry the readings on Kafka (host:port,…)')
    .option('--state <file>', 'save the processor state after every message; when it exists, resume from it')
    .option('--workers <n>', 'windows proven at the same time', '1')
    .option('--home <dir>', 'veritee home (proving keys; a missing key is made by a loud DEV setup)')
    .action(async (file: string | undefined, o: { sensors?: string; input?: string; window?: string; slide?: string; threshold?: string; out?: string; origin: string; nats?: string; kafka?: string; state?: string; workers: string; home?: string }) => {
      const s = await import('@veritee/streams');
      const { prove, ProverPool, STREAMAGG_CAPACITIES } = await import('@veritee/zk');
      let spec: import('@veritee/streams').PipelineSpec;
      if (file !== undefined) {
        if (o.sensors || o.input || o.window || o.slide || o.threshold || o.out || o.nats || o.kafka || o.state) throw new VeriteeError('STREAM_PIPELINE_INVALID', 'give either a pipeline file or --sensors/--input/--window/… flags, not both');
        spec = s.parsePipelineFile(readTextFile(file, 'pipeline file', { maxBytes: s.MAX_PIPELINE_BYTES }), s.pipelineFileBase(file));
      } else {
        const missing = (['sensors', 'input', 'window', 'threshold', 'out'] as const).filter((k) => o[k] === undefined);
        if (missing.length > 0) throw new VeriteeError('STREAM_PIPELINE_INVALID', `streams run needs a pipeline file or ${missing.map((m) => `--${m}`).join(', ')}`);
        if (o.nats && o.kafka) throw new VeriteeError('STREAM_PIPELINE_INVALID', 'choose --nats or --kafka, not both');
        const sizeUs = s.parseWindowSize(o.window!);
        const b = s
          .pipeline()
          .sensors(o.sensors!)
          .from(o.input!, o.kafka ? { kind: 'kafka', brokers: o.kafka.split(',') } : o.nats ? { kind: 'nats', url: o.nats } : { kind: 'in-process' })
          .window({ sizeUs, ...(o.slide !== undefined ? { slideUs: s.parseWindowSize(o.slide) } : {}), originUs: parseIntegerOption('--origin', o.origin, 0, Number.MAX_SAFE_INTEGER, 'STREAM_WINDOW_INVALID') })
          .aggregate(s.streamagg({ threshold: thresholdOf(o.threshold!) }))
          .to({ kind: 'file', path: o.out! })
          .workers(parseIntegerOption('--workers', o.workers, 1, 64, 'STREAM_PIPELINE_INVALID'));
        if (o.state) b.state(o.state);
        spec = b.spec();
      }
      const sensors = s.sensorKeys(readJsonFile(spec.sensors, 'sensor registry', 'STREAM_SENSOR_KEY_INVALID'));
      const msgs = readJsonLines(spec.input, 'signed readings', 'STREAM_READING_INVALID');
      const state = spec.state ? new s.StateFile(spec.state, s.pipelineFingerprint({ sensors, window: spec.window, threshold: spec.threshold })) : undefined;
      const resuming = state !== undefined && existsSync(state.path);
      if (spec.sink.kind === 'file') {
        assertWritable(spec.sink.path);
        // a fresh run starts the results over; a restart appends (the sink drops records it has)
        if (!resuming && existsSync(spec.sink.path)) rmSync(spec.sink.path);
      }
      // one prover process per worker, so windows are proven side by side
      const pool = new ProverPool({ home: homeOf(o), size: spec.workers });
      try {
        const ready = new Map<number, Promise<unknown>>();
        const sink = spec.sink.kind === 'file' ? new s.FileResultSink(spec.sink.path) : await s.KafkaResultSink.connect({ brokers: spec.sink.brokers, ...(spec.sink.topic ? { topic: spec.sink.topic } : {}) });
        const q = spec.queue;
        let queue: import('@veritee/streams').ReadingQueue;
        try {
          queue = q.kind === 'kafka' ? await s.KafkaReadingQueue.connect({ brokers: q.brokers, ...(q.topic ? { topic: q.topic } : {}), ...(q.group ? { group: q.group } : {}) }) : q.kind === 'nats' ? await s.JetStreamReadingQueue.connect({ servers: q.url }) : new s.InProcessQueue();
        } catch (e) {
          await sink.close();
          throw e;
        }
        try {
          const summary = await s.runPipeline({
            sensors,
            window: spec.window,
            threshold: spec.threshold,
            workers: spec.workers,
            queue,
            sink,
            input: msgs,
            ...(state ? { state } : {}),
            prove: async (params, data) => {
              const capacity = STREAMAGG_CAPACITIES.find((c) => c >= data.readings.length) ?? STREAMAGG_CAPACITIES[STREAMAGG_CAPACITIES.length - 1];
              if (!ready.has(capacity)) ready.set(capacity, ensureDevKeys(pool, capacity, 'streamagg'));
              await ready.get(capacity);
              return (await prove(pool, 'streamagg', { params, data })).bundle;
            },
            onRecord: (r) => {
              if (r.format === s.END_FORMAT) process.stderr.write(`end record: ${r.closes.length} end markers\n`);
              else process.stderr.write(`window [${new Date(r.startUs / 1000).toISOString()}, ${new Date(r.endUs / 1000).toISOString()}): ${r.readings.length} readings proven\n`);
            },
            onRefused: (f) => process.stderr.write(`refused ${f.code}: ${f.message}\n`),
          });
          if (summary.head.seq === 0) throw new VeriteeError('STREAM_RESULT_INVALID', `no window was proven: all ${msgs.length} messages were refused`);
          process.stdout.write(JSON.stringify({ ...summary, readings: msgs.length, windows: summary.records }) + '\n');
        } finally {
          await queue.close();
          await sink.close();
        }
      } finally {
        await pool.close();
      }
    });

  streams
    .command('verify [results]')
    .description('verify proven windows: chain, signatures, sequence completeness, end markers, commitments and proofs, in one call')
    .requiredOption('--sensors <file>', 'sensor registry (sensors.json)')
    .option('--kafka <brokers>', 'read the results from a Kafka topic instead of a file (host:port,…)')
    .option('--topic <name>', 'the Kafka results topic', 'veritee.streams.results')
    .option('--threshold <n>', 'the threshold every window must use')
    .option('--require-end', 'every registered sensor must have sent a signed end marker (catches readings dropped at the end)')
    .option('--allow-dev-setup', 'accept keys from a DEV trusted setup (forgeable by whoever ran it)')
    .option('--home <dir>', 'veritee home (verification keys)')
    .action(async (file: string | undefined, o: { sensors: string; kafka?: string; topic: string; threshold?: string; requireEnd?: boolean; allowDevSetup?: boolean; home?: string }) => {
      const s = await import('@veritee/streams');
      const { loadKeyRingFromHome } = await import('@veritee/zk');
      const sensors = s.sensorKeys(readJsonFile(o.sensors, 'sensor registry', 'STREAM_SENSOR_KEY_INVALID'));
      if ((file === undefined) === (o.kafka === undefined)) throw new VeriteeError('STREAM_RESULT_INVALID', 'give a results file or --kafka, one of the two');
      const lines = file !== undefined ? readJsonLines(file, 'results', 'STREAM_RESULT_INVALID') : (await s.readKafkaResults({ brokers: o.kafka!.split(','), topic: o.topic })).records;
      if (o.allowDevSetup) warnLoudly(['--allow-dev-setup: proofs made with DEV keys are accepted; whoever ran a dev setup can forge them.']);
      const v = s.verifyWindowResults(lines, {
        sensors,
        keys: loadKeyRingFromHome(homeOf(o)),
        allowDevSetup: o.allowDevSetup === true,
        at: Date.now(),
        ...(o.threshold !== undefined ? { threshold: thresholdOf(o.threshold) } : {}),
        ...(o.requireEnd ? { requireEnd: 'all' as const } : {}),
      });
      for (const w of v.windows) process.stdout.write(`window [${new Date(w.startUs / 1000).toISOString()}, ${new Date(w.endUs / 1000).toISOString()}): n ${w.outputs.n}, sum ${w.outputs.sum}, mean ${w.outputs.mean}, above ${w.outputs.above}\n`);
      process.stdout.write(`VERIFIED: ${v.windows.length} windows, ${v.readings} readings, sequences ${JSON.stringify(v.sequences)}, closed ${JSON.stringify(v.closed)}, chain head ${v.head.seq} ${v.head.id}${v.duplicates ? `, ${v.duplicates} duplicates skipped` : ''}\n`);
    });
}
