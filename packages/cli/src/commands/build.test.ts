/**
 * `veritee build` as a user runs it (child process): build a real git repository in the
 * sealed sandbox, verify the artifact, and the refusals with their codes and exit statuses.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBubblewrap, makeRepo } from '@veritee/build/testing';
import { cliBinPath, hasStackTrace, runCli } from '../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-cli-build-'));
let repo: { dir: string; commit: string };

before(() => {
  ensureBubblewrap();
  repo = makeRepo({ 'src/app.js': 'console.log("hello")\n', 'build.sh': 'mkdir -p dist && cp src/app.js dist/app.js\n' }, dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('veritee build → build verify: VERIFIED with every check listed; tampering, wrong commit and wrong builder measurement are refused with codes', async () => {
  const out = join(dir, 'result');
  const b = await runCli(['build', '--source', repo.dir, '--cmd', 'sh build.sh', '--artifacts', 'dist/', '--out', out]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, new RegExp(`from ${repo.commit} \\(sealed: bwrap`));
  assert.match(b.stderr, /SIMULATED TEE/);
  const tpl = await runCli(['build', 'measurement', '--policy-template']);
  assert.equal(tpl.code, 0);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, tpl.stdout);
  const artifact = join(out, 'artifacts/dist/app.js');
  const v = await runCli(['build', 'verify', artifact, '--provenance', out, '--policy', policy, '--source-commit', repo.commit]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^VERIFIED/);
  for (const name of ['artifact.subject', 'bundle.signature', 'binding.report_data', 'builder.measurement', 'build.sealed', 'source.commit']) assert.match(v.stdout, new RegExp(`✓ ${name.replace('.', '\\.')}:`));

  const viaBundle = await runCli(['build', 'verify', artifact, '--provenance', join(out, 'provenance.sigstore.json'), '--policy', policy, '--json']);
  assert.equal(viaBundle.code, 0, viaBundle.stderr);
  assert.equal(JSON.parse(viaBundle.stdout).ok, true);

  const tampered = join(dir, 'tampered.js');
  writeFileSync(tampered, 'console.log("evil")\n');
  const t = await runCli(['build', 'verify', tampered, '--provenance', out, '--policy', policy]);
  assert.equal(t.code, 1);
  assert.match(t.stdout, /^REFUSED/);
  assert.match(t.stderr, /error\[BUILD_ARTIFACT_MISMATCH\]: build verification failed: 1 of \d+ checks failed \(artifact\.subject\)/);

  const c = await runCli(['build', 'verify', artifact, '--provenance', out, '--policy', policy, '--source-commit', 'f'.repeat(40)]);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /error\[BUILD_SOURCE_MISMATCH\]/);

  const other = join(dir, 'other.yaml');
  writeFileSync(other, tpl.stdout.replace(/measurements: \["[0-9a-f]+"\]/, `measurements: ["${'ab'.repeat(48)}"]`));
  const m = await runCli(['build', 'verify', artifact, '--provenance', out, '--policy', other]);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /error\[BUILD_BUILDER_MEASUREMENT_MISMATCH\]/);
  for (const r of [t, c, m]) assert.equal(hasStackTrace(r.stderr), false);

  const dp = await runCli(['build', 'policy', artifact, '--provenance', out, '--policy', policy, '--launch-measurement', 'cd'.repeat(48)]);
  assert.equal(dp.code, 0, dp.stderr);
  assert.match(dp.stdout, /hostData: \["[0-9a-f]{64}"\]/);
  assert.match(dp.stdout, new RegExp(`commit ${repo.commit}`));
  const refused = await runCli(['build', 'policy', tampered, '--provenance', out, '--policy', policy]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /error\[BUILD_ARTIFACT_MISMATCH\]: no deployment policy from a build that does not verify/);
});

test('veritee build: a network attempt in the sealed phase, usage mistakes and a bad policy are coded errors', async () => {
  const net = makeRepo({ 'b.js': 'require("net").connect(80, "93.184.216.34").on("error", (e) => { console.error(e.code); process.exit(1); });\n' }, dir);
  const n = await runCli(['build', '--source', net.dir, '--cmd', 'node b.js', '--artifacts', 'dist', '--out', join(dir, 'n')]);
  assert.equal(n.code, 1);
  assert.match(n.stderr, /error\[BUILD_NETWORK_IN_SEALED_PHASE\]: the build tried to reach the network/);
  const unknown = await runCli(['build', 'verfy', 'x']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /error\[CLI_COMMAND_UNKNOWN\]: no command "veritee build verfy"/);
  const u = await runCli(['build', '--source', repo.dir, '--artifacts', 'dist']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /error\[CLI_USAGE_INVALID\]: veritee build needs --cmd/);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'version: 1\nbuilder: { platforms: [snp], snp: { measurements: any } }\n');
  const p = await runCli(['build', 'verify', join(dir, 'x'), '--provenance', dir, '--policy', bad]);
  assert.equal(p.code, 2);
  assert.match(p.stderr, /error\[(BUILD_POLICY_INVALID|INPUT_FILE_UNREADABLE)\]/);
  const s = await runCli(['build', 'verify', join(dir, 'x'), '--provenance', dir, '--policy', bad, '--source-commit', 'abc']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /error\[INPUT_INVALID\]: --source-commit "abc"/);
});

test('veritee build serve: a bad port is a usage error, a port in use is SERVICE_LISTEN_FAILED', async () => {
  const bad = await runCli(['build', 'serve', '--port', '99999']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /error\[CLI_USAGE_INVALID\]: --port "99999"/);
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  try {
    const busy = await runCli(['build', 'serve', '--port', String(port)]);
    assert.equal(busy.code, 3);
    assert.match(busy.stderr, new RegExp(`error\\[SERVICE_LISTEN_FAILED\\]: cannot listen on 127\\.0\\.0\\.1:${port}`));
  } finally {
    srv.close();
  }
});

test('veritee build reproduce: two sealed builds of one commit, compared', async () => {
  const out = join(dir, 'repro');
  const r = await runCli(['build', 'reproduce', '--source', repo.dir, '--cmd', 'sh build.sh && date +%s%N > dist/stamp', '--artifacts', 'dist', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /NOT reproducible[\s\S]*## dist\/stamp/);
  const c = await runCli(['build', 'compare', join(out, 'a'), join(out, 'b'), '--json']);
  assert.equal(c.code, 0, c.stderr);
  const rep = JSON.parse(c.stdout);
  assert.deepEqual(rep.identical, ['dist/app.js']);
  assert.deepEqual(rep.differing.map((d: { name: string }) => d.name), ['dist/stamp']);
});

test('veritee build serve --attested: a client pinning the builder measurement attests it on TLS and builds; one pinning another measurement refuses before sending', async () => {
  const { spawn } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const { anchorsFromJson, parsePolicy } = await import('@veritee/attestation');
  const { createAttestedClient } = await import('@veritee/proxy');
  const { isVeriteeError } = await import('@veritee/core');
  const anchorsFile = join(dir, 'serve-anchors.json');
  const child = spawn(process.execPath, [cliBinPath(), 'build', 'serve', '--attested', '--port', '0', '--sim-anchors-out', anchorsFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const [url, measurement] = await new Promise<[string, string]>((ok, fail) => {
      let err = '';
      child.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        const m = /attested build service on (https:\/\/[^\s]+) \(builder measurement ([0-9a-f]{96})\)/.exec(err);
        if (m) ok([m[1]!, m[2]!]);
      });
      child.once('exit', (code) => fail(new Error(`build serve exited with ${code}: ${err}`)));
    });
    const anchors = anchorsFromJson(JSON.parse(readFileSync(anchorsFile, 'utf8')));
    const policyFor = (m: string) => parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: [m] } });
    const good = createAttestedClient({ baseUrl: url, policy: policyFor(measurement), simulatedAnchors: anchors });
    try {
      const info = await good.fetch('/builder');
      assert.equal(info.attestation.verified, true);
      assert.equal(((await info.json()) as { measurement: string }).measurement, measurement);
    } finally {
      await good.close();
    }
    const bad = createAttestedClient({ baseUrl: url, policy: policyFor('ab'.repeat(48)), simulatedAnchors: anchors });
    try {
      await assert.rejects(bad.fetch('/build', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), (e: unknown) => isVeriteeError(e) && /measurement/i.test(e.message));
    } finally {
      await bad.close();
    }
  } finally {
    child.kill('SIGTERM');
  }
});
