/**
 * @module router/protocol
 * The wire protocol of the market router (`veritee.market.router/v1`): what a sealed
 * prover attests, how a client seals its inputs to one prover, and what the prover signs
 * about its result. Client and prover both build every bound byte here, so the two sides
 * cannot drift apart.
 *
 * KEYS (one set per sealed prover process, made inside its TEE at start-up, never exported):
 *   - an HPKE key (RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) that
 *     opens sealed inputs;
 *   - an ECDSA P-256 key (ES256, IEEE P1363 r||s) that signs results.
 *
 *   keyDoc  = { v: "veritee.market.router.keys/v1", backendId, hpke: { kem, kdf, aead, publicKey }, sign: { alg, spki } }
 *   keyHash = SHA-256( canonicalJson(keyDoc) )                          (32 bytes)
 *   evidence report_data = computeReportData({ publicKeyHash: keyHash, nonce })   (@veritee/attestation)
 *
 * So one piece of evidence binds both keys, the prover's own backend id and the client's
 * fresh nonce.
 *
 * SEALED INPUT (client -> router -> prover):
 *   info = "veritee.market.router/v1"
 *   aad  = canonicalJson({ v: "veritee.market.router.input/v1", backendId, keyHash, requestId, issuedAt })
 *   { backendId, keyHash, requestId, issuedAt, enc, ct }   enc, ct: base64url; requestId: 32 hex (client-chosen,
 *   random); issuedAt: the client's time, ms since the epoch
 * The prover opens it only if backendId and keyHash are its own, issuedAt is within its replay
 * window of its own clock, and only once per requestId (ids are remembered for the window).
 *
 * SEALED RESULT (prover -> router -> client):
 *   resultKey = HPKE export(context = "veritee.market.router.result/v1", 32 bytes)
 *   body      = AES-256-GCM(resultKey, iv, plaintext = JSON result, aad = the input aad)
 *   signature = ES256 over resultMessage(): domain, backendId, keyHash, requestId,
 *               SHA-256(enc || ct) of the sealed input, SHA-256 of the result plaintext.
 * Only the client (which holds the HPKE sender context) can read the result; the signature
 * makes it transferable: anyone with the verified key document can check that this TEE
 * answered this very request.
 *
 * THREAT MODEL: the router is untrusted. It may lie in the directory, send a request to
 * any prover, replay it, or alter a result. Everything the client relies on comes from
 * evidence it verified itself with its own nonce and policy; the router only carries
 * ciphertext. A router can always refuse service (the client then fails closed).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, utf8, VeriteeError } from '@veritee/core';
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';

export const ROUTER_PROTOCOL = 'veritee.market.router/v1';
export const KEYS_DOMAIN = 'veritee.market.router.keys/v1';
export const INPUT_DOMAIN = 'veritee.market.router.input/v1';
export const RESULT_DOMAIN = 'veritee.market.router.result/v1';
/** HPKE `info` of every sealed input. */
export const HPKE_INFO = utf8(ROUTER_PROTOCOL);
/** HPKE exporter context of the result key. */
export const RESULT_EXPORT_CONTEXT = utf8(RESULT_DOMAIN);
export const HPKE_SUITE_NAMES = { kem: 'DHKEM(X25519, HKDF-SHA256)', kdf: 'HKDF-SHA256', aead: 'AES-256-GCM' } as const;

/** Largest sealed-input or sealed-result body the router and the provers accept (12 MiB: 8 MiB of JSON inputs, base64url). */
export const MAX_SEALED_BYTES = 12 * 1024 * 1024;
/** Largest directory document a client reads. */
export const MAX_DIRECTORY_BYTES = 4 * 1024 * 1024;

/** The HPKE suite (RFC 9180 ids 0x0020 / 0x0001 / 0x0002). */
export function hpkeSuite(): CipherSuite {
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
}

const B64URL = /^[A-Za-z0-9_-]+$/;
export const BACKEND_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const b64 = (max: number) => z.string().min(1).max(max).regex(B64URL, 'must be base64url');
const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `must be ${bytes * 2} lowercase hex digits`);

export const KeyDocSchema = z.strictObject({
  v: z.literal(KEYS_DOMAIN),
  backendId: z.string().regex(BACKEND_ID, 'backend id: lowercase letters, digits, . _ - (max 63)'),
  hpke: z.strictObject({ kem: z.literal(HPKE_SUITE_NAMES.kem), kdf: z.literal(HPKE_SUITE_NAMES.kdf), aead: z.literal(HPKE_SUITE_NAMES.aead), publicKey: b64(64) }),
  sign: z.strictObject({ alg: z.literal('ES256'), spki: b64(256) }),
});
export type KeyDoc = z.infer<typeof KeyDocSchema>;

/** What a sealed prover answers to `POST /v1/attest {nonce}`. */
export const AttestAnswerSchema = z.strictObject({
  keys: KeyDocSchema,
  /** Evidence envelope, base64url of its JSON (an `Attestation-Report` value). */
  evidence: z.string().min(1).max(1_500_000),
  /** Only from a simulated TEE: its (untrusted) anchors. */
  simulatedAnchors: z.record(z.string(), z.unknown()).optional(),
});
export type AttestAnswer = z.infer<typeof AttestAnswerSchema>;

/** One backend as the router lists it. The router's word is not trusted for anything but routing. */
export const DirectoryEntrySchema = z.strictObject({
  id: z.string().regex(BACKEND_ID),
  /** Unfinished sealed requests at the backend (queued + running), as the router last saw it. */
  load: z.number().int().nonnegative().max(1_000_000).optional(),
  attestation: AttestAnswerSchema.optional(),
  /** Why the router could not get the backend's attestation. */
  error: z.strictObject({ code: z.string().max(64), message: z.string().max(500) }).optional(),
});
export type DirectoryEntry = z.infer<typeof DirectoryEntrySchema>;
export const DirectorySchema = z.strictObject({ version: z.literal(ROUTER_PROTOCOL), nonce: hex(32), backends: z.array(DirectoryEntrySchema).max(256) });
export type Directory = z.infer<typeof DirectorySchema>;

export const SealedInputSchema = z.strictObject({
  backendId: z.string().regex(BACKEND_ID),
  keyHash: hex(32),
  requestId: hex(16),
  issuedAt: z.number().int().nonnegative().max(8_640_000_000_000_000),
  enc: b64(64),
  ct: b64(MAX_SEALED_BYTES),
});
export type SealedInput = z.infer<typeof SealedInputSchema>;

export const SealedResultSchema = z.strictObject({
  backendId: z.string().regex(BACKEND_ID),
  keyHash: hex(32),
  requestId: hex(16),
  iv: b64(16),
  ct: b64(MAX_SEALED_BYTES),
  /** ES256 r||s, base64url, over resultMessage(). */
  signature: b64(128),
});
export type SealedResult = z.infer<typeof SealedResultSchema>;

/** The plaintext of a sealed result: a proof bundle, or the prover's refusal. */
export type ResultPlaintext = { ok: true; bundle: unknown; timings?: unknown } | { ok: false; error: { code: string; message: string } };

export function sha256Hex(...parts: (Uint8Array | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** SHA-256 of the canonical key document (hex): the `publicKeyHash` bound into evidence. */
export function keyHashOf(doc: KeyDoc): string {
  return sha256Hex(canonicalJson(doc));
}

/** The AEAD associated data of a sealed input (also of its sealed result). */
export function inputAad(f: { backendId: string; keyHash: string; requestId: string; issuedAt: number }): Uint8Array {
  return utf8(canonicalJson({ v: INPUT_DOMAIN, backendId: f.backendId, keyHash: f.keyHash, requestId: f.requestId, issuedAt: f.issuedAt }));
}

export interface ResultFacts {
  backendId: string;
  keyHash: string;
  requestId: string;
  /** SHA-256(enc || ct) of the sealed input, hex. */
  inputSha256: string;
  /** SHA-256 of the result plaintext, hex. */
  resultSha256: string;
}

/** `veritee.market.router.result/v1 \n backendId \n keyHash \n requestId \n input-sha256 \n result-sha256`. */
export function resultMessage(f: ResultFacts): Buffer {
  for (const [k, v] of Object.entries(f)) {
    if (typeof v !== 'string' || v.length === 0 || v.length > 128 || /[\s]/.test(v)) throw new VeriteeError('INPUT_INVALID', `result message field ${k} is malformed`);
  }
  return Buffer.from([RESULT_DOMAIN, f.backendId, f.keyHash, f.requestId, f.inputSha256, f.resultSha256].join('\n'), 'utf8');
}

/** SHA-256(enc || ct) over the decoded bytes of a sealed input. */
export function sealedInputDigest(s: { enc: string; ct: string }): string {
  return sha256Hex(Buffer.from(s.enc, 'base64url'), Buffer.from(s.ct, 'base64url'));
}

/** First issue of a zod failure, as `path: message`. */
export function firstIssue(e: z.ZodError): string {
  const i = e.issues[0]!;
  const where = i.path.join('.') || '(body)';
  return i.code === 'unrecognized_keys' ? `${where}: unknown key(s) ${i.keys.join(', ')}` : `${where}: ${i.message}`;
}
