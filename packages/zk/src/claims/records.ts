/**
 * @module claims/records
 * Parses request records from CSV or JSON Lines text into offsets from the
 * period start. Browser-safe (works on strings). Errors name the line.
 *
 * CSV: exactly two columns start_us,end_us (absolute microseconds since the Unix
 * epoch), an optional header line, `#` comments. JSONL: one object per line with
 * `start_us` and `end_us` (or `start` and `end`, not both spellings), no duplicate
 * keys, nesting bounded (checked without recursion).
 */
import { parseJsonStrict, parseRfc3339Us, quoteInput, VeriteeError } from '@veritee/core';

export type RecordsFormat = 'csv' | 'jsonl';

export function detectRecordsFormat(name: string, text: string): RecordsFormat {
  if (/\.jsonl$|\.ndjson$/i.test(name)) return 'jsonl';
  if (/\.csv$/i.test(name)) return 'csv';
  return text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

function toUs(raw: unknown, line: number, field: string): number {
  const v = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    const shown = typeof raw === 'string' ? quoteInput(raw, 40) : typeof raw === 'number' ? String(raw) : quoteInput(JSON.stringify(raw) ?? String(raw), 40);
    throw new VeriteeError('RECORD_FIELD_INVALID', `line ${line}: ${field} ${shown} is not a non-negative integer number of microseconds`);
  }
  return v;
}

/** Parses absolute (start, end) pairs in microseconds. */
export function parseRecordsText(text: string, format: RecordsFormat): number[] {
  const out: number[] = [];
  const lines = text.split(/\r?\n/);
  let headerSeen = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    const line = i + 1;
    if (raw === '' || raw.startsWith('#')) continue;
    if (format === 'jsonl') {
      // Strict: a duplicate key ("start_us":1,"start_us":2) or deep nesting is refused, not resolved.
      const obj = parseJsonStrict(raw, { what: `line ${line}`, code: 'RECORD_FIELD_INVALID', maxDepth: 8 });
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new VeriteeError('RECORD_FIELD_INVALID', `line ${line}: not a JSON object`);
      const o = obj as Record<string, unknown>;
      if (('start_us' in o && 'start' in o) || ('end_us' in o && 'end' in o)) {
        throw new VeriteeError('RECORD_FIELD_INVALID', `line ${line}: gives both start_us/end_us and start/end; use one spelling`);
      }
      const s = 'start_us' in o ? o.start_us : o.start;
      const e = 'end_us' in o ? o.end_us : o.end;
      if (s === undefined || e === undefined) throw new VeriteeError('RECORD_FIELD_INVALID', `line ${line}: needs start_us and end_us`);
      out.push(toUs(s, line, 'start_us'), toUs(e, line, 'end_us'));
      continue;
    }
    const cols = raw.split(',').map((c) => c.trim());
    if (!headerSeen && out.length === 0 && cols.some((c) => /[a-z_]/i.test(c))) {
      headerSeen = true;
      if (!/start/i.test(cols[0] ?? '') || !/end/i.test(cols[1] ?? '')) {
        throw new VeriteeError('RECORD_FIELD_INVALID', `line ${line}: header must name start_us,end_us (got ${quoteInput(raw)})`);
      }
      if (cols.length !== 2) throw new VeriteeError('RECORD_FIELD_INVALID', `line ${line}: header has ${cols.length} columns; expected exactly two, start_us,end_us`);
      continue;
    }
    if (cols.length !== 2) throw new VeriteeError('RECORD_FIELD_INVALID', `line ${line}: has ${cols.length} column${cols.length === 1 ? '' : 's'}; expected exactly two, start_us,end_us`);
    out.push(toUs(cols[0], line, 'start_us'), toUs(cols[1], line, 'end_us'));
  }
  if (out.length === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'the records file holds no records');
  return out;
}

/**
 * Converts absolute timestamps to offsets from the period start, checking each
 * record against the period (errors name the record number).
 */
export function toPeriodOffsets(absolute: readonly number[], periodStartUs: number, periodEndUs: number): number[] {
  const out = new Array<number>(absolute.length);
  for (let i = 0; i < absolute.length; i += 2) {
    const s = absolute[i]!, e = absolute[i + 1]!;
    const rec = i / 2 + 1;
    if (e < s) throw new VeriteeError('RECORD_END_BEFORE_START', `record ${rec}: end ${e} is before start ${s}`);
    if (s < periodStartUs || s >= periodEndUs) {
      throw new VeriteeError('RECORD_OUTSIDE_PERIOD', `record ${rec}: start ${new Date(s / 1000).toISOString()} is outside the period [${new Date(periodStartUs / 1000).toISOString()}, ${new Date(periodEndUs / 1000).toISOString()})`);
    }
    out[i] = s - periodStartUs;
    out[i + 1] = e - periodStartUs;
  }
  return out;
}

/**
 * Parses "START/END" where each side is a strict RFC 3339 time (an impossible date
 * such as 2025-02-30 or T24:00:00 is refused, never rolled over) or an integer of
 * microseconds.
 */
export function parsePeriod(spec: string): { periodStartUs: number; periodEndUs: number } {
  const parts = spec.split('/');
  if (parts.length !== 2) throw new VeriteeError('PERIOD_INVALID', `period ${quoteInput(spec)} must be START/END (RFC 3339 times or microseconds)`);
  const conv = (s: string, which: string): number => {
    const t = s.trim();
    if (/^\d+$/.test(t)) {
      const us = Number(t);
      if (!Number.isSafeInteger(us)) throw new VeriteeError('PERIOD_INVALID', `period ${which} ${quoteInput(t)} is too large for an integer of microseconds`);
      return us;
    }
    if (!/^\d{4}-\d{2}-\d{2}/.test(t)) throw new VeriteeError('PERIOD_INVALID', `period ${which} ${quoteInput(t)} is not an RFC 3339 time or an integer of microseconds`);
    return parseRfc3339Us(t, `period ${which}`, 'PERIOD_INVALID');
  };
  const periodStartUs = conv(parts[0]!, 'start');
  const periodEndUs = conv(parts[1]!, 'end');
  if (periodEndUs <= periodStartUs) throw new VeriteeError('PERIOD_INVALID', `period end ${quoteInput(parts[1]!.trim())} is not after period start ${quoteInput(parts[0]!.trim())}`);
  return { periodStartUs, periodEndUs };
}
