/**
 * @module router/client
 * `routedProve(routerUrl, policy, input)`: prove through an untrusted router, end to end
 * with a prover TEE the client verified itself.
 *
 *   1. a fresh 32-byte nonce -> `GET /v1/directory?nonce=` at the router;
 *   2. every entry checked here: the evidence against the caller's policy, at the caller's
 *      time, with report data = H(SHA-256(key document), our nonce), and the key document's
 *      backend id equal to the entry's; entries that fail are set aside with their code;
 *   3. the least loaded verified backend (ties: the smallest id) is chosen;
 *   4. the input sealed with HPKE to that backend's attested key, the AEAD associated data
 *      binding (backend id, key hash, a fresh random request id, the issue time);
 *   5. the sealed result opened with the HPKE exporter key, and the prover's signature over
 *      (backend, key, request, input digest, result digest) checked with the attested key;
 *   6. with `keys`, the proof bundle verified locally as well.
 *
 * INVARIANT (fail closed): the input leaves this process only sealed to a key that a
 * verified piece of evidence binds together with our own nonce; a result is returned only
 * if it is signed by that same key for this very request and input. Anything else throws a
 * VeriteeError; nothing is retried on another backend behind the caller's back.
 */
import { createDecipheriv, createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { ERROR_CODES, parseJsonStrict, toEpochMs, utf8, VeriteeError, type ErrorCode } from '@veritee/core';
import { anchorsFromJson, verifyEvidence, type AttestationResult, type Policy, type TrustAnchors } from '@veritee/attestation';
import { errorFromResponse } from '@veritee/proxy';
import { verifyProofBundle, type BundleVerification, type KeyRing } from '@veritee/zk';
import {
  DirectorySchema,
  firstIssue,
  HPKE_INFO,
  hpkeSuite,
  inputAad,
  keyHashOf,
  MAX_DIRECTORY_BYTES,
  MAX_SEALED_BYTES,
  RESULT_EXPORT_CONTEXT,
  resultMessage,
  sealedInputDigest,
  SealedResultSchema,
  sha256Hex,
  type Directory,
  type KeyDoc,
  type SealedInput,
} from './protocol.js';
import { readBounded } from './router.js';

export interface RoutedClientOptions {
  /** Accept simulated evidence (development only; the policy may say so too). */
  allowSimulated?: boolean;
  /**
   * Anchors of the simulated TEE to trust. Without them (and with allowSimulated) the anchors
   * the directory offers are trusted, which proves nothing (anyone can run the simulator).
   */
  simulatedAnchors?: TrustAnchors;
  /** Verification time: a time or a clock. Default: now. */
  at?: Date | number | string | (() => Date | number);
  /** Use this backend only (it must still pass the policy). */
  backendId?: string;
  /** Time limits: the directory (default 30 s), the sealed request (default 15 min). */
  directoryTimeoutMs?: number;
  proveTimeoutMs?: number;
  /** Verify the returned proof bundle locally with these keys (a veritee claim bundle). */
  keys?: KeyRing | (() => KeyRing);
  allowDevSetup?: boolean;
}

/** A directory entry that passed the caller's checks. */
export interface VerifiedBackend {
  id: string;
  load: number | undefined;
  keys: KeyDoc;
  keyHash: string;
  attestation: AttestationResult;
}

export interface RejectedBackend {
  id: string;
  code: ErrorCode;
  message: string;
}

export interface DirectoryCheck {
  nonce: string;
  accepted: VerifiedBackend[];
  rejected: RejectedBackend[];
}

export interface RoutedProveResult {
  backend: VerifiedBackend;
  requestId: string;
  bundle: unknown;
  timings?: unknown;
  verification?: BundleVerification;
  /** The prover's signature (base64url) and the digests it covers: a transferable receipt. */
  receipt: { signature: string; inputSha256: string; resultSha256: string };
  rejected: RejectedBackend[];
  /** Client-side time split, ms. */
  ms: { directory: number; verify: number; seal: number; prove: number; open: number };
}

function atOf(o: RoutedClientOptions): Date | number | string {
  return typeof o.at === 'function' ? o.at() : (o.at ?? Date.now());
}

function routerBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new VeriteeError('INPUT_INVALID', `router URL "${url.slice(0, 200)}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new VeriteeError('INPUT_INVALID', 'router URL must be http or https');
  return u.origin;
}

function networkError(e: unknown, what: string): VeriteeError {
  if (e instanceof VeriteeError) return e;
  const name = (e as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return new VeriteeError('PROXY_UPSTREAM_TIMEOUT', `${what} did not answer in time`);
  return new VeriteeError('PROXY_UPSTREAM_UNAVAILABLE', `${what} could not be reached`);
}

/** Asks the router for its directory, bound to a fresh nonce. */
export async function fetchDirectory(routerUrl: string, nonce: string, timeoutMs = 30_000): Promise<Directory> {
  const base = routerBase(routerUrl);
  let res: Response;
  let body: Buffer;
  try {
    res = await fetch(`${base}/v1/directory?nonce=${nonce}`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    if (res.status !== 200) throw await errorFromResponse(res, 'the router directory');
    body = await readBounded(res, MAX_DIRECTORY_BYTES, 'the router directory');
  } catch (e) {
    throw networkError(e, 'the router');
  }
  const doc = parseJsonStrict(body.toString('utf8'), { what: 'the router directory', code: 'ROUTER_DIRECTORY_INVALID' });
  const p = DirectorySchema.safeParse(doc);
  if (!p.success) throw new VeriteeError('ROUTER_DIRECTORY_INVALID', `the router directory is malformed: ${firstIssue(p.error)}`);
  if (p.data.nonce !== nonce) throw new VeriteeError('ROUTER_DIRECTORY_INVALID', 'the router directory answers another nonce (a replayed directory?)');
  return p.data;
}

/**
 * Verifies every directory entry against the caller's policy and nonce. Never throws for
 * one bad entry: it is listed in `rejected` with its code.
 */
export async function verifyDirectory(dir: Directory, nonce: string, policy: Policy, opts: RoutedClientOptions = {}): Promise<DirectoryCheck> {
  if (dir.nonce !== nonce) throw new VeriteeError('ROUTER_DIRECTORY_INVALID', 'the router directory answers another nonce (a replayed directory?)');
  const pol: Policy = opts.allowSimulated ? { ...policy, allowSimulated: true } : policy;
  const accepted: VerifiedBackend[] = [];
  const rejected: RejectedBackend[] = [];
  const ids = new Set<string>();
  const hashes = new Set<string>();
  for (const e of dir.backends) {
    const reject = (code: ErrorCode, message: string) => rejected.push({ id: e.id, code, message });
    if (ids.has(e.id)) {
      reject('ROUTER_DIRECTORY_INVALID', `backend ${e.id} is listed twice`);
      continue;
    }
    ids.add(e.id);
    if (!e.attestation) {
      reject('ROUTER_BACKEND_UNATTESTED', `backend ${e.id} has no attestation in the directory${e.error ? ` (the router says: ${e.error.code}: ${e.error.message.slice(0, 200)})` : ''}`);
      continue;
    }
    const keys = e.attestation.keys;
    if (keys.backendId !== e.id) {
      reject('ROUTER_DIRECTORY_INVALID', `the directory lists as ${e.id} a prover that attests to being ${keys.backendId}`);
      continue;
    }
    const keyHash = keyHashOf(keys);
    if (hashes.has(keyHash)) {
      reject('ROUTER_DIRECTORY_INVALID', `backend ${e.id} presents the key set of another entry`);
      continue;
    }
    let anchors = opts.simulatedAnchors;
    try {
      if (anchors === undefined && pol.allowSimulated && e.attestation.simulatedAnchors) anchors = anchorsFromJson(e.attestation.simulatedAnchors);
      const result = await verifyEvidence(e.attestation.evidence, { policy: pol, at: atOf(opts), nonce, publicKeyHash: keyHash, ...(anchors ? { simulatedAnchors: anchors } : {}) });
      if (!result.ok) {
        const f = result.failures[0];
        reject(f?.code ?? 'ATTEST_POLICY_VIOLATION', `backend ${e.id} does not satisfy the policy ${result.policyId}: ${result.failures.map((x) => `${x.name}: ${x.detail}`).join('; ').slice(0, 400)}`);
        continue;
      }
      hashes.add(keyHash);
      accepted.push({ id: e.id, load: e.load, keys, keyHash, attestation: result });
    } catch (err) {
      const v = err instanceof VeriteeError ? err : new VeriteeError('ATTEST_EVIDENCE_INVALID', `backend ${e.id}: evidence could not be read`);
      reject(v.code, `backend ${e.id}: ${v.message.slice(0, 300)}`);
    }
  }
  return { nonce, accepted, rejected };
}

/**
 * The least loaded verified backend (an unknown load counts as the most loaded); ties go
 * to the smallest id, so the choice is reproducible. The router reports the loads: it can
 * steer the choice among verified backends, never towards an unverified one.
 */
export function chooseBackend(accepted: readonly VerifiedBackend[], only?: string): VerifiedBackend {
  const pool = only === undefined ? accepted : accepted.filter((b) => b.id === only);
  if (pool.length === 0) {
    throw new VeriteeError('ROUTER_NO_ATTESTED_BACKEND', only === undefined ? 'no backend in the router directory passes the policy' : `backend ${only} is not in the directory or does not pass the policy`);
  }
  return [...pool].sort((a, b) => (a.load ?? Infinity) - (b.load ?? Infinity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0]!;
}

/** Seals `input` (JSON) to a verified backend. Returns the wire form and the result key. */
export async function sealInput(backend: Pick<VerifiedBackend, 'id' | 'keys' | 'keyHash'>, input: unknown, at: Date | number | string = Date.now()): Promise<{ sealed: SealedInput; resultKey: Buffer }> {
  const suite = hpkeSuite();
  const requestId = randomBytes(16).toString('hex');
  const pk = await suite.kem.deserializePublicKey(Buffer.from(backend.keys.hpke.publicKey, 'base64url'));
  const sender = await suite.createSenderContext({ recipientPublicKey: pk, info: HPKE_INFO });
  const fields = { backendId: backend.id, keyHash: backend.keyHash, requestId, issuedAt: toEpochMs(at, 'issue time') };
  const ct = await sender.seal(utf8(JSON.stringify(input)), inputAad(fields));
  const resultKey = Buffer.from(await sender.export(RESULT_EXPORT_CONTEXT, 32));
  return { sealed: { ...fields, enc: Buffer.from(sender.enc).toString('base64url'), ct: Buffer.from(ct).toString('base64url') }, resultKey };
}

/**
 * Opens and checks a sealed result for `sealed` from `backend`. Throws ROUTER_RESULT_INVALID
 * when it is not this backend's answer to this request, or the backend's own error code when
 * the backend refused the input.
 */
export function openResult(backend: Pick<VerifiedBackend, 'id' | 'keys' | 'keyHash'>, sealed: SealedInput, resultKey: Buffer, body: unknown): { plaintext: { bundle: unknown; timings?: unknown }; signature: string; inputSha256: string; resultSha256: string } {
  const bad = (why: string) => new VeriteeError('ROUTER_RESULT_INVALID', `the result is not backend ${backend.id}'s answer to this request: ${why}`);
  const p = SealedResultSchema.safeParse(body);
  if (!p.success) throw bad(`malformed (${firstIssue(p.error)})`);
  const r = p.data;
  if (r.backendId !== backend.id || r.keyHash !== backend.keyHash) throw bad(`it names backend ${r.backendId} key ${r.keyHash.slice(0, 16)}…`);
  if (r.requestId !== sealed.requestId) throw bad('it answers another request id');
  let plain: Buffer;
  try {
    const ct = Buffer.from(r.ct, 'base64url');
    if (ct.length < 16) throw new Error('short');
    const d = createDecipheriv('aes-256-gcm', resultKey, Buffer.from(r.iv, 'base64url'));
    d.setAAD(inputAad(sealed));
    d.setAuthTag(ct.subarray(ct.length - 16));
    plain = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
  } catch {
    throw bad('it does not open with this request\'s result key (altered, or sealed for another request)');
  }
  const inputSha256 = sealedInputDigest(sealed);
  const resultSha256 = sha256Hex(plain);
  const msg = resultMessage({ backendId: backend.id, keyHash: backend.keyHash, requestId: sealed.requestId, inputSha256, resultSha256 });
  let ok = false;
  try {
    const key = createPublicKey({ key: Buffer.from(backend.keys.sign.spki, 'base64url'), format: 'der', type: 'spki' });
    ok = nodeVerify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(r.signature, 'base64url'));
  } catch {
    ok = false;
  }
  if (!ok) throw bad('its signature does not verify under the attested signing key');
  let result: { ok?: unknown; bundle?: unknown; timings?: unknown; error?: { code?: unknown; message?: unknown } };
  try {
    result = parseJsonStrict(plain.toString('utf8'), { what: 'the result' }) as typeof result;
  } catch {
    throw bad('its plaintext is not strict JSON');
  }
  if (result.ok !== true) {
    const c = result.error?.code;
    const code: ErrorCode = typeof c === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, c) ? (c as ErrorCode) : 'ZK_PROVER_FAILED';
    throw new VeriteeError(code, `backend ${backend.id} refused the input (its signed answer): ${String(result.error?.message ?? 'no reason given').slice(0, 500)}`);
  }
  return { plaintext: { bundle: result.bundle, ...(result.timings !== undefined ? { timings: result.timings } : {}) }, signature: r.signature, inputSha256, resultSha256 };
}

/** Sends a sealed input through the router to `backendId` and returns the parsed answer body. */
export async function sendSealed(routerUrl: string, sealed: SealedInput, timeoutMs = 15 * 60_000): Promise<unknown> {
  const base = routerBase(routerUrl);
  let res: Response;
  let body: Buffer;
  try {
    res = await fetch(`${base}/v1/backends/${encodeURIComponent(sealed.backendId)}/sealed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sealed),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    if (res.status !== 200) throw await errorFromResponse(res, `the router (backend ${sealed.backendId})`);
    body = await readBounded(res, MAX_SEALED_BYTES + 4096, 'the sealed result');
  } catch (e) {
    throw networkError(e, 'the router');
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new VeriteeError('ROUTER_RESULT_INVALID', 'the sealed result is not JSON');
  }
}

/**
 * Proves `input` (the prover's JSON input, e.g. `{ claim: "latency", params, records }`)
 * through the router at `routerUrl` on a backend that satisfies `policy`. Fails closed.
 */
export async function routedProve(routerUrl: string, policy: Policy, input: unknown, opts: RoutedClientOptions = {}): Promise<RoutedProveResult> {
  const t0 = performance.now();
  const nonce = randomBytes(32).toString('hex');
  const dir = await fetchDirectory(routerUrl, nonce, opts.directoryTimeoutMs);
  const t1 = performance.now();
  const check = await verifyDirectory(dir, nonce, policy, opts);
  if (check.accepted.length === 0) {
    const why = check.rejected.map((r) => `${r.id}: ${r.code}`).join(', ');
    throw new VeriteeError('ROUTER_NO_ATTESTED_BACKEND', `no backend in the router directory passes the policy${why ? ` (${why})` : ' (the directory is empty)'}`);
  }
  const backend = chooseBackend(check.accepted, opts.backendId);
  const t2 = performance.now();
  const { sealed, resultKey } = await sealInput(backend, input, atOf(opts));
  const t3 = performance.now();
  const body = await sendSealed(routerUrl, sealed, opts.proveTimeoutMs);
  const t4 = performance.now();
  let opened: ReturnType<typeof openResult>;
  try {
    opened = openResult(backend, sealed, resultKey, body);
  } finally {
    resultKey.fill(0);
  }
  let verification: BundleVerification | undefined;
  if (opts.keys) {
    const keys = typeof opts.keys === 'function' ? opts.keys() : opts.keys;
    verification = verifyProofBundle(opened.plaintext.bundle, { keys, allowDevSetup: opts.allowDevSetup === true, at: atOf(opts) });
    if (!verification.ok) {
      const f = verification.checks.find((c) => !c.ok);
      throw new VeriteeError(f?.code ?? 'ZK_PROOF_INVALID', `backend ${backend.id}'s proof bundle does not verify: ${f?.name}: ${f?.detail}`);
    }
  }
  const t5 = performance.now();
  return {
    backend,
    requestId: sealed.requestId,
    bundle: opened.plaintext.bundle,
    ...(opened.plaintext.timings !== undefined ? { timings: opened.plaintext.timings } : {}),
    ...(verification ? { verification } : {}),
    receipt: { signature: opened.signature, inputSha256: opened.inputSha256, resultSha256: opened.resultSha256 },
    rejected: check.rejected,
    ms: { directory: t1 - t0, verify: t2 - t1, seal: t3 - t2, prove: t4 - t3, open: t5 - t4 },
  };
}
