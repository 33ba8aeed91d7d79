/**
 * @module protocol
 * The wire protocol of the attesting proxy (`veritee.proxy/v1`): the session binding
 * and the per-response signature. Both sides build the signed bytes here, so they
 * cannot drift apart.
 *
 * SESSION BINDING (RFC 5705 exported keying material over TLS 1.3, as RFC 9266's
 * tls-exporter does, with a veritee label):
 *
 *   exporter = TLS-Exporter(label = "EXPORTER-veritee-attestation", context = "", length = 32)
 *
 *   client -> proxy   POST /.well-known/veritee/attest   {"nonce": "<64 hex>"}
 *   proxy  -> client  {"version", "evidence" (envelope, base64url), "enclaveKey" {alg, spki},
 *                      "signature" (base64url), "simulatedAnchors"? }
 *
 *   evidence report_data = computeReportData({ publicKeyHash: SHA-256(SPKI), nonce })
 *   signature            = ES256 (ECDSA P-256, SHA-256, IEEE P1363 r||s) by the enclave key over
 *                          the UTF-8 bytes of bindingMessage() below.
 *
 * RESPONSE SIGNATURE (header or trailer `Veritee-Signature`, on the responses to requests that
 * carry `Veritee-Sign: 1`, or on every response of a proxy set to sign always):
 *   ES256 by the enclave key over the UTF-8 bytes of responseMessage() below.
 *   On a connection whose binding the client verified, the TLS session already
 *   authenticates the enclave: the signature buys a transferable proof (a third party can
 *   check it with the binding transcript), not channel security, so it is on request.
 *
 * EVIDENCE ONCE PER CONNECTION: the binding response (and the first response of a connection
 * that never bound) carries the evidence in `Attestation-Report`; later responses carry only
 * `Attestation-Report-Ref: evidenceRef(exporter, evidence)`, which names the evidence of THIS
 * connection (a reference from another connection never matches). A request with
 * `Veritee-Evidence: full` gets the full evidence again.
 *
 * Every message is a fixed sequence of fields joined by "\n" (0x0a), no trailing newline.
 * No field can contain "\n": hex digits, a decimal status, an HTTP method token and a
 * request target (HTTP parsers refuse control characters in both).
 *
 * THREAT MODEL: a man in the middle terminates the client's TLS session and opens its own
 * to the proxy. The two sessions have different exporter values; the enclave key signs
 * only the exporter of the session it terminates, and the client compares the signed
 * value with the one it computes on its own session. The evidence binds the enclave key
 * and the client's fresh nonce, so old evidence cannot be replayed.
 */
import { createHash } from 'node:crypto';
import { VeriteeError } from '@veritee/core';

/** Protocol identifier. */
export const PROTOCOL = 'veritee.proxy/v1';
/** Path of the session-binding endpoint (POST). */
export const ATTEST_PATH = '/.well-known/veritee/attest';
/** RFC 5705 label of the exporter used for the binding. */
export const EXPORTER_LABEL = 'EXPORTER-veritee-attestation';
/** Length of the exported keying material, bytes. */
export const EXPORTER_BYTES = 32;
/** Domain tag of the binding message. */
export const BINDING_DOMAIN = 'veritee.proxy.binding/v1';
/** Domain tag of the response message. */
export const RESPONSE_DOMAIN = 'veritee.proxy.response/v1';
/** The signature algorithm (JOSE name): ECDSA P-256 with SHA-256, signature as r||s (64 bytes). */
export const SIGNATURE_ALG = 'ES256';
/** Header carrying the evidence envelope, base64url (JSON). */
export const ATTESTATION_HEADER = 'attestation-report';
/** Header (or trailer) carrying the enclave signature of a response. */
export const SIGNATURE_HEADER = 'veritee-signature';
/** Response header naming the evidence of the connection (evidenceRef) instead of repeating it. */
export const EVIDENCE_REF_HEADER = 'attestation-report-ref';
/** Request header asking for a signed (transferable) response; value `1`. */
export const SIGN_REQUEST_HEADER = 'veritee-sign';
/** Request header asking for the full evidence on this response; value `full`. */
export const EVIDENCE_REQUEST_HEADER = 'veritee-evidence';
/** Domain tag of the evidence reference. */
export const EVIDENCE_REF_DOMAIN = 'veritee.proxy.evidence-ref/v1';
/** `req` value when the proxy stopped reading the request body (413 only). */
export const INCOMPLETE_BODY = 'incomplete';

const HEX64 = /^[0-9a-f]{64}$/;

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function need32(b: Uint8Array, what: string): string {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new VeriteeError('INPUT_INVALID', `${what} must be 32 bytes`);
  return hex(b);
}

/**
 * The bytes the enclave key signs to bind a TLS session:
 * `veritee.proxy.binding/v1 \n hex(exporter) \n hex(nonce) \n hex(SHA-256(SPKI))`.
 */
export function bindingMessage(exporter: Uint8Array, nonce: Uint8Array, publicKeyHash: Uint8Array): Buffer {
  return Buffer.from([BINDING_DOMAIN, need32(exporter, 'exporter'), need32(nonce, 'nonce'), need32(publicKeyHash, 'publicKeyHash')].join('\n'), 'utf8');
}

export interface ResponseFacts {
  /** The exporter value of the TLS session that carried the exchange. */
  exporter: Uint8Array;
  /** Request method, as sent (upper case). */
  method: string;
  /** Request target as sent: path and query (origin form). */
  target: string;
  /** SHA-256 of the request body (lowercase hex), or `incomplete` (413 only). */
  requestBodySha256: string;
  status: number;
  /** SHA-256 of the response body (lowercase hex). */
  responseBodySha256: string;
}

/**
 * The bytes the enclave key signs for every response:
 * `veritee.proxy.response/v1 \n hex(exporter) \n METHOD \n target \n req-sha256 \n status \n res-sha256`.
 */
export function responseMessage(f: ResponseFacts): Buffer {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(f.method)) throw new VeriteeError('INPUT_INVALID', `HTTP method "${f.method.slice(0, 20)}" is not a token`);
  if (/[\x00-\x20\x7f]/.test(f.target)) throw new VeriteeError('INPUT_INVALID', 'request target contains a control character or space');
  if (!HEX64.test(f.requestBodySha256) && f.requestBodySha256 !== INCOMPLETE_BODY) throw new VeriteeError('INPUT_INVALID', 'request body hash must be 64 hex digits');
  if (!HEX64.test(f.responseBodySha256)) throw new VeriteeError('INPUT_INVALID', 'response body hash must be 64 hex digits');
  if (!Number.isInteger(f.status) || f.status < 100 || f.status > 999) throw new VeriteeError('INPUT_INVALID', `status ${f.status} is not an HTTP status`);
  return Buffer.from(
    [RESPONSE_DOMAIN, need32(f.exporter, 'exporter'), f.method, f.target, f.requestBodySha256, String(f.status), f.responseBodySha256].join('\n'),
    'utf8',
  );
}

/**
 * The `Attestation-Report-Ref` of a connection: lowercase hex SHA-256 of
 * `veritee.proxy.evidence-ref/v1 \n hex(exporter) \n hex(SHA-256(evidence header value, UTF-8))`.
 * It names both the evidence and the TLS session, so it cannot be carried to another connection.
 */
export function evidenceRef(exporter: Uint8Array, evidence: string): string {
  const evidenceHash = createHash('sha256').update(evidence, 'utf8').digest('hex');
  return createHash('sha256').update(`${EVIDENCE_REF_DOMAIN}\n${need32(exporter, 'exporter')}\n${evidenceHash}`, 'utf8').digest('hex');
}

/** The parsed `Veritee-Signature` value. */
export interface SignatureHeader {
  /** Protocol version (1). */
  v: number;
  alg: string;
  /** First 16 hex digits of SHA-256(SPKI) of the signing key (a hint; the session key is authoritative). */
  key: string;
  /** Request body hash the proxy saw (hex) or `incomplete`. */
  req: string;
  /** Response body hash the proxy signed (hex). */
  res: string;
  /** base64url of the 64-byte r||s signature. */
  sig: string;
}

/** `v=1, alg=ES256, key=<16 hex>, req=<hex|incomplete>, res=<hex>, sig=<base64url>` */
export function formatSignatureHeader(h: Omit<SignatureHeader, 'v' | 'alg'>): string {
  return `v=1, alg=${SIGNATURE_ALG}, key=${h.key}, req=${h.req}, res=${h.res}, sig=${h.sig}`;
}

/** Parses a `Veritee-Signature` value; throws PROXY_RESPONSE_SIGNATURE_INVALID naming the bad part. */
export function parseSignatureHeader(value: string): SignatureHeader {
  const bad = (why: string) => new VeriteeError('PROXY_RESPONSE_SIGNATURE_INVALID', `Veritee-Signature is malformed: ${why}`);
  if (typeof value !== 'string' || value.length > 1024) throw bad('missing or longer than 1024 characters');
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const m = /^\s*([a-z]+)=([A-Za-z0-9_-]+)\s*$/.exec(part);
    if (!m) throw bad(`cannot read "${part.trim().slice(0, 40)}"`);
    if (fields.has(m[1]!)) throw bad(`duplicate field ${m[1]}`);
    fields.set(m[1]!, m[2]!);
  }
  const get = (k: string) => {
    const v = fields.get(k);
    if (v === undefined) throw bad(`field ${k} is missing`);
    return v;
  };
  const h: SignatureHeader = { v: Number(get('v')), alg: get('alg'), key: get('key'), req: get('req'), res: get('res'), sig: get('sig') };
  if (h.v !== 1) throw bad(`version ${get('v')} is not supported (this client reads v=1)`);
  if (h.alg !== SIGNATURE_ALG) throw bad(`algorithm ${h.alg} is not ${SIGNATURE_ALG}`);
  if (!/^[0-9a-f]{16}$/.test(h.key)) throw bad('key must be 16 hex digits');
  if (!HEX64.test(h.req) && h.req !== INCOMPLETE_BODY) throw bad('req must be a SHA-256 hex digest');
  if (!HEX64.test(h.res)) throw bad('res must be a SHA-256 hex digest');
  return h;
}

/** The JSON body of a binding response. */
export interface BindingResponse {
  version: typeof BINDING_DOMAIN;
  /** Evidence envelope, base64url of its JSON (the same string as the Attestation-Report header). */
  evidence: string;
  enclaveKey: { alg: typeof SIGNATURE_ALG; spki: string };
  /** base64url r||s over bindingMessage(exporter, nonce, SHA-256(spki)). */
  signature: string;
  /** Only from a simulated TEE: its (untrusted) test anchors, see the client's `allowSimulated`. */
  simulatedAnchors?: Record<string, unknown>;
}
