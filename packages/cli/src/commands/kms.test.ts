/**
 * `veritee kms …` as child processes: bootstrap a secret and a policy into an embedded
 * database, serve it on loopback, fetch the secret from a simulated SNP workload, refuse
 * a denied path, and verify the audit chain before and after tampering.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbedded } from '@veritee/kms';
import { runCli, hasStackTrace } from '../testing.js';

let tmp: string;
let server: ChildProcess | undefined;
let url: string;
const SECRET = 'pg-password-7c1e';

function dbArgs(): string[] {
  return ['--db', join(tmp, 'db'), '--root-key', join(tmp, 'root.json')];
}

function serve(): Promise<string> {
  const bin = new URL('../bin.js', import.meta.url);
  const child = spawn(process.execPath, [bin.pathname, 'kms', 'serve', ...dbArgs(), '--policy', join(tmp, 'dev.yaml'), '--sim-anchors', join(tmp, 'anchors.json'), '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server = child;
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/[^\s,]+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`kms serve exited with ${code}: ${err}`)));
  });
}

async function stopServer(): Promise<void> {
  if (!server || server.exitCode !== null) return;
  const s = server;
  await new Promise<void>((r) => {
    s.once('exit', () => r());
    s.kill('SIGTERM');
  });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'veritee-kms-cli-'));
  writeFileSync(join(tmp, 'dev.yaml'), ['name: kms-dev', 'platforms: [snp, tdx]', 'allowSimulated: true', 'reportData: { require: [nonce] }', 'snp: { measurements: any }', 'tdx: { mrtd: any }', ''].join('\n'));
  writeFileSync(join(tmp, 'allow.json'), JSON.stringify({ rules: [{ name: 'dev-sim', platforms: ['snp'], allowSimulated: true }] }));
  writeFileSync(join(tmp, 'deny.json'), JSON.stringify({ rules: [{ name: 'hw-only', platforms: ['snp'] }] }));
});

after(async () => {
  await stopServer();
  rmSync(tmp, { recursive: true, force: true });
});

test('kms secret put / policy put / serve / fetch: the workload gets the secret; a denied path exits 1 with 403', async () => {
  const put = await runCli(['kms', 'secret', 'put', 'tenant-a/db/password', '--value', SECRET, ...dbArgs()]);
  assert.equal(put.code, 0, put.stderr);
  assert.match(put.stdout, /tenant-a\/db\/password: version 1/);
  assert.equal((statSync(join(tmp, 'root.json')).mode & 0o777).toString(8), '600');
  assert.equal((await runCli(['kms', 'secret', 'put', 'tenant-a/prod/key', '--value', 'p', ...dbArgs()])).code, 0);
  assert.equal((await runCli(['kms', 'policy', 'put', 'tenant-a', '--file', join(tmp, 'allow.json'), ...dbArgs()])).code, 0);
  const pol = await runCli(['kms', 'policy', 'put', 'tenant-a', '--prefix', 'prod', '--file', join(tmp, 'deny.json'), ...dbArgs()]);
  assert.equal(pol.code, 0, pol.stderr);

  url = await serve();
  const got = await runCli(['kms', 'fetch', 'kbs:///tenant-a/db/password', '--kms', url, '--tee', 'sim-snp', '--sim-anchors-out', join(tmp, 'anchors.json')]);
  assert.equal(got.code, 0, got.stderr);
  assert.equal(got.stdout, SECRET);
  assert.match(got.stderr, /SIMULATED/);

  const denied = await runCli(['kms', 'fetch', 'kbs:///tenant-a/prod/key', '--kms', url, '--tee', 'sim-snp', '--sim-anchors-out', join(tmp, 'anchors.json')]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /KMS_POLICY_DENIED/);
  assert.match(denied.stderr, /hw-only: simulated evidence not allowed/);
  assert.ok(!hasStackTrace(denied.stderr));

  // evidence from a simulator whose anchors the KMS does not know: 401 listing the failed checks
  const unknown = await runCli(['kms', 'fetch', 'kbs:///tenant-a/db/password', '--kms', url, '--tee', 'sim-snp']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /KMS_ATTESTATION_FAILED/);
  assert.match(unknown.stderr, /failed check/);

  // hardware path: evidence from an external command (here `veritee attest sim`, which also
  // publishes its anchors where the server looks), given the report data in $VERITEE_REPORT_DATA
  const bin = new URL('../bin.js', import.meta.url).pathname;
  const evCmd = `"${process.execPath}" "${bin}" attest sim --platform snp --report-data "$VERITEE_REPORT_DATA" --out "${join(tmp, 'ev.json')}" --anchors-out "${join(tmp, 'anchors.json')}" >/dev/null && cat "${join(tmp, 'ev.json')}"`;
  const hw = await runCli(['kms', 'fetch', 'kbs:///tenant-a/db/password', '--kms', url, '--tee', 'snp', '--evidence-cmd', evCmd, '--out', join(tmp, 'secret.txt')]);
  assert.equal(hw.code, 0, hw.stderr);
  assert.equal(readFileSync(join(tmp, 'secret.txt'), 'utf8'), SECRET);
  assert.equal((statSync(join(tmp, 'secret.txt')).mode & 0o777).toString(8), '600');
  const noCmd = await runCli(['kms', 'fetch', 'kbs:///tenant-a/db/password', '--kms', url, '--tee', 'snp']);
  assert.equal(noCmd.code, 2);
  assert.match(noCmd.stderr, /--evidence-cmd/);

  const bad = await runCli(['kms', 'fetch', 'tenant-a/../etc', '--kms', url, '--tee', 'sim-snp']);
  assert.equal(bad.code, 2);
  await stopServer();
});

test('kms audit verify: passes, prints the head, then detects an edited entry (exit 1)', async () => {
  const ok = await runCli(['kms', 'audit', 'verify', ...dbArgs()]);
  assert.equal(ok.code, 0, ok.stderr);
  const m = /head (\d+):([0-9a-f]{64})/.exec(ok.stdout);
  assert.ok(m, ok.stdout);
  assert.equal((await runCli(['kms', 'audit', 'verify', ...dbArgs(), '--expect-head', `${m[1]}:${m[2]}`])).code, 0);

  const db = await openEmbedded(join(tmp, 'db'));
  try {
    // an attacker with owner rights first switches off the append-only trigger
    await db.query('ALTER TABLE kms_audit DISABLE TRIGGER kms_audit_append_only');
    await db.query("UPDATE kms_audit SET entry = replace(entry, '\"deny\"', '\"allow\"') WHERE entry LIKE '%\"deny\"%'");
  } finally {
    await db.close();
  }
  const broken = await runCli(['kms', 'audit', 'verify', ...dbArgs()]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /KMS_AUDIT_CHAIN_BROKEN/);
  assert.match(broken.stderr, /edited/);
});
