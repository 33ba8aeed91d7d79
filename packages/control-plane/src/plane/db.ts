/**
 * @module plane/db
 * The decision log's SQL storage, on the KMS's approach: one SQL dialect (PostgreSQL's)
 * for two backends,
 *
 * - **embedded** (default): PGlite (PostgreSQL compiled to WASM), in-process, a directory
 *   on disk or in memory;
 * - **postgres**: a real PostgreSQL server through `pg` (production; several control
 *   plane replicas may share it).
 *
 * Statements use `$1…` placeholders and run unchanged on both. int8 columns come back as
 * strings from pg and numbers from PGlite: read them with {@link num}.
 *
 * INVARIANT: the schema is created idempotently under an advisory lock.
 */
import { migrateUnderLock, openEmbeddedSql, openPostgresSql, type SqlDb } from '@veritee/core/sql';

export { num, type Querier, type Row } from '@veritee/core/sql';

/** The decision log's database (the shared {@link SqlDb} of `@veritee/core/sql`). */
export type CpDb = SqlDb;

const storage = { code: 'CP_STORAGE_FAILED', label: 'decision log', migrate: (db: SqlDb) => migrate(db) } as const;

/** The embedded backend (PGlite) at `dataDir`, or in memory when absent. */
export function openEmbeddedLog(dataDir?: string): Promise<CpDb> {
  return openEmbeddedSql(dataDir, storage);
}

/** PostgreSQL (`postgres://…` URL). */
export function openPostgresLog(url: string, opts: { max?: number } = {}): Promise<CpDb> {
  return openPostgresSql(url, { ...storage, ...opts });
}

const MIGRATION_LOCK = 0x63706c6f67;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS cp_workloads (
     name text PRIMARY KEY,
     spec text NOT NULL,
     replicas integer NOT NULL,
     last_scaled_ms bigint NOT NULL,
     created_ms bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS cp_decisions (
     id text PRIMARY KEY,
     seq bigint NOT NULL,
     workload text NOT NULL,
     at_ms bigint NOT NULL,
     metric text NOT NULL,
     direction text NOT NULL,
     from_replicas integer NOT NULL,
     to_replicas integer NOT NULL,
     reason text NOT NULL,
     claim text NOT NULL,
     enact_state text NOT NULL,
     enact_attempts integer NOT NULL,
     enact_error text,
     enacted_ms bigint,
     next_attempt_ms bigint,
     proof_state text NOT NULL,
     proof_deadline_ms bigint NOT NULL,
     proof_error text,
     bundle text,
     verified_ms bigint,
     flag text,
     command text NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS cp_decisions_workload ON cp_decisions (workload, seq)`,
  `CREATE INDEX IF NOT EXISTS cp_decisions_enact ON cp_decisions (enact_state)`,
  `CREATE INDEX IF NOT EXISTS cp_decisions_proof ON cp_decisions (proof_state)`,
  `CREATE SEQUENCE IF NOT EXISTS cp_decision_seq`,
  // Every claim a decision rests on (one for a scale-out, one per rule for a scale-in), each
  // proven by its own job. Decisions recorded before this table existed have no rows here:
  // their single claim is read from cp_decisions.claim.
  `CREATE TABLE IF NOT EXISTS cp_decision_claims (
     decision_id text NOT NULL,
     idx integer NOT NULL,
     metric text NOT NULL,
     kind text NOT NULL,
     params text NOT NULL,
     expect_scale_out boolean NOT NULL,
     value bigint NOT NULL,
     threshold bigint NOT NULL,
     proof_state text NOT NULL,
     proof_error text,
     bundle text,
     verified_ms bigint,
     PRIMARY KEY (decision_id, idx))`,
];

function migrate(db: SqlDb): Promise<void> {
  return migrateUnderLock(db, MIGRATION_LOCK, SCHEMA);
}
