/**
 * The veritee-claim proof system with the real Go prover: a latency claim proven at
 * the 1024 size class (dev keys in the shared test home), verified through the
 * ProofSystem seam, and the forgeries a market must not pay for.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock, isVeriteeError } from '@veritee/core';
import { devSetup, latencyClaim, parseSla, prove, ProverPool, vkHash, type LatencyParams, type ProofBundle, type VerificationKeyDocument } from '@veritee/zk';
import { testHome } from '@veritee/zk/testing';
import { publicInputMismatches, veriteeClaimProofSystem } from './veritee-claim.js';

const CAP = 1024;
const period = { periodStartUs: 1_763_596_800_000_000, periodEndUs: 1_763_596_800_000_000 + 3_600_000_000 };
const params: LatencyParams = { ...period, ...parseSla('p95<150ms,p99<250ms,min=50') };
// Verification an hour after the period (bundles made now are in the future of it: use the real time).
const clock = fixedClock(Date.now() + 60_000);

let pool: ProverPool;
let vk: VerificationKeyDocument;
let other: VerificationKeyDocument;
let good: ProofBundle;
const sys = veriteeClaimProofSystem({ allowDevSetup: true, clock });

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const code = (c: string, re?: RegExp) => (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test((e as Error).message));

function records(n: number): number[] {
  let a = 7;
  const r = () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.floor(r() * 3_500_000_000);
    out.push(s, s + 1000 + Math.floor(r() * 100_000));
  }
  return out;
}

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  vk = await devSetup(pool, 'latency', CAP);
  other = await devSetup(pool, 'disk', 128);
  good = (await prove(pool, latencyClaim, { params, data: { records: records(200) } })).bundle as ProofBundle;
});

after(async () => {
  await pool.close();
});

const pin = (b: ProofBundle) => ({ kind: b.claim.kind, version: b.claim.version, params: b.claim.params });

test('a proven claim verifies through the seam (round trip); the digest is the key hash bundles name', async () => {
  assert.equal(sys.id, 'veritee-claim');
  const k = sys.parseVerificationKey(vk);
  assert.equal(k.digest, vkHash(vk));
  assert.equal(k.digest, good.proof.vkHash);
  assert.equal(await sys.verify(vk, pin(good), good), true);
  assert.equal(await sys.verify(JSON.stringify(vk), { kind: 'latency' }, JSON.stringify(good)), true);
  assert.equal(await sys.verify(vk, { kind: 'latency', outputs: good.claim.outputs, expect: 'sla=p95<150ms,p99<250ms,min=50' }, good), true);
});

test('dev keys are refused unless allowDevSetup; a ceremony label without a record is refused', async () => {
  const strict = veriteeClaimProofSystem({ clock });
  assert.throws(() => strict.parseVerificationKey(vk), code('ZK_DEV_SETUP_REFUSED'));
  await assert.rejects(strict.verify(vk, pin(good), good), code('ZK_DEV_SETUP_REFUSED'));
  const relabelled = clone(vk);
  relabelled.setup.kind = 'ceremony';
  assert.throws(() => strict.parseVerificationKey(relabelled), code('ZK_CEREMONY_POLICY'));
});

test('a proof does not verify for other public inputs', async () => {
  assert.equal(await sys.verify(vk, { ...pin(good), params: { ...good.claim.params, minN: 49 } }, good), false);
  assert.equal(await sys.verify(vk, { kind: 'disk' }, good), false);
  assert.equal(await sys.verify(vk, { kind: 'latency', expect: 'sla=p95<100ms' }, good), false);
  // the bundle's own outputs changed (a better p95 than was proven): the pairing check fails
  const lied = clone(good);
  (lied.claim.outputs as Record<string, unknown>).n = (good.claim.outputs as { n: number }).n + 1;
  assert.equal(await sys.verify(vk, { kind: 'latency' }, lied), false);
});

test('a tampered proof does not verify', async () => {
  const t = clone(good);
  t.proof.groth16.ar = t.proof.groth16.krs;
  assert.equal(await sys.verify(vk, pin(good), t), false);
  const k = clone(good);
  k.proof.groth16.krs = good.proof.groth16.ar;
  assert.equal(await sys.verify(vk, pin(good), k), false);
  const m = clone(good);
  m.proof.groth16.commitments = [good.proof.groth16.ar];
  assert.equal(await sys.verify(vk, pin(good), m), false);
});

test('a latency commitment is bound by the enclave signature, not the proof: pinning it is refused', async () => {
  // the property that makes the refusal necessary: another commitment still verifies
  const c = clone(good);
  c.commitment = (BigInt(c.commitment) ^ 1n).toString();
  assert.equal(await sys.verify(vk, { kind: 'latency' }, c), true);
  await assert.rejects(sys.verify(vk, { kind: 'latency', commitment: good.commitment }, good), code('INPUT_INVALID', /enclave signature/));
  // for claims whose proof does bind it (public-input binding), the pin is compared
  assert.deepEqual(publicInputMismatches(good, { kind: 'latency', commitment: good.commitment }), []);
  assert.deepEqual(publicInputMismatches(good, { kind: 'latency', commitment: '1' }), ['commitment differs']);
});

test('a proof does not verify under another circuit’s key, even when the bundle names that key', async () => {
  assert.equal(await sys.verify(other, { kind: 'latency' }, good), false);
  const renamed = clone(good);
  renamed.proof.vkHash = vkHash(other);
  assert.equal(await sys.verify(other, { kind: 'latency' }, renamed), false);
  // a key of the same circuit with δ replaced by γ (valid points, another key)
  const swapped = clone(vk);
  swapped.groth16.delta = swapped.groth16.gamma;
  const relinked = clone(good);
  relinked.proof.vkHash = vkHash(swapped);
  assert.equal(await sys.verify(swapped, { kind: 'latency' }, relinked), false);
});

test('a bundle made after the verification time does not verify', async () => {
  const early = veriteeClaimProofSystem({ allowDevSetup: true, clock: fixedClock(period.periodEndUs / 1000 + 3_600_000) });
  assert.equal(await early.verify(vk, { kind: 'latency' }, good), false);
});

test('malformed keys, bundles and public inputs throw with their codes', async () => {
  const offCurve = clone(vk);
  offCurve.groth16.alpha = [offCurve.groth16.alpha[0], ((BigInt(offCurve.groth16.alpha[1]) + 1n)).toString()];
  assert.throws(() => sys.parseVerificationKey(offCurve), code('ZK_VK_INVALID', /not on the curve/));
  assert.throws(() => sys.parseVerificationKey({ format: 'veritee.vk/v1' }), code('ZK_VK_INVALID'));
  await assert.rejects(sys.verify(vk, { kind: 'latency' }, { format: 'veritee.proof/v2' }), code('ZK_BUNDLE_INVALID'));
  await assert.rejects(sys.verify(vk, { kind: 'latency' }, { ...clone(good), format: 'veritee.proof/v1' }), code('ZK_BUNDLE_VERSION'));
  const dup = JSON.stringify(good).replace('"format":"veritee.proof/v2"', '"format":"veritee.proof/v2","format":"veritee.proof/v2"');
  await assert.rejects(sys.verify(vk, { kind: 'latency' }, dup), code('ZK_BUNDLE_INVALID'));
  await assert.rejects(sys.verify(vk, { kind: 'latency', surprise: 1 }, good), code('INPUT_INVALID', /public inputs/));
  await assert.rejects(sys.verify(vk, null, good), code('INPUT_INVALID'));
  await assert.rejects(sys.verify(vk, { kind: 'latency', expect: 'nonsense==' }, good), code('INPUT_INVALID'));
  await assert.rejects(sys.verify(vk, { kind: 'latency' }, 'x'.repeat(4 * 1024 * 1024 + 1)), code('INPUT_TOO_LARGE'));
});

test('private inputs are checked against the claim and the key before anyone proves', () => {
  const pub = { kind: 'latency', params };
  sys.checkPrivateInputs(vk, pub, { records: records(200) });
  const reversed = records(3);
  reversed[1] = reversed[0]! - 1; // ends before it starts
  assert.throws(() => sys.checkPrivateInputs(vk, pub, { records: reversed }), code('RECORD_END_BEFORE_START'));
  assert.throws(() => sys.checkPrivateInputs(vk, pub, { records: records(CAP + 1) }), (e: unknown) => isVeriteeError(e) && /1024|records/.test((e as Error).message));
  assert.throws(() => sys.checkPrivateInputs(other, pub, { records: records(5) }), code('ZK_VK_MISMATCH', /disk/));
  assert.throws(() => sys.checkPrivateInputs(vk, { kind: 'latency' }, { records: records(5) }), code('INPUT_INVALID', /params/));
  assert.throws(() => sys.checkPrivateInputs(vk, { kind: 'nosuch' }, { records: [] }), code('CLAIM_UNKNOWN'));
  assert.throws(() => sys.checkPrivateInputs(vk, pub, { records: 'many' }), (e: unknown) => isVeriteeError(e));
  assert.throws(() => sys.checkPrivateInputs(vk, pub, [1, 2]), code('INPUT_INVALID'));
});
