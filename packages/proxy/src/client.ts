/**
 * @module client
 * `createAttestedClient`: a fetch-like client that talks only to an attested proxy.
 *
 * THREAT MODEL: the network, the certificate and the server are untrusted until proven
 * otherwise. Trust comes from the evidence (verified against the caller's policy) and
 * from the enclave key's signature over the TLS exporter of the connection the client
 * itself holds, not from the WebPKI: a man in the middle that terminates TLS holds a
 * different session, so the signed exporter differs from ours and we refuse.
 *
 * INVARIANT: no request byte (header or body) leaves the client on a connection that
 * is not verified. Each new TLS connection is created by the client's own agent
 * (`createConnection`), which runs the binding on that connection and hands it to the
 * HTTP layer only after every check passed; requests are queued (by node's http
 * machinery) until then, and dropped if it fails. A connection from the keep-alive pool
 * is therefore always a verified one, and a response that arrives on any other connection
 * is refused. Every response is buffered and checked before the caller sees a byte of it:
 * it must name the evidence verified for its connection (`Attestation-Report`, or its
 * connection-specific `Attestation-Report-Ref`), and when a signature was asked for
 * (`signedResponses`, or `signed` per request) it must carry a valid enclave signature
 * over method, target, request-body hash, status, response-body hash and the exporter.
 * A signature that comes unasked is verified too; a bad one is never ignored.
 *
 * @example
 * const client = createAttestedClient({ baseUrl: 'https://prover.example.com:8443', policy: loadPolicy('prod.yaml') });
 * const res = await client.fetch('/v1/prove', { method: 'POST', body: JSON.stringify(input) });
 * res.attestation.verified; // true: every check passed
 * await client.close();
 */
import { createHash, createPublicKey, randomBytes, verify as nodeVerify, type KeyObject } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls, { type TLSSocket } from 'node:tls';
import { z } from 'zod';
import { fromBase64, parseJsonStrict, toEpochMs, VeriteeError, type ErrorCode } from '@veritee/core';
import {
  anchorsFromJson,
  verifyEvidence,
  type AttestationResult,
  type Policy,
  type TrustAnchors,
} from '@veritee/attestation';
import {
  ATTEST_PATH,
  ATTESTATION_HEADER,
  BINDING_DOMAIN,
  bindingMessage,
  EVIDENCE_REF_HEADER,
  evidenceRef,
  EXPORTER_BYTES,
  EXPORTER_LABEL,
  INCOMPLETE_BODY,
  parseSignatureHeader,
  responseMessage,
  SIGN_REQUEST_HEADER,
  SIGNATURE_ALG,
  SIGNATURE_HEADER,
} from './protocol.js';

export interface AttestedClientOptions {
  /** `https://host[:port]` of the attesting proxy. Requests may only go to this origin. */
  baseUrl: string;
  /** Appraisal policy for the evidence (parsePolicy / loadPolicy). */
  policy: Policy;
  /**
   * Accept simulated evidence (development only). With `simulatedAnchors` the simulator's
   * anchors are pinned; without, the anchors the server offers are trusted, which proves
   * nothing about the server (anyone can run the simulator).
   */
  allowSimulated?: boolean;
  /** Anchors of the simulated TEE to trust (e.g. `SimulatedTee.anchors`). */
  simulatedAnchors?: TrustAnchors;
  /** Verification time (certificates, collateral): a time or a clock. Default: now. */
  at?: Date | number | string | (() => Date | number);
  /** Extra CA certificates (PEM). Only legacy (unattested) servers need a trusted certificate. */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Talk to servers that present no attestation (no `Attestation-Report`). Their
   * responses say `attestation.verified: false`: nothing was verified.
   */
  acceptLegacy?: boolean;
  /** Most parallel connections (each one bound separately). Default 4. */
  maxConnections?: number;
  /** Per-request time limit, including connecting and binding (default 60 s). */
  timeoutMs?: number;
  /** Largest response body accepted (default 64 MiB). */
  maxResponseBytes?: number;
  /** Called once per connection after it was verified (or accepted as legacy). */
  onSession?: (session: SessionInfo) => void;
  /**
   * Ask for an enclave-signed response on every request (`Veritee-Sign: 1`): a
   * transferable proof of each exchange, at the proxy's cost of one ES256 signature.
   * Default false: the verified TLS session already authenticates the enclave.
   */
  signedResponses?: boolean;
}

/** What was verified for one TLS connection. */
export interface SessionInfo {
  /** First 12 hex digits of the connection's exporter value. */
  id: string;
  attested: boolean;
  /** Attested sessions: the verification result of the evidence. */
  result?: AttestationResult;
  /** Attested sessions: hex SHA-256 of the enclave key's SPKI. */
  enclaveKey?: string;
  /** The nonce this client sent for the binding, hex. */
  nonce?: string;
  /** Negotiated TLS version. */
  tlsVersion?: string;
  /** Legacy sessions: why nothing was verified. */
  reason?: string;
  /** Attested sessions: hex of the TLS exporter the enclave key signed (what a signed response names). */
  exporter?: string;
}

export type ResponseAttestation =
  | {
      verified: true;
      legacy: false;
      session: SessionInfo;
      /**
       * Whether the enclave signed this response (transferable proof). Unsigned responses
       * are verified by their connection: it was bound to the evidence before any request.
       */
      signed: boolean;
      /** Where the signature travelled: a header (buffered response) or a trailer (streamed); absent when unsigned. */
      signedIn?: 'header' | 'trailer';
      /** The `Veritee-Signature` value of a signed response. */
      signature?: string;
      /** Where the evidence came: in full (`Attestation-Report`) or as its reference on this connection. */
      evidence: 'report' | 'ref';
      /** What the enclave signed (signed responses), or what this client sent and received. */
      requestBodySha256: string;
      responseBodySha256: string;
    }
  | { verified: false; legacy: true; session: SessionInfo; reason: string };

export interface AttestedResponse extends Response {
  readonly attestation: ResponseAttestation;
}

export interface AttestedRequestInit {
  method?: string;
  headers?: Record<string, string> | Headers | [string, string][];
  body?: string | Uint8Array | ArrayBuffer | null;
  signal?: AbortSignal;
  /** Ask for an enclave-signed response (`Veritee-Sign: 1`); the client's `signedResponses` sets it for every request. */
  signed?: boolean;
}

export interface AttestedClient {
  fetch(input: string | URL, init?: AttestedRequestInit): Promise<AttestedResponse>;
  /** Every session opened so far (one per TLS connection). */
  readonly sessions: readonly SessionInfo[];
  close(): Promise<void>;
}

interface Session {
  info: SessionInfo;
  exporter?: Buffer;
  key?: KeyObject;
  keyId?: string;
  evidence?: string;
  evidenceRef?: string;
}

/** What the client verified for one attested connection (the state a response is checked against). */
export interface VerifiedSession {
  info: SessionInfo;
  /** The TLS exporter of the connection, as this client computed it. */
  exporter: Buffer;
  /** The enclave key the binding verified. */
  key: KeyObject;
  /** First 16 hex of SHA-256(SPKI). */
  keyId: string;
  /** The evidence (Attestation-Report value) verified for the connection. */
  evidence: string;
  /** evidenceRef(exporter, evidence). */
  evidenceRef: string;
}

/** One received response, as {@link verifyAttestedResponse} checks it. */
export interface ReceivedResponse {
  headers: IncomingMessage['headers'];
  trailers: IncomingMessage['trailers'];
  method: string;
  /** Request target as sent (path and query). */
  target: string;
  /** SHA-256 (hex) of the request body this client sent. */
  requestHash: string;
  status: number;
  responseBody: Buffer;
  /** A signed response was asked for. */
  signatureRequested: boolean;
}

const bindingSchema = z.object({
  version: z.literal(BINDING_DOMAIN),
  evidence: z.string().min(1).max(4 * 1024 * 1024),
  enclaveKey: z.object({ alg: z.literal(SIGNATURE_ALG), spki: z.string().regex(/^[A-Za-z0-9_-]+$/).max(512) }),
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'signature must be 64 bytes base64url'),
  simulatedAnchors: z.record(z.string(), z.unknown()).optional(),
});

const MAX_BINDING_BYTES = 4 * 1024 * 1024 + 64 * 1024;
const MAX_HEADER_BYTES = 256 * 1024;
const EMPTY = Buffer.alloc(0);

function clientError(code: ErrorCode, message: string, details?: Record<string, unknown>): VeriteeError {
  return new VeriteeError(code, message, details);
}

function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Reads a whole response body, up to `max` bytes. */
function readBody(res: IncomingMessage, max: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    res.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        res.destroy();
        reject(clientError('INPUT_TOO_LARGE', `${what} exceeds ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks, n)));
    res.on('error', (e) => reject(clientError('PROXY_UPSTREAM_UNAVAILABLE', `${what} broke off: ${e.message}`)));
    res.on('aborted', () => reject(clientError('PROXY_UPSTREAM_UNAVAILABLE', `${what} broke off`)));
  });
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function firstFailure(r: AttestationResult): VeriteeError {
  const f = r.failures[0];
  const code: ErrorCode = f?.code ?? 'ATTEST_POLICY_VIOLATION';
  const list = r.failures.map((x) => `${x.name}: ${x.detail}`).join('; ');
  return clientError(code, `the server's attestation does not satisfy the policy ${r.policyId}: ${list}`, {
    failures: r.failures.map((x) => ({ name: x.name, code: x.code, detail: x.detail })),
  });
}

/**
 * A fetch-like client that verifies the proxy's attestation and session binding before
 * any request leaves, and every response before it is returned.
 */
export function createAttestedClient(opts: AttestedClientOptions): AttestedClient {
  let base: URL;
  try {
    base = new URL(opts.baseUrl);
  } catch {
    throw clientError('INPUT_INVALID', `baseUrl "${opts.baseUrl}" is not a URL`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw clientError('INPUT_INVALID', `baseUrl must be https:// (got ${base.protocol})`);
  if (base.protocol === 'http:' && !opts.acceptLegacy) {
    throw clientError('PROXY_UNATTESTED', `${base.origin} is plain HTTP: there is no TLS session to bind to an attested enclave; use https:// to an attesting proxy, or accept an unattested server explicitly`);
  }
  if (!opts.policy || !Array.isArray(opts.policy.platforms)) throw clientError('ATTEST_POLICY_INVALID', 'createAttestedClient needs a parsed policy (parsePolicy / loadPolicy)');
  const policy: Policy = opts.allowSimulated ? { ...opts.policy, allowSimulated: true } : opts.policy;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxResponseBytes = opts.maxResponseBytes ?? 64 * 1024 * 1024;
  const sessions = new WeakMap<Duplex, Session>();
  const infos: SessionInfo[] = [];
  const now = (): Date => {
    const a = typeof opts.at === 'function' ? opts.at() : opts.at;
    return a === undefined ? new Date() : new Date(toEpochMs(a, 'verification time'));
  };
  const record = (socket: Duplex, s: Session) => {
    sessions.set(socket, s);
    infos.push(s.info);
    opts.onSession?.(s.info);
  };

  /**
   * Runs the binding on a fresh TLS connection; resolves when the connection may carry
   * requests, with false when the server announced it closes the connection.
   */
  async function bind(socket: TLSSocket): Promise<boolean> {
    const exporterOk = socket.getProtocol() === 'TLSv1.3';
    const exporter = socket.exportKeyingMaterial(EXPORTER_BYTES, EXPORTER_LABEL, EMPTY);
    const id = exporter.toString('hex').slice(0, 12);
    const nonce = randomBytes(32);
    const body = Buffer.from(JSON.stringify({ nonce: nonce.toString('hex') }));

    // 1. Ask the proxy for evidence and a binding, on THIS connection.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = http.request({
        createConnection: () => socket,
        method: 'POST',
        path: ATTEST_PATH,
        headers: { host: base.host, connection: 'keep-alive', 'content-type': 'application/json', 'content-length': body.length },
        maxHeaderSize: MAX_HEADER_BYTES,
      });
      req.on('response', resolve);
      req.on('error', (e) => reject(clientError('PROXY_UPSTREAM_UNAVAILABLE', `session binding with ${base.origin} failed: ${e.message}`)));
      req.end(body);
    });
    const text = await readBody(res, MAX_BINDING_BYTES, 'binding response');
    const reusable = String(res.headers['connection'] ?? '').toLowerCase() !== 'close';

    // 2. No Attestation-Report: a legacy server.
    const evidenceHeader = headerValue(res.headers[ATTESTATION_HEADER]);
    if (evidenceHeader === undefined) {
      if (!opts.acceptLegacy) {
        throw clientError('PROXY_UNATTESTED', `${base.origin} presents no attestation (no Attestation-Report; ${ATTEST_PATH} answered ${res.statusCode}): refusing to send anything`);
      }
      if (!socket.authorized) {
        throw clientError('PROXY_UNATTESTED', `${base.origin} presents no attestation and its TLS certificate is not trusted (${String(socket.authorizationError)}); give the CA or use an attesting proxy`);
      }
      record(socket, { info: { id, attested: false, tlsVersion: socket.getProtocol() ?? '?', reason: 'the server sent no Attestation-Report: nothing was verified (legacy server accepted)' } });
      return reusable;
    }
    if (!exporterOk) throw clientError('PROXY_BINDING_INVALID', `the connection negotiated ${socket.getProtocol()}; the attested binding needs TLS 1.3`);
    if (res.statusCode !== 200) throw clientError('PROXY_BINDING_INVALID', `${ATTEST_PATH} answered ${res.statusCode}: ${text.toString('utf8').slice(0, 300)}`);

    // 3. Parse the binding.
    let parsed: z.infer<typeof bindingSchema>;
    try {
      // Strict: a duplicate key in the binding document is refused, not read last-wins.
      const r = bindingSchema.safeParse(parseJsonStrict(text.toString('utf8'), { what: 'binding document', maxDepth: 16 }));
      if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      parsed = r.data;
    } catch (e) {
      throw clientError('PROXY_BINDING_INVALID', `binding response is malformed: ${(e as Error).message}`);
    }
    if (parsed.evidence !== evidenceHeader) throw clientError('PROXY_BINDING_INVALID', 'binding response evidence differs from its Attestation-Report header');
    const spki = fromBase64(parsed.enclaveKey.spki, 'enclave key');
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    } catch (e) {
      throw clientError('PROXY_BINDING_INVALID', `enclave key is not a public key: ${(e as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw clientError('PROXY_BINDING_INVALID', `enclave key must be ECDSA P-256 (got ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ''})`);
    }
    const pkh = createHash('sha256').update(spki).digest();

    // 4. The enclave key signed OUR exporter and OUR nonce: nobody else terminates this session.
    const signature = Buffer.from(fromBase64(parsed.signature, 'binding signature'));
    const bound = nodeVerify('sha256', bindingMessage(exporter, nonce, pkh), { key, dsaEncoding: 'ieee-p1363' }, signature);
    if (!bound) {
      throw clientError(
        'PROXY_BINDING_INVALID',
        `the enclave key did not sign this TLS session's exporter: another TLS session terminates this connection (a man in the middle?). No request was sent to ${base.origin}`,
      );
    }

    // 5. The evidence: genuine (or allowed simulated) TEE, policy, and report data = H(key hash, our nonce).
    let simulatedAnchors = opts.simulatedAnchors;
    if (simulatedAnchors === undefined && policy.allowSimulated && parsed.simulatedAnchors) simulatedAnchors = anchorsFromJson(parsed.simulatedAnchors);
    const result = await verifyEvidence(evidenceHeader, {
      policy,
      at: now(),
      nonce,
      publicKeyHash: pkh,
      ...(simulatedAnchors ? { simulatedAnchors } : {}),
    });
    if (!result.ok) throw firstFailure(result);
    record(socket, {
      info: { id, attested: true, result, enclaveKey: pkh.toString('hex'), nonce: nonce.toString('hex'), tlsVersion: 'TLSv1.3', exporter: exporter.toString('hex') },
      exporter,
      key,
      keyId: pkh.toString('hex').slice(0, 16),
      evidence: evidenceHeader,
      evidenceRef: evidenceRef(exporter, evidenceHeader),
    });
    return reusable;
  }

  /** An agent whose every new connection is bound (or refused) before it is used. */
  class BindingAgent extends https.Agent {
    override createConnection(options: http.ClientRequestArgs, cb?: (err: Error | null, stream: Duplex) => void): Duplex | undefined {
      let done = false;
      const finish = (err: Error | null, s?: Duplex) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        cb?.(err, s as Duplex);
      };
      const connect = () =>
        tls.connect({
          host: options.host ?? base.hostname,
          port: Number(options.port || base.port || 443),
          servername: (options as tls.ConnectionOptions).servername ?? (/^[\d.:[\]]+$/.test(base.hostname) ? undefined : base.hostname),
          // The WebPKI does not authenticate an attested server: the binding does (module doc).
          // `authorized` is still computed and required for legacy servers.
          rejectUnauthorized: false,
          ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
          ALPNProtocols: ['http/1.1'],
          minVersion: 'TLSv1.2',
        });
      const socket = connect();
      const timer = setTimeout(() => {
        socket.destroy();
        finish(clientError('PROXY_UPSTREAM_TIMEOUT', `connecting to and verifying ${base.origin} took more than ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (e) => finish(clientError('PROXY_UPSTREAM_UNAVAILABLE', `cannot connect to ${base.origin}: ${e.message}`)));
      socket.once('secureConnect', () => {
        bind(socket).then(
          (reusable) => {
            if (reusable && !socket.destroyed && socket.writable) return finish(null, socket);
            const s = sessions.get(socket);
            if (!s || s.info.attested) {
              return finish(clientError('PROXY_UPSTREAM_UNAVAILABLE', `${base.origin} closed the connection right after the session binding (shutting down?)`));
            }
            // A legacy server that closed after answering the probe: nothing to bind, take a fresh connection.
            const again = connect();
            again.once('error', (e) => finish(clientError('PROXY_UPSTREAM_UNAVAILABLE', `cannot connect to ${base.origin}: ${e.message}`)));
            again.once('secureConnect', () => {
              if (!again.authorized) {
                again.destroy();
                return finish(clientError('PROXY_UNATTESTED', `${base.origin} presents no attestation and its TLS certificate is not trusted`));
              }
              record(again, { info: { ...s.info, id: 'legacy' } });
              finish(null, again);
            });
          },
          (e: unknown) => {
            socket.destroy();
            finish(e instanceof Error ? e : new Error(String(e)));
          },
        );
      });
      return undefined;
    }
  }

  const agent =
    base.protocol === 'https:'
      ? new BindingAgent({ keepAlive: true, maxSockets: opts.maxConnections ?? 4, maxFreeSockets: opts.maxConnections ?? 4 })
      : new http.Agent({ keepAlive: true, maxSockets: opts.maxConnections ?? 4 });

  // At most maxConnections requests in flight: node's agent does not count connections
  // that are still being bound, so the limit is kept here.
  const maxInFlight = opts.maxConnections ?? 4;
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  async function doFetch(input: string | URL, init: AttestedRequestInit = {}): Promise<AttestedResponse> {
    if (inFlight >= maxInFlight) await new Promise<void>((r) => waiting.push(r));
    inFlight++;
    try {
      return await fetchOne(input, init);
    } finally {
      inFlight--;
      waiting.shift()?.();
    }
  }

  async function fetchOne(input: string | URL, init: AttestedRequestInit): Promise<AttestedResponse> {
    const url = new URL(input, base);
    if (url.origin !== base.origin) throw clientError('INPUT_INVALID', `this client talks to ${base.origin} only (asked for ${url.origin})`);
    const method = (init.method ?? 'GET').toUpperCase();
    const target = url.pathname + url.search;
    let body: Buffer = EMPTY;
    if (init.body !== undefined && init.body !== null) {
      if (typeof init.body === 'string') body = Buffer.from(init.body, 'utf8');
      else if (init.body instanceof ArrayBuffer) body = Buffer.from(init.body);
      else if (init.body instanceof Uint8Array) body = Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength);
      else throw clientError('INPUT_INVALID', 'body must be a string, Uint8Array or ArrayBuffer');
    }
    const requestHash = sha256Hex(body);
    const headers: Record<string, string> = {};
    if (init.headers) new Headers(init.headers as HeadersInit).forEach((v, k) => (headers[k] = v));
    if (opts.signedResponses || init.signed) headers[SIGN_REQUEST_HEADER] = '1';
    const signatureRequested = headers[SIGN_REQUEST_HEADER] !== undefined;
    if (body.length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(method)) headers['content-length'] = String(body.length);

    const requester = base.protocol === 'https:' ? https.request : http.request;
    const { res, socket } = await new Promise<{ res: IncomingMessage; socket: Duplex }>((resolve, reject) => {
      const req = requester(url, { agent, method, headers, maxHeaderSize: MAX_HEADER_BYTES, timeout: timeoutMs, ...(init.signal ? { signal: init.signal } : {}) });
      req.on('response', (r) => resolve({ res: r, socket: r.socket }));
      req.on('timeout', () => req.destroy(clientError('PROXY_UPSTREAM_TIMEOUT', `${method} ${url.pathname} got no answer from ${base.origin} within ${timeoutMs} ms`)));
      req.on('error', (e) =>
        reject(e instanceof VeriteeError ? e : clientError('PROXY_UPSTREAM_UNAVAILABLE', `${method} ${url.pathname} to ${base.origin} failed: ${init.signal?.aborted ? 'aborted by the caller' : e.message}`)),
      );
      // Node queues this until the agent hands over a connection, i.e. after the binding passed.
      req.end(body);
    });
    const session = sessions.get(socket) ?? (base.protocol === 'http:' ? legacyHttpSession(socket) : undefined);
    const responseBody = await readBody(res, maxResponseBytes, `response to ${method} ${url.pathname}`);
    const status = res.statusCode ?? 0;

    let attestation: ResponseAttestation;
    if (session !== undefined && !session.info.attested) {
      attestation = { verified: false, legacy: true, session: session.info, reason: session.info.reason ?? 'nothing was verified' };
    } else {
      // Fails closed: no verified session for this connection is PROXY_BINDING_INVALID.
      const verified = session?.exporter && session.key && session.keyId && session.evidence && session.evidenceRef ? (session as VerifiedSession) : undefined;
      attestation = verifyAttestedResponse(verified, { headers: res.headers, trailers: res.trailers, method, target, requestHash, status, responseBody, signatureRequested });
    }
    const outHeaders = new Headers();
    for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) outHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
    const nullBody = status === 204 || status === 205 || status === 304 || method === 'HEAD';
    const response = new Response(nullBody ? null : new Uint8Array(responseBody), { status, statusText: res.statusMessage ?? '', headers: outHeaders });
    Object.defineProperty(response, 'attestation', { value: attestation, enumerable: true });
    return response as AttestedResponse;
  }

  function legacyHttpSession(socket: Duplex): Session {
    const s: Session = { info: { id: 'plain-http', attested: false, reason: 'plain HTTP: no TLS, no attestation: nothing was verified (legacy server accepted)' } };
    record(socket, s);
    return s;
  }

  return {
    fetch: doFetch,
    get sessions() {
      return infos;
    },
    async close() {
      agent.destroy();
    },
  };
}

/**
 * Checks one response against the verified session of the connection it arrived on.
 * Fails closed: without a verified session (`undefined`) the response is refused
 * (PROXY_BINDING_INVALID). The response must name the session's evidence, in full or by
 * its connection-specific reference (else PROXY_BINDING_INVALID; neither:
 * PROXY_RESPONSE_UNSIGNED). A signature, asked for or not, must verify for this
 * session, request and response (PROXY_RESPONSE_SIGNATURE_INVALID); one asked for
 * must be there (PROXY_RESPONSE_UNSIGNED).
 */
export function verifyAttestedResponse(session: VerifiedSession | undefined, r: ReceivedResponse): ResponseAttestation {
  const where = `${r.method} ${r.target.split('?')[0]} (status ${r.status})`;
  if (session === undefined) throw clientError('PROXY_BINDING_INVALID', `the response to ${where} arrived on a connection this client did not verify`);
  const evidence = headerValue(r.headers[ATTESTATION_HEADER]);
  const ref = headerValue(r.headers[EVIDENCE_REF_HEADER]);
  if (evidence !== undefined) {
    if (evidence !== session.evidence) throw clientError('PROXY_BINDING_INVALID', `response to ${where} carries evidence other than the evidence verified for this session`);
  } else if (ref !== undefined) {
    if (ref !== session.evidenceRef) {
      throw clientError('PROXY_BINDING_INVALID', `response to ${where} names evidence ${ref.slice(0, 16)}…, not the evidence verified for this connection (${session.evidenceRef.slice(0, 16)}…)`);
    }
  } else {
    throw clientError('PROXY_RESPONSE_UNSIGNED', `response to ${where} carries neither Attestation-Report nor Attestation-Report-Ref on an attested session`);
  }
  const inHeader = headerValue(r.headers[SIGNATURE_HEADER]);
  const inTrailer = headerValue(r.trailers[SIGNATURE_HEADER]);
  const raw = inHeader ?? inTrailer;
  const responseHash = sha256Hex(r.responseBody);
  const evidenceIn = evidence !== undefined ? 'report' : 'ref';
  if (raw === undefined) {
    if (r.signatureRequested) throw clientError('PROXY_RESPONSE_UNSIGNED', `response to ${where} carries no Veritee-Signature (header or trailer), though this client asked for one`);
    return { verified: true, legacy: false, session: session.info, signed: false, evidence: evidenceIn, requestBodySha256: r.requestHash, responseBodySha256: responseHash };
  }
  const sig = parseSignatureHeader(raw);
  if (sig.key !== session.keyId) throw clientError('PROXY_RESPONSE_SIGNATURE_INVALID', `response to ${where} is signed by key ${sig.key}, not the session's enclave key ${session.keyId}`);
  if (sig.res !== responseHash) {
    throw clientError('PROXY_RESPONSE_SIGNATURE_INVALID', `response body to ${where} was altered after signing: the enclave signed SHA-256 ${sig.res}, received ${responseHash}`);
  }
  let requestField = r.requestHash;
  if (sig.req === INCOMPLETE_BODY && r.status === 413) requestField = INCOMPLETE_BODY;
  else if (sig.req !== r.requestHash) {
    throw clientError('PROXY_RESPONSE_SIGNATURE_INVALID', `the proxy answered ${where} for a request body with SHA-256 ${sig.req}, but this client sent ${r.requestHash}`);
  }
  const message = responseMessage({
    exporter: session.exporter,
    method: r.method,
    target: r.target,
    requestBodySha256: requestField,
    status: r.status,
    responseBodySha256: responseHash,
  });
  const ok = nodeVerify('sha256', message, { key: session.key, dsaEncoding: 'ieee-p1363' }, Buffer.from(fromBase64(sig.sig, 'Veritee-Signature sig')));
  if (!ok) throw clientError('PROXY_RESPONSE_SIGNATURE_INVALID', `the enclave signature on the response to ${where} does not verify for this session, request and response`);
  return {
    verified: true,
    legacy: false,
    session: session.info,
    signed: true,
    signedIn: inHeader !== undefined ? 'header' : 'trailer',
    signature: raw,
    evidence: evidenceIn,
    requestBodySha256: requestField,
    responseBodySha256: responseHash,
  };
}
