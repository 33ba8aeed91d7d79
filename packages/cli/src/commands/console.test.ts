// `veritee console`: serves the built app on loopback with the CSP, lists the bundles
// directory, stops on SIGTERM; a non-loopback --listen is bad input (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBinPath, runCli } from '../testing.js';

test('veritee console serves the app and the bundles API on loopback and prints its URL', async () => {
  const root = mkdtempSync(join(tmpdir(), 'veritee-console-cli-'));
  const bundles = join(root, 'bundles');
  mkdirSync(bundles);
  writeFileSync(join(bundles, 'x.json'), JSON.stringify({ claim: { kind: 'latency', version: 1, params: {}, outputs: {} } }));
  const child = spawn(process.execPath, [cliBinPath(), 'console', '--listen', '127.0.0.1:0', '--bundles', bundles, '--home', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /veritee console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('close', (code) => reject(new Error(`exited ${code} before printing its URL: ${out}`)));
    });
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await page.text(), /<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js">/);
    const list = (await (await fetch(new URL('/api/bundles', url))).json()) as { bundles: { name: string; kind: string }[] };
    assert.deepEqual(list.bundles.map((b) => [b.name, b.kind]), [['x.json', 'latency']]);
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('close', r)));
  assert.equal(code, 0);
});

test('veritee console refuses to listen outside loopback (INPUT_INVALID, exit 2)', async () => {
  const r = await runCli(['console', '--listen', '0.0.0.0:8799']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error\[INPUT_INVALID\]: --listen "0\.0\.0\.0:8799": the console listens on loopback only/);
});

test('veritee console --kms/--cp: loopback upstreams only, the token file read and checked, the relay wired', async () => {
  const nonLoop = await runCli(['console', '--listen', '127.0.0.1:0', '--kms', 'http://10.0.0.1:8200']);
  assert.equal(nonLoop.code, 2);
  assert.match(nonLoop.stderr, /^error\[INPUT_INVALID\]: --kms "10\.0\.0\.1:8200": the console relays to services on loopback only/);
  const cpOut = await runCli(['console', '--listen', '127.0.0.1:0', '--cp', 'http://example.com:8790']);
  assert.equal(cpOut.code, 2);
  assert.match(cpOut.stderr, /^error\[INPUT_INVALID\]: --cp /);
  const noKms = await runCli(['console', '--listen', '127.0.0.1:0', '--kms-token-file', '/nonexistent']);
  assert.equal(noKms.code, 2);
  assert.match(noKms.stderr, /^error\[CLI_USAGE_INVALID\]: --kms-token-file needs --kms/);
  const root = mkdtempSync(join(tmpdir(), 'veritee-console-cli-'));
  writeFileSync(join(root, 'bad-token'), 'not a token\nsecond line');
  const bad = await runCli(['console', '--listen', '127.0.0.1:0', '--kms', 'http://127.0.0.1:1', '--kms-token-file', join(root, 'bad-token')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error\[INPUT_INVALID\]: .*does not hold a bearer token/);
  assert.doesNotMatch(bad.stderr, /not a token/, 'the file content is not echoed');
  // Wired: a control plane that is down is named; a KMS that is not given is named.
  writeFileSync(join(root, 'token'), 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln\n');
  const child = spawn(process.execPath, [cliBinPath(), 'console', '--listen', '127.0.0.1:0', '--bundles', root, '--home', root, '--cp', 'http://127.0.0.1:9', '--kms', 'http://localhost:9', '--kms-token-file', join(root, 'token')], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /veritee console: (http:\/\/127\.0\.0\.1:\d+\/) .*KMS http:\/\/localhost:9 with an admin token; control plane http:\/\/127\.0\.0\.1:9;/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('close', (code) => reject(new Error(`exited ${code} before printing its URL: ${out}`)));
    });
    assert.deepEqual(await (await fetch(new URL('/api/services', url))).json(), { kms: true, cp: true });
    const cp = await fetch(new URL('/api/cp/decisions?limit=5', url));
    assert.equal(cp.status, 502);
    assert.equal(((await cp.json()) as { error: { code: string } }).error.code, 'CONSOLE_UPSTREAM_UNAVAILABLE');
    const post = await fetch(new URL('/api/kms/audit', url), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(post.status, 405);
    const text = await (await fetch(new URL('/api/kms/healthz', url))).text();
    assert.doesNotMatch(text, /eyJhbGciOiJFUzI1NiJ9/, 'the token is not echoed');
  } finally {
    child.kill('SIGTERM');
  }
});
