/**
 * @module @veritee/attestation
 * Verify SEV-SNP, TDX and NVIDIA evidence (and attestation-rs's cloud variants az-snp,
 * az-tdx, gcp-snp, gcp-tdx) into one normalised claim set, appraise it
 * against a policy, and issue an EAR result token.
 *
 * @example
 * import { verifyEvidence, loadPolicy } from '@veritee/attestation';
 * const result = await verifyEvidence(envelopeJson, { policy: loadPolicy('prod.yaml'), at: new Date(), nonce });
 */
export * from './types.js';

// one flow: evidence -> checks -> verdict
export {
  verifyEvidence,
  decodeEvidence,
  formatResult,
  platformVerifier,
  MAX_EVIDENCE_BYTES,
  PLATFORMS,
  type AttestationResult,
  type AppraisalStatus,
  type EvidenceInput,
  type TrustworthinessVector,
  type VerifyEvidenceOptions,
} from './verify.js';

// policy and report-data binding
export {
  parsePolicy,
  loadPolicy,
  loadPolicyDir,
  policyId,
  productionPolicy,
  productionPolicyDocument,
  DEFAULT_POLICY,
  MAX_POLICY_BYTES,
  SNP_TCB_COMPONENTS,
  TDX_ACCEPTABLE_STATUSES,
  type Policy,
  type PolicyDocument,
  type TdxTcbStatus,
} from './policy.js';
export {
  computeReportData,
  computeSpdmNonce,
  publicKeyHash,
  REPORT_DATA_DOMAIN,
  REPORT_DATA_BYTES,
  BINDING_PART_BYTES,
  type ReportDataInputs,
} from './report-data.js';

// result token (EAR / JWT ES256)
export {
  createResultSigner,
  loadResultSigner,
  exportSignerJwk,
  issueResultToken,
  verifyResultToken,
  resultJwks,
  tokenAffirms,
  EAR_PROFILE,
  DEFAULT_TOKEN_TTL_SECONDS,
  type ResultSigner,
  type JsonWebKeySet,
  type EarClaimsSet,
  type EarSubmod,
  type ResultTokenCheck,
} from './token.js';

// service and continuous re-attestation
export { buildAttestationServer, NonceStore, type AttestationServer, type AttestationServerOptions, type ErrorBody } from './service/index.js';
export {
  ReattestationScheduler,
  reasonsFor,
  type FailureReason,
  type ReattestTarget,
  type ReattestationOptions,
  type ReattestFailedEvent,
  type ReattestVerifiedEvent,
  type ReattestRecoveredEvent,
  type TargetState,
  type Timers,
} from './reattest.js';

// simulated TEE (development only)
export { SimulatedTee, anchorsToJson, anchorsFromJson, type SimulatedTeeOptions } from './sim/index.js';

// platform verifiers and parsers
export { snpVerifier, parseSnpReport } from './snp/index.js';
export { tdxVerifier, parseTdxQuote, parseLegacyAttestationHeader } from './tdx/index.js';
export { nvidiaVerifier, parseSpdmEvidence } from './nvidia/index.js';
export {
  azSnpVerifier,
  azTdxVerifier,
  gcpSnpVerifier,
  gcpTdxVerifier,
  cloudVerifier,
  CLOUD_PLATFORMS,
  hardwareOf,
  isCloudPlatform,
  parseHclReport,
  parseRuntimeClaims,
  parseTpmsAttestQuote,
  type HclReport,
  type TpmsAttestQuote,
} from './cloud/index.js';
