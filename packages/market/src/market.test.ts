/**
 * The market end to end on both storage backends — PGlite (embedded) and a throw-away
 * PostgreSQL 15 cluster — with real proofs: the smallest veritee claim (disk, 128 cells)
 * proven by the Go prover and verified in TypeScript. Times are explicit (`now`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromUtf8, isVeriteeError, utf8 } from '@veritee/core';
import { SimulatedTee } from '@veritee/attestation';
import { startPgCluster, type PgCluster } from '@veritee/kms';
import { testHome } from '@veritee/zk/testing';
import { assignmentAad, EnclaveKeys, inputsAad, publicKeyOf, sealTo, signValue } from './crypto.js';
import { replayAssignment, verifyEngineSignature } from './engine.js';
import { cancelMessage, claimMessage, joinMessage, proofDigest, submitMessage, type Market } from './market.js';
import { devVeriteeClaimSystem, hexOf, measurement, openTestMarket, proveVeriteeClaim, ProverPool, smallClaimInputs, smallClaimKey, VERITEE_CLAIM_SYSTEM, type TestMarket } from './testing.js';
import { canonicalJsonBytes, sha256, toHex } from '@veritee/core';
import type { VerificationKeyDocument } from '@veritee/zk';

let pool: ProverPool;
let vk: VerificationKeyDocument;
let sample: { publicInputs: unknown; proof: unknown };
let pg: PgCluster;
let tee: SimulatedTee;
const IMAGE_OK = measurement(0xa1);
const IMAGE_OTHER = measurement(0xb2);
const T0 = Date.UTC(2026, 11, 6, 12);

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  vk = await smallClaimKey(pool);
  const s = smallClaimInputs(1);
  sample = { publicInputs: s.publicInputs, proof: await proveVeriteeClaim(pool, vk, s.publicInputs, s.privateInputs) };
  tee = await SimulatedTee.create({ platforms: ['snp'], at: T0 });
  pg = await startPgCluster();
});

after(async () => {
  await pool?.close();
  await pg?.stop();
});

const secret = (n: number) => sha256(utf8(`secret-${n}`));

interface Gen {
  id: string;
  secret: Uint8Array;
  keys: EnclaveKeys;
}

async function generator(m: Market, id: string, o: { image: Uint8Array; stake?: number; maxConcurrent?: number; cost?: number; provingTimeMs?: number; marketId?: string }): Promise<Gen> {
  const s = secret(id.length * 1000 + id.charCodeAt(id.length - 1));
  await m.registerGenerator({ id, identityKey: publicKeyOf(s), stake: o.stake ?? 1000, maxConcurrent: o.maxConcurrent ?? 4 }, T0);
  const marketId = o.marketId ?? 'disk';
  const keys = await EnclaveKeys.create({ tee, role: 'generator', subject: `${id}/${marketId}`, measurement: o.image });
  const cost = o.cost ?? 100;
  const provingTimeMs = o.provingTimeMs ?? 10_000;
  const keysDigest = toHex(sha256(canonicalJsonBytes(keys.attested)));
  await m.joinMarket({ generatorId: id, marketId, cost, provingTimeMs, keys: keys.attested, signature: signValue(s, joinMessage({ generatorId: id, marketId, cost, provingTimeMs, keysDigest })) }, T0);
  return { id, secret: s, keys };
}

const REQ = secret(999);

async function privateAsk(m: Market, id: string, o: { seed?: number; maxPrice?: number; startPrice?: number; private?: unknown; deadline?: number; expiry?: number; marketId?: string } = {}) {
  const marketId = o.marketId ?? 'disk';
  const inp = smallClaimInputs(o.seed ?? 2);
  const sealed = await sealTo(m.engine.attested.hpkePublicKey, utf8(JSON.stringify(o.private ?? inp.privateInputs)), inputsAad(marketId, id));
  return m.createAsk(
    {
      id,
      marketId,
      requesterKey: publicKeyOf(REQ),
      startPrice: o.startPrice ?? 200,
      maxPrice: o.maxPrice ?? 1000,
      startMs: T0,
      endMs: T0 + 60_000,
      assignmentExpiryMs: T0 + (o.expiry ?? 300_000),
      provingTimeMs: 60_000,
      deadlineMs: T0 + (o.deadline ?? 600_000),
      publicInputs: inp.publicInputs,
      privateInputs: sealed,
    },
    T0,
  );
}

async function claimAndProve(m: Market, g: Gen, askId: string, now: number) {
  const st = await m.status(askId, now);
  const a = await m.claim({ askId, generatorId: g.id, attempt: st.attempt, signature: signValue(g.secret, claimMessage({ askId, generatorId: g.id, attempt: st.attempt })) }, now);
  const priv = JSON.parse(fromUtf8(await g.keys.open(a.inputs!, assignmentAad(a.marketId, askId, g.id, a.attempt))));
  const proof = await proveVeriteeClaim(pool, vk, a.publicInputs, priv);
  return { attempt: a.attempt, proof, priv };
}

function submit(m: Market, g: Gen, askId: string, attempt: number, proof: unknown, now: number) {
  return m.submit({ askId, generatorId: g.id, attempt, proof, signature: signValue(g.secret, submitMessage({ askId, generatorId: g.id, attempt, proofDigest: proofDigest(proof) })) }, now);
}

const marketSpec = (o: { id?: string; allowed?: string[]; sampleProof?: unknown } = {}) => ({
  id: o.id ?? 'disk',
  proofSystem: VERITEE_CLAIM_SYSTEM,
  verificationKey: vk,
  allowedMeasurements: o.allowed ?? [hexOf(IMAGE_OK)],
  collateral: 300,
  slashPenalty: 200,
  slashRewardBp: 6000,
  sample: { publicInputs: sample.publicInputs, proof: o.sampleProof ?? sample.proof },
});

for (const backend of ['embedded', 'postgres'] as const) {
  describe(`market on ${backend}`, () => {
    let t: TestMarket;
    let m: Market;
    before(async () => {
      t = await openTestMarket({ tee, ...(backend === 'postgres' ? { postgresUrl: pg.url } : {}) });
      m = t.market;
      assert.equal(m.db.backend, backend);
    });
    after(async () => {
      const c = await m.ledgerCheck();
      assert.equal(c.ok, true, JSON.stringify(c));
      await t.close();
    });

    test('a market is created only when its sample proof verifies; by id, idempotently', async () => {
      const forged = structuredClone(sample.proof) as { claim: { outputs: { maxUsageBp: number } } };
      forged.claim.outputs.maxUsageBp += 1;
      await assert.rejects(m.createMarket(marketSpec({ id: 'forged', sampleProof: forged }), T0), (e) => isVeriteeError(e, 'MARKET_SAMPLE_PROOF_INVALID'));
      await assert.rejects(m.getMarket('forged'), (e) => isVeriteeError(e, 'MARKET_NOT_FOUND'));
      await assert.rejects(m.createMarket({ ...marketSpec(), proofSystem: 'nope' }, T0), (e) => isVeriteeError(e, 'MARKET_PROOF_SYSTEM_UNKNOWN'));
      await assert.rejects(m.createMarket({ ...marketSpec(), slashPenalty: 301 }, T0), (e) => isVeriteeError(e, 'MARKET_ASK_INVALID'));
      const r = await m.createMarket(marketSpec(), T0);
      assert.equal(r.created, true);
      assert.equal((await m.createMarket(marketSpec(), T0)).created, false);
      await assert.rejects(m.createMarket({ ...marketSpec(), collateral: 301 }, T0), (e) => isVeriteeError(e, 'MARKET_CONFLICT'));
      await m.createMarket(marketSpec({ id: 'public', allowed: [] }), T0);
    });

    let g1: Gen, g2: Gen, bad: Gen;
    test('generators register with stake and join with attested keys; a join must be signed', async () => {
      g1 = await generator(m, 'g1', { image: IMAGE_OK, cost: 300 });
      g2 = await generator(m, 'g2', { image: IMAGE_OK, cost: 400, provingTimeMs: 20_000 });
      // the fastest and cheapest, but its image is not one the market allows
      bad = await generator(m, 'other-image', { image: IMAGE_OTHER, cost: 10, provingTimeMs: 1000 });
      assert.equal(await m.balanceOf('gen:g1'), 1000);
      await assert.rejects(
        m.joinMarket({ generatorId: 'g1', marketId: 'disk', cost: 1, provingTimeMs: 1, signature: signValue(secret(1), joinMessage({ generatorId: 'g1', marketId: 'disk', cost: 1, provingTimeMs: 1, keysDigest: null })) }, T0),
        (e) => isVeriteeError(e, 'MARKET_SIGNATURE_INVALID'),
      );
      // keys attested for another market are refused
      const wrong = await EnclaveKeys.create({ tee, role: 'generator', subject: 'g1/public', measurement: IMAGE_OK });
      const kd = toHex(sha256(canonicalJsonBytes(wrong.attested)));
      await assert.rejects(
        m.joinMarket({ generatorId: 'g1', marketId: 'disk', cost: 300, provingTimeMs: 10_000, keys: wrong.attested, signature: signValue(g1.secret, joinMessage({ generatorId: 'g1', marketId: 'disk', cost: 300, provingTimeMs: 10_000, keysDigest: kd })) }, T0),
        (e) => isVeriteeError(e, 'MARKET_ATTESTATION_INVALID'),
      );
    });

    test('happy path: matched by the documented score, a bad proof pays nothing, a good one pays the bid and refunds the surplus', async () => {
      const v = await privateAsk(m, 'ask-1');
      assert.equal(v.state, 'unassigned');
      assert.equal(await m.balanceOf('escrow:ask-1'), 1000);
      const r = await m.match(T0 + 30_000); // price now 200 + 800/2 = 600
      assert.equal(r.matched, 1);
      const st = await m.status('ask-1', T0 + 30_000);
      assert.equal(st.state, 'assigned');
      assert.equal(st.assignedTo, 'g1', 'g1 is faster and cheaper than g2; other-image is never given a private ask');
      assert.equal(verifyEngineSignature(m.engine.attested, st.assignment!), true);
      assert.deepEqual(replayAssignment(st.assignment!.record.inputs).generatorId, 'g1');
      assert.ok(!replayAssignment(st.assignment!.record.inputs).scores.some((s) => s.generatorId === 'other-image'));
      assert.equal(await m.balanceOf('collateral:ask-1:1'), 300);
      // only the assignee may claim
      await assert.rejects(m.claim({ askId: 'ask-1', generatorId: 'g2', attempt: 1, signature: signValue(g2.secret, claimMessage({ askId: 'ask-1', generatorId: 'g2', attempt: 1 })) }, T0 + 30_000), (e) => isVeriteeError(e, 'MARKET_STATE_INVALID'));
      await assert.rejects(m.claim({ askId: 'ask-1', generatorId: 'g1', attempt: 1, signature: signValue(g2.secret, claimMessage({ askId: 'ask-1', generatorId: 'g1', attempt: 1 })) }, T0 + 30_000), (e) => isVeriteeError(e, 'MARKET_SIGNATURE_INVALID'));
      const { attempt, proof, priv } = await claimAndProve(m, g1, 'ask-1', T0 + 31_000);
      assert.deepEqual(priv, smallClaimInputs(2).privateInputs);
      // a proof that does not verify (a forged output) → refused, nothing paid, still assigned
      const forged = structuredClone(proof) as { claim: { outputs: { scaleOut: boolean } } };
      forged.claim.outputs.scaleOut = !forged.claim.outputs.scaleOut;
      await assert.rejects(submit(m, g1, 'ask-1', attempt, forged, T0 + 40_000), (e) => isVeriteeError(e, 'MARKET_PROOF_REJECTED'));
      // a valid proof of other data (another ask's public inputs would differ) is also refused
      const otherPub = { kind: 'disk', params: { ...(smallClaimInputs(3).publicInputs.params as object), queueThreshold: 31 } };
      const otherData = await proveVeriteeClaim(pool, vk, otherPub, smallClaimInputs(3).privateInputs);
      await assert.rejects(submit(m, g1, 'ask-1', attempt, otherData, T0 + 40_000), (e) => isVeriteeError(e, 'MARKET_PROOF_REJECTED'));
      assert.equal((await m.status('ask-1', T0 + 40_000)).state, 'assigned');
      assert.equal(await m.balanceOf('earnings:g1'), 0);
      const done = await submit(m, g1, 'ask-1', attempt, proof, T0 + 41_000);
      assert.equal(done.state, 'complete');
      assert.equal(await m.balanceOf('earnings:g1'), 300, 'pay as bid');
      assert.equal(await m.balanceOf('escrow:ask-1'), 0);
      assert.equal(await m.balanceOf('gen:g1'), 1000, 'collateral released');
      const res = await m.result('ask-1', T0 + 42_000);
      assert.equal(await devVeriteeClaimSystem().verify(res.verificationKey, res.publicInputs, res.proof), true);
      // a repeated submission is idempotent, pays nothing more
      assert.equal((await submit(m, g1, 'ask-1', attempt, proof, T0 + 43_000)).state, 'complete');
      assert.equal(await m.balanceOf('earnings:g1'), 300);
      const c = await m.ledgerCheck();
      assert.equal(c.ok, true, JSON.stringify(c));
      assert.equal(c.paid, 300);
      assert.equal(c.refunded, 700);
    });

    test('two concurrent submissions of a valid proof → one payout', async () => {
      await privateAsk(m, 'ask-2', { seed: 4 });
      await m.match(T0 + 30_000);
      const st = await m.status('ask-2', T0 + 30_000);
      const g = st.assignedTo === 'g1' ? g1 : g2;
      const { attempt, proof } = await claimAndProve(m, g, 'ask-2', T0 + 31_000);
      const rs = await Promise.allSettled([submit(m, g, 'ask-2', attempt, proof, T0 + 32_000), submit(m, g, 'ask-2', attempt, proof, T0 + 32_000), submit(m, g, 'ask-2', attempt, proof, T0 + 32_000)]);
      assert.ok(rs.some((r) => r.status === 'fulfilled'));
      for (const r of rs) if (r.status === 'rejected') assert.ok(isVeriteeError(r.reason), String(r.reason));
      const payouts = await m.db.query("SELECT count(*) AS n FROM market_ledger WHERE kind = 'payout' AND ask_id = 'ask-2'");
      assert.equal(Number(payouts[0]!['n']), 1);
      const completed = (await m.events(0, 5000)).filter((e) => e.type === 'ask.completed' && e.askId === 'ask-2');
      assert.equal(completed.length, 1);
    });

    test('a stalling generator is slashed after its proving time and the ask reassigned; the finisher gets part of the slash', async () => {
      await privateAsk(m, 'ask-3', { seed: 5 });
      await m.match(T0 + 30_000);
      const st = await m.status('ask-3', T0 + 30_000);
      const staller = st.assignedTo === 'g1' ? g1 : g2;
      const finisher = staller === g1 ? g2 : g1;
      await claimAndProve(m, staller, 'ask-3', T0 + 31_000); // decrypts, never submits
      const earningsBefore = await m.balanceOf(`earnings:${finisher.id}`);
      const treasuryBefore = await m.balanceOf('treasury');
      // still within its proving time: nothing happens
      assert.equal((await m.match(T0 + 80_000)).slashed, 0);
      const later = st.assignmentEndsMs! + 1;
      const r = await m.match(later);
      assert.equal(r.slashed, 1);
      const st2 = await m.status('ask-3', later);
      assert.equal(st2.state, 'assigned');
      assert.equal(st2.assignedTo, finisher.id, 'reassigned to the other generator; the staller is excluded');
      assert.equal(st2.attempt, 2);
      assert.equal(await m.balanceOf(`gen:${staller.id}`), 1000 - 200, 'penalty 200 taken, the rest of the collateral released');
      assert.equal(await m.balanceOf('collateral:ask-3:1'), 0);
      assert.equal(await m.balanceOf('slashpool:ask-3'), 120);
      assert.equal(await m.balanceOf('treasury'), treasuryBefore + 80);
      // the staller's late submission for its lapsed attempt is refused
      const { attempt, proof } = await claimAndProve(m, finisher, 'ask-3', later + 1000);
      await assert.rejects(submit(m, staller, 'ask-3', 1, proof, later + 1000), (e) => isVeriteeError(e, 'MARKET_STATE_INVALID'));
      await submit(m, finisher, 'ask-3', attempt, proof, later + 2000);
      assert.equal(await m.balanceOf(`earnings:${finisher.id}`), earningsBefore + (finisher === g1 ? 300 : 400) + 120);
      const slashedEvents = (await m.events(0, 5000)).filter((e) => e.type === 'ask.slashed' && e.askId === 'ask-3');
      assert.equal(slashedEvents.length, 1);
      assert.equal((await m.ledgerCheck()).ok, true);
    });

    test('replayed and re-targeted ciphertexts are refused with codes; malformed inputs get a signed verdict', async () => {
      const inp = smallClaimInputs(6);
      const sealed = await sealTo(m.engine.attested.hpkePublicKey, utf8(JSON.stringify(inp.privateInputs)), inputsAad('disk', 'ask-4'));
      const base = { marketId: 'disk', requesterKey: publicKeyOf(REQ), startPrice: 200, maxPrice: 1000, startMs: T0, endMs: T0 + 60_000, assignmentExpiryMs: T0 + 300_000, provingTimeMs: 60_000, deadlineMs: T0 + 600_000, publicInputs: inp.publicInputs };
      await assert.rejects(m.createAsk({ ...base, id: 'ask-4-moved', privateInputs: sealed }, T0), (e) => isVeriteeError(e, 'MARKET_INPUT_BINDING_INVALID'));
      await m.createMarket(marketSpec({ id: 'disk2' }), T0);
      await assert.rejects(m.createAsk({ ...base, marketId: 'disk2', id: 'ask-4', privateInputs: sealed }, T0), (e) => isVeriteeError(e, 'MARKET_INPUT_BINDING_INVALID'));
      const ok = await m.createAsk({ ...base, id: 'ask-4', privateInputs: sealed }, T0);
      assert.equal(ok.state, 'unassigned');
      // the same request again is the same ask (idempotent), the same ciphertext in a new ask is a replay
      assert.equal((await m.createAsk({ ...base, id: 'ask-4', privateInputs: sealed }, T0)).id, 'ask-4');
      await assert.rejects(m.createAsk({ ...base, id: 'ask-4b', privateInputs: sealed }, T0), (e) => isVeriteeError(e, 'MARKET_INPUT_REPLAYED'));
      await assert.rejects(m.createAsk({ ...base, id: 'ask-4', privateInputs: sealed, maxPrice: 999 }, T0), (e) => isVeriteeError(e, 'MARKET_CONFLICT'));
      // public-only market refuses private inputs
      await assert.rejects(m.createAsk({ ...base, id: 'ask-pub', marketId: 'public', privateInputs: await sealTo(m.engine.attested.hpkePublicKey, utf8('{}'), inputsAad('public', 'ask-pub')) }, T0), (e) => isVeriteeError(e, 'MARKET_PRIVATE_INPUTS_NOT_ALLOWED'));
      // provably malformed: not the circuit's shape (a mount with usage above total) → invalid_input, nothing escrowed
      const v = await privateAsk(m, 'ask-bad', { private: { mounts: [{ usedKiB: 5, totalKiB: 1, inodesUsed: 0, inodesTotal: 0, queueDepth: [1] }, 'x'] } });
      assert.equal(v.state, 'invalid_input');
      assert.equal(verifyEngineSignature(m.engine.attested, v.verdict!), true);
      assert.equal(v.verdict!.record.askId, 'ask-bad');
      assert.equal(await m.balanceOf('escrow:ask-bad'), 0);
      const v2 = await privateAsk(m, 'ask-bad2', { private: 'just a string' });
      assert.equal(v2.state, 'invalid_input');
      // bad numbers
      await assert.rejects(m.createAsk({ ...base, id: 'ask-x', startPrice: 2000 }, T0), (e) => isVeriteeError(e, 'MARKET_ASK_INVALID'));
      await assert.rejects(m.createAsk({ ...base, id: 'ask-x', deadlineMs: T0 }, T0), (e) => isVeriteeError(e, 'MARKET_ASK_INVALID'));
      await assert.rejects(m.createAsk({ ...base, id: 'ask x' }, T0), (e) => isVeriteeError(e, 'INPUT_INVALID'));
      await assert.rejects(m.createAsk({ ...base, id: 'ask-y', marketId: 'nope' }, T0), (e) => isVeriteeError(e, 'MARKET_NOT_FOUND'));
    });

    test('cancel only from unassigned, only by the requester key; the escrow is refunded', async () => {
      // ask-4 is unassigned
      await assert.rejects(m.cancelAsk('ask-4', signValue(secret(5), cancelMessage('ask-4')), T0 + 1000), (e) => isVeriteeError(e, 'MARKET_SIGNATURE_INVALID'));
      const c = await m.cancelAsk('ask-4', signValue(REQ, cancelMessage('ask-4')), T0 + 1000);
      assert.equal(c.state, 'cancelled');
      assert.equal(await m.balanceOf('escrow:ask-4'), 0);
      await privateAsk(m, 'ask-5', { seed: 7 });
      await m.match(T0 + 30_000);
      assert.equal((await m.status('ask-5', T0 + 30_000)).state, 'assigned');
      await assert.rejects(m.cancelAsk('ask-5', signValue(REQ, cancelMessage('ask-5')), T0 + 30_000), (e) => isVeriteeError(e, 'MARKET_STATE_INVALID'));
    });

    test('never more concurrent jobs than declared; asks nobody takes by their expiry cross their deadline and are refunded', async () => {
      await m.createMarket(marketSpec({ id: 'cap' }), T0);
      const solo = await generator(m, 'solo', { image: IMAGE_OK, maxConcurrent: 2, stake: 10_000, marketId: 'cap' });
      for (let i = 0; i < 5; i++) await privateAsk(m, `cap-${i}`, { seed: 20 + i, marketId: 'cap', expiry: 120_000 });
      const r = await m.match(T0 + 30_000);
      const held = [];
      for (let i = 0; i < 5; i++) if ((await m.status(`cap-${i}`, T0 + 30_000)).assignedTo === 'solo') held.push(i);
      assert.equal(held.length, 2, `matched ${r.matched}`);
      assert.equal((await m.match(T0 + 31_000)).matched, 0, 'still full');
      // completing one frees a slot
      const { attempt, proof } = await claimAndProve(m, solo, `cap-${held[0]}`, T0 + 32_000);
      await submit(m, solo, `cap-${held[0]}`, attempt, proof, T0 + 33_000);
      assert.equal((await m.match(T0 + 34_000)).matched, 1);
      // the rest expire unassigned
      const late = T0 + 120_000;
      const unassigned = [];
      for (let i = 0; i < 5; i++) if ((await m.status(`cap-${i}`, late)).state === 'deadline_crossed') unassigned.push(i);
      assert.equal(unassigned.length, 2);
      await m.settle(late);
      for (const i of unassigned) assert.equal(await m.balanceOf(`escrow:cap-${i}`), 0);
      assert.equal((await m.ledgerCheck()).ok, true);
    });

    test('every state change is an event with an increasing sequence number', async () => {
      const ev = await m.events(0, 5000);
      assert.ok(ev.length > 10);
      for (let i = 1; i < ev.length; i++) assert.ok(ev[i]!.seq > ev[i - 1]!.seq);
      const types = new Set(ev.map((e) => e.type));
      for (const t of ['market.created', 'generator.registered', 'generator.joined', 'ask.created', 'ask.assigned', 'ask.claimed', 'proof.rejected', 'ask.completed', 'ask.slashed', 'ask.cancelled', 'ask.invalid_input', 'ask.deadline_crossed']) assert.ok(types.has(t), t);
      assert.equal(new Set(ev.map((e) => e.id)).size, ev.length);
    });
  });
}
