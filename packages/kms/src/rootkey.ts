/**
 * @module rootkey
 * The KMS root key and the keys derived from it. Every secret value, transit key and the
 * token-signing key are stored encrypted (AES-256-GCM) under keys derived from the root key
 * (HKDF-SHA-256, one label per purpose); the audit log is MACed under another. The database
 * alone therefore reveals nothing and cannot forge audit entries.
 *
 * On real hardware the root key is sealed to the TEE (sealing key derived from the
 * measurement). The **simulated** TEE seals nothing: the key sits in a JSON file marked
 * `"sealing": "SIMULATED-DEV"`; anyone who can read the file can read the database.
 *
 * INVARIANT: each ciphertext's AAD names what it is (`secret|tenant|path|version` …), so a
 * ciphertext moved to another row does not decrypt.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fromBase64, parseJsonStrict, toBase64, VeriteeError } from '@veritee/core';

export const SIM_SEALING_LABEL = 'SIMULATED-DEV: root key in a plain file, NOT sealed to a TEE (development only)';

/** Where the root key comes from. */
export interface RootKeySource {
  /** Human label, shown in logs and `/kms/v0/info` (never the key). */
  readonly label: string;
  unseal(): Promise<Uint8Array>;
}

/** DEVELOPMENT ONLY: the root key in a file, created (mode 0600) when missing. */
export function simulatedRootKeyFile(path: string): RootKeySource {
  return {
    label: `file ${path} (${SIM_SEALING_LABEL})`,
    async unseal() {
      if (!existsSync(path)) {
        const doc = { sealing: 'SIMULATED-DEV', note: SIM_SEALING_LABEL, key: toBase64(randomBytes(32)) };
        writeFileSync(path, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
        chmodSync(path, 0o600);
      }
      let doc: unknown;
      try {
        doc = parseJsonStrict(readFileSync(path, 'utf8'), { what: 'root key file', code: 'KMS_ROOT_KEY_INVALID' });
      } catch (e) {
        // Never echo the file's text: it holds the key.
        const why = e instanceof VeriteeError ? 'not valid JSON' : (e as NodeJS.ErrnoException).code ?? 'unreadable';
        throw new VeriteeError('KMS_ROOT_KEY_INVALID', `cannot read the root key file ${path}: ${why}`);
      }
      const d = doc as { sealing?: unknown; key?: unknown };
      if (d.sealing !== 'SIMULATED-DEV' || typeof d.key !== 'string') {
        throw new VeriteeError('KMS_ROOT_KEY_INVALID', `root key file ${path} is not a simulated-TEE key file (sealing must be SIMULATED-DEV, key base64)`);
      }
      const key = fromBase64(d.key, 'root key');
      if (key.length !== 32) throw new VeriteeError('KMS_ROOT_KEY_INVALID', `root key in ${path} must be 32 bytes (got ${key.length})`);
      return key;
    },
  };
}

/** A root key given directly (tests, or a key unsealed elsewhere). */
export function rootKeyBytes(key: Uint8Array, label = 'in-memory root key (tests)'): RootKeySource {
  if (key.length !== 32) throw new VeriteeError('KMS_ROOT_KEY_INVALID', `root key must be 32 bytes (got ${key.length})`);
  return { label, unseal: async () => Uint8Array.from(key) };
}

type Purpose = 'secrets' | 'transit' | 'signer' | 'audit-mac' | 'check';

/** Keys derived from the root key, and AEAD under them. */
export class Keyring {
  private readonly keys = new Map<Purpose, Buffer>();

  constructor(root: Uint8Array) {
    for (const p of ['secrets', 'transit', 'signer', 'audit-mac', 'check'] as Purpose[]) {
      this.keys.set(p, Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), `veritee.kms/v1 ${p}`, 32)));
    }
  }

  /** AES-256-GCM: iv (12) || ciphertext || tag (16), bound to `aad`. */
  seal(purpose: 'secrets' | 'transit' | 'signer', aad: string, plaintext: Uint8Array): Uint8Array {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.keys.get(purpose)!, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return new Uint8Array(Buffer.concat([iv, ct, c.getAuthTag()]));
  }

  open(purpose: 'secrets' | 'transit' | 'signer', aad: string, sealed: Uint8Array): Uint8Array {
    if (sealed.length < 28) throw new VeriteeError('KMS_ROOT_KEY_INVALID', `stored ciphertext for ${aad} is truncated`);
    const b = Buffer.from(sealed);
    const d = createDecipheriv('aes-256-gcm', this.keys.get(purpose)!, b.subarray(0, 12));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(b.subarray(b.length - 16));
    try {
      return new Uint8Array(Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]));
    } catch {
      throw new VeriteeError('KMS_ROOT_KEY_INVALID', `stored ciphertext for ${aad} does not decrypt under this root key (wrong root key, or the row was tampered with)`);
    }
  }

  mac(purpose: 'audit-mac' | 'check', data: string): string {
    return createHmac('sha256', this.keys.get(purpose)!).update(data, 'utf8').digest('hex');
  }

  macEqual(purpose: 'audit-mac' | 'check', data: string, mac: string): boolean {
    const want = Buffer.from(this.mac(purpose, data), 'hex');
    const got = Buffer.from(/^[0-9a-f]{64}$/.test(mac) ? mac : '', 'hex');
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
