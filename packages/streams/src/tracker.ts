/**
 * @module tracker
 * Per-sensor sequence numbers: each sensor's readings must arrive numbered
 * 1, 2, 3, … (or from a resume point). A number already seen is a replay
 * (STREAM_SEQUENCE_REPLAY), a number past the next one a gap
 * (STREAM_SEQUENCE_GAP); either is refused and leaves the tracker as it was,
 * so the missing reading can still arrive.
 */
import { VeriteeError } from '@veritee/core';

export class SequenceTracker {
  private readonly last = new Map<string, number>();

  /** @param resume the last sequence number already accepted per sensor (default 0: start at 1). */
  constructor(resume: Readonly<Record<string, number>> = {}) {
    for (const [s, n] of Object.entries(resume)) this.last.set(s, n);
  }

  /** The next sequence number expected from a sensor. */
  expected(sensor: string): number {
    return (this.last.get(sensor) ?? 0) + 1;
  }

  /** Throws unless seq is the next number of the sensor; the check alone, no state change. */
  check(sensor: string, seq: number): void {
    const want = this.expected(sensor);
    if (seq < want) throw new VeriteeError('STREAM_SEQUENCE_REPLAY', `sensor ${sensor}: reading ${seq} was already accepted (next expected ${want})`);
    if (seq > want) throw new VeriteeError('STREAM_SEQUENCE_GAP', `sensor ${sensor}: reading ${seq} arrived but ${want}${seq - want > 1 ? `..${seq - 1}` : ''} did not`);
  }

  /** Checks and records seq. */
  accept(sensor: string, seq: number): void {
    this.check(sensor, seq);
    this.last.set(sensor, seq);
  }

  /** The last accepted number per sensor. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.last.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}
