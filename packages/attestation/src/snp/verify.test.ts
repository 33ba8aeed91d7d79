import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isVeriteeError, toBase64 } from '@veritee/core';
import type { EvidenceEnvelope, VerificationResult, VerifyParams } from '../types.js';
import { readFixture } from '../testing/fixtures.js';
import { amdRoots } from './roots.js';
import { snpVerifier, parseSnpReport } from './index.js';

const JUNE_2025 = new Date('2025-06-01T00:00:00Z');
const NOV_2026 = new Date('2026-11-21T00:00:00Z');

// Goldens live in src/snp/testdata; this resolves from src/snp (tsx) and dist/snp (tsc) alike.
const GOLDEN_DIR = fileURLToPath(new URL('../../src/snp/testdata/', import.meta.url));

interface Case {
  name: string;
  report: string;
  cert: string;
  key: 'vcek' | 'vlek';
}
const MILAN: Case = { name: 'milan-v2', report: 'snp/milan-v2-report.bin', cert: 'snp/milan-v2-vcek.der', key: 'vcek' };
const VLEK: Case = { name: 'vlek-v3', report: 'snp/vlek-v3-report.bin', cert: 'snp/vlek-v3-vlek.der', key: 'vlek' };
const DEBUG: Case = { name: 'debug-policy', report: 'snp/debug-policy-report.bin', cert: 'snp/debug-policy-vcek.der', key: 'vcek' };

function envelope(report: Uint8Array, cert: Uint8Array | undefined, key: 'vcek' | 'vlek' = 'vcek', extra: Record<string, string> = {}): EvidenceEnvelope {
  const evidence: Record<string, unknown> = { attestation_report: toBase64(report) };
  if (cert) evidence['cert_chain'] = { [key]: toBase64(cert), ...extra };
  return { platform: 'snp', evidence };
}

function caseEnvelope(c: Case): EvidenceEnvelope {
  return envelope(readFixture(c.report), readFixture(c.cert), c.key);
}

function failed(r: VerificationResult): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => `${c.name}:${c.code ?? '-'}`);
}

async function run(env: unknown, params: Partial<VerifyParams> = {}): Promise<VerificationResult> {
  return snpVerifier.verify(env as EvidenceEnvelope, { at: JUNE_2025, ...params });
}

function assertOk(r: VerificationResult, what: string): void {
  assert.equal(r.ok, true, `${what}: ${JSON.stringify(r.checks.filter((c) => !c.ok), null, 1)}`);
}

// ---- the real fixtures at their stated times ------------------------------------------

test('milan v2 VCEK report is valid at 2025-06-01 (chain VCEK -> ASK -> ARK-Milan)', async () => {
  const r = await run(caseEnvelope(MILAN));
  assertOk(r, 'milan v2');
  const names = r.checks.map((c) => c.name);
  for (const n of ['snp.evidence', 'snp.report_size', 'snp.report_version', 'snp.parse', 'snp.signer', 'snp.cert_chain', 'snp.cert_validity', 'snp.tcb', 'snp.chip_id', 'snp.product', 'snp.signature']) {
    assert.ok(names.includes(n), `missing check ${n}`);
  }
  assert.equal(r.claims!.simulated, false);
  assert.equal(r.claims!.product, 'milan');
  assert.equal(r.claims!.signer, 'vcek');
  assert.deepEqual(
    r.claims!.tcb.components.map((c) => [c.name, c.value]),
    [['bootloader', 3], ['tee', 0], ['snp', 8], ['microcode', 115]],
  );
  assert.match(r.claims!.certChain[2]!, /CN=ARK-Milan$/);
});

test('VLEK v3 report is valid at 2025-06-01 (VLEK -> ASVK -> ARK-Milan), VMPL 1', async () => {
  const r = await run(caseEnvelope(VLEK));
  assertOk(r, 'vlek v3');
  assert.equal(r.claims!.signer, 'vlek');
  assert.equal(r.claims!.vmpl, 1);
  assert.match(r.claims!.certChain[1]!, /CN=SEV-VLEK-Milan$/);
});

test('VLEK v3 report at 2026-11-21: "certificate expired" (ATTEST_CERT_EXPIRED), everything else passes', async () => {
  const r = await run(caseEnvelope(VLEK), { at: NOV_2026 });
  assert.equal(r.ok, false);
  assert.deepEqual(failed(r), ['snp.cert_validity:ATTEST_CERT_EXPIRED']);
  assert.match(r.checks.find((c) => c.name === 'snp.cert_validity')!.detail, /expired.*2025-12-10/);
  assert.ok(r.claims, 'claims are still reported');
});

test('a certificate not yet valid fails ATTEST_CERT_EXPIRED', async () => {
  const r = await run(caseEnvelope(VLEK), { at: new Date('2024-01-01T00:00:00Z') });
  assert.deepEqual(failed(r), ['snp.cert_validity:ATTEST_CERT_EXPIRED']);
  assert.match(r.checks.find((c) => c.name === 'snp.cert_validity')!.detail, /not yet valid/);
});

test('VLEK filed under the "vcek" key (as attestation-rs does) verifies; the report decides the signer', async () => {
  const r = await run(envelope(readFixture(VLEK.report), readFixture(VLEK.cert), 'vcek'));
  assertOk(r, 'vlek under vcek key');
  assert.equal(r.claims!.signer, 'vlek');
});

test('debug-policy report verifies and claims.debug is true', async () => {
  const r = await run(caseEnvelope(DEBUG));
  assertOk(r, 'debug policy');
  assert.equal(r.claims!.debug, true);
  assert.equal(r.claims!.attributes, '00000000000b0000');
});

test('invalid VCEKs fail the chain (and the report signature, TCB and chip id)', async () => {
  for (const f of ['snp/invalid-vcek-legacy.der', 'snp/invalid-vcek-new.der']) {
    const r = await run(envelope(readFixture(MILAN.report), readFixture(f)));
    assert.equal(r.ok, false);
    const bad = failed(r);
    assert.ok(bad.includes('snp.cert_chain:ATTEST_CERT_CHAIN_INVALID'), `${f}: ${bad.join(', ')}`);
    assert.ok(bad.includes('snp.signature:ATTEST_SIGNATURE_INVALID'), `${f}: ${bad.join(', ')}`);
    assert.equal(r.claims!.simulated, false);
    assert.equal(r.claims!.certChain.length, 1, 'only the leaf when no chain was found');
  }
});

test('a VCEK from another chip: chain ok, but chip id, TCB and signature fail', async () => {
  const r = await run(envelope(readFixture(MILAN.report), readFixture(DEBUG.cert)));
  assert.deepEqual(failed(r).sort(), ['snp.chip_id:ATTEST_TCB_MISMATCH', 'snp.signature:ATTEST_SIGNATURE_INVALID', 'snp.tcb:ATTEST_TCB_MISMATCH']);
});

// ---- golden claims ---------------------------------------------------------------------

test('golden claims (testdata/*.claims.json; UPDATE_GOLDENS=1 rewrites them)', async () => {
  for (const c of [MILAN, VLEK, DEBUG]) {
    const r = await run(caseEnvelope(c));
    assertOk(r, c.name);
    const file = `${GOLDEN_DIR}${c.name}.claims.json`;
    const actual = JSON.parse(JSON.stringify(r.claims)) as unknown;
    if (process.env['UPDATE_GOLDENS'] === '1' || !existsSync(file)) {
      if (process.env['CI']) assert.fail(`golden ${file} is missing`);
      mkdirSync(GOLDEN_DIR, { recursive: true });
      writeFileSync(file, JSON.stringify(actual, null, 2) + '\n');
    }
    assert.deepEqual(actual, JSON.parse(readFileSync(file, 'utf8')), `claims of ${c.name} differ from ${file}`);
  }
});

// ---- mutations ----------------------------------------------------------------------------

test('flipping one byte in the signed body fails the signature', async () => {
  const base = readFixture(MILAN.report);
  // 0x008 policy, 0x050 report data, 0x090 measurement, 0x0C0 host data, 0x1A0 chip id (also fails chip_id), 0x29F last signed byte
  for (const pos of [0x008, 0x050, 0x090, 0x0c0, 0x1a0, 0x29f]) {
    const m = Uint8Array.from(base);
    m[pos] ^= 0x01;
    const r = await run(envelope(m, readFixture(MILAN.cert)));
    assert.equal(r.ok, false, `flip at 0x${pos.toString(16)}`);
    assert.ok(failed(r).includes('snp.signature:ATTEST_SIGNATURE_INVALID'), `flip at 0x${pos.toString(16)}: ${failed(r).join(', ')}`);
  }
});

test('flipping the reported TCB fails both the TCB match and the signature', async () => {
  const m = Uint8Array.from(readFixture(MILAN.report));
  m[0x187] ^= 0x01; // REPORTED_TCB microcode
  const r = await run(envelope(m, readFixture(MILAN.cert)));
  assert.deepEqual(failed(r).sort(), ['snp.signature:ATTEST_SIGNATURE_INVALID', 'snp.tcb:ATTEST_TCB_MISMATCH']);
});

test('flipping one byte of the signature (R, S, high bytes, reserved tail) fails', async () => {
  const base = readFixture(MILAN.report);
  // 0x2A0 R low byte, 0x2CF R top byte, 0x2D0 R high (must be zero), 0x2E8 S, 0x330 and 0x49F reserved (unsigned, must be zero)
  for (const pos of [0x2a0, 0x2cf, 0x2d0, 0x2e8, 0x317, 0x330, 0x49f]) {
    const m = Uint8Array.from(base);
    m[pos] ^= 0x01;
    const r = await run(envelope(m, readFixture(MILAN.cert)));
    assert.deepEqual(failed(r), ['snp.signature:ATTEST_SIGNATURE_INVALID'], `flip at 0x${pos.toString(16)}`);
  }
});

test('flipping one byte of the certificate fails', async () => {
  const cert = readFixture(MILAN.cert);
  for (const pos of [100, 400, 700, cert.length - 10]) {
    const m = Uint8Array.from(cert);
    m[pos] ^= 0x01;
    const r = await run(envelope(readFixture(MILAN.report), m));
    assert.equal(r.ok, false, `flip at ${pos}`);
    const bad = failed(r);
    assert.ok(
      bad.includes('snp.cert_chain:ATTEST_CERT_CHAIN_INVALID') || bad.includes('snp.signer:ATTEST_EVIDENCE_INVALID'),
      `flip at ${pos}: ${bad.join(', ')}`,
    );
  }
});

test('report data: match passes, a wrong value or a wrong length fails ATTEST_REPORT_DATA_MISMATCH', async () => {
  const rd = parseSnpReport(readFixture(MILAN.report)).reportData;
  const ok = await run(caseEnvelope(MILAN), { expectedReportData: rd });
  assertOk(ok, 'matching report data');
  assert.ok(ok.checks.some((c) => c.name === 'snp.report_data' && c.ok));
  const wrong = Uint8Array.from(rd);
  wrong[63] ^= 1;
  assert.deepEqual(failed(await run(caseEnvelope(MILAN), { expectedReportData: wrong })), ['snp.report_data:ATTEST_REPORT_DATA_MISMATCH']);
  assert.deepEqual(failed(await run(caseEnvelope(MILAN), { expectedReportData: rd.slice(0, 32) })), ['snp.report_data:ATTEST_REPORT_DATA_MISMATCH']);
});

// ---- malformed input -----------------------------------------------------------------------

test('truncated and oversized reports fail cleanly with a named check, no claims', async () => {
  const base = readFixture(MILAN.report);
  for (const n of [0, 4, 0x2a0, 0x49f]) {
    const r = await run(envelope(base.subarray(0, n), readFixture(MILAN.cert)));
    assert.equal(r.ok, false);
    const last = r.checks.at(-1)!;
    if (n === 0) assert.equal(last.code, 'ATTEST_EVIDENCE_INVALID'); // empty base64 is not a report at all
    else {
      assert.equal(last.name, 'snp.report_size');
      assert.equal(last.code, 'ATTEST_REPORT_TRUNCATED');
      assert.match(last.detail, new RegExp(`${n} bytes`));
    }
    assert.equal(r.claims, undefined);
  }
  const big = new Uint8Array(base.length + 1);
  big.set(base);
  const r = await run(envelope(big, readFixture(MILAN.cert)));
  assert.deepEqual(failed(r), ['snp.report_size:ATTEST_EVIDENCE_INVALID']);
  const v9 = Uint8Array.from(base);
  v9[0] = 9;
  assert.deepEqual(failed(await run(envelope(v9, readFixture(MILAN.cert)))), ['snp.report_version:ATTEST_REPORT_VERSION']);
});

test('parseSnpReport is exported and throws VeriteeErrors on bad sizes', () => {
  assert.throws(() => parseSnpReport(new Uint8Array(10)), (e: unknown) => isVeriteeError(e, 'ATTEST_REPORT_TRUNCATED'));
});

test('evidence of other shapes is rejected with ATTEST_EVIDENCE_INVALID', async () => {
  const report = toBase64(readFixture(MILAN.report));
  const vcek = toBase64(readFixture(MILAN.cert));
  const shapes: unknown[] = [
    { platform: 'tdx', evidence: { quote: report } },
    { platform: 'snp', evidence: { quote: report } },
    { platform: 'nvidia', evidence: { spdm: report, cert_chain: '-----BEGIN CERTIFICATE-----' } },
    { platform: 'tdx', evidence: { attestation_report: report, cert_chain: { vcek } } },
    { platform: 'snp', evidence: { attestation_report: report, cert_chain: { vcek }, extra: 1 } },
    { platform: 'snp', evidence: { attestation_report: report, cert_chain: { vcek, pck: vcek } } },
    { platform: 'snp', evidence: { attestation_report: report, cert_chain: { vcek, vlek: vcek } } },
    { platform: 'snp', evidence: { attestation_report: report, cert_chain: {} } },
    { platform: 'snp', evidence: { attestation_report: 42 } },
    { platform: 'snp', evidence: { attestation_report: '%%% not base64 %%%' } },
    { platform: 'snp', evidence: { attestation_report: report }, collateral: { tcbInfo: {} } },
    { platform: 'snp' },
    null,
    'snp',
    42,
  ];
  for (const s of shapes) {
    const r = await run(s);
    assert.equal(r.ok, false, JSON.stringify(s)?.slice(0, 80));
    assert.deepEqual(failed(r), ['snp.evidence:ATTEST_EVIDENCE_INVALID'], JSON.stringify(s)?.slice(0, 80));
    assert.equal(r.claims, undefined);
  }
  const tdx = await run({ platform: 'tdx', evidence: { quote: report } });
  assert.match(tdx.checks[0]!.detail, /platform "tdx" is not "snp"/);
});

test('missing certificate: every dependent check fails ATTEST_COLLATERAL_MISSING, claims still parsed', async () => {
  const r = await run(envelope(readFixture(MILAN.report), undefined));
  assert.equal(r.ok, false);
  for (const n of ['snp.signer', 'snp.cert_chain', 'snp.cert_validity', 'snp.tcb', 'snp.chip_id', 'snp.signature']) {
    const c = r.checks.find((x) => x.name === n);
    assert.ok(c && !c.ok && c.code === 'ATTEST_COLLATERAL_MISSING', `${n}: ${JSON.stringify(c)}`);
  }
  assert.equal(r.claims!.measurement.length, 96);
});

test('garbage certificate: ATTEST_EVIDENCE_INVALID, no crash', async () => {
  const r = await run(envelope(readFixture(MILAN.report), Uint8Array.of(0x30, 0x82, 0xff, 0xff, 1, 2, 3)));
  assert.equal(r.ok, false);
  assert.ok(failed(r).includes('snp.signer:ATTEST_EVIDENCE_INVALID'));
});

test('host-supplied ASK/ARK are ignored: a bogus ARK does not matter, bundled roots win', async () => {
  const bogus = toBase64(readFixture('snp/invalid-vcek-new.der'));
  const r = await run(envelope(readFixture(MILAN.report), readFixture(MILAN.cert), 'vcek', { ask: bogus, ark: bogus }));
  assertOk(r, 'with bogus host ASK/ARK');
  assert.match(r.checks[0]!.detail, /ask\/ark ignored/);
  // a genuine Genoa ARK supplied by the host cannot redirect the chain either
  const genoa = toBase64(amdRoots().genoa.ark);
  const r2 = await run(envelope(readFixture(MILAN.report), readFixture(MILAN.cert), 'vcek', { ark: genoa }));
  assert.equal(r2.claims!.product, 'milan');
});

test('report signer / certificate mismatches fail snp.signer', async () => {
  // a VCEK-signed report presented with the certificate under the "vlek" key
  const r = await run(envelope(readFixture(MILAN.report), readFixture(MILAN.cert), 'vlek'));
  assert.ok(failed(r).includes('snp.signer:ATTEST_EVIDENCE_INVALID'));
  // SIGNING_KEY = 7 (no signature)
  const m = Uint8Array.from(readFixture(MILAN.report));
  m[0x48] = 7 << 2;
  const r2 = await run(envelope(m, readFixture(MILAN.cert)));
  assert.ok(failed(r2).includes('snp.signer:ATTEST_EVIDENCE_INVALID'));
});

test('the verification time is required', async () => {
  await assert.rejects(
    snpVerifier.verify(caseEnvelope(MILAN), { at: new Date('nope') }),
    (e: unknown) => isVeriteeError(e, 'INPUT_TIME_INVALID'),
  );
  await assert.rejects(snpVerifier.verify(caseEnvelope(MILAN), {} as VerifyParams), (e: unknown) => isVeriteeError(e, 'INPUT_TIME_INVALID'));
});

test('warm verification is fast (cached chain; target <= 5 ms per report)', async (t) => {
  const env = caseEnvelope(MILAN);
  for (let i = 0; i < 5; i++) await run(env);
  const n = 50;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) assertOk(await run(env), 'warm');
  const per = (performance.now() - t0) / n;
  t.diagnostic(`warm SNP verification: ${per.toFixed(2)} ms per report`);
  assert.ok(per < 25, `warm verification took ${per.toFixed(2)} ms (generous bound for loaded CI machines)`);
});
