// The console's read-only relay, against a real KMS (embedded PGlite, admin JWTs) on
// loopback: GETs on the allowlist pass with the console's token added; secret values,
// other methods, unknown paths and queries, non-loopback upstreams and Host headers are
// refused with stable codes; a missing or dead service is named.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { FastifyInstance } from 'fastify';
import { isVeriteeError } from '@veritee/core';
import { parsePolicy } from '@veritee/attestation';
import { ADMIN_AUDIENCE, buildKmsServer, Kms, openEmbedded, rootKeyBytes, type SqlDb } from '@veritee/kms';
import { buildConsoleServer } from './server.js';
import { parseUpstreamUrl, relayGet, relayTarget } from './relay.js';

function fakeAssets(): string {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-console-assets-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>');
  return dir;
}

let db: SqlDb;
let kmsApp: FastifyInstance;
let kmsUrl: string;
let token: string;
const SECRET = `s3cret-${randomBytes(8).toString('hex')}`;

before(async () => {
  db = await openEmbedded();
  const kms = await Kms.open({ db, rootKey: rootKeyBytes(new Uint8Array(randomBytes(32))), attestationPolicy: parsePolicy({ name: 't', platforms: ['snp'], allowSimulated: true, snp: { measurements: 'any' } }) });
  const kp = await generateKeyPair('ES256', { extractable: true });
  const now = Math.floor(Date.now() / 1000);
  token = await new SignJWT({ roles: ['kms-admin'] }).setProtectedHeader({ alg: 'ES256' }).setSubject('console-test').setAudience(ADMIN_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 600).sign(kp.privateKey);
  kmsApp = await buildKmsServer({ kms, adminJwks: { keys: [{ ...(await exportJWK(kp.publicKey)), alg: 'ES256' }] } });
  await kmsApp.listen({ host: '127.0.0.1', port: 0 });
  kmsUrl = `http://127.0.0.1:${(kmsApp.server.address() as { port: number }).port}`;
  const r = await fetch(`${kmsUrl}/kms/v0/tenants/t1/secrets/data/app/db`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ data: { password: SECRET } }) });
  assert.equal(r.status, 200);
});

after(async () => {
  await kmsApp?.close();
  await db?.close();
});

const auditCount = async () => ((await db.query('SELECT count(*) AS n FROM kms_audit'))[0] as { n: unknown }).n;

async function freePortClosed(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('upstreams must be http(s) on loopback, without credentials, query or fragment', async () => {
  assert.equal(parseUpstreamUrl('kms', 'http://127.0.0.1:8200/'), 'http://127.0.0.1:8200');
  assert.equal(parseUpstreamUrl('cp', 'http://[::1]:8790'), 'http://[::1]:8790');
  assert.equal(parseUpstreamUrl('cp', 'https://localhost:1'), 'https://localhost:1');
  for (const bad of ['http://10.0.0.1:8200', 'http://example.com', 'http://0.0.0.0:1', 'http://[::]:1', 'http://127.0.0.1.nip.io:1', 'http://192.168.1.1', 'ftp://127.0.0.1', 'http://u:p@127.0.0.1:1', 'http://127.0.0.1:1/?x=1', 'not a url']) {
    assert.throws(() => parseUpstreamUrl('kms', bad), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'), bad);
  }
  // The server refuses to start with one.
  await assert.rejects(buildConsoleServer({ assetsDir: fakeAssets(), kms: { url: 'http://203.0.113.7:8200', token } }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID') && /loopback only/.test((e as Error).message));
  await assert.rejects(buildConsoleServer({ assetsDir: fakeAssets(), cp: { url: 'http://example.com:8790' } }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
});

test('allowlisted GETs reach the KMS with the console token; the token never comes back', async () => {
  const app = await buildConsoleServer({ assetsDir: fakeAssets(), kms: { url: kmsUrl, token } });
  const hz = await app.inject({ url: '/api/kms/healthz' });
  assert.equal(hz.statusCode, 200);
  assert.equal(hz.json().ok, true);
  const audit = await app.inject({ url: '/api/kms/audit?after=0' });
  assert.equal(audit.statusCode, 200);
  const entries = audit.json().entries as { entry: { action: string } }[];
  assert.ok(entries.some((e) => e.entry.action === 'secret.put'));
  assert.equal(audit.headers['cache-control'], 'no-store');
  const list = await app.inject({ url: '/api/kms/tenants/t1/secrets' });
  assert.deepEqual(list.json(), { keys: ['app/db'] });
  const meta = await app.inject({ url: '/api/kms/tenants/t1/secrets/metadata/app/db' });
  assert.equal(meta.json().data.current_version, 1);
  for (const r of [hz, audit, list, meta]) {
    assert.ok(!r.body.includes(token), 'the admin token is not in any answer');
    assert.ok(!r.body.includes(SECRET), 'no secret value is in any answer');
  }
  // A service's own coded error passes through (a tenant name the KMS refuses).
  const bad = await app.inject({ url: '/api/kms/tenants/t1/transit/keys/nope' });
  assert.equal(bad.statusCode, 404);
  assert.match(bad.json().error.code, /^KMS_/);
  await app.close();
});

test('secret values, other methods, unknown paths and queries are refused before the KMS sees them', async () => {
  const app = await buildConsoleServer({ assetsDir: fakeAssets(), kms: { url: kmsUrl, token } });
  const before = await auditCount();
  const refused = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD', url: string, status: number) => {
    const r = await app.inject({ method, url, ...(method === 'GET' || method === 'HEAD' ? {} : { payload: { data: { password: 'x' } } }) });
    assert.equal(r.statusCode, status, `${method} ${url}`);
    if (method !== 'HEAD') assert.equal(r.json().error.code, 'CONSOLE_RELAY_REFUSED', `${method} ${url}`);
    assert.ok(!r.body.includes(SECRET));
  };
  await refused('GET', '/api/kms/tenants/t1/secrets/data/app/db', 403); // the value: never
  await refused('GET', '/api/kms/tenants/t1/secrets/data/app/db?version=1', 403);
  await refused('GET', '/api/kms/tenants/t1/secrets/metadata/app/..%2Fdata%2Fapp%2Fdb', 403);
  await refused('GET', '/api/kms/tenants/t1/../../kbs/v0/resource/t1/app/db', 403);
  await refused('GET', '/api/kms/audit?after=0&limit=5', 403);
  await refused('GET', '/api/kms/sessions/revoke', 403);
  await refused('POST', '/api/kms/tenants/t1/secrets/data/app/db', 405);
  await refused('PUT', '/api/kms/tenants/t1/policies', 405);
  await refused('DELETE', '/api/kms/tenants/t1/secrets/metadata/app/db', 405);
  await refused('POST', '/api/kms/sessions/revoke', 405);
  await refused('PATCH', '/api/cp/decisions', 405);
  await refused('HEAD', '/api/kms/healthz', 405);
  const r = await app.inject({ method: 'POST', url: '/api/kms/audit', payload: {} });
  assert.equal(r.headers['allow'], 'GET');
  assert.equal(await auditCount(), before, 'nothing reached the KMS: not even a refused admin call was audited');
  // The secret is still at version 1: no write went through.
  const meta = await app.inject({ url: '/api/kms/tenants/t1/secrets/metadata/app/db' });
  assert.equal(meta.json().data.current_version, 1);
  await app.close();
});

test('a request addressed to a non-loopback Host (DNS rebinding) is refused', async () => {
  const app = await buildConsoleServer({ assetsDir: fakeAssets(), kms: { url: kmsUrl, token } });
  for (const host of ['attacker.example', 'attacker.example:8799', '10.0.0.1:8799']) {
    const r = await app.inject({ url: '/api/kms/audit', headers: { host } });
    assert.equal(r.statusCode, 403, host);
    assert.equal(r.json().error.code, 'CONSOLE_RELAY_REFUSED');
  }
  for (const host of ['127.0.0.1:8799', 'localhost:8799', '[::1]:8799']) assert.equal((await app.inject({ url: '/api/kms/healthz', headers: { host } })).statusCode, 200, host);
  await app.close();
});

test('a service not configured, not running, or answering too much is named with a stable code', async () => {
  const none = await buildConsoleServer({ assetsDir: fakeAssets() });
  for (const url of ['/api/kms/healthz', '/api/cp/decisions']) {
    const r = await none.inject({ url });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().error.code, 'CONSOLE_SERVICE_NOT_CONFIGURED');
  }
  assert.deepEqual((await none.inject({ url: '/api/services' })).json(), { kms: false, cp: false });
  await none.close();
  const dead = await buildConsoleServer({ assetsDir: fakeAssets(), cp: { url: `http://127.0.0.1:${await freePortClosed()}` } });
  const r = await dead.inject({ url: '/api/cp/decisions?limit=5' });
  assert.equal(r.statusCode, 502);
  assert.equal(r.json().error.code, 'CONSOLE_UPSTREAM_UNAVAILABLE');
  assert.deepEqual((await dead.inject({ url: '/api/services' })).json(), { kms: false, cp: true });
  await dead.close();
  // Bounded reads: an answer larger than the limit is refused, not buffered.
  await assert.rejects(relayGet('kms', { url: kmsUrl, token }, 'audit', new URLSearchParams(), { maxBytes: 64 }), (e: unknown) => isVeriteeError(e, 'CONSOLE_UPSTREAM_UNAVAILABLE') && /at most 64/.test((e as Error).message));
  // Without the token the KMS itself refuses, and says so.
  const noToken = await buildConsoleServer({ assetsDir: fakeAssets(), kms: { url: kmsUrl } });
  const u = await noToken.inject({ url: '/api/kms/audit' });
  assert.equal(u.statusCode, 401);
  assert.equal(u.json().error.code, 'KMS_ADMIN_UNAUTHENTICATED');
  await noToken.close();
});

test('relayTarget maps allowlisted control-plane paths and their queries only', () => {
  assert.equal(relayTarget('cp', 'http://127.0.0.1:1', 'decisions', new URLSearchParams('limit=5&workload=web')), 'http://127.0.0.1:1/v1/decisions?limit=5&workload=web');
  assert.equal(relayTarget('cp', 'http://127.0.0.1:1', 'decisions/d-1', new URLSearchParams()), 'http://127.0.0.1:1/v1/decisions/d-1');
  for (const [p, q] of [['agents/challenge', ''], ['telemetry', ''], ['decisions/x/enacted', ''], ['metrics', ''], ['workloads', 'x=1'], ['decisions', 'limit=' + 'x'.repeat(600)]] as const) {
    assert.throws(() => relayTarget('cp', 'http://127.0.0.1:1', p, new URLSearchParams(q)), (e: unknown) => isVeriteeError(e, 'CONSOLE_RELAY_REFUSED'), p);
  }
});
