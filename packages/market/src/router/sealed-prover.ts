/**
 * @module router/sealed-prover
 * A prover backend for the market router: it runs inside the TEE, makes its HPKE and
 * signing keys there, attests both (with the backend id) for any verifier's nonce, opens
 * sealed inputs addressed to it, proves, and returns the result sealed to the client and
 * signed with its attested key.
 *
 * | route | what |
 * |---|---|
 * | `POST /v1/attest` | `{ nonce }` (64 hex) -> `{ keys, evidence, simulatedAnchors? }` (protocol.ts) |
 * | `GET /v1/load` | `{ inFlight, maxInFlight }`: sealed requests not yet answered |
 * | `POST /v1/sealed` | a SealedInput -> a SealedResult (synchronous: answers when the proof is done) |
 * | `GET /healthz` | liveness |
 *
 * THREAT MODEL: everything that reaches this service came through the untrusted router.
 * An input is opened only when its backend id and key hash are this prover's own, its
 * issue time is within the replay window of this prover's clock, and its AEAD tag verifies
 * over (backendId, keyHash, requestId, issuedAt); a request id is opened at most once (ids
 * are remembered for the window, so no replay gets through: a full memory refuses instead). The plaintext lives only in this
 * process until the prover has it; it is never logged and never echoed in an error. Refusals
 * before opening are plain HTTP errors (the router could forge those anyway); refusals after
 * opening (bad input, prover failure) are sealed and signed like a result, so the client can
 * tell the prover's own verdict from the router's.
 */
import { createCipheriv, generateKeyPairSync, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES, fromHex, isVeriteeError, systemClock, toBase64Url, utf8, VeriteeError, type Clock } from '@veritee/core';
import { anchorsToJson, computeReportData, type TrustAnchors } from '@veritee/attestation';
import { ProveRequestSchema, type EvidenceProvider } from '@veritee/proxy';
import { latencyCapacityFor, latencyClaim, LATENCY_CAPACITIES, LATENCY_CLAIM, devSetup, prove, validateLatencyParams, validateLatencyRecords, type ProverPool } from '@veritee/zk';
import {
  AttestAnswerSchema,
  firstIssue,
  HPKE_INFO,
  HPKE_SUITE_NAMES,
  hpkeSuite,
  inputAad,
  keyHashOf,
  MAX_SEALED_BYTES,
  RESULT_EXPORT_CONTEXT,
  resultMessage,
  sealedInputDigest,
  SealedInputSchema,
  sha256Hex,
  BACKEND_ID,
  type AttestAnswer,
  type KeyDoc,
  type ResultPlaintext,
  type SealedResult,
} from './protocol.js';

/** What a sealed prover does with an opened input: prove it, or throw a VeriteeError. */
export type SealedProveFn = (input: unknown, signal: AbortSignal) => Promise<{ bundle: unknown; timings?: unknown }>;

export interface SealedProverOptions {
  /** This backend's id (bound into its attested key document). */
  backendId: string;
  /** The TEE's evidence source (simulatedEvidenceProvider for development). */
  provider: EvidenceProvider;
  /** Proves an opened input (see {@link latencyProver}). */
  prove: SealedProveFn;
  /** Most sealed requests in flight; beyond: 503 PROXY_PROVER_BUSY. Default 8. */
  maxInFlight?: number;
  /**
   * Replay window: a sealed input is accepted only if its issue time is within this many ms
   * of the prover's clock (either way), and its request id is remembered that long. Default 10 minutes.
   */
  replayWindowMs?: number;
  /** Most request ids remembered; when full (and none has left the window), 503 PROXY_PROVER_BUSY. Default 100,000. */
  replayMemory?: number;
  /** Per-proof time limit (default 10 minutes). */
  proveTimeoutMs?: number;
  clock?: Clock;
  logger?: boolean | Record<string, unknown>;
}

export type SealedProver = FastifyInstance & { readonly keys: KeyDoc; readonly keyHash: string; readonly inFlight: number; readonly opened: number };

/**
 * The latency claim through the prover pool: the input is the body of the prover
 * service's `POST /v1/prove` (`{ claim: "latency", params, records, capacity? }`).
 */
export function latencyProver(pool: ProverPool, opts: { devSetup?: boolean; timeoutMs?: number } = {}): SealedProveFn {
  return async (input, signal) => {
    const parsed = ProveRequestSchema.safeParse(input);
    if (!parsed.success) throw new VeriteeError('INPUT_INVALID', `prove request: ${firstIssue(parsed.error)}`);
    const body = parsed.data;
    if (body.records.length % 2 !== 0) throw new VeriteeError('INPUT_INVALID', 'prove request: records must hold start,end pairs (an even count)');
    validateLatencyParams(body.params);
    validateLatencyRecords(body.params, body.records);
    const n = body.records.length / 2;
    const capacity = body.capacity ?? latencyCapacityFor(n);
    if (!(LATENCY_CAPACITIES as readonly number[]).includes(capacity)) throw new VeriteeError('INPUT_INVALID', `capacity must be one of ${LATENCY_CAPACITIES.join(', ')} (got ${capacity})`);
    if (capacity < n) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${n} records do not fit the ${capacity}-record size class`);
    if (opts.devSetup) await devSetup(pool, LATENCY_CLAIM, capacity, { signal });
    const r = await prove(pool, latencyClaim, { params: body.params, data: { records: body.records }, capacity, signal, timeoutMs: opts.timeoutMs ?? 600_000 });
    return { bundle: r.bundle, timings: r.timings };
  };
}

function sendError(reply: FastifyReply, err: VeriteeError): FastifyReply {
  const status = ERROR_CODES[err.code]?.http ?? 500;
  return reply.code(status).type('application/json').send({ error: { code: err.code, message: status >= 500 && err.code === 'INTERNAL' ? 'internal error' : err.message } });
}

/** Absolute paths in messages that leave the TEE are replaced (the full text stays in the log). */
const PATH_RE = /(?<=^|[\s"'`(=\[])(?:~\/|\/[^\s"'`)\]/:,]+\/)[^\s"'`)\]:,]*/g;

/** Builds (does not start) a sealed prover. Its keys are made here and never leave the process. */
export async function buildSealedProver(opts: SealedProverOptions): Promise<SealedProver> {
  if (!BACKEND_ID.test(opts.backendId)) throw new VeriteeError('INPUT_INVALID', `backend id "${opts.backendId.slice(0, 70)}": lowercase letters, digits, . _ - (max 63)`);
  const clock = opts.clock ?? systemClock;
  const maxInFlight = opts.maxInFlight ?? 8;
  const replayMemory = opts.replayMemory ?? 100_000;
  const windowMs = opts.replayWindowMs ?? 600_000;
  const suite = hpkeSuite();
  const hpkeKeys = await suite.kem.generateKeyPair();
  const hpkePublic = new Uint8Array(await suite.kem.serializePublicKey(hpkeKeys.publicKey));
  const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signKey: KeyObject = signing.privateKey;
  const spki = new Uint8Array(signing.publicKey.export({ type: 'spki', format: 'der' }));
  const keys: KeyDoc = {
    v: 'veritee.market.router.keys/v1',
    backendId: opts.backendId,
    hpke: { ...HPKE_SUITE_NAMES, publicKey: toBase64Url(hpkePublic) },
    sign: { alg: 'ES256', spki: toBase64Url(spki) },
  };
  const keyHash = keyHashOf(keys);
  const anchors: TrustAnchors | undefined = opts.provider.simulatedAnchors;
  const anchorsJson = anchors ? anchorsToJson(anchors) : undefined;

  /** Opened request ids and their issue times, for the replay window. */
  const seen = new Map<string, number>();
  const forgetOld = (now: number) => {
    for (const [id, t] of seen) if (t < now - windowMs) seen.delete(id);
  };
  let inFlight = 0;
  let opened = 0;
  const aborts = new Set<AbortController>();

  const app = Fastify({
    logger: opts.logger === undefined || opts.logger === false ? false : { level: 'info', ...(opts.logger === true ? {} : opts.logger) },
    bodyLimit: MAX_SEALED_BYTES + 4096,
    // Time to RECEIVE a request (headers and body); answering may take as long as a proof.
    requestTimeout: 60_000,
  });
  app.setErrorHandler((e, request, reply) => {
    let err: VeriteeError;
    if (e instanceof VeriteeError) err = e;
    else {
      const status = (e as { statusCode?: number }).statusCode ?? 500;
      // Never echo parser detail: it may quote the body.
      err =
        status === 413
          ? new VeriteeError('INPUT_TOO_LARGE', `sealed request exceeds ${MAX_SEALED_BYTES} bytes`)
          : status >= 400 && status < 500
            ? new VeriteeError('INPUT_JSON_INVALID', 'request body is not valid JSON')
            : new VeriteeError('INTERNAL', 'internal error');
    }
    request.log.info({ code: err.code }, 'request refused');
    return sendError(reply, err);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, new VeriteeError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`)));

  app.get('/healthz', async () => ({ status: 'ok', backendId: opts.backendId }));
  app.get('/v1/load', async () => ({ inFlight, maxInFlight }));

  const NonceBody = z.strictObject({ nonce: z.string().regex(/^[0-9a-f]{64}$/, 'nonce must be 64 lowercase hex digits') });
  app.post('/v1/attest', async (request): Promise<AttestAnswer> => {
    const p = NonceBody.safeParse(request.body);
    if (!p.success) throw new VeriteeError('INPUT_INVALID', `attest request: ${firstIssue(p.error)}`);
    const reportData = computeReportData({ publicKeyHash: fromHex(keyHash, 'key hash'), nonce: fromHex(p.data.nonce, 'nonce') });
    const env = await opts.provider.evidence(reportData);
    const answer: AttestAnswer = { keys, evidence: toBase64Url(utf8(JSON.stringify(env))), ...(anchorsJson ? { simulatedAnchors: anchorsJson } : {}) };
    return AttestAnswerSchema.parse(answer);
  });

  app.post('/v1/sealed', async (request, reply) => {
    const p = SealedInputSchema.safeParse(request.body);
    if (!p.success) throw new VeriteeError('INPUT_INVALID', `sealed input: ${firstIssue(p.error)}`);
    const s = p.data;
    if (s.backendId !== opts.backendId || s.keyHash !== keyHash) {
      throw new VeriteeError('ROUTER_SEALED_INPUT_INVALID', `this sealed input is addressed to backend ${s.backendId} key ${s.keyHash.slice(0, 16)}…, not to this prover (${opts.backendId} key ${keyHash.slice(0, 16)}…)`);
    }
    const now = clock.now();
    if (Math.abs(now - s.issuedAt) > windowMs) {
      throw new VeriteeError('ROUTER_REQUEST_STALE', `the sealed input was issued at ${new Date(s.issuedAt).toISOString()}, outside this prover's ${Math.round(windowMs / 1000)} s replay window (a replay, or a skewed clock)`);
    }
    if (seen.has(s.requestId)) throw new VeriteeError('ROUTER_REQUEST_REPLAYED', `request ${s.requestId} was already opened by this prover (a replay)`);
    if (seen.size >= replayMemory) forgetOld(now);
    if (seen.size >= replayMemory) throw new VeriteeError('PROXY_PROVER_BUSY', 'the prover remembers too many recent requests to rule out replays; retry later');
    if (inFlight >= maxInFlight) throw new VeriteeError('PROXY_PROVER_BUSY', `the prover has ${maxInFlight} sealed requests in flight; retry later`);
    const aad = inputAad(s);
    let ctx: Awaited<ReturnType<typeof suite.createRecipientContext>>;
    let plaintext: Uint8Array;
    try {
      ctx = await suite.createRecipientContext({ recipientKey: hpkeKeys, enc: Buffer.from(s.enc, 'base64url'), info: HPKE_INFO });
      plaintext = new Uint8Array(await ctx.open(Buffer.from(s.ct, 'base64url'), aad));
    } catch {
      throw new VeriteeError('ROUTER_SEALED_INPUT_INVALID', "the sealed input does not open with this prover's key and its (backend, key, request, issue time) binding: sealed to another key, re-targeted or altered");
    }
    // Checked again: the same input may have been opened by a concurrent request during the
    // awaits above. Remembered only once opened, so garbage cannot fill the replay memory.
    if (seen.has(s.requestId)) throw new VeriteeError('ROUTER_REQUEST_REPLAYED', `request ${s.requestId} was already opened by this prover (a replay)`);
    seen.set(s.requestId, s.issuedAt);
    opened++;
    inFlight++;
    const ac = new AbortController();
    aborts.add(ac);
    let result: ResultPlaintext;
    const started = clock.now();
    try {
      let input: unknown;
      try {
        input = JSON.parse(Buffer.from(plaintext).toString('utf8'));
      } catch {
        throw new VeriteeError('INPUT_JSON_INVALID', 'the opened input is not JSON');
      } finally {
        plaintext.fill(0);
      }
      const r = await opts.prove(input, ac.signal);
      result = { ok: true, bundle: r.bundle, ...(r.timings !== undefined ? { timings: r.timings } : {}) };
      request.log.info({ requestRef: sha256Hex(s.requestId).slice(0, 12), ms: clock.now() - started }, 'sealed request proven');
    } catch (e) {
      const err = isVeriteeError(e) ? e : new VeriteeError('INTERNAL', e instanceof Error ? e.message : String(e));
      request.log.warn({ requestRef: sha256Hex(s.requestId).slice(0, 12), code: err.code, message: err.message }, 'sealed request failed');
      result = { ok: false, error: { code: err.code, message: err.code === 'INTERNAL' ? 'internal error in the prover (details are in its log)' : err.message.replace(PATH_RE, '[path]').slice(0, 500) } };
    } finally {
      inFlight--;
      aborts.delete(ac);
    }
    const resultBytes = utf8(JSON.stringify(result));
    const resultKey = Buffer.from(await ctx.export(RESULT_EXPORT_CONTEXT, 32));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', resultKey, iv);
    cipher.setAAD(aad);
    const ct = Buffer.concat([cipher.update(resultBytes), cipher.final(), cipher.getAuthTag()]);
    resultKey.fill(0);
    const message = resultMessage({ backendId: opts.backendId, keyHash, requestId: s.requestId, inputSha256: sealedInputDigest(s), resultSha256: sha256Hex(resultBytes) });
    const signature = nodeSign('sha256', message, { key: signKey, dsaEncoding: 'ieee-p1363' });
    const out: SealedResult = { backendId: opts.backendId, keyHash, requestId: s.requestId, iv: iv.toString('base64url'), ct: ct.toString('base64url'), signature: signature.toString('base64url') };
    return reply.type('application/json').send(out);
  });

  app.addHook('onClose', async () => {
    for (const ac of aborts) ac.abort();
  });

  Object.defineProperties(app, {
    keys: { value: keys, enumerable: true },
    keyHash: { value: keyHash, enumerable: true },
    inFlight: { get: () => inFlight, enumerable: true },
    opened: { get: () => opened, enumerable: true },
  });
  return app as unknown as SealedProver;
}
