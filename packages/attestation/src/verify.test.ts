/**
 * verifyEvidence on every real fixture (packages/attestation/test/fixtures) at the time its
 * README states, under policies that pin what the fixture is; then the negatives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBase64, isVeriteeError, toBase64, toBase64Url, utf8 } from '@veritee/core';
import type { EvidenceEnvelope } from './types.js';
import { parsePolicy, productionPolicy, type PolicyDocument } from './policy.js';
import { formatResult, verifyEvidence, type AttestationResult } from './verify.js';
import {
  FIXTURE_FACTS as F,
  FIXTURE_TIMES as T,
  legacyHeader,
  nvidiaFixture,
  snpFixture,
  snpWithInvalidVcek,
  tdxFixture,
} from './testing/envelopes.js';

/** A policy that accepts what the fixtures are, without a binding requirement. */
function policy(extra: Partial<PolicyDocument> = {}) {
  return parsePolicy({
    name: 'fixtures',
    platforms: ['snp', 'tdx', 'nvidia'],
    reportData: { require: [] },
    snp: { measurements: [F.milanMeasurement, F.vlekMeasurement, F.debugPolicyMeasurement] },
    tdx: { mrtd: 'any' },
    nvidia: { measurements: 'any' },
    ...extra,
  });
}

function failed(r: AttestationResult): string[] {
  return r.failures.map((f) => f.name);
}

function failedWith(r: AttestationResult, name: string, code: string): void {
  const c = r.checks.find((x) => x.name === name);
  assert.ok(c, `no check ${name} in:\n${formatResult(r)}`);
  assert.equal(c.ok, false, `${name} should fail:\n${formatResult(r)}`);
  assert.equal(c.code, code, `${name} code`);
  assert.equal(r.ok, false);
}

function passes(r: AttestationResult): void {
  assert.equal(r.ok, true, formatResult(r));
  assert.equal(r.status, 'verified');
  assert.deepEqual(r.failures, []);
}

function flipByte(env: EvidenceEnvelope, field: 'attestation_report' | 'quote', offset: number): EvidenceEnvelope {
  const copy = structuredClone(env);
  const ev = copy.evidence as Record<string, string>;
  const bytes = fromBase64(ev[field]!);
  bytes[offset] = bytes[offset]! ^ 0x01;
  ev[field] = toBase64(bytes);
  return copy;
}

// ---- SEV-SNP --------------------------------------------------------------------------------

test('SNP milan v2 (VCEK) passes a pinned policy at 2025-06-01, with every check listed', async () => {
  const r = await verifyEvidence(snpFixture('milan-v2'), {
    policy: policy({ snp: { measurements: [F.milanMeasurement], minTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 }, signers: ['vcek'], vmpl: { exact: 0 } } }),
    at: T.snp,
  });
  passes(r);
  for (const n of ['snp.signature', 'snp.cert_chain', 'policy.platform', 'policy.measurement', 'policy.tcb', 'policy.debug', 'policy.vmpl', 'policy.signer', 'policy.report_data', 'policy.simulated']) {
    assert.ok(r.checks.some((c) => c.name === n && c.ok), `missing passing check ${n}`);
  }
  assert.equal(r.claims?.signer, 'vcek');
  assert.equal(r.claims?.simulated, false);
  assert.equal(r.appraisal.status, 'affirming');
  assert.equal(r.appraisal.trustworthinessVector.hardware, 2);
  assert.equal(r.appraisal.trustworthinessVector.executables, 2);
  assert.equal(r.policyId, 'veritee:policy/fixtures');
});

test('SNP milan: a TCB minimum above the reported TCB fails policy.tcb (outdated TCB)', async () => {
  const r = await verifyEvidence(snpFixture('milan-v2'), { policy: policy({ snp: { measurements: 'any', minTcb: { bootloader: 4, microcode: 200 } } }), at: T.snp });
  failedWith(r, 'policy.tcb', 'ATTEST_TCB_OUTDATED');
  assert.match(r.checks.find((c) => c.name === 'policy.tcb')!.detail, /bootloader 3 < minimum 4; microcode 115 < minimum 200/);
  assert.deepEqual(failed(r), ['policy.tcb']);
  assert.equal(r.appraisal.status, 'contraindicated');
});

test('SNP milan: a launch measurement outside the policy list fails policy.measurement', async () => {
  const r = await verifyEvidence(snpFixture('milan-v2'), { policy: policy({ snp: { measurements: [F.vlekMeasurement] } }), at: T.snp });
  failedWith(r, 'policy.measurement', 'ATTEST_MEASUREMENT_MISMATCH');
  assert.equal(r.appraisal.trustworthinessVector.executables, 33);
});

test('SNP VLEK v3 passes at 2025-06-01', async () => {
  const r = await verifyEvidence(snpFixture('vlek-v3'), { policy: policy(), at: T.snp });
  passes(r);
  assert.equal(r.claims?.signer, 'vlek');
  assert.equal(r.claims?.vmpl, 1);
});

test('SNP VLEK v3 at 2026-11-21: certificate expired', async () => {
  const r = await verifyEvidence(snpFixture('vlek-v3'), { policy: policy(), at: T.vlekExpired });
  assert.equal(r.ok, false);
  assert.ok(r.failures.some((f) => f.code === 'ATTEST_CERT_EXPIRED'), formatResult(r));
  assert.ok(r.failures.every((f) => f.name.startsWith('snp.')), 'only the platform fails');
});

test('SNP VLEK v3: a VMPL-0 policy rejects it; so does a VCEK-only policy', async () => {
  const vmpl0 = await verifyEvidence(snpFixture('vlek-v3'), { policy: policy({ snp: { measurements: 'any', vmpl: { exact: 0 } } }), at: T.snp });
  failedWith(vmpl0, 'policy.vmpl', 'ATTEST_POLICY_VIOLATION');
  assert.deepEqual(failed(vmpl0), ['policy.vmpl']);
  const max0 = await verifyEvidence(snpFixture('vlek-v3'), { policy: policy({ snp: { measurements: 'any', vmpl: { max: 0 } } }), at: T.snp });
  failedWith(max0, 'policy.vmpl', 'ATTEST_POLICY_VIOLATION');
  const vcekOnly = await verifyEvidence(snpFixture('vlek-v3'), { policy: policy({ snp: { measurements: 'any', signers: ['vcek'] } }), at: T.snp });
  failedWith(vcekOnly, 'policy.signer', 'ATTEST_POLICY_VIOLATION');
});

test('SNP debug-policy report: valid signature and chain, refused unless the policy allows debug', async () => {
  const r = await verifyEvidence(snpFixture('debug-policy'), { policy: policy(), at: T.snp });
  failedWith(r, 'policy.debug', 'ATTEST_DEBUG_REFUSED');
  assert.deepEqual(failed(r), ['policy.debug']);
  assert.equal(r.appraisal.trustworthinessVector.configuration, 96);
  passes(await verifyEvidence(snpFixture('debug-policy'), { policy: policy({ allowDebug: true }), at: T.snp }));
});

test('SNP: VCEKs that do not chain to AMD fail the chain', async () => {
  for (const which of ['legacy', 'new'] as const) {
    const r = await verifyEvidence(snpWithInvalidVcek(which), { policy: policy(), at: T.snp });
    assert.equal(r.ok, false);
    assert.ok(r.failures.some((f) => f.name === 'snp.cert_chain'), `${which}: ${formatResult(r)}`);
  }
});

test('policy.simulated says "chains to genuine vendor roots" only when the chain check passed', async () => {
  const bad = await verifyEvidence(snpWithInvalidVcek('new'), { policy: policy(), at: T.snp });
  const sim = bad.checks.find((c) => c.name === 'policy.simulated')!;
  assert.doesNotMatch(sim.detail, /chains to genuine vendor roots/);
  assert.equal(sim.detail, 'not simulated (no test anchor was accepted), but the evidence does not chain to a genuine vendor root either: snp.cert_chain failed');
  assert.doesNotMatch(formatResult(bad), /✓ policy\.simulated: evidence chains to genuine vendor roots/);
  const good = await verifyEvidence(snpFixture('milan-v2'), { policy: policy(), at: T.snp });
  assert.equal(good.checks.find((c) => c.name === 'policy.simulated')!.detail, 'evidence chains to genuine vendor roots (snp.cert_chain)');
  const tdx = await verifyEvidence(tdxFixture('phala-v4'), { policy: policy(), at: T.tdxV4 });
  assert.equal(tdx.checks.find((c) => c.name === 'policy.simulated')!.detail, 'evidence chains to genuine vendor roots (tdx.pck_chain)');
});

test('SNP: a flipped bit in the signed body or the signature fails the signature', async () => {
  for (const offset of [0x90 /* measurement */, 0x2a0 /* signature R */]) {
    const r = await verifyEvidence(flipByte(snpFixture('milan-v2'), 'attestation_report', offset), { policy: policy({ snp: { measurements: 'any' } }), at: T.snp });
    assert.equal(r.ok, false, `offset ${offset}`);
    assert.ok(r.failures.some((f) => f.code === 'ATTEST_SIGNATURE_INVALID'), formatResult(r));
  }
});

// ---- TDX --------------------------------------------------------------------------------------

test('TDX v4 (phala) passes at 2025-06-25 with MRTD and RTMR0 pinned', async () => {
  const r = await verifyEvidence(tdxFixture('phala-v4'), { policy: policy({ tdx: { mrtd: [F.phalaV4Mrtd], rtmr0: [F.phalaV4Rtmr0] } }), at: T.tdxV4 });
  passes(r);
  assert.equal(r.claims?.tcb.status, 'UpToDate');
  assert.equal(r.claims?.signer, 'pck');
});

test('TDX v4: a different MRTD or RTMR fails policy.measurement naming it', async () => {
  const r = await verifyEvidence(tdxFixture('phala-v4'), { policy: policy({ tdx: { mrtd: [F.milanMeasurement], rtmr1: [F.phalaV4Rtmr0] } }), at: T.tdxV4 });
  failedWith(r, 'policy.measurement', 'ATTEST_MEASUREMENT_MISMATCH');
  assert.match(r.checks.find((c) => c.name === 'policy.measurement')!.detail, /MRTD .* RTMR1/);
});

test('TDX v4 at 2026-11-21: collateral expired', async () => {
  const r = await verifyEvidence(tdxFixture('phala-v4'), { policy: policy(), at: T.tdxV4Expired });
  assert.equal(r.ok, false);
  assert.ok(r.failures.some((f) => f.code === 'ATTEST_COLLATERAL_EXPIRED'), formatResult(r));
});

test('TDX v5 outdated at 2026-03-01: no matching TCB level, rejected', async () => {
  const r = await verifyEvidence(tdxFixture('phala-v5-outdated'), { policy: policy(), at: T.tdxV5Outdated });
  assert.equal(r.ok, false);
  assert.ok(r.failures.some((f) => f.code === 'ATTEST_TCB_OUTDATED'), formatResult(r));
  // Even the most permissive TCB policy does not rescue a quote without a TCB level.
  const lax = await verifyEvidence(tdxFixture('phala-v5-outdated'), {
    policy: policy({ tdx: { mrtd: 'any', tcbStatuses: ['UpToDate', 'OutOfDate', 'SWHardeningNeeded'], allowedAdvisoryIds: 'any' } }),
    at: T.tdxV5Outdated,
  });
  assert.equal(lax.ok, false);
});

test('TDX v5 outdated: policy.tcb says collateral was evaluated and no TCB level matched, naming FMSPC and components', async () => {
  const r = await verifyEvidence(tdxFixture('phala-v5-outdated'), { policy: policy(), at: T.tdxV5Outdated });
  const tcb = r.checks.find((c) => c.name === 'policy.tcb')!;
  assert.equal(tcb.ok, false);
  assert.equal(tcb.code, 'ATTEST_TCB_OUTDATED');
  assert.doesNotMatch(tcb.detail, /no collateral/);
  assert.equal(
    tcb.detail,
    'TCB status unknown: collateral was evaluated (TCB info for FMSPC 90c06f000000, evaluation data 18) but no TCB level matched: ' +
      'platform FMSPC 90c06f000000, SGX TCB components [3,3,2,2,4,1,0,3,0,0,0,0,0,0,0,0], PCESVN 13, TDX TEE_TCB_SVN [7,1,3,0,0,0,0,0,0,0,0,0,0,0,0,0]',
  );
  assert.equal(r.status, 'failed');
});

test('TDX without collateral: policy.tcb says no collateral was evaluated (ATTEST_COLLATERAL_MISSING)', async () => {
  const r = await verifyEvidence(tdxFixture('phala-v4', { collateral: false }), { policy: policy(), at: T.tdxV4 });
  const tcb = r.checks.find((c) => c.name === 'policy.tcb')!;
  assert.equal(tcb.code, 'ATTEST_COLLATERAL_MISSING');
  assert.match(tcb.detail, /^TCB status unknown: no collateral was evaluated/);
  assert.equal(r.status, 'unverified', formatResult(r));
  assert.ok(r.failures.every((f) => f.code === 'ATTEST_COLLATERAL_MISSING'), formatResult(r));
});

/** The phala v4 quote with its PCK certification data type changed from 5 to `type` (that field is signed by nothing). */
function withoutPck(type: number, collateral: boolean): EvidenceEnvelope {
  const env = tdxFixture('phala-v4', { collateral });
  const q = fromBase64((env.evidence as { quote: string }).quote);
  const pem = Buffer.from(q).indexOf('-----BEGIN CERTIFICATE');
  assert.equal(q[pem - 6]! | (q[pem - 5]! << 8), 5);
  q[pem - 6] = type;
  (env.evidence as { quote: string }).quote = toBase64(q);
  return env;
}

test('TDX quote without a PCK certificate is "failed", saying the PCK certificate (type 5) is missing, with or without collateral', async () => {
  for (const collateral of [false, true]) {
    const r = await verifyEvidence(withoutPck(3, collateral), { policy: policy(), at: T.tdxV4 });
    assert.equal(r.status, 'failed', `collateral ${collateral}: ${formatResult(r)}`);
    const pck = r.checks.find((c) => c.name === 'tdx.pck_chain')!;
    assert.equal(pck.ok, false);
    assert.equal(pck.code, 'ATTEST_CERT_CHAIN_INVALID');
    assert.equal(
      pck.detail,
      'the quote carries no PCK certificate: its certification data is type 3 (PPID encrypted with RSA-3072-OAEP, CPUSVN, PCESVN, PCE-ID), not type 5 (PCK certificate chain), so the QE report cannot be verified',
    );
    assert.match(formatResult(r), /^FAIL: /m);
    assert.doesNotMatch(formatResult(r), /UNVERIFIED/);
    if (collateral) {
      assert.match(r.checks.find((c) => c.name === 'policy.tcb')!.detail, /^TCB status unknown: collateral was evaluated \(TCB info for FMSPC b0c06f000000, evaluation data 17\) but no PCK certificate extension/);
    }
  }
});

test('TDX without collateral and with a bad quote signature is "failed", not "unverified"', async () => {
  const r = await verifyEvidence(flipByte(tdxFixture('phala-v4', { collateral: false }), 'quote', 48 + 136), { policy: policy(), at: T.tdxV4 });
  assert.equal(r.status, 'failed', formatResult(r));
  assert.ok(r.failures.some((f) => f.code === 'ATTEST_SIGNATURE_INVALID'));
  assert.ok(r.failures.some((f) => f.code === 'ATTEST_COLLATERAL_MISSING'));
});

test('TDX debug TD (Intel PCS collateral) at 2026-03-20: signatures valid, rejected for debug', async () => {
  const r = await verifyEvidence(tdxFixture('debug-td-v4'), { policy: policy(), at: T.tdxDebug });
  failedWith(r, 'policy.debug', 'ATTEST_DEBUG_REFUSED');
  assert.ok(r.failures.every((f) => f.name.startsWith('policy.')), `only policy checks fail:\n${formatResult(r)}`);
  // Everything else about it is genuine: a policy accepting debug and its (OutOfDate) TCB passes.
  const lax = await verifyEvidence(tdxFixture('debug-td-v4'), {
    policy: policy({ allowDebug: true, tdx: { mrtd: 'any', tcbStatuses: ['UpToDate', 'OutOfDate'], allowedAdvisoryIds: 'any' } }),
    at: T.tdxDebug,
  });
  passes(lax);
  assert.equal(lax.appraisal.status, 'warning'); // accepted, but not UpToDate
});

test('TDX: Intel PCS collateral holding a member twice is refused (the signed and the read copy could differ)', async () => {
  const env = tdxFixture('debug-td-v4');
  const c = env.collateral as Record<string, string>;
  const member = /^\{"tcbInfo":(\{.*\}),"signature"/.exec(c.tcbInfo!)![1]!;
  const doubled = { ...env, collateral: { ...c, tcbInfo: c.tcbInfo!.replace(/\}$/, `,"tcbInfo":${member}}`) } };
  const r = await verifyEvidence(doubled, { policy: policy({ allowDebug: true, tdx: { mrtd: 'any', tcbStatuses: ['UpToDate', 'OutOfDate'], allowedAdvisoryIds: 'any' } }), at: T.tdxDebug }).catch((e: unknown) => e);
  const text = isVeriteeError(r) ? `${r.code} ${r.message}` : formatResult(r as AttestationResult);
  assert.equal(isVeriteeError(r) || (r as AttestationResult).ok === false, true, 'never a pass');
  assert.match(text, /collateral invalid: .*duplicate key "tcbInfo"/);
});

test('TDX: advisory IDs not listed by the policy fail policy.tcb', async () => {
  const r = await verifyEvidence(tdxFixture('debug-td-v4'), {
    policy: policy({ allowDebug: true, tdx: { mrtd: 'any', tcbStatuses: ['OutOfDate'], allowedAdvisoryIds: ['INTEL-SA-00837'] } }),
    at: T.tdxDebug,
  });
  failedWith(r, 'policy.tcb', 'ATTEST_TCB_OUTDATED');
  assert.match(r.checks.find((c) => c.name === 'policy.tcb')!.detail, /INTEL-SA-00960/);
});

test('TDX: a flipped bit in the TD report fails the quote signature', async () => {
  const r = await verifyEvidence(flipByte(tdxFixture('phala-v4'), 'quote', 48 + 136 /* MRTD */), { policy: policy(), at: T.tdxV4 });
  assert.equal(r.ok, false);
  assert.ok(r.failures.some((f) => f.code === 'ATTEST_SIGNATURE_INVALID'), formatResult(r));
});

test('legacy Attestation-Report header (no collateral) is never a pass: unverified', async () => {
  const lax = policy({ allowDebug: true, tdx: { mrtd: 'any', tcbStatuses: ['UpToDate', 'OutOfDate', 'SWHardeningNeeded'], allowedAdvisoryIds: 'any' } });
  const r = await verifyEvidence(legacyHeader(), { policy: lax, at: T.tdxV4 });
  assert.equal(r.ok, false);
  assert.equal(r.status, 'unverified');
  assert.equal(r.source, 'legacy-header');
  assert.equal(r.platform, 'tdx');
  assert.ok(r.failures.some((f) => f.code === 'ATTEST_COLLATERAL_MISSING'), formatResult(r));
  assert.match(formatResult(r), /UNVERIFIED: collateral missing/);
});

// ---- NVIDIA ----------------------------------------------------------------------------------

test('NVIDIA H100: passes with its SPDM nonce and a reference value for block 2', async () => {
  const r = await verifyEvidence(nvidiaFixture(), {
    policy: policy({ nvidia: { measurements: { '2': [F.nvidiaBlock2] } } }),
    at: T.nvidia,
    expectedReportData: F.nvidiaNonce,
  });
  passes(r);
  assert.equal(r.claims?.signer, 'nvidia-device');
  assert.equal(r.claims?.reportData, F.nvidiaNonce);
});

test('NVIDIA: a wrong reference value or a wrong nonce fails', async () => {
  const wrongRef = await verifyEvidence(nvidiaFixture(), { policy: policy({ nvidia: { measurements: { '2': [F.milanMeasurement] } } }), at: T.nvidia });
  failedWith(wrongRef, 'policy.measurement', 'ATTEST_MEASUREMENT_MISMATCH');
  const wrongNonce = await verifyEvidence(nvidiaFixture(), { policy: policy(), at: T.nvidia, expectedReportData: 'ff'.repeat(32) });
  failedWith(wrongNonce, 'policy.report_data', 'ATTEST_REPORT_DATA_MISMATCH');
});

test('NVIDIA: unsigned trailing bytes are ignored, reported as a note in the result and in formatResult', async () => {
  const env = nvidiaFixture();
  const spdm = fromBase64((env.evidence as { spdm: string }).spdm);
  const tailed = new Uint8Array(spdm.length + 1);
  tailed.set(spdm);
  (env.evidence as { spdm: string }).spdm = toBase64(tailed);
  const r = await verifyEvidence(env, { policy: policy(), at: T.nvidia, expectedReportData: F.nvidiaNonce });
  passes(r);
  assert.equal(r.notes?.length, 1);
  assert.match(r.notes![0]!, /1 unsigned trailing byte\(s\) after the 96-byte signature \(at evidence offset 4117: 00\) were ignored/);
  assert.match(formatResult(r), /^note: nvidia\.parse: 1 unsigned trailing byte/m);
  const plain = await verifyEvidence(nvidiaFixture(), { policy: policy(), at: T.nvidia, expectedReportData: F.nvidiaNonce });
  assert.equal(plain.notes, undefined);
  assert.deepEqual(r.checks.map((c) => [c.name, c.ok]), plain.checks.map((c) => [c.name, c.ok]));
});

// ---- cross-cutting ---------------------------------------------------------------------------

test('binding: the production policy demands a nonce; a wrong nonce or key hash fails', async () => {
  const prod = productionPolicy();
  const none = await verifyEvidence(snpFixture('milan-v2'), { policy: prod, at: T.snp });
  failedWith(none, 'policy.report_data', 'ATTEST_REPORT_DATA_MISMATCH');
  assert.match(none.checks.find((c) => c.name === 'policy.report_data')!.detail, /requires a nonce/);
  const wrong = await verifyEvidence(snpFixture('milan-v2'), { policy: prod, at: T.snp, nonce: '11'.repeat(32), publicKeyHash: '22'.repeat(32) });
  failedWith(wrong, 'policy.report_data', 'ATTEST_REPORT_DATA_MISMATCH');
  assert.equal(wrong.nonce, '11'.repeat(32));
  assert.equal(wrong.appraisal.trustworthinessVector['instance-identity'], 97);
});

test('evidence from one platform presented as another never passes', async () => {
  const snpAsTdx = { ...snpFixture('milan-v2'), platform: 'tdx' as const };
  const tdxAsNvidia = { ...tdxFixture('phala-v4'), platform: 'nvidia' as const };
  const nvidiaAsSnp = { ...nvidiaFixture(), platform: 'snp' as const };
  for (const [env, at] of [[snpAsTdx, T.snp], [tdxAsNvidia, T.tdxV4], [nvidiaAsSnp, T.nvidia]] as const) {
    try {
      const r = await verifyEvidence(env, { policy: policy(), at });
      assert.equal(r.ok, false, formatResult(r));
    } catch (e) {
      assert.ok(isVeriteeError(e), String(e));
      assert.equal(e.info.exit, 2, `${e.code}: ${e.message}`);
    }
  }
});

test('a platform the policy does not accept fails policy.platform', async () => {
  const r = await verifyEvidence(snpFixture('milan-v2'), { policy: policy({ platforms: ['tdx'] }), at: T.snp });
  failedWith(r, 'policy.platform', 'ATTEST_POLICY_VIOLATION');
});

test('the envelope is accepted as JSON text, as base64url header value and as bytes', async () => {
  const env = snpFixture('milan-v2');
  const json = JSON.stringify(env);
  for (const [input, source] of [
    [json, 'envelope'],
    [toBase64Url(utf8(json)), 'header'],
    [utf8(json), 'envelope'],
  ] as const) {
    const r = await verifyEvidence(input, { policy: policy(), at: T.snp });
    passes(r);
    assert.equal(r.source, source);
  }
});

test('an envelope with a duplicate key is refused as text, header value and bytes (not read last-wins)', async () => {
  const json = JSON.stringify(snpFixture('milan-v2'));
  const dup = json.replace('"platform":"snp"', '"platform":"tdx","platform":"snp"');
  assert.notEqual(dup, json);
  assert.equal((JSON.parse(dup) as { platform: string }).platform, 'snp', 'JSON.parse would read it');
  for (const input of [dup, toBase64Url(utf8(dup)), utf8(dup)]) {
    await assert.rejects(verifyEvidence(input, { policy: policy(), at: T.snp }), (e) => isVeriteeError(e, 'INPUT_JSON_INVALID') && /duplicate key "platform"/.test(e.message));
  }
  await assert.rejects(verifyEvidence('{"a":'.repeat(5000), { policy: policy(), at: T.snp }), (e) => isVeriteeError(e, 'INPUT_JSON_INVALID'));
});

test('bad input throws clear input errors before any verification', async () => {
  const p = policy();
  const rejects = (input: unknown, code: string) =>
    assert.rejects(verifyEvidence(input as string, { policy: p, at: T.snp }), (e) => isVeriteeError(e) && e.code === code);
  await rejects('x'.repeat(1024 * 1024 + 1), 'INPUT_TOO_LARGE');
  await rejects({ platform: 'snp', evidence: { attestation_report: 'A'.repeat(1024 * 1024) } }, 'INPUT_TOO_LARGE');
  await rejects('{"platform": "snp", ', 'INPUT_JSON_INVALID');
  await rejects('{"platform": "sgx", "evidence": {}}', 'ATTEST_PLATFORM_UNSUPPORTED');
  await rejects('{"platform": "snp"}', 'ATTEST_EVIDENCE_INVALID');
  await rejects('{"platform": "snp", "evidence": {}, "extra": 1}', 'ATTEST_EVIDENCE_INVALID');
  await rejects('not base64 at all!', 'ATTEST_EVIDENCE_INVALID');
  await rejects(null, 'ATTEST_EVIDENCE_INVALID');
  await assert.rejects(verifyEvidence(snpFixture('milan-v2'), { policy: p, at: 'yesterday' }), (e) => isVeriteeError(e, 'INPUT_TIME_INVALID'));
  await assert.rejects(verifyEvidence(snpFixture('milan-v2'), { policy: p, at: T.snp, nonce: 'abcd' }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
});

test('truncated reports are input errors or failed checks, never a crash or a pass', async () => {
  const env = snpFixture('milan-v2');
  const report = fromBase64((env.evidence as Record<string, string>)['attestation_report']!);
  for (const len of [0, 4, 0x2a0, report.length - 1]) {
    const cut = structuredClone(env);
    (cut.evidence as Record<string, string>)['attestation_report'] = toBase64(report.slice(0, len));
    try {
      const r = await verifyEvidence(cut, { policy: policy(), at: T.snp });
      assert.equal(r.ok, false);
    } catch (e) {
      assert.ok(isVeriteeError(e), String(e));
    }
  }
});

test('verifier overrides: a platform verifier that throws unexpectedly yields a failed check', async () => {
  const r = await verifyEvidence(snpFixture('milan-v2'), {
    policy: policy(),
    at: T.snp,
    verifiers: {
      snp: {
        platform: 'snp',
        verify: async () => {
          throw new TypeError('boom');
        },
      },
    },
  });
  assert.equal(r.ok, false);
  assert.deepEqual(failed(r), ['snp.verify', 'policy.claims']);
});
