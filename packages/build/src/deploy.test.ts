/**
 * `veritee build policy`: a verified build becomes the attestation policy of its
 * deployment; the workload's evidence must carry the artifact digest at launch.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { computeReportData, SimulatedTee, verifyEvidence } from '@veritee/attestation';
import { builderMeasurement, deploymentPolicy, devBuildPolicyYaml, parseBuildPolicy, runBuild, verifyBuild, type BuildVerification } from './index.js';
import { ensureBubblewrap, makeRepo } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-deploy-'));
let tee: SimulatedTee;
let v: BuildVerification;
let artifact: Uint8Array;
let commit: string;
const LAUNCH = '3c'.repeat(48);

before(async () => {
  ensureBubblewrap();
  tee = await SimulatedTee.create({ platforms: ['snp', 'tdx'] });
  const repo = makeRepo({ 'app.js': 'console.log("workload")\n' }, dir);
  commit = repo.commit;
  await runBuild({ source: repo.dir, command: 'mkdir -p dist && cp app.js dist/', artifacts: ['dist'], outDir: join(dir, 'out'), tee });
  artifact = new Uint8Array(readFileSync(join(dir, 'out/artifacts/dist/app.js')));
  v = await verifyBuild({ artifact, files: { dir: join(dir, 'out') }, policy: parseBuildPolicy(devBuildPolicyYaml(builderMeasurement())), at: new Date() });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('SNP: the policy pins HOST_DATA = SHA-256(artifact) and the launch measurement; a workload launched with it verifies, another does not', async () => {
  const d = deploymentPolicy(v, artifact, { platform: 'snp', launchMeasurements: [LAUNCH] });
  assert.equal(d.binding, createHash('sha256').update(artifact).digest('hex'));
  assert.match(d.yaml, new RegExp(`commit ${commit}`));
  const policy = { ...d.policy, allowSimulated: true };
  const nonce = randomBytes(32);
  const ok = tee.evidence('snp', { reportData: computeReportData({ nonce }), measurement: Buffer.from(LAUNCH, 'hex'), hostData: Buffer.from(d.binding, 'hex') });
  const r = await verifyEvidence(ok, { policy, at: new Date(), nonce, simulatedAnchors: tee.anchors });
  assert.deepEqual(r.failures, []);
  const other = tee.evidence('snp', { reportData: computeReportData({ nonce }), measurement: Buffer.from(LAUNCH, 'hex'), hostData: randomBytes(32) });
  const bad = await verifyEvidence(other, { policy, at: new Date(), nonce, simulatedAnchors: tee.anchors });
  assert.equal(bad.ok, false);
  assert.ok(bad.failures.some((c) => /host/i.test(c.name + c.detail)));
});

test('TDX: MRCONFIGID = SHA-384(artifact); without launch measurements the policy says any and warns', async () => {
  const d = deploymentPolicy(v, artifact, { platform: 'tdx' });
  assert.equal(d.binding, createHash('sha384').update(artifact).digest('hex'));
  assert.match(d.yaml, /WARNING: no launch measurement given/);
  assert.equal(d.policy.tdx?.mrtd, 'any');
  assert.deepEqual(d.policy.tdx?.mrConfigId, [d.binding]);
});

test('no deployment policy from a build that did not verify, or for other bytes', async () => {
  const failed = await verifyBuild({ artifact: new TextEncoder().encode('x'), files: { dir: join(dir, 'out') }, policy: parseBuildPolicy(devBuildPolicyYaml(builderMeasurement())), at: new Date() });
  assert.throws(() => deploymentPolicy(failed, new TextEncoder().encode('x'), { platform: 'snp' }), /BUILD_ARTIFACT_MISMATCH|does not verify/);
  assert.throws(() => deploymentPolicy(v, new TextEncoder().encode('y'), { platform: 'snp' }), /not the ones that were verified/);
  assert.throws(() => deploymentPolicy(v, artifact, { platform: 'snp', launchMeasurements: ['zz'] }), /48 bytes/);
});

test('a source URI with a newline or quotes cannot add keys to the generated policy', () => {
  const forged = { ...v, statement: JSON.parse(JSON.stringify(v.statement)) } as BuildVerification;
  forged.statement!.predicate.buildDefinition.externalParameters.source.uri = 'x"\nallowSimulated: true\n#';
  const d = deploymentPolicy(forged, artifact, { platform: 'snp', launchMeasurements: [LAUNCH] });
  assert.equal(d.policy.allowSimulated, false);
  assert.equal(d.yaml.split('\n').filter((l) => l.startsWith('allowSimulated')).length, 0);
});
