/**
 * @module commands/streams
 * `veritee streams`: verifiable stream processing (@veritee/streams).
 *
 *   veritee streams sensor keygen --id ID --out key.json [--registry sensors.json]
 *   veritee streams sensor sign --key key.json --readings readings.jsonl --out signed.jsonl [--first-seq N]
 *   veritee streams run --sensors sensors.json --input signed.jsonl --window 15m --threshold N --out results.jsonl
 *                       [--origin US] [--nats URL] [--home DIR]
 *   veritee streams verify results.jsonl --sensors sensors.json [--threshold N] [--allow-dev-setup] [--home DIR]
 *
 * readings.jsonl: one {"ts": <µs since the epoch>, "value": <integer below 2^32>} per line.
 * signed.jsonl: signed readings (what a sensor sends the processor: value and salt included).
 * results.jsonl: one proven window per line (digests and signatures only, no value).
 * Refused readings (replays, gaps, bad signatures, late) are reported on stderr with
 * their STREAM_* code and left out; `run` exits 0 unless proving or input reading fails.
 */
import { chmodSync, existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parseJsonStrict, quoteInput, VeriteeError, type ErrorCode } from '@veritee/core';
import { assertWritable, MAX_RECORDS_BYTES, readJsonFile, readTextFile, warnLoudly, writeOutputFile } from '../io.js';
import { homeOf, parseIntegerOption, withPool } from './common.js';
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
    .action(async (o: { key: string; readings: string; out: string; firstSeq: string }) => {
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
      writeOutputFile(o.out, lines.join('\n') + '\n', 'signed readings');
      process.stdout.write(`signed ${lines.length} readings of ${key.sensor}, sequence ${first}..${first + lines.length - 1}\n`);
    });

  streams
    .command('run')
    .description('check signed readings, group them into tumbling windows and prove each window (streamagg)')
    .requiredOption('--sensors <file>', 'sensor registry (sensors.json)')
    .requiredOption('--input <file>', 'signed readings, JSON Lines, in arrival order')
    .requiredOption('--window <size>', 'tumbling window size: 15m, 30s, 1h, … (at most 2^42 us)')
    .requiredOption('--threshold <n>', 'count the readings above this value')
    .requiredOption('--out <file>', 'proven windows, JSON Lines')
    .option('--origin <us>', 'windows start at origin + k·size (µs since the epoch)', '0')
    .option('--nats <url>', 'carry the readings on NATS JetStream (default: an in-process queue)')
    .option('--home <dir>', 'veritee home (proving keys; a missing key is made by a loud DEV setup)')
    .action(async (o: { sensors: string; input: string; window: string; threshold: string; out: string; origin: string; nats?: string; home?: string }) => {
      const s = await import('@veritee/streams');
      const { prove, STREAMAGG_CAPACITIES } = await import('@veritee/zk');
      const sensors = s.sensorKeys(readJsonFile(o.sensors, 'sensor registry', 'STREAM_SENSOR_KEY_INVALID'));
      const window = { sizeUs: s.parseWindowSize(o.window), originUs: parseIntegerOption('--origin', o.origin, 0, Number.MAX_SAFE_INTEGER, 'STREAM_WINDOW_INVALID') };
      const threshold = thresholdOf(o.threshold);
      const msgs = readJsonLines(o.input, 'signed readings', 'STREAM_READING_INVALID');
      assertWritable(o.out);
      const results: string[] = [];
      const counts: Record<string, number> = {};
      await withPool(homeOf(o), async (pool) => {
        const ready = new Set<number>();
        const pipeline = new s.StreamPipeline({
          sensors,
          window,
          threshold,
          prove: async (params, data) => {
            const capacity = STREAMAGG_CAPACITIES.find((c) => c >= data.readings.length) ?? STREAMAGG_CAPACITIES[STREAMAGG_CAPACITIES.length - 1];
            if (!ready.has(capacity)) {
              await ensureDevKeys(pool, capacity, 'streamagg');
              ready.add(capacity);
            }
            return (await prove(pool, 'streamagg', { params, data })).bundle;
          },
          onResult: (r) => {
            results.push(JSON.stringify(r));
            process.stderr.write(`window [${new Date(r.startUs / 1000).toISOString()}, ${new Date(r.endUs / 1000).toISOString()}): ${r.readings.length} readings proven\n`);
          },
          onRefused: (f) => {
            counts[f.code] = (counts[f.code] ?? 0) + 1;
            process.stderr.write(`refused ${f.code}: ${f.message}\n`);
          },
        });
        const queue = o.nats ? await s.JetStreamReadingQueue.connect({ servers: o.nats }) : new s.InProcessQueue();
        try {
          queue.consume((m) => pipeline.ingest(m).then(() => undefined));
          for (const m of msgs) await queue.publish(m);
          await queue.waitHandled(msgs.length);
          await pipeline.flush();
        } finally {
          await queue.close();
        }
        if (results.length === 0) throw new VeriteeError('STREAM_RESULT_INVALID', `no window was proven: all ${msgs.length} readings were refused`);
        writeOutputFile(o.out, results.join('\n') + '\n', 'results');
        process.stdout.write(JSON.stringify({ queue: queue.kind, readings: msgs.length, accepted: pipeline.accepted, refused: counts, windows: results.length, sequences: pipeline.tracker.snapshot() }) + '\n');
      });
    });

  streams
    .command('verify <results>')
    .description('verify proven windows: signatures, sequence completeness, commitments and proofs, in one call')
    .requiredOption('--sensors <file>', 'sensor registry (sensors.json)')
    .option('--threshold <n>', 'the threshold every window must use')
    .option('--allow-dev-setup', 'accept keys from a DEV trusted setup (forgeable by whoever ran it)')
    .option('--home <dir>', 'veritee home (verification keys)')
    .action(async (file: string, o: { sensors: string; threshold?: string; allowDevSetup?: boolean; home?: string }) => {
      const s = await import('@veritee/streams');
      const { loadKeyRingFromHome } = await import('@veritee/zk');
      const sensors = s.sensorKeys(readJsonFile(o.sensors, 'sensor registry', 'STREAM_SENSOR_KEY_INVALID'));
      const lines = readJsonLines(file, 'results', 'STREAM_RESULT_INVALID');
      if (o.allowDevSetup) warnLoudly(['--allow-dev-setup: proofs made with DEV keys are accepted; whoever ran a dev setup can forge them.']);
      const v = s.verifyWindowResults(lines, { sensors, keys: loadKeyRingFromHome(homeOf(o)), allowDevSetup: o.allowDevSetup === true, at: Date.now(), ...(o.threshold !== undefined ? { threshold: thresholdOf(o.threshold) } : {}) });
      for (const w of v.windows) process.stdout.write(`window [${new Date(w.startUs / 1000).toISOString()}, ${new Date(w.endUs / 1000).toISOString()}): n ${w.outputs.n}, sum ${w.outputs.sum}, mean ${w.outputs.mean}, above ${w.outputs.above}\n`);
      process.stdout.write(`VERIFIED: ${v.windows.length} windows, ${v.readings} readings, sequences ${JSON.stringify(v.sequences)}\n`);
    });
}
