/**
 * High availability: two KMS instances (separate processes) on one PostgreSQL serve the
 * same sessions; one is killed (SIGKILL) between auth and attest, and the other carries
 * the exchange on with the same cookie, then releases the secret. The nonce stays
 * single-use across instances.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flattenedDecrypt } from 'jose';
import { anchorsToJson, computeReportData, SimulatedTee } from '@veritee/attestation';
import { toHex } from '@veritee/core';
import { startPgCluster, type PgCluster } from './pg-cluster.js';
import { openPostgres } from './db.js';
import { generateTeeKeyPair, runtimeDataHash } from './kms.js';
import { MovableClock, openTestKms } from './testing.js';

let cluster: PgCluster;
let tmp: string;
const children: ChildProcess[] = [];
const root = new Uint8Array(randomBytes(32));
let tee: SimulatedTee;

function instance(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./ha-instance.js', import.meta.url))], {
    env: { ...process.env, VERITEE_KMS_PG: cluster.url, VERITEE_KMS_ROOT: toHex(root), VERITEE_KMS_ANCHORS: join(tmp, 'anchors.json') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`instance exited ${code}: ${err}`)));
  });
}

before(async () => {
  cluster = await startPgCluster();
  tmp = mkdtempSync(join(tmpdir(), 'veritee-kms-ha-'));
  tee = await SimulatedTee.create({ platforms: ['snp'] });
  writeFileSync(join(tmp, 'anchors.json'), JSON.stringify(anchorsToJson(tee.anchors)));
  // initialise the database (root key check, signer) and seed a secret and a policy
  const db = await openPostgres(cluster.url);
  const t = await openTestKms(db, { root, tee, clock: new MovableClock(Date.now()) });
  await t.kms.policies.put('tenant-a', '', { rules: [{ name: 'dev', allowSimulated: true }] });
  await t.kms.secrets.put('tenant-a', 'db/password', { value: 'ha-secret' });
  await db.close();
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('two instances on one PostgreSQL: kill A after auth, B finishes the exchange with the same session', async () => {
  const [a, b] = await Promise.all([instance(), instance()]);
  const keys = await generateTeeKeyPair();
  const auth = await fetch(`${a.url}/kbs/v0/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: '0.1.0', tee: 'snp' }) });
  assert.equal(auth.status, 200);
  const cookie = auth.headers.get('set-cookie')!.split(';')[0]!;
  const { nonce } = (await auth.json()) as { nonce: string };
  a.child.kill('SIGKILL'); // instance A dies mid-flight
  await new Promise((r) => a.child.once('exit', r));
  const evidence = tee.evidence('snp', { reportData: computeReportData({ nonce: runtimeDataHash(nonce, keys.publicJwk) }) });
  const body = JSON.stringify({ 'tee-pubkey': keys.publicJwk, 'tee-evidence': evidence });
  const att = await fetch(`${b.url}/kbs/v0/attest`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body });
  assert.equal(att.status, 200, await att.clone().text());
  const res = await fetch(`${b.url}/kbs/v0/resource/tenant-a/db/password`, { headers: { cookie } });
  assert.equal(res.status, 200);
  const { plaintext } = await flattenedDecrypt((await res.json()) as never, keys.privateKey);
  assert.equal(Buffer.from(plaintext).toString(), 'ha-secret');
  // the nonce was consumed by B: a replay at a third instance is refused
  const c = await instance();
  const replay = await fetch(`${c.url}/kbs/v0/attest`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body });
  assert.equal(replay.status, 401);
  // and the token issued by B is honoured by C (one shared signer sealed in the database)
  const res2 = await fetch(`${c.url}/kbs/v0/resource/tenant-a/db/password`, { headers: { cookie } });
  assert.equal(res2.status, 200);
});
