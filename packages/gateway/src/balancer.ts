/**
 * @module balancer
 * Upstream pools: round-robin or least-outstanding choice among the backends that are
 * up (active health checks) and not ejected (passive: consecutive failed requests).
 *
 * Active checks: `GET <backend><healthCheck.path>` every intervalMs with a timeout; a 2xx
 * answer passes. A backend is marked down after `unhealthyAfter` consecutive failures and
 * up again after `healthyAfter` consecutive passes. Every check result is reported
 * (backend index within the pool, outcome) to the record store: the gateway-health
 * claim proves backend availability from them.
 *
 * Passive ejection: `consecutiveFailures` failed requests in a row (connection refused or
 * reset, upstream timeout, a 502/503/504 from the backend) eject it for `ejectMs`. When
 * every backend is down or ejected, the least recently ejected one is tried (panic mode
 * would hide an outage); no backend at all gives GATEWAY_NO_BACKEND.
 */
import http from 'node:http';
import type { UpstreamTarget } from '@veritee/proxy';
import type { PoolConfig } from './config.js';

export interface Backend {
  readonly target: UpstreamTarget;
  /** Position in the pool's configuration. */
  readonly index: number;
  outstanding: number;
  /** Active health: false after unhealthyAfter failed checks (starts true: traffic before the first check). */
  up: boolean;
  consecutiveCheckFailures: number;
  consecutiveCheckPasses: number;
  consecutiveRequestFailures: number;
  ejectedUntil: number;
  /** Counters for metrics. */
  requests: number;
  failures: number;
  ejections: number;
}

export interface HealthCheckResult {
  pool: string;
  backend: number;
  ok: boolean;
  atMs: number;
}

export class Pool {
  readonly backends: Backend[];
  private rr = 0;
  /** The round of checks made at start. */
  firstRound: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly agent = new http.Agent({ keepAlive: false });

  /** Receives every health-check result (the gateway records them). */
  onCheck: (r: HealthCheckResult) => void = () => undefined;

  constructor(
    readonly config: PoolConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.backends = config.backends.map((target, index) => ({
      target,
      index,
      outstanding: 0,
      up: true,
      consecutiveCheckFailures: 0,
      consecutiveCheckPasses: 0,
      consecutiveRequestFailures: 0,
      ejectedUntil: 0,
      requests: 0,
      failures: 0,
      ejections: 0,
    }));
  }

  get name(): string {
    return this.config.name;
  }

  /** Takes over counters and health of backends with the same URL (configuration reload). */
  adopt(old: Pool): void {
    for (const b of this.backends) {
      const o = old.backends.find((x) => x.target.label === b.target.label && x.target.basePath === b.target.basePath);
      if (!o) continue;
      b.up = o.up;
      b.consecutiveCheckFailures = o.consecutiveCheckFailures;
      b.consecutiveCheckPasses = o.consecutiveCheckPasses;
      b.consecutiveRequestFailures = o.consecutiveRequestFailures;
      b.ejectedUntil = o.ejectedUntil;
      b.requests = o.requests;
      b.failures = o.failures;
      b.ejections = o.ejections;
      // `outstanding` stays with the old object: its requests release there.
    }
  }

  available(b: Backend, now = this.now()): boolean {
    return b.up && b.ejectedUntil <= now;
  }

  /** Chooses a backend, or undefined when the pool has none usable. */
  pick(): Backend | undefined {
    const now = this.now();
    const usable = this.backends.filter((b) => this.available(b, now));
    let chosen: Backend | undefined;
    if (usable.length === 0) {
      // Everything down or ejected: try the up backend whose ejection ends first, if any.
      const up = this.backends.filter((b) => b.up);
      if (up.length === 0) return undefined;
      chosen = up.reduce((a, b) => (b.ejectedUntil < a.ejectedUntil ? b : a));
    } else if (this.config.balance === 'least-outstanding') {
      // Least outstanding, ties broken round-robin so that an idle pool still spreads load.
      const start = this.rr++ % usable.length;
      for (let i = 0; i < usable.length; i++) {
        const b = usable[(start + i) % usable.length]!;
        if (!chosen || b.outstanding < chosen.outstanding) chosen = b;
      }
    } else {
      chosen = usable[this.rr++ % usable.length];
    }
    return chosen;
  }

  /** Reports a finished request: failed = the backend did not answer properly. */
  report(b: Backend, failed: boolean): void {
    b.requests++;
    if (!failed) {
      b.consecutiveRequestFailures = 0;
      return;
    }
    b.failures++;
    if (++b.consecutiveRequestFailures >= this.config.ejection.consecutiveFailures) {
      b.consecutiveRequestFailures = 0;
      b.ejectedUntil = this.now() + this.config.ejection.ejectMs;
      b.ejections++;
    }
  }

  /** Starts the active health checks (a first round at once). */
  start(): void {
    const hc = this.config.healthCheck;
    if (hc === false || this.timer || this.stopped) return;
    this.firstRound = this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), hc.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.agent.destroy();
  }

  /** One round of checks (exported for tests: `await pool.checkAll()`). */
  async checkAll(): Promise<void> {
    const hc = this.config.healthCheck;
    if (hc === false) return;
    await Promise.all(
      this.backends.map(async (b) => {
        const ok = await this.checkOne(b, hc.path, hc.timeoutMs);
        if (this.stopped) return;
        if (ok) {
          b.consecutiveCheckFailures = 0;
          if (!b.up && ++b.consecutiveCheckPasses >= hc.healthyAfter) b.up = true;
        } else {
          b.consecutiveCheckPasses = 0;
          if (b.up && ++b.consecutiveCheckFailures >= hc.unhealthyAfter) b.up = false;
        }
        this.onCheck({ pool: this.name, backend: b.index, ok, atMs: this.now() });
      }),
    );
  }

  private checkOne(b: Backend, path: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (ok: boolean) => {
        if (settled) return;
        settled = true;
        resolve(ok);
      };
      const req = http.request(
        { agent: this.agent, host: b.target.host, port: b.target.port, path: b.target.basePath + path, method: 'GET', timeout: timeoutMs, headers: { 'user-agent': 'veritee-gateway-health' } },
        (res) => {
          res.resume();
          res.on('end', () => done((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
          res.on('error', () => done(false));
        },
      );
      req.on('timeout', () => {
        req.destroy();
        done(false);
      });
      req.on('error', () => done(false));
      req.end();
    });
  }
}
