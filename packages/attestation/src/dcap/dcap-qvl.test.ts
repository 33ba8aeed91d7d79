/**
 * Cross-check against @phala/dcap-qvl (an independent JS port of Intel's QVL): on every
 * fixture in dcap-qvl's own collateral layout, our verdict and TCB status must agree with
 * its verdict. dcap-qvl stops at the first failure and does not report per-check results,
 * which is why veritee does not use it for verification itself.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { verifyTdxQuote } from '../tdx/verify.js';
import { AT_EXPIRED, AT_V4, AT_V5, phalaV4Collateral, phalaV4Quote, phalaV5Collateral, phalaV5Quote } from '../tdx/test-fixtures.js';

const require = createRequire(import.meta.url);
const qvl = require('@phala/dcap-qvl') as { verify(q: Buffer, c: unknown, nowSecs: number): { status: string; advisory_ids: string[] } };

function theirs(q: Uint8Array, c: unknown, at: Date): { ok: true; status: string; advisoryIds: string[] } | { ok: false; error: string } {
  try {
    const r = qvl.verify(Buffer.from(q), c, Math.floor(at.getTime() / 1000));
    return { ok: true, status: r.status, advisoryIds: r.advisory_ids };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

describe('cross-check with @phala/dcap-qvl', () => {
  it('phala v4 at 2025-06-25: both UpToDate with no advisories', () => {
    const t = theirs(phalaV4Quote(), phalaV4Collateral(), AT_V4);
    const o = verifyTdxQuote(phalaV4Quote(), { collateral: phalaV4Collateral() }, { at: AT_V4 });
    assert.deepEqual(t, { ok: true, status: 'UpToDate', advisoryIds: [] });
    assert.equal(o.ok, true);
    assert.equal(o.claims?.tcb.status, 'UpToDate');
    assert.deepEqual(o.claims?.tcb.advisoryIds, []);
  });

  it('phala v4 at 2026-11-21: both refuse expired collateral', () => {
    const t = theirs(phalaV4Quote(), phalaV4Collateral(), AT_EXPIRED);
    assert.equal(t.ok, false);
    assert.match((t as { error: string }).error, /expired/i);
    const o = verifyTdxQuote(phalaV4Quote(), { collateral: phalaV4Collateral() }, { at: AT_EXPIRED });
    assert.equal(o.ok, false);
    assert.equal(o.checks.find((c) => !c.ok)?.code, 'ATTEST_COLLATERAL_EXPIRED');
  });

  it('phala v5 at 2026-03-01: both find no matching TCB level', () => {
    const t = theirs(phalaV5Quote(), phalaV5Collateral(), AT_V5);
    assert.deepEqual(t, { ok: false, error: 'No matching TCB level found' });
    const o = verifyTdxQuote(phalaV5Quote(), { collateral: phalaV5Collateral() }, { at: AT_V5 });
    assert.equal(o.ok, false);
    assert.match(o.checks.find((c) => c.name === 'tdx.tcb_status')!.detail, /no TCB level/);
  });
});
