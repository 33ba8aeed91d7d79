import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bn254 } from '@noble/curves/bn254.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { glvConstants, glvMul, randomGlvScalar } from './glv.js';

const { G1, fields } = bn254;
const R = fields.Fr.ORDER;
const P = fields.Fp.ORDER;
const rand = (bytes: number): bigint => {
  let s = 0n;
  for (const b of randomBytes(bytes)) s = (s << 8n) | BigInt(b);
  return s;
};

describe('G1 endomorphism scalars (GLV)', () => {
  test('β and λ are non-trivial cube roots of unity and φ(P) = [λ]P on random points', () => {
    const { beta, lambda } = glvConstants();
    assert.notEqual(beta, 1n);
    assert.notEqual(lambda, 1n);
    assert.equal(fields.Fp.pow(beta, 3n), 1n);
    assert.equal(fields.Fr.pow(lambda, 3n), 1n);
    for (let i = 0; i < 3; i++) {
      const p = G1.Point.BASE.multiply((rand(32) % (R - 1n)) + 1n).toAffine();
      const l = G1.Point.fromAffine(p).multiply(lambda).toAffine();
      assert.equal(l.x, (beta * p.x) % P);
      assert.equal(l.y, p.y);
    }
  });

  test('s₁·P + s₂·φ(P) = [s₁ + λ·s₂]P, including zero halves, all-ones halves and the identity', () => {
    const { lambda } = glvConstants();
    const p = G1.Point.BASE.multiply((rand(32) % (R - 1n)) + 1n);
    const max = (1n << 64n) - 1n;
    for (const [s1, s2] of [
      [rand(8), rand(8)],
      [rand(8), 0n],
      [0n, rand(8)],
      [max, max],
      [1n, 0n],
      [0n, 1n],
      [0n, 0n],
    ] as [bigint, bigint][]) {
      const s = (s1 + lambda * s2) % R;
      const want = s === 0n ? G1.Point.ZERO : p.multiply(s);
      assert.ok(glvMul(p, s1, s2).equals(want), `${s1} ${s2}`);
    }
    assert.ok(glvMul(G1.Point.ZERO, 5n, 7n).is0());
    assert.ok(glvMul(p, 3n, 0n).equals(p.multiply(3n)));
    assert.ok(glvMul(p.negate(), max, 1n).equals(p.negate().multiply((max + lambda) % R)));
  });

  test('random scalars: 64-bit halves, not both zero, s = s₁ + λ·s₂ mod r, fresh each time', () => {
    const { lambda } = glvConstants();
    const seen = new Set<bigint>();
    for (let i = 0; i < 20; i++) {
      const g = randomGlvScalar();
      assert.ok(g.s1 >= 0n && g.s1 < 1n << 64n && g.s2 >= 0n && g.s2 < 1n << 64n);
      assert.ok(g.s1 !== 0n || g.s2 !== 0n);
      assert.equal(g.s, (g.s1 + lambda * g.s2) % R);
      seen.add(g.s);
    }
    assert.equal(seen.size, 20);
  });

  test('half scalars out of range are refused', () => {
    assert.throws(() => glvMul(G1.Point.BASE, 1n << 64n, 0n), RangeError);
    assert.throws(() => glvMul(G1.Point.BASE, 0n, -1n), RangeError);
  });
});
