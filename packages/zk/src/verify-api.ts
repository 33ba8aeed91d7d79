/**
 * @module verify-api
 * The browser-safe part of @veritee/zk: bundle format, claims, keys and the
 * TypeScript verifier (no Node built-ins).
 */
export * from './bundle.js';
export * from './verify.js';
export * from './keys.js';
export * from './claims/index.js';
export * from './groth16/index.js';
export * from './ceremony-chain.js';
