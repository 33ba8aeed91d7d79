/**
 * @module client
 * The OHTTP client SDK: check the gateway, then send requests through the relay.
 *
 * {@link verifyGateway} is a numbered pipeline:
 *
 * 1. Fetch the key configurations (`application/ohttp-keys`, through the relay or out of
 *    band) and decode them.
 * 2. Pick a fresh 32-byte nonce; fetch the gateway's attestation for it.
 * 3. The document must describe the very bytes fetched in 1 (SHA-256) and echo the nonce.
 * 4. Simulated evidence is refused unless the policy sets `allowSimulated`; only then are
 *    the simulator's served anchors used (or anchors the caller supplies).
 * 5. `verifyEvidence` against the caller's policy with `publicKeyHash = SHA-256(keys)`
 *    and the nonce: signatures, certificate chain, TCB, measurements, debug, and the
 *    report-data binding (veritee.report-data/v1).
 * 6. Defence in depth: the report data in the verified claims is recomputed here.
 *
 * Any failure throws; no request is ever encrypted to an unverified key.
 * {@link OhttpClient.request} then encodes Binary HTTP, encapsulates it, POSTs it to the
 * relay as `message/ohttp-req`, and opens the `message/ohttp-res` answer.
 *
 * THREAT MODEL: the relay, the network and the gateway's host are untrusted; only
 * evidence that verifies under the caller's policy is. The client sends the relay
 * nothing but the ciphertext and its media type (no user agent, no cookies), and adds
 * no header to the encapsulated request that the caller did not give.
 */
import { randomBytes } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import { z } from 'zod';
import { bytesEqual, fromBase64, fromHex, parseJsonStrict, quoteInput, systemClock, toHex, utf8, VeriteeError, ERROR_CODES, type Clock, type ErrorCode } from '@veritee/core';
import {
  anchorsFromJson,
  computeReportData,
  verifyEvidence,
  type AttestationResult,
  type EvidenceEnvelope,
  type Platform,
  type Policy,
  type TrustAnchors,
} from '@veritee/attestation';
import { decodeKeyConfigs, keyConfigDigest, OHTTP_KEYS_MEDIA_TYPE, type KeyConfig } from './keyconfig.js';
import { encapsulate, OHTTP_REQUEST_MEDIA_TYPE, OHTTP_RESPONSE_MEDIA_TYPE } from './encapsulate.js';
import { decodeResponse, encodeRequest, fieldValue, type BhttpInformational, type FieldLine } from './bhttp.js';
import { ATTESTATION_FORMAT, OHTTP_KEY_PROBLEM_TYPE } from './gateway.js';
import type { HpkeBackend } from './hpke.js';

const MAX_KEYS_BYTES = 64 * 1024;
const MAX_ATTESTATION_BYTES = 2 * 1024 * 1024;

export interface GatewayCheckOptions {
  /** Where `application/ohttp-keys` is fetched (through the relay, or the gateway directly). */
  keysUrl: string;
  /** Where the attestation is fetched; default: `attestation` beside `keysUrl`. */
  attestationUrl?: string;
  /** The appraisal policy (see @veritee/attestation `loadPolicy`). */
  policy: Policy;
  /** Anchors of a simulated TEE; without them, a policy with allowSimulated uses the ones the gateway serves. */
  simulatedAnchors?: TrustAnchors;
  /** Verification time source (default: system clock). */
  clock?: Clock;
  /** HTTP client (default: a shared undici Agent). */
  dispatcher?: Dispatcher;
  /** Per-request timeout, ms (default 30 s). */
  timeoutMs?: number;
}

/** A gateway whose key configurations were checked against its attestation. */
export interface VerifiedGateway {
  keyConfigs: KeyConfig[];
  /** The exact `application/ohttp-keys` bytes that were verified. */
  keyConfigBytes: Uint8Array;
  keyConfigSha256: string;
  platform: Platform;
  simulated: boolean;
  attestation: AttestationResult;
}

const attestationSchema = z.object({
  format: z.literal(ATTESTATION_FORMAT),
  keyConfigSha256: z.string().regex(/^[0-9a-f]{64}$/),
  keyConfigs: z.string().max(MAX_KEYS_BYTES * 2),
  nonce: z.string().regex(/^[0-9a-f]{64}$/),
  binding: z.string().optional(),
  platform: z.enum(['snp', 'tdx', 'nvidia']),
  simulated: z.boolean(),
  evidence: z.record(z.string(), z.unknown()),
  simulatedAnchors: z.record(z.string(), z.unknown()).optional(),
  note: z.string().optional(),
});

let sharedAgent: Agent | undefined;
function defaultDispatcher(): Dispatcher {
  sharedAgent ??= new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  return sharedAgent;
}

interface Fetched {
  status: number;
  contentType: string;
  body: Buffer;
}

async function fetchBytes(dispatcher: Dispatcher, url: URL, init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: Uint8Array; max: number; timeoutMs: number }): Promise<Fetched> {
  let res: Dispatcher.ResponseData;
  try {
    res = await dispatcher.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: init.method,
      headers: init.headers ?? {},
      body: init.body ? Buffer.from(init.body.buffer, init.body.byteOffset, init.body.length) : null,
      headersTimeout: init.timeoutMs,
      bodyTimeout: init.timeoutMs,
    });
  } catch (e) {
    throw new VeriteeError('OHTTP_RELAY_ERROR', `cannot reach ${url.origin}${url.pathname}: ${(e as Error).message}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body) {
    size += (c as Buffer).length;
    if (size > init.max) {
      res.body.destroy();
      throw new VeriteeError('OHTTP_RELAY_ERROR', `${url.origin}${url.pathname} answered more than ${init.max} bytes`);
    }
    chunks.push(c as Buffer);
  }
  const ct = res.headers['content-type'];
  return { status: res.statusCode, contentType: (typeof ct === 'string' ? ct : '').split(';')[0]!.trim().toLowerCase(), body: Buffer.concat(chunks) };
}

function problemDetail(f: Fetched): { type?: string; detail?: string } {
  if (!f.contentType.includes('json')) return {};
  try {
    const p = JSON.parse(f.body.toString('utf8')) as { type?: unknown; detail?: unknown; title?: unknown };
    return {
      ...(typeof p.type === 'string' ? { type: p.type } : {}),
      ...(typeof p.detail === 'string' ? { detail: p.detail } : typeof p.title === 'string' ? { detail: p.title } : {}),
    };
  } catch {
    return {};
  }
}

function parseUrl(u: string, what: string): URL {
  try {
    return new URL(u);
  } catch {
    throw new VeriteeError('INPUT_INVALID', `${what} "${u}" is not an absolute URL`);
  }
}

/** Default attestation URL: `attestation` in the same directory as the keys URL. */
export function defaultAttestationUrl(keysUrl: string): string {
  return new URL('attestation', parseUrl(keysUrl, 'keys URL')).toString();
}

/**
 * Fetches and verifies a gateway's key configurations and attestation (steps in the
 * module doc). Throws OHTTP_KEY_BINDING_MISMATCH when the evidence does not bind the
 * served keys, an ATTEST_* code when the evidence fails the policy, OHTTP_RELAY_ERROR
 * when a fetch fails.
 */
export async function verifyGateway(opts: GatewayCheckOptions): Promise<VerifiedGateway> {
  const dispatcher = opts.dispatcher ?? defaultDispatcher();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const clock = opts.clock ?? systemClock;
  const keysUrl = parseUrl(opts.keysUrl, 'keys URL');
  const attUrl = parseUrl(opts.attestationUrl ?? defaultAttestationUrl(opts.keysUrl), 'attestation URL');

  // 1. key configurations
  const k = await fetchBytes(dispatcher, keysUrl, { method: 'GET', headers: { accept: OHTTP_KEYS_MEDIA_TYPE }, max: MAX_KEYS_BYTES, timeoutMs });
  if (k.status !== 200) throw new VeriteeError('OHTTP_RELAY_ERROR', `GET ${keysUrl} answered ${k.status}${problemDetail(k).detail ? `: ${problemDetail(k).detail}` : ''}`);
  if (k.contentType !== OHTTP_KEYS_MEDIA_TYPE) throw new VeriteeError('OHTTP_MEDIA_TYPE', `GET ${keysUrl} answered ${k.contentType || 'no content type'}, not ${OHTTP_KEYS_MEDIA_TYPE}`);
  const keyConfigBytes = new Uint8Array(k.body);
  const keyConfigs = decodeKeyConfigs(keyConfigBytes);
  const digest = keyConfigDigest(keyConfigBytes);

  // 2. attestation for a fresh nonce
  const nonce = new Uint8Array(randomBytes(32));
  const u = new URL(attUrl);
  u.searchParams.set('nonce', toHex(nonce));
  const a = await fetchBytes(dispatcher, u, { method: 'GET', headers: { accept: 'application/json' }, max: MAX_ATTESTATION_BYTES, timeoutMs });
  if (a.status !== 200) throw new VeriteeError('OHTTP_RELAY_ERROR', `GET ${attUrl} answered ${a.status}${problemDetail(a).detail ? `: ${problemDetail(a).detail}` : ''}`);
  // Strict: a duplicate key (e.g. two "keyConfigSha256") is refused, not read last-wins.
  const json = parseJsonStrict(a.body.toString('utf8'), { what: `gateway attestation from ${attUrl}` });
  const parsed = attestationSchema.safeParse(json);
  if (!parsed.success) {
    const why = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `gateway attestation from ${attUrl} is malformed: ${why}`);
  }
  const doc = parsed.data;

  // 3. it describes the keys we fetched, for our nonce
  if (doc.nonce !== toHex(nonce)) throw new VeriteeError('ATTEST_NONCE_INVALID', `gateway attestation is for nonce ${doc.nonce.slice(0, 16)}…, not the nonce sent`);
  if (doc.keyConfigSha256 !== toHex(digest) || !bytesEqual(fromBase64(doc.keyConfigs, 'keyConfigs'), keyConfigBytes)) {
    throw new VeriteeError(
      'OHTTP_KEY_BINDING_MISMATCH',
      `the key configuration served at ${keysUrl} (SHA-256 ${toHex(digest).slice(0, 16)}…) is not the one the gateway attests (${doc.keyConfigSha256.slice(0, 16)}…)`,
    );
  }

  // 4. simulated evidence only with a policy that allows it
  if (doc.simulated && !opts.policy.allowSimulated) {
    throw new VeriteeError('ATTEST_SIMULATED_REFUSED', 'the gateway serves SIMULATED TEE evidence and the policy does not set allowSimulated');
  }
  let anchors = opts.simulatedAnchors;
  if (anchors === undefined && opts.policy.allowSimulated && doc.simulatedAnchors !== undefined) anchors = anchorsFromJson(doc.simulatedAnchors);

  // 5. the evidence, under the policy, bound to SHA-256(keys) and the nonce
  const result = await verifyEvidence(doc.evidence as unknown as EvidenceEnvelope, {
    policy: opts.policy,
    at: new Date(clock.now()),
    nonce,
    publicKeyHash: digest,
    ...(anchors ? { simulatedAnchors: anchors } : {}),
  });
  if (!result.ok) {
    const list = result.failures.map((f) => `${f.name}: ${f.detail}`).join('; ');
    if (result.failures.some((f) => f.code === 'ATTEST_REPORT_DATA_MISMATCH')) {
      throw new VeriteeError('OHTTP_KEY_BINDING_MISMATCH', `the gateway attestation does not bind its key configuration: ${list}`);
    }
    const first = result.failures.find((f) => f.code !== undefined && ERROR_CODES[f.code]?.exit === 1)?.code;
    const code: ErrorCode = first ?? 'ATTEST_POLICY_VIOLATION';
    throw new VeriteeError(code, `gateway attestation failed ${result.failures.length} check(s): ${list}`);
  }

  // 6. recompute the binding from the verified claims
  const expected = computeReportData({ publicKeyHash: digest, nonce });
  const width = result.platform === 'nvidia' ? 32 : 64;
  const claimed = result.claims?.reportData;
  if (claimed === undefined || !bytesEqual(fromHex(claimed).subarray(0, width), expected.subarray(0, width))) {
    throw new VeriteeError('OHTTP_KEY_BINDING_MISMATCH', 'the verified report data does not bind SHA-256 of the key configuration and the nonce');
  }
  return {
    keyConfigs,
    keyConfigBytes,
    keyConfigSha256: toHex(digest),
    platform: result.platform,
    simulated: result.claims?.simulated === true,
    attestation: result,
  };
}

// ---- requests ----------------------------------------------------------------------------------------------

export interface OhttpClientOptions extends GatewayCheckOptions {
  /** The relay resource requests are POSTed to. */
  relayUrl: string;
  /** AEAD preference (default AES-128-GCM, ChaCha20-Poly1305, AES-256-GCM). */
  aeadPreference?: readonly number[];
  /** HPKE primitives (default `node`). */
  backend?: HpkeBackend;
  /** Largest encapsulated response accepted, bytes (default 9 MiB). */
  maxResponseBytes?: number;
}

export interface OhttpRequestInit {
  /** The target URL (scheme, authority and path go into the encrypted request). */
  url: string;
  method?: string;
  headers?: Record<string, string> | ReadonlyArray<readonly [string, string]>;
  body?: Uint8Array | string;
  trailers?: ReadonlyArray<readonly [string, string]>;
}

export interface OhttpResponse {
  status: number;
  informational: BhttpInformational[];
  headers: FieldLine[];
  body: Uint8Array;
  trailers: FieldLine[];
  /** First value of a header, case-insensitive. */
  header(name: string): string | undefined;
  text(): string;
}

/**
 * An OHTTP client bound to one verified gateway.
 *
 * @example
 * const client = await OhttpClient.connect({ relayUrl, keysUrl: `${relay}/ohttp-keys`, policy: loadPolicy('policy.yaml') });
 * const res = await client.request({ url: 'https://api.example/v1/q', method: 'POST', body: '{"q":1}' });
 */
export class OhttpClient {
  #gateway: VerifiedGateway;
  readonly relayUrl: URL;

  private constructor(
    private readonly opts: OhttpClientOptions,
    gateway: VerifiedGateway,
  ) {
    this.#gateway = gateway;
    this.relayUrl = parseUrl(opts.relayUrl, 'relay URL');
  }

  /** Verifies the gateway (retrying once if its keys rotated between the two fetches) and returns a client. */
  static async connect(opts: OhttpClientOptions): Promise<OhttpClient> {
    parseUrl(opts.relayUrl, 'relay URL');
    return new OhttpClient(opts, await verifyWithRetry(opts));
  }

  /** The verified gateway: key configurations and attestation result. */
  get gateway(): VerifiedGateway {
    return this.#gateway;
  }

  /** Fetches and verifies keys and attestation again (after a rotation). */
  async refresh(): Promise<VerifiedGateway> {
    this.#gateway = await verifyWithRetry(this.opts);
    return this.#gateway;
  }

  /** Sends one request through the relay and returns the target's response. */
  async request(init: OhttpRequestInit): Promise<OhttpResponse> {
    try {
      return await this.#once(init);
    } catch (e) {
      // The gateway no longer holds our key (rotation past its grace period): re-verify once.
      if (e instanceof VeriteeError && e.code === 'OHTTP_KEY_UNKNOWN') {
        await this.refresh();
        return this.#once(init);
      }
      throw e;
    }
  }

  async #once(init: OhttpRequestInit): Promise<OhttpResponse> {
    const target = parseUrl(init.url, 'target URL');
    const headers: FieldLine[] = [];
    const given = init.headers === undefined ? [] : Array.isArray(init.headers) ? init.headers : Object.entries(init.headers);
    for (const [k, v] of given as Array<readonly [string, string]>) headers.push([k.toLowerCase(), v]);
    const body = init.body === undefined ? new Uint8Array(0) : typeof init.body === 'string' ? utf8(init.body) : init.body;
    const bhttp = encodeRequest({
      method: (init.method ?? (body.length ? 'POST' : 'GET')).toUpperCase(),
      scheme: target.protocol.slice(0, -1),
      authority: target.host,
      path: (target.pathname || '/') + target.search,
      headers,
      content: body,
      trailers: (init.trailers ?? []).map(([k, v]) => [k.toLowerCase(), v] as const),
    });
    const { request, responseContext } = await encapsulate(this.#gateway.keyConfigs, bhttp, {
      ...(this.opts.aeadPreference ? { aeadPreference: this.opts.aeadPreference } : {}),
      ...(this.opts.backend ? { backend: this.opts.backend } : {}),
    });
    const res = await fetchBytes(this.opts.dispatcher ?? defaultDispatcher(), this.relayUrl, {
      method: 'POST',
      headers: { 'content-type': OHTTP_REQUEST_MEDIA_TYPE },
      body: request,
      max: this.opts.maxResponseBytes ?? 9 * 1024 * 1024,
      timeoutMs: this.opts.timeoutMs ?? 30_000,
    });
    if (res.status !== 200 || res.contentType !== OHTTP_RESPONSE_MEDIA_TYPE) {
      const p = problemDetail(res);
      const code: ErrorCode = p.type === OHTTP_KEY_PROBLEM_TYPE ? 'OHTTP_KEY_UNKNOWN' : 'OHTTP_RELAY_ERROR';
      // The outer answer is unauthenticated (the relay can forge it), so it is reported as
      // the relay's word (OHTTP_RELAY_ERROR, e.g. an OHTTP_REPLAY refusal), quoted and bounded.
      throw new VeriteeError(code, `relay/gateway answered ${res.status} ${res.contentType ? quoteInput(res.contentType, 80) : '(no content type)'}${p.detail ? `: ${quoteInput(p.detail, 200)}` : ''}`, { status: res.status });
    }
    const decoded = decodeResponse(responseContext.open(new Uint8Array(res.body)));
    return {
      status: decoded.status,
      informational: decoded.informational,
      headers: decoded.headers,
      body: decoded.content,
      trailers: decoded.trailers,
      header: (name) => fieldValue(decoded.headers, name),
      text: () => Buffer.from(decoded.content).toString('utf8'),
    };
  }
}

async function verifyWithRetry(opts: GatewayCheckOptions): Promise<VerifiedGateway> {
  try {
    return await verifyGateway(opts);
  } catch (e) {
    // Keys and attestation are two fetches; a rotation between them looks like a mismatch once.
    if (e instanceof VeriteeError && e.code === 'OHTTP_KEY_BINDING_MISMATCH' && e.message.startsWith('the key configuration served')) return verifyGateway(opts);
    throw e;
  }
}

/** Closes the shared HTTP agent (CLI exit, tests). */
export async function closeSharedAgent(): Promise<void> {
  const a = sharedAgent;
  sharedAgent = undefined;
  if (a) await a.close();
}
