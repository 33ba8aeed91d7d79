/**
 * `veritee prove inclusion` and `veritee inclusion root` in a child process: a
 * sha256sum file and a JSON list, the generic `verify`, and the refusals with
 * their codes and exit statuses (no stack traces).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inclusionRoot, sha256, toHex, utf8 } from '@veritee/core';
import { testHome } from '@veritee/zk/testing';
import { hasStackTrace, runCli } from '../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-inclusion-'));
const home = testHome();

const components = Array.from({ length: 200 }, (_, i) => ({ name: `usr/share/app/file-${i}.dat`, sha256: toHex(sha256(utf8(`file ${i}`))) }));
const sumsPath = join(dir, 'SHA256SUMS');
writeFileSync(sumsPath, components.map((c) => `${c.sha256}  ${c.name}`).join('\n') + '\n');
const jsonPath = join(dir, 'components.json');
writeFileSync(jsonPath, JSON.stringify(components));

const run = (args: string[]) => runCli(args);

function expectError(r: { code: number; stderr: string }, code: string, exit = 2): void {
  assert.equal(r.code, exit, `exit status for ${code}: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`error\\[${code}\\]`), r.stderr);
  assert.equal(hasStackTrace(r.stderr), false, 'no stack trace');
}

test('inclusion root prints the root and its host-data encodings (same as TypeScript)', async () => {
  const r = await run(['inclusion', 'root', '--components', sumsPath, '--depth', '10', '--home', home, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const root = inclusionRoot(components, 10);
  assert.equal(out.root, root.toString(16).padStart(64, '0'));
  assert.equal(out.hostData.snpHostData, out.root);
  assert.equal(out.hostData.tdxMrConfigId, out.root + '00'.repeat(16));
  assert.equal(out.hostData.reportData, out.root + '00'.repeat(32));
  const human = await run(['inclusion', 'root', '--components', jsonPath, '--depth', '10', '--home', home]);
  assert.match(human.stdout, new RegExp(`root: ${out.root}`));
  assert.match(human.stdout, /SEV-SNP HOST_DATA \(32 bytes\)/);
});

test('prove inclusion writes a bundle that `verify` accepts (dev keys allowed)', async () => {
  const out = join(dir, 'bundle.json');
  const name = components[42]!.name;
  const r = await run(['prove', 'inclusion', '--components', sumsPath, '--component', name, '--depth', '10', '--out', out, '--home', home]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`component: "${name}"`));
  const bundle = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(bundle.claim.kind, 'inclusion');
  assert.equal(bundle.claim.params.component.name, name);
  const v = await run(['verify', out, '--proof-only', '--allow-dev-setup', '--home', home]);
  assert.equal(v.code, 0, v.stdout);
  assert.match(v.stdout, /^VERIFIED/);
  // the same proof presented for another component does not verify
  bundle.claim.params.component = components[43];
  writeFileSync(out, JSON.stringify(bundle));
  const bad = await run(['verify', out, '--proof-only', '--allow-dev-setup', '--home', home]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /NOT VERIFIED/);
  // a wrong --root is refused before proving
  const wrongRoot = await run(['prove', 'inclusion', '--components', sumsPath, '--component', name, '--depth', '10', '--root', '11'.repeat(32), '--out', out, '--home', home]);
  expectError(wrongRoot, 'INCLUSION_ROOT_MISMATCH', 1);
});

test('refusals carry codes: unknown component, wrong digest, bad list, bad depth', async () => {
  const out = join(dir, 'never.json');
  const base = ['prove', 'inclusion', '--components', sumsPath, '--depth', '10', '--out', out, '--home', home];
  const absent = await run([...base, '--component', 'usr/bin/backdoor']);
  expectError(absent, 'INCLUSION_COMPONENT_NOT_FOUND');
  const digest = await run([...base, '--component', components[1]!.name, '--sha256', 'cd'.repeat(32)]);
  expectError(digest, 'INCLUSION_COMPONENT_NOT_FOUND');
  const badList = join(dir, 'bad.txt');
  writeFileSync(badList, `${components[0]!.sha256}  a\nnonsense\n`);
  const bad = await run(['inclusion', 'root', '--components', badList, '--home', home]);
  expectError(bad, 'INCLUSION_COMPONENT_INVALID');
  assert.match(bad.stderr, /line 2/);
  const depth = await run(['inclusion', 'root', '--components', sumsPath, '--depth', '16', '--home', home]);
  expectError(depth, 'INPUT_INVALID');
  const missing = await run(['inclusion', 'root', '--components', join(dir, 'nope'), '--home', home]);
  expectError(missing, 'INPUT_FILE_UNREADABLE');
});
