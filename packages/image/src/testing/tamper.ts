/**
 * @module testing/tamper
 * Tampered variants of a built image, made the way a host could make them.
 *
 * - `implantedImage`: the host adds a file to the root file system (mksquashfs append)
 *   and re-formats dm-verity, so the kernel command line carries a new root hash: the
 *   launch measurement changes, but the host still claims the genuine component-tree
 *   root as HOST_DATA. Only the in-guest enforcement can notice.
 * - `flippedImage`: one byte of the root file system flipped, the genuine verity tree and
 *   command line kept: dm-verity refuses the block.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, openSync, readSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TamperedImage {
  squashfs: string;
  verity: string;
  cmdline: string;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, SOURCE_DATE_EPOCH: '1735689600' } });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

export function implantedImage(squashfs: string, cmdline: string, dir: string, name = 'implant', content = 'exfiltrate keys\n'): TamperedImage {
  mkdirSync(join(dir, 'extra'), { recursive: true });
  writeFileSync(join(dir, 'extra', name), content);
  const out = join(dir, 'implanted.squashfs');
  copyFileSync(squashfs, out);
  run('mksquashfs', [join(dir, 'extra'), out, '-quiet', '-no-progress', '-all-root']);
  const salt = /veritee\.verity_salt=([0-9a-f]{64})/.exec(cmdline)![1]!;
  const verity = join(dir, 'implanted.verity');
  const v = run('veritysetup', ['format', out, verity, `--salt=${salt}`, '--uuid=00000000-0000-4000-8000-000000000000']);
  const rootHash = /Root hash:\s+([0-9a-f]{64})/.exec(v)![1]!;
  const blocks = /Data blocks:\s+([0-9]+)/.exec(v)![1]!;
  return { squashfs: out, verity, cmdline: cmdline.replace(/veritee\.roothash=[0-9a-f]{64}/, `veritee.roothash=${rootHash}`).replace(/veritee\.verity_blocks=[0-9]+/, `veritee.verity_blocks=${blocks}`) };
}

export function flippedImage(squashfs: string, verity: string, cmdline: string, dir: string, offset = 2048): TamperedImage {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'flipped.squashfs');
  copyFileSync(squashfs, out);
  const fd = openSync(out, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    b[0] = b[0]! ^ 0x01;
    writeSync(fd, b, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
  return { squashfs: out, verity, cmdline };
}
