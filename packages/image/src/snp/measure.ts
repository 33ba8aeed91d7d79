/**
 * @module snp/measure
 * Predicts the SEV-SNP launch MEASUREMENT of a QEMU/EC2/GCE guest booted from
 * an OVMF build: the firmware volume (normal pages ending at 4 GiB), then each
 * SEV metadata section in order (zero pages, the secrets page, the CPUID page,
 * the kernel-hashes page for measured direct boot), then one VMSA per vCPU.
 * `transcript` records the digest after each component so that a mismatch with
 * a real report can be traced to the first component that differs.
 */
import { createHash } from 'node:crypto';
import { toHex, VeriteeError } from '@veritee/core';
import { parseFirmware, sevEsResetEip, sevHashesTable, type FirmwareImage, PAGE_SIZE } from '../firmware.js';
import { LaunchDigest, sha384 } from './gctx.js';
import { bootHashes, hashesPage, PADDED_TABLE_SIZE, type BootHashes } from './hashes.js';
import { buildVmsa, BSP_EIP } from './vmsa.js';
import { vcpuSignature, type VmmType } from './vcpu.js';

export interface SnpMeasureInput {
  /** The OVMF code volume (bytes, or an already parsed image). */
  firmware: Uint8Array | FirmwareImage;
  /** Measured direct boot: kernel bytes (requires an AmdSev OVMF build). */
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  append?: string;
  vcpus: number;
  /** QEMU vCPU model, e.g. EPYC-v4 / EPYC-Milan / EPYC-Genoa. Required for qemu; EC2 and GCE put 0x600 in RDX. */
  vcpuType?: string;
  vmm?: VmmType;
  /** VMSA SEV_FEATURES; default 0x1 (SNPActive). */
  guestFeatures?: bigint;
}

export interface TranscriptStep {
  /** What was added: "firmware", a section name, "vmsa[0]" … */
  component: string;
  pageType: string;
  gpa: string;
  pages: number;
  /** Digest of the component's input, when it has one (sha256 of the firmware, sha384 of a VMSA, the boot hashes). */
  input?: string;
  /** The launch digest after this component. */
  digestAfter: string;
}

export interface SnpMeasurement {
  platform: 'snp';
  measurement: string;
  inputs: {
    firmwareSha256: string;
    firmwareSize: number;
    kernelSha256?: string;
    initrdSha256?: string;
    cmdlineSha256?: string;
    append?: string;
    vcpus: number;
    vcpuType?: string;
    vcpuSignature: string;
    vmm: VmmType;
    guestFeatures: string;
  };
  transcript: TranscriptStep[];
}

export const MAX_VCPUS = 512;

const hx = (n: number) => '0x' + n.toString(16);

export function measureSnp(input: SnpMeasureInput): SnpMeasurement {
  return measureSnpChecked(input, true);
}

/**
 * Not exported from the package: with `requireMetadata` false, a firmware
 * without an SEV metadata block is measured as firmware pages + VMSAs only —
 * what sev-snp-measure prints for such a build, although QEMU refuses to launch
 * it. Used only to cross-check page and VMSA hashing on Debian's real OVMF.
 */
export function measureSnpChecked(input: SnpMeasureInput, requireMetadata: boolean): SnpMeasurement {
  const vmm: VmmType = input.vmm ?? 'qemu';
  if (!Number.isInteger(input.vcpus) || input.vcpus < 1 || input.vcpus > MAX_VCPUS) {
    throw new VeriteeError('INPUT_INVALID', `vCPU count must be an integer in 1..${MAX_VCPUS}`);
  }
  const features = input.guestFeatures ?? 1n;
  if (features < 0n || features >= 1n << 64n) throw new VeriteeError('INPUT_INVALID', 'guest features must fit 64 bits');
  if ((features & 1n) === 0n) throw new VeriteeError('INPUT_INVALID', 'guest features must have bit 0 (SNPActive) set for an SNP guest');
  let signature: number;
  if (input.vcpuType !== undefined) signature = vcpuSignature(input.vcpuType);
  else if (vmm === 'qemu') throw new VeriteeError('IMAGE_VCPU_TYPE_UNKNOWN', 'a vCPU type (e.g. EPYC-v4, EPYC-Milan, EPYC-Genoa) is required for a QEMU guest: its CPUID signature is in every VMSA');
  else signature = 0x600;
  if ((input.initrd !== undefined || input.append !== undefined) && input.kernel === undefined) {
    throw new VeriteeError('INPUT_INVALID', 'an initrd or a command line is only measured with a kernel (measured direct boot)');
  }

  const fw = input.firmware instanceof Uint8Array ? parseFirmware(input.firmware) : input.firmware;
  const sections = fw.sevSections ?? (requireMetadata ? undefined : []);
  if (!sections) throw new VeriteeError('IMAGE_FIRMWARE_SECTION_MISSING', 'the firmware has no SEV metadata block (dc886566-…): it is not an SEV-SNP capable OVMF build (Debian 12\'s ovmf 2022.11 volumes have none; QEMU refuses them for SNP too)');
  const apEip = sevEsResetEip(fw);
  let hashes: BootHashes | undefined;
  let hashesAt: number | undefined;
  if (input.kernel !== undefined) {
    const sec = sections.find((s) => s.name === 'SNP_KERNEL_HASHES');
    if (!sec) {
      throw new VeriteeError(
        'IMAGE_FIRMWARE_SECTION_MISSING',
        'the firmware metadata has no SNP_KERNEL_HASHES section, so QEMU cannot measure a kernel, initrd or command line: use an OvmfPkg/AmdSev build for measured direct boot',
      );
    }
    const table = sevHashesTable(fw);
    if (!table) throw new VeriteeError('IMAGE_FIRMWARE_SECTION_MISSING', 'the firmware reserves no SEV hashes table (7255371f-…) although it has an SNP_KERNEL_HASHES section');
    if (sec.size !== PAGE_SIZE || table.gpa < sec.gpa || table.gpa + PADDED_TABLE_SIZE > sec.gpa + sec.size) {
      throw new VeriteeError('IMAGE_FIRMWARE_INVALID', `the SEV hashes table at ${hx(table.gpa)} does not lie in the one-page SNP_KERNEL_HASHES section at ${hx(sec.gpa)} (size ${hx(sec.size)})`);
    }
    hashes = bootHashes(input.kernel, input.initrd, input.append);
    hashesAt = table.gpa - sec.gpa;
  }

  const ld = new LaunchDigest();
  const transcript: TranscriptStep[] = [];
  const step = (s: Omit<TranscriptStep, 'digestAfter'>) => transcript.push({ ...s, digestAfter: toHex(ld.digest()) });

  ld.normalPages(fw.gpa, fw.data);
  step({ component: 'firmware', pageType: 'NORMAL', gpa: hx(fw.gpa), pages: fw.size / PAGE_SIZE, input: `sha256:${fw.sha256}` });

  const addSection = (s: (typeof sections)[number]) => {
    switch (s.name) {
      case 'SNP_SEC_MEM':
        if (vmm === 'gce') ld.emptyPages('UNMEASURED', s.gpa, s.size);
        else ld.emptyPages('ZERO', s.gpa, s.size);
        step({ component: s.name, pageType: vmm === 'gce' ? 'UNMEASURED' : 'ZERO', gpa: hx(s.gpa), pages: s.size / PAGE_SIZE });
        return;
      case 'SNP_SECRETS':
        if (s.size !== PAGE_SIZE) throw new VeriteeError('IMAGE_FIRMWARE_INVALID', `the SNP_SECRETS section is ${hx(s.size)} bytes; only one page is supported`);
        ld.emptyPages('SECRETS', s.gpa, PAGE_SIZE);
        step({ component: s.name, pageType: 'SECRETS', gpa: hx(s.gpa), pages: 1 });
        return;
      case 'CPUID':
        if (s.size !== PAGE_SIZE) throw new VeriteeError('IMAGE_FIRMWARE_INVALID', `the CPUID section is ${hx(s.size)} bytes; only one page is supported`);
        ld.emptyPages('CPUID', s.gpa, PAGE_SIZE);
        step({ component: s.name, pageType: 'CPUID', gpa: hx(s.gpa), pages: 1 });
        return;
      case 'SNP_KERNEL_HASHES':
        if (hashes) {
          ld.normalPages(s.gpa, hashesPage(hashes, hashesAt!));
          step({ component: s.name, pageType: 'NORMAL', gpa: hx(s.gpa), pages: 1, input: `kernel sha256:${toHex(hashes.kernel)} initrd sha256:${toHex(hashes.initrd)} cmdline sha256:${toHex(hashes.cmdline)}` });
        } else {
          ld.emptyPages('ZERO', s.gpa, s.size);
          step({ component: `${s.name} (no kernel)`, pageType: 'ZERO', gpa: hx(s.gpa), pages: s.size / PAGE_SIZE });
        }
        return;
      case 'SVSM_CAA':
        ld.emptyPages('ZERO', s.gpa, s.size);
        step({ component: s.name, pageType: 'ZERO', gpa: hx(s.gpa), pages: s.size / PAGE_SIZE });
        return;
    }
  };
  for (const s of sections) {
    // EC2 adds the CPUID page after every other section.
    if (vmm === 'ec2' && s.name === 'CPUID') continue;
    addSection(s);
  }
  if (vmm === 'ec2') for (const s of sections) if (s.name === 'CPUID') addSection(s);

  const bsp = buildVmsa({ eip: BSP_EIP, vcpuSignature: signature, guestFeatures: features, vmm });
  const ap = buildVmsa({ eip: apEip, vcpuSignature: signature, guestFeatures: features, vmm });
  for (let i = 0; i < input.vcpus; i++) {
    const page = i === 0 ? bsp : ap;
    ld.vmsaPage(page);
    step({ component: `vmsa[${i}]${i === 0 ? ' (BSP, eip 0xfffffff0)' : ` (AP, eip ${hx(apEip)})`}`, pageType: 'VMSA', gpa: '0xfffffffff000', pages: 1, input: `sha384:${toHex(sha384(page))}` });
  }

  return {
    platform: 'snp',
    measurement: toHex(ld.digest()),
    inputs: {
      firmwareSha256: fw.sha256,
      firmwareSize: fw.size,
      ...(input.kernel ? { kernelSha256: toHex(hashes!.kernel), initrdSha256: toHex(hashes!.initrd), cmdlineSha256: toHex(hashes!.cmdline) } : {}),
      ...(input.append !== undefined ? { append: input.append } : {}),
      vcpus: input.vcpus,
      ...(input.vcpuType !== undefined ? { vcpuType: input.vcpuType } : {}),
      vcpuSignature: hx(vmm === 'qemu' ? signature : 0x600),
      vmm,
      guestFeatures: '0x' + features.toString(16),
    },
    transcript,
  };
}

/** SHA-256 of bytes, hex (for manifests and vectors). */
export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
