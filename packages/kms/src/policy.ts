/**
 * @module policy
 * Release policies per tenant and per path prefix. A policy is a list of rules; it passes
 * when at least one rule matches (every condition of the rule holds). For a resource
 * `<tenant>/<path>`, every policy of the tenant whose prefix is `""` (tenant-wide) or a
 * segment-aligned prefix of the path applies, and **all** applicable policies must pass.
 * No applicable policy means deny (default deny).
 *
 * Policies are versioned: a write adds version n+1; a delete adds a tombstone version.
 * Decisions name the deciding rule (`{prefix, version, rule}`), and the dry-run endpoint
 * returns the same evaluation without releasing anything.
 *
 * ```json
 * { "rules": [ { "name": "prod-snp", "platforms": ["snp"], "measurements": ["<hex>"],
 *                "allowSimulated": false, "allowDebug": false, "hostData": ["<hex>"],
 *                "minTcb": { "snp": 22 }, "registered": true } ] }
 * ```
 */
import { z } from 'zod';
import { quoteInput, VeriteeError } from '@veritee/core';
import type { Claims } from '@veritee/attestation';
import { num, type SqlDb } from './db.js';
import { checkTenant } from './secrets.js';

const hex = z.string().regex(/^[0-9a-fA-F]{2,256}$/);
const ruleSchema = z.strictObject({
  name: z.string().min(1).max(64),
  platforms: z.array(z.enum(['snp', 'tdx', 'nvidia'])).min(1).optional(),
  measurements: z.array(hex).min(1).max(1000).optional(),
  hostData: z.array(hex).min(1).max(1000).optional(),
  allowDebug: z.boolean().optional(),
  allowSimulated: z.boolean().optional(),
  minTcb: z.record(z.string().max(32), z.number().int().min(0)).optional(),
  /** The TEE must be registered to (and approved in) this tenant. */
  registered: z.boolean().optional(),
});
const policySchema = z.strictObject({ rules: z.array(ruleSchema).min(1).max(100) });

export type KmsRule = z.infer<typeof ruleSchema>;
export type KmsPolicyDocument = z.infer<typeof policySchema>;

export function parseKmsPolicy(doc: unknown): KmsPolicyDocument {
  const r = policySchema.safeParse(doc);
  if (!r.success) {
    const why = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new VeriteeError('KMS_POLICY_INVALID', `KMS policy is malformed: ${why}`);
  }
  return r.data;
}

function checkPrefix(prefix: string): string {
  if (prefix !== '' && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,63})*$/.test(prefix)) {
    throw new VeriteeError('INPUT_INVALID', `policy prefix ${quoteInput(prefix, 70)} must be empty (tenant-wide) or /-separated path segments`);
  }
  return prefix;
}

/** Why a rule does or does not match the claims: the first failing condition, or null. */
export function ruleFailure(rule: KmsRule, claims: Omit<Claims, 'platformData'>, ctx: { registered?: boolean } = {}): string | null {
  if (rule.registered === true && ctx.registered !== true) return 'TEE not registered to this tenant (or not approved)';
  if (claims.simulated && rule.allowSimulated !== true) return 'simulated evidence not allowed';
  if (claims.debug && rule.allowDebug !== true) return 'debug TEE not allowed';
  if (rule.platforms && !rule.platforms.includes(claims.platform)) return `platform ${claims.platform} not in [${rule.platforms.join(', ')}]`;
  if (rule.measurements && !rule.measurements.some((m) => m.toLowerCase() === claims.measurement.toLowerCase())) return 'measurement not listed';
  if (rule.hostData && !rule.hostData.some((h) => h.toLowerCase() === (claims.hostData ?? '').toLowerCase())) return 'host data not listed';
  if (rule.minTcb) {
    for (const [name, min] of Object.entries(rule.minTcb)) {
      const c = claims.tcb.components.find((x) => x.name === name);
      if (!c || c.value < min) return `TCB component ${name} ${c ? c.value : 'absent'} < ${min}`;
    }
  }
  return null;
}

export interface PolicyEvaluation {
  prefix: string;
  version: number;
  passed: boolean;
  /** The matching rule's name, or for a failure every rule's reason. */
  rule: string;
}

export interface Decision {
  allow: boolean;
  /** The deciding evaluation: the first failing policy, or (allow) the most specific one. */
  decidedBy: PolicyEvaluation | { prefix: null; version: 0; passed: false; rule: 'no policy applies (default deny)' };
  evaluations: PolicyEvaluation[];
  policyVersions: Record<string, number>;
}

export class PolicyStore {
  constructor(
    private readonly db: SqlDb,
    private readonly now: () => number,
  ) {}

  /** Stores a new version of the policy at `prefix` (`""` = tenant-wide); returns the version. */
  async put(tenant: string, prefix: string, doc: unknown): Promise<number> {
    checkTenant(tenant);
    checkPrefix(prefix);
    const parsed = parseKmsPolicy(doc);
    return this.write(tenant, prefix, JSON.stringify(parsed));
  }

  /** Adds a tombstone version: the prefix no longer has a policy. */
  async remove(tenant: string, prefix: string): Promise<number> {
    checkTenant(tenant);
    checkPrefix(prefix);
    return this.write(tenant, prefix, null);
  }

  private async write(tenant: string, prefix: string, doc: string | null): Promise<number> {
    return this.db.tx(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`policy|${tenant}|${prefix}`]);
      const [row] = await q.query('SELECT max(version) AS v FROM kms_policies WHERE tenant = $1 AND prefix = $2', [tenant, prefix]);
      const version = (row && row['v'] !== null ? num(row['v']) : 0) + 1;
      await q.query('INSERT INTO kms_policies (tenant, prefix, version, document, created_ms) VALUES ($1, $2, $3, $4, $5)', [tenant, prefix, version, doc, this.now()]);
      return version;
    });
  }

  /** Current (non-deleted) policies of a tenant. */
  async current(tenant: string): Promise<Array<{ prefix: string; version: number; document: KmsPolicyDocument }>> {
    const rows = await this.db.query(
      `SELECT p.prefix, p.version, p.document FROM kms_policies p
       JOIN (SELECT prefix, max(version) AS v FROM kms_policies WHERE tenant = $1 GROUP BY prefix) m ON m.prefix = p.prefix AND m.v = p.version
       WHERE p.tenant = $1 ORDER BY p.prefix`,
      [tenant],
    );
    return rows
      .filter((r) => r['document'] !== null)
      .map((r) => ({ prefix: String(r['prefix']), version: num(r['version']), document: JSON.parse(String(r['document'])) as KmsPolicyDocument }));
  }

  /** Every version of one prefix, oldest first (history). */
  async history(tenant: string, prefix: string): Promise<Array<{ version: number; document: KmsPolicyDocument | null; created: string }>> {
    const rows = await this.db.query('SELECT version, document, created_ms FROM kms_policies WHERE tenant = $1 AND prefix = $2 ORDER BY version', [tenant, prefix]);
    return rows.map((r) => ({
      version: num(r['version']),
      document: r['document'] === null ? null : (JSON.parse(String(r['document'])) as KmsPolicyDocument),
      created: new Date(num(r['created_ms'])).toISOString(),
    }));
  }

  /** Evaluates every applicable policy for `<tenant>/<path>` against verified claims. */
  async decide(tenant: string, path: string, claims: Omit<Claims, 'platformData'>, ctx: { registered?: boolean } = {}): Promise<Decision> {
    const all = await this.current(tenant);
    const applicable = all.filter((p) => p.prefix === '' || path === p.prefix || path.startsWith(p.prefix + '/'));
    const evaluations: PolicyEvaluation[] = applicable.map((p) => {
      const reasons: string[] = [];
      for (const rule of p.document.rules) {
        const why = ruleFailure(rule, claims, ctx);
        if (why === null) return { prefix: p.prefix, version: p.version, passed: true, rule: rule.name };
        reasons.push(`${rule.name}: ${why}`);
      }
      return { prefix: p.prefix, version: p.version, passed: false, rule: reasons.join('; ') };
    });
    const policyVersions = Object.fromEntries(applicable.map((p) => [p.prefix === '' ? '(tenant)' : p.prefix, p.version]));
    if (evaluations.length === 0) {
      return { allow: false, decidedBy: { prefix: null, version: 0, passed: false, rule: 'no policy applies (default deny)' }, evaluations, policyVersions };
    }
    const failed = evaluations.find((e) => !e.passed);
    if (failed) return { allow: false, decidedBy: failed, evaluations, policyVersions };
    return { allow: true, decidedBy: evaluations[evaluations.length - 1]!, evaluations, policyVersions };
  }
}
