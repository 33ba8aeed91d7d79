/**
 * @module policy
 * The build policy: what a relying party accepts as the origin of an artifact.
 *
 * ```yaml
 * version: 1
 * builder:                    # an attestation policy for the builder's TEE (same schema as veritee attest)
 *   platforms: [snp]
 *   allowSimulated: true      # development only
 *   reportData: { require: [nonce, publicKeyHash] }
 *   snp: { measurements: [<the builder's launch measurement>] }
 * builderIds: [https://veritee.dev/build/tee-builder/v1]   # default
 * requireSealed: true         # default: the provenance must record a sealed, network-less build phase
 * sandboxes: [bwrap]          # default [bwrap, unshare]
 * sourceCommits: [<40 hex>]   # optional: only these commits
 * sourceUris: [git+file:///srv/repo]   # optional: only these repositories
 * allowPreloaded: false      # default: refuse preloaded inputs / a skipped dependency fetch
 * ```
 *
 * INVARIANT: the builder's launch measurement must be pinned: a builder section whose
 * measurements (SNP) or MRTD (TDX) is `any` is refused at parse time unless
 * `allowAnyBuilderMeasurement: true` is written out (kettle's verify leaves the build VM's
 * measurement unchecked; veritee does not, by default).
 */
import { readFileSync, statSync } from 'node:fs';
import { parseDocument, visit, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { quoteInput, VeriteeError } from '@veritee/core';
import { parsePolicy, type Policy } from '@veritee/attestation';
import { VERITEE_BUILDER_ID } from './provenance.js';

export const MAX_BUILD_POLICY_BYTES = 256 * 1024;

const schema = z.strictObject({
  version: z.literal(1).default(1),
  name: z.string().max(64).optional(),
  builder: z.record(z.string(), z.unknown()),
  builderIds: z.array(z.string().min(1).max(1024)).min(1).default([VERITEE_BUILDER_ID]),
  requireSealed: z.boolean().default(true),
  sandboxes: z.array(z.enum(['bwrap', 'unshare'])).min(1).default(['bwrap', 'unshare']),
  sourceCommits: z.array(z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a full lowercase git commit id')).min(1).optional(),
  sourceUris: z.array(z.string().min(1).max(4096)).min(1).optional(),
  allowAnyBuilderMeasurement: z.boolean().default(false),
  /** Accept builds with preloaded (measured, not fetched-and-verified) inputs or a skipped dependency fetch. */
  allowPreloaded: z.boolean().default(false),
});

export type BuildPolicy = Omit<z.output<typeof schema>, 'builder'> & { builder: Policy };

function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) throw new VeriteeError('BUILD_POLICY_INVALID', `build policy ${source} is not valid YAML/JSON: ${err instanceof YAMLParseError ? err.message.split('\n')[0] : String(err)}`);
  // long hex written without quotes stays the string it was written as (not a number)
  visit(doc, {
    Scalar(_k, node) {
      if (node.type === 'PLAIN' && typeof node.value !== 'string' && typeof node.source === 'string' && /^(0[xX])?[0-9a-fA-F]{16,}$/.test(node.source)) node.value = node.source;
    },
  });
  return doc.toJS({ maxAliasCount: 50 });
}

/** Validates a build policy (YAML/JSON text or object). Throws BUILD_POLICY_INVALID naming the key. */
export function parseBuildPolicy(input: string | unknown, source = 'document'): BuildPolicy {
  if (typeof input === 'string' && Buffer.byteLength(input) > MAX_BUILD_POLICY_BYTES) {
    throw new VeriteeError('INPUT_TOO_LARGE', `build policy ${source} is over ${MAX_BUILD_POLICY_BYTES} bytes`);
  }
  const doc = typeof input === 'string' ? parseYaml(input, source) : input;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new VeriteeError('BUILD_POLICY_INVALID', `build policy ${source} must be a mapping at the top level`);
  const r = schema.safeParse(doc);
  if (!r.success) {
    const why = r.error.issues
      .slice(0, 4)
      .map((i) => (i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}` : `${i.path.join('.') || '(top)'}: ${i.message}`))
      .join('; ');
    throw new VeriteeError('BUILD_POLICY_INVALID', `build policy ${source} is invalid: ${quoteInput(why, 300)}`);
  }
  let builder: Policy;
  try {
    builder = parsePolicy(r.data.builder, { source: `${source} (builder)` });
  } catch (e) {
    throw new VeriteeError('BUILD_POLICY_INVALID', `build policy ${source}: builder: ${(e as Error).message}`);
  }
  if (!r.data.allowAnyBuilderMeasurement) {
    const open = [builder.snp?.measurements === 'any' ? 'snp.measurements' : '', builder.tdx?.mrtd === 'any' ? 'tdx.mrtd' : ''].filter(Boolean);
    if (open.length) {
      throw new VeriteeError('BUILD_POLICY_INVALID', `build policy ${source}: builder ${open.join(', ')} is "any": pin the builder's launch measurement (or set allowAnyBuilderMeasurement: true)`);
    }
  }
  return { ...r.data, builder };
}

export function loadBuildPolicy(path: string): BuildPolicy {
  let text: string;
  try {
    if (statSync(path).size > MAX_BUILD_POLICY_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `build policy ${quoteInput(path)} is over ${MAX_BUILD_POLICY_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof VeriteeError) throw e;
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `cannot read build policy ${quoteInput(path)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseBuildPolicy(text, path);
}

/** A development policy text pinning `measurement` for simulated `platform` evidence. */
export function devBuildPolicyYaml(measurement: string, platform: 'snp' | 'tdx' = 'snp'): string {
  const section = platform === 'snp' ? `  snp:\n    measurements: ["${measurement}"]\n` : `  tdx:\n    mrtd: ["${measurement}"]\n    tcbStatuses: [UpToDate]\n`;
  return `# veritee build policy (development: accepts the SIMULATED TEE)\nversion: 1\nbuilder:\n  platforms: [${platform}]\n  allowSimulated: true\n  reportData:\n    require: [nonce, publicKeyHash]\n${section}requireSealed: true\n`;
}
