// The console's KMS and control-plane pages in real headless Chromium (Debian's chromium,
// driven by playwright-core), against a real KMS and a real control plane started in this
// process (startDemoServices: simulated TEE, in-memory databases, a decision from this
// machine's telemetry proven by the Go prover). The audit chain and the decisions' proofs
// are verified in the browser; the tests then tamper with the services' databases and the
// pages must catch it. No request leaves loopback; any CSP violation fails the test.
// Screenshots go to a temporary directory (printed), never into the repository.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { BrowserHarness } from './browser-harness.js';
import type { FastifyInstance } from 'fastify';
import { ProverPool } from '@veritee/zk';
import { testHome } from '@veritee/zk/testing';
import { buildConsoleServer } from './server.js';
import { startDemoServices, type DemoServices } from './demo-services.js';

let pool: ProverPool;
let services: DemoServices;
let app: FastifyInstance;
let bare: FastifyInstance;
let origin: string;
let bareOrigin: string;
let harness: BrowserHarness | undefined;
let shots: string;

const originOf = (a: FastifyInstance) => {
  const x = a.server.address();
  return `http://127.0.0.1:${typeof x === 'object' && x ? x.port : 0}`;
};

before(async () => {
  const work = mkdtempSync(join(tmpdir(), 'veritee-console-services-'));
  shots = join(work, 'screenshots');
  pool = new ProverPool({ home: testHome(), size: 1 });
  services = await startDemoServices({ pool });
  await services.proofsDone();
  app = await buildConsoleServer({ bundlesDir: join(work, 'none'), home: testHome(), kms: services.kms, cp: services.cp });
  await app.listen({ host: '127.0.0.1', port: 0 });
  origin = originOf(app);
  bare = await buildConsoleServer({ bundlesDir: join(work, 'none'), home: testHome() });
  await bare.listen({ host: '127.0.0.1', port: 0 });
  bareOrigin = originOf(bare);
  harness = await BrowserHarness.launch();
  process.stderr.write(`# console screenshots: ${shots}\n`);
});

after(async () => {
  await harness?.close();
  await app?.close();
  await bare?.close();
  await services?.close();
  await pool?.close();
});

const newPage = (width?: number, height?: number): Promise<Page> => harness!.newPage(width, height);
const assertNoCsp = (page: Page): Promise<void> => harness!.assertNoCsp(page);

/** What someone who owns the KMS database can do: the append-only trigger off around an edit. */
async function tamperKms(sql: string): Promise<void> {
  const db = services.databases.kms;
  await db.query('ALTER TABLE kms_audit DISABLE TRIGGER kms_audit_append_only');
  try {
    await db.query(sql);
  } finally {
    await db.query('ALTER TABLE kms_audit ENABLE TRIGGER kms_audit_append_only');
  }
}

async function auditVerdict(page: Page): Promise<{ verdict: string; ms: number; entries: number; problems: string[] }> {
  await page.locator('#audit[data-verdict]').waitFor();
  return page.evaluate(() => {
    const a = document.getElementById('audit')!;
    return { verdict: a.dataset.verdict!, ms: Number(a.dataset.ms), entries: Number(a.dataset.entries), problems: Array.from(document.querySelectorAll('#audit-problems li')).map((li) => `${li.getAttribute('data-kind')} ${li.textContent}`) };
  });
}

test('KMS page: the audit chain verifies in Chromium; secrets by metadata only; attestation and re-attestation events listed', async () => {
  // The values the KMS holds, read here directly (the console never asks for them).
  const values: string[] = [];
  for (const p of ['app/db-password', 'app/api-key', 'ops/break-glass']) {
    const r = await fetch(`${services.kms.url}/kms/v0/tenants/demo-tenant/secrets/data/${p}`, { headers: { authorization: `Bearer ${services.kms.token}` } });
    const j = (await r.json()) as { data: { data: Record<string, string> } };
    values.push(...Object.values(j.data.data));
  }
  assert.equal(values.length, 3);
  const page = await newPage();
  await page.goto(`${origin}/#/kms`);
  const v = await auditVerdict(page);
  assert.equal(v.verdict, 'pass', v.problems.join('; '));
  assert.ok(v.entries >= 14, `entries ${v.entries}`);
  const text = await page.locator('main').innerText();
  assert.match(text, /Hash chain VERIFIED in this browser/);
  assert.match(text, /MACs are NOT checked/);
  assert.match(await page.locator('#attest-summary').innerText(), /^2 attestations \(2 accepted, 0 refused\)/);
  assert.equal(await page.locator('#events-table tr[data-action="kbs.attest"]').count(), 2);
  const tenant = page.locator('article.tenant[data-tenant="demo-tenant"]');
  await tenant.locator('tr[data-path="ops/break-glass"]').waitFor();
  assert.deepEqual(await tenant.locator('tr[data-path]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path'))), ['app/api-key', 'app/db-password', 'ops/break-glass']);
  assert.match(await tenant.locator('tr[data-path="app/db-password"]').innerText(), /^app\/db-password\s+2\s+2 kept/);
  await tenant.locator('li[data-transit="app-data"]').waitFor();
  assert.match(await page.locator('#audit-table').innerText(), /kbs\.release\s+deny\s+demo-tenant\/ops\/break-glass/);
  const html = await page.content();
  for (const s of [...values, services.kms.token]) assert.ok(!html.includes(s), 'no secret value and no admin token reaches the page');
  await page.screenshot({ path: join(shots, 'kms.png'), fullPage: true });
  process.stderr.write(`# KMS audit chain (${v.entries} entries) verified in Chromium in ${v.ms.toFixed(1)} ms\n`);
  await assertNoCsp(page);

  // A truncated tail: this browser recorded the head it verified, so a shorter log is caught.
  await tamperKms('DELETE FROM kms_audit WHERE seq = (SELECT max(seq) FROM kms_audit)');
  await page.click('#audit-verify');
  await page.locator('#audit[data-verdict="fail"]').waitFor();
  const t = await auditVerdict(page);
  assert.ok(t.problems.some((p) => /^truncated .*the recorded head \d+ is gone/.test(p)), t.problems.join('; '));
  // An edited entry: the deny becomes an allow.
  await tamperKms(`UPDATE kms_audit SET entry = replace(entry, '"decision":"deny"', '"decision":"allow"') WHERE entry LIKE '%"decision":"deny"%'`);
  await page.fill('#audit-head', '');
  await page.click('#audit-verify');
  await page.locator('#audit-problems li[data-kind="edited"]').waitFor();
  const e = await auditVerdict(page);
  assert.equal(e.verdict, 'fail');
  assert.ok(e.problems.some((p) => /^edited edited: entry \d+: its content does not match its hash/.test(p)), e.problems.join('; '));
  await page.screenshot({ path: join(shots, 'kms-tampered.png'), fullPage: true });
  await assertNoCsp(page);
  await page.close();
});

test('control-plane page: the decision and its proof status; its bundle verified in Chromium; a tampered bundle caught', async () => {
  const page = await newPage(390, 844);
  await page.goto(`${origin}/#/control-plane`);
  const row = page.locator(`#decision-table tr[data-decision="${services.decisions[0]}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute('data-cp-proof'), 'verified');
  assert.match(await page.locator('#cp-workloads').innerText(), /demo-web: 2 replicas/);
  // Trusting nothing, the proof does not verify (fail closed) …
  await page.click('#cp-verify');
  await page.locator('tr[data-browser]').first().waitFor();
  assert.equal(await row.getAttribute('data-browser'), 'failed');
  assert.equal(await row.getAttribute('data-disagrees'), 'true');
  // … trusting the console's keys and DEV setups, it does.
  await page.check('#cp-trust-server-keys');
  await page.check('#cp-allow-dev');
  await page.click('#cp-verify');
  await page.locator(`tr[data-decision="${services.decisions[0]}"][data-browser="verified"]`).waitFor();
  assert.equal(await row.getAttribute('data-disagrees'), 'false');
  assert.equal(await page.locator('svg.chart circle.pt.c0:not(.hollow)').count(), 1);
  const ms = Number(await page.locator('#decisions').getAttribute('data-ms'));
  assert.match(await page.locator('#cp-status').innerText(), /^Checked 1 proof bundle of 1 decisions/);
  process.stderr.write(`# control-plane decision proof verified in Chromium in ${ms.toFixed(0)} ms\n`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'usable on a phone: nothing wider than the screen');
  await page.screenshot({ path: join(shots, 'control-plane-phone.png'), fullPage: true });
  // Someone changes the stored bundle: a stricter threshold than was proven.
  const db = services.databases.cp;
  const [r] = await db.query('SELECT bundle FROM cp_decisions WHERE id = $1', [services.decisions[0]]);
  const b = JSON.parse(String(r!.bundle));
  b.claim.params.thresholdBp = 5000;
  await db.query('UPDATE cp_decisions SET bundle = $2 WHERE id = $1', [services.decisions[0], JSON.stringify(b)]);
  await page.click('#cp-verify');
  await page.locator(`tr[data-decision="${services.decisions[0]}"][data-browser="failed"]`).waitFor();
  assert.equal(await row.getAttribute('data-disagrees'), 'true');
  assert.equal(await row.locator('li[data-check="proof.groth16"]').getAttribute('data-ok'), 'false');
  assert.equal(await row.locator('li[data-check="decision.params"]').getAttribute('data-ok'), 'false');
  // The replicas plot marks the decision's point hollow: its proof no longer verifies here.
  assert.deepEqual(await page.$$eval('svg.chart > title', (t) => t.map((x) => x.textContent)), ['Replicas over time']);
  assert.equal(await page.locator('svg.chart circle.pt.c0.hollow').count(), 1);
  await assertNoCsp(page);
  await page.close();
});

test('from inside the page, the relay refuses writes and secret values; a console without services says so', async () => {
  const page = await newPage();
  await page.goto(`${origin}/#/verify`);
  const answers = await page.evaluate(async () => {
    const out: [number, string][] = [];
    for (const [method, url] of [['POST', '/api/kms/tenants/demo-tenant/secrets/data/app/api-key'], ['DELETE', '/api/kms/tenants/demo-tenant/secrets/metadata/app/api-key'], ['GET', '/api/kms/tenants/demo-tenant/secrets/data/app/api-key'], ['POST', '/api/cp/workloads']] as const) {
      const r = await fetch(url, { method, ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) });
      out.push([r.status, ((await r.json()) as { error: { code: string } }).error.code]);
    }
    return out;
  });
  assert.deepEqual(answers, [
    [405, 'CONSOLE_RELAY_REFUSED'],
    [405, 'CONSOLE_RELAY_REFUSED'],
    [403, 'CONSOLE_RELAY_REFUSED'],
    [405, 'CONSOLE_RELAY_REFUSED'],
  ]);
  await page.goto(`${bareOrigin}/#/kms`);
  await page.locator('main[data-kms="not-configured"]').waitFor();
  assert.match(await page.locator('#kms-health').innerText(), /CONSOLE_SERVICE_NOT_CONFIGURED/);
  await page.goto(`${bareOrigin}/#/control-plane`);
  await page.locator('main[data-cp="not-configured"]').waitFor();
  await assertNoCsp(page);
  await page.close();
});

test('every request the pages made stayed on the loopback consoles', () => {
  assert.ok(harness!.requests.length > 10);
  const outside = harness!.requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith(`${bareOrigin}/`) && !u.startsWith('data:'));
  assert.deepEqual(outside, []);
});
