/**
 * The attestation service through Fastify inject() (and one real listen on loopback):
 * nonces are single-use and expire on the injected clock; errors are `{error:{code,message}}`
 * with the code's status; tokens verify against the JWKS and expire.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '@veritee/core';
import { parsePolicy } from '../policy.js';
import { resultJwks, verifyResultToken, type JsonWebKeySet } from '../token.js';
import { SimulatedTee } from '../sim/index.js';
import { FIXTURE_TIMES as T, snpFixture } from '../testing/envelopes.js';
import { buildAttestationServer, type AttestationServer } from './server.js';

const START = new Date('2025-06-01T00:00:00Z').getTime();
let now = START;
const clock: Clock = { now: () => now };

const policies = {
  dev: parsePolicy({
    platforms: ['snp', 'tdx', 'nvidia'],
    allowSimulated: true,
    reportData: { require: ['nonce'] },
    snp: { measurements: 'any' },
    tdx: { mrtd: 'any' },
    nvidia: { measurements: 'any' },
  }),
  prod: parsePolicy({ platforms: ['snp', 'tdx'], snp: { measurements: 'any' }, tdx: { mrtd: 'any' } }),
  fixtures: parsePolicy({ platforms: ['snp'], reportData: { require: [] }, snp: { measurements: 'any' } }),
};

let tee: SimulatedTee;
let app: AttestationServer;

before(async () => {
  tee = await SimulatedTee.create({ at: START });
  app = await buildAttestationServer({ policies, clock, simulatedAnchors: tee.anchors, nonceTtlSeconds: 60, tokenTtlSeconds: 120 });
});
after(async () => {
  await app.close();
});

async function newNonce(): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/nonce' });
  assert.equal(res.statusCode, 201);
  const body = res.json() as { nonce: string; expiresAt: string };
  assert.match(body.nonce, /^[0-9a-f]{64}$/);
  assert.equal(body.expiresAt, new Date(now + 60_000).toISOString());
  return body.nonce;
}

function attest(policy: string, body: unknown) {
  return app.inject({ method: 'POST', url: `/v1/attest/${policy}`, payload: body as object });
}

function simEvidence(nonceHex: string, platform: 'snp' | 'tdx' | 'nvidia' = 'snp') {
  return tee.boundEvidence(platform, { nonce: Buffer.from(nonceHex, 'hex') });
}

function assertError(res: { statusCode: number; json(): unknown }, status: number, code: string) {
  assert.equal(res.statusCode, status, JSON.stringify(res.json()));
  const body = res.json() as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
}

test('nonce -> attest -> token that verifies against the JWKS, and fails after expiry', async () => {
  now = START;
  const nonce = await newNonce();
  const res = await attest('dev', { evidence: simEvidence(nonce, 'tdx'), nonce });
  assert.equal(res.statusCode, 200, res.body);
  const { result, token } = res.json() as { result: { ok: boolean; platform: string; checks: unknown[] }; token: string };
  assert.equal(result.ok, true, JSON.stringify(result.checks, null, 1));
  assert.equal(result.platform, 'tdx');

  const jwksRes = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  assert.equal(jwksRes.statusCode, 200);
  assert.match(String(jwksRes.headers['content-type']), /jwk-set\+json/);
  const jwks = jwksRes.json() as JsonWebKeySet;
  assert.deepEqual(jwks, resultJwks(app.signer));
  assert.equal('d' in jwks.keys[0]!, false, 'no private key material in the JWKS');

  const claims = await verifyResultToken(token, jwks, { at: new Date(now + 119_000) });
  assert.equal(claims.eat_nonce, nonce);
  assert.equal(claims.submods['tdx']?.['ear.status'], 'warning'); // simulated
  await assert.rejects(verifyResultToken(token, jwks, { at: new Date(now + 120_000) }), /expired/);
});

test('a nonce is single-use, even when the first attempt failed', async () => {
  now = START;
  const nonce = await newNonce();
  const first = await attest('prod', { evidence: simEvidence(nonce), nonce });
  assert.equal(first.statusCode, 200);
  assert.equal((first.json() as { result: { ok: boolean } }).result.ok, false); // prod refuses simulated evidence
  assertError(await attest('dev', { evidence: simEvidence(nonce), nonce }), 422, 'ATTEST_NONCE_INVALID');
});

test('a nonce expires on the injected clock; unknown nonces and missing nonces are refused', async () => {
  now = START;
  const nonce = await newNonce();
  now = START + 60_000;
  const res = await attest('dev', { evidence: simEvidence(nonce), nonce });
  assertError(res, 422, 'ATTEST_NONCE_INVALID');
  assert.match((res.json() as { error: { message: string } }).error.message, /expired/);
  assertError(await attest('dev', { evidence: simEvidence('cd'.repeat(32)), nonce: 'cd'.repeat(32) }), 422, 'ATTEST_NONCE_INVALID');
  assertError(await attest('dev', { evidence: simEvidence('cd'.repeat(32)) }), 422, 'ATTEST_NONCE_INVALID');
  now = START;
});

test('a wrong nonce binding is a failed verification (200, ok false), not a pass', async () => {
  now = START;
  const nonce = await newNonce();
  const res = await attest('dev', { evidence: simEvidence('ee'.repeat(32)), nonce });
  assert.equal(res.statusCode, 200);
  const { result } = res.json() as { result: { ok: boolean; failures: { name: string }[] } };
  assert.equal(result.ok, false);
  assert.ok(result.failures.some((f) => f.name === 'policy.report_data'));
});

test('real fixture evidence through the service (clock at the fixture time)', async () => {
  const fixtureApp = await buildAttestationServer({ policies, clock: { now: () => T.snp.getTime() }, requireNonce: false });
  try {
    const res = await fixtureApp.inject({ method: 'POST', url: '/v1/attest/fixtures', payload: { evidence: snpFixture('milan-v2') } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as { result: { ok: boolean } }).result.ok, true);
    // The same evidence as an Attestation-Report header value (base64url of the envelope).
    const header = Buffer.from(JSON.stringify(snpFixture('milan-v2'))).toString('base64url');
    const res2 = await fixtureApp.inject({ method: 'POST', url: '/v1/attest/fixtures', payload: { evidence: header } });
    assert.equal((res2.json() as { result: { ok: boolean; source: string } }).result.source, 'header');
  } finally {
    await fixtureApp.close();
  }
});

test('bad JSON -> 400 INPUT_JSON_INVALID; bad shape -> 400 INPUT_INVALID naming the field', async () => {
  const bad = await app.inject({ method: 'POST', url: '/v1/attest/dev', headers: { 'content-type': 'application/json' }, payload: '{"evidence": ' });
  assertError(bad, 400, 'INPUT_JSON_INVALID');
  const unknownKey = await attest('dev', { evidence: 'x', nonce: 'ab'.repeat(32), extra: true });
  assertError(unknownKey, 400, 'INPUT_INVALID');
  assert.match((unknownKey.json() as { error: { message: string } }).error.message, /extra/);
  const badNonce = await attest('dev', { evidence: 'x', nonce: 'xyz' });
  assertError(badNonce, 400, 'INPUT_INVALID');
  assert.match((badNonce.json() as { error: { message: string } }).error.message, /nonce/);
  const noBody = await app.inject({ method: 'POST', url: '/v1/attest/dev', headers: { 'content-type': 'application/json' } });
  assert.equal(noBody.statusCode, 400);
  const wrongType = await app.inject({ method: 'POST', url: '/v1/attest/dev', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
  assertError(wrongType, 400, 'INPUT_INVALID');
});

test('a duplicate key in the body or the envelope -> 400 INPUT_JSON_INVALID, not last-wins', async () => {
  const post = (payload: string) => app.inject({ method: 'POST', url: '/v1/attest/dev', headers: { 'content-type': 'application/json' }, payload });
  const top = await post('{"evidence": "x", "evidence": "y"}');
  assertError(top, 400, 'INPUT_JSON_INVALID');
  assert.match((top.json() as { error: { message: string } }).error.message, /duplicate key "evidence"/);
  const nested = await post('{"evidence": {"platform": "sgx", "platform": "snp", "evidence": {}}}');
  assertError(nested, 400, 'INPUT_JSON_INVALID');
  assert.match((nested.json() as { error: { message: string } }).error.message, /duplicate key "platform"/);
  assertError(await post('['.repeat(10_000)), 400, 'INPUT_JSON_INVALID');
});

test('malformed evidence with a valid nonce -> 400 with an evidence code', async () => {
  now = START;
  const nonce = await newNonce();
  assertError(await attest('dev', { evidence: { platform: 'sgx', evidence: {} }, nonce }), 400, 'ATTEST_PLATFORM_UNSUPPORTED');
  const nonce2 = await newNonce();
  assertError(await attest('dev', { evidence: '!!!', nonce: nonce2 }), 400, 'ATTEST_EVIDENCE_INVALID');
});

test('oversize body -> 413 INPUT_TOO_LARGE', async () => {
  const big = JSON.stringify({ evidence: 'A'.repeat(1024 * 1024 + 32 * 1024) });
  const res = await app.inject({ method: 'POST', url: '/v1/attest/dev', headers: { 'content-type': 'application/json' }, payload: big });
  assertError(res, 413, 'INPUT_TOO_LARGE');
});

test('unknown policy -> 404 ATTEST_POLICY_UNKNOWN; unknown route -> 404 ROUTE_NOT_FOUND', async () => {
  assertError(await attest('nope', { evidence: 'x' }), 404, 'ATTEST_POLICY_UNKNOWN');
  assertError(await attest('..%2F..%2Fetc%2Fpasswd', { evidence: 'x' }), 404, 'ATTEST_POLICY_UNKNOWN');
  assertError(await attest('constructor', { evidence: 'x' }), 404, 'ATTEST_POLICY_UNKNOWN');
  assertError(await app.inject({ method: 'GET', url: '/v1/nothing' }), 404, 'ROUTE_NOT_FOUND');
});

test('POST /v1/nonce tolerates an empty JSON body', async () => {
  const res = await app.inject({ method: 'POST', url: '/v1/nonce', headers: { 'content-type': 'application/json' } });
  assert.equal(res.statusCode, 201, res.body);
  const res2 = await app.inject({ method: 'POST', url: '/v1/nonce', payload: {} });
  assert.equal(res2.statusCode, 201, res2.body);
});

test('healthz', async () => {
  const res = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { status: 'ok', policies: 3 });
});

test('one real listen on 127.0.0.1:0: nonce and attest over HTTP', async () => {
  const server = await buildAttestationServer({ policies, clock, simulatedAnchors: tee.anchors });
  try {
    now = START;
    const address = await server.listen({ host: '127.0.0.1', port: 0 });
    const { nonce } = (await (await fetch(`${address}/v1/nonce`, { method: 'POST' })).json()) as { nonce: string };
    const res = await fetch(`${address}/v1/attest/dev`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ evidence: simEvidence(nonce, 'nvidia'), nonce }),
    });
    assert.equal(res.status, 200);
    const { result, token } = (await res.json()) as { result: { ok: boolean }; token: string };
    assert.equal(result.ok, true);
    const jwks = (await (await fetch(`${address}/.well-known/jwks.json`)).json()) as JsonWebKeySet;
    await verifyResultToken(token, jwks, { at: new Date(now) });
  } finally {
    await server.close();
  }
});

test('pino logs carry the verdict but never the evidence body', async () => {
  const lines: string[] = [];
  const { Writable } = await import('node:stream');
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logged = await buildAttestationServer({ policies, clock: { now: () => T.snp.getTime() }, requireNonce: false, logger: { stream } });
  try {
    const env = snpFixture('milan-v2');
    const report = (env.evidence as { attestation_report: string }).attestation_report;
    await logged.inject({ method: 'POST', url: '/v1/attest/fixtures', headers: { authorization: 'Bearer secret-token' }, payload: { evidence: env } });
    await logged.inject({ method: 'POST', url: '/v1/attest/fixtures', payload: { evidence: 'A'.repeat(2 * 1024 * 1024) } });
    const all = lines.join('');
    assert.match(all, /attestation verified/);
    assert.match(all, /"ok":true/);
    assert.ok(!all.includes(report.slice(0, 64)), 'evidence must not be logged');
    assert.ok(!all.includes('AAAAAAAAAAAAAAAA'), 'oversize bodies must not be logged');
    assert.ok(!all.includes('secret-token'), 'authorization must be redacted');
  } finally {
    await logged.close();
  }
});
