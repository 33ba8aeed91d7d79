/**
 * @module build/variants
 * Attacks on a built image, derived from it without rebuilding (for the boot tests and
 * for anyone who wants to see the image refuse them):
 *
 *   tampered component  a file inside the component scope is changed in the squashfs
 *                       while /etc/veritee/manifest.json — and so the component root the
 *                       host hands over as HOST_DATA — stays as it was; the verity tree
 *                       and the command line are recomputed, so the root file system
 *                       itself is consistent (what an attacker who controls the host
 *                       and the disk, but not the launch measurement, can produce);
 *   flipped root byte   one byte of the squashfs is flipped and nothing else changes: the
 *                       measured command line still carries the original verity root
 *                       hash, so dm-verity must refuse the block.
 *
 * Variants are kept beside the build (`<build>/../variants/<name>`) and reused while
 * the base squashfs is unchanged.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, renameSync, rmSync, writeFileSync, writeSync, statSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VeriteeError } from '@veritee/core';
import type { ImageArtifacts } from './image-build.js';

export interface ImageVariant {
  name: string;
  dir: string;
  vmlinuz: string;
  initrd: string;
  squashfs: string;
  verity: string;
  cmdline: string;
  /** What was changed, for the test's messages. */
  change: string;
  /** SHA-256 of the manifest inside the variant's root file system. */
  manifestSha256: string;
}

const VERITY_UUID = '00000000-0000-4000-8000-000000000000';
const MAX_LOG = 64 * 1024;

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (b: Buffer) => {
      out += b.toString('utf8');
      if (out.length > MAX_LOG) out = out.slice(-MAX_LOG);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => reject(new VeriteeError('IMAGE_BUILD_FAILED', `cannot run ${cmd}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    child.on('close', (status) => {
      if (status === 0) resolve(out);
      else reject(new VeriteeError('IMAGE_BUILD_FAILED', `${cmd} failed (status ${status}): ${out.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`));
    });
  });
}

const sha256File = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

function param(cmdline: string, key: string): string {
  const v = cmdline.split(/\s+/).find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1);
  if (!v) throw new VeriteeError('IMAGE_BUILD_FAILED', `the image command line has no ${key}`);
  return v;
}

function cached(dir: string, baseSquashfs: string): ImageVariant | undefined {
  try {
    const v = JSON.parse(readFileSync(join(dir, 'variant.json'), 'utf8')) as ImageVariant & { baseSquashfs: string };
    if (v.baseSquashfs !== baseSquashfs || !existsSync(v.squashfs) || !existsSync(v.verity)) return undefined;
    return v;
  } catch {
    return undefined;
  }
}

function variantDir(base: ImageArtifacts, name: string): string {
  return join(dirname(base.dir), 'variants', name);
}

function finish(dir: string, v: ImageVariant, baseSquashfs: string): ImageVariant {
  writeFileSync(join(dir, 'variant.json.tmp'), JSON.stringify({ ...v, baseSquashfs }, null, 1) + '\n');
  renameSync(join(dir, 'variant.json.tmp'), join(dir, 'variant.json'));
  return v;
}

/**
 * Changes `file` (a regular file inside the component scope, path relative to the root)
 * in a copy of the root file system, keeps the shipped manifest, and rebuilds squashfs,
 * verity tree and command line around it.
 */
export async function deriveTamperedComponent(base: ImageArtifacts, file = 'usr/lib/os-release', log: (s: string) => void = () => {}): Promise<ImageVariant> {
  if (!/^[a-z0-9][a-z0-9._/+-]*$/.test(file) || file.includes('..')) throw new VeriteeError('INPUT_INVALID', 'the file to tamper with must be a plain relative path');
  const dir = variantDir(base, `tampered-${file.replace(/\//g, '_')}`);
  const baseSquashfs = base.digests.rootfsSquashfs;
  const hit = cached(dir, baseSquashfs);
  if (hit) return hit;
  log(`deriving a tampered ${file} from ${base.dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tree = join(dir, 'tree');
  try {
    await exec('unsquashfs', ['-quiet', '-no-progress', '-d', tree, base.squashfs]);
    const target = join(tree, file);
    if (!lstatSync(target).isFile()) throw new VeriteeError('INPUT_INVALID', `${file} is not a regular file in the image`);
    writeFileSync(target, Buffer.concat([readFileSync(target), Buffer.from('VERITEE_TAMPERED=1\n')]));
    const manifestSha256 = sha256File(join(tree, 'etc/veritee/manifest.json'));
    const squashfs = join(dir, 'rootfs.squashfs');
    const verity = join(dir, 'rootfs.verity');
    const env = { ...process.env, SOURCE_DATE_EPOCH: String(base.digests.sourceDateEpoch), LC_ALL: 'C.UTF-8', TZ: 'UTC' };
    await exec('mksquashfs', [tree, squashfs, '-noappend', '-reproducible', '-quiet', '-no-progress'], env);
    const salt = param(base.cmdline, 'veritee.verity_salt');
    const out = await exec('veritysetup', ['format', squashfs, verity, `--salt=${salt}`, `--uuid=${VERITY_UUID}`], env);
    const rootHash = /Root hash:\s+([0-9a-f]{64})/.exec(out)?.[1];
    const blocks = /Data blocks:\s+([0-9]+)/.exec(out)?.[1];
    if (!rootHash || !blocks) throw new VeriteeError('IMAGE_BUILD_FAILED', 'veritysetup printed no root hash / data blocks');
    const cmdline = base.cmdline.replace(/veritee\.roothash=[0-9a-f]{64}/, `veritee.roothash=${rootHash}`).replace(/veritee\.verity_blocks=[0-9]+/, `veritee.verity_blocks=${blocks}`);
    return finish(dir, { name: 'tampered-component', dir, vmlinuz: base.vmlinuz, initrd: base.initrd, squashfs, verity, cmdline, change: `${file} appended to, manifest kept`, manifestSha256 }, baseSquashfs);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

/**
 * Flips one byte of a copy of the squashfs: in the metadata block that holds the root
 * directory's inode (read whenever the file system is mounted), far from the
 * superblock. The verity tree and the measured command line are the base image's.
 */
export function deriveFlippedRootByte(base: ImageArtifacts): ImageVariant {
  const dir = variantDir(base, 'flipped-root-byte');
  const baseSquashfs = base.digests.rootfsSquashfs;
  const hit = cached(dir, baseSquashfs);
  if (hit) return hit;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const squashfs = join(dir, 'rootfs.squashfs');
  copyFileSync(base.squashfs, squashfs);
  const fd = openSync(squashfs, 'r+');
  let offset: number;
  try {
    const sb = Buffer.alloc(96);
    readSync(fd, sb, 0, 96, 0);
    if (sb.readUInt32LE(0) !== 0x73717368) throw new VeriteeError('IMAGE_BUILD_FAILED', 'the base root file system is not a squashfs');
    const rootInode = sb.readBigUInt64LE(32);
    const inodeTable = Number(sb.readBigUInt64LE(64));
    // the metadata block holding the root inode: its 2-byte header, then (compressed) inodes
    offset = inodeTable + Number(rootInode >> 16n) + 2 + 16;
    if (offset < 4096 || offset >= statSync(squashfs).size) throw new VeriteeError('IMAGE_BUILD_FAILED', 'the root inode lies where it cannot be flipped');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    b[0] = b[0]! ^ 0x01;
    writeSync(fd, b, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
  return finish(
    dir,
    { name: 'flipped-root-byte', dir, vmlinuz: base.vmlinuz, initrd: base.initrd, squashfs, verity: base.verity, cmdline: base.cmdline, change: `byte ${offset} of the squashfs (4 KiB block ${Math.floor(offset / 4096)}) flipped`, manifestSha256: '' },
    baseSquashfs,
  );
}
