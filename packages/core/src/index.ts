/**
 * @module @veritee/core
 * Shared foundations: errors with stable codes, bytes, canonical JSON, hashes,
 * the injected clock and the Poseidon2 data commitment (bit-identical to Go).
 */
export * from './errors.js';
export * from './bytes.js';
export * from './canonical-json.js';
export * from './strict-json.js';
export * from './quote.js';
export * from './yaml-depth.js';
export * from './clock.js';
export * from './hash.js';
export * from './commitment/index.js';
