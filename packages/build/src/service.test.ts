/**
 * The build service on loopback: a git bundle in, server-sent progress events, a result
 * that verifies with the client's nonce bound; bad requests and failing builds are coded.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SimulatedTee } from '@veritee/attestation';
import { buildService, builderMeasurement, devBuildPolicyYaml, parseBuildPolicy, verifyBuild } from './index.js';
import { ensureBubblewrap, makeRepo } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-build-svc-'));
let app: FastifyInstance;
let base: string;
let bundleB64: string;
let commit: string;

before(async () => {
  ensureBubblewrap();
  const tee = await SimulatedTee.create({ platforms: ['snp'] });
  app = buildService({ tee, workRoot: dir, maxQueued: 1 });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const repo = makeRepo({ 'a.txt': 'served\n' }, dir);
  commit = repo.commit;
  execFileSync('git', ['-C', repo.dir, 'bundle', 'create', '-q', join(dir, 'r.bundle'), 'HEAD', 'main']);
  bundleB64 = readFileSync(join(dir, 'r.bundle')).toString('base64');
});
after(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(body: unknown): Promise<Response> {
  return fetch(`${base}/build`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function events(id: string): Promise<{ event: string; data: any }[]> {
  const res = await fetch(`${base}/build/${id}/events`);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const text = await res.text();
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const [e, d] = block.split('\n');
      return { event: e!.slice('event: '.length), data: JSON.parse(d!.slice('data: '.length)) };
    });
}

test('POST /build → SSE progress → result that verifies with the client nonce', async () => {
  const nonce = randomBytes(32);
  const res = await post({ bundle: bundleB64, cmd: 'mkdir -p dist && cp a.txt dist/', artifacts: ['dist'], nonce: nonce.toString('hex') });
  assert.equal(res.status, 202);
  const { id } = (await res.json()) as { id: string };
  const evs = await events(id);
  assert.deepEqual([...new Set(evs.map((e) => e.event))], ['progress', 'done']);
  assert.ok(evs.some((e) => e.event === 'progress' && e.data.phase === 'seal'));
  const result = (await (await fetch(`${base}/build/${id}/result`)).json()) as Record<string, any>;
  assert.equal(result['status'], 'succeeded');
  assert.equal(result['commit'], commit);
  // the client checks the result offline
  const out = join(dir, 'client');
  mkdirSync(out);
  writeFileSync(join(out, 'provenance.sigstore.json'), JSON.stringify(result['provenance']));
  writeFileSync(join(out, 'evidence.json'), JSON.stringify(result['evidence']));
  writeFileSync(join(out, 'builder-key.pem'), result['builderKey']);
  writeFileSync(join(out, 'builder-anchors.json'), JSON.stringify(result['anchors']));
  const art = new Uint8Array(await (await fetch(`${base}/build/${id}/artifact?name=dist/a.txt`)).arrayBuffer());
  assert.equal(new TextDecoder().decode(art), 'served\n');
  const policy = parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()));
  const ok = await verifyBuild({ artifact: art, files: { dir: out }, policy, at: new Date(), nonce, sourceCommit: commit });
  assert.deepEqual(ok.failures, []);
  const stale = await verifyBuild({ artifact: art, files: { dir: out }, policy, at: new Date(), nonce: randomBytes(32) });
  assert.deepEqual(stale.failures.map((c) => [c.name, c.code]), [['binding.report_data', 'BUILD_EVIDENCE_BINDING_MISMATCH']], 'another nonce: not fresh for this client');
});

test('bad requests, unknown builds and failing builds are coded', async () => {
  const bad = await post({ bundle: bundleB64, cmd: 'true', artifacts: ['../x'] });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as any).error.code, 'INPUT_INVALID');
  const extra = await post({ bundle: bundleB64, cmd: 'true', artifacts: ['dist'], extra: 1 });
  assert.equal(extra.status, 400);
  const unknown = await fetch(`${base}/build/${'0'.repeat(32)}/result`);
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as any).error.code, 'ROUTE_NOT_FOUND');
  const net = await post({ bundle: bundleB64, cmd: 'node -e "require(\'net\').connect(443,\'1.1.1.1\').on(\'error\',e=>{console.error(e.code);process.exit(1)})"', artifacts: ['dist'] });
  const { id } = (await net.json()) as { id: string };
  const evs = await events(id);
  assert.equal(evs.at(-1)!.event, 'failed');
  assert.equal(evs.at(-1)!.data.code, 'BUILD_NETWORK_IN_SEALED_PHASE');
  const r = (await (await fetch(`${base}/build/${id}/result`)).json()) as any;
  assert.equal(r.status, 'failed');
  const garbage = await post({ bundle: 'AAAA', cmd: 'true', artifacts: ['dist'] });
  const g = (await garbage.json()) as { id: string };
  const gev = await events(g.id);
  assert.equal(gev.at(-1)!.data.code, 'BUILD_SOURCE_INVALID');
});

test('one build at a time; beyond the queue the service answers 429 BUILD_SERVICE_BUSY', async () => {
  const slow = { bundle: bundleB64, cmd: 'sleep 1 && mkdir -p dist && cp a.txt dist/', artifacts: ['dist'] };
  const a = (await (await post(slow)).json()) as { id: string };
  const b = (await (await post(slow)).json()) as { id: string };
  const c = await post(slow);
  assert.equal(c.status, 429);
  assert.equal(((await c.json()) as any).error.code, 'BUILD_SERVICE_BUSY');
  for (const id of [a.id, b.id]) assert.equal((await events(id)).at(-1)!.event, 'done');
});
