import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVeriteeError, toHex } from '@veritee/core';
import { DEFAULT_POLICY, loadPolicy, loadPolicyDir, parsePolicy, policyId, productionPolicy } from './policy.js';
import { computeReportData, computeSpdmNonce, publicKeyHash, REPORT_DATA_DOMAIN } from './report-data.js';

const M1 = 'a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c';

const GOOD_YAML = `
version: 1
name: prod-inference
platforms: [snp, tdx, nvidia]
reportData:
  require: [nonce, publicKeyHash]
snp:
  measurements: [0x${M1.toUpperCase()}]
  minTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 }
  signers: [vcek]
  vmpl: { max: 0 }
tdx:
  mrtd: any
  rtmr0: [${M1}]
  tcbStatuses: [UpToDate, SWHardeningNeeded]
  allowedAdvisoryIds: [INTEL-SA-00837]
nvidia:
  measurements:
    2: [8048dfd18fe229bf16eb9d30cca0f11a24dafe6eb731de1462984645a0b189b77c4e4e17de727a5e19e3d07de51da338]
`;

function policyError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isVeriteeError(e, 'ATTEST_POLICY_INVALID'), `expected ATTEST_POLICY_INVALID, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected the policy to be rejected');
}

test('a complete YAML policy parses, normalises hex and fills defaults', () => {
  const p = parsePolicy(GOOD_YAML);
  assert.equal(p.name, 'prod-inference');
  assert.deepEqual(p.platforms, ['snp', 'tdx', 'nvidia']);
  assert.deepEqual(p.snp?.measurements, [M1]); // 0x and upper case normalised
  assert.deepEqual(p.snp?.minTcb, { bootloader: 3, tee: 0, snp: 8, microcode: 115 });
  assert.deepEqual(p.snp?.vmpl, { max: 0 });
  assert.equal(p.tdx?.mrtd, 'any');
  assert.deepEqual(p.tdx?.tcbStatuses, ['UpToDate', 'SWHardeningNeeded']);
  assert.deepEqual(Object.keys(p.nvidia?.measurements as object), ['2']);
  assert.equal(p.allowDebug, false);
  assert.equal(p.allowSimulated, false);
  assert.deepEqual(p.reportData.require, ['nonce', 'publicKeyHash']);
  assert.equal(policyId(p), 'veritee:policy/prod-inference');
});

test('JSON policies parse too, and defaults are strict', () => {
  const p = parsePolicy(JSON.stringify({ platforms: ['tdx'], tdx: { mrtd: [M1] } }));
  assert.equal(p.allowDebug, false);
  assert.equal(p.allowSimulated, false);
  assert.deepEqual(p.reportData.require, ['nonce']);
  assert.deepEqual(p.tdx?.tcbStatuses, ['UpToDate']);
  assert.deepEqual(p.tdx?.allowedAdvisoryIds, []);
  assert.match(policyId(p), /^veritee:policy\/sha256:[0-9a-f]{32}$/);
});

test('an unknown key is rejected with its name, at the top level and nested', () => {
  assert.match(policyError(() => parsePolicy('platforms: [snp]\nsnp: { measurements: any }\nallowDebugg: true\n')), /unknown key "allowDebugg"/);
  assert.match(policyError(() => parsePolicy('platforms: [snp]\nsnp: { measurements: any, minTCB: { snp: 1 } }\n')), /unknown key "minTCB" in snp/);
  assert.match(policyError(() => parsePolicy('platforms: [snp]\nsnp: { measurements: any, minTcb: { ucode: 1 } }\n')), /unknown key "ucode" in snp\.minTcb/);
});

test('bad types and values are rejected naming the field', () => {
  assert.match(policyError(() => parsePolicy('platforms: [snp]\nallowDebug: "yes"\nsnp: { measurements: any }')), /allowDebug/);
  assert.match(policyError(() => parsePolicy('platforms: [sgx]')), /platforms\.0/);
  assert.match(policyError(() => parsePolicy('platforms: [snp]\nsnp: { measurements: [abcd] }')), /48 bytes of hex/);
  assert.match(policyError(() => parsePolicy('platforms: [snp]\nsnp: { measurements: any, minTcb: { snp: 256 } }')), /snp\.minTcb\.snp/);
  assert.match(policyError(() => parsePolicy('platforms: [snp]\nsnp: { measurements: any, vmpl: { max: 0, exact: 1 } }')), /exactly one of max or exact/);
  assert.match(policyError(() => parsePolicy('platforms: [tdx]\ntdx: { mrtd: any, tcbStatuses: [Revoked] }')), /tcbStatuses/);
  assert.match(policyError(() => parsePolicy('platforms: [tdx]\ntdx: { mrtd: any, allowedAdvisoryIds: [SA-1] }')), /INTEL-SA/);
  assert.match(policyError(() => parsePolicy('platforms: [snp]\nsnp: { measurements: [] }')), /at least one/);
  assert.match(policyError(() => parsePolicy('version: 2\nplatforms: [snp]\nsnp: { measurements: any }')), /version/);
  assert.match(policyError(() => parsePolicy('- just\n- a list\n')), /mapping/);
  assert.match(policyError(() => parsePolicy('platforms: [snp\n')), /not valid YAML/);
  assert.match(policyError(() => parsePolicy('platforms: [snp]\nplatforms: [tdx]\n')), /not valid YAML/); // duplicate key
});

test('accepting a platform without saying which measurements is an error, not "any"', () => {
  assert.match(policyError(() => parsePolicy('platforms: [snp, tdx]\nsnp: { measurements: any }')), /tdx\.mrtd is required/);
  assert.match(policyError(() => parsePolicy('platforms: [nvidia]')), /nvidia\.measurements is required/);
});

test('the production default is strict and immutable', () => {
  assert.equal(DEFAULT_POLICY.allowDebug, false);
  assert.equal(DEFAULT_POLICY.allowSimulated, false);
  assert.deepEqual(DEFAULT_POLICY.reportData.require, ['nonce']);
  assert.deepEqual(DEFAULT_POLICY.tdx?.tcbStatuses, ['UpToDate']);
  assert.ok(Object.isFrozen(DEFAULT_POLICY) && Object.isFrozen(DEFAULT_POLICY.tdx?.tcbStatuses));
  const copy = productionPolicy();
  copy.allowDebug = true;
  assert.equal(productionPolicy().allowDebug, false);
});

test('loadPolicy names a policy after its file; loadPolicyDir keys by stem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-policy-'));
  try {
    writeFileSync(join(dir, 'dev.yaml'), 'platforms: [snp]\nsnp: { measurements: any }\nallowSimulated: true\n');
    writeFileSync(join(dir, 'prod.json'), JSON.stringify({ platforms: ['tdx'], tdx: { mrtd: any() } }));
    writeFileSync(join(dir, 'README.txt'), 'not a policy');
    assert.equal(loadPolicy(join(dir, 'dev.yaml')).name, 'dev');
    const all = loadPolicyDir(dir);
    assert.deepEqual(Object.keys(all).sort(), ['dev', 'prod']);
    assert.equal(all['dev']?.allowSimulated, true);
    assert.throws(() => loadPolicy(join(dir, 'missing.yaml')), (e) => isVeriteeError(e, 'INPUT_FILE_UNREADABLE'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function any(): string {
  return 'any';
}

test('report data binding: SHA-512(domain || 0x00 || pkh || nonce), zeros for absent parts', () => {
  const pkh = new Uint8Array(32).fill(0xab);
  const nonce = new Uint8Array(32).fill(0x01);
  const expected = createHash('sha512')
    .update(Buffer.from(REPORT_DATA_DOMAIN, 'ascii'))
    .update(Buffer.from([0]))
    .update(pkh)
    .update(nonce)
    .digest('hex');
  assert.equal(REPORT_DATA_DOMAIN, 'veritee.report-data/v1');
  assert.equal(toHex(computeReportData({ publicKeyHash: pkh, nonce })), expected);
  const onlyNonce = createHash('sha512').update('veritee.report-data/v1').update(Buffer.alloc(1)).update(Buffer.alloc(32)).update(nonce).digest('hex');
  assert.equal(toHex(computeReportData({ nonce })), onlyNonce);
  assert.equal(toHex(computeSpdmNonce({ nonce })), onlyNonce.slice(0, 64));
  assert.equal(computeReportData({}).length, 64);
  assert.throws(() => computeReportData({ nonce: new Uint8Array(31) }), (e) => isVeriteeError(e, 'INPUT_INVALID') && /nonce must be 32 bytes/.test(e.message));
  assert.equal(toHex(publicKeyHash(new Uint8Array([1, 2, 3]))), createHash('sha256').update(Buffer.from([1, 2, 3])).digest('hex'));
});

test('unquoted hex in YAML stays hex (not an integer, zero or Infinity)', () => {
  const zeros = '0'.repeat(96);
  const expo = '123e4567' + '0'.repeat(88);
  const p = parsePolicy(`platforms: [tdx]\ntdx:\n  mrtd: [${zeros}, ${expo}]\n  rtmr3: [0x${M1}]\n`);
  assert.deepEqual(p.tdx?.mrtd, [zeros, expo]);
  assert.deepEqual(p.tdx?.rtmr3, [M1]);
});

test('a policy given as JSON with a duplicate key is refused (also when one key is written with an escape)', () => {
  const doc = (k: string) => `{"version":1,"platforms":["snp"],"allowSimulated":false,${k}:true,"reportData":{"require":[]},"snp":{"measurements":"any"}}`;
  for (const k of ['"allowSimulated"', '"allow\\u0053imulated"']) {
    assert.throws(() => parsePolicy(doc(k)), (e: unknown) => (e as { code?: string }).code === 'ATTEST_POLICY_INVALID' && /unique/.test((e as Error).message), k);
  }
});

test('a deeply nested policy is refused by name before the YAML parser recurses (it overflowed at 5,000 and ran out of memory at 60,000)', () => {
  for (const n of [5000, 60000]) {
    assert.throws(
      () => parsePolicy('platforms: ' + '['.repeat(n) + ']'.repeat(n)),
      (e: unknown) => isVeriteeError(e, 'ATTEST_POLICY_INVALID') && /nested too deeply/.test((e as Error).message) && !/call stack/.test((e as Error).message),
    );
  }
});
