/**
 * @module fetch
 * The fetch phase: the builder itself (never the build command) downloads each dependency
 * a lockfile declares from its declared location, checks it against the lockfile's
 * integrity digest, and stores it content-addressed in an npm cache (`cacache`, the store
 * npm reads with `--offline`). Nothing else touches the network; the build command runs
 * later, sealed, against this cache.
 *
 * THREAT MODEL: the registry or a mirror may serve other bytes than the lockfile pinned.
 * Every byte stream is checked against every sha256/sha384/sha512 digest the lockfile
 * gives before it is stored; a mismatch stops the build with
 * BUILD_DEPENDENCY_DIGEST_MISMATCH naming the package. Only https, http and file: tarballs
 * inside the source export are fetched, with a size cap and a timeout.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import cacache from 'cacache';
import { quoteInput, VeriteeError } from '@veritee/core';
import type { ResolvedDependency } from './inputs.js';

/** Largest single dependency tarball, in bytes. */
export const MAX_DEPENDENCY_BYTES = 256 * 1024 * 1024;

export interface FetchOptions {
  /** The export of the pinned commit (file: tarballs are read from it). */
  exportDir: string;
  /** npm cache directory to fill (`<cache>/_cacache`). */
  cacheDir: string;
  /** Per-download timeout in ms (default 60 s). */
  timeoutMs?: number;
  onProgress?: (message: string) => void;
}

export interface FetchReport {
  fetched: number;
  bytes: number;
  ms: number;
}

async function download(dep: ResolvedDependency, opts: FetchOptions): Promise<Uint8Array> {
  const loc = dep.downloadLocation;
  if (loc.startsWith('file:')) {
    const rel = loc.slice('file:'.length);
    const lockDir = resolve(opts.exportDir, dep.lockfile, '..');
    const abs = resolve(lockDir, rel);
    if (relative(opts.exportDir, abs).startsWith('..')) {
      throw new VeriteeError('BUILD_DEPENDENCY_FETCH_FAILED', `${dep.uri}: ${quoteInput(loc)} points outside the source`);
    }
    try {
      if (statSync(abs).size > MAX_DEPENDENCY_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `${dep.uri} is over ${MAX_DEPENDENCY_BYTES} bytes`);
      return readFileSync(abs);
    } catch (e) {
      if (e instanceof VeriteeError) throw e;
      throw new VeriteeError('BUILD_DEPENDENCY_FETCH_FAILED', `${dep.uri}: ${quoteInput(loc)} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  let url: URL;
  try {
    url = new URL(loc);
  } catch {
    throw new VeriteeError('BUILD_DEPENDENCY_FETCH_FAILED', `${dep.uri}: ${quoteInput(loc)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new VeriteeError('BUILD_DEPENDENCY_FETCH_FAILED', `${dep.uri}: scheme ${quoteInput(url.protocol)} is not fetched (https, http or file: only)`);
  }
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000), redirect: 'follow' });
  } catch (e) {
    throw new VeriteeError('BUILD_DEPENDENCY_FETCH_FAILED', `${dep.uri}: fetching ${quoteInput(url.origin + url.pathname)} failed: ${quoteInput((e as Error).message, 120)}`);
  }
  if (!res.ok) throw new VeriteeError('BUILD_DEPENDENCY_FETCH_FAILED', `${dep.uri}: ${quoteInput(url.origin + url.pathname)} answered HTTP ${res.status}`);
  const len = Number(res.headers.get('content-length') ?? '0');
  if (len > MAX_DEPENDENCY_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `${dep.uri} is ${len} bytes, over ${MAX_DEPENDENCY_BYTES}`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.length > MAX_DEPENDENCY_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `${dep.uri} is over ${MAX_DEPENDENCY_BYTES} bytes`);
  return body;
}

/** Checks `bytes` against every digest the lockfile declared for `dep`. */
export function checkDependencyDigest(dep: ResolvedDependency, bytes: Uint8Array): void {
  for (const [alg, want] of Object.entries(dep.digest)) {
    const got = createHash(alg).update(bytes).digest('hex');
    if (got !== want) {
      throw new VeriteeError(
        'BUILD_DEPENDENCY_DIGEST_MISMATCH',
        `${dep.uri} from ${quoteInput(dep.downloadLocation)} has ${alg} ${got.slice(0, 16)}…, but ${quoteInput(dep.lockfile)} declares ${want.slice(0, 16)}…`,
        { dependency: dep.uri, algorithm: alg },
      );
    }
  }
}

/** Fetches and verifies every dependency into `<cacheDir>/_cacache`. */
export async function fetchDependencies(deps: readonly ResolvedDependency[], opts: FetchOptions): Promise<FetchReport> {
  const t0 = performance.now();
  const store = join(opts.cacheDir, '_cacache');
  let bytes = 0;
  for (const dep of deps) {
    const data = await download(dep, opts);
    checkDependencyDigest(dep, data);
    await cacache.put(store, `make-fetch-happen:request-cache:${dep.downloadLocation}`, Buffer.from(data), { integrity: dep.integrity, algorithms: ['sha512'] });
    bytes += data.length;
    opts.onProgress?.(`fetched ${dep.uri} (${data.length} bytes, digest ok)`);
  }
  return { fetched: deps.length, bytes, ms: performance.now() - t0 };
}
