/**
 * @module decision-check
 * Re-checks a control-plane scaling decision's proof where it is read (the console runs
 * this in the browser; it imports no Node built-in): each proof bundle is verified with
 * veritee's verifier against the keys the user trusts, and must prove what the decision
 * says (claim kind, every parameter the decision fixed, and the outcome: scale out or not),
 * as the control plane's own check does (checkDecisionBundle) — without trusting it.
 *
 * Decisions are read defensively: the current shape (`claim`, `proof.bundle`) and a
 * shape with several claims (`claims[]`, `proof.bundles[]`) are both accepted; a claim is
 * paired with the bundle of the same index when the counts match, else with an unused
 * bundle of its kind.
 */
import { verifyProofBundle, type BundleCheck, type KeyRing } from '@veritee/zk/verify';

export interface NormalizedClaim {
  kind: string;
  params: Record<string, unknown>;
  /** The outcome the proof must show, when the decision states one. */
  expectScaleOut?: boolean;
}

export interface NormalizedDecision {
  id: string;
  seq: number;
  workload: string;
  atMs: number;
  metric: string;
  direction: string;
  from: number;
  to: number;
  reason: string;
  claims: NormalizedClaim[];
  bundles: unknown[];
  /** What the control plane says of the proof. */
  proofState: string;
  proofError?: string;
  deadlineMs?: number;
  verifiedMs?: number;
  enactState: string;
  flag?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v.slice(0, 2000) : d);
const num = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

function claimOf(v: unknown): NormalizedClaim | undefined {
  if (!isObj(v) || typeof v.kind !== 'string') return undefined;
  return { kind: v.kind, params: isObj(v.params) ? v.params : {}, ...(typeof v.expectScaleOut === 'boolean' ? { expectScaleOut: v.expectScaleOut } : {}) };
}

/** Reads one decision as the control plane's API returns it; undefined if it is not one. */
export function normalizeDecision(v: unknown): NormalizedDecision | undefined {
  if (!isObj(v) || typeof v.id !== 'string') return undefined;
  const proof = isObj(v.proof) ? v.proof : {};
  const enact = isObj(v.enact) ? v.enact : {};
  const claims = (Array.isArray(v.claims) ? v.claims : v.claim !== undefined && v.claim !== null ? [v.claim] : []).map(claimOf).filter((c): c is NormalizedClaim => c !== undefined);
  const bundles = Array.isArray(proof.bundles) ? proof.bundles.filter((b) => b !== null && b !== undefined) : proof.bundle !== undefined && proof.bundle !== null ? [proof.bundle] : [];
  return {
    id: v.id.slice(0, 200),
    seq: num(v.seq),
    workload: str(v.workload),
    atMs: num(v.atMs),
    metric: str(v.metric),
    direction: str(v.direction),
    from: num(v.from),
    to: num(v.to),
    reason: str(v.reason),
    claims,
    bundles,
    proofState: str(proof.state, 'unknown'),
    ...(typeof proof.error === 'string' ? { proofError: proof.error.slice(0, 2000) } : {}),
    ...(typeof proof.deadlineMs === 'number' ? { deadlineMs: proof.deadlineMs } : {}),
    ...(typeof proof.verifiedMs === 'number' ? { verifiedMs: proof.verifiedMs } : {}),
    enactState: str(enact.state, 'unknown'),
    ...(typeof v.flag === 'string' ? { flag: v.flag.slice(0, 200) } : {}),
  };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => sameValue(a[k], b[k]));
  }
  return a === b;
}

const bundleKind = (b: unknown): string | undefined => (isObj(b) && isObj(b.claim) && typeof b.claim.kind === 'string' ? b.claim.kind : undefined);

/** Pairs each claim with a bundle (same index when the counts match, else an unused bundle of its kind). */
export function pairClaims(d: NormalizedDecision): { claim: NormalizedClaim; bundle?: unknown }[] {
  if (d.claims.length === d.bundles.length) return d.claims.map((claim, i) => ({ claim, bundle: d.bundles[i] }));
  const used = new Set<number>();
  return d.claims.map((claim) => {
    const i = d.bundles.findIndex((b, j) => !used.has(j) && bundleKind(b) === claim.kind);
    if (i < 0) return { claim };
    used.add(i);
    return { claim, bundle: d.bundles[i] };
  });
}

export interface ClaimCheck {
  claim: NormalizedClaim;
  ok: boolean;
  checks: BundleCheck[];
}

export type DecisionVerdict = 'verified' | 'failed' | 'no-proof' | 'unprovable';

export interface DecisionCheck {
  verdict: DecisionVerdict;
  /** The control plane says verified, the reader's check fails (or the other way round). */
  disagrees: boolean;
  claims: ClaimCheck[];
  /** Bundles no claim asked for. */
  unpaired: number;
}

/** Checks one bundle against the claim the decision made. */
export function checkClaimBundle(bundle: unknown, claim: NormalizedClaim, opts: { keys: KeyRing; allowDevSetup: boolean; at?: number }): ClaimCheck {
  const v = verifyProofBundle(bundle, { keys: opts.keys, allowDevSetup: opts.allowDevSetup, ...(opts.at !== undefined ? { at: opts.at } : {}) });
  const checks = [...v.checks];
  const b = v.bundle;
  if (b) {
    const kindOk = b.claim.kind === claim.kind;
    checks.push({ name: 'decision.kind', ok: kindOk, detail: kindOk ? `the bundle proves a ${claim.kind} claim, as the decision needs` : `the bundle proves a ${b.claim.kind} claim, the decision needs ${claim.kind}` });
    const params = b.claim.params as Record<string, unknown>;
    const wrong = Object.entries(claim.params).filter(([k, want]) => !sameValue(params[k], want));
    checks.push({
      name: 'decision.params',
      ok: wrong.length === 0,
      detail: wrong.length === 0 ? `the bundle proves the ${Object.keys(claim.params).length} parameters the decision used` : wrong.map(([k, want]) => `${k}: the bundle proves ${JSON.stringify(params[k])?.slice(0, 40)}, the decision used ${JSON.stringify(want)?.slice(0, 40)}`).join('; '),
    });
    const scaleOut = (b.claim.outputs as { scaleOut?: unknown }).scaleOut;
    if (claim.expectScaleOut === undefined) checks.push({ name: 'decision.outcome', ok: false, detail: 'the decision states no expected outcome (expectScaleOut): nothing to hold the proof to' });
    else checks.push({ name: 'decision.outcome', ok: scaleOut === claim.expectScaleOut, detail: `the bundle proves scaleOut = ${String(scaleOut)}; the decision ${claim.expectScaleOut ? 'scaled out' : 'did not scale out'}` });
  }
  return { claim, ok: checks.length > 0 && checks.every((c) => c.ok), checks };
}

/** Checks every claim of a decision. Fails closed: a claim without a bundle is not verified. */
export function checkDecision(d: NormalizedDecision, opts: { keys: KeyRing; allowDevSetup: boolean; at?: number }): DecisionCheck {
  if (d.claims.length === 0) return { verdict: 'unprovable', disagrees: d.proofState === 'verified', claims: [], unpaired: d.bundles.length };
  const pairs = pairClaims(d);
  if (d.bundles.length === 0) return { verdict: 'no-proof', disagrees: d.proofState === 'verified', claims: [], unpaired: 0 };
  const claims = pairs.map(({ claim, bundle }): ClaimCheck => {
    if (bundle === undefined) return { claim, ok: false, checks: [{ name: 'decision.bundle', ok: false, detail: `no proof bundle of kind ${claim.kind} for this claim` }] };
    try {
      return checkClaimBundle(bundle, claim, opts);
    } catch (e) {
      return { claim, ok: false, checks: [{ name: 'decision.bundle', ok: false, detail: `the bundle could not be checked: ${String((e as Error).message ?? e).slice(0, 300)}` }] };
    }
  });
  const ok = claims.every((c) => c.ok);
  return { verdict: ok ? 'verified' : 'failed', disagrees: ok !== (d.proofState === 'verified'), claims, unpaired: d.bundles.length - pairs.filter((p) => p.bundle !== undefined).length };
}
