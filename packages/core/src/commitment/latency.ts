/**
 * @module commitment/latency
 * The commitment to latency records, identical to prover/internal/commitment:
 *
 *   inputs   = [tag, n, salt, periodStartUs, periodEndUs, packed_0 .. packed_{m-1}]
 *   packed_j = sum_{k<3} (start_{3j+k} + 2^42 * end_{3j+k}) * 2^(84k)
 *
 * with start/end offsets in microseconds from the period start (each < 2^42) and
 * tag = the ASCII bytes of "veritee.latency.v1" as a big-endian integer.
 */
import { VeriteeError } from '../errors.js';
import { utf8 } from '../bytes.js';
import { frFromBytes } from './field.js';
import { poseidon2Sponge } from './poseidon2.js';

export const LATENCY_DOMAIN = 'veritee.latency.v1';
/** Offsets are below 2^OFFSET_BITS microseconds (about 50.9 days). */
export const OFFSET_BITS = 42;
export const OFFSET_LIMIT = 2 ** OFFSET_BITS;
export const RECORDS_PER_ELEMENT = 3;

/** A request as offsets from the period start, in microseconds. */
export interface LatencyRecordOffsets {
  start: number;
  end: number;
}

export interface LatencyCommitmentInput {
  salt: bigint;
  periodStartUs: number;
  periodEndUs: number;
  /** Flat [start0, end0, start1, end1, ...] offsets, or record objects. */
  records: readonly number[] | readonly LatencyRecordOffsets[];
}

export function domainTag(domain: string): bigint {
  return frFromBytes(utf8(domain));
}

function flat(records: LatencyCommitmentInput['records']): readonly number[] {
  if (records.length === 0 || typeof records[0] === 'number') return records as readonly number[];
  const out: number[] = [];
  for (const r of records as readonly LatencyRecordOffsets[]) out.push(r.start, r.end);
  return out;
}

/** Packs records three per field element. */
export function packLatencyRecords(records: LatencyCommitmentInput['records']): bigint[] {
  const f = flat(records);
  if (f.length % 2 !== 0) throw new VeriteeError('INPUT_INVALID', 'records must be start/end pairs');
  const n = f.length / 2;
  const out: bigint[] = [];
  for (let j = 0; j * RECORDS_PER_ELEMENT < n; j++) {
    let acc = 0n;
    for (let k = RECORDS_PER_ELEMENT - 1; k >= 0; k--) {
      acc <<= BigInt(2 * OFFSET_BITS);
      const i = j * RECORDS_PER_ELEMENT + k;
      if (i >= n) continue;
      const s = f[2 * i]!, e = f[2 * i + 1]!;
      if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s < 0 || e < 0 || s >= OFFSET_LIMIT || e >= OFFSET_LIMIT) {
        throw new VeriteeError('RECORD_VALUE_TOO_LARGE', `record ${i}: offsets must be integers in [0, 2^${OFFSET_BITS}) microseconds`);
      }
      acc |= (BigInt(e) << BigInt(OFFSET_BITS)) | BigInt(s);
    }
    out.push(acc);
  }
  return out;
}

/** Computes the latency commitment (a BN254 scalar). */
export function latencyCommitment(input: LatencyCommitmentInput): bigint {
  const packed = packLatencyRecords(input.records);
  const n = flat(input.records).length / 2;
  return poseidon2Sponge([domainTag(LATENCY_DOMAIN), BigInt(n), input.salt, BigInt(input.periodStartUs), BigInt(input.periodEndUs), ...packed]);
}
