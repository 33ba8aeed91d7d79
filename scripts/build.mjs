#!/usr/bin/env node
// Builds everything `npm start` and `npm test` need: the TypeScript packages (tsc -b),
// the Go prover binary (prover/bin/veritee-prover) and the web console's browser app
// (packages/console/dist-web). Runs on `npm install`.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
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
      'The zero-knowledge prover (prover/) is written in Go and needs Go 1.25.7 or newer.\n' +
      'Install it from your package manager or https://go.dev/dl/, then run `npm install` again.\n',
  );
  process.exit(1);
}
const m = /go(\d+)\.(\d+)(?:\.(\d+))?/.exec(go.stdout);
const ver = m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0];
const need = [1, 25, 7];
const older = ver[0] < need[0] || (ver[0] === need[0] && (ver[1] < need[1] || (ver[1] === need[1] && ver[2] < need[2])));
if (older && !process.env.GOTOOLCHAIN) {
  console.error(`\nveritee build: ${go.stdout.trim()} is too old: the prover (gnark v0.15) needs Go 1.25.7 or newer.\n`);
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
chmodSync(join(root, 'packages', 'cli', 'dist', 'bin.js'), 0o755);

// 3. The web console's browser app (Vite; type-checked first): packages/console/dist-web.
console.log('veritee build: building the web console (vite)');
run(process.execPath, [tsc, '-p', join('packages', 'console', 'web', 'tsconfig.json')], root, 'tsc (console web app)');
run(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join('packages', 'console', 'web', 'vite.config.mjs')], root, 'vite build (console)');
console.log('veritee build: done');
