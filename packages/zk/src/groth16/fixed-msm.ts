/**
 * @module groth16/fixed-msm
 * Σ sᵢ·Pᵢ for fixed G1 points Pᵢ (a verifying key's ic points) with a fixed-base comb:
 * for each point and each 4-bit window j, the table d·2^(4j)·P (d = 1..15) is built on
 * first use and kept, so a product costs one addition per non-zero window and no
 * doubling. Public inputs are mostly small (timestamps, counts, flags): they touch a few
 * windows. The commitment-derived input is a full 254-bit field element: 64 additions
 * instead of the 254 doublings an interleaved (Straus) MSM spends.
 *
 * Browser-safe: no `node:` imports.
 */
import { bn254 } from '@noble/curves/bn254.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';

type G1Point = WeierstrassPoint<bigint>;
const { G1 } = bn254;

const W = 4;
const MASK = (1n << BigInt(W)) - 1n;
const DIGITS = (1 << W) - 1;
/** Windows that cover any scalar below 2^256. */
const MAX_WINDOWS = Math.ceil(256 / W);

/** A fixed-base MSM over `points`; scalars must be non-negative and below 2^256. */
export function fixedBaseMsm(points: readonly G1Point[]): (scalars: readonly bigint[]) => G1Point {
  const bases = points.slice();
  // tables[i][j] = [P·2^(Wj), 2·P·2^(Wj), …, 15·P·2^(Wj)], built lazily
  const tables: (G1Point[] | undefined)[][] = bases.map(() => []);
  // the window bases 2^(Wj)·P, built lazily in order
  const windowBase: G1Point[][] = bases.map((p) => [p]);
  const table = (i: number, j: number): G1Point[] => {
    let t = tables[i]![j];
    if (t) return t;
    const wb = windowBase[i]!;
    while (wb.length <= j) {
      let q = wb[wb.length - 1]!;
      for (let k = 0; k < W; k++) q = q.double();
      wb.push(q);
    }
    const b = wb[j]!;
    t = [b];
    for (let d = 2; d <= DIGITS; d++) t.push(t[d - 2]!.add(b));
    tables[i]![j] = t;
    return t;
  };
  return (scalars: readonly bigint[]): G1Point => {
    if (scalars.length !== bases.length) throw new RangeError(`expected ${bases.length} scalars, got ${scalars.length}`);
    let acc = G1.Point.ZERO;
    for (let i = 0; i < bases.length; i++) {
      let s = scalars[i]!;
      if (s < 0n || s >> 256n !== 0n) throw new RangeError('scalar out of range');
      for (let j = 0; s !== 0n && j < MAX_WINDOWS; j++, s >>= BigInt(W)) {
        const d = Number(s & MASK);
        if (d !== 0) acc = acc.add(table(i, j)[d - 1]!);
      }
    }
    return acc;
  };
}
