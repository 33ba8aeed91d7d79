/**
 * `veritee attest serve` as a child process on loopback: the nonce limits and the token
 * audience options, and option validation before anything listens.
 * From `dist/` it runs the compiled CLI; from `src/` (tsx) it runs `src/bin.ts` with a
 * tsconfig that maps `@veritee/*` to the package sources.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
const pkgRoot = resolve(here, '..', '..'); // packages/cli
const repoRoot = resolve(pkgRoot, '..', '..');

let tmp: string;
let tsconfig: string;
const servers: ChildProcess[] = [];

function command(): [string, string[], NodeJS.ProcessEnv] {
  return fromSource
    ? [process.execPath, ['--import', import.meta.resolve('tsx'), join(pkgRoot, 'src', 'bin.ts')], { ...process.env, TSX_TSCONFIG_PATH: tsconfig }]
    : [process.execPath, [join(pkgRoot, 'dist', 'bin.js')], process.env];
}

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, pre, env] = command();
  return new Promise((resolvePromise) => {
    execFile(cmd, [...pre, ...args], { cwd: tmp, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolvePromise({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

function serve(...args: string[]): Promise<string> {
  const [cmd, pre, env] = command();
  const child = spawn(cmd, [...pre, ...args], { cwd: tmp, env, stdio: ['ignore', 'ignore', 'pipe'] });
  servers.push(child);
  return new Promise((resolvePromise, reject) => {
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/[^\s,]+)/.exec(err);
      if (m) resolvePromise(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`attest serve exited with ${code}: ${err}`)));
  });
}

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'veritee-attest-serve-'));
  tsconfig = join(tmp, 'tsconfig.json');
  const src = (p: string) => [join(repoRoot, 'packages', p, 'src', 'index.ts')];
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        paths: Object.fromEntries(['core', 'zk', 'attestation', 'proxy', 'ohttp'].map((p) => [`@veritee/${p}`, src(p)])),
      },
    }),
  );
  mkdirSync(join(tmp, 'policies'));
  writeFileSync(join(tmp, 'policies', 'dev.yaml'), ['platforms: [snp]', 'allowSimulated: true', 'snp: { measurements: any }', ''].join('\n'));
  writeFileSync(join(tmp, 'policies', 'strict.yaml'), ['platforms: [snp]', 'snp: { measurements: any }', ''].join('\n'));
});

after(() => {
  for (const s of servers) s.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
});

test('serve: --max-nonces-per-client caps one client with 429 ATTEST_NONCE_LIMIT and Retry-After', async () => {
  const url = await serve('attest', 'serve', '--listen', '127.0.0.1:0', '--policies', 'policies', '--max-nonces-per-client', '2', '--nonce-ttl', '30');
  for (let i = 0; i < 2; i++) assert.equal((await fetch(`${url}/v1/nonce`, { method: 'POST' })).status, 201);
  const res = await fetch(`${url}/v1/nonce`, { method: 'POST' });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '30');
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ATTEST_NONCE_LIMIT');
});

test('serve: bad limits, proxies or audience are bad input (exit 2) before anything listens', async () => {
  for (const [args, re] of [
    [['--max-nonces', '0'], /--max-nonces must be a positive integer/],
    [['--max-nonces-per-client', '1e3'], /--max-nonces-per-client must be a positive integer/],
    [['--trust-proxy', '999.1.1.1'], /--trust-proxy entry "999\.1\.1\.1"/],
    [['--trust-proxy', '10.0.0.0/33'], /--trust-proxy entry "10\.0\.0\.0\/33"/],
    [['--audience', 'two words'], /--audience must be/],
  ] as Array<[string[], RegExp]>) {
    const r = await cli('attest', 'serve', '--listen', '127.0.0.1:0', '--policies', 'policies', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error\[INPUT_INVALID\]: /m);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /listening on/);
  }
});

test('check-token: the relying party path checks signature, audience and verdict (exit 0 only if accepted)', async () => {
  const { SimulatedTee, createResultSigner, issueResultToken, parsePolicy, resultJwks, verifyEvidence } = await import('@veritee/attestation');
  const at = new Date();
  const tee = await SimulatedTee.create({ platforms: ['snp'], at });
  const evidence = tee.evidence('snp', { reportData: new Uint8Array(64) });
  const dev = parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: [] }, snp: { measurements: 'any' } });
  const strict = parsePolicy({ platforms: ['snp'], reportData: { require: [] }, snp: { measurements: 'any' } });
  const warnedResult = await verifyEvidence(evidence, { policy: dev, at, simulatedAnchors: tee.anchors });
  assert.equal(warnedResult.appraisal.status, 'warning');
  const failedResult = await verifyEvidence(evidence, { policy: strict, at, simulatedAnchors: tee.anchors });
  assert.equal(failedResult.appraisal.status, 'contraindicated');
  const signer = await createResultSigner();
  writeFileSync(join(tmp, 'jwks.json'), JSON.stringify(resultJwks(signer)));
  const warned = await issueResultToken(warnedResult, signer, { at, audience: 'https://kms.example' });
  const check = (token: string, ...extra: string[]) => cli('attest', 'check-token', token, '--jwks', 'jwks.json', ...extra);

  // Simulated evidence under a policy that allows it: "warning", accepted only when asked.
  const ok = await check(warned, '--audience', 'https://kms.example', '--accept', 'warning');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /✓ token accepted for audience "https:\/\/kms\.example"/);
  assert.match(ok.stdout, /snp: warning/);
  const strictVerdict = await check(warned, '--audience', 'https://kms.example');
  assert.equal(strictVerdict.code, 1);
  assert.match(strictVerdict.stderr, /^error\[ATTEST_TOKEN_NOT_AFFIRMING\]: .*warning/m);
  // Another relying party refuses it; so does everyone for a token without aud.
  const other = await check(warned, '--audience', 'https://other.example', '--accept', 'warning');
  assert.equal(other.code, 1);
  assert.match(other.stderr, /^error\[ATTEST_TOKEN_INVALID\]: .*not issued for this audience/m);
  const noAud = await check(await issueResultToken(warnedResult, signer, { at }), '--audience', 'https://kms.example', '--accept', 'warning');
  assert.equal(noAud.code, 1);
  assert.match(noAud.stderr, /^error\[ATTEST_TOKEN_INVALID\]: .*no aud/m);
  // A validly signed token saying contraindicated is refused whatever --accept says (token from a file).
  writeFileSync(join(tmp, 'bad.jwt'), await issueResultToken(failedResult, signer, { at, audience: 'https://kms.example' }));
  const bad = await check('@bad.jwt', '--audience', 'https://kms.example', '--accept', 'warning');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error\[ATTEST_TOKEN_NOT_AFFIRMING\]: .*contraindicated/m);
  // Another key: invalid. Bad input: exit 2.
  const foreign = await issueResultToken(warnedResult, await createResultSigner(), { at, audience: 'https://kms.example' });
  assert.equal((await check(foreign, '--audience', 'https://kms.example', '--accept', 'warning')).code, 1);
  const garbage = await check('not-a-token', '--audience', 'x');
  assert.equal(garbage.code, 2);
  assert.match(garbage.stderr, /^error\[INPUT_INVALID\]: /m);
  const badAccept = await check(warned, '--audience', 'x', '--accept', 'any');
  assert.equal(badAccept.code, 2);
});
