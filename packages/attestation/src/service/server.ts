/**
 * @module service/server
 * `veritee attest serve`: the attestation service as a Fastify instance, one plugin per
 * route group:
 *
 * | route | plugin |
 * |---|---|
 * | `POST /v1/nonce` | nonce.ts |
 * | `POST /v1/attest/:policy` | attest.ts |
 * | `GET /.well-known/jwks.json`, `GET /healthz` | well-known.ts |
 *
 * THREAT MODEL: every request is untrusted. Bodies are capped (`bodyLimit`) before JSON
 * parsing; evidence is capped again by `verifyEvidence`. `POST /v1/nonce` is
 * unauthenticated: issuing and consuming a nonce cost O(1) whatever the number
 * outstanding, and outstanding nonces are capped per client (remote address; IPv6 by
 * /64; behind a reverse proxy set `trustProxy`) and in total, beyond which it answers
 * 429 ATTEST_NONCE_LIMIT with `Retry-After` rather than evicting anyone's nonce. Logs (pino) carry method, URL,
 * status, policy name and verdict, never bodies, nonces' evidence or keys; the
 * `authorization` and `cookie` headers are redacted.
 *
 * @example
 * const app = await buildAttestationServer({ policies: loadPolicyDir('./policies') });
 * await app.listen({ host: '127.0.0.1', port: 8787 });
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { systemClock, type Clock } from '@veritee/core';
import type { Platform, PlatformVerifier, TrustAnchors } from '../types.js';
import { loadPolicyDir, type Policy } from '../policy.js';
import { createResultSigner, DEFAULT_TOKEN_TTL_SECONDS, resultJwks, type ResultSigner } from '../token.js';
import { MAX_EVIDENCE_BYTES } from '../verify.js';
import { frameworkErrorHandler, installErrorHandling } from './errors.js';
import { NonceStore, noncePlugin } from './nonce.js';
import { attestPlugin } from './attest.js';
import { healthPlugin, jwksPlugin } from './well-known.js';

export interface AttestationServerOptions {
  /** Named policies, or a directory of `*.yaml|*.yml|*.json` policy files (name = file stem). */
  policies: Record<string, Policy> | string;
  /** Token signing key; a fresh P-256 key when absent (tokens then die with the process). */
  signer?: ResultSigner;
  /** Extra public keys to publish in the JWKS (previous keys during rotation). */
  extraSigners?: ResultSigner[];
  /** Time source for nonces, verification and tokens. Default: the system clock. */
  clock?: Clock;
  /** Nonce lifetime (default 300 s). */
  nonceTtlSeconds?: number;
  /** Most nonces outstanding at once, all clients together (default 100 000); beyond it 429 ATTEST_NONCE_LIMIT. */
  maxNonces?: number;
  /** Most nonces outstanding at once for one client (remote address; IPv6 by /64) (default 1 000). */
  maxNoncesPerClient?: number;
  /**
   * Proxies whose `X-Forwarded-For` is believed when telling clients apart (Fastify
   * `trustProxy`: addresses or CIDRs). Default none: the socket's peer address is the client.
   */
  trustProxy?: string[];
  /** The client key of a request for the per-client nonce cap (default: remote address, IPv6 by /64). */
  nonceClientOf?: (request: { ip: string }) => string;
  /** Audience (`aud`) of result tokens whose request names none (default: no `aud`). */
  defaultAudience?: string;
  /** Request on /v1/attest must carry a service-issued nonce (default true). */
  requireNonce?: boolean;
  /** Token lifetime (default 300 s). */
  tokenTtlSeconds?: number;
  /** Largest request body, bytes (default 1 MiB of evidence + 16 KiB). */
  bodyLimit?: number;
  /** Simulated TEE anchors; only used with policies that set allowSimulated. */
  simulatedAnchors?: TrustAnchors;
  /** Platform verifier overrides (tests). */
  verifiers?: Partial<Record<Platform, PlatformVerifier>>;
  /** pino logging: false (default), true, or pino options. */
  logger?: boolean | Record<string, unknown>;
}

export interface AttestationServer extends FastifyInstance {
  /** The nonce store (exposed for tests and metrics). */
  nonces: NonceStore;
  signer: ResultSigner;
}

/** Builds (does not start) the attestation service. */
export async function buildAttestationServer(opts: AttestationServerOptions): Promise<AttestationServer> {
  const policies: Record<string, Policy> = typeof opts.policies === 'string' ? loadPolicyDir(opts.policies) : { ...opts.policies };
  const clock = opts.clock ?? systemClock;
  const signer = opts.signer ?? (await createResultSigner());
  const store = new NonceStore(clock, {
    ttlMs: (opts.nonceTtlSeconds ?? 300) * 1000,
    ...(opts.maxNonces !== undefined ? { maxEntries: opts.maxNonces } : {}),
    ...(opts.maxNoncesPerClient !== undefined ? { maxPerClient: opts.maxNoncesPerClient } : {}),
  });

  const logger: FastifyServerOptions['logger'] =
    opts.logger === undefined || opts.logger === false
      ? false
      : {
          level: 'info',
          redact: ['req.headers.authorization', 'req.headers.cookie'],
          ...(opts.logger === true ? {} : opts.logger),
        };
  const app = Fastify({
    logger,
    bodyLimit: opts.bodyLimit ?? MAX_EVIDENCE_BYTES + 16 * 1024,
    // Evidence can be sizeable but a request that trickles in is not welcome.
    requestTimeout: 30_000,
    frameworkErrors: frameworkErrorHandler,
    ...(opts.trustProxy !== undefined && opts.trustProxy.length > 0 ? { trustProxy: opts.trustProxy } : {}),
  }) as unknown as AttestationServer;
  app.decorate('nonces', store);
  app.decorate('signer', signer);

  installErrorHandling(app);
  const names = () => Object.keys(policies).length;
  await app.register(healthPlugin, { policyCount: names });
  await app.register(jwksPlugin, { jwks: () => resultJwks([signer, ...(opts.extraSigners ?? [])]) });
  await app.register(noncePlugin, { store, ...(opts.nonceClientOf ? { clientOf: opts.nonceClientOf } : {}) });
  await app.register(attestPlugin, {
    policies: (name) => (Object.prototype.hasOwnProperty.call(policies, name) ? policies[name] : undefined),
    store,
    signer,
    clock,
    requireNonce: opts.requireNonce ?? true,
    tokenTtlSeconds: opts.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
    ...(opts.defaultAudience !== undefined ? { defaultAudience: opts.defaultAudience } : {}),
    ...(opts.simulatedAnchors ? { simulatedAnchors: opts.simulatedAnchors } : {}),
    ...(opts.verifiers ? { verifiers: opts.verifiers } : {}),
  });
  return app;
}
