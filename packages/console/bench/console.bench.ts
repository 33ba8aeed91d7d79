/**
 * The web console in real headless Chromium (Debian's chromium, playwright-core):
 *
 *   node --import tsx packages/console/bench/console.bench.ts [--runs 5] [--audit-entries 5000]
 *
 * - the built page's JavaScript and CSS, raw and gzip -9 (what a browser downloads);
 * - a proof bundle (latency SLA, attested: evidence → enclave key → signature → Groth16)
 *   verified on the Verify page, first run and median of the rest;
 * - the KMS audit hash chain of `--audit-entries` entries (a real KMS on embedded PGlite,
 *   entries appended by its AuditLog) read through the console's relay and verified on the
 *   KMS page (the verification alone, not the fetch);
 * - a control-plane decision's memory bundle re-verified on the control-plane page.
 *
 * Needs a built console (node scripts/build.mjs) and /usr/bin/chromium. The browser, the
 * console and the services share this machine: the load average is printed with the table.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { parsePolicy } from '@veritee/attestation';
import { ADMIN_AUDIENCE, buildKmsServer, Kms, openEmbedded, rootKeyBytes } from '@veritee/kms';
import { ProverPool } from '@veritee/zk';
import { buildConsoleServer, defaultAssetsDir } from '../src/server.js';
import { makeConsoleFixtures } from '../src/testing.js';
import { startDemoServices } from '../src/demo-services.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const RUNS = Math.max(2, Number(arg('runs', '5')));
const AUDIT = Math.max(1, Number(arg('audit-entries', '5000')));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

// ---- sizes --------------------------------------------------------------------------
const assets = join(defaultAssetsDir(), 'assets');
const files = readdirSync(assets).filter((f) => f.endsWith('.js') || f.endsWith('.css'));
let jsRaw = 0;
let jsGz = 0;
console.log('## Web console: page size\n');
console.log('| file | raw | gzip -9 |\n|---|---|---|');
for (const f of files.sort()) {
  const b = readFileSync(join(assets, f));
  const gz = gzipSync(b, { level: 9 }).length;
  if (f.endsWith('.js')) {
    jsRaw += b.length;
    jsGz += gz;
  }
  console.log(`| ${f.replace(/-[\w-]{8}\./, '.')} | ${kib(b.length)} | ${kib(gz)} |`);
}
console.log(`| **all JavaScript** | **${kib(jsRaw)}** | **${kib(jsGz)}** |`);

// ---- services and console -------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'veritee-console-bench-'));
const fx = await makeConsoleFixtures(join(work, 'bundles'));
const db = await openEmbedded();
const kms = await Kms.open({ db, rootKey: rootKeyBytes(new Uint8Array(randomBytes(32))), attestationPolicy: parsePolicy({ name: 'bench', platforms: ['snp'], allowSimulated: true, snp: { measurements: 'any' } }) });
for (let i = 0; i < AUDIT; i++) {
  await kms.audit.append({ tenant: `t${i % 4}`, actor: `session:${i.toString(16).padStart(16, '0')}`, action: i % 3 ? 'kbs.release' : 'kbs.attest', decision: i % 17 ? 'allow' : 'deny', resource: `t${i % 4}/app/k${i % 50}`, requestDigest: randomBytes(32).toString('hex'), policyVersions: { app: 1 + (i % 5) } });
}
const kp = await generateKeyPair('ES256', { extractable: true });
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ roles: ['kms-admin'] }).setProtectedHeader({ alg: 'ES256' }).setSubject('bench').setAudience(ADMIN_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 3600).sign(kp.privateKey);
const kmsApp = await buildKmsServer({ kms, adminJwks: { keys: [{ ...(await exportJWK(kp.publicKey)), alg: 'ES256' }] } });
await kmsApp.listen({ host: '127.0.0.1', port: 0 });
const pool = new ProverPool({ home: fx.home, size: 1 });
const services = await startDemoServices({ pool });
await services.proofsDone();
const app = await buildConsoleServer({ bundlesDir: fx.dir, home: fx.home, kms: { url: `http://127.0.0.1:${(kmsApp.server.address() as { port: number }).port}`, token }, cp: services.cp });
await app.listen({ host: '127.0.0.1', port: 0 });
const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking', '--no-first-run'] });

try {
  const page = await browser.newPage();
  // A bundle on the Verify page.
  await page.goto(`${origin}/#/verify?bundle=${encodeURIComponent(`/api/bundles/${fx.latency[0]}`)}`);
  await page.locator('#load-status', { hasText: 'Loaded' }).waitFor();
  await page.check('#trust-server-keys');
  await page.locator('#key-list li', { hasText: 'latency' }).first().waitFor();
  await page.selectOption('#policy', 'demo');
  await page.check('#allow-dev');
  await page.check('#allow-simulated');
  const bundleMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await page.evaluate(() => document.getElementById('result')!.removeAttribute('data-verdict'));
    await page.click('#verify');
    await page.locator('#result[data-verdict]').waitFor();
    const r = await page.evaluate(() => ({ v: document.getElementById('result')!.dataset.verdict, ms: Number(document.getElementById('result')!.dataset.ms) }));
    if (r.v !== 'pass') throw new Error('the bundle did not verify in the browser');
    bundleMs.push(r.ms);
  }
  // The audit chain on the KMS page.
  const auditMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${origin}/#/verify`);
    await page.goto(`${origin}/#/kms`);
    await page.locator('#audit[data-verdict]').waitFor({ timeout: 120_000 });
    const r = await page.evaluate(() => ({ v: document.getElementById('audit')!.dataset.verdict, ms: Number(document.getElementById('audit')!.dataset.ms), n: Number(document.getElementById('audit')!.dataset.entries) }));
    if (r.v !== 'pass' || r.n < AUDIT) throw new Error(`the audit chain did not verify (${r.v}, ${r.n} entries)`);
    auditMs.push(r.ms);
  }
  // A decision's proof on the control-plane page.
  const decisionMs: number[] = [];
  await page.goto(`${origin}/#/control-plane`);
  await page.locator('#decision-table tbody tr').first().waitFor();
  await page.check('#cp-trust-server-keys');
  await page.check('#cp-allow-dev');
  for (let i = 0; i < RUNS; i++) {
    await page.click('#cp-verify');
    await page.locator('#cp-status', { hasText: /^Checked/ }).waitFor();
    const r = await page.evaluate(() => ({ v: document.querySelector('#decision-table tr[data-browser]')?.getAttribute('data-browser'), ms: Number(document.getElementById('decisions')!.dataset.ms) }));
    if (r.v !== 'verified') throw new Error(`the decision's proof did not verify in the browser (${r.v})`);
    decisionMs.push(r.ms);
    await page.evaluate(() => (document.getElementById('cp-status')!.textContent = ''));
  }
  const version = browser.version();
  console.log(`\n## Web console: verification in Chromium ${version} (${RUNS} runs)\n`);
  console.log('| what | first | median of the rest |\n|---|---|---|');
  console.log(`| latency bundle, attested chain (evidence → key → signature → Groth16) | ${bundleMs[0]!.toFixed(0)} ms | ${median(bundleMs.slice(1)).toFixed(0)} ms |`);
  console.log(`| KMS audit hash chain, ${AUDIT} entries (SHA-256 + canonical JSON each) | ${auditMs[0]!.toFixed(0)} ms | ${median(auditMs.slice(1)).toFixed(0)} ms |`);
  console.log(`| control-plane decision: memory bundle + kind/params/outcome | ${decisionMs[0]!.toFixed(0)} ms | ${median(decisionMs.slice(1)).toFixed(0)} ms |`);
  console.log(`\n${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (machine shared with other work).`);
} finally {
  await browser.close();
  await app.close();
  await services.close();
  await pool.close();
  await kmsApp.close();
  await db.close();
}
