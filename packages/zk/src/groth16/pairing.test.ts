import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { bn254 } from '@noble/curves/bn254.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  gtConj,
  gtCyclotomicExpX,
  gtCyclotomicSqr,
  gtEquals,
  gtFinalExponentiate,
  gtFrobenius,
  gtFromNoble,
  gtInv,
  gtMul,
  gtOne,
  gtSqr,
  gtToNoble,
  multiMillerLoop,
  pairing,
  pairingProduct,
  prepareG2,
  prepareG2Fixed,
  prepareG2Noble,
} from './pairing.js';
import { parsePublicInputs, prepareGroth16VerifyingKey, verifyGroth16, type Groth16ProofJSON, type Groth16VerifyingKeyJSON } from './verify.js';

const { G1, G2, fields } = bn254;
const { Fp12, Fr } = fields;
const R = Fr.ORDER;

/** A uniformly random non-zero scalar below r. */
function scalar(): bigint {
  for (;;) {
    let s = 0n;
    for (const b of randomBytes(40)) s = (s << 8n) | BigInt(b);
    s %= R;
    if (s !== 0n) return s;
  }
}
const g1 = () => G1.Point.BASE.multiply(scalar());
const g2 = () => G2.Point.BASE.multiply(scalar());
/** A random Fp12 element (not in GT). */
const randomFp12 = () => {
  const t: bigint[] = [];
  for (let i = 0; i < 12; i++) t.push(fields.Fp.create(BigInt(`0x${Buffer.from(randomBytes(40)).toString('hex')}`)));
  return t;
};

describe('pairing: Fp12 arithmetic agrees with @noble/curves', () => {
  test('conversion round trip, multiplication, squaring, inversion, Frobenius', () => {
    for (let i = 0; i < 5; i++) {
      const a = randomFp12();
      const b = randomFp12();
      const na = gtToNoble(a);
      const nb = gtToNoble(b);
      assert.ok(gtEquals(gtFromNoble(na), a));
      assert.ok(Fp12.eql(gtToNoble(gtMul(a, b)), Fp12.mul(na, nb)), 'mul');
      assert.ok(Fp12.eql(gtToNoble(gtSqr(a)), Fp12.sqr(na)), 'sqr');
      assert.ok(gtEquals(gtMul(a, gtInv(a)), gtOne()), 'inv');
      assert.ok(Fp12.eql(gtToNoble(gtConj(a)), Fp12.conjugate(na)), 'conj');
      for (const k of [1, 2, 3] as const) assert.ok(Fp12.eql(gtToNoble(gtFrobenius(a, k)), Fp12.frobeniusMap(na, k)), `frobenius ${k}`);
    }
  });

  test('cyclotomic squaring and exponentiation by x₀ hold on GT (and cyclotomic squaring is not a plain square elsewhere)', () => {
    const e = pairing(g1(), g2());
    assert.ok(gtEquals(gtCyclotomicSqr(e), gtSqr(e)));
    assert.ok(Fp12.eql(gtToNoble(gtCyclotomicExpX(e)), Fp12.pow(gtToNoble(e), 4965661367192848881n)));
    const a = randomFp12(); // outside the cyclotomic subgroup the shortcut is wrong: the test can fail
    assert.ok(!gtEquals(gtCyclotomicSqr(a), gtSqr(a)));
  });
});

describe('pairing: agreement with @noble/curves and bilinearity', () => {
  test('e(P, Q) equals noble bn254.pairing on random points', () => {
    for (let i = 0; i < 4; i++) {
      const p = g1();
      const q = g2();
      assert.ok(Fp12.eql(gtToNoble(pairing(p, q)), bn254.pairing(p, q)));
    }
  });

  test('the multi-Miller loop product equals noble pairingBatch and the product of single pairings', () => {
    const pairs = Array.from({ length: 5 }, () => [g1(), g2()] as const);
    const mine = pairingProduct(pairs.map(([p, q]) => [p, prepareG2(q)] as const));
    const noble = bn254.pairingBatch(pairs.map(([p, q]) => ({ g1: p, g2: q })));
    assert.ok(Fp12.eql(gtToNoble(mine), noble));
    let prod = gtOne();
    for (const [p, q] of pairs) prod = gtMul(prod, pairing(p, q));
    assert.ok(gtEquals(mine, prod));
  });

  test('bilinear: e(aP, bQ) = e(P, Q)^(ab) = e(abP, Q) = e(P, abQ)', () => {
    const p = g1();
    const q = g2();
    const a = scalar();
    const b = scalar();
    const e = pairing(p, q);
    const lhs = pairing(p.multiply(a), q.multiply(b));
    assert.ok(Fp12.eql(gtToNoble(lhs), Fp12.pow(gtToNoble(e), (a * b) % R)));
    assert.ok(gtEquals(lhs, pairing(p.multiply((a * b) % R), q)));
    assert.ok(gtEquals(lhs, pairing(p, q.multiply((a * b) % R))));
    // e(P, Q)·e(-P, Q) = 1 and e(P, Q)·e(P, -Q) = 1 through the product
    assert.ok(gtEquals(pairingProduct([[p, prepareG2(q)], [p.negate(), prepareG2(q)]]), gtOne()));
    assert.ok(gtEquals(pairingProduct([[p, prepareG2(q)], [p, prepareG2(q.negate())]]), gtOne()));
    // and the relation is sharp: a different scalar gives a different value
    assert.ok(!gtEquals(lhs, pairing(p.multiply((a * b + 1n) % R), q)));
  });

  test('non-degenerate: e(G1, G2) has order r', () => {
    const e = pairing(G1.Point.BASE, G2.Point.BASE);
    assert.ok(!gtEquals(e, gtOne()));
    assert.ok(Fp12.eql(Fp12.pow(gtToNoble(e), R), Fp12.ONE));
  });

  test('G2 line coefficients equal those of noble calcPairingPrecomputes (random points, the generator, -Q)', () => {
    for (const q of [g2(), g2(), G2.Point.BASE, g2().negate()]) {
      const mine = prepareG2(q).steps;
      const noble = prepareG2Noble(q).steps;
      assert.equal(mine.length, noble.length);
      mine.forEach((s, i) => assert.deepEqual(s, noble[i], `step ${i}`));
    }
    assert.notDeepEqual(prepareG2(G2.Point.BASE).steps, prepareG2(G2.Point.BASE.double()).steps);
  });

  test('normalized fixed-point lines give the same pairings (alone and mixed with plain lines), and differ as lines', () => {
    const qs = [g2(), g2(), G2.Point.BASE];
    const ps = qs.map(() => g1());
    const plain = pairingProduct(qs.map((q, i) => [ps[i]!, prepareG2(q)] as const));
    const fixed = pairingProduct(qs.map((q, i) => [ps[i]!, prepareG2Fixed(q)] as const));
    const mixed = pairingProduct(qs.map((q, i) => [ps[i]!, i === 0 ? prepareG2(q) : prepareG2Fixed(q)] as const));
    assert.ok(gtEquals(plain, fixed));
    assert.ok(gtEquals(plain, mixed));
    assert.ok(Fp12.eql(gtToNoble(pairing(ps[0]!, qs[0]!)), gtToNoble(pairingProduct([[ps[0]!, prepareG2Fixed(qs[0]!)]]))));
    const f = prepareG2Fixed(qs[0]!);
    assert.equal(f.steps[0]![0], 1n);
    assert.equal(f.steps[0]![1], 0n);
    assert.notDeepEqual(f.steps, prepareG2(qs[0]!).steps);
    // and bilinearity still holds through normalized lines
    const a = scalar();
    assert.ok(gtEquals(pairingProduct([[ps[1]!.multiply(a), f]]), pairingProduct([[ps[1]!, prepareG2Fixed(qs[0]!.multiply(a))]])));
    assert.ok(prepareG2Fixed(G2.Point.ZERO).infinity);
  });

  test('the identity: e(O, Q) = e(P, O) = 1, skipped inside a product; an all-identity product is 1', () => {
    const p = g1();
    const q = g2();
    assert.ok(gtEquals(pairing(G1.Point.ZERO, q), gtOne()));
    assert.ok(gtEquals(pairing(p, G2.Point.ZERO), gtOne()));
    assert.ok(gtEquals(pairingProduct([[G1.Point.ZERO, prepareG2(q)], [p, prepareG2(q)], [p, prepareG2(G2.Point.ZERO)]]), pairing(p, q)));
    assert.ok(gtEquals(pairingProduct([]), gtOne()));
    assert.ok(gtEquals(multiMillerLoop([[G1.Point.ZERO, prepareG2(G2.Point.ZERO)]]), gtOne()));
  });

  test('fail closed: zero has no final exponentiation, unprepared G2 points are refused', () => {
    assert.throws(() => gtFinalExponentiate(new Array<bigint>(12).fill(0n)), RangeError);
    assert.throws(() => multiMillerLoop([[g1(), {} as ReturnType<typeof prepareG2>]]), TypeError);
    assert.ok(!gtEquals(gtOne(), gtOne().slice(0, 11)), 'a truncated element is never equal');
  });
});

describe('pairing inside the Groth16 verifier', () => {
  const dir = new URL('./testdata/', import.meta.url);
  const load = (file: string): unknown => JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
  const vk = prepareGroth16VerifyingKey(load('vk_main.json'));
  const proof = load('proof_main.json') as Groth16ProofJSON;
  const pub = parsePublicInputs(load('public_main.json'));
  const toJSON = (p: ReturnType<typeof G1.Point.fromAffine>): [string, string] => {
    if (p.is0()) return ['0', '0'];
    const a = p.toAffine();
    return [a.x.toString(), a.y.toString()];
  };

  test('the fixture proof verifies, in both pairing modes', () => {
    assert.equal(verifyGroth16(vk, proof, pub), true);
    assert.equal(verifyGroth16(vk, proof, pub, { separatePairingChecks: true }), true);
  });

  test('a tampered proof is rejected: Ar, Krs, the commitment moved by G, or a public input changed', () => {
    const ar = G1.Point.fromAffine({ x: BigInt(proof.ar[0]), y: BigInt(proof.ar[1]) });
    const krs = G1.Point.fromAffine({ x: BigInt(proof.krs[0]), y: BigInt(proof.krs[1]) });
    const c0 = G1.Point.fromAffine({ x: BigInt(proof.commitments[0]![0]), y: BigInt(proof.commitments[0]![1]) });
    for (const bad of [
      { ...proof, ar: toJSON(ar.add(G1.Point.BASE)) },
      { ...proof, krs: toJSON(krs.double()) },
      { ...proof, commitments: [toJSON(c0.add(G1.Point.BASE))] },
      { ...proof, ar: toJSON(krs), krs: toJSON(ar) },
    ]) {
      assert.equal(verifyGroth16(vk, bad, pub), false);
      assert.equal(verifyGroth16(vk, bad, pub, { separatePairingChecks: true }), false);
    }
    const pub2 = [...pub];
    pub2[0] = (pub2[0]! + 1n) % R;
    assert.equal(verifyGroth16(vk, proof, pub2), false);
  });

  test('points at infinity in the proof are rejected (never an accidental 1 = 1)', () => {
    const zero: [string, string] = ['0', '0'];
    const zero2 = { x: ['0', '0'] as [string, string], y: ['0', '0'] as [string, string] };
    for (const bad of [
      { ...proof, ar: zero },
      { ...proof, krs: zero },
      { ...proof, bs: zero2 },
      { ...proof, ar: zero, bs: zero2 },
      { ...proof, ar: zero, krs: zero, bs: zero2, commitmentPok: zero },
      { ...proof, commitmentPok: zero },
      { ...proof, commitments: [zero] },
    ]) {
      assert.equal(verifyGroth16(vk, bad, pub), false, JSON.stringify(Object.keys(bad)));
    }
  });

  test('a key whose e(α, β) is computed by noble agrees with ours', () => {
    const j = load('vk_main.json') as Groth16VerifyingKeyJSON;
    const alpha = G1.Point.fromAffine({ x: BigInt(j.alpha[0]), y: BigInt(j.alpha[1]) });
    const f2 = (t: [string, string]) => fields.Fp2.fromBigTuple([BigInt(t[0]), BigInt(t[1])]);
    const beta = G2.Point.fromAffine({ x: f2(j.beta.x), y: f2(j.beta.y) });
    assert.ok(Fp12.eql(gtToNoble(pairing(alpha, beta)), bn254.pairing(alpha, beta)));
  });
});

test('the verifier modules run in browsers: no node: imports, no Buffer or process', () => {
  const src = new URL('../../src/groth16/', import.meta.url);
  for (const file of ['pairing.ts', 'fixed-msm.ts', 'glv.ts', 'verify.ts']) {
    const text = readFileSync(new URL(file, src), 'utf8');
    assert.doesNotMatch(text, /from\s+'node:/, file);
    assert.doesNotMatch(text, /\b(Buffer|process)\./, file);
  }
});
