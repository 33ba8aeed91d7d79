// Re-checking a control-plane decision's proof as the console's page does, with a real
// memory bundle from the Go prover (DEV key of the shared test home): it verifies when it
// proves what the decision did, and fails — naming the check — when the bundle is
// tampered with, proves other parameters or the other outcome, is missing, or its key is
// not trusted. Both the current decision shape and one with claims[] / proof.bundles[].
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { devSetup, memoryClaim, prove, ProverPool } from '@veritee/zk';
import { KeyRing } from '@veritee/zk/verify';
import { testHome } from '@veritee/zk/testing';
import { checkDecision, normalizeDecision } from './decision-check.js';

let pool: ProverPool;
let bundle: { claim: { kind: string; params: Record<string, unknown>; outputs: { scaleOut: boolean } } };
const keys = new KeyRing();

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(pool, 'memory', 512));
  const start = Date.UTC(2026, 10, 19, 12) * 1000;
  const allocatedKiB = 8_000_000;
  const usageKiB = Array.from({ length: 16 }, (_, s) => [0.5, 0.3, 0.15, 0.05].map((share) => Math.round(allocatedKiB * 0.93 * share * (0.97 + 0.002 * s))));
  const r = await prove(pool, memoryClaim, {
    params: { periodStartUs: start, periodEndUs: start + 16 * 60_000_000, allocatedKiB, percentileBp: 9000, thresholdBp: 8500 },
    data: { swapPages: new Array(16).fill(0), pageFaults: new Array(16).fill(10), usageKiB },
    capacity: 512,
  });
  bundle = JSON.parse(JSON.stringify(r.bundle));
});
after(() => pool?.close());

/** A decision as GET /v1/decisions returns it (plane/log.ts). */
function decision(over: { claim?: unknown; bundle?: unknown; state?: string; extra?: Record<string, unknown> } = {}) {
  return {
    id: 'd-1',
    seq: 1,
    workload: 'web',
    atMs: 1_795_000_000_000,
    metric: 'memory',
    direction: 'out',
    from: 1,
    to: 2,
    reason: 'memory 9300 bp > 8500 bp',
    claim: 'claim' in over ? over.claim : { kind: 'memory', params: { thresholdBp: 8500, percentileBp: 9000 }, expectScaleOut: true },
    enact: { state: 'enacted', attempts: 1 },
    proof: { state: over.state ?? 'verified', deadlineMs: 1, ...('bundle' in over ? (over.bundle === undefined ? {} : { bundle: over.bundle }) : { bundle }) },
    command: { payload: '', signature: '', keyId: '' },
    ...over.extra,
  };
}

const check = (d: unknown, o: { keys?: KeyRing; allowDevSetup?: boolean } = {}) => checkDecision(normalizeDecision(d)!, { keys: o.keys ?? keys, allowDevSetup: o.allowDevSetup ?? true });
const failed = (r: ReturnType<typeof check>) => r.claims.flatMap((c) => c.checks.filter((x) => !x.ok).map((x) => x.name));

test('a decision whose bundle proves what it did verifies, agreeing with the control plane', () => {
  assert.equal(bundle.claim.outputs.scaleOut, true);
  const r = check(decision());
  assert.equal(r.verdict, 'verified', JSON.stringify(failed(r)));
  assert.equal(r.disagrees, false);
  const names = r.claims[0]!.checks.map((c) => c.name);
  for (const n of ['bundle.format', 'key.trusted', 'proof.groth16', 'decision.kind', 'decision.params', 'decision.outcome']) assert.ok(names.includes(n), n);
});

test('a tampered bundle fails in the reader, naming the check, and disagrees with a control plane that says verified', () => {
  const t = JSON.parse(JSON.stringify(bundle));
  t.claim.params.thresholdBp = 9500; // a looser threshold than the one proven
  const r = check(decision({ bundle: t, claim: { kind: 'memory', params: { thresholdBp: 9500 }, expectScaleOut: true } }));
  assert.equal(r.verdict, 'failed');
  assert.equal(r.disagrees, true);
  assert.ok(failed(r).includes('proof.groth16'), failed(r).join(', '));
});

test('a valid bundle for other parameters, or the other outcome, does not prove the decision', () => {
  const p = check(decision({ claim: { kind: 'memory', params: { thresholdBp: 8000 }, expectScaleOut: true } }));
  assert.deepEqual(failed(p), ['decision.params']);
  const o = check(decision({ claim: { kind: 'memory', params: { thresholdBp: 8500 }, expectScaleOut: false } }));
  assert.deepEqual(failed(o), ['decision.outcome']);
  const k = check(decision({ claim: { kind: 'cpu', params: {}, expectScaleOut: true } }));
  assert.ok(failed(k).includes('decision.kind'));
  const n = check(decision({ claim: { kind: 'memory', params: {} } }));
  assert.deepEqual(failed(n), ['decision.outcome'], 'no stated outcome fails closed');
});

test('untrusted keys and refused dev setups fail; missing proofs are not verified', () => {
  assert.ok(failed(check(decision(), { keys: new KeyRing() })).includes('key.trusted'));
  assert.equal(check(decision(), { allowDevSetup: false }).verdict, 'failed');
  const none = check(decision({ bundle: undefined, state: 'queued' }));
  assert.equal(none.verdict, 'no-proof');
  assert.equal(none.disagrees, false);
  assert.equal(check(decision({ bundle: undefined, state: 'verified' })).disagrees, true);
  assert.equal(check(decision({ claim: null, bundle: undefined, state: 'unprovable' })).verdict, 'unprovable');
  assert.equal(normalizeDecision({ nope: 1 }), undefined);
});

test('decisions with claims[] and proof.bundles[] are read too: every claim must be proven', () => {
  const both = decision({ extra: { claims: [{ kind: 'memory', params: { thresholdBp: 8500 }, expectScaleOut: true }, { kind: 'memory', params: { percentileBp: 9000 }, expectScaleOut: true }] } });
  (both.proof as Record<string, unknown>).bundles = [bundle, bundle];
  const r = check(both);
  assert.equal(r.verdict, 'verified');
  assert.equal(r.claims.length, 2);
  (both.proof as Record<string, unknown>).bundles = [bundle];
  const one = check(both);
  assert.equal(one.verdict, 'failed', 'the second claim has no bundle');
  assert.ok(failed(one).includes('decision.bundle'));
});
