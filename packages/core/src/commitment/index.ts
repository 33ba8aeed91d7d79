/**
 * @module commitment
 * Data commitments shared with the Go prover, bit for bit.
 */
export * from './field.js';
export * from './poseidon2.js';
export * from './latency.js';
