/**
 * @module token
 * The attestation result token: a JWT (ES256) in the shape of the IETF EAT Attestation
 * Result (EAR, draft-ietf-rats-ear) so relying parties can consume it with EAR tooling
 * (Veraison `arc`, the `ear` crates), plus veritee's normalised claims.
 *
 * ```json
 * {
 *   "eat_profile": "tag:github.com,2023:veraison/ear",
 *   "iss": "veritee-attestation", "iat": 1750809600, "exp": 1750809900, "jti": "…",
 *   "ear.verifier-id": { "developer": "veritee", "build": "veritee-attestation 0.1.0" },
 *   "eat_nonce": "<hex of the 32-byte nonce, when one was bound>",
 *   "submods": {
 *     "tdx": {
 *       "ear.status": "affirming" | "warning" | "contraindicated",
 *       "ear.trustworthiness-vector": { "instance-identity": 2, "configuration": 2, "executables": 2, "hardware": 2, "runtime-opaque": 2 },
 *       "ear.appraisal-policy-id": "veritee:policy/prod",
 *       "veritee.verified": true,
 *       "veritee.failed-checks": [],
 *       "veritee.claims": { "platform": "tdx", "measurement": "…", "reportData": "…", … }
 *     }
 *   }
 * }
 * ```
 *
 * A relying party accepts a token only through {@link verifyResultToken}, which checks the
 * signature, issuer, time, its own id against `aud`, and the verdict (`ear.status`
 * affirming unless it says otherwise): a valid signature alone says nothing about the
 * verdict, since a failed verification is signed too.
 *
 * INVARIANT: token time is explicit. `issueResultToken` stamps `iat`/`exp` from the `at`
 * it is given; `verifyResultToken` checks them against the `at` it is given, with no
 * clock tolerance unless asked. Only ES256 is accepted on verification.
 */
import { readTextFileBounded } from '@veritee/core/node-fs';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  jwtVerify,
  SignJWT,
  errors as joseErrors,
  type JWK,
  type JWTPayload,
  type CryptoKey,
} from 'jose';
import { checkJsonText, fromBase64, fromUtf8, parseJsonStrict, quoteInput, toBase64Url, toEpochMs, VeriteeError } from '@veritee/core';
import type { Claims } from './types.js';
import type { AppraisalStatus, AttestationResult, TrustworthinessVector } from './verify.js';

export const EAR_PROFILE = 'tag:github.com,2023:veraison/ear';
export const TOKEN_ALG = 'ES256';
export const DEFAULT_ISSUER = 'veritee-attestation';
export const DEFAULT_TOKEN_TTL_SECONDS = 300;
const BUILD = 'veritee-attestation 0.1.0';

/** A token signing key and its public JWK. */
export interface ResultSigner {
  readonly kid: string;
  readonly alg: typeof TOKEN_ALG;
  readonly issuer: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface JsonWebKeySet {
  keys: JWK[];
}

/** One EAR submodule (one appraised attester). */
export interface EarSubmod {
  'ear.status': AppraisalStatus;
  'ear.trustworthiness-vector': TrustworthinessVector;
  'ear.appraisal-policy-id': string;
  /** True only if every veritee check passed. */
  'veritee.verified': boolean;
  /** Names of the checks that failed. */
  'veritee.failed-checks': string[];
  /** The normalised claims (without `platformData`). */
  'veritee.claims'?: Omit<Claims, 'platformData'>;
}

export interface EarClaimsSet extends JWTPayload {
  eat_profile: typeof EAR_PROFILE;
  iat: number;
  exp: number;
  'ear.verifier-id': { developer: string; build: string };
  eat_nonce?: string;
  submods: Record<string, EarSubmod>;
}

async function fromPrivateJwk(jwk: JWK, issuer: string): Promise<ResultSigner> {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') {
    throw new VeriteeError('INPUT_INVALID', 'the token signing key must be a private EC P-256 JWK (ES256)');
  }
  const privateKey = (await importJWK({ ...jwk, alg: TOKEN_ALG }, TOKEN_ALG, { extractable: true })) as CryptoKey;
  const { d: _d, ...pub } = jwk;
  const publicJwk: JWK = { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y };
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  return { kid, alg: TOKEN_ALG, issuer, privateKey, publicJwk: { ...publicJwk, kid, alg: TOKEN_ALG, use: 'sig' } };
}

/**
 * A result-token signer: a fresh P-256 key, or the given private JWK / PKCS#8 PEM.
 * `kid` is the RFC 7638 thumbprint unless the JWK names one.
 */
export async function createResultSigner(opts: { privateJwk?: JWK; pkcs8Pem?: string; issuer?: string } = {}): Promise<ResultSigner> {
  const issuer = opts.issuer ?? DEFAULT_ISSUER;
  if (opts.privateJwk) return fromPrivateJwk(opts.privateJwk, issuer);
  let privateKey: CryptoKey;
  if (opts.pkcs8Pem) {
    try {
      privateKey = (await importPKCS8(opts.pkcs8Pem, TOKEN_ALG, { extractable: true })) as CryptoKey;
    } catch (e) {
      throw new VeriteeError('INPUT_INVALID', `the token signing key is not a PKCS#8 P-256 key: ${(e as Error).message}`);
    }
  } else {
    privateKey = (await generateKeyPair(TOKEN_ALG, { extractable: true })).privateKey as CryptoKey;
  }
  return fromPrivateJwk(await exportJWK(privateKey), issuer);
}

/** Loads a signer from a file holding a private JWK (JSON) or a PKCS#8 PEM. */
export async function loadResultSigner(path: string, opts: { issuer?: string } = {}): Promise<ResultSigner> {
  const text = readTextFileBounded(path, { what: 'token signing key', maxBytes: 64 * 1024 });
  if (text.trim().startsWith('{')) {
    const jwk = parseJsonStrict(text, { what: `token signing key ${quoteInput(path, 200)}` }) as JWK;
    return createResultSigner({ privateJwk: jwk, ...(opts.issuer ? { issuer: opts.issuer } : {}) });
  }
  return createResultSigner({ pkcs8Pem: text, ...(opts.issuer ? { issuer: opts.issuer } : {}) });
}

/** The private JWK of a signer, for persisting it. Treat as a secret. */
export async function exportSignerJwk(signer: ResultSigner): Promise<JWK> {
  return { ...(await exportJWK(signer.privateKey)), kid: signer.kid, alg: TOKEN_ALG };
}

/** The public JWKS for one or more signers (several during key rotation). */
export function resultJwks(signers: ResultSigner | ResultSigner[]): JsonWebKeySet {
  return { keys: (Array.isArray(signers) ? signers : [signers]).map((s) => ({ ...s.publicJwk })) };
}

function submodFor(r: AttestationResult): EarSubmod {
  const sub: EarSubmod = {
    'ear.status': r.appraisal.status,
    'ear.trustworthiness-vector': { ...r.appraisal.trustworthinessVector },
    'ear.appraisal-policy-id': r.policyId,
    'veritee.verified': r.ok,
    'veritee.failed-checks': r.failures.map((f) => f.name),
  };
  if (r.claims) {
    const { platformData: _p, ...claims } = r.claims;
    sub['veritee.claims'] = claims;
  }
  return sub;
}

/**
 * Signs an EAR token for one result, or several (a CPU TEE and its GPUs: one submodule each).
 * A failed result still gets a token: its submodule says `contraindicated`.
 */
export async function issueResultToken(
  results: AttestationResult | AttestationResult[],
  signer: ResultSigner,
  opts: { at: Date | number | string; ttlSeconds?: number; audience?: string | string[] },
): Promise<string> {
  const list = Array.isArray(results) ? results : [results];
  if (list.length === 0) throw new VeriteeError('INPUT_INVALID', 'issueResultToken needs at least one result');
  const iat = Math.floor(toEpochMs(opts.at, 'token issue time') / 1000);
  const ttl = opts.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new VeriteeError('INPUT_INVALID', `token lifetime must be a positive number of seconds (got ${ttl})`);
  const submods: Record<string, EarSubmod> = {};
  for (const r of list) {
    let key: string = r.platform;
    for (let i = 1; submods[key] !== undefined; i++) key = `${r.platform}-${i}`;
    submods[key] = submodFor(r);
  }
  const payload: Omit<EarClaimsSet, 'iat' | 'exp'> = {
    eat_profile: EAR_PROFILE,
    'ear.verifier-id': { developer: 'veritee', build: BUILD },
    submods,
  };
  const nonce = list.find((r) => r.nonce !== undefined)?.nonce;
  if (nonce !== undefined) payload.eat_nonce = nonce;
  const jwt = new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: TOKEN_ALG, kid: signer.kid, typ: 'JWT' })
    .setIssuer(signer.issuer)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .setJti(toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(16))));
  if (opts.audience !== undefined) jwt.setAudience(opts.audience);
  return jwt.sign(signer.privateKey);
}

/** What a relying party requires of a result token (see {@link verifyResultToken}). */
export interface ResultTokenCheck {
  /** Verification time: `iat`/`exp` are checked against it. */
  at: Date | number | string;
  /** Expected issuer (default `veritee-attestation`). */
  issuer?: string;
  /**
   * Who you are: the token's `aud` must name this (or one of these). Required, so that a
   * token issued for another relying party, or for nobody in particular, is refused;
   * give `anyAudience: true` instead to accept any `aud` or none (say why in your code).
   */
  audience?: string | string[];
  /** Accept a token whatever its `aud`, or without one. Off by default. */
  anyAudience?: boolean;
  /**
   * Which verdicts pass (every submodule must pass): `affirming` (default) requires
   * `ear.status` affirming and `veritee.verified`; `warning` also accepts `warning`
   * (e.g. simulated evidence under a policy that allows it); `any` skips the verdict
   * check (the caller inspects `submods` itself).
   */
  accept?: 'affirming' | 'warning' | 'any';
  clockToleranceSeconds?: number;
}

/**
 * Verifies a result token against a JWKS at time `at`: ES256 signature by a listed key,
 * issuer, audience, `iat`/`exp` (no tolerance unless given), the EAR shape, and then the
 * verdict: a validly signed token that says `contraindicated` is still a refusal.
 *
 * Throws ATTEST_TOKEN_INVALID when the token is not a valid token for this relying party
 * (signature, issuer, audience, time, shape), ATTEST_TOKEN_NOT_AFFIRMING when it is valid
 * but its verdict is not accepted, INPUT_INVALID when no audience is given.
 *
 * @example
 * const claims = await verifyResultToken(token, jwks, { audience: 'https://kms.example', at: new Date() });
 * // reaching here: signed by the service, for this relying party, fresh, and affirming
 */
export async function verifyResultToken(token: string, jwks: JsonWebKeySet, opts: ResultTokenCheck): Promise<EarClaimsSet> {
  const audiences = opts.audience === undefined ? [] : Array.isArray(opts.audience) ? opts.audience : [opts.audience];
  if (audiences.some((a) => typeof a !== 'string' || a.length === 0)) throw new VeriteeError('INPUT_INVALID', 'the expected token audience must be a non-empty string');
  if (audiences.length === 0 && opts.anyAudience !== true) {
    throw new VeriteeError(
      'INPUT_INVALID',
      'verifyResultToken needs the audience you expect (your relying-party id), or anyAudience: true to accept tokens issued for anyone',
    );
  }
  const accept = opts.accept ?? 'affirming';
  if (accept !== 'affirming' && accept !== 'warning' && accept !== 'any') throw new VeriteeError('INPUT_INVALID', `accept must be affirming, warning or any (got ${String(accept)})`);
  const at = new Date(toEpochMs(opts.at, 'token verification time'));
  // jose reads the header and payload with JSON.parse, which keeps the last of two
  // equal keys ("ear.status": "contraindicated", "ear.status": "affirming"): refuse
  // duplicate keys before anything is decided on them.
  strictTokenJson(token);
  let payload: JWTPayload;
  try {
    const r = await jwtVerify(token, createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]), {
      algorithms: [TOKEN_ALG],
      currentDate: at,
      issuer: opts.issuer ?? DEFAULT_ISSUER,
      ...(audiences.length > 0 ? { audience: audiences } : {}),
      clockTolerance: opts.clockToleranceSeconds ?? 0,
      requiredClaims: ['iat', 'exp'],
    });
    payload = r.payload;
  } catch (e) {
    const why =
      e instanceof joseErrors.JWTExpired
        ? `expired at ${new Date(Number((e.payload as JWTPayload).exp) * 1000).toISOString()} (verification time ${at.toISOString()})`
        : e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'aud'
          ? `it was not issued for this audience (expected ${audiences.map((a) => quoteInput(a, 80)).join(' or ')}, token has ${
              e.payload.aud === undefined ? 'no aud' : `aud ${quoteInput(JSON.stringify(e.payload.aud), 120)}`
            })`
          : e instanceof joseErrors.JWSSignatureVerificationFailed
            ? 'signature does not verify'
            : e instanceof joseErrors.JWKSNoMatchingKey
              ? 'no key in the JWKS matches the token'
              : quoteInput((e as Error).message, 200);
    throw new VeriteeError('ATTEST_TOKEN_INVALID', `attestation result token rejected: ${why}`);
  }
  if (typeof payload.iat === 'number' && payload.iat * 1000 > at.getTime() + (opts.clockToleranceSeconds ?? 0) * 1000) {
    throw new VeriteeError('ATTEST_TOKEN_INVALID', `attestation result token rejected: issued after the verification time ${at.toISOString()}`);
  }
  if (payload.eat_profile !== EAR_PROFILE || payload.submods === null || typeof payload.submods !== 'object' || Array.isArray(payload.submods)) {
    throw new VeriteeError('ATTEST_TOKEN_INVALID', `attestation result token rejected: not an EAR token (eat_profile ${quoteInput(String(payload.eat_profile), 80)})`);
  }
  const claims = payload as EarClaimsSet;
  if (accept !== 'any' && !tokenAffirms(claims, { allowWarning: accept === 'warning' })) {
    const verdicts = Object.entries(claims.submods).map(([name, sub]) => {
      const status = sub !== null && typeof sub === 'object' ? String(sub['ear.status']) : 'malformed';
      const failed = sub !== null && typeof sub === 'object' && Array.isArray(sub['veritee.failed-checks']) ? sub['veritee.failed-checks'] : [];
      return `${quoteInput(name, 40)}: ${quoteInput(status, 40)}${failed.length > 0 ? ` (failed: ${quoteInput(failed.join(', '), 200)})` : ''}`;
    });
    throw new VeriteeError(
      'ATTEST_TOKEN_NOT_AFFIRMING',
      `attestation result token is validly signed but its verdict is not ${accept === 'warning' ? 'affirming or warning' : 'affirming'}: ${
        verdicts.length > 0 ? verdicts.join('; ') : 'no appraisal (empty submods)'
      }`,
      { statuses: Object.fromEntries(Object.entries(claims.submods).map(([k, v]) => [k, v !== null && typeof v === 'object' ? v['ear.status'] : null])) },
    );
  }
  return claims;
}

/** Refuses a compact JWS whose header or payload JSON has a duplicate key or deep nesting. */
function strictTokenJson(token: string): void {
  if (typeof token !== 'string') throw new VeriteeError('ATTEST_TOKEN_INVALID', 'attestation result token rejected: not a string');
  const parts = token.split('.');
  if (parts.length !== 3) return; // jose refuses it with its own message
  for (const [seg, what] of [
    [parts[0]!, 'header'],
    [parts[1]!, 'payload'],
  ] as const) {
    let text: string;
    try {
      text = fromUtf8(fromBase64(seg, `token ${what}`));
    } catch {
      continue; // not base64url: jose refuses it
    }
    try {
      checkJsonText(text, { what: `token ${what}`, code: 'ATTEST_TOKEN_INVALID', maxDepth: 32 });
    } catch (e) {
      throw new VeriteeError('ATTEST_TOKEN_INVALID', `attestation result token rejected: ${(e as Error).message}`);
    }
  }
}

/** True when every submodule of a verified token is `affirming` (or, with `allowWarning`, `warning`). */
export function tokenAffirms(claims: EarClaimsSet, opts: { allowWarning?: boolean } = {}): boolean {
  const subs: unknown[] = Object.values(claims.submods);
  return (
    subs.length > 0 &&
    subs.every((x) => {
      if (x === null || typeof x !== 'object') return false;
      const s = x as EarSubmod;
      return s['veritee.verified'] === true && (s['ear.status'] === 'affirming' || (opts.allowWarning === true && s['ear.status'] === 'warning'));
    })
  );
}
