/**
 * @module commitment/inclusion
 * The software-inclusion tree, identical to prover/internal/merkle (checked by
 * vectors generated from the Go code):
 *
 *   C(l, r)   = Poseidon2_t2(l, r)[1] + r      gnark-crypto's BN254 2-to-1 compression
 *                                              (width 2, RF = 6, RP = 50, x^5)
 *   hi, lo    = the component's SHA-256 as two 128-bit big-endian halves
 *   chunk_j   = int(0x01 || name[31j .. 31j+31])   UTF-8 name (1..248 bytes) cut in
 *                                              31-byte pieces; the marker byte encodes
 *                                              the piece's length
 *   leaf      = C(..C(C(C(TAG, hi), lo), chunk_0).., chunk_{k-1}),
 *               TAG = int("veritee.component.v1")
 *   tree      fixed depth d; components sorted by the bytes of their (unique)
 *             names take leaves 0..m-1; other leaves are EMPTY = 0; node = C(left, right)
 *   root      32-byte big-endian encoding; this is what SNP host data (32 bytes),
 *             TDX MRCONFIGID (48, zero-padded) or report data (64) carry.
 *
 * Building a 2^20-leaf tree is the prover's job (`merkle` op); this module hashes
 * single leaves, checks paths and builds small trees (tests, a few hundred
 * components: one BigInt compression costs about 0.2-0.5 ms).
 */
import { VeriteeError } from '../errors.js';
import { bigintToBytesBE, bytesToBigintBE, toHex, utf8 } from '../bytes.js';
import { FR_MODULUS as P } from './field.js';
import { T2_FULL_ROUNDS, T2_PARTIAL_ROUNDS, T2_ROUND_KEYS } from './poseidon2-t2-constants.js';

export const COMPONENT_DOMAIN = 'veritee.component.v1';
export const COMPONENT_NAME_CHUNK_BYTES = 31;
export const COMPONENT_NAME_MAX_CHUNKS = 8;
export const COMPONENT_NAME_MAX_BYTES = COMPONENT_NAME_CHUNK_BYTES * COMPONENT_NAME_MAX_CHUNKS;
/** Depth of the production tree (2^20 leaves). */
export const INCLUSION_DEFAULT_DEPTH = 20;
export const INCLUSION_MAX_DEPTH = 32;

/** TAG: the ASCII bytes of the domain as a big-endian integer. */
export const COMPONENT_TAG = bytesToBigintBE(utf8(COMPONENT_DOMAIN));

const RK: bigint[][] = T2_ROUND_KEYS.map((r) => r.map((h) => BigInt('0x' + h)));

const sbox = (x: bigint): bigint => {
  const x2 = (x * x) % P;
  const x4 = (x2 * x2) % P;
  return (x4 * x) % P;
};

/** gnark-crypto's BN254 Poseidon2 permutation of width 2, in place. */
export function poseidon2T2Permute(s: [bigint, bigint]): void {
  let a = s[0], b = s[1];
  // external matrix circ(2, 1): (2a + b, a + 2b); internal [[2,1],[1,3]]: (2a + b, a + 3b)
  let t = a + b;
  a = (t + a) % P;
  b = (t + b) % P;
  const half = T2_FULL_ROUNDS / 2;
  for (let r = 0; r < half; r++) {
    a = sbox((a + RK[r]![0]!) % P);
    b = sbox((b + RK[r]![1]!) % P);
    t = a + b;
    a = (t + a) % P;
    b = (t + b) % P;
  }
  for (let r = half; r < half + T2_PARTIAL_ROUNDS; r++) {
    a = sbox((a + RK[r]![0]!) % P);
    t = a + b;
    a = (t + a) % P;
    b = (t + 2n * b) % P;
  }
  for (let r = half + T2_PARTIAL_ROUNDS; r < T2_FULL_ROUNDS + T2_PARTIAL_ROUNDS; r++) {
    a = sbox((a + RK[r]![0]!) % P);
    b = sbox((b + RK[r]![1]!) % P);
    t = a + b;
    a = (t + a) % P;
    b = (t + b) % P;
  }
  s[0] = a;
  s[1] = b;
}

/** C(l, r) = P(l, r)[1] + r: the tree's 2-to-1 compression (inputs < r). */
export function poseidon2Compress(left: bigint, right: bigint): bigint {
  const s: [bigint, bigint] = [left, right];
  poseidon2T2Permute(s);
  return (s[1] + right) % P;
}

/** A component of an image: a name and the hex SHA-256 of its contents. */
export interface Component {
  name: string;
  sha256: string;
}

/** Checks a name (1..248 bytes of well-formed UTF-8) and a digest (64 hex digits); returns the digest in lowercase. */
export function validateComponent(c: Component, what = 'component'): Component {
  if (typeof c !== 'object' || c === null || typeof c.name !== 'string' || typeof c.sha256 !== 'string') {
    throw new VeriteeError('INCLUSION_COMPONENT_INVALID', `${what} must be {name, sha256} strings`);
  }
  if (c.name.length === 0) throw new VeriteeError('INCLUSION_COMPONENT_INVALID', `${what} has an empty name`);
  if (/\p{Cs}/u.test(c.name)) throw new VeriteeError('INCLUSION_COMPONENT_INVALID', `${what} name ${JSON.stringify(c.name)} is not well-formed Unicode (lone surrogate)`);
  const bytes = utf8(c.name).length;
  if (bytes > COMPONENT_NAME_MAX_BYTES) {
    throw new VeriteeError('INCLUSION_COMPONENT_INVALID', `${what} name ${JSON.stringify(c.name.slice(0, 32))}… is ${bytes} bytes, over the ${COMPONENT_NAME_MAX_BYTES}-byte limit`);
  }
  if (!/^[0-9a-fA-F]{64}$/.test(c.sha256)) {
    throw new VeriteeError('INCLUSION_COMPONENT_INVALID', `${what} ${JSON.stringify(c.name)}: sha256 must be 64 hex digits`);
  }
  return { name: c.name, sha256: c.sha256.toLowerCase() };
}

export interface ComponentLeafInputs {
  digestHi: bigint;
  digestLo: bigint;
  /** Always COMPONENT_NAME_MAX_CHUNKS entries; absent chunks are 0. */
  nameChunks: bigint[];
}

/** The field elements a leaf commits to (also the circuit's public inputs after the root). */
export function componentLeafInputs(c: Component): ComponentLeafInputs {
  const v = validateComponent(c);
  const name = utf8(v.name);
  const chunks: bigint[] = [];
  for (let off = 0; off < name.length; off += COMPONENT_NAME_CHUNK_BYTES) {
    chunks.push(bytesToBigintBE(Uint8Array.of(1, ...name.subarray(off, off + COMPONENT_NAME_CHUNK_BYTES))));
  }
  while (chunks.length < COMPONENT_NAME_MAX_CHUNKS) chunks.push(0n);
  return { digestHi: BigInt('0x' + v.sha256.slice(0, 32)), digestLo: BigInt('0x' + v.sha256.slice(32)), nameChunks: chunks };
}

/** The component's leaf. */
export function componentLeaf(c: Component): bigint {
  const i = componentLeafInputs(c);
  let h = poseidon2Compress(COMPONENT_TAG, i.digestHi);
  h = poseidon2Compress(h, i.digestLo);
  for (const ch of i.nameChunks) if (ch !== 0n) h = poseidon2Compress(h, ch);
  return h;
}

/** Canonical order: the bytes of the UTF-8 names (= Unicode code point order). */
export function compareComponentNames(a: string, b: string): number {
  const x = utf8(a), y = utf8(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Validates, lower-cases digests, rejects duplicate names and sorts canonically. */
export function canonicalComponents(components: readonly Component[]): Component[] {
  const out = components.map((c, i) => validateComponent(c, `component ${i + 1}`));
  const keyed = out.map((c) => ({ c, k: utf8(c.name) }));
  keyed.sort((p, q) => {
    const n = Math.min(p.k.length, q.k.length);
    for (let i = 0; i < n; i++) if (p.k[i] !== q.k[i]) return p.k[i]! - q.k[i]!;
    return p.k.length - q.k.length;
  });
  for (let i = 1; i < keyed.length; i++) {
    if (keyed[i]!.c.name === keyed[i - 1]!.c.name) throw new VeriteeError('INCLUSION_COMPONENT_DUPLICATE', `component ${JSON.stringify(keyed[i]!.c.name)} is listed twice`);
  }
  return keyed.map((p) => p.c);
}

const zeros: bigint[] = [0n];

/** Root of an empty subtree of the given height (Z_0 = EMPTY = 0, Z_{h+1} = C(Z_h, Z_h)). */
export function inclusionEmptyRoot(height: number): bigint {
  while (zeros.length <= height) zeros.push(poseidon2Compress(zeros[zeros.length - 1]!, zeros[zeros.length - 1]!));
  return zeros[height]!;
}

function checkDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 1 || depth > INCLUSION_MAX_DEPTH) throw new VeriteeError('INPUT_INVALID', `tree depth ${depth} outside 1..${INCLUSION_MAX_DEPTH}`);
}

/** Every level of a tree over `leaves` (non-empty prefix); levels[depth] = [root]. */
function levels(leaves: readonly bigint[], depth: number): bigint[][] {
  checkDepth(depth);
  if (leaves.length === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no components');
  if (leaves.length > 2 ** depth) throw new VeriteeError('INCLUSION_TREE_FULL', `${leaves.length} components do not fit a tree of depth ${depth}`);
  const out: bigint[][] = [[...leaves]];
  for (let h = 1; h <= depth; h++) {
    const below = out[h - 1]!;
    const level: bigint[] = [];
    for (let i = 0; i < below.length; i += 2) level.push(poseidon2Compress(below[i]!, i + 1 < below.length ? below[i + 1]! : inclusionEmptyRoot(h - 1)));
    out.push(level);
  }
  return out;
}

/**
 * The root of a component list (any order) in a tree of the given depth. Costs
 * about (3 + name chunks) compressions per component in BigInt arithmetic: use it
 * for small lists; the prover's `merkle` op builds large trees.
 */
export function inclusionRoot(components: readonly Component[], depth: number = INCLUSION_DEFAULT_DEPTH): bigint {
  const sorted = canonicalComponents(components);
  return levels(sorted.map(componentLeaf), depth)[depth]![0]!;
}

/** A component's position and sibling path (small trees, as {@link inclusionRoot}). */
export function inclusionPath(components: readonly Component[], name: string, depth: number = INCLUSION_DEFAULT_DEPTH): { index: number; siblings: bigint[]; root: bigint } {
  const sorted = canonicalComponents(components);
  const index = sorted.findIndex((c) => c.name === name);
  if (index < 0) throw new VeriteeError('INCLUSION_COMPONENT_NOT_FOUND', `component ${JSON.stringify(name)} is not in the component list`);
  const lv = levels(sorted.map(componentLeaf), depth);
  const siblings: bigint[] = [];
  for (let h = 0; h < depth; h++) {
    const s = Math.floor(index / 2 ** h) ^ 1;
    siblings.push(s < lv[h]!.length ? lv[h]![s]! : inclusionEmptyRoot(h));
  }
  return { index, siblings, root: lv[depth]![0]! };
}

/** Hashes a leaf up its path (bit h of index = 1: the node at height h is a right child). */
export function inclusionRootFromPath(leaf: bigint, index: number, siblings: readonly bigint[]): bigint {
  let cur = leaf;
  siblings.forEach((s, h) => {
    cur = Math.floor(index / 2 ** h) % 2 === 0 ? poseidon2Compress(cur, s) : poseidon2Compress(s, cur);
  });
  return cur;
}

/** The root's 32-byte big-endian encoding. */
export function inclusionRootToBytes(root: bigint): Uint8Array {
  if (root < 0n || root >= P) throw new VeriteeError('INPUT_INVALID', 'inclusion root is not a BN254 scalar field element');
  return bigintToBytesBE(root, 32);
}

export function inclusionRootToHex(root: bigint): string {
  return toHex(inclusionRootToBytes(root));
}

/** Parses a root given as 64 hex digits (optional 0x) or a decimal string. */
export function parseInclusionRoot(s: string, what = 'inclusion root'): bigint {
  let v: bigint;
  const h = s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s;
  if (/^[0-9a-fA-F]{64}$/.test(h)) v = BigInt('0x' + h);
  else if (/^(0|[1-9][0-9]{0,77})$/.test(s)) v = BigInt(s);
  else throw new VeriteeError('INPUT_INVALID', `${what} must be 64 hex digits or a decimal field element`);
  if (v >= P) throw new VeriteeError('INPUT_INVALID', `${what} is not below the BN254 scalar field modulus`);
  return v;
}

/**
 * The bytes attestation carries: the root's 32-byte encoding, zero-padded to the
 * field's size: 32 for SEV-SNP HOST_DATA, 48 for TDX MRCONFIGID, 64 for report data.
 */
export function inclusionRootToHostData(root: bigint, size: 32 | 48 | 64 = 32): Uint8Array {
  const out = new Uint8Array(size);
  out.set(inclusionRootToBytes(root));
  return out;
}

/** Reads a root back from host data / MRCONFIGID / report data (first 32 bytes; the rest must be zero). */
export function inclusionRootFromHostData(bytes: Uint8Array): bigint {
  if (bytes.length < 32) throw new VeriteeError('INCLUSION_ROOT_MISMATCH', `host data of ${bytes.length} bytes cannot carry a 32-byte inclusion root`);
  for (let i = 32; i < bytes.length; i++) {
    if (bytes[i] !== 0) throw new VeriteeError('INCLUSION_ROOT_MISMATCH', `host data does not carry an inclusion root: byte ${i} after the 32-byte root is not zero`);
  }
  const v = bytesToBigintBE(bytes.subarray(0, 32));
  if (v >= P) throw new VeriteeError('INCLUSION_ROOT_MISMATCH', 'host data does not carry an inclusion root: its first 32 bytes are not a field element');
  return v;
}
