/**
 * @module window
 * Event-time windows [origin + k·slide, origin + k·slide + size), k ≥ 0. With slide =
 * size (the default) they tumble: each reading is in one window. With slide < size they
 * slide: a reading is in every window that covers it (up to ⌈size / slide⌉).
 *
 * The watermark is the latest reading time seen. A window closes when the watermark
 * reaches its end (no lateness allowance); a reading one of whose windows is closed is
 * late (STREAM_READING_LATE) and refused, so every window that closes holds every
 * accepted reading it covers.
 */
import { quoteInput, VeriteeError } from '@veritee/core';

/** Window sizes are at most 2^42 µs (about 50.9 days), as claim periods. */
export const MAX_WINDOW_US = 2 ** 42;
/** A reading is in at most this many sliding windows (size / slide). */
export const MAX_WINDOWS_PER_READING = 64;
const UNITS: Record<string, number> = { us: 1, ms: 1000, s: 1e6, m: 60e6, h: 3600e6, d: 86_400e6 };

/** Parses a window size: "15m", "30s", "1h", "500ms", or microseconds ("900000000"). */
export function parseWindowSize(spec: string): number {
  const m = /^([0-9]{1,15})(us|ms|s|m|h|d)?$/.exec(spec.trim());
  const us = m ? Number(m[1]) * UNITS[m[2] ?? 'us']! : NaN;
  if (!Number.isSafeInteger(us) || us < 1 || us > MAX_WINDOW_US) throw new VeriteeError('STREAM_WINDOW_INVALID', `window size ${quoteInput(spec, 30)} must be a whole number with a unit (us, ms, s, m, h, d), between 1 us and 2^42 us`);
  return us;
}

export interface WindowSpec {
  sizeUs: number;
  /** Distance between window starts (default sizeUs: tumbling). */
  slideUs?: number;
  originUs: number;
}
/** @deprecated the name of the first slice; a WindowSpec without slideUs. */
export type TumblingWindow = WindowSpec;

/** Tumbling windows of a size ("15m" or µs). */
export function tumbling(size: string | number, originUs = 0): WindowSpec {
  return checkWindowSpec({ sizeUs: typeof size === 'number' ? size : parseWindowSize(size), originUs });
}

/** Sliding windows of a size, a new one every `slide`. */
export function sliding(size: string | number, slide: string | number, originUs = 0): WindowSpec {
  return checkWindowSpec({ sizeUs: typeof size === 'number' ? size : parseWindowSize(size), slideUs: typeof slide === 'number' ? slide : parseWindowSize(slide), originUs });
}

export function checkWindowSpec(w: WindowSpec): WindowSpec {
  const slide = w.slideUs ?? w.sizeUs;
  if (!Number.isSafeInteger(w.sizeUs) || w.sizeUs < 1 || w.sizeUs > MAX_WINDOW_US || !Number.isSafeInteger(w.originUs) || w.originUs < 0) throw new VeriteeError('STREAM_WINDOW_INVALID', 'window size must be 1..2^42 us and the origin a non-negative integer');
  if (!Number.isSafeInteger(slide) || slide < 1 || slide > w.sizeUs) throw new VeriteeError('STREAM_WINDOW_INVALID', `the slide (${slide} us) must be 1 us to the window size (${w.sizeUs} us)`);
  if (Math.ceil(w.sizeUs / slide) > MAX_WINDOWS_PER_READING) throw new VeriteeError('STREAM_WINDOW_INVALID', `size / slide is at most ${MAX_WINDOWS_PER_READING} (a reading would be proven in ${Math.ceil(w.sizeUs / slide)} windows)`);
  return w;
}

/** The start of the tumbling window (or the latest sliding window) that holds ts. */
export function windowStart(w: WindowSpec, ts: number): number {
  const slide = w.slideUs ?? w.sizeUs;
  return w.originUs + Math.floor((ts - w.originUs) / slide) * slide;
}

/** The starts of every window that holds ts, oldest first. */
export function windowStartsOf(w: WindowSpec, ts: number): number[] {
  const slide = w.slideUs ?? w.sizeUs;
  const out: number[] = [];
  for (let s = windowStart(w, ts); s > ts - w.sizeUs && s >= w.originUs; s -= slide) out.unshift(s);
  return out;
}

export interface ClosedWindow<T> {
  startUs: number;
  endUs: number;
  items: T[];
}

/** Assigns items to windows by timestamp and closes them as event time passes. */
export class WindowAssembler<T> {
  private readonly open = new Map<number, T[]>();
  private watermark = -Infinity;
  private readonly w: WindowSpec;

  constructor(w: WindowSpec) {
    this.w = checkWindowSpec(w);
  }

  /** The latest item time seen (-Infinity before any). */
  get watermarkUs(): number {
    return this.watermark;
  }

  /** Throws STREAM_READING_LATE when ts falls in a closed window (nothing changes). */
  checkOnTime(ts: number, what: string): void {
    if (ts < this.w.originUs) throw new VeriteeError('STREAM_READING_LATE', `${what} at ${ts} us is before the windows' origin ${this.w.originUs}`);
    const first = windowStartsOf(this.w, ts)[0]!;
    if (first + this.w.sizeUs <= this.watermark) throw new VeriteeError('STREAM_READING_LATE', `${what} at ${ts} us belongs to the window starting at ${first}, already closed`);
  }

  /** Adds an item (checkOnTime first); returns the windows its time closes, oldest first. */
  add(ts: number, item: T): ClosedWindow<T>[] {
    this.checkOnTime(ts, 'the reading');
    const closed = this.closeUpTo(ts);
    for (const s of windowStartsOf(this.w, ts)) {
      const list = this.open.get(s) ?? [];
      list.push(item);
      this.open.set(s, list);
    }
    return closed;
  }

  /** Closes every window that ends at or before t. */
  private closeUpTo(t: number): ClosedWindow<T>[] {
    const out: ClosedWindow<T>[] = [];
    for (const s of [...this.open.keys()].sort((a, b) => a - b)) {
      if (s + this.w.sizeUs > t) break;
      out.push({ startUs: s, endUs: s + this.w.sizeUs, items: this.open.get(s)! });
      this.open.delete(s);
    }
    this.watermark = Math.max(this.watermark, t);
    return out;
  }

  /** Every item in an open window, once each, in the order added. */
  openItems(): T[] {
    const seen = new Set<T>();
    for (const s of [...this.open.keys()].sort((a, b) => a - b)) for (const it of this.open.get(s)!) seen.add(it);
    return [...seen];
  }

  /** Restores open windows (a restart): the watermark, then the items of open windows. */
  restore(watermark: number, items: readonly { ts: number; item: T }[]): void {
    if (this.open.size > 0 || this.watermark !== -Infinity) throw new VeriteeError('INTERNAL', 'restore into a used window assembler');
    this.watermark = watermark;
    for (const { ts, item } of items) {
      for (const s of windowStartsOf(this.w, ts)) {
        if (s + this.w.sizeUs <= watermark) continue;
        const list = this.open.get(s) ?? [];
        list.push(item);
        this.open.set(s, list);
      }
    }
  }

  /** Closes every open window (end of input). */
  flush(): ClosedWindow<T>[] {
    const out = this.closeUpTo(Infinity);
    return out;
  }
}
