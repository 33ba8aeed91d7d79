/**
 * @module firmware
 * Parses what launch-measurement prediction needs from an OVMF / TDVF firmware
 * volume: the GUIDed footer table just below the reset vector, the SEV metadata
 * block ("ASEV": the pages the VMM hands to SNP_LAUNCH_UPDATE besides the
 * firmware itself), the SEV-ES AP reset address and the kernel-hashes table
 * address. Everything is checked; a file that is not such a build is refused
 * with IMAGE_FIRMWARE_INVALID rather than measured as if it were.
 *
 * Layout (edk2 OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm): the table ends
 * 0x20 bytes before the end of the file; its last entry is the footer
 * {u16 total length, GUID 96b582de-…}; entries before it are
 * {data, u16 length (data + 18), GUID}, read backwards.
 */
import { createHash } from 'node:crypto';
import { toHex, VeriteeError } from '@veritee/core';
import { guidFromBytes, guidToBytes } from './guid.js';

export const PAGE_SIZE = 0x1000;
export const FOUR_GIB = 0x1_0000_0000;

export const OVMF_TABLE_FOOTER_GUID = '96b582de-1fb2-45f7-baea-a366c55a082d';
export const SEV_HASH_TABLE_RV_GUID = '7255371f-3a3b-4b04-927b-1da6efa8d454';
export const SEV_ES_RESET_BLOCK_GUID = '00f771de-1a7e-4fcb-890e-68c77e2fb44e';
export const OVMF_SEV_METADATA_GUID = 'dc886566-984a-4798-a75e-5585a7bf67cc';
export const TDX_METADATA_OFFSET_GUID = 'e47a6535-984a-4798-865e-4685a7bf8ec2';

/** SEV metadata section types (OvmfPkg/Include/WorkArea.h, ResetVector). */
export const SEV_SECTION_TYPES = {
  1: 'SNP_SEC_MEM',
  2: 'SNP_SECRETS',
  3: 'CPUID',
  4: 'SVSM_CAA',
  0x10: 'SNP_KERNEL_HASHES',
} as const;
export type SevSectionName = (typeof SEV_SECTION_TYPES)[keyof typeof SEV_SECTION_TYPES];

export interface SevMetadataSection {
  gpa: number;
  size: number;
  type: number;
  name: SevSectionName;
}

export interface FirmwareImage {
  /** The whole file. */
  data: Uint8Array;
  size: number;
  /** SHA-256 of the file, hex (for transcripts and vectors). */
  sha256: string;
  /** Guest-physical address of the first byte: the volume ends at 4 GiB. */
  gpa: number;
  /** Footer table entries by GUID (data only). */
  table: Map<string, Uint8Array>;
  /** SEV metadata sections in file order; undefined when the build has none. */
  sevSections: SevMetadataSection[] | undefined;
}

const ENTRY_HEADER = 18; // u16 length + 16-byte GUID
/** Firmware volumes are at most a few MiB; 64 MiB bounds the parse. */
export const MAX_FIRMWARE_BYTES = 64 * 1024 * 1024;

function bad(what: string, msg: string): VeriteeError {
  return new VeriteeError('IMAGE_FIRMWARE_INVALID', `${what}: ${msg}`);
}

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/** Parses and checks a firmware volume. */
export function parseFirmware(data: Uint8Array, what = 'firmware'): FirmwareImage {
  const size = data.length;
  if (size === 0 || size % PAGE_SIZE !== 0) throw bad(what, `${size} bytes is not a whole number of 4 KiB pages (is this an OVMF/TDVF .fd file?)`);
  if (size > MAX_FIRMWARE_BYTES) throw bad(what, `${size} bytes is larger than any firmware volume (${MAX_FIRMWARE_BYTES} bytes)`);
  const table = parseFooterTable(data, what);
  const image: FirmwareImage = {
    data,
    size,
    sha256: toHex(createHash('sha256').update(data).digest()),
    gpa: FOUR_GIB - size,
    table,
    sevSections: undefined,
  };
  const meta = table.get(OVMF_SEV_METADATA_GUID);
  if (meta) image.sevSections = parseSevMetadata(data, meta, what);
  return image;
}

function parseFooterTable(data: Uint8Array, what: string): Map<string, Uint8Array> {
  const size = data.length;
  const footerAt = size - 0x20 - ENTRY_HEADER;
  if (footerAt < 0) throw bad(what, 'too small to hold the OVMF footer table');
  const guid = guidFromBytes(data.subarray(footerAt + 2, footerAt + ENTRY_HEADER));
  if (guid !== OVMF_TABLE_FOOTER_GUID) {
    throw bad(what, 'no OVMF footer GUID table before the reset vector: not an OVMF/TDVF code volume (a VARS file, a combined OVMF.fd with a different layout, or another file)');
  }
  const total = u16(data, footerAt);
  if (total < ENTRY_HEADER || total - ENTRY_HEADER > footerAt) throw bad(what, `the footer table claims ${total} bytes, which does not fit the file`);
  let end = footerAt; // exclusive end of the remaining entries
  const start = footerAt - (total - ENTRY_HEADER);
  const out = new Map<string, Uint8Array>();
  while (end - start >= ENTRY_HEADER) {
    const hdr = end - ENTRY_HEADER;
    const len = u16(data, hdr);
    const g = guidFromBytes(data.subarray(hdr + 2, hdr + ENTRY_HEADER));
    if (len < ENTRY_HEADER || end - len < start) throw bad(what, `footer table entry ${g} has length ${len}, outside the table`);
    if (out.has(g)) throw bad(what, `footer table lists ${g} twice`);
    out.set(g, data.subarray(end - len, hdr));
    end -= len;
  }
  if (end !== start) throw bad(what, `${end - start} stray bytes at the start of the footer table`);
  return out;
}

function parseSevMetadata(data: Uint8Array, entry: Uint8Array, what: string): SevMetadataSection[] {
  if (entry.length < 4) throw bad(what, 'the SEV metadata table entry is shorter than 4 bytes');
  const fromEnd = u32(entry, 0);
  const start = data.length - fromEnd;
  if (fromEnd < 16 || start < 0) throw bad(what, `the SEV metadata offset ${fromEnd} is outside the file`);
  const sig = String.fromCharCode(...data.subarray(start, start + 4));
  if (sig !== 'ASEV') throw bad(what, `the SEV metadata block has signature ${JSON.stringify(sig)}, not "ASEV"`);
  const len = u32(data, start + 4);
  const version = u32(data, start + 8);
  const n = u32(data, start + 12);
  if (version !== 1) throw bad(what, `SEV metadata version ${version} is not supported (only 1)`);
  if (n > 64 || len < 16 + 12 * n || start + len > data.length) throw bad(what, `the SEV metadata block (${len} bytes, ${n} sections) does not fit the file`);
  const out: SevMetadataSection[] = [];
  for (let i = 0; i < n; i++) {
    const o = start + 16 + 12 * i;
    const gpa = u32(data, o);
    const sz = u32(data, o + 4);
    const type = u32(data, o + 8);
    const name = (SEV_SECTION_TYPES as Record<number, SevSectionName>)[type];
    if (!name) throw bad(what, `SEV metadata section ${i} has unknown type 0x${type.toString(16)}`);
    if (gpa % PAGE_SIZE !== 0 || sz === 0 || sz % PAGE_SIZE !== 0) throw bad(what, `SEV metadata section ${i} (${name}) at 0x${gpa.toString(16)} size 0x${sz.toString(16)} is not whole pages`);
    if (gpa + sz > FOUR_GIB) throw bad(what, `SEV metadata section ${i} (${name}) extends past 4 GiB`);
    out.push({ gpa, size: sz, type, name });
  }
  return out;
}

/** The SEV-ES AP reset address (the entry of the SEV-ES reset block). */
export function sevEsResetEip(fw: FirmwareImage, what = 'firmware'): number {
  const e = fw.table.get(SEV_ES_RESET_BLOCK_GUID);
  if (!e) throw new VeriteeError('IMAGE_FIRMWARE_SECTION_MISSING', `${what} has no SEV-ES reset block (${SEV_ES_RESET_BLOCK_GUID}): not an SEV-capable OVMF build`);
  if (e.length < 4) throw bad(what, 'the SEV-ES reset block entry is shorter than 4 bytes');
  return u32(e, 0);
}

/** Where OVMF expects the kernel-hashes table (0 when the build reserves none). */
export function sevHashesTable(fw: FirmwareImage): { gpa: number; size: number } | undefined {
  const e = fw.table.get(SEV_HASH_TABLE_RV_GUID);
  if (!e || e.length < 8) return undefined;
  const gpa = u32(e, 0);
  const size = u32(e, 4);
  return gpa === 0 ? undefined : { gpa, size };
}

export { guidToBytes };
