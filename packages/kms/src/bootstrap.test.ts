/**
 * Client SDK bootstrap over https: first contact verifies the KMS's own (simulated) TEE
 * evidence binding the nonce and the document, checks the TLS key pin, caches CA and pin;
 * later connections use the cache, and a server with another TLS key is refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { SimulatedTee, type Policy } from '@veritee/attestation';
import { openEmbedded, type SqlDb } from './db.js';
import { openTestKms, MovableClock, devAttestationPolicy, type TestKms } from './testing.js';
import { buildKmsServer } from './server.js';
import { generateTeeKeyPair } from './kms.js';
import { privateKeyPem } from './ca.js';
import { KmsClient, simulatedEvidenceProvider } from './client.js';
import { bootstrapKms } from './bootstrap.js';

const KMS_M = new Uint8Array(48).fill(0x4b);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
let db: SqlDb;
let t: TestKms;
let tmp: string;
const servers: FastifyInstance[] = [];
let policy: Policy;

async function httpsKms(lie = false): Promise<string> {
  const keys = await generateTeeKeyPair();
  const ca = await t.kms.workloadCa();
  const cert = ca.issue({
    publicJwk: keys.publicJwk,
    dns: ['localhost'],
    attestation: { v: 1, platform: 'snp', measurement: hex(KMS_M), tcb: {}, reportDataHash: '', evidenceDigest: '', simulated: true, tenant: 'veritee-kms', workload: 'kms' },
  });
  t.kms.setTlsCertificate(cert.certPem);
  if (lie) t.kms.setTlsCertificate((await (async () => ca.issue({ publicJwk: (await generateTeeKeyPair()).publicJwk, dns: ['localhost'], attestation: { v: 1, platform: 'snp', measurement: '', tcb: {}, reportDataHash: '', evidenceDigest: '', simulated: true, tenant: 'x', workload: 'y' } }))()).certPem);
  const app = await buildKmsServer({ kms: t.kms, https: { key: privateKeyPem(keys.privateKey), cert: cert.certPem } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  servers.push(app);
  return `https://localhost:${(app.server.address() as AddressInfo).port}`;
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'veritee-kms-boot-'));
  db = await openEmbedded();
  const clock = new MovableClock(Date.now());
  const tee = await SimulatedTee.create({ at: clock.t, platforms: ['snp'] });
  t = await openTestKms(db, {
    clock,
    tee,
    // the KMS's own TEE (simulated, measurement KMS_M)
    selfAttestation: {
      evidence: async (reportData: Uint8Array) => tee.evidence('snp', { reportData, measurement: KMS_M }),
      referenceMeasurements: { 'payments-build': ['a1'.repeat(48)] },
    },
  });
  policy = devAttestationPolicy({ platforms: ['snp'], reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: [hex(KMS_M)] } });
  await t.kms.policies.put('tenant-a', '', { rules: [{ name: 'dev', allowSimulated: true }] });
  await t.kms.secrets.put('tenant-a', 'db/password', { value: 'boot-secret' });
});
after(async () => {
  for (const s of servers) await s.close();
  await db?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('first contact is attested and cached; later connections use the cached CA and TLS pin', async () => {
  const url = await httpsKms();
  const cachePath = join(tmp, 'kms-cache.json');
  const first = await bootstrapKms({ url, policy, cachePath, simulatedAnchors: t.tee.anchors });
  assert.equal(first.fresh, true);
  assert.equal(first.cache.kmsMeasurement, hex(KMS_M));
  assert.deepEqual(first.cache.document.referenceMeasurements, { 'payments-build': ['a1'.repeat(48)] });
  assert.match(first.clientOptions.pinSpkiSha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal((statSync(cachePath).mode & 0o777).toString(8), '600');
  const again = await bootstrapKms({ url, policy, cachePath });
  assert.equal(again.fresh, false);
  const kms = new KmsClient({ url, evidence: simulatedEvidenceProvider(t.tee, 'snp'), ...again.clientOptions });
  assert.equal(await kms.getSecretText('tenant-a/db/password'), 'boot-secret');

  // same CA, another TLS key (an impostor with a valid chain): the pin refuses it
  const impostor = await httpsKms();
  const other = new KmsClient({ url: impostor, evidence: simulatedEvidenceProvider(t.tee, 'snp'), ...again.clientOptions });
  await assert.rejects(other.getSecret('tenant-a/db/password'), /pinned|KMS_RESPONSE_INVALID|not the pinned/);
});

test('first contact fails closed: wrong KMS measurement, or a TLS key the document does not pin', async () => {
  const url = await httpsKms();
  const strict = devAttestationPolicy({ platforms: ['snp'], reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: ['00'.repeat(48)] } });
  await assert.rejects(bootstrapKms({ url, policy: strict, simulatedAnchors: t.tee.anchors }), (e: Error & { code?: string }) => e.code === 'KMS_ATTESTATION_FAILED');
  // the document pins another key than the one serving this connection
  const lying = await httpsKms(true);
  await assert.rejects(bootstrapKms({ url: lying, policy, simulatedAnchors: t.tee.anchors }), /man in the middle/);
  // simulated evidence without the anchors: refused
  await assert.rejects(bootstrapKms({ url, policy }), (e: Error & { code?: string }) => e.code === 'KMS_ATTESTATION_FAILED');
});
