/**
 * .ptau import: a small powers of tau made and verified with snarkjs becomes the
 * phase 1 of a self-test ceremony; a tampered file is refused by snarkjs before
 * the engine sees it, and by the engine's own checks when snarkjs is bypassed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVeriteeError } from '@veritee/core';
import { initFromPtau, runEngine, snarkjsCli, stateFile, verifyPtau, type CeremonyVerification } from './index.js';

const BEACON = '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20';

function snarkjs(cwd: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [snarkjsCli(), ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout;
}

test('a snarkjs .ptau is verified, imported, and serves a ceremony; tampering is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-ptau-test-'));
  snarkjs(dir, 'powersoftau', 'new', 'bn128', '3', 'p0.ptau');
  snarkjs(dir, 'powersoftau', 'contribute', 'p0.ptau', 'p1.ptau', '--name=alice', '-e=entropy');
  snarkjs(dir, 'powersoftau', 'beacon', 'p1.ptau', 'final.ptau', BEACON, '10', '-n=final beacon');
  const ptau = join(dir, 'final.ptau');

  const v = await verifyPtau(ptau);
  assert.ok(v.ok, v.output);
  assert.match(v.output, /alice/, 'snarkjs lists the contributions');

  const cdir = join(dir, 'ceremony');
  const r = await initFromPtau({ dir: cdir, circuit: 'ceremony-selftest', size: 1, ptau });
  assert.equal(r.manifest.ceremony.phase1, 'ptau:final.ptau');
  assert.equal(r.manifest.ceremony.domain, 8);
  for (const [i, name] of ['alice', 'bob'].entries()) {
    const out = join(cdir, `in-${i}.bin`);
    await runEngine('contribute', { in: join(cdir, stateFile(i)), out });
    await runEngine('accept', { dir: cdir, name, file: out });
  }
  await runEngine('beacon', { dir: cdir, beacon: BEACON, iterations: 4 });
  const fin = await runEngine<CeremonyVerification>('finalize', { dir: cdir, home: join(dir, 'home') });
  assert.equal(fin.vk.setup.kind, 'ceremony');
  assert.equal(fin.vk.setup.ceremony!.contributions.length, 2);

  // A flipped byte inside [τ]₁: snarkjs refuses the file, so it is never imported.
  const raw = readFileSync(ptau);
  const bad = Buffer.from(raw);
  bad[12 + 12 + 44 + 12 + 64 * 2 + 7] ^= 1; // header section (12 + 44 bytes), then tauG1 point 2
  writeFileSync(join(dir, 'bad.ptau'), bad);
  assert.equal((await verifyPtau(join(dir, 'bad.ptau'))).ok, false);
  await assert.rejects(
    initFromPtau({ dir: join(dir, 'never'), circuit: 'ceremony-selftest', size: 1, ptau: join(dir, 'bad.ptau') }),
    (e) => isVeriteeError(e, 'CEREMONY_PTAU_INVALID'),
  );
  // The engine's own checks refuse it too, when called directly.
  await assert.rejects(
    runEngine('init', { dir: join(dir, 'direct'), circuit: 'ceremony-selftest', size: 1, ptau: join(dir, 'bad.ptau') }),
    (e) => isVeriteeError(e, 'CEREMONY_PTAU_INVALID'),
  );
  // Not a .ptau at all.
  writeFileSync(join(dir, 'junk.ptau'), 'not a ptau');
  assert.equal((await verifyPtau(join(dir, 'junk.ptau'))).ok, false);
});
