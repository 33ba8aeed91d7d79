/**
 * @module build/image-build
 * Builds the measured VM image, reproducibly, from Debian packages:
 *
 *   rootfs.squashfs  Debian trixie minbase + nodejs (mmdebstrap, fixed SOURCE_DATE_EPOCH),
 *                    the veritee guest program (/usr/lib/veritee/veritee-guest.mjs, an
 *                    esbuild bundle of ../guest/main.ts) and the component manifest
 *                    (/etc/veritee/manifest.json); production mode removes every shell,
 *                    the package managers, perl and the login tools
 *   rootfs.verity    its dm-verity hash tree (fixed salt and UUID)
 *   vmlinuz          Debian trixie's linux-image-amd64 kernel
 *   initrd.cpio      the static init (scripts/init.c) and the kernel modules it loads
 *   cmdline          the kernel command line: veritee.mode, the verity root hash, data
 *                    blocks and salt — measured at launch (SNP kernel-hashes table), so
 *                    the root file system and the dev/production label are in the measurement
 *   digests.json     SHA-256 of each, the verity root hash, the component-tree root
 *                    (HOST_DATA), the package list, the shells present
 *
 * `buildImage` builds into `<cache>/<mode>-<key>/a` (and `b` with `twice`): key = SHA-256
 * of every input (this builder's version, init.c, the guest bundle, mode, suite, mirror,
 * epoch, the module and removal lists, the compiler). Two builds must give equal digests
 * (IMAGE_BUILD_NOT_REPRODUCIBLE otherwise). A complete build in the cache is reused.
 * Missing tools are installed with apt-get (as root) or the build fails with
 * IMAGE_BUILD_FAILED naming them: it never silently skips.
 */
import { aptInstall } from '@veritee/core/apt';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, lstatSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeriteeError } from '@veritee/core';
import { buildManifest, type ManifestScope } from '../manifest.js';
import { writeCpio, type CpioEntry } from './cpio.js';

export const IMAGE_BUILDER_VERSION = 'veritee.image-build/v1';
export type ImageMode = 'production' | 'dev';

/** Kernel modules the init loads, in this order after their dependencies; '?' = optional. */
export const IMAGE_MODULES = ['virtio_pci', 'virtio_blk', 'squashfs', 'dm_verity', 'qemu_fw_cfg', 'configfs', '?tsm_report', '?tsm', '?sev-guest', '?tdx-guest'] as const;
/** Removed from production images (usr-merged: /bin = /usr/bin). */
export const PRODUCTION_REMOVED = [
  'usr/bin/apt', 'usr/bin/apt-get', 'usr/bin/apt-cache', 'usr/bin/apt-config', 'usr/bin/apt-mark', 'usr/bin/apt-key',
  'usr/bin/dpkg', 'usr/bin/dpkg-deb', 'usr/bin/dpkg-query', 'usr/bin/dpkg-split', 'usr/bin/dpkg-divert', 'usr/bin/dpkg-statoverride',
  'usr/bin/dpkg-trigger', 'usr/bin/dpkg-maintscript-helper', 'usr/bin/dpkg-realpath',
  'usr/bin/bash', 'usr/bin/dash', 'usr/bin/sh', 'usr/bin/rbash', 'usr/bin/perl', 'usr/bin/su', 'usr/bin/login', 'usr/sbin/sulogin', 'usr/sbin/nologin',
] as const;
/** What the component tree covers: everything but mutable or virtual trees, docs and the manifest itself. */
export const IMAGE_SCOPE: ManifestScope = { include: [''], exclude: ['dev', 'etc/veritee', 'proc', 'run', 'sys', 'tmp', 'usr/share/doc', 'usr/share/locale', 'usr/share/man', 'usr/share/zoneinfo', 'var'] };
export const IMAGE_MANIFEST_DEPTH = 20;
const VERITY_SALT = createHash('sha256').update('veritee rootfs verity salt').digest('hex');
const VERITY_UUID = '00000000-0000-4000-8000-000000000000';

export interface ImageBuildOptions {
  mode: ImageMode;
  /** Default ~/.cache/veritee/image. */
  cacheDir?: string;
  suite?: string;
  mirror?: string;
  sourceDateEpoch?: number;
  /** Build twice and compare (default true). */
  twice?: boolean;
  log?: (line: string) => void;
}

export interface ImageDigests {
  mode: ImageMode;
  suite: string;
  sourceDateEpoch: number;
  kernelVersion: string;
  vmlinuz: string;
  initrd: string;
  rootfsSquashfs: string;
  rootfsVerity: string;
  verityRootHash: string;
  verityDataBlocks: number;
  componentRoot: string;
  components: number;
  guestProgram: string;
  packages: string;
  cmdline: string;
  shellsAndPackageManagers: string[];
}

export interface ImageArtifacts {
  dir: string;
  vmlinuz: string;
  initrd: string;
  squashfs: string;
  verity: string;
  manifest: string;
  cmdline: string;
  digests: ImageDigests;
  /** Sizes in bytes. */
  sizes: { vmlinuz: number; initrd: number; squashfs: number; verity: number };
  /** False when taken from the cache. */
  built: boolean;
  /** Seconds per build (empty when cached). */
  buildSeconds: number[];
}

const sha256File = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, '..', '..');
const repoDir = resolve(pkgDir, '..', '..');
export const INIT_SOURCE = join(pkgDir, 'scripts', 'init.c');

const REQUIRED_TOOLS: { cmd: string; pkg: string }[] = [
  { cmd: 'mmdebstrap', pkg: 'mmdebstrap' },
  { cmd: 'mksquashfs', pkg: 'squashfs-tools' },
  { cmd: 'veritysetup', pkg: 'cryptsetup-bin' },
  { cmd: 'gcc', pkg: 'gcc' },
  { cmd: 'xz', pkg: 'xz-utils' },
  { cmd: 'zstd', pkg: 'zstd' },
  { cmd: 'tar', pkg: 'tar' },
];

function which(cmd: string): string | undefined {
  for (const d of (process.env['PATH'] ?? '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = join(d, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Makes sure the commands are present: installs the missing Debian packages with apt-get
 * when running as root, otherwise fails with `code` naming what to install.
 */
export function ensureTools(tools: { cmd: string; pkg: string; file?: string }[], code: 'IMAGE_BUILD_FAILED' | 'IMAGE_BOOT_FAILED', log: (s: string) => void = () => {}): void {
  const missing = () => tools.filter((t) => (t.file ? !existsSync(t.file) : !which(t.cmd)));
  let m = missing();
  if (m.length === 0) return;
  const pkgs = [...new Set(m.map((t) => t.pkg))];
  if (process.getuid?.() !== 0 || !which('apt-get')) {
    throw new VeriteeError(code, `missing ${m.map((t) => t.cmd).join(', ')}: install the Debian packages ${pkgs.join(' ')} (apt-get install -y ${pkgs.join(' ')})`);
  }
  log(`installing ${pkgs.join(' ')} with apt-get`);
  const r = aptInstall(pkgs, { stdio: 'capture', recommends: false });
  m = missing();
  if (!r.ok || m.length > 0) {
    throw new VeriteeError(code, `missing ${m.map((t) => t.cmd).join(', ') || pkgs.join(', ')} and apt-get install ${pkgs.join(' ')} failed: ${r.output.trim().split('\n').slice(-2).join(' ').slice(0, 300)}`);
  }
}

function run(logFile: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): string {
  writeFileSync(logFile, `$ ${cmd} ${args.join(' ')}\n`, { flag: 'a' });
  const r = spawnSync(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, encoding: 'utf8', maxBuffer: 256 << 20, ...(opts.input !== undefined ? { input: opts.input } : {}) });
  writeFileSync(logFile, (r.stdout ?? '') + (r.stderr ?? ''), { flag: 'a' });
  if (r.status !== 0) {
    const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ').slice(0, 400);
    throw new VeriteeError('IMAGE_BUILD_FAILED', `${cmd} failed (${r.error ? (r.error as NodeJS.ErrnoException).code : `status ${r.status ?? r.signal}`}): ${tail} (log: ${logFile})`);
  }
  return r.stdout ?? '';
}

/** Bundles the guest program (needs the compiled dist/ and esbuild from the workspace). */
export async function bundleGuest(outFile: string): Promise<string> {
  const entry = join(pkgDir, 'dist', 'guest', 'main.js');
  if (!existsSync(entry)) throw new VeriteeError('IMAGE_BUILD_FAILED', `${entry} is missing: build the workspace first (node scripts/build.mjs)`);
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new VeriteeError('IMAGE_BUILD_FAILED', 'esbuild is not installed in the workspace (npm install)');
  }
  await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: repoDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: outFile,
    legalComments: 'none',
    logLevel: 'silent',
    banner: { js: "import { createRequire as __veriteeCreateRequire } from 'node:module'; const require = __veriteeCreateRequire(import.meta.url);" },
  });
  return sha256File(outFile);
}

/** The `depends=` field of a module's .modinfo section (NUL-separated key=value strings). */
function moduleDepends(ko: Uint8Array): string[] {
  const text = Buffer.from(ko).toString('latin1');
  const i = text.indexOf('\0depends=');
  if (i < 0) return [];
  const v = text.slice(i + '\0depends='.length, text.indexOf('\0', i + 1));
  return v ? v.split(',').map((d) => d.replace(/-/g, '_')) : [];
}

/**
 * Resolves the wanted modules and their dependencies (from each module's own modinfo:
 * the package ships no modules.dep, depmod runs at install time) into load order.
 */
function resolveModules(modDir: string): { name: string; data: Uint8Array; optional: boolean }[] {
  const norm = (file: string) => file.replace(/^.*\//, '').replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
  const builtin = new Set(readFileSync(join(modDir, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map(norm));
  const files = new Map<string, string>();
  const walk = (rel: string) => {
    for (const n of readdirSync(join(modDir, rel)).sort()) {
      const r = `${rel}/${n}`;
      if (lstatSync(join(modDir, r)).isDirectory()) walk(r);
      else if (/\.ko(\.(xz|zst|gz))?$/.test(n)) files.set(norm(n), r);
    }
  };
  walk('kernel');
  const out: { name: string; data: Uint8Array; optional: boolean }[] = [];
  const added = new Set<string>();
  const add = (name: string, optional: boolean, depth = 0) => {
    if (added.has(name) || builtin.has(name)) return;
    const f = files.get(name);
    if (!f || depth > 16) {
      if (optional) return;
      throw new VeriteeError('IMAGE_BUILD_FAILED', `kernel module ${name} is neither built in nor shipped`);
    }
    const data = decompressModule(join(modDir, f));
    for (const d of moduleDepends(data)) add(d, optional, depth + 1);
    added.add(name);
    out.push({ name, data, optional });
  };
  for (const w of IMAGE_MODULES) add(w.replace(/^\?/, '').replace(/-/g, '_'), w.startsWith('?'));
  return out;
}

function decompressModule(path: string): Uint8Array {
  if (path.endsWith('.ko')) return readFileSync(path);
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : path.endsWith('.gz') ? 'gzip' : '';
  if (!tool) throw new VeriteeError('IMAGE_BUILD_FAILED', `unknown module compression: ${path}`);
  return new Uint8Array(execFileSync(tool, ['-dc', path], { maxBuffer: 64 << 20 }));
}

function listFiles(root: string, rel = '', out: string[] = []): string[] {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(root, r));
    if (st.isDirectory()) listFiles(root, r, out);
    else out.push(r);
  }
  return out;
}

interface Inputs {
  key: string;
  doc: Record<string, string>;
}

async function imageInputs(o: Required<Omit<ImageBuildOptions, 'log' | 'cacheDir' | 'twice'>>, guestFile: string): Promise<Inputs> {
  const guest = await bundleGuest(guestFile);
  const gcc = execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  const doc: Record<string, string> = {
    builder: createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).update(readFileSync(join(here, 'cpio.js'))).digest('hex'),
    version: IMAGE_BUILDER_VERSION,
    guest,
    init: sha256File(INIT_SOURCE),
    gcc,
    mode: o.mode,
    suite: o.suite,
    mirror: o.mirror,
    sourceDateEpoch: String(o.sourceDateEpoch),
    modules: IMAGE_MODULES.join(','),
    removed: o.mode === 'production' ? PRODUCTION_REMOVED.join(',') : '',
    scope: JSON.stringify(IMAGE_SCOPE),
  };
  const key = createHash('sha256').update(JSON.stringify(doc)).digest('hex').slice(0, 24);
  return { key, doc };
}

/** One build into `out` (created fresh; the work tree is removed afterwards). */
async function buildOnce(out: string, o: Required<Omit<ImageBuildOptions, 'log' | 'cacheDir' | 'twice'>>, guestFile: string, log: (s: string) => void): Promise<ImageDigests> {
  const tmp = `${out}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const work = join(tmp, 'work');
  mkdirSync(work, { recursive: true });
  const logFile = join(tmp, 'build.log');
  const env = { ...process.env, SOURCE_DATE_EPOCH: String(o.sourceDateEpoch), LC_ALL: 'C.UTF-8', TZ: 'UTC' };
  cpSync(guestFile, join(work, 'veritee-guest.mjs'));

  // 1. the root file system
  log(`${o.mode}: mmdebstrap ${o.suite} minbase + nodejs`);
  const hooks = [
    `--customize-hook=mkdir -p "$1/usr/lib/veritee" "$1/etc/veritee" && cp ${work}/veritee-guest.mjs "$1/usr/lib/veritee/veritee-guest.mjs" && chmod 0644 "$1/usr/lib/veritee/veritee-guest.mjs"`,
    `--customize-hook=echo 'veritee.mode=${o.mode}' > "$1/etc/veritee-mode"`,
    `--customize-hook=dpkg-query --admindir="$1/var/lib/dpkg" -W -f='\${Package} \${Version} \${Architecture}\\n' | LC_ALL=C sort > ${tmp}/packages.txt`,
  ];
  if (o.mode === 'production') hooks.push(`--customize-hook=cd "$1" && rm -f ${PRODUCTION_REMOVED.join(' ')}`);
  run(logFile, 'mmdebstrap', ['--variant=minbase', '--mode=unshare', '--skip=output/dev', '--include=nodejs', '--aptopt=Acquire::Check-Valid-Until "false"', ...hooks, o.suite, join(work, 'rootfs.tar'), o.mirror], { env });
  const tree = join(work, 'tree');
  mkdirSync(tree);
  run(logFile, 'tar', ['-xpf', join(work, 'rootfs.tar'), '-C', tree, '--numeric-owner'], { env });
  const shells = PRODUCTION_REMOVED.filter((p) => {
    try {
      lstatSync(join(tree, p));
      return true;
    } catch {
      return false;
    }
  });
  for (const d of ['dev', 'proc', 'sys', 'run', 'tmp']) mkdirSync(join(tree, d), { recursive: true });

  // 2. the component manifest, placed outside its own scope
  log(`${o.mode}: component manifest`);
  const manifest = buildManifest(tree, IMAGE_SCOPE, { depth: IMAGE_MANIFEST_DEPTH });
  const manifestText = JSON.stringify(manifest, null, 1) + '\n';
  writeFileSync(join(tree, 'etc/veritee/manifest.json'), manifestText);
  writeFileSync(join(tmp, 'manifest.json'), manifestText);
  writeFileSync(join(tmp, 'files.txt'), listFiles(tree).join('\n') + '\n');

  // 3. squashfs + dm-verity
  log(`${o.mode}: squashfs and dm-verity`);
  run(logFile, 'mksquashfs', [tree, join(tmp, 'rootfs.squashfs'), '-noappend', '-reproducible', '-quiet', '-no-progress'], { env });
  const vout = run(logFile, 'veritysetup', ['format', join(tmp, 'rootfs.squashfs'), join(tmp, 'rootfs.verity'), `--salt=${VERITY_SALT}`, `--uuid=${VERITY_UUID}`], { env });
  const rootHash = /Root hash:\s+([0-9a-f]{64})/.exec(vout)?.[1];
  const blocks = Number(/Data blocks:\s+([0-9]+)/.exec(vout)?.[1]);
  if (!rootHash || !Number.isInteger(blocks) || blocks <= 0) throw new VeriteeError('IMAGE_BUILD_FAILED', `veritysetup printed no root hash / data blocks (log: ${logFile})`);
  rmSync(tree, { recursive: true, force: true });

  // 4. the kernel and its modules
  log(`${o.mode}: kernel (linux-image-amd64)`);
  run(logFile, 'mmdebstrap', ['--variant=extract', '--mode=unshare', '--skip=output/dev', '--include=linux-image-amd64', o.suite, join(work, 'kernel.tar'), o.mirror], { env });
  const kdir = join(work, 'kernel');
  mkdirSync(kdir);
  run(logFile, 'tar', ['-xf', join(work, 'kernel.tar'), '-C', kdir, '--numeric-owner', './boot', './usr/lib/modules'], { env });
  const vmlinuzName = readdirSync(join(kdir, 'boot')).filter((n) => n.startsWith('vmlinuz-')).sort();
  if (vmlinuzName.length !== 1) throw new VeriteeError('IMAGE_BUILD_FAILED', `expected one kernel in linux-image-amd64, found ${vmlinuzName.length}`);
  const kernelVersion = vmlinuzName[0]!.slice('vmlinuz-'.length);
  cpSync(join(kdir, 'boot', vmlinuzName[0]!), join(tmp, 'vmlinuz'));
  const modDir = join(kdir, 'usr/lib/modules', kernelVersion);
  const modules = resolveModules(modDir);

  // 5. the init and the initramfs
  log(`${o.mode}: static init and initramfs`);
  cpSync(INIT_SOURCE, join(work, 'init.c'));
  run(logFile, 'gcc', ['-static', '-Os', '-Wall', '-Wextra', `-ffile-prefix-map=${work}=.`, '-Wl,--build-id=none', '-o', join(work, 'init'), join(work, 'init.c')], { env });
  const entries: CpioEntry[] = [
    { path: 'dev', type: 'dir' },
    { path: 'dev/console', type: 'char', major: 5, minor: 1 },
    { path: 'etc', type: 'dir' },
    { path: 'etc/modules.list', type: 'file', data: new TextEncoder().encode(modules.map((m) => `${m.optional ? '?' : ''}${m.name}\n`).join('')) },
    { path: 'init', type: 'file', data: readFileSync(join(work, 'init')), mode: 0o755 },
    { path: 'lib', type: 'dir' },
    { path: 'lib/modules', type: 'dir' },
    { path: 'newroot', type: 'dir' },
    { path: 'proc', type: 'dir' },
    { path: 'sys', type: 'dir' },
  ];
  for (const m of modules) entries.push({ path: `lib/modules/${m.name}.ko`, type: 'file', data: m.data });
  writeFileSync(join(tmp, 'initrd.cpio'), writeCpio(entries, o.sourceDateEpoch));

  // 6. the measured command line and the digests
  const cmdline = `console=ttyS0 panic=-1 loglevel=4 veritee.mode=${o.mode} veritee.roothash=${rootHash} veritee.verity_blocks=${blocks} veritee.verity_salt=${VERITY_SALT}`;
  writeFileSync(join(tmp, 'cmdline'), cmdline + '\n');
  const digests: ImageDigests = {
    mode: o.mode,
    suite: o.suite,
    sourceDateEpoch: o.sourceDateEpoch,
    kernelVersion,
    vmlinuz: sha256File(join(tmp, 'vmlinuz')),
    initrd: sha256File(join(tmp, 'initrd.cpio')),
    rootfsSquashfs: sha256File(join(tmp, 'rootfs.squashfs')),
    rootfsVerity: sha256File(join(tmp, 'rootfs.verity')),
    verityRootHash: rootHash,
    verityDataBlocks: blocks,
    componentRoot: manifest.root,
    components: manifest.components.length,
    guestProgram: sha256File(guestFile),
    packages: sha256File(join(tmp, 'packages.txt')),
    cmdline,
    shellsAndPackageManagers: shells,
  };
  writeFileSync(join(tmp, 'digests.json'), JSON.stringify(digests, null, 2) + '\n');
  rmSync(work, { recursive: true, force: true });
  chmodSync(join(tmp, 'rootfs.verity'), 0o644);
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  return digests;
}

function differing(a: ImageDigests, b: ImageDigests): string[] {
  return (Object.keys(a) as (keyof ImageDigests)[]).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

function artifacts(dir: string, digests: ImageDigests, built: boolean, buildSeconds: number[]): ImageArtifacts {
  const p = (n: string) => join(dir, n);
  return {
    dir,
    vmlinuz: p('vmlinuz'),
    initrd: p('initrd.cpio'),
    squashfs: p('rootfs.squashfs'),
    verity: p('rootfs.verity'),
    manifest: p('manifest.json'),
    cmdline: digests.cmdline,
    digests,
    sizes: { vmlinuz: statSync(p('vmlinuz')).size, initrd: statSync(p('initrd.cpio')).size, squashfs: statSync(p('rootfs.squashfs')).size, verity: statSync(p('rootfs.verity')).size },
    built,
    buildSeconds,
  };
}

function readDigests(dir: string): ImageDigests | undefined {
  try {
    const d = JSON.parse(readFileSync(join(dir, 'digests.json'), 'utf8')) as ImageDigests;
    for (const f of ['vmlinuz', 'initrd.cpio', 'rootfs.squashfs', 'rootfs.verity', 'manifest.json']) if (!existsSync(join(dir, f))) return undefined;
    return d;
  } catch {
    return undefined;
  }
}

/** Builds the image (twice by default, comparing digests), or returns the cached build. */
export async function buildImage(opts: ImageBuildOptions): Promise<ImageArtifacts> {
  if (opts.mode !== 'production' && opts.mode !== 'dev') throw new VeriteeError('INPUT_INVALID', 'the image mode must be production or dev');
  const log = opts.log ?? (() => {});
  const o = {
    mode: opts.mode,
    suite: opts.suite ?? 'trixie',
    mirror: opts.mirror ?? 'http://deb.debian.org/debian',
    sourceDateEpoch: opts.sourceDateEpoch ?? 1735689600,
  };
  if (!/^[a-z]+$/.test(o.suite) || !/^https?:\/\/[A-Za-z0-9.:/_-]+$/.test(o.mirror) || !Number.isInteger(o.sourceDateEpoch) || o.sourceDateEpoch < 0) {
    throw new VeriteeError('INPUT_INVALID', 'suite, mirror (http/https URL) or SOURCE_DATE_EPOCH is malformed');
  }
  const twice = opts.twice ?? true;
  const cache = opts.cacheDir ?? join(homedir(), '.cache', 'veritee', 'image');
  ensureTools(REQUIRED_TOOLS.concat([{ cmd: 'libc.a', pkg: 'libc6-dev', file: '/usr/lib/x86_64-linux-gnu/libc.a' } as never]), 'IMAGE_BUILD_FAILED', log);
  mkdirSync(cache, { recursive: true });
  const guestFile = join(cache, `guest-${process.pid}.mjs`);
  let inputs: Inputs;
  try {
    inputs = await imageInputs(o, guestFile);
    const dir = join(cache, `${o.mode}-${inputs.key}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'inputs.json'), JSON.stringify(inputs.doc, null, 2) + '\n');
    const a = readDigests(join(dir, 'a'));
    const b = twice ? readDigests(join(dir, 'b')) : a;
    if (a && b) {
      const diff = differing(a, b);
      if (diff.length) throw new VeriteeError('IMAGE_BUILD_NOT_REPRODUCIBLE', `the cached builds ${dir}/a and /b differ in ${diff.join(', ')}`);
      log(`${o.mode}: cached build ${dir}`);
      return artifacts(join(dir, 'a'), a, false, []);
    }
    const seconds: number[] = [];
    const once = async (name: 'a' | 'b') => {
      const t0 = Date.now();
      const d = await buildOnce(join(dir, name), o, guestFile, (s) => log(`[${name}] ${s}`));
      seconds.push((Date.now() - t0) / 1000);
      return d;
    };
    const da = a ?? (await once('a'));
    if (twice) {
      const db = b ?? (await once('b'));
      const diff = differing(da, db);
      if (diff.length) throw new VeriteeError('IMAGE_BUILD_NOT_REPRODUCIBLE', `two builds of the ${o.mode} image differ in ${diff.join(', ')} (${dir}/a, ${dir}/b)`);
    }
    return artifacts(join(dir, 'a'), da, true, seconds);
  } finally {
    rmSync(guestFile, { force: true });
  }
}
