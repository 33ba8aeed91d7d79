/**
 * kettle's layout (provenance.json + evidence.json, sha256(provenance) in the report data):
 * verified like veritee's, including the builder's launch measurement kettle leaves
 * unchecked; what kettle does not record (sealing, verified fetch) is refused by default.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { anchorsToJson, SimulatedTee } from '@veritee/attestation';
import { parseBuildPolicy, verifyBuild, KETTLE_BUILDER_ID, type BuildVerification } from './index.js';

const MEAS = '5a'.repeat(48);
const artifact = new TextEncoder().encode('console.log("kettle-built")\n');
const dir = mkdtempSync(join(tmpdir(), 'veritee-kettle-'));
let tee: SimulatedTee;

function kettleStatement(): Record<string, unknown> {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'dist/index.js', digest: { sha256: createHash('sha256').update(artifact).digest('hex') } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://lunal.dev/kettle/pnpm@v1',
        externalParameters: { buildCommand: 'pnpm install --frozen-lockfile && pnpm build', source: { uri: 'https://github.com/example/app', digest: { gitCommit: 'c'.repeat(40), gitTree: 'd'.repeat(40) } } },
        internalParameters: { lockfileHash: { sha256: 'e'.repeat(64) }, toolchain: { node: '22.1.0', pnpm: '9.0.0', kettle: { version: '0.1.0', digest: { sha256: 'f'.repeat(64) } } } },
        resolvedDependencies: [{ name: 'left-pad', uri: 'pkg:npm/left-pad@1.3.0', digest: { sha256: '1'.repeat(64) } }],
      },
      runDetails: {
        builder: { id: KETTLE_BUILDER_ID },
        metadata: { invocationId: 'inv-1', startedOn: '2026-03-01T00:00:00Z', finishedOn: '2026-03-01T00:05:00Z' },
        byproducts: [{ name: 'input_merkle_root', digest: { sha256: '2'.repeat(64) } }],
      },
    },
  };
}

function writeKettle(name: string, platform: 'snp' | 'az-snp', measurement = MEAS, mutateAfter?: (s: any) => void): string {
  const d = join(dir, name, 'kettle-build');
  mkdirSync(d, { recursive: true });
  const s = kettleStatement();
  const bytes = new TextEncoder().encode(JSON.stringify(s, null, 2));
  const digest = createHash('sha256').update(bytes).digest();
  const reportData = platform === 'az-snp' ? new Uint8Array(digest) : new Uint8Array([...digest, ...new Uint8Array(32)]);
  const ev = tee.evidence(platform, { reportData, measurement: Buffer.from(measurement, 'hex') } as never);
  if (mutateAfter) mutateAfter(s);
  writeFileSync(join(d, 'provenance.json'), mutateAfter ? JSON.stringify(s, null, 2) : bytes);
  writeFileSync(join(d, 'evidence.json'), JSON.stringify(ev));
  writeFileSync(join(d, 'builder-anchors.json'), JSON.stringify(anchorsToJson(tee.anchors)));
  return d;
}

const policyYaml = (platform: string, extra = '') =>
  `version: 1\nbuilder:\n  platforms: [${platform}]\n  allowSimulated: true\n  reportData: { require: [] }\n  snp: { measurements: ["${MEAS}"] }\n${extra}`;
const KETTLE_OK = `builderIds: [${KETTLE_BUILDER_ID}]\nrequireSealed: false\nallowPreloaded: true\n`;

const failed = (v: BuildVerification) => Object.fromEntries(v.failures.map((c) => [c.name, c.code]));
const verify = (d: string, policy: string, art = artifact) => verifyBuild({ artifact: art, files: { dir: d }, policy: parseBuildPolicy(policy), at: new Date(), layout: 'auto' });

before(async () => {
  tee = await SimulatedTee.create({ platforms: ['snp', 'az-snp'] });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('kettle layout (snp and az-snp evidence) verifies under a policy that accepts what kettle records', async () => {
  for (const platform of ['snp', 'az-snp'] as const) {
    const d = writeKettle(`ok-${platform}`, platform);
    const v = await verify(d, policyYaml(platform, KETTLE_OK));
    assert.deepEqual(v.failures, [], platform);
    assert.ok(v.checks.some((c) => c.name === 'kettle.layout' && c.ok));
    assert.ok(v.checks.some((c) => c.name === 'builder.measurement' && c.ok));
  }
});

test('kettle layout under the default policy: not sealed, builder not veritee, dependencies not verified', async () => {
  const d = writeKettle('default', 'snp');
  assert.deepEqual(failed(await verify(d, policyYaml('snp'))), { 'builder.id': 'BUILD_SOURCE_MISMATCH', 'build.sealed': 'BUILD_NOT_SEALED', 'inputs.verified': 'BUILD_INPUTS_UNVERIFIED' });
});

test('kettle layout: the builder launch measurement is checked (kettle does not), and tampering breaks the binding', async () => {
  const d = writeKettle('badmeas', 'snp', '77'.repeat(48));
  assert.deepEqual(failed(await verify(d, policyYaml('snp', KETTLE_OK))), { 'builder.measurement': 'BUILD_BUILDER_UNTRUSTED' });
  const t = writeKettle('tampered', 'az-snp', MEAS, (s) => (s.subject[0].digest.sha256 = '0'.repeat(64)));
  assert.deepEqual(failed(await verify(t, policyYaml('az-snp', KETTLE_OK))), { 'binding.report_data': 'BUILD_EVIDENCE_BINDING_MISMATCH', 'artifact.subject': 'BUILD_ARTIFACT_MISMATCH' });
  assert.deepEqual(failed(await verify(writeKettle('art', 'snp'), policyYaml('snp', KETTLE_OK), new TextEncoder().encode('x'))), { 'artifact.subject': 'BUILD_ARTIFACT_MISMATCH' });
});
