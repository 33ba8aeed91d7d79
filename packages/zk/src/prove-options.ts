/**
 * @module prove-options
 * Internal: the request options (signal, timeout, progress) of a prove call,
 * without undefined members (exactOptionalPropertyTypes-safe).
 */
import type { RequestOptions } from './prover/pool.js';

export function pick(o: RequestOptions): RequestOptions {
  return { ...(o.signal ? { signal: o.signal } : {}), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) };
}
