/**
 * Claim benchmark, driven by the registry: for every claim whose definition has
 * a sample workload (`sample`), its constraints (and per element), dev setup
 * (cached), TypeScript commitment + reference, witness, prove, and verification
 * in Go and TypeScript (memory, cpu, disk, gateway, volume, ...; latency and
 * inclusion have their own benchmarks with size sweeps).
 * Run: node --import tsx packages/zk/bench/claims.bench.ts [--only memory,gateway]
 * Uses the veritee home ($VERITEE_HOME or ~/.veritee): missing keys are made by a
 * dev setup, timed, and cached.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import {
  bundlePublicInputs,
  capacityOf,
  claimDefinitions,
  devSetup,
  KeyRing,
  prove,
  ProverPool,
  verifyProofBundle,
  verifyWithGo,
  veriteeHome,
  type ClaimDefinition,
  type ProverStep,
  type VerificationKeyDocument,
} from '../src/index.js';

const arg = process.argv.indexOf('--only');
const only = arg > 0 ? process.argv[arg + 1]!.split(',') : undefined;
const home = veriteeHome();

let seed = 12345;
const r = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;

interface Case {
  claim: string;
  size: string;
  elements: number;
  unit: string;
  capacity: number;
  target?: string;
  /** TypeScript commitment + reference computation. */
  reference: () => void;
  prove: (pool: ProverPool, steps?: boolean) => Promise<{ bundle: unknown; timings: { witnessMs: number; proveMs: number; steps?: ProverStep[] } }>;
}

/** One case per registered claim that describes a sample workload (and has no prover-side preparation). */
function caseOf(def: ClaimDefinition): Case | undefined {
  if (!def.sample || def.prepare) return undefined;
  const s = def.sample(r);
  const data = def.normalize ? def.normalize(s.data) : s.data;
  return {
    claim: def.kind,
    size: s.size,
    elements: s.elements,
    unit: def.unit.split(' ')[0]!,
    capacity: capacityOf(def, s.params, data),
    ...(s.target ? { target: s.target } : {}),
    reference: () => {
      def.commit(s.params, data, 1n);
      def.compute(s.params, data);
    },
    prove: (pool, steps) => prove(pool, def.kind, { params: s.params, data, ...(steps ? { steps } : {}) }),
  };
}

/**
 * CPU seconds (user + system) used so far by this script's prover processes,
 * read from /proc (Linux; undefined elsewhere). On a loaded machine wall times
 * stretch while CPU time barely moves, so the table reports both.
 */
function proverCpuMs(): number | undefined {
  try {
    let total = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      if (comm.startsWith('veritee-prover') && Number(f[1]) === process.pid) total += ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    }
    return total;
  } catch {
    return undefined;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);

interface Row {
  c: Case;
  constraints: number;
  setup: string;
  reference: number;
  witness: number;
  prove: number;
  goVerify: number;
  tsVerify: number;
  peakMb: number;
  /** Prover CPU time of a whole prove request (witness + prove), median. */
  cpuMs?: number;
  load: number;
  /** The prover's step breakdown (warm-up proof). */
  steps: ProverStep[];
}

const rows: Row[] = [];
for (const def of claimDefinitions()) {
  const c = caseOf(def);
  if (!c || (only && !only.includes(c.claim))) continue;
  const pool = new ProverPool({ home, size: 1, timeoutMs: 4 * 3600_000 });
  try {
    const t0 = performance.now();
    let fresh = false;
    const vk: VerificationKeyDocument = await devSetup(pool, c.claim, c.capacity, {
      onProgress: (e) => {
        if (e.stage !== 'cached') {
          fresh = true;
          process.stderr.write(`  setup ${c.claim} ${c.capacity}: ${e.message}\n`);
        }
      },
    });
    const setupMs = performance.now() - t0;
    const setup = fresh ? fmt(setupMs) : vk.setup.durationMs ? `${fmt(vk.setup.durationMs)} (cached)` : 'cached';
    const ref: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = performance.now();
      c.reference();
      ref.push(performance.now() - s);
    }
    const warm = await c.prove(pool, true); // warm-up: loads the keys; with the prover's step breakdown
    const proofs = [];
    const cpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c0 = proverCpuMs();
      proofs.push(await c.prove(pool));
      const c1 = proverCpuMs();
      if (c0 !== undefined && c1 !== undefined) cpu.push(c1 - c0);
    }
    const best = proofs.sort((a, b) => a.timings.proveMs - b.timings.proveMs)[1]!; // median of 3
    const bundle = best.bundle as Parameters<typeof bundlePublicInputs>[0];
    const keys = new KeyRing();
    keys.add(vk);
    const goTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const g = (await verifyWithGo(pool, vk, bundle.proof.groth16, bundlePublicInputs(bundle), true)) as { valid: boolean; verifyUs?: number };
      if (!g.valid) throw new Error(`Go verifier rejected the ${c.claim} benchmark proof`);
      goTimes.push((g.verifyUs ?? 0) / 1000);
    }
    verifyProofBundle(bundle, { keys, allowDevSetup: true });
    const tsTimes: number[] = [];
    for (let i = 0; i < 15; i++) {
      const v0 = performance.now();
      const v = verifyProofBundle(bundle, { keys, allowDevSetup: true });
      tsTimes.push(performance.now() - v0);
      if (!v.ok) throw new Error(`TypeScript verifier rejected the ${c.claim} benchmark proof`);
    }
    const info = await pool.request<{ peakRssKb: number }>({ op: 'info' });
    rows.push({
      c,
      constraints: vk.constraints,
      setup,
      reference: median(ref),
      witness: best.timings.witnessMs,
      prove: best.timings.proveMs,
      goVerify: median(goTimes),
      tsVerify: median(tsTimes),
      peakMb: info.peakRssKb / 1024,
      ...(cpu.length ? { cpuMs: median(cpu) } : {}),
      load: loadavg()[0]!,
      steps: warm.timings.steps ?? [],
    });
    process.stderr.write(`  ${c.claim} done\n`);
  } finally {
    await pool.close();
  }
}

console.log('\n## Telemetry proofs (Groth16/BN254, gnark; prove = median of 3 warm runs, verification warm, median)\n');
console.log('| claim | data | size class | constraints | per element | dev setup | TS commitment + reference | witness | prove (Go, wall) | prover CPU | target | verify Go | verify TS | prover peak RSS | load avg |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const per = `${(r.constraints / r.c.elements).toFixed(1)} / ${r.c.unit}`;
  console.log(
    `| ${r.c.claim} | ${r.c.size} | ${r.c.capacity} | ${r.constraints.toLocaleString('en')} | ${per} | ${r.setup} | ${fmt(r.reference)} | ${fmt(r.witness)} | ${fmt(r.prove)} | ${r.cpuMs !== undefined ? fmt(r.cpuMs) : 'n/a'} | ${r.c.target ?? ''} | ${fmt(r.goVerify)} | ${fmt(r.tsVerify)} | ${r.peakMb.toFixed(0)} MiB | ${r.load.toFixed(1)} |`,
  );
}
console.log('\nPer element = constraints of the size class / real elements proven (cells or requests). Prover CPU = user + system time of the');
console.log('prover process for the prove request (gnark uses every core, so on an idle machine wall ≈ CPU / cores). Targets from issue 4.');

// The prover's steps (CPU time of each, timed one after the other on all cores).
const stepNames = [...new Set(rows.flatMap((r) => r.steps.map((s) => s.step)))];
if (stepNames.length) {
  console.log('\n### Prover steps (CPU time per step, from the warm-up proof: `steps: true`)\n');
  console.log(`| claim | ${stepNames.join(' | ')} | sum (wall) |`);
  console.log(`|---|${stepNames.map(() => '---:').join('|')}|---:|`);
  for (const r of rows) {
    const cell = (n: string) => {
      const st = r.steps.find((s) => s.step === n);
      return st ? fmt(st.cpuMs) : '-';
    };
    console.log(`| ${r.c.claim} | ${stepNames.map(cell).join(' | ')} | ${fmt(r.steps.reduce((a, s) => a + s.ms, 0))} |`);
  }
}
