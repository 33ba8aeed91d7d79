/**
 * @module claims/expect
 * What a verifier expects of a claim's public parameters.
 *
 * A bundle proves that its outputs follow from the committed data *and the
 * parameters the prover chose*: "COMPLIANT" with an SLA of p95 < 10 s is not
 * "COMPLIANT" with p95 < 100 ms. A relying party therefore says which parameters
 * it expects, and verification fails with ZK_EXPECTATION_MISMATCH when the bundle
 * carries others.
 *
 * Syntax (CLI `--expect`, or a string given to the library):
 *
 *   EXPECT = TERM ("," TERM)*        TERM = KEY "=" VALUE
 *
 * Keys are the claim's parameter names (see each claim's `expectations`), plus
 * `kind` for every claim. Percentages (basis-point parameters) take a percentage
 * under their short name (`threshold=85`, `max5xx=0.1`) or basis points under the
 * parameter's own name (`thresholdBp=8500`); both name the same parameter. The
 * value of a key marked "rest" (`sla` for latency, `name` for inclusion) may hold
 * commas, so it runs to the end of the expression: write it last, e.g.
 * `kind=latency,period=2025-06-01T00:00:00Z/2025-06-02T00:00:00Z,sla=p95<100ms,p99<500ms`.
 * A key may be given once; a key the claim kind does not have is refused.
 *
 * The library takes the same terms as an object, `{ kind: 'memory', threshold: 85 }`;
 * values are read exactly as the CLI reads them.
 */
import { quoteInput, VeriteeError } from '@veritee/core';
import { claimDefinition, claimKinds } from './registry.js';
import type { ClaimDefinition, ExpectationKey } from './claim.js';

export type { ExpectationKey } from './claim.js';
export * from './expect-keys.js';

/** What the library accepts as `expect`: the CLI syntax, the same terms as an object, or parsed terms. */
export type ClaimExpectation = string | Readonly<Record<string, string | number>> | readonly ExpectationTerm[];

/** One term as written. */
export interface ExpectationTerm {
  key: string;
  value: string;
  /** The term as written, for messages. */
  text: string;
}

/** An expectation resolved against a claim kind. */
export interface ResolvedExpectation {
  kind?: string;
  checks: { name: string; key: ExpectationKey<any>; expected: unknown; term: string }[];
}

const KEY_RE = /^[A-Za-z][A-Za-z0-9]*$/;
const MAX_EXPECT_CHARS = 4096;

const bad = (msg: string): never => {
  throw new VeriteeError('INPUT_INVALID', msg);
};

/** Keys whose value runs to the end of the expression, over every claim kind. */
function restKeys(): Set<string> {
  const out = new Set<string>();
  for (const k of claimKinds()) for (const e of claimDefinition(k)!.expectations) if (e.rest) [e.key, ...(e.aliases ?? [])].forEach((n) => out.add(n));
  return out;
}

/** Splits an expectation into terms (syntax only). Throws INPUT_INVALID naming the term. */
export function parseExpectationText(text: string, what = '--expect'): ExpectationTerm[] {
  if (typeof text !== 'string') bad(`${what} must be a string of KEY=VALUE terms`);
  if (text.length > MAX_EXPECT_CHARS) bad(`${what} is longer than ${MAX_EXPECT_CHARS} characters`);
  const rest = restKeys();
  const terms: ExpectationTerm[] = [];
  let i = 0;
  for (;;) {
    const comma = text.indexOf(',', i);
    let piece = text.slice(i, comma < 0 ? text.length : comma);
    let last = comma < 0;
    const eq = piece.indexOf('=');
    const key = (eq < 0 ? piece : piece.slice(0, eq)).trim();
    if (eq >= 0 && rest.has(key)) {
      piece = text.slice(i);
      last = true;
    }
    const term = piece.trim();
    if (term === '') bad(`${what} has an empty term${text.trim() === '' ? ': expected KEY=VALUE terms such as "kind=memory,threshold=85"' : ` in ${quoteInput(text, 120)}`}`);
    if (eq < 0) bad(`${what} term ${quoteInput(term, 80)} is not KEY=VALUE`);
    if (!KEY_RE.test(key)) bad(`${what} term ${quoteInput(term, 80)}: ${quoteInput(key, 40)} is not a key name`);
    const value = piece.slice(eq + 1).trim();
    if (value === '') bad(`${what} term ${quoteInput(term, 80)} has no value`);
    terms.push({ key, value, text: term });
    if (last) break;
    i = comma + 1;
  }
  return terms;
}

/** Terms from the library's object form (or the CLI string). */
export function expectationTerms(expect: ClaimExpectation, what = 'expect'): ExpectationTerm[] {
  if (typeof expect === 'string') return parseExpectationText(expect, what);
  if (Array.isArray(expect)) return (expect as readonly ExpectationTerm[]).map((t) => ({ key: String(t.key), value: String(t.value), text: String(t.text ?? `${t.key}=${t.value}`) }));
  if (expect === null || typeof expect !== 'object' || Array.isArray(expect)) bad(`${what} must be a string or an object of parameter values`);
  return Object.entries(expect).map(([key, v]) => {
    if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) bad(`${what}.${key} must be a string or a finite number`);
    const value = String(v).trim();
    if (!KEY_RE.test(key)) bad(`${what} key ${quoteInput(key, 40)} is not a key name`);
    if (value === '') bad(`${what}.${key} is empty`);
    return { key, value, text: `${key}=${value}` };
  });
}

/** Every key a claim kind accepts (primary names and aliases). */
export function expectationKeyNames(def: ClaimDefinition<any, any>): string[] {
  return ['kind', ...def.expectations.flatMap((e) => [e.key, ...(e.aliases ?? [])])];
}

/**
 * Resolves terms against a claim kind: `kind=` (if given) names the kind whose keys
 * are accepted, otherwise `bundleKind` does. Unknown keys, a parameter named twice
 * (also under two names) and unreadable values are INPUT_INVALID naming the term.
 */
export function resolveExpectation(terms: readonly ExpectationTerm[], bundleKind: string, what = '--expect'): ResolvedExpectation {
  const seen = new Map<string, string>();
  let kind: string | undefined;
  for (const t of terms) {
    if (t.key !== 'kind') continue;
    if (kind !== undefined) bad(`${what} names kind twice (${quoteInput(t.text, 80)})`);
    kind = t.value;
    if (!claimDefinition(kind)) bad(`${what} term ${quoteInput(t.text, 80)}: no claim kind ${quoteInput(kind, 40)} (known: ${claimKinds().join(', ')})`);
  }
  const def = claimDefinition(kind ?? bundleKind);
  if (!def) return bad(`${what}: the bundle's claim kind ${quoteInput(bundleKind, 40)} is unknown`);
  const out: ResolvedExpectation = { ...(kind !== undefined ? { kind } : {}), checks: [] };
  for (const t of terms) {
    if (t.key === 'kind') continue;
    const key = def.expectations.find((e) => e.key === t.key || (e.aliases ?? []).includes(t.key));
    if (!key) bad(`${what} term ${quoteInput(t.text, 80)}: a ${def.kind} claim has no parameter ${quoteInput(t.key, 40)} (keys: ${expectationKeyNames(def).join(', ')})`);
    const earlier = seen.get(key!.key);
    if (earlier !== undefined) bad(`${what} names ${key!.key} twice (${quoteInput(earlier, 60)} and ${quoteInput(t.text, 60)})`);
    seen.set(key!.key, t.text);
    let expected: unknown;
    try {
      expected = key!.parse(t.value, t.key);
    } catch (e) {
      bad(`${what} term ${quoteInput(t.text, 80)}: ${(e as Error).message} (expected ${t.key}=${key!.syntax})`);
    }
    out.checks.push({ name: key!.key, key: key!, expected, term: t.text });
  }
  return out;
}

/** A value for a message: as is when short and printable, otherwise quoted and escaped. */
const printable = (s: string): string => (s.length > 200 || /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"\\]/.test(s) ? quoteInput(s, 200) : s);

/** The mismatches between a bundle's claim and a resolved expectation (empty when it matches). */
export function expectationMismatches(claim: { kind: string; params: unknown }, r: ResolvedExpectation): { name: string; expected: string; found: string }[] {
  if (r.kind !== undefined && r.kind !== claim.kind) return [{ name: 'kind', expected: printable(r.kind), found: printable(claim.kind) }];
  return r.checks
    .filter((c) => !c.key.matches(claim.params, c.expected))
    .map((c) => ({ name: c.name, expected: printable(c.key.show(c.expected)), found: printable(c.key.format(claim.params)) }));
}

/** A claim's parameters in `--expect` syntax (the rest-key last): what to pin to accept exactly this bundle. */
export function formatExpectation(claim: { kind: string; params: unknown }): string {
  const def = claimDefinition(claim.kind);
  if (!def) return `kind=${claim.kind}`;
  const keys = [...def.expectations].sort((a, b) => Number(a.rest === true) - Number(b.rest === true));
  return [`kind=${claim.kind}`, ...keys.map((k) => `${k.key}=${printable(k.format(claim.params))}`)].join(',');
}
