/**
 * Real Azure confidential-VM evidence (test/fixtures/azure, recorded by attestation-rs on
 * Azure Milan SNP and TDX VMs) through verifyEvidence at an explicit time, and the same
 * evidence with one link broken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toHex, utf8 } from '@veritee/core';
import type { EvidenceEnvelope } from '../types.js';
import { parsePolicy, type PolicyDocument } from '../policy.js';
import { formatResult, verifyEvidence, type AttestationResult } from '../verify.js';
import { intelPcsCollateral } from '../dcap/collateral.js';
import { azSnpVerifier, azTdxVerifier } from './verify.js';

const DIR = fileURLToPath(new URL('../../test/fixtures/azure/', import.meta.url));
const read = (rel: string) => readFileSync(DIR + rel);
const AT = new Date('2026-03-20T00:00:00Z');
const FIXTURE_NONCE = utf8('attestation-test-fixture');
const PCR7 = '3b20e022416fdf61d72e4da32b4354781be3de0608116976d28ffdad8c341d2a';

const doc: PolicyDocument = {
  name: 'azure-real',
  platforms: ['az-snp', 'az-tdx'],
  // attestation-rs bound its own test nonce, not a veritee nonce: no veritee binding required
  reportData: { require: [] },
  snp: { measurements: 'any' },
  tdx: { mrtd: 'any' },
  cloud: ['azure'],
};
const policy = (extra: Partial<PolicyDocument> = {}) => parsePolicy({ ...doc, ...extra });

const azSnpV3 = (): EvidenceEnvelope => JSON.parse(read('az-snp-milan-v3-evidence.json').toString('utf8')) as EvidenceEnvelope;
const azSnpV2 = (): EvidenceEnvelope => JSON.parse(read('az-snp-milan-v2-evidence.json').toString('utf8')) as EvidenceEnvelope;
const collateral = () =>
  intelPcsCollateral({
    tcbInfoJson: read('collateral-90c06f000000/tcb_info_90c06f000000.json').toString('utf8'),
    qeIdentityJson: read('collateral-90c06f000000/td_qe_identity.json').toString('utf8'),
    tcbInfoIssuerChainPem: read('collateral-90c06f000000/tcb_signing_chain.pem').toString('utf8'),
    qeIdentityIssuerChainPem: read('collateral-90c06f000000/qe_identity_signing_chain.pem').toString('utf8'),
    pckCrlDer: new Uint8Array(read('collateral-90c06f000000/pck_crl_platform.der')),
    rootCaCrlDer: new Uint8Array(read('collateral-90c06f000000/root_ca_crl.der')),
  });
/** The fixture holds attestation-rs's evidence object alone; wrap it in its envelope. */
const azTdx = (): EvidenceEnvelope => ({ platform: 'az-tdx', evidence: JSON.parse(read('az-tdx-evidence.json').toString('utf8')) as Record<string, unknown>, collateral: collateral() });

function failed(r: AttestationResult, name: string, code: string): void {
  const f = r.failures.find((c) => c.name === name);
  assert.ok(f, `expected ${name} to fail:\n${formatResult(r)}`);
  assert.equal(f.code, code, formatResult(r));
}

test('real az-snp (Milan, report v3) verifies at 2026-03-20 and exposes the quoted PCRs', async () => {
  const r = await verifyEvidence(azSnpV3(), { policy: policy({ pcrs: { '7': PCR7 } }), at: AT });
  assert.equal(r.ok, true, formatResult(r));
  assert.equal(r.status, 'verified');
  assert.equal(r.claims?.simulated, false);
  assert.equal(r.claims?.platform, 'snp');
  assert.equal(r.claims?.product, 'milan');
  assert.deepEqual(r.claims?.cloud, { provider: 'azure', tag: 'az-snp', basis: 'hcl-report' });
  assert.equal(r.claims?.reportData, toHex(FIXTURE_NONCE));
  assert.equal(r.claims?.pcrs?.['7'], PCR7);
  assert.equal(Object.keys(r.claims?.pcrs ?? {}).length, 24);
  for (const name of ['azure.hcl_report', 'snp.cert_chain', 'snp.signature', 'azure.runtime_claims', 'azure.ak', 'tpm.signature', 'tpm.pcr_digest', 'policy.pcrs', 'policy.cloud']) {
    assert.ok(r.checks.some((c) => c.name === name && c.ok), `${name} passed`);
  }
});

test('real az-snp (Milan, report v2) verifies at 2026-03-20', async () => {
  const r = await verifyEvidence(azSnpV2(), { policy: policy(), at: AT });
  assert.equal(r.ok, true, formatResult(r));
  assert.equal(r.claims?.reportData, toHex(utf8('challenge')));
  assert.equal(r.claims?.version, 2);
});

test("real az-snp: the quote's extraData is checked against the expected nonce", async () => {
  const ok = await azSnpVerifier.verify(azSnpV3(), { at: AT, expectedReportData: FIXTURE_NONCE });
  assert.equal(ok.ok, true, JSON.stringify(ok.checks.filter((c) => !c.ok)));
  assert.ok(ok.checks.some((c) => c.name === 'tpm.extra_data' && c.ok));
  const bad = await azSnpVerifier.verify(azSnpV3(), { at: AT, expectedReportData: utf8('attestation-test-fixturf') });
  const c = bad.checks.find((x) => x.name === 'tpm.extra_data')!;
  assert.equal(bad.ok, false);
  assert.equal(c.code, 'ATTEST_REPORT_DATA_MISMATCH');
});

test('real az-snp: a changed PCR, a pinned PCR that differs, another cloud, a later time', async () => {
  const env = azSnpV3() as EvidenceEnvelope & { evidence: { tpm_quote: { pcrs: string[] } } };
  env.evidence.tpm_quote.pcrs[7] = '00'.repeat(32);
  failed(await verifyEvidence(env, { policy: policy(), at: AT }), 'tpm.pcr_digest', 'ATTEST_PCR_MISMATCH');
  failed(await verifyEvidence(azSnpV3(), { policy: policy({ pcrs: { '7': '00'.repeat(32) } }), at: AT }), 'policy.pcrs', 'ATTEST_PCR_MISMATCH');
  failed(await verifyEvidence(azSnpV3(), { policy: policy({ cloud: ['gcp'] }), at: AT }), 'policy.cloud', 'ATTEST_POLICY_VIOLATION');
  // the VCEK expires on 2032-01-23
  failed(await verifyEvidence(azSnpV3(), { policy: policy(), at: '2032-06-01T00:00:00Z' }), 'snp.cert_validity', 'ATTEST_CERT_EXPIRED');
});

test('real az-tdx (TD quote v4, FMSPC 90c06f000000) verifies at 2026-03-20 with its collateral', async () => {
  const r = await verifyEvidence(azTdx(), { policy: policy(), at: AT });
  assert.equal(r.ok, true, formatResult(r));
  assert.equal(r.claims?.platform, 'tdx');
  assert.equal(r.claims?.tcb.status, 'UpToDate');
  assert.equal(r.claims?.cloud?.tag, 'az-tdx');
  assert.equal(r.claims?.reportData, toHex(FIXTURE_NONCE));
  assert.ok(r.checks.some((c) => c.name === 'azure.td_report' && c.ok));
  const direct = await azTdxVerifier.verify(azTdx(), { at: AT, expectedReportData: FIXTURE_NONCE });
  assert.equal(direct.ok, true, JSON.stringify(direct.checks.filter((c) => !c.ok)));
});

test('real az-tdx: after the collateral expired (2026-04-20) it fails; without collateral it is unverified', async () => {
  failed(await verifyEvidence(azTdx(), { policy: policy(), at: '2026-04-20T00:00:00Z' }), 'tdx.collateral_time', 'ATTEST_COLLATERAL_EXPIRED');
  const { collateral: _c, ...bare } = azTdx();
  const r = await verifyEvidence(bare, { policy: policy(), at: AT });
  assert.equal(r.ok, false);
  assert.equal(r.status, 'unverified', formatResult(r));
});
