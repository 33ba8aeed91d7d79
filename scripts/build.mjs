#!/usr/bin/env node
// Builds everything `npm start` and `npm test` need: the TypeScript packages (tsc -b)
// and the Go prover binary (prover/bin/veritee-prover). Runs on `npm install`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(cmd, args, cwd, what) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit', env: process.env });
  if (r.error || r.status !== 0) {
    console.error(`\nveritee build: ${what} failed${r.error ? `: ${r.error.message}` : ` (exit ${r.status})`}`);
    process.exit(1);
  }
}

// 1. Go prover.
const go = spawnSync('go', ['version'], { encoding: 'utf8' });
if (go.error || go.status !== 0) {
  console.error(
    '\nveritee build: the Go toolchain was not found on PATH.\n' +
      'The zero-knowledge prover (prover/) is written in Go and needs Go 1.23 or newer.\n' +
      'Install it from your package manager or https://go.dev/dl/, then run `npm install` again.\n',
  );
  process.exit(1);
}
console.log(`veritee build: building the Go prover with ${go.stdout.trim()}`);
run('go', ['build', '-o', join('bin', 'veritee-prover'), './cmd/veritee-prover'], join(root, 'prover'), 'go build');

// 2. TypeScript.
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  console.error('veritee build: TypeScript is not installed; run `npm install` first.');
  process.exit(1);
}
console.log('veritee build: compiling TypeScript packages');
run(process.execPath, [tsc, '-b', 'tsconfig.json'], root, 'tsc -b');
console.log('veritee build: done');
