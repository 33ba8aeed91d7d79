/**
 * @module nvidia
 * NVIDIA H100 (Hopper) GPU attestation: SPDM 1.1 GET_MEASUREMENTS evidence signed by the
 * device key, chained to the NVIDIA device identity root.
 */
export { nvidiaVerifier, verifyNvidia, verifySpdmSignature } from './verify.js';
export { parseSpdmEvidence, parseSpdmResponse, parseNvidiaOpaqueData, nvidiaOpaqueConfig } from './spdm-response.js';
export type { SpdmEvidence, SpdmMeasurementsResponse, SpdmMeasurementBlock, NvidiaOpaqueField } from './spdm-response.js';
export { parseSpdmRequest } from './spdm-request.js';
export type { SpdmGetMeasurementsRequest } from './spdm-request.js';
export { decodeNvidiaEvidence, NvidiaEnvelopeSchema } from './evidence.js';
export type { DecodedNvidiaEvidence, NvidiaEnvelope } from './evidence.js';
export { parsePemChain, verifyChain, checkValidityAt, leafIdentity } from './cert-chain.js';
export type { ParsedCert, ChainOutcome } from './cert-chain.js';
export { buildNvidiaClaims, nvidiaMeasurementDigest } from './claims.js';
export { NVIDIA_DEVICE_ROOT_PEM, NVIDIA_DEVICE_ROOT_SHA256, nvidiaDeviceRootDer } from './roots.js';
