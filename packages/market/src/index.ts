export type { ProofSystem } from './proof-system.js';
