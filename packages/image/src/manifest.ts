/**
 * @module manifest
 * The component manifest of an image: every regular file and symbolic link under
 * the chosen paths of its root file system, each with its SHA-256, and the
 * Poseidon2 component-tree root over them (@veritee/core inclusion tree) in the
 * form SEV-SNP HOST_DATA (32 bytes) and TDX MRCONFIGID (48 bytes) carry it.
 *
 * The scope (which paths are walked, which are excluded) is itself a component
 * (`.veritee/scope`), so the attested root binds what was covered: shrinking the
 * scope inside a running guest changes the root and enforcement refuses.
 *
 * Symbolic links are components too, hashed as SHA-256("symlink\0" + target),
 * so re-pointing a link is a change. Devices, FIFOs and sockets in scope are
 * refused (they have no content to pin).
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import {
  canonicalComponents,
  canonicalJson,
  COMPONENT_NAME_MAX_BYTES,
  inclusionRoot,
  inclusionRootToHex,
  inclusionRootToHostData,
  INCLUSION_DEFAULT_DEPTH,
  parseJsonStrict,
  quoteInput,
  toHex,
  utf8,
  VeriteeError,
  type Component,
} from '@veritee/core';

export const MANIFEST_FORMAT = 'veritee.image-manifest/v1';
export const SCOPE_COMPONENT = '.veritee/scope';
/** Depths with an inclusion circuit. */
export const MANIFEST_DEPTHS = [10, 20] as const;
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

export interface ManifestScope {
  /** Paths (relative to the image root, no leading slash) that are walked; [""] = everything. */
  include: string[];
  /** Paths (and everything under them) left out. */
  exclude: string[];
}

export interface ImageManifest {
  format: typeof MANIFEST_FORMAT;
  depth: number;
  scope: ManifestScope;
  /** Canonical order (by UTF-8 name), the scope component included. */
  components: Component[];
  /** Tree root, 64 hex digits. */
  root: string;
  hostData: { snp: string; tdx: string };
}

function manifestError(msg: string): VeriteeError {
  return new VeriteeError('IMAGE_MANIFEST_INVALID', msg);
}

/** Normalises a scope path: relative, '/'-separated, no '.', '..' or empty segments. */
export function normalizeScopePath(p: string, what = 'scope path'): string {
  const s = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (s === '') return '';
  const parts = s.split('/');
  if (parts.some((x) => x === '' || x === '.' || x === '..')) throw manifestError(`${what} ${quoteInput(p, 80)} must be a plain relative path (no "", ".", ".." segments)`);
  return s;
}

export function normalizeScope(scope: Partial<ManifestScope>): ManifestScope {
  const include = [...new Set((scope.include?.length ? scope.include : ['']).map((p) => normalizeScopePath(p, 'include path')))].sort();
  const exclude = [...new Set((scope.exclude ?? []).map((p) => normalizeScopePath(p, 'exclude path')))].sort();
  if (exclude.includes('')) throw manifestError('excluding the whole image leaves nothing to enforce');
  return { include, exclude };
}

/** The component that pins the scope. */
export function scopeComponent(scope: ManifestScope): Component {
  return { name: SCOPE_COMPONENT, sha256: createHash('sha256').update(canonicalJson(scope)).digest('hex') };
}

const under = (path: string, prefix: string) => prefix === '' || path === prefix || path.startsWith(prefix + '/');

export interface WalkOptions {
  /** Largest file hashed (default 4 GiB). */
  maxFileBytes?: number;
  /** Most components (default 2^20, the largest tree). */
  maxComponents?: number;
}

function hashFile(path: string, name: string, maxBytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new VeriteeError('INPUT_TOO_LARGE', `${quoteInput(name, 120)} is over the ${maxBytes} byte limit for a component`);
      h.update(buf.subarray(0, n));
    }
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** Hashes what is present under `root` within `scope` (the scope component included). Never follows symlinks. */
export function collectComponents(root: string, scope: ManifestScope, opts: WalkOptions = {}): Component[] {
  const maxFile = opts.maxFileBytes ?? 4 * 1024 ** 3;
  const maxComponents = opts.maxComponents ?? 2 ** 20;
  const out = new Map<string, Component>();
  const excluded = (rel: string) => scope.exclude.some((x) => under(rel, x));
  const add = (c: Component) => {
    if (utf8(c.name).length > COMPONENT_NAME_MAX_BYTES) throw manifestError(`path ${quoteInput(c.name, 120)} is longer than ${COMPONENT_NAME_MAX_BYTES} bytes, the longest component name`);
    if (out.size >= maxComponents) throw new VeriteeError('INCLUSION_TREE_FULL', `more than ${maxComponents} components in scope`);
    out.set(c.name, c);
  };
  const visit = (rel: string) => {
    if (out.has(rel) || excluded(rel)) return;
    const abs = rel === '' ? root : join(root, rel);
    let st;
    try {
      st = lstatSync(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && rel !== '') return; // an include path that is absent contributes nothing (and changes the root)
      throw new VeriteeError('INPUT_FILE_UNREADABLE', `${quoteInput(rel || root, 120)} cannot be read: ${code ?? (e as Error).message}`);
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(abs);
      } catch (e) {
        throw new VeriteeError('INPUT_FILE_UNREADABLE', `directory ${quoteInput(rel || '/', 120)} cannot be listed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      for (const n of names.sort()) visit(rel === '' ? n : `${rel}/${n}`);
    } else if (st.isFile()) {
      if (rel === '') throw manifestError('the image root must be a directory');
      add({ name: rel, sha256: hashFile(abs, rel, maxFile) });
    } else if (st.isSymbolicLink()) {
      const target = readlinkSync(abs);
      add({ name: rel, sha256: createHash('sha256').update('symlink\0').update(target).digest('hex') });
    } else {
      throw manifestError(`${quoteInput(rel, 120)} is a device, FIFO or socket: exclude it from the scope`);
    }
  };
  for (const inc of scope.include) visit(inc);
  const sc = scopeComponent(scope);
  if (out.has(sc.name)) throw manifestError(`the image itself holds ${SCOPE_COMPONENT}, a name reserved for the scope`);
  out.set(sc.name, sc);
  return canonicalComponents([...out.values()]);
}

function depthOf(depth: number | undefined): number {
  const d = depth ?? INCLUSION_DEFAULT_DEPTH;
  if (!(MANIFEST_DEPTHS as readonly number[]).includes(d)) throw manifestError(`tree depth must be one of ${MANIFEST_DEPTHS.join(', ')} (the depths with an inclusion circuit)`);
  return d;
}

/** The manifest of a component list under a scope. */
export function manifestFromComponents(components: Component[], scope: ManifestScope, depth?: number): ImageManifest {
  const d = depthOf(depth);
  const sorted = canonicalComponents(components);
  const root = inclusionRoot(sorted, d);
  return {
    format: MANIFEST_FORMAT,
    depth: d,
    scope,
    components: sorted,
    root: inclusionRootToHex(root),
    hostData: { snp: toHex(inclusionRootToHostData(root, 32)), tdx: toHex(inclusionRootToHostData(root, 48)) },
  };
}

/** Walks an image root and builds its manifest. */
export function buildManifest(root: string, scope: Partial<ManifestScope> = {}, opts: WalkOptions & { depth?: number } = {}): ImageManifest {
  const s = normalizeScope(scope);
  return manifestFromComponents(collectComponents(root, s, opts), s, opts.depth);
}

/** Parses a manifest strictly and re-derives its root: a manifest whose root does not follow from its components is refused. */
export function parseManifest(text: string, what = 'image manifest'): ImageManifest {
  const v = parseJsonStrict(text, { what, code: 'IMAGE_MANIFEST_INVALID' }) as Record<string, unknown>;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw manifestError(`${what} is not a JSON object`);
  const keys = Object.keys(v).sort().join(',');
  if (keys !== 'components,depth,format,hostData,root,scope') throw manifestError(`${what} must have exactly format, depth, scope, components, root, hostData (has ${quoteInput(keys, 120)})`);
  if (v.format !== MANIFEST_FORMAT) throw manifestError(`${what} format is ${quoteInput(String(v.format), 60)}, not ${MANIFEST_FORMAT}`);
  const sc = v.scope as Record<string, unknown>;
  if (!sc || typeof sc !== 'object' || !Array.isArray(sc.include) || !Array.isArray(sc.exclude) || Object.keys(sc).length !== 2 || ![...sc.include, ...sc.exclude].every((p) => typeof p === 'string')) {
    throw manifestError(`${what} scope must be {include: [paths], exclude: [paths]}`);
  }
  const scope = normalizeScope({ include: sc.include as string[], exclude: sc.exclude as string[] });
  if (canonicalJson(scope) !== canonicalJson({ include: sc.include, exclude: sc.exclude })) throw manifestError(`${what} scope is not in normal form (sorted, unique, relative paths)`);
  if (!Array.isArray(v.components)) throw manifestError(`${what} components must be a list`);
  const components = (v.components as unknown[]).map((c, i) => {
    if (!c || typeof c !== 'object' || Object.keys(c).sort().join(',') !== 'name,sha256') throw manifestError(`${what} component ${i + 1} must be {name, sha256}`);
    return c as Component;
  });
  if (typeof v.depth !== 'number') throw manifestError(`${what} depth must be a number`);
  const scopeC = components.find((c) => c.name === SCOPE_COMPONENT);
  if (!scopeC || scopeC.sha256 !== scopeComponent(scope).sha256) throw manifestError(`${what} does not pin its scope (${SCOPE_COMPONENT} is missing or has another digest)`);
  const m = manifestFromComponents(components, scope, v.depth);
  if (m.root !== v.root) throw manifestError(`${what} root ${quoteInput(String(v.root), 70)} does not follow from its components (they give ${m.root})`);
  const hd = v.hostData as Record<string, unknown>;
  if (!hd || hd.snp !== m.hostData.snp || hd.tdx !== m.hostData.tdx || Object.keys(hd).length !== 2) throw manifestError(`${what} hostData does not encode its root`);
  return m;
}

export interface ComponentDiff {
  changed: string[];
  added: string[];
  removed: string[];
}

/** What differs between an expected and a found component list (names only). */
export function diffComponents(expected: readonly Component[], found: readonly Component[]): ComponentDiff {
  const e = new Map(expected.map((c) => [c.name, c.sha256]));
  const f = new Map(found.map((c) => [c.name, c.sha256]));
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [n, h] of f) {
    if (!e.has(n)) added.push(n);
    else if (e.get(n) !== h) changed.push(n);
  }
  for (const n of e.keys()) if (!f.has(n)) removed.push(n);
  return { changed, added, removed };
}
