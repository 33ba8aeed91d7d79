/**
 * A newcomer's first commands and the option parsers: the documented `npx veritee`
 * works, an unknown command is an error naming it and the nearest command at every
 * level, usage errors use the error[CODE] form, option values that Number() would
 * guess at are refused, and echoed input is bounded and escaped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isVeriteeError } from '@veritee/core';
import { editDistance } from './program.js';
import { printChecks } from './io.js';
import { parseHeaderOption, parseIntegerOption, parseLogLevel, parseSecondsOption } from './commands/common.js';
import { hasStackTrace, runCliWith, type CliRun } from './testing.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'veritee-usage-'));
const cli = (args: string[]): Promise<CliRun> => runCliWith(args, { cwd: dir, timeoutMs: 60_000, env: { VERITEE_HOME: join(dir, 'home') } });

function expectError(r: CliRun, code: string, re?: RegExp): void {
  assert.equal(r.code, 2, `${code}: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^error\\[${code}\\]: `, 'm'), r.stderr);
  if (re) assert.match(r.stderr, re);
  assert.equal(hasStackTrace(r.stderr), false);
}

test('the root package.json has a bin that npm links, and `npx --no-install veritee --help` runs it', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  assert.ok(pkg.bin?.veritee, 'root package.json has bin.veritee');
  const target = join(root, pkg.bin.veritee);
  assert.ok(existsSync(target), `${target} exists`);
  assert.match(readFileSync(target, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  // 3 s on an idle machine; over 60 s was seen at load 20 (npx plus the whole CLI's imports)
  const npx = spawnSync('npx', ['--no-install', 'veritee', '--help'], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  assert.equal(npx.status, 0, npx.stderr);
  assert.match(npx.stdout, /^Usage: veritee /);
});

test('an unknown command is CLI_COMMAND_UNKNOWN (exit 2) naming it and the nearest command, at every level', async () => {
  expectError(await cli(['colect', '--help']), 'CLI_COMMAND_UNKNOWN', /veritee has no command "colect"; did you mean "collect"\?/);
  expectError(await cli(['frobnicate']), 'CLI_COMMAND_UNKNOWN', /no command "frobnicate"/);
  expectError(await cli(['verfy', 'b.json']), 'CLI_COMMAND_UNKNOWN', /did you mean "verify"\?/);
  expectError(await cli(['attest', 'frobnicate']), 'CLI_COMMAND_UNKNOWN', /veritee attest has no command "frobnicate".*\(commands: verify, serve, check-token, sim;/);
  expectError(await cli(['attest', 'verfiy', 'x']), 'CLI_COMMAND_UNKNOWN', /did you mean "verify"\?/);
  expectError(await cli(['zk', 'stup']), 'CLI_COMMAND_UNKNOWN', /veritee zk has no command "stup"; did you mean "setup"\?/);
  expectError(await cli(['prove', 'latncy', '--help']), 'CLI_COMMAND_UNKNOWN', /veritee prove has no command "latncy"; did you mean "latency"\?/);
  expectError(await cli(['ohttp', 'rely']), 'CLI_COMMAND_UNKNOWN', /did you mean "relay"\?/);
  expectError(await cli(['prover', 'serv']), 'CLI_COMMAND_UNKNOWN', /did you mean "serve"\?/);
  expectError(await cli(['inclusion', 'rot']), 'CLI_COMMAND_UNKNOWN', /did you mean "root"\?/);
  expectError(await cli(['help', 'frobnicate']), 'CLI_COMMAND_UNKNOWN', /no command "frobnicate"/);
  expectError(await cli(['\u001b[2J' + 'q'.repeat(1000)]), 'CLI_COMMAND_UNKNOWN', /no command "\\x1b\[2Jq+"… \(\d+ more characters\)/);
});

test('help and version still exit 0; a command group without its subcommand is a usage error', async () => {
  for (const args of [['--help'], ['attest', '--help'], ['prove', 'latency', '--help'], ['help', 'attest'], ['--version']]) {
    const r = await cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.includes('error['), false);
  }
  expectError(await cli(['attest']), 'CLI_USAGE_INVALID', /veritee attest needs a command: verify, serve, check-token, sim/);
  expectError(await cli([]), 'CLI_USAGE_INVALID', /veritee needs a command/);
});

test("commander's usage errors use the error[CLI_USAGE_INVALID] form with exit 2", async () => {
  expectError(await cli(['verify', 'b.json', '--allow-simulatd']), 'CLI_USAGE_INVALID', /veritee verify: unknown option '--allow-simulatd' \(Did you mean --allow-simulated\?\)/);
  expectError(await cli(['verify']), 'CLI_USAGE_INVALID', /missing required argument 'bundle'/);
  expectError(await cli(['verify', 'a', 'b']), 'CLI_USAGE_INVALID', /too many arguments/);
  expectError(await cli(['prove', 'latency', '--records']), 'CLI_USAGE_INVALID', /option '--records <file>' argument missing/);
  expectError(await cli(['prove', 'inclusion', '--components', 'c.txt']), 'CLI_USAGE_INVALID', /required option '--component <name>' not specified/);
  const r = await cli(['verify', '--bogus']);
  assert.equal(r.stderr.match(/error/g)?.length, 1, `one error line, no commander "error:" line: ${r.stderr}`);
});

test('option values Number() would guess at are refused, naming the option', async () => {
  const prove = (extra: string[]) => ['prove', 'latency', '--records', 'r.csv', '--period', '1/2', '--sla', 'p95<1ms', '--out', join(dir, 'o.json'), ...extra];
  writeFileSync(join(dir, 'r.csv'), '1,2\n');
  for (const v of ['0x400', '1e3', '1024abc', '-1024', '', ' 1024', '1024.0']) expectError(await cli(prove(['--size', v])), 'INPUT_INVALID', /--size must be auto or one of/);
  for (const v of ['0x10', '2e1', '20.0', '-20']) expectError(await cli(['inclusion', 'root', '--components', 'c.txt', '--depth', v]), 'INPUT_INVALID', /--depth must be one of/);
  for (const v of ['0x400', '1e3']) expectError(await cli(['zk', 'setup', '--size', v]), 'INPUT_INVALID', /--size must be smallest, all or one of/);
  for (const v of ['1e3', '0x10', '12abc', '-5', '']) expectError(await cli(['attest', 'serve', '--nonce-ttl', v, '--listen', '127.0.0.1:0']), 'INPUT_INVALID', /--nonce-ttl/);
  for (const v of ['1e3', '0x10', '12abc', '-5', '0']) expectError(await cli(['proxy', '--host', 'x', '--upstream', 'http://127.0.0.1:9', '--max-body', v]), 'INPUT_INVALID', /--max-body/);
  for (const v of ['1e3', '12abc', '0']) expectError(await cli(['demo', '--requests', v]), 'INPUT_INVALID', /--requests/);
  for (const v of ['1e3', '0x10', '-1', '5s']) expectError(await cli(['ohttp', 'gateway', '--simulated', '--target', 'http://127.0.0.1:9', '--grace', v]), 'INPUT_INVALID', /--grace/);
  expectError(await cli(['ohttp', 'gateway', '--simulated', '--target', 'http://127.0.0.1:9', '--max-request-bytes', '1e6']), 'INPUT_INVALID', /--max-request-bytes/);
  expectError(await cli(['collect', '--interval', '1.0005s']), 'TELEMETRY_OPTIONS_INVALID', /whole number of milliseconds/);
  expectError(await cli(['collect', '--samples', '1e3']), 'TELEMETRY_OPTIONS_INVALID', /--samples/);
  expectError(await cli(prove(['--sla', 'min=1,min=2'])), 'SLA_INVALID', /SLA names min twice/);
  expectError(await cli(prove(['--period', '2025-06-01T24:00:00Z/2025-06-02T00:00:00Z'])), 'PERIOD_INVALID', /hour 24/);
});

test('records with an extra CSV column or a duplicate JSONL key are refused naming the line', async () => {
  const prove = (file: string) => ['prove', 'latency', '--records', file, '--period', '1/100000', '--sla', 'p95<1ms', '--out', join(dir, 'o.json')];
  writeFileSync(join(dir, 'extra.csv'), 'start_us,end_us\n10,20\n30,40,99\n');
  expectError(await cli(prove(join(dir, 'extra.csv'))), 'RECORD_FIELD_INVALID', /line 3: has 3 columns/);
  writeFileSync(join(dir, 'dup.jsonl'), '{"start_us":10,"end_us":20,"end_us":30}\n');
  expectError(await cli(prove(join(dir, 'dup.jsonl'))), 'RECORD_FIELD_INVALID', /line 1 .*duplicate key "end_us"/);
});

test('echoed input is bounded and escaped in what reaches the terminal', async () => {
  writeFileSync(join(dir, 'huge.csv'), '1,' + 'x'.repeat(50 * 1024 * 1024) + '\u001b[31m\n');
  const r = await cli(['prove', 'latency', '--records', join(dir, 'huge.csv'), '--period', '1/100000', '--sla', 'p95<1ms', '--out', join(dir, 'o.json')]);
  expectError(r, 'RECORD_FIELD_INVALID');
  assert.ok(r.stderr.length < 400, `${r.stderr.length} characters on stderr`);
  const s = await cli(['prove', 'latency', '--records', 'r.csv', '--period', '1/2', '--sla', '\u001b]0;owned\u0007p95<1ms\r\nerror[OK]: fine', '--out', join(dir, 'o.json')]);
  expectError(s, 'SLA_INVALID');
  // eslint-disable-next-line no-control-regex
  assert.equal(/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s.stderr), false, 'no raw control bytes');
  assert.equal(s.stderr.trimEnd().split('\n').length, 1, 'no forged second line');
});

test('option parsers: integers, seconds, log levels, headers', () => {
  const bad = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => isVeriteeError(e, 'INPUT_INVALID') && re.test(e.message));
  assert.equal(parseIntegerOption('--n', '42', 1, 100), 42);
  for (const v of ['1e3', '0x10', '12abc', '-1', '', ' 1', '1.0', '+1', '١٢']) bad(() => parseIntegerOption('--n', v, 0, 1e9), /--n ".*" must be a whole number/);
  bad(() => parseIntegerOption('--n', '101', 1, 100), /must be from 1 to 100/);
  bad(() => parseIntegerOption('--n', '99999999999999999999', 1, Number.MAX_SAFE_INTEGER), /must be from/);
  assert.equal(parseSecondsOption('--s', '1.5'), 1.5);
  assert.equal(parseSecondsOption('--s', '0'), 0);
  for (const v of ['1e3', '-1', '0x10', '1s', '', '.5', '1.0001', 'Infinity', 'NaN']) bad(() => parseSecondsOption('--s', v), /--s/);
  assert.equal(parseLogLevel('debug'), 'debug');
  bad(() => parseLogLevel('bogus'), /--log-level "bogus" must be one of/);
  assert.deepEqual(parseHeaderOption('X-Trace:  abc '), ['x-trace', 'abc']);
  assert.deepEqual(parseHeaderOption('Accept: text/html\tq=1'), ['accept', 'text/html\tq=1']);
  bad(() => parseHeaderOption('X: a\r\nY: b'), /control character/);
  bad(() => parseHeaderOption('X: a\nb'), /control character/);
  bad(() => parseHeaderOption('X: a\u0000'), /control character/);
  bad(() => parseHeaderOption('Bad Name: a'), /not an HTTP token/);
  bad(() => parseHeaderOption('X\r\nY: a'), /not an HTTP token/);
  bad(() => parseHeaderOption(': a'), /must look like/);
});

test('edit distance counts insertions, deletions, substitutions and transpositions', () => {
  assert.equal(editDistance('verify', 'verify'), 0);
  assert.equal(editDistance('verfiy', 'verify'), 1);
  assert.equal(editDistance('stup', 'setup'), 1);
  assert.equal(editDistance('kms', ''), 3);
  assert.equal(editDistance('console', 'collect'), 5);
  assert.equal(editDistance('ab', 'ba'), 1, 'a transposition is one edit');
});

test('printChecks escapes and bounds what a check quotes from the input', () => {
  let out = '';
  printChecks([{ name: 'evidence.x', ok: false, detail: 'found "\u001b[2J' + 'a'.repeat(5000) + '"\r\n  ✓ forged: yes', code: 'ATTEST_EVIDENCE_INVALID' }], (s) => (out += s));
  assert.equal(out.split('\n').length, 2, 'one line');
  assert.ok(!out.includes('\u001b') && !out.includes('\r'));
  assert.match(out, /^ {2}✗ evidence\.x: found "\\x1b\[2Ja+… \(\d+ more characters\) \[ATTEST_EVIDENCE_INVALID\]\n$/);
});
