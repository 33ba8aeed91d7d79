/**
 * @module service/attest
 * `POST /v1/attest/:policy`: verify evidence against a named policy and answer the
 * result with a signed EAR token.
 *
 * Body (JSON, zod-validated, unknown keys rejected):
 * ```json
 * { "evidence": { "platform": "snp", "evidence": { … } } | "<Attestation-Report header value>",
 *   "nonce": "<64 hex: from POST /v1/nonce>", "publicKeyHash": "<64 hex, optional>",
 *   "audience": "<the relying party's id, optional: the token's aud>" }
 * ```
 * The token's `aud` is the request's `audience`, else the service's default audience, else
 * absent. A relying party verifies it with `verifyResultToken(token, jwks, { audience: <its
 * own id>, at })`, which refuses a token made for another audience or for none.
 * Answer: `200 { "result": AttestationResult, "token": "<JWT>" }` whether or not the
 * evidence verified (the token's `ear.status` says `contraindicated` when it did not);
 * 4xx `{ error: { code, message } }` when the request itself is wrong.
 *
 * THREAT MODEL: the body is attacker-controlled and size-limited by Fastify before it is
 * parsed. The nonce is consumed before verification, so a replayed request fails even
 * if the first attempt did not verify. Evidence bodies are never logged.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { parseJsonStrict, quoteInput, VeriteeError, type Clock } from '@veritee/core';
import type { Platform, PlatformVerifier, TrustAnchors } from '../types.js';
import type { Policy } from '../policy.js';
import { verifyEvidence, type AttestationResult, type EvidenceInput } from '../verify.js';
import { issueResultToken, type ResultSigner } from '../token.js';
import type { NonceStore } from './nonce.js';

export interface AttestPluginOptions {
  policies: (name: string) => Policy | undefined;
  store: NonceStore;
  signer: ResultSigner;
  clock: Clock;
  requireNonce: boolean;
  tokenTtlSeconds: number;
  /** `aud` of tokens whose request names no audience. */
  defaultAudience?: string;
  simulatedAnchors?: TrustAnchors;
  verifiers?: Partial<Record<Platform, PlatformVerifier>>;
}

const hex32 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 32 bytes of hex (64 digits)');

const bodySchema = z.strictObject({
  evidence: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  nonce: hex32.optional(),
  publicKeyHash: hex32.optional(),
  audience: z.string().regex(/^[\x21-\x7e]{1,256}$/, 'must be 1 to 256 printable ASCII characters without spaces').optional(),
});

const POLICY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** JSON-safe copy: bigint -> decimal string, bytes -> hex. Claims' platformData may hold either. */
function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x);
    return out;
  }
  return v;
}

export const attestPlugin: FastifyPluginAsync<AttestPluginOptions> = async (app, opts) => {
  // The body carries the evidence envelope: parse it strictly (a duplicate key such as
  // "platform" twice is refused, not read last-wins; nesting is bounded). This context only.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonStrict(body as string, { what: 'request body' }));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.post<{ Params: { policy: string } }>('/v1/attest/:policy', async (request, reply) => {
    const name = request.params.policy;
    const policy = POLICY_NAME.test(name) ? opts.policies(name) : undefined;
    if (policy === undefined) throw new VeriteeError('ATTEST_POLICY_UNKNOWN', `no policy named ${quoteInput(name, 64)}`);

    const parsed = bodySchema.safeParse(request.body);
    if (!parsed.success) {
      const why = parsed.error.issues
        .map((i) => (i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : `${i.path.join('.') || 'body'}: ${i.message}`))
        .join('; ');
      throw new VeriteeError('INPUT_INVALID', `attestation request is malformed: ${why}`);
    }
    const body = parsed.data;

    if (body.nonce !== undefined) opts.store.consume(body.nonce);
    else if (opts.requireNonce) throw new VeriteeError('ATTEST_NONCE_INVALID', 'a nonce from POST /v1/nonce is required');

    const at = new Date(opts.clock.now());
    const result: AttestationResult = await verifyEvidence(body.evidence as EvidenceInput, {
      policy,
      at,
      ...(body.nonce !== undefined ? { nonce: body.nonce } : {}),
      ...(body.publicKeyHash !== undefined ? { publicKeyHash: body.publicKeyHash } : {}),
      ...(opts.simulatedAnchors ? { simulatedAnchors: opts.simulatedAnchors } : {}),
      ...(opts.verifiers ? { verifiers: opts.verifiers } : {}),
    });
    const audience = body.audience ?? opts.defaultAudience;
    const token = await issueResultToken(result, opts.signer, { at, ttlSeconds: opts.tokenTtlSeconds, ...(audience !== undefined ? { audience } : {}) });
    request.log.info(
      { policy: name, platform: result.platform, ok: result.ok, failed: result.failures.map((f) => f.name) },
      'attestation verified',
    );
    return reply.code(200).send({ result: jsonSafe(result), token });
  });
};
