import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVeriteeError, toBase64 } from '@veritee/core';
import { parseDcapCollateral } from '../dcap/collateral.js';
import { MAX_QUOTE_BYTES } from '../dcap/quote.js';
import { readFixture } from '../testing/fixtures.js';
import type { EvidenceEnvelope, VerificationResult, VerifyParams } from '../types.js';
import { tdxEnvelope } from './evidence.js';
import { parseTdxQuote } from './parse.js';
import {
  AT_DEBUG,
  AT_EXPIRED,
  AT_V4,
  AT_V5,
  debugPcsCollateral,
  debugQuote,
  golden,
  phalaV4Collateral,
  phalaV4Quote,
  phalaV5Collateral,
  phalaV5Quote,
} from './test-fixtures.js';
import { tdxVerifier, verifyTdxQuote } from './verify.js';

const ALL_CHECKS = [
  'tdx.evidence',
  'tdx.quote_format',
  'tdx.quote_parse',
  'tdx.pck_chain',
  'tdx.pck_extension',
  'tdx.pck_crl',
  'tdx.qe_report_signature',
  'tdx.qe_report_binding',
  'tdx.quote_signature',
  'tdx.collateral',
  'tdx.tcb_info_signature',
  'tdx.qe_identity_signature',
  'tdx.collateral_time',
  'tdx.fmspc',
  'tdx.tdx_module',
  'tdx.qe_identity',
  'tdx.tcb_status',
];

const SIGNATURE_CHECKS = [
  'tdx.pck_chain',
  'tdx.pck_crl',
  'tdx.qe_report_signature',
  'tdx.qe_report_binding',
  'tdx.quote_signature',
  'tdx.tcb_info_signature',
  'tdx.qe_identity_signature',
];

async function verify(quote: Uint8Array, collateral: Record<string, unknown> | undefined, params: VerifyParams): Promise<VerificationResult> {
  return tdxVerifier.verify(tdxEnvelope(quote, collateral), params);
}

function check(r: VerificationResult, name: string) {
  const c = r.checks.find((x) => x.name === name);
  assert.ok(c, `check ${name} missing from ${r.checks.map((x) => x.name).join(', ')}`);
  return c;
}

function failed(r: VerificationResult): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => c.name);
}

/** JSON round trip, so golden comparison sees what a caller would serialise. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('tdx/verify: real fixtures', () => {
  it('phala v4 quote is valid and UpToDate at 2025-06-25 (every check passes)', async () => {
    const r = await verify(phalaV4Quote(), phalaV4Collateral(), { at: AT_V4 });
    assert.deepEqual(failed(r), []);
    assert.equal(r.ok, true);
    assert.deepEqual(r.checks.map((c) => c.name), ALL_CHECKS);
    assert.equal(r.claims?.tcb.status, 'UpToDate');
    assert.deepEqual(r.claims?.tcb.advisoryIds, []);
    assert.equal(r.claims?.simulated, false);
    assert.equal(r.claims?.debug, false);
    assert.equal(r.claims?.signer, 'pck');
    assert.equal(r.claims?.product, 'tdx');
    assert.equal(r.claims?.version, 4);
    assert.equal(r.claims?.certChain.length, 3);
    assert.match(r.claims!.certChain[2]!, /^CN=Intel SGX Root CA,/);
    assert.deepEqual(plain(r.claims), golden('phala-v4.claims.json', r.claims));
  });

  it('phala v4 at 2026-11-21: "collateral expired" (signatures still verify)', async () => {
    const r = await verify(phalaV4Quote(), phalaV4Collateral(), { at: AT_EXPIRED });
    assert.equal(r.ok, false);
    assert.deepEqual(failed(r), ['tdx.collateral_time']);
    const c = check(r, 'tdx.collateral_time');
    assert.equal(c.code, 'ATTEST_COLLATERAL_EXPIRED');
    assert.match(c.detail, /collateral expired/);
    assert.match(c.detail, /TCB info is current 2025-06-19/);
  });

  it('phala v5 (TD 1.5 body) at 2026-03-01: signatures valid, no matching TCB level, rejected', async () => {
    const r = await verify(phalaV5Quote(), phalaV5Collateral(), { at: AT_V5 });
    assert.equal(r.ok, false);
    assert.deepEqual(failed(r), ['tdx.tcb_status']);
    const c = check(r, 'tdx.tcb_status');
    assert.equal(c.code, 'ATTEST_TCB_OUTDATED');
    assert.match(c.detail, /no TCB level/);
    assert.equal(r.claims?.version, 5);
    assert.equal(r.claims?.tcb.status, undefined);
    assert.equal((r.claims?.platformData as { body: string }).body, 'td15');
    assert.deepEqual(plain(r.claims), golden('phala-v5-outdated.claims.json', r.claims));
  });

  it('debug TD v4 with Intel PCS files at 2026-03-20: signatures valid, claims.debug true, TCB OutOfDate', async () => {
    const r = await verify(debugQuote(), debugPcsCollateral(), { at: AT_DEBUG });
    for (const name of [...SIGNATURE_CHECKS, 'tdx.collateral', 'tdx.collateral_time', 'tdx.fmspc', 'tdx.tdx_module', 'tdx.qe_identity']) {
      assert.equal(check(r, name).ok, true, `${name}: ${check(r, name).detail}`);
    }
    assert.match(check(r, 'tdx.collateral').detail, /intel-pcs layout/);
    assert.equal(r.claims?.debug, true);
    assert.equal(r.claims?.attributes, '0100001000000000');
    assert.equal(r.claims?.tcb.status, 'OutOfDate');
    assert.ok(r.claims?.tcb.advisoryIds?.includes('INTEL-SA-00837'));
    // The verifier proves authenticity; refusing debug and OutOfDate is the policy's job (policy.debug, policy.tcb).
    assert.equal(r.ok, true);
    assert.deepEqual(plain(r.claims), golden('debug-td-v4.claims.json', r.claims));
  });

  it('debug TD v4 outside the Intel PCS files window (2026-05-01): collateral expired', async () => {
    const r = await verify(debugQuote(), debugPcsCollateral(), { at: new Date('2026-05-01T00:00:00Z') });
    assert.equal(check(r, 'tdx.collateral_time').code, 'ATTEST_COLLATERAL_EXPIRED');
    assert.equal(r.ok, false);
  });

  it('before the PCK certificate was issued: certificate not valid yet', async () => {
    const r = await verify(phalaV4Quote(), phalaV4Collateral(), { at: new Date('2024-01-01T00:00:00Z') });
    assert.equal(check(r, 'tdx.pck_chain').code, 'ATTEST_CERT_EXPIRED');
    assert.equal(r.ok, false);
  });

  it('without collateral: "unverified: collateral missing", never a pass', async () => {
    const r = await verify(phalaV4Quote(), undefined, { at: AT_V4 });
    assert.equal(r.ok, false);
    const c = check(r, 'tdx.collateral');
    assert.equal(c.ok, false);
    assert.equal(c.code, 'ATTEST_COLLATERAL_MISSING');
    assert.match(c.detail, /^unverified: collateral missing/);
    assert.equal(check(r, 'tdx.pck_crl').ok, false);
    assert.equal(check(r, 'tdx.tcb_status').ok, false);
    // What could be checked without collateral was, and passed.
    for (const n of ['tdx.pck_chain', 'tdx.qe_report_signature', 'tdx.qe_report_binding', 'tdx.quote_signature']) assert.equal(check(r, n).ok, true, n);
    assert.equal(r.claims?.tcb.status, undefined);
  });

  it('collateral for another platform (v5 collateral, v4 quote): FMSPC mismatch', async () => {
    const r = await verify(phalaV4Quote(), phalaV5Collateral(), { at: AT_V5 });
    assert.equal(check(r, 'tdx.fmspc').code, 'ATTEST_TCB_MISMATCH');
    assert.equal(r.ok, false);
  });

  it('malformed or incomplete collateral fails tdx.collateral', async () => {
    const bad = { ...phalaV4Collateral(), tcb_info: '{"id":"TDX"' };
    const r = await verify(phalaV4Quote(), bad, { at: AT_V4 });
    assert.equal(check(r, 'tdx.collateral').code, 'ATTEST_COLLATERAL_INVALID');
    assert.equal(r.ok, false);
    const { qe_identity: _drop, ...incomplete } = phalaV4Collateral();
    const r2 = await verify(phalaV4Quote(), incomplete, { at: AT_V4 });
    assert.equal(check(r2, 'tdx.collateral').code, 'ATTEST_COLLATERAL_MISSING');
    assert.match(check(r2, 'tdx.collateral').detail, /^unverified: collateral incomplete: .*qe_identity/);
    assert.equal(r2.ok, false);
  });
});

describe('tdx/verify: tampering', () => {
  const q = phalaV4Quote();
  const flip = (off: number, mask = 0x01): Uint8Array => {
    const b = q.slice();
    b[off] ^= mask;
    return b;
  };
  // Offsets in the phala v4 quote: body 48..632, quote signature 636, attestation key 700,
  // QE report 770 (report data at 770+320), QE report signature 1154, QE auth data 1220, PEM 1258.
  const cases: [string, number, string[]][] = [
    ['header user data', 30, ['tdx.quote_signature']],
    ['body (MRTD)', 48 + 136, ['tdx.quote_signature']],
    ['body (REPORTDATA)', 48 + 520, ['tdx.quote_signature']],
    ['quote signature', 636 + 10, ['tdx.quote_signature']],
    ['attestation key', 700 + 5, ['tdx.qe_report_binding', 'tdx.quote_signature']],
    ['QE report (reserved area)', 770 + 200, ['tdx.qe_report_signature']],
    ['QE report (report data)', 770 + 320, ['tdx.qe_report_signature', 'tdx.qe_report_binding']],
    ['QE report signature', 1154 + 5, ['tdx.qe_report_signature']],
    ['QE auth data', 1220, ['tdx.qe_report_binding']],
  ];
  for (const [label, off, expectFailed] of cases) {
    it(`a flipped bit in the ${label} (offset ${off}) fails ${expectFailed.join(' + ')}`, async () => {
      const r = await verify(flip(off), phalaV4Collateral(), { at: AT_V4 });
      assert.equal(r.ok, false);
      assert.deepEqual(failed(r), expectFailed);
      for (const n of expectFailed) assert.equal(check(r, n).code, 'ATTEST_SIGNATURE_INVALID');
    });
  }

  it('a changed byte inside the PCK leaf certificate fails the PCK chain (and everything that needs the PCK key)', async () => {
    const b = q.slice();
    // Inside the leaf's PEM: past "-----BEGIN CERTIFICATE-----\n" and into the TBS.
    const pos = 1258 + 28 + 300;
    b[pos] = b[pos] === 0x41 ? 0x42 : 0x41; // base64 'A' <-> 'B'
    const r = await verify(b, phalaV4Collateral(), { at: AT_V4 });
    assert.equal(r.ok, false);
    const pck = check(r, 'tdx.pck_chain');
    assert.equal(pck.ok, false);
    assert.ok(pck.code === 'ATTEST_CERT_CHAIN_INVALID' || pck.code === 'ATTEST_EVIDENCE_INVALID', pck.code);
    assert.equal(check(r, 'tdx.qe_report_signature').ok, false);
  });

  it('a PCK chain that ends at a foreign root is refused', async () => {
    const b = q.slice();
    const text = new TextDecoder().decode(b.subarray(1258));
    const last = text.lastIndexOf('-----BEGIN CERTIFICATE-----');
    const pos = 1258 + last + 28 + 200;
    b[pos] = b[pos] === 0x41 ? 0x42 : 0x41;
    const r = await verify(b, phalaV4Collateral(), { at: AT_V4 });
    assert.equal(check(r, 'tdx.pck_chain').ok, false);
    assert.equal(r.ok, false);
  });

  it('altered collateral: TCB info text, TCB info signature, PCK CRL', async () => {
    const c = phalaV4Collateral();
    const t1 = { ...c, tcb_info: (c.tcb_info as string).replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18') };
    const r1 = await verify(q, t1, { at: AT_V4 });
    assert.deepEqual(failed(r1), ['tdx.tcb_info_signature']);
    assert.equal(check(r1, 'tdx.tcb_info_signature').code, 'ATTEST_COLLATERAL_INVALID');

    const sig = c.qe_identity_signature as string;
    const t2 = { ...c, qe_identity_signature: (sig[0] === '0' ? '1' : '0') + sig.slice(1) };
    const r2 = await verify(q, t2, { at: AT_V4 });
    assert.deepEqual(failed(r2), ['tdx.qe_identity_signature']);

    const crl = c.pck_crl as string;
    const i = crl.length - 20; // inside the CRL signature
    const t3 = { ...c, pck_crl: crl.slice(0, i) + (crl[i] === '0' ? '1' : '0') + crl.slice(i + 1) };
    const r3 = await verify(q, t3, { at: AT_V4 });
    assert.equal(check(r3, 'tdx.pck_crl').code, 'ATTEST_COLLATERAL_INVALID');
    assert.equal(r3.ok, false);
  });
});

describe('tdx/verify: report data', () => {
  const rd = parseTdxQuote(phalaV4Quote()).td.reportData;

  it('matching expected report data passes tdx.report_data', async () => {
    const r = await verify(phalaV4Quote(), phalaV4Collateral(), { at: AT_V4, expectedReportData: rd.slice() });
    assert.equal(check(r, 'tdx.report_data').ok, true);
    assert.equal(r.ok, true);
  });

  it('wrong expected report data fails with ATTEST_REPORT_DATA_MISMATCH', async () => {
    const wrong = rd.slice();
    wrong[63] ^= 0x80;
    const r = await verify(phalaV4Quote(), phalaV4Collateral(), { at: AT_V4, expectedReportData: wrong });
    assert.equal(r.ok, false);
    assert.deepEqual(failed(r), ['tdx.report_data']);
    assert.equal(check(r, 'tdx.report_data').code, 'ATTEST_REPORT_DATA_MISMATCH');
    const short = await verify(phalaV4Quote(), phalaV4Collateral(), { at: AT_V4, expectedReportData: rd.slice(0, 32) });
    assert.equal(check(short, 'tdx.report_data').code, 'ATTEST_REPORT_DATA_MISMATCH');
  });
});

describe('tdx/verify: malformed evidence gives a clear VeriteeError code, no crash', () => {
  it('SNP-shaped evidence given as tdx is rejected', async () => {
    const snp = readFixture('snp/milan-v2-report.bin');
    const r1 = await tdxVerifier.verify({ platform: 'tdx', evidence: { quote: toBase64(snp) } }, { at: AT_V4 });
    assert.equal(r1.ok, false);
    assert.equal(check(r1, 'tdx.quote_format').code, 'ATTEST_REPORT_VERSION');
    assert.equal(r1.claims, undefined);
    const r2 = await tdxVerifier.verify({ platform: 'tdx', evidence: { attestation_report: toBase64(snp), cert_chain: {} } }, { at: AT_V4 });
    assert.equal(check(r2, 'tdx.evidence').code, 'ATTEST_EVIDENCE_INVALID');
    const r3 = await tdxVerifier.verify({ platform: 'snp', evidence: { attestation_report: toBase64(snp) } } as EvidenceEnvelope, { at: AT_V4 });
    assert.equal(check(r3, 'tdx.evidence').code, 'ATTEST_PLATFORM_UNSUPPORTED');
    assert.equal(r3.ok, false);
  });

  it('bad base64, empty quote, non-object envelope', async () => {
    const r1 = await tdxVerifier.verify({ platform: 'tdx', evidence: { quote: '***' } }, { at: AT_V4 });
    assert.equal(check(r1, 'tdx.evidence').code, 'INPUT_BASE64_INVALID');
    const r2 = await tdxVerifier.verify({ platform: 'tdx', evidence: { quote: '' } }, { at: AT_V4 });
    assert.equal(check(r2, 'tdx.evidence').code, 'ATTEST_EVIDENCE_INVALID');
    const r3 = await tdxVerifier.verify(null as unknown as EvidenceEnvelope, { at: AT_V4 });
    assert.equal(r3.ok, false);
  });

  it('truncated quotes at header/body/signature boundaries fail closed with ATTEST_REPORT_TRUNCATED', async () => {
    const q = phalaV4Quote();
    for (const n of [0, 20, 47]) {
      const r = verifyTdxQuote(q.subarray(0, n), {}, { at: AT_V4 });
      assert.equal(r.ok, false);
      assert.equal(check(r, 'tdx.quote_format').code, 'ATTEST_REPORT_TRUNCATED', `length ${n}`);
    }
    for (const n of [48, 300, 631, 632, 635, 636, 700, 764, 770, 1154, 1220, 1258, 2000, 4935]) {
      const r = await verify(q.subarray(0, n), phalaV4Collateral(), { at: AT_V4 });
      assert.equal(r.ok, false);
      assert.equal(r.claims, undefined);
      const c = check(r, 'tdx.quote_parse');
      assert.equal(c.code, 'ATTEST_REPORT_TRUNCATED', `length ${n}: ${c.detail}`);
      assert.match(c.detail, /TDX quote is truncated: .* needs \d+ bytes at offset \d+/);
    }
  });

  it('oversized input is refused before parsing', async () => {
    const big = new Uint8Array(MAX_QUOTE_BYTES + 1);
    big.set(phalaV4Quote());
    const r = verifyTdxQuote(big, {}, { at: AT_V4 });
    assert.equal(check(r, 'tdx.quote_format').code, 'INPUT_TOO_LARGE');
    const huge = 'A'.repeat(200_000);
    const r2 = await tdxVerifier.verify({ platform: 'tdx', evidence: { quote: huge } }, { at: AT_V4 });
    assert.equal(check(r2, 'tdx.evidence').code, 'INPUT_TOO_LARGE');
  });

  it('an invalid verification time is a programming error (INPUT_TIME_INVALID)', async () => {
    await assert.rejects(verify(phalaV4Quote(), phalaV4Collateral(), { at: new Date('nope') }), (e: unknown) => isVeriteeError(e, 'INPUT_TIME_INVALID'));
  });
});

describe('tdx/verify: parse once, verify many', () => {
  it('pre-parsed collateral gives the same verdict; warm verification is fast', () => {
    const q = phalaV4Quote();
    const parsed = parseDcapCollateral(phalaV4Collateral());
    const a = verifyTdxQuote(q, { collateral: parsed }, { at: AT_V4 });
    const b = verifyTdxQuote(q, { collateral: phalaV4Collateral() }, { at: AT_V4 });
    assert.deepEqual(a, b);
    assert.equal(a.ok, true);
    const N = 50;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) assert.equal(verifyTdxQuote(q, { collateral: parsed }, { at: AT_V4 }).ok, true);
    const avg = (performance.now() - t0) / N;
    assert.ok(avg < 20, `warm verification took ${avg.toFixed(2)} ms on average (target <= 20 ms)`);
  });
});

describe('tdx/verify: collateral signer', () => {
  it('collateral signed through the PCK chain (not the TCB signing certificate) is refused', async () => {
    // Use the quote's own PCK chain as the "TCB info issuer chain": it chains to the Intel
    // root, but a PCK key must never vouch for TCB levels.
    const q = parseTdxQuote(phalaV4Quote()).quote;
    const pem = new TextDecoder().decode(q.signature.certData).replace(/\0+$/, '');
    const c = { ...phalaV4Collateral(), tcb_info_issuer_chain: pem };
    const r = await verify(phalaV4Quote(), c, { at: AT_V4 });
    assert.equal(r.ok, false);
    const t = r.checks.find((x) => x.name === 'tdx.tcb_info_signature')!;
    assert.equal(t.code, 'ATTEST_CERT_CHAIN_INVALID');
    assert.match(t.detail, /is not the Intel SGX TCB Signing certificate/);
  });
});
