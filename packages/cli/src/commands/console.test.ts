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
