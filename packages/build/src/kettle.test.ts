/**
 * kettle's layout, as Lunal kettle writes it (`<project>/kettle-build/{provenance.json,
 * evidence.json, artifacts/}`; field order and types of kettle's `src/provenance.rs`,
 * pretty-printed by serde; report data = kettle's provenance checksum, SHA-256 of the
 * compact JSON): our own fixture, written here in that layout. veritee verifies it,
 * including the builder's launch measurement kettle leaves unchecked, and refuses altered
 * copies; what kettle does not record (sealing, verified fetch) is refused by default.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { anchorsToJson, SimulatedTee } from '@veritee/attestation';
import { toHex } from '@veritee/core';
import { kettleChecksum, parseBuildPolicy, verifyBuild, KETTLE_BUILDER_ID, type BuildVerification } from './index.js';

const MEAS = '5a'.repeat(48);
const artifact = new TextEncoder().encode('\x7fELF pretend ripgrep binary\n');
const dir = mkdtempSync(join(tmpdir(), 'veritee-kettle-'));
let tee: SimulatedTee;
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A cargo build in kettle's field order (serde declaration order: _type, predicate, predicateType, subject). */
function kettleStatement(): Record<string, any> {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://lunal.dev/kettle/cargo@v1',
        externalParameters: {
          buildCommand: 'cargo build --release --locked',
          source: { digest: { gitCommit: '3c'.repeat(20), gitTree: '4d'.repeat(20) }, uri: 'https://example.invalid/tools/rg.git' },
        },
        internalParameters: {
          lockfileHash: { sha256: sha('# Cargo.lock of the fixture\n') },
          toolchain: {
            cargo: { digest: { sha256: sha('cargo') }, version: 'cargo 1.90.0 (fixture)' },
            rustc: { digest: { sha256: sha('rustc') }, version: 'rustc 1.90.0 (fixture)' },
            kettle: { digest: { sha256: sha('kettle') }, version: 'kettle 0.1.0' },
          },
        },
        resolvedDependencies: [
          { digest: { sha256: sha('memchr-2.7.4') }, name: 'memchr', uri: `pkg:cargo/memchr@2.7.4?checksum=sha256:${sha('memchr-2.7.4')}` },
          { digest: { sha256: sha('regex-1.11.1') }, name: 'regex', uri: `pkg:cargo/regex@1.11.1?checksum=sha256:${sha('regex-1.11.1')}` },
        ],
      },
      runDetails: {
        builder: { id: KETTLE_BUILDER_ID },
        byproducts: [{ digest: { sha256: sha('merkle') }, name: 'input_merkle_root' }],
        metadata: { invocationId: 'build-20260301-000000-0badc0de', startedOn: '2026-03-01T00:00:00.000000+00:00', finishedOn: '2026-03-01T00:05:00.000000+00:00' },
      },
    },
    predicateType: 'https://slsa.dev/provenance/v1',
    subject: [{ digest: { sha256: sha(artifact) }, name: 'rg' }],
  };
}

interface Fixture {
  platform?: 'snp' | 'az-snp';
  measurement?: string;
  /** Change the statement before it is attested (a builder that attests what it wrote). */
  edit?: (s: any) => void;
  /** Change the file after it was attested (tampering). */
  tamper?: (text: string) => string;
  /** Report data over something else than kettle's checksum. */
  bind?: (fileText: string) => Uint8Array;
}

/** Writes `<name>/kettle-build/{provenance.json, evidence.json, artifacts/rg}` and returns the project dir. */
function writeKettle(name: string, f: Fixture = {}): string {
  const platform = f.platform ?? 'snp';
  const project = join(dir, name);
  const d = join(project, 'kettle-build');
  mkdirSync(join(d, 'artifacts'), { recursive: true });
  const s = kettleStatement();
  f.edit?.(s);
  const text = JSON.stringify(s, null, 2); // serde_json::to_string_pretty
  const checksum = f.bind ? f.bind(text) : createHash('sha256').update(JSON.stringify(s)).digest();
  const reportData = platform === 'az-snp' ? new Uint8Array(checksum) : new Uint8Array([...checksum, ...new Uint8Array(64 - checksum.length)]);
  const ev = tee.evidence(platform, { reportData, measurement: Buffer.from(f.measurement ?? MEAS, 'hex') } as never);
  writeFileSync(join(d, 'provenance.json'), f.tamper ? f.tamper(text) : text);
  writeFileSync(join(d, 'evidence.json'), JSON.stringify(ev));
  writeFileSync(join(d, 'artifacts', 'rg'), artifact);
  writeFileSync(join(d, 'builder-anchors.json'), JSON.stringify(anchorsToJson(tee.anchors)));
  return project;
}

const policyYaml = (platform: string, extra = '') =>
  `version: 1\nbuilder:\n  platforms: [${platform}]\n  allowSimulated: true\n  reportData: { require: [] }\n  snp: { measurements: ["${MEAS}"] }\n${extra}`;
const KETTLE_OK = `builderIds: [${KETTLE_BUILDER_ID}]\nrequireSealed: false\nallowPreloaded: true\n`;

const failed = (v: BuildVerification) => Object.fromEntries(v.failures.map((c) => [c.name, c.code]));
const verify = (d: string, policy: string, extra: { art?: Uint8Array | string; sourceCommit?: string } = {}) =>
  verifyBuild({ artifact: extra.art ?? join(d, 'kettle-build/artifacts/rg'), files: { dir: d }, policy: parseBuildPolicy(policy), at: new Date(), layout: 'auto', ...(extra.sourceCommit ? { sourceCommit: extra.sourceCommit } : {}) });

before(async () => {
  tee = await SimulatedTee.create({ platforms: ['snp', 'az-snp'] });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("kettle's checksum is SHA-256 of the compact JSON in the file's key order, not of the pretty-printed file", () => {
  const s = kettleStatement();
  const pretty = JSON.stringify(s, null, 2);
  assert.equal(toHex(kettleChecksum(pretty)), sha(JSON.stringify(s)));
  assert.notEqual(toHex(kettleChecksum(pretty)), sha(pretty));
  assert.equal(toHex(kettleChecksum(JSON.stringify(s))), toHex(kettleChecksum(pretty)), 'whitespace does not matter');
  // key order does (serde writes declaration order; a reordered file is another document)
  const reordered = JSON.stringify({ subject: s['subject'], ...s });
  assert.notEqual(toHex(kettleChecksum(reordered)), toHex(kettleChecksum(pretty)));
  assert.throws(() => kettleChecksum('{"a":1,"a":2}'), /duplicate/i);
  assert.throws(() => kettleChecksum('{"x":{"10":"a"}}'), /integer-like/);
  assert.throws(() => kettleChecksum('{"x":1.5}'), /non-integer/);
});

test('kettle layout (snp and az-snp evidence; project dir or kettle-build dir) verifies under a policy that accepts what kettle records', async () => {
  for (const platform of ['snp', 'az-snp'] as const) {
    const p = writeKettle(`ok-${platform}`, { platform });
    for (const d of [p, join(p, 'kettle-build')]) {
      const v = await verifyBuild({ artifact: join(p, 'kettle-build/artifacts/rg'), files: { dir: d }, policy: parseBuildPolicy(policyYaml(platform, KETTLE_OK)), at: new Date(), sourceCommit: '3c'.repeat(20) });
      assert.deepEqual(v.failures, [], platform);
      assert.deepEqual(
        v.checks.map((c) => c.name),
        ['kettle.layout', 'provenance.format', 'artifact.subject', 'binding.report_data', 'builder.evidence', 'builder.measurement', 'builder.id', 'build.sealed', 'source.commit', 'inputs.verified', 'inputs.merkle'],
      );
      assert.match(v.checks[0]!.detail, /compact JSON/);
      assert.equal(v.subject, 'rg');
    }
  }
  // the pnpm and nix toolchains' shapes (kettle's other Toolchain variants, nix's evaluation/flakeInputs, annotations)
  const nix = writeKettle('nix', {
    edit: (s) => {
      const bd = s.predicate.buildDefinition;
      bd.buildType = 'https://lunal.dev/kettle/nix@v1';
      bd.internalParameters = {
        evaluation: { derivationCount: 2, fetchCount: 1 },
        flakeInputs: [{ name: 'nixpkgs', narHash: 'sha256-AAAA' }],
        lockfileHash: { sha256: sha('flake.lock') },
        toolchain: { nix: { digest: { sha256: sha('nix') }, version: 'nix (Nix) 2.33' }, kettle: { digest: { sha256: sha('kettle') }, version: 'kettle 0.1.0' } },
      };
      bd.resolvedDependencies = [{ annotations: { outputHashMode: 'flat' }, digest: { sha256: 'X2Vv6VVM3KjmBHo2ukVWe5YTVXRmqe//Kw2kr73OpZs=' }, name: 'p.patch', uri: 'pkg:nix-fetch/p.patch' }];
    },
  });
  assert.deepEqual((await verify(nix, policyYaml('snp', KETTLE_OK))).failures, []);
});

test('kettle layout under the default policy: not sealed, builder not veritee, dependencies not verified', async () => {
  const d = writeKettle('default');
  assert.deepEqual(failed(await verify(d, policyYaml('snp'))), { 'builder.id': 'BUILD_SOURCE_MISMATCH', 'build.sealed': 'BUILD_NOT_SEALED', 'inputs.verified': 'BUILD_INPUTS_UNVERIFIED' });
});

test('kettle layout: the builder launch measurement is checked (kettle does not)', async () => {
  const d = writeKettle('badmeas', { measurement: '77'.repeat(48) });
  assert.deepEqual(failed(await verify(d, policyYaml('snp', KETTLE_OK))), { 'builder.measurement': 'BUILD_BUILDER_MEASUREMENT_MISMATCH' });
});

test('kettle layout: altered provenance, altered artifact, wrong binding and wrong commit are refused', async () => {
  const P = policyYaml('az-snp', KETTLE_OK);
  // a subject digest changed after attestation
  const t = writeKettle('tampered', { platform: 'az-snp', tamper: (x) => x.replace(sha(artifact), '0'.repeat(64)) });
  assert.deepEqual(failed(await verify(t, P)), { 'binding.report_data': 'BUILD_EVIDENCE_BINDING_MISMATCH', 'artifact.subject': 'BUILD_ARTIFACT_MISMATCH' });
  // the source commit changed after attestation
  const c = writeKettle('commit', { platform: 'az-snp', tamper: (x) => x.replace('3c'.repeat(20), '3c'.repeat(19) + '3d') });
  assert.deepEqual(failed(await verify(c, P)), { 'binding.report_data': 'BUILD_EVIDENCE_BINDING_MISMATCH' });
  // a field kettle's deserializer would drop (and so not hash) is added: veritee hashes it, refused
  const extra = writeKettle('extra', { platform: 'az-snp', tamper: (x) => x.replace('"_type"', '"note": "unsigned",\n  "_type"') });
  assert.deepEqual(failed(await verify(extra, P)), { 'binding.report_data': 'BUILD_EVIDENCE_BINDING_MISMATCH' });
  // evidence bound to SHA-256 of the file bytes (not kettle's checksum) does not verify
  const fileHash = writeKettle('filehash', { platform: 'az-snp', bind: (text) => createHash('sha256').update(text).digest() });
  assert.deepEqual(failed(await verify(fileHash, P)), { 'binding.report_data': 'BUILD_EVIDENCE_BINDING_MISMATCH' });
  // a re-formatted file (whitespace only) keeps kettle's checksum and verifies
  const compact = writeKettle('compact', { platform: 'az-snp', tamper: (x) => JSON.stringify(JSON.parse(x)) });
  assert.deepEqual((await verify(compact, P)).failures, []);
  // another artifact, and another commit than the caller expects
  const ok = writeKettle('art');
  assert.deepEqual(failed(await verify(ok, policyYaml('snp', KETTLE_OK), { art: new TextEncoder().encode('x') })), { 'artifact.subject': 'BUILD_ARTIFACT_MISMATCH' });
  assert.deepEqual(failed(await verify(ok, policyYaml('snp', KETTLE_OK), { sourceCommit: 'a'.repeat(40) })), { 'source.commit': 'BUILD_SOURCE_MISMATCH' });
});

test("kettle layout: a provenance missing kettle's required fields is refused even when attested", async () => {
  const d = writeKettle('nolock', { edit: (s) => delete s.predicate.buildDefinition.internalParameters.lockfileHash });
  const v = await verify(d, policyYaml('snp', KETTLE_OK));
  assert.equal(failed(v)['kettle.layout'], 'BUILD_PROVENANCE_INVALID');
  assert.match(v.failures[0]!.detail, /lockfileHash/);
  const bt = writeKettle('buildtype', { edit: (s) => (s.predicate.buildDefinition.buildType = 'https://example.invalid/x') });
  assert.equal(failed(await verify(bt, policyYaml('snp', KETTLE_OK)))['kettle.layout'], 'BUILD_PROVENANCE_INVALID');
  assert.ok(readFileSync(join(d, 'kettle-build/provenance.json'), 'utf8').startsWith('{\n  "_type"'));
});
