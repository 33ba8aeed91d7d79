/**
 * @module telemetry/classify
 * Who owns a process: the platform (the TEE's own services, the kernel, this
 * collector) or the customer. The CPU claim proves that platform overhead stays
 * below a share of the machine, so the rule list is part of what a verifier
 * should know: it is a small YAML/JSON document, validated here, evaluated in
 * order, first match wins, `default` otherwise.
 *
 * ```yaml
 * version: 1
 * default: customer
 * rules:
 *   - name: collector
 *     owner: platform
 *     match: { self: true }
 *   - name: batch jobs
 *     owner: customer
 *     match: { cgroup: "/system.slice/batch-*.service" }
 *   - name: system users
 *     owner: platform
 *     match: { uid: { min: 0, max: 999 } }
 *   - name: sidecars
 *     owner: platform
 *     match: { comm: "^(envoy|pilot-agent)$" }
 * ```
 *
 * All conditions of one `match` must hold (AND). `cgroup` globs match any of the
 * process's cgroup paths (v2 and every v1 hierarchy): `*` and `?` stay inside one
 * path segment, `**` crosses segments, and a trailing `/**` also matches the
 * directory itself. `comm` is a JavaScript regular expression tested against the
 * kernel's command name (15 bytes at most, so `^kube-controller` and not the full
 * name). `uid` is the real uid: a number, a list, or an inclusive `{ min, max }`.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { checkYamlNesting, VeriteeError } from '@veritee/core';

export type Owner = 'platform' | 'customer';
export const OwnerSchema = z.enum(['platform', 'customer']);

const uid = z.number().int().min(0).max(0xffffffff);
const uidMatch = z.union([
  uid,
  z.array(uid).min(1, 'list at least one uid'),
  z.strictObject({ min: uid, max: uid }).refine((r) => r.min <= r.max, 'uid range has min > max'),
]);
const cgroupGlob = z.string().regex(/^\//, 'a cgroup glob starts with "/"');

const MatchSchema = z
  .strictObject({
    /** The collector's own process. */
    self: z.boolean().optional(),
    /** Kernel threads (PF_KTHREAD). */
    kernelThread: z.boolean().optional(),
    cgroup: z.union([cgroupGlob, z.array(cgroupGlob).min(1, 'list at least one glob')]).optional(),
    uid: uidMatch.optional(),
    comm: z.string().min(1).optional(),
  })
  .refine((m) => Object.values(m).some((v) => v !== undefined), 'a match needs at least one of self, kernelThread, cgroup, uid, comm');

export const ClassificationRuleSchema = z.strictObject({
  name: z.string().min(1).optional(),
  owner: OwnerSchema,
  match: MatchSchema,
});

export const ClassificationRulesSchema = z.strictObject({
  version: z.literal(1).optional(),
  default: OwnerSchema.default('customer'),
  rules: z.array(ClassificationRuleSchema),
});

export type ClassificationRule = z.input<typeof ClassificationRuleSchema>;
export type ClassificationRules = z.input<typeof ClassificationRulesSchema>;

/**
 * The default rules, in order:
 * 1. `collector`: this collector's own process → platform;
 * 2. `kernel-threads`: kernel threads → platform;
 * 3. `containers`: container and VM cgroups (Kubernetes pods, Docker, libpod,
 *    machine.slice) → customer, even when they run as root;
 * 4. `system-services`: systemd services and init (`/system.slice/**`, `/init.scope`) → platform;
 * 5. `root`: uid 0 → platform;
 * then everything else → customer.
 */
export const DEFAULT_CLASSIFICATION_RULES: ClassificationRules = {
  version: 1,
  default: 'customer',
  rules: [
    { name: 'collector', owner: 'platform', match: { self: true } },
    { name: 'kernel-threads', owner: 'platform', match: { kernelThread: true } },
    {
      name: 'containers',
      owner: 'customer',
      match: {
        cgroup: [
          '/kubepods/**',
          '/kubepods.slice/**',
          '/docker/**',
          '/system.slice/docker-*.scope',
          '/system.slice/docker-*.scope/**',
          '/machine.slice/**',
          '/**/libpod-*.scope',
          '/**/libpod-*.scope/**',
        ],
      },
    },
    { name: 'system-services', owner: 'platform', match: { cgroup: ['/system.slice/**', '/init.scope'] } },
    { name: 'root', owner: 'platform', match: { uid: 0 } },
  ],
};

/** What classification looks at. */
export interface ProcessIdentity {
  pid: number;
  comm: string;
  /** Real uid; undefined when /proc/<pid>/status was unreadable (uid rules then do not match). */
  uid?: number | undefined;
  /** Paths from /proc/<pid>/cgroup (all hierarchies); empty when unreadable. */
  cgroups: readonly string[];
  kernelThread: boolean;
  /** True for the collector's own process. */
  self: boolean;
}

interface CompiledRule {
  name: string;
  owner: Owner;
  test: (p: ProcessIdentity) => boolean;
}

/** Rules checked and compiled once; pass to {@link classifyProcess}. */
export interface CompiledRules {
  readonly compiled: true;
  readonly rules: readonly CompiledRule[];
  readonly default: Owner;
  /** The validated source, for the record. */
  readonly source: z.output<typeof ClassificationRulesSchema>;
}

/** `*`, `?` within a segment, `**` across; a trailing `/**` matches the directory too. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let rest = glob;
  let tail = '';
  if (rest.endsWith('/**')) {
    rest = rest.slice(0, -3);
    tail = '(?:/.*)?';
  }
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '*' && rest[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}${tail}$`);
}

function invalid(where: string, message: string, what: string): VeriteeError {
  return new VeriteeError('TELEMETRY_RULES_INVALID', `${what}: ${where ? `${where}: ` : ''}${message}`);
}

/** Validates rules (an object already parsed from YAML/JSON) and compiles globs and regexes. */
export function compileClassificationRules(input: unknown, what = 'classification rules'): CompiledRules {
  if (isCompiled(input)) return input;
  const r = ClassificationRulesSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    throw invalid(where, issue.message, what);
  }
  const rules = r.data.rules.map((rule, i): CompiledRule => {
    const name = rule.name ?? `rules[${i}]`;
    const m = rule.match;
    const tests: ((p: ProcessIdentity) => boolean)[] = [];
    if (m.self !== undefined) tests.push((p) => p.self === m.self);
    if (m.kernelThread !== undefined) tests.push((p) => p.kernelThread === m.kernelThread);
    if (m.cgroup !== undefined) {
      const res = (Array.isArray(m.cgroup) ? m.cgroup : [m.cgroup]).map(globToRegExp);
      tests.push((p) => p.cgroups.some((c) => res.some((re) => re.test(c))));
    }
    if (m.uid !== undefined) {
      const u = m.uid;
      const ok =
        typeof u === 'number' ? (x: number) => x === u : Array.isArray(u) ? (x: number) => u.includes(x) : (x: number) => x >= u.min && x <= u.max;
      tests.push((p) => p.uid !== undefined && ok(p.uid));
    }
    if (m.comm !== undefined) {
      let re: RegExp;
      try {
        re = new RegExp(m.comm);
      } catch (e) {
        throw invalid(`rules[${i}].match.comm`, `"${m.comm}" is not a valid regular expression (${(e as Error).message})`, what);
      }
      tests.push((p) => re.test(p.comm));
    }
    return { name, owner: rule.owner, test: (p) => tests.every((t) => t(p)) };
  });
  return { compiled: true, rules, default: r.data.default, source: r.data };
}

function isCompiled(x: unknown): x is CompiledRules {
  return typeof x === 'object' && x !== null && (x as { compiled?: unknown }).compiled === true;
}

/** Parses a rules document (YAML or JSON text), naming `what` (usually the file) on error. */
export function parseClassificationRules(text: string, what = 'classification rules'): CompiledRules {
  let doc: unknown;
  try {
    checkYamlNesting(text, { what });
    doc = parseYaml(text, { prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    if (e instanceof RangeError) throw invalid('', 'nested too deeply to be a rules document', what);
    throw invalid('', `not valid YAML or JSON (${(e as Error).message.split('\n')[0]})`, what);
  }
  if (doc === null || doc === undefined) throw invalid('', 'the document is empty', what);
  return compileClassificationRules(doc, what);
}

let defaultCompiled: CompiledRules | undefined;
/** {@link DEFAULT_CLASSIFICATION_RULES}, compiled. */
export function defaultClassificationRules(): CompiledRules {
  return (defaultCompiled ??= compileClassificationRules(DEFAULT_CLASSIFICATION_RULES, 'default classification rules'));
}

export interface Classification {
  owner: Owner;
  /** Name of the rule that matched (`rules[i]` when unnamed), or `default`. */
  rule: string;
}

/**
 * Classifies one process: the first matching rule decides, the rule set's
 * default otherwise. `rules` may be compiled rules or a raw rules object.
 *
 * @example
 * classifyProcess({ pid: 1, comm: 'systemd', uid: 0, cgroups: ['/init.scope'], kernelThread: false, self: false })
 * // → { owner: 'platform', rule: 'system-services' }
 */
export function classifyProcess(p: ProcessIdentity, rules: CompiledRules | ClassificationRules = defaultClassificationRules()): Classification {
  const c = compileClassificationRules(rules);
  for (const r of c.rules) if (r.test(p)) return { owner: r.owner, rule: r.name };
  return { owner: c.default, rule: 'default' };
}
