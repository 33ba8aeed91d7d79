/**
 * @module telemetry/window
 * The telemetry window: what one collection measured, in the shape the
 * autoscaling claims take as private input. Defined once with zod; the schema
 * also checks the invariants the circuits rely on (one fixed process list, in
 * pid order, in every sample; per-mount series as long as the window or empty).
 *
 * Units: bytes, pages (swap), counts (faults), per-mille (CPU), microseconds
 * since the epoch (times), milliseconds (interval), requests in flight (queue depth).
 */
import { z } from 'zod';
import { VeriteeError } from '@veritee/core';
import { OwnerSchema, type Owner } from './classify.js';

const count = z.number().int().min(0);

export const ProcessSampleSchema = z.strictObject({
  /** Process id; 0 for an aggregated "other" row. */
  pid: count,
  /** Command name at the start of the window (`other` for aggregated rows). */
  comm: z.string(),
  /** Resident set size at the sample instant. */
  rssBytes: count,
  /** CPU used over the interval ending at this sample, per mille of the whole machine (all CPUs). */
  cpuPermille: count,
  owner: OwnerSchema,
  /** Aggregated rows only: how many processes the row sums. */
  aggregated: z.number().int().min(1).optional(),
});

export const TelemetrySampleSchema = z.strictObject({
  /** End of the interval this sample describes. */
  atUs: count,
  processes: z.array(ProcessSampleSchema),
  /** Machine CPU busy (not idle, not iowait) over the interval, per mille, from /proc/stat. */
  cpuBusyPermille: count,
  /** MemAvailable at the sample instant. */
  memAvailableBytes: count,
  /** SwapTotal − SwapFree at the sample instant. */
  swapUsedBytes: count,
  /** Pages swapped in / out during the interval (Δ pswpin / pswpout). */
  swapInPages: count,
  swapOutPages: count,
  /** Page faults (minor + major) / major faults during the interval (Δ pgfault / pgmajfault). */
  pageFaults: count,
  majorFaults: count,
});

export const MountTelemetrySchema = z.strictObject({
  /** Mount point. */
  path: z.string().min(1),
  fsType: z.string().min(1),
  /** Mount source (`/dev/vda1`, `overlay`, …). */
  device: z.string(),
  /** Block device number, `major:minor`. */
  majorMinor: z.string().regex(/^[0-9]+:[0-9]+$/),
  bytesUsed: count,
  bytesAvailable: count,
  bytesTotal: count,
  inodesUsed: count,
  inodesTotal: count,
  /** Average I/O queue depth over each interval (Δ weighted I/O ms / Δ ms); empty if the device is not in /proc/diskstats. */
  queueDepthSamples: z.array(z.number().min(0)),
  /** I/Os in flight at each sample instant; empty if the device is not in /proc/diskstats. */
  inFlightSamples: z.array(count),
});

export const TelemetryErrorSchema = z.strictObject({
  /** A short kind: process-vanished, process-unreadable, mount-unreadable, mount-no-diskstats, … (README). */
  what: z.string().min(1),
  detail: z.string(),
});

export const TelemetryWindowSchema = z
  .strictObject({
    version: z.literal(1),
    startedAtUs: count,
    endedAtUs: count,
    /** Nominal interval between samples (the measured one is in the atUs differences). */
    intervalMs: z.number().int().min(1),
    /** USER_HZ used to turn CPU ticks into time. */
    clockTicksPerSecond: z.number().int().min(1),
    cpuCount: z.number().int().min(1),
    memTotalBytes: z.number().int().min(1),
    swapTotalBytes: count,
    samples: z.array(TelemetrySampleSchema).min(1),
    mounts: z.array(MountTelemetrySchema),
    errors: z.array(TelemetryErrorSchema),
  })
  .superRefine((w, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (w.endedAtUs < w.startedAtUs) issue(['endedAtUs'], 'the window ends before it starts');
    // zod still runs this refinement after a non-fatal issue (an empty samples array).
    if (w.samples.length === 0) return;
    const first = w.samples[0]!.processes;
    // Real processes in ascending pid order, then at most one aggregated row per owner.
    let lastPid = 0;
    const aggregatedOwners = new Set<Owner>();
    first.forEach((p, i) => {
      if (p.pid === 0) {
        if (p.aggregated === undefined) issue(['samples', 0, 'processes', i, 'aggregated'], 'a pid 0 row must be an aggregated row');
        if (aggregatedOwners.has(p.owner)) issue(['samples', 0, 'processes', i], `two aggregated rows for ${p.owner}`);
        aggregatedOwners.add(p.owner);
      } else {
        if (p.aggregated !== undefined) issue(['samples', 0, 'processes', i, 'aggregated'], 'only pid 0 rows are aggregated');
        if (aggregatedOwners.size > 0 || p.pid <= lastPid) issue(['samples', 0, 'processes', i, 'pid'], 'processes must be in ascending pid order, aggregated rows last');
        lastPid = p.pid;
      }
    });
    let lastAt = w.startedAtUs;
    w.samples.forEach((s, k) => {
      if (s.atUs < lastAt || s.atUs > w.endedAtUs) issue(['samples', k, 'atUs'], 'sample times must increase within the window');
      lastAt = s.atUs;
      if (s.processes.length !== first.length) {
        issue(['samples', k, 'processes'], `${s.processes.length} processes, the first sample has ${first.length}`);
        return;
      }
      s.processes.forEach((p, i) => {
        const f = first[i]!;
        if (p.pid !== f.pid || p.owner !== f.owner || p.comm !== f.comm || p.aggregated !== f.aggregated) {
          issue(['samples', k, 'processes', i], `process row differs from the first sample (pid ${p.pid} vs ${f.pid})`);
        }
      });
    });
    w.mounts.forEach((m, j) => {
      for (const key of ['queueDepthSamples', 'inFlightSamples'] as const) {
        if (m[key].length !== 0 && m[key].length !== w.samples.length) {
          issue(['mounts', j, key], `${m[key].length} values for ${w.samples.length} samples`);
        }
      }
    });
  });

export type ProcessSample = z.output<typeof ProcessSampleSchema>;
export type TelemetrySample = z.output<typeof TelemetrySampleSchema>;
export type MountTelemetry = z.output<typeof MountTelemetrySchema>;
export type TelemetryError = z.output<typeof TelemetryErrorSchema>;
export type TelemetryWindow = z.output<typeof TelemetryWindowSchema>;

/** Validates a window read from a file or the network, naming `what` and the first bad field. */
export function parseTelemetryWindow(input: unknown, what = 'telemetry window'): TelemetryWindow {
  const r = TelemetryWindowSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  throw new VeriteeError('TELEMETRY_WINDOW_INVALID', `${what}: ${where ? `${where}: ` : ''}${issue.message}`);
}

/**
 * Keeps the `max` processes with the highest peak RSS over the window (ties: lower
 * pid first) and sums the rest into one `other` row per owner (pid 0, placed after
 * the real processes, platform first). Sample totals per owner are unchanged.
 */
export function limitProcesses(w: TelemetryWindow, max: number): TelemetryWindow {
  if (!Number.isSafeInteger(max) || max < 1) throw new VeriteeError('TELEMETRY_OPTIONS_INVALID', `maxProcesses must be a positive integer (got ${max})`);
  const rows = w.samples[0]!.processes;
  const real = rows.map((p, i) => ({ p, i })).filter(({ p }) => p.aggregated === undefined);
  if (real.length <= max) return w;
  const peak = (i: number) => Math.max(...w.samples.map((s) => s.processes[i]!.rssBytes));
  const ranked = real.map(({ p, i }) => ({ pid: p.pid, i, peak: peak(i) })).sort((a, b) => b.peak - a.peak || a.pid - b.pid);
  const keep = new Set(ranked.slice(0, max).map((r) => r.i));
  const folded = { platform: [] as number[], customer: [] as number[] };
  rows.forEach((p, i) => {
    if (!keep.has(i)) folded[p.owner].push(i);
  });
  const samples = w.samples.map((s) => {
    const kept = s.processes.filter((_, i) => keep.has(i));
    const other: ProcessSample[] = [];
    for (const owner of ['platform', 'customer'] as const) {
      const idx = folded[owner];
      if (idx.length === 0) continue;
      let rssBytes = 0;
      let cpuPermille = 0;
      let aggregated = 0;
      for (const i of idx) {
        const p = s.processes[i]!;
        rssBytes += p.rssBytes;
        cpuPermille += p.cpuPermille;
        aggregated += p.aggregated ?? 1;
      }
      other.push({ pid: 0, comm: 'other', rssBytes, cpuPermille, owner, aggregated });
    }
    return { ...s, processes: [...kept, ...other] };
  });
  return { ...w, samples };
}
