/**
 * @module shims/rsa
 * RSA signature verification (RFC 8017): RSASSA-PKCS1-v1_5 and RSASSA-PSS with
 * MGF1, salt length fixed or recovered ("auto"), over SHA-1/256/384/512. Public
 * operations only (no secrets, so no timing concerns), on BigInt.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';
type HashFn = (m: Uint8Array) => Uint8Array;

export const HASHES: Record<HashName, { fn: HashFn; len: number; digestInfo: string }> = {
  sha1: { fn: sha1, len: 20, digestInfo: '3021300906052b0e03021a05000414' },
  sha256: { fn: sha256, len: 32, digestInfo: '3031300d060960864801650304020105000420' },
  sha384: { fn: sha384, len: 48, digestInfo: '3041300d060960864801650304020205000430' },
  sha512: { fn: sha512, len: 64, digestInfo: '3051300d060960864801650304020305000440' },
};

export function hashByName(name: string): { fn: HashFn; len: number; digestInfo: string } {
  const n = name.toLowerCase().replace(/^rsa-/, '').replace('-', '') as HashName;
  const h = HASHES[n];
  if (!h) throw new Error(`Invalid digest: ${name}`);
  return h;
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return r;
}

function bytesToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function bigToBytes(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let v = n;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new Error('integer too large');
  return out;
}

export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * RSAVP1: s^e mod n as a k-byte string, or undefined when s is out of range or the
 * wrong length. `allowShort` takes a signature shorter than the modulus (its leading
 * zero bytes dropped), as OpenSSL does for PSS; PKCS#1 v1.5 needs exactly k bytes there.
 */
function rsavp1(key: { n: bigint; e: bigint }, sig: Uint8Array, allowShort = false): Uint8Array | undefined {
  const k = Math.ceil(bitLength(key.n) / 8);
  if (sig.length > k || (sig.length < k && !allowShort) || sig.length === 0) return undefined;
  const s = bytesToBig(sig);
  if (s >= key.n) return undefined;
  return bigToBytes(modPow(s, key.e, key.n), k);
}

export function verifyPkcs1v15(key: { n: bigint; e: bigint }, hash: string, message: Uint8Array, sig: Uint8Array): boolean {
  const h = hashByName(hash);
  const em = rsavp1(key, sig);
  if (!em) return false;
  const t = new Uint8Array([...h.digestInfo.match(/../g)!.map((x) => parseInt(x, 16)), ...h.fn(message)]);
  if (em.length < t.length + 11) return false;
  const expected = new Uint8Array(em.length);
  expected[1] = 0x01;
  expected.fill(0xff, 2, em.length - t.length - 1);
  expected[em.length - t.length - 1] = 0x00;
  expected.set(t, em.length - t.length);
  return eq(em, expected);
}

function mgf1(hash: HashFn, hLen: number, seed: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(len);
  const input = new Uint8Array(seed.length + 4);
  input.set(seed);
  for (let counter = 0, off = 0; off < len; counter++, off += hLen) {
    input[seed.length] = counter >>> 24;
    input[seed.length + 1] = (counter >>> 16) & 0xff;
    input[seed.length + 2] = (counter >>> 8) & 0xff;
    input[seed.length + 3] = counter & 0xff;
    out.set(hash(input).subarray(0, Math.min(hLen, len - off)), off);
  }
  return out;
}

/**
 * RSASSA-PSS verification with MGF1 over the same hash. `saltLength` is a byte
 * count, -1 (the hash length) or -2 ("auto": recovered from the encoding).
 */
export function verifyPss(key: { n: bigint; e: bigint }, hash: string, message: Uint8Array, sig: Uint8Array, saltLength: number): boolean {
  const h = hashByName(hash);
  const raw = rsavp1(key, sig, true);
  if (!raw) return false;
  const modBits = bitLength(key.n);
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  // When emBits is a multiple of 8 the encoded message is one byte shorter than the modulus: that byte must be 0.
  if (raw.length > emLen && raw[0] !== 0) return false;
  const em = raw.subarray(raw.length - emLen);
  const sLen = saltLength === -1 ? h.len : saltLength;
  if (emLen < h.len + (sLen >= 0 ? sLen : 0) + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - h.len - 1);
  const hPrime = em.subarray(emLen - h.len - 1, emLen - 1);
  const zeroBits = 8 * emLen - emBits;
  const topMask = (0xff << (8 - zeroBits)) & 0xff;
  if (maskedDb[0]! & topMask) return false;
  const db = mgf1(h.fn, h.len, hPrime, maskedDb.length);
  for (let i = 0; i < db.length; i++) db[i] ^= maskedDb[i]!;
  db[0] = db[0]! & ~topMask & 0xff;
  let i = 0;
  while (i < db.length && db[i] === 0) i++;
  if (i >= db.length || db[i] !== 0x01) return false;
  const salt = db.subarray(i + 1);
  if (sLen >= 0 && salt.length !== sLen) return false;
  const mPrime = new Uint8Array(8 + h.len + salt.length);
  mPrime.set(h.fn(message), 8);
  mPrime.set(salt, 8 + h.len);
  return eq(h.fn(mPrime), hPrime);
}
