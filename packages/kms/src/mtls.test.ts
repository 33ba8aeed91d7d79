/**
 * Two veritee workload services (separate processes) talk mTLS with KMS-issued workload
 * certificates: each checks the other's SPIFFE ID, attestation extension (measurement)
 * and certificate status at the KMS. A third workload with a perfectly valid certificate
 * from the same CA but another attestation is refused in both directions, and revoking
 * the client's sessions at the KMS (an incident, or a failed re-attestation) makes the
 * server refuse it on the next call.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { SimulatedTee } from '@veritee/attestation';
import { fromHex } from '@veritee/core';
import { openEmbedded, type SqlDb } from './db.js';
import { openTestKms, MovableClock, type TestKms } from './testing.js';
import { buildKmsServer } from './server.js';

const M_A = 'a1'.repeat(48); // payments
const M_B = 'b2'.repeat(48); // ledger
const M_C = 'c3'.repeat(48); // analytics (valid workload, not the expected peer)
let db: SqlDb;
let t: TestKms;
let app: FastifyInstance;
let kmsUrl: string;
const children: ChildProcess[] = [];

interface Service {
  child: ChildProcess;
  ready: { url?: string; spiffeId: string; serial: string };
  events: Array<Record<string, unknown>>;
  call(url: string): Promise<{ status?: number; body?: string; peer?: string; error?: string }>;
}

function service(role: 'server' | 'client', workload: string, measurement: string, peerWorkload: string, peerMeasurement: string): Promise<Service> {
  const child = fork(fileURLToPath(new URL('./mtls-service.js', import.meta.url)), [], {
    env: { ...process.env, VERITEE_KMS_URL: kmsUrl, VERITEE_ROLE: role, VERITEE_TENANT: 'tenant-m', VERITEE_WORKLOAD: workload, VERITEE_PEER_WORKLOAD: peerWorkload, VERITEE_PEER_MEASUREMENT: peerMeasurement },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  children.push(child);
  const events: Array<Record<string, unknown>> = [];
  const pending = new Map<string, (r: Record<string, unknown>) => void>();
  let n = 0;
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('message', (m: Record<string, unknown>) => {
      if (m['t'] === 'evidence') {
        // the parent plays this service's (simulated) TEE: evidence binding the report data it asks for
        const envelope = t.tee.evidence('snp', { reportData: fromHex(String(m['reportData'])), measurement: fromHex(measurement) });
        child.send({ t: 'evidence', id: m['id'], envelope });
      } else if (m['t'] === 'ready') {
        resolve({
          child,
          ready: m as never,
          events,
          call: (url) =>
            new Promise((r) => {
              const id = String(++n);
              pending.set(id, r as never);
              child.send({ t: 'call', id, url });
            }),
        });
      } else if (m['t'] === 'result') {
        pending.get(String(m['id']))?.(m);
      } else events.push(m);
    });
    child.once('exit', (code) => reject(new Error(`service ${workload} exited ${code}: ${stderr.slice(0, 2000)}`)));
  });
}

before(async () => {
  db = await openEmbedded();
  const clock = new MovableClock(Date.now()); // real time: the TLS stack checks validity against the wall clock
  t = await openTestKms(db, { clock, tee: await SimulatedTee.create({ at: clock.t, platforms: ['snp'] }), trustDomain: 'prod.example' });
  await t.kms.policies.put('tenant-m', '', { rules: [{ name: 'dev', allowSimulated: true }] });
  await t.kms.policies.put('tenant-m', 'ca/payments', { rules: [{ name: 'payments-build', measurements: [M_A], allowSimulated: true }] });
  await t.kms.policies.put('tenant-m', 'ca/ledger', { rules: [{ name: 'ledger-build', measurements: [M_B], allowSimulated: true }] });
  app = await buildKmsServer({ kms: t.kms, rateLimit: { burst: 10_000, perSecond: 10_000 } });
  kmsUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await app?.close();
  await db?.close();
});

test('two veritee services talk mTLS with KMS certificates; peers check the attestation extension and the lease status', async () => {
  const [payments, ledger, analytics] = await Promise.all([
    service('server', 'payments', M_A, 'ledger', M_B),
    service('client', 'ledger', M_B, 'payments', M_A),
    service('server', 'analytics', M_C, 'ledger', M_B),
  ]);
  assert.equal(payments.ready.spiffeId, 'spiffe://prod.example/tenant/tenant-m/workload/payments');
  assert.equal(ledger.ready.spiffeId, 'spiffe://prod.example/tenant/tenant-m/workload/ledger');

  // ledger → payments: both sides verified each other's attestation
  const ok = await ledger.call(payments.ready.url!);
  assert.equal(ok.status, 200, JSON.stringify(ok));
  assert.equal(ok.peer, 'spiffe://prod.example/tenant/tenant-m/workload/payments');
  const body = JSON.parse(ok.body!) as { peer: string; peerMeasurement: string };
  assert.equal(body.peer, 'spiffe://prod.example/tenant/tenant-m/workload/ledger');
  assert.equal(body.peerMeasurement, M_B);

  // ledger → analytics: analytics holds a valid certificate of the same CA, but it is not
  // the attested payments build: the client refuses before sending anything
  const wrongServer = await ledger.call(analytics.ready.url!);
  assert.match(wrongServer.error ?? '', /KMS_CERTIFICATE_INVALID: .*workload analytics is not payments/);
  assert.deepEqual(analytics.events.filter((e) => e['t'] === 'served'), [], 'analytics never served the request');

  // analytics as a client of payments (its certificate chains to the CA and passes the TLS
  // handshake): payments checks the attestation extension and refuses with 403
  const intruder = await service('client', 'analytics', M_C, 'payments', M_A);
  const refused = await intruder.call(payments.ready.url!);
  assert.equal(refused.status, 403);
  assert.match(refused.body!, /KMS_CERTIFICATE_INVALID/);
  assert.ok(payments.events.some((e) => e['t'] === 'refused' && /workload analytics is not ledger/.test(String(e['message']))));

  // incident: revoke the ledger build's sessions at the KMS → its certificate lease is revoked → payments refuses it
  const r = await t.kms.revokeSessionsAndLeases({ measurement: M_B }, 'incident: ledger build compromised');
  assert.ok(r.sessions >= 1 && r.leases >= 1, JSON.stringify(r));
  assert.equal(await t.kms.certificateStatus(ledger.ready.serial).then((s) => s.status), 'revoked');
  const after = await ledger.call(payments.ready.url!);
  assert.equal(after.status, 403, JSON.stringify(after));
  assert.match(after.body!, /the KMS reports it revoked/);
  // payments' own certificate is still good
  assert.equal((await t.kms.certificateStatus(payments.ready.serial)).status, 'good');
});
