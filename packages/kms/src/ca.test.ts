/**
 * Workload CA: two attested services get short-lived certificates for their attested keys
 * and talk mutual TLS; each checks the other's attestation extension, not only the chain.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { computeReportData } from '@veritee/attestation';
import type { FastifyInstance } from 'fastify';
import { backends, openTestKms, MovableClock, type TestKms } from './testing.js';
import { generateTeeKeyPair, runtimeDataHash } from './kms.js';
import { buildKmsServer, SESSION_COOKIE } from './server.js';
import { privateKeyPem, verifyWorkloadCertificate, ATTESTATION_EXT_OID, WorkloadCa } from './ca.js';
import type { SqlDb } from './db.js';

const M_A = new Uint8Array(48).fill(0xa1);
const M_B = new Uint8Array(48).fill(0xb2);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

for (const backend of backends()) {
  describe(`workload CA and mTLS on ${backend.name}`, () => {
    let db: SqlDb;
    let t: TestKms;
    let app: FastifyInstance;

    before(async () => {
      db = await backend.open();
      // TLS checks certificates against the real clock, so this KMS runs on it too.
      t = await openTestKms(db, { clock: new MovableClock(Date.now()), trustDomain: 'prod.example' });
      app = await buildKmsServer({ kms: t.kms });
      await t.kms.policies.put('tenant-m', '', { rules: [{ name: 'dev', platforms: ['snp'], allowSimulated: true }] });
      await t.kms.policies.put('tenant-m', 'ca/payments', { rules: [{ name: 'payments-build', measurements: [hex(M_A)], allowSimulated: true }] });
    });
    after(async () => {
      await app?.close();
      await db?.close();
      await backend.close();
    });

    async function workloadCert(measurement: Uint8Array, workload: string) {
      const keys = await generateTeeKeyPair();
      const a = await app.inject({ method: 'POST', url: '/kbs/v0/auth', payload: { version: '0.1.0', tee: 'snp' } });
      const cookie = ([] as string[]).concat(a.headers['set-cookie'] as string).map((c) => c.split(';')[0]!).find((c) => c.startsWith(SESSION_COOKIE))!;
      const rd = runtimeDataHash((a.json() as { nonce: string }).nonce, keys.publicJwk);
      const ev = t.tee.evidence('snp', { reportData: computeReportData({ nonce: rd }), measurement });
      const r = await app.inject({ method: 'POST', url: '/kbs/v0/attest', headers: { cookie }, payload: { 'tee-pubkey': keys.publicJwk, 'tee-evidence': ev } });
      assert.equal(r.statusCode, 200, r.body);
      const c = await app.inject({ method: 'POST', url: '/kms/v0/ca/issue', headers: { cookie }, payload: { tenant: 'tenant-m', workload, dns: ['localhost'] } });
      return { res: c, keys };
    }

    test('issued certificate: SPIFFE ID, attestation extension, short life, attested key', async () => {
      const { res, keys } = await workloadCert(M_A, 'payments');
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { certificate: string; chain: string[]; spiffe_id: string; not_after: string };
      assert.equal(body.spiffe_id, 'spiffe://prod.example/tenant/tenant-m/workload/payments');
      const x = new X509Certificate(body.certificate);
      assert.match(x.subjectAltName ?? '', /URI:spiffe:\/\/prod\.example\/tenant\/tenant-m\/workload\/payments/);
      assert.equal(x.ca, false);
      assert.ok(Date.parse(x.validTo) - Date.now() <= 15 * 60_000 + 1000);
      assert.ok(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(privateKeyPem(keys.privateKey))));
      const v = verifyWorkloadCertificate(body.certificate, { caCert: body.chain[0]!, at: new Date(), trustDomain: 'prod.example', expect: { tenant: 'tenant-m', measurements: [hex(M_A)], allowSimulated: true } });
      assert.equal(v.attestation.measurement, hex(M_A));
      assert.equal(v.attestation.platform, 'snp');
      assert.match(v.attestation.evidenceDigest, /^[0-9a-f]{64}$/);
      assert.match(v.attestation.reportDataHash, /^[0-9a-f]{64}$/);
      const bundle = (await app.inject({ method: 'GET', url: '/kms/v0/ca/bundle' })).json() as { bundle: string; trust_domain: string };
      assert.equal(bundle.bundle, body.chain[0]);
      // negative: wrong measurement expected, later time, simulated refused, tampered extension, other workload
      const base = { caCert: bundle.bundle, at: new Date() };
      assert.throws(() => verifyWorkloadCertificate(body.certificate, { ...base, expect: { measurements: [hex(M_B)], allowSimulated: true } }), /measurement/);
      assert.throws(() => verifyWorkloadCertificate(body.certificate, { ...base, at: Date.now() + 16 * 60_000, expect: { allowSimulated: true } }), /expired/);
      assert.throws(() => verifyWorkloadCertificate(body.certificate, base), /SIMULATED/);
      assert.throws(() => verifyWorkloadCertificate(body.certificate, { ...base, expect: { workload: 'ledger', allowSimulated: true } }), /workload/);
      const der = Buffer.from(x.raw);
      const i = der.indexOf(Buffer.from(hex(M_A)));
      assert.ok(i > 0);
      der[i] = 'b'.charCodeAt(0);
      assert.throws(() => verifyWorkloadCertificate(new Uint8Array(der), { ...base, expect: { allowSimulated: true } }), /signature/);
      assert.ok(ATTESTATION_EXT_OID.startsWith('2.25.'));
    });

    test('a workload whose measurement the ca/<workload> policy does not list gets 403', async () => {
      const { res } = await workloadCert(M_B, 'payments');
      assert.equal(res.statusCode, 403);
      assert.match(res.body, /payments-build: measurement not listed/);
    });

    test('mTLS between two attested services; each checks the peer attestation; a foreign CA is refused', async () => {
      const a = await workloadCert(M_A, 'payments');
      const b = await workloadCert(M_B, 'ledger');
      assert.equal(b.res.statusCode, 200, b.res.body);
      const ca = (a.res.json() as { chain: string[] }).chain[0]!;
      const certA = (a.res.json() as { certificate: string }).certificate;
      const certB = (b.res.json() as { certificate: string }).certificate;
      const seen: string[] = [];
      const server = createServer({ key: privateKeyPem(a.keys.privateKey), cert: certA, ca, requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
        try {
          const peer = verifyWorkloadCertificate(new Uint8Array(s.getPeerCertificate().raw), { caCert: ca, at: new Date(), trustDomain: 'prod.example', expect: { tenant: 'tenant-m', workload: 'ledger', measurements: [hex(M_B)], allowSimulated: true } });
          seen.push(`server saw ${peer.spiffeId}`);
          s.end('pong');
        } catch (e) {
          seen.push(`server refused: ${(e as Error).message}`);
          s.destroy();
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as AddressInfo).port;
      const call = (key: string, cert: string, trust: string) =>
        new Promise<string>((resolve, reject) => {
          const s = connect({
            host: '127.0.0.1',
            port,
            key,
            cert,
            ca: trust,
            // identity is the SPIFFE ID plus the attestation, not a DNS name
            checkServerIdentity: (_h, peer) => {
              try {
                verifyWorkloadCertificate(new Uint8Array(peer.raw), { caCert: trust, at: new Date(), expect: { workload: 'payments', measurements: [hex(M_A)], allowSimulated: true } });
                return undefined;
              } catch (e) {
                return e as Error;
              }
            },
          });
          let data = '';
          s.on('data', (d: Buffer) => (data += d.toString()));
          s.on('end', () => resolve(data));
          s.on('error', reject);
        });
      try {
        assert.equal(await call(privateKeyPem(b.keys.privateKey), certB, ca), 'pong');
        assert.deepEqual(seen, ['server saw spiffe://prod.example/tenant/tenant-m/workload/ledger']);
        // a certificate from another CA (another KMS) fails the TLS handshake
        const otherCa = WorkloadCa.ephemeral(() => Date.now(), 'prod.example');
        const k = await generateTeeKeyPair();
        const foreign = otherCa.issue({ publicJwk: k.publicJwk, attestation: { v: 1, platform: 'snp', measurement: hex(M_B), tcb: {}, reportDataHash: '', evidenceDigest: '', simulated: true, tenant: 'tenant-m', workload: 'ledger' } });
        const got = await call(privateKeyPem(k.privateKey), foreign.certPem, ca).catch(() => 'refused');
        assert.notEqual(got, 'pong');
        assert.equal(seen.length, 1, 'the server never served the foreign client');
        // and a client that trusts only the other CA refuses our server
        await assert.rejects(call(privateKeyPem(b.keys.privateKey), certB, otherCa.certPem));
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
      }
    });
  });
}
