/**
 * @module encapsulate
 * RFC 9458 §4: Encapsulated Requests and Responses.
 *
 * ```
 * Encapsulated Request  { Key Identifier (8), KEM ID (16), KDF ID (16), AEAD ID (16),
 *                         Encapsulated KEM Shared Secret (8 * Nenc), AEAD-Protected Request (..) }
 * Encapsulated Response { Nonce (8 * max(Nn, Nk)), AEAD-Protected Response (..) }
 *
 * hdr  = keyID || kemID || kdfID || aeadID                 (7 bytes)
 * info = "message/bhttp request" || 0x00 || hdr
 * enc, sctxt = SetupBaseS(pkR, info);  ct = sctxt.Seal("", request)
 * secret = context.Export("message/bhttp response", max(Nn, Nk))
 * salt = enc || response_nonce;  prk = Extract(salt, secret)
 * key = Expand(prk, "key", Nk);  nonce = Expand(prk, "nonce", Nn)
 * ```
 *
 * The client's {@link encapsulate} returns `{ request, responseContext }`; only the
 * response context can open the reply, and opening uses it up. The gateway's
 * {@link decapsulate} returns the request and a {@link ServerResponseContext} that seals
 * exactly one response.
 *
 * Test vectors need determinism: `ephemeralPrivateKey` (client) and `responseNonce`
 * (gateway) inject the RFC's values. Reusing either in production would link requests
 * or expose responses; the names say so and nothing else sets them.
 *
 * INVARIANT: errors before the request is decrypted (truncation, unknown key, suite,
 * AEAD failure) are distinct codes from errors after it, so the gateway can answer the
 * former unencapsulated and the latter encapsulated (RFC 9458 §5.2).
 */
import { randomBytes } from 'node:crypto';
import { concatBytes, utf8, VeriteeError } from '@veritee/core';
import {
  AEADS,
  aeadOpen,
  aeadSeal,
  hkdfExpand,
  hkdfExtract,
  hpkeSuite,
  KEMS,
  suiteName,
  x25519PrivateKey,
  x25519PublicFromPrivate,
  type AeadInfo,
  type HpkeBackend,
} from './hpke.js';
import { selectSuite, type GatewayKey, type KeyConfig } from './keyconfig.js';

export const OHTTP_REQUEST_MEDIA_TYPE = 'message/ohttp-req';
export const OHTTP_RESPONSE_MEDIA_TYPE = 'message/ohttp-res';

/** Labels binding the encapsulation to its content type (RFC 9458 §4.6 lets other protocols change them). */
export interface Labels {
  request: string;
  response: string;
}
export const BHTTP_LABELS: Labels = Object.freeze({ request: 'message/bhttp request', response: 'message/bhttp response' });

/** Size of hdr: key ID (1) + KEM (2) + KDF (2) + AEAD (2). */
export const REQUEST_HEADER_BYTES = 7;

const LABEL_KEY = utf8('key');
const LABEL_NONCE = utf8('nonce');

const labelCache = new Map<string, Uint8Array>();
function labelBytes(s: string): Uint8Array {
  let b = labelCache.get(s);
  if (b === undefined) {
    b = utf8(s);
    labelCache.set(s, b);
  }
  return b;
}

function header(keyId: number, kemId: number, kdfId: number, aeadId: number): Uint8Array {
  return new Uint8Array([keyId, kemId >> 8, kemId & 0xff, kdfId >> 8, kdfId & 0xff, aeadId >> 8, aeadId & 0xff]);
}

function infoFor(label: string, hdr: Uint8Array): Uint8Array {
  return concatBytes(labelBytes(label), new Uint8Array([0]), hdr);
}

function secretLength(aead: AeadInfo): number {
  return Math.max(aead.nonceBytes, aead.keyBytes);
}

/** RFC 9458 §4.4 steps 3-5: the response AEAD key and nonce. */
function responseKeys(aead: AeadInfo, secret: Uint8Array, enc: Uint8Array, responseNonce: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const prk = hkdfExtract(concatBytes(enc, responseNonce), secret);
  return { key: hkdfExpand(prk, LABEL_KEY, aead.keyBytes), nonce: hkdfExpand(prk, LABEL_NONCE, aead.nonceBytes) };
}

// ---- client ---------------------------------------------------------------------------------------------

/** Imported gateway public keys, per configuration object and backend (import costs more than the DH). */
const recipientKeys = new WeakMap<KeyConfig, Map<HpkeBackend, CryptoKey>>();

async function recipientKey(config: KeyConfig, suite: ReturnType<typeof hpkeSuite>, backend: HpkeBackend): Promise<CryptoKey> {
  let perBackend = recipientKeys.get(config);
  if (perBackend === undefined) {
    perBackend = new Map();
    recipientKeys.set(config, perBackend);
  }
  let k = perBackend.get(backend);
  if (k === undefined) {
    k = await suite.kem.deserializePublicKey(config.publicKey);
    perBackend.set(backend, k);
  }
  return k;
}

export interface EncapsulateOptions {
  /** AEAD preference when a configuration offers several (default AES-128-GCM, ChaCha20-Poly1305, AES-256-GCM). */
  aeadPreference?: readonly number[];
  /** HPKE primitives (default `node`). */
  backend?: HpkeBackend;
  labels?: Labels;
  /**
   * TEST VECTORS ONLY: the client's ephemeral X25519 private key (32 bytes). A fixed
   * value makes every request linkable and decryptable by anyone who knows it.
   */
  ephemeralPrivateKey?: Uint8Array;
}

/** What the client keeps to open the one response to its request. Single use. */
export class ClientResponseContext {
  #secret: Uint8Array | undefined;
  constructor(
    secret: Uint8Array,
    readonly enc: Uint8Array,
    readonly aead: AeadInfo,
    readonly labels: Labels,
  ) {
    this.#secret = secret;
  }

  /** True once {@link open} has been called. */
  get used(): boolean {
    return this.#secret === undefined;
  }

  /**
   * Opens an Encapsulated Response (RFC 9458 §4.4), returning the binary HTTP response.
   * Throws OHTTP_RESPONSE_INVALID (truncated / reused) or OHTTP_DECRYPT_FAILED.
   */
  open(encResponse: Uint8Array): Uint8Array {
    const secret = this.#secret;
    if (secret === undefined) throw new VeriteeError('OHTTP_RESPONSE_INVALID', 'this response context was already used to open a response');
    this.#secret = undefined;
    const nlen = secretLength(this.aead);
    // Encapsulated Response: response_nonce (max(Nn, Nk) bytes) then ciphertext with its tag.
    if (encResponse.length < nlen + this.aead.tagBytes) {
      throw new VeriteeError(
        'OHTTP_RESPONSE_INVALID',
        `encapsulated response is ${encResponse.length} bytes; at least ${nlen + this.aead.tagBytes} (nonce ${nlen} + tag ${this.aead.tagBytes}) expected`,
      );
    }
    const { key, nonce } = responseKeys(this.aead, secret, this.enc, encResponse.subarray(0, nlen));
    secret.fill(0);
    try {
      return aeadOpen(this.aead, key, nonce, encResponse.subarray(nlen));
    } catch {
      throw new VeriteeError('OHTTP_DECRYPT_FAILED', `encapsulated response does not decrypt with ${this.aead.name} (tampered, or not the answer to this request)`);
    } finally {
      key.fill(0);
    }
  }
}

export interface EncapsulatedRequest {
  /** The `message/ohttp-req` body. */
  request: Uint8Array;
  /** The only thing that can open the response. */
  responseContext: ClientResponseContext;
  keyId: number;
  kdfId: number;
  aeadId: number;
}

/**
 * Encapsulates a binary HTTP request for a gateway (RFC 9458 §4.3).
 *
 * @example
 * const { request, responseContext } = await encapsulate(keyConfigs, encodeRequest(req));
 * const res = await post(relayUrl, request);            // message/ohttp-req -> message/ohttp-res
 * const bhttpResponse = responseContext.open(res);
 */
export async function encapsulate(configs: KeyConfig | readonly KeyConfig[], message: Uint8Array, opts: EncapsulateOptions = {}): Promise<EncapsulatedRequest> {
  const { config, kdfId, aeadId } = selectSuite(configs, opts.aeadPreference);
  const labels = opts.labels ?? BHTTP_LABELS;
  const backend = opts.backend ?? 'node';
  const suite = hpkeSuite(config.kemId, kdfId, aeadId, backend);
  const aead = AEADS.get(aeadId)!;
  // 1. hdr, 2. info
  const hdr = header(config.keyId, config.kemId, kdfId, aeadId);
  const info = infoFor(labels.request, hdr);
  // 3. SetupBaseS(pkR, info)
  const recipientPublicKey = await recipientKey(config, suite, backend);
  let ekm: CryptoKeyPair | undefined;
  if (opts.ephemeralPrivateKey !== undefined) {
    const sk = backend === 'node' ? x25519PrivateKey(opts.ephemeralPrivateKey) : await suite.kem.deserializePrivateKey(opts.ephemeralPrivateKey);
    const pk = await suite.kem.deserializePublicKey(x25519PublicFromPrivate(opts.ephemeralPrivateKey));
    ekm = { privateKey: sk, publicKey: pk };
  }
  const sctxt = await suite.createSenderContext({ recipientPublicKey, info, ...(ekm ? { ekm } : {}) });
  // 4. Seal with empty aad
  const ct = new Uint8Array(await sctxt.seal(message));
  const enc = new Uint8Array(sctxt.enc);
  // the response secret, exported now so the HPKE context can be dropped
  const secret = new Uint8Array(await sctxt.export(labelBytes(labels.response), secretLength(aead)));
  // 5. hdr || enc || ct
  return {
    request: concatBytes(hdr, enc, ct),
    responseContext: new ClientResponseContext(secret, enc, aead, labels),
    keyId: config.keyId,
    kdfId,
    aeadId,
  };
}

// ---- gateway --------------------------------------------------------------------------------------------

/** Where the gateway finds a key by ID (KeyStore implements it). */
export interface KeyLookup {
  readonly backend?: HpkeBackend;
  lookup(keyId: number): GatewayKey | undefined;
}

export interface SealOptions {
  /**
   * TEST VECTORS ONLY: the response nonce (max(Nn, Nk) bytes). A repeated nonce with
   * the same request reuses the AEAD key and nonce.
   */
  responseNonce?: Uint8Array;
}

/** Response nonces come from a pooled CSPRNG buffer (one RAND_bytes call per 4 KiB); each byte is used once. */
let noncePool = new Uint8Array(0);
let noncePoolOffset = 0;
function randomNonce(n: number): Uint8Array {
  if (noncePoolOffset + n > noncePool.length) {
    noncePool = new Uint8Array(randomBytes(4096));
    noncePoolOffset = 0;
  }
  const out = noncePool.slice(noncePoolOffset, noncePoolOffset + n);
  noncePool.fill(0, noncePoolOffset, noncePoolOffset + n);
  noncePoolOffset += n;
  return out;
}

/** What the gateway keeps to encapsulate the one response to a request. Single use. */
export class ServerResponseContext {
  #secret: Uint8Array | undefined;
  constructor(
    secret: Uint8Array,
    readonly enc: Uint8Array,
    readonly aead: AeadInfo,
  ) {
    this.#secret = secret;
  }

  get used(): boolean {
    return this.#secret === undefined;
  }

  /** Encapsulates a binary HTTP response (RFC 9458 §4.4): response_nonce || ct. */
  seal(response: Uint8Array, opts: SealOptions = {}): Uint8Array {
    const secret = this.#secret;
    if (secret === undefined) throw new VeriteeError('INTERNAL', 'this response context already sealed a response');
    this.#secret = undefined;
    const nlen = secretLength(this.aead);
    const responseNonce = opts.responseNonce ?? randomNonce(nlen);
    if (responseNonce.length !== nlen) throw new VeriteeError('INPUT_INVALID', `response nonce must be ${nlen} bytes, got ${responseNonce.length}`);
    const { key, nonce } = responseKeys(this.aead, secret, this.enc, responseNonce);
    secret.fill(0);
    const ct = aeadSeal(this.aead, key, nonce, response);
    key.fill(0);
    return concatBytes(responseNonce, ct);
  }
}

export interface DecapsulatedRequest {
  /** The binary HTTP request. */
  request: Uint8Array;
  responseContext: ServerResponseContext;
  keyId: number;
  kemId: number;
  kdfId: number;
  aeadId: number;
}

export interface DecapsulateOptions {
  labels?: Labels;
}

/**
 * Decapsulates an Encapsulated Request (RFC 9458 §4.3). Every error it throws happens
 * before the request is decrypted (an "outer" error):
 *
 * | failure | code |
 * |---|---|
 * | shorter than hdr + enc + AEAD tag | OHTTP_REQUEST_INVALID |
 * | key ID unknown or past its grace period; KEM differs from the key's | OHTTP_KEY_UNKNOWN |
 * | KDF/AEAD not offered by that key | OHTTP_SUITE_UNSUPPORTED |
 * | AEAD open fails (tampered, wrong key) | OHTTP_DECRYPT_FAILED |
 */
export async function decapsulate(keys: KeyLookup, encRequest: Uint8Array, opts: DecapsulateOptions = {}): Promise<DecapsulatedRequest> {
  const labels = opts.labels ?? BHTTP_LABELS;
  // 1. parse hdr: key ID at byte 0, KEM ID at 1-2, KDF ID at 3-4, AEAD ID at 5-6
  if (encRequest.length < REQUEST_HEADER_BYTES) {
    throw new VeriteeError('OHTTP_REQUEST_INVALID', `encapsulated request is ${encRequest.length} bytes, shorter than its ${REQUEST_HEADER_BYTES}-byte header`);
  }
  const keyId = encRequest[0]!;
  const kemId = (encRequest[1]! << 8) | encRequest[2]!;
  const kdfId = (encRequest[3]! << 8) | encRequest[4]!;
  const aeadId = (encRequest[5]! << 8) | encRequest[6]!;
  // 1a. a key with this ID whose KEM matches
  const key = keys.lookup(keyId);
  if (key === undefined) throw new VeriteeError('OHTTP_KEY_UNKNOWN', `key ID ${keyId} is unknown (never issued, or past its grace period)`);
  if (key.config.kemId !== kemId) {
    throw new VeriteeError('OHTTP_KEY_UNKNOWN', `key ID ${keyId} is a ${KEMS.get(key.config.kemId)?.name ?? 'different KEM'} key, the request names KEM 0x${kemId.toString(16).padStart(4, '0')}`);
  }
  // 1b. a KDF/AEAD combination this key offers
  if (!key.config.symmetric.some((s) => s.kdfId === kdfId && s.aeadId === aeadId)) {
    throw new VeriteeError('OHTTP_SUITE_UNSUPPORTED', `key ID ${keyId} does not offer ${suiteName(kemId, kdfId, aeadId)}`);
  }
  const kem = KEMS.get(kemId)!;
  const aead = AEADS.get(aeadId)!;
  // enc follows hdr (Nenc bytes), then the AEAD ciphertext with its tag
  const minimum = REQUEST_HEADER_BYTES + kem.encBytes + aead.tagBytes;
  if (encRequest.length < minimum) {
    throw new VeriteeError(
      'OHTTP_REQUEST_INVALID',
      `encapsulated request is ${encRequest.length} bytes; at least ${minimum} expected (header ${REQUEST_HEADER_BYTES} + enc ${kem.encBytes} + tag ${aead.tagBytes})`,
    );
  }
  const hdr = encRequest.subarray(0, REQUEST_HEADER_BYTES);
  const enc = encRequest.slice(REQUEST_HEADER_BYTES, REQUEST_HEADER_BYTES + kem.encBytes);
  const ct = encRequest.subarray(REQUEST_HEADER_BYTES + kem.encBytes);
  // 2. info, 3. SetupBaseR, 4. Open
  const suite = hpkeSuite(kemId, kdfId, aeadId, keys.backend ?? 'node');
  let request: Uint8Array;
  let secret: Uint8Array;
  try {
    const rctxt = await suite.createRecipientContext({ recipientKey: key.keyPair, enc, info: infoFor(labels.request, hdr) });
    request = new Uint8Array(await rctxt.open(ct));
    secret = new Uint8Array(await rctxt.export(labelBytes(labels.response), secretLength(aead)));
  } catch {
    throw new VeriteeError('OHTTP_DECRYPT_FAILED', `encapsulated request for key ID ${keyId} does not decrypt with ${suiteName(kemId, kdfId, aeadId)}`);
  }
  return { request, responseContext: new ServerResponseContext(secret, enc, aead), keyId, kemId, kdfId, aeadId };
}
