// The console server: static app with a strict CSP and no inline script, a read-only
// API over a bundles directory and a home's keys, loopback only, bounded and coded errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVeriteeError } from '@veritee/core';
import { buildConsoleServer, CONTENT_SECURITY_POLICY, defaultAssetsDir, parseConsoleListen } from './server.js';

function fakeAssets(): string {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-console-assets-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  return dir;
}

function fixtures(): { bundles: string; home: string } {
  const root = mkdtempSync(join(tmpdir(), 'veritee-console-api-'));
  const bundles = join(root, 'bundles');
  mkdirSync(bundles);
  const claim = { kind: 'latency', version: 1, params: { periodStartUs: 1, periodEndUs: 2, minN: 0, slots: [] }, outputs: { n: 0, slots: [], compliant: true } };
  writeFileSync(join(bundles, 'a.json'), JSON.stringify({ format: 'veritee.proof/v2', createdAt: '2026-11-21T00:00:00Z', claim, proof: { setup: 'dev' }, signature: {}, evidence: {} }));
  writeFileSync(join(bundles, 'dup.json'), '{"claim": {"kind": "latency"}, "claim": {"kind": "memory"}}');
  writeFileSync(join(bundles, 'notes.txt'), 'not a bundle');
  const home = join(root, 'home');
  mkdirSync(join(home, 'keys', 'latency-v1-1024'), { recursive: true });
  writeFileSync(join(home, 'keys', 'latency-v1-1024', 'vk.json'), JSON.stringify({ circuit: 'latency', capacity: 1024, setup: { kind: 'dev' } }));
  return { bundles, home };
}

test('every response carries the strict CSP and security headers; the app has no inline script', async () => {
  const app = await buildConsoleServer({ assetsDir: fakeAssets() });
  for (const url of ['/', '/assets/app.js', '/api/bundles', '/nope', '/assets/missing.js']) {
    const r = await app.inject({ url });
    assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY, url);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.equal(r.headers['x-frame-options'], 'DENY');
  }
  assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|https?:|\*/);
  assert.equal((await app.inject({ url: '/nope' })).statusCode, 404);
  assert.equal((await app.inject({ url: '/assets/missing.js' })).statusCode, 404);
  assert.equal((await app.inject({ url: '/assets/../index.html' })).statusCode, 404); // assets are served by exact name only
  await app.close();
});

test('the built app (npm install builds it) has no inline script or style and fetches nothing from outside', () => {
  const html = readFileSync(join(defaultAssetsDir(), 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'inline <script>');
  assert.doesNotMatch(html, /<style|style=/, 'inline style');
  assert.doesNotMatch(html, /https?:\/\//, 'external URL');
});

test('the API lists bundles (strictly parsed, unreadable ones named) and keys, and serves them by exact name only', async () => {
  const { bundles, home } = fixtures();
  const app = await buildConsoleServer({ assetsDir: fakeAssets(), bundlesDir: bundles, home });
  const list = (await app.inject({ url: '/api/bundles' })).json() as { bundles: { name: string; kind?: string; attested?: boolean; problem?: string }[] };
  assert.deepEqual(list.bundles.map((b) => b.name), ['a.json', 'dup.json']);
  assert.equal(list.bundles[0]!.kind, 'latency');
  assert.equal(list.bundles[0]!.attested, true);
  assert.match(list.bundles[1]!.problem!, /^ZK_BUNDLE_INVALID: .*duplicate/i);
  const a = await app.inject({ url: '/api/bundles/a.json' });
  assert.equal(a.statusCode, 200);
  assert.equal(a.headers['content-type'], 'application/json; charset=utf-8');
  for (const bad of ['/api/bundles/..%2Fhome%2Fkeys.json', '/api/bundles/notes.txt', '/api/bundles/missing.json', '/api/bundles/.hidden.json', '/api/keys/..', '/api/keys/nope']) {
    const r = await app.inject({ url: bad });
    assert.equal(r.statusCode, 404, bad);
    assert.equal((r.json() as { error: { code: string } }).error.code, 'NOT_FOUND');
  }
  const keys = (await app.inject({ url: '/api/keys' })).json() as { keys: { id: string; circuit: string; setup: string }[] };
  assert.deepEqual(keys.keys, [{ id: 'latency-v1-1024', circuit: 'latency', capacity: 1024, setup: 'dev' }]);
  assert.equal((await app.inject({ url: '/api/keys/latency-v1-1024' })).statusCode, 200);
  // Read-only: nothing but GET.
  assert.equal((await app.inject({ method: 'POST', url: '/api/bundles', payload: {} })).statusCode, 404);
  await app.close();
});

test('no built app: CONSOLE_ASSETS_MISSING names the file and the fix', async () => {
  await assert.rejects(buildConsoleServer({ assetsDir: mkdtempSync(join(tmpdir(), 'veritee-empty-')) }), (e: unknown) => isVeriteeError(e) && e.code === 'CONSOLE_ASSETS_MISSING' && /index\.html.*npm install/.test(e.message));
});

test('--listen: loopback only, HOST:PORT, [::1]:PORT or PORT', () => {
  assert.deepEqual(parseConsoleListen('127.0.0.1:8799'), { host: '127.0.0.1', port: 8799 });
  assert.deepEqual(parseConsoleListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseConsoleListen('localhost:1'), { host: 'localhost', port: 1 });
  assert.deepEqual(parseConsoleListen('8080'), { host: '127.0.0.1', port: 8080 });
  for (const bad of ['0.0.0.0:80', '10.0.0.1:80', '[::]:80', 'example.com:80', '127.0.0.1:70000', '127.0.0.1', '']) {
    assert.throws(() => parseConsoleListen(bad), (e: unknown) => isVeriteeError(e) && e.code === 'INPUT_INVALID', bad);
  }
});
