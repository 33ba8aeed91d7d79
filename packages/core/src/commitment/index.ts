/**
 * @module commitment
 * Data commitments shared with the Go prover, bit for bit.
 */
export * from './field.js';
export * from './poseidon2.js';
export * from './latency.js';
export * from './inclusion.js';
export * from './telemetry.js';
export * from './memory.js';
export * from './cpu.js';
export * from './disk.js';
export * from './gateway.js';
