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
 * const { bundle } = await proveInclusion(pool, { components, component: { name: 'usr/lib/libssl.so.3', sha256 } });
 * assertInclusionRootInHostData(bundle, claims.hostData); // the evidence carries this tree
 */
import { z } from 'zod';
import {
  componentLeafInputs,
  inclusionRootFromHostData,
  inclusionRootToHex,
  parseInclusionRoot,
  parseJsonStrict,
  validateComponent,
  VeriteeError,
  type Component,
} from '@veritee/core';
import { registerClaim } from './registry.js';
import { integerKey, type ExpectationKey } from './expect.js';
import type { ProofBundle } from '../bundle.js';

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
 * Public inputs in the circuit's order (see prover/internal/circuits/inclusion_adapter.go):
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

export const inclusionClaim = registerClaim<InclusionParams, InclusionOutputs>({
  kind: INCLUSION_CLAIM,
  version: INCLUSION_CIRCUIT_VERSION,
  capacities: INCLUSION_CAPACITIES,
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
export type InclusionBundle = Omit<ProofBundle, 'claim'> & {
  claim: { kind: typeof INCLUSION_CLAIM; version: number; params: InclusionParams; outputs: InclusionOutputs };
};

export function isInclusionBundle(b: Pick<ProofBundle, 'claim'>): b is InclusionBundle {
  return b.claim.kind === INCLUSION_CLAIM;
}

/**
 * Requires that attestation host data (SNP HOST_DATA, TDX MRCONFIGID or report
 * data: the root's 32 bytes, zero-padded) carries the root the bundle proves
 * against. Throws INCLUSION_ROOT_MISMATCH otherwise.
 */
export function assertInclusionRootInHostData(bundle: Pick<ProofBundle, 'claim' | 'commitment'>, hostData: Uint8Array): void {
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
