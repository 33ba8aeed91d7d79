/**
 * Software inclusion end to end with the real Go prover: a 2^20-leaf tree
 * (depth 20) and the depth-10 test class; proofs verified in TypeScript and in
 * Go; forgeries (another component, another digest, another root, a component
 * not in the tree) rejected by both or refused by the prover with a code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { componentLeaf, inclusionPath, inclusionRoot, inclusionRootFromPath, inclusionRootToHex, inclusionRootToHostData, isVeriteeError, sha256, toHex, utf8, type Component } from '@veritee/core';
import { ProverPool } from './prover/pool.js';
import { devSetup, prove, verifyWithGo } from './prove.js';
import { bundlePublicInputs, verifyProofBundle } from './verify.js';
import { KeyRing, type VerificationKeyDocument } from './keys.js';
import {
  assertInclusionRootInHostData,
  inclusionClaim,
  inclusionTree,
  parseComponentsText,
  type InclusionBundle,
  type InclusionData,
  type InclusionOutputs,
  type InclusionParams,
  type InclusionProveParams,
  type InclusionTreeInfo,
} from './claims/inclusion.js';
import { testHome } from './testing/home.js';

/** The inclusion prove call these tests were written against, over the generic `prove`. */
const proveInclusion = (pool: ProverPool, o: { components: readonly Component[]; index?: number; component?: Component; depth?: number; expectedRoot?: bigint | string }) =>
  prove(pool, inclusionClaim, {
    params: { ...(o.depth !== undefined ? { depth: o.depth } : {}), ...(o.expectedRoot !== undefined ? { expectedRoot: o.expectedRoot } : {}) },
    data: { components: o.components, ...(o.index !== undefined ? { index: o.index } : {}), ...(o.component !== undefined ? { component: o.component } : {}) },
  }) as Promise<Awaited<ReturnType<typeof prove<InclusionParams, InclusionOutputs, InclusionData, InclusionProveParams, 'inclusion'>>> & { tree: InclusionTreeInfo }>;

let pool: ProverPool;
const vks = new Map<number, VerificationKeyDocument>();
let keys: KeyRing;
let good: InclusionBundle;

const comp = (name: string): Component => ({ name, sha256: toHex(sha256(utf8('contents of ' + name))) });
const image: Component[] = Array.from({ length: 3000 }, (_, i) => comp(`usr/lib/x86_64-linux-gnu/lib${i.toString(36)}.so.${i % 7}`));
image.push(comp('usr/bin/python3.12'), comp('etc/ssl/certs/ca-certificates.crt'), comp('opt/app/server.js'));
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

async function verdicts(b: InclusionBundle): Promise<{ ts: boolean; go: boolean }> {
  const ts = verifyProofBundle(b, { keys, allowDevSetup: true });
  let go: boolean;
  try {
    go = (await verifyWithGo(pool, keys.get(b.proof.vkHash)!, b.proof.groth16, bundlePublicInputs(b), true)).valid;
  } catch (e) {
    if (!isVeriteeError(e)) throw e;
    go = false; // the public inputs cannot even be rebuilt
  }
  return { ts: ts.ok, go };
}

before(async () => {
  pool = new ProverPool({ home: testHome(), size: 1 });
  keys = new KeyRing();
  for (const capacity of [1024, 2 ** 20]) {
    const vk = await devSetup(pool, 'inclusion', capacity);
    vks.set(capacity, vk);
    keys.add(vk);
  }
  good = (await proveInclusion(pool, { components: image, component: comp('opt/app/server.js') })).bundle;
});

after(async () => {
  await pool.close();
});

test('a component of a 2^20-leaf tree is proven and verifies in TypeScript and in Go', async () => {
  assert.equal(good.proof.capacity, 2 ** 20);
  assert.equal(good.claim.params.depth, 20);
  assert.deepEqual(good.claim.params.component, comp('opt/app/server.js'));
  assert.equal(BigInt(good.commitment).toString(16).padStart(64, '0'), good.claim.params.root);
  const r = verifyProofBundle(good, { keys, allowDevSetup: true });
  assert.equal(r.ok, true, JSON.stringify(r.checks));
  assert.deepEqual(await verdicts(good), { ts: true, go: true });
  // the bundle reveals neither the position nor the other components
  const text = JSON.stringify(good);
  assert.ok(!text.includes('libssl') && !text.includes(image[0]!.sha256));
});

test('the prover root agrees with the TypeScript tree (small list, depth 20 and 10)', async () => {
  const small = image.slice(0, 40);
  for (const depth of [20, 10]) {
    const t = await inclusionTree(pool, small, depth);
    assert.equal(t.root, inclusionRoot(small, depth));
    assert.equal(t.components, 40);
  }
  // and the path the TypeScript side builds leads to the same root
  const p = inclusionPath(small, small[7]!.name, 10);
  assert.equal(inclusionRootFromPath(componentLeaf(small[7]!), p.index, p.siblings), p.root);
});

test('depth 10: prove by index, verify, and the tree is reused', async () => {
  const small = image.slice(100, 900);
  const first = await proveInclusion(pool, { components: small, index: 5, depth: 10 });
  assert.equal(first.bundle.proof.capacity, 1024);
  assert.deepEqual(first.bundle.claim.params.component, small[5]);
  assert.deepEqual(await verdicts(first.bundle), { ts: true, go: true });
  const second = await proveInclusion(pool, { components: small, index: 700, depth: 10 });
  assert.equal(second.tree.treeCached, true);
  assert.equal(second.bundle.claim.params.root, first.bundle.claim.params.root);
  assert.deepEqual(await verdicts(second.bundle), { ts: true, go: true });
});

test('a component not in the tree is refused by the prover with a code', async () => {
  const stranger = comp('usr/bin/backdoor');
  await assert.rejects(proveInclusion(pool, { components: image, component: stranger }), (e: unknown) => isVeriteeError(e, 'INCLUSION_COMPONENT_NOT_FOUND') && /backdoor/.test(e.message));
  // a listed name with another digest
  const tampered = { ...comp('usr/bin/python3.12'), sha256: 'ab'.repeat(32) };
  await assert.rejects(proveInclusion(pool, { components: image, component: tampered }), (e: unknown) => isVeriteeError(e, 'INCLUSION_COMPONENT_NOT_FOUND'));
  // a list with a duplicate or a malformed entry
  await assert.rejects(proveInclusion(pool, { components: [...image, comp('opt/app/server.js')], index: 0 }), (e: unknown) => isVeriteeError(e, 'INCLUSION_COMPONENT_DUPLICATE'));
  await assert.rejects(proveInclusion(pool, { components: [...image, { name: 'x', sha256: 'nothex' }], index: 0 }), (e: unknown) => isVeriteeError(e, 'INCLUSION_COMPONENT_INVALID'));
  // a name JSON cannot carry faithfully (lone surrogate) is refused before it reaches Go
  await assert.rejects(proveInclusion(pool, { components: [...image, { name: 'bad\ud800', sha256: 'ab'.repeat(32) }], index: 0 }), (e: unknown) => isVeriteeError(e, 'INCLUSION_COMPONENT_INVALID'));
  // the caller's expected root (e.g. from the evidence) differs
  await assert.rejects(proveInclusion(pool, { components: image, index: 1, expectedRoot: 12345n }), (e: unknown) => isVeriteeError(e, 'INCLUSION_ROOT_MISMATCH'));
});

test('a proof presented for another component, digest or root is rejected by both verifiers', async () => {
  const other = await inclusionTree(pool, image.slice(1), 20);
  const mutations: [string, (b: InclusionBundle) => void][] = [
    ['another component of the same tree', (b) => (b.claim.params.component = comp('usr/bin/python3.12'))],
    ['renamed component', (b) => (b.claim.params.component.name = 'opt/app/server.jsx')],
    ['another digest', (b) => (b.claim.params.component.sha256 = 'ab'.repeat(32))],
    [
      'another root (commitment and params)',
      (b) => {
        b.claim.params.root = other.rootHex;
        b.commitment = other.root.toString();
      },
    ],
    ['root in params only', (b) => (b.claim.params.root = other.rootHex)],
    ['commitment only', (b) => (b.commitment = other.root.toString())],
  ];
  for (const [name, mutate] of mutations) {
    const b = clone(good);
    mutate(b);
    assert.deepEqual(await verdicts(b), { ts: false, go: false }, name);
  }
  // a depth that is not the proof's size class
  const wrongDepth = clone(good);
  wrongDepth.claim.params.depth = 10;
  const r = verifyProofBundle(wrongDepth, { keys, allowDevSetup: true });
  assert.equal(r.checks.find((c) => c.name === 'claim.params')?.code, 'ZK_PUBLIC_INPUT_MISMATCH');
  // the proof of one component replayed under another component's claim
  const proof2 = (await proveInclusion(pool, { components: image, component: comp('usr/bin/python3.12') })).bundle;
  const replay = clone(good);
  replay.proof.groth16 = proof2.proof.groth16;
  assert.deepEqual(await verdicts(replay), { ts: false, go: false }, 'proof of another component');
  assert.deepEqual(await verdicts(proof2), { ts: true, go: true });
});

test('the root binds to attestation host data', () => {
  const root = BigInt(good.commitment);
  assert.equal(inclusionRootToHex(root), good.claim.params.root);
  for (const size of [32, 48, 64] as const) assertInclusionRootInHostData(good, inclusionRootToHostData(root, size));
  assert.throws(() => assertInclusionRootInHostData(good, inclusionRootToHostData(root + 1n)), (e: unknown) => isVeriteeError(e, 'INCLUSION_ROOT_MISMATCH'));
  assert.throws(() => assertInclusionRootInHostData(good, new Uint8Array(32)), (e: unknown) => isVeriteeError(e, 'INCLUSION_ROOT_MISMATCH'));
});

test('component lists: JSON, sha256sum and BSD formats', () => {
  const a = comp('bin/sh'), b = comp('lib/with space'), c = comp('weird\nname');
  const json = parseComponentsText(JSON.stringify([a, b]));
  assert.deepEqual(json, [a, b]);
  assert.deepEqual(parseComponentsText(JSON.stringify({ components: [a] })), [a]);
  const sums = `${a.sha256}  ${a.name}\n${b.sha256.toUpperCase()} *${b.name}\r\n\\${c.sha256}  weird\\nname\n\n`;
  assert.deepEqual(parseComponentsText(sums), [a, b, c]);
  assert.deepEqual(parseComponentsText(`SHA256 (${a.name}) = ${a.sha256}\n`), [a]);
  assert.throws(() => parseComponentsText(`${a.sha256}  ${a.name}x\nnot a line\n`), (e: unknown) => isVeriteeError(e, 'INCLUSION_COMPONENT_INVALID') && /line 2/.test(e.message));
  assert.throws(() => parseComponentsText('\n\n'), (e: unknown) => isVeriteeError(e, 'INPUT_FILE_EMPTY'));
  assert.throws(() => parseComponentsText('[{"name":"a"}]'), (e: unknown) => isVeriteeError(e, 'INCLUSION_COMPONENT_INVALID') && /entry 1/.test(e.message));
  assert.throws(() => parseComponentsText('[oops'), (e: unknown) => isVeriteeError(e, 'INPUT_JSON_INVALID'));
});
