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
import { clientKey, NonceStore } from './nonce.js';
import { isVeriteeError } from '@veritee/core';

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
  const res = await attest('dev', { evidence: simEvidence(nonce, 'tdx'), nonce, audience: 'https://rp.example' });
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

  const rp = { audience: 'https://rp.example', accept: 'warning' } as const; // simulated evidence: warning at best
  const claims = await verifyResultToken(token, jwks, { ...rp, at: new Date(now + 119_000) });
  assert.equal(claims.eat_nonce, nonce);
  assert.equal(claims.aud, 'https://rp.example');
  assert.equal(claims.submods['tdx']?.['ear.status'], 'warning'); // simulated
  await assert.rejects(verifyResultToken(token, jwks, { ...rp, at: new Date(now + 120_000) }), /expired/);
  await assert.rejects(verifyResultToken(token, jwks, { ...rp, audience: 'https://other.example', at: new Date(now) }), /audience/);
  await assert.rejects(verifyResultToken(token, jwks, { audience: 'https://rp.example', at: new Date(now) }), /ATTEST_TOKEN_NOT_AFFIRMING|not affirming/);
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
  const odd = await attest('%1B%5B2J' + 'a'.repeat(60), { evidence: 'x' });
  assertError(odd, 404, 'ATTEST_POLICY_UNKNOWN');
  // Fastify's router refuses an over-long parameter or a malformed URL before any handler;
  // the answer has our shape and does not echo the URL (it used to, control bytes and all).
  for (const url of ['/v1/attest/%1B%5B2J' + 'a'.repeat(5000), '/v1/attest/%E0%A4%A']) {
    const res = await app.inject({ method: 'POST', url, payload: { evidence: 'x' } });
    assertError(res, 400, 'INPUT_INVALID');
    assert.ok(res.body.length < 200 && !res.body.includes('aaaaaaaaaa') && !res.body.includes('\x1b'), res.body.slice(0, 100));
  }
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
    await verifyResultToken(token, jwks, { at: new Date(now), anyAudience: true, accept: 'warning' });
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

// ---- nonce limits (issue 9: an unauthenticated flood used to slow every verification) ----

function nonceFrom(server: AttestationServer, remoteAddress: string) {
  return server.inject({ method: 'POST', url: '/v1/nonce', remoteAddress });
}

test('per-client nonce cap: 429 ATTEST_NONCE_LIMIT with Retry-After, while another client still gets nonces', async () => {
  now = START;
  const capped = await buildAttestationServer({ policies, clock, simulatedAnchors: tee.anchors, nonceTtlSeconds: 60, maxNoncesPerClient: 3, maxNonces: 100 });
  try {
    const issued: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await nonceFrom(capped, '203.0.113.7');
      assert.equal(res.statusCode, 201);
      issued.push((res.json() as { nonce: string }).nonce);
    }
    const refused = await nonceFrom(capped, '203.0.113.7');
    assertError(refused, 429, 'ATTEST_NONCE_LIMIT');
    assert.equal(refused.headers['retry-after'], '60');
    assert.match((refused.json() as { error: { message: string } }).error.message, /3 unused nonces/);
    // Another client is not affected, and the flood did not evict the first client's nonces.
    assert.equal((await nonceFrom(capped, '198.51.100.9')).statusCode, 201);
    // Using a nonce frees a slot for its client.
    const used = await capped.inject({ method: 'POST', url: '/v1/attest/dev', payload: { evidence: simEvidence(issued[0]!), nonce: issued[0]! } });
    assert.equal(used.statusCode, 200, used.body);
    assert.equal((await nonceFrom(capped, '203.0.113.7')).statusCode, 201);
    assertError(await nonceFrom(capped, '203.0.113.7'), 429, 'ATTEST_NONCE_LIMIT');
    // The other two nonces of the capped client are still valid.
    for (const n of issued.slice(1)) {
      const res = await capped.inject({ method: 'POST', url: '/v1/attest/dev', payload: { evidence: simEvidence(n), nonce: n } });
      assert.equal(res.statusCode, 200, res.body);
    }
    // IPv6: one /64 is one client (a host commonly holds the whole /64).
    for (let i = 1; i <= 3; i++) assert.equal((await nonceFrom(capped, `2001:db8:1:2::${i}`)).statusCode, 201);
    assertError(await nonceFrom(capped, '2001:db8:1:2:ffff:ffff:ffff:ffff'), 429, 'ATTEST_NONCE_LIMIT');
    assert.equal((await nonceFrom(capped, '2001:db8:1:3::1')).statusCode, 201);
  } finally {
    await capped.close();
  }
});

test('total nonce cap: 429 for every client once the service holds maxNonces; Retry-After is when the oldest expires', async () => {
  now = START;
  const capped = await buildAttestationServer({ policies, clock, nonceTtlSeconds: 60, maxNoncesPerClient: 10, maxNonces: 4 });
  try {
    for (const [i, ip] of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'].entries()) {
      now = START + i * 10_000;
      assert.equal((await nonceFrom(capped, ip)).statusCode, 201);
    }
    now = START + 45_000;
    const refused = await nonceFrom(capped, '192.0.2.99');
    assertError(refused, 429, 'ATTEST_NONCE_LIMIT');
    assert.equal(refused.headers['retry-after'], '15', 'the first nonce expires at START + 60 s');
    assert.match((refused.json() as { error: { message: string } }).error.message, /service holds 4/);
    now = START + 60_000; // the first one has expired: one slot is free again
    assert.equal((await nonceFrom(capped, '192.0.2.99')).statusCode, 201);
    assertError(await nonceFrom(capped, '192.0.2.100'), 429, 'ATTEST_NONCE_LIMIT');
  } finally {
    now = START;
    await capped.close();
  }
});

test('expired nonces are freed in bulk on the injected clock and consume refuses them', () => {
  let t = START;
  const store = new NonceStore({ now: () => t }, { ttlMs: 1000, maxEntries: 50_000, maxPerClient: 50_000 });
  const early: string[] = [];
  for (let i = 0; i < 20_000; i++) early.push(store.issue('a').nonce);
  t = START + 500;
  const late: string[] = [];
  for (let i = 0; i < 10; i++) late.push(store.issue('b').nonce);
  assert.equal(store.size, 20_010);
  t = START + 1000; // the first 20 000 expire, the last 10 do not
  assert.equal(store.purge(), 20_000);
  assert.equal(store.size, 10);
  assert.equal(store.outstandingFor('a'), 0);
  assert.equal(store.outstandingFor('b'), 10);
  assert.ok(store.queueLength <= 10 + 1024, `queue holds ${store.queueLength} entries`);
  assert.throws(() => store.consume(early[0]!), (e) => isVeriteeError(e, 'ATTEST_NONCE_INVALID'));
  assert.throws(() => store.consume(early[19_999]!), (e) => isVeriteeError(e, 'ATTEST_NONCE_INVALID'));
  // An expired nonce not yet purged is refused as expired (and removed).
  t = START + 1499;
  store.consume(late[0]!);
  t = START + 1500;
  assert.throws(() => store.consume(late[1]!), (e) => isVeriteeError(e, 'ATTEST_NONCE_INVALID') && /expired/.test(e.message));
  assert.throws(() => store.consume(late[1]!), (e) => isVeriteeError(e, 'ATTEST_NONCE_INVALID') && /already used/.test(e.message));
  // Issuing purges too: everything else has expired.
  store.issue('c');
  assert.equal(store.size, 1);
});

test('issue + consume keeps the expiry queue bounded (consumed nonces do not pile up)', () => {
  let t = START;
  const store = new NonceStore({ now: () => t }, { ttlMs: 3_600_000 });
  for (let i = 0; i < 50_000; i++) {
    store.consume(store.issue('a').nonce);
    if (i % 1000 === 0) t += 1;
  }
  assert.equal(store.size, 0);
  assert.ok(store.queueLength <= 2048, `queue holds ${store.queueLength} entries`);
  assert.throws(() => new NonceStore({ now: () => t }, { maxPerClient: 0 }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
});

test('client keys: IPv4 as is (also IPv4-mapped), IPv6 by /64', () => {
  assert.equal(clientKey('192.0.2.1'), '192.0.2.1');
  assert.equal(clientKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientKey('2001:0DB8:0000:0000:ffff::2'), '2001:db8:0:0::/64');
  assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('2001:db8:1:2:3:4:1.2.3.4'), '2001:db8:1:2::/64');
  assert.equal(clientKey(undefined), '-');
});

test('the token audience is the request\'s, else the service default; a bad audience is refused', async () => {
  now = START;
  const svc = await buildAttestationServer({ policies, clock, simulatedAnchors: tee.anchors, defaultAudience: 'https://default-rp.example' });
  try {
    const jwks = resultJwks(svc.signer);
    const get = async (extra: Record<string, unknown>) => {
      const { nonce } = (await nonceFrom(svc, '127.0.0.1')).json() as { nonce: string };
      return svc.inject({ method: 'POST', url: '/v1/attest/dev', payload: { evidence: simEvidence(nonce), nonce, ...extra } });
    };
    const own = (await get({ audience: 'https://kms.example' })).json() as { token: string };
    assert.equal((await verifyResultToken(own.token, jwks, { at: new Date(now), audience: 'https://kms.example', accept: 'warning' })).aud, 'https://kms.example');
    await assert.rejects(verifyResultToken(own.token, jwks, { at: new Date(now), audience: 'https://default-rp.example', accept: 'warning' }), /audience/);
    const dflt = (await get({})).json() as { token: string };
    assert.equal((await verifyResultToken(dflt.token, jwks, { at: new Date(now), audience: 'https://default-rp.example', accept: 'warning' })).aud, 'https://default-rp.example');
    const bad = await get({ audience: 'two words' });
    assertError(bad, 400, 'INPUT_INVALID');
    assert.match((bad.json() as { error: { message: string } }).error.message, /audience/);
  } finally {
    await svc.close();
  }
});
