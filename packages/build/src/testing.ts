/**
 * @module testing
 * Test helpers: real git repositories in temp directories, bubblewrap and diffoscope
 * installed when missing (as root, from Debian), npm tarballs served on loopback. Not part of the
 * builder's measurement.
 */
import { aptInstall } from '@veritee/core/apt';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Installs bubblewrap with apt-get when `bwrap` is missing (the tests need the real sandbox). */
export function ensureBubblewrap(): void {
  if (spawnSync('bwrap', ['--version'], { stdio: 'ignore' }).status === 0) return;
  if (process.getuid?.() !== 0) throw new Error('bubblewrap is missing and the tests are not root: apt-get install bubblewrap');
  if (!aptInstall(['bubblewrap']).ok) throw new Error('apt-get install bubblewrap failed');
}

/** Installs diffoscope (Debian `diffoscope-minimal`) with apt-get when missing (the reproducibility test needs the real tool). */
export function ensureDiffoscope(): void {
  if (spawnSync('diffoscope', ['--version'], { stdio: 'ignore' }).status === 0) return;
  if (process.getuid?.() !== 0) throw new Error('diffoscope is missing and the tests are not root: apt-get install diffoscope-minimal');
  const r = aptInstall(['diffoscope-minimal'], { recommends: false });
  if (!r.ok || spawnSync('diffoscope', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('apt-get install diffoscope-minimal failed');
}

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid', GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' },
  }).trim();
}

/** A git repository with `files` committed; returns its path and commit. */
export function makeRepo(files: Record<string, string | Uint8Array>, parent = tmpdir()): { dir: string; commit: string } {
  const dir = mkdtempSync(join(parent, 'veritee-repo-'));
  git(dir, 'init', '-q', '-b', 'main');
  writeFiles(dir, files);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return { dir, commit: git(dir, 'rev-parse', 'HEAD') };
}

export function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
}

/** An npm package tarball (package/package.json + index.js) and its SRI integrity. */
export function npmTarball(name: string, version: string, indexJs: string): { tgz: Uint8Array; integrity: string } {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-pkg-'));
  writeFiles(dir, { 'package/package.json': JSON.stringify({ name, version, main: 'index.js' }), 'package/index.js': indexJs });
  execFileSync('tar', ['-czf', join(dir, 'p.tgz'), '--mtime=2026-01-01', '--owner=0', '--group=0', '-C', dir, 'package']);
  const tgz = new Uint8Array(readFileSync(join(dir, 'p.tgz')));
  return { tgz, integrity: `sha512-${createHash('sha512').update(tgz).digest('base64')}` };
}

/** Serves `routes` (path → bytes) on 127.0.0.1; resolves with the base URL. */
export async function serveLoopback(routes: Record<string, Uint8Array>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const body = routes[req.url ?? ''];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(Buffer.from(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}`, server };
}

/** A package-lock.json (v3) for a root package depending on `deps`. */
export function lockfileFor(root: string, deps: { name: string; version: string; resolved: string; integrity: string }[]): string {
  const packages: Record<string, unknown> = { '': { name: root, version: '1.0.0', dependencies: Object.fromEntries(deps.map((d) => [d.name, d.version])) } };
  for (const d of deps) packages[`node_modules/${d.name}`] = { version: d.version, resolved: d.resolved, integrity: d.integrity };
  return JSON.stringify({ name: root, version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2) + '\n';
}
