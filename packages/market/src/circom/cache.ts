/**
 * @module circom/cache
 * Where compiled circuits and local powers of tau are kept between runs:
 * `~/.cache/veritee/circom` (or `$VERITEE_CIRCOM_CACHE`, or the caller's
 * `cacheDir`), one directory per content hash. Entries are written to a temporary
 * directory and renamed into place, so a reader sees a whole entry or none, and
 * each carries the SHA-256 of its files, checked when it is read back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultCircomCacheDir(): string {
  return process.env.VERITEE_CIRCOM_CACHE ?? join(homedir(), '.cache', 'veritee', 'circom');
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export function sha256Text(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
    h.update('\0');
  }
  return h.digest('hex');
}

/** A fresh directory beside `finalDir` to build an entry in. */
export function stagingDir(finalDir: string): string {
  const dir = `${finalDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Moves a finished staging directory into place. When another process finished the
 * same entry first, keeps theirs (same content hash) and drops ours.
 */
export function commitEntry(staging: string, finalDir: string): void {
  try {
    renameSync(staging, finalDir);
  } catch (e) {
    if (existsSync(finalDir) && statSync(finalDir).isDirectory()) rmSync(staging, { recursive: true, force: true });
    else throw e;
  }
}
