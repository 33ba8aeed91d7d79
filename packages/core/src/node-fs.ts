/**
 * @module node-fs
 * Reading user-named files (and stdin) with a limit counted in bytes actually read
 * (Node only; imported as `@veritee/core/node-fs`, so the core stays browser-safe).
 *
 * `stat().size` is 0 for devices, pipes and FIFOs (`/dev/zero`, `<(cmd)`, `-`), so a
 * size check before reading does not bound anything. {@link readFileBounded} reads in
 * chunks and stops at `maxBytes + 1` bytes with `INPUT_TOO_LARGE`, naming the file and
 * the limit; memory never exceeds the limit by more than one chunk.
 */
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import { VeriteeError } from './errors.js';
import { quoteInput } from './quote.js';

export interface BoundedReadOptions {
  /** What the file is, for messages ("records file", "policy file"). */
  readonly what: string;
  /** Largest accepted input in bytes. */
  readonly maxBytes: number;
  /** Whether "-" means standard input (default false: "-" is a file name). */
  readonly stdin?: boolean;
}

const CHUNK = 64 * 1024;

/** "1 MiB", "256 MiB", "1000 bytes": limits in messages. */
export function formatByteLimit(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function errnoOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message ?? String(e);
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Reads `path` (or stdin for "-" when `stdin` is set) whole, refusing more than
 * `maxBytes`. Errors: `INPUT_FILE_UNREADABLE` (missing, a directory, no permission),
 * `INPUT_TOO_LARGE` (over the limit, however the size was learnt).
 */
export function readFileBounded(path: string, options: BoundedReadOptions): Buffer {
  const { what, maxBytes } = options;
  const fromStdin = options.stdin === true && path === '-';
  const name = fromStdin ? 'from standard input' : quoteInput(path, 200);
  const unreadable = (e: unknown): VeriteeError =>
    new VeriteeError('INPUT_FILE_UNREADABLE', `${what} ${name} cannot be read: ${errnoOf(e)}`, { path: fromStdin ? '-' : path });
  const tooLarge = (): VeriteeError =>
    new VeriteeError('INPUT_TOO_LARGE', `${what} ${name} is larger than the ${formatByteLimit(maxBytes)} limit (${maxBytes} bytes)`, { path: fromStdin ? '-' : path, maxBytes });
  if (!fromStdin && path === '') throw new VeriteeError('INPUT_FILE_UNREADABLE', `${what}: the file name is empty`);
  let fd: number;
  try {
    fd = fromStdin ? 0 : openSync(path, 'r');
  } catch (e) {
    throw unreadable(e);
  }
  try {
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      // A regular file's size is known: refuse without reading. Devices and pipes report 0.
      if (st.isFile() && st.size > maxBytes) throw tooLarge();
    } catch (e) {
      if (e instanceof VeriteeError) throw e;
      throw unreadable(e);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // Never ask for more than one byte past the limit.
      const want = Math.min(CHUNK, maxBytes + 1 - total);
      const buf = Buffer.allocUnsafe(want);
      let n: number;
      try {
        n = readSync(fd, buf, 0, want, null);
      } catch (e) {
        // Standard input may be non-blocking (inherited): wait briefly and retry.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          sleepMs(5);
          continue;
        }
        throw unreadable(e);
      }
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw tooLarge();
      chunks.push(n === want ? buf : buf.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } finally {
    if (!fromStdin) closeSync(fd);
  }
}

/** {@link readFileBounded} decoded as UTF-8. */
export function readTextFileBounded(path: string, options: BoundedReadOptions): string {
  return readFileBounded(path, options).toString('utf8');
}

/**
 * Writes a file, turning a missing directory, a permission problem or a directory
 * in the way into `INPUT_FILE_UNWRITABLE` naming the file.
 */
export function writeFileChecked(path: string, data: string | Uint8Array, what = 'output file'): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNWRITABLE', `${what} ${quoteInput(path, 200)} cannot be written: ${errnoOf(e)}`, { path });
  }
}
