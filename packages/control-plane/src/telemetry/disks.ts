/**
 * @module telemetry/disks
 * Mounts (/proc/self/mountinfo), their usage (statfs(2)) and the I/O queue depth
 * of the block device behind each (/proc/diskstats), joined by major:minor.
 *
 * Which mounts count: real filesystems only. Pseudo filesystems (proc, sysfs,
 * cgroup, tmpfs, …) and read-only images (squashfs, erofs, iso9660: always 100 %
 * full by construction) are left out by {@link isPseudoFs}; a device mounted
 * several times (bind mounts) is kept once, at its shortest mount point.
 */
import { VeriteeError } from '@veritee/core';
import type { StatfsResult } from './source.js';

function malformed(file: string, why: string): VeriteeError {
  return new VeriteeError('TELEMETRY_SOURCE_MALFORMED', `${file} is malformed: ${why}`);
}

// ---- /proc/self/mountinfo ------------------------------------------------------------------

export interface MountinfoEntry {
  mountId: number;
  parentId: number;
  major: number;
  minor: number;
  /** Root of the mount inside its filesystem ("/" unless a bind mount of a subtree). */
  root: string;
  /** Mount point, unescaped (`\040` → space). */
  mountPoint: string;
  mountOptions: string;
  fsType: string;
  /** Mount source (`/dev/vda1`, `overlay`, `server:/export`), unescaped. */
  source: string;
  superOptions: string;
}

/** Undoes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash). */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Parses /proc/<pid>/mountinfo (proc(5)):
 * `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`;
 * zero or more optional fields sit before the lone "-".
 */
export function parseMountinfo(text: string, file = '/proc/self/mountinfo'): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.trim().split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0 || f.length < sep + 3) throw malformed(file, `line "${line}" does not have the mountinfo layout`);
    const dev = /^([0-9]+):([0-9]+)$/.exec(f[2]!);
    if (!dev) throw malformed(file, `"${f[2]}" is not major:minor`);
    const id = (s: string, what: string) => {
      if (!/^[0-9]+$/.test(s)) throw malformed(file, `${what} "${s}" is not a number`);
      return Number(s);
    };
    out.push({
      mountId: id(f[0]!, 'mount ID'),
      parentId: id(f[1]!, 'parent ID'),
      major: Number(dev[1]),
      minor: Number(dev[2]),
      root: unescapeMountField(f[3]!),
      mountPoint: unescapeMountField(f[4]!),
      mountOptions: f[5]!,
      fsType: f[sep + 1]!,
      source: unescapeMountField(f[sep + 2]!),
      superOptions: f[sep + 3] ?? '',
    });
  }
  return out;
}

/** Filesystem types that hold no customer data on a block device. */
export const PSEUDO_FS_TYPES: ReadonlySet<string> = new Set([
  'proc', 'sysfs', 'devtmpfs', 'devpts', 'tmpfs', 'ramfs', 'cgroup', 'cgroup2', 'securityfs', 'debugfs',
  'tracefs', 'pstore', 'bpf', 'configfs', 'fusectl', 'mqueue', 'hugetlbfs', 'autofs', 'binfmt_misc',
  'rpc_pipefs', 'nsfs', 'efivarfs', 'selinuxfs', 'fuse.gvfsd-fuse', 'fuse.portal', 'nfsd',
  // read-only images: always 100 % used, never a reason to scale
  'squashfs', 'erofs', 'iso9660',
]);

export function isPseudoFs(fsType: string): boolean {
  return PSEUDO_FS_TYPES.has(fsType);
}

/**
 * The mounts worth measuring: not pseudo, one per device (major:minor), at the
 * shortest mount point (ties: the earlier line), in mount point order.
 */
export function selectMounts(entries: readonly MountinfoEntry[]): MountinfoEntry[] {
  const byDev = new Map<string, MountinfoEntry>();
  for (const e of entries) {
    if (isPseudoFs(e.fsType)) continue;
    const key = `${e.major}:${e.minor}`;
    const prev = byDev.get(key);
    if (!prev || e.mountPoint.length < prev.mountPoint.length) byDev.set(key, e);
  }
  return [...byDev.values()].sort((a, b) => (a.mountPoint < b.mountPoint ? -1 : a.mountPoint > b.mountPoint ? 1 : 0));
}

// ---- statfs ----------------------------------------------------------------------------------

export interface MountUsage {
  /** (blocks − bfree) × bsize. */
  bytesUsed: number;
  /** bavail × bsize: what an unprivileged writer can still use. */
  bytesAvailable: number;
  /** blocks × bsize. */
  bytesTotal: number;
  /** files − ffree; 0 / 0 on filesystems without an inode limit (btrfs). */
  inodesUsed: number;
  inodesTotal: number;
}

export function usageFromStatfs(s: StatfsResult): MountUsage {
  const bytesTotal = s.blocks * s.bsize;
  return {
    bytesUsed: Math.max(0, s.blocks - s.bfree) * s.bsize,
    bytesAvailable: s.bavail * s.bsize,
    bytesTotal,
    inodesUsed: Math.max(0, s.files - s.ffree),
    inodesTotal: s.files,
  };
}

// ---- /proc/diskstats -------------------------------------------------------------------------

export interface DiskstatsEntry {
  major: number;
  minor: number;
  name: string;
  readsCompleted: number;
  writesCompleted: number;
  /** Field 9: I/Os currently in progress (the instantaneous queue depth). */
  inFlight: number;
  /** Field 10: milliseconds spent doing I/O. */
  ioTicksMs: number;
  /** Field 11: weighted milliseconds doing I/O (in-flight count × time); Δ / Δt = average queue depth. */
  weightedIoMs: number;
}

/**
 * Parses /proc/diskstats (Documentation/admin-guide/iostats.rst): `major minor name`
 * then at least 11 counters (15 since 4.18, 17 since 5.5). Lines with fewer
 * counters (the 4-field partition lines of kernels before 2.6.25) are skipped:
 * such a device reads as missing from diskstats and the sampler says so.
 */
export function parseDiskstats(text: string, file = '/proc/diskstats'): DiskstatsEntry[] {
  const out: DiskstatsEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    if (!f.every((x, i) => i === 2 || /^[0-9]+$/.test(x))) throw malformed(file, `line "${line.trim()}" has a non-numeric counter`);
    const n = (i: number) => Number(f[i]);
    out.push({
      major: n(0),
      minor: n(1),
      name: f[2]!,
      readsCompleted: n(3),
      writesCompleted: n(7),
      inFlight: n(11),
      ioTicksMs: n(12),
      weightedIoMs: n(13),
    });
  }
  return out;
}

/**
 * Average queue depth over an interval: Δ(weighted I/O ms) / Δt ms, rounded to
 * 3 decimals; a counter that went backwards (device reset) gives null.
 */
export function averageQueueDepth(before: DiskstatsEntry, after: DiskstatsEntry, elapsedMs: number): number | null {
  const d = after.weightedIoMs - before.weightedIoMs;
  if (d < 0 || !(elapsedMs > 0)) return null;
  return Math.round((d / elapsedMs) * 1000) / 1000;
}
