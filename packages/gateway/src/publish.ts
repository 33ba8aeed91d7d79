/**
 * @module publish
 * Publishes each period's proof bundles to the control plane's log
 * (`POST <controlPlane.url>/v1/bundles`, @veritee/control-plane bundles.ts), at least once:
 * a bundle stays queued until the control plane answers 2xx (201 stored, 200 already
 * stored: the id is the bundle's hash, so a repeat is harmless). Unreachable, 5xx and 429
 * are retried with exponential backoff; any other 4xx (CP_BUNDLE_INVALID, a malformed
 * publication) will not change on retry: it is dropped, counted and logged. The queue is
 * bounded (`maxQueue`): past it the oldest waiting bundle is dropped and counted.
 *
 * Bundles carry no request data beyond the proven claim (it is what is published at
 * `/.well-known/veritee/slas` anyway).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Publication {
  source: string;
  periodStart: string;
  group: string;
  kind: 'latency' | 'gateway';
  /** The bundle's JSON text. */
  bundle: Buffer;
}

export interface PublisherOptions {
  url: string;
  ca?: Buffer;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxQueue: number;
  onLog?: (level: 'info' | 'warn', obj: Record<string, unknown>, msg: string) => void;
}

const MAX_ANSWER = 64 * 1024;

export class BundlePublisher {
  private readonly queue: { p: Publication; attempt: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private closed = false;
  private readonly idle: (() => void)[] = [];
  readonly stats = { published: 0, duplicates: 0, attempts: 0, retries: 0, rejected: 0, dropped: 0 };
  /** The last refusal (code and message) the control plane gave. */
  lastRejection: string | undefined;

  constructor(private readonly opts: PublisherOptions) {}

  get pending(): number {
    return this.queue.length;
  }

  enqueue(p: Publication): void {
    if (this.closed) return;
    if (this.queue.length >= this.opts.maxQueue) {
      this.queue.shift();
      this.stats.dropped++;
      this.opts.onLog?.('warn', { maxQueue: this.opts.maxQueue }, 'bundle publication queue full: the oldest waiting bundle was dropped');
    }
    this.queue.push({ p, attempt: 0 });
    if (!this.busy && !this.timer) void this.pump();
  }

  /** Resolves when nothing is queued. */
  drained(): Promise<void> {
    if (this.queue.length === 0 && !this.busy) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async pump(): Promise<void> {
    if (this.busy || this.closed) return;
    this.busy = true;
    this.timer = undefined;
    try {
      while (this.queue.length && !this.closed) {
        const item = this.queue[0]!;
        item.attempt++;
        this.stats.attempts++;
        const r = await this.post(item.p);
        if (r.ok) {
          this.queue.shift();
          if (r.status === 200) this.stats.duplicates++;
          else this.stats.published++;
          continue;
        }
        if (r.permanent) {
          this.queue.shift();
          this.stats.rejected++;
          this.lastRejection = r.detail;
          this.opts.onLog?.('warn', { period: item.p.periodStart, group: item.p.group, kind: item.p.kind, detail: r.detail }, 'the control plane refused a bundle: not retried');
          continue;
        }
        this.stats.retries++;
        const wait = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** (item.attempt - 1));
        this.opts.onLog?.('warn', { period: item.p.periodStart, attempt: item.attempt, retryInMs: wait, detail: r.detail }, 'bundle publication failed: retrying');
        this.timer = setTimeout(() => void this.pump(), wait);
        this.timer.unref();
        return;
      }
    } finally {
      this.busy = false;
      if (this.queue.length === 0) for (const f of this.idle.splice(0)) f();
    }
  }

  private post(p: Publication): Promise<{ ok: boolean; permanent?: boolean; status?: number; detail?: string }> {
    const body = Buffer.concat([
      Buffer.from(`{"source":${JSON.stringify(p.source)},"periodStart":${JSON.stringify(p.periodStart)},"group":${JSON.stringify(p.group)},"kind":${JSON.stringify(p.kind)},"bundle":`),
      p.bundle,
      Buffer.from('}'),
    ]);
    const url = new URL('/v1/bundles', this.opts.url);
    const fn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const req = fn(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, timeout: this.opts.timeoutMs, ...(this.opts.ca ? { ca: this.opts.ca } : {}) },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            if (text.length < MAX_ANSWER) text += c;
          });
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve({ ok: true, status });
            let detail = `HTTP ${status}`;
            try {
              const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
              if (e?.code) detail = `${e.code}: ${String(e.message ?? '').slice(0, 300)}`;
            } catch {
              /* not JSON */
            }
            resolve({ ok: false, status, permanent: status >= 400 && status < 500 && status !== 429 && status !== 408, detail });
          });
          res.on('error', (e) => resolve({ ok: false, detail: e.message }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.opts.timeoutMs} ms`)));
      req.on('error', (e) => resolve({ ok: false, detail: `cannot reach the control plane: ${e.message}` }));
      req.end(body);
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const f of this.idle.splice(0)) f();
  }
}
