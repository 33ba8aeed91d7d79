/**
 * @module measurement
 * The builder's launch measurement in the SIMULATED TEE, as honest as a simulation allows.
 *
 * On real hardware the launch measurement is computed by the CPU's security processor
 * while it loads the builder's confidential VM: firmware, kernel, initrd and command line
 * (and through a verity-protected root file system, everything the builder runs). Nothing
 * inside the VM can choose it.
 *
 * In simulation there is no such hardware: the builder computes a digest of the software
 * it runs on and asks the simulated TEE to sign evidence carrying it. So it is
 * SELF-REPORTED (a modified builder could report the genuine value; only the simulated
 * anchors' `allowSimulated: true` accepts such evidence at all), and it covers only the
 * builder's user space, not firmware, kernel or OS libraries. What it does cover is
 * everything a builder image would contain that decides what the builder does, listed as
 * a manifest (`builderManifest()`, written as `builder-measurement.json` with each build):
 *
 *   runtime      the Node.js executable (SHA-256 of its bytes) and its version
 *   builder      this package's compiled JavaScript (every *.js but tests and test helpers)
 *   module:<n>   every package in the builder's runtime dependency closure (@veritee/core,
 *                @veritee/attestation, @sigstore/*, zod, fastify... resolved as Node would,
 *                from the package directories), each a tree digest of its JavaScript,
 *                JSON, WebAssembly and native-addon files
 *   tool:<n>     the host programs the builder executes: git, tar (the export), bwrap,
 *                unshare (the sandbox), sh (runs the build command); "absent" when missing
 *
 * MEASUREMENT = SHA-384("veritee.build.builder/v2" || 0x00 ||
 *                       for each component (sorted by name): name || 0x00 || digest || 0x00)
 *
 * with `digest` the component's lowercase hex digest. A verifier given the manifest can
 * recompute the measurement (`measurementOfManifest`) and see which component differs.
 * A tree digest is SHA-256 over (relative path || 0x00 || SHA-256(file) || 0x00) of the
 * package's files sorted by path, nested node_modules excluded (those are their own components).
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quoteInput, VeriteeError } from '@veritee/core';

export const MEASUREMENT_DOMAIN = 'veritee.build.builder/v2';
/** The programs the builder runs (hashed from PATH). */
export const MEASURED_TOOLS = ['bwrap', 'git', 'sh', 'tar', 'unshare'] as const;

export interface MeasurementComponent {
  name: string;
  /** Lowercase hex digest (SHA-256), or "absent". */
  digest: string;
  /** Where it was read (informational, not measured). */
  path?: string;
  version?: string;
  files?: number;
}

export interface BuilderManifest {
  version: 2;
  domain: typeof MEASUREMENT_DOMAIN;
  simulated: true;
  note: string;
  measurement: string;
  components: MeasurementComponent[];
}

const sha256File = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const RUNNABLE = /\.(js|mjs|cjs|json|wasm|node)$/;
const SKIP_FILE = /(\.test\.[cm]?js|\.spec\.[cm]?js|\.d\.ts|\.map|\.tsbuildinfo)$/;

function treeFiles(dir: string, root: string, out: string[], skip: (rel: string) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    let st: Stats;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (name === 'node_modules' || name === '.git') continue;
      treeFiles(p, root, out, skip);
    } else if (st.isFile() && RUNNABLE.test(name) && !SKIP_FILE.test(name) && !skip(relative(root, p))) out.push(p);
  }
}

function treeDigest(dir: string, skip: (rel: string) => boolean = () => false): { digest: string; files: number } {
  const list: string[] = [];
  treeFiles(dir, dir, list, skip);
  const rel = list.map((p) => relative(dir, p).split(sep).join('/')).sort();
  const h = createHash('sha256');
  for (const r of rel) h.update(r).update('\0').update(sha256File(join(dir, r))).update('\0');
  return { digest: h.digest('hex'), files: rel.length };
}

/** The directory of package `name` as Node resolves it from `fromDir` (node_modules walk). */
function packageDir(name: string, fromDir: string): string | undefined {
  for (let d = fromDir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(d) === d) return undefined;
  }
}

function which(tool: string): string | undefined {
  for (const d of (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(d, tool);
    try {
      if (statSync(p).isFile()) return realpathSync(p);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The dependency closure of the package in `dir` (its `dependencies`, recursively). */
function closure(dir: string): Map<string, string> {
  const seen = new Map<string, string>(); // package directory → name
  const out = new Map<string, string>();
  const visit = (pkgDir: string) => {
    let deps: Record<string, string> = {};
    try {
      const pj = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
      deps = { ...(pj.dependencies ?? {}), ...(pj.optionalDependencies ?? {}) };
    } catch {
      return;
    }
    for (const name of Object.keys(deps).sort()) {
      const d = packageDir(name, pkgDir);
      if (!d) continue; // an optional dependency not installed
      if (seen.has(d)) continue;
      seen.set(d, name);
      let version = '';
      try {
        version = String((JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { version?: string }).version ?? '');
      } catch {
        // measured without a version
      }
      // two versions of one package are two components
      let key = out.has(`module:${name}`) ? `module:${name}@${version}` : `module:${name}`;
      for (let i = 2; out.has(key); i++) key = `module:${name}@${version}#${i}`;
      out.set(key, d);
      visit(d);
    }
  };
  visit(dir);
  return out;
}

let cached: BuilderManifest | undefined;

/** The simulated builder's measurement manifest (see the module doc); computed once per process. */
export function builderManifest(): BuilderManifest {
  if (cached) return cached;
  const distDir = dirname(fileURLToPath(import.meta.url));
  const pkgDir = dirname(distDir);
  const components: MeasurementComponent[] = [];
  components.push({ name: 'runtime', digest: sha256File(process.execPath), path: process.execPath, version: process.versions.node });
  const own = treeDigest(distDir, (rel) => rel === 'testing.js' || rel.startsWith(`testing${sep}`));
  components.push({ name: 'builder', digest: own.digest, path: distDir, files: own.files });
  for (const [name, dir] of closure(pkgDir)) {
    const t = treeDigest(dir);
    let version: string | undefined;
    try {
      version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
    } catch {
      version = undefined;
    }
    components.push({ name, digest: t.digest, path: dir, files: t.files, ...(version ? { version } : {}) });
  }
  for (const tool of MEASURED_TOOLS) {
    const p = which(tool);
    components.push(p ? { name: `tool:${tool}`, digest: sha256File(p), path: p } : { name: `tool:${tool}`, digest: 'absent' });
  }
  components.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  cached = {
    version: 2,
    domain: MEASUREMENT_DOMAIN,
    simulated: true,
    note: 'SIMULATED TEE: a self-reported digest of the builder user space (runtime, builder code, module closure, tools); not firmware, kernel or OS, and not enforced by hardware',
    measurement: measurementOfManifest(components),
    components,
  };
  return cached;
}

/** Recomputes the measurement (48 bytes, hex) from manifest components. */
export function measurementOfManifest(components: readonly Pick<MeasurementComponent, 'name' | 'digest'>[]): string {
  const names = new Set<string>();
  const h = createHash('sha384').update(MEASUREMENT_DOMAIN).update('\0');
  for (const c of [...components].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (typeof c.name !== 'string' || !/^[\w:@./+#-]{1,256}$/.test(c.name) || names.has(c.name)) {
      throw new VeriteeError('INPUT_INVALID', `measurement component name ${quoteInput(String(c.name), 80)} is malformed or repeated`);
    }
    if (typeof c.digest !== 'string' || !/^([0-9a-f]{64}|absent)$/.test(c.digest)) throw new VeriteeError('INPUT_INVALID', `measurement component ${quoteInput(c.name, 80)} has no SHA-256 hex digest`);
    names.add(c.name);
    h.update(c.name).update('\0').update(c.digest).update('\0');
  }
  return h.digest('hex');
}

/** The simulated builder's launch measurement (48 bytes, hex). */
export function builderMeasurement(): string {
  return builderManifest().measurement;
}
