// The console in real headless Chromium (Debian's chromium, driven by playwright-core):
// the page verifies a valid bundle (pass) and a tampered one (fails, naming the check)
// entirely in the browser, draws the proofs and attestation pages, and no request
// leaves loopback. Any Content-Security-Policy violation fails the test. Screenshots
// go to a temporary directory (printed), never into the repository.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { BrowserHarness } from './browser-harness.js';
import type { FastifyInstance } from 'fastify';
import { buildConsoleServer } from './server.js';
import { makeConsoleFixtures, type ConsoleFixtures } from './testing.js';

let fx: ConsoleFixtures;
let app: FastifyInstance;
let origin: string;
let harness: BrowserHarness | undefined;
let shots: string;
let tampered: string;

before(async () => {
  const work = mkdtempSync(join(tmpdir(), 'veritee-console-'));
  shots = join(work, 'screenshots');
  fx = await makeConsoleFixtures(join(work, 'bundles'));
  // The tampered bundle: one proven number changed after signing (p95 halved).
  const good = JSON.parse(readFileSync(join(fx.dir, fx.latency[0]!), 'utf8'));
  good.claim.outputs.slots[1].valueUs = Math.floor(good.claim.outputs.slots[1].valueUs / 2);
  tampered = join(work, 'tampered-latency.json');
  writeFileSync(tampered, JSON.stringify(good));
  app = await buildConsoleServer({ bundlesDir: fx.dir, home: fx.home });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  origin = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  harness = await BrowserHarness.launch();
  process.stderr.write(`# console screenshots: ${shots}\n`);
});

after(async () => {
  await harness?.close();
  await app?.close();
});

const newPage = (width?: number, height?: number): Promise<Page> => harness!.newPage(width, height);
const assertNoCsp = (page: Page): Promise<void> => harness!.assertNoCsp(page);

async function chooseDemoTrust(page: Page, o: { simulated: boolean }): Promise<void> {
  await page.check('#trust-server-keys');
  await page.locator('#key-list li', { hasText: /latency v\d+, 1024 records/ }).first().waitFor();
  await page.selectOption('#policy', 'demo');
  await page.check('#allow-dev');
  if (o.simulated) await page.check('#allow-simulated');
}

async function verify(page: Page): Promise<{ verdict: string; ms: number }> {
  await page.click('#verify');
  await page.locator('#result[data-verdict]').waitFor();
  return page.evaluate(() => {
    const r = document.getElementById('result')!;
    return { verdict: r.dataset.verdict!, ms: Number(r.dataset.ms) };
  });
}

test('a valid bundle opened by URL verifies in Chromium: every check listed, the switches announced', async () => {
  const page = await newPage();
  await page.goto(`${origin}/#/verify?bundle=${encodeURIComponent(`/api/bundles/${fx.latency[0]}`)}`);
  await page.locator('#load-status', { hasText: 'Loaded' }).waitFor();
  await chooseDemoTrust(page, { simulated: true });
  await page.fill('#expect', 'kind=latency,sla=p95<100ms,p99<500ms,min=500');
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { verdict, ms } = await verify(page);
    assert.equal(verdict, 'pass', await page.locator('#result').innerText());
    times.push(ms);
  }
  const checks = await page.$$eval('#checks tbody tr', (rows) => rows.map((r) => [r.getAttribute('data-check'), r.className]));
  const names = checks.map((c) => c[0]);
  for (const n of ['evidence.policy.platform', 'enclave_key.bound', 'statement.signature', 'bundle.format', 'claim.expected', 'key.trusted', 'key.setup', 'proof.groth16']) {
    assert.ok(names.some((x) => x === n || (n === 'evidence.policy.platform' && x!.startsWith('evidence.'))), `check ${n} listed (have ${names.join(', ')})`);
  }
  assert.ok(checks.every((c) => c[1] === 'ok'));
  const text = await page.locator('#result').innerText();
  assert.match(text, /VERIFIED \(attested\)/);
  assert.match(text, /DEV keys are accepted/);
  assert.match(text, /SIMULATED TEE is accepted/);
  assert.match(text, /served by this console/);
  await page.screenshot({ path: join(shots, 'verify-pass.png'), fullPage: true });
  const sorted = [...times].sort((a, b) => a - b);
  process.stderr.write(`# browser verification (evidence → key → signature → proof) in Chromium: first ${times[0]!.toFixed(0)} ms, median ${sorted[1]!.toFixed(0)} ms\n`);
  await assertNoCsp(page);
  await page.close();
});

test('a tampered bundle dropped in as a file fails, naming the checks that caught it', async () => {
  const page = await newPage();
  await page.goto(`${origin}/#/verify`);
  await page.setInputFiles('#bundle-file', tampered);
  await page.locator('#load-status', { hasText: 'Loaded tampered-latency.json' }).waitFor();
  await chooseDemoTrust(page, { simulated: true });
  const { verdict } = await verify(page);
  assert.equal(verdict, 'fail');
  const failed = await page.$$eval('#checks tbody tr.failed', (rows) => rows.map((r) => r.getAttribute('data-check')));
  assert.ok(failed.includes('statement.signature'), `failed: ${failed.join(', ')}`);
  assert.ok(failed.includes('proof.groth16'), `failed: ${failed.join(', ')}`);
  assert.match(await page.locator('#first-failure').innerText(), /statement\.signature \[ZK_STATEMENT_SIGNATURE_INVALID\]/);
  await page.screenshot({ path: join(shots, 'verify-tampered.png'), fullPage: true });
  await assertNoCsp(page);
  await page.close();
});

test('fail closed: without the simulated-TEE switch the evidence fails; without trusted keys the key check fails', async () => {
  const page = await newPage();
  await page.goto(`${origin}/#/verify?bundle=${encodeURIComponent(`/api/bundles/${fx.memory[0]}`)}`);
  await page.locator('#load-status', { hasText: 'Loaded' }).waitFor();
  await chooseDemoTrust(page, { simulated: false });
  assert.equal((await verify(page)).verdict, 'fail');
  const failed = await page.$$eval('#checks tbody tr.failed', (rows) => rows.map((r) => r.getAttribute('data-check')!));
  assert.ok(failed.some((n) => n.startsWith('evidence')), `failed: ${failed.join(', ')}`);
  assert.ok(failed.includes('enclave_key.bound'));
  await page.uncheck('#trust-server-keys');
  await page.check('#allow-simulated');
  assert.equal((await verify(page)).verdict, 'fail');
  assert.match(await page.locator('#first-failure').innerText(), /key\.trusted \[ZK_VK_MISMATCH\]/);
  // A URL elsewhere is refused before any request is made.
  await page.fill('#bundle-url', 'http://192.0.2.1/bundle.json');
  await page.click('#bundle-open');
  await page.locator('#load-status', { hasText: 'only URLs on this console' }).waitFor();
  await assertNoCsp(page);
  await page.close();
});

test('proofs page: bundles listed and filtered, latency, scaling plots drawn as inline SVG', async () => {
  const page = await newPage();
  await page.goto(`${origin}/#/proofs`);
  await page.locator('#bundle-table tbody tr').first().waitFor();
  assert.equal(await page.locator('#bundle-table tbody tr').count(), 4);
  const titles = await page.$$eval('svg.chart title', (t) => t.map((x) => x.textContent ?? ''));
  assert.ok(titles.some((t) => t.startsWith('Latency distribution')), titles.join(' | '));
  assert.ok(titles.some((t) => t === 'Proven latency percentiles per period'));
  assert.ok(titles.some((t) => t === 'Scaling decisions against their thresholds'));
  // SLA bounds are drawn, and the scale-out decision is a filled point, the other hollow.
  assert.ok((await page.locator('svg.chart text.note.bound', { hasText: 'SLA p95 < 100.0 ms' }).count()) >= 1);
  assert.equal(await page.locator('svg.chart circle.pt.c0.hollow').count() >= 1, true);
  await page.screenshot({ path: join(shots, 'proofs.png'), fullPage: true });
  await page.selectOption('#filter-kind', 'memory');
  assert.equal(await page.locator('#bundle-table tbody tr').count(), 2);
  await page.fill('#filter-from', '2026-11-20');
  await page.dispatchEvent('#filter-from', 'change');
  assert.equal(await page.locator('#bundle-table tbody tr').count(), 0);
  await assertNoCsp(page);
  await page.close();
});

test('attestation page: the enclave node, its evidence verified in the browser, raw claims one click away; usable on a phone', async () => {
  const page = await newPage(390, 844);
  await page.goto(`${origin}/#/attestation`);
  // Keyboard: the skip link is the first stop and moves focus to the content.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  const node = page.locator('article.node').first();
  await node.waitFor();
  assert.equal(await page.locator('article.node').count(), 1);
  assert.equal(await node.getAttribute('data-verdict'), 'fail', 'the strict production policy refuses simulated evidence');
  await page.selectOption('#att-policy', 'demo');
  await page.check('#att-allow-simulated');
  await page.locator('article.node[data-verdict="pass"]').waitFor();
  const text = await page.locator('article.node').innerText();
  assert.match(text, /snp \(SIMULATED TEE\)/);
  assert.match(text, /Measurement/);
  assert.match(text, /TCB\s+bootloader=\d+/);
  assert.match(text, /Expiry\s+\d{4}-\d{2}-\d{2}T/);
  assert.match(text, /4 bundles signed by this key/);
  await page.locator('article.node summary', { hasText: 'Raw claims' }).click();
  assert.match(await page.locator('article.node pre').innerText(), /"reportData"/);
  // Nothing wider than the phone's screen.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
  await page.screenshot({ path: join(shots, 'attestation-phone.png'), fullPage: true });
  await assertNoCsp(page);
  await page.close();
});

test('every request the pages made stayed on this loopback console', () => {
  assert.ok(harness!.requests.length > 10);
  const outside = harness!.requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'));
  assert.deepEqual(outside, []);
});
