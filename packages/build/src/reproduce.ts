/**
 * @module reproduce
 * Attestable does not mean reproducible: `compareBuilds` says what differs between two
 * build results (the same commit built twice, or two builders), file by file, and
 * `reproduceBuild` builds twice and compares. When `diffoscope` (Debian package
 * `diffoscope` / `diffoscope-minimal`) is on PATH, its text report of each differing file
 * is attached (bounded); otherwise the report gives sizes and the first differing byte.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonStrict, quoteInput, VeriteeError } from '@veritee/core';
import { runBuild, type BuildOptions, type BuildResult } from './builder.js';

export interface FileDifference {
  name: string;
  sha256: [string, string];
  size: [number, number];
  /** Offset of the first differing byte. */
  firstDifference: number;
  /** diffoscope's text output (bounded), when diffoscope is installed. */
  diffoscope?: string;
}

export interface ReproducibilityReport {
  reproducible: boolean;
  sameCommit: boolean;
  sameInputs: boolean;
  identical: string[];
  differing: FileDifference[];
  onlyInA: string[];
  onlyInB: string[];
  diffoscope: 'used' | 'not installed';
}

interface ResultSummary {
  commit: string;
  merkleRoot: string;
  subjects: { name: string; digest: { sha256: string } }[];
}

function readResult(dir: string): ResultSummary {
  let text: string;
  try {
    if (statSync(join(dir, 'result.json')).size > 64 << 20) throw new VeriteeError('INPUT_TOO_LARGE', `${quoteInput(dir)}/result.json is over 64 MiB`);
    text = readFileSync(join(dir, 'result.json'), 'utf8');
  } catch (e) {
    if (e instanceof VeriteeError) throw e;
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `${quoteInput(dir)} is not a build result (no result.json)`);
  }
  const r = parseJsonStrict(text, { what: 'result.json', code: 'BUILD_PROVENANCE_INVALID' }) as ResultSummary;
  if (!Array.isArray(r.subjects) || typeof r.commit !== 'string') throw new VeriteeError('BUILD_PROVENANCE_INVALID', `${quoteInput(dir)}/result.json has no subjects`);
  return r;
}

function firstDifference(a: string, b: string): number {
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  try {
    const ba = Buffer.alloc(1 << 16);
    const bb = Buffer.alloc(1 << 16);
    for (let off = 0; ; ) {
      const na = readSync(fa, ba, 0, ba.length, off);
      const nb = readSync(fb, bb, 0, bb.length, off);
      const n = Math.min(na, nb);
      for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return off + i;
      if (na !== nb || na === 0) return off + n;
      off += n;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

export function diffoscopeAvailable(): boolean {
  return spawnSync('diffoscope', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Compares two build-result directories (written by runBuild). */
export function compareBuilds(dirA: string, dirB: string, opts: { diffoscope?: boolean; maxDiffoscopeBytes?: number } = {}): ReproducibilityReport {
  const a = readResult(dirA);
  const b = readResult(dirB);
  const useDiffoscope = opts.diffoscope !== false && diffoscopeAvailable();
  const mb = new Map(b.subjects.map((s) => [s.name, s.digest.sha256]));
  const ma = new Map(a.subjects.map((s) => [s.name, s.digest.sha256]));
  const identical: string[] = [];
  const differing: FileDifference[] = [];
  for (const s of a.subjects) {
    const other = mb.get(s.name);
    if (other === undefined) continue;
    if (other === s.digest.sha256) {
      identical.push(s.name);
      continue;
    }
    const pa = join(dirA, 'artifacts', s.name);
    const pb = join(dirB, 'artifacts', s.name);
    const d: FileDifference = { name: s.name, sha256: [s.digest.sha256, other], size: [statSync(pa).size, statSync(pb).size], firstDifference: firstDifference(pa, pb) };
    if (useDiffoscope) {
      // exit status: 0 identical, 1 differences found, anything else an error of diffoscope's own
      const max = opts.maxDiffoscopeBytes ?? 64 * 1024;
      const r = spawnSync('diffoscope', ['--text', '-', '--text-color', 'never', '--no-progress', '--max-report-size', String(Math.max(max, 4096)), pa, pb], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });
      d.diffoscope =
        r.status === 1 || r.status === 0
          ? (r.stdout ?? '').slice(0, max)
          : `diffoscope failed (${r.error ? (r.error as NodeJS.ErrnoException).code ?? 'error' : `exit ${r.status ?? r.signal}`}): ${(r.stderr ?? '').slice(0, 500)}`;
    }
    differing.push(d);
  }
  const onlyInA = a.subjects.filter((s) => !mb.has(s.name)).map((s) => s.name);
  const onlyInB = b.subjects.filter((s) => !ma.has(s.name)).map((s) => s.name);
  return {
    reproducible: differing.length === 0 && onlyInA.length === 0 && onlyInB.length === 0,
    sameCommit: a.commit === b.commit,
    sameInputs: a.merkleRoot === b.merkleRoot,
    identical,
    differing,
    onlyInA,
    onlyInB,
    diffoscope: useDiffoscope ? 'used' : 'not installed',
  };
}

/** Builds the same inputs twice (into `<outDir>/a` and `<outDir>/b`) and compares the results. */
export async function reproduceBuild(o: BuildOptions): Promise<{ report: ReproducibilityReport; a: BuildResult; b: BuildResult }> {
  const a = await runBuild({ ...o, outDir: join(o.outDir, 'a') });
  const b = await runBuild({ ...o, outDir: join(o.outDir, 'b') });
  return { report: compareBuilds(a.outDir, b.outDir), a, b };
}

/** The report as Markdown. */
export function formatReproducibility(r: ReproducibilityReport): string {
  const lines = [
    `# Reproducibility: ${r.reproducible ? 'REPRODUCIBLE (every artifact is bit-for-bit identical)' : 'NOT reproducible'}`,
    '',
    `- same commit: ${r.sameCommit ? 'yes' : 'NO'}; same input Merkle root: ${r.sameInputs ? 'yes' : 'NO'}`,
    `- identical artifacts: ${r.identical.length}; differing: ${r.differing.length}; only in A: ${r.onlyInA.length}; only in B: ${r.onlyInB.length}`,
    `- diffoscope: ${r.diffoscope}`,
  ];
  for (const d of r.differing) {
    lines.push('', `## ${d.name}`, '', `sha256 ${d.sha256[0]} vs ${d.sha256[1]}; size ${d.size[0]} vs ${d.size[1]}; first difference at byte ${d.firstDifference}`);
    if (d.diffoscope) lines.push('', '```', d.diffoscope.trimEnd(), '```');
  }
  for (const n of r.onlyInA) lines.push(`- only in A: ${n}`);
  for (const n of r.onlyInB) lines.push(`- only in B: ${n}`);
  return lines.join('\n') + '\n';
}
