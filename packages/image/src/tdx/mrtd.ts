/**
 * @module tdx/mrtd
 * Predicts the TDX MRTD of a TD booted from a TDVF (OVMF IntelTdx) build. The
 * TDX module hashes, into one running SHA-384, a 128-byte record for each
 * TDH.MEM.PAGE.ADD ("MEM.PAGE.ADD" ‖ GPA at byte 16) and, for each 256-byte
 * chunk of a section with the MR_EXTEND attribute, a TDH.MR.EXTEND record
 * ("MR.EXTEND" ‖ GPA at byte 16) followed by the chunk. Sections with PAGE_AUG
 * are not added at build time. QEMU's order differs by version: older releases
 * add every page of a section before extending it ("two-pass"), newer ones add
 * and extend page by page ("single-pass"); both are offered, as dstack-mr does.
 *
 * The TDVF metadata is found through the OVMF footer table entry
 * e47a6535-… (u32 offset from the end of the file) and starts with "TDVF",
 * length, version 1, section count, then 32-byte sections {DataOffset,
 * RawDataSize, MemoryAddress (u64), MemoryDataSize (u64), Type, Attributes}.
 *
 * RTMR0..2 (TD HOB, ACPI tables from the VMM, the boot variables; kernel,
 * command line, initrd) are predicted in ./rtmr.ts.
 */
import { createHash } from 'node:crypto';
import { toHex, VeriteeError } from '@veritee/core';
import { parseFirmware, TDX_METADATA_OFFSET_GUID, PAGE_SIZE, type FirmwareImage } from '../firmware.js';

export const TDVF_SECTION_TYPES = ['BFV', 'CFV', 'TD_HOB', 'TEMP_MEM', 'PERM_MEM', 'PAYLOAD', 'PAYLOAD_PARAM', 'TD_INFO'] as const;
export const ATTR_MR_EXTEND = 1;
export const ATTR_PAGE_AUG = 2;
const MR_EXTEND_CHUNK = 256;

export interface TdvfSection {
  dataOffset: number;
  rawDataSize: number;
  memoryAddress: number;
  memoryDataSize: number;
  type: number;
  typeName: string;
  attributes: number;
}

export type PageAddOrder = 'two-pass' | 'single-pass';

export interface TdxMeasurement {
  platform: 'tdx';
  mrtd: string;
  pageOrder: PageAddOrder;
  inputs: { firmwareSha256: string; firmwareSize: number };
  transcript: { component: string; gpa: string; pagesAdded: number; chunksExtended: number; input?: string }[];
}

function bad(msg: string): VeriteeError {
  return new VeriteeError('IMAGE_FIRMWARE_INVALID', `TDVF: ${msg}`);
}

export function parseTdvfSections(fw: FirmwareImage): TdvfSection[] {
  const entry = fw.table.get(TDX_METADATA_OFFSET_GUID);
  if (!entry) throw new VeriteeError('IMAGE_FIRMWARE_SECTION_MISSING', `the firmware has no TDX metadata entry (${TDX_METADATA_OFFSET_GUID}): not a TDVF (OVMF IntelTdx) build`);
  if (entry.length < 4) throw bad('the TDX metadata entry is shorter than 4 bytes');
  const dv = new DataView(fw.data.buffer, fw.data.byteOffset, fw.data.byteLength);
  const fromEnd = new DataView(entry.buffer, entry.byteOffset, entry.byteLength).getUint32(entry.length - 4, true);
  const at = fw.size - fromEnd;
  if (fromEnd > fw.size || at + 16 > fw.size) throw bad(`metadata offset ${fromEnd} is outside the file`);
  const sig = String.fromCharCode(...fw.data.subarray(at, at + 4));
  if (sig !== 'TDVF') throw bad(`metadata signature is ${JSON.stringify(sig)}, not "TDVF"`);
  const version = dv.getUint32(at + 8, true);
  const n = dv.getUint32(at + 12, true);
  if (version !== 1) throw bad(`metadata version ${version} is not supported (only 1)`);
  if (n === 0 || n > 64 || at + 16 + 32 * n > fw.size) throw bad(`${n} sections do not fit the file`);
  const out: TdvfSection[] = [];
  for (let i = 0; i < n; i++) {
    const o = at + 16 + 32 * i;
    const s: TdvfSection = {
      dataOffset: dv.getUint32(o, true),
      rawDataSize: dv.getUint32(o + 4, true),
      memoryAddress: Number(dv.getBigUint64(o + 8, true)),
      memoryDataSize: Number(dv.getBigUint64(o + 16, true)),
      type: dv.getUint32(o + 24, true),
      typeName: '',
      attributes: dv.getUint32(o + 28, true),
    };
    s.typeName = TDVF_SECTION_TYPES[s.type] ?? '';
    if (!s.typeName) throw bad(`section ${i} has unknown type ${s.type}`);
    if (s.memoryAddress % PAGE_SIZE !== 0 || s.memoryDataSize % PAGE_SIZE !== 0) throw bad(`section ${i} (${s.typeName}) is not page aligned`);
    if (s.memoryDataSize < s.rawDataSize) throw bad(`section ${i} (${s.typeName}) has more raw data than memory`);
    if ((s.attributes & ATTR_MR_EXTEND) !== 0) {
      if (s.rawDataSize !== s.memoryDataSize) throw bad(`section ${i} (${s.typeName}) is measured (MR_EXTEND) but its raw data does not fill its memory`);
      if (s.dataOffset + s.rawDataSize > fw.size) throw bad(`section ${i} (${s.typeName}) data lies outside the file`);
    }
    if ((s.attributes & ~(ATTR_MR_EXTEND | ATTR_PAGE_AUG)) !== 0) throw bad(`section ${i} has unknown attributes 0x${s.attributes.toString(16)}`);
    out.push(s);
  }
  return out;
}

export function measureTdx(input: { firmware: Uint8Array | FirmwareImage; pageOrder?: PageAddOrder }): TdxMeasurement {
  const fw = input.firmware instanceof Uint8Array ? parseFirmware(input.firmware, 'TDVF') : input.firmware;
  const order = input.pageOrder ?? 'single-pass';
  if (order !== 'single-pass' && order !== 'two-pass') throw new VeriteeError('INPUT_INVALID', 'page order must be single-pass or two-pass');
  const sections = parseTdvfSections(fw);
  const h = createHash('sha384');
  const rec = (tag: string, gpa: number) => {
    const b = Buffer.alloc(128);
    b.write(tag, 0, 'latin1');
    b.writeBigUInt64LE(BigInt(gpa), 16);
    h.update(b);
  };
  const transcript: TdxMeasurement['transcript'] = [];
  for (const s of sections) {
    const pages = s.memoryDataSize / PAGE_SIZE;
    const add = (s.attributes & ATTR_PAGE_AUG) === 0;
    const extend = (s.attributes & ATTR_MR_EXTEND) !== 0;
    const addPage = (p: number) => add && rec('MEM.PAGE.ADD', s.memoryAddress + p * PAGE_SIZE);
    const extendPage = (p: number) => {
      if (!extend) return;
      for (let c = 0; c < PAGE_SIZE / MR_EXTEND_CHUNK; c++) {
        const off = p * PAGE_SIZE + c * MR_EXTEND_CHUNK;
        rec('MR.EXTEND', s.memoryAddress + off);
        h.update(fw.data.subarray(s.dataOffset + off, s.dataOffset + off + MR_EXTEND_CHUNK));
      }
    };
    if (order === 'two-pass') {
      for (let p = 0; p < pages; p++) addPage(p);
      for (let p = 0; p < pages; p++) extendPage(p);
    } else {
      for (let p = 0; p < pages; p++) {
        addPage(p);
        extendPage(p);
      }
    }
    transcript.push({
      component: s.typeName,
      gpa: '0x' + s.memoryAddress.toString(16),
      pagesAdded: add ? pages : 0,
      chunksExtended: extend ? pages * (PAGE_SIZE / MR_EXTEND_CHUNK) : 0,
      ...(extend ? { input: `sha256:${createHash('sha256').update(fw.data.subarray(s.dataOffset, s.dataOffset + s.rawDataSize)).digest('hex')}` } : {}),
    });
  }
  return { platform: 'tdx', mrtd: toHex(h.digest()), pageOrder: order, inputs: { firmwareSha256: fw.sha256, firmwareSize: fw.size }, transcript };
}
