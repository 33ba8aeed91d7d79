/**
 * @module policy
 * The appraisal policy: which evidence a relying party accepts. A policy is a YAML or
 * JSON document validated strictly (an unknown key is an error naming the key, so a
 * typo never silently weakens a policy).
 *
 * THREAT MODEL: the policy is the relying party's statement of what it trusts; the
 * evidence is the attester's claim. Every default is the strict choice: no debug, no
 * simulated evidence, only `UpToDate` TDX TCB, no advisory IDs, a nonce binding
 * required. A policy that accepts a platform must say which measurements it accepts for
 * it (a list, or the explicit word `any`); omitting them is a parse error, not "any".
 *
 * @example
 * ```yaml
 * version: 1
 * name: prod-inference
 * platforms: [snp, tdx, nvidia]
 * allowDebug: false            # default
 * allowSimulated: false        # default
 * reportData:
 *   require: [nonce, publicKeyHash]   # default [nonce]
 * snp:
 *   measurements: [a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c]
 *   minTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 }
 *   signers: [vcek]             # default [vcek, vlek]
 *   vmpl: { max: 0 }            # or { exact: 2 }; default: any VMPL
 * tdx:
 *   mrtd: [91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7]
 *   rtmr0: any                  # rtmr0..3, mrConfigId: optional lists
 *   tcbStatuses: [UpToDate, SWHardeningNeeded]   # default [UpToDate]
 *   allowedAdvisoryIds: [INTEL-SA-00837]         # default []: any advisory fails
 * nvidia:
 *   measurements: { "2": [8048dfd1...], "10": [059b32e7...] }   # or any
 * # cloud variants (attestation-rs tags az-snp, az-tdx, gcp-snp, gcp-tdx; list them in
 * # platforms; they use the snp/tdx sections): the variant is the attester's claim
 * cloud: [azure]               # azure | gcp | none; default: any
 * pcrs: { "7": 3b20e022416fdf61d72e4da32b4354781be3de0608116976d28ffdad8c341d2a }   # vTPM PCRs (az-*)
 * ```
 */
import { readdirSync, statSync } from 'node:fs';
import { readTextFileBounded } from '@veritee/core/node-fs';
import { basename, extname, join } from 'node:path';
import { parseDocument, visit, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { canonicalJson, checkYamlNesting, quoteInput, sha256, toHex, utf8, VeriteeError } from '@veritee/core';
import type { Platform } from './types.js';

export { computeReportData, computeSpdmNonce, publicKeyHash, REPORT_DATA_DOMAIN } from './report-data.js';

/** Largest policy document accepted, in bytes. */
export const MAX_POLICY_BYTES = 256 * 1024;

/** TDX TCB statuses a policy may accept. `Revoked` can never be accepted. */
export const TDX_ACCEPTABLE_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
] as const;
export type TdxTcbStatus = (typeof TDX_ACCEPTABLE_STATUSES)[number];

/** SNP TCB components a policy may set a minimum for. */
export const SNP_TCB_COMPONENTS = ['bootloader', 'tee', 'snp', 'microcode', 'fmc'] as const;

const hexOf = (bytes: number | undefined, what: string) =>
  z
    .string()
    .regex(
      bytes === undefined ? /^(0x)?([0-9a-fA-F]{2})+$/ : new RegExp(`^(0x)?[0-9a-fA-F]{${bytes * 2}}$`),
      bytes === undefined ? `${what} must be hex` : `${what} must be ${bytes} bytes of hex (${bytes * 2} digits)`,
    )
    .transform((s) => s.replace(/^0x/, '').toLowerCase());

/** `any`, or a non-empty list of allowed values. */
const allowList = (item: z.ZodType<string, string>) =>
  z.union([z.literal('any'), z.array(item).min(1, 'list at least one value, or write any')]);

const measurement48 = hexOf(48, 'a measurement');
const u8 = z.number().int().min(0).max(255);

const snpSection = z.strictObject({
  /** Allowed launch measurements (48 bytes hex), or `any`. */
  measurements: allowList(measurement48).optional(),
  /** Allowed HOST_DATA values (32 bytes hex). Absent: any. */
  hostData: z.array(hexOf(32, 'host data')).min(1).optional(),
  /** Minimum reported TCB per component. Absent components are unconstrained. */
  minTcb: z
    .strictObject({ bootloader: u8.optional(), tee: u8.optional(), snp: u8.optional(), microcode: u8.optional(), fmc: u8.optional() })
    .default({}),
  /** Which key may have signed the report. */
  signers: z.array(z.enum(['vcek', 'vlek'])).min(1).default(['vcek', 'vlek']),
  /** VMPL constraint: `{ max }` (VMPL <= max) or `{ exact }`. Absent: any VMPL. */
  vmpl: z
    .strictObject({ max: z.number().int().min(0).max(3).optional(), exact: z.number().int().min(0).max(3).optional() })
    .refine((v) => (v.max === undefined) !== (v.exact === undefined), 'vmpl needs exactly one of max or exact')
    .optional(),
});

const tdxSection = z.strictObject({
  /** Allowed MRTD values (48 bytes hex), or `any`. */
  mrtd: allowList(measurement48).optional(),
  rtmr0: allowList(measurement48).optional(),
  rtmr1: allowList(measurement48).optional(),
  rtmr2: allowList(measurement48).optional(),
  rtmr3: allowList(measurement48).optional(),
  /** Allowed MRCONFIGID values (48 bytes hex). Absent: any. */
  mrConfigId: z.array(measurement48).min(1).optional(),
  /** TCB statuses accepted. */
  tcbStatuses: z.array(z.enum(TDX_ACCEPTABLE_STATUSES)).min(1).default(['UpToDate']),
  /** Advisory IDs (INTEL-SA-xxxxx) tolerated; any other advisory fails. */
  allowedAdvisoryIds: z.union([z.literal('any'), z.array(z.string().regex(/^INTEL-SA-\d{5}$/, 'advisory IDs look like INTEL-SA-00837'))]).default([]),
});

const nvidiaSection = z.strictObject({
  /** Reference values per measurement block index (`"2": [hex, ...]`), or `any`. Unlisted blocks are unconstrained. */
  measurements: z
    .union([z.literal('any'), z.record(z.string().regex(/^\d{1,3}$/, 'block index must be a number'), z.array(hexOf(undefined, 'a GPU measurement')).min(1))])
    .optional(),
});

const policySchema = z
  .strictObject({
    version: z.literal(1).default(1),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'name: letters, digits, . _ - (max 64)').optional(),
    description: z.string().max(1000).optional(),
    /** Platforms accepted. */
    platforms: z.array(z.enum(['snp', 'tdx', 'nvidia', 'az-snp', 'az-tdx', 'gcp-snp', 'gcp-tdx'])).min(1),
    allowDebug: z.boolean().default(false),
    /** Accept evidence that chains only to the simulated TEE's test anchors (development only). */
    allowSimulated: z.boolean().default(false),
    reportData: z
      .strictObject({ require: z.array(z.enum(['nonce', 'publicKeyHash'])).default(['nonce']) })
      .default({ require: ['nonce'] }),
    snp: snpSection.optional(),
    tdx: tdxSection.optional(),
    nvidia: nvidiaSection.optional(),
    /**
     * Cloud variants accepted (`azure`, `gcp`, `none` = bare hardware tags). Absent: any.
     * The variant is the attester's claim (the envelope tag); see cloud/tags.ts.
     */
    cloud: z.array(z.enum(['azure', 'gcp', 'none'])).min(1).optional(),
    /**
     * Required TPM PCR values (SHA-256 bank) by index 0-23: `{ "7": "<hex>" }` or a list of
     * allowed values. Evidence without a verified TPM quote (bare SNP/TDX) then fails.
     */
    pcrs: z
      .record(
        z.string(),
        z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(hexOf(32, 'a PCR value')).min(1, 'list at least one PCR value')),
      )
      .superRefine((r, ctx) => {
        for (const k of Object.keys(r)) {
          if (!/^(1?[0-9]|2[0-3])$/.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: `PCR index must be 0-23 (got "${k.slice(0, 8)}")` });
        }
      })
      .optional(),
  })
  .superRefine((p, ctx) => {
    const need = (platform: Platform, present: boolean, key: string, hint: string) => {
      // A cloud variant (az-snp, gcp-tdx, ...) is appraised with its hardware's section.
      const which = p.platforms.find((x) => x === platform || x.endsWith(`-${platform}`));
      if (which !== undefined && !present) {
        ctx.addIssue({ code: 'custom', path: key.split('.'), message: `${key} is required when platforms includes ${which} (${hint}, or write any)` });
      }
    };
    need('snp', p.snp?.measurements !== undefined, 'snp.measurements', 'list the allowed launch measurements');
    need('tdx', p.tdx?.mrtd !== undefined, 'tdx.mrtd', 'list the allowed MRTD values');
    need('nvidia', p.nvidia?.measurements !== undefined, 'nvidia.measurements', 'give reference values per block index');
  });

/** A validated policy with every default filled in. */
export type Policy = z.output<typeof policySchema>;
/** A policy document as written (defaults not yet applied). */
export type PolicyDocument = z.input<typeof policySchema>;

function describePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

function formatIssues(issues: readonly z.core.$ZodIssue[], source: string): string {
  const parts = issues.map((i) => {
    if (i.code === 'unrecognized_keys') {
      const where = i.path.length ? ` in ${describePath(i.path)}` : '';
      return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}${where}`;
    }
    return `${describePath(i.path)}: ${i.message}`;
  });
  return `policy ${source} is invalid: ${parts.join('; ')}`;
}

/**
 * YAML 1.2 is a superset of JSON: one parser for both; duplicate keys are errors.
 * Unquoted hex is a trap in YAML: `0xA1F3…` is an integer, `000…0` is 0 and `123e4567…`
 * is Infinity. A plain scalar of 16 or more hex digits (optionally 0x-prefixed) is
 * therefore kept as the string it was written as; policy numbers are all small.
 */
function parseYamlKeepingHex(text: string, source: string): unknown {
  checkYamlNesting(text, { what: `policy ${source}`, code: 'ATTEST_POLICY_INVALID' });
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    const msg = err instanceof YAMLParseError ? err.message.split('\n')[0] : String(err);
    throw new VeriteeError('ATTEST_POLICY_INVALID', `policy ${source} is not valid YAML/JSON: ${msg}`);
  }
  visit(doc, {
    Scalar(_key, node) {
      if (node.type === 'PLAIN' && typeof node.value !== 'string' && typeof node.source === 'string' && /^(0[xX])?[0-9a-fA-F]{16,}$/.test(node.source)) {
        node.value = node.source;
      }
    },
  });
  try {
    return doc.toJS({ maxAliasCount: 50 });
  } catch (e) {
    if (e instanceof RangeError) throw new VeriteeError('ATTEST_POLICY_INVALID', `policy ${source} is nested too deeply to be a policy`);
    throw new VeriteeError('ATTEST_POLICY_INVALID', `policy ${source} is not valid YAML/JSON: ${quoteInput((e as Error).message, 200)}`);
  }
}

/**
 * Validates a policy given as YAML/JSON text or as an already parsed object.
 * Throws ATTEST_POLICY_INVALID naming the offending key(s).
 */
export function parsePolicy(input: string | unknown, opts: { source?: string } = {}): Policy {
  const source = opts.source ?? 'document';
  let doc: unknown = input;
  if (typeof input === 'string') {
    if (utf8(input).length > MAX_POLICY_BYTES) {
      throw new VeriteeError('INPUT_TOO_LARGE', `policy ${source} exceeds ${MAX_POLICY_BYTES} bytes`);
    }
    doc = parseYamlKeepingHex(input, source);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new VeriteeError('ATTEST_POLICY_INVALID', `policy ${source} must be a mapping (object) at the top level`);
  }
  const r = policySchema.safeParse(doc);
  if (!r.success) {
    throw new VeriteeError('ATTEST_POLICY_INVALID', formatIssues(r.error.issues, source), {
      issues: r.error.issues.map((i) => ({ path: describePath(i.path), message: i.message })),
    });
  }
  return r.data;
}

/** Largest policy file read. */
export const MAX_POLICY_FILE_BYTES = 1024 * 1024;

/** Reads and validates a policy file (YAML or JSON). A missing `name` becomes the file's base name. */
export function loadPolicy(path: string): Policy {
  // Bounded by bytes read: a FIFO or a device reports size 0.
  const text = readTextFileBounded(path, { what: 'policy file', maxBytes: MAX_POLICY_FILE_BYTES });
  const policy = parsePolicy(text, { source: path });
  if (policy.name === undefined) {
    const stem = basename(path, extname(path));
    if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(stem)) policy.name = stem;
  }
  return policy;
}

/** Loads every `*.yaml`, `*.yml` and `*.json` in `dir`, keyed by file base name. */
export function loadPolicyDir(dir: string): Record<string, Policy> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `cannot read policy directory ${dir}: ${(e as Error).message}`);
  }
  const out: Record<string, Policy> = {};
  for (const n of names.sort()) {
    const ext = extname(n).toLowerCase();
    if (!['.yaml', '.yml', '.json'].includes(ext)) continue;
    const p = join(dir, n);
    if (!statSync(p).isFile()) continue;
    const key = basename(n, extname(n));
    if (out[key] !== undefined) throw new VeriteeError('ATTEST_POLICY_INVALID', `two policy files are named ${key} in ${dir}`);
    const policy = loadPolicy(p);
    policy.name = key;
    out[key] = policy;
  }
  return out;
}

/** A stable identifier of a policy: its name, or a hash of its canonical JSON. */
export function policyId(policy: Policy): string {
  if (policy.name) return `veritee:policy/${policy.name}`;
  return `veritee:policy/sha256:${toHex(sha256(utf8(canonicalJson(policy)))).slice(0, 32)}`;
}

/**
 * The strict production baseline: genuine vendor roots only, no debug, no simulated
 * evidence, TDX TCB `UpToDate` only, SNP signed by VCEK or VLEK at any VMPL, and a
 * nonce binding required. It accepts ANY measurement: it establishes "a genuine,
 * up-to-date TEE", not "running my software". Pin measurements for workload identity:
 * `parsePolicy({ ...productionPolicyDocument, snp: { measurements: [...] } })`.
 */
export const productionPolicyDocument: PolicyDocument = {
  version: 1,
  name: 'production',
  platforms: ['snp', 'tdx', 'nvidia'],
  allowDebug: false,
  allowSimulated: false,
  reportData: { require: ['nonce'] },
  snp: { measurements: 'any', signers: ['vcek', 'vlek'], minTcb: {} },
  tdx: { mrtd: 'any', tcbStatuses: ['UpToDate'], allowedAdvisoryIds: [] },
  nvidia: { measurements: 'any' },
};

/** The parsed {@link productionPolicyDocument}. A fresh copy per call: callers may not mutate a shared default. */
export function productionPolicy(): Policy {
  return parsePolicy(structuredClone(productionPolicyDocument), { source: 'production default' });
}

/** The strict production default policy (see {@link productionPolicyDocument}). Frozen. */
export const DEFAULT_POLICY: Readonly<Policy> = deepFreeze(productionPolicy());

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
