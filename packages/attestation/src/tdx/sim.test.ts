import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fromBase64 } from '@veritee/core';
import { createSimTdxAuthority, simTdxEvidence } from '../sim/tdx.js';
import type { VerificationResult } from '../types.js';
import { phalaV4Collateral } from './test-fixtures.js';
import { tdxVerifier } from './verify.js';

const require = createRequire(import.meta.url);
const qvl = require('@phala/dcap-qvl') as { QuoteVerifier: { newWithRootCa(der: Uint8Array): { verify(q: Uint8Array, c: unknown, now: number): { status: string } } } };

const failed = (r: VerificationResult) => r.checks.filter((c) => !c.ok).map((c) => `${c.name}:${c.code}`);
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('sim/tdx: simulated TDX checked by the real verifier', async () => {
  const auth = await createSimTdxAuthority();
  const at = new Date();

  for (const version of [4, 5] as const) {
    it(`v${version} evidence is accepted with the simulated anchors and marked simulated`, async () => {
      const reportData = fill(64, 0x5a);
      const mrtd = fill(48, 0x11);
      const rtmrs = [fill(48, 1), fill(48, 2), fill(48, 3), fill(48, 4)];
      const mrConfigId = fill(48, 0x33);
      const env = simTdxEvidence(auth, { reportData, mrtd, rtmrs, mrConfigId, version });
      const r = await tdxVerifier.verify(env, { at, simulatedAnchors: auth.anchors, expectedReportData: reportData });
      assert.deepEqual(failed(r), []);
      assert.equal(r.ok, true);
      const c = r.claims!;
      assert.equal(c.simulated, true);
      assert.equal(c.version, version);
      assert.equal(c.measurement, '11'.repeat(48));
      assert.equal(c.measurements.rtmr3, '04'.repeat(48));
      assert.equal(c.hostData, '33'.repeat(48));
      assert.equal(c.reportData, '5a'.repeat(64));
      assert.equal(c.tcb.status, 'UpToDate');
      assert.equal(c.debug, false);
      assert.equal((c.platformData as { body: string }).body, version === 5 ? 'td15' : 'td10');
      assert.match(c.certChain[0]!, /SIMULATED/);
    });

    it(`v${version} evidence is refused without the simulated anchors`, async () => {
      const env = simTdxEvidence(auth, { reportData: fill(64, 1), version });
      const r = await tdxVerifier.verify(env, { at });
      assert.equal(r.ok, false);
      assert.ok(failed(r).includes('tdx.pck_chain:ATTEST_CERT_CHAIN_INVALID'));
      assert.ok(failed(r).includes('tdx.tcb_info_signature:ATTEST_CERT_CHAIN_INVALID'));
      assert.equal(r.claims?.simulated, false);
    });
  }

  it('debug is reported from TDATTRIBUTES bit 0', async () => {
    const r = await tdxVerifier.verify(simTdxEvidence(auth, { reportData: fill(64, 0), debug: true }), { at, simulatedAnchors: auth.anchors });
    assert.equal(r.ok, true);
    assert.equal(r.claims?.debug, true);
    assert.equal(r.claims?.attributes, '0100001000000000');
  });

  it('tampered simulated quotes fail like real ones', async () => {
    const env = simTdxEvidence(auth, { reportData: fill(64, 9) });
    const q = fromBase64(env.evidence.quote as string);
    q[48 + 136] ^= 1; // MRTD
    const r = await tdxVerifier.verify({ ...env, evidence: { quote: Buffer.from(q).toString('base64') } }, { at, simulatedAnchors: auth.anchors });
    assert.deepEqual(failed(r), ['tdx.quote_signature:ATTEST_SIGNATURE_INVALID']);
  });

  it('an OutOfDate authority yields status OutOfDate with an advisory (policy decides)', async () => {
    const old = await createSimTdxAuthority({ tcbStatus: 'OutOfDate' });
    const r = await tdxVerifier.verify(simTdxEvidence(old, { reportData: fill(64, 0) }), { at, simulatedAnchors: old.anchors });
    assert.equal(r.claims?.tcb.status, 'OutOfDate');
    assert.deepEqual(r.claims?.tcb.advisoryIds, ['INTEL-SA-00000']);
  });

  it('outside the authority validity window: certificates and collateral expired', async () => {
    const past = await createSimTdxAuthority({ notBefore: new Date('2024-01-01T00:00:00Z'), notAfter: new Date('2024-02-01T00:00:00Z') });
    const r = await tdxVerifier.verify(simTdxEvidence(past, { reportData: fill(64, 0) }), { at: new Date('2024-03-01T00:00:00Z'), simulatedAnchors: past.anchors });
    assert.equal(r.ok, false);
    assert.ok(failed(r).includes('tdx.pck_chain:ATTEST_CERT_EXPIRED'));
    assert.ok(failed(r).includes('tdx.collateral_time:ATTEST_COLLATERAL_EXPIRED'));
  });

  it('another authority\'s anchors do not verify this one\'s evidence', async () => {
    const other = await createSimTdxAuthority();
    const r = await tdxVerifier.verify(simTdxEvidence(auth, { reportData: fill(64, 0) }), { at, simulatedAnchors: other.anchors });
    assert.equal(r.ok, false);
  });

  it('simulated quote with real Intel collateral is refused (roots and FMSPC differ)', async () => {
    const env = simTdxEvidence(auth, { reportData: fill(64, 0) });
    const r = await tdxVerifier.verify({ ...env, collateral: phalaV4Collateral() }, { at: new Date('2025-06-25T00:00:00Z'), simulatedAnchors: auth.anchors });
    assert.equal(r.ok, false);
  });

  it('cross-check: @phala/dcap-qvl accepts the simulated quote and collateral with the simulated root', () => {
    const env = simTdxEvidence(auth, { reportData: fill(64, 7) });
    const v = qvl.QuoteVerifier.newWithRootCa(Buffer.from(auth.anchors.intelRoot!));
    const res = v.verify(Buffer.from(fromBase64(env.evidence.quote as string)), env.collateral, Math.floor(at.getTime() / 1000));
    assert.equal(res.status, 'UpToDate');
  });
});
