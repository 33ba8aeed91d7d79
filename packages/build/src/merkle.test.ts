import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { inputMerkleRoot, leafHash, orderLeaves, type InputLeaf } from './merkle.js';
import { npmDependencies, npmPurl, sriToDigests } from './inputs.js';
import { availableSandboxes, chooseSandbox, networkAttempt } from './sandbox.js';
import { isVeriteeError } from '@veritee/core';

const L = (kind: InputLeaf['kind'], name: string, value: string): InputLeaf => ({ kind, name, value });
const h = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

test('the input Merkle root is RFC 6962 shaped and independent of the order leaves are given in', () => {
  const a = L('source', 'b.txt', 'sha256:01');
  const b = L('source', 'a.txt', 'sha256:02');
  const c = L('toolchain', 'node', '20.0.0');
  const root = inputMerkleRoot([a, b, c]);
  assert.equal(root, inputMerkleRoot([c, a, b]));
  // order: source a.txt, source b.txt, toolchain node; odd node promoted
  const la = Buffer.from(leafHash(b));
  const lb = Buffer.from(leafHash(a));
  const lc = Buffer.from(leafHash(c));
  assert.deepEqual(Buffer.from(leafHash(b)), h(Buffer.from([0]), Buffer.from('source\0a.txt\0sha256:02')));
  assert.equal(root, h(Buffer.from([1]), h(Buffer.from([1]), la, lb), lc).toString('hex'));
  assert.notEqual(root, inputMerkleRoot([a, L('source', 'a.txt', 'sha256:03'), c]));
  assert.throws(() => orderLeaves([a, a]), /appears twice/);
  assert.throws(() => inputMerkleRoot([L('source', 'x\0y', 'v')]), /NUL/);
});

test('npm lockfiles resolve to purls with hex digests; links and workspaces are part of the source', () => {
  const sri = 'sha512-' + Buffer.alloc(64, 7).toString('base64');
  const deps = npmDependencies(
    JSON.stringify({
      lockfileVersion: 3,
      packages: {
        '': { name: 'root' },
        'packages/w': { name: 'w' },
        'node_modules/w': { resolved: 'packages/w', link: true },
        'node_modules/@sc/pkg': { version: '2.0.0', resolved: 'https://r/x.tgz', integrity: sri },
        'node_modules/a/node_modules/b': { version: '1.0.0', resolved: 'https://r/b.tgz', integrity: `${sri} sha1-AAAA` },
      },
    }),
    'package-lock.json',
  );
  assert.deepEqual(deps.map((d) => d.uri), ['pkg:npm/%40sc/pkg@2.0.0', 'pkg:npm/b@1.0.0']);
  const omitted = npmDependencies(JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/@s/p': { version: '1.2.3', integrity: sri } } }), 'package-lock.json');
  assert.equal(omitted[0]!.downloadLocation, 'https://registry.npmjs.org/@s/p/-/p-1.2.3.tgz', 'npm omits resolved for the default registry');
  assert.deepEqual(deps[1]!.digest, { sha512: '07'.repeat(64) });
  assert.equal(npmPurl('x', '1.0.0-rc.1'), 'pkg:npm/x@1.0.0-rc.1');
  assert.deepEqual(sriToDigests('sha1-AAAA md5-x'), {});
  assert.throws(() => npmDependencies('{"lockfileVersion":1,"dependencies":{}}', 'package-lock.json'), /lockfileVersion 2 or 3/);
  assert.throws(() => npmDependencies('{"packages":{},"packages":{}}', 'package-lock.json'), /duplicate/i);
});

test('network attempts are recognised in build output', () => {
  assert.match(networkAttempt('x\nError: connect ENETUNREACH 1.1.1.1:443\n')!, /ENETUNREACH/);
  assert.match(networkAttempt('curl: (6) Could not resolve host: example.com')!, /resolve host/);
  assert.equal(networkAttempt('tsc: error TS2322'), undefined);
});

test('without bubblewrap or unshare the build refuses to run unsealed (BUILD_SANDBOX_UNAVAILABLE)', () => {
  const path = process.env['PATH'];
  process.env['PATH'] = '/nonexistent';
  try {
    assert.deepEqual(availableSandboxes(), []);
    assert.throws(() => chooseSandbox('auto'), (e: unknown) => isVeriteeError(e, 'BUILD_SANDBOX_UNAVAILABLE') && /install bubblewrap/.test(e.message));
    assert.throws(() => chooseSandbox('bwrap'), (e: unknown) => isVeriteeError(e, 'BUILD_SANDBOX_UNAVAILABLE'));
  } finally {
    process.env['PATH'] = path;
  }
});
