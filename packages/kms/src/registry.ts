/**
 * @module registry
 * TEE registry: which TEEs belong to which tenant. A TEE asks to join a tenant by attesting
 * (its identity comes from the verified evidence: the SEV-SNP chip id when the report
 * carries one; for TDX the PPID of the platform's PCK certificate, from the SGX extension
 * of the verified PCK leaf; else the SHA-256 of its attested instance key), and a tenant
 * admin approves it. Policy rules with `"registered": true` pass only for TEEs approved in that tenant.
 */
import { canonicalJson, sha256, toHex, utf8, VeriteeError } from '@veritee/core';
import { parseTdxQuote } from '@veritee/attestation';
import { children, oidString, read } from './der.js';
import { num, type SqlDb } from './db.js';
import { checkTenant } from './secrets.js';
import type { AttestedSession } from './kms.js';

export interface RegisteredTee {
  teeId: string;
  kind: 'chip-id' | 'pck' | 'instance-key';
  platform: string;
  measurement: string;
  status: 'pending' | 'approved' | 'revoked';
  requested: string;
  decidedBy?: string;
}

const SGX_EXT = '1.2.840.113741.1.13.1';

/**
 * The PPID (hex) in the SGX extension of the PCK leaf certificate of a TDX envelope's quote,
 * or undefined when there is none. Call only on evidence that verified (the PCK chain was
 * checked then); never throws.
 */
export function tdxPckPpid(evidence: unknown): string | undefined {
  try {
    const env = (typeof evidence === 'string' ? JSON.parse(evidence) : evidence) as { platform?: unknown; evidence?: { quote?: unknown } };
    if (env.platform !== 'tdx' || typeof env.evidence?.quote !== 'string') return undefined;
    const sig = parseTdxQuote(new Uint8Array(Buffer.from(env.evidence.quote, 'base64'))).quote.signature;
    if (sig.certDataType !== 5) return undefined;
    const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/.exec(new TextDecoder().decode(sig.certData));
    if (!m) return undefined;
    const der = new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
    const tbs = children(der, children(der, read(der, 0))[0]!);
    const exts = tbs.find((n) => n.tag === 0xa3);
    if (!exts) return undefined;
    for (const e of children(der, children(der, exts)[0]!)) {
      const parts = children(der, e);
      if (oidString(der, parts[0]!) !== SGX_EXT) continue;
      const value = parts[parts.length - 1]!;
      for (const item of children(der, read(der, value.start, value.end))) {
        const [o, v] = children(der, item);
        if (o && v && oidString(der, o) === `${SGX_EXT}.1` && v.tag === 0x04 && v.end - v.start === 16) return toHex(der.subarray(v.start, v.end));
      }
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** The identity of the TEE behind a session. */
export function teeIdentity(session: AttestedSession): { teeId: string; kind: 'chip-id' | 'pck' | 'instance-key' } {
  const chip = session.claims.chipId;
  if (chip && !/^0*$/.test(chip)) return { teeId: `chip:${chip.toLowerCase()}`, kind: 'chip-id' };
  if (session.pckPpid) return { teeId: `pck:${session.pckPpid}`, kind: 'pck' };
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
