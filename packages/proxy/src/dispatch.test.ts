/**
 * The per-request dispatch hook (used by @veritee/gateway): forward to a target chosen per
 * request (with its own upstream path), answer an error or a body here — signed over the
 * request body the client sent, so the attested client verifies it — and a dispatcher
 * that throws is a 500, never a crash.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { createAttestedClient, type AttestedClient } from './client.js';
import { createAttestingProxy, parseUpstreamUrl, type DispatchDecision } from './server.js';
import { devPolicy, sharedTee, startProxy, startUpstream, type RunningProxy, type Upstream } from './testing/fixtures.js';

let up: Upstream;
let p: RunningProxy;
let client: AttestedClient;

before(async () => {
  up = await startUpstream();
  const target = parseUpstreamUrl(up.url);
  p = await startProxy(up.url, {
    dispatch: (req): DispatchDecision | Promise<DispatchDecision> => {
      const url = req.url ?? '/';
      if (url.startsWith('/fwd/')) return { forward: { ...target, path: url.slice(4) } };
      if (url === '/deny') return { error: { code: 'PROXY_REQUEST_MALFORMED', message: 'denied here', headers: { 'x-why': 'test' } } };
      if (url === '/local') return Promise.resolve({ respond: { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('local answer') } });
      if (url === '/throw') throw new Error('dispatcher bug');
      return { forward: target };
    },
  });
  client = createAttestedClient({ baseUrl: p.url, policy: devPolicy(), simulatedAnchors: (await sharedTee()).anchors, signedResponses: true });
});
after(async () => {
  await client.close();
  await p.close();
  await up.close();
});

test('forward with a path of its own: the upstream sees the rewritten path, the client a signed response', async () => {
  const res = await client.fetch('/fwd/echo', { method: 'POST', body: 'round trip' });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'round trip');
  assert.equal(res.attestation.verified, true);
});

test('an error decided before forwarding is signed over the request body and never reaches the upstream', async () => {
  const hits = up.hits;
  const res = await client.fetch('/deny', { method: 'POST', body: 'x'.repeat(5000) });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('x-why'), 'test');
  assert.equal(res.attestation.verified, true, 'the attested client verified the signature over its own body hash');
  assert.equal(res.attestation.verified && res.attestation.signed, true);
  assert.match(await res.text(), /PROXY_REQUEST_MALFORMED/);
  assert.equal(up.hits, hits);
  // The connection is still usable (the body was read).
  assert.equal((await client.fetch('/local')).status, 200);
});

test('a local answer (async decision) is signed; a throwing dispatcher is a 500 INTERNAL', async () => {
  const res = await client.fetch('/local');
  assert.equal(await res.text(), 'local answer');
  assert.equal(res.attestation.verified, true);
  const bad = await client.fetch('/throw');
  assert.equal(bad.status, 500);
  assert.match(await bad.text(), /"INTERNAL"/);
});

test('without upstream and dispatch the proxy refuses to start; a bad upstream URL names the field', async () => {
  const enclave = p.enclave;
  await assert.rejects(createAttestingProxy({ host: 'x', enclave, logger: false }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID') && /--upstream is required/.test(e.message));
  assert.throws(() => parseUpstreamUrl('https://127.0.0.1:1', 'pools.a.backends[0]'), /pools\.a\.backends\[0\] must be an http:\/\/ URL/);
});
