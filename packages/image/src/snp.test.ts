/**
 * SEV-SNP launch measurement: committed vectors (made by PyPI's sev-snp-measure,
 * see scripts/gen-snp-vectors.mjs) must match to the byte, the reference tool is
 * re-run to keep the vectors honest, and bad firmware is refused with a code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeriteeError } from '@veritee/core';
import { measureSnp, measureSnpChecked, type SnpMeasureInput } from './snp/measure.js';
import { parseFirmware, FOUR_GIB } from './firmware.js';
import { deterministicBytes, syntheticFirmware, SYNTHETIC_LAYOUTS } from './testing/synthetic.js';
import { ensureDebianOvmf, ensureSevSnpMeasure, runSevSnpMeasure } from './testing/reference-tool.js';
import { cpuSignature, VCPU_TYPES } from './snp/vcpu.js';
import { buildVmsa } from './snp/vmsa.js';

const vectorsDir = fileURLToPath(new URL('../test/vectors/snp/', import.meta.url));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface BlobRef {
  label: string;
  size: number;
  sha256: string;
}
interface VectorCase {
  name: string;
  vcpus: number;
  vmm: 'qemu' | 'ec2' | 'gce';
  vcpuType?: string;
  guestFeatures?: string;
  kernel?: BlobRef;
  initrd?: BlobRef;
  append?: string;
  expected?: string;
  toolOutput?: string;
  toolError?: string;
}
interface VectorFile {
  tool: string;
  firmware: { synthetic?: string; path?: string; size: number; sha256: string };
  cases: VectorCase[];
}

function loadVectors(): { file: string; doc: VectorFile }[] {
  return readdirSync(vectorsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, doc: JSON.parse(readFileSync(join(vectorsDir, file), 'utf8')) as VectorFile }));
}

function firmwareOf(doc: VectorFile): Uint8Array {
  const fw = doc.firmware.synthetic ? syntheticFirmware(SYNTHETIC_LAYOUTS[doc.firmware.synthetic]!) : new Uint8Array(readFileSync(ensureDebianOvmf()));
  assert.equal(sha256(fw), doc.firmware.sha256, `firmware ${doc.firmware.synthetic ?? doc.firmware.path} is not the one the vectors were made from`);
  return fw;
}

function blob(ref: BlobRef): Uint8Array {
  const b = deterministicBytes(ref.label, ref.size);
  assert.equal(sha256(b), ref.sha256, `input ${ref.label} differs from the vector's`);
  return b;
}

function inputOf(fw: Uint8Array, c: VectorCase): SnpMeasureInput {
  return {
    firmware: fw,
    vcpus: c.vcpus,
    vmm: c.vmm,
    ...(c.vcpuType ? { vcpuType: c.vcpuType } : {}),
    ...(c.guestFeatures ? { guestFeatures: BigInt(c.guestFeatures) } : {}),
    ...(c.kernel ? { kernel: blob(c.kernel) } : {}),
    ...(c.initrd ? { initrd: blob(c.initrd) } : {}),
    ...(c.append !== undefined ? { append: c.append } : {}),
  };
}

test('SNP vectors: veritee matches sev-snp-measure to the byte on every configuration', () => {
  let n = 0;
  const seen = new Set<string>();
  const configs = new Set<string>();
  for (const { file, doc } of loadVectors()) {
    if (file === 'debian-ovmf-refused.json') continue;
    const fw = firmwareOf(doc);
    for (const c of doc.cases) {
      assert.ok(c.expected, `${file}/${c.name} has an expected measurement`);
      const r = measureSnp(inputOf(fw, c));
      assert.equal(r.measurement, c.expected, `${file}/${c.name}`);
      seen.add(r.measurement);
      // EC2 and GCE put 0x600 in RDX whatever the vCPU type: the type does not count there.
      configs.add(`${file}/${c.vmm === 'qemu' ? c.name : [c.vmm, c.vcpus, c.guestFeatures, c.kernel?.sha256, c.initrd?.sha256, c.append].join('/')}`);
      n++;
    }
  }
  assert.ok(n >= 35, `only ${n} vectors`);
  // Every configuration that matters changes the measurement.
  assert.equal(seen.size, configs.size);
  assert.ok(configs.size >= 25);
});

test('SNP vectors on Debian OVMF: no SEV metadata is refused; page and VMSA hashing match the tool on the real file', () => {
  const doc = loadVectors().find((v) => v.file === 'debian-ovmf-refused.json')!.doc;
  const path = ensureDebianOvmf();
  const fw = new Uint8Array(readFileSync(path));
  // A Debian update of ovmf changes the file: then the tool's outputs are taken live instead of from the vector.
  const same = sha256(fw) === doc.firmware.sha256;
  const tmp = mkdtempSync(join(tmpdir(), 'veritee-snp-deb-'));
  try {
    for (const c of doc.cases) {
      assert.throws(() => measureSnp(inputOf(fw, c)), (e: unknown) => e instanceof VeriteeError && e.code === 'IMAGE_FIRMWARE_SECTION_MISSING', c.name);
      let toolOutput = c.toolOutput;
      if (!same && !c.kernel) {
        const r = runSevSnpMeasure(ensureSevSnpMeasure(), { ovmf: path, vcpus: c.vcpus, vmm: c.vmm, ...(c.vcpuType ? { vcpuType: c.vcpuType } : {}) }, tmp);
        assert.ok(r.ok, `${c.name}: sev-snp-measure failed on ${path}`);
        toolOutput = r.measurement;
      }
      if (toolOutput) assert.equal(measureSnpChecked(inputOf(fw, c), false).measurement, toolOutput, `${c.name}: firmware pages + VMSAs`);
      else assert.match(c.toolError ?? '', /SNP_KERNEL_HASHES/);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('SNP vectors are honest: the reference tool, re-run now, prints the committed measurements', () => {
  const tool = ensureSevSnpMeasure();
  const tmp = mkdtempSync(join(tmpdir(), 'veritee-snp-tool-'));
  try {
    for (const { file, doc } of loadVectors()) {
      if (doc.firmware.path && sha256(readFileSync(ensureDebianOvmf())) !== doc.firmware.sha256) continue; // re-run live in the Debian test
      const fw = firmwareOf(doc);
      const fwPath = join(tmp, 'fw.fd');
      writeFileSync(fwPath, fw);
      for (const c of doc.cases) {
        const write = (ref: BlobRef | undefined, name: string) => {
          if (!ref) return undefined;
          const p = join(tmp, name);
          writeFileSync(p, blob(ref));
          return p;
        };
        const kernel = write(c.kernel, 'kernel');
        const initrd = write(c.initrd, 'initrd');
        const r = runSevSnpMeasure(tool, { ovmf: fwPath, vcpus: c.vcpus, vmm: c.vmm, ...(c.vcpuType ? { vcpuType: c.vcpuType } : {}), ...(c.guestFeatures ? { guestFeatures: c.guestFeatures } : {}), ...(kernel ? { kernel } : {}), ...(initrd ? { initrd } : {}), ...(c.append !== undefined ? { append: c.append } : {}) }, tmp);
        const want = c.expected ?? c.toolOutput;
        if (want) assert.deepEqual(r, { ok: true, measurement: want }, `${file}/${c.name}`);
        else assert.equal(r.ok, false, `${file}/${c.name}: the tool should fail too`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('SNP transcript: one step per component, the last digest is the measurement, inputs are named', () => {
  const fw = syntheticFirmware(SYNTHETIC_LAYOUTS['amdsev-like']!);
  const kernel = deterministicBytes('k', 5000);
  const r = measureSnp({ firmware: fw, kernel, append: 'console=ttyS0', vcpus: 3, vcpuType: 'EPYC-Milan' });
  assert.deepEqual(
    r.transcript.map((s) => s.component.split(' ')[0]),
    ['firmware', 'SNP_SEC_MEM', 'SNP_SEC_MEM', 'SNP_SECRETS', 'CPUID', 'SNP_KERNEL_HASHES', 'SNP_SEC_MEM', 'vmsa[0]', 'vmsa[1]', 'vmsa[2]'],
  );
  assert.equal(r.transcript.at(-1)!.digestAfter, r.measurement);
  assert.equal(r.transcript[0]!.pages, fw.length / 4096);
  assert.equal(r.transcript[0]!.gpa, '0x' + (FOUR_GIB - fw.length).toString(16));
  assert.match(r.transcript[5]!.input!, new RegExp(`kernel sha256:${sha256(kernel)}`));
  assert.equal(r.inputs.cmdlineSha256, sha256(Buffer.from('console=ttyS0\0')));
  // A changed kernel changes the digest from the hashes page on, not before.
  const r2 = measureSnp({ firmware: fw, kernel: deterministicBytes('k2', 5000), append: 'console=ttyS0', vcpus: 3, vcpuType: 'EPYC-Milan' });
  assert.equal(r2.transcript[4]!.digestAfter, r.transcript[4]!.digestAfter);
  assert.notEqual(r2.transcript[5]!.digestAfter, r.transcript[5]!.digestAfter);
});

test('SNP bad input: wrong files, missing sections, unknown vCPU types are refused with codes, never measured', () => {
  const code = (c: string) => (e: unknown) => e instanceof VeriteeError && e.code === c;
  const good = syntheticFirmware(SYNTHETIC_LAYOUTS['ovmfx64-like']!);
  // Not whole pages, no footer table, a VARS-like file.
  assert.throws(() => measureSnp({ firmware: good.subarray(0, good.length - 10), vcpus: 1, vcpuType: 'EPYC-v4' }), code('IMAGE_FIRMWARE_INVALID'));
  assert.throws(() => parseFirmware(new Uint8Array(0x10000)), code('IMAGE_FIRMWARE_INVALID'));
  assert.throws(() => parseFirmware(deterministicBytes('random', 0x20000)), code('IMAGE_FIRMWARE_INVALID'));
  // Direct boot on a build without SNP_KERNEL_HASHES.
  assert.throws(() => measureSnp({ firmware: good, kernel: new Uint8Array(10), vcpus: 1, vcpuType: 'EPYC-v4' }), code('IMAGE_FIRMWARE_SECTION_MISSING'));
  // Unknown / missing vCPU type (QEMU needs one), bad counts and features.
  assert.throws(() => measureSnp({ firmware: good, vcpus: 1, vcpuType: 'EPYC-Zen9' }), code('IMAGE_VCPU_TYPE_UNKNOWN'));
  assert.throws(() => measureSnp({ firmware: good, vcpus: 1, vcpuType: 'constructor' }), code('IMAGE_VCPU_TYPE_UNKNOWN'));
  assert.throws(() => measureSnp({ firmware: good, vcpus: 1 }), code('IMAGE_VCPU_TYPE_UNKNOWN'));
  assert.throws(() => measureSnp({ firmware: good, vcpus: 0, vcpuType: 'EPYC-v4' }), code('INPUT_INVALID'));
  assert.throws(() => measureSnp({ firmware: good, vcpus: 1, vcpuType: 'EPYC-v4', guestFeatures: 0n }), code('INPUT_INVALID'));
  assert.throws(() => measureSnp({ firmware: good, vcpus: 1, vcpuType: 'EPYC-v4', initrd: new Uint8Array(1) }), code('INPUT_INVALID'));
  // A corrupted metadata block: bad signature, unknown section type, a section that is not whole pages.
  const spec = SYNTHETIC_LAYOUTS['ovmfx64-like']!;
  const sig = Uint8Array.from(good);
  sig[good.length - 0x1000] = 0x42;
  assert.throws(() => parseFirmware(sig), code('IMAGE_FIRMWARE_INVALID'));
  assert.throws(() => parseFirmware(syntheticFirmware({ ...spec, sections: [...spec.sections, { gpa: 0x900000, size: 0x1000, type: 7 }] })), code('IMAGE_FIRMWARE_INVALID'));
  assert.throws(() => parseFirmware(syntheticFirmware({ ...spec, sections: [{ gpa: 0x900000, size: 0x800, type: 1 }] })), code('IMAGE_FIRMWARE_INVALID'));
  // A hashes table that does not lie in the kernel-hashes page.
  const amd = SYNTHETIC_LAYOUTS['amdsev-like']!;
  assert.throws(() => measureSnp({ firmware: syntheticFirmware({ ...amd, hashesTable: { gpa: 0x80ff80, size: 0x400 } }), kernel: new Uint8Array(1), vcpus: 1, vcpuType: 'EPYC-v4' }), code('IMAGE_FIRMWARE_INVALID'));
  assert.throws(() => measureSnp({ firmware: syntheticFirmware({ ...amd, hashesTable: undefined }), kernel: new Uint8Array(1), vcpus: 1, vcpuType: 'EPYC-v4' }), code('IMAGE_FIRMWARE_SECTION_MISSING'));
});

test('vCPU signatures follow CPUID Fn0000_0001_EAX; the VMSA carries it in RDX and the reset vector in CS/RIP', () => {
  assert.equal(cpuSignature(23, 1, 2), 0x800f12); // Naples
  assert.equal(cpuSignature(25, 1, 1), 0xa00f11); // Milan
  assert.equal(cpuSignature(25, 17, 0), 0xa10f10); // Genoa
  assert.equal(VCPU_TYPES['EPYC-Genoa'], 0xa10f10);
  const v = buildVmsa({ eip: 0xffffb00c, vcpuSignature: 0xa00f11, guestFeatures: 1n, vmm: 'qemu' });
  const dv = new DataView(v.buffer);
  assert.equal(dv.getUint32(0x310, true), 0xa00f11);
  assert.equal(dv.getBigUint64(0x18, true), 0xffff0000n); // CS base
  assert.equal(dv.getBigUint64(0x178, true), 0xb00cn); // RIP
  assert.equal(dv.getBigUint64(0x3b0, true), 1n);
});
