/**
 * @module kms
 * The key management service core: sessions, the KBS attestation exchange, release of
 * secrets as JWE, and revocation. Transport-free (server.ts puts it behind HTTP).
 *
 * KBS mapping (Trustee's KBS protocol v0, with veritee evidence):
 *
 * | KBS | veritee |
 * |---|---|
 * | `POST /kbs/v0/auth` `{version, tee, extra-params}` | `tee` ∈ `snp`, `tdx`, `nvidia` (the envelope platform); answer `{nonce, extra-params}` + cookie `kbs-session-id` |
 * | `POST /kbs/v0/attest` `{tee-pubkey, tee-evidence}` | `tee-evidence`: a veritee evidence envelope `{platform, evidence, collateral?}` (object or its JSON) |
 * | runtime data `{"tee-pubkey", "nonce"}` | `rd = SHA-256(canonical JSON of {"nonce": <nonce>, "tee-pubkey": <JWK>})`; the report data must be veritee's binding with `rd` as the nonce: `report_data = computeReportData({nonce: rd})` |
 * | `{token}` | an EAR JWT (ES256, `aud` = the KMS audience) whose `eat_nonce` is `rd` |
 * | `GET /kbs/v0/resource/<repo>/<type>/<tag>` | tenant = `repo`, secret path = `<type>/<tag>`; a flattened JWE (`ECDH-ES+A256KW` for EC keys, `RSA-OAEP-256` for RSA; `A256GCM`) to the tee-pubkey |
 *
 * INVARIANTS: a session's nonce is consumed (state `pending` → `verifying`) in one atomic
 * UPDATE before the evidence is looked at, so a nonce serves at most one attestation, even
 * across instances; sessions and tokens expire; a revoked session is dead everywhere at
 * once because every check reads the shared database.
 */
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, exportJWK, FlattenedEncrypt, importJWK, jwtVerify, type JWK } from 'jose';
import { canonicalJson, sha256, systemClock, toBase64, toHex, utf8, VeriteeError, type Clock } from '@veritee/core';
import {
  createResultSigner,
  exportSignerJwk,
  issueResultToken,
  verifyEvidence,
  resultJwks,
  type AttestationResult,
  type Claims,
  type EvidenceEnvelope,
  type Policy,
  type ResultSigner,
  type TrustAnchors,
} from '@veritee/attestation';
import { num, type Row, type SqlDb } from './db.js';
import { Keyring, type RootKeySource } from './rootkey.js';
import { SecretStore, checkPath, checkTenant } from './secrets.js';
import { PolicyStore, type Decision } from './policy.js';
import { AuditLog } from './audit.js';
import { TransitStore } from './transit.js';
import { WorkloadCa, type AttestationExtension } from './ca.js';
import { TeeRegistry, tdxPckPpid } from './registry.js';

export const KBS_PROTOCOL_VERSION = '0.1.0';
export const DEFAULT_AUDIENCE = 'veritee-kms';
const TEES = ['snp', 'tdx', 'nvidia'] as const;
export type KbsTee = (typeof TEES)[number];

export interface KmsOptions {
  db: SqlDb;
  rootKey: RootKeySource;
  /** Appraisal policy for evidence (platform checks, report-data binding, TCB). */
  attestationPolicy: Policy;
  /** Simulated TEE anchors (only used by policies with allowSimulated); a function is asked on each attestation. */
  simulatedAnchors?: TrustAnchors | (() => TrustAnchors | undefined);
  clock?: Clock;
  /** Lifetime of a session awaiting evidence (default 120 s). */
  challengeTtlSeconds?: number;
  /** Lifetime of an attested session and of its token (default 300 s). */
  sessionTtlSeconds?: number;
  /** Most sessions awaiting evidence at once (default 10 000); beyond: 429. */
  maxPendingSessions?: number;
  /** Token audience (default veritee-kms). */
  audience?: string;
  /** SPIFFE trust domain of workload certificates (default veritee.local). */
  trustDomain?: string;
  /**
   * The KMS's own TEE, for client bootstrap: evidence whose report data binds the client's
   * nonce and the bootstrap document, the reference measurements the KMS publishes, and
   * its TLS certificate (whose key the document pins).
   */
  selfAttestation?: { evidence(reportData: Uint8Array): Promise<EvidenceEnvelope>; referenceMeasurements?: Record<string, string[]>; tlsCertPem?: string };
}

/** What a client caches on first contact (see bootstrap.ts). */
export interface BootstrapDocument {
  v: 1;
  trustDomain: string;
  /** The workload CA (PEM). */
  ca: string;
  /** Reference measurements the KMS publishes, by name. */
  referenceMeasurements: Record<string, string[]>;
  /** SHA-256 (hex) of the KMS TLS key's SPKI, when it serves https. */
  tlsSpkiSha256?: string;
  /** The token-signing keys. */
  jwks: { keys: JWK[] };
}

export interface AttestedSession {
  id: string;
  tee: KbsTee;
  teePubkey: JWK;
  claims: Omit<Claims, 'platformData'>;
  expiresMs: number;
  tokenJti: string;
  evidenceDigest: string;
  /** TDX: the PPID of the platform's PCK certificate (the registry's machine identity). */
  pckPpid?: string;
}

const digest = (s: string | Uint8Array): string => toHex(sha256(typeof s === 'string' ? utf8(s) : s));

/** `SHA-256(canonical JSON {"nonce", "tee-pubkey"})`: the KBS runtime-data hash (32 bytes). */
export function runtimeDataHash(nonce: string, teePubkey: JWK): Uint8Array {
  return sha256(utf8(canonicalJson({ nonce, 'tee-pubkey': teePubkey })));
}

/** Checks a tee-pubkey: a public EC P-256/P-384 or RSA ≥ 2048 JWK; returns it with only the public members. */
export function checkTeePubkey(v: unknown): JWK {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new VeriteeError('KMS_TEE_PUBKEY_INVALID', 'tee-pubkey must be a JWK object');
  const j = v as Record<string, unknown>;
  if ('d' in j || 'p' in j || 'q' in j) throw new VeriteeError('KMS_TEE_PUBKEY_INVALID', 'tee-pubkey carries private key members; send the public key only');
  if (j['kty'] === 'EC' && (j['crv'] === 'P-256' || j['crv'] === 'P-384') && typeof j['x'] === 'string' && typeof j['y'] === 'string') {
    return { kty: 'EC', crv: j['crv'], x: j['x'], y: j['y'] };
  }
  if (j['kty'] === 'RSA' && typeof j['n'] === 'string' && typeof j['e'] === 'string') {
    if (j['n'].length < 342) throw new VeriteeError('KMS_TEE_PUBKEY_INVALID', 'tee-pubkey RSA modulus is shorter than 2048 bits');
    return { kty: 'RSA', n: j['n'], e: j['e'] };
  }
  throw new VeriteeError('KMS_TEE_PUBKEY_INVALID', 'tee-pubkey must be an EC P-256/P-384 or RSA public JWK');
}

function jweAlg(jwk: JWK): 'ECDH-ES+A256KW' | 'RSA-OAEP-256' {
  return jwk.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW';
}

/** The released bytes of a secret: its `value` member when that is the only one, else its JSON. */
export function resourceBytes(data: Record<string, unknown>): Uint8Array {
  const keys = Object.keys(data);
  if (keys.length === 1 && keys[0] === 'value' && typeof data['value'] === 'string') return utf8(data['value']);
  return utf8(canonicalJson(data));
}

export class Kms {
  readonly secrets: SecretStore;
  readonly policies: PolicyStore;
  readonly audit: AuditLog;
  readonly transit: TransitStore;
  readonly registry: TeeRegistry;
  readonly audience: string;
  private readonly clock: Clock;

  private constructor(
    readonly db: SqlDb,
    readonly keys: Keyring,
    readonly signer: ResultSigner,
    readonly rootKeyLabel: string,
    private readonly opts: KmsOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    const now = () => this.clock.now();
    this.secrets = new SecretStore(db, keys, now);
    this.policies = new PolicyStore(db, now);
    this.audit = new AuditLog(db, keys, now);
    this.transit = new TransitStore(db, keys, now);
    this.registry = new TeeRegistry(db, now);
    this.audience = opts.audience ?? DEFAULT_AUDIENCE;
  }

  /** Unseals the root key, checks it against the database, and loads (or creates) the shared token signer. */
  static async open(opts: KmsOptions): Promise<Kms> {
    const keys = new Keyring(await opts.rootKey.unseal());
    const db = opts.db;
    const check = keys.mac('check', 'veritee.kms root key check');
    await db.query('INSERT INTO kms_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', ['root_key_check', check]);
    const [row] = await db.query('SELECT value FROM kms_meta WHERE name = $1', ['root_key_check']);
    if (!row || !keys.macEqual('check', 'veritee.kms root key check', String(row['value']))) {
      throw new VeriteeError('KMS_ROOT_KEY_INVALID', 'the root key does not match this database (it was initialised with another root key)');
    }
    // One token signer shared by every instance on this database, sealed under the root key.
    const fresh = await createResultSigner({ issuer: 'veritee-kms' });
    const sealed = toBase64(keys.seal('signer', 'signer|v1', utf8(JSON.stringify(await exportSignerJwk(fresh)))));
    await db.query('INSERT INTO kms_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', ['token_signer', sealed]);
    const [s] = await db.query('SELECT value FROM kms_meta WHERE name = $1', ['token_signer']);
    const jwk = JSON.parse(new TextDecoder().decode(keys.open('signer', 'signer|v1', Buffer.from(String(s!['value']), 'base64')))) as JWK;
    const signer = await createResultSigner({ privateJwk: jwk, issuer: 'veritee-kms' });
    return new Kms(db, keys, signer, opts.rootKey.label, opts);
  }

  get now(): number {
    return this.clock.now();
  }

  /** Public keys verifying the KMS's tokens. */
  jwks() {
    return resultJwks(this.signer);
  }

  // ---- KBS: auth --------------------------------------------------------------

  async auth(req: { version?: unknown; tee?: unknown }): Promise<{ sessionId: string; nonce: string; expiresMs: number }> {
    if (typeof req.tee !== 'string' || !(TEES as readonly string[]).includes(req.tee)) {
      throw new VeriteeError('INPUT_INVALID', `tee must be one of ${TEES.join(', ')}`);
    }
    if (req.version !== undefined && (typeof req.version !== 'string' || !/^0\.\d+\.\d+$/.test(req.version))) {
      throw new VeriteeError('INPUT_INVALID', `KBS protocol version must be 0.x.y (this KMS speaks ${KBS_PROTOCOL_VERSION})`);
    }
    const now = this.now;
    const max = this.opts.maxPendingSessions ?? 10_000;
    // Sessions expired for a minute (revoked ones too: they are dead either way) are dropped
    // lazily here, so the table does not grow without bound.
    await this.db.query('DELETE FROM kms_sessions WHERE expires_ms < $1', [now - 60_000]);
    const [c] = await this.db.query("SELECT count(*) AS n FROM kms_sessions WHERE state = 'pending' AND expires_ms >= $1", [now]);
    if (num(c?.['n']) >= max) throw new VeriteeError('KMS_RATE_LIMITED', `too many sessions awaiting evidence (${max}); retry later`);
    const sessionId = randomBytes(24).toString('base64url');
    const nonce = randomBytes(32).toString('base64');
    const expiresMs = now + (this.opts.challengeTtlSeconds ?? 120) * 1000;
    await this.db.query("INSERT INTO kms_sessions (id, tee, nonce, state, created_ms, expires_ms) VALUES ($1, $2, $3, 'pending', $4, $5)", [
      sessionId,
      req.tee,
      nonce,
      now,
      expiresMs,
    ]);
    return { sessionId, nonce, expiresMs };
  }

  // ---- KBS: attest ------------------------------------------------------------

  async attest(sessionId: string | undefined, body: { 'tee-pubkey'?: unknown; 'tee-evidence'?: unknown }): Promise<{ token: string; session: AttestedSession }> {
    if (!sessionId) throw new VeriteeError('KMS_NOT_ATTESTED', 'no kbs-session-id cookie: call /kbs/v0/auth first');
    const now = this.now;
    // Consume the nonce first, atomically: whatever happens next, it cannot be used again.
    const [row] = await this.db.query("UPDATE kms_sessions SET state = 'verifying' WHERE id = $1 AND state = 'pending' RETURNING *", [sessionId]);
    if (!row) {
      const [s] = await this.db.query('SELECT state FROM kms_sessions WHERE id = $1', [sessionId]);
      if (!s) throw new VeriteeError('KMS_NOT_ATTESTED', 'unknown or expired KBS session: call /kbs/v0/auth again');
      throw new VeriteeError('KMS_NONCE_USED', `this session's nonce was already used (session is ${String(s['state'])}); call /kbs/v0/auth for a new one`);
    }
    const sessionDigest = digest(sessionId).slice(0, 16);
    let requestDigest: string;
    try {
      requestDigest = digest(canonicalJson(body));
    } catch {
      requestDigest = 'unhashable';
    }
    const fail = async (reason: string, evidenceDigest?: string): Promise<never> => {
      await this.db.query("UPDATE kms_sessions SET state = 'failed' WHERE id = $1", [sessionId]);
      await this.audit.append({ tenant: '', actor: `session:${sessionDigest}`, action: 'kbs.attest', decision: 'deny', reason: reason.slice(0, 2000), requestDigest, ...(evidenceDigest ? { evidenceDigest } : {}) });
      throw new VeriteeError('KMS_ATTESTATION_FAILED', reason);
    };
    if (num(row['expires_ms']) < now) {
      await this.db.query("UPDATE kms_sessions SET state = 'expired' WHERE id = $1", [sessionId]);
      throw new VeriteeError('KMS_NOT_ATTESTED', 'the KBS session expired before evidence arrived: call /kbs/v0/auth again');
    }
    let teePubkey: JWK;
    try {
      teePubkey = checkTeePubkey(body['tee-pubkey']);
    } catch (e) {
      return fail(`attestation refused: ${(e as Error).message}`);
    }
    const evidence = body['tee-evidence'];
    if (evidence === undefined || (typeof evidence !== 'string' && (evidence === null || typeof evidence !== 'object'))) {
      return fail('attestation refused: tee-evidence is missing (a veritee evidence envelope, object or JSON string)');
    }
    const evidenceDigest = digest(typeof evidence === 'string' ? evidence : canonicalJson(evidence));
    const rd = runtimeDataHash(String(row['nonce']), teePubkey);
    const anchors = typeof this.opts.simulatedAnchors === 'function' ? this.opts.simulatedAnchors() : this.opts.simulatedAnchors;
    let result: AttestationResult;
    try {
      result = await verifyEvidence(evidence as EvidenceEnvelope | string, {
        policy: this.opts.attestationPolicy,
        at: new Date(now),
        nonce: rd,
        ...(anchors ? { simulatedAnchors: anchors } : {}),
      });
    } catch (e) {
      return fail(`attestation refused: ${e instanceof VeriteeError ? `${e.code}: ${e.message}` : 'evidence could not be decoded'}`, evidenceDigest);
    }
    const failures = result.failures.map((f) => `${f.name}: ${f.detail}`);
    if (result.platform !== row['tee']) failures.push(`kbs.tee: evidence is for ${result.platform} but the session was opened for ${String(row['tee'])}`);
    if (!result.ok || failures.length > 0 || !result.claims) {
      return fail(`attestation refused, ${failures.length} failed check(s): ${failures.join(' | ')}`, evidenceDigest);
    }
    const ttl = this.opts.sessionTtlSeconds ?? 300;
    const token = await issueResultToken(result, this.signer, { at: new Date(now), ttlSeconds: ttl, audience: this.audience });
    const jti = String(decodeJwt(token).jti);
    const { platformData: _pd, ...claims } = result.claims;
    const expiresMs = now + ttl * 1000;
    const pckPpid = result.platform === 'tdx' ? tdxPckPpid(evidence) : undefined;
    await this.db.query(
      "UPDATE kms_sessions SET state = 'attested', expires_ms = $2, tee_pubkey = $3, token_jti = $4, claims = $5, measurement = $6, chip_id = $7, evidence_digest = $8, pck_ppid = $9 WHERE id = $1",
      [sessionId, expiresMs, JSON.stringify(teePubkey), jti, JSON.stringify(claims), claims.measurement, claims.chipId ?? null, evidenceDigest, pckPpid ?? null],
    );
    await this.audit.append({
      tenant: '',
      actor: `session:${sessionDigest}`,
      action: 'kbs.attest',
      decision: 'allow',
      requestDigest,
      evidenceDigest,
      claimsDigest: digest(canonicalJson(claims)),
    });
    return { token, session: { id: sessionId, tee: row['tee'] as KbsTee, teePubkey, claims, expiresMs, tokenJti: jti, evidenceDigest, ...(pckPpid ? { pckPpid } : {}) } };
  }

  // ---- sessions ---------------------------------------------------------------

  private toSession(row: Row): AttestedSession {
    return {
      id: String(row['id']),
      tee: row['tee'] as KbsTee,
      teePubkey: JSON.parse(String(row['tee_pubkey'])) as JWK,
      claims: JSON.parse(String(row['claims'])) as Omit<Claims, 'platformData'>,
      expiresMs: num(row['expires_ms']),
      tokenJti: String(row['token_jti']),
      evidenceDigest: String(row['evidence_digest'] ?? ''),
      ...(row['pck_ppid'] ? { pckPpid: String(row['pck_ppid']) } : {}),
    };
  }

  private live(row: Row | undefined, via: string): AttestedSession {
    if (!row) throw new VeriteeError('KMS_NOT_ATTESTED', `unknown ${via}: attest first`);
    if (row['state'] === 'revoked') throw new VeriteeError('KMS_NOT_ATTESTED', `the session was revoked (${String(row['revoked_reason'] ?? 'revoked')}); attest again`);
    if (row['state'] !== 'attested') throw new VeriteeError('KMS_NOT_ATTESTED', 'the session has not completed attestation');
    if (num(row['expires_ms']) < this.now) throw new VeriteeError('KMS_NOT_ATTESTED', 'the attested session expired; attest again');
    return this.toSession(row);
  }

  /** The live attested session behind a `kbs-session-id` cookie or a bearer token. */
  async authenticate(cred: { cookie?: string; bearer?: string }): Promise<AttestedSession> {
    if (cred.bearer !== undefined) {
      let jti: string;
      try {
        const { payload } = await jwtVerify(cred.bearer, createLocalJWKSet(this.jwks() as Parameters<typeof createLocalJWKSet>[0]), {
          algorithms: ['ES256'],
          issuer: this.signer.issuer,
          audience: this.audience,
          currentDate: new Date(this.now),
          requiredClaims: ['jti', 'exp', 'iat'],
        });
        jti = String(payload.jti);
      } catch {
        throw new VeriteeError('KMS_NOT_ATTESTED', 'the bearer token is not a valid, unexpired KMS attestation token');
      }
      const [row] = await this.db.query('SELECT * FROM kms_sessions WHERE token_jti = $1', [jti]);
      return this.live(row, 'token');
    }
    if (cred.cookie !== undefined) {
      const [row] = await this.db.query('SELECT * FROM kms_sessions WHERE id = $1', [cred.cookie]);
      return this.live(row, 'session');
    }
    throw new VeriteeError('KMS_NOT_ATTESTED', 'no kbs-session-id cookie or bearer token: attest first');
  }

  /** Revokes sessions (by id, measurement or chip id) at once; returns how many. Their tokens and leases die with them. */
  async revokeSessions(sel: { sessionId?: string; measurement?: string; chipId?: string }, reason: string): Promise<number> {
    return (await this.revokeSessionsAndLeases(sel, reason)).sessions;
  }

  /**
   * Revokes sessions (by id, measurement or chip id), which kills their EAR tokens (a token
   * is honoured only while its session row is live), and every lease those sessions hold
   * (workload certificates: /kms/v0/ca/status answers `revoked` from then on), in one
   * transaction, on every instance sharing the database.
   */
  async revokeSessionsAndLeases(sel: { sessionId?: string; measurement?: string; chipId?: string }, reason: string): Promise<{ sessions: number; leases: number }> {
    const col = sel.sessionId !== undefined ? 'id' : sel.measurement !== undefined ? 'measurement' : sel.chipId !== undefined ? 'chip_id' : null;
    if (col === null) throw new VeriteeError('INPUT_INVALID', 'revoke needs a session id, a measurement or a chip id');
    const value = sel.sessionId ?? sel.measurement ?? sel.chipId;
    const why = reason.slice(0, 200);
    const now = this.now;
    const out = await this.db.tx(async (q) => {
      // sessions revoked now, and those revoked earlier on the same grounds (their leases too)
      const rows = await q.query(`UPDATE kms_sessions SET state = 'revoked', revoked_reason = $2 WHERE ${col} = $1 AND state IN ('attested', 'pending', 'verifying') RETURNING id`, [value, why]);
      const leases = await q.query(
        `UPDATE kms_leases SET revoked_ms = $2, revoked_reason = $3 WHERE revoked_ms IS NULL AND expires_ms >= $2 AND session_id IN (SELECT id FROM kms_sessions WHERE ${col} = $1 AND state = 'revoked') RETURNING id`,
        [value, now, why],
      );
      return { sessions: rows.length, leases: leases.length };
    });
    await this.audit.append({ tenant: '', actor: 'system', action: 'session.revoke', decision: 'ok', reason: `${out.sessions} session(s), ${out.leases} lease(s) by ${col}: ${why}` });
    return out;
  }

  /**
   * The status of a workload certificate (a lease) by serial (hex): `good` while neither
   * revoked nor expired, `revoked` (with when and why), `expired`, or `unknown`. Peers ask
   * this in addition to checking the certificate and its attestation extension.
   */
  async certificateStatus(serialHex: string): Promise<{ serial: string; status: 'good' | 'revoked' | 'expired' | 'unknown'; notAfter?: string; revokedAt?: string; reason?: string }> {
    const serial = serialHex.toLowerCase();
    if (!/^[0-9a-f]{2,64}$/.test(serial)) throw new VeriteeError('INPUT_INVALID', 'certificate serial must be 2-64 hex digits');
    const [l] = await this.db.query('SELECT * FROM kms_leases WHERE serial = $1', [serial]);
    if (!l) return { serial, status: 'unknown' };
    const notAfter = new Date(num(l['expires_ms'])).toISOString();
    if (l['revoked_ms'] !== null && l['revoked_ms'] !== undefined) {
      return { serial, status: 'revoked', notAfter, revokedAt: new Date(num(l['revoked_ms'])).toISOString(), reason: String(l['revoked_reason'] ?? '') };
    }
    if (num(l['expires_ms']) < this.now) return { serial, status: 'expired', notAfter };
    return { serial, status: 'good', notAfter };
  }

  // ---- KBS: resource ------------------------------------------------------------

  /** Policy check, lookup and JWE to the session's tee-pubkey. 403 before 404: a denied caller learns nothing. */
  async release(session: AttestedSession, repo: string, type: string, tag: string): Promise<{ jwe: Record<string, unknown>; decision: Decision }> {
    checkTenant(repo);
    const path = checkPath(`${type}/${tag}`);
    const actor = `session:${digest(session.id).slice(0, 16)}`;
    const resource = `${repo}/${path}`;
    const claimsDigest = digest(canonicalJson(session.claims));
    const requestDigest = digest(`GET /kbs/v0/resource/${resource}`);
    const decision = await this.policies.decide(repo, path, session.claims, { registered: await this.registry.isApproved(repo, session) });
    if (!decision.allow) {
      const d = decision.decidedBy;
      const why = d.prefix === null ? d.rule : `policy "${d.prefix || '(tenant)'}" v${d.version}: ${d.rule}`;
      await this.audit.append({ tenant: repo, actor, action: 'kbs.release', decision: 'deny', resource, requestDigest, claimsDigest, policyVersions: decision.policyVersions, reason: why });
      throw new VeriteeError('KMS_POLICY_DENIED', `release of ${resource} denied by ${why}`);
    }
    let value: Uint8Array;
    try {
      value = resourceBytes((await this.secrets.get(repo, path)).data);
    } catch (e) {
      await this.audit.append({ tenant: repo, actor, action: 'kbs.release', decision: 'error', resource, requestDigest, claimsDigest, policyVersions: decision.policyVersions, reason: 'not found' });
      throw e;
    }
    const key = await importJWK(session.teePubkey, jweAlg(session.teePubkey));
    const jwe = await new FlattenedEncrypt(value).setProtectedHeader({ alg: jweAlg(session.teePubkey), enc: 'A256GCM' }).encrypt(key);
    await this.audit.append({ tenant: repo, actor, action: 'kbs.release', decision: 'allow', resource, requestDigest, claimsDigest, policyVersions: decision.policyVersions });
    return { jwe: jwe as unknown as Record<string, unknown>, decision };
  }

  // ---- transit for attested workloads --------------------------------------------

  /**
   * encrypt / decrypt / rewrap / datakey with the tenant's named key, gated by the policies
   * applying to `transit/<name>`. Plaintext going back to the workload travels as a JWE to
   * its tee-pubkey.
   */
  async transitOp(
    session: AttestedSession,
    tenant: string,
    name: string,
    op: 'encrypt' | 'decrypt' | 'rewrap' | 'datakey',
    body: { plaintext?: unknown; ciphertext?: unknown; context?: unknown },
  ): Promise<Record<string, unknown>> {
    checkTenant(tenant);
    const path = checkPath(`transit/${name}`);
    const actor = `session:${digest(session.id).slice(0, 16)}`;
    const decision = await this.policies.decide(tenant, path, session.claims, { registered: await this.registry.isApproved(tenant, session) });
    if (!decision.allow) {
      const d = decision.decidedBy;
      const why = d.prefix === null ? d.rule : `policy "${d.prefix || '(tenant)'}" v${d.version}: ${d.rule}`;
      await this.audit.append({ tenant, actor, action: `transit.${op}`, decision: 'deny', resource: `${tenant}/${path}`, policyVersions: decision.policyVersions, reason: why });
      throw new VeriteeError('KMS_POLICY_DENIED', `transit ${op} with ${tenant}/${name} denied by ${why}`);
    }
    const b64 = (v: unknown, what: string): Uint8Array | undefined => {
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v.length > 128 * 1024 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new VeriteeError('INPUT_INVALID', `${what} must be base64`);
      return new Uint8Array(Buffer.from(v, 'base64'));
    };
    const context = b64(body.context, 'context');
    const ct = (): string => {
      if (typeof body.ciphertext !== 'string' || body.ciphertext.length > 200_000) throw new VeriteeError('INPUT_INVALID', 'ciphertext must be a vault:v<n>:<base64> string');
      return body.ciphertext;
    };
    const sealTo = async (plain: Uint8Array): Promise<Record<string, unknown>> => {
      const key = await importJWK(session.teePubkey, jweAlg(session.teePubkey));
      return (await new FlattenedEncrypt(plain).setProtectedHeader({ alg: jweAlg(session.teePubkey), enc: 'A256GCM' }).encrypt(key)) as unknown as Record<string, unknown>;
    };
    let out: Record<string, unknown>;
    switch (op) {
      case 'encrypt': {
        const plain = b64(body.plaintext, 'plaintext');
        if (!plain) throw new VeriteeError('INPUT_INVALID', 'encrypt needs plaintext (base64)');
        out = { ciphertext: await this.transit.encrypt(tenant, name, plain, context) };
        break;
      }
      case 'decrypt':
        out = { plaintext: await sealTo(await this.transit.decrypt(tenant, name, ct(), context)) };
        break;
      case 'rewrap':
        out = { ciphertext: await this.transit.rewrap(tenant, name, ct(), context) };
        break;
      case 'datakey': {
        const dk = await this.transit.datakey(tenant, name, context);
        out = { ciphertext: dk.ciphertext, plaintext: await sealTo(dk.plaintext) };
        break;
      }
    }
    await this.audit.append({ tenant, actor, action: `transit.${op}`, decision: 'allow', resource: `${tenant}/${path}`, policyVersions: decision.policyVersions });
    return out;
  }

  // ---- workload certificates ------------------------------------------------------

  private caPromise?: Promise<WorkloadCa>;

  /** The workload CA of this database (created on first use, shared by every instance). */
  workloadCa(): Promise<WorkloadCa> {
    this.caPromise ??= WorkloadCa.load(this.db, this.keys, () => this.now, this.opts.trustDomain);
    return this.caPromise;
  }

  /**
   * A short-lived certificate for the session's tee-pubkey, naming `tenant`/`workload` and
   * carrying the session's attestation; gated by the policies applying to `ca/<workload>`.
   */
  async issueCertificate(session: AttestedSession, tenant: string, workload: string, opts: { dns?: string[]; ttlSeconds?: number } = {}) {
    checkTenant(tenant);
    const path = checkPath(`ca/${workload}`);
    const actor = `session:${digest(session.id).slice(0, 16)}`;
    const decision = await this.policies.decide(tenant, path, session.claims, { registered: await this.registry.isApproved(tenant, session) });
    if (!decision.allow) {
      const d = decision.decidedBy;
      const why = d.prefix === null ? d.rule : `policy "${d.prefix || '(tenant)'}" v${d.version}: ${d.rule}`;
      await this.audit.append({ tenant, actor, action: 'ca.issue', decision: 'deny', resource: `${tenant}/${path}`, policyVersions: decision.policyVersions, reason: why });
      throw new VeriteeError('KMS_POLICY_DENIED', `certificate for ${tenant}/${workload} denied by ${why}`);
    }
    const ca = await this.workloadCa();
    const attestation: AttestationExtension = {
      v: 1,
      platform: session.claims.platform,
      measurement: session.claims.measurement,
      tcb: session.claims.tcb,
      reportDataHash: digest(session.claims.reportData),
      evidenceDigest: session.evidenceDigest,
      simulated: session.claims.simulated,
      ...(session.claims.chipId ? { chipId: session.claims.chipId } : {}),
      tenant,
      workload,
    };
    // never outlive the attested session
    const left = Math.floor((session.expiresMs - this.now) / 1000);
    const ttl = Math.max(60, Math.min(opts.ttlSeconds ?? 900, left));
    const out = ca.issue({ publicJwk: session.teePubkey, attestation, ttlSeconds: ttl, ...(opts.dns ? { dns: opts.dns } : {}) });
    // the certificate is a lease of the session: revoking the session revokes it
    await this.db.query('INSERT INTO kms_leases (id, kind, tenant, resource, session_id, serial, issued_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      randomBytes(16).toString('hex'),
      'certificate',
      tenant,
      `${tenant}/${path}`,
      session.id,
      out.serial,
      this.now,
      Date.parse(out.notAfter),
    ]);
    await this.audit.append({ tenant, actor, action: 'ca.issue', decision: 'allow', resource: `${tenant}/${path}`, policyVersions: decision.policyVersions, claimsDigest: digest(canonicalJson(session.claims)) });
    return { ...out, chainPem: [ca.certPem] };
  }

  // ---- client bootstrap ---------------------------------------------------------

  private tlsCertPem?: string;

  /** Declares the TLS certificate this instance serves (its key is pinned in the bootstrap document). */
  setTlsCertificate(pem: string): void {
    this.tlsCertPem = pem;
  }

  /**
   * The bootstrap document and the KMS's evidence binding it:
   * `report_data = computeReportData({ nonce, publicKeyHash: SHA-256(canonical JSON of the document) })`.
   */
  async bootstrap(nonceHex: string): Promise<{ document: BootstrapDocument; evidence: EvidenceEnvelope }> {
    const self = this.opts.selfAttestation;
    if (!self) throw new VeriteeError('KMS_RESOURCE_NOT_FOUND', 'this KMS runs without a TEE of its own: no attested bootstrap');
    if (!/^[0-9a-f]{64}$/.test(nonceHex)) throw new VeriteeError('INPUT_INVALID', 'bootstrap nonce must be 64 lowercase hex digits');
    const ca = await this.workloadCa();
    const document: BootstrapDocument = {
      v: 1,
      trustDomain: ca.trustDomain,
      ca: ca.certPem,
      referenceMeasurements: self.referenceMeasurements ?? {},
      jwks: this.jwks(),
    };
    const tlsPem = this.tlsCertPem ?? self.tlsCertPem;
    if (tlsPem) {
      const { X509Certificate } = await import('node:crypto');
      document.tlsSpkiSha256 = toHex(sha256(new Uint8Array(new X509Certificate(tlsPem).publicKey.export({ type: 'spki', format: 'der' }))));
    }
    const { computeReportData } = await import('@veritee/attestation');
    const nonce = Buffer.from(nonceHex, 'hex');
    const evidence = await self.evidence(computeReportData({ nonce: new Uint8Array(nonce), publicKeyHash: sha256(utf8(canonicalJson(document))) }));
    return { document, evidence };
  }
}

/** A fresh workload key pair for the KBS exchange (EC P-256, ECDH-ES+A256KW). */
export async function generateTeeKeyPair(): Promise<{ publicJwk: JWK; privateKey: CryptoKey }> {
  const { generateKeyPair } = await import('jose');
  const kp = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
  const pub = await exportJWK(kp.publicKey);
  return { publicJwk: { kty: 'EC', crv: pub.crv!, x: pub.x!, y: pub.y! }, privateKey: kp.privateKey as CryptoKey };
}
