/**
 * Expectations over a claim's public parameters (claims/expect.ts), the strict
 * parsing of bundle text (duplicate keys), the v2 format and createdAt. No prover:
 * the bundles are well-formed samples; attested.test.ts runs the real chain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { BUNDLE_FORMAT, parseProofBundle, rfc3339UtcToUs, type ProofBundle } from './bundle.js';
import { createdAtProblem, verifyProofBundle } from './verify.js';
import { KeyRing } from './keys.js';
import { parseSla } from './claims/latency.js';
import { claimDefinition, claimKinds, expectationMismatches, expectationTerms, formatExpectation, parseExpectationText, resolveExpectation } from './claims/index.js';

const G1 = ['1', '2'] as [string, string];
const G2 = { x: ['1', '2'], y: ['3', '4'] } as { x: [string, string]; y: [string, string] };
const P0 = Date.parse('2025-06-01T00:00:00Z') * 1000;
const P1 = Date.parse('2025-06-02T00:00:00Z') * 1000;

function latency(sla = 'p95<100ms,p99<500ms,min=10'): ProofBundle {
  const { minN, slots } = parseSla(sla);
  return {
    format: BUNDLE_FORMAT,
    createdAt: '2025-06-02T00:01:00.000Z',
    claim: { kind: 'latency', version: 1, params: { periodStartUs: P0, periodEndUs: P1, minN, slots }, outputs: { n: 12, slots: [{ valueUs: 1, exceeding: 0 }, { valueUs: 2, exceeding: 0 }, { valueUs: 3, exceeding: 0 }], compliant: true } },
    commitment: '123',
    proof: { system: 'groth16', curve: 'bn254', circuit: 'latency', circuitVersion: 1, capacity: 1024, vkHash: 'ab'.repeat(32), setup: 'dev', groth16: { ar: G1, bs: G2, krs: G1, commitments: [G1], commitmentPok: G1 } },
  };
}

/** One claim of each kind, parameters only (what expectations look at). */
const claims: { kind: string; params: unknown }[] = [
  latency().claim,
  { kind: 'memory', params: { periodStartUs: P0, periodEndUs: P1, allocatedKiB: 16 * 2 ** 20, percentileBp: 9000, thresholdBp: 8500 } },
  { kind: 'cpu', params: { periodStartUs: P0, periodEndUs: P1, capacityMilli: 8000, percentileBp: 9500, thresholdBp: 8000, platformLimitBp: 1000 } },
  { kind: 'disk', params: { periodStartUs: P0, periodEndUs: P1, usageThresholdBp: 8500, inodeThresholdBp: 9000, queueThreshold: 32 } },
  { kind: 'gateway', params: { periodStartUs: P0, periodEndUs: P1, max5xxBp: 10, minAvailabilityBp: 9900, minConnectionBp: 9950, maxRateLimited: 0 } },
  { kind: 'inclusion', params: { root: '0a'.repeat(32), depth: 20, component: { name: 'usr/lib/a,b=c.so', sha256: 'cd'.repeat(32) } } },
  { kind: 'volume', params: { periodStartUs: P0, periodEndUs: P1, thresholdPerMin: 600 } },
  { kind: 'streamagg', params: { periodStartUs: P0, periodEndUs: P1, threshold: 2000 } },
  { kind: 'streamorder', params: { periodStartUs: P0, periodEndUs: P1, percentileBp: 9500 } },
];

const code = (c: string, re?: RegExp) => (e: unknown) => isVeriteeError(e) && e.code === c && (!re || re.test(e.message));
const mismatches = (claim: { kind: string; params: unknown }, expect: string) => expectationMismatches(claim, resolveExpectation(parseExpectationText(expect), claim.kind));

test('every claim kind has expectations, and a claim matches its own rendering', () => {
  assert.deepEqual(claimKinds().sort(), claims.map((c) => c.kind).sort());
  for (const c of claims) {
    const def = claimDefinition(c.kind)!;
    assert.ok(def.expectations.length > 0, c.kind);
    const text = formatExpectation(c);
    assert.ok(text.startsWith(`kind=${c.kind},`), text);
    assert.deepEqual(mismatches(c, text), [], `${c.kind}: ${text}`);
  }
  assert.equal(
    formatExpectation(claims[0]!),
    'kind=latency,period=2025-06-01T00:00:00Z/2025-06-02T00:00:00Z,sla=p95<100ms,p99<500ms,min=10',
  );
  assert.equal(formatExpectation(claims[1]!), `kind=memory,period=2025-06-01T00:00:00Z/2025-06-02T00:00:00Z,allocatedKiB=${16 * 2 ** 20},percentile=90,threshold=85`);
});

test('the examples of the documentation match, and each changed parameter is a named mismatch', () => {
  const [lat, mem, cpu, disk, gw, inc] = claims as [any, any, any, any, any, any];
  assert.deepEqual(mismatches(lat, 'sla=p95<100ms,p99<500ms,min=10'), []);
  assert.deepEqual(mismatches(lat, 'sla=p99<0.5s,p95<100000us,min=10'), [], 'order and units do not matter');
  assert.deepEqual(mismatches(lat, 'sla=p95<100ms,p99<500ms'), [{ name: 'sla', expected: 'p95<100ms,p99<500ms', found: 'p95<100ms,p99<500ms,min=10' }]);
  assert.deepEqual(mismatches(lat, 'kind=latency,sla=p95<50ms,p99<500ms,min=10')[0]!.expected, 'p95<50ms,p99<500ms,min=10');
  assert.deepEqual(mismatches(lat, 'sla=p95<100ms,min=10').length, 1, 'a bound missing from the expectation is a different SLA');
  assert.deepEqual(mismatches(lat, 'period=2025-06-01T00:00:00Z/2025-06-02T00:00:00Z'), []);
  assert.deepEqual(mismatches(lat, `period=${P0}/${P1 + 1}`)[0]!.name, 'period');
  assert.deepEqual(mismatches(lat, 'kind=memory'), [{ name: 'kind', expected: 'memory', found: 'latency' }]);

  assert.deepEqual(mismatches(mem, 'kind=memory,threshold=85'), []);
  assert.deepEqual(mismatches(mem, 'kind=memory,thresholdBp=8500,percentile=90%'), []);
  assert.deepEqual(mismatches(mem, 'threshold=80'), [{ name: 'threshold', expected: '80', found: '85' }]);
  assert.deepEqual(mismatches(mem, `allocatedKiB=${16 * 2 ** 20 + 1}`)[0]!.name, 'allocatedKiB');
  assert.deepEqual(mismatches(cpu, 'platformLimit=10,threshold=80,percentile=95,capacityMilli=8000'), []);
  assert.deepEqual(mismatches(cpu, 'platformLimit=10.01').map((m) => m.name), ['platformLimit']);
  assert.deepEqual(mismatches(disk, 'usageThreshold=85,inodeThreshold=90,queueThreshold=32'), []);
  assert.deepEqual(mismatches(disk, 'queueThreshold=33').map((m) => `${m.expected}/${m.found}`), ['33/32']);
  assert.deepEqual(mismatches(gw, 'max5xx=0.1,minAvailability=99,minConnection=99.5,maxRateLimited=0'), []);
  assert.deepEqual(mismatches(gw, 'minAvailability=90').map((m) => `${m.name} ${m.expected} ${m.found}`), ['minAvailability 90 99']);
  assert.deepEqual(mismatches(inc, `kind=inclusion,root=0x${'0A'.repeat(32)},sha256=${'cd'.repeat(32)},depth=20,name=usr/lib/a,b=c.so`), [], 'name runs to the end');
  assert.deepEqual(mismatches(inc, 'name=usr/lib/other.so').map((m) => m.name), ['name']);
});

test('malformed expectations, unknown and repeated keys are INPUT_INVALID naming the term', () => {
  const bad = (kind: string, text: string, re: RegExp) =>
    assert.throws(() => resolveExpectation(parseExpectationText(text), kind), code('INPUT_INVALID', re), `${kind}: ${text}`);
  bad('memory', '', /empty term/);
  bad('memory', 'threshold=85,', /empty term/);
  bad('memory', 'threshold', /"threshold" is not KEY=VALUE/);
  bad('memory', 'threshold=', /has no value/);
  bad('memory', 'threshold=abc', /"threshold=abc".*percentage/);
  bad('memory', 'threshold=85.555', /"threshold=85.555"/);
  bad('memory', 'threshold=101', /over 100 %/);
  bad('memory', 'thresholdBp=85.5', /basis points/);
  bad('memory', 'sla=p95<100ms', /memory claim has no parameter "sla"/);
  bad('latency', 'threshold=85', /latency claim has no parameter "threshold"/);
  bad('memory', 'threshold=85,threshold=85', /names threshold twice/);
  bad('memory', 'threshold=85,thresholdBp=8500', /names threshold twice/);
  bad('memory', 'kind=memory,kind=memory', /kind twice/);
  bad('memory', 'kind=nosuch', /no claim kind "nosuch"/);
  bad('latency', 'sla=p95 under 100ms', /"sla=p95 under 100ms"/);
  bad('latency', 'sla=p95<100ms,kind=latency', /sla=p95<100ms,kind=latency/); // sla runs to the end: write it last
  bad('latency', 'period=yesterday', /"period=yesterday"/);
  bad('memory', '9x=1', /not a key name/);
  bad('memory', 'allocatedKiB=-1', /not a non-negative integer/);
  // keys are those of the kind named by kind=, whatever the bundle is
  assert.deepEqual(expectationMismatches(claims[0]!, resolveExpectation(parseExpectationText('kind=memory,threshold=85'), 'latency')), [{ name: 'kind', expected: 'memory', found: 'latency' }]);
  // an echoed term is bounded and escaped
  assert.throws(() => resolveExpectation(parseExpectationText(`threshold=\u001b[31m${'9'.repeat(3000)}`), 'memory'), (e: unknown) => code('INPUT_INVALID', /\\x1b/)(e) && (e as Error).message.length < 400);
  // library object form: same reading, repeated parameter under two names refused
  assert.deepEqual(expectationTerms({ kind: 'memory', threshold: 85 }).map((t) => t.text), ['kind=memory', 'threshold=85']);
  assert.throws(() => resolveExpectation(expectationTerms({ threshold: 85, thresholdBp: 8500 }), 'memory'), code('INPUT_INVALID', /twice/));
  assert.throws(() => expectationTerms({ threshold: Number.NaN }), code('INPUT_INVALID'));
});

test('verifyProofBundle: expect is a named failed check on mismatch, and throws INPUT_INVALID when malformed', () => {
  const keys = new KeyRing();
  const ok = verifyProofBundle(latency(), { keys, expect: { sla: 'p95<100ms,p99<500ms,min=10' } });
  assert.equal(ok.checks.find((c) => c.name === 'claim.expected')?.ok, true);
  const bad = verifyProofBundle(latency(), { keys, expect: 'kind=latency,sla=p95<100ms' });
  const c = bad.checks.find((x) => x.name === 'claim.expected')!;
  assert.equal(c.ok, false);
  assert.equal(c.code, 'ZK_EXPECTATION_MISMATCH');
  assert.match(c.detail, /sla: expected p95<100ms, found p95<100ms,p99<500ms,min=10/);
  assert.throws(() => verifyProofBundle(latency(), { keys, expect: 'threshold=85' }), code('INPUT_INVALID', /latency claim has no parameter "threshold"/));
  assert.throws(() => verifyProofBundle('null', { keys, expect: 'threshold=' }), code('INPUT_INVALID'), 'malformed syntax throws whatever the bundle');
  assert.equal(verifyProofBundle(latency(), { keys }).checks.some((x) => x.name === 'claim.expected'), false);
});

test('duplicate keys in bundle text are refused (JSON.parse would keep the last value)', () => {
  const text = JSON.stringify(latency()).replace('"compliant":true', '"compliant":false,"compliant":true');
  assert.equal((JSON.parse(text) as ProofBundle & { claim: { outputs: { compliant: boolean } } }).claim.outputs.compliant, true, 'JSON.parse accepts it');
  assert.throws(() => parseProofBundle(text), code('ZK_BUNDLE_INVALID', /duplicate key "compliant"/));
  assert.throws(() => parseProofBundle(new TextEncoder().encode(text)), code('ZK_BUNDLE_INVALID', /duplicate key/));
  const r = verifyProofBundle(text, { keys: new KeyRing() });
  assert.deepEqual(r.checks.map((c) => `${c.name}:${c.ok}:${c.code}`), ['bundle.format:false:ZK_BUNDLE_INVALID']);
  const nested = JSON.stringify(latency()).replace('"format":', '"format":"x","format":');
  assert.throws(() => parseProofBundle(nested), code('ZK_BUNDLE_INVALID', /duplicate key "format"/));
  assert.throws(() => parseProofBundle('['.repeat(100_000)), code('ZK_BUNDLE_INVALID', /nesting/), 'deep nesting: no stack overflow');
});

test('null, arrays, retired and unknown versions are refused with their codes', () => {
  assert.throws(() => parseProofBundle('null'), code('ZK_BUNDLE_INVALID', /not null/));
  assert.throws(() => parseProofBundle(null), code('ZK_BUNDLE_INVALID'));
  assert.throws(() => parseProofBundle('[1]'), code('ZK_BUNDLE_INVALID', /an array/));
  assert.throws(() => parseProofBundle('"veritee.proof/v2"'), code('ZK_BUNDLE_INVALID'));
  assert.throws(() => parseProofBundle({ ...latency(), format: 'veritee.proof/v1' }), code('ZK_BUNDLE_VERSION', /re-prove/));
  assert.throws(() => parseProofBundle({ ...latency(), format: 'veritee.proof/v3' }), code('ZK_BUNDLE_VERSION', /v3/));
  const v4claim = latency();
  v4claim.claim.version = 4;
  assert.throws(() => parseProofBundle(v4claim), code('ZK_BUNDLE_VERSION', /version 4 is not supported/));
  // versions 1 and 2 (legacy) and 3 (current) of latency parse
  for (const v of [1, 2, 3]) assert.equal(parseProofBundle({ ...latency(), claim: { ...latency().claim, version: v } }).claim.version, v);
});

test('createdAt: RFC 3339 UTC, a real date, not in the future, not before the period ends', () => {
  assert.equal(rfc3339UtcToUs('2025-06-01T00:00:00Z'), P0);
  assert.equal(rfc3339UtcToUs('2025-06-01T00:00:00.123456789Z'), P0 + 123456);
  for (const bad of ['2025-02-30T00:00:00Z', '2025-06-01T24:00:00Z', '2025-06-01T00:00:60Z', '2025-06-01T00:00:00+01:00', '2025-06-01 00:00:00Z', '2025-06-01', '1748736000000', '2025-13-01T00:00:00Z', '2025-06-01T00:00:00.Z']) {
    assert.equal(rfc3339UtcToUs(bad), undefined, bad);
    assert.throws(() => parseProofBundle({ ...latency(), createdAt: bad }), code('ZK_BUNDLE_INVALID', /createdAt/), bad);
  }
  const b = latency();
  assert.equal(createdAtProblem(b, '2025-06-02T00:01:00Z'), undefined);
  assert.equal(createdAtProblem(b, '2025-06-01T23:57:00Z'), undefined, 'four minutes of clock skew are tolerated');
  assert.match(createdAtProblem(b, '2025-06-01T23:50:00Z')!, /after the verification time/);
  assert.match(createdAtProblem({ ...b, createdAt: '2025-06-01T12:00:00Z' }, '2025-07-01T00:00:00Z')!, /before the end of the period/);
  assert.equal(createdAtProblem({ ...b, createdAt: '2025-06-01T23:58:00Z' }, '2025-07-01T00:00:00Z'), undefined, 'skew at the period end');
  const r = verifyProofBundle(b, { keys: new KeyRing(), at: '2025-06-01T00:00:00Z' });
  assert.equal(r.checks.find((c) => c.name === 'bundle.created_at')?.code, 'ZK_BUNDLE_TIME_INVALID');
});
