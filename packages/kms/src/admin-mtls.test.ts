/**
 * Admin API over mTLS client certificates (the alternative to bearer JWTs): certificates
 * from an admin CA made with the openssl CLI. kms-admin sees everything; a tenant admin's
 * certificate opens its tenant only; a certificate of another CA, or none, is refused;
 * workloads still connect without a certificate; a bearer token still works.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { openEmbedded, type SqlDb } from './db.js';
import { openTestKms, MovableClock, adminIssuer, type TestKms } from './testing.js';
import { buildKmsServer } from './server.js';

let tmp: string;
let db: SqlDb;
let t: TestKms;
let app: FastifyInstance;
let port: number;
let admin: Awaited<ReturnType<typeof adminIssuer>>;
const pem = (name: string) => readFileSync(join(tmp, name), 'utf8');

function ossl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
}
function makeCa(name: string): void {
  ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  ossl('req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-days', '2', '-out', `${name}.pem`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}
function makeLeaf(name: string, ca: string, cn: string, ext: string): void {
  ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  ossl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
  writeFileSync(join(tmp, `${name}.ext`), ext);
  ossl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
}

function call(path: string, who?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', ca: pem('server-ca.pem'), servername: 'localhost', headers, ...(who ? { key: pem(`${who}.key`), cert: pem(`${who}.pem`) } : {}) },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'veritee-kms-admin-mtls-'));
  makeCa('server-ca');
  makeCa('admin-ca');
  makeCa('other-ca');
  makeLeaf('server', 'server-ca', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  makeLeaf('root-admin', 'admin-ca', 'alice', 'subjectAltName=URI:urn:veritee:kms-admin:kms-admin\nextendedKeyUsage=clientAuth\n');
  makeLeaf('tenant-a-admin', 'admin-ca', 'bob', 'subjectAltName=URI:urn:veritee:kms-admin:tenant-admin:tenant-a\nextendedKeyUsage=clientAuth\n');
  makeLeaf('no-role', 'admin-ca', 'carol', 'extendedKeyUsage=clientAuth\n');
  makeLeaf('forged', 'other-ca', 'mallory', 'subjectAltName=URI:urn:veritee:kms-admin:kms-admin\nextendedKeyUsage=clientAuth\n');
  db = await openEmbedded();
  t = await openTestKms(db, { clock: new MovableClock(Date.now()) });
  admin = await adminIssuer(t.clock);
  await t.kms.secrets.put('tenant-a', 'db/password', { value: 'a-secret' });
  await t.kms.secrets.put('tenant-b', 'db/password', { value: 'b-secret' });
  app = await buildKmsServer({ kms: t.kms, adminJwks: admin.jwks, adminClientCa: pem('admin-ca.pem'), https: { key: pem('server.key'), cert: pem('server.pem') } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
after(async () => {
  await app?.close();
  await db?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('admin API over mTLS client certificates: roles from the certificate, tenant isolation, foreign CA refused', async () => {
  // kms-admin certificate: any tenant, and the global audit
  const a = await call('/kms/v0/tenants/tenant-b/secrets/data/db/password', 'root-admin');
  assert.equal(a.status, 200, a.body);
  assert.match(a.body, /b-secret/);
  assert.equal((await call('/kms/v0/audit', 'root-admin')).status, 200);
  // tenant admin of tenant-a: its tenant only
  assert.equal((await call('/kms/v0/tenants/tenant-a/secrets/data/db/password', 'tenant-a-admin')).status, 200);
  const cross = await call('/kms/v0/tenants/tenant-b/secrets/data/db/password', 'tenant-a-admin');
  assert.equal(cross.status, 403);
  assert.match(cross.body, /KMS_ADMIN_FORBIDDEN/);
  assert.ok(!cross.body.includes('b-secret'));
  assert.equal((await call('/kms/v0/audit', 'tenant-a-admin')).status, 403);
  // a valid admin-CA certificate without a role
  assert.equal((await call('/kms/v0/tenants/tenant-a/secrets/data/db/password', 'no-role')).status, 403);
  // a certificate of another CA claiming kms-admin
  const forged = await call('/kms/v0/tenants/tenant-a/secrets/data/db/password', 'forged');
  assert.equal(forged.status, 401);
  assert.match(forged.body, /does not chain to the admin CA/);
  // no certificate, no token: 401; the connection itself is fine (workloads connect without certificates)
  assert.equal((await call('/kms/v0/tenants/tenant-a/secrets/data/db/password')).status, 401);
  assert.equal((await call('/kms/v0/healthz')).status, 200);
  // a bearer token still works without a certificate
  const tok = await admin.token({ sub: 'ops', roles: ['tenant-admin'], tenant: 'tenant-b' });
  assert.equal((await call('/kms/v0/tenants/tenant-b/secrets/data/db/password', undefined, { authorization: `Bearer ${tok}` })).status, 200);
  // the KMS clock decides validity: past the certificate's notAfter it is refused
  t.clock.advance(3 * 86_400_000);
  const late = await call('/kms/v0/tenants/tenant-a/secrets/data/db/password', 'root-admin');
  assert.equal(late.status, 401);
  assert.match(late.body, /not valid at this time/);
  // admin actions by certificate are audited under the certificate's name
  const entries = await t.kms.audit.list({});
  assert.ok(entries.some((e) => e.entry.actor === 'admin:cert:bob' && e.entry.decision === 'deny'), 'the denied cross-tenant read is in the audit log');
});
