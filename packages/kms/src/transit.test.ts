/**
 * Transit keys for attested workloads and automatic revocation on re-attestation failure,
 * on both storage backends.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { flattenedDecrypt } from 'jose';
import { computeReportData, ReattestationScheduler, SimulatedTee, type Policy } from '@veritee/attestation';
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
      await t.kms.transit.create('tenant-t', 'revo');
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

    test('scheduled rotation: the scheduler rotates due keys without any use, once per period, and audits it', async () => {
      const { transitRotationScheduler } = await import('./rotation.js');
      await t.kms.transit.create('tenant-t', 'sched', { autoRotatePeriodSeconds: 7200 });
      await t.kms.transit.create('tenant-t', 'never'); // no period: never rotated by the scheduler
      const sched = transitRotationScheduler(t.kms);
      const other = transitRotationScheduler((await openTestKms(db, { clock: t.clock, root: t.root })).kms); // a second instance ticking too
      assert.deepEqual((await sched.tick()).filter((r) => r.name === 'sched'), []);
      t.clock.advance(2 * HOUR - 1);
      assert.deepEqual((await sched.tick()).filter((r) => r.name === 'sched'), [], 'not due one millisecond early');
      t.clock.advance(1);
      const [a, b] = await Promise.all([sched.tick(), other.tick()]);
      const rotated = [...a, ...b].filter((r) => r.name === 'sched');
      assert.deepEqual(rotated, [{ tenant: 'tenant-t', name: 'sched', version: 2 }], 'two instances ticking at once rotate once');
      assert.equal((await t.kms.transit.info('tenant-t', 'sched')).latest_version, 2);
      assert.equal((await t.kms.transit.info('tenant-t', 'never')).latest_version, 1);
      // the next period counts from the rotation
      t.clock.advance(HOUR);
      assert.deepEqual((await sched.tick()).filter((r) => r.name === 'sched'), []);
      t.clock.advance(HOUR);
      assert.deepEqual((await sched.tick()).filter((r) => r.name === 'sched'), [{ tenant: 'tenant-t', name: 'sched', version: 3 }]);
      // a revoked key is not rotated
      await t.kms.transit.revoke('tenant-t', 'sched');
      t.clock.advance(3 * HOUR);
      assert.deepEqual((await sched.tick()).filter((r) => r.name === 'sched'), []);
      // old ciphertexts still decrypt after scheduled rotations (min_decryption_version stays 1)
      const audit = await t.kms.audit.list({ tenant: 'tenant-t' });
      assert.equal(audit.filter((e) => e.entry.action === 'transit.auto-rotate' && e.entry.resource === 'tenant-t/transit/sched').length, 2);
      // the timer drives tick(): with a short interval, a due key rotates on its own
      await t.kms.transit.create('tenant-t', 'timed', { autoRotatePeriodSeconds: 3600 });
      t.clock.advance(HOUR);
      const timed = transitRotationScheduler(t.kms, { intervalMs: 20 });
      timed.start();
      const deadline = Date.now() + 5000;
      while ((await t.kms.transit.info('tenant-t', 'timed')).latest_version < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await timed.stop();
      assert.equal((await t.kms.transit.info('tenant-t', 'timed')).latest_version, 2);
      assert.deepEqual(timed.errors, []);
    });

    /**
     * One automatic-revocation scenario: a workload attests, gets a token, uses transit and
     * holds a workload certificate (a lease); the re-attestation scheduler verifies its
     * machine once, then `breakIt()` makes the next run fail for `reason`. Within seconds
     * the session (cookie), the token, and the certificate lease are dead on this instance
     * and on another one sharing the database.
     */
    async function revocationScenario(o: { tee: SimulatedTee; appFor: FastifyInstance; measurement?: Uint8Array; policies: Record<string, Policy>; serve: () => unknown; breakIt: () => void; reason: string }) {
      const w = await attest(o.appFor, o.tee, o.measurement);
      const bystander = await openTestKms(db, { clock: t.clock, root: t.root }); // another KMS instance on the same database
      const scheduler = new ReattestationScheduler({
        clock: t.clock,
        simulatedAnchors: o.tee.anchors,
        policies: o.policies, // read by name on every run
        fetch: (async () => new Response(JSON.stringify(o.serve()))) as typeof fetch,
      });
      scheduler.register({ id: 'node-1', url: 'http://node-1.invalid/evidence', policy: 'dev' });
      const link = revokeOnReattestationFailure(t.kms, scheduler);
      await scheduler.runOnce();
      await link.settled();
      assert.equal(link.log.length, 0);
      const enc = () => app.inject({ method: 'POST', url: '/kms/v0/transit/tenant-t/encrypt/revo', headers: { authorization: `Bearer ${w.token}` }, payload: { plaintext: 'AA==' } });
      assert.equal((await enc()).statusCode, 200);
      const cert = await app.inject({ method: 'POST', url: '/kms/v0/ca/issue', headers: { authorization: `Bearer ${w.token}` }, payload: { tenant: 'tenant-t', workload: 'svc' } });
      assert.equal(cert.statusCode, 200, cert.body);
      const serial = (cert.json() as { serial: string }).serial;
      const status = async () => (await app.inject({ method: 'GET', url: `/kms/v0/ca/status/${serial}` })).json() as { status: string; reason?: string };
      assert.equal((await status()).status, 'good');
      o.breakIt();
      const started = Date.now();
      await scheduler.runOnce();
      await link.settled();
      const took = Date.now() - started;
      assert.equal(link.log.length, 1, JSON.stringify(link.log));
      assert.deepEqual(link.log[0]!.reasons, [o.reason]);
      assert.ok(link.log[0]!.revoked >= 1, 'the session was revoked');
      assert.ok(link.log[0]!.leases >= 1, 'the certificate lease was revoked');
      assert.ok(took < 5000, `revocation took ${took} ms`);
      // token, session cookie and lease: all dead
      const refused = await enc();
      assert.equal(refused.statusCode, 401);
      assert.match(refused.body, /revoked/);
      assert.equal((await app.inject({ method: 'GET', url: '/kbs/v0/resource/tenant-t/x/y', headers: { cookie: w.cookie } })).statusCode, 401);
      const st = await status();
      assert.equal(st.status, 'revoked');
      assert.match(st.reason ?? '', new RegExp(o.reason));
      // the other instance sees the revocation too (shared database)
      await assert.rejects(bystander.kms.authenticate({ bearer: w.token }), (e: Error & { code?: string }) => e.code === 'KMS_NOT_ATTESTED');
      assert.equal((await bystander.kms.certificateStatus(serial)).status, 'revoked');
      // a fresh certificate cannot be had on the dead token
      assert.equal((await app.inject({ method: 'POST', url: '/kms/v0/ca/issue', headers: { authorization: `Bearer ${w.token}` }, payload: { tenant: 'tenant-t', workload: 'svc' } })).statusCode, 401);
      link.detach();
      return link.log[0]!;
    }

    test('re-attestation failure: measurement changed → sessions, tokens and leases revoked within seconds', async () => {
      const m1 = new Uint8Array(48).fill(0x11);
      const m2 = new Uint8Array(48).fill(0x22);
      let served = m1;
      await revocationScenario({
        tee: t.tee,
        appFor: app,
        measurement: m1,
        policies: { dev: devAttestationPolicy({ reportData: { require: [] } }) },
        serve: () => t.tee.evidence('snp', { reportData: new Uint8Array(64), measurement: served }),
        breakIt: () => (served = m2), // the node now runs other software
        reason: 'measurement-changed',
      });
    });

    test('re-attestation failure: TCB fell behind the policy → sessions, tokens and leases revoked within seconds', async () => {
      const policy = (minSnp: number) => devAttestationPolicy({ reportData: { require: [] }, snp: { measurements: 'any', minTcb: { snp: minSnp } } });
      const policies = { dev: policy(1) };
      await revocationScenario({
        tee: t.tee,
        appFor: app,
        policies,
        serve: () => t.tee.evidence('snp', { reportData: new Uint8Array(64) }),
        breakIt: () => (policies.dev = policy(250)), // a TCB advisory raises the minimum: the node's firmware is now behind
        reason: 'tcb-outdated',
      });
    });

    test('re-attestation failure: the platform certificate expired → sessions, tokens and leases revoked within seconds', async () => {
      // a machine whose (simulated) VCEK chain expires 120 s from now; a second KMS instance trusts it
      const shortTee = await SimulatedTee.create({ at: t.clock.t, platforms: ['snp'], validityDays: 120 / 86_400 });
      const k2 = await openTestKms(db, { clock: t.clock, root: t.root, tee: shortTee });
      const app2 = await buildKmsServer({ kms: k2.kms, rateLimit: { burst: 1000, perSecond: 1000 } });
      try {
        const log = await revocationScenario({
          tee: shortTee,
          appFor: app2,
          policies: { dev: devAttestationPolicy({ reportData: { require: [] } }) },
          serve: () => shortTee.evidence('snp', { reportData: new Uint8Array(64) }),
          breakIt: () => t.clock.advance(130_000), // past the chain's notAfter, well inside the 300 s session
          reason: 'certificate-expired',
        });
        assert.equal(log.by, 'chip id');
      } finally {
        await app2.close();
      }
    });
  });
}
