/**
 * @module merkle
 * The input Merkle tree: every pinned input of a build (source files, lockfiles, resolved
 * dependencies, preloaded trees, toolchain versions, build parameters) as one leaf, in a fixed order, hashed
 * the RFC 6962 way (leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right),
 * an odd node is promoted unchanged). Its root is the provenance byproduct
 * `input_merkle_root`.
 *
 * LEAF DATA: `kind 0x00 name 0x00 digest` (UTF-8), where digest is `<alg>:<hex>` or, for
 * a toolchain or parameter, the value itself. ORDER: kinds in {@link LEAF_KINDS} order,
 * then names by UTF-8 bytes. Two builds with the same inputs have the same root.
 */
import { concatBytes, sha256, toHex, utf8, VeriteeError } from '@veritee/core';

export const LEAF_KINDS = ['source', 'lockfile', 'dependency', 'preload', 'toolchain', 'parameter'] as const;
export type LeafKind = (typeof LEAF_KINDS)[number];

export interface InputLeaf {
  kind: LeafKind;
  /** Path, purl, tool or parameter name. */
  name: string;
  /** `sha256:<hex>` / `sha512:<hex>` for content; the plain value for toolchains and parameters. */
  value: string;
}

function compareBytes(a: string, b: string): number {
  const x = utf8(a);
  const y = utf8(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** The leaves in the fixed order (kind order, then name by bytes). Duplicate (kind, name) is an error. */
export function orderLeaves(leaves: readonly InputLeaf[]): InputLeaf[] {
  const sorted = [...leaves].sort((a, b) => LEAF_KINDS.indexOf(a.kind) - LEAF_KINDS.indexOf(b.kind) || compareBytes(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.kind === sorted[i - 1]!.kind && sorted[i]!.name === sorted[i - 1]!.name) {
      throw new VeriteeError('INPUT_INVALID', `input ${sorted[i]!.kind} "${sorted[i]!.name.slice(0, 80)}" appears twice`);
    }
  }
  return sorted;
}

export function leafHash(leaf: InputLeaf): Uint8Array {
  for (const part of [leaf.kind, leaf.name, leaf.value]) {
    if (part.includes('\0')) throw new VeriteeError('INPUT_INVALID', 'an input name or value contains a NUL byte');
  }
  return sha256(concatBytes(new Uint8Array([0]), utf8(`${leaf.kind}\0${leaf.name}\0${leaf.value}`)));
}

/** Root (hex) of the input Merkle tree over `leaves` (ordered here). Empty: SHA-256 of the empty string. */
export function inputMerkleRoot(leaves: readonly InputLeaf[]): string {
  let level = orderLeaves(leaves).map(leafHash);
  if (level.length === 0) return toHex(sha256(new Uint8Array(0)));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const r = level[i + 1];
      next.push(r === undefined ? level[i]! : sha256(concatBytes(new Uint8Array([1]), level[i]!, r)));
    }
    level = next;
  }
  return toHex(level[0]!);
}
