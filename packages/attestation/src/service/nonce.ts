/**
 * @module service/nonce
 * `POST /v1/nonce`: single-use, expiring 32-byte nonces for fresh evidence.
 *
 * INVARIANT: a nonce is accepted at most once (it is deleted when presented, whether or
 * not the evidence then verifies) and only before it expires on the injected clock. The
 * store is bounded: beyond `maxEntries` the oldest nonces are dropped (the client then
 * asks again), so a flood of requests cannot exhaust memory.
 */
import type { FastifyPluginAsync } from 'fastify';
import { toHex, VeriteeError, type Clock } from '@veritee/core';

export interface IssuedNonce {
  /** 32 random bytes, lowercase hex. */
  nonce: string;
  /** Expiry, epoch milliseconds. */
  expiresAt: number;
}

export class NonceStore {
  private readonly entries = new Map<string, number>();
  readonly ttlMs: number;
  readonly maxEntries: number;

  constructor(
    private readonly clock: Clock,
    opts: { ttlMs?: number; maxEntries?: number } = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
  }

  get size(): number {
    return this.entries.size;
  }

  issue(): IssuedNonce {
    this.purge();
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    const nonce = toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
    const expiresAt = this.clock.now() + this.ttlMs;
    this.entries.set(nonce, expiresAt);
    return { nonce, expiresAt };
  }

  /** Uses up `nonce`. Throws ATTEST_NONCE_INVALID if it was never issued, was used, or expired. */
  consume(nonce: string): void {
    const key = nonce.toLowerCase();
    const expiresAt = this.entries.get(key);
    this.entries.delete(key);
    if (expiresAt === undefined) throw new VeriteeError('ATTEST_NONCE_INVALID', 'the nonce was not issued by this service or was already used');
    const now = this.clock.now();
    if (now >= expiresAt) {
      throw new VeriteeError('ATTEST_NONCE_INVALID', `the nonce expired at ${new Date(expiresAt).toISOString()} (now ${new Date(now).toISOString()})`);
    }
  }

  private purge(): void {
    const now = this.clock.now();
    for (const [k, exp] of this.entries) if (now >= exp) this.entries.delete(k);
  }
}

export const noncePlugin: FastifyPluginAsync<{ store: NonceStore }> = async (app, { store }) => {
  // The request body carries nothing; accept none, `{}` or an empty JSON body (this context only).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 1024 }, (_req, _body, done) => done(null, {}));
  app.post('/v1/nonce', async (_request, reply) => {
    const { nonce, expiresAt } = store.issue();
    return reply.code(201).send({ nonce, expiresAt: new Date(expiresAt).toISOString() });
  });
};
