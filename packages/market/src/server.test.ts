/**
 * The service over real HTTP on loopback with the generator client and the requester SDK:
 * real proofs (disk claim, Go prover), a stalling generator slashed and its job finished by
 * another, a generator with a non-matching image that never sees private inputs, error codes
 * for bad requests, the long poll, and the JetStream path against a real nats-server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError, utf8, sha256 } from '@veritee/core';
import { SimulatedTee } from '@veritee/attestation';
import { startNats, type RunningEngine } from '@veritee/control-plane';
import { testHome } from '@veritee/zk/testing';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { buildMarketServer } from './server.js';
import { MarketClient, runGenerator, type RunningGenerator } from './client.js';
import { startJetStreamPublisher, EVENTS_STREAM } from './events.js';
import { devVeriteeClaimSystem, hexOf, measurement, openTestMarket, proveVeriteeClaim, ProverPool, smallClaimInputs, smallClaimKey, VERITEE_CLAIM_SYSTEM, type TestMarket } from './testing.js';
import type { MarketEvent } from './market.js';

let pool: ProverPool;
let t: TestMarket;
let app: Awaited<ReturnType<typeof buildMarketServer>>;
let url: string;
let tee: SimulatedTee;
let nats: RunningEngine;
const gens: RunningGenerator[] = [];
const IMAGE_OK = measurement(0xa1);
const IMAGE_OTHER = measurement(0xb2);
const REQ = sha256(utf8('requester'));
const systems = new Map([[VERITEE_CLAIM_SYSTEM, devVeriteeClaimSystem()]]);

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  tee = await SimulatedTee.create({ platforms: ['snp'] });
  t = await openTestMarket({ tee });
  app = await buildMarketServer({ market: t.market, matchEveryMs: 100 });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  nats = await startNats();
});

after(async () => {
  for (const g of gens) await g.stop();
  await app?.close();
  await t?.close();
  await pool?.close();
  await nats?.stop();
});

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, ms = 180_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('over HTTP: a stalling generator is slashed, another finishes and is rewarded, a wrong image never sees the inputs, the requester verifies locally', async () => {
  const client = new MarketClient(url, { allowSimulated: true, engineMeasurements: [hexOf(measurement(0xee))] });
  const vk = await smallClaimKey(pool);
  const s = smallClaimInputs(1);
  const created = await client.createMarket({
    id: 'disk',
    proofSystem: VERITEE_CLAIM_SYSTEM,
    verificationKey: vk,
    allowedMeasurements: [hexOf(IMAGE_OK)],
    collateral: 300,
    slashPenalty: 200,
    slashRewardBp: 5000,
    sample: { publicInputs: s.publicInputs, proof: await proveVeriteeClaim(pool, vk, s.publicInputs, s.privateInputs) },
  });
  assert.equal(created.created, true);
  const engineKeys = await client.engine(Date.now());
  const events: { gen: string; kind: string }[] = [];
  const start = (id: string, o: { image: Uint8Array; cost: number; provingTimeMs: number; stall?: boolean }) => {
    const g = runGenerator({
      url,
      generatorId: id,
      identitySecret: sha256(utf8(`gen-${id}`)),
      stake: 1000,
      maxConcurrent: 2,
      markets: [{ marketId: 'disk', cost: o.cost, provingTimeMs: o.provingTimeMs }],
      tee,
      measurement: o.image,
      engineKeys,
      prove: (a) => proveVeriteeClaim(pool, a.verificationKey, a.publicInputs, a.privateInputs),
      ...(o.stall ? { stall: true } : {}),
      onEvent: (e) => events.push({ gen: id, kind: e.kind }),
    });
    gens.push(g);
    return g;
  };
  // the staller scores best (fastest, cheapest); "wrong" is better still but runs another image
  const staller = start('staller', { image: IMAGE_OK, cost: 100, provingTimeMs: 1000, stall: true });
  const honest = start('honest', { image: IMAGE_OK, cost: 300, provingTimeMs: 5000 });
  const wrong = start('wrong', { image: IMAGE_OTHER, cost: 1, provingTimeMs: 500 });
  await Promise.all(gens.map((g) => g.ready));

  const now = Date.now();
  const inp = smallClaimInputs(8);
  const v = await client.createAsk(
    { id: 'http-1', marketId: 'disk', requesterSecret: REQ, startPrice: 500, maxPrice: 500, startMs: now, endMs: now, assignmentExpiryMs: now + 60_000, provingTimeMs: 6000, deadlineMs: now + 170_000, publicInputs: inp.publicInputs, privateInputs: inp.privateInputs },
    now,
  );
  assert.equal(v.state, 'unassigned');
  const done = await waitFor('completion', async () => {
    const st = await client.status('http-1');
    return st.state === 'complete' ? st : undefined;
  });
  assert.equal(done.completedBy, 'honest');
  assert.equal(done.attempt, 2);
  assert.deepEqual(staller.seen.get('http-1'), inp.privateInputs, 'the staller decrypted (inside its TEE) and stalled');
  assert.deepEqual(honest.seen.get('http-1'), inp.privateInputs);
  assert.equal(wrong.seen.size, 0, 'a non-matching image is never assigned a private ask');
  const evs = await client.events(0);
  const slashed = evs.filter((e) => e.type === 'ask.slashed');
  assert.equal(slashed.length, 1);
  assert.equal(slashed[0]!.data['generatorId'], 'staller');
  assert.ok(!evs.some((e) => e.type === 'ask.assigned' && e.data['generatorId'] === 'wrong'));
  assert.equal(await t.market.balanceOf('earnings:honest'), 300 + 100, 'its bid plus half of the 200 slash');
  const r = await client.result('http-1', systems);
  assert.equal(r.completedBy, 'honest');
  // a result whose proof was swapped would not verify locally
  const c = await client.ledger();
  assert.equal(c.ok, true, JSON.stringify(c));
  assert.equal(c.escrowed, c.paid + c.refunded + c.escrowHeld);
  assert.ok(events.some((e) => e.gen === 'staller' && e.kind === 'stalled'));
  // the requester refuses a result without a local proof system for it
  await assert.rejects(client.result('http-1', new Map()), (e) => isVeriteeError(e, 'MARKET_PROOF_SYSTEM_UNKNOWN'));
});

test('the requester refuses an engine whose image is not the expected one', async () => {
  const c = new MarketClient(url, { allowSimulated: true, engineMeasurements: [hexOf(measurement(0x01))] });
  await assert.rejects(c.engine(Date.now()), (e) => isVeriteeError(e, 'MARKET_ATTESTATION_INVALID'));
  const strict = new MarketClient(url);
  await assert.rejects(strict.engine(Date.now()), (e) => isVeriteeError(e, 'MARKET_ATTESTATION_INVALID'));
});

test('bad requests answer with codes and bounded bodies', async () => {
  const post = (path: string, body: string) => fetch(new URL(path, url), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  let r = await post('/v0/asks', '{not json');
  assert.equal(r.status, 400);
  assert.equal(((await r.json()) as { code: string }).code, 'INPUT_JSON_INVALID');
  r = await post('/v0/asks', JSON.stringify({ id: 'x' }));
  assert.equal(r.status, 400);
  assert.equal(((await r.json()) as { code: string }).code, 'INPUT_INVALID');
  r = await post('/v0/asks', JSON.stringify({ pad: 'x'.repeat(3 * 1024 * 1024) }));
  assert.equal(r.status, 413);
  assert.equal(((await r.json()) as { code: string }).code, 'INPUT_TOO_LARGE');
  r = await fetch(new URL('/v0/nope', url));
  assert.equal(r.status, 404);
  assert.equal(((await r.json()) as { code: string }).code, 'ROUTE_NOT_FOUND');
  r = await fetch(new URL('/v0/asks/unknown-ask', url));
  assert.equal(r.status, 404);
  assert.equal(((await r.json()) as { code: string }).code, 'MARKET_NOT_FOUND');
  r = await post('/v0/asks/http-1/cancel', JSON.stringify({ signature: '00'.repeat(64) }));
  assert.equal(((await r.json()) as { code: string }).code, 'MARKET_SIGNATURE_INVALID');
});

test('the long poll returns as soon as a new event is written', async () => {
  const c = new MarketClient(url);
  const all = await c.events(0);
  const last = all[all.length - 1]!.seq;
  const t0 = Date.now();
  const waiting = c.events(last, 20_000);
  setTimeout(() => void t.market.registerGenerator({ id: 'late-joiner', identityKey: '11'.repeat(32), stake: 5, maxConcurrent: 1 }, Date.now()), 300);
  const got = await waiting;
  assert.equal(got[0]!.type, 'generator.registered');
  assert.ok(Date.now() - t0 < 15_000, 'it did not wait for the whole poll');
});

test('events go to NATS JetStream once each, with the event id as message id (a restarted publisher adds no duplicates)', async () => {
  const all: MarketEvent[] = await t.market.events(0, 5000);
  const p1 = await startJetStreamPublisher({ market: t.market, servers: nats.url });
  assert.equal(await p1.flush(), all[all.length - 1]!.seq);
  await p1.stop();
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  const count = async () => (await jsm.streams.info(EVENTS_STREAM)).state.messages;
  assert.equal(await count(), all.length);
  // a publisher that lost its cursor replays everything: JetStream drops the duplicates
  await t.db.query("UPDATE market_cursors SET seq = 0 WHERE name = 'jetstream'");
  const p2 = await startJetStreamPublisher({ market: t.market, servers: nats.url });
  await p2.flush();
  assert.equal(await count(), all.length);
  // a new event goes through
  await t.market.registerGenerator({ id: 'another', identityKey: '22'.repeat(32), stake: 5, maxConcurrent: 1 }, Date.now());
  await p2.flush();
  assert.equal(await count(), all.length + 1);
  const msg = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: 'veritee.market.events.generator.registered' });
  assert.equal((msg!.json() as MarketEvent).data['generatorId'], 'another');
  await p2.stop();
  await nc.close();
  await assert.rejects(startJetStreamPublisher({ market: t.market, servers: '127.0.0.1:1' }), (e) => isVeriteeError(e, 'MARKET_EVENTS_UNAVAILABLE'));
});
