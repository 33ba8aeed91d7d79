/**
 * The pieces of the image build that need no network or emulator: the initramfs writer
 * (parsed back by an independent reader of the newc layout), and the development
 * image's simulated configfs-tsm driving the real enforcement over a real tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, VeriteeError } from '@veritee/core';
import { SimulatedTee } from '@veritee/attestation';
import { writeCpio } from './cpio.js';
import { buildImage } from './image-build.js';
import { simulatedTsm } from '../guest/simulated-tsm.js';
import { enforceImage } from '../enforce.js';
import { buildManifest } from '../manifest.js';

function readCpio(b: Uint8Array): { name: string; mode: number; mtime: number; data: string; rdev: [number, number] }[] {
  const out = [];
  const dec = new TextDecoder();
  let off = 0;
  for (;;) {
    const h = dec.decode(b.subarray(off, off + 110));
    assert.equal(h.slice(0, 6), '070701', `magic at ${off}`);
    const f = (i: number) => parseInt(h.slice(6 + 8 * i, 14 + 8 * i), 16);
    const nameLen = f(11);
    const size = f(6);
    const name = dec.decode(b.subarray(off + 110, off + 110 + nameLen - 1));
    off += 110 + nameLen;
    off += (4 - (off % 4)) % 4;
    const data = dec.decode(b.subarray(off, off + size));
    off += size;
    off += (4 - (off % 4)) % 4;
    if (name === 'TRAILER!!!') break;
    out.push({ name, mode: f(1), mtime: f(5), data, rdev: [f(9), f(10)] as [number, number] });
  }
  return out;
}

test('initramfs: newc entries sorted with fixed owner, mtime and inodes; equal inputs, equal bytes', () => {
  const entries = [
    { path: 'init', type: 'file' as const, data: new TextEncoder().encode('#init'), mode: 0o755 },
    { path: 'dev', type: 'dir' as const },
    { path: 'dev/console', type: 'char' as const, major: 5, minor: 1 },
  ];
  const a = writeCpio(entries, 1735689600);
  assert.deepEqual(writeCpio([...entries].reverse(), 1735689600), a);
  assert.equal(a.length % 512, 0);
  const r = readCpio(a);
  assert.deepEqual(r.map((e) => e.name), ['dev', 'dev/console', 'init']);
  assert.equal(r[0]!.mode, 0o040755);
  assert.deepEqual(r[1]!.rdev, [5, 1]);
  assert.equal(r[1]!.mode, 0o020600);
  assert.equal(r[2]!.data, '#init');
  assert.equal(r[2]!.mode, 0o100755);
  assert.ok(r.every((e) => e.mtime === 1735689600));
  assert.throws(() => writeCpio([{ path: '../etc/passwd', type: 'dir' }], 0), (e: unknown) => e instanceof VeriteeError && e.code === 'IMAGE_BUILD_FAILED');
  assert.throws(() => writeCpio([{ path: 'a', type: 'dir' }, { path: 'a', type: 'dir' }], 0), (e: unknown) => e instanceof VeriteeError && e.code === 'IMAGE_BUILD_FAILED');
});

test('development evidence: the simulated configfs-tsm answers with signed reports of the host-chosen HOST_DATA; enforcement decides on disk contents', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-image-devtsm-'));
  try {
    mkdirSync(join(dir, 'usr/lib/veritee'), { recursive: true });
    writeFileSync(join(dir, 'usr/lib/veritee/agent.mjs'), 'console.log(1)\n');
    const manifest = buildManifest(dir, { include: ['usr'] }, { depth: 10 });
    const tee = await SimulatedTee.create({ platforms: ['snp'] });
    const ok = await enforceImage({ manifest, root: dir, tsm: simulatedTsm(tee, fromHex(manifest.hostData.snp)) });
    assert.equal(ok.root, manifest.root);
    assert.equal(ok.provider, 'sev_guest');
    // the host claims another root: refused
    await assert.rejects(enforceImage({ manifest, root: dir, tsm: simulatedTsm(tee, new Uint8Array(32).fill(1)) }), (e: unknown) => e instanceof VeriteeError && e.code === 'IMAGE_COMPONENT_MISMATCH');
    // a changed file under the genuine root: refused, named
    writeFileSync(join(dir, 'usr/lib/veritee/agent.mjs'), 'console.log(2)\n');
    await assert.rejects(enforceImage({ manifest, root: dir, tsm: simulatedTsm(tee, fromHex(manifest.hostData.snp)) }), (e: unknown) => e instanceof VeriteeError && e.code === 'IMAGE_COMPONENT_MISMATCH' && e.message.includes('usr/lib/veritee/agent.mjs'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('build options are validated before anything runs', async () => {
  await assert.rejects(buildImage({ mode: 'debug' as never }), (e: unknown) => e instanceof VeriteeError && e.code === 'INPUT_INVALID');
  await assert.rejects(buildImage({ mode: 'dev', mirror: 'file:///etc; rm -rf /' }), (e: unknown) => e instanceof VeriteeError && e.code === 'INPUT_INVALID');
});
