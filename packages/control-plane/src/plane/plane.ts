/**
 * @module plane/plane
 * The control plane: takes scaling decisions from attested telemetry, enacts them at once,
 * and has each one proven out of band.
 *
 * Hot path (one report): check the agent (attested, not lapsed, report signed by its key,
 * sequence increasing) → measure every rule's metric with the claim's own reference
 * computation → evaluation window and cool-down → record the decision (atomically moving the
 * workload's replica count) → enact on the orchestrator → submit a proof job. It never waits
 * for a proof.
 *
 * Background: proof results are checked against the decision (checkDecisionBundle) and
 * recorded; decisions still unproven at their deadline are flagged (log, API, metrics);
 * enactments that found the orchestrator down are retried with backoff until they succeed
 * (never lost: they live in the decision log), while a refusal (authorisation) is reported
 * once and not retried.
 *
 * Time is an explicit input (`clock`), for deadlines, cool-downs, windows and attestation.
 */
import { createHash, createPublicKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { parseJsonStrict, VeriteeError, type ErrorCode } from '@veritee/core';
import { anchorsFromJson, verifyEvidence, type Policy, type TrustAnchors } from '@veritee/attestation';
import type { KeyRing } from '@veritee/zk/verify';
import { measure, parseTelemetryReport, type Measurement, type TelemetryReport } from './report.js';
import { DecisionLog, type Decision, type DecisionClaim, type DecisionClaimEntry } from './log.js';
import { checkDecisionBundle, type ProofQueue, type ProofResult } from './queue.js';
import { signCommand, verifyTelemetrySignature, type Signer } from './command.js';
import { parseWorkloadSpec, CLAIM_OF, type Metric, type WorkloadSpec } from './workload.js';
import type { Orchestrator } from './orchestrator.js';
import { Metrics } from './metrics.js';

export interface ControlPlaneOptions {
  log: DecisionLog;
  /** Orchestrators by target kind. */
  orchestrators: Partial<Record<'process' | 'kubernetes', Orchestrator>>;
  queue: ProofQueue;
  /** Verification keys for proof bundles. */
  keys: KeyRing;
  /** Accept bundles proven with dev trusted setups (development only). */
  allowDevSetup?: boolean;
  /** The control plane's signing key (the attested enclave key). */
  signer: Signer;
  /** Appraisal policy for agents' evidence. */
  agentPolicy: Policy;
  /** Simulated anchors to trust for agents (development only). */
  simulatedAnchors?: TrustAnchors;
  /**
   * DEVELOPMENT ONLY: trust the simulated anchors an agent offers with its evidence (proves
   * nothing: anyone can run the simulator). Used by `cp serve --simulated` with separate agents.
   */
  trustOfferedSimulatedAnchors?: boolean;
  /** How long an agent's attestation is accepted (default 10 min). */
  agentAttestationTtlMs?: number;
  /** Who enacts: the control plane on its orchestrators (default), or the node agents (untrusted mode). */
  enactBy?: 'control-plane' | 'agent';
  /** Backoff of enactment retries (default 1 s doubling to 60 s). */
  enactRetry?: { baseMs: number; maxMs: number };
  clock?: () => number;
  /** Called for every flagged decision (proof failed, late, enactment denied). */
  onAlarm?: (d: { decisionId: string; flag: string; detail: string }) => void;
}

export interface IngestResult {
  decision?: Decision;
  measurements: (Measurement & { direction: 'out' | 'in' })[];
  /** Why no decision was taken (window, cool-down, bounds, nothing crossed). */
  note?: string;
  timings: { decideMs: number; enactMs?: number };
}

interface AgentState {
  key: KeyObject;
  keyId: string;
  attestedMs: number;
  lastSeq: number;
}

interface Streak {
  outSince?: number;
  inSince?: number;
}

const NONCE_TTL_MS = 60_000;
const MAX_BODY = 8 * 1024 * 1024;

export class ControlPlane {
  readonly log: DecisionLog;
  readonly metrics = new Metrics();
  private readonly clock: () => number;
  private readonly agents = new Map<string, AgentState>();
  private readonly nonces = new Map<string, { agentId: string; expires: number }>();
  private readonly streaks = new Map<string, Streak>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(readonly opts: ControlPlaneOptions) {
    this.log = opts.log;
    this.clock = opts.clock ?? Date.now;
    opts.queue.onResult((r) => this.handleResult(r));
  }

  now(): number {
    return this.clock();
  }

  /** SHA-256 of the control plane key's SPKI (hex): what agents pin through attestation. */
  get keyId(): string {
    return createHash('sha256').update(this.opts.signer.spki).digest('hex');
  }

  // ---- workloads --------------------------------------------------------------

  async addWorkload(input: unknown): Promise<WorkloadSpec> {
    const spec = parseWorkloadSpec(input);
    const orch = this.opts.orchestrators[spec.target.kind];
    if (!orch) throw new VeriteeError('CP_WORKLOAD_INVALID', `workload ${spec.name}: this control plane has no ${spec.target.kind} orchestrator`);
    await this.log.addWorkload(spec, this.now());
    // Bring the orchestrator to the registered count (a process pool starts its copies).
    if (this.opts.enactBy !== 'agent') {
      try {
        await orch.scale(spec, spec.replicas);
      } catch (e) {
        this.metrics.inc('veritee_cp_enact_failures_total', { reason: (e as VeriteeError).code ?? 'INTERNAL' });
      }
    }
    return spec;
  }

  // ---- agents -----------------------------------------------------------------

  /** A fresh nonce for an agent's evidence (single use, 60 s). */
  challenge(agentId: string): string {
    checkAgentId(agentId);
    const now = this.now();
    for (const [k, v] of this.nonces) if (v.expires < now) this.nonces.delete(k);
    if (this.nonces.size > 10_000) throw new VeriteeError('CP_AGENT_ATTESTATION_FAILED', 'too many outstanding attestation challenges');
    const nonce = randomBytes(32).toString('hex');
    this.nonces.set(nonce, { agentId, expires: now + NONCE_TTL_MS });
    return nonce;
  }

  /**
   * Appraises an agent's evidence: the policy, the nonce of a challenge issued to this agent,
   * and its key (report data binds SHA-256 of `spki`). Refusals are counted in the metrics.
   */
  async attestAgent(a: { agentId: string; nonce: string; spki: string; evidence: string; simulatedAnchors?: unknown }): Promise<{ attestedUntilMs: number }> {
    checkAgentId(a.agentId);
    const refuse = (code: ErrorCode, msg: string): never => {
      this.metrics.inc('veritee_cp_agent_refusals_total', { code });
      throw new VeriteeError(code, msg);
    };
    const n = this.nonces.get(a.nonce);
    this.nonces.delete(a.nonce);
    const now = this.now();
    if (!n || n.agentId !== a.agentId || n.expires < now) refuse('CP_AGENT_ATTESTATION_FAILED', `agent ${a.agentId}: the nonce was not issued to it, was used, or expired`);
    let spki: Buffer;
    let key: KeyObject;
    try {
      spki = Buffer.from(a.spki, 'base64url');
      key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    } catch {
      return refuse('CP_AGENT_ATTESTATION_FAILED', `agent ${a.agentId}: spki is not a DER public key`);
    }
    const pkh = createHash('sha256').update(spki).digest();
    let failures: string;
    try {
      let anchors = this.opts.simulatedAnchors;
      if (!anchors && this.opts.trustOfferedSimulatedAnchors && a.simulatedAnchors !== undefined) anchors = anchorsFromJson(a.simulatedAnchors as Parameters<typeof anchorsFromJson>[0]);
      const r = await verifyEvidence(a.evidence, {
        policy: this.opts.agentPolicy,
        at: now,
        nonce: Buffer.from(a.nonce, 'hex'),
        publicKeyHash: pkh,
        ...(anchors ? { simulatedAnchors: anchors } : {}),
      });
      if (r.ok) {
        this.agents.set(a.agentId, { key, keyId: pkh.toString('hex'), attestedMs: now, lastSeq: this.agents.get(a.agentId)?.lastSeq ?? -1 });
        this.metrics.inc('veritee_cp_agent_attestations_total', {});
        return { attestedUntilMs: now + this.ttl };
      }
      failures = r.failures.map((f) => `${f.name}: ${f.detail}`).join('; ');
    } catch (e) {
      failures = (e as Error).message;
    }
    this.agents.delete(a.agentId);
    return refuse('CP_AGENT_ATTESTATION_FAILED', `agent ${a.agentId}: ${failures.slice(0, 500)}`);
  }

  private get ttl(): number {
    return this.opts.agentAttestationTtlMs ?? 600_000;
  }

  /** Forgets an agent's attestation (e.g. re-attestation failed elsewhere). */
  revokeAgent(agentId: string): void {
    this.agents.delete(agentId);
  }

  /**
   * A telemetry report from an agent: `body` is the JSON text, `signature` the agent's ES256
   * over it. Refused (and counted) when the agent is not attested, its attestation lapsed,
   * the signature or sequence is wrong, or the report is malformed.
   */
  async telemetry(agentId: string, body: string, signature: string): Promise<IngestResult> {
    const agent = this.checkAgentBody(agentId, body, signature);
    const refuse = (code: ErrorCode, msg: string): never => {
      this.metrics.inc('veritee_cp_telemetry_refused_total', { code });
      throw new VeriteeError(code, msg);
    };
    let report: TelemetryReport;
    try {
      report = parseTelemetryReport(parseJsonStrict(body, { what: 'telemetry report', code: 'CP_TELEMETRY_INVALID' }));
    } catch (e) {
      return refuse('CP_TELEMETRY_INVALID', (e as Error).message);
    }
    if (report.seq <= agent.lastSeq) return refuse('CP_AGENT_SIGNATURE_INVALID', `telemetry report seq ${report.seq} is not after ${agent.lastSeq} (replay)`);
    agent.lastSeq = report.seq;
    return this.ingest(report);
  }

  /** Checks that `body` comes from an attested agent whose attestation has not lapsed (refusals counted). */
  checkAgentBody(agentId: string, body: string, signature: string): AgentState {
    const refuse = (code: ErrorCode, msg: string): never => {
      this.metrics.inc('veritee_cp_telemetry_refused_total', { code });
      throw new VeriteeError(code, msg);
    };
    const agent = this.agents.get(agentId);
    if (!agent) return refuse('CP_AGENT_UNATTESTED', `agent ${String(agentId).slice(0, 64)} has not attested: telemetry refused`);
    const age = this.now() - agent.attestedMs;
    if (age > this.ttl) return refuse('CP_AGENT_ATTESTATION_LAPSED', `agent ${agentId} attested ${Math.round(age / 1000)} s ago (validity ${Math.round(this.ttl / 1000)} s): attest again`);
    if (body.length > MAX_BODY) return refuse('CP_TELEMETRY_INVALID', `telemetry report of ${body.length} bytes exceeds ${MAX_BODY}`);
    if (!verifyTelemetrySignature(agentId, body, signature, agent.key)) return refuse('CP_AGENT_SIGNATURE_INVALID', `the request is not signed by agent ${agentId}'s attested key`);
    return agent;
  }

  // ---- decisions ----------------------------------------------------------------

  /** Evaluates a parsed report (the agent checks are done by {@link telemetry}). */
  async ingest(report: TelemetryReport): Promise<IngestResult> {
    const t0 = performance.now();
    const rec = await this.log.workload(report.workload);
    if (!rec) throw new VeriteeError('CP_WORKLOAD_NOT_FOUND', `no workload ${report.workload.slice(0, 63)}`);
    const w = rec.spec;
    const now = this.now();
    this.metrics.inc('veritee_cp_telemetry_reports_total', {});

    const ms: (Measurement & { direction: 'out' | 'in' })[] = [];
    let out: (Measurement & { step: number; threshold: number }) | undefined;
    let allIn = true;
    // A scale-in rests on every rule that could be measured: each at or below its lower threshold.
    const ins: (Measurement & { threshold: number })[] = [];
    let stepIn = 0;
    for (const rule of w.rules) {
      const m = measure(report, rule.metric, rule.scaleOutAbove);
      ms.push({ ...m, direction: 'out' });
      if (m.unavailable) {
        if (rule.metric === 'gpu') this.metrics.inc('veritee_cp_gpu_unavailable_total', {});
        this.metrics.inc('veritee_cp_metric_unavailable_total', { metric: rule.metric, code: m.code ?? 'CP_TELEMETRY_INVALID' });
        continue;
      }
      if (m.above && !out) out = { ...m, step: rule.step, threshold: rule.scaleOutAbove };
      if (rule.scaleInBelow === undefined) {
        allIn = false;
        continue;
      }
      const mi = measure(report, rule.metric, rule.scaleInBelow);
      ms.push({ ...mi, direction: 'in' });
      if (mi.above) allIn = false;
      else {
        if (ins.length === 0) stepIn = rule.stepIn;
        ins.push({ ...mi, threshold: rule.scaleInBelow });
      }
    }
    if (ins.length === 0) allIn = false;

    // Evaluation window: the condition must have held on every report for windowMs.
    const s = this.streaks.get(w.name) ?? {};
    s.outSince = out ? (s.outSince ?? now) : undefined;
    s.inSince = allIn ? (s.inSince ?? now) : undefined;
    this.streaks.set(w.name, s);
    const decideMs = () => performance.now() - t0;
    const none = (note: string): IngestResult => ({ measurements: ms, note, timings: { decideMs: decideMs() } });

    let direction: 'out' | 'in';
    /** What the decision rests on: the rule that crossed (out), or every rule (in). */
    let rests: (Measurement & { threshold: number })[];
    let to: number;
    if (out) {
      if (now - s.outSince! < w.windowMs) return none(`scale-out condition held ${now - s.outSince!} ms of the ${w.windowMs} ms window`);
      if (now - rec.lastScaledMs < w.cooldown.outMs) return none(`in scale-out cool-down (${w.cooldown.outMs - (now - rec.lastScaledMs)} ms left)`);
      direction = 'out';
      rests = [out];
      to = Math.min(w.maxReplicas, rec.replicas + out.step);
    } else if (allIn) {
      if (now - s.inSince! < w.windowMs) return none(`scale-in condition held ${now - s.inSince!} ms of the ${w.windowMs} ms window`);
      if (now - rec.lastScaledMs < w.cooldown.inMs) return none(`in scale-in cool-down (${w.cooldown.inMs - (now - rec.lastScaledMs)} ms left)`);
      direction = 'in';
      rests = ins;
      to = Math.max(w.minReplicas, rec.replicas - stepIn);
    } else {
      return none('no rule crossed its threshold');
    }
    if (to === rec.replicas) return none(`already at ${direction === 'out' ? 'maxReplicas' : 'minReplicas'} (${to})`);

    const expectScaleOut = direction === 'out';
    const provable = rests.filter((m) => m.claim && CLAIM_OF[m.metric]);
    const unprovable = rests.filter((m) => !(m.claim && CLAIM_OF[m.metric])).map((m) => m.metric);
    const claims: DecisionClaimEntry[] = provable.map((m, index) => ({
      index,
      metric: m.metric,
      kind: m.claim!.kind,
      params: m.claim!.params,
      expectScaleOut,
      value: m.value,
      threshold: m.threshold,
      proof: { state: 'queued' },
    }));
    const claim: DecisionClaim | null = claims[0] ? { kind: claims[0].kind, params: claims[0].params, expectScaleOut } : null;
    const id = randomUUID();
    const reason = rests.map((m) => `${m.metric} ${m.value} ${m.metric === 'volume' ? 'requests/min' : 'bp'} ${expectScaleOut ? '>' : '<='} ${m.threshold} ${m.metric === 'volume' ? 'requests/min' : 'bp'}`).join(' and ');
    const signedClaims = claims.map((c) => ({ kind: c.kind, params: c.params, expectScaleOut }));
    const command = signCommand(this.opts.signer, { v: 1, decisionId: id, workload: w.name, from: rec.replicas, replicas: to, atMs: now, claim, claims: signedClaims });
    const error = unprovable.length > 0 ? `no claim proves ${unprovable.join(', ')} decisions` : claims.length === 0 ? 'no claim proves this decision' : undefined;
    const d = await this.log.recordDecision({
      id,
      workload: w.name,
      atMs: now,
      metric: rests[0]!.metric,
      direction,
      from: rec.replicas,
      to,
      reason,
      claim,
      claims,
      enact: { state: 'pending', attempts: 0 },
      proof: { state: error ? 'unprovable' : 'queued', deadlineMs: now + w.proofDeadlineMs, ...(error ? { error } : {}) },
      ...(error ? { flag: 'unprovable' } : {}),
      command,
    });
    if (!d) return none('another decision moved the workload first');
    this.streaks.set(w.name, {});
    this.metrics.inc('veritee_cp_decisions_total', { direction, metric: d.metric });
    if (error) this.alarm(d.id, 'unprovable', error);
    const decided = decideMs();

    let enactMs: number | undefined;
    let result = d;
    if (this.opts.enactBy !== 'agent') {
      await this.enact(d, w);
      enactMs = performance.now() - t0;
      this.metrics.observe('veritee_cp_decide_to_enact_ms', enactMs);
      result = (await this.log.decision(d.id)) ?? d;
    }
    // One proof job per claim (job key: the decision id, and the claim index after the first).
    for (const [i, m] of provable.entries()) {
      try {
        await this.opts.queue.submit({ decisionId: d.id, ...(i > 0 ? { claimIndex: i } : {}), kind: m.claim!.kind, params: m.claim!.params, data: m.claim!.data, expectScaleOut });
      } catch (e) {
        this.metrics.inc('veritee_cp_queue_errors_total', {});
        const u = await this.log.setClaimFailed(d.id, i, `the proof job could not be queued: ${(e as Error).message}`);
        if (u.changed) this.alarm(d.id, 'proof-failed', 'the proof job could not be queued');
      }
    }
    return { decision: result, measurements: ms, timings: { decideMs: decided, ...(enactMs !== undefined ? { enactMs } : {}) } };
  }

  private async enact(d: Decision, w: WorkloadSpec): Promise<void> {
    const orch = this.opts.orchestrators[w.target.kind];
    const attempts = d.enact.attempts + 1;
    try {
      if (!orch) throw new VeriteeError('CP_ORCHESTRATOR_UNAVAILABLE', `no ${w.target.kind} orchestrator`);
      await orch.scale(w, d.to);
      await this.log.setEnacted(d.id, this.now(), attempts);
    } catch (e) {
      const err = e instanceof VeriteeError ? e : new VeriteeError('CP_ORCHESTRATOR_UNAVAILABLE', (e as Error)?.message ?? String(e));
      this.metrics.inc('veritee_cp_enact_failures_total', { reason: err.code });
      if (err.code === 'CP_ORCHESTRATOR_DENIED') {
        await this.log.setEnactDenied(d.id, attempts, err.message.slice(0, 500));
        this.alarm(d.id, 'enact-denied', err.message);
      } else {
        const r = this.opts.enactRetry ?? { baseMs: 1000, maxMs: 60_000 };
        await this.log.setEnactPending(d.id, attempts, err.message.slice(0, 500), this.now() + Math.min(r.maxMs, r.baseMs * 2 ** (attempts - 1)));
      }
    }
  }

  /** Enactment by an agent (untrusted mode): the agent reports what it did. */
  async agentEnacted(decisionId: string, ok: boolean, detail: string): Promise<void> {
    const d = await this.log.decision(decisionId);
    if (!d) throw new VeriteeError('CP_DECISION_NOT_FOUND', `no decision ${decisionId.slice(0, 40)}`);
    if (ok) await this.log.setEnacted(decisionId, this.now(), d.enact.attempts + 1);
    else await this.log.setEnactDenied(decisionId, d.enact.attempts + 1, detail.slice(0, 500));
  }

  /** Retries due enactments and flags late proofs. Runs every `intervalMs` after {@link start}. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = this.now();
      if (this.opts.enactBy !== 'agent') {
        for (const d of await this.log.dueEnactments(now)) {
          const rec = await this.log.workload(d.workload);
          if (rec) await this.enact(d, rec.spec);
        }
      }
      for (const id of await this.log.flagLate(now)) {
        this.metrics.inc('veritee_cp_proofs_late_total', {});
        this.alarm(id, 'proof-late', 'no verified proof before the deadline');
      }
      this.metrics.set('veritee_cp_proof_queue_depth', {}, await this.opts.queue.depth());
    } finally {
      this.ticking = false;
    }
  }

  start(intervalMs = 1000): void {
    this.timer ??= setInterval(() => void this.tick().catch(() => undefined), intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A proof result from a worker (for one claim of a decision): checked against that claim, then recorded. */
  async handleResult(r: ProofResult): Promise<void> {
    const d = await this.log.decision(r.decisionId);
    const idx = r.claimIndex ?? 0;
    const c = d?.claims[idx];
    if (!d || !c) return;
    if (c.proof.state === 'verified') return; // at-least-once: already done
    if (!r.ok) {
      this.metrics.inc('veritee_cp_proof_failures_total', {});
      if ((await this.log.setClaimFailed(d.id, idx, `${r.code ? `${r.code}: ` : ''}${r.error}`)).changed) this.alarm(d.id, 'proof-failed', r.error);
      return;
    }
    const problem = checkDecisionBundle(r.bundle, c, { keys: this.opts.keys, allowDevSetup: this.opts.allowDevSetup ?? false, at: this.now() });
    if (problem) {
      this.metrics.inc('veritee_cp_proof_failures_total', {});
      if ((await this.log.setClaimFailed(d.id, idx, `CP_PROOF_INVALID: ${problem}`)).changed) this.alarm(d.id, 'proof-failed', problem);
      return;
    }
    const now = this.now();
    const u = await this.log.setClaimVerified(d.id, idx, r.bundle, now);
    if (u.changed) this.metrics.inc('veritee_cp_claim_proofs_verified_total', { kind: c.kind });
    if (u.changed && u.decision === 'verified') {
      this.metrics.inc('veritee_cp_proofs_verified_total', {});
      this.metrics.observe('veritee_cp_proof_lag_ms', now - d.atMs);
    }
  }

  private alarm(decisionId: string, flag: string, detail: string): void {
    this.metrics.inc('veritee_cp_decisions_flagged_total', { flag });
    this.opts.onAlarm?.({ decisionId, flag, detail: detail.slice(0, 300) });
  }

  /** Prometheus text exposition. */
  async metricsText(): Promise<string> {
    const c = await this.log.counts();
    const g = new Metrics();
    for (const r of c.byState) g.add('veritee_cp_decisions', { enact: r.enact, proof: r.proof, flag: r.flag ?? 'none' }, r.n);
    g.set('veritee_cp_workloads', {}, (await this.log.workloads()).length);
    g.set('veritee_cp_proof_queue_depth', {}, await this.opts.queue.depth());
    g.set('veritee_cp_agents_attested', {}, [...this.agents.values()].filter((a) => this.now() - a.attestedMs <= this.ttl).length);
    return this.metrics.render(g);
  }

  async close(): Promise<void> {
    this.stop();
  }
}

function checkAgentId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(id)) throw new VeriteeError('CP_TELEMETRY_INVALID', 'agent id must be 1-128 letters, digits, dot, dash, colon or underscore');
}

export type { Metric };
