/**
 * @module snp/vcpu
 * vCPU types and VMMs. The CPUID Fn0000_0001_EAX signature (family, model,
 * stepping; AMD CPUID specification #25481) of the vCPU model QEMU presents
 * lands in RDX of each initial VMSA, so it is part of the launch measurement.
 */
import { quoteInput, VeriteeError } from '@veritee/core';

/** CPUID Fn0000_0001_EAX from family / model / stepping. */
export function cpuSignature(family: number, model: number, stepping: number): number {
  const famLow = family > 0xf ? 0xf : family;
  const famHigh = family > 0xf ? (family - 0xf) & 0xff : 0;
  return ((famHigh << 20) | (((model >> 4) & 0xf) << 16) | (famLow << 8) | ((model & 0xf) << 4) | (stepping & 0xf)) >>> 0;
}

const naples = cpuSignature(23, 1, 2);
const rome = cpuSignature(23, 49, 0);
const milan = cpuSignature(25, 1, 1);
const genoa = cpuSignature(25, 17, 0);
const turin = cpuSignature(26, 0, 0);

/** QEMU's EPYC models (target/i386/cpu.c builtin_x86_defs) and their signatures. */
export const VCPU_TYPES: Readonly<Record<string, number>> = {
  EPYC: naples,
  'EPYC-v1': naples,
  'EPYC-v2': naples,
  'EPYC-IBPB': naples,
  'EPYC-v3': naples,
  'EPYC-v4': naples,
  'EPYC-Rome': rome,
  'EPYC-Rome-v1': rome,
  'EPYC-Rome-v2': rome,
  'EPYC-Rome-v3': rome,
  'EPYC-Milan': milan,
  'EPYC-Milan-v1': milan,
  'EPYC-Milan-v2': milan,
  'EPYC-Genoa': genoa,
  'EPYC-Genoa-v1': genoa,
  'EPYC-Turin': turin,
};

export function vcpuSignature(type: string): number {
  const sig = Object.prototype.hasOwnProperty.call(VCPU_TYPES, type) ? VCPU_TYPES[type] : undefined;
  if (sig === undefined) {
    throw new VeriteeError('IMAGE_VCPU_TYPE_UNKNOWN', `unknown vCPU type ${quoteInput(type, 40)} (known: ${Object.keys(VCPU_TYPES).join(', ')})`);
  }
  return sig;
}

/** The VMM that launches the guest: QEMU/KVM, AWS EC2 (Nitro) or Google Compute Engine. */
export const VMM_TYPES = ['qemu', 'ec2', 'gce'] as const;
export type VmmType = (typeof VMM_TYPES)[number];

export function parseVmm(v: string): VmmType {
  const l = v.toLowerCase();
  if (!(VMM_TYPES as readonly string[]).includes(l)) throw new VeriteeError('INPUT_INVALID', `unknown VMM ${quoteInput(v, 40)} (known: ${VMM_TYPES.join(', ')})`);
  return l as VmmType;
}
