/**
 * @module inputs
 * Pins a build's inputs before anything runs: the commit and tree of a local git
 * repository, a clean export of that commit (never the working tree's uncommitted state),
 * the digest of every source file and lockfile, the dependencies an npm lockfile resolves
 * (as package URLs with their integrity digests) and the toolchain versions.
 *
 * THREAT MODEL: the repository is the builder's input, not trusted code: the export is
 * made with `git archive` of the pinned commit, paths come from `git ls-tree -z`, and a
 * lockfile that names a dependency without an integrity digest is refused (it could not
 * be checked in the fetch phase).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBase64, parseJsonStrict, quoteInput, toHex, VeriteeError } from '@veritee/core';
import type { InputLeaf } from './merkle.js';

/** Lockfiles whose digest is pinned (wherever they sit in the tree). */
export const LOCKFILE_NAMES = ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock', 'Cargo.lock', 'go.sum', 'poetry.lock', 'uv.lock', 'flake.lock'];

/** Largest lockfile parsed for dependencies, in bytes. */
export const MAX_LOCKFILE_BYTES = 64 * 1024 * 1024;

export interface SourceRef {
  /** Absolute path of the repository. */
  dir: string;
  /** URI recorded in the provenance (`git+file:///abs/path`). */
  uri: string;
  commit: string;
  tree: string;
  /** Committer time of the commit, seconds since the epoch (SOURCE_DATE_EPOCH). */
  commitTime: number;
}

export interface SourceFile {
  path: string;
  mode: string;
  sha256: string;
}

/** A dependency resolved by a lockfile, as an SLSA ResourceDescriptor plus what the fetch phase needs. */
export interface ResolvedDependency {
  name: string;
  /** Package URL, e.g. `pkg:npm/%40scope/name@1.2.3`. */
  uri: string;
  /** Lowercase hex digests by algorithm (from the lockfile's SRI integrity). */
  digest: Record<string, string>;
  /** Where the fetch phase gets it (the lockfile's `resolved`). */
  downloadLocation: string;
  /** SRI string as the lockfile wrote it. */
  integrity: string;
  /** Lockfile that declares it. */
  lockfile: string;
}

function git(dir: string, args: string[]): string {
  const r = spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new VeriteeError('BUILD_SOURCE_INVALID', `git could not run: ${r.error.message}`);
  if (r.status !== 0) {
    throw new VeriteeError('BUILD_SOURCE_INVALID', `git ${args[0]} failed in ${quoteInput(dir)}: ${quoteInput(r.stderr.trim(), 200)}`);
  }
  return r.stdout;
}

/** Resolves `--source` (a directory or a `file://` URL of a local repository) and pins `rev` (default HEAD). */
export function pinSource(source: string, rev = 'HEAD'): SourceRef {
  let dir = source;
  if (/^[a-z][a-z0-9+.-]*:/i.test(source)) {
    let url: URL;
    try {
      url = new URL(source.replace(/^git\+/, ''));
    } catch {
      throw new VeriteeError('BUILD_SOURCE_INVALID', `source ${quoteInput(source)} is not a valid URL`);
    }
    if (url.protocol !== 'file:') throw new VeriteeError('BUILD_SOURCE_INVALID', `source ${quoteInput(source)}: only local repositories (a path or a file:// URL) are supported`);
    dir = fileURLToPath(url);
  }
  dir = resolve(dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new VeriteeError('BUILD_SOURCE_INVALID', `source ${quoteInput(dir)} is not a directory`);
  if (!/^[A-Za-z0-9_./^~@{}-]{1,200}$/.test(rev) || rev.startsWith('-')) throw new VeriteeError('BUILD_SOURCE_INVALID', `revision ${quoteInput(rev)} is not a plain git revision`);
  const commit = git(dir, ['rev-parse', '--verify', '--end-of-options', `${rev}^{commit}`]).trim();
  const tree = git(dir, ['rev-parse', '--verify', '--end-of-options', `${commit}^{tree}`]).trim();
  const commitTime = Number(git(dir, ['show', '-s', '--format=%ct', commit]).trim());
  const top = git(dir, ['rev-parse', '--show-toplevel']).trim() || dir;
  return { dir: top, uri: `git+file://${top}`, commit, tree, commitTime };
}

/** Writes the pinned commit's tree (not the working tree) into `dest`, which must exist and be empty. */
export function exportCommit(ref: SourceRef, dest: string): void {
  const archive = spawnSync('git', ['-C', ref.dir, 'archive', '--format=tar', ref.commit], { maxBuffer: 2 * 1024 * 1024 * 1024 });
  if (archive.status !== 0) throw new VeriteeError('BUILD_SOURCE_INVALID', `git archive of ${ref.commit} failed: ${quoteInput(String(archive.stderr), 200)}`);
  const untar = spawnSync('tar', ['-x', '-C', dest, '--no-same-owner'], { input: archive.stdout });
  if (untar.status !== 0) throw new VeriteeError('BUILD_SOURCE_INVALID', `unpacking the export failed: ${quoteInput(String(untar.stderr), 200)}`);
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every blob of the pinned tree with the SHA-256 of its exported content (symlinks: of the link target). */
export function hashSourceFiles(ref: SourceRef, exportDir: string): SourceFile[] {
  const out: SourceFile[] = [];
  const listing = git(ref.dir, ['ls-tree', '-r', '-z', '--full-tree', ref.commit]);
  for (const entry of listing.split('\0')) {
    if (!entry) continue;
    const tab = entry.indexOf('\t');
    const [mode, type] = entry.slice(0, tab).split(' ');
    const path = entry.slice(tab + 1);
    if (type === 'commit') {
      // a submodule: pinned by its commit id, its content is not part of this build
      out.push({ path, mode: mode!, sha256: `gitlink:${entry.slice(0, tab).split(' ')[2]}` });
      continue;
    }
    const abs = join(exportDir, path);
    const objectId = entry.slice(0, tab).split(' ')[2]!;
    let content: Buffer;
    try {
      content = lstatSync(abs).isSymbolicLink() ? Buffer.from(readlinkSync(abs)) : readFileSync(abs);
    } catch {
      throw new VeriteeError('BUILD_SOURCE_INVALID', `the export of ${ref.commit} lacks ${quoteInput(path)} (export-ignore in .gitattributes?): the build would not be of the commit`);
    }
    // the export must be the commit byte for byte (git archive honours export-subst / export-ignore)
    const blobId = createHash(objectId.length === 64 ? 'sha256' : 'sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
    if (blobId !== objectId) {
      throw new VeriteeError('BUILD_SOURCE_INVALID', `the export of ${quoteInput(path)} is not the committed blob ${objectId.slice(0, 12)} (export-subst in .gitattributes?): the build would not be of the commit`);
    }
    out.push({ path, mode: mode!, sha256: createHash('sha256').update(content).digest('hex') });
  }
  return out;
}

/** SRI (`sha512-<b64> sha1-<b64>`) to hex digests by algorithm; only sha256/sha384/sha512 count. */
export function sriToDigests(sri: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of sri.trim().split(/\s+/)) {
    const m = /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(part);
    if (!m) continue;
    out[m[1]!] = toHex(fromBase64(m[2]!, 'integrity'));
  }
  return out;
}

/** Package URL of an npm package (scope percent-encoded as the purl spec asks). */
export function npmPurl(name: string, version: string): string {
  const enc = (s: string) => encodeURIComponent(s);
  const [scope, bare] = name.startsWith('@') ? [name.slice(0, name.indexOf('/')), name.slice(name.indexOf('/') + 1)] : [undefined, name];
  return `pkg:npm/${scope ? `${enc(scope)}/` : ''}${enc(bare!)}@${enc(version)}`;
}

/** The default npm registry. */
export const NPM_REGISTRY = 'https://registry.npmjs.org';

/** The registry's canonical tarball URL of `name@version`. */
export function defaultRegistryTarball(name: string, version: string): string {
  return `${NPM_REGISTRY}/${name}/-/${name.split('/').pop()}-${version}.tgz`;
}

/** Dependencies resolved by an npm lockfile (v2/v3 `packages`): each with its integrity; links and the root are skipped. */
export function npmDependencies(lockText: string, lockfile: string): ResolvedDependency[] {
  const doc = parseJsonStrict(lockText, { what: `lockfile ${lockfile}`, code: 'BUILD_SOURCE_INVALID' }) as Record<string, unknown>;
  const packages = doc['packages'];
  if (packages === undefined) {
    throw new VeriteeError('BUILD_SOURCE_INVALID', `lockfile ${quoteInput(lockfile)} has no "packages" map (lockfileVersion 2 or 3 is required)`);
  }
  if (packages === null || typeof packages !== 'object') throw new VeriteeError('BUILD_SOURCE_INVALID', `lockfile ${quoteInput(lockfile)}: "packages" is not an object`);
  const out: ResolvedDependency[] = [];
  for (const [key, raw] of Object.entries(packages as Record<string, unknown>)) {
    if (key === '' || raw === null || typeof raw !== 'object') continue;
    const p = raw as Record<string, unknown>;
    if (p['link'] === true) continue;
    const idx = key.lastIndexOf('node_modules/');
    if (idx < 0) continue; // a workspace folder: part of the source
    const name = typeof p['name'] === 'string' ? p['name'] : key.slice(idx + 'node_modules/'.length);
    const version = typeof p['version'] === 'string' ? p['version'] : '';
    const integrity = p['integrity'];
    // npm omits `resolved` for the default registry (omit-lockfile-registry-resolved): npm then
    // fetches the registry's canonical tarball URL, and so does the fetch phase.
    const resolved = p['resolved'] ?? (typeof integrity === 'string' && version && !p['link'] ? defaultRegistryTarball(name, version) : undefined);
    if (typeof resolved !== 'string' || typeof integrity !== 'string') {
      if (typeof resolved === 'string' && resolved.startsWith('file:') && !resolved.endsWith('.tgz')) continue; // a local folder: part of the source
      throw new VeriteeError(
        'BUILD_DEPENDENCY_DIGEST_MISMATCH',
        `lockfile ${quoteInput(lockfile)} declares ${quoteInput(name)}@${quoteInput(version)} without ${typeof resolved !== 'string' ? 'a resolved location' : 'an integrity digest'}: it cannot be pinned`,
      );
    }
    const digest = sriToDigests(integrity);
    if (Object.keys(digest).length === 0) {
      throw new VeriteeError('BUILD_DEPENDENCY_DIGEST_MISMATCH', `lockfile ${quoteInput(lockfile)}: ${quoteInput(name)} has no sha256/sha384/sha512 integrity (got ${quoteInput(integrity, 40)})`);
    }
    out.push({ name, uri: npmPurl(name, version), digest, downloadLocation: resolved, integrity, lockfile });
  }
  return out;
}

/** Lockfiles among the source files, with their digests. */
export function findLockfiles(files: readonly SourceFile[]): SourceFile[] {
  return files.filter((f) => LOCKFILE_NAMES.includes(f.path.split('/').pop()!) && !f.path.split('/').includes('node_modules'));
}

/** Dependencies of every npm lockfile in the export (deduplicated by purl + digest). */
export function resolveDependencies(exportDir: string, lockfiles: readonly SourceFile[]): ResolvedDependency[] {
  const seen = new Map<string, ResolvedDependency>();
  for (const lf of lockfiles) {
    const base = lf.path.split('/').pop()!;
    if (base !== 'package-lock.json' && base !== 'npm-shrinkwrap.json') continue;
    const abs = join(exportDir, lf.path);
    if (statSync(abs).size > MAX_LOCKFILE_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `lockfile ${quoteInput(lf.path)} is over ${MAX_LOCKFILE_BYTES} bytes`);
    for (const d of npmDependencies(readFileSync(abs, 'utf8'), lf.path)) {
      const key = `${d.uri} ${d.integrity}`;
      if (!seen.has(key)) seen.set(key, d);
    }
  }
  return [...seen.values()].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
}

function versionOf(cmd: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    return out.trim().split('\n')[0]!.replace(/^v/, '').slice(0, 100);
  } catch {
    return undefined;
  }
}

/** Versions of the tools the sealed phase offers (node, npm, git, the sandbox). Absent tools are omitted. */
export function toolchainVersions(): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node };
  const npm = versionOf('npm', ['--version']);
  if (npm) out['npm'] = npm;
  const g = versionOf('git', ['--version']);
  if (g) out['git'] = g.replace(/^git version /, '');
  const bw = versionOf('bwrap', ['--version']);
  if (bw) out['bwrap'] = bw.replace(/^bubblewrap /, '');
  return out;
}

/** A host directory made available read-only to the build, measured file by file (kettle's "preloaded-and-measured"). */
export interface Preload {
  /** Where it appears, relative to the build root (e.g. `node_modules`). */
  name: string;
  /** Host directory. */
  path: string;
}

export interface MeasuredPreload extends Preload {
  files: number;
  /** Hex root of the Merkle tree over its files (leaf kind `preload`). */
  sha256: string;
  leaves: InputLeaf[];
}

/** Hashes every entry under a preloaded directory (files: content; symlinks: target), in path order. */
export function measurePreload(p: Preload, merkleRoot: (l: InputLeaf[]) => string): MeasuredPreload {
  const n = p.name.replace(/\/+$/, '');
  if (!/^[A-Za-z0-9._@-][A-Za-z0-9._@/-]*$/.test(n) || n.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new VeriteeError('INPUT_INVALID', `preload name ${quoteInput(p.name)} must be a relative path inside the build root`);
  }
  const root = resolve(p.path);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new VeriteeError('INPUT_FILE_UNREADABLE', `preload ${quoteInput(p.path)} is not a directory`);
  const leaves: InputLeaf[] = [];
  const walk = (rel: string) => {
    const abs = rel ? join(root, rel) : root;
    for (const name of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isSymbolicLink()) leaves.push({ kind: 'preload', name: `${n}/${r}`, value: `symlink:${readlinkSync(join(root, r))}` });
      else if (st.isDirectory()) walk(r);
      else if (st.isFile()) leaves.push({ kind: 'preload', name: `${n}/${r}`, value: `sha256:${sha256File(join(root, r))}` });
    }
  };
  walk('');
  return { name: n, path: root, files: leaves.length, sha256: merkleRoot(leaves), leaves };
}

/** Merkle leaves of the pinned inputs. */
export function inputLeaves(p: {
  preloads?: readonly MeasuredPreload[];
  files: readonly SourceFile[];
  lockfiles: readonly SourceFile[];
  dependencies: readonly ResolvedDependency[];
  toolchain: Record<string, string>;
  parameters: Record<string, string>;
}): InputLeaf[] {
  const leaves: InputLeaf[] = [];
  for (const f of p.files) leaves.push({ kind: 'source', name: f.path, value: f.sha256.startsWith('gitlink:') ? f.sha256 : `sha256:${f.sha256}` });
  for (const f of p.lockfiles) leaves.push({ kind: 'lockfile', name: f.path, value: `sha256:${f.sha256}` });
  for (const d of p.dependencies) {
    const alg = d.digest['sha512'] ? 'sha512' : d.digest['sha384'] ? 'sha384' : 'sha256';
    leaves.push({ kind: 'dependency', name: `${d.uri} ${d.lockfile}`, value: `${alg}:${d.digest[alg]}` });
  }
  for (const pre of p.preloads ?? []) leaves.push(...pre.leaves);
  for (const [k, v] of Object.entries(p.toolchain)) leaves.push({ kind: 'toolchain', name: k, value: v });
  for (const [k, v] of Object.entries(p.parameters)) leaves.push({ kind: 'parameter', name: k, value: v });
  return leaves;
}

/** True for an absolute path (helper for callers that accept relative artifact paths only). */
export const isAbsolutePath = isAbsolute;
