/**
 * @module server
 * `veritee proxy`: a TLS 1.3 reverse proxy that runs inside the TEE in front of any HTTP
 * service, binds each TLS session to attestation, sends the evidence once per connection
 * (later responses name it by Attestation-Report-Ref) and signs responses with the enclave
 * key when the request asks (`Veritee-Sign: 1`) or always (`signResponses: 'always'`)
 * (protocol.ts).
 *
 * THREAT MODEL: clients and the network are hostile; the upstream (loopback, same TEE)
 * is trusted. TLS terminates here, so plaintext exists only inside the TEE. Every limit
 * is enforced before work is done: header size and header time (slowloris), total request
 * time, request body size (checked against Content-Length before reading, then counted
 * while streaming), response buffering size. Logs carry method, path (never the query),
 * status, sizes and timings: never a body, a header value, a nonce or key material.
 *
 * INVARIANT: a signed response leaves the proxy either with `Veritee-Signature` in its header
 * (bodies up to `maxBufferedResponseBytes`, buffered and signed before the first byte is
 * sent) or declared as a trailer and sent after the last chunk (larger or unbounded
 * bodies, chunked). The signature covers the exporter of the connection that carries
 * it, so it cannot be moved to another session.
 * An unsigned response is streamed as it arrives; it is authenticated by the TLS session
 * the client bound to the evidence before sending anything.
 *
 * @example
 * const enclave = Enclave.create(await simulatedEvidenceProvider());
 * const proxy = await createAttestingProxy({ host: 'prover.example.com', upstream: 'http://127.0.0.1:8082', enclave });
 * await proxy.listen(8443);
 */
import { createHash, createPrivateKey, hash as oneShotHash, randomBytes, X509Certificate, type Hash, type KeyObject } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import pino, { type Logger } from 'pino';
import { ERROR_CODES, VeriteeError, type ErrorCode } from '@veritee/core';
import type { Enclave } from './enclave.js';
import {
  ATTEST_PATH,
  ATTESTATION_HEADER,
  BINDING_DOMAIN,
  bindingMessage,
  EVIDENCE_REF_HEADER,
  EVIDENCE_REQUEST_HEADER,
  evidenceRef,
  EXPORTER_BYTES,
  EXPORTER_LABEL,
  formatSignatureHeader,
  INCOMPLETE_BODY,
  RESPONSE_DOMAIN,
  SIGNATURE_ALG,
  SIGN_REQUEST_HEADER,
  SIGNATURE_HEADER,
  type BindingResponse,
} from './protocol.js';
import { selfSignedCertificate } from './tls-cert.js';
import type { RequestCounter } from './counters.js';

export interface ProxyLimits {
  /** Largest request body forwarded, bytes (default 16 MiB). Larger: 413. */
  maxRequestBodyBytes?: number;
  /**
   * Largest request head (request line + header lines with their separators, as
   * received), bytes (default 16 KiB). Larger: 431, never forwarded.
   */
  maxHeaderBytes?: number;
  /** Most header fields in a request (default 200). More: 431, never forwarded (none is dropped). */
  maxHeaderCount?: number;
  /**
   * Responses whose body fits are buffered and signed in a header (default 1 MiB);
   * larger or unbounded ones are streamed (chunked) and signed in a trailer.
   */
  maxBufferedResponseBytes?: number;
  /** Most session bindings one connection may ask for (default 16): each costs a TEE report. */
  maxBindingsPerConnection?: number;
}

export interface ProxyTimeouts {
  /** Time allowed for the complete request head (default 10 s): slowloris protection. 408. */
  headersMs?: number;
  /** Time allowed to receive the whole request, body included (default 60 s). 408. */
  requestMs?: number;
  /** Keep-alive: an idle connection is closed after this long (default 5 s). */
  idleMs?: number;
  /** TLS handshake time limit (default 10 s). */
  handshakeMs?: number;
  /** Upstream inactivity (no response headers or no body bytes) before 504 (default 30 s). */
  upstreamMs?: number;
  /**
   * An idle keep-alive connection to the upstream is closed by the proxy after this long
   * (default 4 s). Keep it below the upstream's own keep-alive timeout (node's default
   * is 5 s), so that the proxy, not the upstream, ends idle connections.
   */
  upstreamIdleMs?: number;
  /** Graceful shutdown: how long in-flight requests may take to finish (default 30 s). */
  shutdownMs?: number;
}

export interface AttestingProxyOptions {
  /** Public host name: the self-signed certificate's subject, and in logs. */
  host: string;
  /** The service behind the proxy, `http://127.0.0.1:8082` (plain HTTP, inside the TEE). Required unless `dispatch` is given. */
  upstream?: string;
  /**
   * Decides per request, after the head checks and before anything is forwarded: forward
   * to an upstream, answer with an error, or answer here. Every answer is signed like any
   * other response. Without it, every request goes to `upstream`. The API gateway
   * (@veritee/gateway) routes, authenticates and rate-limits with it.
   */
  dispatch?: (req: IncomingMessage) => DispatchDecision | Promise<DispatchDecision>;
  /** Enclave key and evidence source. */
  enclave: Enclave;
  /** PEM certificate chain and key; a self-signed certificate is made when absent. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * PEM CA certificate(s) for client certificates (mTLS): clients are asked for one and
   * may connect without it; `socket.authorized` says whether it chains to these CAs, and
   * the dispatcher decides (the API gateway refuses per route).
   */
  clientCa?: string | Buffer;
  limits?: ProxyLimits;
  timeouts?: ProxyTimeouts;
  /** pino logger, or false for none (default: pino to stdout at `logLevel`). */
  logger?: Logger | false;
  /** Level of the default logger (default info). */
  logLevel?: string;
  /** One log line per request (method, path without query, status, sizes, timings). Default true. */
  accessLog?: boolean;
  /**
   * Which responses carry the enclave's `Veritee-Signature` (a transferable proof of the
   * exchange): 'on-request' (default) those whose request says `Veritee-Sign: 1`;
   * 'always' every response (the cost of v1: one ES256 signature and body hashes each).
   * On a connection whose binding the client verified, TLS already authenticates the
   * enclave, so unsigned responses lose no channel security.
   */
  signResponses?: 'on-request' | 'always';
  /**
   * Where the evidence travels: 'once' (default) in the binding response and the first
   * response of a connection, later responses carry `Attestation-Report-Ref`;
   * 'always' the full `Attestation-Report` (about 8 KB) on every response.
   */
  evidence?: 'once' | 'always';
  /**
   * Counts the arrival of every request (binding requests excepted) for request-volume
   * telemetry (counters.ts; served on loopback by `createCountersServer`).
   */
  requestCounter?: RequestCounter;
  /** Most keep-alive sockets to the upstream (default 512). */
  maxUpstreamSockets?: number;
  /**
   * TEST ONLY: called with each buffered response body after it was signed; what it
   * returns is sent instead. Lets tests play a compromised path between signing and the
   * client. Never set in production.
   */
  unsafeAfterSignHook?: (body: Buffer) => Buffer;
  /**
   * TEST ONLY: called with the headers of each proxied response (signed or not, evidence
   * or its reference set) just before they are sent; may change them. Lets tests play a
   * path that strips a signature or swaps an evidence reference. Never set in production.
   */
  unsafeResponseHeadersHook?: (headers: OutgoingHttpHeaders) => void;
}

/** Where one request is forwarded: plain HTTP inside the TEE. */
export interface UpstreamTarget {
  host: string;
  port: number;
  /** Prefix prepended to the request target ('' or '/base', no trailing slash). */
  basePath: string;
  /** `http://host:port`, in messages and logs. */
  label: string;
  /** The request target sent upstream; default basePath + the client's target (which the signature always names). */
  path?: string;
}

/** What {@link AttestingProxyOptions.dispatch} decides for a request. */
export type DispatchDecision =
  | { forward: UpstreamTarget }
  | { error: { code: ErrorCode; message: string; headers?: OutgoingHttpHeaders } }
  | { respond: { status: number; headers: OutgoingHttpHeaders; body: Buffer } };

/** The error code the proxy answered a request with (undefined for a forwarded upstream response). */
export function responseErrorCode(res: ServerResponse): ErrorCode | undefined {
  return (res as ServerResponse & { veriteeCode?: ErrorCode }).veriteeCode;
}

/** An upstream URL as a target: `http://host:port[/base]`, no query or fragment. Throws INPUT_INVALID naming `what`. */
export function parseUpstreamUrl(value: string, what = '--upstream'): UpstreamTarget {
  let upstream: URL;
  try {
    upstream = new URL(value);
  } catch {
    throw new VeriteeError('INPUT_INVALID', `${what} "${value.slice(0, 200)}" is not a URL (expected http://127.0.0.1:8082)`);
  }
  if (upstream.protocol !== 'http:') throw new VeriteeError('INPUT_INVALID', `${what} must be an http:// URL inside the TEE (got ${upstream.protocol}//)`);
  if (upstream.search || upstream.hash) throw new VeriteeError('INPUT_INVALID', `${what} must not carry a query or fragment`);
  return {
    host: upstream.hostname.replace(/^\[|\]$/g, ''),
    port: Number(upstream.port || 80),
    basePath: upstream.pathname.replace(/\/$/, ''),
    label: `${upstream.protocol}//${upstream.host}`,
  };
}

export interface AttestingProxy {
  readonly server: https.Server;
  readonly enclave: Enclave;
  /** PEM certificate presented by the proxy (self-signed unless given; the latest after {@link setTls}). */
  readonly certificate: string;
  /**
   * Replaces the TLS certificate and key for new handshakes (existing connections keep
   * theirs). The client CA(s) stay as configured unless `clientCa` is given: a context
   * made from cert and key alone would stop verifying client certificates.
   */
  setTls(tls: { cert: string | Buffer; key: string | Buffer }, clientCa?: string | Buffer): void;
  /** Requests being served now. */
  readonly inFlight: number;
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Graceful shutdown: stop accepting, finish in-flight requests (up to shutdownMs), close. */
  close(): Promise<void>;
}

interface RequestMeta {
  upstreamMs?: number;
  mode?: string;
  /** The response gets a Veritee-Signature (asked for, or the proxy signs always). */
  sign: boolean;
  /** The response carries the full Attestation-Report (else Attestation-Report-Ref). */
  fullEvidence: boolean;
  reqBytes: number;
  resBytes: number;
  /** Sent a second time on a new connection after the keep-alive race. */
  retried?: boolean;
}

interface Session {
  exporter: Buffer;
  /** The exporter as hex, for the signed messages. */
  exporterHex: string;
  /** Evidence header to send on this connection (the binding's, once bound). */
  evidence: string;
  bindings: number;
  id: string;
  /** Requests seen on this connection (the first one gets the full evidence). */
  requests: number;
  /** Attestation-Report-Ref of `evidence` on this connection, computed when first needed. */
  ref?: string;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
const EMPTY = Buffer.alloc(0);
const EMPTY_SHA256 = createHash('sha256').digest('hex');
const DEFAULTS = {
  maxRequestBodyBytes: 16 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 200,
  maxBufferedResponseBytes: 1024 * 1024,
  maxBindingsPerConnection: 16,
  headersMs: 10_000,
  requestMs: 60_000,
  idleMs: 5_000,
  handshakeMs: 10_000,
  upstreamMs: 30_000,
  upstreamIdleMs: 4_000,
  shutdownMs: 30_000,
};

function errorBody(code: ErrorCode, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: { code, message } }));
}

/**
 * protocol.responseMessage without its input checks, for the hot path: every field here
 * comes from node's HTTP parser (method token, target without control characters) or
 * from hashes this process computed. A test pins it to responseMessage.
 */
export function responseMessageFast(session: { exporterHex: string }, method: string, target: string, reqHash: string, status: number, resHash: string): Buffer {
  return Buffer.from(`${RESPONSE_DOMAIN}\n${session.exporterHex}\n${method}\n${target}\n${reqHash}\n${status}\n${resHash}`, 'utf8');
}

/** A raw HTTP/1.1 error for the socket level (no request object exists). */
function rawError(code: ErrorCode, message: string): string {
  const status = ERROR_CODES[code].http;
  const body = errorBody(code, message);
  const reason = http.STATUS_CODES[status] ?? 'Error';
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body.toString()}`;
}

/** Headers to forward: hop-by-hop ones and those named in Connection dropped. */
function forwardable(headers: IncomingHttpHeaders, drop: ReadonlySet<string>): OutgoingHttpHeaders {
  const named = new Set<string>();
  const conn = headers['connection'];
  // `keep-alive` / `close` name no field worth a Set lookup per header.
  if (typeof conn === 'string' && conn !== 'keep-alive' && conn !== 'close') for (const t of conn.split(',')) named.add(t.trim().toLowerCase());
  const out: OutgoingHttpHeaders = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k) || drop.has(k) || (named.size > 0 && named.has(k))) continue;
    out[k] = v;
  }
  return out;
}

/**
 * Checks a PEM certificate (chain) and private key before a server starts with them:
 * both parse, and the key is the private key of the first (leaf) certificate. Without
 * this, a mismatched pair starts fine and then fails every handshake.
 * `names` label the two inputs in messages (file names from the CLI).
 */
export function checkTlsCredentials(cert: string | Buffer, key: string | Buffer, names: { cert?: string; key?: string } = {}): void {
  const certName = names.cert ?? 'the TLS certificate';
  const keyName = names.key ?? 'the TLS private key';
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new VeriteeError('TLS_CREDENTIALS_INVALID', `${certName} is not a PEM (or DER) X.509 certificate`);
  }
  let priv: KeyObject;
  try {
    priv = createPrivateKey(key);
  } catch {
    throw new VeriteeError('TLS_CREDENTIALS_INVALID', `${keyName} is not a PEM (or DER) private key (an encrypted key is not supported)`);
  }
  let match = false;
  try {
    match = leaf.checkPrivateKey(priv);
  } catch {
    match = false;
  }
  if (!match) {
    throw new VeriteeError('TLS_CREDENTIALS_INVALID', `${keyName} is not the private key of ${certName} (subject ${JSON.stringify(leaf.subject.replace(/\n/g, ', ').slice(0, 120))}): every TLS handshake would fail`);
  }
}

/**
 * The request path as logged: no query, and capability-like segments redacted. A job id
 * is the capability to read its bundle, so `/jobs/<id>` becomes `/jobs/[redacted]`; any
 * other segment of 32 or more hex digits (or 43+ base64url characters) is redacted too.
 */
export function redactPath(url: string): string {
  const path = url.split('?')[0]!.slice(0, 256);
  const segs = path.split('/');
  for (let i = 1; i < segs.length; i++) {
    const seg = segs[i]!;
    if (seg === '') continue;
    if (segs[i - 1] === 'jobs' || /^[0-9a-fA-F]{32,}$/.test(seg) || /^[A-Za-z0-9_-]{43,}$/.test(seg)) segs[i] = '[redacted]';
  }
  return segs.join('/');
}

/** A listen failure as SERVICE_LISTEN_FAILED naming the address (anything else as is). */
export function listenError(e: NodeJS.ErrnoException, host: string, port: number): Error {
  const why: Record<string, string> = {
    EADDRINUSE: 'the address is already in use',
    EACCES: 'permission denied (ports below 1024 need privileges)',
    EADDRNOTAVAIL: 'the address is not one of this machine',
    ENOTFOUND: 'the host name does not resolve',
  };
  const reason = e.code ? why[e.code] : undefined;
  if (!reason) return e;
  return new VeriteeError('SERVICE_LISTEN_FAILED', `cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${reason} (${e.code})`);
}

/** Methods a proxy may resend (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Bytes of the request head as received: request line, each header line with its
 * ": " and CRLF, and the final CRLF (optional whitespace around values not counted).
 * rawHeaders holds the bytes as latin1 characters, so length is bytes.
 */
function headBytes(req: IncomingMessage): number {
  let n = (req.method ?? '').length + 1 + (req.url ?? '').length + 1 + 8 + 2 + 2;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) n += raw[i]!.length + 2 + raw[i + 1]!.length + 2;
  return n;
}

// `expect`: node already answered 100-continue to the client.
// The veritee request headers are for the proxy, not the upstream.
const FROM_CLIENT_DROP = new Set(['expect', SIGN_REQUEST_HEADER, EVIDENCE_REQUEST_HEADER]);
const FROM_UPSTREAM_DROP = new Set([ATTESTATION_HEADER, EVIDENCE_REF_HEADER, SIGNATURE_HEADER, 'content-length']);

/** Builds (does not start) an attesting proxy. */
export async function createAttestingProxy(opts: AttestingProxyOptions): Promise<AttestingProxy> {
  const lim = { ...DEFAULTS, ...opts.limits, ...opts.timeouts };
  const enclave = opts.enclave;
  if (opts.logLevel !== undefined && !Object.prototype.hasOwnProperty.call(pino.levels.values, opts.logLevel) && opts.logLevel !== 'silent') {
    throw new VeriteeError('INPUT_INVALID', `log level ${JSON.stringify(opts.logLevel.slice(0, 40))} is not one of ${[...Object.keys(pino.levels.values), 'silent'].join(', ')}`);
  }
  const log: Logger | undefined = opts.logger === false ? undefined : (opts.logger ?? pino({ level: opts.logLevel ?? 'info', base: { svc: 'veritee-proxy' } }));
  const accessLog = opts.accessLog !== false;
  const signAlways = opts.signResponses === 'always';
  const evidenceAlways = opts.evidence === 'always';
  if (opts.signResponses !== undefined && opts.signResponses !== 'always' && opts.signResponses !== 'on-request') {
    throw new VeriteeError('INPUT_INVALID', `signResponses must be 'on-request' or 'always' (got ${JSON.stringify(String(opts.signResponses).slice(0, 40))})`);
  }
  if (opts.evidence !== undefined && opts.evidence !== 'always' && opts.evidence !== 'once') {
    throw new VeriteeError('INPUT_INVALID', `evidence must be 'once' or 'always' (got ${JSON.stringify(String(opts.evidence).slice(0, 40))})`);
  }
  if (lim.headersMs > lim.requestMs) throw new VeriteeError('INPUT_INVALID', `headers timeout (${lim.headersMs} ms) must not exceed the request timeout (${lim.requestMs} ms)`);

  if (opts.upstream === undefined && !opts.dispatch) throw new VeriteeError('INPUT_INVALID', '--upstream is required');
  const defaultTarget = opts.upstream === undefined ? undefined : parseUpstreamUrl(opts.upstream);
  const upstreamLabel = defaultTarget?.label ?? 'dispatched';
  // `timeout` is the idle time of a pooled (free) socket: the proxy closes it before the
  // upstream's keep-alive timer does (node's agent also honours a shorter Keep-Alive hint).
  const agent = new http.Agent({ keepAlive: true, timeout: lim.upstreamIdleMs, maxSockets: opts.maxUpstreamSockets ?? 512, maxFreeSockets: 256, scheduling: 'lifo' });

  if (opts.tls) checkTlsCredentials(opts.tls.cert, opts.tls.key);
  const tlsMaterial = opts.tls ?? selfSignedCertificate(opts.host);
  const defaultEvidence = await enclave.evidenceHeader();
  const anchors = enclave.simulatedAnchorsJson();
  const sessions = new WeakMap<Socket, Session>();
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const server = https.createServer({
    cert: tlsMaterial.cert,
    key: tlsMaterial.key,
    minVersion: 'TLSv1.3',
    ...(opts.clientCa ? { ca: opts.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
    maxHeaderSize: lim.maxHeaderBytes,
    headersTimeout: lim.headersMs,
    requestTimeout: lim.requestMs,
    keepAliveTimeout: lim.idleMs,
    handshakeTimeout: lim.handshakeMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(lim.headersMs / 4))),
    noDelay: true,
  });
  // Node drops header fields past maxHeadersCount silently (and does not count their
  // bytes): keep every field here and refuse too many (or too large a head) in the
  // request handler instead. Node's own maxHeaderSize still bounds the memory.
  server.maxHeadersCount = 0;
  // Responses leave as several TLS records; with Nagle on, the last one waits for the
  // client's delayed ACK (milliseconds on loopback). Latency matters more than packets.
  server.on('secureConnection', (s: TLSSocket) => s.setNoDelay(true));

  function sessionOf(socket: Socket): Session {
    let s = sessions.get(socket);
    if (!s) {
      const exporter = (socket as TLSSocket).exportKeyingMaterial(EXPORTER_BYTES, EXPORTER_LABEL, EMPTY);
      const exporterHex = exporter.toString('hex');
      s = { exporter, exporterHex, evidence: defaultEvidence, bindings: 0, id: exporterHex.slice(0, 12), requests: 0 };
      sessions.set(socket, s);
    }
    return s;
  }

  /** The evidence (first response of the connection, or asked for) or its reference. */
  function attest(headers: OutgoingHttpHeaders, session: Session, meta: RequestMeta): void {
    if (meta.fullEvidence) headers[ATTESTATION_HEADER] = session.evidence;
    else headers[EVIDENCE_REF_HEADER] = session.ref ??= evidenceRef(session.exporter, session.evidence);
  }

  /** Sends a complete (buffered) response, signed when the request asked (or the proxy signs always). */
  function sendSigned(
    req: IncomingMessage,
    res: ServerResponse,
    session: Session,
    meta: RequestMeta,
    status: number,
    headers: OutgoingHttpHeaders,
    body: Buffer,
    reqHash: string,
    proxied = false,
  ): void {
    if (res.destroyed) return;
    attest(headers, session, meta);
    if (meta.sign) {
      const resHash = body.length === 0 ? EMPTY_SHA256 : oneShotHash('sha256', body, 'hex');
      const sig = enclave.sign(responseMessageFast(session, req.method ?? 'GET', req.url ?? '/', reqHash, status, resHash));
      headers[SIGNATURE_HEADER] = formatSignatureHeader({ key: enclave.keyId, req: reqHash, res: resHash, sig: sig.toString('base64url') });
    }
    const sent = proxied && opts.unsafeAfterSignHook ? opts.unsafeAfterSignHook(body) : body;
    if (proxied) opts.unsafeResponseHeadersHook?.(headers);
    if (status === 204 || status === 304 || status < 200) delete headers['content-length'];
    else if (req.method !== 'HEAD' || headers['content-length'] === undefined) headers['content-length'] = sent.length;
    if (closing) headers['connection'] = 'close';
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : sent);
  }

  function sendError(req: IncomingMessage, res: ServerResponse, session: Session, meta: RequestMeta, code: ErrorCode, message: string, reqHash: Promise<string> | string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    (res as ServerResponse & { veriteeCode?: string }).veriteeCode = code;
    const status = ERROR_CODES[code].http;
    const finish = (h: string) => sendSigned(req, res, session, meta, status, { 'content-type': 'application/json' }, errorBody(code, message), h);
    if (typeof reqHash === 'string') finish(reqHash);
    else void reqHash.then(finish, () => finish(INCOMPLETE_BODY));
  }

  /** Reads and hashes a body without keeping it: its SHA-256 hex, or INCOMPLETE_BODY past `max` bytes (or on error). */
  function drainHash(req: IncomingMessage, max: number, meta: { reqBytes: number }): Promise<string> {
    if (req.headers['transfer-encoding'] === undefined && Number(req.headers['content-length'] ?? 0) === 0) return Promise.resolve(EMPTY_SHA256);
    if (Number(req.headers['content-length']) > max) return Promise.resolve(INCOMPLETE_BODY); // not read at all
    return new Promise((resolve) => {
      let hash: Hash | undefined;
      let over = false;
      req.on('data', (c: Buffer) => {
        if (over) return;
        meta.reqBytes += c.length;
        if (meta.reqBytes > max) {
          over = true;
          resolve(INCOMPLETE_BODY);
          return;
        }
        (hash ??= createHash('sha256')).update(c);
      });
      req.on('end', () => {
        if (!over) resolve(hash ? hash.digest('hex') : EMPTY_SHA256);
      });
      req.on('error', () => resolve(INCOMPLETE_BODY));
    });
  }

  /** Reads a small body completely (binding requests). */
  function readSmall(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (n > max) {
          resolve(undefined);
          req.removeAllListeners('data');
          req.resume();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', () => resolve(undefined));
    });
  }

  async function handleBinding(req: IncomingMessage, res: ServerResponse, session: Session, meta: RequestMeta): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendError(req, res, session, meta, 'PROXY_REQUEST_MALFORMED', `${ATTEST_PATH} accepts POST with {"nonce": "<64 hex digits>"}`, EMPTY_SHA256);
    }
    const body = await readSmall(req, 1024);
    if (body === undefined) return sendError(req, res, session, meta, 'PROXY_REQUEST_TOO_LARGE', 'binding request body exceeds 1024 bytes', INCOMPLETE_BODY);
    meta.reqBytes = body.length;
    const reqHash = createHash('sha256').update(body).digest('hex');
    let nonceHex: unknown;
    try {
      nonceHex = (JSON.parse(body.toString('utf8')) as { nonce?: unknown }).nonce;
    } catch {
      return sendError(req, res, session, meta, 'PROXY_REQUEST_MALFORMED', 'binding request body is not JSON; send {"nonce": "<64 hex digits>"}', reqHash);
    }
    if (typeof nonceHex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(nonceHex)) {
      return sendError(req, res, session, meta, 'PROXY_REQUEST_MALFORMED', 'binding request needs "nonce": 32 bytes as 64 hex digits, fresh for this session', reqHash);
    }
    if (++session.bindings > lim.maxBindingsPerConnection) {
      return sendError(req, res, session, meta, 'PROXY_REQUEST_MALFORMED', `at most ${lim.maxBindingsPerConnection} bindings per connection; open a new connection`, reqHash);
    }
    const nonce = Buffer.from(nonceHex, 'hex');
    const evidence = await enclave.evidenceHeader(nonce);
    const signature = enclave.sign(bindingMessage(session.exporter, nonce, enclave.publicKeyHash));
    session.evidence = evidence;
    session.ref = undefined;
    meta.fullEvidence = true; // a binding response always carries the evidence it binds
    const out: BindingResponse = {
      version: BINDING_DOMAIN,
      evidence,
      enclaveKey: { alg: SIGNATURE_ALG, spki: enclave.spkiBase64Url },
      signature: signature.toString('base64url'),
      ...(anchors ? { simulatedAnchors: anchors } : {}),
    };
    log?.info({ session: session.id, bindings: session.bindings, platform: enclave.provider.platform }, 'session bound');
    const json = Buffer.from(JSON.stringify(out));
    meta.resBytes = json.length;
    sendSigned(req, res, session, meta, 200, { 'content-type': 'application/json', 'cache-control': 'no-store' }, json, reqHash);
  }

  function handleProxy(req: IncomingMessage, res: ServerResponse, session: Session, meta: RequestMeta, up: UpstreamTarget): void {
    const { host: upstreamHost, port: upstreamPort, basePath, label: upstreamLabel } = up;
    const target = req.url ?? '/';
    const upstreamPath = up.path ?? basePath + target;
    // Request body: hashed and counted as it streams to the upstream.
    let hash: Hash | undefined; // made on the first body byte: most requests have none
    let settle!: (h: string) => void;
    const reqHash = new Promise<string>((resolve) => (settle = resolve));
    let overflow = false;

    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > lim.maxRequestBodyBytes) {
      res.shouldKeepAlive = false;
      return sendError(req, res, session, meta, 'PROXY_REQUEST_TOO_LARGE', `request body of ${declared} bytes exceeds the ${lim.maxRequestBodyBytes}-byte limit`, INCOMPLETE_BODY);
    }

    const headers = forwardable(req.headers, FROM_CLIENT_DROP);
    const prior = req.headers['x-forwarded-for'];
    const remote = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote;
    headers['x-forwarded-proto'] = 'https';
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;

    const started = performance.now();
    // Only a request without a body can be sent again (the body is streamed, not kept).
    const noRequestBody = req.headers['transfer-encoding'] === undefined && (declared === undefined || Number(declared) === 0);
    const retriable = IDEMPOTENT.has(req.method ?? '') && noRequestBody;
    let upReq!: http.ClientRequest;
    let upstreamDone = false;
    let responded = false;
    let reqEnded = false;

    const fail = (code: ErrorCode, message: string) => {
      if (upstreamDone) return;
      upstreamDone = true;
      upReq.destroy();
      sendError(req, res, session, meta, code, message, reqHash);
    };

    /**
     * One attempt. The keep-alive race: the upstream closes an idle pooled connection just
     * as the proxy writes the next request on it, which fails with ECONNRESET (or EPIPE)
     * before any response byte. The request never reached the upstream's application, so
     * an idempotent request without a body is sent once more on a new connection; any other
     * one gets the 502, since whether the upstream acted on it is unknown.
     */
    const attempt = (fresh: boolean) => {
      const r = http.request({
        agent: fresh ? false : agent,
        host: upstreamHost,
        port: upstreamPort,
        method: req.method,
        path: upstreamPath,
        headers,
        timeout: lim.upstreamMs,
      });
      upReq = r;
      r.on('timeout', () => {
        if (upReq !== r) return; // an attempt given up already
        fail('PROXY_UPSTREAM_TIMEOUT', `upstream ${upstreamLabel} did not answer ${req.method} ${target.split('?')[0]} within ${lim.upstreamMs} ms`);
      });
      r.on('error', (e: NodeJS.ErrnoException) => {
        if (upReq !== r || upstreamDone) return;
        const raced = r.reusedSocket && !responded && (e.code === 'ECONNRESET' || e.code === 'EPIPE');
        if (raced && !fresh && retriable && !overflow) {
          meta.retried = true;
          r.destroy();
          attempt(true);
          if (reqEnded) upReq.end();
          return;
        }
        const why =
          e.code === 'ECONNREFUSED'
            ? 'refused the connection'
            : raced
              ? 'closed a reused keep-alive connection before answering (not retried: the request has a body or is not idempotent)'
              : e.code === 'ECONNRESET'
                ? 'closed the connection'
                : (e.code ?? e.message);
        // The cause, for the operator (an unexplained 502 was what hid this race).
        log?.warn({ session: session.id, method: req.method, path: redactPath(target), errno: e.code, reusedSocket: r.reusedSocket, retry: fresh }, 'upstream request failed');
        fail('PROXY_UPSTREAM_UNAVAILABLE', `upstream ${upstreamLabel} ${why} (${req.method} ${target.split('?')[0]})`);
      });
      r.on('response', (upRes) => onResponse(upRes));
    };

    req.on('data', (chunk: Buffer) => {
      if (overflow) return;
      meta.reqBytes += chunk.length;
      if (meta.reqBytes > lim.maxRequestBodyBytes) {
        overflow = true;
        settle(INCOMPLETE_BODY);
        res.shouldKeepAlive = false;
        fail('PROXY_REQUEST_TOO_LARGE', `request body exceeds the ${lim.maxRequestBodyBytes}-byte limit`);
        req.resume();
        return;
      }
      if (meta.sign) (hash ??= createHash('sha256')).update(chunk);
      if (!upstreamDone && !upReq.write(chunk)) {
        req.pause();
        upReq.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      if (overflow) return;
      reqEnded = true;
      settle(hash ? hash.digest('hex') : EMPTY_SHA256);
      if (!upstreamDone) upReq.end();
    });
    res.on('close', () => {
      if (res.writableFinished) return;
      upstreamDone = true; // the client went away: the upstream's answer is not wanted
      upReq.destroy();
    });

    const onResponse = (upRes: IncomingMessage) => {
      responded = true;
      meta.upstreamMs = Math.round((performance.now() - started) * 1000) / 1000;
      const status = upRes.statusCode ?? 502;
      const outHeaders = forwardable(upRes.headers, FROM_UPSTREAM_DROP);
      const declaredLen = upRes.headers['content-length'] === undefined ? undefined : Number(upRes.headers['content-length']);
      const bodyless = req.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
      if (bodyless && req.method === 'HEAD' && declaredLen !== undefined) outHeaders['content-length'] = declaredLen;
      const broke = () => {
        if (!res.headersSent) fail('PROXY_UPSTREAM_UNAVAILABLE', `upstream ${upstreamLabel} broke off its response`);
        else res.destroy();
      };

      if (!meta.sign) {
        // Unsigned: streamed as it arrives, as any reverse proxy does (nothing to hash, nothing to hold back).
        meta.mode = 'none';
        if (!bodyless && declaredLen !== undefined) outHeaders['content-length'] = declaredLen;
        attest(outHeaders, session, meta);
        if (closing) outHeaders['connection'] = 'close';
        opts.unsafeResponseHeadersHook?.(outHeaders);
        res.writeHead(status, outHeaders);
        upRes.on('data', (c: Buffer) => {
          meta.resBytes += c.length;
          if (!res.write(c)) {
            upRes.pause();
            res.once('drain', () => upRes.resume());
          }
        });
        upRes.on('end', () => {
          upstreamDone = true;
          res.end();
        });
        upRes.on('error', broke);
        upRes.on('aborted', () => res.destroy());
        return;
      }
      let chunks: Buffer[] | undefined = [];
      let buffered = 0;
      let streamHash: ReturnType<typeof createHash> | undefined;

      const startStreaming = () => {
        meta.mode = 'trailer';
        streamHash = createHash('sha256');
        attest(outHeaders, session, meta);
        outHeaders['trailer'] = 'Veritee-Signature';
        if (closing) outHeaders['connection'] = 'close';
        opts.unsafeResponseHeadersHook?.(outHeaders);
        res.writeHead(status, outHeaders);
        for (const c of chunks ?? []) {
          streamHash.update(c);
          res.write(c);
        }
        chunks = undefined;
      };
      if (!bodyless && declaredLen !== undefined && declaredLen > lim.maxBufferedResponseBytes) startStreaming();
      else meta.mode = 'header';

      upRes.on('data', (c: Buffer) => {
        meta.resBytes += c.length;
        if (chunks) {
          chunks.push(c);
          buffered += c.length;
          if (buffered > lim.maxBufferedResponseBytes) startStreaming();
          return;
        }
        streamHash!.update(c);
        if (!res.write(c)) {
          upRes.pause();
          res.once('drain', () => upRes.resume());
        }
      });
      upRes.on('end', () => {
        upstreamDone = true;
        void reqHash.then((rh) => {
          if (chunks) return sendSigned(req, res, session, meta, status, outHeaders, bodyless ? EMPTY : Buffer.concat(chunks, buffered), rh, true);
          const resHash = streamHash!.digest('hex');
          const sig = enclave.sign(responseMessageFast(session, req.method ?? 'GET', target, rh, status, resHash));
          res.addTrailers({ [SIGNATURE_HEADER]: formatSignatureHeader({ key: enclave.keyId, req: rh, res: resHash, sig: sig.toString('base64url') }) });
          res.end();
        });
      });
      upRes.on('error', broke);
      upRes.on('aborted', () => {
        if (res.headersSent) res.destroy();
      });
    };
    attempt(false);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const t0 = performance.now();
    inFlight++;
    if (opts.requestCounter) {
      const u = req.url ?? '';
      if (u !== ATTEST_PATH && !u.startsWith(ATTEST_PATH + '?')) opts.requestCounter.record();
    }
    const session = sessionOf(req.socket);
    // Decided in request order (pipelined responses leave in that order): the first request
    // of a connection gets the full evidence, later ones its reference.
    const meta: RequestMeta = {
      reqBytes: 0,
      resBytes: 0,
      sign: signAlways || req.headers[SIGN_REQUEST_HEADER] !== undefined,
      fullEvidence: evidenceAlways || session.requests++ === 0 || req.headers[EVIDENCE_REQUEST_HEADER] !== undefined,
    };
    res.on('close', () => {
      inFlight--;
      if (accessLog && log?.isLevelEnabled('info')) {
        const path = redactPath(req.url ?? '/');
        const entry: Record<string, unknown> = {
          session: session.id,
          method: req.method,
          path,
          status: res.statusCode,
          reqBytes: meta.reqBytes,
          resBytes: meta.resBytes,
          ms: Math.round((performance.now() - t0) * 1000) / 1000,
        };
        if (meta.upstreamMs !== undefined) entry['upstreamMs'] = meta.upstreamMs;
        if (meta.mode) entry['signed'] = meta.mode;
        if (meta.retried) entry['retried'] = true;
        const code = (res as ServerResponse & { veriteeCode?: string }).veriteeCode;
        if (code) entry['code'] = code;
        if (!res.writableFinished) entry['aborted'] = true;
        log.info(entry, 'request');
      }
      if (closing && inFlight === 0) drained?.();
    });
    const fields = req.rawHeaders.length / 2;
    const bytes = fields > lim.maxHeaderCount ? 0 : headBytes(req);
    if (fields > lim.maxHeaderCount || bytes > lim.maxHeaderBytes) {
      // Refused whole: forwarding it without some fields (an Authorization after the
      // 200th, say) would hand the upstream a different request than the client sent.
      res.shouldKeepAlive = false;
      const why = fields > lim.maxHeaderCount ? `${fields} header fields exceed the limit of ${lim.maxHeaderCount}` : `request head of ${bytes} bytes exceeds ${lim.maxHeaderBytes} bytes`;
      return sendError(req, res, session, meta, 'PROXY_HEADERS_TOO_LARGE', why, req.headers['content-length'] || req.headers['transfer-encoding'] ? INCOMPLETE_BODY : EMPTY_SHA256);
    }
    if (closing) {
      res.shouldKeepAlive = false;
      return sendError(req, res, session, meta, 'PROXY_SHUTTING_DOWN', 'the proxy is shutting down; retry on a new connection', req.headers['content-length'] ? INCOMPLETE_BODY : EMPTY_SHA256);
    }
    const url = req.url ?? '';
    if (!url.startsWith('/')) {
      res.shouldKeepAlive = false;
      return sendError(req, res, session, meta, 'PROXY_REQUEST_MALFORMED', 'only origin-form request targets (/path?query) are accepted', INCOMPLETE_BODY);
    }
    if (url === ATTEST_PATH || url.startsWith(ATTEST_PATH + '?')) {
      void handleBinding(req, res, session, meta).catch((e: unknown) => {
        log?.error({ err: e instanceof Error ? e.message : String(e) }, 'binding failed');
        sendError(req, res, session, meta, 'INTERNAL', 'internal error', INCOMPLETE_BODY);
      });
      return;
    }
    if (!opts.dispatch) return handleProxy(req, res, session, meta, defaultTarget!);
    const decide = (d: DispatchDecision) => {
      if ('forward' in d) return handleProxy(req, res, session, meta, d.forward);
      // Answered here: the body is read (hashed, bounded, never kept) so that the signature
      // names it and the connection stays usable; past the limit it is a 413.
      void drainHash(req, lim.maxRequestBodyBytes, meta).then((reqHash) => {
        if (reqHash === INCOMPLETE_BODY) {
          res.shouldKeepAlive = false;
          return sendError(req, res, session, meta, 'PROXY_REQUEST_TOO_LARGE', `request body exceeds the ${lim.maxRequestBodyBytes}-byte limit`, INCOMPLETE_BODY);
        }
        if ('error' in d) {
          for (const [k, v] of Object.entries(d.error.headers ?? {})) if (v !== undefined) res.setHeader(k, v);
          return sendError(req, res, session, meta, d.error.code, d.error.message, reqHash);
        }
        sendSigned(req, res, session, meta, d.respond.status, { ...d.respond.headers }, d.respond.body, reqHash);
      });
    };
    const onDispatchError = (e: unknown) => {
      log?.error({ err: e instanceof Error ? e.message : String(e) }, 'dispatch failed');
      decide({ error: { code: 'INTERNAL', message: 'internal error' } });
    };
    try {
      const d = opts.dispatch(req);
      if (d instanceof Promise) void d.then(decide, onDispatchError);
      else decide(d);
    } catch (e) {
      onDispatchError(e);
    }
  });

  // Socket-level failures: no request object exists; answer with a raw JSON error if
  // nothing of a response was sent yet on this socket (as node's default handler does).
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const inFlightMsg = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    let code: ErrorCode | undefined;
    let message = '';
    switch (err.code) {
      case 'HPE_HEADER_OVERFLOW':
        code = 'PROXY_HEADERS_TOO_LARGE';
        message = `request head exceeds ${lim.maxHeaderBytes} bytes`;
        break;
      case 'ERR_HTTP_REQUEST_TIMEOUT':
        code = 'PROXY_REQUEST_TIMEOUT';
        message = `request not received in time (head within ${lim.headersMs} ms, whole request within ${lim.requestMs} ms)`;
        break;
      case 'ECONNRESET':
      case 'EPIPE':
        break;
      default:
        code = 'PROXY_REQUEST_MALFORMED';
        message = `malformed HTTP request (${err.code ?? 'parse error'})`;
    }
    if (code) log?.info({ code, remote: socket.remoteAddress }, 'client error');
    if (code && socket.writable && (!inFlightMsg || !inFlightMsg.headersSent)) socket.end(rawError(code, message));
    socket.destroy();
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
    log?.debug({ code: err.code }, 'TLS handshake failed');
  });

  let currentCert = tlsMaterial.cert.toString();
  let currentClientCa = opts.clientCa;
  return {
    server,
    enclave,
    get certificate() {
      return currentCert;
    },
    setTls(tls, clientCa) {
      checkTlsCredentials(tls.cert, tls.key);
      if (clientCa !== undefined) {
        if (!currentClientCa) throw new VeriteeError('INPUT_INVALID', 'client certificates were not asked for at start: a client CA cannot be added without a restart');
        currentClientCa = clientCa;
      }
      server.setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.3', ...(currentClientCa ? { ca: currentClientCa } : {}) });
      currentCert = tls.cert.toString();
    },
    get inFlight() {
      return inFlight;
    },
    listen(port = 8443, host = '0.0.0.0') {
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, host, port)));
        // A deep accept queue: a burst of 1,000+ new TLS connections must not overflow it.
        server.listen({ port, host, backlog: 4096 }, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          log?.info({ host: opts.host, listen: `${a.address}:${a.port}`, upstream: upstreamLabel, platform: enclave.provider.platform, simulated: enclave.provider.simulated, enclaveKey: enclave.keyId }, 'proxy listening');
          resolve(a);
        });
      });
    },
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        log?.info({ inFlight }, 'shutting down: finishing in-flight requests');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, lim.shutdownMs);
          timer.unref();
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      // Connections that just finished their last response are idle now: close them
      // politely, give the rest a moment, then cut what remains.
      server.closeIdleConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1000).unref())]);
      server.closeAllConnections();
      await closed;
      agent.destroy();
      log?.info('proxy stopped');
    },
  };
}

/** A fresh random 32-byte nonce, hex. */
export function randomNonceHex(): string {
  return randomBytes(32).toString('hex');
}
