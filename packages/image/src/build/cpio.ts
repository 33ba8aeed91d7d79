/**
 * @module build/cpio
 * A deterministic initramfs writer: the "newc" cpio format the kernel unpacks
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Every entry gets
 * uid/gid 0, a fixed mtime and sequential inode numbers, so equal inputs give
 * equal bytes (the host's `cpio` would copy timestamps and inode numbers).
 */
import { VeriteeError } from '@veritee/core';

export type CpioEntry =
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'file'; data: Uint8Array; mode?: number }
  | { path: string; type: 'char'; major: number; minor: number; mode?: number };

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

export function writeCpio(entries: readonly CpioEntry[], mtime: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const seen = new Set<string>();
  let ino = 1;
  const push = (name: string, mode: number, data: Uint8Array, rdevMajor = 0, rdevMinor = 0, nlink = 1) => {
    const nameBytes = enc.encode(name + '\0');
    const header =
      '070701' +
      [ino++, mode, 0, 0, nlink, mtime, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0].map(hex8).join('');
    parts.push(enc.encode(header), nameBytes, new Uint8Array(pad4(110 + nameBytes.length)), data, new Uint8Array(pad4(data.length)));
  };
  for (const e of sorted) {
    if (!/^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/.test(e.path) || e.path.split('/').includes('..') || seen.has(e.path)) {
      throw new VeriteeError('IMAGE_BUILD_FAILED', `initramfs entry ${JSON.stringify(e.path)} is malformed or repeated`);
    }
    seen.add(e.path);
    if (e.type === 'dir') push(e.path, 0o040000 | (e.mode ?? 0o755), new Uint8Array(0), 0, 0, 2);
    else if (e.type === 'file') push(e.path, 0o100000 | (e.mode ?? 0o644), e.data);
    else push(e.path, 0o020000 | (e.mode ?? 0o600), new Uint8Array(0), e.major, e.minor);
  }
  push('TRAILER!!!', 0, new Uint8Array(0));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total + pad4(total) + ((512 - ((total + pad4(total)) % 512)) % 512));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
