#!/usr/bin/env node
// Regenerates packages/image/test/vectors/snp/*.json with the reference tool
// (PyPI sev-snp-measure, installed into ~/.cache/veritee/venv when missing).
// Run after a build: node packages/image/scripts/gen-snp-vectors.mjs
// Inputs are synthetic (deterministic from their labels) or Debian's ovmf
// package; each vector records the inputs' digests and the tool's measurement.
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticFirmware, SYNTHETIC_LAYOUTS, deterministicBytes } from '../dist/testing/synthetic.js';
import { ensureSevSnpMeasure, ensureDebianOvmf, runSevSnpMeasure, SEV_SNP_MEASURE_VERSION } from '../dist/testing/reference-tool.js';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'test', 'vectors', 'snp');
const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const tool = ensureSevSnpMeasure();
const tmp = mkdtempSync(join(tmpdir(), 'snp-vectors-'));
const tag = `sev-snp-measure ${SEV_SNP_MEASURE_VERSION} (PyPI)`;

function blob(label, size) {
  const b = deterministicBytes(label, size);
  const p = join(tmp, label.replace(/[^a-z0-9]/gi, '_'));
  writeFileSync(p, b);
  return { path: p, ref: { label, size, sha256: sha256(b) } };
}

function runCases(fwPath, cases) {
  return cases.map((c) => {
    const args = { ovmf: fwPath, vcpus: c.vcpus, vmm: c.vmm, ...(c.vcpuType ? { vcpuType: c.vcpuType } : {}), ...(c.guestFeatures ? { guestFeatures: c.guestFeatures } : {}) };
    const out = { name: c.name, vcpus: c.vcpus, vmm: c.vmm };
    if (c.vcpuType) out.vcpuType = c.vcpuType;
    if (c.guestFeatures) out.guestFeatures = c.guestFeatures;
    if (c.kernel) { const k = blob(c.kernel.label, c.kernel.size); args.kernel = k.path; out.kernel = k.ref; }
    if (c.initrd) { const k = blob(c.initrd.label, c.initrd.size); args.initrd = k.path; out.initrd = k.ref; }
    if (c.append !== undefined) { args.append = c.append; out.append = c.append; }
    const r = runSevSnpMeasure(tool, args, tmp);
    if (r.ok) out[refusedFirmware ? 'toolOutput' : 'expected'] = r.measurement; else out.toolError = r.error;
    return out;
  });
}
let refusedFirmware = false;

const grid = [];
for (const vmm of ['qemu', 'ec2', 'gce'])
  for (const vcpuType of ['EPYC-v4', 'EPYC-Milan', 'EPYC-Genoa', 'EPYC-Turin'])
    for (const vcpus of [1, 4, 16]) if (vmm === 'qemu' || vcpus !== 16) grid.push({ name: `${vmm}-${vcpuType}-${vcpus}`, vcpus, vcpuType, vmm });
grid.push({ name: 'qemu-EPYC-Rome-2-features-0x21', vcpus: 2, vcpuType: 'EPYC-Rome', vmm: 'qemu', guestFeatures: '0x21' });
grid.push({ name: 'ec2-no-vcpu-type-2', vcpus: 2, vmm: 'ec2' });

const kernel = { label: 'veritee synthetic vmlinuz', size: 9 * 1024 * 1024 + 123 };
const initrd = { label: 'veritee synthetic initrd', size: 3 * 1024 * 1024 + 7 };
const direct = [
  { name: 'direct-kernel-only', vcpus: 1, vcpuType: 'EPYC-v4', vmm: 'qemu', kernel },
  { name: 'direct-kernel-initrd', vcpus: 2, vcpuType: 'EPYC-Milan', vmm: 'qemu', kernel, initrd },
  { name: 'direct-kernel-initrd-append', vcpus: 4, vcpuType: 'EPYC-Genoa', vmm: 'qemu', kernel, initrd, append: 'console=ttyS0 root=/dev/vda1 roothash=4f2a ro' },
  { name: 'direct-append-unicode', vcpus: 1, vcpuType: 'EPYC-Milan', vmm: 'qemu', kernel, append: 'veritee.mode=production label=π' },
  { name: 'direct-ec2', vcpus: 2, vcpuType: 'EPYC-Milan', vmm: 'ec2', kernel, initrd, append: 'console=ttyS0' },
  { name: 'direct-gce', vcpus: 2, vcpuType: 'EPYC-Milan', vmm: 'gce', kernel, initrd, append: 'console=ttyS0' },
  { name: 'no-kernel-zero-hashes-page', vcpus: 4, vcpuType: 'EPYC-Genoa', vmm: 'qemu' },
];

for (const [layout, spec] of Object.entries(SYNTHETIC_LAYOUTS)) {
  const fw = syntheticFirmware(spec);
  const p = join(tmp, `${layout}.fd`);
  writeFileSync(p, fw);
  const cases = runCases(p, layout === 'amdsev-like' ? direct : grid);
  const doc = {
    description: `SEV-SNP launch measurements over a synthetic ${layout} firmware volume (see src/testing/synthetic.ts), computed by the reference tool`,
    tool: tag,
    firmware: { synthetic: layout, size: fw.length, sha256: sha256(fw) },
    cases,
  };
  writeFileSync(join(outDir, `${layout}.json`), JSON.stringify(doc, null, 1) + '\n');
  console.log(`${layout}: ${cases.length} cases`);
}

// Debian's OVMF: no SEV metadata block. QEMU refuses to launch an SNP guest
// without one; sev-snp-measure prints a number anyway (firmware + VMSAs only).
const deb = ensureDebianOvmf();
refusedFirmware = true;
const debData = readFileSync(deb);
const debCases = runCases(deb, [
  { name: 'debian-ovmf-4M-qemu-1', vcpus: 1, vcpuType: 'EPYC-v4', vmm: 'qemu' },
  { name: 'debian-ovmf-4M-qemu-4', vcpus: 4, vcpuType: 'EPYC-v4', vmm: 'qemu' },
  { name: 'debian-ovmf-4M-direct', vcpus: 1, vcpuType: 'EPYC-v4', vmm: 'qemu', kernel },
]);
writeFileSync(
  join(outDir, 'debian-ovmf-refused.json'),
  JSON.stringify({
    description: "Debian 12 ovmf 2022.11 OVMF_CODE_4M.fd has no SEV metadata block: veritee refuses it (IMAGE_FIRMWARE_SECTION_MISSING) like QEMU does for an SNP launch; the reference tool's outputs are recorded for comparison",
    tool: tag,
    firmware: { path: deb, size: debData.length, sha256: sha256(debData), package: 'ovmf 2022.11-6+deb12u2' },
    cases: debCases,
  }, null, 1) + '\n',
);
rmSync(tmp, { recursive: true, force: true });
