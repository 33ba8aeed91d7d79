import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBase64, fromHex, isVeriteeError, toHex, type Clock } from '@veritee/core';
import { SimulatedTee, verifyEvidence } from '@veritee/attestation';
import { buildGateway, OHTTP_KEY_PROBLEM_TYPE, simulatedEvidenceProvider, type GatewayAttestation, type GatewayServer } from './gateway.js';
import { KeyStore } from './keyconfig.js';
import { encapsulate, REQUEST_HEADER_BYTES, type ClientResponseContext } from './encapsulate.js';
import { decodeResponse, encodeRequest, type BhttpRequest, type DecodedResponse } from './bhttp.js';
import { devPolicy, startTarget, type TargetServer } from './testing.js';

let target: TargetServer;
let tee: SimulatedTee;
let gateway: GatewayServer;

before(async () => {
  target = await startTarget();
  tee = await SimulatedTee.create({ platforms: ['tdx'] });
  gateway = await buildGateway({
    target: target.url,
    allowTargets: ['http://127.0.0.1:1/only-here'],
    maxRequestBytes: 4096,
    evidence: await simulatedEvidenceProvider({ platform: 'tdx', tee }),
  });
  await gateway.ready();
});
after(async () => {
  await gateway.close();
  await target.close();
});

const host = () => new URL(target.url).host;
const req = (over: Partial<BhttpRequest> = {}): BhttpRequest => ({
  method: 'GET',
  scheme: 'http',
  authority: host(),
  path: '/hello',
  headers: [],
  content: new Uint8Array(0),
  trailers: [],
  ...over,
});

async function sealed(r: BhttpRequest | Uint8Array, keys = gateway.keys): Promise<{ body: Buffer; ctx: ClientResponseContext }> {
  const { request, responseContext } = await encapsulate(keys.activeConfigs(), r instanceof Uint8Array ? r : encodeRequest(r));
  return { body: Buffer.from(request), ctx: responseContext };
}

/** POSTs to the gateway; `contentType: null` sends none. */
const post = (payload: Buffer | string, contentType: string | null = 'message/ohttp-req', url = '/gateway') =>
  gateway.inject({ method: 'POST', url, payload, headers: contentType === null ? {} : { 'content-type': contentType } });

function openInner(res: { statusCode: number; headers: Record<string, unknown>; rawPayload: Buffer }, ctx: ClientResponseContext): DecodedResponse {
  assert.equal(res.statusCode, 200, 'inner errors travel in a 200');
  assert.equal(res.headers['content-type'], 'message/ohttp-res');
  return decodeResponse(ctx.open(new Uint8Array(res.rawPayload)));
}

/** Runs `fn` and asserts the target saw no request meanwhile. */
async function nothingForwarded(fn: () => Promise<void>): Promise<void> {
  const before = target.seen.length;
  const forwarded = gateway.stats.forwarded;
  await fn();
  assert.equal(target.seen.length, before, 'the target received nothing');
  assert.equal(gateway.stats.forwarded, forwarded);
}

test('serves its key configurations as application/ohttp-keys (also at the RFC 9540 well-known URI)', async () => {
  for (const url of ['/ohttp-keys', '/.well-known/ohttp-gateway']) {
    const res = await gateway.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/ohttp-keys');
    assert.deepEqual(new Uint8Array(res.rawPayload), gateway.keys.encoded());
  }
});

test('a valid request is forwarded to the target and the answer comes back encapsulated', async () => {
  const before = target.seen.length;
  const { body, ctx } = await sealed(
    req({ method: 'POST', path: '/echo?q=1', headers: [['content-type', 'text/plain'], ['connection', 'x-drop-me'], ['x-drop-me', '1'], ['x-keep', 'kept']], content: new TextEncoder().encode('ping') }),
  );
  const r = openInner(await post(body), ctx);
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(r.content)), { method: 'POST', url: '/echo?q=1', body: 'ping' });
  assert.equal(target.seen.length, before + 1);
  const seen = target.seen.at(-1)!;
  assert.equal(seen.headers['x-keep'], 'kept');
  assert.equal(seen.headers['x-drop-me'], undefined, 'fields named by Connection are hop-by-hop');
  assert.equal(seen.headers.host, host());
  // an indeterminate-length inner request with padding is decoded too
  const il = await sealed(encodeRequest(req({ method: 'PUT', path: '/il', content: new TextEncoder().encode('chunked') }), { mode: 'indeterminate-length', chunkSize: 3, padding: 5 }));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(openInner(await post(il.body), il.ctx).content)), { method: 'PUT', url: '/il', body: 'chunked' });
  // trailers come back as BHTTP trailers
  const t = await sealed(req({ path: '/trailers' }));
  const tr = openInner(await post(t.body), t.ctx);
  assert.equal(new TextDecoder().decode(tr.content), 'part one, part two');
  assert.deepEqual(tr.trailers, [['x-checksum', 'abc123']]);
});

test('outer errors: wrong media type, empty, oversized, wrong method — plain 4xx, nothing forwarded', async () => {
  await nothingForwarded(async () => {
    const { body } = await sealed(req());
    for (const ct of ['application/json', 'text/plain', 'message/ohttp-res', 'application/octet-stream', null]) {
      const res = await post(body, ct);
      assert.equal(res.statusCode, 415, `content type ${ct}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.json().code, 'OHTTP_MEDIA_TYPE');
    }
    assert.equal((await post(Buffer.alloc(0))).statusCode, 400);
    const big = await post(Buffer.alloc(4097, 1));
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().code, 'INPUT_TOO_LARGE');
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const res = await gateway.inject({ method, url: '/gateway' });
      assert.equal(res.statusCode, 405);
      assert.equal(res.headers['allow'], 'POST');
    }
  });
});

test('outer errors: truncated at each field boundary, unknown key ID, unoffered suite, tampered ciphertext', async () => {
  await nothingForwarded(async () => {
    const { body } = await sealed(req());
    // hdr is 7 bytes (key ID | KEM | KDF | AEAD), enc is 32, the AEAD tag 16
    for (const n of [1, 3, 5, REQUEST_HEADER_BYTES, REQUEST_HEADER_BYTES + 31, REQUEST_HEADER_BYTES + 32, REQUEST_HEADER_BYTES + 32 + 15]) {
      const res = await post(body.subarray(0, n));
      assert.equal(res.statusCode, 400, `cut at ${n}`);
      assert.equal(res.json().code, 'OHTTP_REQUEST_INVALID', `cut at ${n}`);
    }
    // cut inside the ciphertext: the AEAD fails
    assert.equal((await post(body.subarray(0, body.length - 1))).json().code, 'OHTTP_DECRYPT_FAILED');

    const unknown = Buffer.from(body);
    unknown[0] = (unknown[0]! + 1) & 0xff;
    const u = await post(unknown);
    assert.equal(u.statusCode, 400);
    assert.match(String(u.headers['content-type']), /^application\/problem\+json/);
    assert.equal(u.json().type, OHTTP_KEY_PROBLEM_TYPE, 'RFC 9458 §5.3 problem type');
    assert.equal(u.json().title, 'key identifier unknown');

    const suite = Buffer.from(body);
    suite[6] = 0x02; // AES-256-GCM: not offered by the default key
    assert.equal((await post(suite)).json().type, OHTTP_KEY_PROBLEM_TYPE);

    for (const i of [10, REQUEST_HEADER_BYTES + 32 + 1, body.length - 1]) {
      const t = Buffer.from(body);
      t[i] = t[i]! ^ 0x80;
      const res = await post(t);
      assert.equal(res.statusCode, 400, `flip at ${i}`);
      assert.equal(res.json().code, 'OHTTP_DECRYPT_FAILED');
    }
  });
  assert.ok(gateway.stats.outerErrors >= 17);
});

test('inner errors: disallowed target, path outside an allowed prefix, invalid BHTTP, 100-continue — encapsulated, nothing forwarded', async () => {
  await nothingForwarded(async () => {
    const cases: Array<[BhttpRequest | Uint8Array, number, string]> = [
      [req({ authority: 'evil.example' }), 403, 'OHTTP_TARGET_FORBIDDEN'],
      [req({ scheme: 'https', authority: host() }), 403, 'OHTTP_TARGET_FORBIDDEN'], // other origin (scheme)
      [req({ authority: '127.0.0.1:1', path: '/elsewhere' }), 403, 'OHTTP_TARGET_FORBIDDEN'],
      [req({ authority: '127.0.0.1:1', path: '/only-here-not' }), 403, 'OHTTP_TARGET_FORBIDDEN'],
      [new Uint8Array([0x07, 0x01]), 400, 'OHTTP_BHTTP_INVALID'],
      [new Uint8Array([0x00, 0x03, 0x47, 0x45]), 400, 'OHTTP_BHTTP_INVALID'],
      [req({ method: 'PUT', headers: [['expect', '100-continue']], content: new Uint8Array(5) }), 417, 'OHTTP_BHTTP_INVALID'],
      [req({ method: 'CONNECT', scheme: '', path: '' }), 405, 'OHTTP_BHTTP_INVALID'],
      [req({ authority: '127.0.0.1:1', path: '/only-here/../secret' }), 400, 'OHTTP_BHTTP_INVALID'], // escaping a prefix
      [req({ authority: '127.0.0.1:1', path: '/only-here/%2E%2e/secret' }), 400, 'OHTTP_BHTTP_INVALID'],
      [req({ path: 'http://evil.example/' }), 400, 'OHTTP_BHTTP_INVALID'], // absolute-form
      [req({ authority: `user@${host()}` }), 400, 'OHTTP_BHTTP_INVALID'],
    ];
    for (const [r, status, code] of cases) {
      const { body, ctx } = await sealed(r);
      const inner = openInner(await post(body), ctx);
      assert.equal(inner.status, status);
      assert.equal(JSON.parse(new TextDecoder().decode(inner.content)).code, code);
    }
  });
});

test('an allowed prefix target is forwarded; an unreachable target is an encapsulated 502', async () => {
  const { body, ctx } = await sealed(req({ authority: '127.0.0.1:1', path: '/only-here/x' }));
  const inner = openInner(await post(body), ctx);
  assert.equal(inner.status, 502); // nothing listens on port 1
  assert.equal(JSON.parse(new TextDecoder().decode(inner.content)).code, 'OHTTP_TARGET_UNAVAILABLE');
});

test('attestation binds SHA-256 of the served key configurations and the nonce', async () => {
  const nonce = new Uint8Array(32).fill(0x5a);
  const res = await gateway.inject({ method: 'GET', url: `/attestation?nonce=${toHex(nonce)}` });
  assert.equal(res.statusCode, 200);
  const doc = res.json() as GatewayAttestation;
  assert.equal(doc.simulated, true);
  assert.match(doc.note ?? '', /SIMULATED/);
  assert.deepEqual(fromBase64(doc.keyConfigs), gateway.keys.encoded());
  assert.equal(doc.keyConfigSha256, toHex(gateway.keys.digest()));
  const ok = await verifyEvidence(doc.evidence, { policy: devPolicy(), at: new Date(), nonce, publicKeyHash: gateway.keys.digest(), simulatedAnchors: tee.anchors });
  assert.equal(ok.ok, true, ok.failures.map((f) => f.detail).join('; '));
  // another key configuration does not verify against this evidence
  const other = await KeyStore.create();
  const bad = await verifyEvidence(doc.evidence, { policy: devPolicy(), at: new Date(), nonce, publicKeyHash: other.digest(), simulatedAnchors: tee.anchors });
  assert.equal(bad.ok, false);
  assert.ok(bad.failures.some((f) => f.code === 'ATTEST_REPORT_DATA_MISMATCH'));
  // a malformed nonce is refused
  assert.equal((await gateway.inject({ method: 'GET', url: '/attestation?nonce=zz' })).statusCode, 400);
});

test('key rotation through the gateway: old key served during grace, refused after (injected clock)', async () => {
  let now = Date.parse('2025-06-01T00:00:00Z');
  const clock: Clock = { now: () => now };
  const keys = await KeyStore.create({ clock, graceMs: 30_000 });
  const g = await buildGateway({ target: target.url, keys });
  try {
    const oldConfigs = keys.activeConfigs();
    now += 1;
    await keys.rotate();
    const oldKeysBody = await g.inject({ method: 'GET', url: '/ohttp-keys' });
    assert.notDeepEqual(new Uint8Array(oldKeysBody.rawPayload), (await import('./keyconfig.js')).encodeKeyConfigs(oldConfigs));

    now += 29_999; // still in grace
    const a = await encapsulate(oldConfigs, encodeRequest(req()));
    const ra = await g.inject({ method: 'POST', url: '/gateway', payload: Buffer.from(a.request), headers: { 'content-type': 'message/ohttp-req' } });
    assert.equal(decodeResponse(a.responseContext.open(new Uint8Array(ra.rawPayload))).status, 200);

    now += 1; // grace over
    const before = target.seen.length;
    const b = await encapsulate(oldConfigs, encodeRequest(req()));
    const rb = await g.inject({ method: 'POST', url: '/gateway', payload: Buffer.from(b.request), headers: { 'content-type': 'message/ohttp-req' } });
    assert.equal(rb.statusCode, 400);
    assert.equal(rb.json().type, OHTTP_KEY_PROBLEM_TYPE);
    assert.equal(target.seen.length, before);
  } finally {
    await g.close();
  }
});

test('without an evidence provider the attestation route answers 503; bad targets are refused at build time', async () => {
  const g = await buildGateway({ target: target.url });
  try {
    assert.equal((await g.inject({ method: 'GET', url: '/attestation' })).statusCode, 503);
  } finally {
    await g.close();
  }
  await assert.rejects(buildGateway({ target: 'ftp://x' }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
  await assert.rejects(buildGateway({ target: 'http://u:p@x' }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
  void fromHex;
});

test('a target response over the limit becomes an encapsulated 502', async () => {
  const g = await buildGateway({ target: target.url, maxResponseBytes: 16 });
  try {
    for (const [path, status] of [
      ['/hello', 200], // 5 bytes
      ['/echo-something-long', 502], // JSON echo, over 16 bytes
    ] as const) {
      const { request, responseContext } = await encapsulate(g.keys.activeConfigs(), encodeRequest(req({ path })));
      const res = await g.inject({ method: 'POST', url: '/gateway', payload: Buffer.from(request), headers: { 'content-type': 'message/ohttp-req' } });
      assert.equal(res.statusCode, 200);
      assert.equal(decodeResponse(responseContext.open(new Uint8Array(res.rawPayload))).status, status, path);
    }
  } finally {
    await g.close();
  }
});
