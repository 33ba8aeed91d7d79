/**
 * @module plane/log
 * The decision log: workloads (spec, replicas in force, last scaling time) and every
 * scaling decision with its enactment and proof state, on either SQL backend (db.ts).
 *
 * States:
 *   enact: pending (not yet enacted, or the orchestrator was down: retried at next_attempt_ms)
 *          | enacted | denied (the orchestrator refused: reported, not retried)
 *   proof: queued | verified | failed | unprovable (no claim covers the metric)
 *   flag:  null, or why the decision is flagged: proof-failed, proof-late, unprovable,
 *          enact-denied. A late proof that arrives still verifies, and stays flagged late.
 *
 * Claims: a decision rests on one or more claims (`claims`): a scale-out on the rule that
 * crossed its threshold, a scale-in on EVERY rule (each must be at or below its lower
 * threshold). Each claim is proven by its own job and has its own proof state; the
 * decision's `proof.state` is their aggregate: verified when every claim is, failed when one
 * failed. `claim` (the first claim) and `proof.bundle` (its bundle) stay for readers of the
 * single-claim format.
 *
 * INVARIANT: a verified proof is never overwritten (results are delivered at least once).
 */
import { VeriteeError } from '@veritee/core';
import { num, type CpDb, type Querier, type Row } from './db.js';
import type { Metric, WorkloadSpec } from './workload.js';

export type EnactState = 'pending' | 'enacted' | 'denied';
export type ProofState = 'queued' | 'verified' | 'failed' | 'unprovable';

export interface DecisionClaim {
  kind: string;
  params: Record<string, unknown>;
  /** The outcome the proof must show: scaleOut true (scale out) or false (scale in). */
  expectScaleOut: boolean;
}

/** One claim a decision rests on, with its own proof. */
export interface DecisionClaimEntry extends DecisionClaim {
  /** Position in `claims` (the proof job's claimIndex). */
  index: number;
  metric: Metric;
  /** The measured value and the threshold it was compared with (bp, or requests per minute). */
  value: number;
  threshold: number;
  proof: { state: 'queued' | 'verified' | 'failed'; error?: string; bundle?: unknown; verifiedMs?: number };
}

/** The command the control plane signs for untrusted-mode agents (command.ts). */
export interface SignedCommand {
  payload: string;
  signature: string;
  keyId: string;
}

export interface Decision {
  id: string;
  seq: number;
  workload: string;
  atMs: number;
  metric: Metric;
  direction: 'out' | 'in';
  from: number;
  to: number;
  reason: string;
  /** The first claim of `claims` (null when none proves the decision). */
  claim: DecisionClaim | null;
  /** Every claim the decision rests on, each with its proof (empty when none can prove it). */
  claims: DecisionClaimEntry[];
  enact: { state: EnactState; attempts: number; error?: string; enactedMs?: number; nextAttemptMs?: number };
  proof: { state: ProofState; deadlineMs: number; error?: string; bundle?: unknown; verifiedMs?: number };
  flag?: string;
  command: SignedCommand;
}

export interface WorkloadRecord {
  spec: WorkloadSpec;
  replicas: number;
  lastScaledMs: number;
  createdMs: number;
}

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

function toClaim(r: Row): DecisionClaimEntry {
  const c: DecisionClaimEntry = {
    index: num(r.idx),
    metric: r.metric as Metric,
    kind: String(r.kind),
    params: JSON.parse(String(r.params)) as Record<string, unknown>,
    expectScaleOut: r.expect_scale_out === true || r.expect_scale_out === 't',
    value: num(r.value),
    threshold: num(r.threshold),
    proof: { state: r.proof_state as DecisionClaimEntry['proof']['state'] },
  };
  if (opt(r.proof_error) !== undefined) c.proof.error = String(r.proof_error);
  if (opt(r.bundle) !== undefined) c.proof.bundle = JSON.parse(String(r.bundle));
  if (opt(r.verified_ms) !== undefined) c.proof.verifiedMs = num(r.verified_ms);
  return c;
}

/** A decision recorded before per-claim rows existed: its one claim, with the decision's proof. */
function legacyClaims(d: Decision): DecisionClaimEntry[] {
  if (!d.claim) return [];
  const state = d.proof.state === 'unprovable' ? 'failed' : d.proof.state;
  return [{ ...d.claim, index: 0, metric: d.metric, value: NaN, threshold: NaN, proof: { state, ...(d.proof.error ? { error: d.proof.error } : {}), ...(d.proof.bundle !== undefined ? { bundle: d.proof.bundle } : {}), ...(d.proof.verifiedMs !== undefined ? { verifiedMs: d.proof.verifiedMs } : {}) } }];
}

function toDecision(r: Row, claimRows: Row[] = []): Decision {
  const d: Decision = {
    id: String(r.id),
    seq: num(r.seq),
    workload: String(r.workload),
    atMs: num(r.at_ms),
    metric: r.metric as Metric,
    direction: r.direction as 'out' | 'in',
    from: num(r.from_replicas),
    to: num(r.to_replicas),
    reason: String(r.reason),
    claim: JSON.parse(String(r.claim)) as DecisionClaim | null,
    claims: [],
    enact: { state: r.enact_state as EnactState, attempts: num(r.enact_attempts) },
    proof: { state: r.proof_state as ProofState, deadlineMs: num(r.proof_deadline_ms) },
    command: JSON.parse(String(r.command)) as SignedCommand,
  };
  if (opt(r.enact_error) !== undefined) d.enact.error = String(r.enact_error);
  if (opt(r.enacted_ms) !== undefined) d.enact.enactedMs = num(r.enacted_ms);
  if (opt(r.next_attempt_ms) !== undefined) d.enact.nextAttemptMs = num(r.next_attempt_ms);
  if (opt(r.proof_error) !== undefined) d.proof.error = String(r.proof_error);
  if (opt(r.bundle) !== undefined) d.proof.bundle = JSON.parse(String(r.bundle));
  if (opt(r.verified_ms) !== undefined) d.proof.verifiedMs = num(r.verified_ms);
  if (opt(r.flag) !== undefined) d.flag = String(r.flag);
  d.claims = claimRows.length > 0 ? claimRows.map(toClaim).sort((a, b) => a.index - b.index) : legacyClaims(d);
  return d;
}

/** What a claim result changed. */
export interface ClaimUpdate {
  /** The claim's state changed (false: it was verified already, or no such claim). */
  changed: boolean;
  /** The decision's aggregate proof state after the update. */
  decision: ProofState | undefined;
}

export class DecisionLog {
  constructor(readonly db: CpDb) {}

  get backend(): 'embedded' | 'postgres' {
    return this.db.backend;
  }

  async addWorkload(spec: WorkloadSpec, nowMs: number): Promise<void> {
    const rows = await this.db.query(
      `INSERT INTO cp_workloads (name, spec, replicas, last_scaled_ms, created_ms) VALUES ($1, $2, $3, 0, $4)
       ON CONFLICT (name) DO NOTHING RETURNING name`,
      [spec.name, JSON.stringify(spec), spec.replicas, nowMs],
    );
    if (rows.length === 0) throw new VeriteeError('CP_WORKLOAD_EXISTS', `workload ${spec.name} is already registered`);
  }

  async workload(name: string): Promise<WorkloadRecord | undefined> {
    const [r] = await this.db.query('SELECT * FROM cp_workloads WHERE name = $1', [name]);
    return r ? { spec: JSON.parse(String(r.spec)) as WorkloadSpec, replicas: num(r.replicas), lastScaledMs: num(r.last_scaled_ms), createdMs: num(r.created_ms) } : undefined;
  }

  async workloads(): Promise<WorkloadRecord[]> {
    const rows = await this.db.query('SELECT * FROM cp_workloads ORDER BY name');
    return rows.map((r) => ({ spec: JSON.parse(String(r.spec)) as WorkloadSpec, replicas: num(r.replicas), lastScaledMs: num(r.last_scaled_ms), createdMs: num(r.created_ms) }));
  }

  /**
   * Records a decision and moves the workload's intended replica count, atomically, only if
   * the workload is still at `d.from` (two reports racing cannot both scale from the same count).
   * Returns false when it was not.
   */
  async recordDecision(d: Omit<Decision, 'seq'>): Promise<Decision | undefined> {
    const bad = d.claims.findIndex((c, i) => c.index !== i);
    if (bad >= 0) throw new VeriteeError('INTERNAL', `decision ${d.id}: claims[${bad}] has index ${d.claims[bad]!.index}`);
    return this.db.tx(async (q: Querier) => {
      const moved = await q.query('UPDATE cp_workloads SET replicas = $2, last_scaled_ms = $3 WHERE name = $1 AND replicas = $4 RETURNING name', [d.workload, d.to, d.atMs, d.from]);
      if (moved.length === 0) return undefined;
      const [s] = await q.query<{ seq: unknown }>(`SELECT nextval('cp_decision_seq') AS seq`);
      const seq = num(s!.seq);
      await q.query(
        `INSERT INTO cp_decisions (id, seq, workload, at_ms, metric, direction, from_replicas, to_replicas, reason, claim,
           enact_state, enact_attempts, proof_state, proof_deadline_ms, flag, command, proof_error)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`,
        [d.id, seq, d.workload, d.atMs, d.metric, d.direction, d.from, d.to, d.reason, JSON.stringify(d.claim), d.enact.state, d.enact.attempts, d.proof.state, d.proof.deadlineMs, d.flag ?? null, JSON.stringify(d.command), d.proof.error ?? null],
      );
      for (const c of d.claims) {
        await q.query(
          `INSERT INTO cp_decision_claims (decision_id, idx, metric, kind, params, expect_scale_out, value, threshold, proof_state) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
          [d.id, c.index, c.metric, c.kind, JSON.stringify(c.params), c.expectScaleOut, c.value, c.threshold, c.proof.state],
        );
      }
      return { ...d, seq };
    });
  }

  async decision(id: string, q: Querier = this.db): Promise<Decision | undefined> {
    const [r] = await q.query('SELECT * FROM cp_decisions WHERE id = $1', [id]);
    if (!r) return undefined;
    return toDecision(r, await q.query('SELECT * FROM cp_decision_claims WHERE decision_id = $1', [id]));
  }

  /** Decision rows with their claim rows (one query for the claims of all of them). */
  private async withClaims(rows: Row[], claimsSql: string, params: unknown[]): Promise<Decision[]> {
    if (rows.length === 0) return [];
    const byId = new Map<string, Row[]>();
    for (const c of await this.db.query(claimsSql, params)) {
      const k = String(c.decision_id);
      byId.set(k, [...(byId.get(k) ?? []), c]);
    }
    return rows.map((r) => toDecision(r, byId.get(String(r.id))));
  }

  async decisions(opts: { workload?: string; limit?: number } = {}): Promise<Decision[]> {
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 10_000);
    const rows = opts.workload
      ? await this.db.query('SELECT * FROM cp_decisions WHERE workload = $1 ORDER BY seq DESC LIMIT $2', [opts.workload, limit])
      : await this.db.query('SELECT * FROM cp_decisions ORDER BY seq DESC LIMIT $1', [limit]);
    return opts.workload
      ? this.withClaims(rows, 'SELECT * FROM cp_decision_claims WHERE decision_id IN (SELECT id FROM cp_decisions WHERE workload = $1 ORDER BY seq DESC LIMIT $2)', [opts.workload, limit])
      : this.withClaims(rows, 'SELECT * FROM cp_decision_claims WHERE decision_id IN (SELECT id FROM cp_decisions ORDER BY seq DESC LIMIT $1)', [limit]);
  }

  async setEnacted(id: string, nowMs: number, attempts: number): Promise<void> {
    await this.db.query(`UPDATE cp_decisions SET enact_state = 'enacted', enacted_ms = $2, enact_attempts = $3, enact_error = NULL, next_attempt_ms = NULL WHERE id = $1`, [id, nowMs, attempts]);
  }

  async setEnactPending(id: string, attempts: number, error: string, nextAttemptMs: number): Promise<void> {
    await this.db.query(`UPDATE cp_decisions SET enact_state = 'pending', enact_attempts = $2, enact_error = $3, next_attempt_ms = $4 WHERE id = $1`, [id, attempts, error, nextAttemptMs]);
  }

  async setEnactDenied(id: string, attempts: number, error: string): Promise<void> {
    await this.db.query(`UPDATE cp_decisions SET enact_state = 'denied', enact_attempts = $2, enact_error = $3, next_attempt_ms = NULL, flag = COALESCE(flag, 'enact-denied') WHERE id = $1`, [id, attempts, error]);
  }

  /** Decisions whose enactment is due for a retry at `nowMs`, oldest first. */
  async dueEnactments(nowMs: number): Promise<Decision[]> {
    const rows = await this.db.query(`SELECT * FROM cp_decisions WHERE enact_state = 'pending' AND (next_attempt_ms IS NULL OR next_attempt_ms <= $1) ORDER BY seq`, [nowMs]);
    return this.withClaims(rows, `SELECT * FROM cp_decision_claims WHERE decision_id IN (SELECT id FROM cp_decisions WHERE enact_state = 'pending' AND (next_attempt_ms IS NULL OR next_attempt_ms <= $1))`, [nowMs]);
  }

  /** Records a verified bundle (idempotent: a second result for a verified decision changes nothing). */
  async setProofVerified(id: string, bundle: unknown, nowMs: number, q: Querier = this.db): Promise<boolean> {
    const rows = await q.query(
      `UPDATE cp_decisions SET proof_state = 'verified', bundle = $2, verified_ms = $3, proof_error = NULL,
         flag = CASE WHEN flag = 'proof-failed' THEN NULL ELSE flag END
       WHERE id = $1 AND proof_state <> 'verified' RETURNING id`,
      [id, JSON.stringify(bundle), nowMs],
    );
    return rows.length > 0;
  }

  /**
   * Records a verified bundle for claim `idx` of a decision (never over a verified claim), and
   * the decision's aggregate: verified (with claim 0's bundle in `proof.bundle`) once every
   * claim is. A decision recorded before per-claim rows existed has its one claim at idx 0.
   */
  async setClaimVerified(id: string, idx: number, bundle: unknown, nowMs: number): Promise<ClaimUpdate> {
    return this.db.tx(async (q) => {
      // The decision row is locked first: two claims finishing at once (two workers, two
      // control planes on one PostgreSQL) each see the other's committed state.
      await q.query('SELECT id FROM cp_decisions WHERE id = $1 FOR UPDATE', [id]);
      const d = await this.decision(id, q);
      const c = d?.claims[idx];
      if (!d || !c) return { changed: false, decision: d?.proof.state };
      if (d.claims.length === 1 && (await q.query('SELECT 1 FROM cp_decision_claims WHERE decision_id = $1', [id])).length === 0) {
        const changed = await this.setProofVerified(id, bundle, nowMs, q);
        return { changed, decision: changed ? 'verified' : d.proof.state };
      }
      const rows = await q.query(
        `UPDATE cp_decision_claims SET proof_state = 'verified', bundle = $3, verified_ms = $4, proof_error = NULL WHERE decision_id = $1 AND idx = $2 AND proof_state <> 'verified' RETURNING idx`,
        [id, idx, JSON.stringify(bundle), nowMs],
      );
      if (rows.length === 0) return { changed: false, decision: d.proof.state };
      const states = d.claims.map((x) => (x.index === idx ? 'verified' : x.proof.state));
      if (d.proof.state === 'unprovable') return { changed: true, decision: 'unprovable' };
      if (states.every((x) => x === 'verified')) {
        const [b] = await q.query<{ bundle: unknown }>('SELECT bundle FROM cp_decision_claims WHERE decision_id = $1 AND idx = 0', [id]);
        await this.setProofVerified(id, JSON.parse(String(b!.bundle)), nowMs, q);
        return { changed: true, decision: 'verified' };
      }
      return { changed: true, decision: d.proof.state };
    });
  }

  /** Records a failed proof of claim `idx` and flags the decision (never over a verified claim). */
  async setClaimFailed(id: string, idx: number, error: string): Promise<ClaimUpdate> {
    return this.db.tx(async (q) => {
      await q.query('SELECT id FROM cp_decisions WHERE id = $1 FOR UPDATE', [id]);
      const d = await this.decision(id, q);
      const c = d?.claims[idx];
      if (!d || !c) return { changed: false, decision: d?.proof.state };
      const legacy = (await q.query('SELECT 1 FROM cp_decision_claims WHERE decision_id = $1', [id])).length === 0;
      if (!legacy) {
        const rows = await q.query(`UPDATE cp_decision_claims SET proof_state = 'failed', proof_error = $3 WHERE decision_id = $1 AND idx = $2 AND proof_state <> 'verified' RETURNING idx`, [id, idx, error.slice(0, 1000)]);
        if (rows.length === 0) return { changed: false, decision: d.proof.state };
      }
      if (d.proof.state === 'unprovable') return { changed: !legacy, decision: 'unprovable' };
      const what = d.claims.length > 1 ? `claim ${idx} (${c.kind}): ` : '';
      const changed = await this.setProofFailed(id, what + error, q);
      return { changed: changed || !legacy, decision: changed ? 'failed' : d.proof.state };
    });
  }

  /** Flags a failed proof (never over a verified one). */
  async setProofFailed(id: string, error: string, q: Querier = this.db): Promise<boolean> {
    const rows = await q.query(`UPDATE cp_decisions SET proof_state = 'failed', proof_error = $2, flag = 'proof-failed' WHERE id = $1 AND proof_state <> 'verified' RETURNING id`, [id, error.slice(0, 1000)]);
    return rows.length > 0;
  }

  /** Flags decisions still unproven past their deadline; returns their ids. */
  async flagLate(nowMs: number): Promise<string[]> {
    const rows = await this.db.query(
      `UPDATE cp_decisions SET flag = 'proof-late', proof_error = COALESCE(proof_error, 'no verified proof before the deadline')
       WHERE proof_state = 'queued' AND proof_deadline_ms < $1 AND flag IS NULL RETURNING id`,
      [nowMs],
    );
    return rows.map((r) => String(r.id));
  }

  /** Counts for /metrics. */
  async counts(): Promise<{ byState: { enact: string; proof: string; flag: string | null; n: number }[]; proofLagMs: number[] }> {
    const rows = await this.db.query('SELECT enact_state, proof_state, flag, count(*) AS n FROM cp_decisions GROUP BY enact_state, proof_state, flag');
    const lag = await this.db.query('SELECT verified_ms - at_ms AS lag FROM cp_decisions WHERE verified_ms IS NOT NULL ORDER BY seq DESC LIMIT 1000');
    return {
      byState: rows.map((r) => ({ enact: String(r.enact_state), proof: String(r.proof_state), flag: r.flag === null ? null : String(r.flag), n: num(r.n) })),
      proofLagMs: lag.map((r) => num(r.lag)),
    };
  }
}
