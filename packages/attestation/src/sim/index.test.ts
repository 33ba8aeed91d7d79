/**
 * The simulated TEE through the real verifiers: accepted only under allowSimulated with
 * the simulator's anchors; refused by the production policy; binding enforced.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import type { Platform } from '../types.js';
import { parsePolicy, productionPolicy } from '../policy.js';
import { computeReportData } from '../report-data.js';
import { formatResult, verifyEvidence } from '../verify.js';
import { anchorsFromJson, anchorsToJson, SimulatedTee } from './index.js';

const AT = new Date('2025-06-01T00:00:00Z');
const NONCE = new Uint8Array(32).fill(7);
const PKH = new Uint8Array(32).fill(9);
const PLATFORMS: Platform[] = ['snp', 'tdx', 'nvidia'];

const devPolicy = parsePolicy({
  name: 'dev',
  platforms: PLATFORMS,
  allowSimulated: true,
  reportData: { require: ['nonce', 'publicKeyHash'] },
  snp: { measurements: 'any' },
  tdx: { mrtd: 'any' },
  nvidia: { measurements: 'any' },
});

let tee: SimulatedTee;
before(async () => {
  tee = await SimulatedTee.create({ at: AT });
});

for (const platform of PLATFORMS) {
  test(`simulated ${platform} evidence verifies under an allowSimulated policy with the simulator's anchors`, async () => {
    const env = tee.boundEvidence(platform, { nonce: NONCE, publicKeyHash: PKH });
    const r = await verifyEvidence(env, { policy: devPolicy, at: AT, nonce: NONCE, publicKeyHash: PKH, simulatedAnchors: tee.anchors });
    assert.equal(r.ok, true, formatResult(r));
    assert.equal(r.claims?.simulated, true);
    assert.equal(r.appraisal.status, 'warning'); // simulated hardware is never "affirming"
    assert.ok(r.checks.some((c) => c.name === 'policy.simulated' && c.ok && /SIMULATED/.test(c.detail)));
  });

  test(`simulated ${platform} evidence is refused under the production policy`, async () => {
    const env = tee.boundEvidence(platform, { nonce: NONCE });
    // Even when the caller passes the simulator's anchors, a production policy never offers them.
    const r = await verifyEvidence(env, { policy: productionPolicy(), at: AT, nonce: NONCE, simulatedAnchors: tee.anchors });
    assert.equal(r.ok, false, formatResult(r));
    assert.equal(r.appraisal.status, 'contraindicated');
    assert.ok(r.failures.some((f) => f.code === 'ATTEST_CERT_CHAIN_INVALID' || f.code === 'ATTEST_SIMULATED_REFUSED'), formatResult(r));
  });

  test(`simulated ${platform}: a wrong nonce or a wrong public-key hash fails the binding`, async () => {
    const env = tee.boundEvidence(platform, { nonce: NONCE, publicKeyHash: PKH });
    const opts = { policy: devPolicy, at: AT, simulatedAnchors: tee.anchors };
    const wrongNonce = await verifyEvidence(env, { ...opts, nonce: new Uint8Array(32).fill(8), publicKeyHash: PKH });
    assert.equal(wrongNonce.ok, false);
    assert.ok(wrongNonce.failures.some((f) => f.name === 'policy.report_data' && f.code === 'ATTEST_REPORT_DATA_MISMATCH'), formatResult(wrongNonce));
    const wrongKey = await verifyEvidence(env, { ...opts, nonce: NONCE, publicKeyHash: new Uint8Array(32).fill(1) });
    assert.equal(wrongKey.ok, false);
    assert.ok(wrongKey.failures.some((f) => f.name === 'policy.report_data'), formatResult(wrongKey));
  });
}

test('allowSimulated without the anchors still fails: anchors are never implicit', async () => {
  const env = tee.boundEvidence('snp', { nonce: NONCE, publicKeyHash: PKH });
  const r = await verifyEvidence(env, { policy: devPolicy, at: AT, nonce: NONCE, publicKeyHash: PKH });
  assert.equal(r.ok, false);
});

test('simulated debug guests and pinned measurements go through the same policy checks', async () => {
  const measurement = new Uint8Array(48).fill(0x42);
  const pinned = parsePolicy({ ...devPolicy, name: 'dev-pinned', snp: { measurements: ['42'.repeat(48)] } });
  const rd = computeReportData({ nonce: NONCE, publicKeyHash: PKH });
  const ok = await verifyEvidence(tee.evidence('snp', { reportData: rd, measurement }), { policy: pinned, at: AT, nonce: NONCE, publicKeyHash: PKH, simulatedAnchors: tee.anchors });
  assert.equal(ok.ok, true, formatResult(ok));
  const other = await verifyEvidence(tee.evidence('snp', { reportData: rd }), { policy: pinned, at: AT, nonce: NONCE, publicKeyHash: PKH, simulatedAnchors: tee.anchors });
  assert.deepEqual(other.failures.map((f) => f.name), ['policy.measurement']);
  const debug = await verifyEvidence(tee.evidence('tdx', { reportData: rd, debug: true }), { policy: devPolicy, at: AT, nonce: NONCE, publicKeyHash: PKH, simulatedAnchors: tee.anchors });
  assert.deepEqual(debug.failures.map((f) => f.name), ['policy.debug']);
});

test('simulated certificates expire: verification after notAfter fails with certificate expired', async () => {
  const env = tee.boundEvidence('snp', { nonce: NONCE, publicKeyHash: PKH });
  const late = new Date(tee.notAfter.getTime() + 86_400_000);
  const r = await verifyEvidence(env, { policy: devPolicy, at: late, nonce: NONCE, publicKeyHash: PKH, simulatedAnchors: tee.anchors });
  assert.equal(r.ok, false);
  assert.ok(r.failures.some((f) => f.code === 'ATTEST_CERT_EXPIRED'), formatResult(r));
});

test('anchors round-trip through JSON; a simulator built for one platform refuses the others', async () => {
  const back = anchorsFromJson(JSON.parse(JSON.stringify(anchorsToJson(tee.anchors))));
  assert.deepEqual(back, tee.anchors);
  const only = await SimulatedTee.create({ platforms: ['nvidia'], at: AT });
  assert.throws(() => only.evidence('snp', { reportData: new Uint8Array(64) }), (e) => isVeriteeError(e, 'ATTEST_PLATFORM_UNSUPPORTED'));
  assert.throws(() => only.evidence('nvidia', { reportData: new Uint8Array(10) }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
});
