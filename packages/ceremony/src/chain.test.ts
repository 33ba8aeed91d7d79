/**
 * The TypeScript side of "accepted when the transcript verifies": a key document's
 * contribution chain summary (written by the Go engine) is re-checked with
 * @noble/curves pairings. Real ceremonies on the tiny self-test circuit (one BSB22
 * commitment, so σ is exercised), then forgeries an adversary can make without
 * the transcript: each recomputes the transcript hash, so only the chain check
 * can catch it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { isVeriteeError } from '@veritee/core';
import {
  ceremonyChainProblem,
  ceremonyTranscriptHash,
  hashToG2,
  mapToCurve2,
  parseVerificationKeyText,
  setupProblem,
  sha256FromMidstate,
  vkFixedDigest,
  type CeremonyChain,
  type VerificationKeyDocument,
} from '@veritee/zk';
import { localPhase1, runEngine, stateFile, type CeremonyVerification } from './index.js';

const BEACON = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const work = mkdtempSync(join(tmpdir(), 'veritee-chain-test-'));

async function ceremony(name: string, contributors: string[]): Promise<VerificationKeyDocument> {
  const srs = await localPhase1(join(work, 'phase1'), 3, ['p1-alice'], BEACON, 2);
  const dir = join(work, name);
  await runEngine('init', { dir, circuit: 'ceremony-selftest', size: 1, srs, label: 'veritee-phase1-pow3' });
  for (const [i, who] of contributors.entries()) {
    const out = join(dir, `in-${i}.bin`);
    await runEngine('contribute', { in: join(dir, stateFile(i)), out });
    await runEngine('accept', { dir, name: who, file: out });
  }
  await runEngine('beacon', { dir, beacon: BEACON, iterations: 4 });
  return (await runEngine<CeremonyVerification>('verify', { dir })).vk;
}

/** What a forger does after editing the record: recompute its transcript hash. */
function reseal(doc: VerificationKeyDocument): VerificationKeyDocument {
  const c = doc.setup.ceremony!;
  c.transcriptSha256 = ceremonyTranscriptHash(doc, c);
  return doc;
}
const chainOf = (d: VerificationKeyDocument): CeremonyChain => d.setup.ceremony!.chain!;
const problem = (d: VerificationKeyDocument): string => {
  const p = setupProblem(d);
  assert.equal(p?.code, 'ZK_CEREMONY_POLICY', 'refused with ZK_CEREMONY_POLICY');
  return p!.message;
};

test('known answers: hash-to-G2 and SVDW as gnark-crypto v0.20.1, SHA-256 from a midstate', () => {
  // gnark-crypto bn254.HashToG2([]byte("abc"), []byte{0}) and MapToCurve2(5 + 7u)
  const h = hashToG2(new TextEncoder().encode('abc'), new Uint8Array([0])).toAffine();
  assert.deepEqual(
    [h.x.c0, h.x.c1, h.y.c0, h.y.c1].map(String),
    [
      '816204216126112580957971564335222733062928246591333638077431250593713107193',
      '19845019255777356412523756656567645585685283856251737716408032965232126202173',
      '10482315039125557675810998242758807894944160122289450967557966291173846525762',
      '3309520446888343451772462000415021502004058005582814086181671092768980710643',
    ],
  );
  const m = mapToCurve2({ c0: 5n, c1: 7n }).toAffine();
  assert.deepEqual(
    [m.x.c0, m.x.c1, m.y.c0, m.y.c1].map(String),
    [
      '21300161304548986609524245515402346087899144942671434135620162144927701862095',
      '14780309652284711482718429692162845108298299581354696723664233575735346851474',
      '2310029328200981368661573722065505484941106134328264115005708776222531260377',
      '20321677324631579761093161361429217733103182689966671776450427050072304349311',
    ],
  );
  // the midstate of an empty prefix is the SHA-256 IV; finishing equals a one-shot hash
  const iv = Uint8Array.from(Buffer.from('6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19', 'hex'));
  for (const n of [0, 1, 55, 56, 63, 64, 65, 200]) {
    const data = randomBytes(n);
    assert.equal(sha256FromMidstate(iv, 0, data), createHash('sha256').update(data).digest('hex'), `${n} bytes`);
  }
});

test('a key whose δ and σ end its recorded chain is accepted; every forgery without the transcript is refused', async (t) => {
  const doc = await ceremony('abc', ['alice', 'bob', 'carol']);
  const other = await ceremony('mallory', ['mallory']);
  const c = doc.setup.ceremony!;
  assert.equal(chainOf(doc).steps.length, 3);
  assert.equal(c.vkFixedSha256, vkFixedDigest(doc.groth16), 'Go and TypeScript digest α, β, γ, K the same way');
  assert.equal(setupProblem(doc), undefined, 'accepted by default');
  assert.equal(ceremonyChainProblem(c.chain, c, doc.groth16), undefined);

  await t.test("someone else's contributions claimed: another ceremony's key and chain under this record", () => {
    // The attack the hash policy is for: the record names alice (whose hash a verifier
    // demands), the key comes from a ceremony only mallory took part in.
    const forged = structuredClone(other);
    forged.setup.ceremony!.contributions = structuredClone(c.contributions).slice(0, 1);
    assert.match(problem(reseal(forged)), /hashes to .* not the recorded/);
    // Same with alice's summary step spliced in: her proofs do not lead to mallory's δ.
    const spliced = structuredClone(other);
    spliced.setup.ceremony!.contributions = structuredClone(c.contributions).slice(0, 1);
    spliced.setup.ceremony!.chain = { ...chainOf(doc), steps: [structuredClone(chainOf(doc).steps[0]!)] };
    assert.match(problem(reseal(spliced)), /δ is not the chain's last δ/);
  });

  await t.test('dropped contribution', () => {
    const d = structuredClone(doc);
    d.setup.ceremony!.contributions.splice(1, 1);
    chainOf(d).steps.splice(1, 1);
    assert.match(problem(reseal(d)), /contribution 2 \(carol\): its challenge is not the hash of the state before it/);
    const last = structuredClone(doc);
    last.setup.ceremony!.contributions.pop();
    chainOf(last).steps.pop();
    assert.match(problem(reseal(last)), /δ is not the chain's last δ sealed with the beacon/);
  });

  await t.test('reordered contributions', () => {
    const d = structuredClone(doc);
    d.setup.ceremony!.contributions.reverse();
    chainOf(d).steps.reverse();
    assert.match(problem(reseal(d)), /contribution 1 \(carol\): its challenge/);
  });

  await t.test('forged contribution: a changed proof, δ or σ', () => {
    const pok = structuredClone(doc);
    chainOf(pok).steps[1]!.deltaProof = structuredClone(chainOf(other).steps[0]!.deltaProof);
    assert.match(problem(pok), /proofs are not the ones in the state/);
    const tail = structuredClone(doc);
    const s = chainOf(tail).steps[1]!;
    s.tail = s.tail.slice(0, 10) + (s.tail[10] === '0' ? '1' : '0') + s.tail.slice(11);
    assert.match(problem(tail), /hashes to .* not the recorded/);
    const delta = structuredClone(doc);
    chainOf(delta).steps[1]!.delta2 = chainOf(doc).steps[2]!.delta2;
    assert.match(problem(delta), /contribution 2 \(bob\): δ₂ is not the previous δ₂ times the proven contribution/);
    const sigma = structuredClone(doc);
    chainOf(sigma).steps[0]!.sigma2 = chainOf(doc).steps[1]!.sigma2;
    assert.match(problem(sigma), /σ₂\[0\] is not the previous σ₂/);
    const d1 = structuredClone(doc);
    chainOf(d1).steps[0]!.delta1 = chainOf(doc).steps[2]!.delta1;
    assert.match(problem(d1), /δ₁ is not the previous δ₁/);
    const offCurve = structuredClone(doc);
    chainOf(offCurve).steps[0]!.delta2.y[0] = '1';
    assert.match(problem(offCurve), /not on the twist/);
  });

  await t.test('wrong beacon', () => {
    const d = structuredClone(doc);
    d.setup.ceremony!.beacon = 'ff'.repeat(32);
    assert.match(problem(reseal(d)), /sealed with the beacon/);
    const e = structuredClone(doc);
    e.setup.ceremony!.beaconIterationsExp = 5;
    assert.match(problem(reseal(e)), /sealed with the beacon/);
  });

  await t.test("a key whose points are not its record's", () => {
    const delta = structuredClone(doc);
    delta.groth16.delta = structuredClone(other.groth16.delta);
    assert.match(problem(delta), /δ is not the chain's last δ/);
    const sigma = structuredClone(doc);
    sigma.groth16.commitmentKeys[0]!.gSigmaNeg = structuredClone(other.groth16.commitmentKeys[0]!.gSigmaNeg);
    assert.match(problem(sigma), /commitment key 0: σ is not the chain's last σ/);
    const k = structuredClone(doc);
    k.groth16.ic[1] = structuredClone(k.groth16.ic[2]!);
    assert.match(problem(k), /do not digest to the record's vkFixedSha256/);
    const gamma = structuredClone(doc);
    gamma.groth16.gamma = structuredClone(doc.groth16.delta);
    assert.match(problem(gamma), /vkFixedSha256|γ is not the G2 generator/);
    // Metadata from another transcript entirely (its chain, its record) on this key.
    const meta = structuredClone(doc);
    meta.setup.ceremony = structuredClone(other.setup.ceremony!);
    assert.match(problem(meta), /δ is not the chain's last δ/);
  });

  await t.test('verifier policy: own contribution, named contributors, a count, a pinned transcript', () => {
    const [alice, bob] = c.contributions;
    assert.equal(setupProblem(doc, { ceremony: { requireContributions: [bob!.sha256], requireContributors: ['alice', 'carol'], minContributors: 3 } }), undefined);
    assert.match(setupProblem(doc, { ceremony: { requireContributions: [chainOf(other).steps.length ? other.setup.ceremony!.contributions[0]!.sha256 : ''] } })?.message ?? '', /lacks the required contribution/);
    assert.equal(setupProblem(doc, { ceremony: { requireContributors: ['mallory'] } })?.code, 'ZK_CEREMONY_POLICY');
    assert.match(setupProblem(doc, { ceremony: { minContributors: 4 } })?.message ?? '', /3 distinct contributors, the verifier requires 4/);
    assert.equal(setupProblem(doc, { ceremony: { requireTranscripts: [c.transcriptSha256.toUpperCase()] } }), undefined);
    assert.match(setupProblem(doc, { ceremony: { requireTranscripts: [other.setup.ceremony!.transcriptSha256] } })?.message ?? '', /not one the verifier pinned/);
    // A forger who relabels mallory's key with alice's hash fails the chain even when the
    // policy (alice's hash) is met by the record.
    const forged = structuredClone(other);
    forged.setup.ceremony!.contributions[0] = structuredClone(alice!);
    assert.match(setupProblem(reseal(forged), { ceremony: { requireContributions: [alice!.sha256] } })?.message ?? '', /chain does not verify/);
  });

  await t.test('no chain summary, or a malformed one', () => {
    const none = structuredClone(doc);
    delete none.setup.ceremony!.chain;
    assert.match(problem(none), /no contribution chain summary/);
    const bad = structuredClone(doc);
    (chainOf(bad).steps[0] as { midstate: string }).midstate = 'zz';
    assert.match(ceremonyChainProblem(chainOf(bad), bad.setup.ceremony!, bad.groth16) ?? '', /malformed at steps\.0\.midstate/);
    // the beacon's work is bounded (2^24 sha256 at most) before any is done
    const slow = structuredClone(doc);
    slow.setup.ceremony!.beaconIterationsExp = 25;
    assert.throws(() => parseVerificationKeyText(JSON.stringify(reseal(slow))), (e) => isVeriteeError(e, 'ZK_VK_INVALID'));
  });
});

test('the key file written by finalize carries the chain and is accepted as read from disk', async () => {
  const home = join(work, 'home');
  const srs = await localPhase1(join(work, 'phase1'), 3, ['p1-alice'], BEACON, 2);
  const dir = join(work, 'fin');
  await runEngine('init', { dir, circuit: 'ceremony-selftest', size: 1, srs, label: 'veritee-phase1-pow3' });
  await runEngine('contribute', { in: join(dir, stateFile(0)), out: join(dir, 'x.bin') });
  await runEngine('accept', { dir, name: 'solo', file: join(dir, 'x.bin') });
  await runEngine('beacon', { dir, beacon: BEACON, iterations: 0 });
  await runEngine('finalize', { dir, home });
  const doc = parseVerificationKeyText(readFileSync(join(home, 'keys', 'ceremony-selftest-v1-1', 'vk.json'), 'utf8'));
  assert.equal(doc.setup.ceremony!.chain!.steps.length, 1);
  assert.equal(setupProblem(doc), undefined);
});
