/**
 * The KMS end to end, on BOTH storage backends (embedded PGlite and a throw-away
 * PostgreSQL 15 cluster): the KBS exchange with simulated SNP evidence, its negative
 * paths, KV v2 secrets, policies, admin isolation and the audit chain.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { flattenedDecrypt, decodeJwt } from 'jose';
import { computeReportData, type EvidenceEnvelope } from '@veritee/attestation';
import { utf8, fromUtf8 } from '@veritee/core';
import type { FastifyInstance } from 'fastify';
import { backends, openTestKms, adminIssuer, devAttestationPolicy, type TestKms } from './testing.js';
import { generateTeeKeyPair, runtimeDataHash, Kms } from './kms.js';
import { buildKmsServer, SESSION_COOKIE } from './server.js';
import { KmsClient, simulatedEvidenceProvider } from './client.js';
import { verifyAudit } from './audit.js';
import { rootKeyBytes } from './rootkey.js';
import type { SqlDb } from './db.js';

const SECRET = 'correct-horse-battery-staple-42';
const ALLOW_SIM = { rules: [{ name: 'dev-sim', platforms: ['snp', 'tdx'], allowSimulated: true }] };

function cookieOf(res: { headers: Record<string, unknown> }): string {
  const sc = ([] as string[]).concat((res.headers['set-cookie'] as string | string[] | undefined) ?? []);
  const c = sc.map((s) => s.split(';')[0]!).find((s) => s.startsWith(`${SESSION_COOKIE}=`));
  assert.ok(c, 'a session cookie is set');
  return c;
}

for (const backend of backends()) {
  describe(`KMS on ${backend.name}`, () => {
    let db: SqlDb;
    let t: TestKms;
    let app: FastifyInstance;
    let admin: Awaited<ReturnType<typeof adminIssuer>>;
    let logs = '';

    before(async () => {
      db = await backend.open();
      t = await openTestKms(db);
      admin = await adminIssuer(t.clock);
      const stream = new Writable({
        write(chunk, _enc, cb) {
          logs += chunk.toString();
          cb();
        },
      });
      app = await buildKmsServer({ kms: t.kms, adminJwks: admin.jwks, logger: { stream, level: 'debug' }, rateLimit: { burst: 1000, perSecond: 1000 } });
      await t.kms.policies.put('tenant-a', '', ALLOW_SIM);
      await t.kms.secrets.put('tenant-a', 'db/password', { value: SECRET });
    });
    after(async () => {
      await app?.close();
      await db?.close();
      await backend.close();
    });

    /** auth + attest through HTTP; returns cookie, token, keys. */
    async function attestOver(evidenceFor?: (rdHash: Uint8Array, nonce: string) => EvidenceEnvelope, pub?: Awaited<ReturnType<typeof generateTeeKeyPair>>) {
      const keys = pub ?? (await generateTeeKeyPair());
      const a = await app.inject({ method: 'POST', url: '/kbs/v0/auth', payload: { version: '0.1.0', tee: 'snp', 'extra-params': '' } });
      assert.equal(a.statusCode, 200, a.body);
      const cookie = cookieOf(a);
      const nonce = (a.json() as { nonce: string }).nonce;
      const rd = runtimeDataHash(nonce, keys.publicJwk);
      const evidence = evidenceFor ? evidenceFor(rd, nonce) : t.tee.evidence('snp', { reportData: computeReportData({ nonce: rd }) });
      const r = await app.inject({ method: 'POST', url: '/kbs/v0/attest', headers: { cookie }, payload: { 'tee-pubkey': keys.publicJwk, 'tee-evidence': evidence } });
      return { r, cookie, nonce, keys, evidence };
    }

    test('the whole exchange: auth → attest → resource, released as a JWE only the workload key opens', async () => {
      const { r, cookie, keys } = await attestOver();
      assert.equal(r.statusCode, 200, r.body);
      const token = (r.json() as { token: string }).token;
      const claims = decodeJwt(token);
      assert.equal(claims.aud, 'veritee-kms');
      assert.equal(claims['eat_profile'], 'tag:github.com,2023:veraison/ear');
      const res = await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers: { cookie } });
      assert.equal(res.statusCode, 200, res.body);
      const jwe = res.json() as { protected: string; encrypted_key: string; iv: string; ciphertext: string; tag: string };
      for (const k of ['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag']) assert.equal(typeof (jwe as unknown as Record<string, unknown>)[k], 'string', k);
      assert.ok(!res.body.includes(SECRET));
      const { plaintext } = await flattenedDecrypt(jwe, keys.privateKey);
      assert.equal(fromUtf8(plaintext), SECRET);
      // the bearer token works as well as the cookie
      const viaToken = await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers: { authorization: `Bearer ${token}` } });
      assert.equal(viaToken.statusCode, 200);
      // a JWE for this workload is useless to anyone holding another key
      const other = await generateTeeKeyPair();
      await assert.rejects(flattenedDecrypt(jwe, other.privateKey));
    });

    test('a JWE encrypted to a key the caller does not hold is useless to it (stolen token, own key, tampered header)', async () => {
      const { r, keys } = await attestOver();
      assert.equal(r.statusCode, 200, r.body);
      const stolen = (r.json() as { token: string }).token;
      // the thief replays the workload's token: the KMS answers, but to the workload's key
      const res = await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers: { authorization: `Bearer ${stolen}` } });
      assert.equal(res.statusCode, 200);
      assert.ok(!res.body.includes(SECRET));
      const jwe = res.json() as { protected: string; encrypted_key: string; iv: string; ciphertext: string; tag: string };
      const hdr = JSON.parse(Buffer.from(jwe.protected, 'base64url').toString()) as { alg: string; enc: string; epk: { x: string } };
      assert.deepEqual([hdr.alg, hdr.enc], ['ECDH-ES+A256KW', 'A256GCM']);
      // its own keys (P-256, and another curve) open nothing
      const own = await generateTeeKeyPair();
      await assert.rejects(flattenedDecrypt(jwe, own.privateKey));
      const { generateKeyPair } = await import('jose');
      const p384 = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-384' });
      await assert.rejects(flattenedDecrypt(jwe, p384.privateKey));
      // swapping the ephemeral key in the protected header breaks the AEAD (the header is authenticated)
      const swapped = { ...jwe, protected: Buffer.from(JSON.stringify({ ...hdr, epk: { ...hdr.epk, x: (await generateTeeKeyPair()).publicJwk.x } })).toString('base64url') };
      await assert.rejects(flattenedDecrypt(swapped, keys.privateKey));
      // a flipped ciphertext bit is refused even by the right key
      const ct = Buffer.from(jwe.ciphertext, 'base64url');
      ct[0] = ct[0]! ^ 1;
      await assert.rejects(flattenedDecrypt({ ...jwe, ciphertext: ct.toString('base64url') }, keys.privateKey));
      // only the workload's key opens it
      assert.equal(fromUtf8((await flattenedDecrypt(jwe, keys.privateKey)).plaintext), SECRET);
      // and the thief cannot have the KMS re-encrypt to its own key: a new session needs evidence binding that key
      const { r: r2 } = await attestOver((rd) => t.tee.evidence('snp', { reportData: computeReportData({ nonce: rd }) }), own);
      assert.equal(r2.statusCode, 200, 'a genuine TEE with its own key may attest');
      const { r: r3 } = await attestOver(() => t.tee.evidence('snp', { reportData: computeReportData({ nonce: runtimeDataHash('someone-elses-nonce', keys.publicJwk) }) }), own);
      assert.equal(r3.statusCode, 401, 'evidence bound to another key/nonce does not give the thief a session for its key');
    });

    test('SDK over a real socket: kms.getSecret(path) runs the exchange and returns the secret', async () => {
      const srv = await buildKmsServer({ kms: t.kms });
      await srv.listen({ host: '127.0.0.1', port: 0 });
      try {
        const addr = srv.server.address() as { port: number };
        const kms = new KmsClient({ url: `http://127.0.0.1:${addr.port}`, evidence: simulatedEvidenceProvider(t.tee, 'snp') });
        assert.equal(await kms.getSecretText('tenant-a/db/password'), SECRET);
        assert.equal(await kms.getSecretText('kbs:///tenant-a/db/password'), SECRET);
        await assert.rejects(kms.getSecret('tenant-a/db/missing'), (e: Error & { code?: string }) => e.code === 'KMS_RESOURCE_NOT_FOUND');
      } finally {
        await srv.close();
      }
    });

    test('a replayed nonce is refused: the second attest on one session gets 401 KMS_NONCE_USED', async () => {
      const { r, cookie, keys, evidence } = await attestOver();
      assert.equal(r.statusCode, 200);
      const again = await app.inject({ method: 'POST', url: '/kbs/v0/attest', headers: { cookie }, payload: { 'tee-pubkey': keys.publicJwk, 'tee-evidence': evidence } });
      assert.equal(again.statusCode, 401);
      assert.equal((again.json() as { error: { code: string } }).error.code, 'KMS_NONCE_USED');
    });

    test('evidence from another session is refused (401 naming the report-data check)', async () => {
      const first = await attestOver();
      assert.equal(first.r.statusCode, 200);
      // a second session presents the first session's evidence and key
      const stolen = await attestOver(() => first.evidence, first.keys);
      assert.equal(stolen.r.statusCode, 401);
      const err = (stolen.r.json() as { error: { code: string; message: string } }).error;
      assert.equal(err.code, 'KMS_ATTESTATION_FAILED');
      assert.match(err.message, /policy\.report_data/);
    });

    test('a runtime-data hash that does not match (evidence bound to another tee-pubkey) is refused', async () => {
      const other = await generateTeeKeyPair();
      const res = await attestOver((_rd, nonce) => t.tee.evidence('snp', { reportData: computeReportData({ nonce: runtimeDataHash(nonce, other.publicJwk) }) }));
      assert.equal(res.r.statusCode, 401);
      assert.match((res.r.json() as { error: { message: string } }).error.message, /report_data/);
    });

    test('failed evidence: 401 lists every failed check', async () => {
      // debug guest + wrong report data: at least two independent failures
      const res = await attestOver(() => t.tee.evidence('snp', { reportData: new Uint8Array(64).fill(1), debug: true } as never));
      assert.equal(res.r.statusCode, 401);
      const msg = (res.r.json() as { error: { message: string } }).error.message;
      assert.match(msg, /policy\.report_data/);
      assert.match(msg, /debug/);
      assert.match(msg, /\d+ failed check\(s\)/);
      // and the failed session can not fetch anything
      const rr = await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers: { cookie: res.cookie } });
      assert.equal(rr.statusCode, 401);
    });

    test('evidence for another platform than the session named is refused', async () => {
      const res = await attestOver((rd) => t.tee.evidence('tdx', { reportData: computeReportData({ nonce: rd }) }));
      assert.equal(res.r.statusCode, 401);
      assert.match((res.r.json() as { error: { message: string } }).error.message, /kbs\.tee/);
    });

    test('expired challenge and expired attested session are refused', async () => {
      const keys = await generateTeeKeyPair();
      const a = await app.inject({ method: 'POST', url: '/kbs/v0/auth', payload: { version: '0.1.0', tee: 'snp' } });
      const cookie = cookieOf(a);
      const nonce = (a.json() as { nonce: string }).nonce;
      t.clock.advance(121_000);
      const ev = t.tee.evidence('snp', { reportData: computeReportData({ nonce: runtimeDataHash(nonce, keys.publicJwk) }) });
      const late = await app.inject({ method: 'POST', url: '/kbs/v0/attest', headers: { cookie }, payload: { 'tee-pubkey': keys.publicJwk, 'tee-evidence': ev } });
      assert.equal(late.statusCode, 401);
      assert.match((late.json() as { error: { message: string } }).error.message, /expired/);

      const ok = await attestOver();
      assert.equal(ok.r.statusCode, 200);
      const token = (ok.r.json() as { token: string }).token;
      t.clock.advance(301_000);
      for (const headers of [{ cookie: ok.cookie }, { authorization: `Bearer ${token}` }]) {
        const rr = await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers });
        assert.equal(rr.statusCode, 401, JSON.stringify(headers).slice(0, 20));
      }
    });

    test('no session, a forged cookie or a foreign token → 401; unknown route → 404', async () => {
      assert.equal((await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password' })).statusCode, 401);
      assert.equal((await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers: { cookie: `${SESSION_COOKIE}=forged` } })).statusCode, 401);
      const foreign = 'eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0.' + 'A'.repeat(86);
      assert.equal((await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers: { authorization: `Bearer ${foreign}` } })).statusCode, 401);
      assert.equal((await app.inject({ method: 'GET', url: '/kbs/v0/nothing' })).statusCode, 404);
    });

    test('policy: 403 when denied (and before 404), 404 when allowed but missing; all applicable policies must pass', async () => {
      await t.kms.secrets.put('tenant-p', 'prod/key', { value: 'p' });
      await t.kms.secrets.put('tenant-p', 'dev/key', { value: 'd' });
      await t.kms.policies.put('tenant-p', '', ALLOW_SIM);
      await t.kms.policies.put('tenant-p', 'prod', { rules: [{ name: 'prod-only-real-hw', platforms: ['snp'] }] });
      const { cookie } = await attestOver();
      const get = (p: string) => app.inject({ method: 'GET', url: `/kbs/v0/resource/tenant-p/${p}`, headers: { cookie } });
      assert.equal((await get('dev/key')).statusCode, 200);
      const denied = await get('prod/key');
      assert.equal(denied.statusCode, 403);
      assert.match((denied.json() as { error: { message: string } }).error.message, /policy "prod" v1: prod-only-real-hw: simulated evidence not allowed/);
      assert.equal((await get('prod/nothing')).statusCode, 403, 'a denied caller does not learn whether the secret exists');
      assert.equal((await get('dev/nothing')).statusCode, 404);
      // no policy at all: default deny
      await t.kms.secrets.put('tenant-nopol', 'x/y', { value: 'z' });
      const nop = await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-nopol/x/y', headers: { cookie } });
      assert.equal(nop.statusCode, 403);
      assert.match(nop.body, /default deny/);
    });

    test('429 on unauthenticated endpoints past the per-address limit', async () => {
      const small = await buildKmsServer({ kms: t.kms, rateLimit: { burst: 3, perSecond: 0.001 } });
      try {
        const codes: number[] = [];
        for (let i = 0; i < 5; i++) codes.push((await small.inject({ method: 'POST', url: '/kbs/v0/auth', payload: { version: '0.1.0', tee: 'snp' } })).statusCode);
        assert.deepEqual(codes, [200, 200, 200, 429, 429]);
        const r = await small.inject({ method: 'POST', url: '/kbs/v0/attest', payload: {} });
        assert.equal(r.statusCode, 429);
        assert.equal((r.json() as { error: { code: string } }).error.code, 'KMS_RATE_LIMITED');
        // every unauthenticated endpoint shares the per-address budget
        for (const url of ['/kms/v0/jwks', '/kms/v0/healthz', '/kms/v0/ca/bundle', `/kms/v0/ca/status/${'01'.repeat(16)}`, `/kms/v0/bootstrap?nonce=${'00'.repeat(32)}`]) {
          const x = await small.inject({ method: 'GET', url });
          assert.equal(x.statusCode, 429, url);
          assert.equal((x.json() as { error: { code: string } }).error.code, 'KMS_RATE_LIMITED', url);
        }
        // another address is not affected, and the bucket refills with time
        assert.equal((await small.inject({ method: 'GET', url: '/kms/v0/jwks', remoteAddress: '127.0.0.9' })).statusCode, 200);
        t.clock.advance(3_600_000);
        assert.equal((await small.inject({ method: 'GET', url: '/kms/v0/jwks' })).statusCode, 200);
      } finally {
        await small.close();
      }
    });

    test('too many sessions awaiting evidence → 429', async () => {
      const tight = await Kms.open({ db, rootKey: rootKeyBytes(t.root), attestationPolicy: devAttestationPolicy(), clock: t.clock, maxPendingSessions: 0 });
      await assert.rejects(tight.auth({ tee: 'snp' }), (e: Error & { code?: string }) => e.code === 'KMS_RATE_LIMITED');
    });

    test('revocation kills a live session and its token at once', async () => {
      const ok = await attestOver();
      const token = (ok.r.json() as { token: string }).token;
      const claims = JSON.stringify(decodeJwt(token));
      assert.ok(claims.length > 0);
      const sid = ok.cookie.split('=')[1]!;
      assert.equal(await t.kms.revokeSessions({ sessionId: sid }, 'incident 7'), 1);
      for (const headers of [{ cookie: ok.cookie }, { authorization: `Bearer ${token}` }]) {
        const rr = await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers });
        assert.equal(rr.statusCode, 401);
        assert.match(rr.body, /revoked/);
      }
    });

    test('secrets at rest: the database holds no plaintext; a wrong root key cannot open it', async () => {
      await t.kms.secrets.put('tenant-r', 'at/rest', { value: 'plaintext-marker-9f3a' });
      const rows = await db.query("SELECT ciphertext FROM kms_secret_versions WHERE tenant = 'tenant-r'");
      const ct = Buffer.from(rows[0]!['ciphertext'] as Uint8Array);
      assert.ok(!ct.includes(Buffer.from('plaintext-marker-9f3a')));
      await assert.rejects(Kms.open({ db, rootKey: rootKeyBytes(new Uint8Array(32).fill(3)), attestationPolicy: devAttestationPolicy() }), (e: Error & { code?: string }) => e.code === 'KMS_ROOT_KEY_INVALID');
      // a ciphertext moved to another row does not decrypt (AAD binds tenant/path/version)
      await t.kms.secrets.put('tenant-r', 'at/other', { value: 'x' });
      await db.query("UPDATE kms_secret_versions SET ciphertext = $1 WHERE tenant = 'tenant-r' AND path = 'at/other'", [new Uint8Array(ct)]);
      await assert.rejects(t.kms.secrets.get('tenant-r', 'at/other'), (e: Error & { code?: string }) => e.code === 'KMS_ROOT_KEY_INVALID');
    });

    test('KV v2: versions, check-and-set, delete/undelete/destroy, metadata, max versions', async () => {
      const s = t.kms.secrets;
      const T = 'tenant-kv';
      assert.equal((await s.put(T, 'app/cfg', { v: 1 })).version, 1);
      assert.equal((await s.put(T, 'app/cfg', { v: 2 }, { cas: 1 })).version, 2);
      await assert.rejects(s.put(T, 'app/cfg', { v: 3 }, { cas: 1 }), (e: Error & { code?: string }) => e.code === 'KMS_CAS_MISMATCH');
      await assert.rejects(s.put(T, 'app/new', { v: 1 }, { cas: 5 }), (e: Error & { code?: string }) => e.code === 'KMS_CAS_MISMATCH');
      assert.equal((await s.put(T, 'app/new2', { v: 1 }, { cas: 0 })).version, 1);
      assert.deepEqual((await s.get(T, 'app/cfg')).data, { v: 2 });
      assert.deepEqual((await s.get(T, 'app/cfg', 1)).data, { v: 1 });
      await s.delete(T, 'app/cfg');
      await assert.rejects(s.get(T, 'app/cfg'), (e: Error & { code?: string }) => e.code === 'KMS_RESOURCE_NOT_FOUND');
      await s.undelete(T, 'app/cfg', [2]);
      assert.deepEqual((await s.get(T, 'app/cfg')).data, { v: 2 });
      await s.destroy(T, 'app/cfg', [1]);
      await assert.rejects(s.get(T, 'app/cfg', 1));
      await s.undelete(T, 'app/cfg', [1]); // destroyed stays destroyed
      await assert.rejects(s.get(T, 'app/cfg', 1));
      let m = await s.metadata(T, 'app/cfg');
      assert.equal(m.current_version, 2);
      assert.equal(m.versions['1']!.destroyed, true);
      await s.setMetadata(T, 'app/cfg', { max_versions: 2, cas_required: true, custom_metadata: { owner: 'team-a' } });
      await assert.rejects(s.put(T, 'app/cfg', { v: 3 }), (e: Error & { code?: string }) => e.code === 'KMS_CAS_MISMATCH');
      await s.put(T, 'app/cfg', { v: 3 }, { cas: 2 });
      await s.put(T, 'app/cfg', { v: 4 }, { cas: 3 });
      m = await s.metadata(T, 'app/cfg');
      assert.deepEqual(Object.keys(m.versions), ['3', '4']);
      assert.equal(m.oldest_version, 3);
      assert.deepEqual(m.custom_metadata, { owner: 'team-a' });
      assert.deepEqual(await s.list(T, 'app/'), ['app/cfg', 'app/new2']);
      await s.deleteAll(T, 'app/cfg');
      await assert.rejects(s.metadata(T, 'app/cfg'));
      await assert.rejects(s.put(T, '../etc', { v: 1 }), (e: Error & { code?: string }) => e.code === 'INPUT_INVALID');
    });

    test('concurrent writers never assign one version twice', async () => {
      const res = await Promise.all(Array.from({ length: 12 }, (_, i) => t.kms.secrets.put('tenant-c', 'race/x', { i })));
      assert.deepEqual(res.map((r) => r.version).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
    });

    test('admin API: bearer JWT roles; tenant A admin cannot see or touch tenant B', async () => {
      const aTok = await admin.token({ sub: 'alice', roles: ['tenant-admin'], tenant: 'tenant-a' });
      const root = await admin.token({ sub: 'root', roles: ['kms-admin'] });
      const put = (tok: string | undefined, tenant: string) =>
        app.inject({ method: 'POST', url: `/kms/v0/tenants/${tenant}/secrets/data/api/key`, headers: tok ? { authorization: `Bearer ${tok}` } : {}, payload: { data: { value: 'k1' } } });
      assert.equal((await put(undefined, 'tenant-a')).statusCode, 401);
      assert.equal((await put('not.a.jwt', 'tenant-a')).statusCode, 401);
      assert.equal((await put(aTok, 'tenant-a')).statusCode, 200);
      assert.equal((await put(aTok, 'tenant-b')).statusCode, 403);
      for (const url of ['/kms/v0/tenants/tenant-b/secrets', '/kms/v0/tenants/tenant-b/policies', '/kms/v0/tenants/tenant-b/audit', '/kms/v0/tenants/tenant-b/secrets/metadata/api/key', '/kms/v0/audit']) {
        assert.equal((await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${aTok}` } })).statusCode, 403, url);
      }
      assert.equal((await app.inject({ method: 'PUT', url: '/kms/v0/tenants/tenant-b/policies', headers: { authorization: `Bearer ${aTok}` }, payload: ALLOW_SIM })).statusCode, 403);
      assert.equal((await put(root, 'tenant-b')).statusCode, 200);
      // a tenant's audit view holds only its own entries
      const audit = await app.inject({ method: 'GET', url: '/kms/v0/tenants/tenant-a/audit', headers: { authorization: `Bearer ${aTok}` } });
      const entries = (audit.json() as { entries: Array<{ entry: { tenant: string } }> }).entries;
      assert.ok(entries.length > 0 && entries.every((e) => e.entry.tenant === 'tenant-a'));
      // an expired admin token is refused
      t.clock.advance(601_000);
      assert.equal((await put(aTok, 'tenant-a')).statusCode, 401);
    });

    test('admin KV over HTTP: cas conflict is 409; read back; metadata', async () => {
      const tok = await admin.token({ sub: 'bob', roles: ['tenant-admin'], tenant: 'tenant-h' });
      const h = { authorization: `Bearer ${tok}` };
      const w = (cas?: number) => app.inject({ method: 'POST', url: '/kms/v0/tenants/tenant-h/secrets/data/svc/pw', headers: h, payload: { data: { value: 'v' }, ...(cas !== undefined ? { options: { cas } } : {}) } });
      assert.equal((await w(0)).statusCode, 200);
      const c = await w(0);
      assert.equal(c.statusCode, 409);
      const r = await app.inject({ method: 'GET', url: '/kms/v0/tenants/tenant-h/secrets/data/svc/pw', headers: h });
      assert.deepEqual((r.json() as { data: { data: unknown } }).data.data, { value: 'v' });
      const m = await app.inject({ method: 'GET', url: '/kms/v0/tenants/tenant-h/secrets/metadata/svc/pw', headers: h });
      assert.equal((m.json() as { data: { current_version: number } }).data.current_version, 1);
    });

    test('policies are versioned; dry-run names the deciding rule', async () => {
      const tok = await admin.token({ sub: 'carol', roles: ['tenant-admin'], tenant: 'tenant-d' });
      const h = { authorization: `Bearer ${tok}` };
      const put = (prefix: string, doc: object) => app.inject({ method: 'PUT', url: `/kms/v0/tenants/tenant-d/policies?prefix=${prefix}`, headers: h, payload: doc });
      assert.equal((await put('', ALLOW_SIM)).statusCode, 200);
      const v2 = await put('', { rules: [{ name: 'snp-m1', platforms: ['snp'], measurements: ['aa'.repeat(48)], allowSimulated: true }] });
      assert.equal((v2.json() as { version: number }).version, 2);
      assert.equal((await put('db', { rules: [{ bogus: true }] })).statusCode, 400);
      const hist = await app.inject({ method: 'GET', url: '/kms/v0/tenants/tenant-d/policies?prefix=', headers: h });
      assert.equal((hist.json() as { history: unknown[] }).history.length, 2);
      const dry = (measurement: string) =>
        app.inject({ method: 'POST', url: '/kms/v0/tenants/tenant-d/policies/dry-run', headers: h, payload: { path: 'db/pw', claims: { platform: 'snp', measurement, simulated: true } } });
      const yes = (await dry('aa'.repeat(48))).json() as { allow: boolean; decidedBy: { rule: string; version: number } };
      assert.equal(yes.allow, true);
      assert.equal(yes.decidedBy.rule, 'snp-m1');
      assert.equal(yes.decidedBy.version, 2);
      const no = (await dry('bb'.repeat(48))).json() as { allow: boolean; decidedBy: { rule: string } };
      assert.equal(no.allow, false);
      assert.match(no.decidedBy.rule, /snp-m1: measurement not listed/);
    });

    test('audit: every release/denial/admin action is chained; an edit or a deletion is detected', async () => {
      const good = await verifyAudit(db, t.kms.keys);
      assert.equal(good.ok, true, good.problems.join('\n'));
      assert.ok(good.entries > 10);
      const all = await t.kms.audit.list({ limit: 10_000 });
      const release = all.find((r) => r.entry.action === 'kbs.release' && r.entry.decision === 'allow');
      assert.ok(release && /^[0-9a-f]{64}$/.test(release.entry.claimsDigest ?? '') && /^[0-9a-f]{64}$/.test(release.entry.requestDigest ?? ''));
      assert.ok(release.entry.policyVersions && Object.keys(release.entry.policyVersions).length > 0);
      const attested = all.find((r) => r.entry.action === 'kbs.attest' && r.entry.decision === 'allow');
      assert.ok(attested && /^[0-9a-f]{64}$/.test(attested.entry.evidenceDigest ?? ''));
      assert.ok(all.some((r) => r.entry.action === 'kbs.release' && r.entry.decision === 'deny'));
      assert.ok(all.some((r) => r.entry.action === 'kbs.attest' && r.entry.decision === 'deny'));
      assert.ok(all.some((r) => r.entry.action.startsWith('admin.') && r.entry.decision === 'deny'));
      assert.ok(!JSON.stringify(all).includes(SECRET), 'no secret value in the audit log');
      const victim = all[3]!;
      const [orig] = await db.query('SELECT entry FROM kms_audit WHERE seq = $1', [victim.seq]);
      // the database refuses edits and deletions outright …
      await assert.rejects(db.query('UPDATE kms_audit SET entry = entry WHERE seq = $1', [victim.seq]), /append-only/);
      await assert.rejects(db.query('DELETE FROM kms_audit WHERE seq = $1', [victim.seq]), /append-only/);
      // … and when an attacker with owner rights switches that off, the chain catches it
      await db.query('ALTER TABLE kms_audit DISABLE TRIGGER kms_audit_append_only');
      // edit: flip a decision
      await db.query('UPDATE kms_audit SET entry = $2 WHERE seq = $1', [victim.seq, String(orig!['entry']).replace(/"decision":"[a-z]+"/, '"decision":"allow"').replace('"tenant":"', '"tenant":"x')]);
      const edited = await verifyAudit(db, t.kms.keys);
      assert.equal(edited.ok, false);
      assert.ok(edited.problems.some((p) => p.includes(`entry ${victim.seq}`) && /edited/.test(p)), edited.problems.join('\n'));
      await db.query('UPDATE kms_audit SET entry = $2 WHERE seq = $1', [victim.seq, orig!['entry']]);
      assert.equal((await verifyAudit(db, t.kms.keys)).ok, true);
      // deletion of an entry in the middle
      const [row] = await db.query('SELECT * FROM kms_audit WHERE seq = $1', [victim.seq]);
      await db.query('DELETE FROM kms_audit WHERE seq = $1', [victim.seq]);
      const deleted = await verifyAudit(db, t.kms.keys);
      assert.equal(deleted.ok, false);
      assert.ok(deleted.problems.some((p) => /missing/.test(p)), deleted.problems.join('\n'));
      await db.query('INSERT INTO kms_audit (seq, at_ms, tenant, entry, prev_hash, hash, mac) VALUES ($1, $2, $3, $4, $5, $6, $7)', [row!['seq'], row!['at_ms'], row!['tenant'], row!['entry'], row!['prev_hash'], row!['hash'], row!['mac']]);
      // truncation of the tail is caught against a recorded head
      const head = (await verifyAudit(db, t.kms.keys)).head!;
      await db.query('DELETE FROM kms_audit WHERE seq = $1', [head.seq]);
      const truncated = await verifyAudit(db, t.kms.keys, { expectHead: head });
      assert.equal(truncated.ok, false);
      assert.ok(truncated.problems.some((p) => /truncated/.test(p)));
      await db.query('ALTER TABLE kms_audit ENABLE TRIGGER kms_audit_append_only');
    });

    test('TEE registry: a rule with registered:true passes only after a tenant admin approves the TEE', async () => {
      await t.kms.policies.put('tenant-g', '', ALLOW_SIM);
      await t.kms.policies.put('tenant-g', 'reg', { rules: [{ name: 'registered-only', allowSimulated: true, registered: true }] });
      await t.kms.secrets.put('tenant-g', 'reg/key', { value: 'for registered TEEs' });
      const { cookie } = await attestOver();
      const get = () => app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-g/reg/key', headers: { cookie } });
      const before = await get();
      assert.equal(before.statusCode, 403);
      assert.match(before.body, /not registered/);
      const reg = await app.inject({ method: 'POST', url: '/kms/v0/registry/register', headers: { cookie }, payload: { tenant: 'tenant-g' } });
      assert.equal(reg.statusCode, 200, reg.body);
      const entry = reg.json() as { teeId: string; kind: string; status: string };
      assert.equal(entry.status, 'pending');
      assert.equal(entry.kind, 'chip-id');
      assert.equal((await get()).statusCode, 403, 'pending is not approved');
      const other = await admin.token({ sub: 'mallory', roles: ['tenant-admin'], tenant: 'tenant-b' });
      const own = await admin.token({ sub: 'gina', roles: ['tenant-admin'], tenant: 'tenant-g' });
      const approve = (tok: string, tenant: string) => app.inject({ method: 'POST', url: `/kms/v0/tenants/${tenant}/registry/${encodeURIComponent(entry.teeId)}/approve`, headers: { authorization: `Bearer ${tok}` } });
      assert.equal((await approve(other, 'tenant-g')).statusCode, 403);
      assert.equal((await approve(other, 'tenant-b')).statusCode, 404, 'the TEE is not registered to tenant-b');
      assert.equal((await approve(own, 'tenant-g')).statusCode, 200);
      assert.equal((await get()).statusCode, 200);
      const list = await app.inject({ method: 'GET', url: '/kms/v0/tenants/tenant-g/registry', headers: { authorization: `Bearer ${own}` } });
      assert.equal((list.json() as { tees: Array<{ status: string; decidedBy: string }> }).tees[0]!.decidedBy, 'gina');
      await app.inject({ method: 'POST', url: `/kms/v0/tenants/tenant-g/registry/${encodeURIComponent(entry.teeId)}/revoke`, headers: { authorization: `Bearer ${own}` } });
      assert.equal((await get()).statusCode, 403);
    });

    test('TEE registry: a TDX machine is identified by the PPID of its PCK certificate, the same across sessions and keys', async () => {
      const tdxSession = async () => {
        const keys = await generateTeeKeyPair();
        const a = await app.inject({ method: 'POST', url: '/kbs/v0/auth', payload: { version: '0.1.0', tee: 'tdx' } });
        const cookie = cookieOf(a);
        const rd = runtimeDataHash((a.json() as { nonce: string }).nonce, keys.publicJwk);
        const r = await app.inject({ method: 'POST', url: '/kbs/v0/attest', headers: { cookie }, payload: { 'tee-pubkey': keys.publicJwk, 'tee-evidence': t.tee.evidence('tdx', { reportData: computeReportData({ nonce: rd }) }) } });
        assert.equal(r.statusCode, 200, r.body);
        const reg = await app.inject({ method: 'POST', url: '/kms/v0/registry/register', headers: { cookie }, payload: { tenant: 'tenant-p' } });
        assert.equal(reg.statusCode, 200, reg.body);
        return reg.json() as { teeId: string; kind: string; platform: string };
      };
      const one = await tdxSession();
      const two = await tdxSession();
      assert.equal(one.kind, 'pck');
      assert.equal(one.platform, 'tdx');
      assert.match(one.teeId, /^pck:[0-9a-f]{32}$/);
      assert.equal(two.teeId, one.teeId, 'two sessions with different keys on one machine are one TEE');
      // an SNP workload is identified by its chip id, and an envelope that is not TDX yields no PPID
      const { tdxPckPpid } = await import('./registry.js');
      assert.equal(tdxPckPpid(t.tee.evidence('snp', { reportData: new Uint8Array(64) })), undefined);
      assert.equal(tdxPckPpid('{"platform":"tdx","evidence":{"quote":"AAAA"}}'), undefined);
    });

    test('logs carry no secret value, token, nonce, cookie or key', async () => {
      const { r, cookie, nonce } = await attestOver();
      const token = (r.json() as { token: string }).token;
      await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers: { cookie } });
      await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers: { authorization: `Bearer ${token}` } });
      await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-a/db/password', headers: { cookie: `${SESSION_COOKIE}=nope` } });
      // admin writes and reads a secret over HTTP; a workload uses transit
      const adminTok = await admin.token({ sub: 'ops', roles: ['kms-admin'] });
      const ADMIN_SECRET = 'admin-written-value-7f3e9a';
      const put = await app.inject({ method: 'POST', url: '/kms/v0/tenants/tenant-a/secrets/data/logs/probe', headers: { authorization: `Bearer ${adminTok}` }, payload: { data: { value: ADMIN_SECRET } } });
      assert.equal(put.statusCode, 200, put.body);
      assert.ok((await app.inject({ method: 'GET', url: '/kms/v0/tenants/tenant-a/secrets/data/logs/probe', headers: { authorization: `Bearer ${adminTok}` } })).body.includes(ADMIN_SECRET));
      await t.kms.transit.create('tenant-a', 'logkey').catch(() => undefined);
      const PLAIN = Buffer.from('transit-plaintext-91c2').toString('base64');
      const enc = await app.inject({ method: 'POST', url: '/kms/v0/transit/tenant-a/encrypt/logkey', headers: { authorization: `Bearer ${token}` }, payload: { plaintext: PLAIN } });
      assert.equal(enc.statusCode, 200, enc.body);
      assert.ok(logs.length > 0, 'the service logged something');
      assert.ok(logs.includes('/kbs/v0/resource/tenant-a/db/password'), 'request paths are logged');
      for (const [what, value] of [
        ['secret', SECRET],
        ['token', token],
        ['token signature', token.split('.')[2]!],
        ['nonce', nonce],
        ['session id', cookie.split('=')[1]!],
        ['admin-written secret', ADMIN_SECRET],
        ['admin token', adminTok],
        ['transit plaintext', PLAIN],
        ['transit plaintext (decoded)', 'transit-plaintext-91c2'],
        ['transit ciphertext', (enc.json() as { ciphertext: string }).ciphertext],
        ['root key (hex)', Buffer.from(t.root).toString('hex')],
        ['root key (base64)', Buffer.from(t.root).toString('base64')],
      ] as const) {
        assert.ok(!logs.includes(value), `the ${what} appears in the logs`);
      }
      assert.ok(!/"d":"/.test(logs), 'no private JWK in the logs');
    });

    test('bad input: tee-pubkey with private parts, unknown tee, oversize body', async () => {
      const keys = await generateTeeKeyPair();
      const { exportJWK } = await import('jose');
      const priv = await exportJWK(keys.privateKey);
      const res = await attestOver((rd) => t.tee.evidence('snp', { reportData: computeReportData({ nonce: rd }) }), { publicJwk: priv, privateKey: keys.privateKey });
      assert.equal(res.r.statusCode, 401);
      assert.match(res.r.body, /private key members/);
      assert.equal((await app.inject({ method: 'POST', url: '/kbs/v0/auth', payload: { tee: 'sgx-evil' } })).statusCode, 400);
      const big = await app.inject({ method: 'POST', url: '/kbs/v0/attest', headers: { 'content-type': 'application/json' }, payload: '{"x":"' + 'a'.repeat(1_200_000) + '"}' });
      assert.equal(big.statusCode, 413);
      assert.ok(big.body.length < 300);
      assert.ok(utf8('x').length === 1);
    });
  });
}
