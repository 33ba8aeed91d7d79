/**
 * Telemetry proof benchmark: constraints (and per element), dev setup (cached),
 * TypeScript commitment + reference, witness, prove, and verification in Go and
 * TypeScript for
 *   - memory autoscaling, 60 samples x 256 processes   (target: prove <= 2 s)
 *   - cpu autoscaling,    60 samples x 256 processes
 *   - disk autoscaling,   24 mounts x 60 samples
 *   - gateway health,     50,000 requests + 1,440 health checks   (target: prove <= 10 s)
 * Run: node --import tsx packages/zk/bench/telemetry.bench.ts [--only memory,gateway]
 * Uses the veritee home ($VERITEE_HOME or ~/.veritee): missing keys are made by a
 * dev setup, timed, and cached.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { cpuCommitment, diskCommitment, gatewayCommitment, memoryCommitment, requestCode, type DiskMount } from '@veritee/core';
import {
  bundlePublicInputs,
  computeCpuOutputs,
  computeDiskOutputs,
  computeGatewayOutputs,
  computeMemoryOutputs,
  CPU_DEFAULTS,
  cpuCapacityFor,
  devSetup,
  DISK_DEFAULTS,
  diskCapacityFor,
  GATEWAY_DEFAULTS,
  gatewayCapacityFor,
  KeyRing,
  MEMORY_DEFAULTS,
  memoryCapacityFor,
  proveCpu,
  proveDisk,
  proveGateway,
  proveMemory,
  ProverPool,
  verifyProofBundle,
  verifyWithGo,
  veriteeHome,
  type VerificationKeyDocument,
} from '../src/index.js';

const arg = process.argv.indexOf('--only');
const only = arg > 0 ? process.argv[arg + 1]!.split(',') : undefined;
const home = veriteeHome();
const P0 = Date.UTC(2026, 10, 20) * 1000;
const MIN = 60_000_000;

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
  prove: (pool: ProverPool) => Promise<{ bundle: unknown; timings: { witnessMs: number; proveMs: number } }>;
}

function memoryCase(): Case {
  const nS = 60, nP = 256;
  const allocatedKiB = 64 << 20;
  const usageKiB = Array.from({ length: nS }, () => Array.from({ length: nP }, () => Math.floor(r() * r() * 480_000)));
  const data = { swapPages: usageKiB.map(() => Math.floor(r() * 500)), pageFaults: usageKiB.map(() => Math.floor(r() * 80_000)), usageKiB };
  const params = { periodStartUs: P0, periodEndUs: P0 + nS * MIN, allocatedKiB, ...MEMORY_DEFAULTS };
  return {
    claim: 'memory',
    size: `${nS} samples × ${nP} processes`,
    elements: nS * nP,
    unit: 'cell',
    capacity: memoryCapacityFor(nS, nP),
    target: '≤ 2 s',
    reference: () => {
      memoryCommitment({ salt: 1n, ...params, ...data });
      computeMemoryOutputs(params, data);
    },
    prove: (pool) => proveMemory(pool, { params, data }),
  };
}

function cpuCase(): Case {
  const nS = 60, nP = 256;
  const customer = Array.from({ length: nP }, (_, p) => p >= 40);
  const usageMilli = Array.from({ length: nS }, () => customer.map((c) => Math.floor(r() * (c ? 60 : 10))));
  const data = { customer, usageMilli };
  const params = { periodStartUs: P0, periodEndUs: P0 + nS * 10_000_000, capacityMilli: 16_000, ...CPU_DEFAULTS };
  return {
    claim: 'cpu',
    size: `${nS} samples × ${nP} processes`,
    elements: nS * nP,
    unit: 'cell',
    capacity: cpuCapacityFor(nS, nP),
    reference: () => {
      cpuCommitment({ salt: 1n, ...params, ...data });
      computeCpuOutputs(params, data);
    },
    prove: (pool) => proveCpu(pool, { params, data }),
  };
}

function diskCase(): Case {
  const nM = 24, nS = 60;
  const mounts: DiskMount[] = Array.from({ length: nM }, () => {
    const totalKiB = Math.floor((10 + r() * 4000) * 2 ** 20);
    return { totalKiB, usedKiB: Math.floor(totalKiB * r() * 0.9), inodesTotal: 64_000_000, inodesUsed: Math.floor(r() * 20_000_000), queueDepth: Array.from({ length: nS }, () => Math.floor(r() * 40)) };
  });
  const params = { periodStartUs: P0, periodEndUs: P0 + nS * 10_000_000, ...DISK_DEFAULTS };
  return {
    claim: 'disk',
    size: `${nM} mounts × ${nS} samples`,
    elements: nM * nS,
    unit: 'cell',
    capacity: diskCapacityFor(nM, nS),
    reference: () => {
      diskCommitment({ salt: 1n, ...params, mounts });
      computeDiskOutputs(params, { mounts });
    },
    prove: (pool) => proveDisk(pool, { params, data: { mounts } }),
  };
}

function gatewayCase(): Case {
  const n = 50_000, nChecks = 1440;
  const requests = Array.from({ length: n }, () => {
    const x = r();
    return requestCode({ status: x < 0.0004 ? 503 : x < 0.03 ? 404 : 200, connectionOk: x > 0.0008, rateLimited: false });
  });
  const checks = Array.from({ length: nChecks }, () => r() > 0.002);
  const params = { periodStartUs: P0, periodEndUs: P0 + 24 * 60 * MIN, ...GATEWAY_DEFAULTS };
  return {
    claim: 'gateway',
    size: `${n.toLocaleString('en')} requests + ${nChecks} checks`,
    elements: n,
    unit: 'request',
    capacity: gatewayCapacityFor(n, nChecks),
    target: '≤ 10 s',
    reference: () => {
      gatewayCommitment({ salt: 1n, ...params, requests, checks });
      computeGatewayOutputs(params, { requests, checks });
    },
    prove: (pool) => proveGateway(pool, { params, requests, checks }),
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
}

const rows: Row[] = [];
for (const make of [memoryCase, cpuCase, diskCase, gatewayCase]) {
  const c = make();
  if (only && !only.includes(c.claim)) continue;
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
    await c.prove(pool); // warm-up: loads the keys
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
