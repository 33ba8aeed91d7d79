/**
 * @module replay
 * The gateway's optional replay window (RFC 9458 §6.5, §6.5.1).
 *
 * RFC 9458 leaves replay protection to the application: the relay, or anyone who copied
 * an encapsulated request, can send it again and the gateway would decrypt and forward
 * it again. The HPKE `enc` of a request (the client's ephemeral public key) is fresh for
 * every request an honest client makes (§6.5: a retry must use a new HPKE context), so
 * the gateway remembers each `enc` it has decrypted for `windowMs` and refuses a second
 * request with the same one inside that window (OHTTP_REPLAY).
 *
 * Only requests that decrypted are recorded, so forged bytes cannot fill the window,
 * and nobody who lacks the client's request can make a legitimate request look like a
 * replay. The memory is bounded: at most `maxEntries` requests are remembered, in a ring
 * in arrival order (the window is one constant, so they expire in that order and are
 * dropped from its head in bulk). A full window refuses new requests
 * (OHTTP_REPLAY_WINDOW_FULL, 503 with Retry-After) rather than forgetting a request
 * before its window ends: it fails closed.
 *
 * Beyond the window a replay is accepted again; the Date check (§6.5.1) covers requests
 * that carry a `Date` field, and only the target can protect requests that do not.
 */
import { VeriteeError, type Clock } from '@veritee/core';

export interface ReplayWindowOptions {
  /** How long a request is remembered, ms (> 0). */
  windowMs: number;
  /** Most requests remembered at once (default 250 000; about 110 bytes each, 27 MB full). */
  maxEntries?: number;
}

export const DEFAULT_REPLAY_WINDOW_MS = 60_000;
export const DEFAULT_REPLAY_MAX_ENTRIES = 250_000;

export class ReplayWindow {
  readonly windowMs: number;
  readonly maxEntries: number;
  private readonly seen = new Set<string>();
  /** Ring of (key, expiry) in arrival order; `count` live slots from `head`. */
  private readonly keys: (string | undefined)[];
  private readonly expiry: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    private readonly clock: Clock,
    opts: ReplayWindowOptions,
  ) {
    this.windowMs = opts.windowMs;
    this.maxEntries = opts.maxEntries ?? DEFAULT_REPLAY_MAX_ENTRIES;
    if (!(Number.isFinite(this.windowMs) && this.windowMs > 0)) throw new VeriteeError('INPUT_INVALID', `the replay window must be a positive number of ms (got ${this.windowMs})`);
    if (!(Number.isSafeInteger(this.maxEntries) && this.maxEntries > 0 && this.maxEntries <= 50_000_000)) {
      throw new VeriteeError('INPUT_INVALID', `the replay window size must be an integer from 1 to 50 000 000 (got ${this.maxEntries})`);
    }
    this.keys = new Array<string | undefined>(this.maxEntries);
    this.expiry = new Float64Array(this.maxEntries);
  }

  /** Requests remembered now. */
  get size(): number {
    return this.count;
  }

  /**
   * Records `key` (the request's key ID and `enc`), remembered for the window or until
   * `until` if later, and returns, or throws OHTTP_REPLAY if
   * it was recorded inside the window, or OHTTP_REPLAY_WINDOW_FULL (details.retryAfterSeconds)
   * if the window is full. Synchronous, so two copies in flight cannot both pass.
   */
  admit(key: string, until?: number): void {
    const now = this.clock.now();
    this.purge(now);
    if (this.seen.has(key)) {
      throw new VeriteeError('OHTTP_REPLAY', `this encapsulated request (the same HPKE enc) was already received in the last ${Math.round(this.windowMs / 1000)} s; a client must encapsulate every request afresh`);
    }
    if (this.count >= this.maxEntries) {
      const wait = Math.max(1, Math.ceil((this.expiry[this.head]! - now) / 1000));
      throw new VeriteeError('OHTTP_REPLAY_WINDOW_FULL', `the replay window already holds ${this.count} requests; retry in ${wait} s`, { retryAfterSeconds: wait });
    }
    const slot = (this.head + this.count) % this.maxEntries;
    this.keys[slot] = key;
    // A request whose Date lies ahead of our clock is remembered until its Date check would
    // refuse it, so that no replay falls between the two (see the gateway's Date check).
    this.expiry[slot] = Math.max(now + this.windowMs, until ?? 0);
    this.count++;
    this.seen.add(key);
  }

  /** Forgets every request whose window has ended at `now`, from the head in bulk. Returns how many. */
  purge(now = this.clock.now()): number {
    let dropped = 0;
    while (this.count > 0 && this.expiry[this.head]! <= now) {
      this.seen.delete(this.keys[this.head]!);
      this.keys[this.head] = undefined;
      this.head = (this.head + 1) % this.maxEntries;
      this.count--;
      dropped++;
    }
    return dropped;
  }
}

/** The replay key of a decrypted request: its key ID and HPKE `enc`. */
export function replayKey(keyId: number, enc: Uint8Array): string {
  return String.fromCharCode(keyId) + Buffer.from(enc.buffer, enc.byteOffset, enc.length).toString('latin1');
}
