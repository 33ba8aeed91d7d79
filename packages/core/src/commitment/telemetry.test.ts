/**
 * The telemetry commitments: any change to the data, including one ownership
 * flag or one request, changes them; items out of range are refused. Their
 * agreement with Go, bit for bit, is checked per claim against the claims'
 * vector sets (packages/zk/src/claims/vectors.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuCommitment, diskCommitment, gatewayCommitment, memoryCommitment, packItems, packRequestCodes, requestCode } from './index.js';
import { isVeriteeError } from '../errors.js';

const P = { salt: 2n ** 247n + 12345n, periodStartUs: 1_763_596_800_000_000, periodEndUs: 1_763_596_980_000_000 };
const rows = (n: number, m: number, k = 1) => Array.from({ length: n }, (_, s) => Array.from({ length: m }, (_, p) => (s * m + p) * k));
const mem = { ...P, allocatedKiB: 8 << 20, swapPages: [1, 2, 3], pageFaults: [4, 5, 6], usageKiB: rows(3, 5, 1000) };
const cpu = { ...P, capacityMilli: 4000, customer: [true, false, true, true, false, true], usageMilli: rows(4, 6, 10) };
const gw = { ...P, requests: [11, 11, 30, 1, 11, 14], checks: [true, false, true, true] };
const disk = { ...P, mounts: [0, 1].map((i) => ({ usedKiB: 10 + i, totalKiB: 100, inodesUsed: i, inodesTotal: 10, queueDepth: [1, 2, 3] })) };

test('any change to the data changes the commitment', () => {
  const m = mem;
  const c = memoryCommitment(m);
  const usage = m.usageKiB.map((r) => [...r]);
  usage[1]![2]! += 1;
  assert.notEqual(memoryCommitment({ ...m, usageKiB: usage }), c);
  assert.notEqual(memoryCommitment({ ...m, allocatedKiB: m.allocatedKiB + 1 }), c);
  assert.notEqual(memoryCommitment({ ...m, swapPages: [m.swapPages[0]! > 0 ? m.swapPages[0]! - 1 : 1, ...m.swapPages.slice(1)] }), c);
  // a sample dropped, or duplicated
  assert.notEqual(memoryCommitment({ ...m, usageKiB: m.usageKiB.slice(0, -1), swapPages: m.swapPages.slice(0, -1), pageFaults: m.pageFaults.slice(0, -1) }), c);
  assert.notEqual(
    memoryCommitment({ ...m, usageKiB: [...m.usageKiB, m.usageKiB[0]!], swapPages: [...m.swapPages, m.swapPages[0]!], pageFaults: [...m.pageFaults, m.pageFaults[0]!] }),
    c,
  );

  const u = cpu;
  const cc = cpuCommitment(u);
  const flipped = [...u.customer];
  flipped[5] = !flipped[5];
  assert.notEqual(cpuCommitment({ ...u, customer: flipped }), cc, 'one ownership flag');
  assert.notEqual(cpuCommitment({ ...u, capacityMilli: u.capacityMilli + 1000 }), cc);

  const g = gw;
  const gc = gatewayCommitment(g);
  assert.notEqual(gatewayCommitment({ ...g, requests: g.requests.slice(1) }), gc, 'a request dropped');
  assert.notEqual(gatewayCommitment({ ...g, requests: [...g.requests, g.requests[0]!] }), gc, 'a request duplicated');
  assert.notEqual(gatewayCommitment({ ...g, checks: g.checks.map((x, i) => (i === 0 ? !x : x)) }), gc, 'a check flipped');
  assert.notEqual(gatewayCommitment({ ...g, periodEndUs: g.periodEndUs + 1 }), gc, 'the period');

  const d = disk;
  const mounts = d.mounts.map((x) => ({ ...x }));
  mounts[0]!.usedKiB += 1;
  assert.notEqual(diskCommitment({ ...d, mounts }), diskCommitment(d));
});

test('request codes', () => {
  assert.equal(requestCode({ status: 200, connectionOk: true, rateLimited: false }), 3 + 8);
  assert.equal(requestCode({ status: 503, connectionOk: true, rateLimited: true }), 6 + 8 + 16);
  assert.equal(requestCode({ status: 0, connectionOk: false, rateLimited: false }), 1);
  for (const status of [99, 600, 42, 1.5]) {
    assert.throws(() => requestCode({ status, connectionOk: true, rateLimited: false }), (e: unknown) => isVeriteeError(e, 'RECORD_FIELD_INVALID'));
  }
  for (const bad of [0, 7, 8, 15, 32]) assert.throws(() => packRequestCodes([bad]), (e: unknown) => isVeriteeError(e, 'RECORD_FIELD_INVALID'));
});

test('items past their width or negative are refused with a code', () => {
  const m = { ...mem, swapPages: [0], pageFaults: [0] };
  assert.throws(() => memoryCommitment({ ...m, usageKiB: [[2 ** 32]] }), (e: unknown) => isVeriteeError(e, 'RECORD_VALUE_TOO_LARGE'));
  assert.throws(() => memoryCommitment({ ...m, usageKiB: [[-1]] }), (e: unknown) => isVeriteeError(e, 'RECORD_FIELD_INVALID'));
  assert.throws(() => memoryCommitment({ ...m, usageKiB: [[1, 2]], swapPages: [0, 0] }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
  assert.deepEqual(packItems([1, 2, 3], 32), [1n + (2n << 32n) + (3n << 64n)]);
});
