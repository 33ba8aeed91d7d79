/**
 * @module nvidia/device
 * Which NVIDIA device produced the evidence. veritee verifies Hopper GPU (GH100) reports
 * only; an NVSwitch (its own SPDM responder, chained to the same NVIDIA root) or another
 * chip must be refused by name, not by whichever check happens to trip first.
 *
 * Signals, both authenticated once the chain and the signature verify:
 *  - the leaf certificate's `NVIDIA:<chip>:<id>` subjectAltName (GPU: `GH100`;
 *    NVSwitch: the `LS<n>` family, e.g. `LS10`), and its subject CN;
 *  - opaque data types only an NVSwitch sends: 22 switch_pdi, 23 floorswept_ports,
 *    24 position_id, 25 lock_switch_status (NVIDIA's opaque type table).
 *
 * INVARIANT: a device is a supported GPU only if the leaf names chip GH100 and the report
 * carries no NVSwitch-only field; anything else is a failed `nvidia.device` check.
 */
import type { ErrorCode } from '@veritee/core';
import type { ParsedCert } from './cert-chain.js';
import { NVIDIA_OPAQUE_TYPES, type NvidiaOpaqueField } from './spdm-response.js';

/** Opaque data types only an NVSwitch reports. */
export const NVSWITCH_OPAQUE_TYPES: readonly number[] = [22, 23, 24, 25];
/** GPU chips this verifier knows (claims say `product: hopper`). */
export const SUPPORTED_GPU_CHIPS: readonly string[] = ['GH100'];

export type NvidiaDeviceClass =
  | { kind: 'gpu'; chip: string; detail: string }
  | { kind: 'nvswitch'; detail: string }
  | { kind: 'unsupported' | 'unknown'; detail: string };

/** The chip of an `NVIDIA:<chip>:<id>` device name, upper case. */
export function chipOf(deviceName: string | undefined): string | undefined {
  const m = deviceName === undefined ? null : /^NVIDIA:([A-Za-z0-9_-]{1,32}):/.exec(deviceName);
  return m ? m[1]!.toUpperCase() : undefined;
}

/** Classifies the device from the leaf certificate and the report's opaque fields (either may be missing). */
export function nvidiaDeviceClass(leaf: ParsedCert | undefined, opaque: NvidiaOpaqueField[] | undefined): NvidiaDeviceClass {
  const chip = chipOf(leaf?.nvidiaDeviceName);
  const switchSigns: string[] = [];
  const switchFields = (opaque ?? []).filter((f) => NVSWITCH_OPAQUE_TYPES.includes(f.type));
  if (switchFields.length > 0) {
    switchSigns.push(`the report carries NVSwitch-only opaque field(s) ${switchFields.map((f) => `${f.type} ${NVIDIA_OPAQUE_TYPES[f.type]}`).join(', ')}`);
  }
  if (chip !== undefined && /^LS\d/.test(chip)) switchSigns.push(`the leaf certificate names NVSwitch chip ${chip} (${leaf!.nvidiaDeviceName})`);
  else if (leaf !== undefined && /CN=[^,]*(NVSwitch|\bLS\d+\b)/i.test(leaf.subject)) switchSigns.push(`the leaf certificate subject is "${leaf.subject.slice(0, 120)}"`);
  if (switchSigns.length > 0) {
    return { kind: 'nvswitch', detail: `NVSwitch evidence is not supported: ${switchSigns.join('; ')}. veritee verifies NVIDIA Hopper GPU (GH100) reports only` };
  }
  if (chip !== undefined) {
    if (SUPPORTED_GPU_CHIPS.includes(chip)) {
      return { kind: 'gpu', chip, detail: `NVIDIA GPU, chip ${chip} (Hopper), named by the leaf certificate (${leaf!.nvidiaDeviceName}); no NVSwitch-only opaque field` };
    }
    return { kind: 'unsupported', detail: `NVIDIA device chip ${chip} (${leaf!.nvidiaDeviceName}) is not supported: veritee verifies Hopper GPU (GH100) reports only` };
  }
  if (leaf === undefined) return { kind: 'unknown', detail: 'no leaf certificate: the device class cannot be established' };
  return { kind: 'unknown', detail: `${leaf.label} names no NVIDIA device (no NVIDIA:<chip>:<id> subjectAltName): the device class cannot be established` };
}

/** The code a failed `nvidia.device` check carries. */
export function deviceClassCode(c: NvidiaDeviceClass): ErrorCode | undefined {
  if (c.kind === 'gpu') return undefined;
  return c.kind === 'unknown' ? 'ATTEST_EVIDENCE_INVALID' : 'ATTEST_PLATFORM_UNSUPPORTED';
}
