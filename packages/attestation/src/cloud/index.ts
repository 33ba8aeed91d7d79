/**
 * @module cloud
 * attestation-rs's cloud tags: gcp-snp / gcp-tdx (bare SNP / TDX evidence) and az-snp /
 * az-tdx (Azure HCL report + vTPM quote).
 */
export { azSnpVerifier, azTdxVerifier, gcpSnpVerifier, gcpTdxVerifier, cloudVerifier } from './verify.js';
export { CLOUD_PLATFORMS, hardwareOf, isCloudPlatform, providerOf } from './tags.js';
export { parseHclReport, parseRuntimeClaims, tdReportFields, HCL_RUNTIME_CLAIMS_OFFSET, type HclReport, type RuntimeClaims } from './hcl.js';
export { parseTpmsAttestQuote, parseTpmSignature, checkPcrDigest, type TpmsAttestQuote, type PcrSelection } from './tpm.js';
export { decodeAzureEvidence, type DecodedAzureEvidence } from './evidence.js';
