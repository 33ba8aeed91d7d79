/**
 * @module db
 * The order book and ledger storage: PGlite (PostgreSQL in WASM, in-process; the embedded
 * default) or a real PostgreSQL server through `pg`, one SQL dialect for both, opened by
 * `@veritee/core/sql` (as the KMS and the control plane are); the schema is the market's own.
 *
 * INVARIANT: schema creation is idempotent and serialised by an advisory lock.
 */
import { migrateUnderLock, openEmbeddedSql, openPostgresSql, type SqlDb } from '@veritee/core/sql';

export { num, type Querier, type Row, type SqlDb } from '@veritee/core/sql';

const storage = { code: 'MARKET_STORAGE_FAILED', label: 'market database', migrate: (db: SqlDb) => migrate(db) } as const;

/** Opens the embedded backend (PGlite) at `dataDir`, or in memory when absent. */
export function openEmbedded(dataDir?: string): Promise<SqlDb> {
  return openEmbeddedSql(dataDir, storage);
}

/** Connects to PostgreSQL (`postgres://…` URL). */
export function openPostgres(connection: string, opts: { max?: number } = {}): Promise<SqlDb> {
  return openPostgresSql(connection, { ...storage, ...opts });
}

const MIGRATION_LOCK = 0x6d61726b6574;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS market_markets (
     id text PRIMARY KEY,
     spec_digest text NOT NULL,
     proof_system text NOT NULL,
     vk text NOT NULL,
     vk_digest text NOT NULL,
     allowed text NOT NULL,
     collateral bigint NOT NULL,
     slash_penalty bigint NOT NULL,
     slash_reward_bp integer NOT NULL,
     created_ms bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS market_generators (
     id text PRIMARY KEY,
     identity_key text NOT NULL,
     max_concurrent integer NOT NULL,
     completed integer NOT NULL DEFAULT 0,
     slashed integer NOT NULL DEFAULT 0,
     created_ms bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS market_memberships (
     market_id text NOT NULL,
     generator_id text NOT NULL,
     cost bigint NOT NULL,
     proving_ms bigint NOT NULL,
     keys text,
     hpke_key text,
     measurement text,
     image_allowed boolean NOT NULL,
     joined_ms bigint NOT NULL,
     PRIMARY KEY (market_id, generator_id))`,
  `CREATE TABLE IF NOT EXISTS market_asks (
     id text PRIMARY KEY,
     market_id text NOT NULL,
     spec text NOT NULL,
     spec_digest text NOT NULL,
     requester_key text NOT NULL,
     start_price bigint NOT NULL,
     max_price bigint NOT NULL,
     start_ms bigint NOT NULL,
     end_ms bigint NOT NULL,
     expiry_ms bigint NOT NULL,
     proving_ms bigint NOT NULL,
     deadline_ms bigint NOT NULL,
     private boolean NOT NULL,
     sealed_digest text UNIQUE,
     status text NOT NULL,
     attempt integer NOT NULL DEFAULT 0,
     assigned_to text,
     assignment_ends_ms bigint,
     ever_assigned boolean NOT NULL DEFAULT false,
     payout bigint,
     assignment text,
     rewrapped text,
     verdict text,
     proof text,
     completed_by text,
     created_ms bigint NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS market_asks_open ON market_asks (status, created_ms)`,
  `CREATE INDEX IF NOT EXISTS market_asks_assignee ON market_asks (assigned_to)`,
  `CREATE TABLE IF NOT EXISTS market_exclusions (
     ask_id text NOT NULL,
     generator_id text NOT NULL,
     PRIMARY KEY (ask_id, generator_id))`,
  // Double-entry journal: every transfer moves `amount` from one account to another, once
  // (the key is unique: a retried settlement step is a no-op).
  `CREATE TABLE IF NOT EXISTS market_ledger (
     seq bigserial PRIMARY KEY,
     key text NOT NULL UNIQUE,
     kind text NOT NULL,
     from_acct text NOT NULL,
     to_acct text NOT NULL,
     amount bigint NOT NULL CHECK (amount >= 0),
     ask_id text,
     at_ms bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS market_balances (
     account text PRIMARY KEY,
     balance bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS market_events (
     seq bigserial PRIMARY KEY,
     id text NOT NULL UNIQUE,
     type text NOT NULL,
     market_id text,
     ask_id text,
     data text NOT NULL,
     at_ms bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS market_submissions (
     ask_id text NOT NULL,
     generator_id text NOT NULL,
     attempt integer NOT NULL,
     proof_digest text NOT NULL,
     ok boolean NOT NULL,
     at_ms bigint NOT NULL,
     PRIMARY KEY (ask_id, generator_id, attempt, proof_digest))`,
  // How far an outside consumer (the JetStream publisher) has carried the events.
  `CREATE TABLE IF NOT EXISTS market_cursors (
     name text PRIMARY KEY,
     seq bigint NOT NULL)`,
];

function migrate(db: SqlDb): Promise<void> {
  return migrateUnderLock(db, MIGRATION_LOCK, SCHEMA);
}
