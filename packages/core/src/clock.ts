/**
 * @module clock
 * Time is an explicit input wherever certificates, collateral, tokens or deadlines
 * are checked. Production passes {@link systemClock}; tests pass {@link fixedClock}.
 */
import { VeriteeError, type ErrorCode } from './errors.js';
import { quoteInput } from './quote.js';

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
  const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Math.floor(parseRfc3339Us(at, what) / 1000);
  if (!Number.isFinite(ms)) throw new VeriteeError('INPUT_TIME_INVALID', `${what} ${quoteInput(String(at))} is not a valid time`);
  return ms;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 date-time (`2025-06-01T00:00:00Z`, `…T02:00:00.5+02:00`) into
 * microseconds since the Unix epoch. Strict: the date must exist (no 2025-02-30,
 * no hour 24, no leap second), an offset is required, and digits finer than a
 * microsecond must be zero; nothing is rolled over or rounded silently.
 */
export function parseRfc3339Us(text: string, what = 'time', code: ErrorCode = 'INPUT_TIME_INVALID'): number {
  const bad = (why: string): never => {
    throw new VeriteeError(code, `${what} ${quoteInput(text)} is not a valid RFC 3339 time: ${why}`);
  };
  const m = RFC3339.exec(text);
  if (!m) return bad('expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)');
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (month! < 1 || month! > 12) bad(`month ${m[2]} does not exist`);
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (day! < 1 || day! > daysInMonth) bad(`day ${m[3]} does not exist in ${m[1]}-${m[2]} (it has ${daysInMonth} days)`);
  if (hour! > 23) bad(`hour ${m[4]} does not exist (00-23)`);
  if (minute! > 59) bad(`minute ${m[5]} does not exist (00-59)`);
  if (second! > 59) bad(`second ${m[6]} is not supported (00-59; leap seconds are not)`);
  const frac = (m[7] ?? '').padEnd(9, '0');
  if (!/^0{3}$/.test(frac.slice(6))) bad('it is more precise than a microsecond');
  let offsetMin = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]), om = Number(m[11]);
    if (oh > 23 || om > 59) bad(`offset ${m[9]}${m[10]}:${m[11]} does not exist`);
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const d = new Date(0);
  d.setUTCFullYear(year!, month! - 1, day!);
  d.setUTCHours(hour!, minute! - offsetMin, second!, 0);
  const ms = d.getTime();
  if (!Number.isFinite(ms)) bad('out of range');
  return ms * 1000 + Number(frac.slice(0, 6));
}
