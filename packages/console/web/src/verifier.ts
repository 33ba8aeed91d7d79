/**
 * The browser verifier: the same chain `veritee verify` checks (evidence → enclave
 * key → signature → proof), with the keys, policy and switches the user chose,
 * and the same announcements the CLI makes for its switches.
 */
import {
  formatExpectation,
  KeyRing,
  parseExpectationText,
  parseProofBundle,
  parseVerificationKeyText,
  vkHash,
  type BundleCheck,
  type ExpectationTerm,
  type ProofBundle,
  type VerificationKeyDocument,
} from '@veritee/zk/verify';
import { productionBundlePolicy, verifyBundle } from '@veritee/zk/attested';
import { parsePolicy, type Policy } from '@veritee/attestation';

/** Largest bundle the page reads (bundles are tens of KiB; evidence dominates). */
export const MAX_BUNDLE_CHARS = 16 * 1024 * 1024;

/**
 * The demo's policy (`veritee demo`): SNP/TDX, any measurement, report data bound to
 * the enclave key. The page takes its allowSimulated from the user's switch alone.
 */
export const DEMO_POLICY_YAML = `version: 1
name: demo-simulated
platforms: [snp, tdx]
allowSimulated: true
reportData: { require: [publicKeyHash] }
snp: { measurements: any }
tdx: { mrtd: any }
`;

export interface TrustedKey {
  hash: string;
  doc: VerificationKeyDocument;
  source: string;
}

export function parseKeyText(text: string, source: string): TrustedKey {
  const doc = parseVerificationKeyText(text, source);
  return { hash: vkHash(doc), doc, source };
}

export interface Choices {
  keys: TrustedKey[];
  policy: { kind: 'production' } | { kind: 'demo' } | { kind: 'custom'; text: string };
  allowDevSetup: boolean;
  allowSimulated: boolean;
  proofOnly: boolean;
  expect: string;
  /** RFC 3339, or empty for now. */
  at: string;
}

export interface Outcome {
  ok: boolean;
  attested: boolean;
  checks: BundleCheck[];
  announcements: string[];
  parameters?: string;
  bundle?: ProofBundle;
  policyName: string;
  at: string;
  ms: number;
}

export function policyOf(choice: Choices['policy']): Policy {
  if (choice.kind === 'production') return productionBundlePolicy();
  if (choice.kind === 'demo') return { ...parsePolicy(DEMO_POLICY_YAML), allowSimulated: false };
  return parsePolicy(choice.text);
}

/** Verifies a bundle given as text (parsed strictly: duplicate keys are refused). Throws only for the user's own inputs (policy, expectation, time). */
export async function verifyInBrowser(text: string, c: Choices): Promise<Outcome> {
  if (text.length > MAX_BUNDLE_CHARS) throw new Error(`the bundle is ${text.length} characters; the limit is ${MAX_BUNDLE_CHARS}`);
  const policy = policyOf(c.policy);
  const terms: ExpectationTerm[] = c.expect.trim() ? parseExpectationText(c.expect.trim(), 'expectation') : [];
  const at = c.at.trim() ? new Date(c.at.trim()) : new Date();
  if (Number.isNaN(at.getTime())) throw new Error(`verification time ${JSON.stringify(c.at.slice(0, 40))} is not a time (use RFC 3339, e.g. 2026-11-21T00:00:00Z)`);
  const ring = new KeyRing();
  for (const k of c.keys) ring.add(k.doc);

  const announcements: string[] = [];
  if (c.allowDevSetup) announcements.push('allow dev setup: proofs made with DEV keys are accepted; whoever ran a dev setup can forge them.');
  if (c.allowSimulated) announcements.push('allow simulated: evidence from the SIMULATED TEE is accepted; it proves nothing about hardware.');
  if (policy.allowSimulated && !c.allowSimulated) announcements.push(`the policy ${policy.name ?? ''} itself allows evidence from the SIMULATED TEE; it proves nothing about hardware.`);
  if (c.proofOnly) announcements.push('proof only: the attestation chain (evidence, enclave signature) is NOT checked.');
  const fromServer = c.keys.filter((k) => k.source.startsWith('console:'));
  if (fromServer.length) announcements.push(`${fromServer.length} key${fromServer.length > 1 ? 's' : ''} served by this console ${fromServer.length > 1 ? 'are' : 'is'} trusted: whoever runs the console chose ${fromServer.length > 1 ? 'them' : 'it'}. Load your own key files to verify without trusting it.`);
  let parameters: string | undefined;
  try {
    parameters = formatExpectation(parseProofBundle(text).claim);
  } catch {
    parameters = undefined; // the verifier reports the format problem as a failed check
  }
  if (!terms.length && parameters) {
    announcements.push(`no expectation: the verdict is relative to parameters the PROVER chose. Check them or pin them with: ${parameters.length > 160 ? parameters.slice(0, 157) + '...' : parameters}`);
  }
  const t0 = performance.now();
  const r = await verifyBundle(text, {
    keys: ring,
    policy,
    at,
    allowDevSetup: c.allowDevSetup,
    ...(c.allowSimulated ? { allowSimulated: true } : {}),
    proofOnly: c.proofOnly,
    ...(terms.length ? { expect: terms } : {}),
  });
  const ms = performance.now() - t0;
  return {
    ok: r.ok,
    attested: r.attested,
    checks: r.checks,
    announcements,
    ...(parameters ? { parameters } : {}),
    ...(r.bundle ? { bundle: r.bundle } : {}),
    policyName: policy.name ?? 'policy',
    at: at.toISOString(),
    ms,
  };
}
