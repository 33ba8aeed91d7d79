/**
 * `veritee prover serve`, `veritee proxy`, `veritee request` and `veritee prove latency
 * --remote` as child processes on loopback, with the simulated TEE and the shared test
 * home (1024 size class, dev setup cached). From `src/` (tsx) the CLI runs from source
 * through a tsconfig that maps `@veritee/*` to the package sources.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selfSignedCertificate } from '@veritee/proxy';
import { parseSla } from '@veritee/zk';

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
const pkgRoot = resolve(here, '..', '..'); // packages/cli
const repoRoot = resolve(pkgRoot, '..', '..');
const testHome = process.env['VERITEE_TEST_HOME'] ?? join(repoRoot, '.veritee', 'test-home');
const SIM_MEASUREMENT = createHash('sha384').update('veritee simulated SEV-SNP guest').digest('hex');
const PERIOD = '2025-11-20T00:00:00Z/2025-11-20T01:00:00Z';
const SLA = 'p95<150ms,p99<250ms,min=500';

let tmp: string;
let tsconfig: string;
const children: ChildProcess[] = [];
let proverUrl: string;
let proxyUrl: string;
let proxyProc: ChildProcess;

function command(args: string[]): [string, string[], NodeJS.ProcessEnv] {
  return fromSource
    ? [process.execPath, ['--import', import.meta.resolve('tsx'), join(pkgRoot, 'src', 'bin.ts'), ...args], { ...process.env, TSX_TSCONFIG_PATH: tsconfig }]
    : [process.execPath, [join(pkgRoot, 'dist', 'bin.js'), ...args], process.env];
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  const [cmd, argv, env] = command(args);
  return new Promise((done) => {
    execFile(cmd, argv, { cwd: tmp, env, timeout: 180_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Starts a long-running command and resolves with the first stderr match of `ready`. */
function serve(args: string[], ready: RegExp): Promise<{ proc: ChildProcess; match: RegExpMatchArray; stderr: () => string }> {
  const [cmd, argv, env] = command(args);
  const proc = spawn(cmd, argv, { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let err = '';
  proc.stdout!.resume();
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 60 s: ${args.join(' ')}\n${err}`)), 60_000);
    proc.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = ready.exec(err);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ proc, match: m, stderr: () => err });
      }
    });
    proc.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}\n${err}`)));
  });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'veritee-proxy-cli-'));
  tsconfig = join(tmp, 'tsconfig.json');
  const src = (p: string) => [join(repoRoot, 'packages', p, 'src', 'index.ts')];
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        paths: { '@veritee/core': src('core'), '@veritee/zk': src('zk'), '@veritee/attestation': src('attestation'), '@veritee/proxy': src('proxy') },
      },
    }),
  );
  // 1000 records in the hour, latencies 1..201 ms.
  let a = 11;
  const rnd = () => (a = (a * 1103515245 + 12345) % 2147483648) / 2147483648;
  const t0 = Date.parse('2025-11-20T00:00:00Z') * 1000;
  const lines = ['start_us,end_us'];
  for (let i = 0; i < 1000; i++) {
    const s = t0 + Math.floor(rnd() * 3_500_000_000);
    lines.push(`${s},${s + 1000 + Math.floor(rnd() * 200_000)}`);
  }
  writeFileSync(join(tmp, 'records.csv'), lines.join('\n') + '\n');
  writeFileSync(
    join(tmp, 'dev.yaml'),
    `name: dev-remote\nplatforms: [snp]\nallowSimulated: true\nreportData: { require: [nonce, publicKeyHash] }\nsnp:\n  measurements: [${SIM_MEASUREMENT}]\n`,
  );
  writeFileSync(join(tmp, 'other.yaml'), `platforms: [snp]\nallowSimulated: true\nsnp:\n  measurements: [${'ab'.repeat(48)}]\n`);

  const prover = await serve(['prover', 'serve', '--listen', '127.0.0.1:0', '--home', testHome, '--pool-size', '1', '--dev-setup'], /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  proverUrl = prover.match[1]!;
  const proxy = await serve(
    ['proxy', '--host', 'localhost', '--upstream', proverUrl, '--listen', '127.0.0.1:0', '--sim-anchors-out', 'anchors.json', '--log-level', 'warn'],
    /listening on 127\.0\.0\.1:(\d+)/,
  );
  proxyUrl = `https://127.0.0.1:${proxy.match[1]}`;
  proxyProc = proxy.proc;
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

const prove = (...extra: string[]) => cli('prove', 'latency', '--records', 'records.csv', '--period', PERIOD, '--sla', SLA, '--home', testHome, ...extra);

test('prove latency --remote: inputs go to the attested prover; the bundle is verified locally and written', async () => {
  const r = await prove('--out', 'remote.json', '--remote', proxyUrl, '--policy', 'dev.yaml', '--sim-anchors', 'anchors.json');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /attested: snp \(SIMULATED\)/);
  assert.match(r.stderr, /local verification of the returned bundle: VERIFIED/);
  assert.match(r.stdout, /requests: n = 1000/);
  assert.match(r.stdout, /proven remotely by https:\/\/127\.0\.0\.1:\d+, verified locally/);
  const bundle = JSON.parse(readFileSync(join(tmp, 'remote.json'), 'utf8')) as { claim: { outputs: { n: number } } };
  assert.equal(bundle.claim.outputs.n, 1000);
  // The records came from the client, not from a TEE's measurement: the bundle carries no
  // attestation evidence, so `veritee verify` checks it as a proof only.
  const v = await cli('verify', 'remote.json', '--proof-only', '--allow-dev-setup', '--home', testHome);
  assert.equal(v.code, 0, v.stdout + v.stderr);
});

test('prove latency --remote: a TEE outside the policy never receives the records (exit 1)', async () => {
  const r = await prove('--out', 'refused.json', '--remote', proxyUrl, '--policy', 'other.yaml', '--sim-anchors', 'anchors.json');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /error\[ATTEST_MEASUREMENT_MISMATCH\]/);
  assert.equal(existsSync(join(tmp, 'refused.json')), false);
});

test('prove latency --remote without a proxy: refused unless --allow-unattested, which says so loudly', async () => {
  const noPolicy = await prove('--out', 'x.json', '--remote', proverUrl);
  assert.equal(noPolicy.code, 2);
  assert.match(noPolicy.stderr, /--remote needs --policy/);
  const refused = await prove('--out', 'x.json', '--remote', proverUrl, '--policy', 'dev.yaml');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /error\[PROXY_UNATTESTED\]: http:\/\/127\.0\.0\.1:\d+ is plain HTTP/);
  const allowed = await prove('--out', 'unattested.json', '--remote', proverUrl, '--allow-unattested');
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stderr, /UNATTESTED PROVER/);
  assert.match(allowed.stderr, /NOT verified/);
  assert.match(allowed.stderr, /local verification of the returned bundle: VERIFIED/);
});

test('veritee request: attested GET prints the body; bad input and policy failures exit with codes', async () => {
  const ok = await cli('request', `${proxyUrl}/healthz`, '--policy', 'dev.yaml', '--sim-anchors', 'anchors.json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { status: string }).status, 'ok');
  assert.match(ok.stderr, /attested: snp \(SIMULATED\) measurement/);
  assert.match(ok.stderr, /HTTP 200/);
  assert.match(ok.stderr, /response: signature verified \(header\)/);
  const unsigned = await cli('request', `${proxyUrl}/healthz`, '--policy', 'dev.yaml', '--sim-anchors', 'anchors.json', '--no-sign');
  assert.equal(unsigned.code, 0, unsigned.stderr);
  assert.match(unsigned.stderr, /response: on the verified session \(evidence by reference\), not signed/);
  const data = await cli('request', `${proxyUrl}/v1/prove`, '--policy', 'dev.yaml', '--sim-anchors', 'anchors.json', '--data', '{"claim":"latency"}', '-H', 'content-type: application/json', '--fail');
  assert.equal(data.code, 1);
  assert.match(data.stderr, /HTTP 400/);
  assert.equal((JSON.parse(data.stdout) as { error: { code: string } }).error.code, 'INPUT_INVALID');
  const noPolicy = await cli('request', `${proxyUrl}/healthz`);
  assert.equal(noPolicy.code, 2);
  assert.match(noPolicy.stderr, /--policy <file> is required/);
});

test('veritee proxy: a certificate and key that do not match, or garbage PEM, are refused at start-up (exit 2)', async () => {
  const a = selfSignedCertificate('localhost');
  const b = selfSignedCertificate('localhost');
  writeFileSync(join(tmp, 'a.crt'), a.cert);
  writeFileSync(join(tmp, 'b.key'), b.key);
  writeFileSync(join(tmp, 'a.key'), a.key);
  writeFileSync(join(tmp, 'garbage.crt'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
  const start = (cert: string, key: string) => cli('proxy', '--host', 'localhost', '--upstream', proverUrl, '--listen', '127.0.0.1:0', '--cert', cert, '--key', key);
  const mismatch = await start('a.crt', 'b.key');
  assert.equal(mismatch.code, 2, mismatch.stderr);
  assert.match(mismatch.stderr, /error\[TLS_CREDENTIALS_INVALID\]: --key "b\.key" does not belong to the certificate in --cert "a\.crt"/);
  const garbage = await start('garbage.crt', 'a.key');
  assert.equal(garbage.code, 2, garbage.stderr);
  assert.match(garbage.stderr, /error\[TLS_CREDENTIALS_INVALID\]: --cert "garbage\.crt" is not a valid PEM certificate/);
});

test('a port in use and an unknown log level: error[SERVICE_LISTEN_FAILED] exit 3, error[INPUT_INVALID] exit 2', async () => {
  const busy = new URL(proverUrl);
  const inUse = await cli('prover', 'serve', '--listen', `127.0.0.1:${busy.port}`, '--home', testHome, '--pool-size', '1');
  assert.equal(inUse.code, 3, inUse.stderr);
  assert.match(inUse.stderr, new RegExp(`error\\[SERVICE_LISTEN_FAILED\\]: veritee prover serve cannot listen on "127\\.0\\.0\\.1:${busy.port}": the address is already in use`));
  const level = await cli('proxy', '--host', 'localhost', '--upstream', proverUrl, '--listen', '127.0.0.1:0', '--log-level', 'bogus');
  assert.equal(level.code, 2, level.stderr);
  assert.match(level.stderr, /error\[INPUT_INVALID\]: --log-level "bogus" must be one of/);
  const sign = await cli('proxy', '--host', 'localhost', '--upstream', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', '--sign-responses', 'sometimes');
  assert.equal(sign.code, 2);
  assert.match(sign.stderr, /error\[INPUT_INVALID\]: --sign-responses "sometimes" must be on-request or always/);
});

test('prove latency --remote: SIGINT cancels the remote job on the prover (cancelled, its slot freed)', async () => {
  const health = async () => (await (await fetch(`${proverUrl}/healthz`)).json()) as { unfinished: number; byStatus: Record<string, number> };
  const before = await health();
  const [cmd, argv, env] = command(['prove', 'latency', '--records', 'records.csv', '--period', PERIOD, '--sla', SLA, '--home', testHome, '--out', 'interrupted.json', '--remote', proxyUrl, '--policy', 'dev.yaml', '--sim-anchors', 'anchors.json']);
  const proc = spawn(cmd, argv, { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let err = '';
  proc.stdout!.resume();
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await new Promise<void>((resolveRunning, reject) => {
    const timer = setTimeout(() => reject(new Error(`the remote job never ran:\n${err}`)), 120_000);
    proc.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (/remote job [0-9a-f]{12}…: running/.test(err) && !proc.killed) {
        clearTimeout(timer);
        proc.kill('SIGINT'); // the proof of the 1024 class takes seconds: it is still running
        resolveRunning();
      }
    });
  });
  const code = await exited;
  assert.equal(code, 3, err);
  assert.match(err, /SIGINT: cancelling the remote job/);
  assert.match(err, /error\[ZK_PROVER_CANCELLED\]: remote job [0-9a-f]{12}… cancelled by the caller \(the prover reports it cancelled\)/);
  assert.equal(existsSync(join(tmp, 'interrupted.json')), false);
  const after = await health();
  assert.equal(after.byStatus['cancelled'], (before.byStatus['cancelled'] ?? 0) + 1, 'the job is cancelled on the server');
  assert.equal(after.unfinished, 0, 'nothing left running');
  // The slot is free: a new job starts at once (then it is cancelled too).
  const r = await fetch(`${proverUrl}/v1/prove`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ claim: 'latency', params: { periodStartUs: 0, periodEndUs: 3_600_000_000, ...parseSla('p95<150ms,p99<250ms') }, records: [0, 1000] }) });
  const job = (await r.json()) as { id: string; status: string };
  assert.equal(r.status, 202, JSON.stringify(job));
  assert.equal(job.status, 'running');
  await fetch(`${proverUrl}/v1/jobs/${job.id}`, { method: 'DELETE' });
});

test('veritee proxy --counters-listen: the loopback endpoint counts the requests the proxy received; a public address is refused', async () => {
  const p = await serve(
    ['proxy', '--host', 'localhost', '--upstream', proverUrl, '--listen', '127.0.0.1:0', '--counters-listen', '127.0.0.1:0', '--sim-anchors-out', 'anchors-c.json', '--log-level', 'warn'],
    /listening on 127\.0\.0\.1:(\d+)/,
  );
  const port = p.match[1]!;
  const counters = /request counters: (http:\/\/127\.0\.0\.1:\d+)\/v1\/requests \(loopback\)/.exec(p.stderr())?.[1];
  assert.ok(counters, p.stderr());
  const fromUs = Date.now() * 1000 - 1000;
  for (let i = 0; i < 3; i++) {
    const r = await cli('request', `https://127.0.0.1:${port}/healthz`, '--policy', 'dev.yaml', '--sim-anchors', 'anchors-c.json');
    assert.equal(r.code, 0, r.stderr);
  }
  const period = (await (await fetch(`${counters}/v1/requests?fromUs=${fromUs}`)).json()) as { arrivalsUs: number[]; periodStartUs: number; truncated: boolean };
  assert.equal(period.arrivalsUs.length, 3, 'three requests, the bindings not counted');
  assert.equal(period.periodStartUs, fromUs);
  assert.equal(period.truncated, false);
  const bad = await (await fetch(`${counters}/v1/requests`)).json();
  assert.equal((bad as { error: { code: string } }).error.code, 'INPUT_INVALID');
  p.proc.kill('SIGTERM');
  const open = await cli('proxy', '--host', 'localhost', '--upstream', proverUrl, '--listen', '127.0.0.1:0', '--counters-listen', '0.0.0.0:9464');
  assert.equal(open.code, 2, open.stderr);
  assert.match(open.stderr, /error\[INPUT_INVALID\]: --counters-listen "0\.0\.0\.0:9464": the request counters are served on loopback only/);
});

test('veritee proxy shuts down gracefully on SIGTERM (exit 0)', async () => {
  const exited = new Promise<number | null>((r) => proxyProc.once('exit', (code) => r(code)));
  proxyProc.kill('SIGTERM');
  assert.equal(await exited, 0);
});
