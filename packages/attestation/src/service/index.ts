/**
 * @module service
 * The attestation HTTP service (`veritee attest serve`).
 */
export { buildAttestationServer, type AttestationServer, type AttestationServerOptions } from './server.js';
export { NonceStore, clientKey, DEFAULT_MAX_NONCES, DEFAULT_MAX_NONCES_PER_CLIENT, type IssuedNonce, type NonceStoreOptions } from './nonce.js';
export type { ErrorBody } from './errors.js';
