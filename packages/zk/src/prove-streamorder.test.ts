/**
 * End to end for the order-statistics claim with the real Go prover at the class
 * a 180-reading window lands in (192): prove, verify in TypeScript and in Go,
 * outputs equal to the TypeScript reference, the commitment equal to the
 * stream-window claim's over the same signed digests, and every tampered
 * output or parameter rejected by both verifiers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { ProverPool } from './prover/pool.js';
import { devSetup, prove, verifyWithGo } from './prove.js';
import { bundlePublicInputs, verifyProofBundle } from './verify.js';
import { KeyRing } from './keys.js';
import { streamAggClaim } from './claims/streamagg.js';
import { computeStreamOrderOutputs, streamOrderClaim, type StreamOrderBundle, type StreamOrderData, type StreamOrderParams } from './claims/streamorder.js';
import type { ProofBundle } from './bundle.js';
import { testHome } from './testing/home.js';

const P0 = 1_763_596_800_000_000;
const params: StreamOrderParams = { periodStartUs: P0, periodEndUs: P0 + 15 * 60_000_000, percentileBp: 9500 };
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

let pool: ProverPool;
const keys = new KeyRing();

function window(n: number, seed: number): StreamOrderData {
  let a = seed;
  const r = () => (a = (a * 1103515245 + 12345) % 2147483648) / 2147483648;
  // values from a small range: ties, and a distinct count below n
  return { readings: Array.from({ length: n }, (_, i) => ({ ts: P0 + i * 5_000_000, value: 1_000_000 + Math.floor(r() * 150) * 1000, salt: String(1 + Math.floor(r() * 2 ** 52)) })) };
}

async function verdicts(b: unknown): Promise<{ ts: boolean; go: boolean }> {
  const ts = verifyProofBundle(b, { keys, allowDevSetup: true });
  const bundle = b as ProofBundle;
  const doc = keys.get(bundle.proof.vkHash);
  let go = false;
  if (doc) {
    try {
      go = (await verifyWithGo(pool, doc, bundle.proof.groth16, bundlePublicInputs(bundle), true)).valid;
    } catch (e) {
      if (!isVeriteeError(e)) throw e;
    }
  }
  return { ts: ts.ok, go };
}

let bundle: StreamOrderBundle;
const data = window(180, 11);

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(pool, 'streamorder', 192));
  bundle = (await prove(pool, streamOrderClaim, { params, data })).bundle as StreamOrderBundle;
});

after(async () => {
  await pool.close();
});

test('a 180-reading window proves at class 192 and verifies in TypeScript and Go', async () => {
  assert.equal(bundle.proof.capacity, 192);
  assert.deepEqual(bundle.claim.outputs, computeStreamOrderOutputs(params, data));
  assert.ok(bundle.claim.outputs.distinct < 180, 'the window was meant to hold ties');
  assert.equal(BigInt(bundle.commitment), streamAggClaim.commit({ ...params, threshold: 0 }, data, 0n));
  assert.deepEqual(await verdicts(bundle), { ts: true, go: true });
});

test('every tampered output or parameter is rejected by both verifiers', async () => {
  const o = bundle.claim.outputs;
  const list: [string, (b: StreamOrderBundle) => void][] = [
    ['min + 1000', (b) => (b.claim.outputs.min += 1000)],
    ['max - 1000', (b) => (b.claim.outputs.max -= 1000)],
    ['median + 1000', (b) => (b.claim.outputs.median += 1000)],
    ['percentile - 1000', (b) => (b.claim.outputs.percentile -= 1000)],
    ['another percentile asked (p90)', (b) => (b.claim.params.percentileBp = 9000)],
    ['top sum + 1', (b) => (b.claim.outputs.topSum += 1)],
    ['bottom sum - 1', (b) => (b.claim.outputs.bottomSum -= 1)],
    ['distinct + 1', (b) => (b.claim.outputs.distinct += 1)],
    ['a reading dropped (n - 1)', (b) => (b.claim.outputs.n -= 1)],
    ['the window moved', (b) => (b.claim.params.periodEndUs += 1)],
    ['median and max swapped', (b) => ([b.claim.outputs.median, b.claim.outputs.max] = [o.max, o.median])],
  ];
  for (const [name, mutate] of list) {
    const b = clone(bundle);
    mutate(b);
    assert.deepEqual(await verdicts(b), { ts: false, go: false }, name);
  }
  // a commitment over other readings
  const other = (await prove(pool, streamOrderClaim, { params, data: window(180, 12) })).bundle;
  const b = clone(bundle);
  b.commitment = other.commitment;
  assert.deepEqual(await verdicts(b), { ts: false, go: false }, 'another window\'s commitment');
});
