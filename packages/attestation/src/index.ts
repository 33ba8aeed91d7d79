/**
 * @module @veritee/attestation
 * Verify SEV-SNP, TDX and NVIDIA evidence into one normalised claim set.
 */
export * from './types.js';
