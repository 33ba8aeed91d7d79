/**
 * End to end at the 1024 size class with the real Go prover: prove, verify in
 * TypeScript and in Go, and check that both verifiers reject the same forgeries.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isVeriteeError } from '@veritee/core';
import { ProverPool } from './prover/pool.js';
import { devSetup, prove, verifyWithGo } from './prove.js';
import { auditBundle } from './audit.js';
import { bundlePublicInputs, verifyProofBundle } from './verify.js';
import { KeyRing, vkHash, type VerificationKeyDocument } from './keys.js';
import { computeLatencyOutputs, latencyClaim, latencyClaimV1, latencyClaimV2, parseSla, type LatencyParams } from './claims/latency.js';
import type { LatencyBundle as ProofBundle } from './claims/latency.js';
import { testHome } from './testing/home.js';

/** The latency prove call these tests were written against, over the generic `prove`. */
const proveLatency = (pool: ProverPool, o: { params: LatencyParams; records: readonly number[]; salt?: bigint; capacity?: number }) =>
  prove(pool, latencyClaim, { params: o.params, data: { records: o.records }, ...(o.salt !== undefined ? { salt: o.salt } : {}), ...(o.capacity !== undefined ? { capacity: o.capacity } : {}) });

const CAP = 1024;
let pool: ProverPool;
let vk: VerificationKeyDocument;
let keys: KeyRing;
let good: ProofBundle;

const period = { periodStartUs: 1_763_596_800_000_000, periodEndUs: 1_763_596_800_000_000 + 3_600_000_000 };
const params = (sla: string): LatencyParams => ({ ...period, ...parseSla(sla) });

function rng(seed: number) {
  let a = seed;
  return () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648);
}

function records(n: number, seed: number, latency: (r: () => number, i: number) => number): number[] {
  const r = rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.floor(r() * 3_600_000_000);
    out.push(s, s + latency(r, i));
  }
  return out;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Both verifiers' verdicts on a bundle whose key is trusted. */
async function verdicts(b: ProofBundle, ring = keys): Promise<{ ts: boolean; go: boolean }> {
  const ts = verifyProofBundle(b, { keys: ring, allowDevSetup: true });
  const doc = ring.get(b.proof.vkHash) ?? vk;
  let go: boolean;
  try {
    go = (await verifyWithGo(pool, doc, b.proof.groth16, bundlePublicInputs(b), true)).valid;
  } catch (e) {
    if (!isVeriteeError(e)) throw e;
    go = false; // malformed for Go too
  }
  return { ts: ts.ok, go };
}

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  vk = await devSetup(pool, 'latency', CAP);
  keys = new KeyRing();
  keys.add(vk);
  const r = await proveLatency(pool, { params: params('p95<150ms,p99<250ms,min=500'), records: records(1000, 7, (r) => 1000 + Math.floor(r() * 200_000)) });
  good = r.bundle;
});

after(async () => {
  await pool.close();
});

test('a proved bundle verifies in TypeScript and in Go', async () => {
  assert.equal(good.claim.outputs.n, 1000);
  assert.equal(good.proof.setup, 'dev');
  assert.equal(good.proof.vkHash, vkHash(vk));
  const r = verifyProofBundle(good, { keys, allowDevSetup: true });
  assert.equal(r.ok, true, JSON.stringify(r.checks));
  assert.deepEqual(await verdicts(good), { ts: true, go: true });
});

test('latency v1 bundles (records hashed in the circuit) still prove and verify next to v3', async () => {
  assert.equal(good.claim.version, 3);
  const vk1 = await devSetup(pool, 'latency', CAP, { version: 1 });
  assert.equal(vk1.circuitVersion, 1);
  const ring = new KeyRing();
  ring.add(vk1);
  ring.add(vk);
  const salt = 0x1234n;
  const recs = records(300, 21, (r) => 1000 + Math.floor(r() * 90_000));
  const v1 = await prove(pool, latencyClaimV1, { params: params('p95<50ms'), data: { records: recs }, salt });
  assert.equal(v1.bundle.claim.version, 1);
  assert.equal(v1.bundle.commitment, latencyClaimV1.commit(v1.bundle.claim.params, { records: recs }, salt).toString());
  assert.deepEqual(await verdicts(v1.bundle, ring), { ts: true, go: true });
  // its commitment is still a public input: changing it breaks the proof
  const b = clone(v1.bundle);
  b.commitment = (BigInt(b.commitment) + 1n).toString();
  assert.deepEqual(await verdicts(b, ring), { ts: false, go: false });
  // the audit of a v1 bundle: outputs and the in-circuit commitment (no BSB22 step)
  const audited = await auditBundle(pool, { bundle: v1.bundle, data: { records: recs }, salt });
  assert.deepEqual(audited.checks.map((c) => `${c.name}:${c.ok}`), ['records.valid:true', 'outputs.recomputed:true', 'commitment.digest:true']);
  const dropped = await auditBundle(pool, { bundle: v1.bundle, data: { records: recs.slice(2) }, salt });
  assert.equal(dropped.ok, false);
  assert.equal(dropped.checks.find((c) => c.name === 'commitment.digest')?.code, 'ZK_AUDIT_MISMATCH');
  // a v1 bundle relabelled v2 (or the reverse) meets the other key
  const relabelled = clone(v1.bundle);
  relabelled.claim.version = 2;
  relabelled.proof.circuitVersion = 2;
  assert.equal(verifyProofBundle(relabelled, { keys: ring, allowDevSetup: true }).ok, false);
});

test('latency v2 bundles (range checks in gnark\'s checker) still prove, verify and pass the audit next to v3; the keys are not interchangeable', async () => {
  const vk2 = await devSetup(pool, 'latency', CAP, { version: 2 });
  assert.equal(vk2.circuitVersion, 2);
  assert.notEqual(vkHash(vk2), vkHash(vk));
  assert.ok(vk2.constraints > vk.constraints, `v2 ${vk2.constraints} constraints, v3 ${vk.constraints}`);
  const ring = new KeyRing();
  ring.add(vk2);
  ring.add(vk);
  const salt = 0x4321n;
  const recs = records(300, 23, (r) => 1000 + Math.floor(r() * 90_000));
  const p = params('p95<50ms');
  const v2 = await prove(pool, latencyClaimV2, { params: p, data: { records: recs }, salt });
  const v3 = await prove(pool, latencyClaim, { params: p, data: { records: recs }, salt });
  assert.equal(v2.bundle.claim.version, 2);
  assert.equal(v3.bundle.claim.version, 3);
  // the same statement: outputs and digest agree, the proofs and keys differ
  assert.deepEqual(v2.bundle.claim.outputs, v3.bundle.claim.outputs);
  assert.equal(v2.bundle.commitment, v3.bundle.commitment);
  assert.deepEqual(await verdicts(v2.bundle, ring), { ts: true, go: true });
  assert.deepEqual(await verdicts(v3.bundle, ring), { ts: true, go: true });
  const audited = await auditBundle(pool, { bundle: v2.bundle, data: { records: recs }, salt });
  assert.equal(audited.ok, true, JSON.stringify(audited.checks));
  const changed = recs.slice();
  changed[1]! += 1;
  assert.equal((await auditBundle(pool, { bundle: v2.bundle, data: { records: changed }, salt })).ok, false);
  // a v2 proof relabelled v3 (or the reverse) meets the other key
  for (const [b, v] of [[v2.bundle, 3], [v3.bundle, 2]] as const) {
    const relabelled = clone(b);
    relabelled.claim.version = v;
    relabelled.proof.circuitVersion = v;
    assert.equal(verifyProofBundle(relabelled, { keys: ring, allowDevSetup: true }).ok, false, `relabelled ${b.claim.version} -> ${v}`);
  }
});

test('dev keys are refused by both verifiers unless allowDevSetup', async () => {
  const r = verifyProofBundle(good, { keys });
  assert.equal(r.ok, false);
  assert.equal(r.checks.find((c) => c.name === 'key.setup')?.code, 'ZK_DEV_SETUP_REFUSED');
  const go = await verifyWithGo(pool, vk, good.proof.groth16, bundlePublicInputs(good), false);
  assert.equal(go.valid, false);
  assert.equal(go.code, 'ZK_DEV_SETUP_REFUSED');
  // relabelling the key as a ceremony key changes its hash: it is no longer trusted
  const relabelled = clone(vk);
  relabelled.setup.kind = 'ceremony';
  assert.notEqual(vkHash(relabelled), vkHash(vk));
});

test('every tampered public output is rejected by both verifiers', async () => {
  const mutations: [string, (b: ProofBundle) => void][] = [
    ['n', (b) => (b.claim.outputs.n -= 1)],
    ['p50', (b) => (b.claim.outputs.slots[0]!.valueUs += 1)],
    ['p95', (b) => (b.claim.outputs.slots[1]!.valueUs -= 1)],
    ['p99', (b) => (b.claim.outputs.slots[2]!.valueUs += 1000)],
    ['exceeding', (b) => (b.claim.outputs.slots[1]!.exceeding += 1)],
    ['verdict', (b) => (b.claim.outputs.compliant = !b.claim.outputs.compliant)],
    ['threshold', (b) => (b.claim.params.slots[1]!.thresholdUs += 1)],
    ['enforce', (b) => (b.claim.params.slots[0]!.enforce = true)],
    ['percentile', (b) => (b.claim.params.slots[1]!.percentileBp = 9000)],
    ['minN', (b) => (b.claim.params.minN = 0)],
    ['period start', (b) => (b.claim.params.periodStartUs += 1)],
    ['period end', (b) => (b.claim.params.periodEndUs -= 1)],
  ];
  for (const [name, mutate] of mutations) {
    const b = clone(good);
    mutate(b);
    assert.deepEqual(await verdicts(b), { ts: false, go: false }, name);
  }
  // latency v2: the records digest is not a public input (the proof binds the
  // records through its BSB22 commitment); only the enclave signature binds the
  // digest (attested.test.ts), and proof-only verification says so.
  const b = clone(good);
  b.commitment = (BigInt(b.commitment) + 1n).toString();
  const r = verifyProofBundle(b, { keys, allowDevSetup: true });
  assert.equal(r.ok, true);
  assert.match(r.checks.find((c) => c.name === 'claim.binding')!.detail, /only by the enclave signature/);
});

test('tampered proof points, swapped keys and proofs of another circuit are rejected by both', async () => {
  const dir = fileURLToPath(new URL('../src/groth16/testdata/', import.meta.url));
  const foreignVk = JSON.parse(readFileSync(dir + 'vk_main.json', 'utf8'));
  const foreignProof = JSON.parse(readFileSync(dir + 'proof_main.json', 'utf8'));

  // proof points swapped between two valid proofs
  const other = await proveLatency(pool, { params: params('p95<150ms'), records: records(300, 9, (r) => 500 + Math.floor(r() * 90_000)) });
  const mixed = clone(good);
  mixed.proof.groth16.krs = other.bundle.proof.groth16.krs;
  assert.deepEqual(await verdicts(mixed), { ts: false, go: false }, 'krs from another proof');
  const mixed2 = clone(good);
  mixed2.proof.groth16.commitments = other.bundle.proof.groth16.commitments;
  assert.deepEqual(await verdicts(mixed2), { ts: false, go: false }, 'commitment point from another proof');

  // a whole valid proof of the same circuit but other data, under this claim
  const replayed = clone(good);
  replayed.proof.groth16 = other.bundle.proof.groth16;
  assert.deepEqual(await verdicts(replayed), { ts: false, go: false }, 'proof of other data');

  // proof from another circuit
  const foreign = clone(good);
  foreign.proof.groth16 = foreignProof;
  assert.deepEqual(await verdicts(foreign), { ts: false, go: false }, 'proof from another circuit');

  // swapped verification key: a trusted key of another circuit presented as this one
  const swapped: VerificationKeyDocument = { ...clone(vk), groth16: foreignVk };
  const ring = new KeyRing();
  ring.add(vk);
  const h = ring.add(swapped);
  const b = clone(good);
  b.proof.vkHash = h;
  assert.deepEqual(await verdicts(b, ring), { ts: false, go: false }, 'swapped key');

  // a key that is not trusted at all
  const unknown = clone(good);
  unknown.proof.vkHash = 'ab'.repeat(32);
  const r = verifyProofBundle(unknown, { keys, allowDevSetup: true });
  assert.equal(r.checks.find((c) => c.name === 'key.trusted')?.code, 'ZK_VK_MISMATCH');
});

test('property: the circuit agrees with the plain reference on adversarial data', async () => {
  const cases: [string, number[]][] = [
    ['n = 1', records(1, 1, () => 4242)],
    ['all equal', records(200, 2, () => 77_777)],
    ['heavy ties', records(500, 3, (r) => 1000 * (1 + Math.floor(r() * 3)))],
    ['n = capacity', records(CAP, 4, (r) => Math.floor(r() * 5_000_000))],
    ['zero latencies', records(50, 5, (r, i) => (i % 2 ? 0 : Math.floor(r() * 10)))],
    ['maximum values', [0, 2 ** 42 - 1, 3_599_999_999, 2 ** 42 - 1, 10, 11]],
  ];
  for (const [name, recs] of cases) {
    const p = params('p95<100ms,p99<2s,min=2');
    const r = await proveLatency(pool, { params: p, records: recs });
    const expected = computeLatencyOutputs(p, recs);
    assert.deepEqual(r.bundle.claim.outputs, expected, name);
    const v = verifyProofBundle(r.bundle, { keys, allowDevSetup: true });
    assert.equal(v.ok, true, `${name}: ${JSON.stringify(v.checks.filter((c) => !c.ok))}`);
  }
});

test('bad inputs are refused before proving, with codes', async () => {
  const p = params('p95<100ms');
  const bad: [string, number[], string][] = [
    ['empty', [], 'INPUT_FILE_EMPTY'],
    ['end before start', [10, 5], 'RECORD_END_BEFORE_START'],
    ['outside period', [3_600_000_000, 3_600_000_001], 'RECORD_OUTSIDE_PERIOD'],
    ['not integer', [1.5, 3], 'RECORD_FIELD_INVALID'],
  ];
  for (const [name, recs, c] of bad) {
    await assert.rejects(proveLatency(pool, { params: p, records: recs }), (e: unknown) => isVeriteeError(e) && e.code === c, name);
  }
  await assert.rejects(proveLatency(pool, { params: p, records: records(2000, 1, () => 5), capacity: 1024 }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
});
