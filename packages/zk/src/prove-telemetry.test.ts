/**
 * End to end for the telemetry claims (memory, cpu, disk, gateway) at their
 * smallest size classes with the real Go prover: prove, verify in TypeScript and
 * in Go, and check that both verifiers reject the same forgeries — a flipped
 * decision (both ways), a changed threshold, a dropped sample, an altered
 * ownership flag, outputs or a commitment from other data — and that the
 * attestation chain rejects a threshold changed after signing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuCommitment, isVeriteeError, memoryCommitment, requestCode, type DiskMount, type GatewayRequest } from '@veritee/core';
import { parsePolicy } from '@veritee/attestation';
import { ProverPool } from './prover/pool.js';
import { devSetup, prove, verifyWithGo, type ProveInput } from './prove.js';
import { bundlePublicInputs, verifyProofBundle } from './verify.js';
import { KeyRing } from './keys.js';
import { attachAttestation, createSimulatedEnclave, verifyBundle, type EnclaveSigner } from './attested.js';
import { auditBundle } from './audit.js';
import { computeMemoryOutputs, memoryClaim, MEMORY_DEFAULTS, type MemoryBundle, type MemoryData, type MemoryParams } from './claims/memory.js';
import { computeCpuOutputs, cpuClaim, CPU_DEFAULTS, type CpuBundle, type CpuData, type CpuParams } from './claims/cpu.js';
import { computeDiskOutputs, diskClaim, DISK_DEFAULTS, type DiskBundle, type DiskData, type DiskParams } from './claims/disk.js';
import { computeGatewayOutputs, gatewayClaim, gatewayRequestCodes, GATEWAY_DEFAULTS, type GatewayBundle, type GatewayParams } from './claims/gateway.js';
import type { ProofBundle } from './bundle.js';
import { testHome } from './testing/home.js';

// The per-claim prove calls these tests were written against, over the generic `prove`.
const proveMemory = (pool: ProverPool, o: ProveInput<MemoryParams, MemoryData>) => prove(pool, memoryClaim, o);
const proveCpu = (pool: ProverPool, o: ProveInput<CpuParams, CpuData>) => prove(pool, cpuClaim, o);
const proveDisk = (pool: ProverPool, o: ProveInput<DiskParams, DiskData>) => prove(pool, diskClaim, o);
const proveGateway = (pool: ProverPool, o: { params: GatewayParams; requests: readonly GatewayRequest[] | readonly number[]; checks: readonly boolean[]; salt?: bigint; capacity?: number }) =>
  prove(pool, gatewayClaim, { params: o.params, data: { requests: o.requests as readonly number[], checks: o.checks }, ...(o.salt !== undefined ? { salt: o.salt } : {}), ...(o.capacity !== undefined ? { capacity: o.capacity } : {}) });

const P0 = 1_763_596_800_000_000;
const period = { periodStartUs: P0, periodEndUs: P0 + 16 * 60_000_000 };
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const devPolicy = parsePolicy(`
version: 1
name: dev-sim
platforms: [snp, tdx]
allowSimulated: true
reportData: { require: [publicKeyHash] }
snp: { measurements: any }
tdx: { mrtd: any }
`);

let pool: ProverPool;
const keys = new KeyRing();
let enclave: EnclaveSigner;

function rng(seed: number) {
  let a = seed;
  return () => (a = (a * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/** Both verifiers' verdicts on a (possibly tampered) bundle. */
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

async function rejectedByBoth(b: unknown, name: string): Promise<void> {
  assert.deepEqual(await verdicts(b), { ts: false, go: false }, name);
}

async function mutations<B>(good: B, list: [string, (b: B) => void][]): Promise<void> {
  for (const [name, mutate] of list) {
    const b = clone(good);
    mutate(b);
    await rejectedByBoth(b, name);
  }
}

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  for (const [circuit, cap] of [
    ['memory', 512],
    ['cpu', 512],
    ['disk', 128],
    ['gateway', 1024],
  ] as const) {
    keys.add(await devSetup(pool, circuit, cap));
  }
  enclave = await createSimulatedEnclave({ platform: 'snp' });
});

after(async () => {
  await pool.close();
});

// ---- memory -----------------------------------------------------------------

/** 16 samples x 32 processes on 16 GiB, total usage near loadBp of it. */
function memoryWindow(loadBp: number, seed: number, nS = 16, nP = 32): MemoryData {
  const r = rng(seed);
  const target = ((16 << 20) * loadBp) / 10000;
  const usageKiB = Array.from({ length: nS }, () => {
    const w = Array.from({ length: nP }, () => 0.2 + r());
    const sum = w.reduce((a, b) => a + b, 0);
    const scale = (target * (0.97 + 0.05 * r())) / sum;
    return w.map((x) => Math.floor(x * scale));
  });
  return { swapPages: usageKiB.map(() => Math.floor(r() * 300)), pageFaults: usageKiB.map(() => Math.floor(r() * 50_000)), usageKiB };
}
const memParams: MemoryParams = { ...period, allocatedKiB: 16 << 20, ...MEMORY_DEFAULTS };

describe('memory', () => {
  let busy: MemoryBundle;
  let quiet: MemoryBundle;
  before(async () => {
    busy = (await proveMemory(pool, { params: memParams, data: memoryWindow(9200, 1) })).bundle;
    quiet = (await proveMemory(pool, { params: memParams, data: memoryWindow(6000, 2) })).bundle;
  });

  test('proves and verifies in TypeScript and Go, agreeing with the reference', async () => {
    assert.deepEqual(busy.claim.outputs, computeMemoryOutputs(memParams, memoryWindow(9200, 1)));
    assert.equal(busy.claim.outputs.scaleOut, true);
    assert.equal(quiet.claim.outputs.scaleOut, false);
    assert.equal(busy.proof.capacity, 512);
    assert.deepEqual(await verdicts(busy), { ts: true, go: true });
    assert.deepEqual(await verdicts(quiet), { ts: true, go: true });
  });

  test('tampering is rejected by both verifiers', async () => {
    const list: [string, (b: MemoryBundle) => void][] = [
      ['decision flipped (true -> false)', (b) => (b.claim.outputs.scaleOut = false)],
      ['usage + 0.01 %', (b) => (b.claim.outputs.usageBp += 1)],
      ['threshold raised', (b) => (b.claim.params.thresholdBp = 9900)],
      ['percentile changed', (b) => (b.claim.params.percentileBp = 5000)],
      ['allocated memory changed', (b) => (b.claim.params.allocatedKiB *= 2)],
      ['a sample dropped (n - 1)', (b) => (b.claim.outputs.nSamples -= 1)],
      ['a process dropped', (b) => (b.claim.outputs.nProcesses -= 1)],
      ['period moved', (b) => (b.claim.params.periodEndUs += 1)],
      ['proof of other data', (b) => (b.proof.groth16 = quiet.proof.groth16)],
    ];
    await mutations(busy, list);
    // memory v2/v3: the samples digest is bound by the enclave signature, not by the proof
    const relabelled = clone(attachAttestation(busy, enclave));
    relabelled.commitment = quiet.commitment;
    const rr = await verifyBundle(relabelled, { keys, policy: devPolicy, at: new Date(), allowDevSetup: true });
    assert.deepEqual(rr.checks.filter((c) => !c.ok).map((c) => c.name), ['statement.signature']);
    await mutations(quiet, [['decision flipped (false -> true)', (b) => (b.claim.outputs.scaleOut = true)]]);
  });

  test('a window with a sample dropped or duplicated commits differently', async () => {
    const salt = 77n;
    const w = memoryWindow(9200, 1);
    const r = await proveMemory(pool, { params: memParams, data: w, salt });
    const dropped = { ...w, usageKiB: w.usageKiB.slice(0, -1), swapPages: w.swapPages.slice(0, -1), pageFaults: w.pageFaults.slice(0, -1) };
    const duplicated = { ...w, usageKiB: [...w.usageKiB.slice(0, -1), w.usageKiB[0]!] };
    for (const [name, d] of [
      ['dropped', dropped],
      ['duplicated', duplicated],
    ] as const) {
      const c = memoryCommitment({ salt, ...memParams, ...d }).toString();
      assert.notEqual(c, r.bundle.commitment, name);
      const b = clone(attachAttestation(r.bundle, enclave));
      b.commitment = c;
      if (name === 'dropped') b.claim.outputs.nSamples -= 1;
      const v = await verifyBundle(b, { keys, policy: devPolicy, at: new Date(), allowDevSetup: true });
      assert.ok(v.checks.some((x) => x.name === 'statement.signature' && !x.ok), `bundle claiming the commitment of the window with a sample ${name}`);
      // and the audit with that window fails: digest and the proof's BSB22 commitment both differ
      const a = await auditBundle(pool, { bundle: r.bundle, data: d, salt });
      assert.equal(a.ok, false, name);
      assert.equal(a.checks.find((x) => x.name === 'commitment.digest')?.ok, false, name);
    }
    const honest = await auditBundle(pool, { bundle: r.bundle, data: w, salt });
    assert.equal(honest.ok, true, JSON.stringify(honest.checks));
    assert.equal(honest.checks.find((x) => x.name === 'commitment.proof')?.ok, true);
  });

  test('the attestation chain rejects a threshold changed after signing', async () => {
    const signed = attachAttestation(busy, enclave);
    const at = new Date();
    const ok = await verifyBundle(signed, { keys, policy: devPolicy, at, allowDevSetup: true });
    assert.equal(ok.ok, true, JSON.stringify(ok.checks.filter((c) => !c.ok)));
    const changed = clone(signed);
    changed.claim.params.thresholdBp = 9500;
    changed.claim.outputs.scaleOut = false;
    const r = await verifyBundle(changed, { keys, policy: devPolicy, at, allowDevSetup: true });
    assert.equal(r.ok, false);
    assert.equal(r.checks.find((c) => c.name === 'proof.groth16')?.ok, false);
    // a proof of other data under the signed statement: the signature does not cover it
    const swapped = clone(signed);
    swapped.commitment = quiet.commitment;
    swapped.proof = quiet.proof;
    swapped.claim = quiet.claim;
    const s = await verifyBundle(swapped, { keys, policy: devPolicy, at, allowDevSetup: true });
    assert.equal(s.ok, false);
  });

  test('bad inputs are refused before proving, with codes', async () => {
    const w = memoryWindow(5000, 3);
    const bad: [string, Partial<MemoryParams>, MemoryData, string][] = [
      ['threshold over 100 %', { thresholdBp: 10001 }, w, 'CLAIM_PARAMS_INVALID'],
      ['empty', {}, { swapPages: [], pageFaults: [], usageKiB: [] }, 'INPUT_FILE_EMPTY'],
      ['ragged', {}, { ...w, usageKiB: [w.usageKiB[0]!, w.usageKiB[1]!.slice(1), ...w.usageKiB.slice(2)] }, 'INPUT_INVALID'],
      ['too large', {}, { ...w, usageKiB: w.usageKiB.map((r) => r.map(() => 2 ** 32)) }, 'RECORD_VALUE_TOO_LARGE'],
    ];
    for (const [name, p, d, c] of bad) {
      await assert.rejects(proveMemory(pool, { params: { ...memParams, ...p }, data: d }), (e: unknown) => isVeriteeError(e) && e.code === c, name);
    }
    await assert.rejects(proveMemory(pool, { params: memParams, data: memoryWindow(5000, 4, 17, 3), capacity: 512 }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
  });
});

// ---- cpu --------------------------------------------------------------------

/** 16 samples x 32 processes on 8 cores: the first `platform` processes belong to the platform. */
function cpuWindow(customerBp: number, platformMilli: number, seed: number, platform = 6): CpuData {
  const r = rng(seed);
  const nP = 32;
  const customer = Array.from({ length: nP }, (_, p) => p >= platform);
  const usageMilli = Array.from({ length: 16 }, () =>
    customer.map((c) => Math.floor(c ? ((8000 * customerBp) / 10000 / (nP - platform)) * (0.9 + 0.2 * r()) : (platformMilli / platform) * (0.8 + 0.4 * r()))),
  );
  return { customer, usageMilli };
}
const cpuParams: CpuParams = { ...period, capacityMilli: 8000, ...CPU_DEFAULTS };

describe('cpu', () => {
  let busy: CpuBundle;
  let idle: CpuBundle;
  const busyData = cpuWindow(9000, 300, 5);
  before(async () => {
    busy = (await proveCpu(pool, { params: cpuParams, data: busyData, salt: 99n })).bundle;
    idle = (await proveCpu(pool, { params: cpuParams, data: cpuWindow(3000, 900, 6) })).bundle;
  });

  test('proves and verifies in TypeScript and Go, agreeing with the reference', async () => {
    assert.deepEqual(busy.claim.outputs, computeCpuOutputs(cpuParams, busyData));
    assert.equal(busy.claim.outputs.scaleOut, true);
    assert.equal(busy.claim.outputs.platformBelowLimit, true);
    assert.equal(idle.claim.outputs.scaleOut, false);
    assert.equal(idle.claim.outputs.platformBelowLimit, false);
    assert.deepEqual(await verdicts(busy), { ts: true, go: true });
    assert.deepEqual(await verdicts(idle), { ts: true, go: true });
  });

  test('tampering is rejected by both verifiers', async () => {
    await mutations(busy, [
      ['decision flipped (true -> false)', (b) => (b.claim.outputs.scaleOut = false)],
      ['platform flag flipped', (b) => (b.claim.outputs.platformBelowLimit = false)],
      ['band + 1', (b) => (b.claim.outputs.band += 1)],
      ['threshold raised', (b) => (b.claim.params.thresholdBp = 9500)],
      ['platform limit lowered', (b) => (b.claim.params.platformLimitBp = 100)],
      ['capacity doubled', (b) => (b.claim.params.capacityMilli *= 2)],
      ['a sample dropped (n - 1)', (b) => (b.claim.outputs.nSamples -= 1)],
      ['commitment from other data', (b) => (b.commitment = idle.commitment)],
    ]);
    await mutations(idle, [
      ['decision flipped (false -> true)', (b) => (b.claim.outputs.scaleOut = true)],
      ['platform flag flipped (false -> true)', (b) => (b.claim.outputs.platformBelowLimit = true)],
    ]);
  });

  test('an altered ownership flag changes the commitment and is rejected', async () => {
    // the platform's processes relabelled as customer, and a single flag flipped
    for (const flip of [[0, 1, 2, 3, 4, 5], [10]]) {
      const customer = busyData.customer.map((c, p) => (flip.includes(p) ? !c : c));
      const c = cpuCommitment({ salt: 99n, ...cpuParams, customer, usageMilli: busyData.usageMilli }).toString();
      assert.notEqual(c, busy.commitment);
      const b = clone(busy);
      b.commitment = c;
      b.claim.outputs = computeCpuOutputs(cpuParams, { customer, usageMilli: busyData.usageMilli });
      await rejectedByBoth(b, `ownership flags ${flip.join(',')} altered`);
    }
  });
});

// ---- disk -------------------------------------------------------------------

function mounts(usageBp: number, maxQueue: number, seed: number, nM = 6, nS = 12): DiskMount[] {
  const r = rng(seed);
  return Array.from({ length: nM }, (_, m) => {
    const totalKiB = Math.floor((50 + r() * 2000) * 2 ** 20);
    const frac = m === 0 ? usageBp / 10000 : (usageBp / 10000) * (0.5 + 0.4 * r());
    return {
      usedKiB: Math.floor(totalKiB * frac),
      totalKiB,
      inodesUsed: Math.floor(r() * 4_000_000),
      inodesTotal: m === 2 ? 0 : 16_000_000,
      queueDepth: Array.from({ length: nS }, () => Math.floor(r() * (maxQueue + 1))),
    };
  }).map((m) => (m.inodesTotal === 0 ? { ...m, inodesUsed: 0 } : m));
}
const diskParams: DiskParams = { ...period, ...DISK_DEFAULTS };

describe('disk', () => {
  let full: DiskBundle;
  let fine: DiskBundle;
  before(async () => {
    full = (await proveDisk(pool, { params: diskParams, data: { mounts: mounts(9300, 80, 7) } })).bundle;
    fine = (await proveDisk(pool, { params: diskParams, data: { mounts: mounts(6000, 20, 8) } })).bundle;
  });

  test('proves and verifies in TypeScript and Go, agreeing with the reference', async () => {
    assert.deepEqual(full.claim.outputs, computeDiskOutputs(diskParams, { mounts: mounts(9300, 80, 7) }));
    assert.equal(full.claim.outputs.scaleOut, true);
    assert.equal(full.claim.outputs.performanceIssue, true);
    assert.equal(fine.claim.outputs.scaleOut, false);
    assert.equal(fine.claim.outputs.performanceIssue, false);
    assert.deepEqual(await verdicts(full), { ts: true, go: true });
    assert.deepEqual(await verdicts(fine), { ts: true, go: true });
  });

  test('tampering is rejected by both verifiers', async () => {
    await mutations(full, [
      ['decision flipped (true -> false)', (b) => (b.claim.outputs.scaleOut = false)],
      ['performance issue hidden', (b) => (b.claim.outputs.performanceIssue = false)],
      ['storage pressure lowered', (b) => (b.claim.outputs.maxUsageBp -= 1)],
      ['inode pressure raised', (b) => (b.claim.outputs.maxInodeUsageBp += 1)],
      ['usage threshold raised', (b) => (b.claim.params.usageThresholdBp = 9900)],
      ['queue threshold raised', (b) => (b.claim.params.queueThreshold = 1000)],
      ['a mount dropped', (b) => (b.claim.outputs.nMounts -= 1)],
      ['a sample dropped', (b) => (b.claim.outputs.nSamples -= 1)],
      ['commitment from other data', (b) => (b.commitment = fine.commitment)],
    ]);
    await mutations(fine, [
      ['decision flipped (false -> true)', (b) => (b.claim.outputs.scaleOut = true)],
      ['performance issue invented', (b) => (b.claim.outputs.performanceIssue = true)],
    ]);
  });
});

// ---- gateway ----------------------------------------------------------------

function traffic(n: number, seed: number, bad: { e5xx?: number; connFail?: number; limited?: number } = {}): number[] {
  const r = rng(seed);
  const out = Array.from({ length: n }, () => {
    const x = r();
    const status = x < 0.02 ? 404 : x < 0.05 ? 304 : 200;
    return requestCode({ status, connectionOk: true, rateLimited: false });
  });
  let i = 0;
  for (let k = 0; k < (bad.e5xx ?? 0); k++) out[(i += 97) % n] = requestCode({ status: 503, connectionOk: true, rateLimited: false });
  for (let k = 0; k < (bad.connFail ?? 0); k++) out[(i += 89) % n] = requestCode({ status: 0, connectionOk: false, rateLimited: false });
  for (let k = 0; k < (bad.limited ?? 0); k++) out[(i += 83) % n] = requestCode({ status: 429, connectionOk: true, rateLimited: true });
  return out;
}
const checks = (n: number, failed: number) => Array.from({ length: n }, (_, i) => i >= failed);
const gwParams: GatewayParams = { ...period, ...GATEWAY_DEFAULTS };

describe('gateway', () => {
  let healthy: GatewayBundle;
  let degraded: GatewayBundle;
  before(async () => {
    healthy = (await proveGateway(pool, { params: gwParams, requests: traffic(1000, 9), checks: checks(60, 0) })).bundle;
    degraded = (await proveGateway(pool, { params: gwParams, requests: traffic(1000, 10, { e5xx: 3, connFail: 2, limited: 1 }), checks: checks(60, 1) })).bundle;
  });

  test('proves and verifies in TypeScript and Go, agreeing with the reference', async () => {
    assert.deepEqual(healthy.claim.outputs, computeGatewayOutputs(gwParams, { requests: traffic(1000, 9), checks: checks(60, 0) }));
    assert.equal(healthy.claim.outputs.compliant, true);
    assert.equal(healthy.claim.outputs.healthBp, 10000);
    assert.deepEqual(degraded.claim.outputs, {
      n: 1000,
      nChecks: 60,
      healthBp: 9950,
      errorRateOk: false,
      availabilityOk: false, // 59 of 60 = 98.3 %
      connectionOk: true,
      rateLimitOk: false,
      compliant: false,
    });
    assert.deepEqual(await verdicts(healthy), { ts: true, go: true });
    assert.deepEqual(await verdicts(degraded), { ts: true, go: true });
  });

  test('request records and codes prove the same statement', async () => {
    const recs = [
      { status: 200, connectionOk: true, rateLimited: false },
      { status: 502, connectionOk: true, rateLimited: false },
    ];
    const a = await proveGateway(pool, { params: gwParams, requests: recs, checks: [true], salt: 5n });
    const b = await proveGateway(pool, { params: gwParams, requests: gatewayRequestCodes(recs), checks: [true], salt: 5n });
    assert.equal(a.bundle.commitment, b.bundle.commitment);
    assert.equal(a.bundle.claim.outputs.healthBp, 5000);
  });

  test('tampering is rejected by both verifiers', async () => {
    await mutations(healthy, [
      ['verdict flipped (true -> false)', (b) => (b.claim.outputs.compliant = false)],
      ['health - 0.01 %', (b) => (b.claim.outputs.healthBp -= 1)],
      ['5xx limit lowered', (b) => (b.claim.params.max5xxBp = 0)],
      ['availability minimum raised', (b) => (b.claim.params.minAvailabilityBp = 10000)],
      ['a request dropped (n - 1)', (b) => (b.claim.outputs.n -= 1)],
      ['a health check dropped', (b) => (b.claim.outputs.nChecks -= 1)],
      ['reporting period moved', (b) => (b.claim.params.periodStartUs -= 1_000_000)],
      ['commitment from other data', (b) => (b.commitment = degraded.commitment)],
      ['proof of other data', (b) => (b.proof.groth16 = degraded.proof.groth16)],
    ]);
    await mutations(degraded, [
      ['verdict flipped (false -> true)', (b) => (b.claim.outputs.compliant = true)],
      ['5xx term flipped', (b) => (b.claim.outputs.errorRateOk = true)],
      ['rate-limit allowance raised', (b) => (b.claim.params.maxRateLimited = 1)],
    ]);
  });

  test('the attestation chain rejects a threshold changed after signing', async () => {
    const signed = attachAttestation(degraded, enclave);
    const at = new Date();
    assert.equal((await verifyBundle(signed, { keys, policy: devPolicy, at, allowDevSetup: true })).ok, true);
    const changed = clone(signed);
    changed.claim.params.max5xxBp = 100;
    changed.claim.outputs.errorRateOk = true;
    assert.equal((await verifyBundle(changed, { keys, policy: devPolicy, at, allowDevSetup: true })).ok, false);
  });

  test('bad inputs are refused before proving, with codes', async () => {
    await assert.rejects(proveGateway(pool, { params: gwParams, requests: [], checks: [] }), (e: unknown) => isVeriteeError(e, 'INPUT_FILE_EMPTY'));
    await assert.rejects(proveGateway(pool, { params: gwParams, requests: [7], checks: [] }), (e: unknown) => isVeriteeError(e, 'RECORD_FIELD_INVALID'));
    await assert.rejects(proveGateway(pool, { params: { ...gwParams, minConnectionBp: 10001 }, requests: [3], checks: [] }), (e: unknown) => isVeriteeError(e, 'CLAIM_PARAMS_INVALID'));
    await assert.rejects(proveGateway(pool, { params: gwParams, requests: traffic(1025, 1), checks: [], capacity: 1024 }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
  });
});
