import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { parseProofBundle, BUNDLE_FORMAT, type ProofBundle } from './bundle.js';
import { verifyProofBundle } from './verify.js';
import { KeyRing } from './keys.js';
import { parseSla } from './claims/latency.js';

const G1 = ['1', '2'] as [string, string];
const G2 = { x: ['1', '2'], y: ['3', '4'] } as { x: [string, string]; y: [string, string] };

function sample(): ProofBundle {
  const { minN, slots } = parseSla('p95<100ms,p99<500ms,min=10');
  return {
    format: BUNDLE_FORMAT,
    createdAt: '2026-11-21T00:00:00.000Z',
    claim: { kind: 'latency', version: 1, params: { periodStartUs: 0, periodEndUs: 1000, minN, slots }, outputs: { n: 12, slots: [{ valueUs: 1, exceeding: 0 }, { valueUs: 2, exceeding: 0 }, { valueUs: 3, exceeding: 0 }], compliant: true } },
    commitment: '123',
    proof: { system: 'groth16', curve: 'bn254', circuit: 'latency', circuitVersion: 1, capacity: 1024, vkHash: 'ab'.repeat(32), setup: 'dev', groth16: { ar: G1, bs: G2, krs: G1, commitments: [G1], commitmentPok: G1 } },
  };
}

const code = (c: string) => (e: unknown) => isVeriteeError(e) && e.code === c;

test('a well-formed bundle parses, from an object or JSON text', () => {
  assert.equal(parseProofBundle(sample()).claim.kind, 'latency');
  assert.equal(parseProofBundle(JSON.stringify(sample())).commitment, '123');
});

test('malformed bundles are refused with a message naming the field', () => {
  const cases: [string, (b: Record<string, any>) => void, string, RegExp][] = [
    ['unknown top-level field', (b) => (b.extra = 1), 'ZK_BUNDLE_INVALID', /extra|Unrecognized/i],
    ['missing proof', (b) => delete b.proof, 'ZK_BUNDLE_INVALID', /proof/],
    ['non-decimal commitment', (b) => (b.commitment = '0x12'), 'ZK_BUNDLE_INVALID', /commitment/],
    ['negative n', (b) => (b.claim.outputs.n = -1), 'ZK_BUNDLE_INVALID', /claim\.outputs\.n/],
    ['two slots', (b) => b.claim.params.slots.pop(), 'ZK_BUNDLE_INVALID', /slots/],
    ['unknown claim kind', (b) => (b.claim.kind = 'no-such-claim'), 'ZK_BUNDLE_INVALID', /kind/],
    ['bad vk hash', (b) => (b.proof.vkHash = 'xyz'), 'ZK_BUNDLE_INVALID', /vkHash/],
    ['future version', (b) => (b.format = 'veritee.proof/v9'), 'ZK_BUNDLE_VERSION', /v9/],
    ['not a bundle', (b) => (b.format = 'something'), 'ZK_BUNDLE_INVALID', /format/],
  ];
  for (const [name, mutate, c, re] of cases) {
    const b = JSON.parse(JSON.stringify(sample()));
    mutate(b);
    assert.throws(() => parseProofBundle(b), (e: unknown) => code(c)(e) && re.test((e as Error).message), name);
  }
  assert.throws(() => parseProofBundle('{not json'), code('ZK_BUNDLE_INVALID'));
  assert.throws(() => parseProofBundle('[]'), code('ZK_BUNDLE_INVALID'));
});

test('verification fails closed: malformed bundle and unknown key are failed checks', () => {
  const bad = verifyProofBundle({ format: BUNDLE_FORMAT }, { keys: new KeyRing() });
  assert.equal(bad.ok, false);
  assert.equal(bad.checks[0]!.name, 'bundle.format');
  const unknown = verifyProofBundle(sample(), { keys: new KeyRing(), allowDevSetup: true });
  assert.equal(unknown.ok, false);
  assert.equal(unknown.checks.find((c) => c.name === 'key.trusted')?.ok, false);
  // n above the capacity is refused by the claim check
  const b = sample();
  (b.claim.outputs as { n: number }).n = 5000;
  const r = verifyProofBundle(b, { keys: new KeyRing() });
  assert.equal(r.checks.find((c) => c.name === 'claim.params')?.ok, false);
});
