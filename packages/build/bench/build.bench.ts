/**
 * Attestable-build overhead on this repository's own TypeScript packages, in one run:
 *
 *   plain    : an export of HEAD with the repository's node_modules linked in,
 *              `tsc -b` of the packages, nothing else;
 *   attested : `runBuild` of the same commit and command: pin (git export, hash every file,
 *              measure the preloaded node_modules), sealed bwrap run, hash outputs, SLSA
 *              provenance, DSSE/Sigstore signature, simulated-TEE evidence.
 *
 *   node --import tsx packages/build/bench/build.bench.ts [--reps 2] [--packages core,attestation,build] [--startup-only]
 *
 * Also measures the sandbox's own cost: `sh -c true` plain vs sealed (bwrap, unshare),
 * 30 runs each, which on a loaded machine is the part of the sealing overhead that is
 * not drowned in the compiler's run-to-run noise.
 *
 * Uses the compiled @veritee/build (run `node scripts/build.mjs` first). No network: the
 * lockfile's dependencies come from the preloaded, measured node_modules (--no-fetch).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimulatedTee } from '@veritee/attestation';
import { runBuild, verifyBuild, parseBuildPolicy, devBuildPolicyYaml, builderMeasurement, availableSandboxes, runSealed } from '@veritee/build';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const args = process.argv.slice(2);
const opt = (n: string, d: string) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1]! : d);
const reps = Number(opt('reps', '2'));
const pkgs = opt('packages', 'core,attestation,build').split(',');
const command = `node node_modules/typescript/bin/tsc -b ${pkgs.map((p) => `packages/${p}`).join(' ')}`;
const artifacts = pkgs.map((p) => `packages/${p}/dist`);
const commit = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

function plain(): number {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-plain-'));
  try {
    const t0 = performance.now();
    const tar = spawnSync('git', ['-C', root, 'archive', '--format=tar', commit], { maxBuffer: 1 << 30 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar.stdout });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    execFileSync('/bin/sh', ['-c', command], { cwd: dir, stdio: 'inherit' });
    return performance.now() - t0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => (ms / 1000).toFixed(2);

if (!availableSandboxes().includes('bwrap')) {
  console.log('bubblewrap is not installed (apt-get install bubblewrap): the benchmark needs the real sandbox');
  process.exit(1);
}
async function startup(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'veritee-startup-'));
  const n = 30;
  const rows: [string, number][] = [];
  try {
    const time = async (f: () => unknown) => {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await f();
        xs.push(performance.now() - t);
      }
      return median(xs);
    };
    rows.push(['plain `sh -c true`', await time(() => spawnSync('/bin/sh', ['-c', 'true']))]);
    for (const method of availableSandboxes()) {
      rows.push([`sealed (${method}) \`sh -c true\``, await time(() => runSealed({ method, command: 'true', workDir: scratch, depsDir: scratch, tmpDir: scratch, sourceDateEpoch: 0 }))]);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`\n## Sandbox start-up cost (median of ${n})\n\n| run | ms |\n|---|---|`);
  for (const [k, v] of rows) console.log(`| ${k} | ${v.toFixed(1)} |`);
}
await startup();
if (args.includes('--startup-only')) process.exit(0);

const t0 = performance.now();
const tee = await SimulatedTee.create({ platforms: ['snp'] });
const teeMs = performance.now() - t0;
const plainMs: number[] = [];
const runs: Awaited<ReturnType<typeof runBuild>>[] = [];
const verifyMs: number[] = [];
const policy = parseBuildPolicy(devBuildPolicyYaml(builderMeasurement()) + 'allowPreloaded: true\n');
for (let i = 0; i < reps; i++) {
  // alternate which build runs first, so a warm page cache does not favour one of them
  if (i % 2 === 0) plainMs.push(plain());
  const out = mkdtempSync(join(tmpdir(), 'veritee-attested-'));
  try {
    const r = await runBuild({ source: root, command, artifacts, outDir: out, tee, sandbox: 'bwrap', fetch: false, preload: [{ name: 'node_modules', path: join(root, 'node_modules') }] });
    runs.push(r);
    const v0 = performance.now();
    const v = await verifyBuild({ artifact: join(out, 'artifacts', r.subjects[0]!.name), files: { dir: out }, policy, at: new Date() });
    verifyMs.push(performance.now() - v0);
    if (!v.ok) throw new Error(`verification failed: ${v.failures.map((c) => c.name).join(', ')}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  if (i % 2 === 1) plainMs.push(plain());
}
const t = (k: keyof (typeof runs)[0]['timings']) => median(runs.map((r) => r.timings[k]));
const plainMed = median(plainMs);
const total = t('total');
console.log(`\n## Attestable build of this repository's packages (${pkgs.join(', ')}), median of ${reps}\n`);
console.log(`command: \`${command}\`, commit ${commit.slice(0, 12)}, ${runs[0]!.subjects.length} artifacts, ${cpus().length} cores\n`);
console.log('| phase | seconds |\n|---|---|');
console.log(`| plain build (export + tsc, no sandbox) | ${s(plainMed)} |`);
console.log(`| attested: pin (export, hash ${''}source, measure node_modules) | ${s(t('pin'))} |`);
console.log(`| attested: fetch (skipped: preloaded) | ${s(t('fetch'))} |`);
console.log(`| attested: sealed build (bwrap, no network) | ${s(t('build'))} |`);
console.log(`| attested: hash outputs | ${s(t('hash'))} |`);
console.log(`| attested: provenance + DSSE/Sigstore signature | ${s(t('sign'))} |`);
console.log(`| attested: simulated evidence | ${s(t('attest'))} |`);
console.log(`| attested: total | ${s(total)} |`);
console.log(`| overhead (attested total − plain) | ${s(total - plainMed)} (${(((total - plainMed) / plainMed) * 100).toFixed(1)} %) |`);
console.log(`| of which sealing (sealed build − plain) | ${s(t('build') - plainMed)} |`);
console.log(`| verify (build verify, one artifact) | ${s(median(verifyMs))} |`);
console.log(`| simulated TEE creation (once per builder) | ${s(teeMs)} |`);
console.log(`\nplain runs: ${plainMs.map(s).join(', ')} s (odd runs after the attested build); sealed build phase runs: ${runs.map((r) => s(r.timings.build)).join(', ')} s; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
