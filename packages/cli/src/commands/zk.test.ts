/**
 * The `veritee` CLI end to end at the 1024 size class: prove latency from a CSV,
 * verify (with and without --allow-dev-setup, human and --json), tampering, and
 * every bad input the issue names, each with its stable code and no stack trace.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testHome } from '@veritee/zk/testing';
import { hasStackTrace, runCli } from '../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-cli-'));
const home = testHome();
const P0 = Date.parse('2025-06-01T00:00:00Z') * 1000;
const PERIOD = '2025-06-01T00:00:00Z/2025-06-01T01:00:00Z';
const bundlePath = join(dir, 'bundle.json');

function csv(rows: [number, number][], header = true): string {
  return (header ? 'start_us,end_us\n' : '') + rows.map(([s, e]) => `${s},${e}`).join('\n') + '\n';
}

function traffic(n: number): [number, number][] {
  const rows: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const s = P0 + Math.floor((i * 3_600_000_000) / n);
    rows.push([s, s + 20_000 + ((i * 7919) % 90_000)]);
  }
  return rows;
}

function expectError(r: { code: number; stdout: string; stderr: string }, code: string, exit = 2): void {
  assert.equal(r.code, exit, `exit status for ${code}: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`error\\[${code}\\]`), r.stderr);
  assert.equal(hasStackTrace(r.stderr), false, 'no stack trace');
}

before(async () => {
  writeFileSync(join(dir, 'records.csv'), csv(traffic(800)));
  const r = await runCli(['prove', 'latency', '--records', join(dir, 'records.csv'), '--period', PERIOD, '--sla', 'p95<100ms,p99<500ms,min=500', '--out', bundlePath, '--home', home]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /n = 800/);
  assert.match(r.stdout, /COMPLIANT/);
});

test('an unattested bundle fails the chain; --proof-only checks the proof alone', async () => {
  const chain = await runCli(['verify', bundlePath, '--home', home, '--allow-dev-setup']);
  assert.equal(chain.code, 1);
  assert.match(chain.stdout, /✗ chain\.attestation: .*\[ZK_BUNDLE_UNATTESTED\]/);
});

test('verify refuses dev keys loudly unless --allow-dev-setup, then passes', async () => {
  const refused = await runCli(['verify', bundlePath, '--home', home, '--proof-only']);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /NOT VERIFIED/);
  assert.match(refused.stdout, /✗ key\.setup: .*DEV trusted setup/);
  const ok = await runCli(['verify', bundlePath, '--home', home, '--allow-dev-setup', '--proof-only']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^VERIFIED \(proof only\)/);
  assert.match(ok.stdout, /NOT checked/);
  assert.match(ok.stdout, /✓ proof\.groth16/);
  assert.match(ok.stdout, /p95: /);
  assert.match(ok.stderr, /allow-dev-setup/, 'the dev acceptance is announced on stderr');
  const json = await runCli(['verify', bundlePath, '--home', home, '--allow-dev-setup', '--proof-only', '--json']);
  assert.equal(json.code, 0);
  const parsed = JSON.parse(json.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
  assert.equal(parsed.ok, true);
  assert.ok(parsed.checks.length >= 5);
});

test('a tampered output fails verification with exit status 1', async () => {
  const b = JSON.parse(readFileSync(bundlePath, 'utf8'));
  b.claim.outputs.slots[1].valueUs -= 1000;
  const p = join(dir, 'tampered.json');
  writeFileSync(p, JSON.stringify(b));
  const r = await runCli(['verify', p, '--home', home, '--allow-dev-setup', '--proof-only']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✗ proof\.groth16: .*\[ZK_PROOF_INVALID\]/);
});

test('wrong key: a verifier without the key (or with another key) refuses', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'veritee-nokeys-'));
  const r = await runCli(['verify', bundlePath, '--home', empty, '--allow-dev-setup', '--proof-only']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✗ key\.trusted/);
  const badVk = join(dir, 'bad-vk.json');
  writeFileSync(badVk, '{"format":"veritee.vk/v1"}');
  expectError(await runCli(['verify', bundlePath, '--home', empty, '--vk', badVk]), 'ZK_VK_INVALID', 1);
});

test('malformed bundles give clear errors: error[CODE], exit 2', async () => {
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  expectError(await runCli(['verify', write('not.json', '{"format": "veritee.proof/v2",'), '--home', home]), 'ZK_BUNDLE_INVALID');
  const shape = await runCli(['verify', write('shape.json', JSON.stringify({ format: 'veritee.proof/v2', claim: {} })), '--home', home]);
  expectError(shape, 'ZK_BUNDLE_INVALID');
  assert.match(shape.stderr, /proof bundle field/);
  expectError(await runCli(['verify', write('null.json', 'null'), '--home', home]), 'ZK_BUNDLE_INVALID');
  expectError(await runCli(['verify', write('array.json', '[]'), '--home', home]), 'ZK_BUNDLE_INVALID');
  const b = JSON.parse(readFileSync(bundlePath, 'utf8'));
  const v1 = await runCli(['verify', write('v1.json', JSON.stringify({ ...b, format: 'veritee.proof/v1' })), '--home', home]);
  expectError(v1, 'ZK_BUNDLE_VERSION');
  assert.match(v1.stderr, /re-prove/);
  expectError(await runCli(['verify', write('v3.json', JSON.stringify({ ...b, format: 'veritee.proof/v3' })), '--home', home]), 'ZK_BUNDLE_VERSION');
  expectError(await runCli(['verify', write('claimv9.json', JSON.stringify({ ...b, claim: { ...b.claim, version: 9 } })), '--home', home]), 'ZK_BUNDLE_VERSION');
  expectError(await runCli(['verify', join(dir, 'missing.json'), '--home', home]), 'INPUT_FILE_UNREADABLE');
  expectError(await runCli(['verify', bundlePath, '--home', home, '--vk', join(dir, 'no-such-vk.json')]), 'INPUT_FILE_UNREADABLE');
});

test('a bundle with a duplicate key is refused, although JSON.parse would read it', async () => {
  const text = readFileSync(bundlePath, 'utf8');
  const honest = JSON.parse(text).claim.outputs.compliant as boolean;
  const dup = text.replace('"compliant": ', `"compliant": ${!honest}, "compliant": `);
  assert.notEqual(dup, text);
  assert.equal(JSON.parse(dup).claim.outputs.compliant, honest, 'JSON.parse keeps the last value');
  const p = join(dir, 'dup.json');
  writeFileSync(p, dup);
  const r = await runCli(['verify', p, '--home', home, '--allow-dev-setup', '--proof-only']);
  expectError(r, 'ZK_BUNDLE_INVALID');
  assert.match(r.stderr, /duplicate key "compliant"/);
  // and so is a verification key document with one
  const vkDir = join(home, 'keys');
  const { readdirSync } = await import('node:fs');
  const vkText = readFileSync(join(vkDir, readdirSync(vkDir).find((d) => d.startsWith('latency'))!, 'vk.json'), 'utf8');
  const vkDup = join(dir, 'vk-dup.json');
  writeFileSync(vkDup, vkText.replace('"format":', '"format": "x", "format":'));
  expectError(await runCli(['verify', bundlePath, '--home', mkdtempSync(join(tmpdir(), 'veritee-nokeys-')), '--vk', vkDup, '--allow-dev-setup', '--proof-only']), 'ZK_VK_INVALID', 1);
});

test('--expect pins the parameters; without it the verdict is flagged as relative to the prover\'s choice', async () => {
  const run = (...extra: string[]) => runCli(['verify', bundlePath, '--home', home, '--allow-dev-setup', '--proof-only', ...extra]);
  const none = await run();
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /^parameters: kind=latency,period=2025-06-01T00:00:00Z\/2025-06-01T01:00:00Z,sla=p95<100ms,p99<500ms,min=500$/m);
  assert.match(none.stdout, /NOT pinned \(no --expect\)/);
  assert.match(none.stderr, /no --expect: the verdict is relative to parameters the PROVER chose/);

  const ok = await run('--expect', 'sla=p95<100ms,p99<500ms,min=500');
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /pinned by --expect \(sla\)/);
  assert.match(ok.stdout, /✓ claim\.expected/);
  assert.doesNotMatch(ok.stderr, /no --expect/);
  const both = await run('--expect', 'kind=latency,period=2025-06-01T00:00:00Z/2025-06-01T01:00:00Z', '--expect', 'sla=p99<500ms,p95<100ms,min=500');
  assert.equal(both.code, 0, both.stdout + both.stderr);

  const miss = await run('--expect', 'sla=p95<100ms,p99<500ms');
  assert.equal(miss.code, 1);
  assert.match(miss.stdout, /^NOT VERIFIED/);
  assert.match(miss.stdout, /✗ claim\.expected: sla: expected p95<100ms,p99<500ms, found p95<100ms,p99<500ms,min=500 \[ZK_EXPECTATION_MISMATCH\]/);
  assert.match(miss.stderr, /error\[ZK_EXPECTATION_MISMATCH\]: claim\.expected: sla: expected p95<100ms,p99<500ms, found/);
  const kind = await run('--expect', 'kind=memory,threshold=85');
  assert.equal(kind.code, 1);
  assert.match(kind.stderr, /error\[ZK_EXPECTATION_MISMATCH\]: claim\.expected: kind: expected memory, found latency/);
  const json = await run('--expect', 'sla=p95<100ms', '--json');
  assert.equal(json.code, 1);
  const parsed = JSON.parse(json.stdout) as { ok: boolean; parameters: string; expected: string[]; checks: { name: string; code?: string }[] };
  assert.equal(parsed.ok, false);
  assert.deepEqual(parsed.expected, ['sla=p95<100ms']);
  assert.match(parsed.parameters, /^kind=latency,/);
  assert.equal(parsed.checks.find((c) => c.name === 'claim.expected')?.code, 'ZK_EXPECTATION_MISMATCH');

  // malformed: INPUT_INVALID naming the term, before anything is verified
  for (const [expect, re] of [
    ['threshold=85', /latency claim has no parameter "threshold"/],
    ['sla=p95 under 100ms', /"sla=p95 under 100ms"/],
    ['period=2025-06-01T00:00:00Z/2025-06-01T01:00:00Z,period=0/1', /names period twice/],
    ['kind=latency,kind=latency', /kind twice/],
    ['sla', /"sla" is not KEY=VALUE/],
    ['', /empty term/],
    ['kind=nosuch', /no claim kind "nosuch"/],
  ] as const) {
    const r = await run('--expect', expect);
    expectError(r, 'INPUT_INVALID');
    assert.match(r.stderr, re, expect);
    assert.equal(r.stdout, '', 'nothing verified');
  }
  const twice = await run('--expect', 'sla=p95<100ms,p99<500ms,min=500', '--expect', 'sla=p95<100ms,p99<500ms,min=500');
  expectError(twice, 'INPUT_INVALID');
  assert.match(twice.stderr, /names sla twice/);
});

test('bad prove inputs: each with its code, before any proving', async () => {
  const prove = (file: string, content: string, extra: string[] = []) => {
    const p = join(dir, file);
    writeFileSync(p, content);
    return runCli(['prove', 'latency', '--records', p, '--period', PERIOD, '--sla', 'p95<100ms', '--out', join(dir, 'x.json'), '--home', home, ...extra]);
  };
  expectError(await prove('nonnum.csv', `start_us,end_us\n${P0},${P0 + 5}\n${P0 + 1},soon\n`), 'RECORD_FIELD_INVALID');
  expectError(await prove('reversed.csv', csv([[P0 + 100, P0 + 50]])), 'RECORD_END_BEFORE_START');
  expectError(await prove('outside.csv', csv([[P0 + 3_600_000_000, P0 + 3_600_000_001]])), 'RECORD_OUTSIDE_PERIOD');
  expectError(await prove('empty.csv', 'start_us,end_us\n'), 'INPUT_FILE_EMPTY');
  expectError(await prove('empty.jsonl', ''), 'INPUT_FILE_EMPTY');
  const many = traffic(65537);
  expectError(await prove('many.csv', csv(many)), 'CLAIM_TOO_MANY_RECORDS');
  expectError(await prove('ok.csv', csv(traffic(10)), ['--period', '2025-06-02T00:00:00Z/2025-06-01T00:00:00Z']), 'PERIOD_INVALID');
  expectError(await prove('ok2.csv', csv(traffic(10)), ['--sla', 'p95 under 100ms']), 'SLA_INVALID');
  expectError(await prove('ok3.csv', csv(traffic(10)), ['--size', '999']), 'INPUT_INVALID');
  expectError(await prove('big.csv', csv(traffic(2000)), ['--size', '1024']), 'CLAIM_TOO_MANY_RECORDS');
  const usage = await runCli(['prove', 'latency', '--records']);
  assert.equal(usage.code, 2);
  assert.equal(hasStackTrace(usage.stderr), false);
});

test('attested bundles: --sim-tee signs in the simulated TEE; simulated evidence needs --allow-simulated', async () => {
  const out = join(dir, 'attested.json');
  const r = await runCli(['prove', 'latency', '--records', join(dir, 'records.csv'), '--period', PERIOD, '--sla', 'p95<100ms', '--out', out, '--home', home, '--sim-tee', 'snp']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /SIMULATED SNP TEE/);
  const strict = await runCli(['verify', out, '--home', home, '--allow-dev-setup']);
  assert.equal(strict.code, 1, 'the production policy refuses simulated evidence');
  assert.match(strict.stdout, /✗ enclave_key\.bound/);
  const dev = await runCli(['verify', out, '--home', home, '--allow-dev-setup', '--allow-simulated']);
  assert.equal(dev.code, 0, dev.stdout + dev.stderr);
  assert.match(dev.stdout, /^VERIFIED \(attested\)/);
  assert.match(dev.stdout, /✓ evidence\.snp\.signature/);
  assert.match(dev.stdout, /✓ statement\.signature/);
  assert.match(dev.stderr, /allow-simulated/);
  // a parameter changed after signing: the enclave signature no longer covers the claim
  const b = JSON.parse(readFileSync(out, 'utf8'));
  b.claim.params.slots[1].thresholdUs *= 100;
  const changed = join(dir, 'attested-changed.json');
  writeFileSync(changed, JSON.stringify(b));
  const rc = await runCli(['verify', changed, '--home', home, '--allow-dev-setup', '--allow-simulated']);
  assert.equal(rc.code, 1);
  assert.match(rc.stdout, /✗ statement\.signature: .*\[ZK_STATEMENT_SIGNATURE_INVALID\]/);
  assert.match(rc.stderr, /error\[ZK_STATEMENT_SIGNATURE_INVALID\]/);
  // createdAt in the future of --at: refused
  const early = await runCli(['verify', out, '--home', home, '--allow-dev-setup', '--allow-simulated', '--at', '2025-06-01T02:00:00Z']);
  assert.equal(early.code, 1);
  assert.match(early.stdout, /✗ bundle\.created_at: .*after the verification time.*\[ZK_BUNDLE_TIME_INVALID\]/);
  expectError(await runCli(['prove', 'latency', '--records', join(dir, 'records.csv'), '--period', PERIOD, '--sla', 'p95<100ms', '--out', out, '--home', home, '--sim-tee', 'sgx']), 'INPUT_INVALID');
});

test('zk info lists the size classes and the dev keys', async () => {
  const r = await runCli(['zk', 'info', '--home', home]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /circuit latency v1: size classes 1024, 16384, 65536/);
  assert.match(r.stdout, /1024: keys present, \d+ constraints, DEV setup/);
});
