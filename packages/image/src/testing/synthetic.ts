/**
 * @module testing/synthetic
 * Deterministic inputs for measurement vectors. No AmdSev (measured direct boot)
 * or SNP-metadata OVMF build is packaged for Debian 12 (its ovmf 2022.11 code
 * volumes carry no SEV metadata block at all), so the vectors that exercise the
 * metadata sections use firmware volumes laid out like OVMF's reset-vector
 * region (footer GUID table ending 0x20 bytes before 4 GiB, an "ASEV" metadata
 * block, the SEV-ES reset block, the hashes-table reservation) around
 * pseudo-random code pages. The measurement treats firmware content as opaque
 * pages, so such a volume exercises exactly the code paths a real build does;
 * the reference tool (sev-snp-measure) parses the same structures.
 */
import { createHash } from 'node:crypto';
import { guidToBytes } from '../guid.js';
import { OVMF_SEV_METADATA_GUID, OVMF_TABLE_FOOTER_GUID, SEV_ES_RESET_BLOCK_GUID, SEV_HASH_TABLE_RV_GUID, TDX_METADATA_OFFSET_GUID } from '../firmware.js';

/** SHA-256 in counter mode: `size` deterministic bytes from a label. */
export function deterministicBytes(label: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0, off = 0; off < size; i++, off += 32) {
    const block = createHash('sha256').update(`${label}:${i}`).digest();
    out.set(block.subarray(0, Math.min(32, size - off)), off);
  }
  return out;
}

export interface SyntheticSection {
  gpa: number;
  size: number;
  type: number;
}

export interface SyntheticFirmwareSpec {
  label: string;
  /** Whole pages. */
  size: number;
  sections: SyntheticSection[];
  apResetEip: number;
  /** SEV hashes table reservation {gpa, size}; omitted = no entry. */
  hashesTable?: { gpa: number; size: number };
}

/** The SNP sections of OvmfPkgX64 (2023+) and of OvmfPkg/AmdSev (which adds SNP_KERNEL_HASHES). */
export const SYNTHETIC_LAYOUTS: Record<string, SyntheticFirmwareSpec> = {
  'ovmfx64-like': {
    label: 'veritee synthetic ovmfx64',
    size: 2 * 1024 * 1024,
    sections: [
      { gpa: 0x800000, size: 0x9000, type: 1 },
      { gpa: 0x809000, size: 0x2000, type: 1 },
      { gpa: 0x80b000, size: 0x1000, type: 2 },
      { gpa: 0x80c000, size: 0x1000, type: 3 },
      { gpa: 0x80d000, size: 0x1000, type: 4 },
      { gpa: 0x80e000, size: 0x72000, type: 1 },
    ],
    apResetEip: 0xffffb00c,
  },
  'amdsev-like': {
    label: 'veritee synthetic amdsev',
    size: 2 * 1024 * 1024,
    sections: [
      { gpa: 0x800000, size: 0x9000, type: 1 },
      { gpa: 0x80a000, size: 0x3000, type: 1 },
      { gpa: 0x80d000, size: 0x1000, type: 2 },
      { gpa: 0x80e000, size: 0x1000, type: 3 },
      { gpa: 0x80f000, size: 0x1000, type: 0x10 },
      { gpa: 0x810000, size: 0xf0000, type: 1 },
    ],
    apResetEip: 0xffffb00c,
    hashesTable: { gpa: 0x80fc00, size: 0x400 },
  },
};

/** Builds a firmware volume from a spec (code pages from the label, table at the end). */
export function syntheticFirmware(spec: SyntheticFirmwareSpec): Uint8Array {
  const fw = deterministicBytes(spec.label, spec.size);
  const dv = new DataView(fw.buffer);
  // SEV metadata block at 0x1000 before the end.
  const metaAt = spec.size - 0x1000;
  fw.set([0x41, 0x53, 0x45, 0x56], metaAt); // "ASEV"
  dv.setUint32(metaAt + 4, 16 + 12 * spec.sections.length, true);
  dv.setUint32(metaAt + 8, 1, true);
  dv.setUint32(metaAt + 12, spec.sections.length, true);
  spec.sections.forEach((s, i) => {
    dv.setUint32(metaAt + 16 + 12 * i, s.gpa, true);
    dv.setUint32(metaAt + 20 + 12 * i, s.size, true);
    dv.setUint32(metaAt + 24 + 12 * i, s.type, true);
  });
  const entries: { guid: string; data: Uint8Array }[] = [];
  const u32s = (...v: number[]) => {
    const b = new Uint8Array(4 * v.length);
    const d = new DataView(b.buffer);
    v.forEach((x, i) => d.setUint32(4 * i, x, true));
    return b;
  };
  entries.push({ guid: OVMF_SEV_METADATA_GUID, data: u32s(spec.size - metaAt) });
  entries.push({ guid: SEV_ES_RESET_BLOCK_GUID, data: u32s(spec.apResetEip) });
  if (spec.hashesTable) entries.push({ guid: SEV_HASH_TABLE_RV_GUID, data: u32s(spec.hashesTable.gpa, spec.hashesTable.size) });
  // Lay out backwards from the footer, which ends 0x20 bytes before the end.
  let end = spec.size - 0x20 - 18;
  let total = 18;
  for (const e of entries) {
    const len = e.data.length + 18;
    const start = end - len;
    fw.set(e.data, start);
    dv.setUint16(end - 18, len, true);
    fw.set(guidToBytes(e.guid), end - 16);
    end = start;
    total += len;
  }
  const footer = spec.size - 0x20 - 18;
  dv.setUint16(footer, total, true);
  fw.set(guidToBytes(OVMF_TABLE_FOOTER_GUID), footer + 2);
  return fw;
}

export interface SyntheticTdvfSection {
  type: number;
  attributes: number;
  memoryAddress: number;
  memoryDataSize: number;
  /** Raw data taken from the file at this offset (for BFV/CFV); 0 size otherwise. */
  dataOffset: number;
  rawDataSize: number;
}

/**
 * A TDVF-like volume: the CFV (variables) then the BFV (code) filling the file,
 * mapped to end at 4 GiB, plus TD_HOB / TEMP_MEM (added, not extended) and a
 * PERM_MEM region accepted later (PAGE_AUG), like OvmfPkg/IntelTdx builds.
 */
export const SYNTHETIC_TDVF_SIZE = 0x200000;
export const SYNTHETIC_TDVF_SECTIONS: SyntheticTdvfSection[] = [
  { type: 0, attributes: 1, dataOffset: 0x84000, rawDataSize: 0x17c000, memoryAddress: 0xffe84000, memoryDataSize: 0x17c000 },
  { type: 1, attributes: 0, dataOffset: 0, rawDataSize: 0x84000, memoryAddress: 0xffe00000, memoryDataSize: 0x84000 },
  { type: 2, attributes: 0, dataOffset: 0, rawDataSize: 0, memoryAddress: 0x809000, memoryDataSize: 0x2000 },
  { type: 3, attributes: 0, dataOffset: 0, rawDataSize: 0, memoryAddress: 0x80b000, memoryDataSize: 0x5000 },
  { type: 4, attributes: 2, dataOffset: 0, rawDataSize: 0, memoryAddress: 0x810000, memoryDataSize: 0x10000 },
  { type: 3, attributes: 0, dataOffset: 0, rawDataSize: 0, memoryAddress: 0x800000, memoryDataSize: 0x9000 },
];

export function syntheticTdvf(label = 'veritee synthetic tdvf', sections = SYNTHETIC_TDVF_SECTIONS, size = SYNTHETIC_TDVF_SIZE): Uint8Array {
  const fw = deterministicBytes(label, size);
  const dv = new DataView(fw.buffer);
  const metaAt = size - 0x2000;
  fw.set([0x54, 0x44, 0x56, 0x46], metaAt); // "TDVF"
  dv.setUint32(metaAt + 4, 16 + 32 * sections.length, true);
  dv.setUint32(metaAt + 8, 1, true);
  dv.setUint32(metaAt + 12, sections.length, true);
  sections.forEach((s, i) => {
    const o = metaAt + 16 + 32 * i;
    dv.setUint32(o, s.dataOffset, true);
    dv.setUint32(o + 4, s.rawDataSize, true);
    dv.setBigUint64(o + 8, BigInt(s.memoryAddress), true);
    dv.setBigUint64(o + 16, BigInt(s.memoryDataSize), true);
    dv.setUint32(o + 24, s.type, true);
    dv.setUint32(o + 28, s.attributes, true);
  });
  const entryAt = size - 0x20 - 18 - 22;
  dv.setUint32(entryAt, size - metaAt, true);
  dv.setUint16(entryAt + 4, 22, true);
  fw.set(guidToBytes(TDX_METADATA_OFFSET_GUID), entryAt + 6);
  const footer = size - 0x20 - 18;
  dv.setUint16(footer, 18 + 22, true);
  fw.set(guidToBytes(OVMF_TABLE_FOOTER_GUID), footer + 2);
  return fw;
}

export interface SyntheticKernelSpec {
  label: string;
  /** File size in bytes (need not be a multiple of 8: exercises the padding). */
  size: number;
  /** Linux boot protocol version, e.g. 0x20f. */
  protocol: number;
  /** setup header loadflags (bit 0 LOADED_HIGH). */
  loadflags: number;
  /** xloadflags (bit 6 XLF_CAN_BE_LOADED_ABOVE_4G, protocol ≥ 2.12). */
  xloadflags: number;
  /** initrd_addr_max (protocol ≥ 2.03). */
  initrdAddrMax: number;
  /** Bytes of a certificate table at the end of the file (0: unsigned). */
  certTable: number;
  /**
   * The sections end where the certificate table (or the file) begins, as in a real
   * bzImage; otherwise unhashed-by-section trailing bytes remain (default false).
   */
  noTrailing?: boolean;
}

/**
 * A bzImage-like PE32+ file (the layout of a Linux EFI-stub kernel): MZ header, PE
 * header at 0x40, two sections, the Linux setup header ("HdrS" at 0x202) below
 * SizeOfHeaders, deterministic section bytes, unhashed trailing data before an
 * optional certificate table. Not bootable; it exercises exactly what the RTMR1
 * prediction reads (the setup header QEMU patches, and the Authenticode layout).
 */
export function syntheticKernel(spec: SyntheticKernelSpec): Uint8Array {
  const k = deterministicBytes(spec.label, spec.size);
  k.fill(0, 0, 0x200);
  const dv = new DataView(k.buffer);
  k[0] = 0x4d; // 'M'
  k[1] = 0x5a; // 'Z'
  dv.setUint32(0x3c, 0x40, true);
  k.set([0x50, 0x45, 0, 0], 0x40); // "PE\0\0"
  const coff = 0x44;
  dv.setUint16(coff, 0x8664, true);
  dv.setUint16(coff + 2, 2, true); // sections
  dv.setUint16(coff + 16, 240, true); // optional header size (PE32+, 16 directories)
  const opt = coff + 20;
  dv.setUint16(opt, 0x20b, true);
  dv.setUint32(opt + 60, 0x200, true); // SizeOfHeaders
  dv.setUint32(opt + 64, 0x12345678, true); // CheckSum (excluded from the hash)
  dv.setUint32(opt + 108, 16, true);
  const textSize = Math.floor((spec.size - 0x200 - spec.certTable) / 2) & ~0x1ff;
  const dataSize = spec.noTrailing ? spec.size - 0x200 - spec.certTable - textSize : Math.floor((spec.size - 0x200 - spec.certTable - textSize) / 2) & ~0x1ff;
  if (spec.certTable > 0) {
    dv.setUint32(opt + 112 + 32, spec.size - spec.certTable, true);
    dv.setUint32(opt + 112 + 36, spec.certTable, true);
  }
  const sec = opt + 240;
  // the data section first in the table, second in the file: sections are hashed in file order
  k.set(new TextEncoder().encode('.data\0\0\0'), sec);
  dv.setUint32(sec + 16, dataSize, true);
  dv.setUint32(sec + 20, 0x200 + textSize, true);
  k.set(new TextEncoder().encode('.text\0\0\0'), sec + 40);
  dv.setUint32(sec + 40 + 16, textSize, true);
  dv.setUint32(sec + 40 + 20, 0x200, true);
  // the Linux setup header
  k[0x1f1] = 1; // setup_sects
  k.set([0x48, 0x64, 0x72, 0x53], 0x202); // "HdrS"
  dv.setUint16(0x206, spec.protocol, true);
  k[0x211] = spec.loadflags;
  dv.setUint32(0x22c, spec.initrdAddrMax, true);
  dv.setUint16(0x236, spec.xloadflags, true);
  return k;
}
