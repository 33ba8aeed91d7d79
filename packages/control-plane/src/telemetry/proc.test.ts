/**
 * The /proc parsers on text captured from a Linux 6.18 guest (2 CPUs), plus the
 * edge cases the kernel allows: command names with spaces and parentheses,
 * older kernels with fewer columns, missing lines, truncated reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { parseMeminfo, parseProcPidCgroup, parseProcPidStat, parseProcPidStatus, parseProcStat, parseVmstat } from './proc.js';

const malformed = (e: unknown) => isVeriteeError(e, 'TELEMETRY_SOURCE_MALFORMED');

// ---- /proc/<pid>/stat ------------------------------------------------------------------------

const STAT_INIT =
  '1 (process_api) S 0 0 0 0 -1 4194560 154403 15454737 0 1151 1257 2253 121543 22062 10 -10 13 0 22 47443968 3988 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n';
const STAT_KTHREADD =
  '2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 22 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n';

test('parseProcPidStat reads pid, comm, state, CPU ticks, start time and rss', () => {
  const s = parseProcPidStat(STAT_INIT);
  assert.equal(s.pid, 1);
  assert.equal(s.comm, 'process_api');
  assert.equal(s.state, 'S');
  assert.equal(s.ppid, 0);
  assert.equal(s.utimeTicks, 1257); // field 14
  assert.equal(s.stimeTicks, 2253); // field 15
  assert.equal(s.startTimeTicks, 22); // field 22
  assert.equal(s.rssPages, 3988); // field 24
  assert.equal(s.kernelThread, false);
});

test('parseProcPidStat flags kernel threads (PF_KTHREAD)', () => {
  const s = parseProcPidStat(STAT_KTHREADD);
  assert.equal(s.comm, 'kthreadd');
  assert.equal(s.kernelThread, true);
  assert.equal(s.rssPages, 0);
});

test('parseProcPidStat: comm with spaces and parentheses is taken up to the LAST ")"', () => {
  // A process may call itself "a) (b" or ") S 1 2 (": the kernel does not escape comm.
  const tail = ' R 1 2 3 4 -1 0 0 0 0 0 700 300 0 0 20 0 1 0 5000 1000 25 18446744073709551615';
  const s = parseProcPidStat(`4242 (my (weird) cmd) S 9 9)${tail}`);
  assert.equal(s.pid, 4242);
  assert.equal(s.comm, 'my (weird) cmd) S 9 9');
  assert.equal(s.state, 'R');
  assert.equal(s.ppid, 1);
  assert.equal(s.utimeTicks, 700);
  assert.equal(s.stimeTicks, 300);
  assert.equal(s.startTimeTicks, 5000);
  assert.equal(s.rssPages, 25);
  const spaced = parseProcPidStat(`77 (Web Content)${tail}`);
  assert.equal(spaced.comm, 'Web Content');
  assert.equal(parseProcPidStat(`78 ()${tail}`).comm, '');
});

test('parseProcPidStat rejects truncated and garbled lines with a coded error', () => {
  assert.throws(() => parseProcPidStat(''), malformed);
  assert.throws(() => parseProcPidStat('12 (sh'), malformed); // no closing parenthesis
  assert.throws(() => parseProcPidStat('12 (sh) S 1 2 3'), malformed); // fields missing
  assert.throws(() => parseProcPidStat(STAT_INIT.replace(' 1257 ', ' x ')), /field 14 \(utime\)/);
  assert.throws(() => parseProcPidStat(STAT_INIT.replace(/^1/, 'one')), malformed);
  // The error names the file it was given.
  assert.throws(() => parseProcPidStat('12 (sh', '/proc/12/stat'), /\/proc\/12\/stat/);
});

// ---- /proc/<pid>/status ----------------------------------------------------------------------

const STATUS = `Name:\tcat
Umask:\t0022
State:\tR (running)
Tgid:\t13901
Pid:\t13901
PPid:\t13897
Uid:\t1000\t1000\t1000\t1000
Gid:\t0\t0\t0\t0
Kthread:\t0
VmPeak:\t    3060 kB
VmRSS:\t    1760 kB
RssAnon:\t     112 kB
Threads:\t1
`;

test('parseProcPidStatus reads name, real uid and VmRSS in bytes', () => {
  assert.deepEqual(parseProcPidStatus(STATUS), { name: 'cat', uid: 1000, rssBytes: 1760 * 1024 });
});

test('parseProcPidStatus: kernel threads have no VmRSS (0); missing Name/Uid are errors', () => {
  const kthread = 'Name:\tkthreadd\nState:\tS (sleeping)\nUid:\t0\t0\t0\t0\nKthread:\t1\n';
  assert.deepEqual(parseProcPidStatus(kthread), { name: 'kthreadd', uid: 0, rssBytes: 0 });
  assert.throws(() => parseProcPidStatus('Name:\tx\n'), /no Uid line/);
  assert.throws(() => parseProcPidStatus('Uid:\t0\t0\t0\t0\n'), /no Name line/);
  assert.throws(() => parseProcPidStatus(STATUS.replace('1760 kB', '1760 MB')), /VmRSS/);
});

// ---- /proc/<pid>/cgroup ----------------------------------------------------------------------

test('parseProcPidCgroup reads v2 and v1 lines, paths may contain ":"', () => {
  const text = '9:name=systemd:/\n4:memory:/process_api/26089ddf\n0::/system.slice/ssh.service\n1:cpu:/odd:path\n';
  assert.deepEqual(parseProcPidCgroup(text), [
    { hierarchy: 9, controllers: 'name=systemd', path: '/' },
    { hierarchy: 4, controllers: 'memory', path: '/process_api/26089ddf' },
    { hierarchy: 0, controllers: '', path: '/system.slice/ssh.service' },
    { hierarchy: 1, controllers: 'cpu', path: '/odd:path' },
  ]);
  assert.deepEqual(parseProcPidCgroup(''), []);
  assert.throws(() => parseProcPidCgroup('garbage\n'), malformed);
});

// ---- /proc/stat ------------------------------------------------------------------------------

const PROC_STAT = `cpu  409013 0 63643 59480 341 0 1424 1344 0 0
cpu0 204079 0 31279 30803 42 0 762 662 0 0
cpu1 204934 0 32363 28677 298 0 662 681 0 0
intr 3481963 0 0 0
ctxt 9586880
btime 1763740000
processes 13950
procs_running 3
procs_blocked 0
`;

test('parseProcStat sums the aggregate cpu line and counts CPUs', () => {
  const s = parseProcStat(PROC_STAT);
  assert.equal(s.cpuCount, 2);
  assert.deepEqual(s.cpu, { user: 409013, nice: 0, system: 63643, idle: 59480, iowait: 341, irq: 0, softirq: 1424, steal: 1344 });
  assert.equal(s.totalTicks, 409013 + 63643 + 59480 + 341 + 1424 + 1344);
  assert.equal(s.busyTicks, s.totalTicks - 59480 - 341);
  assert.equal(s.bootTimeSec, 1763740000);
});

test('parseProcStat: older kernels with only 4 columns read the rest as 0; no cpu line is an error', () => {
  const s = parseProcStat('cpu 10 20 30 40\ncpu0 10 20 30 40\n');
  assert.equal(s.totalTicks, 100);
  assert.equal(s.cpu.steal, 0);
  assert.equal(s.bootTimeSec, null);
  assert.throws(() => parseProcStat('cpu0 1 2 3 4\n'), /no aggregate "cpu" line/);
  assert.throws(() => parseProcStat('cpu 1 2 3 4\n'), /no "cpuN" lines/);
  assert.throws(() => parseProcStat('cpu 1 2\ncpu0 1 2\n'), malformed);
});

// ---- /proc/meminfo ---------------------------------------------------------------------------

const MEMINFO = `MemTotal:       24684084 kB
MemFree:        18859208 kB
MemAvailable:   18989156 kB
Buffers:            2968 kB
Cached:           310876 kB
SwapCached:            0 kB
Active(anon):       1580 kB
SwapTotal:       2097148 kB
SwapFree:        2000000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`;

test('parseMeminfo converts kB (KiB) to bytes', () => {
  assert.deepEqual(parseMeminfo(MEMINFO), {
    memTotalBytes: 24684084 * 1024,
    memAvailableBytes: 18989156 * 1024,
    swapTotalBytes: 2097148 * 1024,
    swapFreeBytes: 2000000 * 1024,
  });
});

test('parseMeminfo: pre-3.14 kernels without MemAvailable, no swap support, no MemTotal', () => {
  const old = 'MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 1 kB\n';
  assert.deepEqual(parseMeminfo(old), { memTotalBytes: 1000 * 1024, memAvailableBytes: 111 * 1024, swapTotalBytes: 0, swapFreeBytes: 0 });
  assert.throws(() => parseMeminfo('MemFree: 1 kB\n'), /no MemTotal line/);
});

// ---- /proc/vmstat ----------------------------------------------------------------------------

test('parseVmstat reads swap and fault counters and lists missing ones', () => {
  const v = parseVmstat('nr_free_pages 4714802\npswpin 12\npswpout 34\npgfault 38700539\npgmajfault 3955\n');
  assert.deepEqual(v, { swapInPages: 12, swapOutPages: 34, pageFaults: 38700539, majorFaults: 3955, missing: [] });
  const partial = parseVmstat('pgfault 5\n');
  assert.deepEqual(partial, { swapInPages: 0, swapOutPages: 0, pageFaults: 5, majorFaults: 0, missing: ['pswpin', 'pswpout', 'pgmajfault'] });
  assert.throws(() => parseVmstat('pgfault -1\n'), malformed);
});
