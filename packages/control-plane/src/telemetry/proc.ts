/**
 * @module telemetry/proc
 * Pure parsers for the process and machine files of /proc (proc(5)), tested on
 * captured text. They throw `TELEMETRY_SOURCE_MALFORMED` naming the file when a
 * required field is missing; optional fields absent on older kernels read as 0
 * and are listed in `missing` where a caller may want to say so.
 *
 * Units: memory in bytes (the kernel's "kB" is KiB), CPU time in clock ticks
 * (USER_HZ, `getconf CLK_TCK`, 100 on every mainstream architecture), counters as
 * the kernel's raw cumulative values; the sampler turns them into per-interval
 * deltas.
 */
import { VeriteeError } from '@veritee/core';

function malformed(file: string, why: string): VeriteeError {
  return new VeriteeError('TELEMETRY_SOURCE_MALFORMED', `${file} is malformed: ${why}`);
}

function toCount(s: string | undefined, file: string, field: string): number {
  if (s === undefined || !/^[0-9]+$/.test(s)) throw malformed(file, `field ${field} is ${s === undefined ? 'missing' : `"${s}", not a count`}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw malformed(file, `field ${field} (${s}) does not fit a safe integer`);
  return n;
}

// ---- /proc/<pid>/stat ----------------------------------------------------------------------

/** The fields of /proc/<pid>/stat the collector uses. */
export interface ProcPidStat {
  pid: number;
  /** Command name (`comm`), at most 15 bytes, may contain spaces and parentheses. */
  comm: string;
  /** R, S, D, Z (zombie), X (dead), T, t, I, … */
  state: string;
  ppid: number;
  /** Kernel PF_* flags (field 9). */
  flags: number;
  /** True for kernel threads (PF_KTHREAD). */
  kernelThread: boolean;
  /** User-mode CPU time in clock ticks (field 14). */
  utimeTicks: number;
  /** Kernel-mode CPU time in clock ticks (field 15). */
  stimeTicks: number;
  /** Start time after boot, in clock ticks (field 22); with the pid, identifies the process. */
  startTimeTicks: number;
  /** Resident set size in pages (field 24); a fallback when status is unreadable. */
  rssPages: number;
}

const PF_KTHREAD = 0x00200000;

/**
 * Parses /proc/<pid>/stat. `comm` sits between the first "(" and the LAST ")",
 * since a command may be named `a) (b` and the kernel does not escape it.
 */
export function parseProcPidStat(text: string, file = '/proc/<pid>/stat'): ProcPidStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw malformed(file, 'no "(comm)" field');
  const pid = toCount(text.slice(0, open).trim(), file, 'pid');
  const comm = text.slice(open + 1, close);
  // rest[0] is field 3 (state): field n is rest[n - 3].
  const rest = text.slice(close + 1).trim().split(/\s+/);
  if (rest.length < 22) throw malformed(file, `${rest.length + 2} fields, at least 24 expected`);
  const f = (n: number, name: string) => toCount(rest[n - 3], file, `${n} (${name})`);
  const flags = f(9, 'flags');
  return {
    pid,
    comm,
    state: rest[0]!,
    ppid: f(4, 'ppid'),
    flags,
    kernelThread: (flags & PF_KTHREAD) !== 0,
    utimeTicks: f(14, 'utime'),
    stimeTicks: f(15, 'stime'),
    startTimeTicks: f(22, 'starttime'),
    rssPages: f(24, 'rss'),
  };
}

// ---- /proc/<pid>/status --------------------------------------------------------------------

/** The fields of /proc/<pid>/status the collector uses. */
export interface ProcPidStatus {
  name: string;
  /** Real uid (first of the four on the `Uid:` line). */
  uid: number;
  /** `VmRSS`; 0 for kernel threads and zombies, which have no such line. */
  rssBytes: number;
}

export function parseProcPidStatus(text: string, file = '/proc/<pid>/status'): ProcPidStatus {
  let name: string | undefined;
  let uid: number | undefined;
  let rssBytes = 0;
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const key = line.slice(0, i);
    const value = line.slice(i + 1).trim();
    if (key === 'Name') name = value;
    else if (key === 'Uid') uid = toCount(value.split(/\s+/)[0], file, 'Uid');
    else if (key === 'VmRSS') rssBytes = kibToBytes(value, file, 'VmRSS');
  }
  if (name === undefined) throw malformed(file, 'no Name line');
  if (uid === undefined) throw malformed(file, 'no Uid line');
  return { name, uid, rssBytes };
}

function kibToBytes(value: string, file: string, field: string): number {
  const m = /^([0-9]+)\s*kB$/.exec(value);
  if (!m) throw malformed(file, `${field} is "${value}", expected "<n> kB"`);
  return toCount(m[1], file, field) * 1024;
}

// ---- /proc/<pid>/cgroup --------------------------------------------------------------------

export interface CgroupEntry {
  /** Hierarchy id; 0 is the unified (v2) hierarchy. */
  hierarchy: number;
  /** Controllers of a v1 hierarchy ("memory", "cpu,cpuacct", "name=systemd"); empty for v2. */
  controllers: string;
  /** Path inside the hierarchy, as seen from our cgroup namespace. */
  path: string;
}

/** Parses /proc/<pid>/cgroup (`hierarchy-ID:controller-list:cgroup-path` per line). */
export function parseProcPidCgroup(text: string, file = '/proc/<pid>/cgroup'): CgroupEntry[] {
  const out: CgroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) throw malformed(file, `line "${line}" is not id:controllers:path`);
    // The path may itself contain ':' (it is the rest of the line).
    out.push({ hierarchy: toCount(line.slice(0, a), file, 'hierarchy-ID'), controllers: line.slice(a + 1, b), path: line.slice(b + 1) });
  }
  return out;
}

// ---- /proc/stat ----------------------------------------------------------------------------

export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface ProcStat {
  /** Online CPUs: the number of `cpuN` lines. */
  cpuCount: number;
  /** The aggregate `cpu` line, in clock ticks summed over all CPUs. */
  cpu: CpuTimes;
  /** user+nice+system+idle+iowait+irq+softirq+steal (guest time is already inside user/nice). */
  totalTicks: number;
  /** totalTicks − idle − iowait. */
  busyTicks: number;
  /** Boot time, seconds since the epoch (`btime`), or null if absent. */
  bootTimeSec: number | null;
}

export function parseProcStat(text: string, file = '/proc/stat'): ProcStat {
  let cpu: CpuTimes | undefined;
  let cpuCount = 0;
  let bootTimeSec: number | null = null;
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    const key = parts[0];
    if (key === 'cpu') {
      // Older kernels print fewer columns: absent ones are 0. At least user, nice, system, idle.
      if (parts.length < 5) throw malformed(file, `the cpu line has ${parts.length - 1} columns, at least 4 expected`);
      const v = (i: number, name: string) => (parts[i] === undefined ? 0 : toCount(parts[i], file, `cpu ${name}`));
      cpu = {
        user: v(1, 'user'),
        nice: v(2, 'nice'),
        system: v(3, 'system'),
        idle: v(4, 'idle'),
        iowait: v(5, 'iowait'),
        irq: v(6, 'irq'),
        softirq: v(7, 'softirq'),
        steal: v(8, 'steal'),
      };
    } else if (key !== undefined && /^cpu[0-9]+$/.test(key)) cpuCount++;
    else if (key === 'btime') bootTimeSec = toCount(parts[1], file, 'btime');
  }
  if (!cpu) throw malformed(file, 'no aggregate "cpu" line');
  if (cpuCount === 0) throw malformed(file, 'no "cpuN" lines');
  const totalTicks = cpu.user + cpu.nice + cpu.system + cpu.idle + cpu.iowait + cpu.irq + cpu.softirq + cpu.steal;
  return { cpuCount, cpu, totalTicks, busyTicks: totalTicks - cpu.idle - cpu.iowait, bootTimeSec };
}

// ---- /proc/meminfo -------------------------------------------------------------------------

export interface Meminfo {
  memTotalBytes: number;
  /** `MemAvailable`; on kernels before 3.14, MemFree + Buffers + Cached. */
  memAvailableBytes: number;
  /** 0 when the kernel has no swap support (no SwapTotal line). */
  swapTotalBytes: number;
  swapFreeBytes: number;
}

export function parseMeminfo(text: string, file = '/proc/meminfo'): Meminfo {
  const kv = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    // Lines without a unit (HugePages_Total) are counts, not memory; skip them.
    if (/kB$/.test(m[2]!)) kv.set(m[1]!, kibToBytes(m[2]!, file, m[1]!));
  }
  const memTotalBytes = kv.get('MemTotal');
  if (memTotalBytes === undefined) throw malformed(file, 'no MemTotal line');
  const memAvailableBytes =
    kv.get('MemAvailable') ?? (kv.get('MemFree') ?? 0) + (kv.get('Buffers') ?? 0) + (kv.get('Cached') ?? 0);
  return { memTotalBytes, memAvailableBytes, swapTotalBytes: kv.get('SwapTotal') ?? 0, swapFreeBytes: kv.get('SwapFree') ?? 0 };
}

// ---- /proc/vmstat --------------------------------------------------------------------------

export interface Vmstat {
  /** Pages swapped in since boot (`pswpin`). */
  swapInPages: number;
  /** Pages swapped out since boot (`pswpout`). */
  swapOutPages: number;
  /** Page faults since boot, minor and major (`pgfault`). */
  pageFaults: number;
  /** Major page faults (needing I/O) since boot (`pgmajfault`). */
  majorFaults: number;
  /** Kernel names of the counters above that were absent (read as 0). */
  missing: string[];
}

export function parseVmstat(text: string, file = '/proc/vmstat'): Vmstat {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) kv.set(k, v);
  }
  const missing: string[] = [];
  const get = (name: string) => {
    const v = kv.get(name);
    if (v === undefined) {
      missing.push(name);
      return 0;
    }
    return toCount(v, file, name);
  };
  return {
    swapInPages: get('pswpin'),
    swapOutPages: get('pswpout'),
    pageFaults: get('pgfault'),
    majorFaults: get('pgmajfault'),
    missing,
  };
}
