/**
 * @module attested
 * Binding proofs to attestation: the whole chain a verifier checks.
 *
 *   evidence  -> vendor root + policy      => the enclave key lives in a genuine TEE running M
 *   signature -> enclave key               => the commitment is what that TEE measured
 *   proof     -> trusted verification key  => the outputs were computed correctly from it
 *
 * THREAT MODEL: the bundle is produced outside the verifier's control. The enclave
 * key is trusted only because the evidence's report data equals
 * SHA-512("veritee.report-data/v1" || 0x00 || SHA-256(SPKI) || nonce) for that key;
 * the statement it signs (`veritee.statement/v2`, see {@link statementOf}) holds the
 * whole claim (kind, version, every public parameter and every output), the
 * commitment and the creation time, so a signed commitment cannot be reused for
 * another claim, parameter set, verdict, count, period or time, even if a circuit
 * accepted a forged witness under the honest commitment. The proof itself is not
 * signed: Groth16 proofs are malleable, and the proof is checked against the
 * signed claim. Simulated evidence carries its own anchors and proves nothing
 * about hardware: it is accepted only when the caller allows it.
 *
 * INVARIANT: `verifyBundle` returns ok only if every link verified, unless the
 * caller asked for `proofOnly`, in which case the result says the chain was skipped.
 */
import { createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { canonicalJsonBytes, fromBase64, isVeriteeError, toBase64Url, VeriteeError } from '@veritee/core';
import {
  anchorsFromJson,
  anchorsToJson,
  computeReportData,
  productionPolicy,
  publicKeyHash,
  SimulatedTee,
  verifyEvidence,
  type EvidenceEnvelope,
  type Policy,
} from '@veritee/attestation';
import type { ProofBundle } from './bundle.js';
import { claimDefinition } from './claims/registry.js';
import type { EnforcingImagePolicy } from './claims/claim.js';
import { verifyProofBundle, type BundleCheck, type BundleVerification, type VerifyBundleOptions } from './verify.js';

export const STATEMENT_TYPE = 'veritee.statement/v2';

/** What the enclave key signs for a bundle. */
export interface Statement {
  type: typeof STATEMENT_TYPE;
  /** The claim as the bundle carries it: kind, version, params, outputs. */
  claim: { kind: string; version: number; params: object; outputs: object };
  /** The data commitment, decimal. */
  commitment: string;
  /** The bundle's creation time, RFC 3339 UTC. */
  createdAt: string;
  /**
   * Claims that bind their data with the BSB22 commitment inside the proof
   * (`binding: 'bsb22'`, e.g. latency v2): that commitment, so the signature
   * ties the proven records to the digest in `commitment`.
   */
  proofCommitments?: [string, string][];
}

/** The statement of a bundle (the claim, commitment and creation time; never the proof bytes). */
export function statementOf(bundle: StatementSource): Statement {
  const def = claimDefinition(bundle.claim.kind, bundle.claim.version);
  if (!def) throw new VeriteeError('ZK_BUNDLE_INVALID', `unknown claim "${String(bundle.claim.kind).slice(0, 40)}" v${String(bundle.claim.version).slice(0, 10)}`);
  const { kind, version, params, outputs } = bundle.claim;
  const st: Statement = { type: STATEMENT_TYPE, claim: { kind, version, params, outputs }, commitment: bundle.commitment, createdAt: bundle.createdAt };
  if (def.binding === 'bsb22') {
    const cms = bundle.proof?.groth16.commitments;
    if (!cms || cms.length === 0) throw new VeriteeError('ZK_BUNDLE_INVALID', `a ${kind} v${version} bundle binds its records with the commitment inside its proof, and the proof carries none`);
    st.proofCommitments = cms.map(([x, y]) => [x, y]);
  }
  return st;
}

/** What a statement is made of: the claim, the commitment, createdAt and (for BSB22-bound claims) the proof. */
export type StatementSource = Pick<ProofBundle, 'claim' | 'commitment' | 'createdAt'> & { proof?: Pick<ProofBundle['proof'], 'groth16'> };

/**
 * The bytes the enclave key signs for a bundle: canonical JSON (sorted keys, no
 * whitespace) of {@link statementOf}. The claim's params and outputs are validated
 * by strict schemas before verification, so no field outside them can be added.
 */
export function statementBytes(bundle: StatementSource): Uint8Array {
  return canonicalJsonBytes(statementOf(bundle));
}

/** A signing key that lives in a TEE, with the evidence that binds it. */
export interface EnclaveSigner {
  /** SubjectPublicKeyInfo DER. */
  readonly publicKey: Uint8Array;
  readonly evidence: EvidenceEnvelope;
  /** Present for a simulated TEE: the anchors its evidence chains to. */
  readonly simulatedAnchors?: Record<string, unknown>;
  sign(message: Uint8Array): Uint8Array;
}

/**
 * An enclave key inside the simulated TEE (development only): a fresh P-256 key
 * whose hash is bound in the report data of simulated SNP or TDX evidence.
 */
export async function createSimulatedEnclave(
  opts: {
    platform?: 'snp' | 'tdx';
    tee?: SimulatedTee;
    measurement?: Uint8Array;
    debug?: boolean;
    /** Configuration the image was launched with: SNP HOST_DATA (32 bytes) or TDX MRCONFIGID (48 bytes), e.g. a component-tree root. */
    hostData?: Uint8Array;
  } = {},
): Promise<EnclaveSigner> {
  const platform = opts.platform ?? 'snp';
  const tee = opts.tee ?? (await SimulatedTee.create({ platforms: [platform] }));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const reportData = computeReportData({ publicKeyHash: publicKeyHash(spki) });
  const evidence =
    platform === 'snp'
      ? tee.evidence('snp', { reportData, debug: opts.debug === true, ...(opts.measurement ? { measurement: opts.measurement } : {}), ...(opts.hostData ? { hostData: opts.hostData } : {}) })
      : tee.evidence('tdx', { reportData, debug: opts.debug === true, ...(opts.measurement ? { mrtd: opts.measurement } : {}), ...(opts.hostData ? { mrConfigId: opts.hostData } : {}) });
  return signerFromKey(privateKey, spki, evidence, anchorsToJson(tee.anchors));
}

function signerFromKey(privateKey: KeyObject, spki: Uint8Array, evidence: EvidenceEnvelope, simulatedAnchors?: Record<string, unknown>): EnclaveSigner {
  return {
    publicKey: spki,
    evidence,
    ...(simulatedAnchors ? { simulatedAnchors } : {}),
    sign: (message) => new Uint8Array(nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  };
}

/** Signs the bundle's statement with the enclave key and attaches key, signature and evidence. */
export function attachAttestation<B extends StatementSource>(bundle: B, signer: EnclaveSigner): B & Required<Pick<ProofBundle, 'signature' | 'evidence'>> {
  const signature = { alg: 'ES256' as const, publicKey: toBase64Url(signer.publicKey), value: toBase64Url(signer.sign(statementBytes(bundle))) };
  const evidence = {
    envelope: signer.evidence as unknown as Record<string, unknown>,
    ...(signer.simulatedAnchors ? { simulatedAnchors: signer.simulatedAnchors } : {}),
  };
  return { ...bundle, signature, evidence };
}

/**
 * The strict production policy for bundles: every platform, no debug, no simulated
 * evidence, TDX UpToDate only, and the report data must bind the enclave key
 * (bundles are verified offline, so there is no verifier nonce to require).
 */
export function productionBundlePolicy(): Policy {
  const p = productionPolicy();
  return { ...p, reportData: { ...p.reportData, require: ['publicKeyHash'] } };
}

export interface VerifyAttestedBundleOptions extends VerifyBundleOptions {
  /** Attestation policy the evidence must satisfy. */
  policy: Policy;
  /** Verification time for certificates and collateral. */
  at: Date | string | number;
  /** Accept simulated evidence (its anchors come from the bundle). Default: the policy's allowSimulated. */
  allowSimulated?: boolean;
  /** Verify the proof alone and say so; the attestation chain is not checked. */
  proofOnly?: boolean;
  /**
   * Policies of images that enforce their component tree at boot (`veritee image
   * policy --enforcing`). An inclusion bundle is accepted only when the attested
   * measurement and host data are one of these: HOST_DATA / MRCONFIGID is chosen by
   * the host, so the root means something only if the measured image checks it.
   */
  imagePolicies?: readonly EnforcingImagePolicy[];
}

function spkiKey(der: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch (e) {
    throw new VeriteeError('ZK_BUNDLE_INVALID', `signature.publicKey is not a valid SubjectPublicKeyInfo: ${(e as Error).message}`);
  }
}

/**
 * Verifies the whole chain of a bundle: evidence (platform and policy checks,
 * with the report data bound to the enclave key), the enclave signature over the
 * statement, then the proof. Every failed link is reported.
 *
 * Pass the bundle as text (string or bytes) when it came from outside: text is
 * parsed strictly (duplicate keys refused), while an object the caller parsed with
 * `JSON.parse` has already lost a duplicated key's first value. Pass `expect` to
 * pin the claim's parameters; without it, the verdict is relative to the
 * parameters the prover chose (read them from `result.bundle.claim.params`).
 */
export async function verifyBundle(input: unknown, opts: VerifyAttestedBundleOptions): Promise<BundleVerification & { attested: boolean }> {
  const proof = verifyProofBundle(input, opts);
  const bundle = proof.bundle;
  if (!bundle) return { ...proof, attested: false };
  const chain: BundleCheck[] = [];
  const fail = (name: string, code: BundleCheck['code'], detail: string) => chain.push({ name, ok: false, detail, ...(code ? { code } : {}) });
  const pass = (name: string, detail: string) => chain.push({ name, ok: true, detail });

  if (opts.proofOnly) {
    pass('chain.skipped', 'proof-only verification was asked for: evidence and enclave signature NOT checked');
    const checks = [...chain, ...proof.checks];
    return { ...proof, checks, ok: checks.every((c) => c.ok), attested: false };
  }
  if (!bundle.signature || !bundle.evidence) {
    fail('chain.attestation', 'ZK_BUNDLE_UNATTESTED', `the bundle has no ${!bundle.evidence ? 'attestation evidence' : 'enclave signature'}: nothing ties the commitment to a TEE (ask for proof-only verification to check the proof alone)`);
    const checks = [...chain, ...proof.checks];
    return { ...proof, checks, ok: false, attested: false };
  }

  // 1. Evidence: genuine TEE, policy, and report data bound to the enclave key.
  let keyBytes: Uint8Array | undefined;
  try {
    keyBytes = fromBase64(bundle.signature.publicKey, 'signature.publicKey');
    spkiKey(keyBytes);
  } catch (e) {
    fail('enclave_key.format', isVeriteeError(e) ? e.code : 'ZK_BUNDLE_INVALID', (e as Error).message);
    keyBytes = undefined;
  }
  const allowSimulated = opts.allowSimulated ?? opts.policy.allowSimulated;
  const policy: Policy = allowSimulated && !opts.policy.allowSimulated ? { ...opts.policy, allowSimulated: true } : opts.policy;
  let evidenceOk = false;
  try {
    const anchors = allowSimulated && bundle.evidence.simulatedAnchors ? anchorsFromJson(bundle.evidence.simulatedAnchors) : undefined;
    const r = await verifyEvidence(bundle.evidence.envelope as unknown as EvidenceEnvelope, {
      policy,
      at: opts.at,
      ...(keyBytes ? { publicKeyHash: publicKeyHash(keyBytes) } : {}),
      ...(anchors ? { simulatedAnchors: anchors } : {}),
    });
    for (const c of r.checks) chain.push({ name: `evidence.${c.name}`, ok: c.ok, detail: c.detail, ...(c.code ? { code: c.code } : {}) });
    evidenceOk = r.ok;
    // A claim may also be checked against the evidence (inclusion: the image's host data holds the root, and the image enforces it).
    const evidence = { platform: r.platform, hostData: r.claims?.hostData, measurement: r.claims?.measurement };
    for (const ev of claimDefinition(bundle.claim.kind)?.evidence ?? []) {
      try {
        pass(ev.check, ev.verify(bundle, evidence, { imagePolicies: opts.imagePolicies ?? [] }));
      } catch (e) {
        const err = isVeriteeError(e) ? e : new VeriteeError(ev.code, String(e));
        fail(ev.check, err.code, err.message);
      }
    }
    if (r.ok) pass('enclave_key.bound', `the enclave key (SHA-256 of its SPKI) is bound in the report data of ${r.platform}${r.claims?.simulated ? ' (SIMULATED TEE)' : ''} evidence`);
    else fail('enclave_key.bound', 'ATTEST_POLICY_VIOLATION', 'the evidence did not verify, so the enclave key is not trusted');
  } catch (e) {
    const err = isVeriteeError(e) ? e : new VeriteeError('ATTEST_EVIDENCE_INVALID', String(e));
    fail('evidence', err.code, err.message);
  }

  // 2. The enclave key signed this statement.
  if (keyBytes) {
    try {
      const ok = nodeVerify('sha256', statementBytes(bundle), { key: spkiKey(keyBytes), dsaEncoding: 'ieee-p1363' }, fromBase64(bundle.signature.value, 'signature.value'));
      if (ok) pass('statement.signature', `the enclave key signed this ${bundle.claim.kind} v${bundle.claim.version} claim (parameters, outputs), commitment${claimDefinition(bundle.claim.kind, bundle.claim.version)?.binding === 'bsb22' ? ", the proof's BSB22 commitment" : ''} and createdAt${evidenceOk ? '' : ' — but the key is not trusted'}`);
      else fail('statement.signature', 'ZK_STATEMENT_SIGNATURE_INVALID', 'the enclave signature does not cover this claim (parameters and outputs), commitment and creation time: something was changed after signing, or another statement was signed');
    } catch (e) {
      fail('statement.signature', isVeriteeError(e) ? e.code : 'ZK_STATEMENT_SIGNATURE_INVALID', (e as Error).message);
    }
  }

  const checks = [...chain, ...proof.checks];
  const ok = checks.every((c) => c.ok);
  return { ...proof, checks, ok, attested: ok };
}
