/**
 * mountinfo, diskstats and statfs arithmetic on captured text (a Linux 6.18
 * guest with ext4 on /dev/vda) and on the escapes and layouts the kernel allows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { averageQueueDepth, isPseudoFs, parseDiskstats, parseMountinfo, selectMounts, unescapeMountField, usageFromStatfs } from './disks.js';

const MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334460k,nr_inodes=3083615,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684084k
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 27 8:1 / /data rw,noatime shared:1 master:2 - xfs /dev/sda1 rw,attr2
51 27 8:1 /exports/a /srv/my\\040data rw,noatime shared:3 - xfs /dev/sda1 rw,attr2
52 27 7:0 / /snap/core/1 ro,nodev - squashfs /dev/loop0 ro
53 27 0:50 / /mnt/net\\011tab rw - nfs4 server:/export\\040x rw,vers=4.2
`;

test('parseMountinfo reads every field; optional fields before "-" are skipped', () => {
  const m = parseMountinfo(MOUNTINFO);
  assert.equal(m.length, 11);
  const root = m.find((e) => e.mountPoint === '/')!;
  assert.deepEqual(root, {
    mountId: 27,
    parentId: 1,
    major: 254,
    minor: 0,
    root: '/',
    mountPoint: '/',
    mountOptions: 'rw,relatime',
    fsType: 'ext4',
    source: '/dev/vda',
    superOptions: 'rw,discard,resv_strict',
  });
  const data = m.find((e) => e.mountId === 50)!;
  assert.equal(data.fsType, 'xfs'); // two optional fields (shared:1 master:2) before "-"
  assert.equal(data.source, '/dev/sda1');
});

test('parseMountinfo unescapes \\040 (space), \\011 (tab) in mount points, roots and sources', () => {
  const m = parseMountinfo(MOUNTINFO);
  const bind = m.find((e) => e.mountId === 51)!;
  assert.equal(bind.mountPoint, '/srv/my data');
  assert.equal(bind.root, '/exports/a');
  const nfs = m.find((e) => e.mountId === 53)!;
  assert.equal(nfs.mountPoint, '/mnt/net\ttab');
  assert.equal(nfs.source, 'server:/export x');
  assert.equal(unescapeMountField('a\\134b\\012c'), 'a\\b\nc');
});

test('parseMountinfo rejects lines without the separator or a device number', () => {
  const bad = (e: unknown) => isVeriteeError(e, 'TELEMETRY_SOURCE_MALFORMED');
  assert.throws(() => parseMountinfo('27 1 254:0 / / rw,relatime ext4 /dev/vda rw\n'), bad);
  assert.throws(() => parseMountinfo('27 1 vda / / rw,relatime - ext4 /dev/vda rw\n'), bad);
  assert.deepEqual(parseMountinfo('\n'), []);
});

test('selectMounts drops pseudo filesystems and read-only images, keeps one mount per device', () => {
  const picked = selectMounts(parseMountinfo(MOUNTINFO)).map((e) => e.mountPoint);
  // /srv/my data is a bind mount of /data's device (8:1): the shorter mount point wins.
  assert.deepEqual(picked, ['/', '/data', '/mnt/net\ttab']);
  assert.ok(isPseudoFs('tmpfs') && isPseudoFs('cgroup2') && isPseudoFs('squashfs'));
  assert.ok(!isPseudoFs('ext4') && !isPseudoFs('overlay') && !isPseudoFs('nfs4'));
});

// Linux 6.18: 17 counters per line (discards since 4.18, flushes since 5.5).
const DISKSTATS = `   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 118371 9462 4434530 77690 15191 45820 3417336 20795 2 17264 101598 16299 8 1089624 3088 314 23
 254       1 vda1 100 0 800 10 5 0 40 1 0 12 11
   8       1 sda1 1 2 3 4
`;

test('parseDiskstats reads in-flight I/Os and weighted time; accepts 11, 15 and 17 counters', () => {
  const d = parseDiskstats(DISKSTATS);
  assert.deepEqual(
    d.map((x) => x.name),
    ['loop0', 'vda', 'vda1'],
  ); // the 4-counter line (pre-2.6.25 partition layout) is skipped
  const vda = d[1]!;
  assert.deepEqual(vda, { major: 254, minor: 0, name: 'vda', readsCompleted: 118371, writesCompleted: 15191, inFlight: 2, ioTicksMs: 17264, weightedIoMs: 101598 });
  assert.equal(d[2]!.weightedIoMs, 11); // 11-counter layout (before 4.18)
  assert.throws(() => parseDiskstats(' 254 0 vda 1 2 3 4 5 6 7 8 x 10 11\n'), (e) => isVeriteeError(e, 'TELEMETRY_SOURCE_MALFORMED'));
});

test('averageQueueDepth = Δ weighted ms / Δ ms; a counter going backwards gives null', () => {
  const [, a] = parseDiskstats(DISKSTATS);
  const b = { ...a!, weightedIoMs: a!.weightedIoMs + 2500 };
  assert.equal(averageQueueDepth(a!, b, 1000), 2.5);
  assert.equal(averageQueueDepth(a!, { ...a!, weightedIoMs: a!.weightedIoMs + 1 }, 3), 0.333);
  assert.equal(averageQueueDepth(b, a!, 1000), null);
  assert.equal(averageQueueDepth(a!, b, 0), null);
});

test('usageFromStatfs: used = (blocks − bfree) × bsize, inodes used = files − ffree', () => {
  const u = usageFromStatfs({ bsize: 4096, blocks: 1000, bfree: 300, bavail: 250, files: 500, ffree: 480 });
  assert.deepEqual(u, { bytesUsed: 700 * 4096, bytesAvailable: 250 * 4096, bytesTotal: 1000 * 4096, inodesUsed: 20, inodesTotal: 500 });
  // btrfs reports no inode limit.
  assert.deepEqual(usageFromStatfs({ bsize: 4096, blocks: 10, bfree: 10, bavail: 10, files: 0, ffree: 0 }).inodesTotal, 0);
});
