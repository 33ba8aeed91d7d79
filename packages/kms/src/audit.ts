/**
 * @module audit
 * Append-only, hash-chained audit log of every release, denial and admin action.
 *
 *   hash_n = SHA-256( "veritee.kms.audit/v1" \n seq \n at_ms \n prev_hash \n canonical-JSON(entry) )
 *   mac_n  = HMAC-SHA-256( audit key derived from the root key, hash_n )
 *
 * with `prev_hash` of entry 1 = 64 zeros. Entries hold digests (request, evidence, claims),
 * the policy version and the decision; never a secret value, key or token.
 *
 * {@link verifyAudit} recomputes every hash and MAC and checks that sequence numbers run
 * 1, 2, 3 … without gaps: an edited entry breaks its hash (and the attacker, lacking the
 * root key, cannot recompute the MAC), a deleted or reordered entry breaks the chain.
 * Truncating the tail leaves a valid shorter chain; it is caught by comparing with a head
 * recorded elsewhere (`expectHead`, printed by `veritee kms audit verify`).
 *
 * INVARIANT: appends are serialised by an advisory transaction lock, so concurrent
 * instances on one PostgreSQL still produce one chain.
 */
import { canonicalJson, sha256, toHex, utf8, VeriteeError } from '@veritee/core';
import { num, type SqlDb } from './db.js';
import type { Keyring } from './rootkey.js';

const AUDIT_LOCK = 0x61756469;
const GENESIS = '0'.repeat(64);

export interface AuditEntry {
  tenant: string;
  /** Who: `session:<digest>`, `admin:<sub>`, `system`. */
  actor: string;
  /** What: `kbs.attest`, `kbs.release`, `secret.put`, `policy.put`, `session.revoke` … */
  action: string;
  decision: 'allow' | 'deny' | 'ok' | 'error';
  resource?: string;
  requestDigest?: string;
  evidenceDigest?: string;
  claimsDigest?: string;
  policyVersions?: Record<string, number>;
  reason?: string;
}

export interface AuditRecord {
  seq: number;
  at: string;
  entry: AuditEntry;
  prevHash: string;
  hash: string;
  mac: string;
}

function chainHash(seq: number, atMs: number, prev: string, entryJson: string): string {
  return toHex(sha256(utf8(`veritee.kms.audit/v1\n${seq}\n${atMs}\n${prev}\n${entryJson}`)));
}

export class AuditLog {
  constructor(
    private readonly db: SqlDb,
    private readonly keys: Keyring,
    private readonly now: () => number,
  ) {}

  async append(entry: AuditEntry): Promise<{ seq: number; hash: string }> {
    const at = this.now();
    const entryJson = canonicalJson(entry);
    return this.db.tx(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
      const [last] = await q.query('SELECT seq, hash FROM kms_audit ORDER BY seq DESC LIMIT 1');
      const seq = last ? num(last['seq']) + 1 : 1;
      const prev = last ? String(last['hash']) : GENESIS;
      const hash = chainHash(seq, at, prev, entryJson);
      // `tenant` is a copy of entry.tenant for filtering; only the entry is hashed.
      await q.query('INSERT INTO kms_audit (seq, at_ms, tenant, entry, prev_hash, hash, mac) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        seq,
        at,
        entry.tenant,
        entryJson,
        prev,
        hash,
        this.keys.mac('audit-mac', hash),
      ]);
      return { seq, hash };
    });
  }

  /** Entries after `afterSeq`, optionally of one tenant only. */
  async list(opts: { tenant?: string; afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    const limit = Math.min(opts.limit ?? 1000, 10_000);
    const rows =
      opts.tenant === undefined
        ? await this.db.query('SELECT * FROM kms_audit WHERE seq > $1 ORDER BY seq LIMIT $2', [opts.afterSeq ?? 0, limit])
        : await this.db.query('SELECT * FROM kms_audit WHERE tenant = $3 AND seq > $1 ORDER BY seq LIMIT $2', [opts.afterSeq ?? 0, limit, opts.tenant]);
    return rows
      .map((r) => ({
        seq: num(r['seq']),
        at: new Date(num(r['at_ms'])).toISOString(),
        entry: JSON.parse(String(r['entry'])) as AuditEntry,
        prevHash: String(r['prev_hash']),
        hash: String(r['hash']),
        mac: String(r['mac']),
      }))
      .filter((r) => opts.tenant === undefined || r.entry.tenant === opts.tenant);
  }
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string } | null;
  problems: string[];
}

/**
 * Verifies the whole chain (and, with `expectHead`, that it still reaches a head recorded
 * earlier). Needs the root key for the MACs.
 */
export async function verifyAudit(db: SqlDb, keys: Keyring, opts: { expectHead?: { seq: number; hash: string } } = {}): Promise<AuditVerification> {
  const problems: string[] = [];
  let prev = GENESIS;
  let expected = 1;
  let head: { seq: number; hash: string } | null = null;
  let count = 0;
  const page = 5000;
  for (let after = 0; ; ) {
    const rows = await db.query('SELECT * FROM kms_audit WHERE seq > $1 ORDER BY seq LIMIT $2', [after, page]);
    for (const r of rows) {
      count++;
      const seq = num(r['seq']);
      if (seq !== expected) problems.push(`entry ${expected}${seq > expected + 1 ? `..${seq - 1}` : ''} missing (next present is ${seq}): deleted`);
      if (String(r['prev_hash']) !== prev) problems.push(`entry ${seq}: prev_hash does not match the hash of the entry before it`);
      const recomputed = chainHash(seq, num(r['at_ms']), String(r['prev_hash']), String(r['entry']));
      if (recomputed !== String(r['hash'])) problems.push(`entry ${seq}: content does not match its hash (edited)`);
      if (!keys.macEqual('audit-mac', String(r['hash']), String(r['mac']))) problems.push(`entry ${seq}: MAC does not verify under the root key (forged or rewritten)`);
      prev = String(r['hash']);
      expected = seq + 1;
      head = { seq, hash: String(r['hash']) };
      after = seq;
      if (problems.length > 50) break;
    }
    if (rows.length < page || problems.length > 50) break;
  }
  if (opts.expectHead) {
    const h = opts.expectHead;
    const [row] = await db.query('SELECT hash FROM kms_audit WHERE seq = $1', [h.seq]);
    if (!row) problems.push(`recorded head ${h.seq} is gone (the log was truncated)`);
    else if (String(row['hash']) !== h.hash) problems.push(`entry ${h.seq} no longer has the recorded head hash`);
  }
  return { ok: problems.length === 0, entries: count, head, problems };
}

/** Throws KMS_AUDIT_CHAIN_BROKEN listing the problems when the chain does not verify. */
export function assertAuditOk(v: AuditVerification): void {
  if (!v.ok) throw new VeriteeError('KMS_AUDIT_CHAIN_BROKEN', `audit log does not verify: ${v.problems.slice(0, 10).join('; ')}`);
}
