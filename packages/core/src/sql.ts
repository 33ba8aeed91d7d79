/**
 * @module sql
 * One SQL dialect (PostgreSQL's) on two storage backends, shared by every service that
 * keeps state (KMS, control plane, market):
 *
 * - **embedded** (the default): PGlite, PostgreSQL compiled to WASM, in-process, no
 *   server; a directory on disk or in memory;
 * - **postgres**: a real PostgreSQL server through `pg` (production; several instances of
 *   a service may share one database).
 *
 * Statements use `$1…` placeholders and run unchanged on both. int8 columns come back as
 * strings from pg and numbers from PGlite: read them with {@link num}. Every driver error
 * becomes a VeriteeError with the service's own storage code.
 *
 * INVARIANT: {@link migrateUnderLock} creates a schema idempotently under an advisory
 * lock, so two instances starting together on one database do not race.
 * Node-only: import from `@veritee/core/sql`.
 */
import { VeriteeError, type ErrorCode } from './errors.js';

export type Row = Record<string, unknown>;

/** Runs statements (on the pool, or inside one transaction). */
export interface Querier {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface SqlDb extends Querier {
  readonly backend: 'embedded' | 'postgres';
  /** Runs `fn` in one transaction (BEGIN … COMMIT, ROLLBACK on throw). */
  tx<T>(fn: (q: Querier) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** How a service's storage reports itself. */
export interface SqlOptions {
  /** The service's storage error code (KMS_STORAGE_FAILED, CP_STORAGE_FAILED, …). */
  code: ErrorCode;
  /** What the database is, in messages ("embedded database", "decision log" …). */
  label: string;
  /** Creates the service's schema (see {@link migrateUnderLock}); runs once on open. */
  migrate?: (db: SqlDb) => Promise<void>;
}

/** An int8 / numeric column as a JS number (pg: string, PGlite: number or bigint). */
export function num(v: unknown): number {
  if (v === null || v === undefined) return NaN;
  return typeof v === 'number' ? v : Number(v);
}

function storageError(code: ErrorCode, e: unknown, what: string): VeriteeError {
  if (e instanceof VeriteeError) return e;
  return new VeriteeError(code, `${what}: ${String((e as Error)?.message ?? e).slice(0, 300)}`, undefined, { cause: e });
}

type Driver = { query: (sql: string, params?: unknown[]) => Promise<{ rows: unknown[] }> };

function wrap(code: ErrorCode, d: Driver, what: string): Querier {
  return {
    async query<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
      try {
        return (await d.query(sql, params)).rows as T[];
      } catch (e) {
        throw storageError(code, e, what);
      }
    },
  };
}

/** Opens the embedded backend (PGlite) at `dataDir`, or in memory when absent, and migrates it. */
export async function openEmbeddedSql(dataDir: string | undefined, o: SqlOptions): Promise<SqlDb> {
  const { PGlite } = await import('@electric-sql/pglite');
  let pg: InstanceType<typeof PGlite>;
  try {
    pg = await PGlite.create(dataDir !== undefined ? { dataDir } : {});
  } catch (e) {
    throw storageError(o.code, e, `cannot open the embedded ${o.label}${dataDir !== undefined ? ` at ${dataDir}` : ''}`);
  }
  const base = wrap(o.code, pg, `embedded ${o.label} error`);
  const db: SqlDb = {
    backend: 'embedded',
    query: base.query,
    async tx<T>(fn: (q: Querier) => Promise<T>): Promise<T> {
      let out: T;
      try {
        await pg.transaction(async (t) => {
          out = await fn(wrap(o.code, t, `embedded ${o.label} error`));
        });
      } catch (e) {
        throw storageError(o.code, e, `embedded ${o.label} transaction failed`);
      }
      return out!;
    },
    close: async () => {
      await pg.close();
    },
  };
  if (o.migrate) await o.migrate(db);
  return db;
}

/** A `postgres://…` URL or libpq-style connection options. */
export type PostgresConnection = string | { host: string; port?: number; database?: string; user?: string; password?: string };

/** Connects to PostgreSQL and migrates the schema. */
export async function openPostgresSql(connection: PostgresConnection, o: SqlOptions & { max?: number }): Promise<SqlDb> {
  const pgmod = await import('pg');
  const config = typeof connection === 'string' ? { connectionString: connection } : connection;
  const pool = new pgmod.default.Pool({ ...config, max: o.max ?? 10 });
  // An idle client losing its server (restart, failover) must not crash the process.
  pool.on('error', () => undefined);
  const base = wrap(o.code, pool, `PostgreSQL ${o.label} error`);
  const db: SqlDb = {
    backend: 'postgres',
    query: base.query,
    async tx<T>(fn: (q: Querier) => Promise<T>): Promise<T> {
      let client;
      try {
        client = await pool.connect();
      } catch (e) {
        throw storageError(o.code, e, 'cannot reach PostgreSQL');
      }
      try {
        await client.query('BEGIN');
        const out = await fn(wrap(o.code, client, `PostgreSQL ${o.label} error`));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw storageError(o.code, e, 'PostgreSQL transaction failed');
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
  if (o.migrate) await o.migrate(db);
  return db;
}

/** Runs `statements` in one transaction holding the advisory lock `lockId`. */
export async function migrateUnderLock(db: SqlDb, lockId: number, statements: readonly string[]): Promise<void> {
  await db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [lockId]);
    for (const stmt of statements) await q.query(stmt);
  });
}
