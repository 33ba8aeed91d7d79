/**
 * @module nvidia/claims
 * Normalised claims for an NVIDIA Hopper GPU report.
 *
 * - `measurement`: lowercase hex SHA-384 over the measurement VALUES (DMTF
 *   DMTFSpecMeasurementValue bytes only, no block headers) concatenated in ascending
 *   block index order. For the 64-block Hopper report that is 64 * 48 bytes hashed.
 * - `measurements`: `gpu.<index>` -> hex value of each block.
 * - `reportData`: the requester's 32-byte SPDM nonce (the one a verifier chose).
 * - `version`: the SPDM version byte (0x11 = 17 for SPDM 1.1).
 * - `chipId`: the device id from the leaf's `NVIDIA:<chip>:<id>` subjectAltName, else the
 *   leaf subject serialNumber.
 * - `debug`: always false: no field of the Hopper SPDM report signals a debug mode.
 * - `platformData`: `arch`, `config` (NVIDIA opaque fields decoded as NVIDIA/Trustee do:
 *   driver_version, vbios_version, fwid, measurement_count...), the SPDM request and
 *   response parameters, each block's value type, the leaf identity, `trailingBytes` (the
 *   count of unsigned bytes after the signature, ignored), and `uuid` when the envelope
 *   carried one (not signed).
 */
import { concatBytes, sha384, toHex } from '@veritee/core';
import type { Claims } from '../types.js';
import { spdmVersionString } from './spdm-request.js';
import { nvidiaOpaqueConfig, type SpdmEvidence } from './spdm-response.js';
import { leafIdentity, type ParsedCert } from './cert-chain.js';

export function nvidiaMeasurementDigest(e: SpdmEvidence): string {
  const blocks = [...e.response.blocks].sort((a, b) => a.index - b.index);
  return toHex(sha384(concatBytes(...blocks.map((b) => b.value))));
}

export function buildNvidiaClaims(
  e: SpdmEvidence,
  opts: { certs: ParsedCert[]; simulated: boolean; uuid?: string },
): Claims {
  const blocks = [...e.response.blocks].sort((a, b) => a.index - b.index);
  const measurements: Record<string, string> = {};
  for (const b of blocks) measurements[`gpu.${b.index}`] = toHex(b.value);
  const leaf = opts.certs[0];
  const identity = leaf ? leafIdentity(leaf) : {};
  const platformData: Record<string, unknown> = {
    arch: 'Hopper',
    spdmVersion: spdmVersionString(e.request.version),
    config: nvidiaOpaqueConfig(e.response.opaqueFields),
    request: { param1: e.request.param1, param2: e.request.param2, slotId: e.request.slotId },
    response: {
      param1: e.response.param1,
      param2: e.response.param2,
      numberOfBlocks: e.response.numberOfBlocks,
      responderNonce: toHex(e.response.nonce),
    },
    measurementValueTypes: Object.fromEntries(blocks.map((b) => [String(b.index), b.valueType])),
    device: identity,
    /** Unsigned bytes after the signature, ignored (see the result's notes). */
    trailingBytes: e.trailing.length,
  };
  if (opts.uuid !== undefined) {
    platformData.uuid = opts.uuid;
    platformData.uuidSigned = false;
  }
  const claims: Claims = {
    platform: 'nvidia',
    simulated: opts.simulated,
    measurement: nvidiaMeasurementDigest(e),
    measurements,
    reportData: toHex(e.request.nonce),
    tcb: { components: [] },
    debug: false,
    signer: 'nvidia-device',
    product: 'hopper',
    certChain: opts.certs.map((c) => c.subject),
    version: e.request.version,
    platformData,
  };
  const chipId =
    identity.deviceId ??
    (identity.serialNumber !== undefined && /^([0-9a-fA-F]{2})+$/.test(identity.serialNumber) ? identity.serialNumber.toLowerCase() : undefined);
  if (chipId !== undefined) claims.chipId = chipId;
  return claims;
}
