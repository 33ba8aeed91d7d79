/**
 * The gateway's replay window (RFC 9458 §6.5) through Fastify inject() with an injected
 * clock: a replayed encapsulated request is refused before anything reaches the target,
 * accepted again after the window, distinct requests pass, the memory cap is honoured,
 * and the Date check answers inside the encapsulation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '@veritee/core';
import { buildGateway, DATE_PROBLEM_TYPE, type GatewayServer } from './gateway.js';
import { buildRelay } from './relay.js';
import { encapsulate, type ClientResponseContext } from './encapsulate.js';
import { decodeResponse, encodeRequest, type BhttpRequest, type DecodedResponse } from './bhttp.js';
import { startTarget, type TargetServer } from './testing.js';
import { isVeriteeError } from '@veritee/core';

let target: TargetServer;
let now = Date.parse('2026-01-01T00:00:00Z');
const clock: Clock = { now: () => now };

before(async () => {
  target = await startTarget();
});
after(async () => {
  await target.close();
});

const req = (over: Partial<BhttpRequest> = {}): BhttpRequest => ({
  method: 'GET',
  scheme: 'http',
  authority: new URL(target.url).host,
  path: '/hello',
  headers: [],
  content: new Uint8Array(0),
  trailers: [],
  ...over,
});

async function sealed(gw: GatewayServer, r: BhttpRequest = req()): Promise<{ body: Buffer; ctx: ClientResponseContext }> {
  const { request, responseContext } = await encapsulate(gw.keys.activeConfigs(), encodeRequest(r));
  return { body: Buffer.from(request), ctx: responseContext };
}
const post = (gw: GatewayServer, payload: Buffer) => gw.inject({ method: 'POST', url: '/gateway', payload, headers: { 'content-type': 'message/ohttp-req' } });
function open(res: { statusCode: number; rawPayload: Buffer }, ctx: ClientResponseContext): DecodedResponse {
  assert.equal(res.statusCode, 200);
  return decodeResponse(ctx.open(new Uint8Array(res.rawPayload)));
}
function problem(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string) {
  assert.equal(res.statusCode, status);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal((res.json() as { code: string }).code, code);
}

test('a replay inside the window is refused (outer 400 OHTTP_REPLAY), nothing forwarded; after the window it is accepted', async () => {
  const gw = await buildGateway({ target: target.url, clock, replayWindowMs: 60_000 });
  try {
    const { body, ctx } = await sealed(gw);
    const seen = target.seen.length;
    assert.equal(new TextDecoder().decode(open(await post(gw, body), ctx).content), 'hello');
    assert.equal(target.seen.length, seen + 1);
    now += 59_000;
    const again = await post(gw, body);
    problem(again, 400, 'OHTTP_REPLAY');
    assert.equal(target.seen.length, seen + 1, 'the replay never reached the target');
    assert.equal(gw.stats.replays, 1);
    // A copy with the same enc but other ciphertext does not decrypt: an outer decrypt error, not a replay.
    const tampered = Buffer.from(body);
    tampered[tampered.length - 1]! ^= 1;
    problem(await post(gw, tampered), 400, 'OHTTP_DECRYPT_FAILED');
    // Distinct requests pass meanwhile.
    for (let i = 0; i < 3; i++) {
      const other = await sealed(gw);
      assert.equal(open(await post(gw, other.body), other.ctx).status, 200);
    }
    now += 1_000; // 60 s after the first: its window has ended
    const late = await post(gw, body);
    assert.equal(late.statusCode, 200, 'outside the window the gateway cannot tell a replay (the target must)');
    assert.equal(target.seen.length, seen + 5);
  } finally {
    await gw.close();
  }
});

test('the replay window is on by default (60 s); replayWindowMs 0 turns it off', async () => {
  const dflt = await buildGateway({ target: target.url, clock });
  const off = await buildGateway({ target: target.url, clock, replayWindowMs: 0 });
  try {
    assert.equal(dflt.replay?.windowMs, 60_000);
    const a = await sealed(dflt);
    assert.equal((await post(dflt, a.body)).statusCode, 200);
    problem(await post(dflt, a.body), 400, 'OHTTP_REPLAY');
    assert.equal(off.replay, undefined);
    const b = await sealed(off);
    assert.equal((await post(off, b.body)).statusCode, 200);
    assert.equal((await post(off, b.body)).statusCode, 200, 'off: forwarded again');
  } finally {
    await dflt.close();
    await off.close();
  }
});

test('the memory cap is honoured: a full window answers 503 OHTTP_REPLAY_WINDOW_FULL with Retry-After and forwards nothing', async () => {
  const gw = await buildGateway({ target: target.url, clock, replayWindowMs: 30_000, replayMaxEntries: 2 });
  try {
    const start = now;
    for (let i = 0; i < 2; i++) {
      const r = await sealed(gw);
      assert.equal((await post(gw, r.body)).statusCode, 200);
    }
    now = start + 10_000;
    const seen = target.seen.length;
    const third = await sealed(gw);
    const full = await post(gw, third.body);
    problem(full, 503, 'OHTTP_REPLAY_WINDOW_FULL');
    assert.equal(full.headers['retry-after'], '20');
    assert.equal(target.seen.length, seen);
    assert.equal(gw.replay?.size, 2);
    now = start + 30_000; // both expire together
    const fourth = await sealed(gw);
    assert.equal((await post(gw, fourth.body)).statusCode, 200);
    assert.equal(gw.replay?.size, 1);
  } finally {
    await gw.close();
  }
});

test('a Date outside the window gets an encapsulated 400 (…#date, with the gateway Date); inside it passes', async () => {
  const gw = await buildGateway({ target: target.url, clock, replayWindowMs: 60_000 });
  try {
    const seen = target.seen.length;
    const stale = await sealed(gw, req({ headers: [['date', new Date(now - 61_000).toUTCString()]] }));
    const res = open(await post(gw, stale.body), stale.ctx);
    assert.equal(res.status, 400);
    const body = JSON.parse(new TextDecoder().decode(res.content)) as { type: string; code: string };
    assert.equal(body.type, DATE_PROBLEM_TYPE);
    assert.equal(body.code, 'OHTTP_REPLAY');
    assert.equal(res.headers.find(([k]) => k === 'date')?.[1], new Date(now).toUTCString());
    for (const bad of ['yesterday', new Date(now).toISOString()]) {
      const r = await sealed(gw, req({ headers: [['date', bad]] }));
      assert.equal(open(await post(gw, r.body), r.ctx).status, 400, bad);
    }
    assert.equal(target.seen.length, seen, 'nothing forwarded');
    // A fresh Date passes; its replay is refused inside the window and by its Date after it.
    const fresh = await sealed(gw, req({ headers: [['date', new Date(now).toUTCString()]] }));
    assert.equal(open(await post(gw, fresh.body), fresh.ctx).status, 200);
    now += 30_000;
    problem(await post(gw, fresh.body), 400, 'OHTTP_REPLAY');
    now += 31_000;
    const late = await post(gw, fresh.body);
    assert.equal(late.statusCode, 200, 'encapsulated answer');
    assert.equal(target.seen.length, seen + 1, 'the late replay was refused by its Date, not forwarded');
  } finally {
    await gw.close();
  }
});

test('relay: an egress address that is not an IP literal is refused before anything listens', async () => {
  for (const bad of ['999.1.1.1', 'example.com', '1.2.3', '::g']) {
    await assert.rejects(buildRelay({ gateway: 'http://127.0.0.1:1', localAddress: bad }), (e) => isVeriteeError(e, 'INPUT_INVALID') && /egress address/.test(e.message));
  }
  const ok = await buildRelay({ gateway: 'http://127.0.0.1:1', localAddress: '::1' });
  await ok.close();
  await assert.rejects(buildRelay({ gateway: 'http://999.1.1.1:1' }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
});

test('gateway and relay: a malformed or huge URL is refused in their own shape, without echoing it', async () => {
  const gw = await buildGateway({ target: target.url, clock });
  const relay = await buildRelay({ gateway: 'http://127.0.0.1:1' });
  try {
    for (const app of [gw, relay]) {
      for (const url of ['/gateway%E0%A4%A', '/ohttp-keys/%zz', '/%1B' + 'a'.repeat(3000)]) {
        const res = await app.inject({ method: 'GET', url });
        assert.ok(res.statusCode === 400 || res.statusCode === 404, `${url.slice(0, 20)}: ${res.statusCode}`);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.ok(!res.body.includes('FST_ERR') && res.body.length < 300 && !res.body.includes('%zz'), res.body.slice(0, 120));
      }
    }
  } finally {
    await gw.close();
    await relay.close();
  }
});
