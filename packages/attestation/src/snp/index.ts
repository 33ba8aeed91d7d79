/**
 * @module snp
 * AMD SEV-SNP: report parser, VCEK/VLEK chain to the bundled AMD roots, verifier.
 */
export { snpVerifier, verifySnpEvidence } from './verify.js';
export {
  parseSnpReport,
  checkSnpReportFormat,
  decodeTcb,
  productFromCpuid,
  snpReportToJson,
  SNP_LAYOUT,
  SNP_REPORT_SIZE,
  SNP_SIGNED_LENGTH,
  SNP_MIN_VERSION,
  SNP_MAX_VERSION,
  type SnpReport,
  type SnpTcbVersion,
  type SnpGuestPolicy,
  type SnpPlatformInfo,
  type SnpSignerInfo,
} from './parse.js';
export { decodeSnpEvidence, SnpEnvelopeSchema, type DecodedSnpEvidence } from './evidence.js';
export { AMD_OID, parseAmdCert, readAmdExtensions, type AmdCert, type AmdExtensions } from './certs.js';
export { amdRoots, AMD_ROOT_FINGERPRINTS, SNP_PRODUCTS, type SnpProduct } from './roots.js';
