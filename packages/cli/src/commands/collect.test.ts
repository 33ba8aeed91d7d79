/**
 * `veritee collect` in process: flags are checked before anything is measured and
 * a bad one names itself; a short real run writes a valid window and a summary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { isVeriteeError } from '@veritee/core';
import { parseTelemetryWindow } from '@veritee/control-plane';
import { parseIntervalFlag, registerCollectCommands } from './collect.js';

function run(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerCollectCommands(program, { stdout: (s) => (out.stdout += s), stderr: (s) => (out.stderr += s) });
  return program.parseAsync(['node', 'veritee', 'collect', ...args]).then(() => out);
}

const badFlag = (flag: string, code = 'TELEMETRY_OPTIONS_INVALID') => (e: unknown) =>
  isVeriteeError(e) && e.code === code && e.message.includes(flag);

test('bad flags are refused with a code and a message naming the flag', async () => {
  await assert.rejects(run(['--samples', '0']), badFlag('--samples "0"'));
  await assert.rejects(run(['--samples', 'ten']), badFlag('--samples "ten"'));
  await assert.rejects(run(['--samples', '1e3']), badFlag('--samples'));
  await assert.rejects(run(['--interval', '5']), badFlag('--interval "5": must be a duration with a unit'));
  await assert.rejects(run(['--interval', '1h']), badFlag('--interval'));
  await assert.rejects(run(['--interval', '1ms']), badFlag('--interval "1ms": must be from 10ms'));
  await assert.rejects(run(['--processes', '-3']), badFlag('--processes'));
  await assert.rejects(run(['--processes', '0']), badFlag('--processes'));
  await assert.rejects(run(['--out', ' ']), badFlag('--out'));
});

test('--rules: a missing file and a malformed one are coded errors naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-collect-'));
  try {
    await assert.rejects(run(['--rules', join(dir, 'nope.yaml')]), badFlag('nope.yaml', 'INPUT_FILE_UNREADABLE'));
    const bad = join(dir, 'rules.yaml');
    writeFileSync(bad, 'rules:\n  - owner: platform\n    match: { comm: "(" }\n');
    await assert.rejects(run(['--rules', bad, '--samples', '1']), (e: unknown) => badFlag('--rules', 'TELEMETRY_RULES_INVALID')(e) && /rules\[0\]\.match\.comm/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseIntervalFlag accepts ms, s (with decimals) and m', () => {
  assert.equal(parseIntervalFlag('--interval', '250ms'), 250);
  assert.equal(parseIntervalFlag('--interval', '1s'), 1000);
  assert.equal(parseIntervalFlag('--interval', '1.5s'), 1500);
  assert.equal(parseIntervalFlag('--interval', '2m'), 120_000);
});

test('a short real run writes a valid window to --out and a summary to stdout', { skip: process.platform === 'linux' ? false : 'reads Linux /proc' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-collect-'));
  try {
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, 'version: 1\ndefault: customer\nrules:\n  - name: collector\n    owner: platform\n    match: { self: true }\n');
    const out = join(dir, 'telemetry.json');
    const r = await run(['--samples', '2', '--interval', '50ms', '--processes', '3', '--rules', rules, '--out', out]);
    const w = parseTelemetryWindow(JSON.parse(readFileSync(out, 'utf8')));
    assert.equal(w.samples.length, 2);
    assert.ok(w.samples[0]!.processes.filter((p) => p.aggregated === undefined).length <= 3);
    assert.ok(w.samples[0]!.processes.some((p) => p.pid === 0), 'the rest is aggregated');
    assert.match(r.stdout, /^telemetry: 2 samples × 50 ms/m);
    assert.match(r.stdout, /^processes: \d+ \(platform \d+, customer \d+\); top 3 by RSS kept/m);
    assert.match(r.stdout, /^mounts: \d+$/m);
    assert.match(r.stdout, /^ {2}\/ \(/m);
    assert.match(r.stdout, /^errors: /m);
    assert.match(r.stdout, new RegExp(`window written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(r.stderr, /collecting 2 samples every 50 ms/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without --out the window JSON goes to stdout and the summary to stderr', { skip: process.platform === 'linux' ? false : 'reads Linux /proc' }, async () => {
  const r = await run(['--samples', '1', '--interval', '10ms']);
  const w = parseTelemetryWindow(JSON.parse(r.stdout));
  assert.equal(w.samples.length, 1);
  assert.match(r.stderr, /^telemetry: 1 sample × 10 ms/m);
});
