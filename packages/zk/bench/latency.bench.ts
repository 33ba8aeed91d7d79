/**
 * Latency SLA proof benchmark: setup, witness, prove, verify (Go and TypeScript),
 * peak prover memory and constraints per record for 1,000 / 10,000 / 50,000
 * records. Run: node --import tsx packages/zk/bench/latency.bench.ts [--sizes 1000,10000] [--versions 1,2]
 * (circuit versions; default 3, the current one: records bound by the BSB22
 * commitment as in version 2, range checks through gadget/limbs; version 1
 * hashes the records in the circuit).
 * Uses the veritee home ($VERITEE_HOME or ~/.veritee): missing keys are made by a
 * dev setup, timed, and cached.
 * The warm-up proof asks the prover for its step breakdown (solve, FFTs, each MSM,
 * timed one after the other); a table per size follows the summary. CPU times are
 * printed beside wall times: on a shared machine they say what the work costs.
 */
import { loadavg } from 'node:os';
import { latencyCommitment } from '@veritee/core';
import {
  devSetup,
  KeyRing,
  latencyCapacityFor,
  parseSla,
  ProverPool,
  latencyClaim,
  latencyClaimV1,
  latencyClaimV2,
  LATENCY_CIRCUIT_VERSION,
  LATENCY_V1_CAPACITIES,
  prove,
  verifyProofBundle,
  verifyWithGo,
  veriteeHome,
  bundlePublicInputs,
  type ProverStep,
  type VerificationKeyDocument,
} from '../src/index.js';

const arg = process.argv.indexOf('--sizes');
const sizes = arg > 0 ? process.argv[arg + 1]!.split(',').map(Number) : [1000, 10_000, 50_000];
const varg = process.argv.indexOf('--versions');
const versions = varg > 0 ? process.argv[varg + 1]!.split(',').map(Number) : [LATENCY_CIRCUIT_VERSION];
const home = veriteeHome();
const P0 = Date.UTC(2026, 10, 20) * 1000;
const DAY = 86_400_000_000;

function records(n: number): number[] {
  let a = 12345;
  const r = () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.floor(r() * DAY);
    out.push(s, s + Math.round(Math.exp(Math.log(35_000) + 0.5 * (r() + r() + r() - 1.5))));
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);

interface Row {
  version: number;
  domain: number;
  n: number;
  capacity: number;
  constraints: number;
  setup: string;
  commitTs: number;
  witness: number;
  prove: number;
  proveCpu: number | undefined;
  goVerify: number;
  tsVerify: number;
  tsVerifyCpu: number;
  tsRuns: number;
  peakMb: number;
  steps: ProverStep[];
  load: string;
}

const rows: Row[] = [];
for (const [version, n] of versions.flatMap((v) => sizes.map((n) => [v, n] as const))) {
  const claim = version === 1 ? latencyClaimV1 : version === 2 ? latencyClaimV2 : latencyClaim;
  const capacity = version === 1 ? LATENCY_V1_CAPACITIES.find((c) => c >= n)! : latencyCapacityFor(n);
  const pool = new ProverPool({ home, size: 1, timeoutMs: 4 * 3600_000 });
  try {
    const t0 = performance.now();
    let setupFresh = false;
    const vk: VerificationKeyDocument = await devSetup(pool, 'latency', capacity, {
      version,
      onProgress: (e) => {
        if (e.stage !== 'cached') {
          setupFresh = true;
          process.stderr.write(`  setup ${capacity}: ${e.message}\n`);
        }
      },
    });
    const setupMs = performance.now() - t0;
    const setup = setupFresh ? fmt(setupMs) : vk.setup.durationMs ? `${fmt(vk.setup.durationMs)} (cached)` : 'cached';
    const recs = records(n);
    const params = { periodStartUs: P0, periodEndUs: P0 + DAY, ...parseSla('p95<100ms,p99<500ms,min=1000') };
    const c0 = performance.now();
    latencyCommitment({ salt: 1n, periodStartUs: P0, periodEndUs: P0 + DAY, records: recs });
    const commitTs = performance.now() - c0;
    // warm-up (loads the keys) with the prover's step breakdown
    const warm = await prove(pool, claim, { params, data: { records: recs }, capacity, steps: true });
    const r = await prove(pool, claim, { params, data: { records: recs }, capacity });
    const keys = new KeyRing();
    keys.add(vk);
    const goTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const g = (await verifyWithGo(pool, vk, r.bundle.proof.groth16, bundlePublicInputs(r.bundle), true)) as { valid: boolean; verifyUs?: number };
      if (!g.valid) throw new Error('Go verifier rejected the benchmark proof');
      goTimes.push((g.verifyUs ?? 0) / 1000);
    }
    verifyProofBundle(r.bundle, { keys, allowDevSetup: true });
    const tsTimes: number[] = [];
    const tsCpu: number[] = [];
    const tsRuns = 31;
    for (let i = 0; i < tsRuns; i++) {
      const c0 = process.cpuUsage();
      const v0 = performance.now();
      const v = verifyProofBundle(r.bundle, { keys, allowDevSetup: true });
      tsTimes.push(performance.now() - v0);
      const c = process.cpuUsage(c0);
      tsCpu.push((c.user + c.system) / 1000);
      if (!v.ok) throw new Error('TypeScript verifier rejected the benchmark proof');
    }
    const info = await pool.request<{ peakRssKb: number }>({ op: 'info' });
    let domain = 1;
    while (domain < vk.constraints + vk.publicInputs.length + 1) domain *= 2;
    rows.push({ version, domain, n, capacity, constraints: vk.constraints, setup, commitTs, witness: r.timings.witnessMs, prove: r.timings.proveMs, proveCpu: r.timings.proveCpuMs, goVerify: median(goTimes), tsVerify: median(tsTimes), tsVerifyCpu: median(tsCpu), tsRuns, peakMb: info.peakRssKb / 1024, steps: warm.timings.steps ?? [], load: loadavg().map((x) => x.toFixed(1)).join(' ') });
    process.stderr.write(`  v${version} ${n} records done\n`);
  } finally {
    await pool.close();
  }
}

console.log('\n## Latency SLA proofs (Groth16/BN254, gnark; verification warm, median)\n');
console.log('| version | records | size class | constraints | per record | FFT domain | dev setup | TS commitment | witness | prove (Go) | prove CPU | verify Go | verify TS | verify TS CPU | prover peak RSS | load (1/5/15 min) |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows) {
  console.log(`| v${r.version} | ${r.n.toLocaleString('en')} | ${r.capacity} | ${r.constraints.toLocaleString('en')} | ${(r.constraints / r.capacity).toFixed(1)} | 2^${Math.log2(r.domain)} | ${r.setup} | ${fmt(r.commitTs)} | ${fmt(r.witness)} | ${fmt(r.prove)} | ${r.proveCpu === undefined ? '-' : fmt(r.proveCpu)} | ${fmt(r.goVerify)} | ${fmt(r.tsVerify)} | ${fmt(r.tsVerifyCpu)} (n=${r.tsRuns}) | ${r.peakMb.toFixed(0)} MiB | ${r.load} |`);
}
for (const r of rows) {
  if (!r.steps.length) continue;
  const total = r.steps.reduce((a, s) => a + s.ms, 0);
  console.log(`\n### Prover steps, v${r.version}, ${r.n.toLocaleString('en')} records (timed one after the other, each on all cores)\n`);
  console.log('| step | size | wall | CPU | share of wall |');
  console.log('|---|---:|---:|---:|---:|');
  for (const s of r.steps) console.log(`| ${s.step} | ${s.size.toLocaleString('en')} | ${fmt(s.ms)} | ${fmt(s.cpuMs)} | ${((100 * s.ms) / total).toFixed(1)} % |`);
  console.log(`| sum | | ${fmt(total)} | ${fmt(r.steps.reduce((a, s) => a + s.cpuMs, 0))} | |`);
}
console.log('\nTargets: 50,000 records proven in ≤ 10 s; verification ≤ 5 ms (Go) and ≤ 30 ms (TS).');
