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

test('kill A with exchanges in flight: tokens A issued keep working on B, interrupted exchanges redo on B', async () => {
  const [a, b] = await Promise.all([instance(), instance()]);
  const exchange = async (url: string) => {
    const keys = await generateTeeKeyPair();
    const auth = await fetch(`${url}/kbs/v0/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: '0.1.0', tee: 'snp' }) });
    if (auth.status !== 200) throw new Error(`auth ${auth.status}`);
    const cookie = auth.headers.get('set-cookie')!.split(';')[0]!;
    const { nonce } = (await auth.json()) as { nonce: string };
    const evidence = tee.evidence('snp', { reportData: computeReportData({ nonce: runtimeDataHash(nonce, keys.publicJwk) }) });
    const att = await fetch(`${url}/kbs/v0/attest`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ 'tee-pubkey': keys.publicJwk, 'tee-evidence': evidence }) });
    if (att.status !== 200) throw new Error(`attest ${att.status}`);
    return { keys, token: ((await att.json()) as { token: string }).token };
  };
  const release = async (url: string, w: { keys: Awaited<ReturnType<typeof generateTeeKeyPair>>; token: string }) => {
    const res = await fetch(`${url}/kbs/v0/resource/tenant-a/db/password`, { headers: { authorization: `Bearer ${w.token}` } });
    assert.equal(res.status, 200);
    return Buffer.from((await flattenedDecrypt((await res.json()) as never, w.keys.privateKey)).plaintext).toString();
  };
  const N = 40;
  let done = 0;
  let killed = false;
  const onA = Array.from({ length: N }, () =>
    exchange(a.url).then(
      (w) => {
        if (++done >= 3 && !killed) {
          killed = true;
          a.child.kill('SIGKILL'); // A dies with the other exchanges in flight
        }
        return w;
      },
      () => undefined, // connection reset / refused: interrupted by the kill
    ),
  );
  const results = await Promise.all(onA);
  await new Promise((r) => (a.child.exitCode !== null || a.child.signalCode !== null ? r(undefined) : a.child.once('exit', r)));
  const fromA = results.filter((w) => w !== undefined);
  const interrupted = results.length - fromA.length;
  assert.ok(killed && fromA.length >= 3, `A finished ${fromA.length} exchanges before it died`);
  assert.ok(interrupted >= 1, 'some exchanges were in flight when A died');
  // every token A issued is honoured by B (shared sessions and signer)
  for (const w of fromA) assert.equal(await release(b.url, w!), 'ha-secret');
  // every interrupted workload starts over on B and gets its secret
  for (let i = 0; i < interrupted; i++) assert.equal(await release(b.url, await exchange(b.url)), 'ha-secret');
});
