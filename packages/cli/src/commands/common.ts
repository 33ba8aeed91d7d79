/**
 * @module commands/common
 * Options and resources shared by the commands: the veritee home, the prover pool,
 * strict number, duration and log-level options, listening with a coded error.
 */
import { quoteInput, VeriteeError, type ErrorCode } from '@veritee/core';
import { ProverPool, veriteeHome, type ProgressEvent } from '@veritee/zk';

export function homeOf(opts: { home?: string }): string {
  return opts.home ?? veriteeHome();
}

/** Runs `fn` with a prover pool, always closing it. */
export async function withPool<T>(home: string, fn: (pool: ProverPool) => Promise<T>): Promise<T> {
  const pool = new ProverPool({ home });
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

/** Progress lines on stderr, so stdout stays machine-readable. */
export function progressPrinter(prefix: string): (e: ProgressEvent) => void {
  return (e) => process.stderr.write(`${prefix} [${e.stage}] ${e.message}\n`);
}

/**
 * A whole number option: decimal digits only. `1e3`, `0x10`, `12abc`, `-1`, `1.0`,
 * an empty string and surrounding spaces are refused (Number() would take several
 * of them), as is anything outside [min, max].
 */
export function parseIntegerOption(flag: string, value: string, min: number, max: number, code: ErrorCode = 'INPUT_INVALID'): number {
  if (!/^[0-9]+$/.test(value)) throw new VeriteeError(code, `${flag} ${quoteInput(value, 40)} must be a whole number from ${min} to ${max}`, { flag });
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new VeriteeError(code, `${flag} ${quoteInput(value, 40)} must be from ${min} to ${max}`, { flag });
  return n;
}

/** A non-negative decimal number of seconds (`30`, `1.5`); no exponent, sign, hex or unit. */
export function parseSecondsOption(flag: string, value: string, max = 10 * 365 * 86_400): number {
  if (!/^[0-9]+(?:\.[0-9]{1,3})?$/.test(value)) throw new VeriteeError('INPUT_INVALID', `${flag} ${quoteInput(value, 40)} must be a number of seconds >= 0 (at most millisecond precision)`, { flag });
  const n = Number(value);
  if (n > max) throw new VeriteeError('INPUT_INVALID', `${flag} ${quoteInput(value, 40)} must be at most ${max} seconds`, { flag });
  return n;
}

/** pino's levels: what `--log-level` accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function parseLogLevel(value: string): (typeof LOG_LEVELS)[number] {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new VeriteeError('INPUT_INVALID', `--log-level ${quoteInput(value, 40)} must be one of ${LOG_LEVELS.join(', ')}`, { flag: '--log-level' });
  }
  return value as (typeof LOG_LEVELS)[number];
}

/**
 * Starts listening, turning an address in use, a non-local address or a refused
 * port into `SERVICE_LISTEN_FAILED` naming the address.
 */
export async function listenOrFail<T>(what: string, host: string, port: number, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno && /^(EADDRINUSE|EADDRNOTAVAIL|EACCES|EPERM|EAFNOSUPPORT|ENOTFOUND|EAI_AGAIN|EINVAL)$/.test(errno)) {
      const why = errno === 'EADDRINUSE' ? 'the address is already in use' : errno === 'EADDRNOTAVAIL' ? 'the address is not local to this machine' : errno === 'EACCES' || errno === 'EPERM' ? 'permission denied' : 'the address cannot be used';
      throw new VeriteeError('SERVICE_LISTEN_FAILED', `${what} cannot listen on ${quoteInput(host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, 80)}: ${why} (${errno})`, { host, port, errno });
    }
    throw e;
  }
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A `-H "Name: value"` option: the name must be an HTTP token and the value must
 * not hold CR, LF, NUL or other control characters (RFC 9110 field-value), so no
 * header can be smuggled into the request. Returns [lower-case name, trimmed value].
 */
export function parseHeaderOption(h: string): [string, string] {
  const i = h.indexOf(':');
  if (i <= 0) throw new VeriteeError('INPUT_INVALID', `--header ${quoteInput(h)} must look like "Name: value"`, { flag: '--header' });
  const name = h.slice(0, i).trim();
  const value = h.slice(i + 1).trim();
  if (!HEADER_NAME.test(name)) throw new VeriteeError('INPUT_INVALID', `--header ${quoteInput(h)}: the name ${quoteInput(name, 40)} is not an HTTP token`, { flag: '--header' });
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
    throw new VeriteeError('INPUT_INVALID', `--header ${quoteInput(h)}: the value holds a control character (CR, LF, NUL …), which is not allowed in a header`, { flag: '--header' });
  }
  return [name.toLowerCase(), value];
}
