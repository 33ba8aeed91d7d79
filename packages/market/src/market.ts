/**
 * @module market
 * The marketplace: markets, generators, asks, the ledger and the events, over one SQL
 * database (PGlite or PostgreSQL), with the matching engine beside it. Every operation takes
 * `now` (ms since the epoch) explicitly.
 *
 * LEDGER (double entry, `market_ledger`, every transfer keyed so it happens once):
 *   escrow         requester → escrow:<ask>                 maxPrice, when the ask is created
 *   stake          ext:gen:<g> → gen:<g>                    when a generator registers
 *   lock           gen:<g> → collateral:<ask>:<attempt>     market collateral, on assignment
 *   payout         escrow:<ask> → earnings:<g>              the assignee's bid, after its proof verifies
 *   refund         escrow:<ask> → requester                 the surplus (pay as bid), or all on cancel / deadline
 *   release        collateral:… → gen:<g>                   collateral back (all on completion; the rest after a slash)
 *   slash_treasury collateral:… → treasury                  penalty × (1 − slashRewardBp)
 *   slash_pool     collateral:… → slashpool:<ask>           penalty × slashRewardBp, held for whoever completes the ask
 *   slash_reward   slashpool:<ask> → earnings:<g>           on completion by another generator
 *   slash_unclaimed slashpool:<ask> → treasury              when the ask ends without completion
 *
 * INVARIANTS (checked by {@link Market.ledgerCheck}, in the tests and the benchmark):
 *   Σ escrow = Σ payout + Σ refund + held in escrow accounts
 *   Σ lock   = Σ release + Σ slash_treasury + Σ slash_pool + held as collateral
 *   Σ slash_pool = Σ slash_reward + Σ slash_unclaimed + held in slash pools
 *   Σ all balances = 0; no account but ext:* and requester:* below zero
 *
 * IDEMPOTENCE: asks, markets and generators are created by id (same content → same answer,
 * other content → MARKET_CONFLICT); assignment, submission and settlement steps lock the ask
 * row (SELECT … FOR UPDATE) and re-check its state, ledger transfers and events have unique
 * keys, so two concurrent submissions pay once and a retried step changes nothing.
 */
import { EventEmitter } from 'node:events';
import { canonicalJson, canonicalJsonBytes, sha256, toHex, VeriteeError } from '@veritee/core';
import { type AttestedKeys, sealedDigest, verifyAttestedKeys, verifySigned, type Sealed } from './crypto.js';
import { MatchingEngine, type AssignmentRecord, type Candidate, type InputChecker, type InvalidInputVerdict, type Signed } from './engine.js';
import { num, type Querier, type SqlDb } from './db.js';
import {
  askSpecSchema,
  askState,
  checkAskSpec,
  checkMarketSpec,
  generatorSpecSchema,
  marketSpecSchema,
  priceAt,
  type AskSpec,
  type AskState,
  type AskStatus,
  type GeneratorSpec,
  type MarketSpec,
} from './model.js';
import type { ProofSystem } from './proof-system.js';

/** A proof system that can also check decrypted private inputs against the circuit (optional). */
export interface InputCheckingProofSystem extends ProofSystem {
  checkPrivateInputs?(vk: unknown, publicInputs: unknown, privateInputs: unknown): void;
}

export interface MarketEvent {
  seq: number;
  id: string;
  type: string;
  marketId: string | null;
  askId: string | null;
  data: Record<string, unknown>;
  at: number;
}

export interface MarketOptions {
  db: SqlDb;
  engine: MatchingEngine;
  proofSystems: ReadonlyMap<string, ProofSystem>;
  /** DEVELOPMENT ONLY: accept simulated TEE evidence for generators' keys. Default false. */
  allowSimulated?: boolean;
}

export interface AskView {
  id: string;
  marketId: string;
  state: AskState;
  attempt: number;
  assignedTo: string | null;
  assignmentEndsMs: number | null;
  priceNow: number;
  maxPrice: number;
  payout: number | null;
  private: boolean;
  completedBy: string | null;
  assignment: Signed<AssignmentRecord> | null;
  verdict: Signed<InvalidInputVerdict> | null;
}

export interface AskResult {
  askId: string;
  marketId: string;
  proofSystem: string;
  verificationKey: unknown;
  vkDigest: string;
  publicInputs: unknown;
  proof: unknown;
  completedBy: string;
}

export interface Assignment {
  askId: string;
  marketId: string;
  attempt: number;
  publicInputs: unknown;
  assignment: Signed<AssignmentRecord>;
  /** The private inputs re-encrypted to this generator's attested key (private asks only). */
  inputs?: Sealed;
}

export interface LedgerCheck {
  ok: boolean;
  escrowed: number;
  paid: number;
  refunded: number;
  escrowHeld: number;
  locked: number;
  released: number;
  slashed: number;
  collateralHeld: number;
  slashPool: number;
  slashRewarded: number;
  slashUnclaimed: number;
  slashPoolHeld: number;
  treasury: number;
  balanceSum: number;
  negativeAccounts: string[];
}

type AskRow = Record<string, unknown>;

const digest = (v: unknown): string => toHex(sha256(canonicalJsonBytes(v)));
const requesterAcct = (key: string) => `requester:${key}`;

export const CANCEL_TYPE = 'veritee.market.cancel/v1';
export const JOIN_TYPE = 'veritee.market.join/v1';
export const CLAIM_TYPE = 'veritee.market.claim/v1';
export const SUBMIT_TYPE = 'veritee.market.submit/v1';

/** What a generator signs to join a market. */
export function joinMessage(o: { generatorId: string; marketId: string; cost: number; provingTimeMs: number; keysDigest: string | null }) {
  return { type: JOIN_TYPE, ...o };
}
export function claimMessage(o: { askId: string; generatorId: string; attempt: number }) {
  return { type: CLAIM_TYPE, ...o };
}
export function submitMessage(o: { askId: string; generatorId: string; attempt: number; proofDigest: string }) {
  return { type: SUBMIT_TYPE, ...o };
}
export function cancelMessage(askId: string) {
  return { type: CANCEL_TYPE, askId };
}
export function proofDigest(proof: unknown): string {
  return digest(proof);
}

export class Market {
  readonly db: SqlDb;
  readonly engine: MatchingEngine;
  private readonly systems: ReadonlyMap<string, ProofSystem>;
  private readonly allowSimulated: boolean;
  /** Emits 'event' after a commit that wrote events (long-poll wake-up, JetStream pump). */
  readonly notifier = new EventEmitter();

  constructor(o: MarketOptions) {
    this.db = o.db;
    this.engine = o.engine;
    this.systems = o.proofSystems;
    this.allowSimulated = o.allowSimulated === true;
    this.notifier.setMaxListeners(0);
  }

  private system(id: string): ProofSystem {
    const s = this.systems.get(id);
    if (!s) throw new VeriteeError('MARKET_PROOF_SYSTEM_UNKNOWN', `no proof system "${id.slice(0, 64)}" (known: ${[...this.systems.keys()].join(', ')})`);
    return s;
  }

  private async event(q: Querier, id: string, type: string, marketId: string | null, askId: string | null, data: Record<string, unknown>, now: number): Promise<void> {
    await q.query('INSERT INTO market_events (id, type, market_id, ask_id, data, at_ms) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (id) DO NOTHING', [id, type, marketId, askId, JSON.stringify(data), now]);
  }

  private async transfer(q: Querier, key: string, kind: string, from: string, to: string, amount: number, askId: string | null, now: number): Promise<boolean> {
    if (amount < 0 || !Number.isSafeInteger(amount)) throw new VeriteeError('INTERNAL', `a transfer of ${amount}`);
    const r = await q.query('INSERT INTO market_ledger (key, kind, from_acct, to_acct, amount, ask_id, at_ms) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (key) DO NOTHING RETURNING seq', [key, kind, from, to, amount, askId, now]);
    if (r.length === 0) return false;
    await q.query('INSERT INTO market_balances (account, balance) VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET balance = market_balances.balance + $2', [to, amount]);
    await q.query('INSERT INTO market_balances (account, balance) VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET balance = market_balances.balance + $2', [from, -amount]);
    return true;
  }

  private async balance(q: Querier, account: string): Promise<number> {
    const r = await q.query<{ balance: unknown }>('SELECT balance FROM market_balances WHERE account = $1', [account]);
    return r.length ? num(r[0]!.balance) : 0;
  }

  private wake(): void {
    this.notifier.emit('event');
  }

  // ---- markets -------------------------------------------------------------------------

  /** Creates a market once its sample proof verifies (MARKET_SAMPLE_PROOF_INVALID otherwise). */
  async createMarket(input: unknown, now: number): Promise<{ id: string; vkDigest: string; created: boolean }> {
    const spec = parse(marketSpecSchema, input, 'market');
    checkMarketSpec(spec);
    const sys = this.system(spec.proofSystem);
    const { canonical, digest: vkDigest } = sys.parseVerificationKey(spec.verificationKey);
    const specDigest = digest(spec);
    const existing = await this.db.query('SELECT spec_digest, vk_digest FROM market_markets WHERE id = $1', [spec.id]);
    if (existing.length) {
      if (existing[0]!['spec_digest'] !== specDigest) throw new VeriteeError('MARKET_CONFLICT', `market ${spec.id} exists with other content`);
      return { id: spec.id, vkDigest: String(existing[0]!['vk_digest']), created: false };
    }
    const ok = await sys.verify(canonical, spec.sample.publicInputs, spec.sample.proof);
    if (!ok) throw new VeriteeError('MARKET_SAMPLE_PROOF_INVALID', `the sample proof does not verify against the ${spec.proofSystem} key ${vkDigest.slice(0, 16)}…`);
    const created = await this.db.tx(async (q) => {
      const r = await q.query(
        'INSERT INTO market_markets (id, spec_digest, proof_system, vk, vk_digest, allowed, collateral, slash_penalty, slash_reward_bp, created_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO NOTHING RETURNING id',
        [spec.id, specDigest, spec.proofSystem, JSON.stringify(canonical), vkDigest, JSON.stringify(spec.allowedMeasurements), spec.collateral, spec.slashPenalty, spec.slashRewardBp, now],
      );
      if (r.length) await this.event(q, `market.created:${spec.id}`, 'market.created', spec.id, null, { proofSystem: spec.proofSystem, vkDigest, allowedMeasurements: spec.allowedMeasurements }, now);
      return r.length > 0;
    });
    if (!created) return this.createMarket(input, now);
    this.wake();
    return { id: spec.id, vkDigest, created: true };
  }

  async getMarket(id: string): Promise<{ id: string; proofSystem: string; verificationKey: unknown; vkDigest: string; allowedMeasurements: string[]; collateral: number; slashPenalty: number; slashRewardBp: number }> {
    const r = await this.db.query('SELECT * FROM market_markets WHERE id = $1', [id]);
    if (!r.length) throw new VeriteeError('MARKET_NOT_FOUND', `no market ${id.slice(0, 64)}`);
    const m = r[0]!;
    return {
      id,
      proofSystem: String(m['proof_system']),
      verificationKey: JSON.parse(String(m['vk'])),
      vkDigest: String(m['vk_digest']),
      allowedMeasurements: JSON.parse(String(m['allowed'])) as string[],
      collateral: num(m['collateral']),
      slashPenalty: num(m['slash_penalty']),
      slashRewardBp: num(m['slash_reward_bp']),
    };
  }

  // ---- generators ----------------------------------------------------------------------

  async registerGenerator(input: unknown, now: number): Promise<{ id: string; created: boolean }> {
    const g: GeneratorSpec = parse(generatorSpecSchema, input, 'generator');
    const created = await this.db.tx(async (q) => {
      const ex = await q.query('SELECT identity_key, max_concurrent FROM market_generators WHERE id = $1 FOR UPDATE', [g.id]);
      if (ex.length) {
        if (ex[0]!['identity_key'] !== g.identityKey || num(ex[0]!['max_concurrent']) !== g.maxConcurrent) throw new VeriteeError('MARKET_CONFLICT', `generator ${g.id} exists with other content`);
        return false;
      }
      await q.query('INSERT INTO market_generators (id, identity_key, max_concurrent, created_ms) VALUES ($1,$2,$3,$4)', [g.id, g.identityKey, g.maxConcurrent, now]);
      await this.transfer(q, `stake:${g.id}`, 'stake', `ext:gen:${g.id}`, `gen:${g.id}`, g.stake, null, now);
      await this.event(q, `generator.registered:${g.id}`, 'generator.registered', null, null, { generatorId: g.id, stake: g.stake, maxConcurrent: g.maxConcurrent }, now);
      return true;
    });
    if (created) this.wake();
    return { id: g.id, created };
  }

  /**
   * A generator joins a market with its cost (bid) and proposed proving time, signed by its
   * identity key; with attested keys (role generator, subject `<generator>/<market>`) it may
   * be given private asks if its image is one the market allows.
   */
  async joinMarket(o: { generatorId: string; marketId: string; cost: number; provingTimeMs: number; keys?: AttestedKeys; signature: string }, now: number): Promise<{ imageAllowed: boolean; measurement: string | null }> {
    if (!Number.isSafeInteger(o.cost) || o.cost < 0 || !Number.isSafeInteger(o.provingTimeMs) || o.provingTimeMs < 1) throw new VeriteeError('INPUT_INVALID', 'cost and provingTimeMs must be non-negative integers');
    const market = await this.getMarket(o.marketId);
    const gen = await this.db.query('SELECT identity_key FROM market_generators WHERE id = $1', [o.generatorId]);
    if (!gen.length) throw new VeriteeError('MARKET_NOT_FOUND', `no generator ${o.generatorId.slice(0, 64)}`);
    const keysDigest = o.keys ? digest(o.keys) : null;
    if (!verifySigned(String(gen[0]!['identity_key']), joinMessage({ generatorId: o.generatorId, marketId: o.marketId, cost: o.cost, provingTimeMs: o.provingTimeMs, keysDigest }), o.signature)) {
      throw new VeriteeError('MARKET_SIGNATURE_INVALID', 'the join request is not signed by the generator');
    }
    let measurement: string | null = null;
    let imageAllowed = false;
    if (o.keys) {
      const v = await verifyAttestedKeys(o.keys, { at: now, role: 'generator', subject: `${o.generatorId}/${o.marketId}`, allowSimulated: this.allowSimulated });
      measurement = v.measurement;
      imageAllowed = market.allowedMeasurements.includes(v.measurement);
    }
    await this.db.tx(async (q) => {
      await q.query(
        `INSERT INTO market_memberships (market_id, generator_id, cost, proving_ms, keys, hpke_key, measurement, image_allowed, joined_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
         ON CONFLICT (market_id, generator_id) DO UPDATE SET cost = $3, proving_ms = $4, keys = $5, hpke_key = $6, measurement = $7, image_allowed = $8, joined_ms = $9`,
        [o.marketId, o.generatorId, o.cost, o.provingTimeMs, o.keys ? JSON.stringify(o.keys) : null, o.keys?.hpkePublicKey ?? null, measurement, imageAllowed, now],
      );
      await this.event(q, `generator.joined:${o.marketId}:${o.generatorId}:${keysDigest ?? '-'}:${o.cost}:${o.provingTimeMs}`, 'generator.joined', o.marketId, null, { generatorId: o.generatorId, cost: o.cost, provingTimeMs: o.provingTimeMs, measurement, imageAllowed }, now);
    });
    this.wake();
    return { imageAllowed, measurement };
  }

  // ---- asks ----------------------------------------------------------------------------

  /**
   * Creates an ask and escrows its maxPrice. Private inputs are opened by the engine to
   * check their binding (MARKET_INPUT_BINDING_INVALID) and shape: provably malformed inputs
   * end the ask at once as invalid_input with the engine's signed verdict (nothing escrowed).
   */
  async createAsk(input: unknown, now: number): Promise<AskView> {
    const a: AskSpec = parse(askSpecSchema, input, 'ask');
    const specDigest = digest(a);
    const prior = await this.db.query('SELECT spec_digest FROM market_asks WHERE id = $1', [a.id]);
    if (prior.length) {
      if (prior[0]!['spec_digest'] !== specDigest) throw new VeriteeError('MARKET_CONFLICT', `ask ${a.id} exists with other content`);
      return this.status(a.id, now);
    }
    checkAskSpec(a, now);
    const market = await this.getMarket(a.marketId);
    let verdict: Signed<InvalidInputVerdict> | undefined;
    let sealedId: string | null = null;
    if (a.privateInputs) {
      if (market.allowedMeasurements.length === 0) throw new VeriteeError('MARKET_PRIVATE_INPUTS_NOT_ALLOWED', `market ${market.id} allows no prover image, so it takes public inputs only`);
      sealedId = sealedDigest(a.privateInputs);
      const used = await this.db.query('SELECT id FROM market_asks WHERE sealed_digest = $1', [sealedId]);
      if (used.length) throw new VeriteeError('MARKET_INPUT_REPLAYED', 'these encrypted inputs were already used by another ask');
      const sys = this.system(market.proofSystem) as InputCheckingProofSystem;
      const check = sys.checkPrivateInputs ? (pub: unknown, priv: unknown) => sys.checkPrivateInputs!(market.verificationKey, pub, priv) : undefined;
      const r = await this.engine.admit({ marketId: a.marketId, askId: a.id, sealed: a.privateInputs, publicInputs: a.publicInputs, ...(check ? { check } : {}), now });
      if (!r.ok) verdict = r.verdict;
    }
    const inserted = await this.db.tx(async (q) => {
      const r = await q.query(
        `INSERT INTO market_asks (id, market_id, spec, spec_digest, requester_key, start_price, max_price, start_ms, end_ms, expiry_ms, proving_ms, deadline_ms, private, sealed_digest, status, verdict, created_ms)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17) ON CONFLICT DO NOTHING RETURNING id`,
        [a.id, a.marketId, JSON.stringify(a), specDigest, a.requesterKey, a.startPrice, a.maxPrice, a.startMs, a.endMs, a.assignmentExpiryMs, a.provingTimeMs, a.deadlineMs, a.privateInputs !== undefined, sealedId, verdict ? 'invalid_input' : 'open', verdict ? JSON.stringify(verdict) : null, now],
      );
      if (!r.length) return false;
      if (verdict) {
        await this.event(q, `ask.invalid_input:${a.id}`, 'ask.invalid_input', a.marketId, a.id, { verdict }, now);
      } else {
        await this.transfer(q, `escrow:${a.id}`, 'escrow', requesterAcct(a.requesterKey), `escrow:${a.id}`, a.maxPrice, a.id, now);
        await this.event(q, `ask.created:${a.id}`, 'ask.created', a.marketId, a.id, { maxPrice: a.maxPrice, private: a.privateInputs !== undefined, deadlineMs: a.deadlineMs }, now);
      }
      return true;
    });
    if (!inserted) {
      // a concurrent create with the same id, or the same ciphertext in another ask
      const again = await this.db.query('SELECT spec_digest FROM market_asks WHERE id = $1', [a.id]);
      if (again.length && again[0]!['spec_digest'] === specDigest) return this.status(a.id, now);
      if (again.length) throw new VeriteeError('MARKET_CONFLICT', `ask ${a.id} exists with other content`);
      throw new VeriteeError('MARKET_INPUT_REPLAYED', 'these encrypted inputs were already used by another ask');
    }
    this.wake();
    return this.status(a.id, now);
  }

  private view(r: AskRow, now: number): AskView {
    const spec = JSON.parse(String(r['spec'])) as AskSpec;
    const state = askState(progressOf(r), now);
    return {
      id: String(r['id']),
      marketId: String(r['market_id']),
      state,
      attempt: num(r['attempt']),
      assignedTo: state === 'assigned' || (r['status'] === 'open' && r['assigned_to'] !== null) ? ((r['assigned_to'] as string | null) ?? null) : null,
      assignmentEndsMs: r['assignment_ends_ms'] === null ? null : num(r['assignment_ends_ms']),
      priceNow: priceAt(spec, now),
      maxPrice: spec.maxPrice,
      payout: r['payout'] === null ? null : num(r['payout']),
      private: r['private'] === true,
      completedBy: (r['completed_by'] as string | null) ?? null,
      assignment: r['assignment'] ? (JSON.parse(String(r['assignment'])) as Signed<AssignmentRecord>) : null,
      verdict: r['verdict'] ? (JSON.parse(String(r['verdict'])) as Signed<InvalidInputVerdict>) : null,
    };
  }

  async status(askId: string, now: number): Promise<AskView> {
    const r = await this.db.query('SELECT * FROM market_asks WHERE id = $1', [askId]);
    if (!r.length) throw new VeriteeError('MARKET_NOT_FOUND', `no ask ${askId.slice(0, 64)}`);
    return this.view(r[0]!, now);
  }

  /** The proof of a complete ask, with what a requester needs to verify it locally. */
  async result(askId: string, now: number): Promise<AskResult> {
    const r = await this.db.query('SELECT * FROM market_asks WHERE id = $1', [askId]);
    if (!r.length) throw new VeriteeError('MARKET_NOT_FOUND', `no ask ${askId.slice(0, 64)}`);
    const row = r[0]!;
    if (row['status'] !== 'complete') throw new VeriteeError('MARKET_STATE_INVALID', `ask ${askId} is ${askState(progressOf(row), now)}, not complete`);
    const m = await this.getMarket(String(row['market_id']));
    const spec = JSON.parse(String(row['spec'])) as AskSpec;
    return { askId, marketId: m.id, proofSystem: m.proofSystem, verificationKey: m.verificationKey, vkDigest: m.vkDigest, publicInputs: spec.publicInputs, proof: JSON.parse(String(row['proof'])), completedBy: String(row['completed_by']) };
  }

  /** Cancels an ask that nobody holds (signed by its requester key); the escrow is refunded. */
  async cancelAsk(askId: string, signature: string, now: number): Promise<AskView> {
    await this.db.tx(async (q) => {
      const r = await q.query('SELECT * FROM market_asks WHERE id = $1 FOR UPDATE', [askId]);
      if (!r.length) throw new VeriteeError('MARKET_NOT_FOUND', `no ask ${askId.slice(0, 64)}`);
      const row = r[0]!;
      if (!verifySigned(String(row['requester_key']), cancelMessage(askId), signature)) throw new VeriteeError('MARKET_SIGNATURE_INVALID', 'the cancellation is not signed by the requester key of the ask');
      const state = askState(progressOf(row), now);
      if (row['status'] === 'cancelled') return;
      if ((state !== 'unassigned' && state !== 'created') || row['assigned_to'] !== null) throw new VeriteeError('MARKET_STATE_INVALID', `ask ${askId} is ${state}; only an unassigned ask can be cancelled`);
      await q.query("UPDATE market_asks SET status = 'cancelled' WHERE id = $1", [askId]);
      const held = await this.balance(q, `escrow:${askId}`);
      await this.transfer(q, `refund:${askId}`, 'refund', `escrow:${askId}`, requesterAcct(String(row['requester_key'])), held, askId, now);
      await this.closeSlashPool(q, askId, now);
      await this.event(q, `ask.cancelled:${askId}`, 'ask.cancelled', String(row['market_id']), askId, { refunded: held }, now);
    });
    this.wake();
    return this.status(askId, now);
  }

  private async closeSlashPool(q: Querier, askId: string, now: number): Promise<void> {
    const pool = await this.balance(q, `slashpool:${askId}`);
    if (pool > 0) await this.transfer(q, `slash_unclaimed:${askId}`, 'slash_unclaimed', `slashpool:${askId}`, 'treasury', pool, askId, now);
  }

  // ---- settlement: lapsed assignments and crossed deadlines -------------------------------

  /** Slashes assignees whose proving time ran out, and ends asks past their deadline (or never taken by their expiry). */
  async settle(now: number): Promise<{ slashed: number; expired: number }> {
    const due = await this.db.query<{ id: string }>(
      `SELECT id FROM market_asks WHERE status = 'open' AND ((assigned_to IS NOT NULL AND assignment_ends_ms <= $1) OR deadline_ms <= $1 OR (NOT ever_assigned AND expiry_ms <= $1)) ORDER BY created_ms`,
      [now],
    );
    let slashed = 0;
    let expired = 0;
    for (const { id } of due) {
      const r = await this.db.tx(async (q) => {
        const rows = await q.query('SELECT * FROM market_asks WHERE id = $1 FOR UPDATE', [id]);
        const row = rows[0];
        if (!row || row['status'] !== 'open') return { s: 0, e: 0 };
        let s = 0;
        let e = 0;
        const marketId = String(row['market_id']);
        if (row['assigned_to'] !== null && num(row['assignment_ends_ms']) <= now) {
          await this.slash(q, row, now);
          s = 1;
        }
        if (num(row['deadline_ms']) <= now || (row['ever_assigned'] !== true && num(row['expiry_ms']) <= now)) {
          await q.query("UPDATE market_asks SET status = 'expired', assigned_to = NULL WHERE id = $1", [id]);
          const held = await this.balance(q, `escrow:${id}`);
          await this.transfer(q, `refund:${id}`, 'refund', `escrow:${id}`, requesterAcct(String(row['requester_key'])), held, id, now);
          await this.closeSlashPool(q, id, now);
          await this.event(q, `ask.deadline_crossed:${id}`, 'ask.deadline_crossed', marketId, id, { refunded: held }, now);
          e = 1;
        }
        return { s, e };
      });
      slashed += r.s;
      expired += r.e;
    }
    if (slashed || expired) this.wake();
    return { slashed, expired };
  }

  private async slash(q: Querier, row: AskRow, now: number): Promise<void> {
    const id = String(row['id']);
    const gid = String(row['assigned_to']);
    const attempt = num(row['attempt']);
    const m = await this.getMarketQ(q, String(row['market_id']));
    const coll = `collateral:${id}:${attempt}`;
    const locked = await this.balance(q, coll);
    const penalty = Math.min(m.slashPenalty, locked);
    const toPool = Math.floor((penalty * m.slashRewardBp) / 10_000);
    await this.transfer(q, `slash_pool:${id}:${attempt}`, 'slash_pool', coll, `slashpool:${id}`, toPool, id, now);
    await this.transfer(q, `slash_treasury:${id}:${attempt}`, 'slash_treasury', coll, 'treasury', penalty - toPool, id, now);
    await this.transfer(q, `release:${id}:${attempt}`, 'release', coll, `gen:${gid}`, locked - penalty, id, now);
    await q.query('UPDATE market_asks SET assigned_to = NULL, assignment_ends_ms = NULL, rewrapped = NULL WHERE id = $1', [id]);
    await q.query('UPDATE market_generators SET slashed = slashed + 1 WHERE id = $1', [gid]);
    await q.query('INSERT INTO market_exclusions (ask_id, generator_id) VALUES ($1,$2) ON CONFLICT DO NOTHING', [id, gid]);
    await this.event(q, `ask.slashed:${id}:${attempt}`, 'ask.slashed', m.id, id, { generatorId: gid, attempt, penalty, toCompleter: toPool, toTreasury: penalty - toPool }, now);
  }

  private async getMarketQ(q: Querier, id: string): Promise<{ id: string; slashPenalty: number; slashRewardBp: number; collateral: number }> {
    const r = await q.query('SELECT id, slash_penalty, slash_reward_bp, collateral FROM market_markets WHERE id = $1', [id]);
    if (!r.length) throw new VeriteeError('MARKET_NOT_FOUND', `no market ${id.slice(0, 64)}`);
    return { id, slashPenalty: num(r[0]!['slash_penalty']), slashRewardBp: num(r[0]!['slash_reward_bp']), collateral: num(r[0]!['collateral']) };
  }

  // ---- matching ------------------------------------------------------------------------

  /**
   * Settles, then offers every open, unheld ask (oldest first) to the engine. Capacity and
   * stake are tracked across the sweep and re-checked under the ask's row lock, so a
   * generator never holds more concurrent jobs than it declared.
   */
  async match(now: number, opts: { limit?: number } = {}): Promise<{ matched: number; considered: number; slashed: number; expired: number }> {
    const settled = await this.settle(now);
    const asks = await this.db.query(
      `SELECT * FROM market_asks WHERE status = 'open' AND assigned_to IS NULL AND start_ms <= $1 AND deadline_ms > $1 AND (ever_assigned OR expiry_ms > $1) ORDER BY created_ms, id LIMIT $2`,
      [now, opts.limit ?? 100_000],
    );
    if (!asks.length) return { matched: 0, considered: 0, ...settled };
    const marketIds = [...new Set(asks.map((a) => String(a['market_id'])))];
    const members = new Map<string, Candidate[]>();
    const hpke = new Map<string, Map<string, string>>();
    const gens = await this.db.query('SELECT g.id, g.max_concurrent, g.completed, g.slashed, b.balance FROM market_generators g LEFT JOIN market_balances b ON b.account = \'gen:\' || g.id');
    const active = await this.db.query<{ assigned_to: string; n: unknown }>("SELECT assigned_to, count(*) AS n FROM market_asks WHERE status = 'open' AND assigned_to IS NOT NULL GROUP BY assigned_to");
    const gState = new Map<string, { maxConcurrent: number; completed: number; slashed: number; freeStake: number; active: number }>();
    for (const g of gens) gState.set(String(g['id']), { maxConcurrent: num(g['max_concurrent']), completed: num(g['completed']), slashed: num(g['slashed']), freeStake: g['balance'] === null ? 0 : num(g['balance']), active: 0 });
    for (const a of active) {
      const s = gState.get(a.assigned_to);
      if (s) s.active = num(a.n);
    }
    const markets = new Map<string, Awaited<ReturnType<Market['getMarket']>>>();
    for (const mid of marketIds) {
      markets.set(mid, await this.getMarket(mid));
      const rows = await this.db.query('SELECT * FROM market_memberships WHERE market_id = $1 ORDER BY generator_id', [mid]);
      members.set(
        mid,
        rows.map((r) => ({ generatorId: String(r['generator_id']), cost: num(r['cost']), provingTimeMs: num(r['proving_ms']), imageAllowed: r['image_allowed'] === true, freeStake: 0, active: 0, maxConcurrent: 0, completed: 0, slashed: 0, excluded: false })),
      );
      hpke.set(mid, new Map(rows.filter((r) => r['hpke_key'] !== null).map((r) => [String(r['generator_id']), String(r['hpke_key'])])));
    }
    const exclusions = new Set((await this.db.query<{ ask_id: string; generator_id: string }>('SELECT ask_id, generator_id FROM market_exclusions')).map((e) => `${e.ask_id}\u0000${e.generator_id}`));
    let matched = 0;
    for (const a of asks) {
      const mid = String(a['market_id']);
      const m = markets.get(mid)!;
      const spec = JSON.parse(String(a['spec'])) as AskSpec;
      const askId = String(a['id']);
      const candidates: Candidate[] = members.get(mid)!.map((c) => {
        const s = gState.get(c.generatorId)!;
        return { ...c, freeStake: s.freeStake, active: s.active, maxConcurrent: s.maxConcurrent, completed: s.completed, slashed: s.slashed, excluded: exclusions.has(`${askId}\u0000${c.generatorId}`) };
      });
      const attempt = num(a['attempt']) + 1;
      const costs = new Map(candidates.map((c) => [c.generatorId, c.cost]));
      const out = await this.engine.assign({
        inputs: {
          marketId: mid,
          askId,
          attempt,
          now,
          price: priceAt(spec, now),
          maxPrice: spec.maxPrice,
          provingTimeMs: spec.provingTimeMs,
          deadlineMs: spec.deadlineMs,
          collateral: m.collateral,
          private: spec.privateInputs !== undefined,
          candidates,
        },
        ...(spec.privateInputs ? { sealed: spec.privateInputs } : {}),
        generatorKeys: hpke.get(mid)!,
        payoutOf: (g) => costs.get(g)!,
      });
      if (!out) continue;
      const rec = out.signed.record;
      const gid = rec.generatorId;
      const ok = await this.db.tx(async (q) => {
        const rows = await q.query('SELECT status, assigned_to, attempt FROM market_asks WHERE id = $1 FOR UPDATE', [askId]);
        const row = rows[0];
        if (!row || row['status'] !== 'open' || row['assigned_to'] !== null || num(row['attempt']) !== attempt - 1) return false;
        // capacity and stake again, under locks (another engine sweep may run on another instance)
        await q.query('SELECT id FROM market_generators WHERE id = $1 FOR UPDATE', [gid]);
        const act = await q.query<{ n: unknown }>("SELECT count(*) AS n FROM market_asks WHERE status = 'open' AND assigned_to = $1", [gid]);
        const gs = gState.get(gid)!;
        if (num(act[0]!.n) >= gs.maxConcurrent) return false;
        if ((await this.balance(q, `gen:${gid}`)) < m.collateral) return false;
        await this.transfer(q, `lock:${askId}:${attempt}`, 'lock', `gen:${gid}`, `collateral:${askId}:${attempt}`, m.collateral, askId, now);
        await q.query('UPDATE market_asks SET assigned_to = $2, assignment_ends_ms = $3, ever_assigned = true, attempt = $4, payout = $5, assignment = $6, rewrapped = $7 WHERE id = $1', [
          askId,
          gid,
          rec.assignmentEndsMs,
          attempt,
          rec.payout,
          JSON.stringify(out.signed),
          out.rewrapped ? JSON.stringify(out.rewrapped) : null,
        ]);
        await this.event(q, `ask.assigned:${askId}:${attempt}`, 'ask.assigned', mid, askId, { generatorId: gid, attempt, payout: rec.payout, assignmentEndsMs: rec.assignmentEndsMs, seed: rec.inputs.seed }, now);
        return true;
      });
      if (ok) {
        const gs = gState.get(gid)!;
        gs.active += 1;
        gs.freeStake -= m.collateral;
        matched++;
      }
    }
    if (matched) this.wake();
    return { matched, considered: asks.length, ...settled };
  }

  // ---- generator side ------------------------------------------------------------------

  /** Live assignments held by a generator. */
  async assignmentsOf(generatorId: string, now: number): Promise<Assignment[]> {
    const rows = await this.db.query("SELECT * FROM market_asks WHERE status = 'open' AND assigned_to = $1 AND assignment_ends_ms > $2 ORDER BY created_ms", [generatorId, now]);
    return rows.map((r) => this.assignmentOf(r));
  }

  private assignmentOf(r: AskRow): Assignment {
    const spec = JSON.parse(String(r['spec'])) as AskSpec;
    return {
      askId: String(r['id']),
      marketId: String(r['market_id']),
      attempt: num(r['attempt']),
      publicInputs: spec.publicInputs,
      assignment: JSON.parse(String(r['assignment'])) as Signed<AssignmentRecord>,
      ...(r['rewrapped'] ? { inputs: JSON.parse(String(r['rewrapped'])) as Sealed } : {}),
    };
  }

  /** The assignee claims its assignment (signed); idempotent, returns the same record each time. */
  async claim(o: { askId: string; generatorId: string; attempt: number; signature: string }, now: number): Promise<Assignment> {
    return this.db.tx(async (q) => {
      const rows = await q.query('SELECT a.*, g.identity_key FROM market_asks a JOIN market_generators g ON g.id = $2 WHERE a.id = $1 FOR UPDATE OF a', [o.askId, o.generatorId]);
      if (!rows.length) throw new VeriteeError('MARKET_NOT_FOUND', `no ask ${o.askId.slice(0, 64)} or generator ${o.generatorId.slice(0, 64)}`);
      const row = rows[0]!;
      if (!verifySigned(String(row['identity_key']), claimMessage({ askId: o.askId, generatorId: o.generatorId, attempt: o.attempt }), o.signature)) throw new VeriteeError('MARKET_SIGNATURE_INVALID', 'the claim is not signed by the generator');
      const state = askState(progressOf(row), now);
      if (state !== 'assigned' || row['assigned_to'] !== o.generatorId || num(row['attempt']) !== o.attempt) throw new VeriteeError('MARKET_STATE_INVALID', `ask ${o.askId} is ${state} and not held by ${o.generatorId} at attempt ${o.attempt}`);
      await this.event(q, `ask.claimed:${o.askId}:${o.attempt}`, 'ask.claimed', String(row['market_id']), o.askId, { generatorId: o.generatorId, attempt: o.attempt }, now);
      return this.assignmentOf(row);
    });
  }

  /**
   * The assignee submits a proof (signed over its digest). The market verifies it: a proof
   * that does not verify is recorded, pays nothing and leaves the ask open
   * (MARKET_PROOF_REJECTED); a valid one completes the ask and settles it once.
   */
  async submit(o: { askId: string; generatorId: string; attempt: number; proof: unknown; signature: string }, now: number): Promise<AskView> {
    const pd = proofDigest(o.proof);
    const rows = await this.db.query('SELECT a.*, g.identity_key FROM market_asks a JOIN market_generators g ON g.id = $2 WHERE a.id = $1', [o.askId, o.generatorId]);
    if (!rows.length) throw new VeriteeError('MARKET_NOT_FOUND', `no ask ${o.askId.slice(0, 64)} or generator ${o.generatorId.slice(0, 64)}`);
    const row0 = rows[0]!;
    if (!verifySigned(String(row0['identity_key']), submitMessage({ askId: o.askId, generatorId: o.generatorId, attempt: o.attempt, proofDigest: pd }), o.signature)) {
      throw new VeriteeError('MARKET_SIGNATURE_INVALID', 'the submission is not signed by the generator');
    }
    if (row0['status'] === 'complete' && row0['completed_by'] === o.generatorId && num(row0['attempt']) === o.attempt) return this.view(row0, now);
    const state0 = askState(progressOf(row0), now);
    if (state0 !== 'assigned' || row0['assigned_to'] !== o.generatorId || num(row0['attempt']) !== o.attempt) {
      throw new VeriteeError('MARKET_STATE_INVALID', `ask ${o.askId} is ${state0} and not held by ${o.generatorId} at attempt ${o.attempt}`);
    }
    const m = await this.getMarket(String(row0['market_id']));
    const spec = JSON.parse(String(row0['spec'])) as AskSpec;
    let valid: boolean;
    try {
      valid = await this.system(m.proofSystem).verify(m.verificationKey, spec.publicInputs, o.proof);
    } catch {
      valid = false;
    }
    const done = await this.db.tx(async (q) => {
      const r = await q.query('SELECT * FROM market_asks WHERE id = $1 FOR UPDATE', [o.askId]);
      const row = r[0]!;
      await q.query('INSERT INTO market_submissions (ask_id, generator_id, attempt, proof_digest, ok, at_ms) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING', [o.askId, o.generatorId, o.attempt, pd, valid, now]);
      if (!valid) {
        await this.event(q, `proof.rejected:${o.askId}:${o.attempt}:${pd}`, 'proof.rejected', m.id, o.askId, { generatorId: o.generatorId, attempt: o.attempt, proofDigest: pd }, now);
        return 'rejected' as const;
      }
      if (row['status'] === 'complete') return row['completed_by'] === o.generatorId ? ('already' as const) : ('late' as const);
      const state = askState(progressOf(row), now);
      if (state !== 'assigned' || row['assigned_to'] !== o.generatorId || num(row['attempt']) !== o.attempt) return 'late' as const;
      const payout = num(row['payout']);
      const requester = requesterAcct(String(row['requester_key']));
      await q.query("UPDATE market_asks SET status = 'complete', proof = $2, completed_by = $3, assigned_to = NULL WHERE id = $1", [o.askId, JSON.stringify(o.proof), o.generatorId]);
      await this.transfer(q, `payout:${o.askId}`, 'payout', `escrow:${o.askId}`, `earnings:${o.generatorId}`, payout, o.askId, now);
      const surplus = await this.balance(q, `escrow:${o.askId}`);
      await this.transfer(q, `refund:${o.askId}`, 'refund', `escrow:${o.askId}`, requester, surplus, o.askId, now);
      const coll = `collateral:${o.askId}:${o.attempt}`;
      await this.transfer(q, `release:${o.askId}:${o.attempt}`, 'release', coll, `gen:${o.generatorId}`, await this.balance(q, coll), o.askId, now);
      const pool = await this.balance(q, `slashpool:${o.askId}`);
      if (pool > 0) await this.transfer(q, `slash_reward:${o.askId}`, 'slash_reward', `slashpool:${o.askId}`, `earnings:${o.generatorId}`, pool, o.askId, now);
      await q.query('UPDATE market_generators SET completed = completed + 1 WHERE id = $1', [o.generatorId]);
      await this.event(q, `ask.completed:${o.askId}`, 'ask.completed', m.id, o.askId, { generatorId: o.generatorId, attempt: o.attempt, payout, refunded: surplus, slashReward: pool, proofDigest: pd }, now);
      return 'completed' as const;
    });
    this.wake();
    if (done === 'rejected') throw new VeriteeError('MARKET_PROOF_REJECTED', `the proof for ask ${o.askId} does not verify against the market's key; nothing is paid and the ask stays open until its deadline`);
    if (done === 'late') throw new VeriteeError('MARKET_STATE_INVALID', `ask ${o.askId} is no longer held by ${o.generatorId} at attempt ${o.attempt}`);
    return this.status(o.askId, now);
  }

  // ---- events and ledger -----------------------------------------------------------------

  async events(after: number, limit = 500): Promise<MarketEvent[]> {
    const rows = await this.db.query('SELECT * FROM market_events WHERE seq > $1 ORDER BY seq LIMIT $2', [after, Math.max(1, Math.min(limit, 5000))]);
    return rows.map((r) => ({
      seq: num(r['seq']),
      id: String(r['id']),
      type: String(r['type']),
      marketId: (r['market_id'] as string | null) ?? null,
      askId: (r['ask_id'] as string | null) ?? null,
      data: JSON.parse(String(r['data'])) as Record<string, unknown>,
      at: num(r['at_ms']),
    }));
  }

  async ledgerCheck(): Promise<LedgerCheck> {
    const sums = new Map<string, number>();
    for (const r of await this.db.query<{ kind: string; s: unknown }>('SELECT kind, sum(amount) AS s FROM market_ledger GROUP BY kind')) sums.set(r.kind, num(r.s));
    const k = (n: string) => sums.get(n) ?? 0;
    const held = async (prefix: string) => num((await this.db.query<{ s: unknown }>('SELECT coalesce(sum(balance), 0) AS s FROM market_balances WHERE account LIKE $1', [`${prefix}%`]))[0]!.s);
    const escrowHeld = await held('escrow:');
    const collateralHeld = await held('collateral:');
    const slashPoolHeld = await held('slashpool:');
    const treasury = await held('treasury');
    const balanceSum = num((await this.db.query<{ s: unknown }>('SELECT coalesce(sum(balance), 0) AS s FROM market_balances'))[0]!.s);
    const negativeAccounts = (await this.db.query<{ account: string }>("SELECT account FROM market_balances WHERE balance < 0 AND account NOT LIKE 'ext:%' AND account NOT LIKE 'requester:%'")).map((r) => r.account);
    const c: LedgerCheck = {
      ok: false,
      escrowed: k('escrow'),
      paid: k('payout'),
      refunded: k('refund'),
      escrowHeld,
      locked: k('lock'),
      released: k('release'),
      slashed: k('slash_treasury') + k('slash_pool'),
      collateralHeld,
      slashPool: k('slash_pool'),
      slashRewarded: k('slash_reward'),
      slashUnclaimed: k('slash_unclaimed'),
      slashPoolHeld,
      treasury,
      balanceSum,
      negativeAccounts,
    };
    c.ok =
      c.escrowed === c.paid + c.refunded + c.escrowHeld &&
      c.locked === c.released + c.slashed + c.collateralHeld &&
      c.slashPool === c.slashRewarded + c.slashUnclaimed + c.slashPoolHeld &&
      c.balanceSum === 0 &&
      c.negativeAccounts.length === 0;
    return c;
  }

  async balanceOf(account: string): Promise<number> {
    return this.balance(this.db, account);
  }
}

function progressOf(r: AskRow) {
  return {
    status: String(r['status']) as AskStatus,
    startMs: num(r['start_ms']),
    assignmentExpiryMs: num(r['expiry_ms']),
    deadlineMs: num(r['deadline_ms']),
    assignedTo: (r['assigned_to'] as string | null) ?? null,
    assignmentEndsMs: r['assignment_ends_ms'] === null || r['assignment_ends_ms'] === undefined ? null : num(r['assignment_ends_ms']),
    everAssigned: r['ever_assigned'] === true,
  };
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new VeriteeError('INPUT_INVALID', `${what}: ${i.path.map(String).join('.') || '(root)'}: ${i.message}`.slice(0, 300));
  }
  return r.data;
}

export { canonicalJson };
