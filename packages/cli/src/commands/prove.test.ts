/**
 * `veritee prove <claim>` is generated from the claim registry: the example
 * volume claim from a records CSV (its own options), verified with --expect;
 * a claim without its own options from a generic --input {params, data} file;
 * and bad input with stable codes and no stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testHome } from '@veritee/zk/testing';
import { claimKinds } from '@veritee/zk';
import { hasStackTrace, runCli } from '../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-prove-'));
const home = testHome();
const P0 = Date.parse('2025-06-01T00:00:00Z') * 1000;
const PERIOD = '2025-06-01T00:00:00Z/2025-06-01T00:10:00Z';

function expectError(r: { code: number; stdout: string; stderr: string }, code: string, exit = 2): void {
  assert.equal(r.code, exit, `exit status for ${code}: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`error\\[${code}\\]`), r.stderr);
  assert.equal(hasStackTrace(r.stderr), false, 'no stack trace');
}

test('every registered claim has a prove command', async () => {
  const r = await runCli(['prove', '--help']);
  for (const kind of claimKinds()) assert.match(r.stdout + r.stderr, new RegExp(`^\\s+${kind}\\b`, 'm'), kind);
});

test('prove volume: count, rate and decision from a records CSV; verify pins the threshold', async () => {
  const rows = Array.from({ length: 700 }, (_, i) => `${P0 + i * 850_000},${P0 + i * 850_000 + 12_000}`);
  writeFileSync(join(dir, 'requests.csv'), 'start_us,end_us\n' + rows.join('\n') + '\n');
  const out = join(dir, 'volume.json');
  const r = await runCli(['prove', 'volume', '--records', join(dir, 'requests.csv'), '--period', PERIOD, '--threshold', '60', '--out', out, '--home', home]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /n = 700, 70 per minute/);
  assert.match(r.stdout, /SCALE OUT/);
  const bundle = JSON.parse(readFileSync(out, 'utf8')) as { claim: { kind: string; params: { thresholdPerMin: number } } };
  assert.equal(bundle.claim.kind, 'volume');
  const ok = await runCli(['verify', out, '--proof-only', '--allow-dev-setup', '--expect', `kind=volume,threshold=60,period=${PERIOD}`, '--home', home]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /pinned by --expect \(kind, threshold, period\)/);
  const miss = await runCli(['verify', out, '--proof-only', '--allow-dev-setup', '--expect', 'threshold=100', '--home', home]);
  expectError(miss, 'ZK_EXPECTATION_MISMATCH', 1);
  assert.match(miss.stderr, /threshold: expected 100, found 60/);
});

test('prove volume: bad input is refused with a code before anything is proven', async () => {
  const run = (extra: string[]) => runCli(['prove', 'volume', '--records', join(dir, 'requests.csv'), '--period', PERIOD, '--out', join(dir, 'x.json'), '--home', home, ...extra]);
  expectError(await run(['--threshold', '-5']), 'CLAIM_PARAMS_INVALID');
  expectError(await run(['--threshold', '60', '--size', '7']), 'INPUT_INVALID');
  writeFileSync(join(dir, 'late.csv'), `start_us,end_us\n${P0 + 1},${P0 + 2}\n${P0 + 700_000_000},${P0 + 700_000_001}\n`);
  const late = await runCli(['prove', 'volume', '--records', join(dir, 'late.csv'), '--period', PERIOD, '--threshold', '1', '--out', join(dir, 'y.json'), '--home', home]);
  expectError(late, 'RECORD_OUTSIDE_PERIOD');
  assert.match(late.stderr, /record 2/);
});

test('a claim without its own options proves from --input {params, data}; a malformed input file is refused', async () => {
  const input = {
    params: { periodStartUs: P0, periodEndUs: P0 + 600_000_000, allocatedKiB: 1 << 20, percentileBp: 9000, thresholdBp: 8500 },
    data: { swapPages: [1, 2, 3], pageFaults: [4, 5, 6], usageKiB: [[300_000, 600_000], [310_000, 600_000], [320_000, 610_000]] },
  };
  writeFileSync(join(dir, 'memory.json'), JSON.stringify(input));
  const out = join(dir, 'memory-bundle.json');
  const r = await runCli(['prove', 'memory', '--input', join(dir, 'memory.json'), '--out', out, '--home', home]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SCALE OUT/);
  const v = await runCli(['verify', out, '--proof-only', '--allow-dev-setup', '--expect', 'kind=memory,threshold=85', '--home', home]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  writeFileSync(join(dir, 'dup.json'), '{"params": {}, "params": {}, "data": {}}');
  expectError(await runCli(['prove', 'memory', '--input', join(dir, 'dup.json'), '--out', out, '--home', home]), 'INPUT_JSON_INVALID');
  writeFileSync(join(dir, 'shape.json'), '{"params": {}}');
  expectError(await runCli(['prove', 'memory', '--input', join(dir, 'shape.json'), '--out', out, '--home', home]), 'INPUT_INVALID');
});
