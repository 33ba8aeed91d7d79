import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bn254 } from '@noble/curves/bn254.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { fixedBaseMsm } from './fixed-msm.js';

const { G1, fields } = bn254;
const R = fields.Fr.ORDER;
const rand = (bytes: number): bigint => {
  let s = 0n;
  for (const b of randomBytes(bytes)) s = (s << 8n) | BigInt(b);
  return s;
};
/** Σ sᵢ·Pᵢ the slow way (scalars reduced mod r, as the group has order r). */
const naive = (points: ReturnType<typeof G1.Point.fromAffine>[], scalars: bigint[]) =>
  points.reduce((acc, p, i) => (scalars[i]! % R === 0n ? acc : acc.add(p.multiplyUnsafe(scalars[i]! % R))), G1.Point.ZERO);

describe('fixed-base MSM', () => {
  const points = Array.from({ length: 6 }, () => G1.Point.BASE.multiply(rand(31) + 1n));
  const msm = fixedBaseMsm(points);

  test('agrees with scalar multiplication on random, small, zero and extreme scalars (tables reused across calls)', () => {
    const cases: bigint[][] = [
      points.map(() => rand(32) % R),
      points.map(() => rand(2)),
      [0n, 1n, 15n, 16n, R - 1n, (1n << 51n) + 7n],
      [0n, 0n, 0n, 0n, 0n, 0n],
      [(1n << 256n) - 1n, R, R + 1n, 0n, 2n ** 128n, 1n],
      points.map(() => rand(32) % R),
    ];
    for (const s of cases) assert.ok(msm(s).equals(naive(points, s)), s.join(','));
    assert.ok(msm([0n, 0n, 0n, 0n, 0n, 0n]).is0());
    // a sum that cancels to the identity
    const two = fixedBaseMsm([points[0]!, points[0]!.negate()]);
    assert.ok(two([5n, 5n]).is0());
    assert.ok(!two([5n, 4n]).is0());
  });

  test('refuses a wrong number of scalars, negative ones and ones of 2^256 or more', () => {
    assert.throws(() => msm([1n]), RangeError);
    assert.throws(() => msm([-1n, 0n, 0n, 0n, 0n, 0n]), RangeError);
    assert.throws(() => msm([1n << 256n, 0n, 0n, 0n, 0n, 0n]), RangeError);
  });
});
