import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isVeriteeError, toHex } from '@veritee/core';
import { readFixture } from '../testing/fixtures.js';
import {
  SNP_LAYOUT,
  SNP_REPORT_SIZE,
  checkSnpReportFormat,
  decodeTcb,
  parseSnpReport,
  productFromCpuid,
  snpReportToJson,
} from './parse.js';

const milan = readFixture('snp/milan-v2-report.bin');
const vlek = readFixture('snp/vlek-v3-report.bin');
const debug = readFixture('snp/debug-policy-report.bin');

function throwsCode(f: () => unknown, code: string, re?: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(isVeriteeError(e), `expected a VeriteeError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

function withVersion(b: Uint8Array, v: number): Uint8Array {
  const c = Uint8Array.from(b);
  new DataView(c.buffer).setUint32(0, v >>> 0, true);
  return c;
}

test('layout: fields are contiguous and cover exactly 0x4A0 bytes', () => {
  const fields = Object.entries(SNP_LAYOUT).sort((a, b) => a[1][0] - b[1][0]);
  let next = 0;
  for (const [name, [off, len]] of fields) {
    assert.equal(off, next, `field ${name} starts at 0x${off.toString(16)}, expected 0x${next.toString(16)}`);
    next = off + len;
  }
  assert.equal(next, SNP_REPORT_SIZE);
  assert.equal(SNP_LAYOUT.signatureR[0], 0x2a0);
  assert.equal(SNP_LAYOUT.signatureS[0], 0x2e8);
});

test('milan v2 fixture: every field', () => {
  const r = parseSnpReport(milan);
  assert.equal(r.version, 2);
  assert.equal(r.guestSvn, 4);
  assert.equal(r.policy.raw, 0x3001fn);
  assert.equal(r.policy.abiMinor, 31);
  assert.equal(r.policy.abiMajor, 0);
  assert.equal(r.policy.smt, true);
  assert.equal(r.policy.reserved1, true);
  assert.equal(r.policy.debug, false);
  assert.equal(r.policy.migrateMa, false);
  assert.equal(r.policy.singleSocket, false);
  assert.equal(r.vmpl, 0);
  assert.equal(r.signatureAlgo, 1);
  assert.equal(r.platformInfo.smtEnabled, true);
  assert.equal(r.platformInfo.tsmeEnabled, false);
  assert.deepEqual(r.signerInfo, { raw: 0, authorKeyEn: false, maskChipKey: false, signingKey: 'vcek' });
  assert.deepEqual(
    { bl: r.reportedTcb.bootloader, tee: r.reportedTcb.tee, snp: r.reportedTcb.snp, ucode: r.reportedTcb.microcode, fmc: r.reportedTcb.fmc },
    { bl: 3, tee: 0, snp: 8, ucode: 115, fmc: undefined },
  );
  assert.equal(r.reportedTcb.raw, '7308000000000003');
  assert.equal(r.cpuid, undefined, 'v2 has no CPUID fields');
  assert.equal(r.product, undefined);
  assert.equal(r.tcbLayout, 'milan-genoa');
  assert.equal(toHex(r.familyId), '01' + '00'.repeat(15));
  assert.equal(toHex(r.imageId), '02' + '00'.repeat(15));
  assert.equal(toHex(r.measurement).slice(0, 16), 'a1f3930413247bb3');
  assert.equal(toHex(r.chipId).slice(0, 16), 'c38427a30d4c7af9');
  assert.equal(toHex(r.reportIdMa), 'ff'.repeat(32));
  assert.deepEqual(r.currentVersion, { major: 1, minor: 52, build: 4 });
  assert.deepEqual(r.committedVersion, { major: 1, minor: 52, build: 4 });
  assert.equal(r.launchMitVector, undefined);
  assert.equal(r.signedBytes.length, 0x2a0);
  assert.equal(r.signature.r.length, 48);
  assert.equal(r.signature.highBytesZero, true);
  assert.equal(r.signature.reservedZero, true);
  // the signature is stored little-endian: the big-endian R is the reverse of the first 48 bytes
  assert.equal(toHex(r.signature.r), toHex(Uint8Array.from(milan.subarray(0x2a0, 0x2a0 + 48)).reverse()));
});

test('vlek v3 fixture: CPUID names Milan, VMPL 1, VLEK signer, no chip id', () => {
  const r = parseSnpReport(vlek);
  assert.equal(r.version, 3);
  assert.equal(r.vmpl, 1);
  assert.deepEqual(r.cpuid, { family: 0x19, model: 0x01, stepping: 0x01 });
  assert.equal(r.product, 'milan');
  assert.equal(r.signerInfo.signingKey, 'vlek');
  assert.equal(r.signerInfo.raw, 4);
  assert.equal(toHex(r.chipId), '00'.repeat(64));
  assert.deepEqual(
    [r.reportedTcb.bootloader, r.reportedTcb.tee, r.reportedTcb.snp, r.reportedTcb.microcode],
    [4, 0, 24, 217],
  );
  assert.equal(r.currentTcb.microcode, 220);
});

test('debug-policy fixture: guest policy bit 19 set', () => {
  const r = parseSnpReport(debug);
  assert.equal(r.policy.debug, true);
  assert.equal(r.policy.raw, 0xb0000n);
  assert.equal(toHex(r.reportData).slice(0, 10), '0102030405');
  assert.deepEqual([r.reportedTcb.bootloader, r.reportedTcb.snp, r.reportedTcb.microcode], [2, 5, 0x44]);
});

test('versions 2..5 parse; v5 has mitigation vectors; v3+ CPUID', () => {
  for (const v of [2, 3, 4, 5]) {
    const r = parseSnpReport(withVersion(vlek, v));
    assert.equal(r.version, v);
    assert.equal(r.cpuid === undefined, v === 2);
    assert.equal(r.launchMitVector === undefined, v < 5);
    assert.equal(r.currentMitVector === undefined, v < 5);
  }
  const v5 = withVersion(vlek, 5);
  new DataView(v5.buffer).setBigUint64(0x1f8, 0x1234n, true);
  new DataView(v5.buffer).setBigUint64(0x200, 0x5678n, true);
  const r = parseSnpReport(v5);
  assert.equal(r.launchMitVector, 0x1234n);
  assert.equal(r.currentMitVector, 0x5678n);
  assert.equal((snpReportToJson(r) as { launchMitVector: string }).launchMitVector, '0000000000001234');
});

test('unknown versions are refused with ATTEST_REPORT_VERSION', () => {
  for (const v of [0, 1, 6, 7, 0xffffffff]) throwsCode(() => parseSnpReport(withVersion(milan, v)), 'ATTEST_REPORT_VERSION', new RegExp(`version ${v}`));
});

test('truncation at every field boundary -> ATTEST_REPORT_TRUNCATED naming the length', () => {
  const cuts = new Set<number>([0, 1, 3, SNP_REPORT_SIZE - 1]);
  for (const [off, len] of Object.values(SNP_LAYOUT)) {
    cuts.add(off); // field start (0x000 VERSION ... 0x2A0 R, 0x2E8 S, 0x330 reserved)
    if (off + len < SNP_REPORT_SIZE) cuts.add(off + len);
    if (off + 1 < SNP_REPORT_SIZE) cuts.add(off + 1); // inside the field
  }
  for (const n of cuts) {
    throwsCode(() => parseSnpReport(milan.subarray(0, n)), 'ATTEST_REPORT_TRUNCATED', new RegExp(`is ${n} bytes`));
  }
});

test('oversized input is refused (exactly 0x4A0 bytes required)', () => {
  for (const extra of [1, 16, SNP_REPORT_SIZE]) {
    const big = new Uint8Array(SNP_REPORT_SIZE + extra);
    big.set(milan);
    throwsCode(() => parseSnpReport(big), 'ATTEST_EVIDENCE_INVALID', /exactly 1184/);
  }
});

test('garbage never crashes: only VeriteeErrors', () => {
  throwsCode(() => checkSnpReportFormat('not bytes'), 'ATTEST_EVIDENCE_INVALID');
  throwsCode(() => parseSnpReport(null as unknown as Uint8Array), 'ATTEST_EVIDENCE_INVALID');
  for (let i = 0; i < 300; i++) {
    const len = i % 3 === 0 ? SNP_REPORT_SIZE : Math.floor(Math.random() * 2 * SNP_REPORT_SIZE);
    const b = new Uint8Array(randomBytes(len));
    if (i % 2 === 0 && len >= 4) new DataView(b.buffer).setUint32(0, 2 + (i % 4), true);
    try {
      const r = parseSnpReport(b);
      assert.equal(r.raw.length, SNP_REPORT_SIZE);
      JSON.stringify(snpReportToJson(r), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    } catch (e) {
      assert.ok(isVeriteeError(e), `non-VeriteeError for ${len} random bytes: ${String(e)}`);
    }
  }
});

test('parse copies its input (later mutation does not change the parsed report)', () => {
  const b = Uint8Array.from(milan);
  const r = parseSnpReport(b);
  b[0x90] ^= 0xff;
  assert.equal(r.measurement[0], milan[0x90]);
  assert.equal(r.raw[0x90], milan[0x90]);
});

test('TCB_VERSION layouts: Milan/Genoa vs Turin (FMC first, different positions)', () => {
  const raw = Uint8Array.of(0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88);
  assert.deepEqual(decodeTcb(raw, 'milan-genoa'), { raw: '8877665544332211', bootloader: 0x11, tee: 0x22, snp: 0x77, microcode: 0x88 });
  assert.deepEqual(decodeTcb(raw, 'turin'), { raw: '8877665544332211', fmc: 0x11, bootloader: 0x22, tee: 0x33, snp: 0x44, microcode: 0x88 });
  // a v3 report whose CPUID says Turin is decoded with the Turin layout
  const t = Uint8Array.from(vlek);
  t[0x188] = 0x1a;
  t[0x189] = 0x02;
  t.set(raw, 0x180);
  const r = parseSnpReport(t);
  assert.equal(r.product, 'turin');
  assert.equal(r.tcbLayout, 'turin');
  assert.equal(r.reportedTcb.fmc, 0x11);
  assert.equal(r.reportedTcb.snp, 0x44);
  // override
  assert.equal(parseSnpReport(t, 'milan-genoa').reportedTcb.snp, 0x77);
});

test('product from CPUID family/model', () => {
  const cases: Array<[number, number, string | undefined]> = [
    [0x19, 0x00, 'milan'],
    [0x19, 0x01, 'milan'],
    [0x19, 0x0f, 'milan'],
    [0x19, 0x10, 'genoa'],
    [0x19, 0x11, 'genoa'],
    [0x19, 0x1f, 'genoa'],
    [0x19, 0xa0, 'genoa'],
    [0x19, 0xaf, 'genoa'],
    [0x1a, 0x00, 'turin'],
    [0x1a, 0x02, 'turin'],
    [0x1a, 0x11, 'turin'],
    [0x19, 0x20, undefined],
    [0x1a, 0x12, undefined],
    [0x18, 0x01, undefined],
    [0x00, 0x00, undefined],
  ];
  for (const [f, m, p] of cases) assert.equal(productFromCpuid(f, m), p, `family 0x${f.toString(16)} model 0x${m.toString(16)}`);
});

test('signer info: SIGNING_KEY bits 4:2, MASK_CHIP_KEY, AUTHOR_KEY_EN', () => {
  const b = Uint8Array.from(milan);
  const set = (v: number): void => new DataView(b.buffer).setUint32(0x48, v, true);
  set(0b111 << 2);
  assert.equal(parseSnpReport(b).signerInfo.signingKey, 'none');
  set((2 << 2) | 3);
  const s = parseSnpReport(b).signerInfo;
  assert.equal(s.signingKey, 'reserved(2)');
  assert.equal(s.maskChipKey, true);
  assert.equal(s.authorKeyEn, true);
});
