/**
 * @module snp/hashes
 * The SEV kernel-hashes table for measured direct boot (QEMU
 * target/i386/sev.c, OVMF OvmfPkg/AmdSev BlobVerifierSevHashes): QEMU writes
 * SHA-256 of the kernel, the initrd (empty when none) and the command line
 * (NUL-terminated; a lone NUL when none) into the page OVMF reserved, so the
 * launch digest covers them and OVMF refuses blobs that do not match.
 *
 * Table: GUID 9438d606-… ‖ u16 length ‖ three entries {GUID, u16 length = 50,
 * SHA-256} for cmdline, initrd, kernel; padded with zeros to 16 bytes.
 */
import { createHash } from 'node:crypto';
import { guidToBytes } from '../guid.js';

export const SEV_HASH_TABLE_HEADER_GUID = '9438d606-4f22-4cc9-b479-a793d411fd21';
export const SEV_KERNEL_ENTRY_GUID = '4de79437-abd2-427f-b835-d5b172d2045b';
export const SEV_INITRD_ENTRY_GUID = '44baf731-3a2f-4bd7-9af1-41e29169781d';
export const SEV_CMDLINE_ENTRY_GUID = '97d02dd8-bd20-4c94-aa78-e7714d36ab2a';

const ENTRY_SIZE = 16 + 2 + 32;
const TABLE_SIZE = 16 + 2 + 3 * ENTRY_SIZE; // 168
export const PADDED_TABLE_SIZE = (TABLE_SIZE + 15) & ~15; // 176

export interface BootHashes {
  kernel: Uint8Array;
  initrd: Uint8Array;
  cmdline: Uint8Array;
}

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/** Hashes as QEMU computes them. `append` undefined or '' both mean "no command line". */
export function bootHashes(kernel: Uint8Array, initrd: Uint8Array | undefined, append: string | undefined): BootHashes {
  const cmd = append ? Buffer.concat([Buffer.from(append, 'utf8'), Buffer.of(0)]) : Buffer.of(0);
  return { kernel: sha256(kernel), initrd: sha256(initrd ?? new Uint8Array(0)), cmdline: sha256(cmd) };
}

export function hashesTable(h: BootHashes): Uint8Array {
  const out = new Uint8Array(PADDED_TABLE_SIZE);
  const dv = new DataView(out.buffer);
  out.set(guidToBytes(SEV_HASH_TABLE_HEADER_GUID), 0);
  dv.setUint16(16, TABLE_SIZE, true);
  let off = 18;
  for (const [guid, digest] of [
    [SEV_CMDLINE_ENTRY_GUID, h.cmdline],
    [SEV_INITRD_ENTRY_GUID, h.initrd],
    [SEV_KERNEL_ENTRY_GUID, h.kernel],
  ] as const) {
    out.set(guidToBytes(guid), off);
    dv.setUint16(off + 16, ENTRY_SIZE, true);
    out.set(digest, off + 18);
    off += ENTRY_SIZE;
  }
  return out;
}

/** The 4 KiB page holding the table at `offset`. */
export function hashesPage(h: BootHashes, offset: number): Uint8Array {
  const page = new Uint8Array(0x1000);
  page.set(hashesTable(h), offset);
  return page;
}
