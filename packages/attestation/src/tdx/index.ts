/**
 * @module tdx
 * Intel TDX: parse and verify quotes v4/v5 with DCAP collateral.
 */
export { tdxVerifier, verifyTdxQuote, type TdxVerifyOptions } from './verify.js';
export { parseTdxQuote, parseTdReport, type TdReport, type TdxQuote } from './parse.js';
export { decodeTdxEnvelope, tdxEnvelope, tdxEnvelopeSchema } from './evidence.js';
export { parseLegacyAttestationHeader, MAX_LEGACY_QUOTE_BYTES } from './legacy-header.js';
export { buildTdxClaims } from './claims.js';
export { parseDcapCollateral, intelPcsCollateral, type DcapCollateral } from '../dcap/collateral.js';
