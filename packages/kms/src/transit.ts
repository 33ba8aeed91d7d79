/**
 * @module transit
 * Named data keys per tenant in the manner of Vault's transit engine: `encrypt`,
 * `decrypt`, `rewrap`, `datakey`; versions with `min_decryption_version`; rotation, also
 * scheduled (`auto_rotate_period`: {@link TransitStore.rotateDue} rotates every key whose
 * period has elapsed, driven by the rotation scheduler in rotation.ts; a use after the
 * period elapsed rotates first as well, should the scheduler be behind); immediate
 * revocation of a key on an incident.
 *
 * Ciphertexts are `vault:v<version>:<base64(iv ‖ AES-256-GCM ciphertext ‖ tag)>`, the AAD
 * binding tenant, key name and the caller's optional context. Key material is stored
 * sealed under the root-derived `transit` key (AAD `transit|tenant|name|version`).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { quoteInput, VeriteeError } from '@veritee/core';
import { bytes, num, type Querier, type SqlDb } from './db.js';
import type { Keyring } from './rootkey.js';
import { checkTenant } from './secrets.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_PLAINTEXT = 64 * 1024;

export interface TransitKeyInfo {
  name: string;
  latest_version: number;
  min_decryption_version: number;
  auto_rotate_period: number;
  revoked: boolean;
  versions: number[];
}

function checkName(name: string): string {
  if (!NAME.test(name)) throw new VeriteeError('INPUT_INVALID', `transit key name ${quoteInput(name, 70)} must be 1-64 of A-Z a-z 0-9 . _ -`);
  return name;
}

export class TransitStore {
  constructor(
    private readonly db: SqlDb,
    private readonly keys: Keyring,
    private readonly now: () => number,
  ) {}

  private aad(tenant: string, name: string, version: number): string {
    return `transit|${tenant}|${name}|${version}`;
  }

  private async addVersion(q: Querier, tenant: string, name: string, version: number): Promise<void> {
    await q.query('INSERT INTO kms_transit_versions (tenant, name, version, wrapped, created_ms) VALUES ($1, $2, $3, $4, $5)', [
      tenant,
      name,
      version,
      this.keys.seal('transit', this.aad(tenant, name, version), randomBytes(32)),
      this.now(),
    ]);
  }

  async create(tenant: string, name: string, opts: { autoRotatePeriodSeconds?: number } = {}): Promise<TransitKeyInfo> {
    checkTenant(tenant);
    checkName(name);
    const period = opts.autoRotatePeriodSeconds ?? 0;
    if (!(Number.isInteger(period) && period >= 0 && (period === 0 || period >= 3600))) throw new VeriteeError('INPUT_INVALID', 'auto_rotate_period must be 0 (off) or at least 3600 seconds');
    await this.db.tx(async (q) => {
      const r = await q.query(
        'INSERT INTO kms_transit_keys (tenant, name, latest_version, min_decryption_version, auto_rotate_ms, revoked, created_ms, rotated_ms) VALUES ($1, $2, 1, 1, $3, false, $4, $4) ON CONFLICT DO NOTHING RETURNING name',
        [tenant, name, period * 1000, this.now()],
      );
      if (r.length === 0) throw new VeriteeError('INPUT_INVALID', `transit key ${tenant}/${name} already exists`);
      await this.addVersion(q, tenant, name, 1);
    });
    return this.info(tenant, name);
  }

  async info(tenant: string, name: string): Promise<TransitKeyInfo> {
    const [k] = await this.db.query('SELECT * FROM kms_transit_keys WHERE tenant = $1 AND name = $2', [tenant, name]);
    if (!k) throw new VeriteeError('KMS_RESOURCE_NOT_FOUND', `no transit key ${tenant}/${name}`);
    const vs = await this.db.query('SELECT version FROM kms_transit_versions WHERE tenant = $1 AND name = $2 ORDER BY version', [tenant, name]);
    return {
      name,
      latest_version: num(k['latest_version']),
      min_decryption_version: num(k['min_decryption_version']),
      auto_rotate_period: num(k['auto_rotate_ms']) / 1000,
      revoked: k['revoked'] === true,
      versions: vs.map((v) => num(v['version'])),
    };
  }

  async rotate(tenant: string, name: string): Promise<number> {
    return this.db.tx(async (q) => {
      const [k] = await q.query('SELECT * FROM kms_transit_keys WHERE tenant = $1 AND name = $2 FOR UPDATE', [tenant, name]);
      if (!k) throw new VeriteeError('KMS_RESOURCE_NOT_FOUND', `no transit key ${tenant}/${name}`);
      const v = num(k['latest_version']) + 1;
      await this.addVersion(q, tenant, name, v);
      await q.query('UPDATE kms_transit_keys SET latest_version = $3, rotated_ms = $4 WHERE tenant = $1 AND name = $2', [tenant, name, v, this.now()]);
      return v;
    });
  }

  async configure(tenant: string, name: string, c: { minDecryptionVersion?: number; autoRotatePeriodSeconds?: number }): Promise<TransitKeyInfo> {
    await this.db.tx(async (q) => {
      const [k] = await q.query('SELECT * FROM kms_transit_keys WHERE tenant = $1 AND name = $2 FOR UPDATE', [tenant, name]);
      if (!k) throw new VeriteeError('KMS_RESOURCE_NOT_FOUND', `no transit key ${tenant}/${name}`);
      const min = c.minDecryptionVersion ?? num(k['min_decryption_version']);
      if (!(Number.isInteger(min) && min >= 1 && min <= num(k['latest_version']))) throw new VeriteeError('INPUT_INVALID', `min_decryption_version must be 1..${num(k['latest_version'])}`);
      const period = c.autoRotatePeriodSeconds ?? num(k['auto_rotate_ms']) / 1000;
      if (!(Number.isInteger(period) && period >= 0 && (period === 0 || period >= 3600))) throw new VeriteeError('INPUT_INVALID', 'auto_rotate_period must be 0 (off) or at least 3600 seconds');
      await q.query('UPDATE kms_transit_keys SET min_decryption_version = $3, auto_rotate_ms = $4 WHERE tenant = $1 AND name = $2', [tenant, name, min, period * 1000]);
    });
    return this.info(tenant, name);
  }

  /** Incident: the key refuses every operation from now on, on every instance. */
  async revoke(tenant: string, name: string): Promise<void> {
    const r = await this.db.query('UPDATE kms_transit_keys SET revoked = true WHERE tenant = $1 AND name = $2 RETURNING name', [tenant, name]);
    if (r.length === 0) throw new VeriteeError('KMS_RESOURCE_NOT_FOUND', `no transit key ${tenant}/${name}`);
  }

  /**
   * Scheduled rotation: rotates every unrevoked key whose `auto_rotate_period` has elapsed
   * at `at` (default now), one transaction per key (a key another instance rotated
   * meanwhile is skipped). Returns the keys rotated, with their new version.
   */
  async rotateDue(at: number = this.now()): Promise<Array<{ tenant: string; name: string; version: number }>> {
    const due = await this.db.query('SELECT tenant, name FROM kms_transit_keys WHERE auto_rotate_ms > 0 AND revoked = false AND rotated_ms + auto_rotate_ms <= $1 ORDER BY tenant, name LIMIT 1000', [at]);
    const out: Array<{ tenant: string; name: string; version: number }> = [];
    for (const d of due) {
      const tenant = String(d['tenant']);
      const name = String(d['name']);
      const v = await this.db.tx(async (q) => {
        const [cur] = await q.query('SELECT * FROM kms_transit_keys WHERE tenant = $1 AND name = $2 FOR UPDATE', [tenant, name]);
        if (!cur || cur['revoked'] === true) return 0;
        const period = num(cur['auto_rotate_ms']);
        if (!(period > 0 && num(cur['rotated_ms']) + period <= at)) return 0; // rotated meanwhile
        const next = num(cur['latest_version']) + 1;
        await this.addVersion(q, tenant, name, next);
        await q.query('UPDATE kms_transit_keys SET latest_version = $3, rotated_ms = $4 WHERE tenant = $1 AND name = $2', [tenant, name, next, at]);
        return next;
      });
      if (v > 0) out.push({ tenant, name, version: v });
    }
    return out;
  }

  /** Loads the key row, rotating first when the auto-rotate period has elapsed. */
  private async live(tenant: string, name: string): Promise<{ latest: number; min: number }> {
    checkTenant(tenant);
    checkName(name);
    let [k] = await this.db.query('SELECT * FROM kms_transit_keys WHERE tenant = $1 AND name = $2', [tenant, name]);
    if (!k) throw new VeriteeError('KMS_RESOURCE_NOT_FOUND', `no transit key ${tenant}/${name}`);
    if (k['revoked'] === true) throw new VeriteeError('KMS_TRANSIT_KEY_REVOKED', `transit key ${tenant}/${name} is revoked`);
    const period = num(k['auto_rotate_ms']);
    if (period > 0 && this.now() - num(k['rotated_ms']) >= period) {
      await this.db.tx(async (q) => {
        const [cur] = await q.query('SELECT * FROM kms_transit_keys WHERE tenant = $1 AND name = $2 FOR UPDATE', [tenant, name]);
        if (this.now() - num(cur!['rotated_ms']) < period) return; // another instance rotated meanwhile
        const v = num(cur!['latest_version']) + 1;
        await this.addVersion(q, tenant, name, v);
        await q.query('UPDATE kms_transit_keys SET latest_version = $3, rotated_ms = $4 WHERE tenant = $1 AND name = $2', [tenant, name, v, this.now()]);
      });
      [k] = await this.db.query('SELECT * FROM kms_transit_keys WHERE tenant = $1 AND name = $2', [tenant, name]);
    }
    return { latest: num(k!['latest_version']), min: num(k!['min_decryption_version']) };
  }

  private async material(tenant: string, name: string, version: number): Promise<Buffer> {
    const [v] = await this.db.query('SELECT wrapped FROM kms_transit_versions WHERE tenant = $1 AND name = $2 AND version = $3', [tenant, name, version]);
    if (!v) throw new VeriteeError('KMS_TRANSIT_CIPHERTEXT_INVALID', `transit key ${tenant}/${name} has no version ${version}`);
    return Buffer.from(this.keys.open('transit', this.aad(tenant, name, version), bytes(v['wrapped'])));
  }

  private gcmAad(tenant: string, name: string, context?: Uint8Array): Buffer {
    return Buffer.concat([Buffer.from(`veritee.transit/v1|${tenant}|${name}|`), Buffer.from(context ?? new Uint8Array())]);
  }

  async encrypt(tenant: string, name: string, plaintext: Uint8Array, context?: Uint8Array): Promise<string> {
    if (plaintext.length > MAX_PLAINTEXT) throw new VeriteeError('INPUT_TOO_LARGE', `transit plaintext is ${plaintext.length} bytes; at most ${MAX_PLAINTEXT}`);
    const { latest } = await this.live(tenant, name);
    const key = await this.material(tenant, name, latest);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(this.gcmAad(tenant, name, context));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return `vault:v${latest}:${Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64')}`;
  }

  async decrypt(tenant: string, name: string, ciphertext: string, context?: Uint8Array): Promise<Uint8Array> {
    const m = /^vault:v(\d{1,9}):([A-Za-z0-9+/=]{38,})$/.exec(ciphertext);
    if (!m) throw new VeriteeError('KMS_TRANSIT_CIPHERTEXT_INVALID', 'transit ciphertext must be vault:v<version>:<base64>');
    const version = Number(m[1]);
    const { min } = await this.live(tenant, name);
    if (version < min) throw new VeriteeError('KMS_TRANSIT_CIPHERTEXT_INVALID', `ciphertext version ${version} is below min_decryption_version ${min}`);
    const key = await this.material(tenant, name, version);
    const b = Buffer.from(m[2]!, 'base64');
    if (b.length < 28) throw new VeriteeError('KMS_TRANSIT_CIPHERTEXT_INVALID', 'transit ciphertext is truncated');
    const d = createDecipheriv('aes-256-gcm', key, b.subarray(0, 12));
    d.setAAD(this.gcmAad(tenant, name, context));
    d.setAuthTag(b.subarray(b.length - 16));
    try {
      return new Uint8Array(Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]));
    } catch {
      throw new VeriteeError('KMS_TRANSIT_CIPHERTEXT_INVALID', 'transit ciphertext does not decrypt (tampered, another key or context)');
    }
  }

  async rewrap(tenant: string, name: string, ciphertext: string, context?: Uint8Array): Promise<string> {
    return this.encrypt(tenant, name, await this.decrypt(tenant, name, ciphertext, context), context);
  }

  /** A fresh 256-bit data key, and its ciphertext under the named key. */
  async datakey(tenant: string, name: string, context?: Uint8Array): Promise<{ plaintext: Uint8Array; ciphertext: string }> {
    const plaintext = new Uint8Array(randomBytes(32));
    return { plaintext, ciphertext: await this.encrypt(tenant, name, plaintext, context) };
  }
}
