/**
 * @module service
 * The attestation HTTP service (`veritee attest serve`).
 */
export { buildAttestationServer, type AttestationServer, type AttestationServerOptions } from './server.js';
export { NonceStore, type IssuedNonce } from './nonce.js';
export type { ErrorBody } from './errors.js';
