/**
 * The repository must hold everything its tests, scripts and build need: a clone with
 * nothing beside it has to pass its own suite. This test walks every source, test,
 * script and config file under packages/, prover/, scripts/ and .ci/ (plus the root's
 * package.json and tsconfig files) and fails on any reference to a path outside the
 * repository:
 *
 *  - the old out-of-tree fixture folder (a sibling folder of the clone holding the
 *    fixtures, named by a relative path or built from path segments);
 *  - an absolute path into this development machine's workspace (`/work/...`);
 *  - a relative path that climbs more directories than the file sits below the
 *    repository root (`../` repeated, or `'..'` repeated as path arguments). Source and
 *    compiled output (`src/` and `dist/`) sit at the same depth, so the count holds for both.
 *
 * Text describing these patterns lives only in this file, which the scan skips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

// The sibling folder's name, assembled so that this file does not itself spell the paths it forbids.
const SIBLING = ['sha', 'red'].join('');
const FIXTURES_DIR = new RegExp(`${SIBLING}[/\\\\]fixtures`, 'i');
const UP_TO_SIBLING = new RegExp(`\\.\\.[/\\\\]${SIBLING}\\b`);
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url)); // packages/core/{src,dist}
const repoRoot = resolve(here, '..', '..', '..');
const SELF = 'packages/core/src/self-contained.test.ts';

const CODE_EXT = /\.(ts|mts|cts|js|mjs|cjs|go|sh|bash|json|ya?ml|toml)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'bin', '.veritee']);
const SCAN_ROOTS = ['packages', 'prover', 'scripts', '.ci'];
const ROOT_FILES = /^(package\.json|tsconfig[\w.-]*\.json)$/;
const MAX_SCANNED_BYTES = 4 * 1024 * 1024;

interface OutsideRef {
  file: string;
  line: number;
  why: string;
  text: string;
}

/** The references to paths outside the repository in `text`, a file at `rel` (repository-relative, `/`-separated). */
function findOutsideRefs(rel: string, text: string): OutsideRef[] {
  const depth = rel.split('/').length - 1; // directories between the repository root and the file
  const out: OutsideRef[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const hit = (why: string) => out.push({ file: rel, line: i + 1, why, text: l.trim().slice(0, 160) });
    if (FIXTURES_DIR.test(l)) hit(`refers to ${SIBLING}/fixtures (outside the repository)`);
    if (UP_TO_SIBLING.test(l)) hit(`refers to ../${SIBLING} (outside the repository)`);
    if (/['"`]shared['"`]\s*,\s*['"`]fixtures['"`]/.test(l)) hit("builds a path from 'shared', 'fixtures' (outside the repository)");
    if (/['"`]\/work\//.test(l)) hit('absolute path into /work (outside the repository)');
    for (const m of l.matchAll(/(?:\.\.[/\\]){2,}/g)) {
      const ups = m[0].length / 3;
      if (ups > depth) hit(`relative path climbs ${ups} directories from a file ${depth} below the repository root`);
    }
    for (const m of l.matchAll(/(?:(['"])\.\.\1\s*,\s*)+(['"])\.\.\2/g)) {
      const ups = (m[0].match(/\.\./g) ?? []).length;
      if (ups > depth) hit(`path arguments climb ${ups} directories from a file ${depth} below the repository root`);
    }
  }
  return out;
}

function walk(dir: string, files: string[]): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) {
      if (!SKIP_DIRS.has(name)) walk(p, files);
    } else if (st.isFile()) {
      const inScripts = p.startsWith(join(repoRoot, '.ci') + sep) || p.startsWith(join(repoRoot, 'scripts') + sep);
      if (CODE_EXT.test(name) || (inScripts && !name.includes('.'))) files.push(p);
    }
  }
}

function scannedFiles(): string[] {
  const files: string[] = [];
  for (const r of SCAN_ROOTS) if (existsSync(join(repoRoot, r))) walk(join(repoRoot, r), files);
  for (const name of readdirSync(repoRoot)) if (ROOT_FILES.test(name)) files.push(join(repoRoot, name));
  return files;
}

test('the repository root is where this test expects it', () => {
  assert.ok(existsSync(join(repoRoot, 'prover', 'go.mod')), `no prover/go.mod under ${repoRoot}`);
  assert.ok(existsSync(join(repoRoot, 'packages', 'core', 'package.json')));
});

test('no source, test, script or config file refers to a path outside the repository', () => {
  const files = scannedFiles();
  assert.ok(files.length > 100, `only ${files.length} files found to scan under ${repoRoot}`);
  const rels = files.map((f) => relative(repoRoot, f).split(sep).join('/'));
  for (const must of ['.ci/run', 'scripts/run-tests.mjs', 'packages/attestation/src/testing/fixtures.ts', 'packages/cli/src/commands/attest.test.ts']) {
    assert.ok(rels.includes(must), `${must} is not among the scanned files`);
  }
  const refs: OutsideRef[] = [];
  for (let i = 0; i < files.length; i++) {
    if (rels[i] === SELF) continue;
    const size = statSync(files[i]!).size;
    if (size > MAX_SCANNED_BYTES) continue; // data, not code (none this large today)
    refs.push(...findOutsideRefs(rels[i]!, readFileSync(files[i]!, 'utf8')));
  }
  assert.deepEqual(
    refs.map((r) => `${r.file}:${r.line}: ${r.why}: ${r.text}`),
    [],
    'files refer to paths outside the repository',
  );
});

test('the fixtures the tests read are inside the repository', () => {
  const fixtures = join(repoRoot, 'packages', 'attestation', 'test', 'fixtures');
  for (const f of ['README.md', 'snp/milan-v2-report.bin', 'tdx/phala-v4-quote.bin', 'nvidia/hopper-report.hex', 'lunal/attestation-report-header.txt']) {
    assert.ok(existsSync(join(fixtures, f)), `packages/attestation/test/fixtures/${f} is missing`);
  }
});

test('the scan catches each way of leaving the repository, and nothing inside it', () => {
  const at = 'packages/cli/src/commands/attest.test.ts'; // 4 directories deep
  const whys = (text: string) => findOutsideRefs(at, text).map((r) => r.why);
  // the helper this test replaced: walk up to a sibling folder `shared`
  assert.equal(whys("const c = join(dir, 'shared', 'fixtures', 'attestation');").length, 1);
  assert.equal(whys(`readFileSync('../${SIBLING}/x.bin')`).length, 1);
  assert.equal(whys(`// reads ${SIBLING}/fixtures/attestation/snp`).length, 1);
  assert.equal(whys("readFileSync('/work/anything')").length, 1);
  assert.match(whys("readFileSync('../../../../../x')")[0]!, /climbs 5 directories from a file 4 below/);
  assert.match(whys("resolve(here, '..', '..', '..', '..', '..')")[0]!, /arguments climb 5/);
  assert.match(findOutsideRefs('prover/x_test.go', 'filepath.Join("..", "..", "x")')[0]!.why, /arguments climb 2 directories from a file 1 below/);
  // inside the repository
  assert.deepEqual(whys("resolve(here, '..', '..', '..', '..')"), []);
  assert.deepEqual(whys("new URL('../../test/fixtures/', import.meta.url)"), []);
  assert.deepEqual(whys("join(repoRoot, 'packages', 'attestation', 'test', 'fixtures')"), []);
  assert.deepEqual(whys("assert.equal(bind.mountPoint, '/srv/my data')"), []);
});
