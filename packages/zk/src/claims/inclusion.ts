/**
 * @module claims/inclusion
 * The software-inclusion claim: "the component (name, SHA-256) is one of the
 * components of the image whose component-tree root is R", proven without
 * revealing the other components or the component's position. R is what the
 * attestation evidence carries (SNP host data, TDX MRCONFIGID or report data; see
 * `inclusionRootToHostData` in @veritee/core), so together with the evidence the
 * proof says that a genuine TEE runs an image containing this component.
 *
 * The tree and the hashing are defined in @veritee/core (commitment/inclusion)
 * and prover/internal/merkle; the circuit in prover/internal/circuits/inclusion.
 * The bundle's `commitment` is the root (decimal); `params.root` is the same root
 * as 64 hex digits, the bytes found in the evidence.
 *
 * @example
 * const { bundle } = await prove(pool, 'inclusion', { params: {}, data: { components, component: { name: 'usr/lib/libssl.so.3', sha256 } } });
 * assertInclusionRootInHostData(bundle, claims.hostData); // the evidence carries this tree
 */
import { z } from 'zod';
import {
  componentLeafInputs,
  fromHex,
  inclusionRoot,
  inclusionRootFromHostData,
  inclusionRootToHex,
  parseInclusionRoot,
  parseJsonStrict,
  quoteInput,
  validateComponent,
  VeriteeError,
  type Component,
} from '@veritee/core';
import { defineClaim, type ClaimBundle, type ExpectationKey, type ProverCall } from './claim.js';
import { integerKey } from './expect-keys.js';

export const INCLUSION_CLAIM = 'inclusion';
export const INCLUSION_CIRCUIT_VERSION = 1;
/** Tree depths with a circuit: 10 (tests) and 20 (2^20 components). */
export const INCLUSION_DEPTHS = [10, 20] as const;
/** Size classes: the number of leaves, 2^depth. */
export const INCLUSION_CAPACITIES = INCLUSION_DEPTHS.map((d) => 2 ** d) as readonly number[];

export interface InclusionParams {
  /** The tree root: 32-byte big-endian encoding as 64 lowercase hex digits. */
  root: string;
  /** Tree depth (2^depth leaves); equals log2 of the proof's size class. */
  depth: number;
  /** The component proven to be in the tree. */
  component: Component;
}

/** The claim has no outputs beyond its parameters. */
export type InclusionOutputs = Record<string, never>;

/** Checks the parameters against the circuit (root in the field, depth of the size class, well-formed component). */
export function validateInclusionParams(p: InclusionParams, capacity?: number): void {
  parseInclusionRoot(p.root, 'claim root');
  if (!(INCLUSION_DEPTHS as readonly number[]).includes(p.depth)) {
    throw new VeriteeError('INPUT_INVALID', `tree depth ${p.depth} has no circuit (depths: ${INCLUSION_DEPTHS.join(', ')})`);
  }
  if (capacity !== undefined && 2 ** p.depth !== capacity) {
    throw new VeriteeError('ZK_PUBLIC_INPUT_MISMATCH', `the claim says depth ${p.depth} but the proof is for ${capacity} leaves`);
  }
  const v = validateComponent(p.component, 'claim component');
  if (v.sha256 !== p.component.sha256) throw new VeriteeError('INCLUSION_COMPONENT_INVALID', 'claim component sha256 must be lower-case hex');
}

/**
 * Public inputs in the circuit's order (see prover/internal/circuits/inclusion/claim.go):
 * root, digestHi, digestLo, name[0..7]. The bundle's commitment must be the root.
 */
export function inclusionPublicInputs(commitment: bigint, p: InclusionParams): bigint[] {
  const root = parseInclusionRoot(p.root, 'claim root');
  if (root !== commitment) {
    throw new VeriteeError('ZK_PUBLIC_INPUT_MISMATCH', `the bundle commitment ${commitment} is not the claim's root 0x${p.root}`);
  }
  const i = componentLeafInputs(p.component);
  return [root, i.digestHi, i.digestLo, ...i.nameChunks];
}

export function summarizeInclusion(p: InclusionParams): string[] {
  return [
    `component: ${JSON.stringify(p.component.name)}`,
    `sha256: ${p.component.sha256}`,
    `is in the component tree with root 0x${p.root}`,
    `tree: depth ${p.depth} (up to ${(2 ** p.depth).toLocaleString('en-US')} components); the other components and the position stay hidden`,
  ];
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');

export const InclusionClaimBodySchema = z.object({
  params: z
    .object({
      root: hex64,
      depth: z.number().int().positive(),
      component: z.object({ name: z.string().min(1), sha256: hex64 }).strict(),
    })
    .strict(),
  outputs: z.object({}).strict(),
});

/** What `prove` takes for an inclusion claim: the tree depth and, optionally, the root the tree must have. */
export interface InclusionProveParams {
  /** Tree depth: 20 (default) or 10. */
  depth?: number;
  /** Refuse (INCLUSION_ROOT_MISMATCH) unless the tree has this root, e.g. the one the evidence carries. */
  expectedRoot?: bigint | string;
}

/** The private data of an inclusion proof: every component and the one to prove. */
export interface InclusionData {
  /** Every component of the image, in any order (names unique). */
  components: readonly Component[];
  /** The component to prove: its index in `components`… */
  index?: number;
  /** …or the component itself (it must be listed with this digest). */
  component?: Component;
}

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

function checkDepth(depth: number): void {
  if (!(INCLUSION_DEPTHS as readonly number[]).includes(depth)) {
    throw new VeriteeError('INPUT_INVALID', `tree depth ${depth} has no circuit (depths: ${INCLUSION_DEPTHS.join(', ')})`);
  }
}

/** Anything that sends prover requests (a ProverPool). */
export interface ProverRequester {
  request<T>(req: { op: string; [key: string]: unknown }, opts?: object): Promise<T>;
}

/**
 * The root of a component list, computed by the prover (the tree is cached in
 * that prover process, so a following inclusion proof reuses it).
 */
export async function inclusionTree(pool: ProverRequester, components: readonly Component[], depth = 20, opts: object = {}): Promise<InclusionTreeInfo> {
  return treeOf((req) => pool.request(req, opts), components, depth);
}

async function treeOf(call: ProverCall, components: readonly Component[], depth: number): Promise<InclusionTreeInfo> {
  checkDepth(depth);
  // The prover validates every entry, except what JSON loses on the way: a lone
  // surrogate would reach Go as U+FFFD and be hashed as another name.
  components.forEach((c, i) => {
    if (typeof c?.name === 'string' && /\p{Cs}/u.test(c.name)) validateComponent(c, `component ${i + 1}`);
  });
  const r = await call<Omit<InclusionTreeInfo, 'root'> & { root: string }>({ op: 'merkle', input: { components, depth } });
  const root = parseInclusionRoot(r.root, 'prover root');
  if (inclusionRootToHex(root) !== r.rootHex || r.depth !== depth) {
    throw new VeriteeError('INTERNAL', `the prover's tree answer is inconsistent (root ${r.root} vs 0x${r.rootHex}, depth ${r.depth})`);
  }
  return { root, rootHex: r.rootHex, depth, components: r.components, treeMs: r.treeMs, hashMs: r.hashMs, treeCached: r.treeCached };
}

/** The component a prove input names (exactly one of index or component). */
function targetOf(d: InclusionData): Component {
  const { components } = d;
  if (!Array.isArray(components) || components.length === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no components');
  if ((d.index === undefined) === (d.component === undefined)) {
    throw new VeriteeError('INPUT_INVALID', 'name the component to prove with exactly one of index or component');
  }
  if (d.index !== undefined) {
    if (!Number.isInteger(d.index) || d.index < 0 || d.index >= components.length) {
      throw new VeriteeError('INPUT_INVALID', `component index ${d.index} is outside 0..${components.length - 1}`);
    }
    return validateComponent(components[d.index]!, `component ${d.index + 1}`);
  }
  return validateComponent(d.component!, 'component to prove');
}

/**
 * The Go prover builds the tree (2^20 leaves take seconds there and far longer in
 * BigInt TypeScript) and returns its root, the claim's commitment; the TypeScript
 * side computes the component's leaf inputs itself and `prove` requires the
 * prover's public inputs to equal them. The prover refuses with
 * INCLUSION_COMPONENT_NOT_FOUND when the component is not listed (or is listed
 * with another digest).
 */
export const inclusionClaim = defineClaim<InclusionParams, InclusionOutputs, InclusionData, InclusionProveParams, typeof INCLUSION_CLAIM>({
  kind: INCLUSION_CLAIM,
  version: INCLUSION_CIRCUIT_VERSION,
  capacities: INCLUSION_CAPACITIES,
  unit: 'leaf',
  title: "software inclusion: a component (name, SHA-256) is in the image's component tree, the others and its position hidden",
  schema: InclusionClaimBodySchema as unknown as z.ZodType<{ params: InclusionParams; outputs: InclusionOutputs }>,
  validate: (params, _outputs, capacity) => validateInclusionParams(params, capacity),
  publicInputs: (commitment, params) => inclusionPublicInputs(commitment, params),
  summarize: (params) => summarizeInclusion(params),
  // The root travels in the evidence itself, not in a signed statement.
  statement: () => ({ n: 0, periodStartUs: 0, periodEndUs: 0 }),
  expectations: [
    hexKey('root', (p) => p.root),
    hexKey('sha256', (p) => p.component.sha256),
    integerKey('depth', (p) => p.depth, 'the tree depth, an integer'),
    {
      key: 'name',
      rest: true,
      syntax: 'the component name (written last: it may hold commas)',
      parse: (v) => v,
      format: (p) => p.component.name,
      matches: (p, e) => p.component.name === e,
      show: (e) => String(e),
    },
  ],
  async prepare(call, pi, data) {
    const depth = pi.depth ?? 20;
    checkDepth(depth);
    const target = targetOf(data);
    const tree = await treeOf(call, data.components, depth);
    if (pi.expectedRoot !== undefined) {
      const want = typeof pi.expectedRoot === 'bigint' ? pi.expectedRoot : parseInclusionRoot(pi.expectedRoot, 'expected root');
      if (want !== tree.root) {
        throw new VeriteeError('INCLUSION_ROOT_MISMATCH', `the component list has root 0x${tree.rootHex}, not the expected 0x${inclusionRootToHex(want)}`);
      }
    }
    return { params: { root: tree.rootHex, depth, component: target }, data: { components: data.components, component: target }, commitment: tree.root, details: { tree } };
  },
  evidence: [
    // A component-tree root is only meaningful if the attested image was launched with it.
    {
      check: 'claim.root_in_evidence',
      code: 'INCLUSION_ROOT_MISMATCH',
      verify(bundle, ev) {
        if (!ev.hostData) throw new VeriteeError('INCLUSION_ROOT_MISMATCH', `the ${ev.platform} evidence carries no host data / MRCONFIGID to hold a component-tree root`);
        assertInclusionRootInHostData(bundle, fromHex(ev.hostData, 'evidence host data'));
        return `the component-tree root is the ${ev.platform === 'tdx' ? 'MRCONFIGID' : 'HOST_DATA'} of the attested image`;
      },
    },
    // And it counts only for an image that enforces it at boot: the host chooses HOST_DATA / MRCONFIGID at launch.
    {
      check: 'claim.image_enforces',
      code: 'IMAGE_MEASUREMENT_NOT_ENFORCING',
      verify(_bundle, ev, opts) {
        const measurement = (ev.measurement ?? '').toLowerCase();
        const hostData = (ev.hostData ?? '').toLowerCase();
        const policies = opts.imagePolicies;
        const field = ev.platform === 'tdx' ? 'MRCONFIGID' : 'HOST_DATA';
        const match = policies.find((p) => p.enforcing && p.platform === ev.platform && p.measurements.includes(measurement) && p.hostData === hostData);
        if (match) return `the attested measurement is that of an image that checks its files against the ${field} root at boot (image policy)`;
        if (policies.length === 0) {
          throw new VeriteeError('IMAGE_MEASUREMENT_NOT_ENFORCING', `no image policy was given: the host chooses ${field} at launch, so the root proves nothing unless the attested image enforces it (pass the policy of such an image: veritee image policy --enforcing)`);
        }
        throw new VeriteeError(
          'IMAGE_MEASUREMENT_NOT_ENFORCING',
          `the attested measurement ${measurement.slice(0, 16)}… with this ${field} is not that of an enforcing image in the ${policies.length} image polic${policies.length === 1 ? 'y' : 'ies'} given`,
        );
      },
    },
  ],
  check: (params) => validateInclusionParams(params),
  capacityFor: (p) => 2 ** p.depth,
  misfit: (capacity, p) => (capacity === 2 ** p.depth ? undefined : `a tree of depth ${p.depth} has ${2 ** p.depth} leaves, not ${capacity}`),
  compute: () => ({}),
  commit: (p) => parseInclusionRoot(p.root, 'claim root'),
  proverInput: (_p, d) => ({ components: d.components, component: d.component }),
  fromProverInput(i, capacity) {
    const data = { components: i.components as Component[], component: i.component as Component };
    const depth = Math.log2(capacity);
    const root = inclusionRoot(data.components, depth);
    return { params: { root: inclusionRootToHex(root), depth, component: data.component }, data, salt: 0n, commitment: root };
  },
  cli: {
    description: "prove that a component is in an image's component tree without revealing the other components",
    options: [
      { flags: '--components <file>', description: 'every component of the image: JSON [{"name","sha256"}] or sha256sum output', required: true },
      { flags: '--component <name>', description: 'name of the component to prove (as listed)', required: true },
      { flags: '--sha256 <hex>', description: 'the digest the component must have (default: the one listed)' },
      { flags: '--root <hex>', description: 'refuse unless the tree has this root (e.g. the host data of the evidence)' },
      { flags: '--depth <d>', description: `tree depth: ${INCLUSION_DEPTHS.join(' or ')} (2^depth leaves)`, default: '20' },
    ],
    read(o, readText) {
      const depth = /^[0-9]+$/.test(String(o.depth)) ? Number(o.depth) : NaN;
      if (!(INCLUSION_DEPTHS as readonly number[]).includes(depth)) throw new VeriteeError('INPUT_INVALID', `--depth must be one of ${INCLUSION_DEPTHS.join(', ')} (got ${quoteInput(String(o.depth), 40)})`);
      const path = String(o.components);
      const components = parseComponentsText(readText(path, 'component list'), `component list ${quoteInput(path, 200)}`);
      const name = String(o.component);
      const listed = components.find((c) => c.name === name);
      if (!listed && o.sha256 === undefined) {
        throw new VeriteeError('INCLUSION_COMPONENT_NOT_FOUND', `component ${quoteInput(name)} is not in ${quoteInput(path, 200)} (${components.length} components)`);
      }
      const component: Component = { name, sha256: typeof o.sha256 === 'string' ? o.sha256 : listed!.sha256 };
      return { params: { depth, ...(typeof o.root === 'string' ? { expectedRoot: parseInclusionRoot(o.root, '--root') } : {}) }, data: { components, component } };
    },
  },
});

/** 64 hex digits (a 0x prefix and upper case are accepted). */
function hexKey(key: string, get: (p: InclusionParams) => string): ExpectationKey<InclusionParams> {
  return {
    key,
    syntax: '64 hex digits',
    parse: (v) => {
      const h = v.replace(/^0x/i, '').toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(h)) throw new Error('expected 64 hex digits');
      return h;
    },
    format: (p) => get(p),
    matches: (p, e) => get(p) === e,
    show: (e) => String(e),
  };
}

/** A bundle whose claim is an inclusion claim. */
export type InclusionBundle = ClaimBundle<typeof INCLUSION_CLAIM, InclusionParams, InclusionOutputs>;

export function isInclusionBundle(b: { claim: { kind: string } }): b is InclusionBundle {
  return b.claim.kind === INCLUSION_CLAIM;
}

/**
 * Requires that attestation host data (SNP HOST_DATA, TDX MRCONFIGID or report
 * data: the root's 32 bytes, zero-padded) carries the root the bundle proves
 * against. Throws INCLUSION_ROOT_MISMATCH otherwise.
 */
export function assertInclusionRootInHostData(bundle: { claim: { kind: string; params: unknown }; commitment: string }, hostData: Uint8Array): void {
  if (!isInclusionBundle(bundle)) throw new VeriteeError('INPUT_INVALID', `bundle is a ${bundle.claim.kind} claim, not ${INCLUSION_CLAIM}`);
  const proven = parseInclusionRoot(bundle.claim.params.root, 'claim root');
  const carried = inclusionRootFromHostData(hostData);
  if (carried !== proven || BigInt(bundle.commitment) !== proven) {
    throw new VeriteeError('INCLUSION_ROOT_MISMATCH', `the evidence carries component-tree root 0x${inclusionRootToHex(carried)}, but the proof is against 0x${bundle.claim.params.root}`);
  }
}

/**
 * Parses a component list: JSON (`[{name, sha256}]` or `{components: [...]}`) or
 * the output of `sha256sum` / `shasum -a 256` (`<hex>  <name>`, `<hex> *<name>`,
 * escaped names `\<hex>  a\nb`) or BSD `SHA256 (<name>) = <hex>`. Errors name the
 * line or entry.
 */
export function parseComponentsText(text: string, what = 'component list'): Component[] {
  const trimmed = text.trimStart();
  let out: Component[];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    // Strict: duplicate keys and deep nesting are refused (and checked without recursion).
    const v = parseJsonStrict(text, { what, maxDepth: 16 });
    const list = Array.isArray(v) ? v : (v as { components?: unknown }).components;
    if (!Array.isArray(list)) throw new VeriteeError('INPUT_INVALID', `${what}: expected a JSON list of {name, sha256} or {"components": [...]}`);
    out = list.map((c, i) => validateComponent(c as Component, `${what} entry ${i + 1}`));
  } else {
    out = [];
    const lines = text.split('\n');
    lines.forEach((raw, i) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') return;
      let m = /^(\\?)([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
      let name: string, sha: string;
      if (m) {
        sha = m[2]!;
        name = m[1] ? unescapeName(m[3]!) : m[3]!;
      } else if ((m = /^(\\?)SHA256 \((.+)\) = ([0-9a-fA-F]{64})$/.exec(line))) {
        name = m[1] ? unescapeName(m[2]!) : m[2]!;
        sha = m[3]!;
      } else {
        throw new VeriteeError('INCLUSION_COMPONENT_INVALID', `${what} line ${i + 1}: expected "<sha256>  <name>" (sha256sum) or "SHA256 (<name>) = <sha256>"`);
      }
      out.push(validateComponent({ name, sha256: sha }, `${what} line ${i + 1}`));
    });
  }
  if (out.length === 0) throw new VeriteeError('INPUT_FILE_EMPTY', `${what} holds no components`);
  return out;
}

/** sha256sum escapes "\" and newlines (and, in newer coreutils, carriage returns) in names. */
function unescapeName(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}
