/**
 * The measured image for real: built from Debian trixie packages (twice for the
 * development image: identical digests), booted under QEMU (TCG here: no SEV or TDX).
 *
 * - the development image's init maps the dm-verity root, the guest program enforces
 *   the component tree against the host-chosen HOST_DATA (SIMULATED TEE, labelled dev on
 *   the measured command line) and only then starts the agent;
 * - a host that implants a file (new squashfs, new verity root hash, genuine HOST_DATA)
 *   is refused with IMAGE_COMPONENT_MISMATCH naming the file, and the agent never starts;
 * - one flipped byte of the root file system is caught by dm-verity;
 * - the production image has no shell or package manager and, without a TEE, refuses
 *   to start anything (IMAGE_EVIDENCE_UNAVAILABLE).
 *
 * The first run builds (minutes, network: deb.debian.org) into ~/.cache/veritee/image;
 * later runs reuse the cached builds. Missing tools are installed with apt-get, or the
 * test fails naming them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildImage, type ImageArtifacts } from './build/image-build.js';
import { bootImage } from './build/boot.js';
import { measureSnp } from './snp/measure.js';
import { parseFirmware } from './firmware.js';
import { parseManifest } from './manifest.js';
import { syntheticFirmware, SYNTHETIC_LAYOUTS } from './testing/synthetic.js';
import { flippedImage, implantedImage } from './testing/tamper.js';

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

test('boot: the development image maps its verity root, enforces the attested root, then starts the agent', { timeout: 480_000 }, async () => {
  assert.ok(dev, 'the build test ran');
  const r = await bootImage({ vmlinuz: dev.vmlinuz, initrd: dev.initrd, squashfs: dev.squashfs, verity: dev.verity, cmdline: dev.cmdline, hostData: dev.digests.componentRoot });
  log(`dev boot: ${r.seconds.toFixed(1)} s (${r.accel})`);
  assert.match(r.console, /veritee-init: mode dev \(DEVELOPMENT IMAGE/);
  assert.match(r.console, /veritee-init: dm-verity root mapped/);
  assert.match(r.console, /DEVELOPMENT IMAGE: no usable configfs-tsm .*using a SIMULATED TEE/);
  assert.match(r.console, new RegExp(`veritee-image: ENFORCED ${dev.digests.components} components match the attested snp root ${dev.digests.componentRoot}`));
  assert.match(r.console, /veritee-agent: started/);
  assert.match(r.console, new RegExp(`veritee-agent: health \\{"agent":"veritee","status":"ok","componentRoot":"${dev.digests.componentRoot}","mode":"dev"\\}`));
  assert.match(r.console, /guest program exited with status 0/);
});

test('boot: an implanted file (new verity root, genuine HOST_DATA claimed) is refused before the agent starts', { timeout: 480_000 }, async () => {
  assert.ok(dev, 'the build test ran');
  const dir = mkdtempSync(join(tmpdir(), 'veritee-image-tamper-'));
  try {
    const t = implantedImage(dev.squashfs, dev.cmdline, dir);
    assert.notEqual(t.cmdline, dev.cmdline, 'the verity root hash on the measured command line changed');
    const r = await bootImage({ vmlinuz: dev.vmlinuz, initrd: dev.initrd, squashfs: t.squashfs, verity: t.verity, cmdline: t.cmdline, hostData: dev.digests.componentRoot });
    log(`implanted boot: ${r.seconds.toFixed(1)} s`);
    assert.match(r.console, /veritee-init: dm-verity root mapped/);
    assert.match(r.console, /veritee-image: REFUSED IMAGE_COMPONENT_MISMATCH: .*added: "implant"/);
    assert.doesNotMatch(r.console, /veritee-agent: started/);
    assert.doesNotMatch(r.console, /ENFORCED/);
    assert.match(r.console, /guest program exited with status 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('boot: one flipped byte of the root file system is caught by dm-verity', { timeout: 480_000 }, async () => {
  assert.ok(dev, 'the build test ran');
  const dir = mkdtempSync(join(tmpdir(), 'veritee-image-flip-'));
  try {
    const t = flippedImage(dev.squashfs, dev.verity, dev.cmdline, dir);
    const r = await bootImage({ vmlinuz: dev.vmlinuz, initrd: dev.initrd, squashfs: t.squashfs, verity: t.verity, cmdline: t.cmdline, hostData: dev.digests.componentRoot });
    log(`flipped boot: ${r.seconds.toFixed(1)} s`);
    assert.match(r.console, /device-mapper: verity: .*data block 0 is corrupted/);
    assert.match(r.console, /veritee-init: FATAL: mount the verity root/);
    assert.doesNotMatch(r.console, /veritee-agent: started/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('boot: the production image without a TEE refuses to start anything', { timeout: 480_000 }, async () => {
  assert.ok(prod, 'the build test ran');
  // Even with the genuine root offered through fw_cfg: production never simulates.
  const r = await bootImage({ vmlinuz: prod.vmlinuz, initrd: prod.initrd, squashfs: prod.squashfs, verity: prod.verity, cmdline: prod.cmdline, hostData: prod.digests.componentRoot });
  log(`production boot: ${r.seconds.toFixed(1)} s`);
  assert.match(r.console, /veritee-init: mode production, dm-verity root hash/);
  assert.match(r.console, /veritee-image: REFUSED IMAGE_EVIDENCE_UNAVAILABLE: /);
  assert.doesNotMatch(r.console, /SIMULATED/);
  assert.doesNotMatch(r.console, /veritee-agent: started/);
});
