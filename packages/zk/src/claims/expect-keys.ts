/**
 * @module claims/expect-keys
 * The value kinds of `--expect` keys that claim definitions share (integers,
 * percentages, the reporting period). The expectation syntax and its checks
 * are in claims/expect.ts.
 */
import { quoteInput } from '@veritee/core';
import type { ExpectationKey } from './claim.js';

/** A non-negative integer parameter. */
export function integerKey<P>(key: string, get: (p: P) => number, syntax = 'an integer'): ExpectationKey<P> {
  return {
    key,
    syntax,
    parse: (v) => {
      if (!/^\d{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) throw new Error(`${quoteInput(v, 40)} is not a non-negative integer`);
      return Number(v);
    },
    format: (p) => String(get(p)),
    matches: (p, e) => get(p) === e,
    show: (e) => String(e),
  };
}

/** Basis points as a percentage with at most two decimals: "85", "99.95", "0.1%". */
function percentToBp(v: string): number {
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?\s*%?$/.exec(v);
  if (!m) throw new Error(`${quoteInput(v, 40)} is not a percentage with at most two decimals`);
  const bp = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  if (bp > 10000) throw new Error(`${quoteInput(v, 40)} is over 100 %`);
  return bp;
}

const bpAsPercent = (bp: number): string => {
  const s = (bp / 100).toFixed(2).replace(/\.?0+$/, '');
  return s === '' ? '0' : s;
};

/** A basis-point parameter: `short=85` (percent) or `paramName=8500` (basis points). */
export function percentKey<P>(short: string, param: string, get: (p: P) => number): ExpectationKey<P> {
  return {
    key: short,
    aliases: [param],
    syntax: `a percentage such as 85 or 99.95 (or ${param}=<basis points>)`,
    parse: (v, name) => {
      if (name !== param) return percentToBp(v);
      if (!/^\d{1,5}$/.test(v) || Number(v) > 10000) throw new Error(`${quoteInput(v, 40)} is not a number of basis points (0..10000)`);
      return Number(v);
    },
    format: (p) => bpAsPercent(get(p)),
    matches: (p, e) => get(p) === e,
    show: (e) => bpAsPercent(e as number),
  };
}

const isoUs = (us: number): string => new Date(us / 1000).toISOString().replace('.000Z', 'Z');

/** The reporting period: `period=START/END` (RFC 3339 or microseconds, as `prove --period`). */
export function periodKey<P extends { periodStartUs: number; periodEndUs: number }>(parse: (spec: string) => { periodStartUs: number; periodEndUs: number }): ExpectationKey<P> {
  const fmt = (s: number, e: number) => (s % 1000 === 0 && e % 1000 === 0 ? `${isoUs(s)}/${isoUs(e)}` : `${s}/${e}`);
  return {
    key: 'period',
    syntax: 'START/END (RFC 3339 times or microseconds)',
    parse: (v) => parse(v),
    format: (p) => fmt(p.periodStartUs, p.periodEndUs),
    matches: (p, e) => {
      const x = e as { periodStartUs: number; periodEndUs: number };
      return p.periodStartUs === x.periodStartUs && p.periodEndUs === x.periodEndUs;
    },
    show: (e) => {
      const x = e as { periodStartUs: number; periodEndUs: number };
      return fmt(x.periodStartUs, x.periodEndUs);
    },
  };
}
