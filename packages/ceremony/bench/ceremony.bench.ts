/**
 * Ceremony speed and sizes: a local ceremony (3 contributors and a beacon) per
 * circuit and size class, with phase 1 run locally (shared by the classes with
 * the same power). Prints phase-2 init, each contribution and its verify-before-
 * accept, the whole-transcript verification (Go, with Initialize re-run), the
 * TypeScript chain check of the resulting key, and the transcript sizes.
 *
 *   node --import tsx packages/ceremony/bench/ceremony.bench.ts [--circuits ceremony-selftest:1,gateway:1024,inclusion:1024]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ceremonyChainProblem } from '@veritee/zk';
import { runEngine, runLocalCeremony, type CeremonyVerification } from '../src/index.js';

const argv = process.argv.slice(2);
const i = argv.indexOf('--circuits');
const classes = (i >= 0 ? argv[i + 1]! : 'ceremony-selftest:1,gateway:1024,inclusion:1024').split(',').map((s) => {
  const [circuit, size] = s.split(':');
  return { circuit: circuit!, size: Number(size) };
});
const work = mkdtempSync(join(tmpdir(), 'veritee-ceremony-bench-'));
const BEACON = '5eed'.repeat(16);
const fmtMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const fmtB = (b: number): string => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const range = (xs: number[]): string => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi || fmtMs(lo) === fmtMs(hi) ? fmtMs(lo) : `${fmtMs(lo)}–${fmtMs(hi)}`;
};

console.log('## Ceremonies (3 contributors + beacon 2^10, local phase 1)\n');
console.log(`load at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
console.log('| circuit / size | constraints → domain | phase 1 (3 contrib. + seal + verify) | phase-2 init | contribute | verify-accept | whole verify (Initialize) | TS chain check | transcript | state | chain summary in vk.json |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
try {
  for (const c of classes) {
    const r = await runLocalCeremony({
      workDir: join(work, 'w'),
      home: join(work, 'home'),
      circuit: c.circuit,
      size: c.size,
      contributors: ['alice', 'bob', 'carol'],
      beacon: BEACON,
      beaconIterationsExp: 10,
    });
    const t0 = Date.now();
    const v = await runEngine<CeremonyVerification>('verify', { dir: r.dir });
    const verifyMs = Date.now() - t0;
    const rec = v.vk.setup.ceremony!;
    const t1 = performance.now();
    const bad = ceremonyChainProblem(rec.chain, rec, v.vk.groth16);
    const tsMs = performance.now() - t1;
    if (bad) throw new Error(`TS chain check failed: ${bad}`);
    const files = readdirSync(r.dir).filter((f) => f === 'ceremony.json' || f === 'phase1.bin' || /^state-\d{4}\.bin$/.test(f));
    const total = files.reduce((n, f) => n + statSync(join(r.dir, f)).size, 0);
    const state = statSync(join(r.dir, 'state-0001.bin')).size;
    const chainBytes = JSON.stringify(rec.chain).length;
    const m = r.manifest;
    console.log(
      `| ${m.circuit} v${m.circuitVersion} / ${m.capacity} | ${m.constraints} → ${rec.domain} | ${r.timings.phase1Ms ? fmtMs(r.timings.phase1Ms) : '(shared)'} | ${fmtMs(r.timings.initMs)} | ${range(r.timings.contributeMs)} | ${range(r.timings.acceptMs)} | ${fmtMs(verifyMs)} (${fmtMs(v.timings.initializeMs)}) | ${fmtMs(tsMs)} | ${fmtB(total)} (phase1.bin ${fmtB(statSync(join(r.dir, 'phase1.bin')).size)}) | ${fmtB(state)} | ${fmtB(chainBytes)} |`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`\nload at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
