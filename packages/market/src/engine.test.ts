/**
 * The pure parts: the price curve, the states computed from time, the documented score and
 * its seeded replayable tie-break, the HPKE binding of private inputs and the engine's
 * signed records. Real crypto, simulated TEE evidence checked by the real verifiers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError, utf8 } from '@veritee/core';
import { SimulatedTee } from '@veritee/attestation';
import { askState, priceAt, type AskProgress } from './model.js';
import { eligible, MatchingEngine, replayAssignment, score, verifyEngineSignature, type AssignmentInputs, type Candidate } from './engine.js';
import { assignmentAad, EnclaveKeys, inputsAad, sealTo, verifyAttestedKeys } from './crypto.js';
import { measurement, hexOf } from './testing.js';

test('the reverse-Dutch price rises linearly from start to max over the window, then stays', () => {
  const a = { startPrice: 100, maxPrice: 1100, startMs: 1000, endMs: 2000 };
  assert.equal(priceAt(a, 0), 100);
  assert.equal(priceAt(a, 1000), 100);
  assert.equal(priceAt(a, 1500), 600);
  assert.equal(priceAt(a, 1999), 1099);
  assert.equal(priceAt(a, 5000), 1100);
  assert.equal(priceAt({ ...a, startPrice: 700, maxPrice: 700 }, 1500), 700); // fixed reward
});

test('the state of an ask is computed from its progress and now', () => {
  const p: AskProgress = { status: 'open', startMs: 100, assignmentExpiryMs: 500, deadlineMs: 1000, assignedTo: null, assignmentEndsMs: null, everAssigned: false };
  assert.equal(askState(p, 50), 'created');
  assert.equal(askState(p, 100), 'unassigned');
  assert.equal(askState(p, 500), 'deadline_crossed'); // never taken by its expiry
  const held = { ...p, assignedTo: 'g1', assignmentEndsMs: 700, everAssigned: true };
  assert.equal(askState(held, 600), 'assigned');
  assert.equal(askState(held, 700), 'unassigned'); // lapsed: waits to be slashed and reassigned
  assert.equal(askState(held, 1000), 'deadline_crossed');
  assert.equal(askState({ ...held, status: 'complete' }, 5000), 'complete');
  assert.equal(askState({ ...p, status: 'cancelled' }, 5000), 'cancelled');
  assert.equal(askState({ ...p, status: 'invalid_input' }, 0), 'invalid_input');
});

const cand = (id: string, o: Partial<Candidate> = {}): Candidate => ({
  generatorId: id,
  cost: 100,
  provingTimeMs: 1000,
  freeStake: 1000,
  active: 0,
  maxConcurrent: 2,
  completed: 0,
  slashed: 0,
  imageAllowed: true,
  excluded: false,
  ...o,
});
const inputs = (cs: Candidate[], o: Partial<AssignmentInputs> = {}): AssignmentInputs => ({
  marketId: 'm',
  askId: 'a',
  attempt: 1,
  now: 0,
  price: 500,
  maxPrice: 1000,
  provingTimeMs: 4000,
  deadlineMs: 10_000,
  collateral: 100,
  private: false,
  seed: '00'.repeat(32),
  candidates: cs,
  ...o,
});

test('the score is the documented integer formula', () => {
  const i = inputs([]);
  // time 10000-2500=7500, stake 1000/1000 → 10000, history (0+1)/(0+2) → 5000, cost 10000-1000=9000
  assert.equal(score(cand('g'), i), 4 * 7500 + 2 * 10000 + 2 * 5000 + 2 * 9000);
  // a slashed history weighs: (2+1)/(2+3+2) → 4285
  assert.equal(score(cand('g', { completed: 2, slashed: 1 }), i), 4 * 7500 + 2 * 10000 + 2 * 4285 + 2 * 9000);
  // half the stake cap (10 × collateral = 1000): 500 → 5000
  assert.equal(score(cand('g', { freeStake: 500 }), i), 4 * 7500 + 2 * 5000 + 2 * 5000 + 2 * 9000);
});

test('eligibility: price, proving time, deadline, capacity, stake, exclusion, image for private asks', () => {
  const i = inputs([]);
  assert.equal(eligible(cand('g'), i), true);
  assert.equal(eligible(cand('g', { cost: 501 }), i), false);
  assert.equal(eligible(cand('g', { provingTimeMs: 4001 }), i), false);
  assert.equal(eligible(cand('g'), { ...i, now: 9500 }), false);
  assert.equal(eligible(cand('g', { active: 2 }), i), false);
  assert.equal(eligible(cand('g', { freeStake: 99 }), i), false);
  assert.equal(eligible(cand('g', { excluded: true }), i), false);
  assert.equal(eligible(cand('g', { imageAllowed: false }), i), true);
  assert.equal(eligible(cand('g', { imageAllowed: false }), { ...i, private: true }), false);
});

test('the best score wins; equal scores are broken by the published seed, replayably', () => {
  const best = replayAssignment(inputs([cand('slow', { provingTimeMs: 3000 }), cand('fast', { provingTimeMs: 500 }), cand('dear', { cost: 600 })]));
  assert.equal(best.generatorId, 'fast');
  assert.deepEqual(best.scores.map((s) => s.generatorId), ['fast', 'slow']); // 'dear' is above the price
  const twins = Array.from({ length: 8 }, (_, k) => cand(`g${k}`));
  const winners = new Set<string>();
  for (let s = 0; s < 16; s++) {
    const seed = s.toString(16).padStart(2, '0').repeat(32);
    const a = replayAssignment(inputs(twins, { seed }));
    assert.deepEqual(replayAssignment(inputs([...twins].reverse(), { seed })), a, 'the order of the candidates does not matter');
    winners.add(a.generatorId!);
  }
  assert.ok(winners.size > 1, 'different seeds pick different twins');
  assert.equal(replayAssignment(inputs([cand('g', { cost: 9999 })])).generatorId, null);
});

test('attested keys verify only for their role, subject and allowed image; simulated only when allowed', async () => {
  const tee = await SimulatedTee.create({ platforms: ['snp'] });
  const k = await EnclaveKeys.create({ tee, role: 'generator', subject: 'g1/m1', measurement: measurement(0xa1) });
  const at = Date.now();
  const v = await verifyAttestedKeys(k.attested, { at, role: 'generator', subject: 'g1/m1', allowSimulated: true, allowedMeasurements: [hexOf(measurement(0xa1))] });
  assert.equal(v.simulated, true);
  assert.equal(v.measurement, hexOf(measurement(0xa1)));
  const refused = async (p: Promise<unknown>) => assert.rejects(p, (e) => isVeriteeError(e, 'MARKET_ATTESTATION_INVALID'));
  await refused(verifyAttestedKeys(k.attested, { at, role: 'generator', subject: 'g1/m1', allowSimulated: false }));
  await refused(verifyAttestedKeys(k.attested, { at, role: 'generator', subject: 'g1/m2', allowSimulated: true }));
  await refused(verifyAttestedKeys(k.attested, { at, role: 'engine', subject: 'g1/m1', allowSimulated: true }));
  await refused(verifyAttestedKeys(k.attested, { at, role: 'generator', subject: 'g1/m1', allowSimulated: true, allowedMeasurements: [hexOf(measurement(0xb2))] }));
  // a key swapped in after attestation is not the one the evidence binds
  const other = await EnclaveKeys.create({ tee, role: 'generator', subject: 'g1/m1', measurement: measurement(0xa1) });
  await refused(verifyAttestedKeys({ ...k.attested, hpkePublicKey: other.attested.hpkePublicKey }, { at, role: 'generator', subject: 'g1/m1', allowSimulated: true }));
});

test('private inputs open only for the market, ask, generator and attempt they were sealed for', async () => {
  const tee = await SimulatedTee.create({ platforms: ['snp'] });
  const k = await EnclaveKeys.create({ tee, role: 'generator', subject: 'g/m', measurement: measurement(1) });
  const s = await sealTo(k.attested.hpkePublicKey, utf8('{"x":1}'), inputsAad('m', 'a'));
  assert.deepEqual(await k.open(s, inputsAad('m', 'a')), utf8('{"x":1}'));
  for (const aad of [inputsAad('m', 'b'), inputsAad('n', 'a'), assignmentAad('m', 'a', 'g', 1)]) {
    await assert.rejects(k.open(s, aad), (e) => isVeriteeError(e, 'MARKET_INPUT_BINDING_INVALID'));
  }
  const s2 = await sealTo(k.attested.hpkePublicKey, utf8('{}'), assignmentAad('m', 'a', 'g', 1));
  await assert.rejects(k.open(s2, assignmentAad('m', 'a', 'g', 2)), (e) => isVeriteeError(e, 'MARKET_INPUT_BINDING_INVALID'));
  const flipped = { ...s, ct: Buffer.from(Buffer.from(s.ct, 'base64').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64') };
  await assert.rejects(k.open(flipped, inputsAad('m', 'a')), (e) => isVeriteeError(e, 'MARKET_INPUT_BINDING_INVALID'));
});

test('the engine signs invalid-input verdicts and re-encrypts private inputs to the chosen generator only', async () => {
  const tee = await SimulatedTee.create({ platforms: ['snp'] });
  const engine = await MatchingEngine.create({ tee, measurement: measurement(0xee) });
  const sealed = await sealTo(engine.attested.hpkePublicKey, utf8('not json'), inputsAad('m', 'a'));
  const r = await engine.admit({ marketId: 'm', askId: 'a', sealed, publicInputs: null, now: 5 });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.match(r.verdict.record.reason, /not JSON/);
  assert.equal(verifyEngineSignature(engine.attested, r.verdict), true);
  assert.equal(verifyEngineSignature(engine.attested, { ...r.verdict, record: { ...r.verdict.record, askId: 'b' } }), false);
  const schemaBad = await engine.admit({
    marketId: 'm',
    askId: 'a',
    sealed: await sealTo(engine.attested.hpkePublicKey, utf8('{"n":-1}'), inputsAad('m', 'a')),
    publicInputs: null,
    check: (_p, v) => {
      if ((v as { n: number }).n < 0) throw new Error('n must be non-negative');
    },
    now: 5,
  });
  assert.equal(schemaBad.ok, false);

  const good = await sealTo(engine.attested.hpkePublicKey, utf8('{"secret":42}'), inputsAad('m', 'a'));
  assert.deepEqual(await engine.admit({ marketId: 'm', askId: 'a', sealed: good, publicInputs: null, now: 5 }), { ok: true });
  const g1 = await EnclaveKeys.create({ tee, role: 'generator', subject: 'g1/m', measurement: measurement(1) });
  const g2 = await EnclaveKeys.create({ tee, role: 'generator', subject: 'g2/m', measurement: measurement(2) });
  const out = await engine.assign({
    inputs: { ...inputs([cand('g1'), cand('g2', { imageAllowed: false, provingTimeMs: 10 })]), private: true, askId: 'a' },
    sealed: good,
    generatorKeys: new Map([
      ['g1', g1.attested.hpkePublicKey],
      ['g2', g2.attested.hpkePublicKey],
    ]),
    payoutOf: () => 100,
  });
  assert.ok(out);
  assert.equal(out.signed.record.generatorId, 'g1', 'the faster generator has a non-matching image: never chosen for a private ask');
  assert.equal(verifyEngineSignature(engine.attested, out.signed), true);
  assert.deepEqual(replayAssignment(out.signed.record.inputs).generatorId, 'g1');
  assert.deepEqual(JSON.parse(Buffer.from(await g1.open(out.rewrapped!, assignmentAad('m', 'a', 'g1', 1))).toString()), { secret: 42 });
  await assert.rejects(g2.open(out.rewrapped!, assignmentAad('m', 'a', 'g1', 1)), (e) => isVeriteeError(e, 'MARKET_INPUT_BINDING_INVALID'));
});
