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
import { VeriteeError } from '@veritee/core';

export type Row = Record<string, unknown>;

export interface Querier {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface CpDb extends Querier {
  readonly backend: 'embedded' | 'postgres';
  tx<T>(fn: (q: Querier) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function num(v: unknown): number {
  if (v === null || v === undefined) return NaN;
  return typeof v === 'number' ? v : Number(v);
}

function storageError(e: unknown, what: string): VeriteeError {
  if (e instanceof VeriteeError) return e;
  return new VeriteeError('CP_STORAGE_FAILED', `${what}: ${String((e as Error)?.message ?? e).slice(0, 300)}`, undefined, { cause: e });
}

type Driver = { query: (sql: string, params?: unknown[]) => Promise<{ rows: unknown[] }> };

function wrap(d: Driver, what: string): Querier {
  return {
    async query<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
      try {
        return (await d.query(sql, params)).rows as T[];
      } catch (e) {
        throw storageError(e, what);
      }
    },
  };
}

/** The embedded backend (PGlite) at `dataDir`, or in memory when absent. */
export async function openEmbeddedLog(dataDir?: string): Promise<CpDb> {
  const { PGlite } = await import('@electric-sql/pglite');
  let pg: InstanceType<typeof PGlite>;
  try {
    pg = await PGlite.create(dataDir !== undefined ? { dataDir } : {});
  } catch (e) {
    throw storageError(e, `cannot open the embedded decision log${dataDir !== undefined ? ` at ${dataDir}` : ''}`);
  }
  const base = wrap(pg, 'embedded decision log error');
  const db: CpDb = {
    backend: 'embedded',
    query: base.query,
    async tx<T>(fn: (q: Querier) => Promise<T>): Promise<T> {
      let out: T;
      try {
        await pg.transaction(async (t) => {
          out = await fn(wrap(t, 'embedded decision log error'));
        });
      } catch (e) {
        throw storageError(e, 'embedded decision log transaction failed');
      }
      return out!;
    },
    close: () => pg.close(),
  };
  await migrate(db);
  return db;
}

/** PostgreSQL (`postgres://…` URL). */
export async function openPostgresLog(url: string, opts: { max?: number } = {}): Promise<CpDb> {
  const pgmod = await import('pg');
  const pool = new pgmod.default.Pool({ connectionString: url, max: opts.max ?? 10 });
  pool.on('error', () => undefined);
  const base = wrap(pool, 'PostgreSQL decision log error');
  const db: CpDb = {
    backend: 'postgres',
    query: base.query,
    async tx<T>(fn: (q: Querier) => Promise<T>): Promise<T> {
      let client;
      try {
        client = await pool.connect();
      } catch (e) {
        throw storageError(e, 'cannot reach PostgreSQL');
      }
      try {
        await client.query('BEGIN');
        const out = await fn(wrap(client, 'PostgreSQL decision log error'));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw storageError(e, 'PostgreSQL transaction failed');
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
  await migrate(db);
  return db;
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

async function migrate(db: CpDb): Promise<void> {
  await db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    for (const stmt of SCHEMA) await q.query(stmt);
  });
}
