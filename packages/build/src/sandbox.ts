/**
 * @module sandbox
 * The sealed phase: the build command runs in a new network namespace with only a
 * loopback interface that is down, so no address outside it is reachable and DNS fails.
 *
 * - `bwrap` (bubblewrap, Debian package `bubblewrap`): `--unshare-all` (network, IPC,
 *   PID, UTS, user, cgroup namespaces), a clean environment (`--clearenv`), `/usr`, the
 *   fetched dependencies and the toolchain bound read-only, its own empty `/tmp`, the
 *   export of the pinned commit as the only writable tree (mounted at `/build`).
 * - `unshare` (util-linux, root only): a new network namespace and a clean environment;
 *   the file system is the host's. Weaker, and recorded as such in the provenance.
 *
 * A build that tries the network fails (connect: ENETUNREACH, DNS: EAI_AGAIN); when its
 * output shows such an error the phase fails with BUILD_NETWORK_IN_SEALED_PHASE.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { quoteInput, VeriteeError } from '@veritee/core';

export type SandboxMethod = 'bwrap' | 'unshare';

/** How the sealed phase was isolated, as recorded in the provenance. */
export interface Sealing {
  sealed: true;
  method: SandboxMethod;
  network: 'none';
  readOnlyInputs: boolean;
  cleanEnvironment: true;
  privateTmp: boolean;
}

export interface SealedRun {
  exitCode: number;
  /** True when the run was killed at its time limit. */
  timedOut: boolean;
  signal: string | null;
  /** Combined stdout + stderr, at most {@link MAX_LOG_BYTES} (the head is kept). */
  log: string;
  ms: number;
}

/** Build-log bytes kept. */
export const MAX_LOG_BYTES = 4 * 1024 * 1024;

/** Output that means the command tried to reach the network and could not. */
export const NETWORK_FAILURE_PATTERNS: readonly RegExp[] = [
  /\bENETUNREACH\b/,
  /\bEAI_AGAIN\b/,
  /\bENOTFOUND\b/,
  /Network is unreachable/i,
  /Temporary failure in name resolution/i,
  /Could not resolve host/i,
  /getaddrinfo/i,
  /network access is (disabled|not allowed)/i,
  /npm error code ENOTCACHED/,
];

function usable(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/** Which sandboxes work here (probed by running `true` in a new network namespace). */
export function availableSandboxes(): SandboxMethod[] {
  const out: SandboxMethod[] = [];
  if (usable('bwrap', ['--unshare-all', '--ro-bind', '/', '/', '--', 'true'])) out.push('bwrap');
  if (process.getuid?.() === 0 && usable('unshare', ['--net', '--', 'true'])) out.push('unshare');
  return out;
}

/** Picks `want` (or the strongest available), or throws BUILD_SANDBOX_UNAVAILABLE. */
export function chooseSandbox(want: SandboxMethod | 'auto' = 'auto'): SandboxMethod {
  const have = availableSandboxes();
  if (want === 'auto') {
    if (have[0]) return have[0];
    throw new VeriteeError('BUILD_SANDBOX_UNAVAILABLE', 'no sandbox can seal the build from the network: install bubblewrap (apt-get install bubblewrap) or run as root for unshare --net');
  }
  if (!have.includes(want)) {
    throw new VeriteeError('BUILD_SANDBOX_UNAVAILABLE', `sandbox ${want} does not work here (${want === 'bwrap' ? 'install bubblewrap' : 'unshare --net needs root'}); available: ${have.join(', ') || 'none'}`);
  }
  return want;
}

export function sealingOf(method: SandboxMethod): Sealing {
  return { sealed: true, method, network: 'none', readOnlyInputs: method === 'bwrap', cleanEnvironment: true, privateTmp: method === 'bwrap' };
}

export interface SealedRunOptions {
  method: SandboxMethod;
  command: string;
  /** The writable tree (the export of the pinned commit). */
  workDir: string;
  /** Fetched dependencies (npm cache), bound read-only. */
  depsDir: string;
  /** Scratch directory for the unshare method's TMPDIR. */
  tmpDir: string;
  /** Measured host directories bound read-only at `<build root>/<name>`. */
  preloads?: readonly { name: string; path: string }[];
  /** SOURCE_DATE_EPOCH for the build. */
  sourceDateEpoch: number;
  timeoutMs?: number;
  onOutput?: (chunk: string) => void;
}

const IN_SANDBOX_DEPS = '/veritee-deps';

function environment(o: SealedRunOptions, home: string, deps: string): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    TMPDIR: o.method === 'bwrap' ? '/tmp' : o.tmpDir,
    LANG: 'C.UTF-8',
    SOURCE_DATE_EPOCH: String(o.sourceDateEpoch),
    CI: 'true',
    VERITEE_BUILD_SEALED: '1',
    VERITEE_DEPS: deps,
    npm_config_cache: `${deps}/npm-cache`,
    npm_config_offline: 'true',
    npm_config_logs_dir: `${home}/.npm-logs`,
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };
}

function bwrapArgs(o: SealedRunOptions): string[] {
  const env = environment(o, '/tmp', IN_SANDBOX_DEPS);
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--clearenv', '--ro-bind', '/usr', '/usr'];
  for (const d of ['/bin', '/lib', '/lib64', '/sbin', '/lib32']) {
    if (!existsSync(d)) continue;
    if (lstatSync(d).isSymbolicLink()) args.push('--symlink', `usr${d}`, d);
    else args.push('--ro-bind', d, d);
  }
  for (const f of ['/etc/alternatives', '/etc/ssl', '/etc/passwd', '/etc/group', '/etc/nsswitch.conf', '/etc/localtime', '/etc/ld.so.cache']) args.push('--ro-bind-try', f, f);
  const nodePrefix = dirname(dirname(process.execPath));
  if (!nodePrefix.startsWith('/usr')) args.push('--ro-bind', nodePrefix, nodePrefix);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--bind', o.workDir, '/build', '--ro-bind', o.depsDir, IN_SANDBOX_DEPS);
  for (const p of o.preloads ?? []) args.push('--ro-bind', p.path, `/build/${p.name}`);
  args.push('--chdir', '/build');
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  args.push('--', '/bin/sh', '-c', o.command);
  return args;
}

/** Runs the command sealed; resolves with its exit status and (bounded) log. Never throws for a failing build. */
export function runSealed(o: SealedRunOptions): Promise<SealedRun> {
  const t0 = performance.now();
  if (o.method === 'unshare') {
    // no mount namespace: the preload appears as a symbolic link (not read-only; recorded as readOnlyInputs: false)
    for (const p of o.preloads ?? []) {
      mkdirSync(dirname(join(o.workDir, p.name)), { recursive: true });
      symlinkSync(p.path, join(o.workDir, p.name));
    }
  }
  const [cmd, args, cwd, env] =
    o.method === 'bwrap'
      ? ['bwrap', bwrapArgs(o), o.workDir, {}]
      : ['unshare', ['--net', '--', '/bin/sh', '-c', o.command], o.workDir, environment(o, o.tmpDir, o.depsDir)];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let log = '';
    let kept = 0;
    const take = (b: Buffer) => {
      const s = b.toString('utf8');
      o.onOutput?.(s);
      if (kept < MAX_LOG_BYTES) {
        log += s.slice(0, MAX_LOG_BYTES - kept);
        kept += Math.min(s.length, MAX_LOG_BYTES - kept);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, o.timeoutMs ?? 30 * 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new VeriteeError('BUILD_SANDBOX_UNAVAILABLE', `sandbox ${o.method} could not start: ${quoteInput(e.message, 120)}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ exitCode: code ?? -1, timedOut, signal, log, ms: performance.now() - t0 });
    });
  });
}

/** The first line of `log` that shows a network attempt, if any. */
export function networkAttempt(log: string): string | undefined {
  for (const line of log.split('\n')) {
    if (NETWORK_FAILURE_PATTERNS.some((p) => p.test(line))) return line.trim();
  }
  return undefined;
}
