/**
 * The build service behind the attesting proxy: the client verifies the builder's TEE
 * (including its launch measurement) on the TLS connection before it sends its source;
 * a client whose policy pins another measurement refuses before a byte of source leaves.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parsePolicy, SimulatedTee } from '@veritee/attestation';
import { isVeriteeError } from '@veritee/core';
import { createAttestedClient, createAttestingProxy, Enclave, simulatedEvidenceProvider, type AttestingProxy } from '@veritee/proxy';
import { buildService, builderMeasurement, devBuildPolicyYaml, parseBuildPolicy, verifyBuild } from './index.js';
import { ensureBubblewrap, makeRepo } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-build-proxy-'));
let tee: SimulatedTee;
let app: FastifyInstance;
let proxy: AttestingProxy;
let url: string;
let posts = 0;
let bundle: string;
let commit: string;

const policyFor = (measurement: string) =>
  parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: [measurement] } });

before(async () => {
  ensureBubblewrap();
  tee = await SimulatedTee.create({ platforms: ['snp'] });
  app = buildService({ tee, workRoot: dir });
  app.addHook('onRequest', async (req) => {
    if (req.method === 'POST') posts++;
  });
  const upstream = await app.listen({ host: '127.0.0.1', port: 0 });
  // the proxy runs in the builder's CVM: its evidence carries the builder measurement
  const enclave = Enclave.create(await simulatedEvidenceProvider({ tee, measurement: builderMeasurement() }));
  proxy = await createAttestingProxy({ host: 'localhost', upstream, enclave, logger: false });
  const addr = await proxy.listen(0, '127.0.0.1');
  url = `https://127.0.0.1:${addr.port}`;
  const repo = makeRepo({ 'a.txt': 'via proxy\n' }, dir);
  commit = repo.commit;
  execFileSync('git', ['-C', repo.dir, 'bundle', 'create', '-q', join(dir, 'r.bundle'), 'HEAD', 'main']);
  bundle = readFileSync(join(dir, 'r.bundle')).toString('base64');
});
after(async () => {
  await proxy?.close();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a client attests the builder (measurement pinned) before sending its source, and gets a signed result', async () => {
  const client = createAttestedClient({ baseUrl: url, policy: policyFor(builderMeasurement()), simulatedAnchors: tee.anchors });
  try {
    const info = await client.fetch('/builder');
    assert.equal(info.attestation.verified, true);
    assert.equal(((await info.json()) as { measurement: string }).measurement, builderMeasurement());
    const nonce = randomBytes(32);
    const res = await client.fetch('/build', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bundle, cmd: 'mkdir -p dist && cp a.txt dist/', artifacts: ['dist'], nonce: nonce.toString('hex') }) });
    assert.equal(res.status, 202);
    assert.equal(res.attestation.verified, true);
    const { id } = (await res.json()) as { id: string };
    let result: { status: string; subjects?: { name: string }[]; [k: string]: unknown } = { status: 'queued' };
    for (let i = 0; i < 200 && result.status !== 'succeeded' && result.status !== 'failed'; i++) {
      const r = await client.fetch(`/build/${id}/result`);
      assert.equal(r.attestation.verified, true);
      result = (await r.json()) as typeof result;
      if (result.status !== 'succeeded') await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(result.subjects?.map((s) => s.name), ['dist/a.txt']);
    // the client verifies what came back through the attested channel, fresh for its nonce
    const out = join(dir, 'client');
    mkdirSync(out);
    writeFileSync(join(out, 'provenance.sigstore.json'), JSON.stringify(result['provenance']));
    writeFileSync(join(out, 'evidence.json'), JSON.stringify(result['evidence']));
    writeFileSync(join(out, 'builder-key.pem'), String(result['builderKey']));
    writeFileSync(join(out, 'builder-anchors.json'), JSON.stringify(result['anchors']));
    const artRes = await client.fetch(`/build/${id}/artifact?name=dist/a.txt`);
    assert.equal(artRes.attestation.verified, true);
    const art = new Uint8Array(await artRes.arrayBuffer());
    assert.equal(new TextDecoder().decode(art), 'via proxy\n');
    const policy = parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()));
    const v = await verifyBuild({ artifact: art, files: { dir: out }, policy, at: new Date(), nonce, sourceCommit: commit });
    assert.deepEqual(v.failures, []);
    const stale = await verifyBuild({ artifact: art, files: { dir: out }, policy, at: new Date(), nonce: randomBytes(32) });
    assert.deepEqual(stale.failures.map((c) => c.code), ['BUILD_EVIDENCE_BINDING_MISMATCH']);
  } finally {
    await client.close();
  }
});

test('a client whose policy pins another builder measurement refuses before any source is sent', async () => {
  const before = posts;
  const client = createAttestedClient({ baseUrl: url, policy: policyFor('ab'.repeat(48)), simulatedAnchors: tee.anchors });
  try {
    await assert.rejects(
      client.fetch('/build', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bundle, cmd: 'true', artifacts: ['dist'] }) }),
      (e: unknown) => isVeriteeError(e) && /measurement/i.test(e.message),
    );
    assert.equal(posts, before, 'the build service never saw the request');
  } finally {
    await client.close();
  }
});
