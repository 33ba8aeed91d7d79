/**
 * @module groth16/pairing
 * A product of BN254 optimal-ate pairings computed as one multi-Miller loop and a
 * single final exponentiation, with its own GT (Fp12) arithmetic on bigint.
 *
 * Why not `bn254.pairingBatch` / `millerLoopBatch` of @noble/curves: noble reduces
 * modulo p after every field addition and multiplication and allocates a frozen object
 * per Fp2/Fp6/Fp12 value; bigint `%` on a 510-bit product costs several multiplications.
 * Here Fp12 values are flat arrays of 12 bigints (the same tower as noble:
 * Fp2 = Fp[u]/(u²+1), Fp6 = Fp2[v]/(v³-(9+u)), Fp12 = Fp6[w]/(w²-v)), and products are
 * accumulated unreduced (Karatsuba at every level) and reduced once per output
 * coefficient: an Fp12 multiplication is 54 bigint multiplications and 12 reductions.
 *
 * What is reused from noble: the curve points and their validation, the G2 line
 * coefficients (`bn254.utils.calcPairingPrecomputes`), Fp2 exponentiation for the
 * Frobenius constants and the one Fp12 inversion of the final exponentiation. The
 * result equals noble's `bn254.pairing` / `pairingBatch` exactly (same tower, same final
 * exponent 2x₀(6x₀²+3x₀+1)·(p¹²-1)/r, a multiple of the textbook one by a factor prime
 * to r, so the map stays bilinear and non-degenerate); the tests check that.
 *
 * The identity: e(O, Q) = e(P, O) = 1. A pair with either point at infinity contributes
 * nothing to the product (as in gnark's MillerLoop); callers that must refuse the identity
 * (a Groth16 proof element, a key element) check for it themselves.
 *
 * Browser-safe: no `node:` imports.
 */
import { bn254 } from '@noble/curves/bn254.js';
import { psiFrobenius } from '@noble/curves/abstract/tower.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';

const { Fp, Fp2, Fp12: NobleFp12 } = bn254.fields;
const P: bigint = Fp.ORDER;

type NobleFp2 = ReturnType<typeof Fp2.fromBigTuple>;
type NobleFp12 = ReturnType<typeof bn254.pairing>;
type G1Point = WeierstrassPoint<bigint>;
type G2Point = WeierstrassPoint<NobleFp2>;

/**
 * An element of GT ⊂ Fp12 as 12 reduced coefficients:
 * [c0.c0.c0, c0.c0.c1, c0.c1.c0, c0.c1.c1, c0.c2.c0, c0.c2.c1, c1.c0.c0, …, c1.c2.c1]
 * (noble's nesting flattened; cX.cY.c0 is the real part of an Fp2 coefficient).
 */
export type Gt = bigint[];

const red = (x: bigint): bigint => {
  const r = x % P;
  return r < 0n ? r + P : r;
};

/** The unit of Fp12. */
export const gtOne = (): Gt => [1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];

/** True if a and b are the same element (both reduced). */
export function gtEquals(a: readonly bigint[], b: readonly bigint[]): boolean {
  if (a.length !== 12 || b.length !== 12) return false;
  for (let i = 0; i < 12; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Converts from noble's Fp12 object. */
export function gtFromNoble(x: NobleFp12): Gt {
  const out: bigint[] = [];
  for (const c of [x.c0, x.c1]) for (const d of [c.c0, c.c1, c.c2]) out.push(d.c0, d.c1);
  return out;
}

/** Converts to noble's Fp12 object. */
export function gtToNoble(x: readonly bigint[]): NobleFp12 {
  return NobleFp12.fromBigTwelve(x.slice() as Parameters<typeof NobleFp12.fromBigTwelve>[0]);
}

// ---------------------------------------------------------------------------
// Fp6 products, unreduced. Inputs are arrays of 6 bigints (3 Fp2) at an offset; they
// may be unreduced sums of a few reduced values. ξ = 9 + u: ξ·(r + i·u) = (9r - i) + (r + 9i)·u.

function mul6(x: readonly bigint[], xo: number, y: readonly bigint[], yo: number, out: bigint[], oo: number): void {
  const a0r = x[xo]!, a0i = x[xo + 1]!, a1r = x[xo + 2]!, a1i = x[xo + 3]!, a2r = x[xo + 4]!, a2i = x[xo + 5]!;
  const b0r = y[yo]!, b0i = y[yo + 1]!, b1r = y[yo + 2]!, b1i = y[yo + 3]!, b2r = y[yo + 4]!, b2i = y[yo + 5]!;
  let s = a0r * b0r;
  let t = a0i * b0i;
  const v0r = s - t, v0i = (a0r + a0i) * (b0r + b0i) - s - t;
  s = a1r * b1r;
  t = a1i * b1i;
  const v1r = s - t, v1i = (a1r + a1i) * (b1r + b1i) - s - t;
  s = a2r * b2r;
  t = a2i * b2i;
  const v2r = s - t, v2i = (a2r + a2i) * (b2r + b2i) - s - t;
  // (a1+a2)(b1+b2) - v1 - v2
  let pr = a1r + a2r, pi = a1i + a2i, qr = b1r + b2r, qi = b1i + b2i;
  s = pr * qr;
  t = pi * qi;
  const m12r = s - t - v1r - v2r, m12i = (pr + pi) * (qr + qi) - s - t - v1i - v2i;
  // (a0+a1)(b0+b1) - v0 - v1
  pr = a0r + a1r;
  pi = a0i + a1i;
  qr = b0r + b1r;
  qi = b0i + b1i;
  s = pr * qr;
  t = pi * qi;
  const m01r = s - t - v0r - v1r, m01i = (pr + pi) * (qr + qi) - s - t - v0i - v1i;
  // (a0+a2)(b0+b2) - v0 - v2
  pr = a0r + a2r;
  pi = a0i + a2i;
  qr = b0r + b2r;
  qi = b0i + b2i;
  s = pr * qr;
  t = pi * qi;
  const m02r = s - t - v0r - v2r, m02i = (pr + pi) * (qr + qi) - s - t - v0i - v2i;
  // c0 = v0 + ξ·m12, c1 = m01 + ξ·v2, c2 = m02 + v1
  out[oo] = v0r + 9n * m12r - m12i;
  out[oo + 1] = v0i + m12r + 9n * m12i;
  out[oo + 2] = m01r + 9n * v2r - v2i;
  out[oo + 3] = m01i + v2r + 9n * v2i;
  out[oo + 4] = m02r + v1r;
  out[oo + 5] = m02i + v1i;
}

/** x·(o0 + o1·v) for x in Fp6 (at offset), unreduced (5 Fp2 products). */
function mul6By01(
  x: readonly bigint[],
  xo: number,
  o0r: bigint,
  o0i: bigint,
  o1r: bigint,
  o1i: bigint,
  out: bigint[],
  oo: number,
): void {
  const a0r = x[xo]!, a0i = x[xo + 1]!, a1r = x[xo + 2]!, a1i = x[xo + 3]!, a2r = x[xo + 4]!, a2i = x[xo + 5]!;
  let s = a0r * o0r;
  let t = a0i * o0i;
  const v0r = s - t, v0i = (a0r + a0i) * (o0r + o0i) - s - t;
  s = a1r * o1r;
  t = a1i * o1i;
  const v1r = s - t, v1i = (a1r + a1i) * (o1r + o1i) - s - t;
  // x2·o1 = (a1+a2)·o1 - v1
  let pr = a1r + a2r, pi = a1i + a2i;
  s = pr * o1r;
  t = pi * o1i;
  const m2r = s - t - v1r, m2i = (pr + pi) * (o1r + o1i) - s - t - v1i;
  // (a0+a1)(o0+o1) - v0 - v1
  pr = a0r + a1r;
  pi = a0i + a1i;
  let qr = o0r + o1r, qi = o0i + o1i;
  s = pr * qr;
  t = pi * qi;
  const m01r = s - t - v0r - v1r, m01i = (pr + pi) * (qr + qi) - s - t - v0i - v1i;
  // (a0+a2)·o0 - v0 + v1
  pr = a0r + a2r;
  pi = a0i + a2i;
  qr = o0r;
  qi = o0i;
  s = pr * qr;
  t = pi * qi;
  const m02r = s - t - v0r + v1r, m02i = (pr + pi) * (qr + qi) - s - t - v0i + v1i;
  out[oo] = v0r + 9n * m2r - m2i;
  out[oo + 1] = v0i + m2r + 9n * m2i;
  out[oo + 2] = m01r;
  out[oo + 3] = m01i;
  out[oo + 4] = m02r;
  out[oo + 5] = m02i;
}

/** x·o for x in Fp6 (at offset) and o in Fp2, unreduced. */
function mul6ByFp2(x: readonly bigint[], xo: number, or: bigint, oi: bigint, out: bigint[], oo: number): void {
  const so = or + oi;
  for (let k = 0; k < 6; k += 2) {
    const ar = x[xo + k]!, ai = x[xo + k + 1]!;
    const s = ar * or;
    const t = ai * oi;
    out[oo + k] = s - t;
    out[oo + k + 1] = (ar + ai) * so - s - t;
  }
}

// ---------------------------------------------------------------------------
// Fp12

/** c0 = t0 + v·t1, c1 = t2 - t0 - t1 (v·(x0, x1, x2) = (ξ·x2, x0, x1)), reduced. */
function combine(t0: readonly bigint[], t1: readonly bigint[], t2: readonly bigint[]): Gt {
  return [
    red(t0[0]! + 9n * t1[4]! - t1[5]!),
    red(t0[1]! + t1[4]! + 9n * t1[5]!),
    red(t0[2]! + t1[0]!),
    red(t0[3]! + t1[1]!),
    red(t0[4]! + t1[2]!),
    red(t0[5]! + t1[3]!),
    red(t2[0]! - t0[0]! - t1[0]!),
    red(t2[1]! - t0[1]! - t1[1]!),
    red(t2[2]! - t0[2]! - t1[2]!),
    red(t2[3]! - t0[3]! - t1[3]!),
    red(t2[4]! - t0[4]! - t1[4]!),
    red(t2[5]! - t0[5]! - t1[5]!),
  ];
}

/** a·b in Fp12 (Karatsuba over Fp6). */
export function gtMul(a: readonly bigint[], b: readonly bigint[]): Gt {
  const t0: bigint[] = new Array(6);
  const t1: bigint[] = new Array(6);
  const t2: bigint[] = new Array(6);
  mul6(a, 0, b, 0, t0, 0);
  mul6(a, 6, b, 6, t1, 0);
  const sa = [a[0]! + a[6]!, a[1]! + a[7]!, a[2]! + a[8]!, a[3]! + a[9]!, a[4]! + a[10]!, a[5]! + a[11]!];
  const sb = [b[0]! + b[6]!, b[1]! + b[7]!, b[2]! + b[8]!, b[3]! + b[9]!, b[4]! + b[10]!, b[5]! + b[11]!];
  mul6(sa, 0, sb, 0, t2, 0);
  return combine(t0, t1, t2);
}

/** a² in Fp12 for any a: c0 = (a0+a1)(a0+v·a1) - t - v·t, c1 = 2t with t = a0·a1. */
export function gtSqr(a: readonly bigint[]): Gt {
  const t: bigint[] = new Array(6);
  mul6(a, 0, a, 6, t, 0);
  const s = [a[0]! + a[6]!, a[1]! + a[7]!, a[2]! + a[8]!, a[3]! + a[9]!, a[4]! + a[10]!, a[5]! + a[11]!];
  // a0 + v·a1 = (a0.0 + ξ·a1.2, a0.1 + a1.0, a0.2 + a1.1)
  const q = [
    a[0]! + 9n * a[10]! - a[11]!,
    a[1]! + a[10]! + 9n * a[11]!,
    a[2]! + a[6]!,
    a[3]! + a[7]!,
    a[4]! + a[8]!,
    a[5]! + a[9]!,
  ];
  const m: bigint[] = new Array(6);
  mul6(s, 0, q, 0, m, 0);
  // v·t = (ξ·t2, t0, t1)
  const vt0r = 9n * t[4]! - t[5]!, vt0i = t[4]! + 9n * t[5]!;
  return [
    red(m[0]! - t[0]! - vt0r),
    red(m[1]! - t[1]! - vt0i),
    red(m[2]! - t[2]! - t[0]!),
    red(m[3]! - t[3]! - t[1]!),
    red(m[4]! - t[4]! - t[2]!),
    red(m[5]! - t[5]! - t[3]!),
    red(2n * t[0]!),
    red(2n * t[1]!),
    red(2n * t[2]!),
    red(2n * t[3]!),
    red(2n * t[4]!),
    red(2n * t[5]!),
  ];
}

/** f·(o0 + (o3 + o4·v)·w): the product with a line value (13 Fp2 products). */
function mulByLine(f: readonly bigint[], o0r: bigint, o0i: bigint, o3r: bigint, o3i: bigint, o4r: bigint, o4i: bigint): Gt {
  const t0: bigint[] = new Array(6);
  const t1: bigint[] = new Array(6);
  const t2: bigint[] = new Array(6);
  if (o0i === 0n) for (let k = 0; k < 6; k++) t0[k] = f[k]! * o0r; // a normalized line: o0 = y_P
  else mul6ByFp2(f, 0, o0r, o0i, t0, 0);
  mul6By01(f, 6, o3r, o3i, o4r, o4i, t1, 0);
  const s = [f[0]! + f[6]!, f[1]! + f[7]!, f[2]! + f[8]!, f[3]! + f[9]!, f[4]! + f[10]!, f[5]! + f[11]!];
  mul6By01(s, 0, o0r + o3r, o0i + o3i, o4r, o4i, t2, 0);
  return combine(t0, t1, t2);
}

/** The conjugate over Fp6 (a0 - a1·w): the inverse on the cyclotomic subgroup. */
export function gtConj(a: readonly bigint[]): Gt {
  const out = a.slice(0, 6);
  for (let i = 6; i < 12; i++) out.push(a[i] === 0n ? 0n : P - a[i]!);
  return out;
}

/** a⁻¹ (noble's Fp12 inversion; throws on zero). */
export function gtInv(a: readonly bigint[]): Gt {
  return gtFromNoble(NobleFp12.inv(gtToNoble(a)));
}

// Frobenius: with f = Σ gᵢ·wⁱ (gᵢ in Fp2, w⁶ = ξ), f^(p^k) = Σ conj^k(gᵢ)·γₖᵢ·wⁱ,
// γₖᵢ = ξ^(i·(p^k-1)/6). Position of gᵢ in the flat layout: g0 c0.c0, g1 c1.c0, g2 c0.c1,
// g3 c1.c1, g4 c0.c2, g5 c1.c2.
const W_POS = [0, 6, 2, 8, 4, 10];
let frobConst: bigint[][][] | null = null; // [k-1][i] = [re, im]
function frobConstants(): bigint[][][] {
  if (frobConst) return frobConst;
  const xi = Fp2.fromBigTuple([9n, 1n]);
  const out: bigint[][][] = [];
  for (let k = 1; k <= 3; k++) {
    const e = (P ** BigInt(k) - 1n) / 6n;
    const base = Fp2.pow(xi, e);
    const row: bigint[][] = [];
    let g = Fp2.ONE;
    for (let i = 0; i < 6; i++) {
      row.push([g.c0, g.c1]);
      g = Fp2.mul(g, base);
    }
    out.push(row);
  }
  return (frobConst = out);
}

/** a^(p^k) for k in 1..3. */
export function gtFrobenius(a: readonly bigint[], k: 1 | 2 | 3): Gt {
  const row = frobConstants()[k - 1]!;
  const out: bigint[] = new Array(12);
  for (let i = 0; i < 6; i++) {
    const pos = W_POS[i]!;
    const ar = a[pos]!;
    const ai = k === 2 ? a[pos + 1]! : P - a[pos + 1]!; // conj^k on Fp2
    const [gr, gi] = row[i] as [bigint, bigint];
    const s = ar * gr;
    const t = ai * gi;
    out[pos] = red(s - t);
    out[pos + 1] = red((ar + ai) * (gr + gi) - s - t);
  }
  return out;
}

/**
 * a² for a in the cyclotomic subgroup (Granger–Scott): with s = w³ (s² = ξ), a is
 * A + B·w + C·w² over Fp4 = Fp2[s], and a² = (3A² - 2Ā) + (3s·C² + 2B̄)·w + (3B² - 2C̄)·w²,
 * where x̄ is the conjugate over Fp2 (s → -s).
 */
export function gtCyclotomicSqr(a: readonly bigint[]): Gt {
  // A = g0 + g3·s, B = g1 + g4·s, C = g2 + g5·s
  const g0r = a[0]!, g0i = a[1]!, g1r = a[6]!, g1i = a[7]!, g2r = a[2]!, g2i = a[3]!;
  const g3r = a[8]!, g3i = a[9]!, g4r = a[4]!, g4i = a[5]!, g5r = a[10]!, g5i = a[11]!;
  // (x + y·s)² = (x² + ξ·y²) + 2xy·s; returns [re0, im0, re1, im1] unreduced
  const sq4 = (xr: bigint, xi: bigint, yr: bigint, yi: bigint): bigint[] => {
    const x2r = (xr + xi) * (xr - xi), x2i = 2n * xr * xi;
    const y2r = (yr + yi) * (yr - yi), y2i = 2n * yr * yi;
    const zr = xr + yr, zi = xi + yi;
    const z2r = (zr + zi) * (zr - zi), z2i = 2n * zr * zi;
    return [x2r + 9n * y2r - y2i, x2i + y2r + 9n * y2i, z2r - x2r - y2r, z2i - x2i - y2i];
  };
  const A2 = sq4(g0r, g0i, g3r, g3i);
  const B2 = sq4(g1r, g1i, g4r, g4i);
  const C2 = sq4(g2r, g2i, g5r, g5i);
  const out: bigint[] = new Array(12);
  // A' = 3A² - 2Ā: g0' = 3·A2.0 - 2·g0, g3' = 3·A2.1 + 2·g3
  out[0] = red(3n * A2[0]! - 2n * g0r);
  out[1] = red(3n * A2[1]! - 2n * g0i);
  out[8] = red(3n * A2[2]! + 2n * g3r);
  out[9] = red(3n * A2[3]! + 2n * g3i);
  // s·C² = ξ·C2.1 + C2.0·s; B' = 3s·C² + 2B̄: g1' = 3ξ·C2.1 + 2·g1, g4' = 3·C2.0 - 2·g4
  const c1r = C2[2]!, c1i = C2[3]!;
  out[6] = red(3n * (9n * c1r - c1i) + 2n * g1r);
  out[7] = red(3n * (c1r + 9n * c1i) + 2n * g1i);
  out[4] = red(3n * C2[0]! - 2n * g4r);
  out[5] = red(3n * C2[1]! - 2n * g4i);
  // C' = 3B² - 2C̄: g2' = 3·B2.0 - 2·g2, g5' = 3·B2.1 + 2·g5
  out[2] = red(3n * B2[0]! - 2n * g2r);
  out[3] = red(3n * B2[1]! - 2n * g2i);
  out[10] = red(3n * B2[2]! + 2n * g5r);
  out[11] = red(3n * B2[3]! + 2n * g5i);
  return out;
}

/** BN254 seed x₀ and its signed binary digits, most significant first. */
const BN_X = 4965661367192848881n;
const X_NAF: number[] = (() => {
  const digits: number[] = [];
  let e = BN_X;
  while (e > 0n) {
    if (e & 1n) {
      const d = (e & 3n) === 3n ? -1 : 1;
      digits.push(d);
      e -= BigInt(d);
    } else digits.push(0);
    e >>= 1n;
  }
  return digits.reverse();
})();

/** a^x₀ for a in the cyclotomic subgroup (signed digits; a⁻¹ is the conjugate). */
export function gtCyclotomicExpX(a: readonly bigint[]): Gt {
  const inv = gtConj(a);
  let r: Gt = a.slice();
  // the leading digit is 1
  for (let i = 1; i < X_NAF.length; i++) {
    r = gtCyclotomicSqr(r);
    const d = X_NAF[i]!;
    if (d === 1) r = gtMul(r, a);
    else if (d === -1) r = gtMul(r, inv);
  }
  return r;
}

/**
 * f^(2x₀(6x₀²+3x₀+1)·(p¹²-1)/r), the same exponent as @noble/curves' BN254 final
 * exponentiation. Easy part: m = f^((p⁶-1)(p²+1)). Hard part: with the exponent written
 * in base p as λ₀ + λ₁p + λ₂p² + λ₃p³, λ₀ = 12x³+12x²+6x+1, λ₁ = 12x³+6x²+4x,
 * λ₂ = 12x³+6x²+6x, λ₃ = λ₁ - 1, built from m^x, m^(x²), m^(x³).
 * Throws if f is zero.
 */
export function gtFinalExponentiate(f: readonly bigint[]): Gt {
  if (f.every((c) => c === 0n)) throw new RangeError('final exponentiation of zero');
  const t = gtMul(gtConj(f), gtInv(f)); // f^(p⁶-1)
  const m = gtMul(gtFrobenius(t, 2), t); // ^(p²+1): now in the cyclotomic subgroup
  const mx = gtCyclotomicExpX(m); // m^x
  const mx2 = gtCyclotomicExpX(mx); // m^(x²)
  const mx3 = gtCyclotomicExpX(mx2); // m^(x³)
  // a = m^(6x²+6x) · … build the pieces:
  const sq = gtCyclotomicSqr;
  const mx2_2 = sq(mx2); // x²·2
  const mx2_6 = gtMul(sq(mx2_2), mx2_2); // 6x²
  const mx_2 = sq(mx); // 2x
  const mx_4 = sq(mx_2); // 4x
  const mx_6 = gtMul(mx_4, mx_2); // 6x
  const mx3_4 = sq(sq(mx3)); // 4x³
  const mx3_12 = gtMul(sq(mx3_4), mx3_4); // 12x³
  const base = gtMul(mx3_12, mx2_6); // 12x³ + 6x²
  const l1 = gtMul(base, mx_4); // λ₁ = 12x³+6x²+4x
  const l2 = gtMul(base, mx_6); // λ₂ = 12x³+6x²+6x
  const l3 = gtMul(l1, gtConj(m)); // λ₃ = λ₁ - 1
  const l0 = gtMul(gtMul(l2, mx2_6), m); // λ₀ = 12x³+12x²+6x+1
  return gtMul(gtMul(l0, gtFrobenius(l1, 1)), gtMul(gtFrobenius(l2, 2), gtFrobenius(l3, 3)));
}

// ---------------------------------------------------------------------------
// Lines and the multi-Miller loop

const PREPARED_G2 = Symbol('pairing.preparedG2');

/**
 * The line coefficients of a G2 point for the Miller loop (per loop step, each line as
 * 6 bigints [c2, c1, c0] in noble's naming, evaluated at P as c2·y_P + (c1·x_P + c0·v)·w).
 * The point at infinity has no lines: it pairs to 1 with everything.
 */
export interface PreparedG2 {
  readonly [PREPARED_G2]: true;
  readonly infinity: boolean;
  readonly steps: readonly (readonly bigint[])[];
}

// G2 line coefficients, computed like noble's `calcPairingPrecomputes` (homogeneous
// projective doubling and mixed addition, the same formulas and so the same numbers;
// the tests compare them) but on bigint pairs, each Fp2 product reduced once per component.

type F2 = [bigint, bigint];
const f2red = (r: bigint, i: bigint): F2 => [red(r), red(i)];
const f2mul = (a: F2, b: F2): F2 => {
  const s = a[0] * b[0];
  const t = a[1] * b[1];
  return f2red(s - t, (a[0] + a[1]) * (b[0] + b[1]) - s - t);
};
const f2sqr = (a: F2): F2 => f2red((a[0] + a[1]) * (a[0] - a[1]), 2n * a[0] * a[1]);
// sums of reduced values: a comparison and a subtraction are much cheaper than `%`
const addp = (a: bigint, b: bigint): bigint => {
  const r = a + b;
  return r >= P ? r - P : r;
};
const subp = (a: bigint, b: bigint): bigint => {
  const r = a - b;
  return r < 0n ? r + P : r;
};
const f2add = (a: F2, b: F2): F2 => [addp(a[0], b[0]), addp(a[1], b[1])];
const f2sub = (a: F2, b: F2): F2 => [subp(a[0], b[0]), subp(a[1], b[1])];
const f2dbl = (a: F2): F2 => f2add(a, a);
const f2triple = (a: F2): F2 => f2add(f2add(a, a), a);
const f2neg = (a: F2): F2 => [a[0] === 0n ? 0n : P - a[0], a[1] === 0n ? 0n : P - a[1]];
const half = (x: bigint): bigint => ((x & 1n) === 0n ? x : x + P) >> 1n;
const f2half = (a: F2): F2 => [half(a[0]), half(a[1])];
let twistB: F2 | null = null;
const f2mulB = (a: F2): F2 => {
  if (!twistB) {
    const b = bn254.G2.Point.CURVE().b;
    twistB = [b.c0, b.c1];
  }
  return f2mul(a, twistB);
};

/** Signed binary digits of the ate loop scalar 6x₀+2 below the leading one, most significant first. */
const ATE_DIGITS: number[] = (() => {
  const digits: number[] = [];
  for (let a = 6n * BN_X + 2n; a > 1n; a >>= 1n) {
    if ((a & 1n) === 0n) digits.unshift(0);
    else if ((a & 3n) === 3n) {
      digits.unshift(-1);
      a += 1n;
    } else digits.unshift(1);
  }
  return digits;
})();

interface Proj {
  x: F2;
  y: F2;
  z: F2;
}

/** R ← 2R; pushes the tangent line [c2, c1, c0] = [-2YZ, 3X², 3b'Z² - Y²]. */
function lineDouble(out: bigint[], r: Proj): void {
  const { x, y, z } = r;
  const t0 = f2sqr(y);
  const t1 = f2sqr(z);
  const t2 = f2mulB(f2triple(t1));
  const t3 = f2triple(t2);
  const t4 = f2sub(f2sub(f2sqr(f2add(y, z)), t1), t0);
  const c0 = f2sub(t2, t0);
  const c1 = f2triple(f2sqr(x));
  const c2 = f2neg(t4);
  out.push(c2[0], c2[1], c1[0], c1[1], c0[0], c0[1]);
  r.x = f2half(f2mul(f2mul(f2sub(t0, t3), x), y));
  r.y = f2sub(f2sqr(f2half(f2add(t0, t3))), f2triple(f2sqr(t2)));
  r.z = f2mul(t0, t4);
}

/** R ← R + Q (Q affine); pushes the chord line [c2, c1, c0] = [X - QxZ, QyZ - Y, (Y - QyZ)Qx - (X - QxZ)Qy]. */
function lineAdd(out: bigint[], r: Proj, qx: F2, qy: F2): void {
  const { x, y, z } = r;
  const t0 = f2sub(y, f2mul(qy, z));
  const t1 = f2sub(x, f2mul(qx, z));
  // t0·Qx - t1·Qy with one reduction per component
  const a = t0[0] * qx[0], b = t0[1] * qx[1], c = t1[0] * qy[0], d = t1[1] * qy[1];
  const c0 = f2red(a - b - c + d, (t0[0] + t0[1]) * (qx[0] + qx[1]) - a - b - (t1[0] + t1[1]) * (qy[0] + qy[1]) + c + d);
  const c1 = f2neg(t0);
  out.push(t1[0], t1[1], c1[0], c1[1], c0[0], c0[1]);
  const t2 = f2sqr(t1);
  const t3 = f2mul(t2, t1);
  const t4 = f2mul(t2, x);
  const t5 = f2add(f2sub(t3, f2dbl(t4)), f2mul(f2sqr(t0), z));
  r.x = f2mul(t1, t5);
  r.y = f2sub(f2mul(f2sub(t4, t5), t0), f2mul(t3, y));
  r.z = f2mul(z, t3);
}

let psiMap: ((x: NobleFp2, y: NobleFp2) => [NobleFp2, NobleFp2]) | null = null;
/** ψ (untwist-Frobenius-twist) on affine coordinates, from noble. */
function psiAffine(x: F2, y: F2): [F2, F2] {
  psiMap ??= psiFrobenius(Fp, Fp2, Fp2.NONRESIDUE).psi as (x: NobleFp2, y: NobleFp2) => [NobleFp2, NobleFp2];
  const [a, b] = psiMap(Fp2.fromBigTuple(x), Fp2.fromBigTuple(y));
  return [
    [a.c0, a.c1],
    [b.c0, b.c1],
  ];
}

/**
 * Precomputes the lines of Q (a G2 point the caller has validated: on the twist and in
 * the prime-order subgroup). Reuse the result for a fixed Q.
 */
export function prepareG2(q: G2Point): PreparedG2 {
  if (q.is0()) return Object.freeze({ [PREPARED_G2]: true as const, infinity: true, steps: [] });
  const a = q.toAffine();
  const qx: F2 = [a.x.c0, a.x.c1];
  const qy: F2 = [a.y.c0, a.y.c1];
  const negQy = f2neg(qy);
  const r: Proj = { x: qx, y: qy, z: [1n, 0n] };
  const steps: bigint[][] = [];
  for (const d of ATE_DIGITS) {
    const step: bigint[] = [];
    lineDouble(step, r);
    if (d !== 0) lineAdd(step, r, qx, d === -1 ? negQy : qy);
    steps.push(step);
  }
  // the two final additions of the optimal ate pairing: R + ψ(Q), then - ψ²(Q)
  const last = steps[steps.length - 1]!;
  const [q1x, q1y] = psiAffine(qx, qy);
  lineAdd(last, r, q1x, q1y);
  const [q2x, q2y] = psiAffine(q1x, q1y);
  lineAdd(last, r, q2x, f2neg(q2y));
  return Object.freeze({ [PREPARED_G2]: true as const, infinity: false, steps: Object.freeze(steps.map((s) => Object.freeze(s))) });
}

/**
 * The lines of a fixed Q (a verifying key's point), each divided by its c2 coefficient
 * where that is not zero: the line becomes y_P + (c1'·x_P + c0'·v)·w, which saves the
 * products by y_P in every Miller loop. Dividing a line by an Fp² constant changes the
 * Miller loop's value by a factor in Fp², which the final exponentiation maps to 1
 * (Fp²* has order p²-1, a divisor of p⁶-1): the pairing is the same (tested).
 * Costs one Fp² inversion per line, once.
 */
export function prepareG2Fixed(q: G2Point): PreparedG2 {
  const plain = prepareG2(q);
  if (plain.infinity) return plain;
  const steps = plain.steps.map((step) => {
    const out = step.slice();
    for (let k = 0; k < out.length; k += 6) {
      const c2 = Fp2.fromBigTuple([out[k]!, out[k + 1]!]);
      if (Fp2.is0(c2)) continue; // a vertical line stays as it is
      const inv = Fp2.inv(c2);
      const c1 = Fp2.mul(Fp2.fromBigTuple([out[k + 2]!, out[k + 3]!]), inv);
      const c0 = Fp2.mul(Fp2.fromBigTuple([out[k + 4]!, out[k + 5]!]), inv);
      out.splice(k, 6, 1n, 0n, c1.c0, c1.c1, c0.c0, c0.c1);
    }
    return Object.freeze(out);
  });
  return Object.freeze({ [PREPARED_G2]: true as const, infinity: false, steps: Object.freeze(steps) });
}

/** The same lines through @noble/curves (`calcPairingPrecomputes`), for the tests. */
export function prepareG2Noble(q: G2Point): PreparedG2 {
  if (q.is0()) return Object.freeze({ [PREPARED_G2]: true as const, infinity: true, steps: [] });
  const lines = bn254.utils.calcPairingPrecomputes(q);
  const steps = lines.map((step) => {
    const flat: bigint[] = [];
    for (const [c0, c1, c2] of step) flat.push(c2.c0, c2.c1, c1.c0, c1.c1, c0.c0, c0.c1);
    return Object.freeze(flat);
  });
  return Object.freeze({ [PREPARED_G2]: true as const, infinity: false, steps: Object.freeze(steps) });
}

/**
 * Π f_{Qᵢ}(Pᵢ): the Miller loop of several pairs sharing the squarings. Pairs with a
 * point at infinity are skipped (they contribute 1).
 */
export function multiMillerLoop(pairs: readonly (readonly [G1Point, PreparedG2])[]): Gt {
  const live: [bigint, bigint, readonly (readonly bigint[])[]][] = [];
  for (const [p, q] of pairs) {
    if (q[PREPARED_G2] !== true) throw new TypeError('expected a prepared G2 point');
    if (p.is0() || q.infinity) continue;
    const a = p.toAffine();
    live.push([a.x, a.y, q.steps]);
  }
  let f = gtOne();
  if (live.length === 0) return f;
  const n = live[0]![2].length;
  for (let i = 0; i < n; i++) {
    if (i !== 0) f = gtSqr(f);
    for (const [px, py, steps] of live) {
      const s = steps[i]!;
      for (let k = 0; k < s.length; k += 6) {
        const c2r = s[k]!, c2i = s[k + 1]!;
        const one = c2i === 0n && c2r === 1n; // normalized (prepareG2Fixed): c2·y_P = y_P
        f = mulByLine(f, one ? py : red(c2r * py), one ? 0n : red(c2i * py), red(s[k + 2]! * px), red(s[k + 3]! * px), s[k + 4]!, s[k + 5]!);
      }
    }
  }
  return f;
}

/** Π e(Pᵢ, Qᵢ) with one final exponentiation. */
export function pairingProduct(pairs: readonly (readonly [G1Point, PreparedG2])[]): Gt {
  return gtFinalExponentiate(multiMillerLoop(pairs));
}

/** e(P, Q) for points the caller has validated (equal to noble's `bn254.pairing(P, Q)`). */
export function pairing(p: G1Point, q: G2Point): Gt {
  return pairingProduct([[p, prepareG2(q)]]);
}

// ---------------------------------------------------------------------------
// G2 subgroup membership on bigint pairs (Jacobian coordinates, x = X/Z², y = Y/Z³;
// Z = 0 is the point at infinity).

interface Jac {
  x: F2;
  y: F2;
  z: F2;
}
const F2_ZERO: F2 = [0n, 0n];
const F2_ONE: F2 = [1n, 0n];
const f2isZero = (a: F2): boolean => a[0] === 0n && a[1] === 0n;
const f2eq = (a: F2, b: F2): boolean => a[0] === b[0] && a[1] === b[1];
const JAC_INF: Jac = { x: F2_ONE, y: F2_ONE, z: F2_ZERO };

/** 2P (a = 0: dbl-2009-l). */
function jacDouble(p: Jac): Jac {
  if (f2isZero(p.z) || f2isZero(p.y)) return JAC_INF;
  const a = f2sqr(p.x);
  const b = f2sqr(p.y);
  const c = f2sqr(b);
  const d = f2dbl(f2sub(f2sub(f2sqr(f2add(p.x, b)), a), c));
  const e = f2triple(a);
  const f = f2sqr(e);
  const x3 = f2sub(f, f2dbl(d));
  const y3 = f2sub(f2mul(e, f2sub(d, x3)), f2dbl(f2dbl(f2dbl(c))));
  const z3 = f2dbl(f2mul(p.y, p.z));
  return { x: x3, y: y3, z: z3 };
}

/** P + Q for any P, Q (add-2007-bl, with the doubling and inverse cases). */
function jacAdd(p: Jac, q: Jac): Jac {
  if (f2isZero(p.z)) return q;
  if (f2isZero(q.z)) return p;
  const z1z1 = f2sqr(p.z);
  const z2z2 = f2sqr(q.z);
  const u1 = f2mul(p.x, z2z2);
  const u2 = f2mul(q.x, z1z1);
  const s1 = f2mul(f2mul(p.y, q.z), z2z2);
  const s2 = f2mul(f2mul(q.y, p.z), z1z1);
  const h = f2sub(u2, u1);
  const rr = f2dbl(f2sub(s2, s1));
  if (f2isZero(h)) return f2isZero(rr) ? jacDouble(p) : JAC_INF;
  const i = f2sqr(f2dbl(h));
  const j = f2mul(h, i);
  const v = f2mul(u1, i);
  const x3 = f2sub(f2sub(f2sqr(rr), j), f2dbl(v));
  const y3 = f2sub(f2mul(rr, f2sub(v, x3)), f2dbl(f2mul(s1, j)));
  const z3 = f2mul(f2sub(f2sub(f2sqr(f2add(p.z, q.z)), z1z1), z2z2), h);
  return { x: x3, y: y3, z: z3 };
}

const jacNeg = (p: Jac): Jac => ({ x: p.x, y: f2neg(p.y), z: p.z });

function jacEquals(p: Jac, q: Jac): boolean {
  const pInf = f2isZero(p.z);
  const qInf = f2isZero(q.z);
  if (pInf || qInf) return pInf && qInf;
  const z1z1 = f2sqr(p.z);
  const z2z2 = f2sqr(q.z);
  return (
    f2eq(f2mul(p.x, z2z2), f2mul(q.x, z1z1)) && f2eq(f2mul(f2mul(p.y, q.z), z2z2), f2mul(f2mul(q.y, p.z), z1z1))
  );
}

/** [x₀]P by signed digits. */
function jacMulX(p: Jac): Jac {
  const neg = jacNeg(p);
  let r = p; // leading digit 1
  for (let i = 1; i < X_NAF.length; i++) {
    r = jacDouble(r);
    const d = X_NAF[i]!;
    if (d === 1) r = jacAdd(r, p);
    else if (d === -1) r = jacAdd(r, neg);
  }
  return r;
}

let psiConst: [F2, F2] | null = null;
/** ψ(X, Y, Z) = (conj(X)·cₓ, conj(Y)·c_y, conj(Z)): Frobenius is a field automorphism. */
function jacPsi(p: Jac): Jac {
  if (!psiConst) {
    const f = psiFrobenius(Fp, Fp2, Fp2.NONRESIDUE);
    psiConst = [
      [f.PSI_X.c0, f.PSI_X.c1],
      [f.PSI_Y.c0, f.PSI_Y.c1],
    ];
  }
  const conj = (a: F2): F2 => [a[0], a[1] === 0n ? 0n : P - a[1]];
  return { x: f2mul(conj(p.x), psiConst[0]), y: f2mul(conj(p.y), psiConst[1]), z: conj(p.z) };
}

/**
 * Whether a point of the twist E'(Fp²) lies in the prime-order subgroup G2, with the
 * criterion gnark-crypto's `G2Affine.IsInSubGroup` uses (eprint 2022/348, sec. 3 and
 * 5.1): [r]P = O ⇔ [x₀+1]P + ψ([x₀]P) + ψ²([x₀]P) = ψ³([2x₀]P). The caller has checked
 * that P is on the twist; the point at infinity is in G2.
 */
export function g2InSubgroup(q: G2Point): boolean {
  if (q.is0()) return true;
  const a = q.toAffine();
  const p: Jac = { x: [a.x.c0, a.x.c1], y: [a.y.c0, a.y.c1], z: F2_ONE };
  const a0 = jacMulX(p);
  const b = jacPsi(a0);
  const res = jacPsi(b);
  const lhs = jacAdd(jacAdd(jacAdd(a0, p), b), res);
  return jacEquals(jacDouble(jacPsi(res)), lhs);
}
