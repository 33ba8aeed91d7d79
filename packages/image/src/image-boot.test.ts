/**
 * The measured image for real: built from Debian trixie packages, twice for the
 * development image (identical digests), once for production (no shell, no package
 * manager); the dev label is on the measured command line and changes the predicted
 * SNP launch measurement. Then four QEMU (TCG) boots at once, read off the serial
 * console: the development image enforces its components and starts the workload; a
 * tampered component under an unchanged manifest root is refused before the workload;
 * a flipped byte of the root file system is refused by dm-verity; the production image
 * without a TEE interface refuses with IMAGE_EVIDENCE_UNAVAILABLE.
 *
 * The first run builds (minutes, network: deb.debian.org) into ~/.cache/veritee/image;
 * later runs reuse the cached builds and the derived attack variants. Missing tools are
 * installed with apt-get, or the test fails naming them; a build that cannot reach the
 * mirror fails the test (IMAGE_BUILD_FAILED), it never skips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, type ImageArtifacts } from './build/image-build.js';
import { bootImage, type BootResult } from './build/boot.js';
import { deriveFlippedRootByte, deriveTamperedComponent } from './build/variants.js';
import { predictTdxRtmrs } from './tdx/rtmr.js';
import { syntheticTdvf } from './testing/synthetic.js';
import { measureSnp } from './snp/measure.js';
import { parseFirmware } from './firmware.js';
import { parseManifest } from './manifest.js';
import { syntheticFirmware, SYNTHETIC_LAYOUTS } from './testing/synthetic.js';

let dev: ImageArtifacts;
let prod: ImageArtifacts;
const log = (s: string) => process.stderr.write(`# image: ${s}\n`);

test('build: the development image twice with identical digests, the production image without shells', { timeout: 900_000 }, async () => {
  dev = await buildImage({ mode: 'dev', twice: true, log });
  prod = await buildImage({ mode: 'production', twice: false, log });
  log(`dev ${dev.built ? `built in ${dev.buildSeconds.join(' s + ')} s` : 'cached'}; production ${prod.built ? `built in ${prod.buildSeconds.join(' s')} s` : 'cached'}`);
  log(`sizes (bytes): dev ${JSON.stringify(dev.sizes)}, production ${JSON.stringify(prod.sizes)}`);
  // buildImage compared the two development builds; read both back to show it.
  const a = readFileSync(join(dev.dir, 'digests.json'), 'utf8');
  const b = readFileSync(join(dirname(dev.dir), 'b', 'digests.json'), 'utf8');
  assert.equal(a, b);
  for (const f of ['vmlinuz', 'initrd.cpio', 'rootfs.squashfs', 'rootfs.verity']) assert.match(JSON.stringify(dev.digests), /"[0-9a-f]{64}"/, f);

  assert.match(dev.cmdline, /(^| )veritee\.mode=dev( |$)/);
  assert.match(prod.cmdline, /(^| )veritee\.mode=production( |$)/);
  assert.deepEqual(prod.digests.shellsAndPackageManagers, []);
  assert.ok(dev.digests.shellsAndPackageManagers.includes('usr/bin/dash'), 'the development image keeps its shell');
  const prodFiles = readFileSync(join(prod.dir, 'files.txt'), 'utf8').split('\n');
  for (const f of ['usr/bin/sh', 'usr/bin/bash', 'usr/bin/dash', 'usr/bin/apt', 'usr/bin/dpkg']) assert.ok(!prodFiles.includes(f), `${f} is not in the production image`);
  assert.ok(prodFiles.includes('usr/bin/node') && prodFiles.includes('usr/lib/veritee/veritee-guest.mjs'));
  assert.notEqual(prod.digests.componentRoot, dev.digests.componentRoot);
  assert.equal(parseManifest(readFileSync(dev.manifest, 'utf8')).root, dev.digests.componentRoot);

  // The mode is in the launch measurement: the SNP kernel-hashes table covers the command line
  // (firmware: a synthetic AmdSev-like volume, see snp.test.ts — no AmdSev OVMF is packaged).
  const firmware = parseFirmware(syntheticFirmware(SYNTHETIC_LAYOUTS['amdsev-like']!), 'synthetic AmdSev firmware');
  const measure = (x: ImageArtifacts) =>
    measureSnp({ firmware, kernel: readFileSync(x.vmlinuz), initrd: readFileSync(x.initrd), append: x.cmdline, vcpus: 1, vcpuType: 'EPYC-v4', vmm: 'qemu' }).measurement;
  const md = measure(dev);
  assert.notEqual(md, measure(prod));
  assert.notEqual(md, measureSnp({ firmware, kernel: readFileSync(dev.vmlinuz), initrd: readFileSync(dev.initrd), append: dev.cmdline.replace('veritee.mode=dev', 'veritee.mode=production'), vcpus: 1, vcpuType: 'EPYC-v4', vmm: 'qemu' }).measurement);
});

/** Per boot; four TCG guests share the machine's cores. */
const BOOT_TIMEOUT_MS = 900_000;

function summary(r: BootResult): string {
  return `${r.seconds.toFixed(1)} s, status ${r.status}; console tail:\n${r.console.split('\n').slice(-25).join('\n')}`;
}

test('boot under QEMU (TCG), four guests at once: dev enforces and starts the workload; a tampered component, a flipped root byte and production without a TEE are refused', { timeout: 2 * BOOT_TIMEOUT_MS + 600_000, concurrency: 4 }, async (t) => {
  // The builds are cached by the test above (or built now, failing loudly without a mirror).
  const d = await buildImage({ mode: 'dev', twice: true, log });
  const p = await buildImage({ mode: 'production', twice: false, log });
  const t0 = Date.now();
  const boots: Record<string, number> = {};
  const timed = async (name: string, f: () => Promise<BootResult>) => {
    const r = await f();
    boots[name] = r.seconds;
    log(`boot ${name}: ${r.seconds.toFixed(1)} s`);
    return r;
  };
  const base = { memoryMiB: 1024, timeoutMs: BOOT_TIMEOUT_MS };
  await Promise.all([
    t.test('(a) the development image boots, enforces its components and starts the workload', async () => {
      const r = await timed('dev', () => bootImage({ ...base, vmlinuz: d.vmlinuz, initrd: d.initrd, squashfs: d.squashfs, verity: d.verity, cmdline: d.cmdline, hostData: d.digests.componentRoot }));
      const c = r.console;
      assert.match(c, /veritee-init: dm-verity root mapped/, summary(r));
      assert.match(c, /DEVELOPMENT IMAGE: no usable configfs-tsm .*SIMULATED TEE/, summary(r));
      assert.ok(c.includes(`veritee-image: ENFORCED ${d.digests.components} components match the attested snp root ${d.digests.componentRoot}`), summary(r));
      assert.ok(c.includes(`veritee-agent: started`) && c.includes(`component root ${d.digests.componentRoot}`), summary(r));
      assert.ok(c.indexOf('ENFORCED') < c.indexOf('veritee-agent: started'), 'the workload starts only after enforcement');
      assert.match(c, /veritee-init: guest program exited with status 0/, summary(r));
      assert.doesNotMatch(c, /REFUSED/);
    }),
    t.test('(b) a tampered component under the unchanged manifest root: enforce refuses, no workload', async () => {
      const v = await deriveTamperedComponent(d, 'usr/lib/os-release', log);
      assert.equal(v.manifestSha256, createHash('sha256').update(readFileSync(d.manifest)).digest('hex'), 'the shipped manifest (and so its root) is unchanged');
      assert.notEqual(v.cmdline, d.cmdline, 'the verity root hash on the command line is the tampered file system\'s');
      const r = await timed('tampered', () => bootImage({ ...base, vmlinuz: v.vmlinuz, initrd: v.initrd, squashfs: v.squashfs, verity: v.verity, cmdline: v.cmdline, hostData: d.digests.componentRoot }));
      const c = r.console;
      assert.match(c, /veritee-init: dm-verity root mapped/, summary(r));
      assert.match(c, /veritee-image: REFUSED IMAGE_COMPONENT_MISMATCH: .*usr\/lib\/os-release/, summary(r));
      assert.match(c, /veritee-image: the workload was not started/, summary(r));
      assert.doesNotMatch(c, /veritee-agent: started|ENFORCED/);
    }),
    t.test('(c) a flipped byte of the root file system: dm-verity refuses the block, nothing runs', async () => {
      const v = deriveFlippedRootByte(d);
      const r = await timed('flipped', () => bootImage({ ...base, vmlinuz: v.vmlinuz, initrd: v.initrd, squashfs: v.squashfs, verity: v.verity, cmdline: v.cmdline, hostData: d.digests.componentRoot }));
      const c = r.console;
      assert.match(c, /veritee-init: dm-verity root mapped/, summary(r));
      const block = /4 KiB block ([0-9]+)/.exec(v.change)![1];
      assert.match(c, new RegExp(`device-mapper: verity: [0-9:]+: data block ${block} is corrupted`), summary(r));
      assert.match(c, /veritee-init: FATAL: mount the verity root: Input\/output error/, summary(r));
      assert.doesNotMatch(c, /veritee-agent: started|ENFORCED|veritee-image: mode/);
    }),
    t.test('(d) the production image without a TEE interface refuses with IMAGE_EVIDENCE_UNAVAILABLE (the host-chosen fw_cfg value is ignored)', async () => {
      const r = await timed('production', () => bootImage({ ...base, vmlinuz: p.vmlinuz, initrd: p.initrd, squashfs: p.squashfs, verity: p.verity, cmdline: p.cmdline, hostData: p.digests.componentRoot }));
      const c = r.console;
      assert.match(c, /veritee-image: mode production; enforcing [0-9]+ components/, summary(r));
      assert.match(c, /veritee-image: REFUSED IMAGE_EVIDENCE_UNAVAILABLE/, summary(r));
      assert.match(c, /veritee-image: the workload was not started/, summary(r));
      assert.doesNotMatch(c, /veritee-agent: started|ENFORCED|SIMULATED/);
    }),
  ]);
  log(`four boots at once: ${((Date.now() - t0) / 1000).toFixed(1)} s wall (${Object.entries(boots).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')})`);
});

test('the real image kernel, initrd and command line give TDX RTMR1/RTMR2 (Authenticode of the signed Debian kernel) equal to the Python reference', async () => {
  const d = await buildImage({ mode: 'dev', twice: true, log });
  const tmp = mkdtempSync(join(tmpdir(), 'veritee-rtmr-real-'));
  try {
    const kernel = readFileSync(d.vmlinuz);
    const initrd = readFileSync(d.initrd);
    const fw = syntheticTdvf();
    const r = predictTdxRtmrs({ firmware: fw, kernel, initrd, append: d.cmdline, memoryBytes: 2 ** 31 });
    writeFileSync(join(tmp, 'fw'), fw);
    writeFileSync(join(tmp, 'cmdline'), d.cmdline);
    const ref = JSON.parse(execFileSync('python3', [fileURLToPath(new URL('../scripts/tdx_rtmr_reference.py', import.meta.url)), join(tmp, 'fw'), d.vmlinuz, d.initrd, String(2 ** 31), join(tmp, 'cmdline')], { encoding: 'utf8', maxBuffer: 1 << 20 })) as { rtmr1: string; rtmr2: string };
    assert.equal(r.rtmr1, ref.rtmr1);
    assert.equal(r.rtmr2, ref.rtmr2);
    // the dev label is on the measured command line: RTMR2 moves with it, RTMR1 does not
    const prodLabel = predictTdxRtmrs({ firmware: fw, kernel, initrd, append: d.cmdline.replace('veritee.mode=dev', 'veritee.mode=production'), memoryBytes: 2 ** 31 });
    assert.equal(prodLabel.rtmr1, r.rtmr1);
    assert.notEqual(prodLabel.rtmr2, r.rtmr2);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
