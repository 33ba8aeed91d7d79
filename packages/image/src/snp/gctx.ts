/**
 * @module snp/gctx
 * The SEV-SNP launch digest (SEV Secure Nested Paging Firmware ABI, §8.17
 * SNP_LAUNCH_UPDATE, table "PAGE_INFO"): for every page the VMM adds,
 * LD ← SHA-384(PAGE_INFO) with PAGE_INFO = DIGEST_CUR (48) ‖ CONTENTS (48) ‖
 * LENGTH=0x70 (u16) ‖ PAGE_TYPE (u8) ‖ IMI_PAGE (u8) ‖ VMPL3/2/1 perms (3 × u8)
 * ‖ reserved (u8) ‖ GPA (u64). CONTENTS is SHA-384 of the page for NORMAL and
 * VMSA pages and zero for ZERO, UNMEASURED, SECRETS and CPUID pages. The final
 * LD is the MEASUREMENT in the attestation report.
 */
import { createHash } from 'node:crypto';

export const LD_SIZE = 48;
export const PAGE_INFO_LENGTH = 0x70;
/** VMSA pages are measured at this GPA, whatever the VMM maps them at. */
export const VMSA_GPA = 0xfffffffff000;

export const PAGE_TYPES = { NORMAL: 1, VMSA: 2, ZERO: 3, UNMEASURED: 4, SECRETS: 5, CPUID: 6 } as const;
export type PageTypeName = keyof typeof PAGE_TYPES;

export function sha384(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha384').update(b).digest());
}

const ZEROS = new Uint8Array(LD_SIZE);

export class LaunchDigest {
  private ld: Uint8Array;
  /** Number of PAGE_INFO updates so far. */
  pages = 0;

  constructor(seed: Uint8Array = ZEROS) {
    this.ld = Uint8Array.from(seed);
  }

  digest(): Uint8Array {
    return Uint8Array.from(this.ld);
  }

  update(type: PageTypeName, gpa: number, contents: Uint8Array): void {
    const info = new Uint8Array(PAGE_INFO_LENGTH);
    const dv = new DataView(info.buffer);
    info.set(this.ld, 0);
    info.set(contents, 0x30);
    dv.setUint16(0x60, PAGE_INFO_LENGTH, true);
    info[0x62] = PAGE_TYPES[type];
    // IMI_PAGE, VMPL3/2/1 permissions and the reserved byte stay 0 for a launch.
    dv.setBigUint64(0x68, BigInt(gpa), true);
    this.ld = sha384(info);
    this.pages++;
  }

  normalPages(gpa: number, data: Uint8Array): void {
    for (let off = 0; off < data.length; off += 0x1000) this.update('NORMAL', gpa + off, sha384(data.subarray(off, off + 0x1000)));
  }

  emptyPages(type: 'ZERO' | 'UNMEASURED' | 'SECRETS' | 'CPUID', gpa: number, size: number): void {
    for (let off = 0; off < size; off += 0x1000) this.update(type, gpa + off, ZEROS);
  }

  vmsaPage(page: Uint8Array): void {
    this.update('VMSA', VMSA_GPA, sha384(page));
  }
}
