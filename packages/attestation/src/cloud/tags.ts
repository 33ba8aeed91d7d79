/**
 * @module cloud/tags
 * attestation-rs's cloud platform tags and what each one rests on.
 *
 * THREAT MODEL: the envelope's tag is attacker-chosen. `gcp-snp`/`gcp-tdx` evidence is
 * exactly `snp`/`tdx` evidence: anyone holding SNP/TDX evidence can relabel it, so the
 * cloud named is only the attester's claim. `az-snp`/`az-tdx` evidence has Azure's HCL
 * (paravisor) report layout and a vTPM quote; that layout suggests Azure but is no proof
 * (any paravisor could produce it).
 */
import type { CloudPlatform, HardwarePlatform, Platform } from '../types.js';

export const CLOUD_PLATFORMS: readonly CloudPlatform[] = ['az-snp', 'az-tdx', 'gcp-snp', 'gcp-tdx'];

export function isCloudPlatform(p: string): p is CloudPlatform {
  return (CLOUD_PLATFORMS as readonly string[]).includes(p);
}

/** The hardware platform behind a tag: `az-snp` → `snp`. */
export function hardwareOf(p: Platform): HardwarePlatform {
  switch (p) {
    case 'az-snp':
    case 'gcp-snp':
      return 'snp';
    case 'az-tdx':
    case 'gcp-tdx':
      return 'tdx';
    default:
      return p;
  }
}

/** The cloud provider a tag names, or undefined for a bare hardware tag. */
export function providerOf(p: Platform): 'azure' | 'gcp' | undefined {
  return p.startsWith('az-') ? 'azure' : p.startsWith('gcp-') ? 'gcp' : undefined;
}
