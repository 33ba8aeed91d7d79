/**
 * @module verify
 * Verifies a proof bundle in TypeScript (Node or browser): schema, trusted key,
 * setup honesty, key/claim agreement, and the Groth16 pairing check over the
 * public inputs rebuilt from the claim.
 *
 * INVARIANT: `ok` is true only if every check passed. Verification fails closed:
 * an unknown key, a dev key without allowDevSetup, a malformed proof or a check
 * that could not run is a failed check.
 *
 * A verdict is relative to the parameters the prover chose (thresholds, SLA
 * bounds): pass `expect` to pin them, or read them from the result before
 * relying on the verdict.
 */
import { isVeriteeError, toEpochMs, VeriteeError, type ErrorCode } from '@veritee/core';
import { BUNDLE_FORMAT, parseProofBundle, rfc3339UtcToUs, type ProofBundle } from './bundle.js';
import { verifyGroth16 } from './groth16/index.js';
import { KeyRing, setupProblem, vkHash, type CeremonyPolicy, type VerificationKeyDocument } from './keys.js';
import { claimDefinition } from './claims/registry.js';
import { expectationMismatches, expectationTerms, resolveExpectation, type ClaimExpectation, type ExpectationTerm } from './claims/expect.js';

/** How far a bundle's createdAt may lie after the verification time, and before its period's end (clock skew). */
export const CREATED_AT_SKEW_MS = 5 * 60_000;

export interface BundleCheck {
  name: string;
  ok: boolean;
  detail: string;
  code?: ErrorCode;
}

export interface BundleVerification {
  ok: boolean;
  checks: BundleCheck[];
  bundle?: ProofBundle;
  /** The key that was used, when one was found. */
  key?: { hash: string; setup: 'dev' | 'ceremony' };
}

export interface VerifyBundleOptions {
  /** Keys the caller trusts. */
  keys: KeyRing;
  /** Accept keys from a dev trusted setup (forgeable by whoever ran it). */
  allowDevSetup?: boolean;
  /**
   * What a ceremony key must show (a contribution of yours, named contributors).
   * Ceremony keys with a consistent record are accepted without it.
   */
  ceremony?: CeremonyPolicy;
  /**
   * The claim parameters the verifier expects (claims/expect.ts), e.g.
   * `{ kind: 'latency', sla: 'p95<100ms,p99<500ms' }` or `'kind=memory,threshold=85'`.
   * A mismatch is a failed check `claim.expected` (ZK_EXPECTATION_MISMATCH); a
   * malformed expectation throws INPUT_INVALID (a caller error, not the bundle's).
   */
  expect?: ClaimExpectation;
  /**
   * Verification time. When given, the bundle's createdAt must not lie after it
   * (plus {@link CREATED_AT_SKEW_MS}). verifyBundle always passes its `at`.
   */
  at?: Date | string | number;
}

/** Rebuilds the circuit's public inputs from a bundle's claim. */
export function bundlePublicInputs(bundle: ProofBundle): bigint[] {
  const c = bundle.claim;
  const def = claimDefinition(c.kind, c.version);
  if (!def) throw new VeriteeError('ZK_BUNDLE_INVALID', `unknown claim "${c.kind}" v${c.version}`);
  return def.publicInputs(BigInt(bundle.commitment), c.params, c.outputs);
}

/**
 * Checks createdAt against the verification time and the claim's period: a bundle
 * is not made in the future, and a claim about a period is made after the period
 * ends (otherwise it speaks for time that had not happened yet). Both allow
 * {@link CREATED_AT_SKEW_MS} of clock skew. Returns the failure, or undefined.
 */
export function createdAtProblem(bundle: Pick<ProofBundle, 'claim' | 'createdAt'>, at?: Date | string | number): string | undefined {
  const us = rfc3339UtcToUs(bundle.createdAt);
  if (us === undefined) return `createdAt ${JSON.stringify(bundle.createdAt.slice(0, 40))} is not an RFC 3339 UTC time`;
  const skewUs = CREATED_AT_SKEW_MS * 1000;
  if (at !== undefined) {
    const atMs = toEpochMs(at, 'verification time');
    if (us > atMs * 1000 + skewUs) return `the bundle says it was made at ${bundle.createdAt}, after the verification time ${new Date(atMs).toISOString()} (more than ${CREATED_AT_SKEW_MS / 60_000} minutes of clock skew)`;
  }
  const def = claimDefinition(bundle.claim.kind);
  const period = def?.statement(bundle.claim.params, bundle.claim.outputs);
  if (period && period.periodEndUs > 0 && us + skewUs < period.periodEndUs) {
    return `the bundle says it was made at ${bundle.createdAt}, before the end of the period it reports on (${new Date(period.periodEndUs / 1000).toISOString()})`;
  }
  return undefined;
}

export function verifyProofBundle(input: unknown, opts: VerifyBundleOptions): BundleVerification {
  const checks: BundleCheck[] = [];
  const fail = (name: string, code: ErrorCode, detail: string) => checks.push({ name, ok: false, detail, code });
  const pass = (name: string, detail: string) => checks.push({ name, ok: true, detail });
  // A malformed expectation is the caller's error, whatever the bundle holds.
  const terms: ExpectationTerm[] | undefined = opts.expect !== undefined ? expectationTerms(opts.expect) : undefined;

  // 1. Format.
  let bundle: ProofBundle;
  try {
    bundle = parseProofBundle(input);
    pass('bundle.format', `well-formed ${BUNDLE_FORMAT} bundle`);
  } catch (e) {
    const err = isVeriteeError(e) ? e : new VeriteeError('ZK_BUNDLE_INVALID', String(e));
    fail('bundle.format', err.code, err.message);
    return { ok: false, checks };
  }

  // 2. Claim parameters are in range.
  try {
    claimDefinition(bundle.claim.kind, bundle.claim.version)!.validate(bundle.claim.params, bundle.claim.outputs, bundle.proof.capacity);
    pass('claim.params', 'parameters within the circuit ranges');
  } catch (e) {
    const err = isVeriteeError(e) ? e : new VeriteeError('ZK_BUNDLE_INVALID', String(e));
    fail('claim.params', err.code, err.message);
  }

  // 3. The parameters are the ones the verifier expects.
  if (terms) {
    const resolved = resolveExpectation(terms, bundle.claim.kind, 'expect');
    const bad = expectationMismatches(bundle.claim, resolved);
    if (bad.length) fail('claim.expected', 'ZK_EXPECTATION_MISMATCH', bad.map((m) => `${m.name}: expected ${m.expected}, found ${m.found}`).join('; '));
    else pass('claim.expected', `${terms.map((t) => t.key).join(', ')} as expected`);
  }

  // 4. Creation time.
  try {
    const problem = createdAtProblem(bundle, opts.at);
    if (problem) fail('bundle.created_at', 'ZK_BUNDLE_TIME_INVALID', problem);
    else pass('bundle.created_at', `made at ${bundle.createdAt}${opts.at === undefined ? ' (not compared with a verification time)' : ''}`);
  } catch (e) {
    const err = isVeriteeError(e) ? e : new VeriteeError('ZK_BUNDLE_TIME_INVALID', String(e));
    fail('bundle.created_at', err.code, err.message);
  }

  // 5. Trusted key.
  const doc: VerificationKeyDocument | undefined = opts.keys.get(bundle.proof.vkHash);
  if (!doc) {
    fail('key.trusted', 'ZK_VK_MISMATCH', `no trusted verification key with hash ${bundle.proof.vkHash} (${opts.keys.size} keys known); a key carried by the bundle is never trusted`);
    return { ok: false, checks, bundle };
  }
  pass('key.trusted', `verification key ${bundle.proof.vkHash.slice(0, 16)}… is trusted`);
  const result: BundleVerification = { ok: false, checks, bundle, key: { hash: vkHash(doc), setup: doc.setup.kind } };

  // 6. Setup honesty.
  const setupBad = setupProblem(doc, opts);
  if (setupBad) fail('key.setup', setupBad.code, setupBad.message);
  else if (doc.setup.kind === 'dev') pass('key.setup', 'DEV trusted setup accepted because allowDevSetup was given: whoever ran it can forge proofs');
  else pass('key.setup', `multi-party ceremony, transcript ${doc.setup.ceremony!.transcriptSha256.slice(0, 16)}…, ${doc.setup.ceremony!.contributions.length} contributions (${doc.setup.ceremony!.contributions.map((c) => c.name).join(', ')}) and beacon ${doc.setup.ceremony!.beacon.slice(0, 16)}…`);

  // 7. Key and claim describe the same circuit.
  const mismatches: string[] = [];
  if (doc.circuit !== bundle.claim.kind || doc.circuit !== bundle.proof.circuit) mismatches.push(`circuit ${doc.circuit} vs claim ${bundle.claim.kind}/${bundle.proof.circuit}`);
  if (doc.circuitVersion !== bundle.claim.version || doc.circuitVersion !== bundle.proof.circuitVersion) mismatches.push(`version ${doc.circuitVersion} vs ${bundle.claim.version}`);
  if (doc.capacity !== bundle.proof.capacity) mismatches.push(`capacity ${doc.capacity} vs ${bundle.proof.capacity}`);
  if (doc.setup.kind !== bundle.proof.setup) mismatches.push(`setup ${doc.setup.kind} vs bundle label ${bundle.proof.setup}`);
  if (mismatches.length) fail('key.matches_claim', 'ZK_VK_MISMATCH', `key and bundle disagree: ${mismatches.join('; ')}`);
  else pass('key.matches_claim', `${doc.circuit} v${doc.circuitVersion}, ${doc.capacity} records`);

  // 8. The proof.
  try {
    const ok = verifyGroth16(doc.groth16, bundle.proof.groth16, bundlePublicInputs(bundle));
    if (ok) pass('proof.groth16', 'Groth16 proof verifies against the claim (BN254 pairing, commitment proof of knowledge)');
    else fail('proof.groth16', 'ZK_PROOF_INVALID', 'the proof does not verify for these public inputs: an output, a parameter or the commitment differs from what was proven');
  } catch (e) {
    const err = isVeriteeError(e) ? e : new VeriteeError('ZK_PROOF_INVALID', String(e));
    fail('proof.groth16', err.code, err.message);
  }

  // 9. What binds the data (claims whose records are committed inside the proof).
  if (claimDefinition(bundle.claim.kind, bundle.claim.version)?.binding === 'bsb22') {
    pass('claim.binding', 'the proof binds the data through its BSB22 commitment; the records digest in "commitment" is bound to it only by the enclave signature (veritee audit recomputes both from the records and the salt)');
  }

  result.ok = checks.every((c) => c.ok);
  return result;
}
