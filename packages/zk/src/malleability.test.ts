/**
 * Groth16 proofs are malleable, and veritee knows it.
 *
 * Anyone holding a valid proof (A, B, C) can make another valid proof of the same
 * statement without any secret: (-A, -B, C) verifies because e(-A, -B) = e(A, B)
 * (and with the proving key, a prover can re-randomise freely). Two different proof
 * byte strings therefore do not mean two different claims. veritee never uses the
 * proof bytes as an identifier: the enclave signs the claim, commitment and
 * creation time (never the proof), and nothing hashes or keys on the proof.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy } from '@veritee/attestation';
import { ProverPool } from './prover/pool.js';
import { devSetup, prove } from './prove.js';
import { attachAttestation, createSimulatedEnclave, statementBytes, verifyBundle } from './attested.js';
import { bundlePublicInputs, verifyProofBundle } from './verify.js';
import { KeyRing } from './keys.js';
import { latencyClaim, parseSla, type LatencyBundle, type LatencyParams } from './claims/latency.js';
import { BN254_P, verifyGroth16, type G1PointJSON, type G2PointJSON } from './groth16/index.js';
import { testHome } from './testing/home.js';

/** The latency prove call these tests were written against, over the generic `prove`. */
const proveLatency = (pool: ProverPool, o: { params: LatencyParams; records: readonly number[]; salt?: bigint; capacity?: number }) =>
  prove(pool, latencyClaim, { params: o.params, data: { records: o.records }, ...(o.salt !== undefined ? { salt: o.salt } : {}), ...(o.capacity !== undefined ? { capacity: o.capacity } : {}) });

const devPolicy = parsePolicy(`
version: 1
name: dev-sim
platforms: [snp]
allowSimulated: true
reportData: { require: [publicKeyHash] }
snp: { measurements: any }
`);
const P0 = 1_763_596_800_000_000;
let pool: ProverPool;
let keys: KeyRing;
let bundle: LatencyBundle;

const neg = (v: string): string => (BigInt(v) === 0n ? '0' : (BN254_P - BigInt(v)).toString());
const negG1 = (p: G1PointJSON): G1PointJSON => [p[0], neg(p[1])];
const negG2 = (p: G2PointJSON): G2PointJSON => ({ x: p.x, y: [neg(p.y[0]), neg(p.y[1])] });

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  keys = new KeyRing();
  keys.add(await devSetup(pool, 'latency', 1024));
  const records: number[] = [];
  for (let i = 0; i < 200; i++) records.push(i * 1_000_000, i * 1_000_000 + 5_000 + i * 100);
  const params = { periodStartUs: P0, periodEndUs: P0 + 3_600_000_000, ...parseSla('p95<100ms') };
  bundle = attachAttestation((await proveLatency(pool, { params, records })).bundle, await createSimulatedEnclave({ platform: 'snp' }));
});
after(() => pool.close());

test('a proof with A and B negated is a different byte string that still verifies', async () => {
  const mauled = structuredClone(bundle);
  mauled.proof.groth16.ar = negG1(bundle.proof.groth16.ar);
  mauled.proof.groth16.bs = negG2(bundle.proof.groth16.bs);
  assert.notDeepEqual(mauled.proof.groth16, bundle.proof.groth16);
  assert.notEqual(JSON.stringify(mauled), JSON.stringify(bundle));

  const doc = keys.get(bundle.proof.vkHash)!;
  assert.equal(verifyGroth16(doc.groth16, mauled.proof.groth16, bundlePublicInputs(mauled)), true, 'the negated proof verifies');
  // negating only one of them does not
  const half = structuredClone(bundle.proof.groth16);
  half.ar = negG1(half.ar);
  assert.equal(verifyGroth16(doc.groth16, half, bundlePublicInputs(bundle)), false);

  // veritee treats both as the same claim: same statement, the enclave signature
  // carries over, both verify end to end with identical results.
  assert.deepEqual(statementBytes(mauled), statementBytes(bundle));
  const opts = { keys, policy: devPolicy, at: new Date(), allowDevSetup: true };
  const a = await verifyBundle(bundle, opts);
  const b = await verifyBundle(mauled, opts);
  assert.equal(a.ok, true);
  assert.equal(b.ok, true);
  assert.equal(b.attested, true);
  assert.deepEqual(
    b.checks.map((c) => [c.name, c.ok]),
    a.checks.map((c) => [c.name, c.ok]),
  );
  assert.equal(verifyProofBundle(mauled, { keys, allowDevSetup: true }).ok, true);
});
