/**
 * The whole chain: evidence -> enclave key -> signature over the statement ->
 * proof -> outputs, with the simulated TEE and the real prover (1024 class).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy, productionPolicy } from '@veritee/attestation';
import { ProverPool } from './prover/pool.js';
import { devSetup, prove } from './prove.js';
import { attachAttestation, createSimulatedEnclave, statementOf, verifyBundle, type EnclaveSigner } from './attested.js';
import { KeyRing } from './keys.js';
import { latencyClaim, parseSla, type LatencyBundle, type LatencyParams } from './claims/latency.js';
import { inclusionClaim } from './claims/inclusion.js';
import { testHome } from './testing/home.js';

/** The latency prove call these tests were written against, over the generic `prove`. */
const proveLatency = (pool: ProverPool, o: { params: LatencyParams; records: readonly number[]; salt?: bigint; capacity?: number }) =>
  prove(pool, latencyClaim, { params: o.params, data: { records: o.records }, ...(o.salt !== undefined ? { salt: o.salt } : {}), ...(o.capacity !== undefined ? { capacity: o.capacity } : {}) });

const devPolicy = parsePolicy(`
version: 1
name: dev-sim
platforms: [snp, tdx]
allowSimulated: true
reportData: { require: [publicKeyHash] }
snp: { measurements: any }
tdx: { mrtd: any }
`);
const P0 = 1_763_596_800_000_000;
let pool: ProverPool;
let keys: KeyRing;
let bundle: LatencyBundle;
let other: LatencyBundle;
let enclave: EnclaveSigner;
const now = new Date();
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const failed = (r: { checks: { name: string; ok: boolean; code?: string }[] }) => r.checks.filter((c) => !c.ok).map((c) => `${c.name}:${c.code}`);

function recs(n: number, seed: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = (i * 3_599_000 + seed) % 3_600_000_000;
    out.push(s, s + 1000 + ((i * 7919 + seed) % 150_000));
  }
  return out;
}

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  keys = new KeyRing();
  keys.add(await devSetup(pool, 'latency', 1024));
  const params = { periodStartUs: P0, periodEndUs: P0 + 3_600_000_000, ...parseSla('p95<150ms,min=100') };
  enclave = await createSimulatedEnclave({ platform: 'snp' });
  bundle = attachAttestation((await proveLatency(pool, { params, records: recs(400, 1) })).bundle, enclave);
  other = (await proveLatency(pool, { params, records: recs(400, 2) })).bundle;
});
after(() => pool.close());

test('the whole chain verifies and reports each link in order', async () => {
  const r = await verifyBundle(bundle, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.deepEqual(failed(r), []);
  assert.equal(r.ok, true);
  assert.equal(r.attested, true);
  const names = r.checks.map((c) => c.name);
  const first = (p: string) => names.findIndex((n) => n.startsWith(p));
  assert.ok(first('evidence.') < names.indexOf('enclave_key.bound'));
  assert.ok(names.indexOf('enclave_key.bound') < names.indexOf('statement.signature'));
  assert.ok(names.indexOf('statement.signature') < names.indexOf('proof.groth16'));
  assert.ok(r.checks.some((c) => c.name === 'evidence.policy.report_data' && c.ok));
});

test('simulated evidence: refused by a production policy, accepted only when allowed', async () => {
  const strict = await verifyBundle(bundle, { keys, policy: productionPolicy(), at: now, allowDevSetup: true });
  assert.equal(strict.ok, false);
  assert.ok(failed(strict).some((f) => f.startsWith('evidence.')), failed(strict).join(','));
  assert.ok(failed(strict).includes('enclave_key.bound:ATTEST_POLICY_VIOLATION'));
  const explicit = await verifyBundle(bundle, { keys, policy: { ...devPolicy, allowSimulated: false }, at: now, allowDevSetup: true, allowSimulated: true });
  assert.equal(explicit.ok, true, failed(explicit).join(','));
});

test('a bundle without attestation fails unless proof-only is asked for', async () => {
  const plain = await verifyBundle(other, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.equal(plain.ok, false);
  assert.deepEqual(failed(plain), ['chain.attestation:ZK_BUNDLE_UNATTESTED']);
  const proofOnly = await verifyBundle(other, { keys, policy: devPolicy, at: now, allowDevSetup: true, proofOnly: true });
  assert.equal(proofOnly.ok, true);
  assert.equal(proofOnly.attested, false);
  assert.match(proofOnly.checks[0]!.detail, /NOT checked/);
});

test('a commitment the enclave did not sign, or a changed count or period, is refused', async () => {
  // the proof of other data, re-labelled with the signed bundle's attestation
  const swapped = { ...clone(other), signature: bundle.signature, evidence: bundle.evidence };
  const r = await verifyBundle(swapped, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.ok(failed(r).includes('statement.signature:ZK_STATEMENT_SIGNATURE_INVALID'), failed(r).join(','));
  const n = clone(bundle);
  n.claim.outputs.n -= 1;
  const rn = await verifyBundle(n, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.ok(failed(rn).includes('statement.signature:ZK_STATEMENT_SIGNATURE_INVALID'));
  assert.ok(failed(rn).includes('proof.groth16:ZK_PROOF_INVALID'));
  // a threshold changed after signing: neither the signature nor the proof cover it any more
  const t = clone(bundle);
  t.claim.params.slots[1]!.thresholdUs += 1;
  const rt = await verifyBundle(t, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.deepEqual(failed(rt), ['statement.signature:ZK_STATEMENT_SIGNATURE_INVALID', 'proof.groth16:ZK_PROOF_INVALID']);
});

test('latency (v3, BSB22 binding as in v2): the signature covers the BSB22 commitment in the proof, so a proof of other records with the same outputs is refused', async () => {
  // Same records in another order and another salt: the same outputs (and, with
  // the salt and period, the digest is recomputed over the records in start
  // order), but another commitment inside the proof.
  const params = { periodStartUs: P0, periodEndUs: P0 + 3_600_000_000, ...parseSla('p95<20ms,min=100') };
  const a = attachAttestation((await proveLatency(pool, { params, records: recs(200, 5), salt: 11n })).bundle, enclave);
  const reordered = recs(200, 5);
  reordered.push(...reordered.splice(0, 20));
  const b = (await proveLatency(pool, { params, records: reordered, salt: 11n })).bundle;
  assert.equal(b.commitment, a.commitment, 'the digest does not depend on the order of the records');
  assert.deepEqual(b.proof.groth16.commitments, a.proof.groth16.commitments, 'nor does the commitment in the proof');
  const c = (await proveLatency(pool, { params, records: recs(200, 5), salt: 12n })).bundle;
  assert.deepEqual(c.claim.outputs, a.claim.outputs);
  assert.notDeepEqual(c.proof.groth16.commitments, a.proof.groth16.commitments);
  const forged = { ...clone(a), proof: c.proof };
  const r = await verifyBundle(forged, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.deepEqual(failed(r), ['statement.signature:ZK_STATEMENT_SIGNATURE_INVALID'], 'the proof verifies; only the signature refuses it');
  assert.equal((await verifyBundle(a, { keys, policy: devPolicy, at: now, allowDevSetup: true })).ok, true);
  assert.deepEqual(statementOf(a).proofCommitments, a.proof.groth16.commitments);
});

test('the signature covers the parameters: the same data re-proven under a looser SLA does not inherit it', async () => {
  // Same records, same salt, so the same commitment, count and period as a signed
  // bundle; only the SLA differs. The statement v1 covered none of that difference.
  const salt = 0x5eed_5a17n;
  const params = { periodStartUs: P0, periodEndUs: P0 + 3_600_000_000, ...parseSla('p95<20ms,min=100') };
  const strict = attachAttestation((await proveLatency(pool, { params, records: recs(400, 3), salt })).bundle, enclave);
  assert.equal(strict.claim.outputs.compliant, false, 'p95 < 20 ms is missed');
  const loose = (await proveLatency(pool, { params: { ...params, ...parseSla('p95<10s,min=100') }, records: recs(400, 3), salt })).bundle;
  assert.equal(loose.commitment, strict.commitment);
  assert.equal(loose.claim.outputs.compliant, true);
  const forged = { ...clone(loose), createdAt: strict.createdAt, signature: strict.signature, evidence: strict.evidence };
  const r = await verifyBundle(forged, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.deepEqual(failed(r), ['statement.signature:ZK_STATEMENT_SIGNATURE_INVALID'], 'the proof verifies; only the signature refuses it');
  assert.equal((await verifyBundle(strict, { keys, policy: devPolicy, at: now, allowDevSetup: true })).ok, true);
  // outputs are signed too: the verdict of the honest bundle cannot be flipped under its signature
  const flipped = clone(strict);
  flipped.claim.outputs.compliant = true;
  const rf = await verifyBundle(flipped, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.ok(failed(rf).includes('statement.signature:ZK_STATEMENT_SIGNATURE_INVALID'), failed(rf).join(','));
});

test('createdAt is signed and checked against the verification time and the period', async () => {
  const moved = clone(bundle);
  moved.createdAt = new Date(Date.parse(bundle.createdAt) - 60_000).toISOString();
  const rm = await verifyBundle(moved, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.deepEqual(failed(rm), ['statement.signature:ZK_STATEMENT_SIGNATURE_INVALID'], 'an unsigned change of createdAt');
  // signed, but in the future of the verifier
  const future = attachAttestation({ ...clone(other), createdAt: new Date(now.getTime() + 3_600_000).toISOString() }, enclave);
  const rfu = await verifyBundle(future, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.deepEqual(failed(rfu), ['bundle.created_at:ZK_BUNDLE_TIME_INVALID']);
  assert.match(rfu.checks.find((c) => c.name === 'bundle.created_at')!.detail, /after the verification time/);
  // signed, but made before the period it reports on had ended
  const early = attachAttestation({ ...clone(other), createdAt: new Date(P0 / 1000 + 60_000).toISOString() }, enclave);
  const re = await verifyBundle(early, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.deepEqual(failed(re), ['bundle.created_at:ZK_BUNDLE_TIME_INVALID']);
  assert.match(re.checks.find((c) => c.name === 'bundle.created_at')!.detail, /before the end of the period/);
  // a malformed time is a malformed bundle
  const badTime = await verifyBundle({ ...clone(bundle), createdAt: '2025-11-20 12:00' }, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.deepEqual(failed(badTime), ['bundle.format:ZK_BUNDLE_INVALID']);
});

test('verifyBundle: expect pins the parameters; bundle text with a duplicate key is refused', async () => {
  const opts = { keys, policy: devPolicy, at: now, allowDevSetup: true };
  const ok = await verifyBundle(bundle, { ...opts, expect: { kind: 'latency', sla: 'p95<150ms,min=100' } });
  assert.equal(ok.ok, true, failed(ok).join(','));
  const miss = await verifyBundle(bundle, { ...opts, expect: 'sla=p95<100ms,min=100' });
  assert.deepEqual(failed(miss), ['claim.expected:ZK_EXPECTATION_MISMATCH']);
  assert.equal(miss.attested, false);
  await assert.rejects(verifyBundle(bundle, { ...opts, expect: 'sla=p95<100ms,p95<200ms' }), (e: unknown) => (e as { code?: string }).code === 'INPUT_INVALID');
  const text = JSON.stringify(bundle);
  assert.equal((await verifyBundle(text, opts)).ok, true, 'bundle text verifies');
  const dup = text.replace('"compliant":true', '"compliant":false,"compliant":true');
  assert.notEqual(dup, text);
  assert.deepEqual(failed(await verifyBundle(dup, opts)), ['bundle.format:ZK_BUNDLE_INVALID']);
});

test('evidence for another key, a debug TEE, or an expired certificate breaks the chain', async () => {
  const otherEnclave = await createSimulatedEnclave({ platform: 'snp' });
  const wrongKey = { ...clone(bundle), evidence: { ...bundle.evidence!, envelope: otherEnclave.evidence as unknown as Record<string, unknown>, simulatedAnchors: otherEnclave.simulatedAnchors! } };
  const rk = await verifyBundle(wrongKey, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.ok(failed(rk).some((f) => f.startsWith('evidence.policy.report_data') || f.startsWith('evidence.snp.report_data')), failed(rk).join(','));
  assert.equal(rk.ok, false);

  const debugEnclave = await createSimulatedEnclave({ platform: 'snp', debug: true });
  const dbg = attachAttestation(clone(other), debugEnclave);
  const rd = await verifyBundle(dbg, { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.ok(failed(rd).includes('evidence.policy.debug:ATTEST_DEBUG_REFUSED'), failed(rd).join(','));

  const late = await verifyBundle(bundle, { keys, policy: devPolicy, at: new Date('2200-01-01T00:00:00Z'), allowDevSetup: true });
  assert.ok(failed(late).some((f) => f.endsWith('ATTEST_CERT_EXPIRED')), failed(late).join(','));
});

test('TDX evidence binds the key the same way', async () => {
  const tdx = await createSimulatedEnclave({ platform: 'tdx' });
  const r = await verifyBundle(attachAttestation(clone(other), tdx), { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.equal(r.ok, true, failed(r).join(','));
});

test('inclusion: the proven root must be the host data of the attested image', async () => {
  const { inclusionRootToHostData } = await import('@veritee/core');
  const hex = (i: number) => i.toString(16).padStart(64, '0');
  const components = Array.from({ length: 20 }, (_, i) => ({ name: `usr/lib/lib${i}.so`, sha256: hex(i + 1) }));
  keys.add(await devSetup(pool, 'inclusion', 1024));
  const { bundle: inc } = await prove(pool, inclusionClaim, { params: { depth: 10 }, data: { components, index: 3 } });
  const root = BigInt(inc.commitment);
  const measurement = new Uint8Array(48).fill(0x5e);
  const launched = await createSimulatedEnclave({ platform: 'snp', measurement, hostData: inclusionRootToHostData(root, 32) });
  // The policy of an image that enforces its tree at boot (veritee image policy --enforcing).
  const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const snpImage = { platform: 'snp', measurements: [hexOf(measurement)], hostData: hexOf(inclusionRootToHostData(root, 32)), enforcing: true };
  const tdxImage = { ...snpImage, platform: 'tdx', hostData: hexOf(inclusionRootToHostData(root, 48)) };
  const imagePolicies = [snpImage, tdxImage];
  const good = await verifyBundle(attachAttestation(inc, launched), { keys, policy: devPolicy, at: now, allowDevSetup: true, imagePolicies });
  assert.equal(good.ok, true, failed(good).join(','));
  assert.ok(good.checks.some((c) => c.name === 'claim.root_in_evidence' && c.ok));
  assert.ok(good.checks.some((c) => c.name === 'claim.image_enforces' && c.ok));
  const tdx = await createSimulatedEnclave({ platform: 'tdx', measurement, hostData: inclusionRootToHostData(root, 48) });
  assert.equal((await verifyBundle(attachAttestation(inc, tdx), { keys, policy: devPolicy, at: now, allowDevSetup: true, imagePolicies })).ok, true);
  // an image launched with another tree
  const otherImage = await createSimulatedEnclave({ platform: 'snp', measurement, hostData: inclusionRootToHostData(root + 1n, 32) });
  const bad = await verifyBundle(attachAttestation(inc, otherImage), { keys, policy: devPolicy, at: now, allowDevSetup: true, imagePolicies });
  assert.deepEqual(failed(bad), ['claim.root_in_evidence:INCLUSION_ROOT_MISMATCH', 'claim.image_enforces:IMAGE_MEASUREMENT_NOT_ENFORCING']);
  // the right root, but no image policy, a non-enforcing image, or another image's measurement
  const none = await verifyBundle(attachAttestation(inc, launched), { keys, policy: devPolicy, at: now, allowDevSetup: true });
  assert.deepEqual(failed(none), ['claim.image_enforces:IMAGE_MEASUREMENT_NOT_ENFORCING']);
  const lax = await verifyBundle(attachAttestation(inc, launched), { keys, policy: devPolicy, at: now, allowDevSetup: true, imagePolicies: [{ ...snpImage, enforcing: false }] });
  assert.deepEqual(failed(lax), ['claim.image_enforces:IMAGE_MEASUREMENT_NOT_ENFORCING']);
  const elsewhere = await createSimulatedEnclave({ platform: 'snp', hostData: inclusionRootToHostData(root, 32) });
  assert.deepEqual(failed(await verifyBundle(attachAttestation(inc, elsewhere), { keys, policy: devPolicy, at: now, allowDevSetup: true, imagePolicies })), ['claim.image_enforces:IMAGE_MEASUREMENT_NOT_ENFORCING']);
});
