import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBase64, isVeriteeError, toBase64, toHex } from '@veritee/core';
import type { EvidenceEnvelope, VerificationResult, VerifyParams } from '../types.js';
import { readFixture } from '../testing/fixtures.js';
import { createSimSnpAuthority, simSnpEvidence, simSnpReport, type SimSnpAuthority } from '../sim/snp.js';
import { parseAmdCert, verifyIssuedBy } from './certs.js';
import { amdRoots } from './roots.js';
import { parseSnpReport, snpVerifier } from './index.js';

const AT = new Date('2025-06-01T00:00:00Z');
const RD = Uint8Array.from({ length: 64 }, (_, i) => i + 1);

let milan: SimSnpAuthority;
let turin: SimSnpAuthority;
let other: SimSnpAuthority;

before(async () => {
  [milan, turin, other] = await Promise.all([
    createSimSnpAuthority({ product: 'milan' }),
    createSimSnpAuthority({ product: 'turin' }),
    createSimSnpAuthority({ product: 'milan' }),
  ]);
});

function failed(r: VerificationResult): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => `${c.name}:${c.code ?? '-'}`);
}

async function verifyWith(env: EvidenceEnvelope, auth: SimSnpAuthority | undefined, extra: Partial<VerifyParams> = {}): Promise<VerificationResult> {
  return snpVerifier.verify(env, { at: AT, ...(auth ? { simulatedAnchors: auth.anchors } : {}), ...extra });
}

function reportOf(env: EvidenceEnvelope): Uint8Array {
  return fromBase64((env.evidence as { attestation_report: string }).attestation_report);
}

test('simulated evidence is accepted with the simulator anchors and marked simulated', async () => {
  const measurement = new Uint8Array(48).fill(0xab);
  const hostData = new Uint8Array(32).fill(0xcd);
  const env = simSnpEvidence(milan, { reportData: RD, measurement, hostData });
  const r = await verifyWith(env, milan, { expectedReportData: RD });
  assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
  const c = r.claims!;
  assert.equal(c.simulated, true);
  assert.equal(c.product, 'milan');
  assert.equal(c.signer, 'vcek');
  assert.equal(c.measurement, toHex(measurement));
  assert.equal(c.hostData, toHex(hostData));
  assert.equal(c.reportData, toHex(RD));
  assert.equal(c.chipId, toHex(milan.chipId));
  assert.equal(c.debug, false);
  assert.equal(c.vmpl, 0);
  assert.equal(c.version, 3);
  assert.match(r.checks.find((x) => x.name === 'snp.cert_chain')!.detail, /SIMULATED test root/);
  assert.match(c.certChain[2]!, /veritee simulated/);
});

test('simulated evidence is refused without the simulator anchors (no trusted root)', async () => {
  const env = simSnpEvidence(milan, { reportData: RD });
  const r = await verifyWith(env, undefined);
  assert.equal(r.ok, false);
  assert.deepEqual(failed(r), ['snp.cert_chain:ATTEST_CERT_CHAIN_INVALID']);
  assert.equal(r.claims!.simulated, false);
  // nor with the anchors of another simulator
  const r2 = await verifyWith(env, other);
  assert.deepEqual(failed(r2), ['snp.cert_chain:ATTEST_CERT_CHAIN_INVALID']);
});

test('debug flag (guest policy bit 19) is visible in the claims', async () => {
  const r = await verifyWith(simSnpEvidence(milan, { reportData: RD, debug: true }), milan);
  assert.equal(r.ok, true);
  assert.equal(r.claims!.debug, true);
  assert.equal(r.claims!.attributes, '00000000000b0000');
});

test('VLEK-signed simulated report at VMPL 2: VLEK -> ASVK chain, chip id zero', async () => {
  const env = simSnpEvidence(milan, { reportData: RD, signer: 'vlek', vmpl: 2 });
  assert.ok('vlek' in (env.evidence['cert_chain'] as object));
  const r = await verifyWith(env, milan);
  assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
  assert.equal(r.claims!.signer, 'vlek');
  assert.equal(r.claims!.vmpl, 2);
  assert.equal(r.claims!.chipId, '00'.repeat(64));
  assert.match(r.claims!.certChain[1]!, /CN=SEV-VLEK-Milan$/);
});

test('report versions 2, 3 and 5 all verify; v2 finds its product through the chain', async () => {
  for (const version of [2, 3, 5] as const) {
    const env = simSnpEvidence(milan, { reportData: RD, version });
    const r = await verifyWith(env, milan);
    assert.equal(r.ok, true, `v${version}: ${JSON.stringify(r.checks.filter((c) => !c.ok))}`);
    assert.equal(r.claims!.version, version);
    assert.equal(r.claims!.product, 'milan');
    assert.equal('launchMitVector' in r.claims!.platformData, version >= 5);
    assert.equal('cpuid' in r.claims!.platformData, version >= 3);
  }
});

test('Turin: FMC in the TCB (Turin layout) and fmcSPL in the VCEK, also for a v2 report', async () => {
  for (const version of [2, 3, 5] as const) {
    const r = await verifyWith(simSnpEvidence(turin, { reportData: RD, version }), turin);
    assert.equal(r.ok, true, `v${version}: ${JSON.stringify(r.checks.filter((c) => !c.ok))}`);
    assert.equal(r.claims!.product, 'turin');
    assert.deepEqual(
      r.claims!.tcb.components.map((c) => [c.name, c.value]),
      [['bootloader', 1], ['tee', 1], ['snp', 3], ['microcode', 76], ['fmc', 1]],
    );
  }
  const p = parseSnpReport(reportOf(simSnpEvidence(turin, { reportData: RD })));
  assert.deepEqual(p.cpuid, { family: 0x1a, model: 0x02, stepping: 0x01 });
  assert.equal(p.tcbLayout, 'turin');
});

test('the simulated report has the exact real layout', () => {
  const raw = simSnpReport(milan, { reportData: RD, vmpl: 1, debug: true });
  assert.equal(raw.length, 0x4a0);
  const p = parseSnpReport(raw);
  assert.equal(p.signatureAlgo, 1);
  assert.equal(p.vmpl, 1);
  assert.equal(p.policy.debug, true);
  assert.equal(p.policy.reserved1, true);
  assert.equal(p.signerInfo.signingKey, 'vcek');
  assert.deepEqual([p.reportedTcb.bootloader, p.reportedTcb.tee, p.reportedTcb.snp, p.reportedTcb.microcode], [4, 0, 24, 219]);
  assert.equal(p.signature.highBytesZero, true);
  assert.equal(p.signature.reservedZero, true);
  assert.equal(toHex(p.reportData), toHex(RD));
  // short report data is zero-padded to 64 bytes
  assert.equal(toHex(parseSnpReport(simSnpReport(milan, { reportData: Uint8Array.of(1, 2) })).reportData), '0102' + '00'.repeat(62));
});

test('simulated certificates: RSA-PSS SHA-384 hierarchy that the real chain code verifies', () => {
  const ark = parseAmdCert(milan.certs.ark);
  const ask = parseAmdCert(milan.certs.ask);
  const asvk = parseAmdCert(milan.certs.asvk);
  const vcek = parseAmdCert(milan.certs.vcek);
  assert.equal(ark.sigAlgProblem, undefined);
  assert.equal(ark.keyDescription, 'rsa:2048');
  assert.ok(verifyIssuedBy(ark, ark).ok);
  assert.ok(verifyIssuedBy(ask, ark).ok);
  assert.ok(verifyIssuedBy(asvk, ark).ok);
  assert.ok(verifyIssuedBy(vcek, ask).ok);
  assert.equal(vcek.keyDescription, 'ec:secp384r1');
  assert.equal(vcek.serialHex, '00');
  // never chains to a real AMD root
  assert.equal(verifyIssuedBy(vcek, parseAmdCert(amdRoots().milan.ask)).ok, false);
});

test('tampered simulated evidence fails like real evidence', async () => {
  const env = simSnpEvidence(milan, { reportData: RD });
  const raw = reportOf(env);
  const body = Uint8Array.from(raw);
  body[0x90] ^= 1; // measurement
  const r1 = await verifyWith({ ...env, evidence: { ...env.evidence, attestation_report: toBase64(body) } }, milan);
  assert.deepEqual(failed(r1), ['snp.signature:ATTEST_SIGNATURE_INVALID']);
  const sig = Uint8Array.from(raw);
  sig[0x2e8] ^= 1; // S
  const r2 = await verifyWith({ ...env, evidence: { ...env.evidence, attestation_report: toBase64(sig) } }, milan);
  assert.deepEqual(failed(r2), ['snp.signature:ATTEST_SIGNATURE_INVALID']);
  const wrong = Uint8Array.from(RD);
  wrong[0] ^= 1;
  const r3 = await verifyWith(env, milan, { expectedReportData: wrong });
  assert.deepEqual(failed(r3), ['snp.report_data:ATTEST_REPORT_DATA_MISMATCH']);
});

test('simulated certificates expire like real ones', async () => {
  const old = await createSimSnpAuthority({ notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2025-01-01T00:00:00Z') });
  const r = await verifyWith(simSnpEvidence(old, { reportData: RD }), old);
  assert.deepEqual(failed(r), ['snp.cert_validity:ATTEST_CERT_EXPIRED']);
  await assert.rejects(
    createSimSnpAuthority({ notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2025-01-01T00:00:00Z') }),
    (e: unknown) => isVeriteeError(e, 'INPUT_TIME_INVALID'),
  );
});

test('real evidence stays non-simulated even when simulator anchors are offered', async () => {
  const env: EvidenceEnvelope = {
    platform: 'snp',
    evidence: {
      attestation_report: toBase64(readFixture('snp/milan-v2-report.bin')),
      cert_chain: { vcek: toBase64(readFixture('snp/milan-v2-vcek.der')) },
    },
  };
  const r = await verifyWith(env, milan);
  assert.equal(r.ok, true);
  assert.equal(r.claims!.simulated, false);
});

test('simulator input validation', () => {
  const bad: Array<[string, () => unknown]> = [
    ['reportData > 64', () => simSnpReport(milan, { reportData: new Uint8Array(65) })],
    ['measurement length', () => simSnpReport(milan, { reportData: RD, measurement: new Uint8Array(32) })],
    ['hostData length', () => simSnpReport(milan, { reportData: RD, hostData: new Uint8Array(48) })],
    ['vmpl 4', () => simSnpReport(milan, { reportData: RD, vmpl: 4 })],
    ['version 7', () => simSnpReport(milan, { reportData: RD, version: 7 as 5 })],
  ];
  for (const [what, f] of bad) assert.throws(f, (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'), what);
});
