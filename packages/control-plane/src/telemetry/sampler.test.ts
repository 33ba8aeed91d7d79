/**
 * The collector on this machine for real (3 samples × 50 ms), with a child that
 * exits mid-window, with injected EACCES failures (the tests run as root, so only
 * a test double can refuse a read), and on a scripted fake /proc where every
 * counter is known.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { isVeriteeError } from '@veritee/core';
import { collectTelemetry } from './sampler.js';
import { linuxSource, type StatfsResult, type TelemetrySource } from './source.js';
import { TelemetryWindowSchema, type TelemetryWindow } from './window.js';
import { parseProcPidStatus } from './proc.js';

const onLinux = process.platform === 'linux';
const skip = onLinux ? false : 'reads Linux /proc';

function eacces(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
}
function enoent(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
}

function assertInvariants(w: TelemetryWindow, n: number): void {
  TelemetryWindowSchema.parse(JSON.parse(JSON.stringify(w))); // survives JSON and the schema
  assert.equal(w.samples.length, n);
  const pids = w.samples[0]!.processes.map((p) => p.pid);
  const real = pids.filter((p) => p > 0);
  assert.deepEqual(real, [...real].sort((a, b) => a - b), 'processes in pid order');
  for (const s of w.samples) assert.deepEqual(s.processes.map((p) => p.pid), pids, 'the same processes in every sample');
  // Sample k is never before start + k × interval, nor less than half an interval after k − 1.
  for (let k = 0; k < n; k++) {
    const at = w.samples[k]!.atUs;
    assert.ok(at - w.startedAtUs >= (k + 1) * w.intervalMs * 1000 - 1000, `sample ${k + 1} is on or after its grid time`);
    if (k > 0) assert.ok(at - w.samples[k - 1]!.atUs >= (w.intervalMs * 1000) / 2 - 1000, `sample ${k + 1} is at least half an interval after the previous`);
  }
}

async function startSleeper(): Promise<ChildProcess> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await once(child, 'spawn');
  // Wait until exec has replaced the forked node image (comm becomes "sleep").
  for (let i = 0; i < 200; i++) {
    try {
      if (readFileSync(`/proc/${child.pid}/stat`, 'utf8').includes('(sleep)')) break;
    } catch {
      /* not there yet */
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

test('a real 3 × 50 ms collection on this machine is sane', { skip }, async () => {
  let burned = false;
  const w = await collectTelemetry({
    samples: 3,
    intervalMs: 50,
    onSample: (i) => {
      if (i !== 0) return;
      // Burn ≥ 60 ms of CPU so the next sample must show some for this process.
      const start = process.cpuUsage();
      for (;;) {
        const d = process.cpuUsage(start);
        if (d.user + d.system >= 60_000) break;
      }
      burned = true;
    },
  });
  assert.ok(burned);
  assertInvariants(w, 3);
  assert.equal(w.intervalMs, 50);
  assert.equal(w.memTotalBytes, os.totalmem());
  assert.equal(w.cpuCount, os.cpus().length);
  assert.ok(w.clockTicksPerSecond > 0);

  const mine = w.samples.map((s) => s.processes.find((p) => p.pid === process.pid));
  assert.ok(mine.every((p) => p !== undefined), 'the test process is tracked');
  for (const p of mine) {
    assert.ok(p!.rssBytes > 0, 'RSS > 0');
    assert.equal(p!.owner, 'platform'); // default rule "collector"
    assert.equal(p!.comm, readFileSync('/proc/self/comm', 'utf8').trim());
  }
  assert.ok(mine[1]!.cpuPermille > 0, `CPU burned in the second interval shows (${mine[1]!.cpuPermille} ‰)`);
  // stat's rss is the same counter as status VmRSS.
  const vmrss = parseProcPidStatus(readFileSync('/proc/self/status', 'utf8')).rssBytes;
  assert.ok(mine[2]!.rssBytes > vmrss / 2 && mine[2]!.rssBytes < vmrss * 2, `rss ${mine[2]!.rssBytes} vs VmRSS ${vmrss}`);
  for (const s of w.samples) {
    assert.ok(s.cpuBusyPermille >= 0 && s.cpuBusyPermille <= 1000);
    assert.ok(s.memAvailableBytes > 0 && s.memAvailableBytes <= w.memTotalBytes);
    assert.ok(s.majorFaults <= s.pageFaults);
  }
  // pid 1 is there, and kernel threads (if visible in this pid namespace) are platform.
  assert.ok(w.samples[0]!.processes.some((p) => p.pid === 1));

  const root = w.mounts.find((m) => m.path === '/');
  assert.ok(root, `mounts include "/": ${w.mounts.map((m) => m.path).join(', ')}`);
  assert.ok(root.bytesTotal > 0 && root.bytesUsed <= root.bytesTotal && root.bytesAvailable <= root.bytesTotal);
  assert.ok(root.inodesUsed <= root.inodesTotal);
  if (root.queueDepthSamples.length === 0) {
    assert.ok(w.errors.some((e) => e.what === 'mount-no-diskstats' && e.detail.startsWith('/ ')), 'no queue depth only with a note');
  } else {
    assert.equal(root.queueDepthSamples.length, 3);
    assert.equal(root.inFlightSamples.length, 3);
  }
  for (const m of w.mounts) assert.ok(!['proc', 'sysfs', 'tmpfs', 'cgroup', 'cgroup2', 'devpts'].includes(m.fsType), `${m.path} is ${m.fsType}`);
});

test('a process that exits between samples reads 0 afterwards and is named in errors', { skip }, async () => {
  const child = await startSleeper();
  try {
    const w = await collectTelemetry({
      samples: 3,
      intervalMs: 50,
      onSample: async (i) => {
        if (i === 0) await stop(child);
      },
    });
    assertInvariants(w, 3);
    const rows = w.samples.map((s) => s.processes.find((p) => p.pid === child.pid));
    assert.ok(rows.every((r) => r !== undefined && r.comm === 'sleep'), 'the child keeps its row in every sample');
    assert.ok(rows[0]!.rssBytes > 0, 'alive in the first sample');
    assert.deepEqual(
      rows.slice(1).map((r) => [r!.rssBytes, r!.cpuPermille]),
      [
        [0, 0],
        [0, 0],
      ],
    );
    const note = w.errors.filter((e) => e.what === 'process-vanished' && e.detail.startsWith(`pid ${child.pid} (sleep`));
    assert.equal(note.length, 1, JSON.stringify(w.errors));
    assert.match(note[0]!.detail, /before sample 2/);
  } finally {
    await stop(child);
  }
});

test('processes started during the window are not tracked, and counted in errors', { skip }, async () => {
  let late: ChildProcess | undefined;
  try {
    const w = await collectTelemetry({
      samples: 2,
      intervalMs: 50,
      onSample: async (i) => {
        if (i === 0) late = await startSleeper();
      },
    });
    assertInvariants(w, 2);
    assert.ok(!w.samples[0]!.processes.some((p) => p.pid === late!.pid));
    const note = w.errors.find((e) => e.what === 'process-new');
    assert.ok(note && note.detail.includes(String(late!.pid)), JSON.stringify(w.errors));
  } finally {
    if (late) await stop(late);
  }
});

test('unreadable entries (EACCES) are skipped with a note, never a crash', { skip }, async () => {
  const real = linuxSource();
  const child = await startSleeper();
  let denyChild = false;
  const source: TelemetrySource = {
    listPids: () => real.listPids(),
    readText: (p) => {
      if (p === `/proc/${process.pid}/status`) throw eacces(p);
      if (denyChild && p === `/proc/${child.pid}/stat`) throw eacces(p);
      return real.readText(p);
    },
    statfs: (p): StatfsResult => {
      if (p === '/') throw eacces(p);
      return real.statfs(p);
    },
  };
  try {
    const w = await collectTelemetry({
      samples: 3,
      intervalMs: 50,
      source,
      onSample: (i) => {
        if (i === 0) denyChild = true;
      },
    });
    assertInvariants(w, 3);
    // statfs refused: "/" is left out, and said so.
    assert.ok(!w.mounts.some((m) => m.path === '/'));
    assert.ok(w.errors.some((e) => e.what === 'mount-unreadable' && e.detail.startsWith('/ ') && e.detail.includes('EACCES')), JSON.stringify(w.errors));
    // status refused: uid unknown, the process is still tracked (and still the collector).
    assert.ok(w.errors.some((e) => e.what === 'process-unreadable' && e.detail.includes(`pid ${process.pid} `) && e.detail.includes('status')));
    const mine = w.samples[2]!.processes.find((p) => p.pid === process.pid)!;
    assert.equal(mine.owner, 'platform');
    assert.ok(mine.rssBytes > 0);
    // stat refused mid-window: 0 for those samples, one note with a count.
    const rows = w.samples.map((s) => s.processes.find((p) => p.pid === child.pid)!);
    assert.ok(rows[0]!.rssBytes > 0);
    assert.deepEqual([rows[1]!.rssBytes, rows[2]!.rssBytes], [0, 0]);
    const notes = w.errors.filter((e) => e.what === 'process-unreadable' && e.detail.startsWith(`pid ${child.pid} `));
    assert.equal(notes.length, 1);
    assert.match(notes[0]!.detail, /EACCES.*\(2 times\)$/);
  } finally {
    await stop(child);
  }
});

// ---- a scripted /proc ------------------------------------------------------------------------

interface FakeProc {
  stat: string;
  status?: string | Error;
  cgroup?: string;
}

function fakeMachine() {
  const state = {
    cpu: [1000, 0, 500, 8000, 10, 0, 5, 0],
    vm: { pswpin: 100, pswpout: 200, pgfault: 10_000, pgmajfault: 7 },
    weighted: 1000,
    inFlight: 1,
    procs: new Map<number, FakeProc>(),
    pids: [] as number[],
  };
  const pidStat = (pid: number, comm: string, o: { state?: string; utime?: number; stime?: number; start?: number; rss?: number; flags?: number } = {}) =>
    `${pid} (${comm}) ${o.state ?? 'S'} 1 ${pid} ${pid} 0 -1 ${o.flags ?? 4194560} 0 0 0 0 ${o.utime ?? 0} ${o.stime ?? 0} 0 0 20 0 1 0 ${o.start ?? 500} 1000 ${o.rss ?? 0} 18446744073709551615 0 0`;
  const status = (name: string, uid: number) => `Name:\t${name}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\n`;
  const files = (p: string): string | Error | undefined => {
    if (p === '/fake/stat') return `cpu ${state.cpu.join(' ')}\ncpu0 0 0 0 0\ncpu1 0 0 0 0\nbtime 1\n`;
    if (p === '/fake/meminfo') return 'MemTotal: 8000000 kB\nMemAvailable: 6000000 kB\nSwapTotal: 1000 kB\nSwapFree: 400 kB\n';
    if (p === '/fake/vmstat') return Object.entries(state.vm).map(([k, v]) => `${k} ${v}`).join('\n');
    if (p === '/fake/diskstats') return ` 254 0 vda 1 0 8 1 1 0 8 1 ${state.inFlight} 10 ${state.weighted} 0 0 0 0 0 0\n`;
    if (p === '/fake/self/mountinfo') {
      return [
        '1 0 254:0 / / rw - ext4 /dev/vda rw',
        '2 1 0:5 / /proc rw - proc proc rw',
        '3 1 8:1 / /data rw - xfs /dev/sda1 rw',
        '4 1 0:44 / /srv/no\\040space rw - ext4 /dev/vdb rw',
      ].join('\n');
    }
    const m = /^\/fake\/([0-9]+)\/(stat|status|cgroup)$/.exec(p);
    const proc = m ? state.procs.get(Number(m[1])) : undefined;
    if (!proc) return undefined;
    return m![2] === 'stat' ? proc.stat : m![2] === 'status' ? proc.status : proc.cgroup ?? '0::/\n';
  };
  const source: TelemetrySource = {
    listPids: () => [...state.pids],
    readText: (p) => {
      const v = files(p);
      if (v === undefined) throw enoent(p);
      if (v instanceof Error) throw v;
      return v;
    },
    statfs: (p) => {
      if (p === '/') return { bsize: 4096, blocks: 1000, bfree: 100, bavail: 50, files: 100, ffree: 5 };
      if (p === '/srv/no space') return { bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0 };
      throw eacces(p);
    },
  };
  return { state, source, pidStat, status };
}

test('scripted /proc: deltas, pid reuse, zombies, status EACCES, missing devices, counter resets', async () => {
  const { state, source, pidStat, status } = fakeMachine();
  state.pids = [60, 10, 20, 30, 40, 50, 70]; // listed unsorted; 60 is gone by the time it is read
  state.procs.set(10, { stat: pidStat(10, 'sshd', { rss: 100 }), status: status('sshd', 0), cgroup: '0::/system.slice/ssh.service\n' });
  state.procs.set(20, { stat: pidStat(20, 'my app) (x', { utime: 100, rss: 1000 }), status: status('my app) (x', 1000) });
  state.procs.set(30, { stat: pidStat(30, 'kworker/0:1', { flags: 0x208040 }), status: status('kworker/0:1', 0) });
  state.procs.set(40, { stat: pidStat(40, 'job', { start: 600, rss: 10 }), status: status('job', 1000) });
  state.procs.set(50, { stat: pidStat(50, 'secret', { rss: 5 }), status: eacces('/fake/50/status') });
  state.procs.set(70, { stat: pidStat(70, 'defunct', { state: 'Z' }), status: status('defunct', 1000) });

  const w = await collectTelemetry({
    samples: 3,
    intervalMs: 30,
    source,
    procRoot: '/fake',
    selfPid: 999,
    clockTicksPerSecond: 100,
    pageSize: 4096,
    onSample: (i) => {
      if (i === 0) {
        state.cpu = state.cpu.map((v, j) => v + (j === 3 ? 2 : 4)); // idle +2, the rest +4 each
        state.vm = { pswpin: 103, pswpout: 200, pgfault: 10_050, pgmajfault: 8 };
        state.weighted += 90;
        state.inFlight = 3;
        state.procs.get(20)!.stat = pidStat(20, 'my app) (x', { utime: 103, stime: 2, rss: 2000 });
        state.procs.get(40)!.stat = pidStat(40, 'other', { start: 900, rss: 10 }); // pid reused
      }
      if (i === 1) {
        state.vm = { ...state.vm, pgfault: 5 }; // counter went backwards
        state.procs.delete(10);
        state.pids = state.pids.filter((p) => p !== 10).concat(80);
      }
    },
  });
  assertInvariants(w, 3);
  assert.equal(w.clockTicksPerSecond, 100);
  assert.equal(w.cpuCount, 2);
  assert.equal(w.memTotalBytes, 8000000 * 1024);
  assert.equal(w.swapTotalBytes, 1000 * 1024);

  // Process set: 60 vanished before the start, 70 was a zombie: both noted, neither tracked.
  assert.deepEqual(w.samples[0]!.processes.map((p) => [p.pid, p.comm, p.owner]), [
    [10, 'sshd', 'platform'], // system-services
    [20, 'my app) (x', 'customer'],
    [30, 'kworker/0:1', 'platform'], // kernel thread
    [40, 'job', 'customer'],
    [50, 'secret', 'customer'], // uid unknown: the root rule cannot match
  ]);
  const what = (kind: string) => w.errors.filter((e) => e.what === kind).map((e) => e.detail);
  assert.ok(what('process-vanished').some((d) => d.startsWith('pid 60 exited before the window started')));
  assert.ok(what('process-zombie').some((d) => d.startsWith('pid 70 (defunct)')));
  assert.ok(what('process-unreadable').some((d) => d.startsWith('pid 50 (secret) /fake/50/status: EACCES')));

  const [s0, s1, s2] = w.samples as [TelemetrySampleT, TelemetrySampleT, TelemetrySampleT];
  type TelemetrySampleT = TelemetryWindow['samples'][number];
  const row = (s: TelemetrySampleT, pid: number) => s.processes.find((p) => p.pid === pid)!;
  // RSS is stat's rss pages × page size.
  assert.equal(row(s0, 20).rssBytes, 1000 * 4096);
  assert.equal(row(s1, 20).rssBytes, 2000 * 4096);
  assert.equal(row(s0, 20).cpuPermille, 0);
  // 5 ticks = 50 ms of CPU over an interval of ≥ 15 ms (half of 30) on 2 CPUs: > 0 and ≤ 5 × 1e6 / (100 × 15 × 2) ≈ 1667 ‰.
  assert.ok(row(s1, 20).cpuPermille > 0 && row(s1, 20).cpuPermille <= 1667, String(row(s1, 20).cpuPermille));
  // Machine CPU: total +30 ticks (7 columns +4, idle +2), busy = 30 − idle 2 − iowait 4 = 24 → 800 ‰.
  assert.equal(s0.cpuBusyPermille, 0);
  assert.equal(s1.cpuBusyPermille, 800);
  // pid 40 now belongs to another process: vanished from sample 2 on, keeps its old name.
  assert.deepEqual([row(s0, 40).rssBytes, row(s1, 40).rssBytes, row(s1, 40).comm], [40960, 0, 'job']);
  assert.ok(what('process-vanished').some((d) => d.startsWith('pid 40 (job, customer) exited (its pid now belongs to another process) before sample 2')));
  // pid 10 exits after sample 2.
  assert.deepEqual([row(s1, 10).rssBytes, row(s2, 10).rssBytes], [409600, 0]);
  assert.ok(what('process-vanished').some((d) => d.startsWith('pid 10 (sshd, platform) exited before sample 3')));
  assert.ok(what('process-new').some((d) => d.includes('pid 80')));

  // vmstat deltas; the backwards pgfault reads 0 with a note.
  assert.deepEqual([s0.swapInPages, s0.pageFaults], [0, 0]);
  assert.deepEqual([s1.swapInPages, s1.swapOutPages, s1.pageFaults, s1.majorFaults], [3, 0, 50, 1]);
  assert.deepEqual([s2.pageFaults, s2.swapInPages], [0, 0]);
  assert.ok(what('counter-reset').some((d) => d.includes('pgfault went backwards at sample 3')));
  assert.equal(s1.swapUsedBytes, 600 * 1024);
  assert.equal(s1.memAvailableBytes, 6000000 * 1024);

  // Mounts: /proc is pseudo; /data has no diskstats entry and statfs refuses it; /srv/no space is 0 bytes.
  assert.deepEqual(w.mounts.map((m) => m.path), ['/']);
  const root = w.mounts[0]!;
  assert.deepEqual(
    { ...root, queueDepthSamples: root.queueDepthSamples.length },
    {
      path: '/',
      fsType: 'ext4',
      device: '/dev/vda',
      majorMinor: '254:0',
      bytesUsed: 900 * 4096,
      bytesAvailable: 50 * 4096,
      bytesTotal: 1000 * 4096,
      inodesUsed: 95,
      inodesTotal: 100,
      queueDepthSamples: 3,
      inFlightSamples: [1, 3, 3],
    },
  );
  assert.equal(root.queueDepthSamples[0], 0);
  assert.ok(root.queueDepthSamples[1]! > 0 && root.queueDepthSamples[1]! <= 6, String(root.queueDepthSamples[1])); // 90 ms / ≥ 15 ms
  assert.equal(root.queueDepthSamples[2], 0);
  assert.ok(what('mount-no-diskstats').some((d) => d.startsWith('/data (xfs on /dev/sda1, device 8:1)')));
  assert.ok(what('mount-unreadable').some((d) => d.startsWith('/data (xfs): statfs failed: EACCES')));
  assert.ok(what('mount-empty').some((d) => d.startsWith('/srv/no space (ext4)')));
});

test('scripted /proc: the top-N limit folds the rest into one "other" row per owner', async () => {
  const { state, source, pidStat, status } = fakeMachine();
  state.pids = [1, 2, 3, 4, 5];
  state.procs.set(1, { stat: pidStat(1, 'init', { rss: 50 }), status: status('init', 0) });
  state.procs.set(2, { stat: pidStat(2, 'big', { rss: 900 }), status: status('big', 1000) });
  state.procs.set(3, { stat: pidStat(3, 'small', { rss: 10 }), status: status('small', 1000) });
  state.procs.set(4, { stat: pidStat(4, 'tiny', { rss: 5 }), status: status('tiny', 1000) });
  state.procs.set(5, { stat: pidStat(5, 'agent', { rss: 20 }), status: status('agent', 0) });
  const w = await collectTelemetry({ samples: 2, intervalMs: 10, source, procRoot: '/fake', selfPid: 999, clockTicksPerSecond: 100, pageSize: 1, maxProcesses: 2 });
  assertInvariants(w, 2);
  assert.deepEqual(
    w.samples[1]!.processes.map((p) => [p.pid, p.comm, p.owner, p.rssBytes, p.aggregated]),
    [
      [1, 'init', 'platform', 50, undefined],
      [2, 'big', 'customer', 900, undefined],
      [0, 'other', 'platform', 20, 1],
      [0, 'other', 'customer', 15, 2],
    ],
  );
});

test('no /proc: TELEMETRY_UNAVAILABLE; bad options: TELEMETRY_OPTIONS_INVALID naming the option', async () => {
  const { source } = fakeMachine();
  await assert.rejects(
    collectTelemetry({ samples: 1, intervalMs: 10, source, procRoot: '/nowhere' }),
    (e: unknown) => isVeriteeError(e, 'TELEMETRY_UNAVAILABLE') && /\/nowhere\/stat cannot be read \(ENOENT/.test(e.message),
  );
  const bad = (opts: Parameters<typeof collectTelemetry>[0], name: string) =>
    assert.rejects(collectTelemetry({ source, procRoot: '/fake', ...opts }), (e: unknown) => isVeriteeError(e, 'TELEMETRY_OPTIONS_INVALID') && e.message.startsWith(name));
  await bad({ samples: 0 }, 'samples');
  await bad({ samples: 1.5 }, 'samples');
  await bad({ intervalMs: 1 }, 'intervalMs');
  await bad({ maxProcesses: 0 }, 'maxProcesses');
  await bad({ clockTicksPerSecond: 0 }, 'clockTicksPerSecond');
  await assert.rejects(
    collectTelemetry({ source, procRoot: '/fake', rules: { rules: [{ owner: 'nobody' as 'platform', match: { uid: 0 } }] } }),
    (e: unknown) => isVeriteeError(e, 'TELEMETRY_RULES_INVALID'),
  );
});
