/**
 * @module verify-api
 * The browser-safe part of @veritee/zk: bundle format, claims, keys and the
 * TypeScript verifier (no Node built-ins).
 */
export * from './bundle.js';
export * from './verify.js';
export * from './keys.js';
export * from './claims/latency.js';
export * from './claims/records.js';
export * from './groth16/index.js';
