export type { ProofSystem } from './proof-system.js';
export * from './router/index.js';
export * from './proof-systems/index.js';
