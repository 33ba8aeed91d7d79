/**
 * @module prove-inclusion
 * Proving that a component is in an image's component tree: the Go prover builds
 * the tree (2^20 leaves take seconds there and far longer in BigInt TypeScript),
 * returns its root, and proves the component's path; the TypeScript side computes
 * the component's leaf inputs itself and {@link proveClaim} requires the prover's
 * public inputs to equal them.
 *
 * @example
 * const { bundle, root } = await proveInclusion(pool, { components, component: { name: 'bin/sh', sha256 } });
 */
import { inclusionRootToHex, parseInclusionRoot, validateComponent, VeriteeError, type Component } from '@veritee/core';
import type { VerificationKeyDocument } from './keys.js';
import type { ProverPool, RequestOptions } from './prover/pool.js';
import { proveClaim } from './prove.js';
import { INCLUSION_DEPTHS, inclusionClaim, type InclusionBundle, type InclusionParams } from './claims/inclusion.js';

export interface InclusionTreeInfo {
  /** The root as a field element. */
  root: bigint;
  /** Its 32-byte encoding, 64 hex digits: what host data carries. */
  rootHex: string;
  depth: number;
  /** Number of components (non-empty leaves). */
  components: number;
  /** Time the prover spent obtaining the tree: parsing, sorting, hashing (about 0 when cached). */
  treeMs: number;
  /** Of which hashing the leaves and nodes. */
  hashMs: number;
  treeCached: boolean;
}

interface MerkleResponse {
  root: string;
  rootHex: string;
  depth: number;
  components: number;
  treeMs: number;
  hashMs: number;
  treeCached: boolean;
}

function checkDepth(depth: number): void {
  if (!(INCLUSION_DEPTHS as readonly number[]).includes(depth)) {
    throw new VeriteeError('INPUT_INVALID', `tree depth ${depth} has no circuit (depths: ${INCLUSION_DEPTHS.join(', ')})`);
  }
}

/**
 * The root of a component list, computed by the prover (the tree is cached in
 * that prover process, so a following {@link proveInclusion} reuses it).
 */
export async function inclusionTree(pool: ProverPool, components: readonly Component[], depth = 20, opts: RequestOptions = {}): Promise<InclusionTreeInfo> {
  checkDepth(depth);
  // The prover validates every entry, except what JSON loses on the way: a lone
  // surrogate would reach Go as U+FFFD and be hashed as another name.
  components.forEach((c, i) => {
    if (typeof c?.name === 'string' && /\p{Cs}/u.test(c.name)) validateComponent(c, `component ${i + 1}`);
  });
  const r = await pool.request<MerkleResponse>({ op: 'merkle', input: { components, depth } }, opts);
  const root = parseInclusionRoot(r.root, 'prover root');
  if (inclusionRootToHex(root) !== r.rootHex || r.depth !== depth) {
    throw new VeriteeError('INTERNAL', `the prover's tree answer is inconsistent (root ${r.root} vs 0x${r.rootHex}, depth ${r.depth})`);
  }
  return { root, rootHex: r.rootHex, depth, components: r.components, treeMs: r.treeMs, hashMs: r.hashMs, treeCached: r.treeCached };
}

export interface ProveInclusionOptions extends RequestOptions {
  /** Every component of the image, in any order (names unique). */
  components: readonly Component[];
  /** The component to prove: its index in `components`… */
  index?: number;
  /** …or the component itself (it must be listed with this digest). */
  component?: Component;
  /** Tree depth: 20 (default) or 10. */
  depth?: number;
  /** Refuse (INCLUSION_ROOT_MISMATCH) unless the tree has this root, e.g. the one the evidence carries. */
  expectedRoot?: bigint | string;
}

export interface InclusionProveResult {
  bundle: InclusionBundle;
  vk: VerificationKeyDocument;
  tree: InclusionTreeInfo;
  timings: { treeMs: number; witnessMs: number; proveMs: number; totalMs: number };
}

/**
 * Proves that one component is in the tree of `components`. The prover refuses
 * with INCLUSION_COMPONENT_NOT_FOUND when the component is not listed (or is
 * listed with another digest).
 */
export async function proveInclusion(pool: ProverPool, opts: ProveInclusionOptions): Promise<InclusionProveResult> {
  const t0 = performance.now();
  const depth = opts.depth ?? 20;
  checkDepth(depth);
  const { components } = opts;
  if (!Array.isArray(components) || components.length === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no components');
  if ((opts.index === undefined) === (opts.component === undefined)) {
    throw new VeriteeError('INPUT_INVALID', 'name the component to prove with exactly one of index or component');
  }
  let target: Component;
  if (opts.index !== undefined) {
    if (!Number.isInteger(opts.index) || opts.index < 0 || opts.index >= components.length) {
      throw new VeriteeError('INPUT_INVALID', `component index ${opts.index} is outside 0..${components.length - 1}`);
    }
    target = validateComponent(components[opts.index]!, `component ${opts.index + 1}`);
  } else {
    target = validateComponent(opts.component!, 'component to prove');
  }

  const { signal, timeoutMs, onProgress } = opts;
  const reqOpts: RequestOptions = { ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}), ...(onProgress ? { onProgress } : {}) };
  const tree = await inclusionTree(pool, components, depth, reqOpts);
  if (opts.expectedRoot !== undefined) {
    const want = typeof opts.expectedRoot === 'bigint' ? opts.expectedRoot : parseInclusionRoot(opts.expectedRoot, 'expected root');
    if (want !== tree.root) {
      throw new VeriteeError('INCLUSION_ROOT_MISMATCH', `the component list has root 0x${tree.rootHex}, not the expected 0x${inclusionRootToHex(want)}`);
    }
  }
  const params: InclusionParams = { root: tree.rootHex, depth, component: target };
  const r = await proveClaim(pool, {
    def: inclusionClaim,
    capacity: 2 ** depth,
    params,
    outputs: {},
    commitment: tree.root,
    proverInput: { components, component: target },
    ...reqOpts,
  });
  return {
    bundle: r.bundle as unknown as InclusionBundle,
    vk: r.vk,
    tree,
    timings: { treeMs: tree.treeMs, witnessMs: r.timings.witnessMs, proveMs: r.timings.proveMs, totalMs: Math.round(performance.now() - t0) },
  };
}
