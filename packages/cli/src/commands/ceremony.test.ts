/**
 * `veritee zk ceremony` in a child process: a local ceremony on the tiny self-test
 * circuit with its listing and refusals, and the production path end to end on a
 * real claim circuit's smallest class (inclusion, 2^10 leaves): keys from a
 * three-contributor ceremony, a proof with them, and `veritee verify` accepting it
 * WITHOUT --allow-dev-setup, with and without a contribution requirement.
 *
 * The inclusion ceremony takes a minute or two on a small machine, so its keys are
 * cached under ~/.cache/veritee/ceremony-test-home (never the dev test home: those
 * keys must stay dev keys) and reused while they are ceremony keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256, toHex, utf8 } from '@veritee/core';
import { runEngine } from '@veritee/ceremony';
import { parseVerificationKeyText, vkHash } from '@veritee/zk';
import { hasStackTrace, runCli } from '../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-ceremony-cli-'));

test('zk ceremony local on the self-test circuit lists every contribution; refusals are coded', async () => {
  const home = join(dir, 'selftest-home');
  const r = await runCli(['zk', 'ceremony', 'local', '--circuit', 'ceremony-selftest', '--contributors', 'alice,bob,carol', '--beacon', 'ab'.repeat(32), '--work-dir', join(dir, 'work'), '--home', home]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /contribution #1 alice: [0-9a-f]{64}\ncontribution #2 bob: [0-9a-f]{64}\ncontribution #3 carol: [0-9a-f]{64}/);
  assert.match(r.stdout, /transcript [0-9a-f]{64}: VERIFIED/);
  const cdir = join(dir, 'work', 'ceremony-selftest-v1-1');
  const v = await runCli(['zk', 'ceremony', 'verify', '--dir', cdir, '--installed', '--home', home, '--beacon', 'ab'.repeat(32)]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /installed keys: they are the ones this transcript produces/);
  const wrongBeacon = await runCli(['zk', 'ceremony', 'verify', '--dir', cdir, '--beacon', 'cd'.repeat(32)]);
  assert.equal(wrongBeacon.code, 1);
  assert.match(wrongBeacon.stderr, /error\[CEREMONY_MISMATCH\].*beacon/);
  const p1 = await runCli(['zk', 'ceremony', 'verify', '--dir', cdir, '--srs', join(dir, 'work', 'phase1-pow3', 'srs.bin')]);
  assert.equal(p1.code, 0, p1.stderr);
  assert.match(p1.stdout, /phase 1: the transcript starts from/);
  const otherP1 = join(dir, 'other-p1');
  assert.equal((await runCli(['zk', 'ceremony', 'phase1', 'new', '--dir', otherP1, '--power', '3'])).code, 0);
  assert.equal((await runCli(['zk', 'ceremony', 'phase1', 'contribute', '--dir', otherP1, '--name', 'zed'])).code, 0);
  assert.equal((await runCli(['zk', 'ceremony', 'phase1', 'seal', '--dir', otherP1, '--beacon', 'ab'.repeat(32)])).code, 0);
  const wrongP1 = await runCli(['zk', 'ceremony', 'verify', '--dir', cdir, '--srs', join(otherP1, 'srs.bin')]);
  assert.equal(wrongP1.code, 1);
  assert.match(wrongP1.stderr, /error\[CEREMONY_MISMATCH\].*phase 1/);
  const notMine = await runCli(['zk', 'ceremony', 'verify', '--dir', cdir, '--require-contribution', 'ef'.repeat(32)]);
  assert.equal(notMine.code, 1);
  assert.match(notMine.stderr, /error\[ZK_CEREMONY_POLICY\]/);
  const other = await runCli(['zk', 'ceremony', 'verify', '--dir', cdir, '--circuit', 'inclusion', '--size', '1024']);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /error\[CEREMONY_MISMATCH\].*not inclusion/);
  const sealed = await runCli(['zk', 'ceremony', 'contribute', '--dir', cdir, '--name', 'dave']);
  assert.equal(sealed.code, 2);
  assert.match(sealed.stderr, /error\[CEREMONY_STATE\]/);
  const badName = await runCli(['zk', 'ceremony', 'contribute', '--dir', cdir, '--name', 'x'.repeat(70)]);
  assert.match(badName.stderr, /error\[INPUT_INVALID\]/);
  const both = await runCli(['zk', 'ceremony', 'init', '--dir', join(dir, 'x'), '--circuit', 'inclusion', '--size', '1024']);
  assert.match(both.stderr, /error\[CLI_USAGE_INVALID\]/);
  for (const x of [wrongBeacon, notMine, other, sealed, badName, both]) assert.equal(hasStackTrace(x.stderr), false);
});

test('zk setup --ceremony runs a local ceremony once and keeps its keys', async () => {
  const home = join(dir, 'setup-home');
  const r = await runCli(['zk', 'setup', '--ceremony', '--circuit', 'ceremony-selftest', '--home', home]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /LOCAL CEREMONY/);
  assert.match(r.stdout, /ceremony-selftest\/1: ceremony keys installed, transcript [0-9a-f]{64}/);
  const doc = JSON.parse(readFileSync(join(home, 'keys', 'ceremony-selftest-v1-1', 'vk.json'), 'utf8'));
  assert.deepEqual(doc.setup.ceremony.contributions.map((c: { name: string }) => c.name), ['local-1', 'local-2', 'local-3']);
  const again = await runCli(['zk', 'setup', '--ceremony', '--circuit', 'ceremony-selftest', '--home', home]);
  assert.match(again.stdout, /already present/);
});

test('ceremony keys for a real circuit: `veritee verify` accepts their proofs without --allow-dev-setup', async () => {
  // (-v2: keys whose record carries vkFixedSha256 and the chain summary; older caches are not reused)
  const home = process.env.VERITEE_CEREMONY_TEST_HOME ?? join(homedir(), '.cache', 'veritee', 'ceremony-test-home-v2');
  const vkPath = join(home, 'keys', 'inclusion-v1-1024', 'vk.json');
  // Reused only while they are ceremony keys for this build's constraint system.
  const d = await runEngine<{ r1csSha256: string }>('domain', { circuit: 'inclusion', size: 1024 });
  const cached = existsSync(vkPath) && JSON.parse(readFileSync(vkPath, 'utf8')).setup?.ceremony?.r1csSha256 === d.r1csSha256 && JSON.parse(readFileSync(vkPath, 'utf8')).setup?.ceremony?.chain !== undefined;
  if (!cached) {
    rmSync(join(home, 'ceremonies'), { recursive: true, force: true });
    const t0 = Date.now();
    const r = await runCli(['zk', 'ceremony', 'local', '--circuit', 'inclusion', '--size', '1024', '--contributors', 'alice,bob,carol', '--home', home]);
    assert.equal(r.code, 0, r.stderr);
    process.stderr.write(`# inclusion/1024 ceremony: ${Date.now() - t0} ms\n${r.stdout}`);
  }
  const doc = JSON.parse(readFileSync(vkPath, 'utf8'));
  assert.equal(doc.setup.kind, 'ceremony');
  assert.equal(doc.setup.ceremony.contributions.length, 3);
  const bob = doc.setup.ceremony.contributions[1].sha256 as string;

  const components = Array.from({ length: 50 }, (_, i) => ({ name: `opt/app/part-${i}`, sha256: toHex(sha256(utf8(`part ${i}`))) }));
  const list = join(dir, 'components.json');
  writeFileSync(list, JSON.stringify(components));
  const bundle = join(dir, 'bundle.json');
  const p = await runCli(['prove', 'inclusion', '--components', list, '--component', 'opt/app/part-7', '--depth', '10', '--out', bundle, '--home', home]);
  assert.equal(p.code, 0, p.stderr);
  assert.doesNotMatch(p.stderr, /DEV trusted setup/, 'no dev setup ran: the ceremony keys were used');
  assert.equal(JSON.parse(readFileSync(bundle, 'utf8')).proof.setup, 'ceremony');

  const ok = await runCli(['verify', bundle, '--proof-only', '--home', home, '--json']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const out = JSON.parse(ok.stdout);
  assert.equal(out.ok, true);
  assert.equal(out.key.setup, 'ceremony');
  assert.match(out.checks.find((c: { name: string }) => c.name === 'key.setup').detail, /multi-party ceremony.*alice, bob, carol/);

  const mine = await runCli(['verify', bundle, '--proof-only', '--home', home, '--require-contribution', bob, '--require-contributor', 'alice', 'carol']);
  assert.equal(mine.code, 0, mine.stdout);
  const missing = await runCli(['verify', bundle, '--proof-only', '--home', home, '--json', '--require-contribution', '12'.repeat(32)]);
  assert.equal(missing.code, 1);
  const setupCheck = JSON.parse(missing.stdout).checks.find((c: { name: string }) => c.name === 'key.setup');
  assert.equal(setupCheck.ok, false);
  assert.equal(setupCheck.code, 'ZK_CEREMONY_POLICY');
  const absent = await runCli(['verify', bundle, '--proof-only', '--home', home, '--require-contributor', 'dave']);
  assert.equal(absent.code, 1);
  const pinned = await runCli(['verify', bundle, '--proof-only', '--home', home, '--require-transcript', doc.setup.ceremony.transcriptSha256, '--min-contributors', '3']);
  assert.equal(pinned.code, 0, pinned.stdout);
  const otherPin = await runCli(['verify', bundle, '--proof-only', '--home', home, '--require-transcript', '34'.repeat(32)]);
  assert.equal(otherPin.code, 1);
  assert.match(otherPin.stdout, /not one the verifier pinned/);
  const four = await runCli(['verify', bundle, '--proof-only', '--home', home, '--min-contributors', '4']);
  assert.equal(four.code, 1);
  // A key document whose chain was tampered with is refused by `veritee verify` (TypeScript
  // chain check), even though its record still hashes to its transcript hash.
  const forged = structuredClone(doc);
  forged.setup.ceremony.chain.steps[1].delta2 = forged.setup.ceremony.chain.steps[2].delta2;
  const forgedHome = join(dir, 'forged-home');
  mkdirSync(join(forgedHome, 'keys'), { recursive: true });
  const forgedVk = join(dir, 'forged-vk.json');
  writeFileSync(forgedVk, JSON.stringify(forged));
  const forgedBundle = join(dir, 'forged-bundle.json');
  const b = JSON.parse(readFileSync(bundle, 'utf8'));
  b.proof.vkHash = vkHash(parseVerificationKeyText(JSON.stringify(forged)));
  writeFileSync(forgedBundle, JSON.stringify(b));
  const refused = await runCli(['verify', forgedBundle, '--proof-only', '--home', forgedHome, '--vk', forgedVk, '--json']);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stdout, /ceremony chain does not verify/);
});
