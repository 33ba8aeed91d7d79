/**
 * @module commitment/field
 * Arithmetic in the BN254 scalar field Fr (the field gnark's circuits work in).
 */
import { VeriteeError } from '../errors.js';

/** The BN254 scalar field modulus r. */
export const FR_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export const frAdd = (a: bigint, b: bigint): bigint => {
  const s = a + b;
  return s >= FR_MODULUS ? s - FR_MODULUS : s;
};
export const frMul = (a: bigint, b: bigint): bigint => (a * b) % FR_MODULUS;

/** Parses a decimal field element string, rejecting values >= r. */
export function frFromDecimal(s: string, what = 'field element'): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) throw new VeriteeError('INPUT_INVALID', `${what} must be a decimal integer string`);
  const v = BigInt(s);
  if (v >= FR_MODULUS) throw new VeriteeError('INPUT_INVALID', `${what} is not below the BN254 scalar field modulus`);
  return v;
}

/** Reads big-endian bytes as an integer and reduces it modulo r. */
export function frFromBytes(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v % FR_MODULUS;
}
