/**
 * @module nvidia/spdm-response
 * The SPDM 1.1 MEASUREMENTS response (DMTF DSP0274 1.1, section 10.11.1) returned by an
 * NVIDIA Hopper GPU, NVIDIA's opaque-data fields, and {@link parseSpdmEvidence}, which
 * splits `request || response` and returns the exact bytes the device signed.
 *
 * Response layout (little-endian where multi-byte; offsets relative to the response):
 *
 *   offset      size  field
 *   0           1     SPDMVersion                0x11, same as the request
 *   1           1     RequestResponseCode        0x60 = MEASUREMENTS
 *   2           1     Param1                     total number of indices when request Param2 = 0
 *   3           1     Param2                     slot id (bits 3:0) / reserved
 *   4           1     NumberOfBlocks             N
 *   5           3     MeasurementRecordLength    L1 (u24)
 *   8           L1    MeasurementRecord          N blocks, each:
 *                       +0 Index (1) +1 MeasurementSpecification (1, bit 0 = DMTF)
 *                       +2 MeasurementSize (2) +4 DMTF measurement:
 *                          +0 DMTFSpecMeasurementValueType (1, bit 7 = raw bit stream)
 *                          +1 DMTFSpecMeasurementValueSize (2) +3 value
 *   8+L1        32    Nonce                      responder nonce
 *   40+L1       2     OpaqueLength               L2
 *   42+L1       L2    OpaqueData                 NVIDIA: TLVs { type u16, size u16, data }
 *   42+L1+L2    96    Signature                  ECDSA P-384 raw r || s (48 + 48, big-endian)
 *   138+L1+L2   T     (not SPDM) unsigned trailing bytes, 0 <= T <= MAX_SPDM_TRAILING_BYTES
 *
 * Trailing bytes: real reports have been seen with one 0x00 after the signature (a
 * confidential-containers CI run of an H100). The response's length follows from its
 * own signed fields (L1, L2), so bytes after the signature can neither move a field nor
 * be read as one: they are returned apart (`trailing`), never part of `signedBytes`,
 * and the verifier reports them as a note. More than MAX_SPDM_TRAILING_BYTES is refused
 * (ATTEST_TRAILING_BYTES): that is not padding but a second message or garbage.
 *
 * What is signed (SPDM 1.1, one signed GET_MEASUREMENTS exchange): ECDSA-P384 over
 * SHA-384(L1 transcript), where the transcript is request || response without its last
 * 96 bytes. Confirmed against the real Hopper fixture (the response alone, or the whole
 * blob, do not verify). SPDM 1.2+ would prefix a signing context, so other versions are
 * refused rather than mis-verified.
 *
 * INVARIANT: parsers read only inside their input and throw VeriteeError naming the field.
 */
import { VeriteeError, toHex } from '@veritee/core';
import {
  parseSpdmRequest,
  SPDM_NONCE_SIZE,
  spdmVersionString,
  type SpdmGetMeasurementsRequest,
} from './spdm-request.js';

export const SPDM_MEASUREMENTS = 0x60;
/** ECDSA P-384 signature, raw r || s. */
export const SPDM_P384_SIGNATURE_SIZE = 96;
/** DMTF measurement specification bit in MeasurementSpecification. */
export const SPDM_MEASUREMENT_SPEC_DMTF = 0x01;
/** Largest `request || response` accepted (a Hopper report is about 4 KiB). */
export const MAX_SPDM_EVIDENCE_BYTES = 256 * 1024;
/** Most unsigned bytes tolerated after the signature (seen in the wild: 1). */
export const MAX_SPDM_TRAILING_BYTES = 256;

/** Offsets of the fixed response header (relative to the response start). */
export const SPDM_RESPONSE_LAYOUT = {
  version: 0,
  code: 1,
  param1: 2,
  param2: 3,
  numberOfBlocks: 4,
  recordLength: 5,
  record: 8,
} as const;

export interface SpdmMeasurementBlock {
  index: number;
  /** MeasurementSpecification byte (0x01 = DMTF). */
  specification: number;
  /** MeasurementSize: bytes of the DMTF measurement (3 + value size). */
  size: number;
  /** DMTFSpecMeasurementValueType byte as sent. */
  valueType: number;
  /** Bit 7 of the value type: a raw bit stream rather than a digest. */
  raw: boolean;
  value: Uint8Array;
}

export interface NvidiaOpaqueField {
  type: number;
  /** NVIDIA's name for the type (`driver_version`, `fwid`...), `type_<n>` when unknown. */
  name: string;
  data: Uint8Array;
}

export interface SpdmMeasurementsResponse {
  version: number;
  code: number;
  param1: number;
  param2: number;
  numberOfBlocks: number;
  recordLength: number;
  blocks: SpdmMeasurementBlock[];
  /** Responder nonce (not the requester's nonce). */
  nonce: Uint8Array;
  opaqueLength: number;
  opaqueData: Uint8Array;
  opaqueFields: NvidiaOpaqueField[];
  signature: Uint8Array;
  /** Bytes of the response before the signature. */
  unsignedLength: number;
  /** Bytes the whole response occupies, up to the end of its signature (trailing bytes excluded). */
  length: number;
  /** Unsigned bytes after the signature (at most MAX_SPDM_TRAILING_BYTES); covered by nothing, used for nothing. */
  trailing: Uint8Array;
}

export interface SpdmEvidence {
  request: SpdmGetMeasurementsRequest;
  response: SpdmMeasurementsResponse;
  /** request || response without the signature: what SHA-384 + ECDSA P-384 covers. */
  signedBytes: Uint8Array;
  /** 96-byte raw r || s. */
  signature: Uint8Array;
  /** Unsigned bytes after the response's signature (usually none); never part of `signedBytes`. */
  trailing: Uint8Array;
}

/** NVIDIA opaque data types (as named by NVIDIA's verifiers). */
export const NVIDIA_OPAQUE_TYPES: Readonly<Record<number, string>> = {
  1: 'cert_issuer_name',
  2: 'cert_authority_key_identifier',
  3: 'driver_version',
  4: 'gpu_info',
  5: 'id_sku',
  6: 'vbios_version',
  7: 'manufacturer_id',
  8: 'tamper_detection',
  9: 'smc',
  10: 'vpr',
  11: 'nvdec0_status',
  12: 'measurement_count',
  13: 'cpr_info',
  14: 'board_id',
  15: 'chip_sku',
  16: 'chip_sku_mod',
  17: 'project',
  18: 'project_sku',
  19: 'project_sku_mod',
  20: 'fwid',
  21: 'protected_pcie_status',
  22: 'switch_pdi',
  23: 'floorswept_ports',
  24: 'position_id',
  25: 'lock_switch_status',
  32: 'gpu_link_conn',
  33: 'sys_enable_status',
  34: 'opaque_data_version',
  35: 'chip_info',
  36: 'feature_flag',
};

/** Opaque type numbers used by the verifier and the simulator. */
export const OPAQUE = {
  driverVersion: 3,
  gpuInfo: 4,
  vbiosVersion: 6,
  nvdec0Status: 11,
  measurementCount: 12,
  cprInfo: 13,
  boardId: 14,
  chipSku: 15,
  chipSkuMod: 16,
  project: 17,
  projectSku: 18,
  projectSkuMod: 19,
  fwid: 20,
  protectedPcieStatus: 21,
} as const;

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u24 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);

/**
 * Bounds-checked cursor over `b[off..end)`. Offsets in messages are relative to the
 * response start (`base`). Running past `end` throws `code`: TRUNCATED for the response
 * itself, EVIDENCE_INVALID inside the measurement record (whose length was declared).
 */
class Cursor {
  constructor(
    private readonly b: Uint8Array,
    public off: number,
    private readonly end: number,
    private readonly base: number,
    private readonly code: 'ATTEST_REPORT_TRUNCATED' | 'ATTEST_EVIDENCE_INVALID',
    private readonly where: string,
  ) {}
  need(n: number, field: string): void {
    if (this.off + n > this.end) {
      throw new VeriteeError(
        this.code,
        `SPDM MEASUREMENTS response: ${field} at response offset ${this.off - this.base} needs ${n} byte(s), only ${Math.max(0, this.end - this.off)} left in the ${this.where}`,
        { field, offset: this.off - this.base, need: n, have: Math.max(0, this.end - this.off) },
      );
    }
  }
  u8(field: string): number {
    this.need(1, field);
    return this.b[this.off++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = u16(this.b, this.off);
    this.off += 2;
    return v;
  }
  u24(field: string): number {
    this.need(3, field);
    const v = u24(this.b, this.off);
    this.off += 3;
    return v;
  }
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.b.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }
}

function invalid(message: string, details?: Record<string, unknown>): VeriteeError {
  return new VeriteeError('ATTEST_EVIDENCE_INVALID', `SPDM MEASUREMENTS response: ${message}`, details);
}

function parseRecord(bytes: Uint8Array, start: number, length: number, count: number, base: number): SpdmMeasurementBlock[] {
  const c = new Cursor(bytes, start, start + length, base, 'ATTEST_EVIDENCE_INVALID', 'MeasurementRecord (MeasurementRecordLength ' + length + ')');
  const blocks: SpdmMeasurementBlock[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const at = `measurement block ${i + 1}/${count}`;
    const index = c.u8(`${at} Index`);
    const specification = c.u8(`${at} MeasurementSpecification`);
    const size = c.u16(`${at} MeasurementSize`);
    if (specification !== SPDM_MEASUREMENT_SPEC_DMTF) {
      throw invalid(`${at} (index ${index}) has MeasurementSpecification 0x${specification.toString(16)}, only DMTF (0x01) is supported`);
    }
    if (seen.has(index)) throw invalid(`${at}: index ${index} appears twice`);
    seen.add(index);
    c.need(size, `${at} Measurement`);
    if (size < 3) throw invalid(`${at} (index ${index}): MeasurementSize ${size} is shorter than the 3-byte DMTF header`);
    const valueType = c.u8(`${at} DMTFSpecMeasurementValueType`);
    const valueSize = c.u16(`${at} DMTFSpecMeasurementValueSize`);
    if (valueSize + 3 !== size) {
      throw invalid(`${at} (index ${index}): DMTF value size ${valueSize} + 3 does not equal MeasurementSize ${size}`);
    }
    const value = c.bytes(valueSize, `${at} DMTFSpecMeasurementValue`);
    blocks.push({ index, specification, size, valueType, raw: (valueType & 0x80) !== 0, value });
  }
  if (c.off !== start + length) {
    throw invalid(`MeasurementRecordLength is ${length} but the ${count} block(s) use ${c.off - start} bytes`);
  }
  return blocks;
}

/** Parses NVIDIA's opaque data: a sequence of { type u16, size u16, data } items, no duplicates. */
export function parseNvidiaOpaqueData(bytes: Uint8Array): NvidiaOpaqueField[] {
  const fields: NvidiaOpaqueField[] = [];
  const seen = new Set<number>();
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < 4) {
      throw invalid(`opaque data item at offset ${off} needs a 4-byte header, only ${bytes.length - off} byte(s) left`);
    }
    const type = u16(bytes, off);
    const size = u16(bytes, off + 2);
    if (off + 4 + size > bytes.length) {
      throw invalid(`opaque data item type ${type} at offset ${off} declares ${size} bytes, only ${bytes.length - off - 4} left`);
    }
    if (seen.has(type)) throw invalid(`opaque data type ${type} appears twice`);
    seen.add(type);
    fields.push({ type, name: NVIDIA_OPAQUE_TYPES[type] ?? `type_${type}`, data: bytes.slice(off + 4, off + 4 + size) });
    off += 4 + size;
  }
  return fields;
}

/**
 * Parses a MEASUREMENTS response starting at `offset` of `bytes`. The response ends after
 * its 96-byte signature; up to MAX_SPDM_TRAILING_BYTES unsigned bytes may follow and are
 * returned apart in `trailing`. More are refused with ATTEST_TRAILING_BYTES.
 */
export function parseSpdmResponse(bytes: Uint8Array, offset = 0, expectedVersion?: number): SpdmMeasurementsResponse {
  const c = new Cursor(bytes, offset, bytes.length, offset, 'ATTEST_REPORT_TRUNCATED', 'evidence');
  const version = c.u8('SPDMVersion');
  if (expectedVersion !== undefined && version !== expectedVersion) {
    throw new VeriteeError(
      'ATTEST_REPORT_VERSION',
      `SPDM MEASUREMENTS response: version 0x${version.toString(16)} differs from the request's 0x${expectedVersion.toString(16)}`,
      { version },
    );
  }
  const code = c.u8('RequestResponseCode');
  if (code !== SPDM_MEASUREMENTS) {
    throw invalid(`response code is 0x${code.toString(16).padStart(2, '0')}, expected 0x60 (MEASUREMENTS)`, { code });
  }
  const param1 = c.u8('Param1');
  const param2 = c.u8('Param2');
  const numberOfBlocks = c.u8('NumberOfBlocks');
  const recordLength = c.u24('MeasurementRecordLength');
  const recordStart = c.off;
  c.need(recordLength, 'MeasurementRecord');
  c.off += recordLength;
  const blocks = parseRecord(bytes, recordStart, recordLength, numberOfBlocks, offset);
  const nonce = c.bytes(SPDM_NONCE_SIZE, 'Nonce');
  const opaqueLength = c.u16('OpaqueLength');
  const opaqueData = c.bytes(opaqueLength, 'OpaqueData');
  const unsignedLength = c.off - offset;
  const signature = c.bytes(SPDM_P384_SIGNATURE_SIZE, 'Signature (ECDSA P-384 r||s)');
  const trailingCount = bytes.length - c.off;
  if (trailingCount > MAX_SPDM_TRAILING_BYTES) {
    throw new VeriteeError(
      'ATTEST_TRAILING_BYTES',
      `SPDM MEASUREMENTS response: ${trailingCount} unsigned byte(s) follow the 96-byte signature; at most ${MAX_SPDM_TRAILING_BYTES} are tolerated`,
      { trailing: trailingCount, limit: MAX_SPDM_TRAILING_BYTES },
    );
  }
  const trailing = bytes.slice(c.off);
  const opaqueFields = parseNvidiaOpaqueData(opaqueData);
  return {
    version,
    code,
    param1,
    param2,
    numberOfBlocks,
    recordLength,
    blocks,
    nonce,
    opaqueLength,
    opaqueData,
    opaqueFields,
    signature,
    unsignedLength,
    length: c.off - offset,
    trailing,
  };
}

/**
 * Splits `request || response`: parses the request first (its length follows from its
 * own fields), then the response, and returns the signed bytes. Throws VeriteeError:
 * INPUT_TOO_LARGE, ATTEST_REPORT_TRUNCATED, ATTEST_REPORT_VERSION, ATTEST_EVIDENCE_INVALID.
 */
export function parseSpdmEvidence(spdm: Uint8Array): SpdmEvidence {
  if (!(spdm instanceof Uint8Array)) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', 'SPDM evidence must be bytes');
  if (spdm.length > MAX_SPDM_EVIDENCE_BYTES) {
    throw new VeriteeError(
      'INPUT_TOO_LARGE',
      `SPDM evidence is ${spdm.length} bytes, larger than the ${MAX_SPDM_EVIDENCE_BYTES}-byte limit`,
      { length: spdm.length, limit: MAX_SPDM_EVIDENCE_BYTES },
    );
  }
  const request = parseSpdmRequest(spdm);
  const response = parseSpdmResponse(spdm, request.length, request.version);
  if (request.param2 === 0 && response.numberOfBlocks !== 0) {
    throw invalid(`request asked for the count only (Param2 0) but ${response.numberOfBlocks} block(s) came back`);
  }
  if (request.param2 >= 1 && request.param2 <= 0xfe) {
    const b = response.blocks;
    if (b.length !== 1 || b[0]!.index !== request.param2) {
      throw invalid(`request asked for measurement index ${request.param2} but the response holds ${b.length} block(s)`);
    }
  }
  const signedEnd = request.length + response.unsignedLength;
  return {
    request,
    response,
    signedBytes: spdm.slice(0, signedEnd),
    signature: response.signature,
    trailing: response.trailing,
  };
}

// ---- NVIDIA opaque fields as claims ------------------------------------------------

const STRING_TYPES = new Set<number>([
  OPAQUE.driverVersion,
  OPAQUE.nvdec0Status,
  OPAQUE.chipSku,
  OPAQUE.chipSkuMod,
  OPAQUE.project,
  OPAQUE.projectSku,
  OPAQUE.protectedPcieStatus,
  35,
]);

function asText(b: Uint8Array): string {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, end));
}

/** `00 9f 00 96 01 00 00 00` -> `96.00.9f.00.01`: first half reversed, then the next byte. */
export function formatVbiosVersion(b: Uint8Array): string | undefined {
  const half = b.length >> 1;
  if (half === 0 || b.length < half + 1) return undefined;
  const parts: string[] = [];
  for (let i = half - 1; i >= 0; i--) parts.push(b[i]!.toString(16).padStart(2, '0'));
  parts.push(b[half]!.toString(16).padStart(2, '0'));
  return parts.join('.');
}

/**
 * NVIDIA opaque fields decoded the way NVIDIA's and Trustee's verifiers present them
 * (`config` in their claims): text fields as NUL-trimmed strings, the VBIOS version
 * dotted, measurement counts as `{ "<index>": n }`, everything else hex.
 */
export function nvidiaOpaqueConfig(fields: NvidiaOpaqueField[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.type === OPAQUE.vbiosVersion) {
      out[f.name] = formatVbiosVersion(f.data) ?? toHex(f.data);
    } else if (f.type === OPAQUE.measurementCount && f.data.length % 4 === 0) {
      const counts: Record<string, number> = {};
      for (let i = 0; i < f.data.length / 4; i++) {
        const o = 4 * i;
        counts[String(i + 1)] = (f.data[o]! | (f.data[o + 1]! << 8) | (f.data[o + 2]! << 16) | (f.data[o + 3]! << 24)) >>> 0;
      }
      out[f.name] = counts;
    } else if (STRING_TYPES.has(f.type)) {
      out[f.name] = asText(f.data);
    } else {
      out[f.name] = toHex(f.data);
    }
  }
  return out;
}

/** One-line summary of the parsed evidence, for check details. */
export function describeSpdm(e: SpdmEvidence): string {
  const t = e.trailing.length;
  return (
    `SPDM ${spdmVersionString(e.request.version)} GET_MEASUREMENTS(param2=0x${e.request.param2.toString(16)}) -> ${e.response.numberOfBlocks} block(s), ${e.response.opaqueFields.length} opaque field(s), ${e.signedBytes.length} signed bytes` +
    (t > 0 ? `; ${t} unsigned trailing byte(s) after the signature ignored` : '')
  );
}

// ---- encoding (simulated GPU) -------------------------------------------------------

export interface EncodeResponseInput {
  version: number;
  param1?: number;
  param2?: number;
  blocks: { index: number; valueType?: number; value: Uint8Array }[];
  nonce: Uint8Array;
  opaqueFields: { type: number; data: Uint8Array }[];
}

/** Serialises a MEASUREMENTS response without its signature (the caller appends 96 bytes). */
export function encodeSpdmResponseUnsigned(r: EncodeResponseInput): Uint8Array {
  if (r.nonce.length !== SPDM_NONCE_SIZE) throw new VeriteeError('INPUT_INVALID', `responder nonce must be ${SPDM_NONCE_SIZE} bytes`);
  if (r.blocks.length > 255) throw new VeriteeError('INPUT_INVALID', 'at most 255 measurement blocks');
  const recordParts: number[] = [];
  for (const b of r.blocks) {
    if (b.value.length > 0xffff - 3) throw new VeriteeError('INPUT_INVALID', `measurement ${b.index} is too long`);
    const size = 3 + b.value.length;
    recordParts.push(b.index & 0xff, SPDM_MEASUREMENT_SPEC_DMTF, size & 0xff, size >> 8);
    recordParts.push((b.valueType ?? 0x01) & 0xff, b.value.length & 0xff, b.value.length >> 8, ...b.value);
  }
  const opaque: number[] = [];
  for (const f of r.opaqueFields) opaque.push(f.type & 0xff, f.type >> 8, f.data.length & 0xff, f.data.length >> 8, ...f.data);
  if (opaque.length > 0xffff) throw new VeriteeError('INPUT_INVALID', 'opaque data is too long');
  const L1 = recordParts.length;
  return new Uint8Array([
    r.version,
    SPDM_MEASUREMENTS,
    r.param1 ?? 0,
    r.param2 ?? 0,
    r.blocks.length,
    L1 & 0xff,
    (L1 >> 8) & 0xff,
    (L1 >> 16) & 0xff,
    ...recordParts,
    ...r.nonce,
    opaque.length & 0xff,
    opaque.length >> 8,
    ...opaque,
  ]);
}
