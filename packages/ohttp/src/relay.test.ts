import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { buildRelay, type RelayServer } from './relay.js';

/** A stand-in gateway that records what the relay sends it. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
let stub: Server;
let stubUrl: string;
const seen: Seen[] = [];
let relay: RelayServer;
const logs: string[] = [];

before(async () => {
  stub = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      const isKeys = req.url === '/ohttp-keys';
      res.writeHead(200, {
        'content-type': isKeys ? 'application/ohttp-keys' : 'message/ohttp-res',
        'cache-control': 'no-store',
        'set-cookie': 'gw=1',
        'x-gateway-internal': 'secret',
      });
      res.end(Buffer.from(isKeys ? 'KEYS' : 'OPAQUE-RESPONSE'));
    });
  });
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  relay = await buildRelay({ gateway: stubUrl, maxRequestBytes: 2048, logger: { stream: { write: (s: string) => logs.push(s) } } });
  await relay.ready();
});
after(async () => {
  await relay.close();
  stub.closeAllConnections();
  await new Promise<void>((r) => stub.close(() => r()));
});

const CLIENT_HEADERS = {
  forwarded: 'for=198.51.100.7;proto=https',
  'x-forwarded-for': '198.51.100.7',
  'x-forwarded-host': 'client.example',
  'x-real-ip': '198.51.100.7',
  via: '1.1 client-proxy',
  cookie: 'session=alice',
  'user-agent': 'AliceBrowser/1.0',
  authorization: 'Bearer alice-token',
  'x-client-id': 'alice',
  'accept-language': 'mi-NZ',
  origin: 'https://alice.example',
  referer: 'https://alice.example/private',
};

test('forwards the opaque body with no client header, and passes back only status, type and body', async () => {
  const before = seen.length;
  const body = Buffer.from([1, 0, 0x20, 0, 1, 0, 1, ...Array(60).fill(7)]);
  const res = await relay.inject({
    method: 'POST',
    url: '/',
    payload: body,
    remoteAddress: '198.51.100.7',
    headers: { 'content-type': 'message/ohttp-req', ...CLIENT_HEADERS },
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'message/ohttp-res');
  assert.equal(res.rawPayload.toString(), 'OPAQUE-RESPONSE');
  assert.equal(res.headers['set-cookie'], undefined);
  assert.equal(res.headers['x-gateway-internal'], undefined);
  assert.equal(seen.length, before + 1);
  const s = seen.at(-1)!;
  assert.equal(s.method, 'POST');
  assert.equal(s.url, '/gateway');
  assert.deepEqual(s.body, body);
  // only what HTTP framing needs
  for (const name of Object.keys(s.headers)) assert.ok(['connection', 'content-length', 'content-type', 'host'].includes(name), `header ${name} must not be forwarded`);
  assert.equal(s.headers['content-type'], 'message/ohttp-req');
  const all = JSON.stringify(s.headers);
  for (const v of ['198.51.100.7', 'alice', 'AliceBrowser', 'client-proxy', 'mi-NZ']) assert.ok(!all.includes(v), `${v} must not reach the gateway`);
  // logs keep neither the client's address nor the body
  const logText = logs.join('');
  assert.ok(!logText.includes('198.51.100.7'));
  assert.ok(!logText.includes('OPAQUE'));
  assert.ok(!logText.includes('alice'));
});

test('keys and attestation are relayed too; only the nonce parameter passes', async () => {
  const before = seen.length;
  const keys = await relay.inject({ method: 'GET', url: '/ohttp-keys', headers: CLIENT_HEADERS });
  assert.equal(keys.statusCode, 200);
  assert.equal(keys.headers['content-type'], 'application/ohttp-keys');
  const nonce = 'ab'.repeat(32);
  await relay.inject({ method: 'GET', url: `/attestation?nonce=${nonce}&track=alice`, headers: CLIENT_HEADERS });
  assert.equal(seen.length, before + 2);
  assert.equal(seen.at(-1)!.url, `/attestation?nonce=${nonce}`);
  for (const s of seen.slice(before)) assert.ok(!JSON.stringify(s.headers).includes('alice'));
});

test('the relay refuses, without forwarding: wrong media type, empty or oversized bodies, bad nonce, unknown routes', async () => {
  const before = seen.length;
  const refusals: Array<[InjectOptions, number]> = [
    [{ method: 'POST', url: '/', payload: '{}', headers: { 'content-type': 'application/json' } }, 415],
    [{ method: 'POST', url: '/', payload: Buffer.alloc(10), headers: { 'content-type': 'text/plain' } }, 415],
    [{ method: 'POST', url: '/', payload: Buffer.alloc(0), headers: { 'content-type': 'message/ohttp-req' } }, 400],
    [{ method: 'POST', url: '/', payload: Buffer.alloc(2049), headers: { 'content-type': 'message/ohttp-req' } }, 413],
    [{ method: 'GET', url: '/attestation?nonce=xyz' }, 400],
    [{ method: 'GET', url: '/' }, 404],
    [{ method: 'GET', url: '/admin' }, 404],
  ];
  for (const [req, status] of refusals) {
    const res = await relay.inject(req);
    assert.equal(res.statusCode, status, JSON.stringify(req).slice(0, 100));
  }
  assert.equal(seen.length, before, 'nothing reached the gateway');
});

test('an unreachable gateway is a 502 from the relay', async () => {
  const r = await buildRelay({ gateway: 'http://127.0.0.1:1' });
  try {
    const res = await r.inject({ method: 'POST', url: '/', payload: Buffer.alloc(60), headers: { 'content-type': 'message/ohttp-req' } });
    assert.equal(res.statusCode, 502);
  } finally {
    await r.close();
  }
});
