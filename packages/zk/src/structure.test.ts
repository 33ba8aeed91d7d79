/**
 * The module structure of @veritee/zk: no import circle (type-only imports
 * count: they tie modules together for readers and tools just the same), and a
 * claim module never imports the bundle parser, the verifier or the prover.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function modules(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) modules(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative imports and re-exports of a module (also `import type`), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gms)) out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  return out;
}

const graph = new Map(modules(src).map((f) => [f, importsOf(f)]));
const name = (f: string) => relative(src, f);

test('no import circle among the modules of @veritee/zk', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...path.slice(path.indexOf(f)), f].map(name).join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const g of graph.get(f) ?? []) visit(g, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
  assert.ok(graph.size > 20, `found ${graph.size} modules`);
});

test('claim modules depend only on claim code and the bundle format', () => {
  const allowed = new Set(['bundle-format.ts']);
  for (const [f, deps] of graph) {
    if (!name(f).startsWith('claims/')) continue;
    for (const d of deps) assert.ok(name(d).startsWith('claims/') || allowed.has(name(d)), `${name(f)} imports ${name(d)}`);
  }
});
