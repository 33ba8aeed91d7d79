/**
 * @module auth
 * Bearer JWT authentication against a JWKS (jose): signature by a key of the set, the
 * allowed algorithms, `exp`/`nbf` with the configured skew, and `iss`/`aud` when the route
 * names them. A failure never reaches an upstream and is answered 401 with a
 * `WWW-Authenticate: Bearer` challenge (RFC 6750); the message says which check failed,
 * never echoes the token.
 */
import { readFileSync, statSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { parseJsonStrict, VeriteeError } from '@veritee/core';
import type { GatewayConfig, RouteConfig } from './config.js';

type JwksSource = GatewayConfig['jwks'][string];
const MAX_JWKS_BYTES = 256 * 1024;

/** Key sets by name, built once per configuration (a remote set caches its keys). */
export function buildKeySets(jwks: GatewayConfig['jwks'], baseDir = '.'): Map<string, JWTVerifyGetKey> {
  const out = new Map<string, JWTVerifyGetKey>();
  for (const [name, src] of Object.entries(jwks) as [string, JwksSource][]) {
    if ('url' in src) {
      const u = new URL(src.url);
      if (u.protocol !== 'https:' && !(u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))) {
        throw new VeriteeError('GATEWAY_CONFIG_INVALID', `jwks.${name}.url must be https:// (http only on loopback)`);
      }
      out.set(name, createRemoteJWKSet(u, { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 }));
      continue;
    }
    let doc: unknown;
    if ('file' in src) {
      const path = src.file.startsWith('/') ? src.file : `${baseDir}/${src.file}`;
      let text: string;
      try {
        if (statSync(path).size > MAX_JWKS_BYTES) throw new VeriteeError('GATEWAY_CONFIG_INVALID', `jwks.${name}.file ${path} is larger than ${MAX_JWKS_BYTES} bytes`);
        text = readFileSync(path, 'utf8');
      } catch (e) {
        if (e instanceof VeriteeError) throw e;
        throw new VeriteeError('GATEWAY_CONFIG_INVALID', `jwks.${name}.file ${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      doc = parseJsonStrict(text, { what: `jwks.${name}.file`, code: 'GATEWAY_CONFIG_INVALID' });
    } else doc = src;
    try {
      out.set(name, createLocalJWKSet(doc as Parameters<typeof createLocalJWKSet>[0]));
    } catch (e) {
      throw new VeriteeError('GATEWAY_CONFIG_INVALID', `jwks.${name} is not a JSON Web Key Set: ${(e as Error).message}`);
    }
  }
  return out;
}

/** Why a token was refused, for the 401 body and the challenge. */
function reason(e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (e instanceof joseErrors.JWTClaimValidationFailed) return `the token's "${e.claim}" claim is not accepted (${e.reason})`;
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (e instanceof joseErrors.JWKSNoMatchingKey) return 'no key of the JWKS matches the token';
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return 'the token algorithm is not allowed on this route';
  if (e instanceof joseErrors.JWKSTimeout) return 'the JWKS could not be fetched in time';
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid) return 'the token is malformed';
  return 'the token is not accepted';
}

export type AuthResult = { ok: true; subject?: string } | { ok: false; message: string; challenge: string };

/** Checks the request's bearer token for a route with `auth`. */
export async function authenticate(authorization: string | undefined, route: RouteConfig, keySets: Map<string, JWTVerifyGetKey>, at?: Date): Promise<AuthResult> {
  const a = route.auth!;
  const realm = `realm="${route.group}"`;
  if (!authorization) return { ok: false, message: 'a bearer token is required (Authorization: Bearer <JWT>)', challenge: `Bearer ${realm}` };
  const m = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\s*$/i.exec(authorization);
  if (!m || authorization.length > 8192) return { ok: false, message: 'the Authorization header is not "Bearer <JWT>"', challenge: `Bearer ${realm}, error="invalid_request"` };
  const keys = keySets.get(a.jwks);
  if (!keys) return { ok: false, message: 'no key set is configured for this route', challenge: `Bearer ${realm}` };
  try {
    const { payload } = await jwtVerify(m[1]!, keys, {
      algorithms: a.algorithms,
      clockTolerance: a.clockToleranceSec,
      ...(a.issuer ? { issuer: a.issuer } : {}),
      ...(a.audience ? { audience: a.audience } : {}),
      ...(at ? { currentDate: at } : {}),
      requiredClaims: ['exp'],
    });
    return { ok: true, ...(typeof (payload as JWTPayload).sub === 'string' ? { subject: (payload as JWTPayload).sub! } : {}) };
  } catch (e) {
    const why = reason(e);
    return { ok: false, message: why, challenge: `Bearer ${realm}, error="invalid_token", error_description="${why.replace(/"/g, "'")}"` };
  }
}
