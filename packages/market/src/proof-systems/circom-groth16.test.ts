/**
 * Bring-your-own circom, end to end with the real tools: the fixture circuit
 * (packages/market/fixtures/circom/factor.circom) compiled by circom2 from an empty
 * cache, a local one-party setup with snarkjs, a Groth16 proof, and the
 * circom-groth16 proof system's verdicts on honest and forged proofs, malformed
 * keys, signals and proofs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bn254 } from '@noble/curves/bn254.js';
import { isVeriteeError } from '@veritee/core';
import { BN254_P, BN254_R } from '@veritee/zk';
import { compileCircom, type CircomArtifacts } from '../circom/compile.js';
import { importCircomSetup, setupCircom, type CircomSetup } from '../circom/setup.js';
import { proveCircom, type CircomProof } from '../circom/prove.js';
import { releaseCircomResources } from '../circom/release.js';
import { CIRCOM_VK_FORMAT, type CircomVerificationKeyDocument } from '../circom/format.js';
import { circomGroth16ProofSystem } from './circom-groth16.js';
import { verifyCircomWithZk } from '../circom/second-verifier.js';
import { canonicalCircomVerificationKey, parseCircomVerificationKey, parseSnarkjsProof, proofPointsValid } from '../circom/format.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/circom/factor.circom', import.meta.url));
const NOW = '2026-01-01T00:00:00.000Z';

// A second circuit with one public signal: "I know x with x * x = N".
const SQUARE = `pragma circom 2.1.0;
template Square() {
    signal input N;
    signal input x;
    N === x * x;
}
component main {public [N]} = Square();
`;

const X = 65537n;
const Y = 4294967291n; // 2^32 - 5, below 2^32 + 2
const N = X * Y;

let cache: string;
let factor: CircomArtifacts;
let square: CircomArtifacts;
let setupA: CircomSetup;
let setupA2: CircomSetup;
let setupSq: CircomSetup;
let good: CircomProof;
let sqProof: CircomProof;
const sys = circomGroth16ProofSystem({ allowDevSetup: true });

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const code = (c: string, re?: RegExp) => (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test((e as Error).message));

before(async () => {
  cache = mkdtempSync(join(tmpdir(), 'veritee-circom-test-'));
  factor = await compileCircom({ file: FIXTURE }, { cacheDir: cache });
  square = await compileCircom(SQUARE, { name: 'square', cacheDir: cache });
  setupA = await setupCircom(factor, { cacheDir: cache, now: NOW });
  setupA2 = await setupCircom(factor, { cacheDir: cache, now: NOW });
  setupSq = await setupCircom(square, { cacheDir: cache, now: NOW });
  good = await proveCircom({ wasm: factor.wasm, zkey: setupA.zkey }, { N: N.toString(), x: X.toString(), y: Y.toString() });
  sqProof = await proveCircom({ wasm: square.wasm, zkey: setupSq.zkey }, { N: '49', x: 7 });
});

after(async () => {
  await releaseCircomResources();
  rmSync(cache, { recursive: true, force: true });
});

test('compiled from an empty cache, then found in it by content hash', async () => {
  assert.equal(factor.cached, false);
  assert.equal(factor.publicSignals, 1);
  assert.equal(factor.privateInputs, 2);
  assert.ok(factor.constraints >= 66, `constraints ${factor.constraints}`); // 2 × 32 bits + the product
  assert.match(factor.compiler, /^circom compiler 2\.\d+\.\d+ \(circom2 0\.2\.23\)$/);
  const again = await compileCircom({ file: FIXTURE }, { cacheDir: cache });
  assert.equal(again.cached, true);
  assert.equal(again.r1csSha256, factor.r1csSha256);
  assert.equal(again.dir, factor.dir);
  // same source as text under the same name: same entry
  const text = await compileCircom(readFileSync(FIXTURE, 'utf8'), { name: 'factor', cacheDir: cache });
  assert.equal(text.cached, true);
  assert.equal(text.key, factor.key);
});

test('a cache entry whose files were altered is dropped and rebuilt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-circom-alter-'));
  try {
    const a = await compileCircom(SQUARE, { name: 'square', cacheDir: dir });
    writeFileSync(a.wasm, 'not the generator');
    const b = await compileCircom(SQUARE, { name: 'square', cacheDir: dir });
    assert.equal(b.cached, false);
    assert.equal(b.wasmSha256, a.wasmSha256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a circom compile error is CIRCOM_COMPILE_FAILED naming the file and line', async () => {
  const bad = 'pragma circom 2.1.0;\ntemplate T() {\n    signal input a;\n    signal output b;\n\n    b <== a * a\n}\ncomponent main = T();\n';
  await assert.rejects(compileCircom(bad, { name: 'bad', cacheDir: cache }), code('CIRCOM_COMPILE_FAILED', /bad\.circom:6:\d+: error\[P\d+\]: Missing semicolon/));
  // a semantic error (non-quadratic constraint) is located too
  const cubic = 'pragma circom 2.1.0;\ntemplate T() {\n    signal input a;\n    signal output b;\n    b <== a * a * a;\n}\ncomponent main = T();\n';
  await assert.rejects(compileCircom(cubic, { name: 'cubic', cacheDir: cache }), code('CIRCOM_COMPILE_FAILED', /cubic\.circom:5:\d+: error/));
  await assert.rejects(compileCircom(SQUARE, { name: '../escape', cacheDir: cache }), code('INPUT_INVALID'));
});

test('the fixture proof verifies (round trip) and its public signal is N', async () => {
  assert.deepEqual(good.publicSignals, [N.toString()]);
  assert.equal(await sys.verify(setupA.verificationKey, good.publicSignals, good.proof), true);
  // the key document written next to the zkey is the one returned
  const written = JSON.parse(readFileSync(join(setupA.zkey, '..', 'verification_key.json'), 'utf8'));
  assert.deepEqual(written, setupA.verificationKey);
  assert.equal(await sys.verify(JSON.stringify(written), good.publicSignals, good.proof), true);
});

test('the setup is labelled dev and refused unless allowDevSetup', async () => {
  const vk = setupA.verificationKey;
  assert.equal(vk.setup.kind, 'dev');
  assert.match(vk.setup.warning ?? '', /forge/);
  assert.equal(vk.setup.power, 8);
  assert.equal(vk.setup.ptauSha256, setupA.ptau.sha256);
  assert.equal(setupA2.ptau.cached, true); // the second setup reused the local ptau
  const strict = circomGroth16ProofSystem();
  assert.throws(() => strict.parseVerificationKey(vk), code('ZK_DEV_SETUP_REFUSED'));
  await assert.rejects(strict.verify(vk, good.publicSignals, good.proof), code('ZK_DEV_SETUP_REFUSED'));
  const external = { ...clone(vk), setup: { kind: 'external', createdAt: NOW } };
  assert.throws(() => strict.parseVerificationKey(external), code('ZK_DEV_SETUP_REFUSED', /external/));
  assert.equal(await circomGroth16ProofSystem({ allowExternalSetup: true }).verify(external, good.publicSignals, good.proof), true);
});

test('a proof does not verify for other public inputs', async () => {
  assert.equal(await sys.verify(setupA.verificationKey, [(N + 1n).toString()], good.proof), false);
  assert.equal(await sys.verify(setupA.verificationKey, ['0'], good.proof), false);
  assert.equal(await sys.verify(setupA.verificationKey, [(BN254_R - 1n).toString()], good.proof), false);
});

test('a tampered proof does not verify', async () => {
  const vk = setupA.verificationKey;
  // A replaced by C (both valid points)
  const swapped = clone(good.proof);
  swapped.pi_a = swapped.pi_c;
  assert.equal(await sys.verify(vk, good.publicSignals, swapped), false);
  // A doubled
  const a = bn254.G1.Point.fromAffine({ x: BigInt(good.proof.pi_a[0]), y: BigInt(good.proof.pi_a[1]) }).double().toAffine();
  const doubled = clone(good.proof);
  doubled.pi_a = [a.x.toString(), a.y.toString(), '1'];
  assert.equal(await sys.verify(vk, good.publicSignals, doubled), false);
  // A moved off the curve
  const off = clone(good.proof);
  off.pi_a = [off.pi_a[0], ((BigInt(off.pi_a[1]) + 1n) % BN254_P).toString(), '1'];
  assert.equal(await sys.verify(vk, good.publicSignals, off), false);
  // B off the twist
  const offB = clone(good.proof);
  offB.pi_b = [offB.pi_b[0], [offB.pi_b[1][1], offB.pi_b[1][0]], offB.pi_b[2]];
  assert.equal(await sys.verify(vk, good.publicSignals, offB), false);
  // B on the twist but outside the subgroup of order r (snarkjs checks only the curve equation)
  const smallB = clone(good.proof);
  smallB.pi_b = g2OffSubgroup();
  assert.equal(proofPointsValid(parseSnarkjsProof(smallB)), false);
  assert.equal(await sys.verify(vk, good.publicSignals, smallB), false);
});

test('a proof does not verify under another circuit’s key, nor under another setup of the same circuit', async () => {
  assert.equal(setupSq.verificationKey.groth16.nPublic, 1);
  assert.equal(await sys.verify(setupSq.verificationKey, good.publicSignals, good.proof), false);
  assert.equal(await sys.verify(setupA.verificationKey, sqProof.publicSignals, sqProof.proof), false);
  assert.equal(await sys.verify(setupSq.verificationKey, sqProof.publicSignals, sqProof.proof), true);
  assert.equal(await sys.verify(setupA2.verificationKey, good.publicSignals, good.proof), false);
  assert.notEqual(sys.parseVerificationKey(setupA2.verificationKey).digest, sys.parseVerificationKey(setupA.verificationKey).digest);
});

test('cheating witnesses do not solve the circuit (forgeries)', async () => {
  const art = { wasm: factor.wasm, zkey: setupA.zkey };
  // the trivial factorisation 1 × N
  await assert.rejects(proveCircom(art, { N: N.toString(), x: '1', y: N.toString() }), code('CIRCOM_WITNESS_FAILED', /constraint fails/));
  // x·y = N only modulo r (y = N / x in the field)
  const inv = (v: bigint) => {
    let [a, m, x0, x1] = [v % BN254_R, BN254_R, 0n, 1n];
    while (a > 1n) {
      const q = a / m;
      [a, m] = [m, a % m];
      [x0, x1] = [x1 - q * x0, x0];
    }
    return ((x1 % BN254_R) + BN254_R) % BN254_R;
  };
  const p = 1000003n;
  await assert.rejects(proveCircom(art, { N: p.toString(), x: '3', y: ((p * inv(3n)) % BN254_R).toString() }), code('CIRCOM_WITNESS_FAILED'));
  // a factor just past the range: 2 × (2^32 + 2)
  const big = 2n ** 32n + 2n;
  await assert.rejects(proveCircom(art, { N: (2n * big).toString(), x: '2', y: big.toString() }), code('CIRCOM_WITNESS_FAILED'));
  // a wrong product
  await assert.rejects(proveCircom(art, { N: '16', x: '3', y: '5' }), code('CIRCOM_WITNESS_FAILED'));
  // inputs that are not the circuit's
  await assert.rejects(proveCircom(art, { N: '15', x: '3' }), code('CIRCOM_WITNESS_FAILED'));
  await assert.rejects(proveCircom(art, { N: '15', x: '3', y: '-5' }), code('CIRCOM_WITNESS_FAILED'));
  await assert.rejects(proveCircom(art, [1, 2]), code('CIRCOM_WITNESS_FAILED'));
});

// A witness generator that loops for as long as a ≠ 0 (a var loop the constraints do not see).
const SPIN = `pragma circom 2.1.0;
template Spin() {
    signal input a;
    signal output b;
    var i = 0;
    while (i < a) {
        i = i * 1;
    }
    b <-- i;
    b * a === 0;
}
component main = Spin();
`;

test('a witness generator that does not end is stopped after its time limit', async () => {
  const spin = await compileCircom(SPIN, { name: 'spin', cacheDir: cache });
  const t = performance.now();
  await assert.rejects(proveCircom({ wasm: spin.wasm, zkey: setupA.zkey }, { a: 1 }, { witnessTimeoutMs: 1500 }), code('CIRCOM_WITNESS_FAILED', /did not finish within 1\.5 s/));
  assert.ok(performance.now() - t >= 1500);
  // the same generator ends for a = 0 (its witness is then refused by the factor zkey: another circuit)
  await assert.rejects(proveCircom({ wasm: spin.wasm, zkey: setupA.zkey }, { a: 0 }, { witnessTimeoutMs: 30_000 }), code('CIRCOM_TOOL_FAILED', /witness/i));
});

test('public signals must be canonical decimals below r, as many as the key declares', async () => {
  const vk = setupA.verificationKey;
  const bad = async (signals: unknown, re: RegExp) => assert.rejects(sys.verify(vk, signals, good.proof), code('CIRCOM_PUBLIC_SIGNALS_INVALID', re));
  await bad([BN254_R.toString()], /below the BN254 scalar field modulus/);
  await bad([(N + BN254_R).toString()], /below the BN254 scalar field modulus/); // the same value mod r
  await bad([], /0 signals, the key expects 1/);
  await bad([N.toString(), '1'], /2 signals/);
  await bad(['0' + N.toString()], /canonical decimal/);
  await bad([Number(15)], /canonical decimal/);
  await bad('15', /expected an array/);
});

test('malformed proofs are CIRCOM_PROOF_MALFORMED', async () => {
  const vk = setupA.verificationKey;
  const bad = async (proof: unknown, re: RegExp) => assert.rejects(sys.verify(vk, good.publicSignals, proof), code('CIRCOM_PROOF_MALFORMED', re));
  await bad({ ...good.proof, pi_a: good.proof.pi_a.slice(0, 2) }, /proof\.pi_a/);
  await bad({ ...good.proof, pi_a: [good.proof.pi_a[0], BN254_P.toString(), '1'] }, /below the base field modulus/);
  await bad({ ...good.proof, pi_c: [good.proof.pi_c[0], good.proof.pi_c[1], '2'] }, /affine/);
  await bad({ ...good.proof, extra: 1 }, /proof/);
  await bad({ ...good.proof, curve: 'bls12381' }, /proof\.curve/);
  await bad(null, /proof/);
});

/** A point on the BN254 twist outside the subgroup of order r (the twist's cofactor is large). */
function g2OffSubgroup(): [[string, string], [string, string], [string, string]] {
  const { Fp2 } = bn254.fields;
  const b = bn254.G2.Point.CURVE().b;
  for (let i = 1n; ; i++) {
    const x = Fp2.fromBigTuple([i, 1n]);
    const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), b);
    let y;
    try {
      y = Fp2.sqrt(rhs);
    } catch {
      continue;
    }
    if (!Fp2.eql(Fp2.sqr(y), rhs)) continue;
    const p = bn254.G2.Point.fromAffine({ x, y });
    if (p.multiplyUnsafe(BN254_R - 1n).add(p).is0()) continue; // [r]P = O: in the subgroup after all
    return [[x.c0.toString(), x.c1.toString()], [y.c0.toString(), y.c1.toString()], ['1', '0']];
  }
}

test('malformed verification keys are CIRCOM_VK_INVALID naming the field', () => {
  const vk = setupA.verificationKey;
  const bad = (mutate: (k: CircomVerificationKeyDocument & { [k: string]: unknown }) => void, re: RegExp) => {
    const k = clone(vk) as CircomVerificationKeyDocument & { [k: string]: unknown };
    mutate(k);
    assert.throws(() => sys.parseVerificationKey(k), code('CIRCOM_VK_INVALID', re));
  };
  bad((k) => (k.groth16.vk_alpha_1 = [k.groth16.vk_alpha_1[0], ((BigInt(k.groth16.vk_alpha_1[1]) + 1n) % BN254_P).toString(), '1']), /vk\.groth16\.vk_alpha_1: point is not on the curve/);
  bad((k) => (k.groth16.vk_delta_2 = g2OffSubgroup()), /vk\.groth16\.vk_delta_2: point is not in the G2 subgroup/);
  bad((k) => (k.groth16.vk_gamma_2 = [k.groth16.vk_gamma_2[1], k.groth16.vk_gamma_2[0], ['1', '0']]), /vk_gamma_2: point is not on the twist/);
  bad((k) => (k.groth16.IC[1] = [k.groth16.IC[1]![0], BN254_P.toString(), '1']), /IC\[1\]\[1\]: coordinate not below the base field modulus/);
  bad((k) => (k.groth16.IC = k.groth16.IC.slice(0, 1)), /IC: 1 points for nPublic 1/);
  bad((k) => ((k.groth16 as { curve: string }).curve = 'bls12381'), /vk\.groth16\.curve/);
  bad((k) => ((k.groth16 as { protocol: string }).protocol = 'plonk'), /vk\.groth16\.protocol/);
  bad((k) => ((k as { format: string }).format = 'veritee.circom-vk/v0'), /vk\.format/);
  bad((k) => (k.groth16.vk_alpha_1 = ['0', '1', '0']), /point at infinity/);
  bad((k) => (k.groth16.vk_beta_2 = [['1', '2'], ['3', '4'], ['1', '1']]), /affine/);
  bad((k) => ((k.groth16 as { nPublic: number }).nPublic = 2), /IC: 2 points for nPublic 2/);
  bad((k) => (k.surprise = true), /vk/);
  // duplicate keys in JSON text
  const text = JSON.stringify(vk).replace(`"format":"${CIRCOM_VK_FORMAT}"`, `"format":"${CIRCOM_VK_FORMAT}","format":"${CIRCOM_VK_FORMAT}"`);
  assert.throws(() => sys.parseVerificationKey(text), code('CIRCOM_VK_INVALID'));
});

test('the key digest is canonical: text or object, with or without snarkjs’s e(α, β)', () => {
  const vk = setupA.verificationKey;
  const a = sys.parseVerificationKey(vk);
  assert.match(a.digest, /^[0-9a-f]{64}$/);
  assert.equal(sys.parseVerificationKey(JSON.stringify(vk, null, 1)).digest, a.digest);
  const withoutPairing = clone(vk);
  delete (withoutPairing.groth16 as { vk_alphabeta_12?: unknown }).vk_alphabeta_12;
  assert.equal(sys.parseVerificationKey(withoutPairing).digest, a.digest);
  assert.equal('vk_alphabeta_12' in a.canonical.groth16, false);
  // the canonical form verifies like the original
  return sys.verify(a.canonical, good.publicSignals, good.proof).then((ok) => assert.equal(ok, true));
});

test('private inputs are checked for shape (the key does not carry the witness generator)', () => {
  const vk = setupA.verificationKey;
  sys.checkPrivateInputs(vk, [N.toString()], { N: N.toString(), x: X.toString(), y: Y });
  assert.throws(() => sys.checkPrivateInputs(vk, [BN254_R.toString()], { x: 1 }), code('CIRCOM_PUBLIC_SIGNALS_INVALID'));
  assert.throws(() => sys.checkPrivateInputs(vk, [N.toString()], { x: -1 }), code('CIRCOM_WITNESS_FAILED', /input x/));
  assert.throws(() => sys.checkPrivateInputs(vk, [N.toString()], { 'x;drop': 1 }), code('CIRCOM_WITNESS_FAILED', /signal name/));
  assert.throws(() => sys.checkPrivateInputs(vk, [N.toString()], { x: 1.5 }), code('CIRCOM_WITNESS_FAILED'));
  assert.throws(() => circomGroth16ProofSystem().checkPrivateInputs(vk, [N.toString()], { x: 1 }), code('ZK_DEV_SETUP_REFUSED'));
});

test('snarkjs and the independent @veritee/zk pairing code agree on honest and forged proofs', async () => {
  const both = circomGroth16ProofSystem({ allowDevSetup: true, crossCheck: true });
  const a = bn254.G1.Point.fromAffine({ x: BigInt(good.proof.pi_a[0]), y: BigInt(good.proof.pi_a[1]) });
  const neg = a.negate().toAffine();
  const bNeg = (() => {
    const p = clone(good.proof);
    const y = p.pi_b[1];
    p.pi_b = [p.pi_b[0], [((BN254_P - BigInt(y[0])) % BN254_P).toString(), ((BN254_P - BigInt(y[1])) % BN254_P).toString()], p.pi_b[2]];
    p.pi_a = [neg.x.toString(), neg.y.toString(), '1'];
    return p; // (−A, −B): the classic Groth16 malleation, a valid proof of the same statement
  })();
  const cases: [string, CircomVerificationKeyDocument, string[], CircomProof['proof'], boolean][] = [
    ['honest', setupA.verificationKey, good.publicSignals, good.proof, true],
    ['honest, other circuit', setupSq.verificationKey, sqProof.publicSignals, sqProof.proof, true],
    ['malleated (−A, −B)', setupA.verificationKey, good.publicSignals, bNeg, true],
    ['other public input', setupA.verificationKey, [(N + 1n).toString()], good.proof, false],
    ['A replaced by C', setupA.verificationKey, good.publicSignals, { ...good.proof, pi_a: good.proof.pi_c }, false],
    ['A negated only', setupA.verificationKey, good.publicSignals, { ...good.proof, pi_a: [neg.x.toString(), neg.y.toString(), '1'] }, false],
    ['A at infinity', setupA.verificationKey, good.publicSignals, { ...good.proof, pi_a: ['0', '1', '0'] }, false],
    ['other circuit key', setupSq.verificationKey, good.publicSignals, good.proof, false],
    ['other setup of the same circuit', setupA2.verificationKey, good.publicSignals, good.proof, false],
  ];
  for (const [name, vk, signals, proof, expected] of cases) {
    const bySnarkjs = await sys.verify(vk, signals, proof);
    const byZk = verifyCircomWithZk(parseCircomVerificationKey(vk), signals, parseSnarkjsProof(proof));
    assert.equal(bySnarkjs, expected, `snarkjs on ${name}`);
    assert.equal(byZk, expected, `@veritee/zk on ${name}`);
    assert.equal(await both.verify(vk, signals, proof), expected, `cross-checked on ${name}`);
  }
});

test('a setup made elsewhere is checked with snarkjs and labelled external', async () => {
  const imported = await importCircomSetup(factor, { ptau: setupA.ptau.file, zkey: setupA.zkey, now: NOW });
  const vk = imported.verificationKey;
  assert.equal(vk.setup.kind, 'external');
  assert.deepEqual(vk.setup.contributions, setupA.verificationKey.setup.contributions); // read back from the zkey
  assert.equal(vk.setup.ptauSha256, setupA.ptau.sha256);
  assert.deepEqual(canonicalCircomVerificationKey(vk).canonical.groth16, canonicalCircomVerificationKey(setupA.verificationKey).canonical.groth16);
  assert.throws(() => sys.parseVerificationKey(vk), code('ZK_DEV_SETUP_REFUSED', /external/));
  assert.equal(await circomGroth16ProofSystem({ allowExternalSetup: true }).verify(vk, good.publicSignals, good.proof), true);
  // another circuit's zkey, and a zkey with one byte changed, do not verify
  await assert.rejects(importCircomSetup(factor, { ptau: setupA.ptau.file, zkey: setupSq.zkey, now: NOW }), code('CEREMONY_INVALID'));
  const altered = join(cache, 'altered.zkey');
  copyFileSync(setupA.zkey, altered);
  const bytes = readFileSync(altered);
  bytes[bytes.length - 40] ^= 1;
  writeFileSync(altered, bytes);
  await assert.rejects(importCircomSetup(factor, { ptau: setupA.ptau.file, zkey: altered, now: NOW }), code('CEREMONY_INVALID'));
});
