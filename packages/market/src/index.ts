/**
 * @module @veritee/market
 * A prover marketplace: markets per circuit, asks with deadlines and reverse-Dutch prices,
 * generators with stake and attested keys, a matching engine in a (simulated) TEE, escrow
 * and slashing on PGlite or PostgreSQL, a Fastify service, events over HTTP long poll and
 * NATS JetStream. See README.md.
 */
export type { ProofSystem } from './proof-system.js';
export * from './router/index.js';
export * from './proof-systems/index.js';
export * from './model.js';
export * from './crypto.js';
export * from './engine.js';
export { openEmbedded, openPostgres, type SqlDb, type Querier } from './db.js';
export * from './market.js';
export * from './server.js';
export * from './client.js';
export * from './events.js';
