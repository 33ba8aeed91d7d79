/**
 * @module engine
 * The matching engine, run inside a (simulated) TEE: it alone can open the requesters'
 * private inputs, it re-encrypts them to the chosen generator's attested key only, and it
 * signs every assignment and every "invalid input" verdict with its attested Ed25519 key.
 *
 * SCORING (integers, basis points; documented in the package README):
 *
 *   eligible   cost ≤ price(now), provingTimeMs ≤ ask.provingTimeMs, now + provingTimeMs ≤ deadline,
 *              active < maxConcurrent, freeStake ≥ collateral, not slashed on this ask before,
 *              and for an ask with private inputs: an attested key whose image the market allows
 *   time    = 10000 − ⌊10000 · provingTimeMs / ask.provingTimeMs⌋
 *   stake   = ⌊10000 · min(freeStake, 10 · collateral) / (10 · collateral)⌋   (10000 when collateral = 0)
 *   history = ⌊10000 · (completed + 1) / (completed + 3 · slashed + 2)⌋
 *   cost    = 10000 − ⌊10000 · cost / maxPrice⌋
 *   score   = 4 · time + 2 · stake + 2 · history + 2 · cost          (0 … 100000)
 *
 * The highest score wins; equal scores are broken by the smallest SHA-256(seed ‖ 0x00 ‖
 * generatorId), where `seed` is 32 random bytes the engine draws for this assignment and
 * publishes in the signed record together with every input above, so anyone can re-run the
 * choice with {@link replayAssignment}.
 */
import { canonicalJsonBytes, concatBytes, fromUtf8, sha256, toHex, utf8, VeriteeError } from '@veritee/core';
import { assignmentAad, EnclaveKeys, inputsAad, sealedDigest, sealTo, verifySigned, type AttestedKeys, type Sealed } from './crypto.js';
import type { SimulatedTee } from '@veritee/attestation';

export interface Candidate {
  generatorId: string;
  cost: number;
  provingTimeMs: number;
  freeStake: number;
  active: number;
  maxConcurrent: number;
  completed: number;
  slashed: number;
  /** The generator holds an attested key for this market whose image the market allows. */
  imageAllowed: boolean;
  /** Slashed on this ask before (never given it again). */
  excluded: boolean;
}

export interface AssignmentInputs {
  marketId: string;
  askId: string;
  attempt: number;
  now: number;
  price: number;
  maxPrice: number;
  provingTimeMs: number;
  deadlineMs: number;
  collateral: number;
  private: boolean;
  /** 32 bytes hex, drawn by the engine. */
  seed: string;
  candidates: Candidate[];
}

export interface Choice {
  generatorId: string | null;
  scores: { generatorId: string; score: number }[];
}

const SCORE_CAP = 10_000;

export function eligible(c: Candidate, i: AssignmentInputs): boolean {
  return (
    !c.excluded &&
    c.cost <= i.price &&
    c.provingTimeMs <= i.provingTimeMs &&
    i.now + c.provingTimeMs <= i.deadlineMs &&
    c.active < c.maxConcurrent &&
    c.freeStake >= i.collateral &&
    (!i.private || c.imageAllowed)
  );
}

/** The documented score of an eligible candidate (see the module doc). */
export function score(c: Candidate, i: Pick<AssignmentInputs, 'provingTimeMs' | 'collateral' | 'maxPrice'>): number {
  const time = SCORE_CAP - Math.floor((SCORE_CAP * c.provingTimeMs) / i.provingTimeMs);
  const cap = 10 * i.collateral;
  const stake = cap === 0 ? SCORE_CAP : Math.floor((SCORE_CAP * Math.min(c.freeStake, cap)) / cap);
  const history = Math.floor((SCORE_CAP * (c.completed + 1)) / (c.completed + 3 * c.slashed + 2));
  const cost = i.maxPrice === 0 ? 0 : SCORE_CAP - Math.floor((SCORE_CAP * c.cost) / i.maxPrice);
  return 4 * time + 2 * stake + 2 * history + 2 * cost;
}

function tieKey(seed: string, generatorId: string): string {
  return toHex(sha256(concatBytes(utf8(seed), new Uint8Array([0]), utf8(generatorId))));
}

/** Re-derives an assignment from its published inputs (the same function the engine runs). */
export function replayAssignment(i: AssignmentInputs): Choice {
  const scores = i.candidates.filter((c) => eligible(c, i)).map((c) => ({ generatorId: c.generatorId, score: score(c, i), tie: tieKey(i.seed, c.generatorId) }));
  scores.sort((a, b) => b.score - a.score || (a.tie < b.tie ? -1 : a.tie > b.tie ? 1 : 0));
  return { generatorId: scores[0]?.generatorId ?? null, scores: scores.map(({ generatorId, score }) => ({ generatorId, score })) };
}

export const ASSIGNMENT_TYPE = 'veritee.market.assignment-record/v1';
export const VERDICT_TYPE = 'veritee.market.invalid-input/v1';

export interface AssignmentRecord {
  type: typeof ASSIGNMENT_TYPE;
  inputs: AssignmentInputs;
  generatorId: string;
  /** What the generator is paid on completion (its bid). */
  payout: number;
  assignmentEndsMs: number;
  /** Digest of the re-encrypted inputs handed to the generator (absent for public-only asks). */
  inputsDigest?: string;
}

export interface InvalidInputVerdict {
  type: typeof VERDICT_TYPE;
  marketId: string;
  askId: string;
  reason: string;
  ciphertextDigest: string;
  at: number;
}

export interface Signed<T> {
  record: T;
  /** Ed25519 over canonical JSON of `record`, by the engine's attested signing key. */
  signature: string;
}

/** Checks an engine signature (a requester or auditor holding the engine's attested keys). */
export function verifyEngineSignature<T>(engine: Pick<AttestedKeys, 'signingKey'>, s: Signed<T>): boolean {
  return verifySigned(engine.signingKey, s.record, s.signature);
}

/** Checks that decrypted private inputs fit the circuit; throws (any error) when malformed. */
export type InputChecker = (publicInputs: unknown, privateInputs: unknown) => void;

export const MAX_PRIVATE_INPUT_BYTES = 1_000_000;

export class MatchingEngine {
  private constructor(private readonly keys: EnclaveKeys) {}

  /** DEVELOPMENT ONLY: an engine in a simulated TEE with launch measurement `measurement`. */
  static async create(o: { tee: SimulatedTee; measurement: Uint8Array; seed?: Uint8Array }): Promise<MatchingEngine> {
    return new MatchingEngine(await EnclaveKeys.create({ tee: o.tee, role: 'engine', subject: 'engine', measurement: o.measurement, ...(o.seed ? { seed: o.seed } : {}) }));
  }

  get attested(): AttestedKeys {
    return this.keys.attested;
  }

  /**
   * Opens private inputs sealed to the engine for (market, ask) and checks them.
   * Throws MARKET_INPUT_BINDING_INVALID when the ciphertext is not bound to them; returns a
   * signed verdict when the plaintext is provably malformed (not JSON, or refused by `check`).
   */
  async admit(o: { marketId: string; askId: string; sealed: Sealed; publicInputs: unknown; check?: InputChecker; now: number }): Promise<{ ok: true } | { ok: false; verdict: Signed<InvalidInputVerdict> }> {
    const pt = await this.keys.open(o.sealed, inputsAad(o.marketId, o.askId));
    let reason: string | undefined;
    if (pt.length > MAX_PRIVATE_INPUT_BYTES) reason = `the private inputs are ${pt.length} bytes, over ${MAX_PRIVATE_INPUT_BYTES}`;
    let value: unknown;
    if (reason === undefined) {
      try {
        value = JSON.parse(fromUtf8(pt));
      } catch {
        reason = 'the private inputs are not JSON';
      }
    }
    if (reason === undefined && o.check) {
      try {
        o.check(o.publicInputs, value);
      } catch (e) {
        reason = `the private inputs do not fit the circuit: ${String((e as Error)?.message ?? e).slice(0, 200)}`;
      }
    }
    pt.fill(0);
    if (reason === undefined) return { ok: true };
    const record: InvalidInputVerdict = { type: VERDICT_TYPE, marketId: o.marketId, askId: o.askId, reason, ciphertextDigest: sealedDigest(o.sealed), at: o.now };
    return { ok: false, verdict: this.sign(record) };
  }

  /**
   * Chooses a generator (see the module doc) and, for a private ask, re-encrypts its inputs
   * to that generator's attested HPKE key. Returns null when nobody is eligible.
   */
  async assign(o: {
    inputs: Omit<AssignmentInputs, 'seed'>;
    sealed?: Sealed;
    /** HPKE public keys (hex) of the candidates' attested keys for this market. */
    generatorKeys: ReadonlyMap<string, string>;
    payoutOf: (generatorId: string) => number;
  }): Promise<{ signed: Signed<AssignmentRecord>; rewrapped?: Sealed } | null> {
    const inputs: AssignmentInputs = { ...o.inputs, seed: toHex(crypto.getRandomValues(new Uint8Array(32))) };
    const choice = replayAssignment(inputs);
    if (choice.generatorId === null) return null;
    const gid = choice.generatorId;
    let rewrapped: Sealed | undefined;
    if (inputs.private) {
      if (!o.sealed) throw new VeriteeError('INTERNAL', 'a private ask without its sealed inputs');
      const key = o.generatorKeys.get(gid);
      if (key === undefined) throw new VeriteeError('INTERNAL', 'the chosen generator has no attested key');
      const pt = await this.keys.open(o.sealed, inputsAad(inputs.marketId, inputs.askId));
      rewrapped = await sealTo(key, pt, assignmentAad(inputs.marketId, inputs.askId, gid, inputs.attempt));
      pt.fill(0);
    }
    const record: AssignmentRecord = {
      type: ASSIGNMENT_TYPE,
      inputs,
      generatorId: gid,
      payout: o.payoutOf(gid),
      assignmentEndsMs: Math.min(inputs.now + inputs.provingTimeMs, inputs.deadlineMs),
      ...(rewrapped ? { inputsDigest: sealedDigest(rewrapped) } : {}),
    };
    return { signed: this.sign(record), ...(rewrapped ? { rewrapped } : {}) };
  }

  private sign<T>(record: T): Signed<T> {
    return { record, signature: this.keys.sign(canonicalJsonBytes(record)) };
  }
}
