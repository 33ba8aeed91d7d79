import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVeriteeError } from './errors.js';
import { readFileBounded, readTextFileBounded, writeFileChecked } from './node-fs.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-node-fs-'));
const is = (code: string, re?: RegExp) => (e: unknown) => isVeriteeError(e) && e.code === code && (!re || re.test(e.message));

test('readFileBounded: a file of exactly the limit is read, one byte more is INPUT_TOO_LARGE naming file and limit', () => {
  const p = join(dir, 'exact.txt');
  writeFileSync(p, 'x'.repeat(1000));
  assert.equal(readTextFileBounded(p, { what: 'test file', maxBytes: 1000 }).length, 1000);
  assert.throws(() => readFileBounded(p, { what: 'test file', maxBytes: 999 }), is('INPUT_TOO_LARGE', /test file ".*exact\.txt" is larger than the 999 bytes limit/));
});

test('readFileBounded: devices report size 0 but are still bounded by bytes read', () => {
  const t0 = performance.now();
  assert.throws(() => readFileBounded('/dev/zero', { what: 'zeros', maxBytes: 1024 * 1024 }), is('INPUT_TOO_LARGE', /"\/dev\/zero" is larger than the 1 MiB limit/));
  assert.ok(performance.now() - t0 < 5000);
  assert.equal(readFileBounded('/dev/null', { what: 'nothing', maxBytes: 10 }).length, 0);
});

test('readFileBounded: a FIFO fed without end is refused at the limit', async () => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const w = createWriteStream(fifo);
  const zeros = Buffer.alloc(64 * 1024);
  let stop = false;
  w.on('error', () => (stop = true));
  const pump = (): void => {
    while (!stop && w.write(zeros));
    if (!stop) w.once('drain', pump);
  };
  w.once('open', pump);
  // readFileBounded is synchronous: read in a child process so this one can keep writing.
  const code = `import('${new URL('./node-fs.js', import.meta.url).href}').then(m => { try { m.readFileBounded(${JSON.stringify(fifo)}, { what: 'fifo', maxBytes: 200000 }); console.log('READ'); } catch (e) { console.log(e.code + ' ' + e.message); } })`;
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', code]);
    let s = '';
    c.stdout.on('data', (d: Buffer) => (s += d.toString()));
    c.on('error', reject);
    c.on('close', () => resolve(s));
  });
  stop = true;
  w.destroy();
  assert.match(out, /^INPUT_TOO_LARGE fifo ".*fifo" is larger than the 200000 bytes limit/);
});

test('readFileBounded: missing files, directories and empty names are INPUT_FILE_UNREADABLE', () => {
  assert.throws(() => readFileBounded(join(dir, 'nope'), { what: 'x', maxBytes: 10 }), is('INPUT_FILE_UNREADABLE', /ENOENT/));
  assert.throws(() => readFileBounded(dir, { what: 'x', maxBytes: 10 }), is('INPUT_FILE_UNREADABLE', /EISDIR/));
  assert.throws(() => readFileBounded('', { what: 'x', maxBytes: 10 }), is('INPUT_FILE_UNREADABLE'));
  // "-" is a file name unless stdin is asked for
  assert.throws(() => readFileBounded('-', { what: 'x', maxBytes: 10 }), is('INPUT_FILE_UNREADABLE', /ENOENT/));
});

test('readFileBounded: names are quoted and escaped, never raw', () => {
  assert.throws(() => readFileBounded(join(dir, 'a\u001b[2Jb'), { what: 'x', maxBytes: 10 }), (e: unknown) => isVeriteeError(e) && !/\u001b/.test(e.message) && /\\x1b/.test(e.message));
});

test('writeFileChecked: a missing directory is INPUT_FILE_UNWRITABLE naming the file', () => {
  assert.throws(() => writeFileChecked(join(dir, 'no', 'such', 'out.json'), 'x', '--out'), is('INPUT_FILE_UNWRITABLE', /--out ".*out\.json" cannot be written: ENOENT/));
  writeFileChecked(join(dir, 'ok.json'), 'x');
});

