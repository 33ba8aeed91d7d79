/**
 * @module registry
 * TEE registry: which TEEs belong to which tenant. A TEE asks to join a tenant by attesting
 * (its identity comes from the verified evidence: the SEV-SNP chip id when the report
 * carries one, else the SHA-256 of its attested instance key), and a tenant admin approves
 * it. Policy rules with `"registered": true` pass only for TEEs approved in that tenant.
 */
import { canonicalJson, sha256, toHex, utf8, VeriteeError } from '@veritee/core';
import { num, type SqlDb } from './db.js';
import { checkTenant } from './secrets.js';
import type { AttestedSession } from './kms.js';

export interface RegisteredTee {
  teeId: string;
  kind: 'chip-id' | 'instance-key';
  platform: string;
  measurement: string;
  status: 'pending' | 'approved' | 'revoked';
  requested: string;
  decidedBy?: string;
}

/** The identity of the TEE behind a session. */
export function teeIdentity(session: AttestedSession): { teeId: string; kind: 'chip-id' | 'instance-key' } {
  const chip = session.claims.chipId;
  if (chip && !/^0*$/.test(chip)) return { teeId: `chip:${chip.toLowerCase()}`, kind: 'chip-id' };
  return { teeId: `key:${toHex(sha256(utf8(canonicalJson(session.teePubkey))))}`, kind: 'instance-key' };
}

export class TeeRegistry {
  constructor(
    private readonly db: SqlDb,
    private readonly now: () => number,
  ) {}

  /** Records the session's TEE as pending for `tenant` (idempotent); returns its entry. */
  async request(tenant: string, session: AttestedSession): Promise<RegisteredTee> {
    checkTenant(tenant);
    const { teeId, kind } = teeIdentity(session);
    await this.db.query(
      `INSERT INTO kms_tees (tenant, tee_id, kind, platform, measurement, status, requested_ms) VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (tenant, tee_id) DO NOTHING`,
      [tenant, teeId, kind, session.claims.platform, session.claims.measurement, this.now()],
    );
    return (await this.list(tenant)).find((t) => t.teeId === teeId)!;
  }

  async decide(tenant: string, teeId: string, status: 'approved' | 'revoked', by: string): Promise<void> {
    checkTenant(tenant);
    const r = await this.db.query('UPDATE kms_tees SET status = $3, decided_by = $4 WHERE tenant = $1 AND tee_id = $2 RETURNING tee_id', [tenant, teeId, status, by.slice(0, 100)]);
    if (r.length === 0) throw new VeriteeError('KMS_RESOURCE_NOT_FOUND', `no TEE ${teeId.slice(0, 80)} registered to ${tenant}`);
  }

  async list(tenant: string): Promise<RegisteredTee[]> {
    const rows = await this.db.query('SELECT * FROM kms_tees WHERE tenant = $1 ORDER BY requested_ms', [tenant]);
    return rows.map((r) => ({
      teeId: String(r['tee_id']),
      kind: r['kind'] as RegisteredTee['kind'],
      platform: String(r['platform']),
      measurement: String(r['measurement']),
      status: r['status'] as RegisteredTee['status'],
      requested: new Date(num(r['requested_ms'])).toISOString(),
      ...(r['decided_by'] ? { decidedBy: String(r['decided_by']) } : {}),
    }));
  }

  async isApproved(tenant: string, session: AttestedSession): Promise<boolean> {
    const [r] = await this.db.query("SELECT 1 AS ok FROM kms_tees WHERE tenant = $1 AND tee_id = $2 AND status = 'approved'", [tenant, teeIdentity(session).teeId]);
    return r !== undefined;
  }
}
