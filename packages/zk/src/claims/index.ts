/**
 * @module claims
 * The claim kinds veritee can prove: one module each, listed in the catalogue
 * (registry.ts).
 */
export * from './claim.js';
export * from './registry.js';
export * from './expect.js';
export * from './latency.js';
export * from './records.js';
export * from './inclusion.js';
export * from './memory.js';
export * from './cpu.js';
export * from './disk.js';
export * from './gateway.js';
export * from './volume.js';
export * from './streamagg.js';
export * from './streamorder.js';
export * from './table.js';
