/**
 * @module db
 * One SQL dialect (PostgreSQL's) for both storage backends:
 *
 * - **embedded** (default): PGlite, PostgreSQL compiled to WASM, in-process, no server;
 *   a directory on disk or in memory;
 * - **postgres**: a real PostgreSQL server through `pg` (production, several KMS
 *   instances sharing one database).
 *
 * Every statement the KMS runs is written once, with `$1…` placeholders, and runs on both.
 * Values cross the boundary as text, integers, booleans and bytea (`Uint8Array`); int8
 * columns are read back with {@link num} because the two drivers return them differently.
 *
 * INVARIANT: schema creation is idempotent and serialised by an advisory lock, so two
 * instances starting together on one database do not race.
 */
import { VeriteeError } from '@veritee/core';
import { migrateUnderLock, openEmbeddedSql, openPostgresSql, type PostgresConnection, type SqlDb } from '@veritee/core/sql';

export { num, type Querier, type Row, type SqlDb } from '@veritee/core/sql';

/** A bytea column as plain bytes (pg hands out Buffers). */
export function bytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new VeriteeError('KMS_STORAGE_FAILED', 'a bytea column did not come back as bytes');
}

const storage = { code: 'KMS_STORAGE_FAILED', label: 'database', migrate: (db: SqlDb) => migrate(db) } as const;

/** Opens the embedded backend (PGlite) at `dataDir`, or in memory when absent. */
export function openEmbedded(dataDir?: string): Promise<SqlDb> {
  return openEmbeddedSql(dataDir, storage);
}

/** Connects to PostgreSQL (`postgres://…` URL or libpq-style connection options). */
export function openPostgres(connection: PostgresConnection, opts: { max?: number } = {}): Promise<SqlDb> {
  return openPostgresSql(connection, { ...storage, ...opts });
}

/** Lock id for schema migration (any constant shared by every instance). */
const MIGRATION_LOCK = 0x7665726974;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS kms_meta (
     name text PRIMARY KEY,
     value text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS kms_sessions (
     id text PRIMARY KEY,
     tee text NOT NULL,
     nonce text NOT NULL,
     state text NOT NULL,
     created_ms bigint NOT NULL,
     expires_ms bigint NOT NULL,
     tee_pubkey text,
     token_jti text UNIQUE,
     claims text,
     measurement text,
     chip_id text,
     evidence_digest text,
     revoked_reason text)`,
  `ALTER TABLE kms_sessions ADD COLUMN IF NOT EXISTS pck_ppid text`,
  `CREATE INDEX IF NOT EXISTS kms_sessions_expiry ON kms_sessions (expires_ms)`,
  `CREATE INDEX IF NOT EXISTS kms_sessions_measurement ON kms_sessions (measurement)`,
  `CREATE TABLE IF NOT EXISTS kms_secret_meta (
     tenant text NOT NULL,
     path text NOT NULL,
     current_version integer NOT NULL,
     oldest_version integer NOT NULL,
     max_versions integer NOT NULL,
     cas_required boolean NOT NULL,
     custom_metadata text NOT NULL,
     created_ms bigint NOT NULL,
     updated_ms bigint NOT NULL,
     PRIMARY KEY (tenant, path))`,
  `CREATE TABLE IF NOT EXISTS kms_secret_versions (
     tenant text NOT NULL,
     path text NOT NULL,
     version integer NOT NULL,
     ciphertext bytea,
     created_ms bigint NOT NULL,
     deleted_ms bigint,
     destroyed boolean NOT NULL,
     PRIMARY KEY (tenant, path, version))`,
  `CREATE TABLE IF NOT EXISTS kms_policies (
     tenant text NOT NULL,
     prefix text NOT NULL,
     version integer NOT NULL,
     document text,
     created_ms bigint NOT NULL,
     PRIMARY KEY (tenant, prefix, version))`,
  `CREATE TABLE IF NOT EXISTS kms_audit (
     seq bigint PRIMARY KEY,
     at_ms bigint NOT NULL,
     tenant text NOT NULL,
     entry text NOT NULL,
     prev_hash text NOT NULL,
     hash text NOT NULL,
     mac text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS kms_tees (
     tenant text NOT NULL,
     tee_id text NOT NULL,
     kind text NOT NULL,
     platform text NOT NULL,
     measurement text NOT NULL,
     status text NOT NULL,
     requested_ms bigint NOT NULL,
     decided_by text,
     PRIMARY KEY (tenant, tee_id))`,
  `CREATE INDEX IF NOT EXISTS kms_audit_tenant ON kms_audit (tenant, seq)`,
  // Append-only at the database too: UPDATE and DELETE on the audit log raise. (An owner can
  // disable the trigger; the hash chain and MACs are what detect that.)
  `CREATE OR REPLACE FUNCTION kms_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'kms_audit is append-only'; END $$`,
  `DROP TRIGGER IF EXISTS kms_audit_append_only ON kms_audit`,
  `CREATE TRIGGER kms_audit_append_only BEFORE UPDATE OR DELETE ON kms_audit FOR EACH ROW EXECUTE FUNCTION kms_audit_append_only()`,
  `CREATE TABLE IF NOT EXISTS kms_transit_keys (
     tenant text NOT NULL,
     name text NOT NULL,
     latest_version integer NOT NULL,
     min_decryption_version integer NOT NULL,
     auto_rotate_ms bigint NOT NULL,
     revoked boolean NOT NULL,
     created_ms bigint NOT NULL,
     rotated_ms bigint NOT NULL,
     PRIMARY KEY (tenant, name))`,
  `CREATE TABLE IF NOT EXISTS kms_transit_versions (
     tenant text NOT NULL,
     name text NOT NULL,
     version integer NOT NULL,
     wrapped bytea NOT NULL,
     created_ms bigint NOT NULL,
     PRIMARY KEY (tenant, name, version))`,
  // Leases: what a session was granted that outlives a single answer (workload certificates).
  // Revoking the session revokes its leases; peers ask /kms/v0/ca/status/<serial>.
  `CREATE TABLE IF NOT EXISTS kms_leases (
     id text PRIMARY KEY,
     kind text NOT NULL,
     tenant text NOT NULL,
     resource text NOT NULL,
     session_id text NOT NULL,
     serial text UNIQUE,
     issued_ms bigint NOT NULL,
     expires_ms bigint NOT NULL,
     revoked_ms bigint,
     revoked_reason text)`,
  `CREATE INDEX IF NOT EXISTS kms_leases_session ON kms_leases (session_id)`,
];

function migrate(db: SqlDb): Promise<void> {
  return migrateUnderLock(db, MIGRATION_LOCK, SCHEMA);
}
