/**
 * Reproducibility report: the same commit built twice; a deterministic build is reported
 * reproducible, one that embeds randomness is not, with the differing file, sizes, first
 * differing byte and diffoscope's report (the real diffoscope, installed when missing).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedTee } from '@veritee/attestation';
import { compareBuilds, formatReproducibility, reproduceBuild } from './index.js';
import { ensureBubblewrap, ensureDiffoscope, makeRepo } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-repro-'));
let tee: SimulatedTee;
before(async () => {
  ensureBubblewrap();
  ensureDiffoscope();
  tee = await SimulatedTee.create({ platforms: ['snp'] });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a deterministic build is reproducible; SOURCE_DATE_EPOCH is the commit time', async () => {
  const r = makeRepo({ 'a.txt': 'same\n' }, dir);
  const { report } = await reproduceBuild({ source: r.dir, command: 'mkdir -p dist && cp a.txt dist/ && echo "$SOURCE_DATE_EPOCH" > dist/epoch', artifacts: ['dist'], outDir: join(dir, 'det'), tee });
  assert.equal(report.reproducible, true);
  assert.deepEqual(report.identical, ['dist/a.txt', 'dist/epoch']);
  assert.ok(report.sameCommit && report.sameInputs);
  assert.match(formatReproducibility(report), /REPRODUCIBLE/);
});

test('a build that embeds randomness is reported with what differs', async () => {
  const r = makeRepo({ 'a.txt': 'same\n' }, dir);
  const { report } = await reproduceBuild({
    source: r.dir,
    command: 'mkdir -p dist && cp a.txt dist/ && (printf "build-id:"; head -c 8 /dev/urandom | od -An -tx1 | tr -d " \\n") > dist/id.txt',
    artifacts: ['dist'],
    outDir: join(dir, 'rand'),
    tee,
  });
  assert.equal(report.reproducible, false);
  assert.deepEqual(report.identical, ['dist/a.txt']);
  assert.equal(report.differing.length, 1);
  assert.equal(report.differing[0]!.name, 'dist/id.txt');
  assert.equal(report.differing[0]!.size[0], 25);
  assert.ok(report.differing[0]!.firstDifference >= 9);
  assert.match(formatReproducibility(report), /NOT reproducible[\s\S]*dist\/id\.txt[\s\S]*first difference at byte/);
  // diffoscope's report names the differing line of each build
  assert.equal(report.diffoscope, 'used');
  const ids = ['a', 'b'].map((x) => readFileSync(join(dir, 'rand', x, 'artifacts/dist/id.txt'), 'utf8'));
  const diff = report.differing[0]!.diffoscope!;
  assert.match(diff, /^--- .*\/a\/artifacts\/dist\/id\.txt\n\+\+\+ .*\/b\/artifacts\/dist\/id\.txt/);
  assert.ok(diff.includes(`-${ids[0]}`) && diff.includes(`+${ids[1]}`), diff);
  assert.match(formatReproducibility(report), /diffoscope: used[\s\S]*```\n--- /);
  assert.throws(() => compareBuilds(join(dir, 'rand', 'a'), dir), /not a build result/);
});
