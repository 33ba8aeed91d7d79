/**
 * @module keyconfig
 * OHTTP key configurations (RFC 9458 §3): the single-configuration encoding, the
 * `application/ohttp-keys` list, suite selection by a client, and the gateway's
 * {@link KeyStore} with key IDs and rotation (old keys accepted for a grace period).
 *
 * Wire format (RFC 9458 §3.1, §3.2):
 *
 * ```
 * Key Config { Key Identifier (8), HPKE KEM ID (16), HPKE Public Key (Npk * 8),
 *              HPKE Symmetric Algorithms Length (16), HPKE Symmetric Algorithms (32..262140) }
 * HPKE Symmetric Algorithms { HPKE KDF ID (16), HPKE AEAD ID (16) }
 * application/ohttp-keys = ( Length (16), Key Config (Length * 8) ) ...
 * ```
 *
 * Some deployments serve `application/ohttp-keys` as bare configurations without the
 * 2-byte length prefixes (the format of drafts before RFC 9458). {@link decodeKeyConfigs}
 * reads the RFC form and, only if that does not parse exactly, the bare form.
 *
 * THREAT MODEL: a key configuration is attacker-supplied until the client has checked
 * the gateway's attestation binds it (client.ts). Decoders bound every length by the
 * input and reject trailing bytes. Private keys live only inside {@link KeyStore}; they
 * are never serialised, logged or returned.
 */
import { concatBytes, sha256, systemClock, toHex, VeriteeError, type Clock } from '@veritee/core';
import {
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  AEAD_CHACHA20_POLY1305,
  AEADS,
  hpkeKem,
  importX25519KeyPair,
  isSupported,
  KDF_HKDF_SHA256,
  KDFS,
  KEM_X25519_HKDF_SHA256,
  KEMS,
  suiteName,
  x25519PublicFromPrivate,
  type HpkeBackend,
} from './hpke.js';

export const OHTTP_KEYS_MEDIA_TYPE = 'application/ohttp-keys';

export interface SymmetricSuite {
  kdfId: number;
  aeadId: number;
}

export interface KeyConfig {
  /** 0..255 */
  keyId: number;
  kemId: number;
  publicKey: Uint8Array;
  /** At least one; in the gateway's order of preference. */
  symmetric: SymmetricSuite[];
}

/** What a gateway offers by default: HKDF-SHA256 with AES-128-GCM, then ChaCha20-Poly1305. */
export const DEFAULT_SYMMETRIC: readonly SymmetricSuite[] = Object.freeze([
  { kdfId: KDF_HKDF_SHA256, aeadId: AEAD_AES_128_GCM },
  { kdfId: KDF_HKDF_SHA256, aeadId: AEAD_CHACHA20_POLY1305 },
]);

/** A client's AEAD preference when a configuration offers several. */
export const DEFAULT_AEAD_PREFERENCE: readonly number[] = Object.freeze([AEAD_AES_128_GCM, AEAD_CHACHA20_POLY1305, AEAD_AES_256_GCM]);

const bad = (msg: string) => new VeriteeError('OHTTP_KEY_CONFIG_INVALID', msg);

// ---- encoding ------------------------------------------------------------------------------------

/** Encodes one key configuration (RFC 9458 §3.1), without a length prefix. */
export function encodeKeyConfig(c: KeyConfig): Uint8Array {
  if (!Number.isInteger(c.keyId) || c.keyId < 0 || c.keyId > 255) throw bad(`key ID ${c.keyId} is not 0..255`);
  const kem = KEMS.get(c.kemId);
  if (kem !== undefined && c.publicKey.length !== kem.publicKeyBytes) {
    throw bad(`a ${kem.name} public key is ${kem.publicKeyBytes} bytes, got ${c.publicKey.length}`);
  }
  if (c.symmetric.length === 0 || c.symmetric.length > 16383) throw bad(`a key configuration lists 1..16383 symmetric suites, got ${c.symmetric.length}`);
  const out = new Uint8Array(1 + 2 + c.publicKey.length + 2 + 4 * c.symmetric.length);
  const v = new DataView(out.buffer);
  out[0] = c.keyId;
  v.setUint16(1, c.kemId);
  out.set(c.publicKey, 3);
  let o = 3 + c.publicKey.length;
  v.setUint16(o, 4 * c.symmetric.length);
  o += 2;
  for (const s of c.symmetric) {
    v.setUint16(o, s.kdfId);
    v.setUint16(o + 2, s.aeadId);
    o += 4;
  }
  return out;
}

/** `application/ohttp-keys`: each configuration prefixed by its 2-byte length (RFC 9458 §3.2). */
export function encodeKeyConfigs(configs: readonly KeyConfig[]): Uint8Array {
  if (configs.length === 0) throw bad('application/ohttp-keys needs at least one key configuration');
  const parts: Uint8Array[] = [];
  for (const c of configs) {
    const e = encodeKeyConfig(c);
    parts.push(new Uint8Array([e.length >> 8, e.length & 0xff]), e);
  }
  return concatBytes(...parts);
}

// ---- decoding --------------------------------------------------------------------------------------

/**
 * Decodes one configuration starting at `off`. Offsets inside a configuration:
 * key ID at +0, KEM ID at +1..+2, public key at +3 (Npk bytes), symmetric length at
 * +3+Npk (2 bytes), suites after it (4 bytes each).
 */
function decodeOne(b: Uint8Array, off: number, end: number): { config: KeyConfig; next: number } {
  const need = (n: number, what: string) => {
    if (off + n > end) throw bad(`key configuration truncated in ${what} at byte ${off} (needs ${n}, has ${Math.max(0, end - off)})`);
  };
  need(3, 'key ID / KEM ID');
  const keyId = b[off]!;
  const kemId = (b[off + 1]! << 8) | b[off + 2]!;
  off += 3;
  const kem = KEMS.get(kemId);
  if (kem === undefined) throw new VeriteeError('OHTTP_SUITE_UNSUPPORTED', `key ${keyId} uses KEM 0x${kemId.toString(16).padStart(4, '0')}, which is not supported`);
  need(kem.publicKeyBytes, 'public key');
  const publicKey = b.slice(off, off + kem.publicKeyBytes);
  off += kem.publicKeyBytes;
  need(2, 'symmetric algorithms length');
  const symLen = (b[off]! << 8) | b[off + 1]!;
  off += 2;
  if (symLen < 4 || symLen % 4 !== 0) throw bad(`key ${keyId}: symmetric algorithms length ${symLen} is not a positive multiple of 4`);
  need(symLen, 'symmetric algorithms');
  const symmetric: SymmetricSuite[] = [];
  for (let i = 0; i < symLen; i += 4) {
    symmetric.push({ kdfId: (b[off + i]! << 8) | b[off + i + 1]!, aeadId: (b[off + i + 2]! << 8) | b[off + i + 3]! });
  }
  off += symLen;
  return { config: { keyId, kemId, publicKey, symmetric }, next: off };
}

/** Decodes exactly one bare key configuration (e.g. RFC 9458 Appendix A's). */
export function decodeKeyConfig(bytes: Uint8Array): KeyConfig {
  const { config, next } = decodeOne(bytes, 0, bytes.length);
  if (next !== bytes.length) throw bad(`${bytes.length - next} trailing byte(s) after the key configuration`);
  return config;
}

function decodePrefixed(b: Uint8Array): KeyConfig[] {
  const out: KeyConfig[] = [];
  let off = 0;
  let unsupported = 0;
  while (off < b.length) {
    if (off + 2 > b.length) throw bad(`application/ohttp-keys truncated in a length prefix at byte ${off}`);
    const len = (b[off]! << 8) | b[off + 1]!;
    off += 2;
    if (len === 0 || off + len > b.length) throw bad(`application/ohttp-keys: configuration length ${len} at byte ${off - 2} overruns the ${b.length}-byte body`);
    try {
      const { config, next } = decodeOne(b, off, off + len);
      if (next !== off + len) throw bad(`configuration at byte ${off} is ${next - off} bytes but its prefix says ${len}`);
      out.push(config);
    } catch (e) {
      // A configuration with an unknown KEM is skipped: its length prefix lets us step over it.
      if (!(e instanceof VeriteeError && e.code === 'OHTTP_SUITE_UNSUPPORTED')) throw e;
      unsupported++;
    }
    off += len;
  }
  if (out.length === 0 && unsupported > 0) throw new VeriteeError('OHTTP_SUITE_UNSUPPORTED', `none of the ${unsupported} key configuration(s) uses a supported KEM`);
  return out;
}

function decodeBare(b: Uint8Array): KeyConfig[] {
  const out: KeyConfig[] = [];
  let off = 0;
  while (off < b.length) {
    const { config, next } = decodeOne(b, off, b.length);
    out.push(config);
    off = next;
  }
  return out;
}

/**
 * Decodes an `application/ohttp-keys` body: the RFC 9458 length-prefixed list, or (if
 * and only if that does not parse) a concatenation of bare configurations.
 * Configurations whose KEM is unknown are skipped. Key IDs must be unique.
 */
export function decodeKeyConfigs(bytes: Uint8Array): KeyConfig[] {
  if (bytes.length === 0) throw bad('application/ohttp-keys body is empty');
  let configs: KeyConfig[];
  try {
    configs = decodePrefixed(bytes);
  } catch (first) {
    try {
      configs = decodeBare(bytes);
    } catch {
      throw first;
    }
  }
  if (configs.length === 0) throw bad('application/ohttp-keys holds no key configuration');
  const ids = new Set<number>();
  for (const c of configs) {
    if (ids.has(c.keyId)) throw bad(`key ID ${c.keyId} appears twice in application/ohttp-keys`);
    ids.add(c.keyId);
  }
  return configs;
}

/** SHA-256 of an encoded key configuration list: what the gateway's attestation binds. */
export function keyConfigDigest(encoded: Uint8Array): Uint8Array {
  return sha256(encoded);
}

// ---- client selection ----------------------------------------------------------------------------------

export interface SelectedSuite {
  config: KeyConfig;
  kdfId: number;
  aeadId: number;
}

/**
 * Picks the configuration and symmetric suite a client uses: the first configuration
 * (gateway order) with a supported KEM that offers a supported KDF with an AEAD from
 * `aeadPreference`, choosing the most preferred AEAD it offers.
 * Throws OHTTP_SUITE_UNSUPPORTED when nothing matches.
 */
export function selectSuite(configs: KeyConfig | readonly KeyConfig[], aeadPreference: readonly number[] = DEFAULT_AEAD_PREFERENCE): SelectedSuite {
  const list: readonly KeyConfig[] = Array.isArray(configs) ? (configs as readonly KeyConfig[]) : [configs as KeyConfig];
  for (const config of list) {
    if (!KEMS.has(config.kemId)) continue;
    for (const aeadId of aeadPreference) {
      const s = config.symmetric.find((x) => x.aeadId === aeadId && KDFS.has(x.kdfId) && isSupported(config.kemId, x.kdfId, x.aeadId));
      if (s) return { config, kdfId: s.kdfId, aeadId: s.aeadId };
    }
  }
  const offered = list.flatMap((c) => c.symmetric.map((s) => `key ${c.keyId}: ${suiteName(c.kemId, s.kdfId, s.aeadId)}`));
  throw new VeriteeError('OHTTP_SUITE_UNSUPPORTED', `no supported HPKE suite among ${offered.length ? offered.join('; ') : 'no configurations'}`);
}

// ---- gateway key store (rotation with a grace period) ----------------------------------------------------

export interface NewKeyOptions {
  /** Key ID (0..255); default: the next free one after the newest key. */
  keyId?: number;
  /** Symmetric suites offered; default {@link DEFAULT_SYMMETRIC}. */
  symmetric?: readonly SymmetricSuite[];
  /** Raw 32-byte X25519 private key (test vectors); default: freshly generated. */
  privateKey?: Uint8Array;
}

export interface KeyStoreOptions {
  /** Time source for rotation and grace (tests inject a fixed clock). */
  clock?: Clock;
  /** How long a replaced key is still accepted, ms (default 1 hour). */
  graceMs?: number;
  /** HPKE backend whose key objects are held (default `node`). */
  backend?: HpkeBackend;
  /** Symmetric suites of generated keys (default {@link DEFAULT_SYMMETRIC}). */
  symmetric?: readonly SymmetricSuite[];
}

/** A key as the decapsulation code sees it. */
export interface GatewayKey {
  readonly config: KeyConfig;
  readonly keyPair: CryptoKeyPair;
}

interface Entry extends GatewayKey {
  createdAt: number;
  /** When it stopped being published; accepted until retiredAt + grace. */
  retiredAt?: number;
}

export interface KeyStatus {
  keyId: number;
  state: 'active' | 'grace';
  createdAt: string;
  acceptedUntil?: string;
}

/**
 * The gateway's HPKE keys. Active keys are published (`application/ohttp-keys`);
 * {@link rotate} makes a new active key and moves the previous ones to a grace period
 * during which requests to them are still decapsulated. After the grace period a key
 * is forgotten and requests naming it fail with OHTTP_KEY_UNKNOWN.
 *
 * @example
 * const keys = await KeyStore.create({ graceMs: 3_600_000 });
 * reply.type('application/ohttp-keys').send(keys.encoded());
 * await keys.rotate(); // old key accepted for one more hour
 */
export class KeyStore {
  readonly clock: Clock;
  readonly graceMs: number;
  readonly backend: HpkeBackend;
  readonly #symmetric: readonly SymmetricSuite[];
  readonly #entries = new Map<number, Entry>();
  #lastKeyId = -1;
  #encoded: Uint8Array | undefined;
  #digest: Uint8Array | undefined;
  readonly #listeners: Array<() => void> = [];

  private constructor(opts: KeyStoreOptions) {
    this.clock = opts.clock ?? systemClock;
    this.graceMs = opts.graceMs ?? 3_600_000;
    if (!(this.graceMs >= 0)) throw new VeriteeError('INPUT_INVALID', `grace period must be >= 0 ms, got ${this.graceMs}`);
    this.backend = opts.backend ?? 'node';
    this.#symmetric = opts.symmetric ?? DEFAULT_SYMMETRIC;
  }

  /** A store with one fresh active key (or the given one). */
  static async create(opts: KeyStoreOptions & { initial?: NewKeyOptions } = {}): Promise<KeyStore> {
    const s = new KeyStore(opts);
    await s.add(opts.initial ?? {});
    return s;
  }

  /** Adds an active key (published alongside the other active keys). */
  async add(o: NewKeyOptions = {}): Promise<KeyConfig> {
    this.prune();
    const keyId = o.keyId ?? this.#nextKeyId();
    if (!Number.isInteger(keyId) || keyId < 0 || keyId > 255) throw new VeriteeError('INPUT_INVALID', `key ID ${keyId} is not 0..255`);
    if (this.#entries.has(keyId)) throw new VeriteeError('INPUT_INVALID', `key ID ${keyId} is already in use (active or in its grace period)`);
    const symmetric = [...(o.symmetric ?? this.#symmetric)];
    for (const s of symmetric) {
      if (!isSupported(KEM_X25519_HKDF_SHA256, s.kdfId, s.aeadId)) {
        throw new VeriteeError('OHTTP_SUITE_UNSUPPORTED', `cannot offer ${suiteName(KEM_X25519_HKDF_SHA256, s.kdfId, s.aeadId)}`);
      }
    }
    let privateRaw = o.privateKey;
    if (privateRaw === undefined) {
      const kp = await hpkeKem('node').generateKeyPair();
      privateRaw = new Uint8Array(await hpkeKem('node').serializePrivateKey(kp.privateKey));
    }
    if (privateRaw.length !== 32) throw new VeriteeError('INPUT_INVALID', `an X25519 private key is 32 bytes, got ${privateRaw.length}`);
    const keyPair = await importX25519KeyPair(privateRaw, this.backend);
    const config: KeyConfig = { keyId, kemId: KEM_X25519_HKDF_SHA256, publicKey: x25519PublicFromPrivate(privateRaw), symmetric };
    if (o.privateKey === undefined) privateRaw.fill(0);
    this.#entries.set(keyId, { config, keyPair, createdAt: this.clock.now() });
    this.#lastKeyId = keyId;
    this.#changed();
    return config;
  }

  /**
   * Replaces the published key(s) by a new one. Each previously active key is retired
   * now and still accepted for {@link graceMs}.
   */
  async rotate(o: NewKeyOptions = {}): Promise<KeyConfig> {
    const now = this.clock.now();
    const previous = [...this.#entries.values()].filter((e) => e.retiredAt === undefined);
    const config = await this.add(o);
    for (const e of previous) e.retiredAt = now;
    this.#changed();
    return config;
  }

  /** Published (active) configurations, oldest first. */
  activeConfigs(): KeyConfig[] {
    return [...this.#entries.values()].filter((e) => e.retiredAt === undefined).map((e) => e.config);
  }

  /** The `application/ohttp-keys` body of the active keys (cached until the next change). */
  encoded(): Uint8Array {
    this.prune();
    if (this.#encoded === undefined) this.#encoded = encodeKeyConfigs(this.activeConfigs());
    return this.#encoded;
  }

  /** SHA-256 of {@link encoded}: what the attestation binds. */
  digest(): Uint8Array {
    const enc = this.encoded();
    if (this.#digest === undefined) this.#digest = keyConfigDigest(enc);
    return this.#digest;
  }

  /** The key for `keyId` if it is active or within its grace period now; else undefined. */
  lookup(keyId: number): GatewayKey | undefined {
    const e = this.#entries.get(keyId);
    if (e === undefined) return undefined;
    if (e.retiredAt !== undefined && this.clock.now() >= e.retiredAt + this.graceMs) {
      this.prune();
      return undefined;
    }
    return e;
  }

  /** Forgets keys whose grace period is over. */
  prune(): void {
    const now = this.clock.now();
    for (const [id, e] of this.#entries) {
      if (e.retiredAt !== undefined && now >= e.retiredAt + this.graceMs) {
        this.#entries.delete(id);
      }
    }
  }

  /** Every key held, for status pages and logs (no key material). */
  status(): KeyStatus[] {
    this.prune();
    return [...this.#entries.values()].map((e) => {
      const s: KeyStatus = { keyId: e.config.keyId, state: e.retiredAt === undefined ? 'active' : 'grace', createdAt: new Date(e.createdAt).toISOString() };
      if (e.retiredAt !== undefined) s.acceptedUntil = new Date(e.retiredAt + this.graceMs).toISOString();
      return s;
    });
  }

  /** Called after every change of the published set (rotation, addition). */
  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  /** Hex SHA-256 of the published set, for logs. */
  digestHex(): string {
    return toHex(this.digest());
  }

  #changed(): void {
    this.#encoded = undefined;
    this.#digest = undefined;
    for (const fn of this.#listeners) fn();
  }

  #nextKeyId(): number {
    for (let i = 1; i <= 256; i++) {
      const id = (this.#lastKeyId + i) & 0xff;
      if (!this.#entries.has(id)) return id;
    }
    throw new VeriteeError('INPUT_INVALID', 'all 256 key IDs are in use; shorten the grace period');
  }
}

/** Exposed for tests and the README: the AEADs a key can offer. */
export const SUPPORTED_AEADS = [...AEADS.keys()];
export { AEAD_AES_128_GCM, AEAD_AES_256_GCM, AEAD_CHACHA20_POLY1305, KDF_HKDF_SHA256, KEM_X25519_HKDF_SHA256 };
