#!/usr/bin/env node
// Regenerates packages/image/test/vectors/tdx/dstack-mr.json with dstack-mr itself: its
// public API (tdx_os_image_measurement_cbor_for_image_dir, then
// tdx_measurements_from_measurement_document) run over synthetic TDVF volumes,
// bzImage-shaped kernels, initrds and ACPI blobs (src/testing/synthetic.ts). dstack-mr is
// not on crates.io; build the example in scripts/dstack-mr-vectors/ against a dstack
// checkout (see the README there) and point DSTACK_MR_VECTORS_BIN at the binary.
// Run after a build: DSTACK_MR_VECTORS_BIN=… node packages/image/scripts/gen-dstack-mr-vectors.mjs
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deterministicBytes, syntheticKernel, syntheticTdvf, SYNTHETIC_TDVF_SECTIONS } from '../dist/testing/synthetic.js';

const bin = process.env.DSTACK_MR_VECTORS_BIN;
if (!bin) throw new Error('set DSTACK_MR_VECTORS_BIN to the built veritee_vectors example of dstack-mr');
const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'test', 'vectors', 'tdx');
const GiB = 2 ** 30;
const rootfsHash = createHash('sha256').update('veritee dstack-mr vector rootfs').digest('hex');
const modern = { size: 200_000, protocol: 0x20f, loadflags: 1, xloadflags: 0x40, initrdAddrMax: 0x7fffffff, certTable: 0 };
const acpi = (label) => ({ tables: { label: `${label} tables`, size: 0x2b00 }, rsdp: { label: `${label} rsdp`, size: 36 }, loader: { label: `${label} loader`, size: 0x800 } });
const shiftedHob = SYNTHETIC_TDVF_SECTIONS.map((s) => (s.type === 2 ? { ...s, memoryAddress: 0x80b000 - 0x2000 } : s));
const tdvfA = { label: 'veritee synthetic tdvf', sections: SYNTHETIC_TDVF_SECTIONS };
const configs = [
  { name: 'dstack-real-layout-2g', tdvf: tdvfA, kernel: { label: 'kernel D', ...modern, noTrailing: true }, initrd: { label: 'initrd A', size: 300_001 }, memoryBytes: 2 * GiB, append: `console=ttyS0 dstack.rootfs_hash=${rootfsHash}`, acpi: acpi('q35 4 vcpus') },
  { name: 'dstack-real-layout-no-xlf-8g', tdvf: tdvfA, kernel: { label: 'kernel E', ...modern, protocol: 0x20c, xloadflags: 0, noTrailing: true }, initrd: { label: 'initrd C', size: 1_000_000 }, memoryBytes: 8 * GiB, append: `dstack.rootfs_hash=${rootfsHash} quiet`, acpi: acpi('q35 8 vcpus') },
  { name: 'dstack-real-layout-signed-odd-size-3g', tdvf: { label: 'veritee synthetic tdvf B', sections: shiftedHob }, kernel: { label: 'kernel F', size: 180_005, protocol: 0x20f, loadflags: 1, xloadflags: 0x40, initrdAddrMax: 0x7fffffff, certTable: 1536, noTrailing: true }, initrd: { label: 'initrd B', size: 65_536 }, memoryBytes: 3 * GiB, append: `console=hvc0 dstack.rootfs_hash=${rootfsHash}`, acpi: acpi('q35 2 vcpus') },
  { name: 'dstack-modern-2g', tdvf: tdvfA, kernel: { label: 'kernel A', ...modern }, initrd: { label: 'initrd A', size: 300_001 }, memoryBytes: 2 * GiB, append: `console=ttyS0 dstack.rootfs_hash=${rootfsHash}`, acpi: acpi('q35 4 vcpus') },
  { name: 'dstack-modern-4g', tdvf: tdvfA, kernel: { label: 'kernel A', ...modern }, initrd: { label: 'initrd A', size: 300_001 }, memoryBytes: 4 * GiB, append: `console=ttyS0 dstack.rootfs_hash=${rootfsHash}`, acpi: acpi('q35 4 vcpus') },
  { name: 'dstack-no-xlf-8g', tdvf: tdvfA, kernel: { label: 'kernel C', ...modern, protocol: 0x20c, xloadflags: 0 }, initrd: { label: 'initrd C', size: 1_000_000 }, memoryBytes: 8 * GiB, append: `dstack.rootfs_hash=${rootfsHash} quiet`, acpi: acpi('q35 8 vcpus') },
  { name: 'dstack-proto-2.11-signed-odd-size-2g', tdvf: tdvfA, kernel: { label: 'kernel B', size: 150_003, protocol: 0x20b, loadflags: 1, xloadflags: 0, initrdAddrMax: 0x37ffffff, certTable: 2048 }, initrd: { label: 'initrd B', size: 65_536 }, memoryBytes: 2 * GiB, append: `dstack.rootfs_hash=${rootfsHash}`, acpi: acpi('q35 1 vcpu') },
  { name: 'dstack-shifted-hob-3g', tdvf: { label: 'veritee synthetic tdvf B', sections: shiftedHob }, kernel: { label: 'kernel A', ...modern }, initrd: { label: 'initrd A', size: 300_001 }, memoryBytes: 3 * GiB, append: `console=hvc0 dstack.rootfs_hash=${rootfsHash}`, acpi: acpi('q35 2 vcpus') },
];
const cases = [];
for (const c of configs) {
  const dir = mkdtempSync(join(tmpdir(), 'dstack-mr-vectors-'));
  try {
    const w = (n, d) => {
      writeFileSync(join(dir, n), d);
      return join(dir, n);
    };
    w('ovmf.fd', syntheticTdvf(c.tdvf.label, c.tdvf.sections));
    w('vmlinuz', syntheticKernel(c.kernel));
    w('initrd', deterministicBytes(c.initrd.label, c.initrd.size));
    w('sha256sum.txt', 'synthetic\n');
    w('metadata.json', JSON.stringify({ cmdline: c.append, kernel: 'vmlinuz', initrd: 'initrd', bios: 'ovmf.fd', version: '0.5.0' }));
    const acpiFiles = ['tables', 'rsdp', 'loader'].map((k) => w(k, deterministicBytes(c.acpi[k].label, c.acpi[k].size)));
    // dstack's VmConfig.qemu_single_pass_add_pages = true selects its TwoPass page order
    const run = (flag) => JSON.parse(execFileSync(bin, [dir, JSON.stringify({ cpu_count: 1, memory_size: c.memoryBytes, qemu_single_pass_add_pages: flag }), ...acpiFiles], { encoding: 'utf8' }));
    const a = run(true);
    const b = run(false);
    if (a.rtmr0 !== b.rtmr0 || a.rtmr1 !== b.rtmr1 || a.rtmr2 !== b.rtmr2) throw new Error('the page order moved an RTMR');
    const trailingWithoutCertificate = !c.kernel.noTrailing && c.kernel.certTable === 0;
    cases.push({ ...c, trailingWithoutCertificate, expected: { mrtd: { 'two-pass': a.mrtd, 'single-pass': b.mrtd }, rtmr0: a.rtmr0, rtmr1: a.rtmr1, rtmr2: a.rtmr2 } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, 'dstack-mr.json'),
  JSON.stringify(
    {
      description:
        'TDX MRTD and RTMR0-2 computed by dstack-mr (Dstack-TEE/dstack, built from source: not published on crates.io) through its public API over synthetic inputs. dstack-mr measures its own firmware\'s CFV as the constant cfvDigest below (not the CFV of the given file), so veritee is given that digest for these vectors. Cases marked trailingWithoutCertificate have bytes after the last section and no certificate table: dstack-mr leaves them out of the Authenticode hash, the Authenticode specification, EDK2 and signify hash them (veritee too), so RTMR1 differs there; real bzImages have no such bytes.',
      cfvDigest: '344bc51c980ba621aaa00da3ed7436f7d6e549197dfe699515dfa2c6583d95e6412af21c097d473155875ffd561d6790',
      cases,
    },
    null,
    1,
  ) + '\n',
);
console.log(`${cases.length} dstack-mr vectors`);
