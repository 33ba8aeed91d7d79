#!/usr/bin/env node
// Regenerates packages/image/test/vectors/tdx/rtmr.json: RTMR0-2 of direct-boot TDs
// over synthetic TDVF volumes, bzImage-like kernels (src/testing/synthetic.ts),
// initrds and ACPI blobs, computed by scripts/tdx_rtmr_reference.py, a second,
// independent implementation (Python, standard library) of the model dstack-mr
// publishes. dstack-mr itself is not on crates.io (`cargo search` finds nothing
// and a dependency on it does not resolve), so it could not be built here; these
// vectors are a second implementation's output, not a measurement from hardware.
// Run after a build: node packages/image/scripts/gen-tdx-rtmr-vectors.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deterministicBytes, syntheticKernel, syntheticTdvf, SYNTHETIC_TDVF_SECTIONS } from '../dist/testing/synthetic.js';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'test', 'vectors', 'tdx');
mkdirSync(outDir, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'tdx-rtmr-vectors-'));
const GiB = 2 ** 30;
const modern = { size: 200_000, protocol: 0x20f, loadflags: 1, xloadflags: 0x40, initrdAddrMax: 0x7fffffff, certTable: 0 };
const acpi = (label) => ({ tables: { label: `${label} tables`, size: 0x2b00 }, rsdp: { label: `${label} rsdp`, size: 36 }, loader: { label: `${label} loader`, size: 0x800 } });
const shiftedHob = SYNTHETIC_TDVF_SECTIONS.map((s) => (s.type === 2 ? { ...s, memoryAddress: 0x80b000 - 0x2000 } : s));
const configs = [
  { name: 'modern-2g-initrd-acpi', tdvf: { label: 'veritee synthetic tdvf', sections: SYNTHETIC_TDVF_SECTIONS }, kernel: { label: 'kernel A', ...modern }, initrd: { label: 'initrd A', size: 300_001 }, memoryBytes: 2 * GiB, append: 'console=ttyS0 root=/dev/vda ro', acpi: acpi('q35 4 vcpus') },
  { name: 'modern-4g-initrd-acpi', tdvf: { label: 'veritee synthetic tdvf', sections: SYNTHETIC_TDVF_SECTIONS }, kernel: { label: 'kernel A', ...modern }, initrd: { label: 'initrd A', size: 300_001 }, memoryBytes: 4 * GiB, append: 'console=ttyS0 root=/dev/vda ro', acpi: acpi('q35 4 vcpus') },
  { name: 'modern-1g-no-initrd-no-acpi', tdvf: { label: 'veritee synthetic tdvf', sections: SYNTHETIC_TDVF_SECTIONS }, kernel: { label: 'kernel A', ...modern }, memoryBytes: 1 * GiB, append: 'quiet' },
  { name: 'proto-2.11-signed-3g', tdvf: { label: 'veritee synthetic tdvf B', sections: shiftedHob }, kernel: { label: 'kernel B', size: 150_003, protocol: 0x20b, loadflags: 1, xloadflags: 0, initrdAddrMax: 0x37ffffff, certTable: 2048 }, initrd: { label: 'initrd B', size: 65_536 }, memoryBytes: 3 * GiB, append: 'veritee.mode=dev veritee.roothash=00ff', acpi: acpi('q35 1 vcpu') },
  { name: 'proto-2.12-no-xlf-8g-unicode', tdvf: { label: 'veritee synthetic tdvf', sections: SYNTHETIC_TDVF_SECTIONS }, kernel: { label: 'kernel C', ...modern, protocol: 0x20c, xloadflags: 0 }, initrd: { label: 'initrd C', size: 1_000_000 }, memoryBytes: 8 * GiB, append: 'console=ttyS0 label=caf\u00e9-\u2603', acpi: acpi('q35 8 vcpus') },
];
const write = (name, data) => {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
};
const cases = [];
for (const c of configs) {
  const args = [join(here, 'tdx_rtmr_reference.py'), write('fw', syntheticTdvf(c.tdvf.label, c.tdvf.sections)), write('kernel', syntheticKernel(c.kernel)), c.initrd ? write('initrd', deterministicBytes(c.initrd.label, c.initrd.size)) : '-', String(c.memoryBytes), write('cmdline', c.append)];
  if (c.acpi) for (const k of ['tables', 'rsdp', 'loader']) args.push(write(k, deterministicBytes(c.acpi[k].label, c.acpi[k].size)));
  const r = JSON.parse(execFileSync('python3', args, { encoding: 'utf8' }));
  cases.push({ ...c, expected: r });
}
writeFileSync(
  join(outDir, 'rtmr.json'),
  JSON.stringify({ description: 'TDX RTMR0-2 of direct-boot TDs over synthetic TDVF/kernel/initrd/ACPI inputs, from scripts/tdx_rtmr_reference.py (an independent Python implementation of the model dstack-mr publishes; not from hardware or dstack-mr itself)', cases }, null, 1) + '\n',
);
rmSync(tmp, { recursive: true, force: true });
console.log(`${cases.length} TDX RTMR vectors`);
