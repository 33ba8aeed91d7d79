/**
 * @module telemetry/source
 * The only place the collector touches the machine. Everything it reads goes
 * through a {@link TelemetrySource}, so tests can inject failures (EACCES, a
 * process that vanished) that a root test runner could not otherwise provoke.
 *
 * All calls are synchronous on purpose: one sample is a burst of small reads of
 * /proc (tens of microseconds each) and should describe one instant, not be
 * interleaved with other work on the event loop.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statfsSync } from 'node:fs';

/** The subset of `fs.StatFs` the collector uses (all counts, `bsize` in bytes). */
export interface StatfsResult {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

/** Reads the machine. Each method throws a Node errno error (`code` = ENOENT, EACCES, …) on failure. */
export interface TelemetrySource {
  /** The whole text of a file under /proc (or anywhere). */
  readText(path: string): string;
  /** The numeric entries of /proc: the pids visible to us. */
  listPids(): number[];
  /** statfs(2) of the filesystem holding `path`. */
  statfs(path: string): StatfsResult;
}

/** The real machine, read through `procRoot` (default `/proc`). */
export function linuxSource(procRoot = '/proc'): TelemetrySource & { procRoot: string } {
  return {
    procRoot,
    readText: (path) => readFileSync(path, 'utf8'),
    listPids: () =>
      readdirSync(procRoot)
        .filter((n) => /^[0-9]+$/.test(n))
        .map(Number),
    statfs: (path) => {
      const s = statfsSync(path);
      return { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
    },
  };
}

/** The errno code of a thrown error (`'ENOENT'`, `'EACCES'`, …) or `undefined`. */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A short description of a thrown error for the window's `errors` list. */
export function describeError(e: unknown): string {
  const code = errnoOf(e);
  const msg = e instanceof Error ? e.message : String(e);
  return code && !msg.startsWith(code) ? `${code}: ${msg}` : msg;
}

const confCache = new Map<string, number | null>();

/**
 * `getconf NAME` as a positive integer, once per process; `null` when getconf is
 * missing or prints something else.
 */
export function getconf(name: 'CLK_TCK' | 'PAGESIZE'): number | null {
  if (!confCache.has(name)) {
    let v: number | null = null;
    try {
      const out = execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      const n = Number(out);
      if (Number.isSafeInteger(n) && n > 0) v = n;
    } catch {
      v = null;
    }
    confCache.set(name, v);
  }
  return confCache.get(name) ?? null;
}
