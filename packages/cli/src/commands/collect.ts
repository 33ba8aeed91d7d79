/**
 * @module commands/collect
 * `veritee collect`: measures this machine for real (per-process RSS and CPU from
 * /proc, swap and page faults, statfs and inodes per mount, I/O queue depth from
 * /proc/diskstats) into a telemetry window, the private input of the autoscaling
 * claims.
 *
 * Output discipline: with `--out`, the window goes to the file and the summary to
 * stdout; without it, the window JSON goes to stdout and the summary to stderr.
 */
import type { Command } from 'commander';
import { quoteInput, VeriteeError } from '@veritee/core';
import { COLLECT_LIMITS, collectTelemetry, parseClassificationRules, summarizeTelemetry, type CompiledRules } from '@veritee/control-plane';
import { assertWritable, readTextFile, writeJsonFile } from '../io.js';

/** Largest --rules file read (rules are a few KiB). */
const MAX_RULES_BYTES = 1024 * 1024;

interface CollectOpts {
  samples: string;
  interval: string;
  processes: string;
  rules?: string;
  out?: string;
}

/** Where the command writes; tests pass their own. */
export interface CollectIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const defaultIo: CollectIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

function bad(flag: string, value: string, why: string): VeriteeError {
  return new VeriteeError('TELEMETRY_OPTIONS_INVALID', `${flag} ${quoteInput(value, 40)}: ${why}`, { flag });
}

/** A whole number within [min, max], naming the flag otherwise. */
export function parseCountFlag(flag: string, value: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(value.trim())) throw bad(flag, value, `must be a whole number from ${min} to ${max}`);
  const n = Number(value.trim());
  if (!Number.isSafeInteger(n) || n < min || n > max) throw bad(flag, value, `must be from ${min} to ${max}`);
  return n;
}

/** "250ms", "1s", "1.5s", "2m" → milliseconds; a unit is required. */
export function parseIntervalFlag(flag: string, value: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$/.exec(value.trim());
  if (!m) throw bad(flag, value, 'must be a duration with a unit, such as 500ms, 1s or 1m');
  const exact = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  const ms = Math.round(exact);
  // Refuse rather than round: "1.0005s" is not a whole number of milliseconds.
  if (Math.abs(exact - ms) > 1e-6) throw bad(flag, value, 'must be a whole number of milliseconds');
  const { min, max } = COLLECT_LIMITS.intervalMs;
  if (ms < min || ms > max) throw bad(flag, value, `must be from ${min}ms to ${max / 60_000}m`);
  return ms;
}

export function registerCollectCommands(program: Command, io: CollectIo = defaultIo): void {
  program
    .command('collect')
    .description('measure this machine (per-process memory and CPU, swap, page faults, disk usage, I/O queue depth) into a telemetry window')
    .option('--samples <n>', 'number of samples', '60')
    .option('--interval <duration>', 'time between samples (500ms, 1s, 1m)', '1s')
    .option('--processes <n>', 'keep the top N processes by peak RSS; the rest become one "other" row per owner', '256')
    .option('--rules <file>', 'process classification rules, YAML or JSON (default: the built-in rules, see packages/control-plane/README.md)')
    .option('--out <file>', 'write the telemetry window JSON here (default: stdout, summary on stderr)')
    .action(async (o: CollectOpts) => {
      // Check every flag before measuring anything.
      const samples = parseCountFlag('--samples', o.samples, COLLECT_LIMITS.samples.min, COLLECT_LIMITS.samples.max);
      const intervalMs = parseIntervalFlag('--interval', o.interval);
      const maxProcesses = parseCountFlag('--processes', o.processes, COLLECT_LIMITS.maxProcesses.min, COLLECT_LIMITS.maxProcesses.max);
      let rules: CompiledRules | undefined;
      if (o.rules !== undefined) rules = parseClassificationRules(readTextFile(o.rules, '--rules file', { maxBytes: MAX_RULES_BYTES }), `--rules ${quoteInput(o.rules, 200)}`);
      if (o.out !== undefined && o.out.trim() === '') throw bad('--out', o.out, 'must be a file path');
      if (o.out !== undefined) assertWritable(o.out);

      const summaryTo = o.out !== undefined ? io.stdout : io.stderr;
      io.stderr(`collecting ${samples} samples every ${intervalMs} ms (about ${((samples * intervalMs) / 1000).toFixed(1)} s)…\n`);
      const window = await collectTelemetry({ samples, intervalMs, maxProcesses, ...(rules ? { rules } : {}) });
      if (o.out !== undefined) writeJsonFile(o.out, window);
      else io.stdout(JSON.stringify(window) + '\n');
      summaryTo(summarizeTelemetry(window).join('\n') + '\n');
      if (o.out !== undefined) summaryTo(`window written to ${o.out}\n`);
    });
}
