/**
 * `veritee ohttp ...` as child processes on loopback: a simulated gateway and a relay are
 * started with the CLI itself (port 0, address read from stderr), then `ohttp request`
 * goes through them. From `dist/` it runs the compiled CLI; from `src/` (tsx) it runs
 * `src/bin.ts` with a tsconfig that maps `@veritee/*` to the package sources.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
const pkgRoot = resolve(here, '..', '..'); // packages/cli
const repoRoot = resolve(pkgRoot, '..', '..');

let tmp: string;
let tsconfig: string;
let target: Server;
let targetUrl: string;
const servers: ChildProcess[] = [];
let relayUrl: string;

function command(): [string, string[], NodeJS.ProcessEnv] {
  return fromSource
    ? [process.execPath, ['--import', import.meta.resolve('tsx'), join(pkgRoot, 'src', 'bin.ts')], { ...process.env, TSX_TSCONFIG_PATH: tsconfig }]
    : [process.execPath, [join(pkgRoot, 'dist', 'bin.js')], process.env];
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  const [cmd, pre, env] = command();
  return new Promise((resolvePromise) => {
    execFile(cmd, [...pre, ...args], { cwd: tmp, env, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running CLI server and resolves with the URL it prints (`listening on URL`). */
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
    child.once('exit', (code) => reject(new Error(`${args.slice(0, 2).join(' ')} exited with ${code}: ${err}`)));
  });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'veritee-ohttp-cli-'));
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
  writeFileSync(
    join(tmp, 'dev.yaml'),
    ['name: ohttp-dev', 'platforms: [tdx]', 'allowSimulated: true', 'reportData: { require: [nonce, publicKeyHash] }', 'tdx: { mrtd: any }', ''].join('\n'),
  );
  writeFileSync(join(tmp, 'strict.yaml'), ['name: strict', 'platforms: [tdx]', 'tdx: { mrtd: any }', ''].join('\n'));
  writeFileSync(join(tmp, 'body.json'), '{"q":42}');

  target = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body, type: req.headers['content-type'] ?? null, ua: req.headers['user-agent'] ?? null }));
    });
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  const gatewayUrl = await serve('ohttp', 'gateway', '--target', targetUrl, '--listen', '127.0.0.1:0', '--simulated', '--platform', 'tdx');
  relayUrl = await serve('ohttp', 'relay', '--gateway', gatewayUrl, '--listen', '127.0.0.1:0');
});

after(async () => {
  for (const s of servers) s.kill('SIGTERM');
  target.closeAllConnections();
  await new Promise<void>((r) => target.close(() => r()));
  rmSync(tmp, { recursive: true, force: true });
});

const request = (url: string, policy: string, ...extra: string[]) =>
  cli('ohttp', 'request', url, '--relay', `${relayUrl}/`, '--gateway-keys', `${relayUrl}/ohttp-keys`, '--policy', policy, ...extra);

test('request: verifies the simulated gateway, sends through the relay, prints the body; exit 0', async () => {
  const r = await request(`${targetUrl}/api?x=1`, 'dev.yaml', '--data', '@body.json', '-H', 'content-type: application/json', '-i');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /✓ gateway attestation verified: tdx \(SIMULATED, accepted because the policy allows it\)/);
  assert.match(r.stdout, /^HTTP 200\r\n/);
  const body = JSON.parse(r.stdout.slice(r.stdout.indexOf('\r\n\r\n') + 4));
  assert.deepEqual(body, { method: 'POST', url: '/api?x=1', body: '{"q":42}', type: 'application/json', ua: null });
});

test('request: a policy without allowSimulated refuses the gateway; exit 1', async () => {
  const r = await request(`${targetUrl}/`, 'strict.yaml');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error\[ATTEST_SIMULATED_REFUSED\]: /m);
  assert.equal(r.stdout, '');
  assert.ok(!r.stderr.includes('    at '), 'no stack trace');
});

test('request: a target the gateway does not serve comes back as 403; -f makes it exit 1', async () => {
  const r = await request('http://169.254.169.254/latest/', 'dev.yaml', '-f');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /← 403 through the relay/);
  assert.match(r.stdout, /OHTTP_TARGET_FORBIDDEN/);
});

test('gateway: refuses to start without a TEE evidence source; bad --listen is bad input (exit 2)', async () => {
  const a = await cli('ohttp', 'gateway', '--target', targetUrl, '--listen', '127.0.0.1:0');
  assert.equal(a.code, 2);
  assert.match(a.stderr, /^error\[ATTEST_PLATFORM_UNSUPPORTED\]: .*--simulated/m);
  const b = await cli('ohttp', 'relay', '--gateway', 'http://127.0.0.1:1', '--listen', 'nowhere');
  assert.equal(b.code, 2);
  assert.match(b.stderr, /^error\[INPUT_INVALID\]: --listen/m);
});

test('request: a policy allowing simulated evidence without --sim-anchors prints the "proves nothing" banner', async () => {
  const r = await request(`${targetUrl}/`, 'dev.yaml');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /SIMULATED evidence is accepted \(development only\)/);
  assert.match(r.stderr, /No --sim-anchors: the anchors the GATEWAY offers are trusted, which proves nothing\./);
  // The banner comes before the verdict.
  assert.ok(r.stderr.indexOf('proves nothing') < r.stderr.indexOf('✓ gateway attestation verified'));
  // A policy that refuses simulated evidence gets no banner.
  const strict = await request(`${targetUrl}/`, 'strict.yaml');
  assert.doesNotMatch(strict.stderr, /proves nothing/);
});

test('addresses and URLs are checked before anything listens or connects (INPUT_INVALID, exit 2)', async () => {
  const runs: Array<[string[], RegExp]> = [
    [['ohttp', 'relay', '--gateway', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', '--egress-address', '999.1.1.1'], /--egress-address "999\.1\.1\.1" is not an IPv4 or IPv6/],
    [['ohttp', 'relay', '--gateway', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', '--egress-address', 'example.com'], /--egress-address/],
    [['ohttp', 'relay', '--gateway', 'http://999.1.1.1:1', '--listen', '127.0.0.1:0'], /--gateway "http:\/\/999\.1\.1\.1:1" is not an absolute URL/],
    [['ohttp', 'relay', '--gateway', 'ftp://127.0.0.1/', '--listen', '127.0.0.1:0'], /must be http or https/],
    [['ohttp', 'relay', '--gateway', 'http://127.0.0.1:1', '--listen', '999.1.1.1:0'], /--listen "999\.1\.1\.1:0": "999\.1\.1\.1" is not an IP address/],
    [['ohttp', 'relay', '--gateway', 'http://127.0.0.1:1', '--listen', '[::zz]:0'], /--listen/],
    [['ohttp', 'gateway', '--simulated', '--target', 'http://999.1.1.1/', '--listen', '127.0.0.1:0'], /target "http:\/\/999\.1\.1\.1\/" is not an absolute URL/],
    [['ohttp', 'gateway', '--simulated', '--target', targetUrl, '--allow-target', 'gopher://x/', '--listen', '127.0.0.1:0'], /must be http or https/],
    [['ohttp', 'gateway', '--simulated', '--target', targetUrl, '--listen', '256.0.0.1:0'], /--listen/],
    [['ohttp', 'gateway', '--simulated', '--target', targetUrl, '--listen', '127.0.0.1:0', '--replay-window', 'soon'], /--replay-window "soon" must be a duration/],
    [['ohttp', 'gateway', '--simulated', '--target', targetUrl, '--listen', '127.0.0.1:0', '--replay-max', '0'], /--replay-max/],
    [['ohttp', 'request', 'http://999.1.1.1/', '--relay', `${relayUrl}/`, '--gateway-keys', `${relayUrl}/ohttp-keys`, '--policy', 'dev.yaml'], /target URL/],
    [['ohttp', 'request', `${targetUrl}/`, '--relay', 'relay.example', '--gateway-keys', `${relayUrl}/ohttp-keys`, '--policy', 'dev.yaml'], /--relay "relay\.example" is not an absolute URL/],
    [['ohttp', 'request', `${targetUrl}/`, '--relay', `${relayUrl}/`, '--gateway-keys', 'http://1.2.3.999/k', '--policy', 'dev.yaml'], /--gateway-keys/],
    [['ohttp', 'request', `${targetUrl}/`, '--relay', `${relayUrl}/`, '--gateway-keys', `${relayUrl}/ohttp-keys`, '--attestation', 'file:///etc/passwd', '--policy', 'dev.yaml'], /--attestation/],
  ];
  for (const [args, re] of runs) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error\[INPUT_INVALID\]: /m, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.doesNotMatch(r.stderr, /listening on/);
  }
});

test('gateway: announces its replay window (on by default) and says so when it is off', async () => {
  const [cmd, pre, env] = command();
  for (const [extra, re] of [
    [[], /replay window 60 s \(at most 250000 requests remembered\)/],
    [['--replay-window', '0'], /replay window OFF/],
  ] as Array<[string[], RegExp]>) {
    const child = spawn(cmd, [...pre, 'ohttp', 'gateway', '--target', targetUrl, '--listen', '127.0.0.1:0', '--simulated', ...extra], { cwd: tmp, env, stdio: ['ignore', 'ignore', 'pipe'] });
    servers.push(child);
    const err = await new Promise<string>((resolvePromise, reject) => {
      let text = '';
      child.stderr!.on('data', (c: Buffer) => {
        text += c.toString();
        if (/replay window/.test(text)) resolvePromise(text);
      });
      child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${text}`)));
    });
    assert.match(err, re);
    child.kill('SIGTERM');
  }
});
