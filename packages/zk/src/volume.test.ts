/**
 * The request-volume claim end to end with the real Go prover: prove, verify in
 * TypeScript and Go, `--expect` pinning, and tampering refused by both
 * verifiers (a flipped decision both ways, another rate, count, threshold,
 * period or commitment).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProverPool } from './prover/pool.js';
import { devSetup, prove, verifyWithGo } from './prove.js';
import { bundlePublicInputs, verifyProofBundle } from './verify.js';
import { KeyRing } from './keys.js';
import { volumeClaim, type VolumeBundle, type VolumeParams } from './claims/volume.js';
import { testHome } from './testing/home.js';

const P0 = 1_763_596_800_000_000;
const params: VolumeParams = { periodStartUs: P0, periodEndUs: P0 + 10 * 60_000_000, thresholdPerMin: 60 };
const times = (n: number) => Array.from({ length: n }, (_, i) => Math.floor((i * 600_000_000) / n) + (i % 11));
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

let pool: ProverPool;
const keys = new KeyRing();
let busy: VolumeBundle;
let quiet: VolumeBundle;

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(pool, 'volume', 1024));
  busy = (await prove(pool, volumeClaim, { params, data: { times: times(700) } })).bundle;
  quiet = (await prove(pool, 'volume', { params, data: { times: times(550) } })).bundle as VolumeBundle;
});

after(async () => {
  await pool.close();
});

async function verdicts(b: VolumeBundle): Promise<{ ts: boolean; go: boolean }> {
  const ts = verifyProofBundle(b, { keys, allowDevSetup: true }).ok;
  const go = (await verifyWithGo(pool, keys.get(b.proof.vkHash)!, b.proof.groth16, bundlePublicInputs(b), true)).valid;
  return { ts, go };
}

test('a volume proof verifies in TypeScript and Go with the reference outputs', async () => {
  assert.deepEqual(busy.claim.outputs, { n: 700, ratePerMin: 70, scaleOut: true });
  assert.deepEqual(quiet.claim.outputs, { n: 550, ratePerMin: 55, scaleOut: false });
  assert.equal(busy.proof.capacity, 1024);
  assert.deepEqual(await verdicts(busy), { ts: true, go: true });
  assert.deepEqual(await verdicts(quiet), { ts: true, go: true });
  const pinned = verifyProofBundle(busy, { keys, allowDevSetup: true, expect: 'kind=volume,threshold=60' });
  assert.equal(pinned.ok, true);
  const other = verifyProofBundle(busy, { keys, allowDevSetup: true, expect: 'kind=volume,threshold=100' });
  assert.equal(other.checks.find((c) => c.name === 'claim.expected')?.code, 'ZK_EXPECTATION_MISMATCH');
});

test('tampering is rejected by both verifiers', async () => {
  const cases: [string, VolumeBundle, (b: VolumeBundle) => void][] = [
    ['decision flipped (true -> false)', busy, (b) => (b.claim.outputs.scaleOut = false)],
    ['decision flipped (false -> true)', quiet, (b) => (b.claim.outputs.scaleOut = true)],
    ['rate + 1', busy, (b) => (b.claim.outputs.ratePerMin += 1)],
    ['a request dropped (n - 1)', busy, (b) => (b.claim.outputs.n -= 1)],
    ['threshold raised', busy, (b) => (b.claim.params.thresholdPerMin = 100)],
    ['period stretched', busy, (b) => (b.claim.params.periodEndUs += 60_000_000)],
    ['commitment of other data', busy, (b) => (b.commitment = quiet.commitment)],
  ];
  for (const [name, good, mutate] of cases) {
    const b = clone(good);
    mutate(b);
    assert.deepEqual(await verdicts(b), { ts: false, go: false }, name);
  }
});

test('inputs the circuit cannot hold are refused before proving, with codes', async () => {
  const { isVeriteeError } = await import('@veritee/core');
  await assert.rejects(prove(pool, volumeClaim, { params, data: { times: [600_000_000] } }), (e: unknown) => isVeriteeError(e, 'RECORD_OUTSIDE_PERIOD'));
  await assert.rejects(prove(pool, volumeClaim, { params, data: { times: times(1025) }, capacity: 1024 }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
  await assert.rejects(prove(pool, 'no-such-claim', { params, data: {} }), (e: unknown) => isVeriteeError(e, 'CLAIM_UNKNOWN'));
});
