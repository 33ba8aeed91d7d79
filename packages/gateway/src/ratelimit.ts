/**
 * @module ratelimit
 * Per-client token buckets: `burst` tokens at most, refilled at `ratePerSec`; a request
 * takes one token or is refused with the seconds until one is available (Retry-After).
 * Buckets are kept in insertion order of last use and bounded in number: when full, the
 * least recently used bucket is dropped (that client starts again with a full bucket,
 * which errs towards serving rather than refusing).
 */
export interface RateLimit {
  ratePerSec: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /** Refusals since start (metrics). */
  refused = 0;

  constructor(
    private readonly maxClients: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token for `key` under `limit`: 0 when allowed, else the seconds to wait (≥ 1). */
  take(key: string, limit: RateLimit): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key); // re-inserted below: most recently used last
      b.tokens = Math.min(limit.burst, b.tokens + ((now - b.atMs) / 1000) * limit.ratePerSec);
      b.atMs = now;
    } else {
      if (this.buckets.size >= this.maxClients) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: limit.burst, atMs: now };
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    this.refused++;
    return Math.max(1, Math.ceil((1 - b.tokens) / limit.ratePerSec));
  }
}
