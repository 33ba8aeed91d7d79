/**
 * @module groth16/glv
 * Random batching scalars for BN254 G1 that are cheap to multiply by.
 *
 * BN254's G1 has the endomorphism φ(x, y) = (β·x, y), β a cube root of unity in Fp, and
 * φ(P) = [λ]P for a cube root of unity λ in Fr. A scalar s = s₁ + λ·s₂ (mod r) with
 * s₁, s₂ < 2^64 is multiplied in as s₁·P + s₂·φ(P): 64 doublings shared by both halves
 * (Shamir's trick) instead of 128 for a 128-bit scalar.
 *
 * As a batching randomizer it is as good as a uniform 128-bit scalar: the map
 * (s₁, s₂) ↦ s₁ + λ·s₂ mod r is injective on [0, 2^64)², because a collision would be
 * a non-zero vector (a, b) with |a|, |b| < 2^64 and a + λ·b ≡ 0 (mod r), and every
 * non-zero vector of that lattice (determinant r ≈ 2^254, reduced basis vectors of
 * length about 2^127) is longer than 2^65. So s takes 2^128 distinct values with equal
 * probability, and a check X^s·Y = 1 with X ≠ 1 of prime order r holds for at most one
 * of them. The tests check φ(P) = [λ]P and s₁·P + s₂·φ(P) = [s]P.
 *
 * Browser-safe: no `node:` imports.
 */
import { bn254 } from '@noble/curves/bn254.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import { randomBytes } from '@noble/hashes/utils.js';

type G1Point = WeierstrassPoint<bigint>;
const { G1, fields } = bn254;
const P = fields.Fp.ORDER;
const R = fields.Fr.ORDER;

const red = (x: bigint): bigint => {
  const v = x % P;
  return v < 0n ? v + P : v;
};
const add = (a: bigint, b: bigint): bigint => {
  const v = a + b;
  return v >= P ? v - P : v;
};
const sub = (a: bigint, b: bigint): bigint => {
  const v = a - b;
  return v < 0n ? v + P : v;
};

let consts: { beta: bigint; lambda: bigint } | null = null;
/** β in Fp and λ in Fr, non-trivial cube roots of unity with φ(G) = [λ]G. */
export function glvConstants(): { beta: bigint; lambda: bigint } {
  if (consts) return consts;
  const cubeRoot = (order: bigint, pow: (b: bigint, e: bigint) => bigint): bigint => {
    for (let g = 2n; ; g++) {
      const c = pow(g, (order - 1n) / 3n);
      if (c !== 1n) return c;
    }
  };
  const beta0 = cubeRoot(P, (b, e) => fields.Fp.pow(b, e));
  const lambda = cubeRoot(R, (b, e) => fields.Fr.pow(b, e));
  const g = G1.Point.BASE;
  const lg = g.multiply(lambda).toAffine();
  // β or β²: whichever matches λ on the generator
  for (const beta of [beta0, fields.Fp.sqr(beta0)]) {
    if (lg.x === fields.Fp.mul(beta, g.toAffine().x) && lg.y === g.toAffine().y) return (consts = { beta, lambda });
  }
  throw new Error('glv: no cube root of unity matches');
}

/** A random batching scalar: its halves (each below 2^64, not both zero) and s₁ + λ·s₂ mod r. */
export function randomGlvScalar(): { s1: bigint; s2: bigint; s: bigint } {
  const { lambda } = glvConstants();
  for (;;) {
    const b = randomBytes(16);
    let s1 = 0n;
    let s2 = 0n;
    for (let i = 0; i < 8; i++) s1 = (s1 << 8n) | BigInt(b[i]!);
    for (let i = 8; i < 16; i++) s2 = (s2 << 8n) | BigInt(b[i]!);
    if (s1 === 0n && s2 === 0n) continue;
    return { s1, s2, s: (s1 + lambda * s2) % R };
  }
}

// Jacobian coordinates on y² = x³ + 3 (x = X/Z², y = Y/Z³; Z = 0 is the identity)
interface J {
  x: bigint;
  y: bigint;
  z: bigint;
}
const INF: J = { x: 1n, y: 1n, z: 0n };

function dbl(p: J): J {
  if (p.z === 0n || p.y === 0n) return INF;
  const a = red(p.x * p.x);
  const b = red(p.y * p.y);
  const c = red(b * b);
  const xb = p.x + b;
  const d2 = sub(sub(red(xb * xb), a), c);
  const d = add(d2, d2);
  const e = add(add(a, a), a);
  const f = red(e * e);
  const x3 = sub(f, add(d, d));
  const c8 = red(8n * c);
  const y3 = sub(red(e * sub(d, x3)), c8);
  const yz = red(p.y * p.z);
  return { x: x3, y: y3, z: add(yz, yz) };
}

function addJ(p: J, q: J): J {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  const z1z1 = red(p.z * p.z);
  const z2z2 = red(q.z * q.z);
  const u1 = red(p.x * z2z2);
  const u2 = red(q.x * z1z1);
  const s1 = red(red(p.y * q.z) * z2z2);
  const s2 = red(red(q.y * p.z) * z1z1);
  const h = sub(u2, u1);
  const r2 = sub(s2, s1);
  if (h === 0n) return r2 === 0n ? dbl(p) : INF;
  const rr = add(r2, r2);
  const h2 = add(h, h);
  const i = red(h2 * h2);
  const j = red(h * i);
  const v = red(u1 * i);
  const x3 = sub(sub(red(rr * rr), j), add(v, v));
  const s1j = red(s1 * j);
  const y3 = sub(red(rr * sub(v, x3)), add(s1j, s1j));
  const zz = p.z + q.z;
  const z3 = red(sub(sub(red(zz * zz), z1z1), z2z2) * h);
  return { x: x3, y: y3, z: z3 };
}

/** s₁·P + s₂·φ(P) = [s₁ + λ·s₂]P, for s₁, s₂ in [0, 2^64). */
export function glvMul(point: G1Point, s1: bigint, s2: bigint): G1Point {
  if (s1 < 0n || s2 < 0n || s1 >> 64n !== 0n || s2 >> 64n !== 0n) throw new RangeError('glv: half scalar out of range');
  if (point.is0()) return G1.Point.ZERO;
  const { beta } = glvConstants();
  const a = point.toAffine();
  const t1: J = { x: a.x, y: a.y, z: 1n };
  const t2: J = { x: red(beta * a.x), y: a.y, z: 1n };
  const t3 = addJ(t1, t2);
  let acc = INF;
  for (let i = 63; i >= 0; i--) {
    acc = dbl(acc);
    const b1 = (s1 >> BigInt(i)) & 1n;
    const b2 = (s2 >> BigInt(i)) & 1n;
    if (b1 && b2) acc = addJ(acc, t3);
    else if (b1) acc = addJ(acc, t1);
    else if (b2) acc = addJ(acc, t2);
  }
  if (acc.z === 0n) return G1.Point.ZERO;
  const zi = fields.Fp.inv(acc.z);
  const zi2 = red(zi * zi);
  return G1.Point.fromAffine({ x: red(acc.x * zi2), y: red(red(acc.y * zi2) * zi) });
}
