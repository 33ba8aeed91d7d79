/**
 * @module revocation
 * Automatic revocation on re-attestation failure: subscribes a {@link Kms} to the
 * attestation package's `ReattestationScheduler`. When a target fails for a reason in
 * `revokeOn` (default: every reason but `unreachable`, which may be a network blip), every
 * live session of that machine (by SEV-SNP chip id, when the evidence carries one) or else
 * of that software (by the measurement pinned at the first success, and the one last seen)
 * is revoked. Sessions, their EAR tokens, their leases (workload certificates: the CA's status
 * endpoint answers `revoked`) and all transit and release rights die together,
 * on every KMS instance sharing the database, within the event's handling time.
 */
import type { FailureReason, ReattestationScheduler, ReattestFailedEvent, ReattestVerifiedEvent } from '@veritee/attestation';
import type { Kms } from './kms.js';

export interface RevocationLink {
  /** Stops listening. */
  detach(): void;
  /** Resolves when every revocation started so far has finished (tests, shutdown). */
  settled(): Promise<void>;
  /** Revocations done: target id, reasons, sessions revoked. */
  readonly log: Array<{ target: string; reasons: FailureReason[]; revoked: number; leases: number; by: string; ms: number }>;
}

export function revokeOnReattestationFailure(kms: Kms, scheduler: ReattestationScheduler, opts: { revokeOn?: FailureReason[] } = {}): RevocationLink {
  const revokeOn = new Set<FailureReason>(
    opts.revokeOn ?? ['measurement-changed', 'tcb-outdated', 'certificate-expired', 'certificate-revoked', 'debug', 'report-data', 'policy', 'invalid-evidence', 'verification-failed'],
  );
  const lastGood = new Map<string, { measurement: string; chipId?: string }>();
  const pending = new Set<Promise<void>>();
  const log: RevocationLink['log'] = [];

  const onVerified = (e: ReattestVerifiedEvent): void => {
    if (e.result.claims) lastGood.set(e.target.id, { measurement: e.result.claims.measurement, ...(e.result.claims.chipId ? { chipId: e.result.claims.chipId } : {}) });
  };
  const onFailed = (e: ReattestFailedEvent): void => {
    if (!e.reasons.some((r) => revokeOn.has(r))) return;
    const good = lastGood.get(e.target.id);
    const chipId = e.result?.claims?.chipId ?? good?.chipId;
    const measurements = new Set<string>();
    const pinned = scheduler.state(e.target.id)?.pinned?.measurement;
    if (pinned) measurements.add(pinned);
    if (good) measurements.add(good.measurement);
    const reason = `re-attestation of ${e.target.id} failed: ${e.reasons.join(', ')}`;
    const p = (async () => {
      const t0 = Date.now();
      let n = 0;
      let leases = 0;
      let by: string;
      const add = (r: { sessions: number; leases: number }) => {
        n += r.sessions;
        leases += r.leases;
      };
      if (chipId) {
        add(await kms.revokeSessionsAndLeases({ chipId }, reason));
        by = 'chip id';
      } else {
        for (const m of measurements) add(await kms.revokeSessionsAndLeases({ measurement: m }, reason));
        by = 'measurement';
      }
      log.push({ target: e.target.id, reasons: e.reasons, revoked: n, leases, by, ms: Date.now() - t0 });
    })()
      .catch((err: unknown) => {
        // Fail loudly in the log of revocations: a revocation that did not happen must be visible.
        log.push({ target: e.target.id, reasons: e.reasons, revoked: -1, leases: -1, ms: 0, by: `error: ${(err as { code?: string }).code ?? 'INTERNAL'}` });
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  scheduler.on('verified', onVerified);
  scheduler.on('failed', onFailed);
  return {
    detach: () => {
      scheduler.off('verified', onVerified);
      scheduler.off('failed', onFailed);
    },
    settled: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    log,
  };
}
