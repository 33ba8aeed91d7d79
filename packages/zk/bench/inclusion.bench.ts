/**
 * Software-inclusion benchmark: building the component tree in Go (2^20 leaves),
 * proving one component's inclusion, verifying in Go and TypeScript, constraint
 * counts, and the TypeScript hashing costs.
 * Run: node --import tsx packages/zk/bench/inclusion.bench.ts [--sizes 1000,65536,1048576]
 * Uses the veritee home ($VERITEE_HOME or ~/.veritee): missing keys are made by a
 * dev setup, timed, and cached.
 */
import { createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { componentLeaf, inclusionRoot, poseidon2Compress, type Component } from '@veritee/core';
import {
  bundlePublicInputs,
  devSetup,
  inclusionTree,
  KeyRing,
  ProverPool,
  inclusionClaim,
  prove,
  verifyProofBundle,
  verifyWithGo,
  veriteeHome,
  type VerificationKeyDocument,
} from '../src/index.js';

const arg = process.argv.indexOf('--sizes');
const sizes = arg > 0 ? process.argv[arg + 1]!.split(',').map(Number) : [1000, 65_536, 1_048_576];
const DEPTH = 20;
const home = veriteeHome();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);

/** A synthetic image: file paths of realistic length and their digests. */
function image(n: number): Component[] {
  const out: Component[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const name = `usr/lib/x86_64-linux-gnu/pkg-${(i >> 8).toString(16)}/lib${i.toString(36)}.so.${i % 13}`;
    out[i] = { name, sha256: createHash('sha256').update(name).digest('hex') };
  }
  return out;
}

interface Row {
  n: number;
  tree: number;
  hash: number;
  cached: number;
  witness: number;
  prove: number;
  total: number;
  goVerify: number;
  tsVerify: number;
  tsCpu: number;
}

const pool = new ProverPool({ home, size: 1, timeoutMs: 3600_000 });
const rows: Row[] = [];
let vk: VerificationKeyDocument;
let setupText = 'cached';
let tsNumbers = { compressUs: 0, leafUs: 0, root1000Ms: 0 };
try {
  const t0 = performance.now();
  let fresh = false;
  vk = await devSetup(pool, 'inclusion', 2 ** DEPTH, { onProgress: (e) => void (e.stage !== 'cached' && (fresh = true)) });
  setupText = fresh ? fmt(performance.now() - t0) : vk.setup.durationMs ? `${fmt(vk.setup.durationMs)} (cached)` : 'cached';
  const keys = new KeyRing();
  keys.add(vk);

  for (const n of sizes) {
    const comps = image(n);
    const target = comps[Math.floor(n / 2)]!;
    const built = await inclusionTree(pool, comps, DEPTH); // cold: parse, sort, hash
    const again = await inclusionTree(pool, comps, DEPTH); // cached
    if (n === sizes[0]) await prove(pool, inclusionClaim, { params: {}, data: { components: comps, component: target } }); // warm-up: loads the keys
    const runs: { witness: number; prove: number; total: number }[] = [];
    let bundle;
    for (let i = 0; i < 3; i++) {
      const r = await prove(pool, inclusionClaim, { params: {}, data: { components: comps, component: comps[(i * 7919 + 1) % n]! } });
      runs.push({ witness: r.timings.witnessMs, prove: r.timings.proveMs, total: r.timings.totalMs });
      bundle = r.bundle;
    }
    const goTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const g = (await verifyWithGo(pool, vk, bundle!.proof.groth16, bundlePublicInputs(bundle!), true)) as { valid: boolean; verifyUs?: number };
      if (!g.valid) throw new Error('Go verifier rejected the benchmark proof');
      goTimes.push((g.verifyUs ?? 0) / 1000);
    }
    verifyProofBundle(bundle!, { keys, allowDevSetup: true });
    const tsTimes: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < 15; i++) {
      const v0 = performance.now();
      const v = verifyProofBundle(bundle!, { keys, allowDevSetup: true });
      tsTimes.push(performance.now() - v0);
      if (!v.ok) throw new Error('TypeScript verifier rejected the benchmark proof');
    }
    const cpu = process.cpuUsage(cpu0);
    const tsCpu = (cpu.user + cpu.system) / 1000 / 15;
    rows.push({
      n,
      tree: built.treeMs,
      hash: built.hashMs,
      cached: again.treeMs,
      witness: median(runs.map((r) => r.witness)),
      prove: median(runs.map((r) => r.prove)),
      total: median(runs.map((r) => r.total)),
      goVerify: median(goTimes),
      tsVerify: median(tsTimes),
      tsCpu,
    });
    process.stderr.write(`  ${n} components done\n`);
  }

  // TypeScript hashing (BigInt): one compression, one leaf, a 1,000-component root.
  const c0 = performance.now();
  let x = 1n;
  for (let i = 0; i < 2000; i++) x = poseidon2Compress(x, 2n);
  const compressUs = ((performance.now() - c0) / 2000) * 1000;
  const comps = image(1000);
  const l0 = performance.now();
  for (let i = 0; i < 200; i++) componentLeaf(comps[i]!);
  const leafUs = ((performance.now() - l0) / 200) * 1000;
  const r0 = performance.now();
  inclusionRoot(comps, DEPTH);
  tsNumbers = { compressUs, leafUs, root1000Ms: performance.now() - r0 };
} finally {
  await pool.close();
}

console.log('\n## Software inclusion (Poseidon2 t=2 tree of depth 20, Groth16/BN254, gnark; median)\n');
console.log(`Circuit: ${vk!.constraints.toLocaleString('en')} constraints at depth 20, ${vk!.publicInputs.length} public inputs; dev setup ${setupText}.\n`);
console.log('| components | tree build (Go: parse + sort + hash) | of which hashing | cached tree | witness (incl. path) | prove (Go) | prove total (TS, incl. 2× list transfer) | verify Go | verify TS (wall / CPU) |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.n.toLocaleString('en')} | ${fmt(r.tree)} | ${fmt(r.hash)} | ${fmt(r.cached)} | ${fmt(r.witness)} | ${fmt(r.prove)} | ${fmt(r.total)} | ${fmt(r.goVerify)} | ${fmt(r.tsVerify)} / ${fmt(r.tsCpu)} |`);
}
console.log(`\nTypeScript (BigInt) hashing: one compression ${tsNumbers.compressUs.toFixed(0)} µs, one leaf ${tsNumbers.leafUs.toFixed(0)} µs, root of 1,000 components ${fmt(tsNumbers.root1000Ms)}.`);
console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')}, Node ${process.version}.`);
console.log('Target: inclusion in a 2^20-leaf tree proven in ≤ 1 s.');
