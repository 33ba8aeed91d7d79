/**
 * @module telemetry/summary
 * A short human summary of a telemetry window (the `veritee collect` output).
 */
import type { TelemetryWindow } from './window.js';

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

const pct = (num: number, den: number) => (den > 0 ? `${((100 * num) / den).toFixed(1)} %` : 'n/a');
const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : 0);

/** Lines describing the window: processes, memory, CPU, swap, faults, mounts, errors. */
export function summarizeTelemetry(w: TelemetryWindow, maxErrorLines = 20): string[] {
  const out: string[] = [];
  const seconds = (w.endedAtUs - w.startedAtUs) / 1e6;
  out.push(
    `telemetry: ${w.samples.length} sample${w.samples.length === 1 ? '' : 's'} × ${w.intervalMs} ms over ${seconds.toFixed(2)} s, ${w.cpuCount} CPUs, ${formatBytes(w.memTotalBytes)} memory`,
  );
  const rows = w.samples[0]!.processes;
  const real = rows.filter((p) => p.aggregated === undefined);
  const other = rows.filter((p) => p.aggregated !== undefined);
  const count = (owner: string) =>
    real.filter((p) => p.owner === owner).length + other.filter((p) => p.owner === owner).reduce((a, p) => a + (p.aggregated ?? 0), 0);
  out.push(
    `processes: ${count('platform') + count('customer')} (platform ${count('platform')}, customer ${count('customer')})` +
      (other.length ? `; top ${real.length} by RSS kept, ${other.reduce((a, p) => a + (p.aggregated ?? 0), 0)} summed into ${other.length} "other" row(s)` : ''),
  );
  const last = w.samples[w.samples.length - 1]!;
  const rssOf = (s: (typeof w.samples)[number], owner?: string) =>
    s.processes.filter((p) => owner === undefined || p.owner === owner).reduce((a, p) => a + p.rssBytes, 0);
  const totals = w.samples.map((s) => rssOf(s));
  out.push(
    `memory: process RSS ${formatBytes(rssOf(last))} at the end (platform ${formatBytes(rssOf(last, 'platform'))}, customer ${formatBytes(rssOf(last, 'customer'))}), ` +
      `peak ${formatBytes(max(totals))} = ${pct(max(totals), w.memTotalBytes)} of memory; available ${formatBytes(last.memAvailableBytes)}`,
  );
  const cpuOf = (owner: string) => w.samples.map((s) => s.processes.filter((p) => p.owner === owner).reduce((a, p) => a + p.cpuPermille, 0));
  const busy = w.samples.map((s) => s.cpuBusyPermille);
  out.push(
    `cpu (of all ${w.cpuCount} CPUs): machine busy avg ${(avg(busy) / 10).toFixed(1)} %, max ${(max(busy) / 10).toFixed(1)} %; ` +
      `platform avg ${(avg(cpuOf('platform')) / 10).toFixed(1)} %, customer avg ${(avg(cpuOf('customer')) / 10).toFixed(1)} %`,
  );
  const sum = (k: 'swapInPages' | 'swapOutPages' | 'pageFaults' | 'majorFaults') => w.samples.reduce((a, s) => a + s[k], 0);
  out.push(
    `swap: ${formatBytes(last.swapUsedBytes)} used of ${formatBytes(w.swapTotalBytes)}; ${sum('swapInPages')} pages in, ${sum('swapOutPages')} pages out`,
  );
  out.push(
    `page faults: ${sum('pageFaults')} (${seconds > 0 ? (sum('pageFaults') / seconds).toFixed(0) : '0'}/s), major ${sum('majorFaults')}`,
  );
  out.push(`mounts: ${w.mounts.length}`);
  for (const m of w.mounts) {
    const q = m.queueDepthSamples.length
      ? `queue depth avg ${avg(m.queueDepthSamples).toFixed(2)}, max ${max(m.queueDepthSamples).toFixed(2)}, in flight max ${max(m.inFlightSamples)}`
      : 'queue depth n/a (not a block device in /proc/diskstats)';
    out.push(
      `  ${m.path} (${m.fsType} on ${m.device}): ${formatBytes(m.bytesUsed)} of ${formatBytes(m.bytesTotal)} used ` +
        `(${pct(m.bytesUsed, m.bytesUsed + m.bytesAvailable)} of usable), inodes ${m.inodesTotal ? pct(m.inodesUsed, m.inodesTotal) : 'n/a'}; ${q}`,
    );
  }
  if (w.errors.length === 0) out.push('errors: none');
  else {
    out.push(`errors: ${w.errors.length}`);
    for (const e of w.errors.slice(0, maxErrorLines)) out.push(`  ${e.what}: ${e.detail}`);
    if (w.errors.length > maxErrorLines) out.push(`  … ${w.errors.length - maxErrorLines} more in the JSON`);
  }
  return out;
}
