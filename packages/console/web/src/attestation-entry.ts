/**
 * The browser's `@veritee/attestation` (vite.config.mjs aliases the package name
 * here): the evidence verifier, policies, report-data binding and the simulated
 * TEE's anchors, without the package's Node-only parts (the HTTP service, result
 * tokens, policy files on disk). Same modules, same code as in Node.
 */
// @ts-nocheck — re-exports of compiled modules; types come from @veritee/attestation.
export { verifyEvidence, decodeEvidence, formatResult, platformVerifier, MAX_EVIDENCE_BYTES, PLATFORMS } from '@veritee-dist/attestation/dist/verify.js';
export { parsePolicy, policyId, productionPolicy, productionPolicyDocument, DEFAULT_POLICY } from '@veritee-dist/attestation/dist/policy.js';
export { computeReportData, publicKeyHash, REPORT_DATA_DOMAIN, REPORT_DATA_BYTES, BINDING_PART_BYTES } from '@veritee-dist/attestation/dist/report-data.js';
export { SimulatedTee, anchorsToJson, anchorsFromJson } from '@veritee-dist/attestation/dist/sim/index.js';
