/**
 * @module service/nonce
 * `POST /v1/nonce`: single-use, expiring 32-byte nonces for fresh evidence.
 *
 * INVARIANT: a nonce is accepted at most once (it is deleted when presented, whether or
 * not the evidence then verifies) and only before it expires on the injected clock.
 *
 * COST: issue and consume are O(1) amortised whatever the number of outstanding nonces.
 * The lifetime is one constant, so nonces expire in the order they were issued: a FIFO
 * of (expiry, nonce) in issue order is purged from its head in bulk, and a consumed
 * nonce is simply skipped when its turn comes (the queue is compacted once dead entries
 * outnumber live ones, which keeps it within twice the outstanding count plus a
 * constant, at amortised O(1)).
 *
 * LIMITS: the endpoint is unauthenticated, so outstanding nonces are capped per client
 * (`maxPerClient`, keyed by remote address: an IPv4 address, or the /64 of an IPv6
 * address, since one host commonly holds a whole /64) and in total (`maxEntries`).
 * Beyond either cap `issue` refuses with ATTEST_NONCE_LIMIT (HTTP 429 with a
 * `Retry-After`); it never evicts another client's nonce, so a flood from one address
 * cannot invalidate nonces that honest clients are about to present.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyPluginAsync } from 'fastify';
import { toHex, VeriteeError, type Clock } from '@veritee/core';

export interface IssuedNonce {
  /** 32 random bytes, lowercase hex. */
  nonce: string;
  /** Expiry, epoch milliseconds. */
  expiresAt: number;
}

export interface NonceStoreOptions {
  /** Nonce lifetime, ms (default 300 000). */
  ttlMs?: number;
  /** Most nonces outstanding at once, all clients together (default 100 000). */
  maxEntries?: number;
  /** Most nonces outstanding at once for one client (default 1 000). */
  maxPerClient?: number;
}

interface Entry {
  expiresAt: number;
  client: string;
}

/** Default per-client cap: far above what one relying party needs for evidence in flight. */
export const DEFAULT_MAX_NONCES_PER_CLIENT = 1000;
/** Default total cap. */
export const DEFAULT_MAX_NONCES = 100_000;

export class NonceStore {
  private readonly entries = new Map<string, Entry>();
  private readonly perClient = new Map<string, number>();
  /** Issue-order FIFO: parallel arrays from `head`; consumed nonces stay until skipped. */
  private queueNonces: string[] = [];
  private queueExpiry: number[] = [];
  private head = 0;
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly maxPerClient: number;

  constructor(
    private readonly clock: Clock,
    opts: NonceStoreOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_NONCES;
    this.maxPerClient = opts.maxPerClient ?? DEFAULT_MAX_NONCES_PER_CLIENT;
    for (const [name, v] of [
      ['nonce lifetime', this.ttlMs],
      ['nonce cap', this.maxEntries],
      ['per-client nonce cap', this.maxPerClient],
    ] as const) {
      if (!(Number.isSafeInteger(v) && v > 0)) throw new VeriteeError('INPUT_INVALID', `${name} must be a positive integer (got ${v})`);
    }
  }

  /** Nonces outstanding (issued, not consumed, not yet purged). */
  get size(): number {
    return this.entries.size;
  }

  /** Length of the expiry queue, live and dead entries (exposed for tests). */
  get queueLength(): number {
    return this.queueNonces.length - this.head;
  }

  /** Nonces outstanding for one client key. */
  outstandingFor(client: string): number {
    return this.perClient.get(client) ?? 0;
  }

  /**
   * Issues a nonce to `client` (a key from {@link clientKey}; default one shared key).
   * Throws ATTEST_NONCE_LIMIT (details.retryAfterSeconds) when the client or the store is full.
   */
  issue(client = '-'): IssuedNonce {
    const now = this.clock.now();
    this.purge(now);
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.maxPerClient) {
      // Its oldest nonce expires within one lifetime; say so rather than guess sooner.
      throw new VeriteeError('ATTEST_NONCE_LIMIT', `this client already holds ${mine} unused nonces (at most ${this.maxPerClient}); use or let them expire`, {
        retryAfterSeconds: Math.max(1, Math.ceil(this.ttlMs / 1000)),
      });
    }
    if (this.entries.size >= this.maxEntries) {
      throw new VeriteeError('ATTEST_NONCE_LIMIT', `the service holds ${this.entries.size} unused nonces (at most ${this.maxEntries}); retry later`, {
        retryAfterSeconds: Math.max(1, Math.ceil((this.oldestExpiry() - now) / 1000)),
      });
    }
    const nonce = toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
    const expiresAt = now + this.ttlMs;
    this.entries.set(nonce, { expiresAt, client });
    this.perClient.set(client, mine + 1);
    this.queueNonces.push(nonce);
    this.queueExpiry.push(expiresAt);
    return { nonce, expiresAt };
  }

  /** Uses up `nonce`. Throws ATTEST_NONCE_INVALID if it was never issued, was used, or expired. */
  consume(nonce: string): void {
    const key = nonce.toLowerCase();
    const entry = this.entries.get(key);
    if (entry === undefined) throw new VeriteeError('ATTEST_NONCE_INVALID', 'the nonce was not issued by this service or was already used');
    this.remove(key, entry);
    this.maybeCompact();
    const now = this.clock.now();
    if (now >= entry.expiresAt) {
      throw new VeriteeError('ATTEST_NONCE_INVALID', `the nonce expired at ${new Date(entry.expiresAt).toISOString()} (now ${new Date(now).toISOString()})`);
    }
  }

  /** Drops every nonce that has expired at `now` (bulk, from the head of the queue). Returns how many. */
  purge(now = this.clock.now()): number {
    let dropped = 0;
    while (this.head < this.queueNonces.length && this.queueExpiry[this.head]! <= now) {
      const nonce = this.queueNonces[this.head]!;
      const entry = this.entries.get(nonce);
      // Skip consumed nonces; an entry is ours only if its expiry is the queued one.
      if (entry !== undefined && entry.expiresAt === this.queueExpiry[this.head]) {
        this.remove(nonce, entry);
        dropped++;
      }
      this.head++;
    }
    this.maybeCompact();
    return dropped;
  }

  private remove(nonce: string, entry: Entry): void {
    this.entries.delete(nonce);
    const left = (this.perClient.get(entry.client) ?? 1) - 1;
    if (left <= 0) this.perClient.delete(entry.client);
    else this.perClient.set(entry.client, left);
  }

  /** Expiry of the oldest outstanding nonce (skips consumed entries at the head). */
  private oldestExpiry(): number {
    while (this.head < this.queueNonces.length) {
      const nonce = this.queueNonces[this.head]!;
      const entry = this.entries.get(nonce);
      if (entry !== undefined && entry.expiresAt === this.queueExpiry[this.head]) return entry.expiresAt;
      this.head++;
    }
    return this.clock.now() + this.ttlMs;
  }

  /**
   * Rebuilds the queue when it is mostly dead (consumed or skipped entries): O(queue)
   * work that happens only after at least as many cheap operations, so O(1) amortised.
   */
  private maybeCompact(): void {
    const length = this.queueNonces.length;
    if (length < 1024) return;
    if (this.head === length) {
      this.queueNonces = [];
      this.queueExpiry = [];
      this.head = 0;
      return;
    }
    if (length - this.head > 2 * this.entries.size + 1024 || this.head > length / 2) {
      const nonces: string[] = [];
      const expiry: number[] = [];
      for (let i = this.head; i < length; i++) {
        const nonce = this.queueNonces[i]!;
        const entry = this.entries.get(nonce);
        if (entry !== undefined && entry.expiresAt === this.queueExpiry[i]) {
          nonces.push(nonce);
          expiry.push(this.queueExpiry[i]!);
        }
      }
      this.queueNonces = nonces;
      this.queueExpiry = expiry;
      this.head = 0;
    }
  }
}

/** Groups IPv6 addresses by /64 (one host usually holds a whole /64); IPv4 (also IPv4-mapped) as is. */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === '') return '-';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(address)) return address;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address.slice(0, 64);
  const groups = expandIPv6(bare);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 literal, lowercase hex without leading zeros. */
function expandIPv6(addr: string): string[] {
  let text = addr.toLowerCase();
  // A trailing dotted IPv4 part becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left, right] = text.includes('::') ? text.split('::') : [text, undefined];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const fill = right === undefined ? [] : new Array<string>(8 - l.length - r.length).fill('0');
  return [...l, ...fill, ...r].map((g) => parseInt(g, 16).toString(16));
}

export interface NoncePluginOptions {
  store: NonceStore;
  /** The client key of a request (default: {@link clientKey} of `request.ip`, which honours `trustProxy`). */
  clientOf?: (request: { ip: string }) => string;
}

export const noncePlugin: FastifyPluginAsync<NoncePluginOptions> = async (app, { store, clientOf }) => {
  // The request body carries nothing; accept none, `{}` or an empty JSON body (this context only).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 1024 }, (_req, _body, done) => done(null, {}));
  const keyOf = clientOf ?? ((request: { ip: string }) => clientKey(request.ip));
  app.post('/v1/nonce', async (request, reply) => {
    const { nonce, expiresAt } = store.issue(keyOf(request));
    return reply.code(201).header('cache-control', 'no-store').send({ nonce, expiresAt: new Date(expiresAt).toISOString() });
  });
};
