/**
 * The simulated Hopper GPU (sim/nvidia.ts) through the REAL verifier: accepted only with
 * its anchors (claims.simulated = true), refused without, and tampering still detected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fromBase64, toBase64, toHex } from '@veritee/core';
import type { EvidenceEnvelope, VerificationResult } from '../types.js';
import { createSimNvidiaAuthority, defaultSimNvidiaMeasurements, simNvidiaEvidence } from '../sim/nvidia.js';
import { nvidiaVerifier, parseSpdmEvidence } from './index.js';

const AT = new Date('2025-06-01T00:00:00Z');
const NONCE = new Uint8Array(32).map((_, i) => i * 7 + 1);
const auth = await createSimNvidiaAuthority();

function failed(r: VerificationResult): Record<string, string | undefined> {
  return Object.fromEntries(r.checks.filter((c) => !c.ok).map((c) => [c.name, c.code]));
}

test('simulated evidence is accepted with the simulated anchors, marked simulated', async () => {
  const env = simNvidiaEvidence(auth, { nonce: NONCE });
  const r = await nvidiaVerifier.verify(env, { at: AT, expectedNonce: NONCE, simulatedAnchors: auth.anchors });
  assert.equal(r.ok, true, JSON.stringify(failed(r)));
  const c = r.claims!;
  assert.equal(c.simulated, true);
  assert.equal(c.reportData, toHex(NONCE));
  assert.equal(c.chipId, auth.deviceId);
  assert.equal(c.certChain.length, 3);
  const values = defaultSimNvidiaMeasurements();
  assert.deepEqual(c.measurements, Object.fromEntries(values.map((v, i) => [`gpu.${i + 1}`, toHex(v)])));
  const h = createHash('sha384');
  for (const v of values) h.update(v);
  assert.equal(c.measurement, h.digest('hex'));
  assert.equal((c.platformData as { device: { fwid: string } }).device.fwid, toHex(auth.fwid));
});

test('simulated evidence is refused without the anchors (and with another simulator\'s)', async () => {
  const env = simNvidiaEvidence(auth, { nonce: NONCE });
  const r = await nvidiaVerifier.verify(env, { at: AT, expectedNonce: NONCE });
  assert.equal(r.ok, false);
  assert.deepEqual(failed(r), { 'nvidia.cert_chain': 'ATTEST_CERT_CHAIN_INVALID' });
  assert.equal(r.claims!.simulated, false);
  const other = await createSimNvidiaAuthority();
  const r2 = await nvidiaVerifier.verify(env, { at: AT, simulatedAnchors: other.anchors });
  assert.equal(r2.ok, false);
});

test('the simulator emits the real layout: 37-byte request, DMTF blocks of any size, 96-byte signature', async () => {
  const measurements = [new Uint8Array(32).fill(1), new Uint8Array(48).fill(2), new Uint8Array(64).fill(3)];
  const env = simNvidiaEvidence(auth, { nonce: NONCE, measurements });
  const spdm = fromBase64(env.evidence.spdm as string);
  const e = parseSpdmEvidence(spdm);
  assert.equal(e.request.length, 37);
  assert.equal(e.request.version, 0x11);
  assert.equal(e.response.blocks.length, 3);
  assert.deepEqual(e.response.blocks.map((b) => b.value.length), [32, 48, 64]);
  assert.equal(spdm.length, e.signedBytes.length + 96);
  const r = await nvidiaVerifier.verify(env, { at: AT, simulatedAnchors: auth.anchors });
  assert.equal(r.ok, true, JSON.stringify(failed(r)));
  assert.equal(r.claims!.measurements['gpu.3'], '03'.repeat(64));
});

test('tampered simulated evidence fails: measurement, signature, wrong nonce, mixed chains', async () => {
  const env = simNvidiaEvidence(auth, { nonce: NONCE });
  const spdm = fromBase64(env.evidence.spdm as string);
  const withSpdm = (b: Uint8Array): EvidenceEnvelope => ({ ...env, evidence: { ...env.evidence, spdm: toBase64(b) } });
  const params = { at: AT, expectedNonce: NONCE, simulatedAnchors: auth.anchors };

  const m = spdm.slice();
  m[37 + 8 + 7]! ^= 1; // first byte of block 1's value
  assert.deepEqual(failed(await nvidiaVerifier.verify(withSpdm(m), params)), { 'nvidia.signature': 'ATTEST_SIGNATURE_INVALID' });

  const s = spdm.slice();
  s[s.length - 1]! ^= 1;
  assert.deepEqual(failed(await nvidiaVerifier.verify(withSpdm(s), params)), { 'nvidia.signature': 'ATTEST_SIGNATURE_INVALID' });

  const wrong = NONCE.slice();
  wrong[0]! ^= 1;
  assert.deepEqual(failed(await nvidiaVerifier.verify(env, { ...params, expectedNonce: wrong })), {
    'nvidia.nonce': 'ATTEST_REPORT_DATA_MISMATCH',
  });

  // evidence signed by device A presented with device B's (valid) chain
  const other = await createSimNvidiaAuthority();
  const mixed: EvidenceEnvelope = { ...env, evidence: { ...env.evidence, cert_chain: other.certChainPem } };
  const r = await nvidiaVerifier.verify(mixed, { ...params, simulatedAnchors: other.anchors });
  assert.deepEqual(failed(r), { 'nvidia.signature': 'ATTEST_SIGNATURE_INVALID', 'nvidia.fwid': 'ATTEST_CERT_CHAIN_INVALID' });
});

test('simulated chain outside its validity window -> ATTEST_CERT_EXPIRED', async () => {
  const short = await createSimNvidiaAuthority({ notBefore: new Date('2025-01-01T00:00:00Z'), notAfter: new Date('2025-12-31T00:00:00Z') });
  const env = simNvidiaEvidence(short, { nonce: NONCE });
  const ok = await nvidiaVerifier.verify(env, { at: AT, simulatedAnchors: short.anchors });
  assert.equal(ok.ok, true);
  for (const at of [new Date('2024-12-31T00:00:00Z'), new Date('2026-06-01T00:00:00Z')]) {
    const r = await nvidiaVerifier.verify(env, { at, simulatedAnchors: short.anchors });
    assert.deepEqual(failed(r), { 'nvidia.cert_validity': 'ATTEST_CERT_EXPIRED' });
  }
  // a generated window past 2049 uses GeneralizedTime and still parses
  const long = await createSimNvidiaAuthority({ notAfter: new Date('2120-01-01T00:00:00Z') });
  const r = await nvidiaVerifier.verify(simNvidiaEvidence(long, { nonce: NONCE }), { at: new Date('2100-01-01T00:00:00Z'), simulatedAnchors: long.anchors });
  assert.equal(r.ok, true, JSON.stringify(failed(r)));
});

test('simulator input errors', async () => {
  assert.throws(() => simNvidiaEvidence(auth, { nonce: new Uint8Array(31) }), { code: 'INPUT_INVALID' });
  assert.throws(() => simNvidiaEvidence(auth, { nonce: NONCE, measurements: [] }), { code: 'INPUT_INVALID' });
  await assert.rejects(createSimNvidiaAuthority({ notBefore: new Date('2030-01-01'), notAfter: new Date('2020-01-01') }), { code: 'INPUT_INVALID' });
});
