/**
 * The coordinator and the contributor client over real HTTP on loopback, with the
 * real Go engine on the tiny self-test circuit: three remote contributors, then
 * the negatives (out of turn, a bad contribution, a stale one, an expired slot,
 * a tampered transcript), and the verifier policy on the resulting key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { isVeriteeError } from '@veritee/core';
import { ceremonyTranscriptHash, parseVerificationKeyText, setupProblem, vkHash } from '@veritee/zk';
import { buildCoordinator, contributeRemote, localPhase1, readManifest, runEngine, stateFile, type CeremonyVerification } from './index.js';

const BEACON = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const work = mkdtempSync(join(tmpdir(), 'veritee-ceremony-test-'));

async function newCeremony(name: string): Promise<string> {
  const srs = await localPhase1(join(work, 'phase1'), 3, ['p1-alice', 'p1-bob'], BEACON, 4);
  const dir = join(work, name);
  await runEngine('init', { dir, circuit: 'ceremony-selftest', size: 1, srs, label: 'veritee-phase1-pow3' });
  return dir;
}

test('three contributors over HTTP, verify-before-accept, turns, timeouts, transcript and policy', async (t) => {
  const dir = await newCeremony('remote');
  let now = Date.parse('2026-12-05T09:00:00Z');
  const app = buildCoordinator({ dir, slotMs: 60_000, clock: { now: () => now } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const alice = await contributeRemote({ url, name: 'alice' });
  assert.equal(alice.index, 1);
  assert.match(alice.sha256, /^[0-9a-f]{64}$/);

  await t.test('out of turn: the slot is held, a token-less upload is refused', async () => {
    const held = await fetch(`${url}/v1/ceremony/turn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bob' }) });
    assert.equal(held.status, 201);
    const { token } = (await held.json()) as { token: string };
    await assert.rejects(contributeRemote({ url, name: 'mallory' }), (e) => isVeriteeError(e, 'CEREMONY_TURN'));
    const noToken = await fetch(`${url}/v1/ceremony/contribution`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${'0'.repeat(64)}` }, body: Buffer.from([1]) });
    assert.equal(noToken.status, 409);
    assert.equal(((await noToken.json()) as { error: { code: string } }).error.code, 'CEREMONY_TURN');

    // A bad contribution (the unchanged state) is verified, refused, and releases the slot.
    const state = Buffer.from(await (await fetch(`${url}/v1/ceremony/state`)).arrayBuffer());
    const bad = await fetch(`${url}/v1/ceremony/contribution`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` }, body: state });
    assert.equal(bad.status, 422);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'CEREMONY_INVALID');
    assert.equal(readManifest(dir).ceremony.contributions.length, 1, 'the transcript is unchanged');
  });

  await t.test('a contribution built on a stale state is refused', async () => {
    const s0 = join(work, 'stale-in.bin');
    writeFileSync(s0, readFileSync(join(dir, stateFile(0))));
    await runEngine('contribute', { in: s0, out: join(work, 'stale-out.bin') });
    const turn = (await (await fetch(`${url}/v1/ceremony/turn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'mallory' }) })).json()) as { token: string };
    const r = await fetch(`${url}/v1/ceremony/contribution`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${turn.token}` }, body: readFileSync(join(work, 'stale-out.bin')) });
    assert.equal(r.status, 422);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'CEREMONY_INVALID');
    assert.match(body.error.message, /challenge/);
    assert.doesNotMatch(body.error.message, /\/tmp\//, 'no local paths in client errors');
  });

  await t.test('an expired slot: its token is refused and the turn passes on', async () => {
    const turn = (await (await fetch(`${url}/v1/ceremony/turn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'slowpoke' }) })).json()) as { token: string };
    now += 61_000;
    const late = await fetch(`${url}/v1/ceremony/contribution`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${turn.token}` }, body: Buffer.from([1, 2, 3]) });
    assert.equal(late.status, 409);
    const status = (await (await fetch(`${url}/v1/ceremony`)).json()) as { slot: unknown; nextIndex: number };
    assert.equal(status.slot, null);
    assert.equal(status.nextIndex, 2);
  });

  await t.test('bad names and paths are refused', async () => {
    const r = await fetch(`${url}/v1/ceremony/turn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'a\nb' }) });
    assert.equal(r.status, 400);
    const big = await fetch(`${url}/v1/ceremony/turn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(10_000) }) });
    assert.equal(big.status, 413);
    const p = await fetch(`${url}/v1/ceremony/transcript/..%2Fetc%2Fpasswd`);
    assert.equal(p.status, 404);
    await assert.rejects(contributeRemote({ url, name: 'alice' }), (e) => isVeriteeError(e, 'CEREMONY_STATE'), 'a name contributes once');
  });

  const bob = await contributeRemote({ url, name: 'bob' });
  const carol = await contributeRemote({ url, name: 'carol' });
  assert.deepEqual([bob.index, carol.index], [2, 3]);

  // The operator seals with the beacon; further turns are refused.
  await runEngine('beacon', { dir, beacon: BEACON, iterations: 6 });
  const closed = await fetch(`${url}/v1/ceremony/turn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'dave' }) });
  assert.equal(closed.status, 409);

  // A verifier downloads the public transcript and verifies it on its own.
  const mine = join(work, 'downloaded');
  const m = (await (await fetch(`${url}/v1/ceremony/transcript/ceremony.json`)).json()) as { ceremony: { contributions: unknown[] } };
  const files = ['ceremony.json', 'phase1.bin', ...[0, 1, 2, 3].map(stateFile)];
  cpSync(dir, mine, { recursive: true, filter: () => true });
  for (const f of files) writeFileSync(join(mine, f), Buffer.from(await (await fetch(`${url}/v1/ceremony/transcript/${f}`)).arrayBuffer()));
  assert.equal(m.ceremony.contributions.length, 3);
  const v = await runEngine<CeremonyVerification>('verify', { dir: mine });
  assert.deepEqual(
    v.vk.setup.ceremony!.contributions.map((c) => [c.name, c.sha256]),
    [['alice', alice.sha256], ['bob', bob.sha256], ['carol', carol.sha256]],
  );

  await t.test('a tampered transcript is detected', async () => {
    const bad = join(work, 'tampered');
    cpSync(mine, bad, { recursive: true });
    const text = readFileSync(join(bad, 'ceremony.json'), 'utf8').replace('"bob"', '"eve"');
    writeFileSync(join(bad, 'ceremony.json'), text);
    await assert.rejects(runEngine('verify', { dir: bad }), (e) => isVeriteeError(e, 'CEREMONY_INVALID') && /transcript hash/.test((e as Error).message));
    cpSync(mine, bad, { recursive: true });
    writeFileSync(join(bad, stateFile(2)), readFileSync(join(bad, stateFile(1))));
    await assert.rejects(runEngine('verify', { dir: bad }), (e) => isVeriteeError(e, 'CEREMONY_INVALID'));
  });

  await t.test('keys: installed after verification; the TypeScript policy', async () => {
    const home = join(work, 'home');
    const f = await runEngine<CeremonyVerification>('finalize', { dir, home });
    const doc = parseVerificationKeyText(readFileSync(join(home, 'keys', 'ceremony-selftest-v1-1', 'vk.json'), 'utf8'));
    assert.equal(vkHash(doc), vkHash(f.vk));
    const c = doc.setup.ceremony!;
    assert.equal(ceremonyTranscriptHash(doc, c), c.transcriptSha256, 'TypeScript and Go hash the transcript record the same way');
    assert.ok(doc.groth16.ic.length >= 2, 'the VK has its K points (gnark#1136)');
    // Accepted by default; dev keys are not.
    assert.equal(setupProblem(doc), undefined);
    assert.equal(setupProblem({ ...doc, setup: { kind: 'dev', createdAt: doc.setup.createdAt } })?.code, 'ZK_DEV_SETUP_REFUSED');
    assert.equal(setupProblem({ ...doc, setup: { kind: 'dev', createdAt: doc.setup.createdAt } }, { allowDevSetup: true }), undefined);
    // The verifier's own contribution, named contributors, a count.
    assert.equal(setupProblem(doc, { ceremony: { requireContributions: [bob.sha256.toUpperCase()], requireContributors: ['alice', 'carol'], minContributors: 3 } }), undefined);
    assert.match(setupProblem(doc, { ceremony: { requireContributions: ['ab'.repeat(32)] } })?.message ?? '', /lacks the required contribution/);
    assert.equal(setupProblem(doc, { ceremony: { requireContributors: ['dave'] } })?.code, 'ZK_CEREMONY_POLICY');
    assert.equal(setupProblem(doc, { ceremony: { minContributors: 4 } })?.code, 'ZK_CEREMONY_POLICY');
    // Metadata that claims a transcript it does not match.
    const renamed = structuredClone(doc);
    renamed.setup.ceremony!.contributions[0]!.name = 'mallory';
    assert.match(setupProblem(renamed)?.message ?? '', /does not hash to its transcript hash/);
    const dropped = structuredClone(doc);
    dropped.setup.ceremony!.contributions.splice(1, 1);
    assert.equal(setupProblem(dropped)?.code, 'ZK_CEREMONY_POLICY');
    const otherBeacon = structuredClone(doc);
    otherBeacon.setup.ceremony!.beacon = 'ff'.repeat(32);
    assert.equal(setupProblem(otherBeacon)?.code, 'ZK_CEREMONY_POLICY');
    // The installed key checks against the transcript (Go compares the points).
    await runEngine('verify', { dir: mine, home });
    const otherHome = join(work, 'home-other');
    const other = await newCeremony('other');
    await runEngine('accept', { dir: other, name: 'zed', file: await contributeLocally(other) });
    await runEngine('beacon', { dir: other, beacon: BEACON, iterations: 6 });
    await runEngine('finalize', { dir: other, home: otherHome });
    await assert.rejects(runEngine('verify', { dir: mine, home: otherHome }), (e) => isVeriteeError(e, 'CEREMONY_MISMATCH'));
  });
});

async function contributeLocally(dir: string): Promise<string> {
  const out = join(dir, 'incoming.bin');
  await runEngine('contribute', { in: join(dir, stateFile(0)), out });
  return out;
}
