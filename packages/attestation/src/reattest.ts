/**
 * @module reattest
 * Continuous re-attestation: registered targets (an evidence URL plus a policy) are
 * fetched and re-verified on an interval; the scheduler emits
 *
 * - `verified`  every time a target passes,
 * - `failed`    every time a target fails, with reasons (`measurement-changed`,
 *               `tcb-outdated`, `certificate-expired`, …) so a key service can revoke,
 * - `recovered` when a failed target passes again.
 *
 * Time, timers and fetch are injected, so tests are deterministic: the verification time
 * is `clock.now()` at each run, and `runOnce()` can be called directly.
 *
 * THREAT MODEL: the target serves attacker-controllable bytes; the response is capped at
 * the evidence size limit while it is read. By default the measurements seen at the first
 * successful verification are pinned: a later change is a failure even if the policy would
 * accept the new value, because secrets were released to the old software.
 */
import { EventEmitter } from 'node:events';
import { canonicalJson, systemClock, toHex, VeriteeError, type Clock, type ErrorCode } from '@veritee/core';
import type { Check, Platform, PlatformVerifier, TrustAnchors } from './types.js';
import type { Policy } from './policy.js';
import { MAX_EVIDENCE_BYTES, verifyEvidence, type AttestationResult } from './verify.js';

export type FailureReason =
  | 'measurement-changed'
  | 'tcb-outdated'
  | 'certificate-expired'
  | 'certificate-revoked'
  | 'debug'
  | 'report-data'
  | 'policy'
  | 'invalid-evidence'
  | 'unreachable'
  | 'verification-failed';

export interface ReattestTarget {
  /** Unique id (e.g. a node name); events carry it. */
  id: string;
  /** Where to GET the evidence: the body (envelope JSON or header value) or an `Attestation-Report` header. */
  url: string;
  /** A policy object, or the name of one passed to the scheduler. */
  policy: string | Policy;
  /** Treat a change of measurements after the first success as a failure (default true). */
  pinMeasurements?: boolean;
  /** Append `?nonce=<64 hex>` to the URL and require the evidence to bind it (default false). */
  freshNonce?: boolean;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

export interface TargetState {
  id: string;
  status: 'pending' | 'verified' | 'failed';
  consecutiveFailures: number;
  lastCheckedAt?: string;
  lastResult?: AttestationResult;
  /** Measurements pinned at the first success. */
  pinned?: { measurement: string; measurements: Record<string, string> };
}

export interface ReattestEventBase {
  target: ReattestTarget;
  /** Verification time, RFC 3339. */
  at: string;
}
export interface ReattestVerifiedEvent extends ReattestEventBase {
  result: AttestationResult;
}
export interface ReattestFailedEvent extends ReattestEventBase {
  reasons: FailureReason[];
  /** One line per failure. */
  detail: string;
  result?: AttestationResult;
  consecutiveFailures: number;
}
export type ReattestRecoveredEvent = ReattestVerifiedEvent;

export interface Timers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface ReattestationOptions {
  /** Re-verification period (default 5 minutes). */
  intervalMs?: number;
  clock?: Clock;
  timers?: Timers;
  fetch?: typeof globalThis.fetch;
  /** Named policies targets may refer to. */
  policies?: Record<string, Policy>;
  simulatedAnchors?: TrustAnchors;
  verifiers?: Partial<Record<Platform, PlatformVerifier>>;
  /** Abort a fetch after this long (default 10 s). */
  fetchTimeoutMs?: number;
}

const REASON_BY_CODE: Partial<Record<ErrorCode, FailureReason>> = {
  ATTEST_MEASUREMENT_MISMATCH: 'measurement-changed',
  ATTEST_PCR_MISMATCH: 'measurement-changed',
  ATTEST_TCB_OUTDATED: 'tcb-outdated',
  ATTEST_TCB_MISMATCH: 'tcb-outdated',
  ATTEST_CERT_EXPIRED: 'certificate-expired',
  ATTEST_COLLATERAL_EXPIRED: 'certificate-expired',
  ATTEST_CERT_REVOKED: 'certificate-revoked',
  ATTEST_DEBUG_REFUSED: 'debug',
  ATTEST_REPORT_DATA_MISMATCH: 'report-data',
  ATTEST_NONCE_INVALID: 'report-data',
  ATTEST_POLICY_VIOLATION: 'policy',
  ATTEST_SIMULATED_REFUSED: 'policy',
};

/** Failure reasons for a set of failed checks (deduplicated, in check order). */
export function reasonsFor(failures: Check[]): FailureReason[] {
  const out: FailureReason[] = [];
  for (const f of failures) {
    const r = (f.code && REASON_BY_CODE[f.code]) || 'verification-failed';
    if (!out.includes(r)) out.push(r);
  }
  return out.length ? out : ['verification-failed'];
}

async function readCapped(res: Response, max: number): Promise<string> {
  const len = Number(res.headers.get('content-length') ?? '0');
  if (len > max) throw new VeriteeError('INPUT_TOO_LARGE', `evidence response is ${len} bytes, over the ${max}-byte limit`);
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw new VeriteeError('INPUT_TOO_LARGE', `evidence response exceeds the ${max}-byte limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface ReattestationScheduler {
  on(event: 'verified', listener: (e: ReattestVerifiedEvent) => void): this;
  on(event: 'failed', listener: (e: ReattestFailedEvent) => void): this;
  on(event: 'recovered', listener: (e: ReattestRecoveredEvent) => void): this;
  once(event: 'verified', listener: (e: ReattestVerifiedEvent) => void): this;
  once(event: 'failed', listener: (e: ReattestFailedEvent) => void): this;
  once(event: 'recovered', listener: (e: ReattestRecoveredEvent) => void): this;
}

/** Re-verifies registered targets on an interval and emits `verified` / `failed` / `recovered`. */
export class ReattestationScheduler extends EventEmitter {
  private readonly targets = new Map<string, { target: ReattestTarget; state: TargetState }>();
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly intervalMs: number;
  private handle: unknown;
  private running: Promise<TargetState[]> | undefined;

  constructor(private readonly opts: ReattestationOptions = {}) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.timers = opts.timers ?? {
      setInterval: (fn, ms) => setInterval(fn, ms),
      clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
    };
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.intervalMs = opts.intervalMs ?? 5 * 60_000;
    if (!(this.intervalMs > 0)) throw new VeriteeError('INPUT_INVALID', `re-attestation interval must be positive (got ${this.intervalMs})`);
  }

  register(target: ReattestTarget): void {
    if (!target.id) throw new VeriteeError('INPUT_INVALID', 're-attestation target needs an id');
    if (this.targets.has(target.id)) throw new VeriteeError('INPUT_INVALID', `re-attestation target ${target.id} is already registered`);
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new VeriteeError('INPUT_INVALID', `re-attestation target ${target.id}: "${target.url}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new VeriteeError('INPUT_INVALID', `re-attestation target ${target.id}: only http(s) URLs are supported`);
    }
    this.resolvePolicy(target);
    this.targets.set(target.id, { target: { ...target }, state: { id: target.id, status: 'pending', consecutiveFailures: 0 } });
  }

  unregister(id: string): boolean {
    return this.targets.delete(id);
  }

  state(id: string): TargetState | undefined {
    return this.targets.get(id)?.state;
  }

  states(): TargetState[] {
    return [...this.targets.values()].map((t) => t.state);
  }

  /** Starts the interval (and, unless `immediately: false`, a first run now). */
  start(opts: { immediately?: boolean } = {}): void {
    if (this.handle !== undefined) return;
    this.handle = this.timers.setInterval(() => void this.runOnce(), this.intervalMs);
    if (opts.immediately !== false) void this.runOnce();
  }

  stop(): void {
    if (this.handle !== undefined) this.timers.clearInterval(this.handle);
    this.handle = undefined;
  }

  /** Verifies every target once (a run already in progress is joined, not doubled). */
  runOnce(): Promise<TargetState[]> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        const out: TargetState[] = [];
        for (const id of [...this.targets.keys()]) out.push(await this.check(id));
        return out;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Verifies one target now and emits its event. */
  async check(id: string): Promise<TargetState> {
    const entry = this.targets.get(id);
    if (!entry) throw new VeriteeError('INPUT_INVALID', `no re-attestation target ${id}`);
    const { target, state } = entry;
    const now = this.clock.now();
    const at = new Date(now).toISOString();
    state.lastCheckedAt = at;

    let result: AttestationResult | undefined;
    let reasons: FailureReason[] = [];
    let detail = '';
    try {
      const policy = this.resolvePolicy(target);
      const url = new URL(target.url);
      let nonce: string | undefined;
      if (target.freshNonce) {
        nonce = toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
        url.searchParams.set('nonce', nonce);
      }
      const text = await this.fetchEvidence(url, target);
      result = await verifyEvidence(text, {
        policy,
        at: new Date(now),
        ...(nonce ? { nonce } : {}),
        ...(this.opts.simulatedAnchors ? { simulatedAnchors: this.opts.simulatedAnchors } : {}),
        ...(this.opts.verifiers ? { verifiers: this.opts.verifiers } : {}),
      });
      if (!result.ok) {
        reasons = reasonsFor(result.failures);
        detail = result.failures.map((f) => `${f.name}: ${f.detail}`).join('\n');
      } else if (result.claims && target.pinMeasurements !== false) {
        const seen = { measurement: result.claims.measurement, measurements: { ...result.claims.measurements } };
        if (state.pinned === undefined) state.pinned = seen;
        else if (canonicalJson(state.pinned) !== canonicalJson(seen)) {
          reasons = ['measurement-changed'];
          detail = `reattest.measurement_pin: measurement ${seen.measurement} differs from the pinned ${state.pinned.measurement}`;
        }
      }
    } catch (e) {
      // A VeriteeError is about the evidence (malformed, oversize); anything else is transport.
      reasons = [e instanceof VeriteeError && e.code !== 'INTERNAL' ? 'invalid-evidence' : 'unreachable'];
      detail = (e as Error).message ?? String(e);
    }

    if (result !== undefined) state.lastResult = result;
    if (reasons.length === 0 && result !== undefined) {
      const wasFailed = state.status === 'failed';
      state.status = 'verified';
      state.consecutiveFailures = 0;
      const ev: ReattestVerifiedEvent = { target, at, result };
      if (wasFailed) this.emit('recovered', ev);
      this.emit('verified', ev);
    } else {
      state.status = 'failed';
      state.consecutiveFailures += 1;
      const ev: ReattestFailedEvent = { target, at, reasons, detail, consecutiveFailures: state.consecutiveFailures };
      if (result !== undefined) ev.result = result;
      this.emit('failed', ev);
    }
    return state;
  }

  private resolvePolicy(target: ReattestTarget): Policy {
    if (typeof target.policy !== 'string') return target.policy;
    const p = this.opts.policies && Object.prototype.hasOwnProperty.call(this.opts.policies, target.policy) ? this.opts.policies[target.policy] : undefined;
    if (p === undefined) throw new VeriteeError('ATTEST_POLICY_UNKNOWN', `re-attestation target ${target.id}: no policy named ${target.policy}`);
    return p;
  }

  private async fetchEvidence(url: URL, target: ReattestTarget): Promise<string> {
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        headers: { accept: 'application/json, text/plain', ...(target.headers ?? {}) },
        signal: AbortSignal.timeout(this.opts.fetchTimeoutMs ?? 10_000),
        redirect: 'error',
      });
    } catch (e) {
      throw new Error(`cannot fetch evidence from ${url.origin}${url.pathname}: ${(e as Error).message}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`evidence URL ${url.origin}${url.pathname} answered HTTP ${res.status}`);
    }
    const body = (await readCapped(res, MAX_EVIDENCE_BYTES)).trim();
    if (body.length > 0) return body;
    const header = res.headers.get('attestation-report');
    if (header) return header;
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `evidence URL ${url.origin}${url.pathname} returned no evidence`);
  }
}
