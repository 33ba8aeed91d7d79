/**
 * The measured image for real: built from Debian trixie packages, twice for the
 * development image (identical digests), once for production (no shell, no package
 * manager); the dev label is on the measured command line and changes the predicted
 * SNP launch measurement. Booting under QEMU is not asserted here (see the README).
 *
 * The first run builds (minutes, network: deb.debian.org) into ~/.cache/veritee/image;
 * later runs reuse the cached builds. Missing tools are installed with apt-get, or the
 * test fails naming them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildImage, type ImageArtifacts } from './build/image-build.js';
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
