/**
 * @module telemetry/sampler
 * Samples the machine `samples` times, `intervalMs` apart, into one
 * {@link TelemetryWindow}.
 *
 * INVARIANT (what the autoscaling circuits rely on): the process list is fixed at
 * the start of the window (the baseline reading, one interval before the first
 * sample) and appears in every sample in ascending pid order, with its owner and
 * command name as they were at the start. A process that exits later reads 0 from
 * then on and is named in `errors`; processes started during the window are not
 * tracked (their CPU is still inside `cpuBusyPermille`) and are counted in
 * `errors`. Nothing is dropped without a note, and nothing short of an unreadable
 * /proc/stat or /proc/meminfo stops the collection.
 *
 * Timing: sample k (1-based) is taken at start + k × interval (no drift from slow
 * reads), but never less than half an interval after the previous sample (after a
 * stall, the grid is caught up gradually rather than with back-to-back samples).
 * Each sample describes the interval since the previous reading, using the
 * measured elapsed time, not the nominal one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { VeriteeError } from '@veritee/core';
import { classifyProcess, compileClassificationRules, defaultClassificationRules, type ClassificationRules, type CompiledRules, type Owner } from './classify.js';
import { averageQueueDepth, parseDiskstats, parseMountinfo, selectMounts, usageFromStatfs, type DiskstatsEntry, type MountinfoEntry } from './disks.js';
import { parseMeminfo, parseProcPidCgroup, parseProcPidStat, parseProcPidStatus, parseProcStat, parseVmstat, type Meminfo, type ProcStat, type Vmstat } from './proc.js';
import { describeError, errnoOf, getconf, linuxSource, type TelemetrySource } from './source.js';
import { limitProcesses, TelemetryWindowSchema, type MountTelemetry, type ProcessSample, type TelemetryError, type TelemetrySample, type TelemetryWindow } from './window.js';

export interface CollectOptions {
  /** Number of samples (default 60). */
  samples?: number;
  /** Milliseconds between samples (default 1000). */
  intervalMs?: number;
  /** Keep the top N processes by peak RSS, the rest summed per owner (default: keep all). */
  maxProcesses?: number;
  /** Classification rules, compiled or raw (default {@link defaultClassificationRules}). */
  rules?: CompiledRules | ClassificationRules;
  /** Where to read the machine (default: the real /proc and statfs). */
  source?: TelemetrySource;
  /** Root of procfs in `source` (default `/proc`). */
  procRoot?: string;
  /** The collector's pid for the `self` rule (default `process.pid`). */
  selfPid?: number;
  /** USER_HZ (default `getconf CLK_TCK`, 100 if that fails, noted in errors). */
  clockTicksPerSecond?: number;
  /** Page size in bytes (default `getconf PAGESIZE`, 4096 if that fails, noted in errors). */
  pageSize?: number;
  signal?: AbortSignal;
  /** Called after each sample (0-based index), awaited before the next one. */
  onSample?: (index: number, sample: TelemetrySample) => void | Promise<void>;
}

export const COLLECT_LIMITS = {
  samples: { min: 1, max: 86_400 },
  intervalMs: { min: 10, max: 3_600_000 },
  maxProcesses: { min: 1, max: 1_000_000 },
} as const;

const MAX_ERRORS = 500;

/** Notes for the window's `errors`; a repeated key bumps a count instead of adding a line. */
class Notes {
  private readonly list: { what: string; detail: string; count: number }[] = [];
  private readonly byKey = new Map<string, { count: number }>();
  private dropped = 0;

  add(what: string, detail: string, key?: string): void {
    const k = key === undefined ? undefined : `${what}\u0000${key}`;
    const prev = k === undefined ? undefined : this.byKey.get(k);
    if (prev) {
      prev.count++;
      return;
    }
    if (this.list.length >= MAX_ERRORS) {
      this.dropped++;
      return;
    }
    const n = { what, detail, count: 1 };
    this.list.push(n);
    if (k !== undefined) this.byKey.set(k, n);
  }

  toErrors(): TelemetryError[] {
    const out = this.list.map((n) => ({ what: n.what, detail: n.count > 1 ? `${n.detail} (${n.count} times)` : n.detail }));
    if (this.dropped > 0) out.push({ what: 'errors-truncated', detail: `${this.dropped} more notes were left out after the first ${MAX_ERRORS}` });
    return out;
  }
}

interface Tracked {
  pid: number;
  comm: string;
  owner: Owner;
  startTimeTicks: number;
  lastTicks: number;
  lastAtMs: number;
  vanished: boolean;
}

interface TrackedMount {
  entry: MountinfoEntry;
  key: string;
  last: DiskstatsEntry | null;
  queueDepthSamples: number[];
  inFlightSamples: number[];
}

/** A monotonic reading (performance.now()) as wall-clock microseconds; one reading serves both, so a descheduled process cannot put the two apart. */
const toUs = (atMs: number): number => Math.round((performance.timeOrigin + atMs) * 1000);

function checkOption(name: keyof typeof COLLECT_LIMITS, v: number): number {
  const { min, max } = COLLECT_LIMITS[name];
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new VeriteeError('TELEMETRY_OPTIONS_INVALID', `${name} must be an integer from ${min} to ${max} (got ${v})`);
  }
  return v;
}

const gone = (e: unknown) => {
  const c = errnoOf(e);
  return c === 'ENOENT' || c === 'ESRCH';
};

/**
 * Measures this machine over a window and returns the telemetry window.
 *
 * @example
 * const w = await collectTelemetry({ samples: 60, intervalMs: 1000, maxProcesses: 256 });
 * console.log(w.samples.length, w.mounts.map((m) => m.path), w.errors);
 */
export async function collectTelemetry(opts: CollectOptions = {}): Promise<TelemetryWindow> {
  const n = checkOption('samples', opts.samples ?? 60);
  const intervalMs = checkOption('intervalMs', opts.intervalMs ?? 1000);
  const maxProcesses = opts.maxProcesses === undefined ? undefined : checkOption('maxProcesses', opts.maxProcesses);
  const rules = opts.rules === undefined ? defaultClassificationRules() : compileClassificationRules(opts.rules);
  if (opts.source === undefined && process.platform !== 'linux') {
    throw new VeriteeError('TELEMETRY_UNAVAILABLE', `the collector reads Linux /proc; this machine runs ${process.platform}`);
  }
  const procRoot = opts.procRoot ?? '/proc';
  const src = opts.source ?? linuxSource(procRoot);
  const selfPid = opts.selfPid ?? process.pid;
  const notes = new Notes();

  // Ask getconf before the baseline, so its short-lived process is not seen.
  let clk = opts.clockTicksPerSecond;
  if (clk === undefined) {
    clk = getconf('CLK_TCK') ?? undefined;
    if (clk === undefined) {
      clk = 100; // USER_HZ is 100 on every mainstream Linux architecture
      notes.add('clock-ticks-assumed', '`getconf CLK_TCK` failed; assuming 100 ticks per second');
    }
  }
  let pageSize = opts.pageSize;
  if (pageSize === undefined) {
    pageSize = getconf('PAGESIZE') ?? undefined;
    if (pageSize === undefined) {
      pageSize = 4096;
      notes.add('page-size-assumed', '`getconf PAGESIZE` failed; assuming 4096 bytes');
    }
  }
  for (const [name, v] of [['clockTicksPerSecond', clk], ['pageSize', pageSize]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new VeriteeError('TELEMETRY_OPTIONS_INVALID', `${name} must be a positive integer (got ${v})`);
  }

  const path = (...p: (string | number)[]) => [procRoot, ...p].join('/');
  const required = <T>(file: string, parse: (text: string, file: string) => T): T => {
    let text: string;
    try {
      text = src.readText(file);
    } catch (e) {
      throw new VeriteeError('TELEMETRY_UNAVAILABLE', `${file} cannot be read (${describeError(e)}); is this Linux with procfs mounted?`, undefined, { cause: e });
    }
    return parse(text, file);
  };
  /** Reads and parses an optional source; on failure notes it (once per kind) and returns null. */
  const optional = <T>(file: string, parse: (text: string, file: string) => T, sample: number): T | null => {
    try {
      return parse(src.readText(file), file);
    } catch (e) {
      notes.add('source-unreadable', `${file} at sample ${sample}: ${describeError(e)}`, file);
      return null;
    }
  };

  // ---- 1. baseline: the process set, the mounts, then the machine counters -----------------
  // Read /proc/stat once up front only to fail fast when procfs is missing.
  required(path('stat'), parseProcStat);
  let pids: number[];
  try {
    pids = src.listPids().sort((a, b) => a - b);
  } catch (e) {
    throw new VeriteeError('TELEMETRY_UNAVAILABLE', `cannot list ${procRoot} (${describeError(e)})`, undefined, { cause: e });
  }
  const tracked: Tracked[] = [];
  for (const pid of pids) {
    let ps;
    try {
      ps = parseProcPidStat(src.readText(path(pid, 'stat')), path(pid, 'stat'));
    } catch (e) {
      if (gone(e)) notes.add('process-vanished', `pid ${pid} exited before the window started; not included`);
      else notes.add('process-unreadable', `pid ${pid}: ${describeError(e)}; not included`);
      continue;
    }
    if (ps.state === 'Z' || ps.state === 'X') {
      notes.add('process-zombie', `pid ${pid} (${ps.comm}) had exited (zombie) at the start; not included`);
      continue;
    }
    let uid: number | undefined;
    try {
      uid = parseProcPidStatus(src.readText(path(pid, 'status')), path(pid, 'status')).uid;
    } catch (e) {
      if (gone(e)) {
        notes.add('process-vanished', `pid ${pid} (${ps.comm}) exited before the window started; not included`);
        continue;
      }
      notes.add('process-unreadable', `pid ${pid} (${ps.comm}) ${path(pid, 'status')}: ${describeError(e)}; uid unknown, uid rules skipped`);
    }
    let cgroups: string[] = [];
    try {
      cgroups = parseProcPidCgroup(src.readText(path(pid, 'cgroup')), path(pid, 'cgroup')).map((c) => c.path);
    } catch (e) {
      if (gone(e)) {
        notes.add('process-vanished', `pid ${pid} (${ps.comm}) exited before the window started; not included`);
        continue;
      }
      notes.add('process-unreadable', `pid ${pid} (${ps.comm}) ${path(pid, 'cgroup')}: ${describeError(e)}; cgroup rules skipped`);
    }
    const { owner } = classifyProcess({ pid, comm: ps.comm, uid, cgroups, kernelThread: ps.kernelThread, self: pid === selfPid }, rules);
    tracked.push({
      pid,
      comm: ps.comm,
      owner,
      startTimeTicks: ps.startTimeTicks,
      lastTicks: ps.utimeTicks + ps.stimeTicks,
      lastAtMs: performance.now(),
      vanished: false,
    });
  }
  const known = new Set(pids);
  const newPids: number[] = [];

  const mountinfo = optional(path('self', 'mountinfo'), parseMountinfo, 0);
  const mounts: TrackedMount[] = (mountinfo ? selectMounts(mountinfo) : []).map((entry) => ({
    entry,
    key: `${entry.major}:${entry.minor}`,
    last: null,
    queueDepthSamples: [],
    inFlightSamples: [],
  }));
  const diskMap = (list: DiskstatsEntry[] | null) => new Map((list ?? []).map((d) => [`${d.major}:${d.minor}`, d]));

  // The window starts here: machine counters read last, so the (longer) process scan
  // above does not shorten the first interval.
  let prevAtMs = performance.now();
  const startedAtUs = toUs(prevAtMs);
  let stat: ProcStat = required(path('stat'), parseProcStat);
  let mem: Meminfo = required(path('meminfo'), parseMeminfo);
  let vm: Vmstat | null = optional(path('vmstat'), parseVmstat, 0);
  if (vm && vm.missing.length) notes.add('vmstat-missing', `${path('vmstat')} has no ${vm.missing.join(', ')}; read as 0`);
  const cpuCount = stat.cpuCount;
  const disks0 = mounts.length ? optional(path('diskstats'), parseDiskstats, 0) : null;
  const dm0 = diskMap(disks0);
  for (const m of mounts) {
    m.last = dm0.get(m.key) ?? null;
    if (!m.last && disks0) {
      notes.add('mount-no-diskstats', `${m.entry.mountPoint} (${m.entry.fsType} on ${m.entry.source}, device ${m.key}) is not in /proc/diskstats; no queue depth`);
    }
  }

  // ---- 2. samples ----------------------------------------------------------------------
  const t0 = prevAtMs;
  const samples: TelemetrySample[] = [];
  for (let k = 1; k <= n; k++) {
    // On the grid (start + k × interval) unless a late sample pushed us off it; then at
    // least half an interval after the previous one, so no rate is taken over ~0 ms.
    // Timers round to whole milliseconds and may fire early: sleep until the target is reached.
    const target = Math.max(t0 + k * intervalMs, prevAtMs + intervalMs / 2);
    opts.signal?.throwIfAborted();
    for (let wait = target - performance.now(); wait > 0; wait = target - performance.now()) {
      await sleep(Math.ceil(wait), undefined, opts.signal ? { signal: opts.signal } : undefined);
    }
    const atMs = performance.now();
    const atUs = toUs(atMs);
    const elapsedMs = atMs - prevAtMs;
    prevAtMs = atMs;

    // Machine CPU.
    let cpuBusyPermille = 0;
    const st = optional(path('stat'), parseProcStat, k);
    if (st) {
      const dTotal = st.totalTicks - stat.totalTicks;
      const dBusy = st.busyTicks - stat.busyTicks;
      if (dTotal > 0 && dBusy >= 0) cpuBusyPermille = Math.min(1000, Math.round((dBusy * 1000) / dTotal));
      else if (dTotal < 0 || dBusy < 0) notes.add('counter-reset', `${path('stat')} CPU counters went backwards at sample ${k}; read as 0`, 'stat');
      stat = st;
    }
    // Memory and swap.
    const mi = optional(path('meminfo'), parseMeminfo, k);
    if (mi) mem = mi;
    const vmk = optional(path('vmstat'), parseVmstat, k);
    const delta = (name: string, cur: number, prev: number) => {
      if (cur >= prev) return cur - prev;
      notes.add('counter-reset', `${path('vmstat')} ${name} went backwards at sample ${k}; read as 0`, name);
      return 0;
    };
    const vmDelta = vmk && vm
      ? {
          swapInPages: delta('pswpin', vmk.swapInPages, vm.swapInPages),
          swapOutPages: delta('pswpout', vmk.swapOutPages, vm.swapOutPages),
          pageFaults: delta('pgfault', vmk.pageFaults, vm.pageFaults),
          majorFaults: delta('pgmajfault', vmk.majorFaults, vm.majorFaults),
        }
      : { swapInPages: 0, swapOutPages: 0, pageFaults: 0, majorFaults: 0 };
    if (vmk) vm = vmk;

    // Processes, in pid order.
    const processes: ProcessSample[] = [];
    for (const t of tracked) {
      const row: ProcessSample = { pid: t.pid, comm: t.comm, rssBytes: 0, cpuPermille: 0, owner: t.owner };
      processes.push(row);
      if (t.vanished) continue;
      const file = path(t.pid, 'stat');
      let ps;
      try {
        ps = parseProcPidStat(src.readText(file), file);
      } catch (e) {
        if (gone(e)) {
          t.vanished = true;
          notes.add('process-vanished', `pid ${t.pid} (${t.comm}, ${t.owner}) exited before sample ${k}; reads 0 from then on`);
        } else {
          notes.add('process-unreadable', `pid ${t.pid} (${t.comm}) ${file} from sample ${k}: ${describeError(e)}; read as 0`, String(t.pid));
        }
        continue;
      }
      if (ps.startTimeTicks !== t.startTimeTicks || ps.state === 'Z' || ps.state === 'X') {
        t.vanished = true;
        const why = ps.startTimeTicks !== t.startTimeTicks ? 'exited (its pid now belongs to another process)' : 'exited (zombie)';
        notes.add('process-vanished', `pid ${t.pid} (${t.comm}, ${t.owner}) ${why} before sample ${k}; reads 0 from then on`);
        continue;
      }
      const ticks = ps.utimeTicks + ps.stimeTicks;
      const dt = atMs - t.lastAtMs;
      // ticks / clk = CPU seconds; / (dt s × cpuCount) = share of the machine; × 1000 = per mille.
      row.cpuPermille = dt > 0 ? Math.max(0, Math.round(((ticks - t.lastTicks) * 1e6) / (clk * dt * cpuCount))) : 0;
      // stat's rss (field 24) is get_mm_rss(): the same counter as VmRSS in status and resident in statm.
      row.rssBytes = ps.rssPages * pageSize;
      t.lastTicks = ticks;
      t.lastAtMs = atMs;
    }
    try {
      for (const pid of src.listPids()) {
        if (!known.has(pid)) {
          known.add(pid);
          newPids.push(pid);
        }
      }
    } catch (e) {
      notes.add('source-unreadable', `cannot list ${procRoot} at sample ${k}: ${describeError(e)}; new processes not counted`, 'listPids');
    }

    // Disks.
    const dk = mounts.some((m) => m.last) ? optional(path('diskstats'), parseDiskstats, k) : null;
    const dm = diskMap(dk);
    for (const m of mounts) {
      if (!m.last) continue;
      const cur = dk ? dm.get(m.key) : undefined;
      if (!cur) {
        if (dk) notes.add('mount-diskstats-missing', `${m.entry.mountPoint} (device ${m.key}) left /proc/diskstats at sample ${k}; queue depth read as 0`, m.key);
        m.queueDepthSamples.push(0);
        m.inFlightSamples.push(0);
        continue;
      }
      const q = averageQueueDepth(m.last, cur, elapsedMs);
      if (q === null) notes.add('counter-reset', `/proc/diskstats weighted I/O time of ${m.key} went backwards at sample ${k}; read as 0`, m.key);
      m.queueDepthSamples.push(q ?? 0);
      m.inFlightSamples.push(cur.inFlight);
      m.last = cur;
    }

    const sample: TelemetrySample = {
      atUs,
      processes,
      cpuBusyPermille,
      memAvailableBytes: mem.memAvailableBytes,
      swapUsedBytes: Math.max(0, mem.swapTotalBytes - mem.swapFreeBytes),
      ...vmDelta,
    };
    samples.push(sample);
    if (opts.onSample) await opts.onSample(k - 1, sample);
  }

  // ---- 3. mount usage at the end of the window --------------------------------------------
  const mountRows: MountTelemetry[] = [];
  for (const m of mounts) {
    let usage;
    try {
      usage = usageFromStatfs(src.statfs(m.entry.mountPoint));
    } catch (e) {
      notes.add('mount-unreadable', `${m.entry.mountPoint} (${m.entry.fsType}): statfs failed: ${describeError(e)}; mount left out`);
      continue;
    }
    if (usage.bytesTotal === 0) {
      notes.add('mount-empty', `${m.entry.mountPoint} (${m.entry.fsType}) reports a size of 0 bytes; mount left out`);
      continue;
    }
    mountRows.push({
      path: m.entry.mountPoint,
      fsType: m.entry.fsType,
      device: m.entry.source,
      majorMinor: m.key,
      ...usage,
      queueDepthSamples: m.queueDepthSamples,
      inFlightSamples: m.inFlightSamples,
    });
  }
  if (newPids.length > 0) {
    const shown = newPids.slice(0, 20).join(', ');
    notes.add(
      'process-new',
      `${newPids.length} process(es) started during the window and are not tracked (pid ${shown}${newPids.length > 20 ? ', …' : ''}); their CPU is inside cpuBusyPermille`,
    );
  }

  let window: TelemetryWindow = {
    version: 1,
    startedAtUs,
    endedAtUs: Math.max(startedAtUs, samples[samples.length - 1]!.atUs),
    intervalMs,
    clockTicksPerSecond: clk,
    cpuCount,
    memTotalBytes: mem.memTotalBytes,
    swapTotalBytes: mem.swapTotalBytes,
    samples,
    mounts: mountRows,
    errors: notes.toErrors(),
  };
  if (maxProcesses !== undefined) window = limitProcesses(window, maxProcesses);
  const checked = TelemetryWindowSchema.safeParse(window);
  if (!checked.success) {
    throw new VeriteeError('INTERNAL', `the collector produced an inconsistent window: ${checked.error.issues[0]?.message ?? 'unknown'}`);
  }
  return checked.data;
}
