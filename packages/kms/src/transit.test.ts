/**
 * Transit keys for attested workloads and automatic revocation on re-attestation failure,
 * on both storage backends.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { flattenedDecrypt } from 'jose';
import { computeReportData, ReattestationScheduler, type SimulatedTee } from '@veritee/attestation';
import type { FastifyInstance } from 'fastify';
import { backends, openTestKms, adminIssuer, devAttestationPolicy, type TestKms } from './testing.js';
import { generateTeeKeyPair, runtimeDataHash } from './kms.js';
import { buildKmsServer, SESSION_COOKIE } from './server.js';
import { revokeOnReattestationFailure } from './revocation.js';
import type { SqlDb } from './db.js';

const ALLOW_SIM = { rules: [{ name: 'dev-sim', platforms: ['snp'], allowSimulated: true }] };
const HOUR = 3_600_000;

async function attest(app: FastifyInstance, tee: SimulatedTee, measurement?: Uint8Array) {
  const keys = await generateTeeKeyPair();
  const a = await app.inject({ method: 'POST', url: '/kbs/v0/auth', payload: { version: '0.1.0', tee: 'snp' } });
  const cookie = ([] as string[]).concat(a.headers['set-cookie'] as string).map((c) => c.split(';')[0]!).find((c) => c.startsWith(SESSION_COOKIE))!;
  const rd = runtimeDataHash((a.json() as { nonce: string }).nonce, keys.publicJwk);
  const evidence = tee.evidence('snp', { reportData: computeReportData({ nonce: rd }), ...(measurement ? { measurement } : {}) });
  const r = await app.inject({ method: 'POST', url: '/kbs/v0/attest', headers: { cookie }, payload: { 'tee-pubkey': keys.publicJwk, 'tee-evidence': evidence } });
  assert.equal(r.statusCode, 200, r.body);
  return { cookie, keys, token: (r.json() as { token: string }).token };
}

for (const backend of backends()) {
  describe(`transit and revocation on ${backend.name}`, () => {
    let db: SqlDb;
    let t: TestKms;
    let app: FastifyInstance;
    let admin: Awaited<ReturnType<typeof adminIssuer>>;

    before(async () => {
      db = await backend.open();
      t = await openTestKms(db);
      admin = await adminIssuer(t.clock);
      app = await buildKmsServer({ kms: t.kms, adminJwks: admin.jwks, rateLimit: { burst: 1000, perSecond: 1000 } });
      await t.kms.policies.put('tenant-t', '', ALLOW_SIM);
      await t.kms.policies.put('tenant-t', 'transit/locked', { rules: [{ name: 'hw-only', platforms: ['snp'] }] });
    });
    after(async () => {
      await app?.close();
      await db?.close();
      await backend.close();
    });

    test('encrypt / decrypt / rewrap / datakey for an attested workload; plaintext comes back as a JWE', async () => {
      const tok = await admin.token({ sub: 'ops', roles: ['tenant-admin'], tenant: 'tenant-t' });
      const mk = await app.inject({ method: 'POST', url: '/kms/v0/tenants/tenant-t/transit/keys/orders', headers: { authorization: `Bearer ${tok}` }, payload: {} });
      assert.equal(mk.statusCode, 200, mk.body);
      const w = await attest(app, t.tee);
      const op = (o: string, payload: object, name = 'orders', headers: Record<string, string> = { cookie: w.cookie }) =>
        app.inject({ method: 'POST', url: `/kms/v0/transit/tenant-t/${o}/${name}`, headers, payload });
      const enc = await op('encrypt', { plaintext: Buffer.from('order 66').toString('base64'), context: Buffer.from('ctx').toString('base64') });
      assert.equal(enc.statusCode, 200, enc.body);
      const ct = (enc.json() as { ciphertext: string }).ciphertext;
      assert.match(ct, /^vault:v1:/);
      const dec = await op('decrypt', { ciphertext: ct, context: Buffer.from('ctx').toString('base64') });
      assert.equal(dec.statusCode, 200, dec.body);
      const { plaintext } = await flattenedDecrypt((dec.json() as { plaintext: never }).plaintext, w.keys.privateKey);
      assert.equal(Buffer.from(plaintext).toString(), 'order 66');
      // wrong context does not decrypt
      assert.equal((await op('decrypt', { ciphertext: ct, context: Buffer.from('other').toString('base64') })).statusCode, 400);
      // rotation, rewrap, min_decryption_version
      const rot = await app.inject({ method: 'POST', url: '/kms/v0/tenants/tenant-t/transit/keys/orders/rotate', headers: { authorization: `Bearer ${tok}` } });
      assert.equal((rot.json() as { latest_version: number }).latest_version, 2);
      const re = await op('rewrap', { ciphertext: ct, context: Buffer.from('ctx').toString('base64') });
      assert.match((re.json() as { ciphertext: string }).ciphertext, /^vault:v2:/);
      const cfg = await app.inject({ method: 'POST', url: '/kms/v0/tenants/tenant-t/transit/keys/orders/config', headers: { authorization: `Bearer ${tok}` }, payload: { min_decryption_version: 2 } });
      assert.equal(cfg.statusCode, 200, cfg.body);
      const old = await op('decrypt', { ciphertext: ct, context: Buffer.from('ctx').toString('base64') });
      assert.equal(old.statusCode, 400);
      assert.match(old.body, /min_decryption_version/);
      // datakey
      const dk = await op('datakey', {});
      const dkj = dk.json() as { ciphertext: string; plaintext: never };
      const key = (await flattenedDecrypt(dkj.plaintext, w.keys.privateKey)).plaintext;
      assert.equal(key.length, 32);
      const back = await t.kms.transit.decrypt('tenant-t', 'orders', dkj.ciphertext);
      assert.deepEqual(Buffer.from(back), Buffer.from(key));
      // not attested → 401; policy-denied key → 403
      assert.equal((await op('encrypt', { plaintext: 'AA==' }, 'orders', {})).statusCode, 401);
      await t.kms.transit.create('tenant-t', 'locked');
      assert.equal((await op('encrypt', { plaintext: 'AA==' }, 'locked')).statusCode, 403);
      // incident: revoke the key → every operation refused at once
      const rv = await app.inject({ method: 'POST', url: '/kms/v0/tenants/tenant-t/transit/keys/orders/revoke', headers: { authorization: `Bearer ${tok}` } });
      assert.equal(rv.statusCode, 200);
      const after = await op('encrypt', { plaintext: 'AA==' });
      assert.equal(after.statusCode, 403);
      assert.match(after.body, /KMS_TRANSIT_KEY_REVOKED/);
      // tenant B's admin cannot rotate tenant T's key
      const other = await admin.token({ sub: 'b', roles: ['tenant-admin'], tenant: 'tenant-b' });
      assert.equal((await app.inject({ method: 'POST', url: '/kms/v0/tenants/tenant-t/transit/keys/orders/rotate', headers: { authorization: `Bearer ${other}` } })).statusCode, 403);
    });

    test('scheduled rotation: auto_rotate_period elapses → the next use rotates', async () => {
      await t.kms.transit.create('tenant-t', 'auto', { autoRotatePeriodSeconds: 3600 });
      assert.match(await t.kms.transit.encrypt('tenant-t', 'auto', new Uint8Array([1])), /^vault:v1:/);
      t.clock.advance(HOUR + 1);
      assert.match(await t.kms.transit.encrypt('tenant-t', 'auto', new Uint8Array([1])), /^vault:v2:/);
      assert.match(await t.kms.transit.encrypt('tenant-t', 'auto', new Uint8Array([1])), /^vault:v2:/);
      await assert.rejects(t.kms.transit.create('tenant-t', 'bad', { autoRotatePeriodSeconds: 5 }));
    });

    test('re-attestation failure (measurement changed) revokes the machine’s sessions and tokens automatically', async () => {
      const m1 = new Uint8Array(48).fill(0x11);
      const m2 = new Uint8Array(48).fill(0x22);
      const w = await attest(app, t.tee, m1);
      const bystander = await openTestKms(db, { clock: t.clock, root: t.root }); // another KMS instance on the same database
      let served = m1;
      const scheduler = new ReattestationScheduler({
        clock: t.clock,
        simulatedAnchors: t.tee.anchors,
        policies: { dev: devAttestationPolicy({ reportData: { require: [] } }) },
        fetch: (async () => new Response(JSON.stringify(t.tee.evidence('snp', { reportData: new Uint8Array(64), measurement: served })))) as typeof fetch,
      });
      scheduler.register({ id: 'node-1', url: 'http://node-1.invalid/evidence', policy: 'dev' });
      const link = revokeOnReattestationFailure(t.kms, scheduler);
      await scheduler.runOnce();
      await link.settled();
      assert.equal(link.log.length, 0);
      const enc = () => app.inject({ method: 'POST', url: '/kms/v0/transit/tenant-t/encrypt/auto', headers: { authorization: `Bearer ${w.token}` }, payload: { plaintext: 'AA==' } });
      assert.equal((await enc()).statusCode, 200);
      served = m2; // the node now runs other software
      const started = Date.now();
      await scheduler.runOnce();
      await link.settled();
      const took = Date.now() - started;
      assert.equal(link.log.length, 1);
      assert.deepEqual(link.log[0]!.reasons, ['measurement-changed']);
      assert.ok(link.log[0]!.revoked >= 1);
      assert.ok(took < 5000, `revocation took ${took} ms`);
      const refused = await enc();
      assert.equal(refused.statusCode, 401);
      assert.match(refused.body, /revoked/);
      assert.equal((await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-t/x/y', headers: { cookie: w.cookie } })).statusCode, 401);
      // the other instance sees the revocation too (shared database)
      await assert.rejects(bystander.kms.authenticate({ bearer: w.token }), (e: Error & { code?: string }) => e.code === 'KMS_NOT_ATTESTED');
      link.detach();
    });
  });
}
