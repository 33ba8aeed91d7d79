/**
 * The window schema enforces what the circuits rely on: the same processes in
 * the same order in every sample, aggregated rows last, series as long as the
 * window. limitProcesses keeps per-owner totals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { limitProcesses, parseTelemetryWindow, type TelemetryWindow } from './window.js';

function window(): TelemetryWindow {
  const proc = (pid: number, owner: 'platform' | 'customer', rss: number, cpu: number) => ({ pid, comm: `p${pid}`, rssBytes: rss, cpuPermille: cpu, owner });
  const sample = (k: number) => ({
    atUs: 1_000_000 + k * 1_000_000,
    processes: [proc(1, 'platform', 100 + k, 10), proc(7, 'customer', 5000, 300 + k), proc(9, 'customer', 40, 1), proc(12, 'platform', 60, 2)],
    cpuBusyPermille: 400,
    memAvailableBytes: 1 << 30,
    swapUsedBytes: 0,
    swapInPages: 0,
    swapOutPages: 0,
    pageFaults: 10,
    majorFaults: 0,
  });
  return {
    version: 1,
    startedAtUs: 1_000_000,
    endedAtUs: 3_000_000,
    intervalMs: 1000,
    clockTicksPerSecond: 100,
    cpuCount: 2,
    memTotalBytes: 2 ** 31,
    swapTotalBytes: 0,
    samples: [sample(1), sample(2)],
    mounts: [
      {
        path: '/',
        fsType: 'ext4',
        device: '/dev/vda',
        majorMinor: '254:0',
        bytesUsed: 10,
        bytesAvailable: 80,
        bytesTotal: 100,
        inodesUsed: 1,
        inodesTotal: 10,
        queueDepthSamples: [0, 0.5],
        inFlightSamples: [0, 1],
      },
    ],
    errors: [],
  };
}

const invalid = (w: unknown, re: RegExp) =>
  assert.throws(() => parseTelemetryWindow(w, 'telemetry.json'), (e: unknown) => isVeriteeError(e, 'TELEMETRY_WINDOW_INVALID') && e.message.startsWith('telemetry.json: ') && re.test(e.message));

test('a consistent window parses, including after a JSON round trip', () => {
  const w = window();
  assert.deepEqual(parseTelemetryWindow(JSON.parse(JSON.stringify(w))), w);
});

test('the schema refuses a changed process set, bad order, short series and unknown fields', () => {
  const dropped = window();
  dropped.samples[1]!.processes.pop(); // a sample dropped a process
  invalid(dropped, /samples\[1\]\.processes: 3 processes, the first sample has 4/);
  const swapped = window();
  swapped.samples[1]!.processes[1]!.owner = 'platform'; // ownership changed mid-window
  invalid(swapped, /samples\[1\]\.processes\[1\]: process row differs/);
  const unordered = window();
  for (const s of unordered.samples) s.processes.reverse();
  invalid(unordered, /ascending pid order/);
  const short = window();
  short.mounts[0]!.queueDepthSamples = [1];
  invalid(short, /mounts\[0\]\.queueDepthSamples: 1 values for 2 samples/);
  const time = window();
  time.samples[1]!.atUs = 1_500_000;
  time.samples[0]!.atUs = 2_000_000;
  invalid(time, /samples\[1\]\.atUs: sample times must increase/);
  invalid({ ...window(), extra: 1 }, /extra|unrecognized/i);
  invalid({ ...window(), version: 2 }, /version/);
  invalid({ ...window(), samples: [] }, /samples/);
  const fractional = window();
  fractional.samples[0]!.processes[0]!.cpuPermille = 1.5;
  invalid(fractional, /cpuPermille/);
});

test('limitProcesses keeps the top N by peak RSS and folds the rest per owner', () => {
  const w = window();
  const l = limitProcesses(w, 2);
  // Peaks: pid 7 (5000), pid 1 (102), pid 12 (60), pid 9 (40).
  assert.deepEqual(
    l.samples[1]!.processes.map((p) => [p.pid, p.owner, p.rssBytes, p.cpuPermille, p.aggregated]),
    [
      [1, 'platform', 102, 10, undefined],
      [7, 'customer', 5000, 302, undefined],
      [0, 'platform', 60, 2, 1],
      [0, 'customer', 40, 1, 1],
    ],
  );
  parseTelemetryWindow(l); // still a valid window
  for (const [a, b] of w.samples.map((s, k) => [s, l.samples[k]!] as const)) {
    for (const owner of ['platform', 'customer'] as const) {
      const sum = (x: typeof a, f: 'rssBytes' | 'cpuPermille') => x.processes.filter((p) => p.owner === owner).reduce((t, p) => t + p[f], 0);
      assert.equal(sum(b, 'rssBytes'), sum(a, 'rssBytes'));
      assert.equal(sum(b, 'cpuPermille'), sum(a, 'cpuPermille'));
    }
  }
  assert.equal(limitProcesses(w, 4), w); // nothing to fold
  assert.deepEqual(
    limitProcesses(l, 1).samples[0]!.processes.map((p) => [p.pid, p.aggregated]),
    [
      [7, undefined],
      [0, 2],
      [0, 1],
    ],
  );
  assert.throws(() => limitProcesses(w, 0), (e: unknown) => isVeriteeError(e, 'TELEMETRY_OPTIONS_INVALID'));
});
