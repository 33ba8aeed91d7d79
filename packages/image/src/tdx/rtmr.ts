/**
 * @module tdx/rtmr
 * Predicts RTMR0–RTMR2 of a TD booted directly (QEMU `-kernel/-initrd/-append`)
 * from TDVF (OVMF IntelTdx), following the published calculators' model of what
 * TDVF and the Linux EFI stub extend (dstack's dstack-mr; TDX Virtual Firmware
 * Design Guide §8; TCG PC Client PFP for the event formats). Each RTMR is an
 * extend chain from 48 zero bytes: RTMR ← SHA-384(RTMR ‖ event digest).
 *
 * RTMR0 (TDVF configuration):
 *   1. the TD HOB the VMM builds in the TD_HOB section: a PHIT HOB and one
 *      resource-descriptor HOB per memory range (accepted: TD_HOB/TEMP_MEM
 *      sections; unaccepted: the rest of guest RAM, split at 2 GiB/4 GiB when
 *      RAM ≥ 0xB0000000 as QEMU's q35 does for TDX);
 *   2. the CFV (configuration firmware volume: the variable store) of the file;
 *   3. the secure-boot variables SecureBoot, PK, KEK, db, dbx (empty:
 *      UEFI_VARIABLE_DATA with no data), then the separator (4 zero bytes);
 *   4. the ACPI data QEMU hands over through fw_cfg, in TDVF's order:
 *      etc/table-loader, etc/acpi/rsdp, etc/acpi/tables (one SHA-384 each);
 *   5. BootOrder (the 2-byte list 0000) and Boot0000 (OVMF's UiApp load option,
 *      Fv(DXEFV)/FvFile(UiApp), measured as its data by OVMF before
 *      edk2-stable202505; other firmware: `boot0000Digest`).
 * RTMR1 (the OS loader): the Authenticode SHA-384 of the kernel *as QEMU patched
 *   its setup header* (type_of_loader, heap_end_ptr, cmd_line_ptr, ramdisk
 *   address/size — the address depends on guest RAM), then the EFI action
 *   strings "Calling EFI Application from Boot Option", the separator,
 *   "Exit Boot Services Invocation", "Exit Boot Services Returned with Success".
 * RTMR2 (the kernel's inputs): the command line as OVMF passes it (with
 *   " initrd=initrd" appended when there is an initrd) in UTF-16LE with its NUL,
 *   then the initrd.
 *
 * RTMR0 depends on the exact ACPI tables QEMU generates for that VM (CPU count,
 * devices, QEMU version); they are an input and without them RTMR0 is refused
 * (IMAGE_ACPI_TABLES_MISSING) rather than guessed.
 */
import { createHash } from 'node:crypto';
import { toHex, VeriteeError } from '@veritee/core';
import { parseFirmware, type FirmwareImage } from '../firmware.js';
import { guidToBytes } from '../guid.js';
import { parseTdvfSections } from './mrtd.js';

/** From this much guest RAM on, QEMU keeps 2 GiB below 4 GiB (TDX q35). */
export const TDX_HIGH_MEMORY_THRESHOLD = 0xb000_0000;
/** QEMU's default ACPI data reservation below 4 GiB (x86 `acpi_data_size`). */
export const QEMU_ACPI_DATA_SIZE = 0x28000;
export const EFI_GLOBAL_VARIABLE_GUID = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
export const EFI_IMAGE_SECURITY_DATABASE_GUID = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
/** OVMF's DXE firmware volume and the UiApp (boot manager menu) file in it. */
export const OVMF_DXEFV_GUID = '7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1';
export const OVMF_UIAPP_FILE_GUID = '462caa21-7614-4503-836e-8ab6f4662331';

/**
 * An EFI_LOAD_OPTION for a firmware-volume application: attributes, FilePathListLength,
 * the NUL-terminated UTF-16 description, Fv(fv)/FvFile(file)/End. OVMF registers UiApp
 * as Boot0000 with LOAD_OPTION_ACTIVE | LOAD_OPTION_HIDDEN | LOAD_OPTION_CATEGORY_APP.
 */
export function fvAppLoadOption(fvGuid: string, fileGuid: string, description: string, attributes = 0x109): Uint8Array {
  const node = (subtype: number, guid: string) => Buffer.concat([Buffer.from([0x04, subtype, 20, 0]), guidToBytes(guid)]);
  const path = Buffer.concat([node(7, fvGuid), node(6, fileGuid), Buffer.from([0x7f, 0xff, 4, 0])]);
  const head = Buffer.alloc(6);
  head.writeUInt32LE(attributes, 0);
  head.writeUInt16LE(path.length, 4);
  const out = Buffer.concat([head, utf16le(`${description}\0`), path]);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Boot0000 as OVMF before edk2-stable202505 measures it (EV_EFI_VARIABLE_BOOT: the digest
 * of the variable's data, the UiApp load option). dstack-mr carries this value as a
 * constant; here it is derived, and the test checks the two agree.
 */
export const OVMF_BOOT0000_DIGEST_PRE_202505 = toHex(sha384Of(fvAppLoadOption(OVMF_DXEFV_GUID, OVMF_UIAPP_FILE_GUID, 'UiApp')));
const MAX_RAM = 2 ** 46; // 64 TiB: beyond any TD, and exact in a double

function utf16le(s: string): Uint8Array {
  const b = Buffer.alloc(s.length * 2);
  for (let i = 0; i < s.length; i++) b.writeUInt16LE(s.charCodeAt(i), i * 2);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function sha384Of(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha384');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export interface TdxAcpiTables {
  /** fw_cfg etc/acpi/tables */
  tables: Uint8Array;
  /** fw_cfg etc/acpi/rsdp */
  rsdp: Uint8Array;
  /** fw_cfg etc/table-loader */
  loader: Uint8Array;
}

export interface TdxRtmrInput {
  firmware: Uint8Array | FirmwareImage;
  kernel: Uint8Array;
  initrd?: Uint8Array;
  /** The command line given to QEMU's -append (default empty). */
  append?: string;
  /** Guest RAM in bytes (QEMU -m). */
  memoryBytes: number;
  /** Required for RTMR0; without it only RTMR1 and RTMR2 are predicted. */
  acpi?: TdxAcpiTables;
  /** Bytes QEMU reserves for ACPI data below 4 GiB (default 0x28000). */
  acpiDataSize?: number;
  /** SHA-384 (hex) of the Boot0000 variable as the firmware measures it. */
  boot0000Digest?: string;
  /**
   * SHA-384 (hex) of the CFV as measured, instead of hashing the CFV section of the file
   * (dstack-mr, for one, carries its firmware's value as a constant).
   */
  cfvDigest?: string;
}

export interface RtmrEvent {
  rtmr: 0 | 1 | 2;
  event: string;
  /** SHA-384 extended into the RTMR (hex). */
  digest: string;
  /** The RTMR after this event (hex). */
  after: string;
}

export interface TdxRtmrPrediction {
  platform: 'tdx';
  /** RTMR0, or undefined when no ACPI tables were given. */
  rtmr0?: string;
  rtmr1: string;
  rtmr2: string;
  events: RtmrEvent[];
  inputs: {
    firmwareSha256: string;
    kernelSha256: string;
    initrdSha256?: string;
    /** The command line as measured (with " initrd=initrd" when there is an initrd). */
    measuredCmdline: string;
    memoryBytes: number;
    /** Where QEMU placed the initrd (patched into the kernel's setup header). */
    initrdAddress?: string;
  };
}

export const sha384 = sha384Of;

const kernelBad = (msg: string) => new VeriteeError('IMAGE_KERNEL_INVALID', `kernel: ${msg}`);

/** Digest of an EV_EFI_VARIABLE_DRIVER_CONFIG event: UEFI_VARIABLE_DATA {GUID, u64 name chars, u64 data bytes, UTF-16 name, data}. */
export function efiVariableDigest(vendorGuid: string, name: string, data: Uint8Array = new Uint8Array()): Uint8Array {
  const head = Buffer.alloc(32);
  head.set(guidToBytes(vendorGuid), 0);
  head.writeBigUInt64LE(BigInt(name.length), 16);
  head.writeBigUInt64LE(BigInt(data.length), 24);
  return sha384(head, utf16le(name), data);
}

/** The command line OVMF hands the kernel, as measured: UTF-16LE with a NUL. */
export function measuredCmdline(append: string, hasInitrd: boolean): string {
  return hasInitrd ? `${append} initrd=initrd` : append;
}

/**
 * The TD HOB QEMU builds for TDVF: PHIT (56 bytes, EfiEndOfHobList = base + length + 8)
 * and resource descriptors (48 bytes each: type 0 = system memory for accepted ranges,
 * 7 = unaccepted memory).
 */
export function tdHob(firmware: FirmwareImage, memoryBytes: number): Uint8Array {
  const sections = parseTdvfSections(firmware);
  const hobSection = sections.find((s) => s.typeName === 'TD_HOB');
  if (!hobSection) throw new VeriteeError('IMAGE_FIRMWARE_SECTION_MISSING', 'TDVF: the firmware has no TD_HOB section, so RTMR0 cannot be predicted');
  // Ranges over [0, RAM): accepted where TD_HOB / TEMP_MEM sections lie, unaccepted elsewhere.
  let ranges: { accepted: boolean; start: number; end: number }[] = [{ accepted: false, start: 0, end: memoryBytes }];
  for (const s of sections) {
    if (s.typeName !== 'TD_HOB' && s.typeName !== 'TEMP_MEM') continue;
    const start = s.memoryAddress;
    const end = s.memoryAddress + s.memoryDataSize;
    if (start >= end) continue;
    const next: typeof ranges = [];
    for (const r of ranges) {
      if (r.accepted || r.end <= start || r.start >= end) next.push(r);
      else {
        if (r.start < start) next.push({ accepted: false, start: r.start, end: start });
        if (r.end > end) next.push({ accepted: false, start: end, end: r.end });
      }
    }
    next.push({ accepted: true, start, end });
    next.sort((a, b) => a.start - b.start);
    ranges = next;
  }
  const parts: Buffer[] = [];
  const phit = Buffer.alloc(56);
  phit.writeUInt16LE(0x0001, 0); // EFI_HOB_TYPE_HANDOFF
  phit.writeUInt16LE(56, 2);
  phit.writeUInt32LE(9, 8); // version
  parts.push(phit);
  const resource = (type: number, start: number, length: number) => {
    if (start < 0 || length < 0) throw new VeriteeError('IMAGE_FIRMWARE_INVALID', 'TDVF: a TD_HOB/TEMP_MEM section lies beyond guest RAM');
    const r = Buffer.alloc(48);
    r.writeUInt16LE(0x0003, 0); // EFI_HOB_TYPE_RESOURCE_DESCRIPTOR
    r.writeUInt16LE(48, 2);
    r.writeUInt8(type, 24);
    r.writeUInt32LE(7, 28); // present | initialized | tested
    r.writeBigUInt64LE(BigInt(start), 32);
    r.writeBigUInt64LE(BigInt(length), 40);
    parts.push(r);
  };
  const last = ranges.pop()!;
  for (const r of ranges) resource(r.accepted ? 0 : 7, r.start, r.end - r.start);
  if (last.accepted) throw new VeriteeError('IMAGE_FIRMWARE_INVALID', 'TDVF: a TD_HOB/TEMP_MEM section reaches the end of guest RAM');
  if (memoryBytes >= TDX_HIGH_MEMORY_THRESHOLD) {
    if (last.start < 0x8000_0000) resource(7, last.start, 0x8000_0000 - last.start);
    if (last.end > 0x8000_0000) resource(7, 0x1_0000_0000, last.end - 0x8000_0000);
  } else {
    resource(7, last.start, last.end - last.start);
  }
  const hob = Buffer.concat(parts);
  hob.writeBigUInt64LE(BigInt(hobSection.memoryAddress + hob.length + 8), 48);
  return new Uint8Array(hob.buffer, hob.byteOffset, hob.length);
}

/**
 * The kernel as QEMU's x86 Linux loader patches its setup header before handing it to
 * the firmware (fw_cfg): type_of_loader, CAN_USE_HEAP and heap_end_ptr, cmd_line_ptr,
 * and with an initrd its address (top of low RAM less the ACPI reservation, page
 * aligned, within initrd_addr_max) and size.
 */
export function patchKernelSetupHeader(kernel: Uint8Array, initrdSize: number, memoryBytes: number, acpiDataSize = QEMU_ACPI_DATA_SIZE): { kernel: Uint8Array; initrdAddress?: number } {
  if (kernel.length < 0x1000) throw kernelBad(`${kernel.length} bytes is too short for a Linux bzImage`);
  const k = Buffer.from(kernel);
  if (k.toString('latin1', 0x202, 0x206) !== 'HdrS') throw kernelBad('no Linux setup header ("HdrS" at 0x202): not a bzImage');
  const protocol = k.readUInt16LE(0x206);
  const highLoaded = protocol >= 0x200 && (k[0x211]! & 0x01) !== 0;
  const realAddr = highLoaded ? 0x10000 : 0x90000;
  const cmdlineAddr = highLoaded ? 0x20000 : 0x9a000;
  if (protocol >= 0x200) k[0x210] = 0xb0; // type_of_loader: QEMU
  if (protocol >= 0x201) {
    k[0x211] = k[0x211]! | 0x80; // CAN_USE_HEAP
    k.writeUInt32LE(cmdlineAddr - realAddr - 0x200, 0x224);
  }
  if (protocol >= 0x202) k.writeUInt32LE(cmdlineAddr, 0x228);
  else {
    k.writeUInt16LE(0xa33f, 0x20);
    k.writeUInt16LE(cmdlineAddr - realAddr, 0x22);
  }
  let initrdAddress: number | undefined;
  if (initrdSize > 0) {
    if (protocol < 0x200) throw kernelBad(`boot protocol ${protocol.toString(16)} is too old for an initrd`);
    let initrdMax: number;
    if (protocol >= 0x20c) initrdMax = (k.readUInt16LE(0x236) & 0x40) !== 0 ? 0xffff_ffff : 0x37ff_ffff;
    else if (protocol >= 0x203) initrdMax = k.readUInt32LE(0x22c) || 0x37ff_ffff;
    else initrdMax = 0x37ff_ffff;
    const lowmem = memoryBytes < TDX_HIGH_MEMORY_THRESHOLD ? TDX_HIGH_MEMORY_THRESHOLD : 0x8000_0000;
    const below4g = memoryBytes >= lowmem ? lowmem : memoryBytes;
    if (acpiDataSize >= below4g) throw new VeriteeError('INPUT_INVALID', `the ACPI reservation (${acpiDataSize} bytes) does not fit the ${below4g} bytes of RAM below 4 GiB`);
    if (initrdMax >= below4g - acpiDataSize) initrdMax = below4g - acpiDataSize - 1;
    if (initrdSize >= initrdMax) throw kernelBad(`the initrd (${initrdSize} bytes) does not fit below its load limit 0x${initrdMax.toString(16)} with ${memoryBytes} bytes of RAM`);
    initrdAddress = Math.floor((initrdMax - initrdSize) / 4096) * 4096;
    k.writeUInt32LE(initrdAddress, 0x218);
    k.writeUInt32LE(initrdSize, 0x21c);
  }
  return { kernel: new Uint8Array(k.buffer, k.byteOffset, k.length), ...(initrdAddress !== undefined ? { initrdAddress } : {}) };
}

/**
 * Authenticode SHA-384 of a PE/COFF image (the hash TDVF's LoadImage measures):
 * the headers without CheckSum and the certificate-table directory entry, the
 * sections in file order, the data after them less the certificate table, and
 * zero padding to a multiple of 8 bytes (as the published calculator does).
 */
export function authenticodeSha384(pe: Uint8Array): Uint8Array {
  const b = Buffer.from(pe.buffer, pe.byteOffset, pe.byteLength);
  const need = (end: number, what: string) => {
    if (end > b.length) throw kernelBad(`${what} lies beyond the end of the file`);
  };
  need(0x40, 'the DOS header');
  if (b.toString('latin1', 0, 2) !== 'MZ') throw kernelBad('no MZ header: the kernel has no EFI stub (CONFIG_EFI_STUB)');
  const peAt = b.readUInt32LE(0x3c);
  need(peAt + 24, 'the PE header');
  if (b.readUInt32LE(peAt) !== 0x00004550) throw kernelBad('no PE signature: the kernel has no EFI stub');
  const coff = peAt + 4;
  const sectionCount = b.readUInt16LE(coff + 2);
  const optSize = b.readUInt16LE(coff + 16);
  const opt = coff + 20;
  need(opt + optSize, 'the optional header');
  const magic = b.readUInt16LE(opt);
  if (magic !== 0x20b && magic !== 0x10b) throw kernelBad(`optional header magic 0x${magic.toString(16)} is neither PE32 nor PE32+`);
  const dirs = opt + (magic === 0x20b ? 112 : 96);
  const dirCount = b.readUInt32LE(opt + (magic === 0x20b ? 108 : 92));
  if (dirCount < 5 || dirs + 5 * 8 > opt + optSize) throw kernelBad('the optional header has no certificate-table directory entry');
  const checksum = opt + 64;
  const certDir = dirs + 4 * 8;
  const headersSize = b.readUInt32LE(opt + 60);
  need(headersSize, 'SizeOfHeaders');
  if (headersSize < certDir + 8) throw kernelBad('SizeOfHeaders ends inside the optional header');
  const h = createHash('sha384');
  h.update(b.subarray(0, checksum));
  h.update(b.subarray(checksum + 4, certDir));
  h.update(b.subarray(certDir + 8, headersSize));
  let hashed = headersSize;
  const sectionTable = opt + optSize;
  need(sectionTable + 40 * sectionCount, 'the section table');
  const sections: { at: number; size: number }[] = [];
  for (let i = 0; i < sectionCount; i++) {
    const s = sectionTable + 40 * i;
    const size = b.readUInt32LE(s + 16);
    const at = b.readUInt32LE(s + 20);
    if (size === 0) continue;
    need(at + size, `section ${i}`);
    sections.push({ at, size });
  }
  sections.sort((x, y) => x.at - y.at);
  for (const s of sections) {
    h.update(b.subarray(s.at, s.at + s.size));
    hashed += s.size;
  }
  const certAt = b.readUInt32LE(certDir);
  const certSize = b.readUInt32LE(certDir + 4);
  if (certAt > 0 && certSize > 0) {
    need(certAt + certSize, 'the certificate table');
  }
  if (b.length > hashed) {
    const trailing = b.length - hashed - (certAt > 0 && certSize > 0 ? certSize : 0);
    if (trailing > 0) h.update(b.subarray(hashed, hashed + trailing));
  }
  if (b.length % 8 !== 0) h.update(Buffer.alloc(8 - (b.length % 8)));
  return new Uint8Array(h.digest());
}

function hexDigest(s: string, what: string): Uint8Array {
  if (!/^[0-9a-f]{96}$/i.test(s)) throw new VeriteeError('INPUT_INVALID', `${what} must be 96 hex digits (SHA-384)`);
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

/** RTMR0–2 of a direct-boot TD, with the event digests that produce them. */
export function predictTdxRtmrs(input: TdxRtmrInput): TdxRtmrPrediction {
  const fw = input.firmware instanceof Uint8Array ? parseFirmware(input.firmware, 'TDVF') : input.firmware;
  const mem = input.memoryBytes;
  if (!Number.isSafeInteger(mem) || mem < 0x1000_0000 || mem > MAX_RAM || mem % 0x10_0000 !== 0) {
    throw new VeriteeError('INPUT_INVALID', 'guest memory must be a whole number of MiB, at least 256 MiB and at most 64 TiB');
  }
  const acpiDataSize = input.acpiDataSize ?? QEMU_ACPI_DATA_SIZE;
  if (!Number.isSafeInteger(acpiDataSize) || acpiDataSize < 0) throw new VeriteeError('INPUT_INVALID', 'the ACPI data size must be a non-negative integer');
  const append = input.append ?? '';
  if (append.length > 0x10000 || /[\0\n]/.test(append)) throw new VeriteeError('INPUT_INVALID', 'the kernel command line must be at most 64 KiB with no NUL or newline');
  const initrd = input.initrd && input.initrd.length > 0 ? input.initrd : undefined;
  const events: RtmrEvent[] = [];
  const regs: Uint8Array[] = [new Uint8Array(48), new Uint8Array(48), new Uint8Array(48)];
  const extend = (rtmr: 0 | 1 | 2, event: string, digest: Uint8Array) => {
    regs[rtmr] = sha384(regs[rtmr]!, digest);
    events.push({ rtmr, event, digest: toHex(digest), after: toHex(regs[rtmr]!) });
  };

  // RTMR0: only with the VMM's ACPI tables.
  if (input.acpi) {
    const sections = parseTdvfSections(fw);
    const cfv = sections.find((s) => s.typeName === 'CFV');
    if (!cfv) throw new VeriteeError('IMAGE_FIRMWARE_SECTION_MISSING', 'TDVF: the firmware has no CFV (variable store) section, so RTMR0 cannot be predicted');
    if (cfv.rawDataSize === 0 || cfv.dataOffset + cfv.rawDataSize > fw.size) throw new VeriteeError('IMAGE_FIRMWARE_INVALID', 'TDVF: the CFV section has no data inside the file');
    const boot0000 = hexDigest(input.boot0000Digest ?? OVMF_BOOT0000_DIGEST_PRE_202505, 'the Boot0000 digest');
    extend(0, 'TD HOB (EV_PLATFORM_CONFIG_FLAGS)', sha384(tdHob(fw, mem)));
    const cfvDigest = input.cfvDigest !== undefined ? hexDigest(input.cfvDigest, 'the CFV digest') : sha384(fw.data.subarray(cfv.dataOffset, cfv.dataOffset + cfv.rawDataSize));
    extend(0, `CFV: the firmware variable store${input.cfvDigest !== undefined ? ' (digest given)' : ''} (EV_EFI_PLATFORM_FIRMWARE_BLOB2)`, cfvDigest);
    extend(0, 'SecureBoot (EV_EFI_VARIABLE_DRIVER_CONFIG)', efiVariableDigest(EFI_GLOBAL_VARIABLE_GUID, 'SecureBoot'));
    extend(0, 'PK (EV_EFI_VARIABLE_DRIVER_CONFIG)', efiVariableDigest(EFI_GLOBAL_VARIABLE_GUID, 'PK'));
    extend(0, 'KEK (EV_EFI_VARIABLE_DRIVER_CONFIG)', efiVariableDigest(EFI_GLOBAL_VARIABLE_GUID, 'KEK'));
    extend(0, 'db (EV_EFI_VARIABLE_DRIVER_CONFIG)', efiVariableDigest(EFI_IMAGE_SECURITY_DATABASE_GUID, 'db'));
    extend(0, 'dbx (EV_EFI_VARIABLE_DRIVER_CONFIG)', efiVariableDigest(EFI_IMAGE_SECURITY_DATABASE_GUID, 'dbx'));
    extend(0, 'separator (EV_SEPARATOR)', sha384(new Uint8Array(4)));
    extend(0, 'ACPI etc/table-loader (EV_PLATFORM_CONFIG_FLAGS)', sha384(input.acpi.loader));
    extend(0, 'ACPI etc/acpi/rsdp (EV_PLATFORM_CONFIG_FLAGS)', sha384(input.acpi.rsdp));
    extend(0, 'ACPI etc/acpi/tables (EV_PLATFORM_CONFIG_FLAGS)', sha384(input.acpi.tables));
    extend(0, 'BootOrder (EV_EFI_VARIABLE_BOOT)', sha384(new Uint8Array(2)));
    extend(0, 'Boot0000 (EV_EFI_VARIABLE_BOOT)', boot0000);
  }

  // RTMR1: the kernel as QEMU patched it, and the boot-services events.
  const patched = patchKernelSetupHeader(input.kernel, initrd?.length ?? 0, mem, acpiDataSize);
  extend(1, 'kernel: Authenticode SHA-384 of the QEMU-patched bzImage (EV_EFI_BOOT_SERVICES_APPLICATION)', authenticodeSha384(patched.kernel));
  extend(1, 'Calling EFI Application from Boot Option (EV_EFI_ACTION)', sha384(Buffer.from('Calling EFI Application from Boot Option')));
  extend(1, 'separator (EV_SEPARATOR)', sha384(new Uint8Array(4)));
  extend(1, 'Exit Boot Services Invocation (EV_EFI_ACTION)', sha384(Buffer.from('Exit Boot Services Invocation')));
  extend(1, 'Exit Boot Services Returned with Success (EV_EFI_ACTION)', sha384(Buffer.from('Exit Boot Services Returned with Success')));

  // RTMR2: the command line and the initrd.
  const cmd = measuredCmdline(append, initrd !== undefined);
  extend(2, 'kernel command line, UTF-16LE with NUL (EV_EVENT_TAG)', sha384(utf16le(cmd), new Uint8Array(2)));
  if (initrd) extend(2, 'initrd (EV_EVENT_TAG)', sha384(initrd));

  const sha256 = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
  return {
    platform: 'tdx',
    ...(input.acpi ? { rtmr0: toHex(regs[0]!) } : {}),
    rtmr1: toHex(regs[1]!),
    rtmr2: toHex(regs[2]!),
    events,
    inputs: {
      firmwareSha256: fw.sha256,
      kernelSha256: sha256(input.kernel),
      ...(initrd ? { initrdSha256: sha256(initrd) } : {}),
      measuredCmdline: cmd,
      memoryBytes: mem,
      ...(patched.initrdAddress !== undefined ? { initrdAddress: '0x' + patched.initrdAddress.toString(16) } : {}),
    },
  };
}
