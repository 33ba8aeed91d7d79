/**
 * @module secrets
 * Secrets in the shape of Vault's KV v2, scoped by tenant and path: every write makes a new
 * version; check-and-set (`cas`); soft delete / undelete; destroy (the ciphertext is wiped);
 * metadata (`max_versions`, `cas_required`, `custom_metadata`); the oldest versions are
 * dropped beyond `max_versions`.
 *
 * Values are JSON objects (`{"password": "…"}`), stored AES-256-GCM-encrypted under the
 * root-derived `secrets` key with AAD `secret|<tenant>|<path>|<version>`.
 *
 * INVARIANT: every read-modify-write runs in one transaction holding the metadata row lock
 * (`SELECT … FOR UPDATE`), so two KMS instances cannot assign one version twice.
 */
import { utf8, fromUtf8, VeriteeError, quoteInput } from '@veritee/core';
import { num, bytes, type Querier, type SqlDb } from './db.js';
import type { Keyring } from './rootkey.js';

export const DEFAULT_MAX_VERSIONS = 10;
const MAX_PATH = 512;
const MAX_VALUE_BYTES = 64 * 1024;

export interface SecretVersionMeta {
  version: number;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface SecretMetadata {
  current_version: number;
  oldest_version: number;
  max_versions: number;
  cas_required: boolean;
  custom_metadata: Record<string, string>;
  created_time: string;
  updated_time: string;
  versions: Record<string, SecretVersionMeta>;
}

export interface SecretRead {
  data: Record<string, unknown>;
  metadata: SecretVersionMeta & { custom_metadata: Record<string, string> };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Checks a tenant name (also the KBS repository). */
export function checkTenant(tenant: string): string {
  if (!NAME.test(tenant)) throw new VeriteeError('INPUT_INVALID', `tenant ${quoteInput(tenant, 70)} must be 1-64 of A-Z a-z 0-9 . _ - (not starting with . _ -)`);
  return tenant;
}

/** Checks a secret path: segments of the tenant-name alphabet separated by single slashes. */
export function checkPath(path: string): string {
  if (path.length === 0 || path.length > MAX_PATH || !path.split('/').every((s) => NAME.test(s))) {
    throw new VeriteeError('INPUT_INVALID', `secret path ${quoteInput(path, 70)} must be /-separated segments of A-Z a-z 0-9 . _ - (at most ${MAX_PATH} characters)`);
  }
  return path;
}

const iso = (ms: unknown): string => (ms === null || ms === undefined ? '' : new Date(num(ms)).toISOString());

function notFound(tenant: string, path: string, version?: number): VeriteeError {
  return new VeriteeError('KMS_RESOURCE_NOT_FOUND', `no secret ${tenant}/${path}${version !== undefined ? ` version ${version}` : ''}`);
}

export class SecretStore {
  constructor(
    private readonly db: SqlDb,
    private readonly keys: Keyring,
    private readonly now: () => number,
  ) {}

  private aad(tenant: string, path: string, version: number): string {
    return `secret|${tenant}|${path}|${version}`;
  }

  /** Writes a new version. `cas`: the version the caller expects to be current (0 = must not exist). */
  async put(tenant: string, path: string, data: Record<string, unknown>, opts: { cas?: number } = {}): Promise<SecretVersionMeta> {
    checkTenant(tenant);
    checkPath(path);
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new VeriteeError('INPUT_INVALID', 'secret data must be a JSON object');
    const plain = utf8(JSON.stringify(data));
    if (plain.length > MAX_VALUE_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `secret value is ${plain.length} bytes; at most ${MAX_VALUE_BYTES}`);
    const now = this.now();
    return this.db.tx(async (q) => {
      await q.query(
        `INSERT INTO kms_secret_meta (tenant, path, current_version, oldest_version, max_versions, cas_required, custom_metadata, created_ms, updated_ms)
         VALUES ($1, $2, 0, 0, $3, false, '{}', $4, $4) ON CONFLICT (tenant, path) DO NOTHING`,
        [tenant, path, DEFAULT_MAX_VERSIONS, now],
      );
      const [meta] = await q.query('SELECT * FROM kms_secret_meta WHERE tenant = $1 AND path = $2 FOR UPDATE', [tenant, path]);
      const current = num(meta!['current_version']);
      if (meta!['cas_required'] === true && opts.cas === undefined) {
        throw new VeriteeError('KMS_CAS_MISMATCH', `secret ${tenant}/${path} requires check-and-set (cas) on every write`);
      }
      if (opts.cas !== undefined && opts.cas !== current) {
        throw new VeriteeError('KMS_CAS_MISMATCH', `check-and-set failed for ${tenant}/${path}: expected version ${opts.cas}, current is ${current}`);
      }
      const version = current + 1;
      await q.query(
        'INSERT INTO kms_secret_versions (tenant, path, version, ciphertext, created_ms, deleted_ms, destroyed) VALUES ($1, $2, $3, $4, $5, NULL, false)',
        [tenant, path, version, this.keys.seal('secrets', this.aad(tenant, path, version), plain), now],
      );
      const maxVersions = num(meta!['max_versions']);
      let oldest = Math.max(num(meta!['oldest_version']), 1);
      if (version - oldest + 1 > maxVersions) {
        oldest = version - maxVersions + 1;
        await q.query('DELETE FROM kms_secret_versions WHERE tenant = $1 AND path = $2 AND version < $3', [tenant, path, oldest]);
      }
      await q.query('UPDATE kms_secret_meta SET current_version = $3, oldest_version = $4, updated_ms = $5 WHERE tenant = $1 AND path = $2', [
        tenant,
        path,
        version,
        oldest,
        now,
      ]);
      return { version, created_time: iso(now), deletion_time: '', destroyed: false };
    });
  }

  /** Reads a version (default: current). Deleted or destroyed versions are not found. */
  async get(tenant: string, path: string, version?: number): Promise<SecretRead> {
    checkTenant(tenant);
    checkPath(path);
    const [meta] = await this.db.query('SELECT * FROM kms_secret_meta WHERE tenant = $1 AND path = $2', [tenant, path]);
    if (!meta || num(meta['current_version']) === 0) throw notFound(tenant, path);
    const v = version ?? num(meta['current_version']);
    const [row] = await this.db.query('SELECT * FROM kms_secret_versions WHERE tenant = $1 AND path = $2 AND version = $3', [tenant, path, v]);
    if (!row || row['deleted_ms'] !== null || row['destroyed'] === true || row['ciphertext'] === null) throw notFound(tenant, path, v);
    const plain = this.keys.open('secrets', this.aad(tenant, path, v), bytes(row['ciphertext']));
    return {
      data: JSON.parse(fromUtf8(plain)) as Record<string, unknown>,
      metadata: { version: v, created_time: iso(row['created_ms']), deletion_time: '', destroyed: false, custom_metadata: JSON.parse(String(meta['custom_metadata'])) as Record<string, string> },
    };
  }

  private async versionsOp(tenant: string, path: string, versions: number[] | undefined, op: (q: Querier, vs: number[]) => Promise<void>): Promise<void> {
    checkTenant(tenant);
    checkPath(path);
    await this.db.tx(async (q) => {
      const [meta] = await q.query('SELECT * FROM kms_secret_meta WHERE tenant = $1 AND path = $2 FOR UPDATE', [tenant, path]);
      if (!meta) throw notFound(tenant, path);
      const vs = versions ?? [num(meta['current_version'])];
      if (!vs.every((v) => Number.isInteger(v) && v > 0)) throw new VeriteeError('INPUT_INVALID', 'versions must be positive integers');
      await op(q, vs);
      await q.query('UPDATE kms_secret_meta SET updated_ms = $3 WHERE tenant = $1 AND path = $2', [tenant, path, this.now()]);
    });
  }

  /** Soft-deletes versions (default: the current one); undelete restores them. */
  async delete(tenant: string, path: string, versions?: number[]): Promise<void> {
    await this.versionsOp(tenant, path, versions, async (q, vs) => {
      await q.query('UPDATE kms_secret_versions SET deleted_ms = $4 WHERE tenant = $1 AND path = $2 AND version = ANY($3::int[]) AND deleted_ms IS NULL', [tenant, path, vs, this.now()]);
    });
  }

  async undelete(tenant: string, path: string, versions: number[]): Promise<void> {
    await this.versionsOp(tenant, path, versions, async (q, vs) => {
      await q.query('UPDATE kms_secret_versions SET deleted_ms = NULL WHERE tenant = $1 AND path = $2 AND version = ANY($3::int[]) AND NOT destroyed', [tenant, path, vs]);
    });
  }

  /** Destroys versions for good: the ciphertext is overwritten with NULL. */
  async destroy(tenant: string, path: string, versions: number[]): Promise<void> {
    await this.versionsOp(tenant, path, versions, async (q, vs) => {
      await q.query('UPDATE kms_secret_versions SET ciphertext = NULL, destroyed = true WHERE tenant = $1 AND path = $2 AND version = ANY($3::int[])', [tenant, path, vs]);
    });
  }

  async metadata(tenant: string, path: string): Promise<SecretMetadata> {
    checkTenant(tenant);
    checkPath(path);
    const [meta] = await this.db.query('SELECT * FROM kms_secret_meta WHERE tenant = $1 AND path = $2', [tenant, path]);
    if (!meta) throw notFound(tenant, path);
    const rows = await this.db.query('SELECT version, created_ms, deleted_ms, destroyed FROM kms_secret_versions WHERE tenant = $1 AND path = $2 ORDER BY version', [tenant, path]);
    const versions: Record<string, SecretVersionMeta> = {};
    for (const r of rows) {
      const v = num(r['version']);
      versions[String(v)] = { version: v, created_time: iso(r['created_ms']), deletion_time: iso(r['deleted_ms']), destroyed: r['destroyed'] === true };
    }
    return {
      current_version: num(meta['current_version']),
      oldest_version: num(meta['oldest_version']),
      max_versions: num(meta['max_versions']),
      cas_required: meta['cas_required'] === true,
      custom_metadata: JSON.parse(String(meta['custom_metadata'])) as Record<string, string>,
      created_time: iso(meta['created_ms']),
      updated_time: iso(meta['updated_ms']),
      versions,
    };
  }

  /** Sets metadata (creating the entry if needed). Lowering max_versions drops the oldest versions. */
  async setMetadata(tenant: string, path: string, m: { max_versions?: number; cas_required?: boolean; custom_metadata?: Record<string, string> }): Promise<void> {
    checkTenant(tenant);
    checkPath(path);
    if (m.max_versions !== undefined && (!Number.isInteger(m.max_versions) || m.max_versions < 1 || m.max_versions > 1000)) {
      throw new VeriteeError('INPUT_INVALID', 'max_versions must be an integer from 1 to 1000');
    }
    const now = this.now();
    await this.db.tx(async (q) => {
      await q.query(
        `INSERT INTO kms_secret_meta (tenant, path, current_version, oldest_version, max_versions, cas_required, custom_metadata, created_ms, updated_ms)
         VALUES ($1, $2, 0, 0, $3, false, '{}', $4, $4) ON CONFLICT (tenant, path) DO NOTHING`,
        [tenant, path, DEFAULT_MAX_VERSIONS, now],
      );
      const [meta] = await q.query('SELECT * FROM kms_secret_meta WHERE tenant = $1 AND path = $2 FOR UPDATE', [tenant, path]);
      const maxVersions = m.max_versions ?? num(meta!['max_versions']);
      const current = num(meta!['current_version']);
      let oldest = num(meta!['oldest_version']);
      if (current > 0 && current - Math.max(oldest, 1) + 1 > maxVersions) {
        oldest = current - maxVersions + 1;
        await q.query('DELETE FROM kms_secret_versions WHERE tenant = $1 AND path = $2 AND version < $3', [tenant, path, oldest]);
      }
      await q.query(
        'UPDATE kms_secret_meta SET max_versions = $3, cas_required = $4, custom_metadata = $5, oldest_version = $6, updated_ms = $7 WHERE tenant = $1 AND path = $2',
        [tenant, path, maxVersions, m.cas_required ?? meta!['cas_required'] === true, JSON.stringify(m.custom_metadata ?? JSON.parse(String(meta!['custom_metadata']))), oldest, now],
      );
    });
  }

  /** Deletes the secret with all versions and metadata. */
  async deleteAll(tenant: string, path: string): Promise<void> {
    checkTenant(tenant);
    checkPath(path);
    await this.db.tx(async (q) => {
      await q.query('DELETE FROM kms_secret_versions WHERE tenant = $1 AND path = $2', [tenant, path]);
      const r = await q.query('DELETE FROM kms_secret_meta WHERE tenant = $1 AND path = $2 RETURNING path', [tenant, path]);
      if (r.length === 0) throw notFound(tenant, path);
    });
  }

  /** Paths of a tenant under `prefix` (no values). */
  async list(tenant: string, prefix = ''): Promise<string[]> {
    checkTenant(tenant);
    const rows = await this.db.query('SELECT path FROM kms_secret_meta WHERE tenant = $1 AND left(path, length($2)) = $2 ORDER BY path', [tenant, prefix]);
    return rows.map((r) => String(r['path']));
  }
}
