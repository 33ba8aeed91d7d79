/**
 * @module counters
 * The attesting proxy's request counters: the arrival time of every request it receives
 * (the attestation binding requests excepted), kept in memory so that a node agent in the
 * same TEE can measure request volume and prove it with the volume claim
 * (@veritee/zk claims/volume: "n requests arrived in the period", arrival times private).
 *
 * Kept: arrival times only (µs since the epoch), no path, header, client address or body.
 * Bounded: the most recent `capacity` arrivals (default 65,536, the volume claim's largest
 * size class). When older arrivals were evicted, a period that reaches back past them is
 * cut to start just after the last evicted arrival and marked `truncated`: the answer is
 * then exact for the period it names (every arrival in it, none outside), never a part of
 * the period presented as the whole.
 *
 * Served by {@link createCountersServer} on LOOPBACK ONLY (arrival times are private
 * telemetry and the endpoint has no authentication; it lives inside the TEE beside the agent):
 *
 *   GET /v1/requests?fromUs=F[&toUs=T]  → {version:1, periodStartUs, periodEndUs, arrivalsUs, truncated, total}
 *       arrivalsUs are offsets (µs) from periodStartUs, in arrival order; periodEndUs ≤ now
 *   GET /v1/counters                     → {version:1, total, retained, capacity, oldestUs?}
 *
 * Errors: `{error: {code, message}}`; INPUT_INVALID (bad query), ROUTE_NOT_FOUND.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ERROR_CODES, VeriteeError, type ErrorCode } from '@veritee/core';

export const DEFAULT_COUNTER_CAPACITY = 65_536;

/** Microseconds since the epoch, from the monotonic high-resolution clock. */
export const nowUs = (): number => Math.floor((performance.timeOrigin + performance.now()) * 1000);

export interface RequestPeriod {
  version: 1;
  periodStartUs: number;
  periodEndUs: number;
  /** Offsets from periodStartUs, µs, in arrival order. */
  arrivalsUs: number[];
  /** The period was cut to start after arrivals evicted from the counter. */
  truncated: boolean;
  /** Requests counted since the counter started (evicted ones included). */
  total: number;
}

export class RequestCounter {
  private readonly ring: Float64Array;
  private next = 0;
  private size = 0;
  private evictedUpToUs = -1;
  private count = 0;

  constructor(
    readonly capacity = DEFAULT_COUNTER_CAPACITY,
    private readonly clock: () => number = nowUs,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 16_777_216) throw new VeriteeError('INPUT_INVALID', `request counter capacity ${capacity} must be an integer from 1 to 16777216`);
    this.ring = new Float64Array(capacity);
  }

  /** Counts one request arriving now (or at `atUs`; arrivals must not go back in time). */
  record(atUs = this.clock()): void {
    const last = this.size > 0 ? this.ring[(this.next - 1 + this.capacity) % this.capacity]! : -Infinity;
    const t = Math.max(atUs, last);
    if (this.size === this.capacity) this.evictedUpToUs = this.ring[this.next]!;
    else this.size++;
    this.ring[this.next] = t;
    this.next = (this.next + 1) % this.capacity;
    this.count++;
  }

  get total(): number {
    return this.count;
  }

  get retained(): number {
    return this.size;
  }

  /** The oldest retained arrival (µs), if any. */
  get oldestUs(): number | undefined {
    return this.size === 0 ? undefined : this.ring[(this.next - this.size + this.capacity) % this.capacity];
  }

  /**
   * Every arrival in [fromUs, toUs), toUs clamped to now (a period still open would miss
   * later arrivals). INPUT_INVALID when the period is empty or inverted.
   */
  period(fromUs: number, toUs?: number): RequestPeriod {
    const now = this.clock();
    const end = Math.min(toUs ?? now, now);
    if (!Number.isSafeInteger(fromUs) || fromUs < 0) throw new VeriteeError('INPUT_INVALID', 'fromUs must be a non-negative integer (µs since the epoch)');
    if (toUs !== undefined && (!Number.isSafeInteger(toUs) || toUs < 0)) throw new VeriteeError('INPUT_INVALID', 'toUs must be a non-negative integer (µs since the epoch)');
    let start = fromUs;
    let truncated = false;
    if (this.evictedUpToUs >= start) {
      start = this.evictedUpToUs + 1;
      truncated = true;
    }
    if (end <= start) throw new VeriteeError('INPUT_INVALID', `the period [${start}, ${end}) µs is empty${truncated ? ' (arrivals before it were evicted from the counter)' : ''}`);
    const arrivalsUs: number[] = [];
    for (let i = 0; i < this.size; i++) {
      const t = this.ring[(this.next - this.size + i + this.capacity) % this.capacity]!;
      if (t >= start && t < end) arrivalsUs.push(t - start);
    }
    return { version: 1, periodStartUs: start, periodEndUs: end, arrivalsUs, truncated, total: this.count };
  }
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

export interface CountersServer {
  readonly server: http.Server;
  listen(port: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: http.ServerResponse, code: ErrorCode, message: string): void {
  send(res, ERROR_CODES[code].http, { error: { code, message } });
}

const INT = /^\d{1,16}$/;

/** The loopback endpoint serving a counter (see the module doc). Refuses a non-loopback host. */
export function createCountersServer(counter: RequestCounter): CountersServer {
  const server = http.createServer({ maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    // No request body is read: a GET with a body is refused as it arrives.
    req.resume();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://counters');
    } catch {
      return sendError(res, 'INPUT_INVALID', 'malformed request target');
    }
    if (req.method !== 'GET') return sendError(res, 'ROUTE_NOT_FOUND', `no route ${String(req.method).slice(0, 10)} ${url.pathname.slice(0, 100)}`);
    if (url.pathname === '/v1/counters') {
      return send(res, 200, { version: 1, total: counter.total, retained: counter.retained, capacity: counter.capacity, ...(counter.oldestUs !== undefined ? { oldestUs: counter.oldestUs } : {}) });
    }
    if (url.pathname !== '/v1/requests') return sendError(res, 'ROUTE_NOT_FOUND', `no route GET ${url.pathname.slice(0, 100)}`);
    for (const k of url.searchParams.keys()) if (k !== 'fromUs' && k !== 'toUs') return sendError(res, 'INPUT_INVALID', `unknown query parameter ${k.slice(0, 40)} (fromUs, toUs)`);
    const from = url.searchParams.get('fromUs');
    const to = url.searchParams.get('toUs');
    if (from === null || !INT.test(from)) return sendError(res, 'INPUT_INVALID', 'fromUs is required: an integer, µs since the epoch');
    if (to !== null && !INT.test(to)) return sendError(res, 'INPUT_INVALID', 'toUs must be an integer, µs since the epoch');
    try {
      send(res, 200, counter.period(Number(from), to === null ? undefined : Number(to)));
    } catch (e) {
      if (e instanceof VeriteeError) return sendError(res, e.code, e.message);
      sendError(res, 'INTERNAL', 'internal error');
    }
  });
  return {
    server,
    listen(port, host = '127.0.0.1') {
      if (!LOOPBACK.test(host)) return Promise.reject(new VeriteeError('INPUT_INVALID', `the request counters endpoint listens on loopback only (127.0.0.1, ::1, localhost), not ${host.slice(0, 80)}: arrival times are private telemetry`));
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host }, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
