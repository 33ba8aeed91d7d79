#!/usr/bin/env node
// Runs the whole test suite: every compiled TypeScript test (node:test) and the Go
// prover's tests. Exits non-zero if either fails.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2); // optional: package names or file filters

function findTests(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, 'packages'))) {
  const dist = join(root, 'packages', pkg, 'dist');
  try {
    statSync(dist);
  } catch {
    continue;
  }
  findTests(dist, files);
}
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
let failed = false;
if (selected.length) {
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...selected.sort()], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
if (!only.length || only.includes('prover')) {
  console.log('\n# Go prover tests');
  const r = spawnSync('go', ['test', '-count=1', '-timeout', '30m', './...'], { cwd: join(root, 'prover'), stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
