/**
 * @module clock
 * Time is an explicit input wherever certificates, collateral, tokens or deadlines
 * are checked. Production passes {@link systemClock}; tests pass {@link fixedClock}.
 */
import { VeriteeError } from './errors.js';

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function fixedClock(at: Date | number | string): Clock {
  const ms = toEpochMs(at, 'clock time');
  return { now: () => ms };
}

/** Parses an RFC 3339 time, epoch milliseconds or a Date, naming `what` on error. */
export function toEpochMs(at: Date | number | string, what = 'time'): number {
  const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) throw new VeriteeError('INPUT_TIME_INVALID', `${what} "${String(at)}" is not a valid time`);
  return ms;
}
