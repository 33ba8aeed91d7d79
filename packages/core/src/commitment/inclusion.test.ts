import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  canonicalComponents,
  COMPONENT_TAG,
  componentLeaf,
  componentLeafInputs,
  inclusionEmptyRoot,
  inclusionPath,
  inclusionRoot,
  inclusionRootFromHostData,
  inclusionRootFromPath,
  inclusionRootToHex,
  inclusionRootToHostData,
  parseInclusionRoot,
  poseidon2Compress,
} from './index.js';
import { isVeriteeError } from '../errors.js';

// Works from src/commitment (tsx) and dist/commitment (compiled).
const vectorsPath = fileURLToPath(new URL('../../src/commitment/testdata/merkle-vectors.json', import.meta.url));
const v = JSON.parse(readFileSync(vectorsPath, 'utf8')) as {
  tag: string;
  compress: { left: string; right: string; out: string }[];
  zeros: string[];
  leaves: { name: string; sha256: string; digestHi: string; digestLo: string; chunks: string[]; leaf: string }[];
  trees: { depth: number; components: { name: string; sha256: string }[]; sorted: string[]; root: string; rootHex: string; paths: { name: string; index: number; siblings: string[] }[] }[];
};

test('the 2-to-1 compression agrees with gnark-crypto', () => {
  assert.equal(COMPONENT_TAG.toString(), v.tag);
  assert.ok(v.compress.length >= 8);
  for (const c of v.compress) assert.equal(poseidon2Compress(BigInt(c.left), BigInt(c.right)).toString(), c.out);
  v.zeros.forEach((z, h) => assert.equal(inclusionEmptyRoot(h).toString(), z, `Z_${h}`));
});

test('leaves agree with Go for every name shape (chunk boundaries, UTF-8, NUL, 248 bytes)', () => {
  assert.ok(v.leaves.length >= 12);
  for (const l of v.leaves) {
    const i = componentLeafInputs(l);
    assert.equal(i.digestHi.toString(), l.digestHi, l.name);
    assert.equal(i.digestLo.toString(), l.digestLo, l.name);
    assert.deepEqual(i.nameChunks.map(String), l.chunks, l.name);
    assert.equal(componentLeaf(l).toString(), l.leaf, l.name);
    // upper-case digests are the same component
    assert.equal(componentLeaf({ name: l.name, sha256: l.sha256.toUpperCase() }).toString(), l.leaf);
  }
});

test('roots, canonical order and paths agree with Go (depth 1, 4, 10 and 20)', () => {
  for (const t of v.trees) {
    assert.deepEqual(canonicalComponents(t.components).map((c) => c.name), t.sorted, `order at depth ${t.depth}`);
    const root = inclusionRoot(t.components, t.depth);
    assert.equal(root.toString(), t.root);
    assert.equal(inclusionRootToHex(root), t.rootHex);
    assert.equal(inclusionRoot([...t.components].reverse(), t.depth), root, 'order of the list does not matter');
    for (const p of t.paths) {
      const path = inclusionPath(t.components, p.name, t.depth);
      assert.equal(path.index, p.index);
      assert.deepEqual(path.siblings.map(String), p.siblings);
      const c = t.components.find((x) => x.name === p.name)!;
      assert.equal(inclusionRootFromPath(componentLeaf(c), p.index, path.siblings), root);
    }
  }
});

test('any change to a component changes the root', () => {
  const t = v.trees[2]!;
  const root = inclusionRoot(t.components, t.depth);
  const renamed = t.components.map((c, i) => (i === 3 ? { ...c, name: c.name + ' ' } : c));
  assert.notEqual(inclusionRoot(renamed, t.depth), root);
  const redigested = t.components.map((c, i) => (i === 3 ? { ...c, sha256: (c.sha256[0] === '0' ? '1' : '0') + c.sha256.slice(1) } : c));
  assert.notEqual(inclusionRoot(redigested, t.depth), root);
  assert.notEqual(inclusionRoot(t.components.slice(1), t.depth), root);
  assert.notEqual(inclusionRoot(t.components, t.depth + 1), root);
});

test('host data encodings round-trip; foreign bytes are refused', () => {
  const root = BigInt(v.trees[3]!.root);
  for (const size of [32, 48, 64] as const) {
    const b = inclusionRootToHostData(root, size);
    assert.equal(b.length, size);
    assert.equal(inclusionRootFromHostData(b), root);
  }
  assert.equal(parseInclusionRoot(v.trees[3]!.rootHex), root);
  assert.equal(parseInclusionRoot('0x' + v.trees[3]!.rootHex.toUpperCase()), root);
  assert.equal(parseInclusionRoot(v.trees[3]!.root), root);
  const junk = inclusionRootToHostData(root, 48);
  junk[40] = 1;
  assert.throws(() => inclusionRootFromHostData(junk), (e: unknown) => isVeriteeError(e, 'INCLUSION_ROOT_MISMATCH'));
  assert.throws(() => inclusionRootFromHostData(new Uint8Array(32).fill(0xff)), (e: unknown) => isVeriteeError(e, 'INCLUSION_ROOT_MISMATCH'));
  assert.throws(() => parseInclusionRoot('ff'.repeat(32)), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
});

test('malformed components are refused with codes', () => {
  const d = 'ab'.repeat(32);
  const bad: [unknown, string][] = [
    [{ name: '', sha256: d }, 'INCLUSION_COMPONENT_INVALID'],
    [{ name: 'x'.repeat(249), sha256: d }, 'INCLUSION_COMPONENT_INVALID'],
    [{ name: 'é'.repeat(125), sha256: d }, 'INCLUSION_COMPONENT_INVALID'],
    [{ name: 'lone \ud800', sha256: d }, 'INCLUSION_COMPONENT_INVALID'],
    [{ name: 'x', sha256: d.slice(2) }, 'INCLUSION_COMPONENT_INVALID'],
    [{ name: 'x', sha256: 'zz' + d.slice(2) }, 'INCLUSION_COMPONENT_INVALID'],
    [{ name: 'x' }, 'INCLUSION_COMPONENT_INVALID'],
  ];
  for (const [c, code] of bad) assert.throws(() => componentLeaf(c as never), (e: unknown) => isVeriteeError(e, code as never), JSON.stringify(c));
  assert.throws(() => inclusionRoot([{ name: 'a', sha256: d }, { name: 'a', sha256: d }], 4), (e: unknown) => isVeriteeError(e, 'INCLUSION_COMPONENT_DUPLICATE'));
  assert.throws(() => inclusionRoot([{ name: 'a', sha256: d }, { name: 'b', sha256: d }, { name: 'c', sha256: d }], 1), (e: unknown) => isVeriteeError(e, 'INCLUSION_TREE_FULL'));
  assert.throws(() => inclusionRoot([], 4), (e: unknown) => isVeriteeError(e, 'INPUT_FILE_EMPTY'));
  assert.throws(() => inclusionPath([{ name: 'a', sha256: d }], 'b', 4), (e: unknown) => isVeriteeError(e, 'INCLUSION_COMPONENT_NOT_FOUND'));
  // names of exactly 248 bytes (multi-byte characters included) are fine
  componentLeaf({ name: 'é'.repeat(124), sha256: d });
});
