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

test('malformed bundles give clear errors', async () => {
  const notJson = join(dir, 'not.json');
  writeFileSync(notJson, '{"format": "veritee.proof/v1",');
  expectError(await runCli(['verify', notJson, '--home', home]), 'ZK_BUNDLE_INVALID');
  const wrongShape = join(dir, 'shape.json');
  writeFileSync(wrongShape, JSON.stringify({ format: 'veritee.proof/v1', claim: {} }));
  const r = await runCli(['verify', wrongShape, '--home', home]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✗ bundle\.format: .*\[ZK_BUNDLE_INVALID\]/);
  expectError(await runCli(['verify', join(dir, 'missing.json'), '--home', home]), 'INPUT_FILE_UNREADABLE');
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
  expectError(await runCli(['prove', 'latency', '--records', join(dir, 'records.csv'), '--period', PERIOD, '--sla', 'p95<100ms', '--out', out, '--home', home, '--sim-tee', 'sgx']), 'INPUT_INVALID');
});

test('zk info lists the size classes and the dev keys', async () => {
  const r = await runCli(['zk', 'info', '--home', home]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /circuit latency v1: size classes 1024, 16384, 65536/);
  assert.match(r.stdout, /1024: keys present, \d+ constraints, DEV setup/);
});
