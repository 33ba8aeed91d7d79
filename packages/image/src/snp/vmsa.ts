/**
 * @module snp/vmsa
 * The initial VM save area (VMSA, AMD APM vol. 2 table B-4) of each vCPU, as
 * the VMM hands it to SNP_LAUNCH_UPDATE (page type VMSA). The values are the
 * x86 reset state as KVM sets it up (CR0.ET, CR4.MCE, EFER.SVME, DR6/DR7,
 * RFLAGS bit 1, the PAT reset value), with CS pointing at the reset vector: the
 * BSP starts at 0xfffffff0, the APs at the firmware's SEV-ES reset block. RDX
 * holds the CPUID signature. EC2 and GCE differ in segment attributes, RDX,
 * MXCSR/FCW and (GCE) the PAT.
 */
import type { VmmType } from './vcpu.js';

export const VMSA_SIZE = 0x1000;
export const BSP_EIP = 0xfffffff0;

/** Offsets into the save area (APM vol. 2, table B-4). */
const OFF = {
  es: 0x00,
  cs: 0x10,
  ss: 0x20,
  ds: 0x30,
  fs: 0x40,
  gs: 0x50,
  gdtr: 0x60,
  ldtr: 0x70,
  idtr: 0x80,
  tr: 0x90,
  efer: 0xd0,
  cr4: 0x148,
  cr0: 0x158,
  dr7: 0x160,
  dr6: 0x168,
  rflags: 0x170,
  rip: 0x178,
  gPat: 0x268,
  rdx: 0x310,
  sevFeatures: 0x3b0,
  xcr0: 0x3e8,
  mxcsr: 0x408,
  x87Fcw: 0x410,
} as const;

export interface VmsaParams {
  eip: number;
  vcpuSignature: number;
  guestFeatures: bigint;
  vmm: VmmType;
}

/** One VMSA page. */
export function buildVmsa(p: VmsaParams): Uint8Array {
  const page = new Uint8Array(VMSA_SIZE);
  const dv = new DataView(page.buffer);
  const seg = (off: number, selector: number, attrib: number, limit: number, base: bigint) => {
    dv.setUint16(off, selector, true);
    dv.setUint16(off + 2, attrib, true);
    dv.setUint32(off + 4, limit, true);
    dv.setBigUint64(off + 8, base, true);
  };
  const u64 = (off: number, v: bigint) => dv.setBigUint64(off, v, true);

  let csAttr = 0x9b;
  let ssAttr = 0x93;
  let trAttr = 0x8b;
  let gPat = 0x0007040600070406n;
  let rdx = BigInt(p.vcpuSignature >>> 0);
  let mxcsr = 0x1f80;
  let fcw = 0x37f;
  if (p.vmm === 'ec2') {
    if (p.eip === BSP_EIP) csAttr = 0x9a;
    ssAttr = 0x92;
    trAttr = 0x83;
    rdx = 0x600n;
    mxcsr = 0;
    fcw = 0;
  } else if (p.vmm === 'gce') {
    gPat = 0x00070106n;
    rdx = 0x600n;
    mxcsr = 0;
    fcw = 0;
  }

  seg(OFF.es, 0, 0x93, 0xffff, 0n);
  seg(OFF.cs, 0xf000, csAttr, 0xffff, BigInt((p.eip & 0xffff0000) >>> 0));
  seg(OFF.ss, 0, ssAttr, 0xffff, 0n);
  seg(OFF.ds, 0, 0x93, 0xffff, 0n);
  seg(OFF.fs, 0, 0x93, 0xffff, 0n);
  seg(OFF.gs, 0, 0x93, 0xffff, 0n);
  seg(OFF.gdtr, 0, 0, 0xffff, 0n);
  seg(OFF.ldtr, 0, 0x82, 0xffff, 0n);
  seg(OFF.idtr, 0, 0, 0xffff, 0n);
  seg(OFF.tr, 0, trAttr, 0xffff, 0n);
  u64(OFF.efer, 0x1000n); // EFER.SVME
  u64(OFF.cr4, 0x40n); // CR4.MCE
  u64(OFF.cr0, 0x10n); // CR0.ET
  u64(OFF.dr7, 0x400n);
  u64(OFF.dr6, 0xffff0ff0n);
  u64(OFF.rflags, 0x2n);
  u64(OFF.rip, BigInt(p.eip & 0xffff));
  u64(OFF.gPat, gPat);
  u64(OFF.rdx, rdx);
  u64(OFF.sevFeatures, p.guestFeatures);
  u64(OFF.xcr0, 0x1n);
  dv.setUint32(OFF.mxcsr, mxcsr, true);
  dv.setUint16(OFF.x87Fcw, fcw, true);
  return page;
}
