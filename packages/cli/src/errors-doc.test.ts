/**
 * docs/ERRORS.md is the contract: this test reads its table and checks (1) that the
 * CLI's exit status for every code is the documented one, and (2) that real CLI
 * invocations, one per failure the outside review found mapped wrongly and at least
 * one per exit category, print the documented `error[CODE]:` line and exit with the
 * status the table gives that code (parsed from the table, not written here).
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { ERROR_CODES, VeriteeError, type ErrorCode } from '@veritee/core';
import { selfSignedCertificate } from '@veritee/proxy';
import { exitStatusOf, runCli as runInProcess } from './program.js';
import { hasStackTrace, runCliWith, type CliRun } from './testing.js';

const docPath = new URL('../../../docs/ERRORS.md', import.meta.url);

/** code → { http, exit } as the table in docs/ERRORS.md says. */
function readErrorTable(): Map<string, { http: number; exit: number }> {
  const table = new Map<string, { http: number; exit: number }>();
  for (const line of readFileSync(docPath, 'utf8').split('\n')) {
    const m = /^\| `([A-Z0-9_]+)` \| .* \| (\d{3}) \| (\d) \|$/.exec(line);
    if (m) table.set(m[1]!, { http: Number(m[2]), exit: Number(m[3]) });
  }
  return table;
}

const table = readErrorTable();
const documentedExit = (code: string): number => {
  const row = table.get(code);
  assert.ok(row, `${code} is not in docs/ERRORS.md`);
  return row.exit;
};

test('docs/ERRORS.md lists every code, and the CLI exit status of each is the documented one', () => {
  assert.ok(table.size > 50, `parsed ${table.size} rows`);
  assert.deepEqual([...table.keys()].sort(), Object.keys(ERROR_CODES).sort(), 'the table and ERROR_CODES hold the same codes');
  for (const [code, row] of table) {
    assert.equal(exitStatusOf(code as ErrorCode), row.exit, `exit status of ${code}`);
    assert.equal(ERROR_CODES[code as ErrorCode].http, row.http, `HTTP status of ${code}`);
  }
  assert.deepEqual(new Set([...table.values()].map((r) => r.exit)), new Set([1, 2, 3]), 'the three exit categories');
});

// ---- real invocations ------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'veritee-errors-doc-'));
const home = join(dir, 'home');
mkdirSync(home);
const PERIOD = '2025-06-01T00:00:00Z/2025-06-02T00:00:00Z';
const P0 = Date.UTC(2025, 5, 1) * 1000;
let busy: Server;
let busyPort = 0;

before(async () => {
  writeFileSync(join(dir, 'records.csv'), `start_us,end_us\n${P0 + 10},${P0 + 5000}\n`);
  writeFileSync(join(dir, 'deep.jsonl'), '{"start_us":1,"end_us":2,"x":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}\n');
  writeFileSync(join(dir, 'empty-bundle.json'), '{}');
  writeFileSync(join(dir, 'garbage.pem'), 'this is not a certificate\n');
  const a = selfSignedCertificate('a.test');
  const b = selfSignedCertificate('b.test');
  writeFileSync(join(dir, 'a.crt'), a.cert);
  writeFileSync(join(dir, 'a.key'), a.key);
  writeFileSync(join(dir, 'b.key'), b.key);
  writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nplatforms: [snp]\nsnp: { measurements: any }\n');
  mkdirSync(join(dir, 'policies'));
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as { port: number }).port;
  // Simulated evidence, and a copy whose report is not base64.
  const sim = await cli(['attest', 'sim', '--platform', 'snp', '--nonce', '00'.repeat(32), '--out', join(dir, 'sim.json')]);
  assert.equal(sim.code, 0, sim.stderr);
  const env = JSON.parse(readFileSync(join(dir, 'sim.json'), 'utf8')) as { evidence: { attestation_report: string } };
  env.evidence.attestation_report = '!!!not*base64';
  writeFileSync(join(dir, 'bad-base64.json'), JSON.stringify(env));
});

after(() => busy.close());

function cli(args: string[], opts: { stdinFile?: string } = {}): Promise<CliRun> {
  return runCliWith(args, { cwd: dir, timeoutMs: 60_000, env: { VERITEE_HOME: home }, ...opts });
}

/** The run printed `error[code]:` (once, as its last line) and exited with the documented status of `code`. */
function expectDocumented(r: CliRun, code: ErrorCode): void {
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[lines.length - 1]!, new RegExp(`^error\\[${code}\\]: \\S`), `last stderr line for ${code}:\n${r.stderr}`);
  assert.equal(r.stderr.match(/^error\[/gm)?.length, 1, 'one error line');
  assert.equal(r.code, documentedExit(code), `exit status for ${code} (docs/ERRORS.md): ${r.stderr}`);
  assert.equal(hasStackTrace(r.stderr), false, 'no stack trace');
}

const prove = (over: Record<string, string>, extra: string[] = []): string[] => {
  const o = { '--records': join(dir, 'records.csv'), '--period': PERIOD, '--sla': 'p95<100ms', '--out': join(dir, 'bundle.json'), '--home': home, ...over };
  return ['prove', 'latency', ...Object.entries(o).flat(), ...extra];
};

const proxyArgs = (extra: string[]): string[] => ['proxy', '--host', 'x.test', '--upstream', 'http://127.0.0.1:9', '--listen', '127.0.0.1:0', ...extra];

const cases: { name: string; args: () => string[]; code: ErrorCode; stdinFile?: string }[] = [
  // the failures the review found
  { name: 'records from /dev/zero (size 0 by stat)', args: () => prove({ '--records': '/dev/zero' }), code: 'INPUT_TOO_LARGE' },
  { name: 'a deeply nested JSON record', args: () => prove({ '--records': join(dir, 'deep.jsonl') }), code: 'RECORD_FIELD_INVALID' },
  { name: 'bad base64 in evidence', args: () => ['attest', 'verify', join(dir, 'bad-base64.json'), '--policy', join(dir, 'policy.yaml')], code: 'ATTEST_EVIDENCE_INVALID' },
  { name: '--vk on a missing file', args: () => ['verify', join(dir, 'empty-bundle.json'), '--vk', join(dir, 'no-such-vk.json'), '--home', home], code: 'INPUT_FILE_UNREADABLE' },
  { name: 'EADDRINUSE (ohttp relay)', args: () => ['ohttp', 'relay', '--gateway', 'http://127.0.0.1:9', '--listen', `127.0.0.1:${busyPort}`], code: 'SERVICE_LISTEN_FAILED' },
  { name: 'EADDRINUSE (attest serve)', args: () => ['attest', 'serve', '--policies', join(dir, 'policies'), '--listen', `127.0.0.1:${busyPort}`], code: 'SERVICE_LISTEN_FAILED' },
  { name: 'an unwritable --out (prove, checked before proving)', args: () => prove({ '--out': join(dir, 'no', 'such', 'dir', 'b.json') }), code: 'INPUT_FILE_UNWRITABLE' },
  { name: 'an unwritable --out (attest sim)', args: () => ['attest', 'sim', '--platform', 'snp', '--nonce', '00'.repeat(32), '--out', join(dir, 'no', 'such', 'e.json')], code: 'INPUT_FILE_UNWRITABLE' },
  { name: 'a garbage --cert', args: () => ['proxy', '--host', 'x.test', '--upstream', 'http://127.0.0.1:9', '--listen', '127.0.0.1:0', '--cert', join(dir, 'garbage.pem'), '--key', join(dir, 'garbage.pem')], code: 'TLS_CREDENTIALS_INVALID' },
  { name: 'a valid --cert with a garbage --key', args: () => proxyArgs(['--cert', join(dir, 'a.crt'), '--key', join(dir, 'garbage.pem')]), code: 'TLS_CREDENTIALS_INVALID' },
  { name: 'a --key that does not belong to --cert', args: () => proxyArgs(['--cert', join(dir, 'a.crt'), '--key', join(dir, 'b.key')]), code: 'TLS_CREDENTIALS_INVALID' },
  { name: 'EADDRINUSE (proxy)', args: () => ['proxy', '--host', 'x.test', '--upstream', 'http://127.0.0.1:9', '--listen', `127.0.0.1:${busyPort}`], code: 'SERVICE_LISTEN_FAILED' },
  { name: 'EADDRINUSE (prover serve)', args: () => ['prover', 'serve', '--home', home, '--listen', `127.0.0.1:${busyPort}`], code: 'SERVICE_LISTEN_FAILED' },
  { name: '--log-level bogus', args: () => ['proxy', '--host', 'x.test', '--upstream', 'http://127.0.0.1:9', '--listen', '127.0.0.1:0', '--log-level', 'bogus'], code: 'INPUT_INVALID' },
  { name: 'CR/LF in request -H', args: () => ['request', 'https://127.0.0.1:9/', '-H', 'X-A: a\r\nX-Injected: b'], code: 'INPUT_INVALID' },
  { name: 'an unknown option', args: () => prove({}, ['--recrods', 'x']), code: 'CLI_USAGE_INVALID' },
  { name: 'a missing argument', args: () => ['verify'], code: 'CLI_USAGE_INVALID' },
  { name: 'an extra argument', args: () => ['verify', 'a.json', 'b.json'], code: 'CLI_USAGE_INVALID' },
  { name: 'a missing required option', args: () => ['prove', 'latency', '--records', 'x.csv'], code: 'CLI_USAGE_INVALID' },
  { name: 'an unknown command', args: () => ['frobnicate'], code: 'CLI_COMMAND_UNKNOWN' },
  { name: 'an unknown subcommand with --help', args: () => ['attest', 'frobnicate', '--help'], code: 'CLI_COMMAND_UNKNOWN' },
  // one per category: 1 = verification failed, 2 = bad input, 3 = environment
  { name: 'category 1: simulated evidence against vendor roots', args: () => ['attest', 'verify', join(dir, 'sim.json'), '--policy', join(dir, 'policy.yaml')], code: 'ATTEST_CERT_CHAIN_INVALID' },
  { name: 'category 2: an impossible period', args: () => prove({ '--period': '2025-02-30T00:00:00Z/2025-03-02T00:00:00Z' }), code: 'PERIOD_INVALID' },
  { name: 'category 3: no keys and --no-setup', args: () => prove({ '--home': home }, ['--no-setup']), code: 'ZK_SETUP_MISSING' },
];

for (const c of cases) {
  test(`documented code and exit status: ${c.name} → ${c.code}`, async () => {
    expectDocumented(await cli(c.args(), c.stdinFile ? { stdinFile: c.stdinFile } : {}), c.code);
  });
}

test('the categories are all exercised by the invocations above', () => {
  assert.deepEqual(new Set(cases.map((c) => documentedExit(c.code))), new Set([1, 2, 3]));
});

// ---- an error that is not a VeriteeError -----------------------------------------------

async function captureStderr(fn: () => Promise<number>): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += typeof s === 'string' ? s : Buffer.from(s).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await fn(), stderr };
  } finally {
    process.stderr.write = write;
  }
}

function throwingProgram(e: unknown): Command {
  const p = new Command().name('veritee').exitOverride().configureOutput({ outputError: () => {} });
  p.command('boom').action(() => {
    throw e;
  });
  return p;
}

test('a non-VeriteeError is error[INTERNAL] with the documented status, escaped, without a stack unless VERITEE_DEBUG=1', async () => {
  const saved = process.env.VERITEE_DEBUG;
  delete process.env.VERITEE_DEBUG;
  try {
    const r = await captureStderr(() => runInProcess(['node', 'veritee', 'boom'], throwingProgram(new TypeError('cannot read x\u001b[2J\r\nerror[FAKE]: y'))));
    assert.equal(r.code, documentedExit('INTERNAL'));
    assert.equal(r.stderr, 'error[INTERNAL]: TypeError: cannot read x\\x1b[2J\\r\\nerror[FAKE]: y\n');
    const s = await captureStderr(() => runInProcess(['node', 'veritee', 'boom'], throwingProgram('a string')));
    assert.equal(s.stderr, 'error[INTERNAL]: a string\n');
    process.env.VERITEE_DEBUG = '1';
    const d = await captureStderr(() => runInProcess(['node', 'veritee', 'boom'], throwingProgram(new RangeError('deep'))));
    assert.match(d.stderr, /^error\[INTERNAL\]: deep\n/);
    assert.ok(hasStackTrace(d.stderr), 'VERITEE_DEBUG=1 shows the stack');
  } finally {
    if (saved === undefined) delete process.env.VERITEE_DEBUG;
    else process.env.VERITEE_DEBUG = saved;
  }
});

test('the final printer bounds and escapes any message, whatever its code', async () => {
  const huge = new VeriteeError('INPUT_INVALID', 'bad: ' + '\u001b[31m' + 'x'.repeat(5_000_000));
  const r = await captureStderr(() => runInProcess(['node', 'veritee', 'boom'], throwingProgram(huge)));
  assert.equal(r.code, documentedExit('INPUT_INVALID'));
  assert.ok(r.stderr.length < 2200, `${r.stderr.length} characters`);
  assert.match(r.stderr, /^error\[INPUT_INVALID\]: bad: \\x1b\[31mxxx.*… \(\d+ more characters\)\n$/);
});
