/**
 * @module scheduler
 * Scheduled SLA proofs over the gateway's own records.
 *
 * When a period has ended (plus `graceMs`, for its last requests to finish) it is sealed:
 * its records leave the store and become, per route group, a latency SLA claim over the
 * requests of that group an upstream answered (start and end offsets from the period start,
 * µs), and one gateway-health claim over every request of the period (status class,
 * connection outcome, rate limited) and every backend health check. Each claim is proven
 * in the worker thread (prove-worker.ts; one proof at a time, the Go prover limited to
 * `proverCpus` cores), signed with the attested enclave key (statement v2) and published.
 *
 * A period is proven over exactly its records or not at all:
 * - no requests in a group: `no-requests` (a proof needs at least one record);
 * - fewer than the SLA's `min=`: proven, status `insufficient` (the proven verdict is NOT
 *   COMPLIANT, since the circuit requires n >= min), and the entry says so;
 * - more records than the largest size class (65,536 requests, 4,096 checks): `too-many`,
 *   not proven (choose a shorter period);
 * - records dropped (memory and spool full): `incomplete`, not proven;
 * - the prover still busy with `maxBacklog` earlier periods: `skipped`, not proven (this
 *   is what bounds the CPU proving takes, whatever the traffic);
 * - a period in which the gateway started is marked `partial` (it was not running before).
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { requestCode } from '@veritee/core';
import { attachAttestation, GATEWAY_CLASSES, LATENCY_CAPACITIES, type EnclaveSigner, type GatewayParams, type LatencyParams } from '@veritee/zk';
import type { GatewayConfig } from './config.js';
import { FLAG_CONNECTION_OK, FLAG_RATE_LIMITED, FLAG_SERVED, type PeriodRecords, type RecordStore } from './records.js';
import type { ProveJobBody, ProveReply } from './prove-worker.js';

export const SLAS_PATH = '/.well-known/veritee/slas';
export const SLAS_FORMAT = 'veritee.gateway.slas/v1';

export type EntryStatus = 'proven' | 'insufficient' | 'no-requests' | 'too-many' | 'incomplete' | 'failed' | 'skipped';

export interface SlaEntry {
  /** RFC 3339 UTC. */
  periodStart: string;
  periodEnd: string;
  /** Route group, or `*` for the gateway-health claim (all requests and checks). */
  group: string;
  kind: 'latency' | 'gateway';
  status: EntryStatus;
  /** Requests (latency: answered by an upstream; gateway: all) in the claim. */
  n: number;
  nChecks?: number;
  /** The proven verdict (proven and insufficient entries). */
  compliant?: boolean;
  /** The SLA, for latency entries. */
  sla?: string;
  /** The gateway started during this period: it saw only the part after its start. */
  partial?: boolean;
  detail?: string;
  /** Path of the bundle under this gateway's origin. */
  bundle?: string;
  proveMs?: number;
}

export interface SlaIndex {
  format: typeof SLAS_FORMAT;
  host: string;
  periodSeconds: number;
  entries: SlaEntry[];
}

export interface SchedulerOptions {
  store: RecordStore;
  config: () => GatewayConfig;
  /** Group names by record group index. */
  groupName: (index: number) => string | undefined;
  signer: () => Promise<EnclaveSigner>;
  periodOf: (ms: number) => { startMs: number; endMs: number };
  home: string;
  now?: () => number;
  onLog?: (level: 'info' | 'warn', obj: Record<string, unknown>, msg: string) => void;
  /** Prover timeout per proof (default 10 minutes). */
  proveTimeoutMs?: number;
  /** Called with each signed bundle as it is published (e.g. to post it to the control plane). */
  onBundle?: (entry: SlaEntry, body: Buffer) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class ProofScheduler {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, (r: ProveReply) => void>();
  private nextId = 1;
  private nextPeriodStart: number;
  private readonly startedAtMs: number;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly entries: SlaEntry[] = [];
  private readonly bundles = new Map<string, Buffer>();
  private indexBody: Buffer;
  /** Proof counters and CPU accounting (metrics). */
  readonly stats = { proofs: 0, failed: 0, skipped: 0, proveMs: 0, periods: 0 };
  /** Periods sealed and waiting for (or in) proving. */
  private backlog = 0;
  private closed = false;

  constructor(private readonly opts: SchedulerOptions) {
    const now = (opts.now ?? Date.now)();
    this.startedAtMs = now;
    this.nextPeriodStart = opts.periodOf(now).startMs;
    this.indexBody = this.renderIndex();
  }

  /** The proving worker, started on the first proof. */
  private workerOf(): Worker {
    if (this.worker) return this.worker;
    const cfg = this.opts.config();
    const w = new Worker(fileURLToPath(new URL('./prove-worker.js', import.meta.url)), {
      workerData: { home: this.opts.home, devSetup: cfg.slas.devSetup, timeoutMs: this.opts.proveTimeoutMs ?? 10 * 60_000 },
      // The Go prover (a child of the worker) inherits this: its CPU bound.
      env: { ...process.env, GOMAXPROCS: String(cfg.slas.proverCpus) },
    });
    w.unref();
    w.on('message', (r: ProveReply) => {
      const f = this.pending.get(r.id);
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      f?.(r);
    });
    w.on('error', (e) => {
      for (const f of this.pending.values()) f({ id: 0, error: { code: 'ZK_PROVER_FAILED', message: `proving worker failed: ${e.message}` } });
      this.pending.clear();
      this.worker = undefined;
    });
    this.worker = w;
    return w;
  }

  /** Checks every second (or a quarter period) for periods that are due. */
  start(): void {
    const len = this.opts.periodOf(0).endMs - this.opts.periodOf(0).startMs;
    this.timer = setInterval(() => void this.runDue(), Math.max(100, Math.min(1000, len / 4)));
    this.timer.unref();
  }

  /**
   * Seals and proves every period that ended at least graceMs before `atMs` (default now),
   * in order; resolves when their entries are published.
   */
  runDue(atMs?: number): Promise<void> {
    const cfg = this.opts.config();
    const at = atMs ?? (this.opts.now ?? Date.now)() - cfg.slas.graceMs;
    const due: { startMs: number; endMs: number }[] = [];
    for (;;) {
      const p = this.opts.periodOf(this.nextPeriodStart);
      if (p.endMs > at) break;
      due.push(p);
      this.nextPeriodStart = p.endMs;
    }
    for (const p of due) {
      const recs = this.opts.store.seal(p.startMs) ?? { ...p, requests: [], checks: [], dropped: 0 };
      if (this.backlog >= cfg.slas.maxBacklog) {
        // Proving is behind: CPU stays bounded, and the period says it was not proven.
        this.stats.skipped++;
        this.publish(this.skippedEntries(recs, `the prover was ${this.backlog} periods behind when this period ended: it was not proven (raise slas.proverCpus or the period length)`));
        continue;
      }
      this.backlog++;
      this.chain = this.chain
        .then(() => this.provePeriod(recs))
        .catch((e) => this.opts.onLog?.('warn', { err: (e as Error).message }, 'period proof failed'))
        .finally(() => this.backlog--);
    }
    return this.chain;
  }

  private prove(job: ProveJobBody): Promise<ProveReply> {
    if (this.closed) return Promise.resolve({ id: 0, error: { code: 'ZK_PROVER_CANCELLED', message: 'the gateway is shutting down' } });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      const w = this.workerOf();
      w.ref(); // a proof in progress keeps the process alive; an idle worker does not
      w.postMessage({ ...job, id });
    });
  }

  private async provePeriod(p: PeriodRecords): Promise<void> {
    const cfg = this.opts.config();
    if (!cfg.slas.enabled) return;
    const base = { periodStart: iso(p.startMs), periodEnd: iso(p.endMs), ...(this.startedAtMs > p.startMs ? { partial: true } : {}) };
    const periodStartUs = p.startMs * 1000;
    const periodEndUs = p.endMs * 1000;
    const made: SlaEntry[] = [];
    const incomplete = p.dropped > 0 ? `${p.dropped} records were dropped (memory and spool full): a proof over the rest would claim more than was measured` : undefined;

    // Latency, per route group: the requests an upstream answered.
    const byGroup = new Map<string, number[]>();
    for (const g of cfg.groups) byGroup.set(g, []);
    for (const r of p.requests) {
      if (!(r.flags & FLAG_SERVED)) continue;
      const g = this.opts.groupName(r.group);
      if (g === undefined) continue;
      let arr = byGroup.get(g);
      if (!arr) byGroup.set(g, (arr = []));
      const s = Math.max(0, Math.round(r.startUs - periodStartUs));
      arr.push(s, Math.max(s, Math.round(r.endUs - periodStartUs)));
    }
    const maxLatency = LATENCY_CAPACITIES[LATENCY_CAPACITIES.length - 1]!;
    for (const [group, records] of byGroup) {
      const sla = cfg.latencySla.get(group) ?? cfg.latencySla.values().next().value!;
      const n = records.length / 2;
      const e: SlaEntry = { ...base, group, kind: 'latency', n, sla: sla.text, status: 'proven' };
      if (incomplete) Object.assign(e, { status: 'incomplete', detail: incomplete });
      else if (n === 0) Object.assign(e, { status: 'no-requests', detail: 'no request of this group was answered by an upstream in this period: there is nothing to prove' });
      else if (n > maxLatency) Object.assign(e, { status: 'too-many', detail: `${n} requests exceed the largest size class (${maxLatency}): choose a shorter period` });
      else {
        const params: LatencyParams = { periodStartUs, periodEndUs, minN: sla.minN, slots: sla.slots };
        await this.proveAndPublish(e, { kind: 'latency', params, records }, p.startMs);
        if (e.status === 'proven' && n < sla.minN) Object.assign(e, { status: 'insufficient', detail: `${n} requests, fewer than the SLA minimum of ${sla.minN}: the proven verdict is NOT COMPLIANT for that reason alone` });
      }
      made.push(e);
    }

    // Gateway health: every request and every backend check of the period.
    const codes = p.requests.map((r) => requestCode({ status: r.status, connectionOk: (r.flags & FLAG_CONNECTION_OK) !== 0, rateLimited: (r.flags & FLAG_RATE_LIMITED) !== 0 }));
    const checks = p.checks.map((c) => c.ok);
    const big = GATEWAY_CLASSES[65536]!;
    const h = cfg.slas.health;
    const e: SlaEntry = { ...base, group: '*', kind: 'gateway', n: codes.length, nChecks: checks.length, status: 'proven' };
    if (incomplete) Object.assign(e, { status: 'incomplete', detail: incomplete });
    else if (codes.length === 0) Object.assign(e, { status: 'no-requests', detail: 'the gateway received no request in this period: there is nothing to prove' });
    else if (codes.length > big.requests || checks.length > big.checks) Object.assign(e, { status: 'too-many', detail: `${codes.length} requests and ${checks.length} checks exceed the largest size class (${big.requests}, ${big.checks}): choose a shorter period` });
    else {
      const params: GatewayParams = {
        periodStartUs,
        periodEndUs,
        max5xxBp: Math.round(h.max5xx * 100),
        minAvailabilityBp: Math.round(h.minAvailability * 100),
        minConnectionBp: Math.round(h.minConnection * 100),
        maxRateLimited: h.maxRateLimited,
      };
      await this.proveAndPublish(e, { kind: 'gateway', params, requests: codes, checks }, p.startMs);
    }
    made.push(e);
    this.publish(made);
  }

  private publish(made: SlaEntry[]): void {
    this.stats.periods++;
    this.entries.unshift(...made);
    this.prune();
    this.indexBody = this.renderIndex();
    this.opts.onLog?.('info', { period: made[0]?.periodStart, entries: made.map((x) => `${x.kind}:${x.group}:${x.status}`) }, 'SLA period published');
  }

  private skippedEntries(p: PeriodRecords, detail: string): SlaEntry[] {
    const cfg = this.opts.config();
    const base = { periodStart: iso(p.startMs), periodEnd: iso(p.endMs), status: 'skipped' as const, detail };
    const out: SlaEntry[] = cfg.groups.map((group) => ({ ...base, group, kind: 'latency' as const, n: p.requests.filter((r) => r.flags & FLAG_SERVED && this.opts.groupName(r.group) === group).length }));
    out.push({ ...base, group: '*', kind: 'gateway', n: p.requests.length, nChecks: p.checks.length });
    return out;
  }

  private async proveAndPublish(e: SlaEntry, job: ProveJobBody, startMs: number): Promise<void> {
    const r = await this.prove(job);
    if ('error' in r) {
      this.stats.failed++;
      Object.assign(e, { status: 'failed', detail: `${r.error.code}: ${r.error.message.slice(0, 300)}` });
      return;
    }
    const signer = await this.opts.signer();
    const bundle = attachAttestation(r.bundle as Parameters<typeof attachAttestation>[0], signer);
    const path = `${SLAS_PATH}/${startMs}/${encodeURIComponent(e.group === '*' ? '_gateway' : e.group)}.${e.kind}.json`;
    const body = Buffer.from(JSON.stringify(bundle, null, 2) + '\n');
    this.bundles.set(path, body);
    this.stats.proofs++;
    this.stats.proveMs += r.totalMs;
    const outputs = (bundle as { claim: { outputs: { compliant: boolean } } }).claim.outputs;
    Object.assign(e, { bundle: path, compliant: outputs.compliant, proveMs: r.totalMs });
    this.opts.onBundle?.(e, body);
  }

  private prune(): void {
    const keep = this.opts.config().slas.keep;
    const periods = [...new Set(this.entries.map((x) => x.periodStart))];
    if (periods.length <= keep) return;
    const drop = new Set(periods.slice(keep));
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const x = this.entries[i]!;
      if (!drop.has(x.periodStart)) continue;
      if (x.bundle) this.bundles.delete(x.bundle);
      this.entries.splice(i, 1);
    }
  }

  private renderIndex(): Buffer {
    const cfg = this.opts.config();
    const len = this.opts.periodOf(0).endMs - this.opts.periodOf(0).startMs;
    const index: SlaIndex = { format: SLAS_FORMAT, host: cfg.host, periodSeconds: len / 1000, entries: this.entries };
    return Buffer.from(JSON.stringify(index, null, 2) + '\n');
  }

  /** The published index and bundles: body for a path under SLAS_PATH, or undefined. */
  published(path: string): Buffer | undefined {
    if (path === SLAS_PATH || path === SLAS_PATH + '/') return this.indexBody;
    return this.bundles.get(path);
  }

  get index(): SlaIndex {
    return JSON.parse(this.indexBody.toString()) as SlaIndex;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const f of this.pending.values()) f({ id: 0, error: { code: 'ZK_PROVER_CANCELLED', message: 'the gateway is shutting down' } });
    this.pending.clear();
    const w = this.worker;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.ref(); // wait for the prover to be stopped
    w.postMessage('close');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, 3000)))]);
    clearTimeout(timer);
    await w.terminate();
  }
}
