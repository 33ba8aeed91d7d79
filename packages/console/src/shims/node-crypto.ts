/**
 * @module shims/node-crypto
 * The browser build's `node:crypto`: the subset veritee's verifiers call, with the
 * same results as Node's (tests compare them, crypto-shim.test.ts):
 *
 * - `createHash` for sha1/sha256/sha384/sha512 (@noble/hashes);
 * - `createPublicKey` from SPKI DER or a JWK (EC P-256/P-384/P-521, RSA);
 * - `verify` for ECDSA (DER or IEEE P1363 signatures, high S accepted as OpenSSL
 *   does; @noble/curves) and RSA PKCS#1 v1.5 / PSS (shims/rsa.ts);
 * - `constants` for the paddings and salt lengths.
 *
 * Key generation, signing and randomness for keys are not available: the browser
 * only verifies. Calling them throws, naming the function.
 */
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { BrowserBuffer } from './buffer.js';
import { ecdsaDerToCompact, parseSpki, type ParsedSpki } from './der.js';
import { bitLength, hashByName, verifyPkcs1v15, verifyPss } from './rsa.js';

export const constants = {
  RSA_PKCS1_PADDING: 1,
  RSA_NO_PADDING: 3,
  RSA_PKCS1_PSS_PADDING: 6,
  RSA_PSS_SALTLEN_DIGEST: -1,
  RSA_PSS_SALTLEN_MAX_SIGN: -2,
  RSA_PSS_SALTLEN_AUTO: -2,
} as const;

type Input = Uint8Array | string;
const bytesOf = (d: Input): Uint8Array => (typeof d === 'string' ? new TextEncoder().encode(d) : d);

class Hash {
  private readonly parts: Uint8Array[] = [];
  private done = false;
  constructor(private readonly alg: string) {
    hashByName(alg);
  }
  update(data: Input, encoding?: 'hex' | 'base64' | 'utf8'): this {
    if (this.done) throw new Error('Digest already called');
    this.parts.push(typeof data === 'string' && encoding && encoding !== 'utf8' ? BrowserBuffer.from(data, encoding) : bytesOf(data));
    return this;
  }
  digest(): BrowserBuffer;
  digest(encoding: 'hex' | 'base64' | 'base64url'): string;
  digest(encoding?: 'hex' | 'base64' | 'base64url'): BrowserBuffer | string {
    if (this.done) throw new Error('Digest already called');
    this.done = true;
    const out = BrowserBuffer.from(hashByName(this.alg).fn(BrowserBuffer.concat(this.parts)));
    return encoding ? out.toString(encoding) : out;
  }
}

export function createHash(alg: string): Hash {
  return new Hash(alg);
}

const NODE_CURVE: Record<string, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };
const CURVES = { 'P-256': { c: p256, size: 32 }, 'P-384': { c: p384, size: 48 }, 'P-521': { c: p521, size: 66 } } as const;

export class KeyObject {
  readonly type = 'public';
  readonly asymmetricKeyType: 'ec' | 'rsa' | 'rsa-pss';
  readonly asymmetricKeyDetails: { namedCurve?: string; modulusLength?: number; publicExponent?: bigint };
  /** @internal */
  readonly key: ParsedSpki;
  constructor(key: ParsedSpki) {
    this.key = key;
    this.asymmetricKeyType = key.kind;
    if (key.kind === 'ec') {
      // Throws when the point is not on the curve, as Node does.
      CURVES[key.curve].c.Point.fromBytes(key.point).assertValidity();
      this.asymmetricKeyDetails = { namedCurve: NODE_CURVE[key.curve]! };
    } else {
      if (key.n <= 0n || key.e <= 1n || key.e % 2n === 0n) throw new Error('invalid RSA public key');
      this.asymmetricKeyDetails = { modulusLength: bitLength(key.n), publicExponent: key.e };
    }
  }
}

function b64uToBig(s: unknown, what: string): bigint {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]+$/.test(s)) throw new Error(`JWK ${what} is not base64url`);
  const b = BrowserBuffer.from(s, 'base64url');
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

type KeyInput =
  | Uint8Array
  | KeyObject
  | { key: Uint8Array | string; format?: 'der' | 'pem'; type?: 'spki' }
  | { key: Record<string, unknown>; format: 'jwk' };

export function createPublicKey(input: KeyInput): KeyObject {
  if (input instanceof KeyObject) return input;
  if (input instanceof Uint8Array) return new KeyObject(parseSpki(input));
  if ((input as { format?: string }).format === 'jwk') {
    const jwk = (input as { key: Record<string, unknown> }).key;
    if (jwk.kty === 'EC') {
      const curve = jwk.crv as keyof typeof CURVES;
      const spec = CURVES[curve];
      if (!spec) throw new Error(`unsupported JWK curve ${String(jwk.crv)}`);
      const x = BrowserBuffer.from(String(jwk.x), 'base64url');
      const y = BrowserBuffer.from(String(jwk.y), 'base64url');
      if (x.length !== spec.size || y.length !== spec.size) throw new Error('JWK EC coordinates have the wrong length');
      const point = new Uint8Array(1 + 2 * spec.size);
      point[0] = 4;
      point.set(x, 1);
      point.set(y, 1 + spec.size);
      return new KeyObject({ kind: 'ec', curve, point });
    }
    if (jwk.kty === 'RSA') return new KeyObject({ kind: 'rsa', n: b64uToBig(jwk.n, 'n'), e: b64uToBig(jwk.e, 'e') });
    throw new Error(`unsupported JWK kty ${String(jwk.kty)}`);
  }
  const { key, format, type } = input as { key: Uint8Array | string; format?: string; type?: string };
  if (format === 'pem' || typeof key === 'string') {
    const m = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(String(key));
    if (!m) throw new Error('only PEM "PUBLIC KEY" blocks are supported');
    return new KeyObject(parseSpki(BrowserBuffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  }
  if (type !== undefined && type !== 'spki') throw new Error(`unsupported key type ${type}`);
  return new KeyObject(parseSpki(key));
}

interface VerifyOptions {
  key: KeyInput;
  dsaEncoding?: 'der' | 'ieee-p1363';
  padding?: number;
  saltLength?: number;
}

/** `crypto.verify(algorithm, data, key, signature)` for ECDSA and RSA public keys. */
export function verify(algorithm: string | null | undefined, data: Uint8Array, keyOrOptions: KeyInput | VerifyOptions, signature: Uint8Array): boolean {
  const opts: VerifyOptions =
    keyOrOptions instanceof KeyObject || keyOrOptions instanceof Uint8Array || (keyOrOptions as { format?: string }).format !== undefined
      ? { key: keyOrOptions as KeyInput }
      : (keyOrOptions as VerifyOptions);
  const key = createPublicKey(opts.key);
  const alg = algorithm ?? 'sha256';
  const h = hashByName(alg);
  const k = key.key;
  if (k.kind === 'ec') {
    const { c, size } = CURVES[k.curve];
    let compact: Uint8Array;
    if (opts.dsaEncoding === 'ieee-p1363') {
      if (signature.length !== 2 * size) return false;
      compact = signature;
    } else {
      try {
        compact = ecdsaDerToCompact(signature, size);
      } catch {
        return false;
      }
    }
    try {
      return c.verify(compact, h.fn(data), k.point, { prehash: false, lowS: false, format: 'compact' });
    } catch {
      return false;
    }
  }
  const padding = opts.padding ?? (k.kind === 'rsa-pss' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING);
  if (padding === constants.RSA_PKCS1_PSS_PADDING) return verifyPss(k, alg, data, signature, opts.saltLength ?? constants.RSA_PSS_SALTLEN_AUTO);
  if (padding === constants.RSA_PKCS1_PADDING) return verifyPkcs1v15(k, alg, data, signature);
  throw new Error(`unsupported RSA padding ${padding}`);
}

function unavailable(name: string): never {
  throw new Error(`crypto.${name} is not available in the browser build of veritee (it verifies; it does not make keys or sign)`);
}

export function generateKeyPair(): never {
  return unavailable('generateKeyPair');
}
export function generateKeyPairSync(): never {
  return unavailable('generateKeyPairSync');
}
export function sign(): never {
  return unavailable('sign');
}
export function createPrivateKey(): never {
  return unavailable('createPrivateKey');
}
export function randomBytes(n: number): BrowserBuffer {
  const out = new BrowserBuffer(n);
  for (let off = 0; off < n; off += 65536) globalThis.crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  return out;
}

export default { constants, createHash, createPublicKey, verify, generateKeyPair, generateKeyPairSync, sign, createPrivateKey, randomBytes, KeyObject };
