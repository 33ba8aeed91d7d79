/**
 * @module @veritee/zk
 * Claims, proof bundles, the Go prover pool, and verification in TypeScript.
 * Browser code imports `@veritee/zk/verify`, which has no Node dependencies.
 */
export * from './verify-api.js';
export * from './keystore.js';
export * from './prover/process.js';
export * from './prover/pool.js';
export * from './prove.js';
export * from './attested.js';
export * from './audit.js';
