/**
 * circom compilation details the end-to-end test does not reach: includes (found
 * from the include directories and part of the cache key), a missing include, the
 * size cap, and how compiler errors are reported.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVeriteeError } from '@veritee/core';
import { compileCircom, describeCompileError, CIRCOM_SOURCE_MAX_BYTES } from './compile.js';

const work = mkdtempSync(join(tmpdir(), 'veritee-circom-compile-'));
const cache = join(work, 'cache');
const lib = join(work, 'lib');
mkdirSync(lib);
after(() => rmSync(work, { recursive: true, force: true }));

const code = (c: string, re?: RegExp) => (e: unknown) => isVeriteeError(e, c as never) && (!re || re.test((e as Error).message));
const MAIN = 'pragma circom 2.1.0;\ninclude "double.circom";\ncomponent main {public [a]} = Double();\n';
const template = (k: number) => `pragma circom 2.1.0;\ntemplate Double() {\n    signal input a;\n    signal output b;\n    b <== ${k} * a;\n    signal c;\n    c <== a * a;\n}\n`;

test('included files are found in the include directories and are part of the cache key', async () => {
  writeFileSync(join(lib, 'double.circom'), template(2));
  const a = await compileCircom(MAIN, { name: 'main', includeDirs: [lib], cacheDir: cache });
  assert.equal(a.cached, false);
  assert.equal(a.publicSignals, 2); // a (public input) and b (output)
  const again = await compileCircom(MAIN, { name: 'main', includeDirs: [lib], cacheDir: cache });
  assert.equal(again.cached, true);
  // editing the included template recompiles, to another circuit
  writeFileSync(join(lib, 'double.circom'), template(3));
  const b = await compileCircom(MAIN, { name: 'main', includeDirs: [lib], cacheDir: cache });
  assert.equal(b.cached, false);
  assert.notEqual(b.key, a.key);
  assert.notEqual(b.r1csSha256, a.r1csSha256);
  // a file's includes resolve from its own directory
  writeFileSync(join(lib, 'main.circom'), MAIN);
  const c = await compileCircom({ file: join(lib, 'main.circom') }, { cacheDir: cache });
  assert.equal(c.r1csSha256, b.r1csSha256);
});

test('a missing include and an oversized source are refused with their codes', async () => {
  await assert.rejects(compileCircom(MAIN.replace('double', 'absent'), { name: 'main', cacheDir: cache }), code('CIRCOM_COMPILE_FAILED', /absent\.circom/));
  await assert.rejects(compileCircom(' '.repeat(CIRCOM_SOURCE_MAX_BYTES + 1), { cacheDir: cache }), code('INPUT_TOO_LARGE'));
  await assert.rejects(compileCircom({ file: join(work, 'nowhere.circom') }, { cacheDir: cache }), code('INPUT_FILE_UNREADABLE'));
});

test('compiler output is reduced to the first located error', () => {
  const out = 'error[T3001]: Non quadratic constraints are not allowed!\n  ┌─ "/tmp/x/sub/cubic.circom":5:5\n  │\n5 │     b <== a * a * a;\n';
  assert.equal(describeCompileError(out), 'cubic.circom:5:5: error[T3001]: Non quadratic constraints are not allowed!');
  assert.equal(describeCompileError('error[P1014]:  The file x.circom to be included has not been found\n'), 'error[P1014]:  The file x.circom to be included has not been found');
  assert.equal(describeCompileError('\n\nsomething odd\n'), 'something odd');
  assert.equal(describeCompileError(''), 'the compiler failed without a message');
});
