/**
 * @module window
 * Tumbling windows: [origin + k·size, origin + (k+1)·size). A window closes when
 * a reading at or after its end arrives (event time; no lateness allowance);
 * a reading for a closed window is late (STREAM_READING_LATE) and refused.
 */
import { quoteInput, VeriteeError } from '@veritee/core';

/** Window sizes are at most 2^42 µs (about 50.9 days), as claim periods. */
export const MAX_WINDOW_US = 2 ** 42;
const UNITS: Record<string, number> = { us: 1, ms: 1000, s: 1e6, m: 60e6, h: 3600e6, d: 86_400e6 };

/** Parses a window size: "15m", "30s", "1h", "500ms", or microseconds ("900000000"). */
export function parseWindowSize(spec: string): number {
  const m = /^([0-9]{1,15})(us|ms|s|m|h|d)?$/.exec(spec.trim());
  const us = m ? Number(m[1]) * UNITS[m[2] ?? 'us']! : NaN;
  if (!Number.isSafeInteger(us) || us < 1 || us > MAX_WINDOW_US) throw new VeriteeError('STREAM_WINDOW_INVALID', `window size ${quoteInput(spec, 30)} must be a whole number with a unit (us, ms, s, m, h, d), between 1 us and 2^42 us`);
  return us;
}

export interface TumblingWindow {
  sizeUs: number;
  originUs: number;
}

export function windowStart(w: TumblingWindow, ts: number): number {
  return w.originUs + Math.floor((ts - w.originUs) / w.sizeUs) * w.sizeUs;
}

export interface ClosedWindow<T> {
  startUs: number;
  endUs: number;
  items: T[];
}

/** Assigns items to tumbling windows by timestamp and closes them as event time passes. */
export class WindowAssembler<T> {
  private readonly open = new Map<number, T[]>();
  /** Windows starting before this are closed. */
  private closedBefore = -Infinity;

  constructor(private readonly w: TumblingWindow) {
    if (!Number.isSafeInteger(w.sizeUs) || w.sizeUs < 1 || w.sizeUs > MAX_WINDOW_US || !Number.isSafeInteger(w.originUs) || w.originUs < 0) throw new VeriteeError('STREAM_WINDOW_INVALID', 'window size must be 1..2^42 us and the origin a non-negative integer');
  }

  /** Throws STREAM_READING_LATE when ts falls in a closed window (nothing changes). */
  checkOnTime(ts: number, what: string): void {
    if (ts < this.w.originUs) throw new VeriteeError('STREAM_READING_LATE', `${what} at ${ts} us is before the windows' origin ${this.w.originUs}`);
    const start = windowStart(this.w, ts);
    if (start < this.closedBefore) throw new VeriteeError('STREAM_READING_LATE', `${what} at ${ts} us belongs to the window starting at ${start}, already closed`);
  }

  /** Adds an item (checkOnTime first); returns the windows its time closes, oldest first. */
  add(ts: number, item: T): ClosedWindow<T>[] {
    this.checkOnTime(ts, 'the reading');
    const start = windowStart(this.w, ts);
    const closed = this.closeBefore(start);
    const list = this.open.get(start) ?? [];
    list.push(item);
    this.open.set(start, list);
    return closed;
  }

  /** Closes every window starting before `start`. */
  private closeBefore(start: number): ClosedWindow<T>[] {
    const out: ClosedWindow<T>[] = [];
    for (const s of [...this.open.keys()].sort((a, b) => a - b)) {
      if (s >= start) break;
      out.push({ startUs: s, endUs: s + this.w.sizeUs, items: this.open.get(s)! });
      this.open.delete(s);
    }
    this.closedBefore = Math.max(this.closedBefore, start);
    return out;
  }

  /** Closes every open window (end of input). */
  flush(): ClosedWindow<T>[] {
    return this.closeBefore(Infinity);
  }
}
