/**
 * Attestable builds end to end: real git repositories, the real bubblewrap sandbox
 * (installed when missing), real npm offline installs from the verified fetch cache,
 * real Sigstore bundles and simulated-TEE evidence checked by the real verifiers; then
 * one negative per link of the chain.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { fromBase64, isVeriteeError, sha256, toBase64 } from '@veritee/core';
import { SimulatedTee } from '@veritee/attestation';
import {
  builderMeasurement,
  buildReportData,
  devBuildPolicyYaml,
  generateEnclaveKey,
  parseBuildPolicy,
  runBuild,
  signProvenance,
  verifyBuild,
  type BuildPolicy,
  type BuildResult,
  type BuildVerification,
} from './index.js';
import { ensureBubblewrap, lockfileFor, makeRepo, npmTarball, serveLoopback, writeFiles, git } from './testing.js';

const scratch = mkdtempSync(join(tmpdir(), 'veritee-build-test-'));
let tee: SimulatedTee;
let server: Server;
let base: string;
let good: { tgz: Uint8Array; integrity: string };
let repo: { dir: string; commit: string };
let out: string;
let built: BuildResult;
let policy: BuildPolicy;
const at = () => new Date();
const CMD = 'npm ci --ignore-scripts && mkdir -p dist && node src/main.js > dist/out.txt && cp src/main.js dist/main.js';

function appFiles(resolved: string, integrity: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'pad-x': '1.0.0' } }),
    'package-lock.json': lockfileFor('app', [{ name: 'pad-x', version: '1.0.0', resolved, integrity }]),
    'src/main.js': 'console.log(require("pad-x")("built"))\n',
  };
}

before(async () => {
  ensureBubblewrap();
  tee = await SimulatedTee.create({ platforms: ['snp', 'tdx'] });
  good = npmTarball('pad-x', '1.0.0', 'module.exports = (s) => "[" + s + "]";');
  const evil = npmTarball('pad-x', '1.0.0', 'module.exports = (s) => "pwned";');
  ({ url: base, server } = await serveLoopback({ '/pad-x-1.0.0.tgz': good.tgz, '/evil/pad-x-1.0.0.tgz': evil.tgz }));
  repo = makeRepo(appFiles(`${base}/pad-x-1.0.0.tgz`, good.integrity), scratch);
  out = join(scratch, 'out');
  built = await runBuild({ source: repo.dir, command: CMD, artifacts: ['dist/'], outDir: out, tee });
  policy = parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()));
});

after(() => {
  server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function copyOut(name: string): string {
  const d = join(scratch, name);
  cpSync(out, d, { recursive: true });
  return d;
}

async function verify(dir: string, opts: { artifact?: string | Uint8Array; policy?: BuildPolicy; sourceCommit?: string } = {}): Promise<BuildVerification> {
  return verifyBuild({
    artifact: opts.artifact ?? join(dir, 'artifacts/dist/out.txt'),
    files: { dir },
    policy: opts.policy ?? policy,
    at: at(),
    ...(opts.sourceCommit ? { sourceCommit: opts.sourceCommit } : {}),
  });
}

function failed(v: BuildVerification): Record<string, string | undefined> {
  return Object.fromEntries(v.failures.map((c) => [c.name, c.code]));
}

async function rejects(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isVeriteeError(e), `not a VeriteeError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

/**
 * A "builder" that signs and attests an arbitrary statement: a fresh key, a real bundle,
 * evidence from the same simulated TEE with the genuine builder measurement.
 */
async function forge(name: string, mutate: (s: any) => void, measurement = builderMeasurement()): Promise<string> {
  const d = copyOut(name);
  const s = JSON.parse(readFileSync(join(out, 'provenance.json'), 'utf8'));
  mutate(s);
  const payload = new TextEncoder().encode(JSON.stringify(s));
  const key = generateEnclaveKey();
  writeFileSync(join(d, 'provenance.json'), payload);
  writeFileSync(join(d, 'provenance.sigstore.json'), JSON.stringify(await signProvenance(payload, key)));
  writeFileSync(join(d, 'builder-key.pem'), key.publicPem);
  const ev = tee.evidence('snp', { reportData: buildReportData(payload, key.spki), measurement: Buffer.from(measurement, 'hex') });
  writeFileSync(join(d, 'evidence.json'), JSON.stringify(ev));
  return d;
}

test('a build pins its inputs, runs sealed with npm offline from the verified fetch cache, and its provenance verifies end to end', async () => {
  assert.equal(built.commit, repo.commit);
  assert.deepEqual(built.subjects.map((s) => s.name), ['dist/main.js', 'dist/out.txt']);
  assert.equal(readFileSync(join(out, 'artifacts/dist/out.txt'), 'utf8'), '[built]\n', 'the dependency fetched in the fetch phase was installed offline');
  assert.equal(built.sealing.method, 'bwrap');
  const s = JSON.parse(readFileSync(join(out, 'provenance.json'), 'utf8'));
  // kettle's field layout
  assert.equal(s._type, 'https://in-toto.io/Statement/v1');
  assert.equal(s.predicateType, 'https://slsa.dev/provenance/v1');
  const bd = s.predicate.buildDefinition;
  assert.equal(bd.buildType, 'https://veritee.dev/build/npm@v1');
  assert.equal(bd.externalParameters.buildCommand, CMD);
  assert.equal(bd.externalParameters.source.digest.gitCommit, repo.commit);
  assert.equal(bd.externalParameters.source.digest.gitTree, git(repo.dir, 'rev-parse', 'HEAD^{tree}'));
  assert.equal(bd.internalParameters.lockfileHash.sha256, Buffer.from(sha256(readFileSync(join(repo.dir, 'package-lock.json')))).toString('hex'));
  assert.equal(bd.internalParameters.toolchain.node, process.versions.node);
  assert.equal(bd.internalParameters.toolchain['veritee-build'].digest.sha384, builderMeasurement());
  assert.deepEqual(bd.internalParameters.sealing, { sealed: true, method: 'bwrap', network: 'none', readOnlyInputs: true, cleanEnvironment: true, privateTmp: true });
  assert.deepEqual(bd.resolvedDependencies, [
    { name: 'pad-x', uri: 'pkg:npm/pad-x@1.0.0', digest: { sha512: Buffer.from(fromBase64(good.integrity.slice(7))).toString('hex') }, downloadLocation: `${base}/pad-x-1.0.0.tgz` },
  ]);
  assert.equal(s.predicate.runDetails.builder.id, 'https://veritee.dev/build/tee-builder/v1');
  assert.match(s.predicate.runDetails.metadata.invocationId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(s.predicate.runDetails.byproducts, [{ name: 'input_merkle_root', digest: { sha256: built.merkleRoot } }]);
  const v = await verify(out, { sourceCommit: repo.commit });
  assert.deepEqual(v.failures, []);
  assert.ok(v.ok);
  assert.deepEqual(
    v.checks.map((c) => c.name),
    ['bundle.format', 'bundle.signature', 'provenance.format', 'provenance.file', 'artifact.subject', 'binding.report_data', 'builder.evidence', 'builder.measurement', 'builder.id', 'build.sealed', 'source.commit', 'inputs.verified', 'inputs.merkle'],
  );
  assert.equal(v.subject, 'dist/out.txt');
});

test('the same inputs give the same input Merkle root; the export is the commit, not the dirty working tree', async () => {
  writeFileSync(join(repo.dir, 'src/main.js'), 'console.log("uncommitted")\n');
  try {
    const r = await runBuild({ source: `file://${repo.dir}`, command: CMD, artifacts: ['dist'], outDir: join(scratch, 'again'), tee });
    assert.equal(r.merkleRoot, built.merkleRoot);
    assert.equal(readFileSync(join(scratch, 'again/artifacts/dist/out.txt'), 'utf8'), '[built]\n');
  } finally {
    git(repo.dir, 'checkout', '--', 'src/main.js');
  }
});

test('a build that reaches for the network in the sealed phase fails and says so (bwrap and unshare)', async () => {
  const r = makeRepo({ 'build.js': 'require("net").connect(443, "1.1.1.1").on("error", (e) => { console.error("connect failed:", e.code); process.exit(1); });\n' }, scratch);
  await rejects(runBuild({ source: r.dir, command: 'node build.js', artifacts: ['dist'], outDir: join(scratch, 'net1'), tee }), 'BUILD_NETWORK_IN_SEALED_PHASE', /ENETUNREACH/);
  const dns = makeRepo({ 'build.js': 'require("dns").lookup("registry.npmjs.org", (e) => { console.error("lookup failed:", e && e.code); process.exit(e ? 1 : 0); });\n' }, scratch);
  await rejects(runBuild({ source: dns.dir, command: 'node build.js', artifacts: ['dist'], outDir: join(scratch, 'net2'), tee, sandbox: 'unshare' }), 'BUILD_NETWORK_IN_SEALED_PHASE', /EAI_AGAIN|ENOTFOUND/);
});

test('the unshare sandbox is recorded as such (no read-only inputs) and a policy can refuse it', async () => {
  const r = makeRepo({ 'a.txt': 'x\n' }, scratch);
  const res = await runBuild({ source: r.dir, command: 'mkdir -p dist && cp a.txt dist/a.txt', artifacts: ['dist'], outDir: join(scratch, 'unsh'), tee, sandbox: 'unshare' });
  assert.deepEqual(res.sealing, { sealed: true, method: 'unshare', network: 'none', readOnlyInputs: false, cleanEnvironment: true, privateTmp: false });
  const ok = await verify(join(scratch, 'unsh'), { artifact: join(scratch, 'unsh/artifacts/dist/a.txt') });
  assert.ok(ok.ok, JSON.stringify(ok.failures));
  const strict = parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()) + 'sandboxes: [bwrap]\n');
  const v = await verify(join(scratch, 'unsh'), { artifact: join(scratch, 'unsh/artifacts/dist/a.txt'), policy: strict });
  assert.deepEqual(failed(v), { 'build.sealed': 'BUILD_NOT_SEALED' });
});

test('the sealed phase has a clean environment and cannot write the dependencies', async () => {
  process.env['VERITEE_SECRET_CANARY'] = 'leak';
  try {
    const r = makeRepo({ 'x': '' }, scratch);
    await runBuild({
      source: r.dir,
      command: 'mkdir -p dist && env > dist/env.txt && (touch "$VERITEE_DEPS/x" 2>/dev/null && echo writable || echo readonly) > dist/deps.txt',
      artifacts: ['dist'],
      outDir: join(scratch, 'env'),
      tee,
    });
    const env = readFileSync(join(scratch, 'env/artifacts/dist/env.txt'), 'utf8');
    assert.doesNotMatch(env, /VERITEE_SECRET_CANARY/);
    assert.match(env, /VERITEE_BUILD_SEALED=1/);
    assert.equal(readFileSync(join(scratch, 'env/artifacts/dist/deps.txt'), 'utf8'), 'readonly\n');
  } finally {
    delete process.env['VERITEE_SECRET_CANARY'];
  }
});

test('a dependency whose bytes do not match the lockfile digest is refused in the fetch phase', async () => {
  const r = makeRepo(appFiles(`${base}/evil/pad-x-1.0.0.tgz`, good.integrity), scratch);
  await rejects(runBuild({ source: r.dir, command: CMD, artifacts: ['dist'], outDir: join(scratch, 'dep'), tee }), 'BUILD_DEPENDENCY_DIGEST_MISMATCH', /pkg:npm\/pad-x@1\.0\.0.*sha512/);
  const noIntegrity = makeRepo(
    {
      'package-lock.json': JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/a': { version: '1.0.0', resolved: `${base}/a.tgz` } } }),
    },
    scratch,
  );
  await rejects(runBuild({ source: noIntegrity.dir, command: 'true', artifacts: ['dist'], outDir: join(scratch, 'dep2'), tee }), 'BUILD_DEPENDENCY_DIGEST_MISMATCH', /without an integrity digest/);
  const missing = makeRepo(appFiles(`${base}/nope.tgz`, good.integrity), scratch);
  await rejects(runBuild({ source: missing.dir, command: CMD, artifacts: ['dist'], outDir: join(scratch, 'dep3'), tee }), 'BUILD_DEPENDENCY_FETCH_FAILED', /HTTP 404/);
});

test('a failing build, a build without artifacts and a source that is not a repository are refused with their codes', async () => {
  const r = makeRepo({ 'a': '' }, scratch);
  await rejects(runBuild({ source: r.dir, command: 'echo boom >&2; exit 3', artifacts: ['dist'], outDir: join(scratch, 'f1'), tee }), 'BUILD_COMMAND_FAILED', /exited with 3: "boom"/);
  await rejects(runBuild({ source: r.dir, command: 'true', artifacts: ['dist'], outDir: join(scratch, 'f2'), tee }), 'BUILD_ARTIFACT_MISSING');
  await rejects(runBuild({ source: r.dir, command: 'sleep 30', artifacts: ['dist'], outDir: join(scratch, 'f5'), tee, timeoutMs: 500 }), 'BUILD_COMMAND_FAILED', /did not finish within 1 s/);
  await rejects(runBuild({ source: scratch, command: 'true', artifacts: ['dist'], outDir: join(scratch, 'f3'), tee }), 'BUILD_SOURCE_INVALID');
  await rejects(runBuild({ source: r.dir, command: 'true', artifacts: ['../etc'], outDir: join(scratch, 'f4'), tee }), 'INPUT_INVALID');
  await rejects(runBuild({ source: r.dir, command: 'true', artifacts: ['dist'], outDir: out, tee }), 'INPUT_FILE_UNWRITABLE', /not empty/);
});

test('a build cannot smuggle host files out through symbolic links, and the export must be the commit byte for byte', async () => {
  const r = makeRepo({ 'a': '' }, scratch);
  await rejects(runBuild({ source: r.dir, command: 'ln -s /etc dist', artifacts: ['dist/hostname'], outDir: join(scratch, 'ln1'), tee }), 'BUILD_ARTIFACT_MISSING', /outside the build tree/);
  await rejects(runBuild({ source: r.dir, command: 'mkdir -p dist && ln -s /etc/hostname dist/h', artifacts: ['dist'], outDir: join(scratch, 'ln2'), tee }), 'BUILD_ARTIFACT_MISSING');
  const subst = makeRepo({ '.gitattributes': 'v.txt export-subst\n', 'v.txt': '$Format:%H$\n' }, scratch);
  await rejects(runBuild({ source: subst.dir, command: 'true', artifacts: ['dist'], outDir: join(scratch, 'subst'), tee }), 'BUILD_SOURCE_INVALID', /export-subst/);
  const ign = makeRepo({ '.gitattributes': 'secret.txt export-ignore\n', 'secret.txt': 'x\n' }, scratch);
  await rejects(runBuild({ source: ign.dir, command: 'true', artifacts: ['dist'], outDir: join(scratch, 'ign'), tee }), 'BUILD_SOURCE_INVALID', /export-ignore/);
});

test('negative: a tampered artifact matches no subject', async () => {
  const v = await verify(out, { artifact: new TextEncoder().encode('[built]\n\n') });
  assert.deepEqual(failed(v), { 'artifact.subject': 'BUILD_ARTIFACT_MISMATCH' });
});

test('negative: a tampered provenance (file or signed payload) is refused', async () => {
  const d = copyOut('tprov');
  writeFileSync(join(d, 'provenance.json'), readFileSync(join(d, 'provenance.json'), 'utf8').replace(repo.commit, 'f'.repeat(40)));
  assert.deepEqual(failed(await verify(d)), { 'provenance.file': 'BUILD_PROVENANCE_INVALID' });
  const d2 = copyOut('tpayload');
  const b = JSON.parse(readFileSync(join(d2, 'provenance.sigstore.json'), 'utf8'));
  const payload = new TextDecoder().decode(fromBase64(b.dsseEnvelope.payload)).replace('"sealed": true', '"sealed": false');
  b.dsseEnvelope.payload = toBase64(new TextEncoder().encode(payload));
  writeFileSync(join(d2, 'provenance.sigstore.json'), JSON.stringify(b));
  const v = await verify(d2);
  assert.equal(v.ok, false);
  assert.equal(failed(v)['bundle.signature'], 'BUILD_SIGNATURE_INVALID');
  assert.equal(failed(v)['build.sealed'], 'BUILD_NOT_SEALED', 'later checks fail closed (not evaluated)');
});

test('negative: a provenance re-signed by another key is refused (hint, or the evidence does not bind that key)', async () => {
  const d = copyOut('resigned');
  const payload = readFileSync(join(d, 'provenance.json'));
  const other = generateEnclaveKey();
  writeFileSync(join(d, 'provenance.sigstore.json'), JSON.stringify(await signProvenance(payload, other)));
  assert.deepEqual(failed(await verify(d)), { 'bundle.format': 'BUILD_SIGNER_NOT_ATTESTED', 'bundle.signature': 'BUILD_SIGNATURE_INVALID', 'provenance.format': 'BUILD_PROVENANCE_INVALID', 'provenance.file': 'BUILD_PROVENANCE_INVALID', 'artifact.subject': 'BUILD_ARTIFACT_MISMATCH', 'binding.report_data': 'BUILD_EVIDENCE_BINDING_MISMATCH', 'builder.evidence': 'BUILD_BUILDER_UNTRUSTED', 'builder.measurement': 'BUILD_BUILDER_UNTRUSTED', 'builder.id': 'BUILD_SOURCE_MISMATCH', 'build.sealed': 'BUILD_NOT_SEALED', 'source.commit': 'BUILD_SOURCE_MISMATCH' });
  writeFileSync(join(d, 'builder-key.pem'), other.publicPem);
  const v = await verify(d);
  assert.deepEqual(failed(v), { 'binding.report_data': 'BUILD_SIGNER_NOT_ATTESTED' });
  assert.match(v.failures[0]!.detail, new RegExp(`signed by key ${other.hint.slice(0, 16)}.*attests key ${built.keyHash.slice(0, 16)}.*re-signed by another key`));
  // the binding hints are only believed when they recompute to the signed report data
  const hints = JSON.parse(readFileSync(join(d, 'binding.json'), 'utf8'));
  writeFileSync(join(d, 'binding.json'), JSON.stringify({ ...hints, publicKeyHash: other.hint }));
  assert.deepEqual(failed(await verify(d)), { 'binding.report_data': 'BUILD_EVIDENCE_BINDING_MISMATCH' });
});

test('negative: evidence whose report data binds a different provenance is refused', async () => {
  const d = copyOut('otherprov');
  const key = readFileSync(join(d, 'builder-key.pem'), 'utf8');
  const spki = new Uint8Array((await import('node:crypto')).createPublicKey(key).export({ type: 'spki', format: 'der' }));
  const another = new TextEncoder().encode('{"another":"provenance"}');
  const ev = tee.evidence('snp', { reportData: buildReportData(another, spki), measurement: Buffer.from(builderMeasurement(), 'hex') });
  writeFileSync(join(d, 'evidence.json'), JSON.stringify(ev));
  assert.deepEqual(failed(await verify(d)), { 'binding.report_data': 'BUILD_EVIDENCE_BINDING_MISMATCH' });
  // with the builder's binding hints, the failure says which provenance the evidence binds
  const anotherHash = Buffer.from(sha256(another)).toString('hex');
  writeFileSync(join(d, 'binding.json'), JSON.stringify({ version: 1, publicKeyHash: built.keyHash, provenanceSha256: anotherHash }));
  const v = await verify(d);
  assert.deepEqual(failed(v), { 'binding.report_data': 'BUILD_EVIDENCE_BINDING_MISMATCH' });
  assert.match(v.failures[0]!.detail, new RegExp(`binds provenance ${anotherHash.slice(0, 16)}…, not this provenance ${built.provenanceSha256.slice(0, 16)}`));
});

test('negative: tampered evidence is refused', async () => {
  const d = copyOut('tevidence');
  const ev = JSON.parse(readFileSync(join(d, 'evidence.json'), 'utf8'));
  const report = fromBase64(ev.evidence.attestation_report);
  report[0x30] ^= 1; // a signed field (guest policy area), not report data
  ev.evidence.attestation_report = toBase64(report);
  writeFileSync(join(d, 'evidence.json'), JSON.stringify(ev));
  const v = await verify(d);
  assert.equal(failed(v)['builder.evidence'], 'BUILD_BUILDER_UNTRUSTED');
  assert.match(v.failures.find((c) => c.name === 'builder.evidence')!.detail, /signature/);
});

test('negative: a builder launch measurement outside the policy is refused, and a policy must pin it', async () => {
  const other = parseBuildPolicy(devBuildPolicyYaml('ab'.repeat(48)));
  assert.deepEqual(failed(await verify(out, { policy: other })), { 'builder.measurement': 'BUILD_BUILDER_MEASUREMENT_MISMATCH' });
  const d = await forge('badmeas', () => {}, 'cd'.repeat(48));
  assert.deepEqual(failed(await verify(d)), { 'builder.measurement': 'BUILD_BUILDER_MEASUREMENT_MISMATCH' });
  assert.throws(() => parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()).replace(/measurements: \[.*\]/, 'measurements: any')), /pin the builder's launch measurement/);
  assert.throws(() => parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()) + 'requireSeal: true\n'), (e: unknown) => isVeriteeError(e, 'BUILD_POLICY_INVALID') && /requireSeal/.test(e.message));
});

test('negative: simulated builder evidence is refused by a policy that does not allow it', async () => {
  const prod = parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()).replace('allowSimulated: true', 'allowSimulated: false'));
  const v = await verify(out, { policy: prod });
  assert.equal(failed(v)['builder.evidence'], 'BUILD_BUILDER_UNTRUSTED');
});

test('negative: an unsealed build is refused under the default policy, accepted only when the policy says so', async () => {
  const d = await forge('unsealed', (s) => delete s.predicate.buildDefinition.internalParameters.sealing);
  assert.deepEqual(failed(await verify(d)), { 'build.sealed': 'BUILD_NOT_SEALED' });
  const d2 = await forge('netsealed', (s) => (s.predicate.buildDefinition.internalParameters.sealing.network = 'host'));
  assert.deepEqual(failed(await verify(d2)), { 'build.sealed': 'BUILD_NOT_SEALED' });
  const lax = parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()).replace('requireSealed: true', 'requireSealed: false'));
  assert.ok((await verify(d, { policy: lax })).ok);
});

test('negative: a different source commit, repository or builder id is refused', async () => {
  assert.deepEqual(failed(await verify(out, { sourceCommit: 'a'.repeat(40) })), { 'source.commit': 'BUILD_SOURCE_MISMATCH' });
  const pinned = parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()) + `sourceCommits: ["${'b'.repeat(40)}"]\nsourceUris: ["git+file:///elsewhere"]\n`);
  assert.deepEqual(failed(await verify(out, { policy: pinned })), { 'source.commit': 'BUILD_SOURCE_MISMATCH', 'source.repository': 'BUILD_SOURCE_MISMATCH' });
  const d = await forge('otherbuilder', (s) => (s.predicate.runDetails.builder.id = 'https://example.invalid/builder'));
  assert.deepEqual(failed(await verify(d)), { 'builder.id': 'BUILD_SOURCE_MISMATCH' });
});

test('negative: inputs.json that does not recompute to the recorded Merkle root is refused', async () => {
  const d = copyOut('tinputs');
  const inputs = JSON.parse(readFileSync(join(d, 'inputs.json'), 'utf8'));
  inputs.leaves[0].value = 'sha256:' + '0'.repeat(64);
  writeFileSync(join(d, 'inputs.json'), JSON.stringify(inputs));
  assert.deepEqual(failed(await verify(d)), { 'inputs.merkle': 'BUILD_PROVENANCE_INVALID' });
});

test('negative: provenance that is not SLSA v1 in an in-toto Statement is refused even when signed and attested', async () => {
  const d = await forge('notslsa', (s) => (s.predicateType = 'https://slsa.dev/provenance/v0.2'));
  assert.equal(failed(await verify(d))['provenance.format'], 'BUILD_PROVENANCE_INVALID');
  const dup = copyOut('dupkeys');
  writeFileSync(join(dup, 'provenance.sigstore.json'), readFileSync(join(dup, 'provenance.sigstore.json'), 'utf8').replace('{', '{"mediaType":"x",'));
  assert.equal(failed(await verify(dup))['bundle.format'], 'BUILD_PROVENANCE_INVALID');
});

test('tdx builder evidence: the MRTD is the builder measurement', async () => {
  const r = makeRepo({ 'a.txt': 'tdx\n' }, scratch);
  await runBuild({ source: r.dir, command: 'mkdir -p dist && cp a.txt dist/', artifacts: ['dist'], outDir: join(scratch, 'tdx'), tee, platform: 'tdx' });
  const p = parseBuildPolicy(devBuildPolicyYaml(builderMeasurement(), 'tdx'));
  const v = await verify(join(scratch, 'tdx'), { artifact: join(scratch, 'tdx/artifacts/dist/a.txt'), policy: p });
  assert.deepEqual(v.failures, []);
  assert.deepEqual(failed(await verify(join(scratch, 'tdx'), { artifact: join(scratch, 'tdx/artifacts/dist/a.txt'), policy: parseBuildPolicy(devBuildPolicyYaml('ef'.repeat(48), 'tdx')) })), {
    'builder.measurement': 'BUILD_BUILDER_MEASUREMENT_MISMATCH',
  });
});

test('preloaded inputs are measured, bound read-only, and refused unless the policy allows them', async () => {
  const pre = mkdtempSync(join(scratch, 'preload-'));
  writeFiles(pre, { 'lib/x.js': 'module.exports = 41;\n' });
  const r = makeRepo({ 'main.js': 'console.log(require("./vendor/lib/x.js") + 1)\n' }, scratch);
  const cmd = 'mkdir -p dist && node main.js > dist/out.txt && (touch vendor/w 2>/dev/null && echo writable || echo readonly) >> dist/out.txt';
  const one = await runBuild({ source: r.dir, command: cmd, artifacts: ['dist'], outDir: join(scratch, 'pre1'), tee, preload: [{ name: 'vendor', path: pre }] });
  assert.equal(readFileSync(join(scratch, 'pre1/artifacts/dist/out.txt'), 'utf8'), '42\nreadonly\n');
  const s = JSON.parse(readFileSync(join(scratch, 'pre1/provenance.json'), 'utf8'));
  assert.equal(s.predicate.buildDefinition.internalParameters.preloaded[0].name, 'vendor');
  assert.equal(s.predicate.buildDefinition.internalParameters.preloaded[0].files, 1);
  const art = join(scratch, 'pre1/artifacts/dist/out.txt');
  assert.deepEqual(failed(await verify(join(scratch, 'pre1'), { artifact: art })), { 'inputs.verified': 'BUILD_INPUTS_UNVERIFIED' });
  const lax = parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()) + 'allowPreloaded: true\n');
  assert.ok((await verify(join(scratch, 'pre1'), { artifact: art, policy: lax })).ok);
  writeFileSync(join(pre, 'lib/x.js'), 'module.exports = 40;\n');
  const two = await runBuild({ source: r.dir, command: cmd, artifacts: ['dist'], outDir: join(scratch, 'pre2'), tee, preload: [{ name: 'vendor', path: pre }] });
  assert.notEqual(two.merkleRoot, one.merkleRoot, 'a changed preloaded file changes the input Merkle root');
  // a skipped dependency fetch is recorded and refused the same way
  const skip = await runBuild({ source: repo.dir, command: 'mkdir -p dist && cp src/main.js dist/', artifacts: ['dist'], outDir: join(scratch, 'nofetch'), tee, fetch: false });
  assert.equal(skip.dependencies, 0);
  assert.deepEqual(failed(await verify(join(scratch, 'nofetch'), { artifact: join(scratch, 'nofetch/artifacts/dist/main.js') })), { 'inputs.verified': 'BUILD_INPUTS_UNVERIFIED' });
});
