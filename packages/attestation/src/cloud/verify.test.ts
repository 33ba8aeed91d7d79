/**
 * Cloud variants through verifyEvidence with simulated evidence in the real formats:
 * every tag verifies; every link of the Azure chain (hardware report → runtime claims →
 * AK → TPM quote → nonce and PCRs) is refused when broken, with its stable code.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { fromBase64, fromHex, isVeriteeError, toBase64Url, toHex, utf8 } from '@veritee/core';
import type { CloudPlatform, EvidenceEnvelope, Platform } from '../types.js';
import { parsePolicy, type PolicyDocument } from '../policy.js';
import { formatResult, verifyEvidence, type AttestationResult } from '../verify.js';
import { computeReportData } from '../report-data.js';
import { SimulatedTee } from '../sim/index.js';
import { createSimAzureAuthority, simAzureSnpEvidence, simPcrValues } from '../sim/cloud.js';
import { createSimSnpAuthority } from '../sim/snp.js';
import { HCL_RUNTIME_CLAIMS_OFFSET } from './hcl.js';

const AT = new Date('2026-01-01T00:00:00Z');
const NONCE = new Uint8Array(32).fill(7);
const TAGS: CloudPlatform[] = ['az-snp', 'az-tdx', 'gcp-snp', 'gcp-tdx'];

const basePolicy: PolicyDocument = {
  name: 'cloud-dev',
  platforms: [...TAGS, 'snp'],
  allowSimulated: true,
  snp: { measurements: 'any' },
  tdx: { mrtd: 'any' },
};
const policy = (extra: Partial<PolicyDocument> = {}) => parsePolicy({ ...basePolicy, ...extra });

let tee: SimulatedTee;
before(async () => {
  tee = await SimulatedTee.create({ at: AT, platforms: [...TAGS, 'snp'] });
});

async function verify(env: EvidenceEnvelope | string, extra: Partial<PolicyDocument> = {}, nonce: Uint8Array = NONCE): Promise<AttestationResult> {
  return verifyEvidence(env, { policy: policy(extra), at: AT, nonce, simulatedAnchors: tee.anchors });
}

function failed(r: AttestationResult, name: string, code: string): void {
  const f = r.failures.find((c) => c.name === name);
  assert.ok(f, `expected ${name} to fail:\n${formatResult(r)}`);
  assert.equal(f.code, code, formatResult(r));
  assert.equal(r.ok, false);
}

/** A deep copy of an az-* envelope with its evidence object editable. */
function copy(env: EvidenceEnvelope): EvidenceEnvelope & { evidence: Record<string, any> } {
  return structuredClone(env) as EvidenceEnvelope & { evidence: Record<string, any> };
}

function hclOf(env: EvidenceEnvelope): Uint8Array {
  return fromBase64((env.evidence as { hcl_report: string }).hcl_report);
}

function withHcl(env: EvidenceEnvelope, hcl: Uint8Array): EvidenceEnvelope {
  const e = copy(env);
  e.evidence['hcl_report'] = toBase64Url(hcl);
  return e;
}

/** Replaces the runtime claims in the HCL report (sizes updated consistently, padding kept). */
function withRuntimeClaims(env: EvidenceEnvelope, claims: Uint8Array): EvidenceEnvelope {
  const old = hclOf(env);
  const out = new Uint8Array(Math.max(old.length, HCL_RUNTIME_CLAIMS_OFFSET + claims.length));
  out.set(old.subarray(0, HCL_RUNTIME_CLAIMS_OFFSET));
  out.set(claims, HCL_RUNTIME_CLAIMS_OFFSET);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, HCL_RUNTIME_CLAIMS_OFFSET + claims.length, true);
  dv.setUint32(0x20 + 1184, 20 + claims.length, true);
  dv.setUint32(0x20 + 1184 + 16, claims.length, true);
  return withHcl(env, out);
}

function runtimeClaimsOf(env: EvidenceEnvelope): Uint8Array {
  const hcl = hclOf(env);
  const size = new DataView(hcl.buffer, hcl.byteOffset).getUint32(0x20 + 1184 + 16, true);
  return hcl.slice(HCL_RUNTIME_CLAIMS_OFFSET, HCL_RUNTIME_CLAIMS_OFFSET + size);
}

for (const tag of TAGS) {
  test(`${tag}: simulated evidence verifies and the claims record the cloud variant`, async () => {
    const env = tee.boundEvidence(tag, { nonce: NONCE });
    assert.equal(env.platform, tag);
    const r = await verify(env);
    assert.equal(r.ok, true, formatResult(r));
    assert.equal(r.platform, tag);
    assert.equal(r.claims?.platform, tag.endsWith('snp') ? 'snp' : 'tdx');
    assert.equal(r.claims?.simulated, true);
    assert.equal(r.claims?.cloud?.tag, tag);
    assert.equal(r.claims?.cloud?.provider, tag.startsWith('az-') ? 'azure' : 'gcp');
    assert.equal(r.claims?.cloud?.basis, tag.startsWith('az-') ? 'hcl-report' : 'attester-tag');
    if (tag.startsWith('az-')) {
      // the nonce is bound by the TPM quote; the hardware report binds the runtime claims
      assert.ok(r.checks.some((c) => c.name === 'tpm.extra_data' && c.ok));
      assert.ok(r.checks.some((c) => c.name === 'azure.runtime_claims' && c.ok));
      assert.equal(Object.keys(r.claims?.pcrs ?? {}).length, 24);
      assert.equal(r.claims?.pcrs?.['7'], toHex(simPcrValues()[7]!));
      const hw = (r.claims?.platformData['azure'] as { hardwareReportData: string }).hardwareReportData;
      assert.equal(hw, toHex(createHash('sha256').update(runtimeClaimsOf(env)).digest()) + '00'.repeat(32));
    } else {
      assert.equal(r.claims?.pcrs, undefined);
      assert.ok(r.checks.some((c) => c.name === 'cloud.tag' && /attester's claim/.test(c.detail)));
    }
    assert.ok(r.checks.some((c) => c.name === 'policy.cloud' && c.ok && /attester's claim/.test(c.detail)), formatResult(r));
  });
}

test('az-snp: a TPMT_SIGNATURE with RSASSA-PSS verifies too; a wrong signature algorithm is refused', async () => {
  const snp = await createSimSnpAuthority({ notBefore: new Date('2025-12-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z') });
  const az = await createSimAzureAuthority();
  const rd = new Uint8Array(64);
  rd.set(NONCE);
  // through the verifier directly: these anchors are not the SimulatedTee's
  const { azSnpVerifier } = await import('./verify.js');
  const anchors = snp.anchors;
  for (const scheme of ['rsassa', 'rsapss'] as const) {
    const env = simAzureSnpEvidence(snp, az, { reportData: rd, scheme, signatureForm: 'tpmt' });
    const r = await azSnpVerifier.verify(env, { at: AT, expectedReportData: rd, simulatedAnchors: anchors });
    assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
    assert.match(r.checks.find((c) => c.name === 'tpm.signature')!.detail, scheme === 'rsassa' ? /RSASSA-PKCS1-v1_5.*TPMT_SIGNATURE/ : /RSASSA-PSS.*TPMT_SIGNATURE/);
  }
  const env = copy(simAzureSnpEvidence(snp, az, { reportData: rd, signatureForm: 'tpmt' }));
  env.evidence['tpm_quote'].signature = '0005' + (env.evidence['tpm_quote'].signature as string).slice(4); // sigAlg HMAC
  const r = await azSnpVerifier.verify(env, { at: AT, expectedReportData: rd, simulatedAnchors: anchors });
  const c = r.checks.find((x) => x.name === 'tpm.signature')!;
  assert.equal(c.ok, false);
  assert.equal(c.code, 'ATTEST_EVIDENCE_INVALID');
  assert.match(c.detail, /sigAlg is 0x5/);
});

test('az-snp: changed runtime claims no longer match the hardware report data (ATTEST_REPORT_DATA_MISMATCH)', async () => {
  const env = tee.boundEvidence('az-snp', { nonce: NONCE });
  const text = new TextDecoder().decode(runtimeClaimsOf(env)).replace('"secure-boot":true', '"secure-boot":false');
  const r = await verify(withRuntimeClaims(env, utf8(text)));
  failed(r, 'azure.runtime_claims', 'ATTEST_REPORT_DATA_MISMATCH');
  // the hardware report itself is still genuine: only the binding broke
  assert.ok(r.checks.some((c) => c.name === 'snp.signature' && c.ok));
});

test("az-snp: an attacker's AK in the runtime claims (quote re-signed with it) is refused", async () => {
  const env = tee.boundEvidence('az-snp', { nonce: NONCE });
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = attacker.publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  const doc = JSON.parse(new TextDecoder().decode(runtimeClaimsOf(env))) as { keys: Array<Record<string, unknown>> };
  doc.keys[0] = { ...doc.keys[0], n: jwk.n, e: jwk.e };
  const e = copy(withRuntimeClaims(env, utf8(JSON.stringify(doc))));
  const msg = fromHex(e.evidence['tpm_quote'].message as string);
  e.evidence['tpm_quote'].signature = toHex(new Uint8Array(cryptoSign('sha256', msg, attacker.privateKey)));
  const r = await verify(e);
  failed(r, 'azure.runtime_claims', 'ATTEST_REPORT_DATA_MISMATCH');
  assert.ok(r.checks.some((c) => c.name === 'tpm.signature' && c.ok), 'the signature is valid for the swapped AK: only the hardware binding catches it');
});

test('az-snp: the AK taken from the runtime claims must have signed the quote (ATTEST_SIGNATURE_INVALID)', async () => {
  const env = copy(tee.boundEvidence('az-snp', { nonce: NONCE }));
  const sig = fromHex(env.evidence['tpm_quote'].signature as string);
  sig[10]! ^= 0x01;
  env.evidence['tpm_quote'].signature = toHex(sig);
  failed(await verify(env), 'tpm.signature', 'ATTEST_SIGNATURE_INVALID');

  // a quote signed by another key
  const env2 = copy(tee.boundEvidence('az-snp', { nonce: NONCE }));
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  env2.evidence['tpm_quote'].signature = toHex(new Uint8Array(cryptoSign('sha256', fromHex(env2.evidence['tpm_quote'].message as string), other.privateKey)));
  failed(await verify(env2), 'tpm.signature', 'ATTEST_SIGNATURE_INVALID');
});

test('az-snp / az-tdx: a quote for another nonce (extraData) is refused', async () => {
  for (const tag of ['az-snp', 'az-tdx'] as const) {
    const env = tee.boundEvidence(tag, { nonce: NONCE });
    const r = await verify(env, {}, new Uint8Array(32).fill(8));
    failed(r, 'tpm.extra_data', 'ATTEST_REPORT_DATA_MISMATCH');
    failed(r, 'policy.report_data', 'ATTEST_REPORT_DATA_MISMATCH');
  }
});

test('az-snp: a changed PCR value no longer matches the quoted pcrDigest (ATTEST_PCR_MISMATCH)', async () => {
  const env = copy(tee.boundEvidence('az-snp', { nonce: NONCE }));
  env.evidence['tpm_quote'].pcrs[7] = '11'.repeat(32);
  const r = await verify(env);
  failed(r, 'tpm.pcr_digest', 'ATTEST_PCR_MISMATCH');
  assert.equal(r.claims?.pcrs, undefined, 'no PCR is exposed when the digest does not match');
  // a missing value for a selected PCR is a mismatch too
  const env2 = copy(tee.boundEvidence('az-snp', { nonce: NONCE }));
  env2.evidence['tpm_quote'].pcrs = (env2.evidence['tpm_quote'].pcrs as string[]).slice(0, 20);
  const r2 = await verify(env2);
  failed(r2, 'tpm.pcr_digest', 'ATTEST_PCR_MISMATCH');
  assert.match(r2.failures.find((f) => f.name === 'tpm.pcr_digest')!.detail, /PCR 20, 21, 22, 23/);
});

test('policy pcrs: a pinned PCR value must match (ATTEST_PCR_MISMATCH otherwise)', async () => {
  const env = tee.boundEvidence('az-tdx', { nonce: NONCE, }, );
  const pcr7 = toHex(simPcrValues()[7]!);
  const ok = await verify(env, { pcrs: { '7': pcr7, '0': [toHex(simPcrValues()[0]!), 'ab'.repeat(32)] } });
  assert.equal(ok.ok, true, formatResult(ok));
  assert.match(ok.checks.find((c) => c.name === 'policy.pcrs')!.detail, /PCR 0, 7 match/);
  const bad = await verify(env, { pcrs: { '7': 'ab'.repeat(32) } });
  failed(bad, 'policy.pcrs', 'ATTEST_PCR_MISMATCH');
  assert.match(bad.failures.find((f) => f.name === 'policy.pcrs')!.detail, /PCR 7 = /);
  // bare SNP evidence carries no TPM quote: a PCR policy refuses it
  const bare = await verify(tee.boundEvidence('snp', { nonce: NONCE }), { pcrs: { '7': pcr7 } });
  failed(bare, 'policy.pcrs', 'ATTEST_PCR_MISMATCH');
});

test('policy pcrs: only PCRs the quote selected are exposed and may satisfy a policy', async () => {
  const snp = await createSimSnpAuthority({ notBefore: new Date('2025-12-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z') });
  const az = await createSimAzureAuthority();
  const env = simAzureSnpEvidence(snp, az, { reportData: computeReportData({ nonce: NONCE }), pcrSelection: [0, 1, 2, 3, 4, 5, 6, 7] });
  const r = await verifyEvidence(env, { policy: policy({ pcrs: { '7': toHex(simPcrValues()[7]!) } }), at: AT, nonce: NONCE, simulatedAnchors: snp.anchors });
  assert.equal(r.ok, true, formatResult(r));
  assert.deepEqual(Object.keys(r.claims?.pcrs ?? {}), ['0', '1', '2', '3', '4', '5', '6', '7']);
  assert.match(r.checks.find((c) => c.name === 'tpm.pcr_digest')!.detail, /PCR 0-7/);
  const r2 = await verifyEvidence(env, { policy: policy({ pcrs: { '8': toHex(simPcrValues()[8]!) } }), at: AT, nonce: NONCE, simulatedAnchors: snp.anchors });
  failed(r2, 'policy.pcrs', 'ATTEST_PCR_MISMATCH');
  assert.match(r2.failures.find((f) => f.name === 'policy.pcrs')!.detail, /PCR 8 is not covered by the TPM quote/);
});

test('policy cloud: evidence labelled for another cloud (or none) is refused', async () => {
  failed(await verify(tee.boundEvidence('az-snp', { nonce: NONCE }), { cloud: ['gcp'] }), 'policy.cloud', 'ATTEST_POLICY_VIOLATION');
  failed(await verify(tee.boundEvidence('gcp-tdx', { nonce: NONCE }), { cloud: ['azure'] }), 'policy.cloud', 'ATTEST_POLICY_VIOLATION');
  failed(await verify(tee.boundEvidence('snp', { nonce: NONCE }), { cloud: ['azure', 'gcp'] }), 'policy.cloud', 'ATTEST_POLICY_VIOLATION');
  const ok = await verify(tee.boundEvidence('snp', { nonce: NONCE }), { cloud: ['none'] });
  assert.equal(ok.ok, true, formatResult(ok));
  const az = await verify(tee.boundEvidence('az-tdx', { nonce: NONCE }), { cloud: ['azure'] });
  assert.equal(az.ok, true, formatResult(az));
});

test('policy platforms: each cloud tag must be listed (snp does not imply gcp-snp or az-snp)', async () => {
  for (const tag of ['gcp-snp', 'az-snp'] as const) {
    const r = await verify(tee.boundEvidence(tag, { nonce: NONCE }), { platforms: ['snp'] });
    failed(r, 'policy.platform', 'ATTEST_POLICY_VIOLATION');
  }
});

test('az-snp: a truncated HCL report is ATTEST_REPORT_TRUNCATED; a corrupt one ATTEST_EVIDENCE_INVALID', async () => {
  const env = tee.boundEvidence('az-snp', { nonce: NONCE });
  const hcl = hclOf(env);
  for (const len of [0x20, 1000, HCL_RUNTIME_CLAIMS_OFFSET - 1, HCL_RUNTIME_CLAIMS_OFFSET + 100]) {
    failed(await verify(withHcl(env, hcl.slice(0, len))), 'azure.hcl_report', 'ATTEST_REPORT_TRUNCATED');
  }
  const cases: Array<[string, (b: Uint8Array) => void, RegExp]> = [
    ['magic', (b) => (b[0] = 0x58), /magic/],
    ['status', (b) => (b[16] = 1), /status is 1/],
    ['report size', (b) => (b[8]! += 1), /report size/],
    ['hash type', (b) => (b[0x20 + 1184 + 12] = 2), /hash type is 2/],
    ['report type', (b) => (b[0x20 + 1184 + 8] = 4), /TDX report but the envelope says az-snp/],
    ['padding', (b) => (b[b.length - 1] = 1), /padding must be zero/],
  ];
  for (const [what, mutate, re] of cases) {
    const b = hcl.slice();
    mutate(b);
    const r = await verify(withHcl(env, b));
    failed(r, 'azure.hcl_report', 'ATTEST_EVIDENCE_INVALID');
    assert.match(r.failures.find((f) => f.name === 'azure.hcl_report')!.detail, re, what);
  }
});

test('az-snp: a changed SNP report inside the HCL report fails its signature', async () => {
  const env = tee.boundEvidence('az-snp', { nonce: NONCE });
  const hcl = hclOf(env);
  hcl[0x20 + 0x90]! ^= 0x01; // MEASUREMENT
  failed(await verify(withHcl(env, hcl)), 'snp.signature', 'ATTEST_SIGNATURE_INVALID');
});

test("az-tdx: the HCL's TD report must agree with the TD quote", async () => {
  const env = tee.boundEvidence('az-tdx', { nonce: NONCE });
  const hcl = hclOf(env);
  hcl[0x20 + 512 + 8 + 8 + 48 * 4 + 1]! ^= 0x01; // TDINFO.RTMR0
  const r = await verify(withHcl(env, hcl));
  failed(r, 'azure.td_report', 'ATTEST_EVIDENCE_INVALID');
  assert.match(r.failures.find((f) => f.name === 'azure.td_report')!.detail, /RTMRs differ/);
});

test('az-snp: malformed TPM quotes and runtime claims are named failures, never exceptions', async () => {
  const env = tee.boundEvidence('az-snp', { nonce: NONCE });
  const msg = fromHex((env.evidence as { tpm_quote: { message: string } }).tpm_quote.message);
  const withMsg = (m: Uint8Array) => {
    const e = copy(env);
    e.evidence['tpm_quote'].message = toHex(m);
    return e;
  };
  const badMagic = msg.slice();
  badMagic[0] = 0;
  let r = await verify(withMsg(badMagic));
  failed(r, 'tpm.quote', 'ATTEST_EVIDENCE_INVALID');
  assert.match(r.failures.find((f) => f.name === 'tpm.quote')!.detail, /TPM_GENERATED_VALUE/);
  const notQuote = msg.slice();
  notQuote[5] = 0x17; // TPM_ST_ATTEST_CERTIFY
  failed(await verify(withMsg(notQuote)), 'tpm.quote', 'ATTEST_EVIDENCE_INVALID');
  r = await verify(withMsg(msg.slice(0, msg.length - 5)));
  failed(r, 'tpm.quote', 'ATTEST_REPORT_TRUNCATED');
  failed(r, 'tpm.pcr_digest', 'ATTEST_EVIDENCE_INVALID'); // not checked: blocked
  failed(await verify(withMsg(new Uint8Array([...msg, 0]))), 'tpm.quote', 'ATTEST_EVIDENCE_INVALID');

  const noAk = utf8(new TextDecoder().decode(runtimeClaimsOf(env)).replace('"HCLAkPub"', '"HCLAkPuX"'));
  r = await verify(withRuntimeClaims(env, noAk));
  failed(r, 'azure.ak', 'ATTEST_EVIDENCE_INVALID');
  failed(r, 'tpm.signature', 'ATTEST_EVIDENCE_INVALID');
  const dup = utf8(new TextDecoder().decode(runtimeClaimsOf(env)).replace('{"keys":', '{"keys":[],"keys":'));
  r = await verify(withRuntimeClaims(env, dup));
  failed(r, 'azure.ak', 'ATTEST_EVIDENCE_INVALID');
  assert.match(r.failures.find((f) => f.name === 'azure.ak')!.detail, /duplicate/i);
});

test('az-snp: envelope shape is enforced (unknown keys, version, hex)', async () => {
  const env = tee.boundEvidence('az-snp', { nonce: NONCE });
  const mutations: Array<(e: Record<string, any>) => void> = [
    (e) => (e['extra'] = 1),
    (e) => (e['version'] = 2),
    (e) => delete e['vcek'],
    (e) => (e['tpm_quote'].message = 'zz'),
    (e) => (e['tpm_quote'].pcrs = [...e['tpm_quote'].pcrs, '00'.repeat(32)]),
    (e) => (e['td_quote'] = 'AAAA'),
  ];
  for (const m of mutations) {
    const e = copy(env);
    m(e.evidence);
    failed(await verify(e), 'azure.evidence', 'ATTEST_EVIDENCE_INVALID');
  }
});

test('az-* evidence relabelled as bare snp, and snp evidence labelled az-snp, are refused', async () => {
  const az = tee.boundEvidence('az-snp', { nonce: NONCE });
  const asSnp = await verify({ ...az, platform: 'snp' });
  failed(asSnp, 'snp.evidence', 'ATTEST_EVIDENCE_INVALID');
  const snp = tee.boundEvidence('snp', { nonce: NONCE });
  failed(await verify({ ...snp, platform: 'az-snp' }), 'azure.evidence', 'ATTEST_EVIDENCE_INVALID');
  // gcp-tdx is tdx evidence: bare snp evidence under it fails the TDX checks
  const r = await verify({ ...snp, platform: 'gcp-tdx' });
  assert.equal(r.ok, false);
});

test('an unknown platform tag is still ATTEST_PLATFORM_UNSUPPORTED', async () => {
  const env = tee.boundEvidence('az-snp', { nonce: NONCE });
  for (const tag of ['aws-snp', 'az-sev', 'azure-snp', 'gcp', 'AZ-SNP']) {
    await assert.rejects(
      () => verify(JSON.stringify({ ...env, platform: tag })),
      (e: unknown) => isVeriteeError(e) && e.code === 'ATTEST_PLATFORM_UNSUPPORTED' && e.message.includes('az-snp'),
    );
  }
});

test('the simulator refuses unknown platforms and labels cloud evidence like other simulated evidence', async () => {
  await assert.rejects(() => SimulatedTee.create({ platforms: ['aws-snp' as Platform] }), (e: unknown) => isVeriteeError(e) && e.code === 'ATTEST_PLATFORM_UNSUPPORTED');
  const only = await SimulatedTee.create({ at: AT, platforms: ['gcp-snp'] });
  assert.throws(() => only.boundEvidence('az-snp', { nonce: NONCE }), (e: unknown) => isVeriteeError(e) && e.code === 'ATTEST_PLATFORM_UNSUPPORTED');
  // simulated az evidence is refused without allowSimulated, like every simulated evidence
  const r = await verifyEvidence(tee.boundEvidence('az-snp', { nonce: NONCE }), { policy: parsePolicy({ ...basePolicy, allowSimulated: false }), at: AT, nonce: NONCE, simulatedAnchors: tee.anchors });
  assert.equal(r.ok, false);
  assert.ok(r.failures.some((f) => f.code === 'ATTEST_CERT_CHAIN_INVALID'), formatResult(r));
});

test('policy parsing: cloud tags need their hardware section; pcrs and cloud are validated', () => {
  assert.throws(() => parsePolicy({ platforms: ['az-snp'] }), /snp\.measurements is required when platforms includes az-snp/);
  assert.throws(() => parsePolicy({ platforms: ['gcp-tdx'] }), /tdx\.mrtd is required when platforms includes gcp-tdx/);
  assert.throws(() => parsePolicy({ ...basePolicy, pcrs: { '24': 'ab'.repeat(32) } }), /PCR index must be 0-23/);
  assert.throws(() => parsePolicy({ ...basePolicy, pcrs: { '7': 'abcd' } }), /PCR value must be 32 bytes/);
  assert.throws(() => parsePolicy({ ...basePolicy, cloud: ['aws'] } as unknown as PolicyDocument), /cloud/);
  const p = parsePolicy(`platforms: [az-snp]\nsnp: { measurements: any }\ncloud: [azure]\npcrs: { "7": 3B20E022416FDF61D72E4DA32B4354781BE3DE0608116976D28FFDAD8C341D2A }\n`);
  assert.deepEqual(p.pcrs, { '7': ['3b20e022416fdf61d72e4da32b4354781be3de0608116976d28ffdad8c341d2a'] });
  assert.deepEqual(p.cloud, ['azure']);
});

test('a verifier that does not label the claims with the envelope tag is refused (evidence.cloud)', async () => {
  const { snpVerifier } = await import('../snp/index.js');
  const env = tee.boundEvidence('gcp-snp', { nonce: NONCE });
  const r = await verifyEvidence(
    { ...env, platform: 'gcp-snp' },
    { policy: policy(), at: AT, nonce: NONCE, simulatedAnchors: tee.anchors, verifiers: { 'gcp-snp': { platform: 'gcp-snp', verify: (e, p) => snpVerifier.verify({ ...e, platform: 'snp' }, p) } } },
  );
  failed(r, 'evidence.cloud', 'ATTEST_EVIDENCE_INVALID');
});

test('re-attestation reports a PCR mismatch as measurement-changed', async () => {
  const { reasonsFor } = await import('../reattest.js');
  const env = copy(tee.boundEvidence('az-snp', { nonce: NONCE }));
  const r = await verify(env, { pcrs: { '7': 'ab'.repeat(32) } });
  assert.deepEqual(reasonsFor(r.failures), ['measurement-changed']);
});

test('az-snp: the VCEK may be given as PEM (first block = the leaf)', async () => {
  const env = copy(tee.boundEvidence('az-snp', { nonce: NONCE }));
  const der = fromBase64(env.evidence['vcek'] as string);
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  env.evidence['vcek'] = `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`;
  const r = await verify(env);
  assert.equal(r.ok, true, formatResult(r));
  env.evidence['vcek'] = '-----BEGIN CERTIFICATE-----\nAAAA';
  failed(await verify(env), 'azure.evidence', 'ATTEST_EVIDENCE_INVALID');
});

test('az-snp: an AK outside RSA-2048..8192 or with an oversized exponent is refused', async () => {
  const env = tee.boundEvidence('az-snp', { nonce: NONCE });
  const doc = JSON.parse(new TextDecoder().decode(runtimeClaimsOf(env))) as { keys: Array<Record<string, unknown>> };
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) as { n: string };
  for (const [patch, re] of [[{ n: small.n }, /1024 bits/], [{ e: 'AQAAAAAB' }, /exponent is longer than 4 bytes/]] as const) {
    const d = structuredClone(doc);
    d.keys[0] = { ...d.keys[0], ...patch };
    const r = await verify(withRuntimeClaims(env, utf8(JSON.stringify(d))));
    failed(r, 'azure.ak', 'ATTEST_EVIDENCE_INVALID');
    assert.match(r.failures.find((f) => f.name === 'azure.ak')!.detail, re);
  }
});
