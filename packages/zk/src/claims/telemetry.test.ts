/**
 * The plain TypeScript references of the telemetry claims (the computations the
 * circuits must agree with): edge cases at exactly each threshold, rounding,
 * padding-free shapes, size classes and parameter validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError, requestCode } from '@veritee/core';
import { computeMemoryOutputs, memoryClaim, memoryClaimV1, memoryClaimV2, validateMemoryData, validateMemoryParams, MEMORY_DEFAULTS, type MemoryParams } from './memory.js';
import { computeCpuOutputs, cpuClaim, validateCpuData, CPU_DEFAULTS, type CpuParams } from './cpu.js';
import { computeDiskOutputs, diskClaim, validateDiskData, validateDiskParams, DISK_DEFAULTS, type DiskParams } from './disk.js';
import { computeGatewayOutputs, gatewayClaim, gatewayRequestCodes, validateGatewayParams, GATEWAY_DEFAULTS, type GatewayParams } from './gateway.js';
import { percentileOf, rankOf } from './telemetry.js';
import { capacityOf } from './claim.js';

/** An nS x nP grid, for the size-class fit. */
const grid = (nS: number, nP: number) => Array.from({ length: nS }, () => new Array<number>(nP).fill(0));

const period = { periodStartUs: 1_763_596_800_000_000, periodEndUs: 1_763_596_800_000_000 + 600_000_000 };
const code = (e: unknown, c: string) => isVeriteeError(e) && e.code === c;

test('nearest rank and percentiles', () => {
  assert.equal(rankOf(9000, 60), 54);
  assert.equal(rankOf(9000, 61), 55); // 54.9 rounds up
  assert.equal(rankOf(9500, 1), 1);
  assert.equal(rankOf(10000, 7), 7);
  const v = [50, 10, 40, 10, 30];
  assert.equal(percentileOf(v, 9000), 50);
  assert.equal(percentileOf(v, 5000), 30);
  assert.equal(percentileOf(v, 4000), 10);
});

test('memory: exactly at the threshold does not scale out; one KiB more does', () => {
  const p: MemoryParams = { ...period, allocatedKiB: 10_000, ...MEMORY_DEFAULTS };
  const window = (kib: number) => ({ swapPages: Array(10).fill(0), pageFaults: Array(10).fill(0), usageKiB: Array.from({ length: 10 }, () => [kib - 2500, 2500]) });
  assert.deepEqual(computeMemoryOutputs(p, window(8500)), { nSamples: 10, nProcesses: 2, usageBp: 8500, scaleOut: false });
  assert.deepEqual(computeMemoryOutputs(p, window(8501)), { nSamples: 10, nProcesses: 2, usageBp: 8501, scaleOut: true });
  // 85.004 %: rounds down to 8500 but is over the threshold
  const q = { ...p, allocatedKiB: 1_000_000 };
  assert.deepEqual(computeMemoryOutputs(q, window(850_040)), { nSamples: 10, nProcesses: 2, usageBp: 8500, scaleOut: true });
  // p90 of 10 totals is the 9th smallest: one outlier does not scale out, two do
  const w = window(5000);
  w.usageKiB[3] = [9000, 0];
  assert.equal(computeMemoryOutputs(p, w).scaleOut, false);
  w.usageKiB[7] = [9000, 0];
  assert.equal(computeMemoryOutputs(p, w).scaleOut, true);
  // a threshold of 0 scales out on any use; 10000 never (below 100 %)
  assert.equal(computeMemoryOutputs({ ...p, thresholdBp: 0 }, window(1)).scaleOut, true);
  assert.equal(computeMemoryOutputs({ ...p, thresholdBp: 10000 }, window(10_000)).scaleOut, false);
  // totals beyond 2^53 / 10000 are compared exactly (no floating point)
  const big = { ...p, allocatedKiB: 2 ** 40 - 1, thresholdBp: 9999 };
  const huge = { swapPages: [0], pageFaults: [0], usageKiB: [Array.from({ length: 256 }, () => 2 ** 32 - 1)] };
  assert.equal(computeMemoryOutputs(big, huge).usageBp, Math.floor((256 * (2 ** 32 - 1) * 10000) / (2 ** 40 - 1)));
  // v2 and v3 bind the commitment through the BSB22 commitment (9 public inputs); v1 carries it as the first of 10
  assert.equal(memoryClaim.version, 3);
  assert.equal(memoryClaim.publicInputs(5n, p, computeMemoryOutputs(p, window(8500))).length, 9);
  assert.deepEqual(memoryClaimV2.publicInputs(5n, p, computeMemoryOutputs(p, window(8500))), memoryClaim.publicInputs(5n, p, computeMemoryOutputs(p, window(8500))));
  assert.equal(memoryClaimV1.publicInputs(5n, p, computeMemoryOutputs(p, window(8500))).length, 10);
});

test('memory: parameters and data are validated with codes', () => {
  const p: MemoryParams = { ...period, allocatedKiB: 10_000, ...MEMORY_DEFAULTS };
  assert.throws(() => validateMemoryParams({ ...p, thresholdBp: 10001 }), (e) => code(e, 'CLAIM_PARAMS_INVALID'));
  assert.throws(() => validateMemoryParams({ ...p, percentileBp: 0 }), (e) => code(e, 'CLAIM_PARAMS_INVALID'));
  assert.throws(() => validateMemoryParams({ ...p, allocatedKiB: 0 }), (e) => code(e, 'CLAIM_PARAMS_INVALID'));
  assert.throws(() => validateMemoryParams({ ...p, periodEndUs: p.periodStartUs }), (e) => code(e, 'PERIOD_INVALID'));
  assert.throws(() => validateMemoryData({ swapPages: [], pageFaults: [], usageKiB: [] }), (e) => code(e, 'INPUT_FILE_EMPTY'));
  assert.throws(() => validateMemoryData({ swapPages: [0, 0], pageFaults: [0, 0], usageKiB: [[1, 2], [3]] }), (e) => code(e, 'INPUT_INVALID'));
  assert.throws(() => validateMemoryData({ swapPages: [0], pageFaults: [0], usageKiB: [[2 ** 32]] }), (e) => code(e, 'RECORD_VALUE_TOO_LARGE'));
  assert.throws(() => validateMemoryData({ swapPages: [0], pageFaults: [-1], usageKiB: [[1]] }), (e) => code(e, 'RECORD_FIELD_INVALID'));
  assert.equal(capacityOf(memoryClaim, {} as never, { usageKiB: grid(16, 32) } as never), 512);
  assert.equal(capacityOf(memoryClaim, {} as never, { usageKiB: grid(60, 256) } as never), 16384);
  assert.equal(capacityOf(memoryClaim, {} as never, { usageKiB: grid(17, 2) } as never), 16384);
  assert.throws(() => capacityOf(memoryClaim, {} as never, { usageKiB: grid(129, 1) } as never), (e) => code(e, 'CLAIM_TOO_MANY_RECORDS'));
});

test('cpu: customer p95 and platform share at exactly their thresholds', () => {
  const p: CpuParams = { ...period, capacityMilli: 8000, ...CPU_DEFAULTS };
  const data = (platform: number, customer: number) => ({ customer: [false, true], usageMilli: Array.from({ length: 20 }, () => [platform, customer]) });
  // customer 6400 / 8000 = 80.00 %: no scale-out; platform 711 / 7111 < 10 %
  assert.deepEqual(computeCpuOutputs(p, data(711, 6400)), { nSamples: 20, nProcesses: 2, band: 8, scaleOut: false, platformBelowLimit: true });
  assert.deepEqual(computeCpuOutputs(p, data(712, 6401)), { nSamples: 20, nProcesses: 2, band: 8, scaleOut: true, platformBelowLimit: false });
  // platform exactly 10 % of the total is not below the limit
  assert.equal(computeCpuOutputs(p, data(500, 4500)).platformBelowLimit, false);
  // nothing ran: no evidence the platform stayed below the limit
  assert.deepEqual(computeCpuOutputs(p, data(0, 0)), { nSamples: 20, nProcesses: 2, band: 0, scaleOut: false, platformBelowLimit: false });
  // band edges: 79.99 % is band 7, 80 % band 8, 100 % band 10
  assert.equal(computeCpuOutputs(p, data(0, 6399)).band, 7);
  assert.equal(computeCpuOutputs(p, data(0, 6400)).band, 8);
  assert.equal(computeCpuOutputs(p, data(0, 8000)).band, 10);
  // p95 of 20 samples is the 19th: one busy sample does not scale out, two do
  const d = data(100, 1000);
  d.usageMilli[4] = [100, 7000];
  assert.equal(computeCpuOutputs(p, d).scaleOut, false);
  d.usageMilli[9] = [100, 7000];
  assert.equal(computeCpuOutputs(p, d).scaleOut, true);
  // relabelling a process changes the outputs
  assert.equal(computeCpuOutputs(p, { ...data(3000, 4000), customer: [true, true] }).platformBelowLimit, true);
  assert.equal(computeCpuOutputs(p, data(3000, 4000)).platformBelowLimit, false);
  assert.throws(() => validateCpuData({ customer: [true], usageMilli: [[2 ** 20]] }), (e) => code(e, 'RECORD_VALUE_TOO_LARGE'));
  assert.throws(() => validateCpuData({ customer: [true, false], usageMilli: [[1]] }), (e) => code(e, 'INPUT_INVALID'));
  assert.equal(capacityOf(cpuClaim, {} as never, { usageMilli: grid(60, 1), customer: new Array(256) } as never), 16384);
});

test('disk: usage, inode and queue thresholds at exactly their values', () => {
  const p: DiskParams = { ...period, ...DISK_DEFAULTS };
  const mount = (used: number, iused: number, q: number) => ({ usedKiB: used, totalKiB: 10_000, inodesUsed: iused, inodesTotal: 1000, queueDepth: [0, q, 1] });
  assert.deepEqual(computeDiskOutputs(p, { mounts: [mount(8500, 900, 32), mount(100, 10, 0)] }), {
    nMounts: 2,
    nSamples: 3,
    maxUsageBp: 8500,
    maxInodeUsageBp: 9000,
    scaleOut: false,
    performanceIssue: false,
  });
  assert.equal(computeDiskOutputs(p, { mounts: [mount(8501, 0, 0)] }).scaleOut, true);
  assert.equal(computeDiskOutputs(p, { mounts: [mount(0, 901, 0)] }).scaleOut, true);
  assert.equal(computeDiskOutputs(p, { mounts: [mount(0, 0, 33)] }).performanceIssue, true);
  // no inode accounting and an empty filesystem count as 0 %
  const none = { usedKiB: 0, totalKiB: 0, inodesUsed: 0, inodesTotal: 0, queueDepth: [0, 0, 0] };
  assert.deepEqual(computeDiskOutputs(p, { mounts: [none] }), { nMounts: 1, nSamples: 3, maxUsageBp: 0, maxInodeUsageBp: 0, scaleOut: false, performanceIssue: false });
  assert.throws(() => validateDiskData({ mounts: [{ ...none, usedKiB: 1 }] }), (e) => code(e, 'INPUT_INVALID'));
  assert.throws(() => validateDiskData({ mounts: [{ ...none, queueDepth: [2 ** 16] }] }), (e) => code(e, 'RECORD_VALUE_TOO_LARGE'));
  assert.throws(() => validateDiskParams({ ...p, queueThreshold: 2 ** 16 }), (e) => code(e, 'CLAIM_PARAMS_INVALID'));
  assert.equal(capacityOf(diskClaim, {} as never, { mounts: grid(8, 0).map(() => ({ queueDepth: new Array(16) })) } as never), 128);
  assert.equal(capacityOf(diskClaim, {} as never, { mounts: grid(9, 0).map(() => ({ queueDepth: new Array(16) })) } as never), 4096);
});

test('gateway: each SLA term at exactly its threshold', () => {
  const p: GatewayParams = { ...period, ...GATEWAY_DEFAULTS };
  const ok = requestCode({ status: 200, connectionOk: true, rateLimited: false });
  const reqs = (n: number, bad: number, badCode: number) => Array.from({ length: n }, (_, i) => (i < bad ? badCode : ok));
  const checks = (n: number, failed: number) => Array.from({ length: n }, (_, i) => i >= failed);
  const e503 = requestCode({ status: 503, connectionOk: true, rateLimited: false });
  // 2 of 2000 5xx = exactly 0.1 %: not below
  let o = computeGatewayOutputs(p, { requests: reqs(2000, 2, e503), checks: checks(100, 0) });
  assert.equal(o.errorRateOk, false);
  assert.equal(o.compliant, false);
  assert.equal(o.healthBp, 9990);
  o = computeGatewayOutputs(p, { requests: reqs(2000, 1, e503), checks: checks(100, 0) });
  assert.deepEqual(o, { n: 2000, nChecks: 100, healthBp: 9995, errorRateOk: true, availabilityOk: true, connectionOk: true, rateLimitOk: true, compliant: true });
  // 99 of 100 checks = exactly 99 %: not above
  assert.equal(computeGatewayOutputs(p, { requests: reqs(10, 0, ok), checks: checks(100, 1) }).availabilityOk, false);
  assert.equal(computeGatewayOutputs(p, { requests: reqs(10, 0, ok), checks: checks(1000, 9) }).availabilityOk, true);
  assert.equal(computeGatewayOutputs(p, { requests: reqs(10, 0, ok), checks: [] }).availabilityOk, false);
  // 1990 of 2000 connections = exactly 99.5 %: not above
  const fail = requestCode({ status: 0, connectionOk: false, rateLimited: false });
  assert.equal(computeGatewayOutputs(p, { requests: reqs(2000, 10, fail), checks: checks(10, 0) }).connectionOk, false);
  assert.equal(computeGatewayOutputs(p, { requests: reqs(2000, 9, fail), checks: checks(10, 0) }).connectionOk, true);
  // rate limiting: allowance 0 by default
  const limited = requestCode({ status: 429, connectionOk: true, rateLimited: true });
  assert.equal(computeGatewayOutputs(p, { requests: reqs(100, 1, limited), checks: checks(10, 0) }).rateLimitOk, false);
  assert.equal(computeGatewayOutputs({ ...p, maxRateLimited: 1 }, { requests: reqs(100, 1, limited), checks: checks(10, 0) }).rateLimitOk, true);
  // health: 4xx count as successes, a connected request without a response does not
  const noResponse = requestCode({ status: 0, connectionOk: true, rateLimited: false });
  const e404 = requestCode({ status: 404, connectionOk: true, rateLimited: false });
  assert.equal(computeGatewayOutputs(p, { requests: [ok, e404, noResponse], checks: [] }).healthBp, 6666);
  assert.deepEqual(gatewayRequestCodes([{ status: 503, connectionOk: true, rateLimited: false }]), [e503]);
  assert.throws(() => gatewayRequestCodes([{ status: 700, connectionOk: true, rateLimited: false }]), (e) => code(e, 'RECORD_FIELD_INVALID'));
  assert.throws(() => validateGatewayParams({ ...p, minConnectionBp: 10001 }), (e) => code(e, 'CLAIM_PARAMS_INVALID'));
  assert.equal(capacityOf(gatewayClaim, {} as never, { requests: new Array(1024), checks: new Array(64) } as never), 1024);
  assert.equal(capacityOf(gatewayClaim, {} as never, { requests: new Array(1000), checks: new Array(65) } as never), 16384);
  assert.equal(capacityOf(gatewayClaim, {} as never, { requests: new Array(50_000), checks: new Array(100) } as never), 65536);
});
