/**
 * End to end on loopback, with real HTTP servers on 127.0.0.1:0:
 *
 *   client (binds 127.0.0.2) -> relay (egress bound to 127.0.0.3) -> gateway -> target
 *
 * Distinct loopback source addresses let the test tell the parties apart: the gateway
 * must only ever see 127.0.0.3 (the relay), never 127.0.0.2 (the client).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Agent, request as undiciRequest } from 'undici';
import { isVeriteeError } from '@veritee/core';
import { SimulatedTee } from '@veritee/attestation';
import { buildGateway, simulatedEvidenceProvider, type GatewayServer } from './gateway.js';
import { buildRelay, type RelayServer } from './relay.js';
import { OhttpClient } from './client.js';
import { KeyStore } from './keyconfig.js';
import { encapsulate } from './encapsulate.js';
import { decodeResponse, encodeRequest } from './bhttp.js';
import { devPolicy, startTarget, type TargetServer } from './testing.js';

const CLIENT_ADDRESS = '127.0.0.2';
const RELAY_EGRESS = '127.0.0.3';
const MARKER = 'ZEBRA-7f3a-plaintext-marker';

let target: TargetServer;
let gateway: GatewayServer;
let relay: RelayServer;
let relayUrl: string;
let clientAgent: Agent;
const relayLogs: string[] = [];

/** What arrived at the gateway (i.e. what the relay forwarded) and what it answered. */
const atGateway: Array<{ url: string; remoteAddress: string; headers: Record<string, unknown>; body?: Buffer; reply?: Buffer }> = [];

before(async () => {
  target = await startTarget();
  const tee = await SimulatedTee.create({ platforms: ['tdx'] });
  gateway = await buildGateway({
    target: target.url,
    keys: await KeyStore.create({ graceMs: 0 }),
    evidence: await simulatedEvidenceProvider({ platform: 'tdx', tee }),
  });
  gateway.addHook('onRequest', async (req) => {
    atGateway.push({ url: req.url, remoteAddress: req.socket.remoteAddress ?? '', headers: { ...req.headers } });
  });
  gateway.addHook('preHandler', async (req) => {
    if (Buffer.isBuffer(req.body)) atGateway.at(-1)!.body = Buffer.from(req.body);
  });
  gateway.addHook('onSend', async (_req, _reply, payload) => {
    if (Buffer.isBuffer(payload)) atGateway.at(-1)!.reply = Buffer.from(payload);
    else if (typeof payload === 'string') atGateway.at(-1)!.reply = Buffer.from(payload);
    return payload;
  });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  const gwUrl = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  relay = await buildRelay({ gateway: gwUrl, localAddress: RELAY_EGRESS, logger: { stream: { write: (s: string) => relayLogs.push(s) } } });
  await relay.listen({ host: '127.0.0.1', port: 0 });
  relayUrl = `http://127.0.0.1:${(relay.server.address() as AddressInfo).port}`;
  clientAgent = new Agent({ localAddress: CLIENT_ADDRESS });
});

after(async () => {
  await clientAgent.close();
  await relay.close();
  await gateway.close();
  await target.close();
});

const connect = (over: Partial<Parameters<typeof OhttpClient.connect>[0]> = {}) =>
  OhttpClient.connect({ relayUrl, keysUrl: `${relayUrl}/ohttp-keys`, policy: devPolicy(), dispatcher: clientAgent, ...over });

test('a request through relay and gateway: the relay sees only ciphertext, the gateway only the relay', async () => {
  const fromGateway = atGateway.length;
  const fromTarget = target.seen.length;
  const client = await connect();
  assert.equal(client.gateway.simulated, true);
  assert.equal(client.gateway.attestation.ok, true);

  const res = await client.request({
    url: `${target.url}/echo/${MARKER}?q=${MARKER}`,
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'x-marker': MARKER },
    body: `body ${MARKER}`,
  });
  assert.equal(res.status, 200);
  assert.equal(res.header('x-target'), 'yes');
  assert.deepEqual(JSON.parse(res.text()), { method: 'POST', url: `/echo/${MARKER}?q=${MARKER}`, body: `body ${MARKER}` });

  // the target got the request from the gateway, with the client's inner headers only
  assert.equal(target.seen.length, fromTarget + 1);
  const t = target.seen.at(-1)!;
  assert.equal(t.headers['x-marker'], MARKER);
  assert.equal(t.remoteAddress, '127.0.0.1');
  for (const h of ['x-forwarded-for', 'forwarded', 'via', 'user-agent', 'cookie']) assert.equal(t.headers[h], undefined, `${h} at the target`);

  // everything the relay forwarded (keys, attestation, request) came from the relay's address
  const hops = atGateway.slice(fromGateway);
  assert.deepEqual(
    hops.map((h) => h.url.split('?')[0]),
    ['/ohttp-keys', '/attestation', '/gateway'],
  );
  for (const h of hops) {
    assert.equal(h.remoteAddress, RELAY_EGRESS, `${h.url} arrived from the relay`);
    assert.ok(!JSON.stringify(h.headers).includes(CLIENT_ADDRESS), 'no trace of the client address in headers');
  }

  // the relay carried ciphertext both ways: the plaintext marker is in neither body
  const post = hops.at(-1)!;
  assert.equal(post.headers['content-type'], 'message/ohttp-req');
  assert.ok(post.body && post.body.length > 7 + 32 + 16);
  assert.equal(post.body.indexOf(MARKER), -1, 'request body is opaque');
  assert.ok(post.reply && post.reply.length > 16);
  assert.equal(post.reply.indexOf(MARKER), -1, 'response body is opaque');
  assert.equal(post.reply.indexOf('x-target'), -1);

  // and the relay logged neither bodies nor the client's address
  const logText = relayLogs.join('');
  assert.ok(logText.length > 0);
  assert.equal(logText.indexOf(MARKER), -1);
  assert.equal(logText.indexOf(CLIENT_ADDRESS), -1);
});

test('client-identifying headers sent to the relay never reach the gateway', async () => {
  const client = await connect();
  const { request, responseContext } = await encapsulate(
    client.gateway.keyConfigs,
    encodeRequest({ method: 'GET', scheme: 'http', authority: new URL(target.url).host, path: '/hello', headers: [], content: new Uint8Array(0), trailers: [] }),
  );
  const identifying = {
    forwarded: 'for=198.51.100.7',
    'x-forwarded-for': '198.51.100.7',
    'x-real-ip': '198.51.100.7',
    via: '1.1 alice-proxy',
    cookie: 'session=alice',
    'user-agent': 'AliceBrowser/1.0',
    authorization: 'Bearer alice',
    'x-client-id': 'alice',
  };
  const from = atGateway.length;
  const res = await undiciRequest(relayUrl, {
    method: 'POST',
    dispatcher: clientAgent,
    headers: { 'content-type': 'message/ohttp-req', ...identifying },
    body: Buffer.from(request),
  });
  assert.equal(res.statusCode, 200);
  const body = new Uint8Array(await res.body.arrayBuffer());
  assert.equal(decodeResponse(responseContext.open(body)).status, 200);
  const hop = atGateway[from]!;
  assert.equal(hop.remoteAddress, RELAY_EGRESS);
  for (const name of Object.keys(hop.headers)) assert.ok(['host', 'content-type', 'content-length', 'connection'].includes(name), `${name} reached the gateway`);
  const all = JSON.stringify(hop.headers);
  for (const v of ['198.51.100.7', 'alice', 'AliceBrowser']) assert.ok(!all.includes(v), `${v} reached the gateway`);
});

test('errors through the relay: outer ones come back unencapsulated, nothing reaches the target', async () => {
  const client = await connect();
  const fromTarget = target.seen.length;
  const send = (body: Uint8Array | string, contentType = 'message/ohttp-req') =>
    undiciRequest(relayUrl, { method: 'POST', dispatcher: clientAgent, headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : Buffer.from(body) });
  const good = (
    await encapsulate(
      client.gateway.keyConfigs,
      encodeRequest({ method: 'GET', scheme: 'http', authority: new URL(target.url).host, path: '/hello', headers: [], content: new Uint8Array(0), trailers: [] }),
    )
  ).request;

  const wrongType = await send(good, 'application/octet-stream');
  assert.equal(wrongType.statusCode, 415);
  await wrongType.body.dump();

  const unknownKey = good.slice();
  unknownKey[0] = (unknownKey[0]! + 100) & 0xff;
  const u = await send(unknownKey);
  assert.equal(u.statusCode, 400);
  assert.equal(((await u.body.json()) as { type: string }).type, 'https://iana.org/assignments/http-problem-types#ohttp-key');

  const tampered = good.slice();
  tampered[tampered.length - 3] ^= 0xff;
  const t = await send(tampered);
  assert.equal(t.statusCode, 400);
  assert.equal(((await t.body.json()) as { code: string }).code, 'OHTTP_DECRYPT_FAILED');

  const truncated = await send(good.subarray(0, 20));
  assert.equal(truncated.statusCode, 400);
  await truncated.body.dump();

  const oversized = await send(new Uint8Array(1024 * 1024 + 1));
  assert.equal(oversized.statusCode, 413);
  await oversized.body.dump();

  // a disallowed target is an inner error: 200 outside, 403 inside
  const forbidden = await client.request({ url: 'http://169.254.169.254/latest/meta-data/' });
  assert.equal(forbidden.status, 403);
  assert.equal(target.seen.length, fromTarget, 'the target saw none of these');
});

test('after a rotation past the grace period the client re-verifies and retries once', async () => {
  const client = await connect();
  const before = client.gateway.keyConfigSha256;
  await gateway.keys.rotate(); // grace 0: the old key is refused at once
  const res = await client.request({ url: `${target.url}/hello` });
  assert.equal(res.status, 200);
  assert.equal(res.text(), 'hello');
  assert.notEqual(client.gateway.keyConfigSha256, before);
});

test('a policy that does not allow simulated evidence refuses this gateway before any request', async () => {
  const from = atGateway.length;
  await assert.rejects(connect({ policy: devPolicy({ allowSimulated: false }) }), (e) => isVeriteeError(e, 'ATTEST_SIMULATED_REFUSED'));
  assert.ok(atGateway.slice(from).every((h) => h.url.split('?')[0] !== '/gateway'));
});
