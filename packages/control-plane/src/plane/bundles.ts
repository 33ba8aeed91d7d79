/**
 * @module plane/bundles
 * Proof bundles that services publish to the control plane's log: the API gateway
 * (@veritee/gateway) posts each period's latency SLA and gateway-health bundles here.
 *
 *   POST /v1/bundles      {source, periodStart, group, kind, bundle} → 201 stored | 200 already stored
 *   GET  /v1/bundles[?source=&kind=&limit=]   newest first, without the bundle bodies
 *   GET  /v1/bundles/:id  one entry with its bundle
 *
 * Every bundle is verified before it is stored — the proof under the control plane's
 * keys (dev keys only when it allows them), the enclave signature over the statement and
 * the attestation evidence binding that key (policy: the agents' appraisal policy with the
 * report data required to bind the key only, as for published bundles) — and it must be a
 * latency or gateway claim whose period starts at `periodStart`. A bundle that does not
 * verify is refused with 422 CP_BUNDLE_INVALID, naming the failed checks, and not stored.
 *
 * The id is the SHA-256 of the bundle's canonical JSON, so publishers retry freely (at least
 * once): a second post of the same bundle answers 200 and stores nothing.
 *
 * The table (`cp_bundles`) is created idempotently on registration, under its own advisory lock.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { canonicalJson, parseJsonStrict, VeriteeError } from '@veritee/core';
import type { Policy } from '@veritee/attestation';
import { verifyBundle } from '@veritee/zk';
import { num, type CpDb } from './db.js';
import type { ControlPlane } from './plane.js';

const LOCK = 0x6370626e64;
const KINDS = new Set(['latency', 'gateway']);

export const BUNDLES_TABLE = `CREATE TABLE IF NOT EXISTS cp_bundles (
  id text PRIMARY KEY,
  source text NOT NULL,
  period_start_ms bigint NOT NULL,
  grp text NOT NULL,
  kind text NOT NULL,
  compliant boolean NOT NULL,
  received_ms bigint NOT NULL,
  bundle text NOT NULL)`;

export interface BundleEntry {
  id: string;
  source: string;
  periodStart: string;
  group: string;
  kind: string;
  compliant: boolean;
  receivedMs: number;
  bundle?: unknown;
}

export interface BundleRoutesOptions {
  /** Appraisal policy for the bundles' evidence (default: the agents' policy, report data binding the key only). */
  policy?: Policy;
}

const label = (v: unknown, what: string, max: number): string => {
  if (typeof v !== 'string' || !/^[A-Za-z0-9*][A-Za-z0-9._:*-]*$/.test(v) || v.length > max) throw new VeriteeError('INPUT_INVALID', `${what} must be 1-${max} letters, digits, ".", "_", ":", "*" or "-"`);
  return v;
};

function toEntry(r: Record<string, unknown>, withBundle: boolean): BundleEntry {
  return {
    id: String(r['id']),
    source: String(r['source']),
    periodStart: new Date(num(r['period_start_ms'])).toISOString(),
    group: String(r['grp']),
    kind: String(r['kind']),
    compliant: r['compliant'] === true,
    receivedMs: num(r['received_ms']),
    ...(withBundle ? { bundle: JSON.parse(String(r['bundle'])) as unknown } : {}),
  };
}

/** Adds the bundle routes to the control plane's server and creates their table. */
export async function registerBundleRoutes(app: FastifyInstance, cp: ControlPlane, opts: BundleRoutesOptions = {}): Promise<void> {
  const db: CpDb = cp.log.db;
  await db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [LOCK]);
    await q.query(BUNDLES_TABLE);
    await q.query('CREATE INDEX IF NOT EXISTS cp_bundles_source ON cp_bundles (source, period_start_ms)');
  });
  const agent = cp.opts.agentPolicy;
  const policy: Policy = opts.policy ?? { ...agent, reportData: { ...agent.reportData, require: ['publicKeyHash'] } };

  app.post('/v1/bundles', async (req, reply) => {
    const text = typeof req.body === 'string' ? req.body : '';
    const b = parseJsonStrict(text, { what: 'bundle publication', code: 'INPUT_JSON_INVALID' }) as Record<string, unknown>;
    if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new VeriteeError('INPUT_INVALID', 'a bundle publication must be a JSON object');
    for (const k of Object.keys(b)) if (!['source', 'periodStart', 'group', 'kind', 'bundle'].includes(k)) throw new VeriteeError('INPUT_INVALID', `unknown field ${JSON.stringify(k.slice(0, 40))}`);
    const source = label(b['source'], 'source', 253);
    const group = label(b['group'], 'group', 64);
    const kind = String(b['kind']);
    if (!KINDS.has(kind)) throw new VeriteeError('INPUT_INVALID', 'kind must be latency or gateway');
    const periodStartMs = typeof b['periodStart'] === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(b['periodStart']) ? Date.parse(b['periodStart']) : NaN;
    if (!Number.isFinite(periodStartMs)) throw new VeriteeError('INPUT_INVALID', 'periodStart must be an RFC 3339 time');
    const bundle = b['bundle'];
    if (bundle === null || typeof bundle !== 'object' || Array.isArray(bundle)) throw new VeriteeError('INPUT_INVALID', 'bundle must be a proof bundle object');

    const v = await verifyBundle(bundle, { keys: cp.opts.keys, allowDevSetup: cp.opts.allowDevSetup ?? false, policy, at: cp.now() });
    if (!v.ok || !v.bundle) {
      const bad = v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      throw new VeriteeError('CP_BUNDLE_INVALID', `the bundle does not verify: ${bad.join('; ').slice(0, 600) || 'malformed bundle'}`);
    }
    const claim = v.bundle.claim;
    if (claim.kind !== kind) throw new VeriteeError('CP_BUNDLE_INVALID', `the bundle proves a ${claim.kind} claim, the publication says ${kind}`);
    const startUs = (claim.params as { periodStartUs?: unknown }).periodStartUs;
    if (typeof startUs !== 'number' || Math.round(startUs / 1000) !== periodStartMs) throw new VeriteeError('CP_BUNDLE_INVALID', `the bundle's period does not start at ${new Date(periodStartMs).toISOString()}`);
    const compliant = (claim.outputs as { compliant?: unknown }).compliant === true;
    const id = createHash('sha256').update(canonicalJson(bundle)).digest('hex');
    const rows = await db.query(
      'INSERT INTO cp_bundles (id, source, period_start_ms, grp, kind, compliant, received_ms, bundle) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id',
      [id, source, periodStartMs, group, kind, compliant, cp.now(), JSON.stringify(bundle)],
    );
    const created = rows.length === 1;
    return reply.code(created ? 201 : 200).send({ id, created, compliant });
  });

  app.get('/v1/bundles', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new VeriteeError('INPUT_INVALID', 'limit must be an integer from 1 to 10000');
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.source !== undefined) {
      params.push(label(q.source, 'source', 253));
      where.push(`source = $${params.length}`);
    }
    if (q.kind !== undefined) {
      if (!KINDS.has(q.kind)) throw new VeriteeError('INPUT_INVALID', 'kind must be latency or gateway');
      params.push(q.kind);
      where.push(`kind = $${params.length}`);
    }
    params.push(limit);
    const rows = await db.query(`SELECT id, source, period_start_ms, grp, kind, compliant, received_ms, bundle FROM cp_bundles ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY period_start_ms DESC, id LIMIT $${params.length}`, params);
    return { bundles: rows.map((r) => toEntry(r, false)) };
  });

  app.get('/v1/bundles/:id', async (req) => {
    const id = (req.params as { id: string }).id;
    if (!/^[0-9a-f]{64}$/.test(id)) throw new VeriteeError('INPUT_INVALID', 'a bundle id is 64 lowercase hex digits');
    const [row] = await db.query('SELECT * FROM cp_bundles WHERE id = $1', [id]);
    if (!row) throw new VeriteeError('ROUTE_NOT_FOUND', `no bundle ${id}`);
    return { bundle: toEntry(row, true) };
  });
}
