/**
 * @module commitment/telemetry
 * Shared by the telemetry commitments (memory, cpu, disk, gateway), identical to
 * prover/internal/commitment/telemetry.go: measured integers ("items") packed
 * floor(253 / bits) per field element, least significant first, each item below
 * 2^bits (so packing is injective); two-dimensional data committed row by row
 * (each row hashed with the sponge, the row digests hashed after a header), so
 * the commitment does not depend on the circuit's size class.
 */
import { VeriteeError } from '../errors.js';
import { poseidon2Sponge } from './poseidon2.js';

/** How many items of the given width share one field element. */
export function perElement(bits: number): number {
  return Math.floor(253 / bits);
}

/** Checks that every item is an integer in [0, 2^bits); `what(i)` names item i in errors. */
export function checkItems(items: readonly number[], bits: number, what: (i: number) => string): void {
  const limit = 2 ** bits;
  for (let i = 0; i < items.length; i++) {
    const v = items[i]!;
    if (!Number.isSafeInteger(v) || v < 0) throw new VeriteeError('RECORD_FIELD_INVALID', `${what(i)}: ${v} is not a non-negative integer`);
    if (v >= limit) throw new VeriteeError('RECORD_VALUE_TOO_LARGE', `${what(i)}: ${v} does not fit ${bits} bits`);
  }
}

/** Packs items (already checked) perElement(bits) per field element. */
export function packItems(items: readonly number[], bits: number): bigint[] {
  const per = perElement(bits);
  const b = BigInt(bits);
  const out: bigint[] = [];
  for (let j = 0; j * per < items.length; j++) {
    let acc = 0n;
    for (let k = Math.min(per, items.length - j * per) - 1; k >= 0; k--) acc = (acc << b) | BigInt(items[j * per + k]!);
    out.push(acc);
  }
  return out;
}

/** The sponge digest of packed items. */
export function hashItems(items: readonly number[], bits: number): bigint {
  return poseidon2Sponge(packItems(items, bits));
}

/** Checks that a matrix is rectangular with `cols` columns. */
export function checkRows(rows: readonly (readonly number[])[], cols: number, what: string): void {
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== cols) throw new VeriteeError('INPUT_INVALID', `${what} ${i + 1} has ${Array.isArray(r) ? r.length : 'no'} entries, expected ${cols}`);
  });
}
