/**
 * @module commands/demo
 * `veritee demo` (what `npm start` runs): synthesize a realistic day of request
 * traffic, prove its latency SLA, verify the bundle, print the result.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { VeriteeError } from '@veritee/core';
import { parsePolicy } from '@veritee/attestation';
import { collectTelemetry, memoryClaimInput } from '@veritee/control-plane';
import {
  attachAttestation,
  createSimulatedEnclave,
  devSetup,
  latencyCapacityFor,
  loadKeyRingFromHome,
  parseSla,
  latencyClaim,
  memoryClaim,
  prove,
  verifyBundle,
  LATENCY_CAPACITIES,
  type EnclaveSigner,
  ProverPool,
} from '@veritee/zk';
import { printChecks, warnLoudly, writeJsonFile } from '../io.js';
import { summarizeClaim } from '../format.js';
import { homeOf, parseIntegerOption, withPool } from './common.js';
import { ensureDevKeys } from './zk.js';
import { consoleBundlesDir, DEFAULT_CONSOLE_LISTEN, startConsole } from './console.js';

/** mulberry32: a small seeded PRNG, so the demo is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A day of traffic: arrivals follow a diurnal curve (quiet at night, peak in the
 * afternoon); latencies are log-normal around 35 ms with a slow tail (1 % of
 * requests hit a cold path around 250 ms) and busier hours are slower.
 */
export function synthesizeDay(n: number, dayStartUs: number, seed = 1): number[] {
  const rnd = prng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const dayUs = 86_400_000_000;
  const starts: number[] = [];
  while (starts.length < n) {
    const t = rnd();
    const load = 0.55 - 0.45 * Math.cos(2 * Math.PI * (t - 0.125)); // peak around 15:00
    if (rnd() < load) starts.push(Math.floor(t * dayUs));
  }
  starts.sort((a, b) => a - b);
  const out: number[] = [];
  for (const s of starts) {
    const hour = s / 3_600_000_000;
    const busy = 1 + 0.4 * Math.max(0, Math.sin(((hour - 9) / 12) * Math.PI));
    let latMs = Math.exp(Math.log(35) + 0.45 * gauss()) * busy;
    if (rnd() < 0.01) latMs += 150 + 200 * rnd();
    out.push(dayStartUs + s, dayStartUs + s + Math.max(1, Math.round(latMs * 1000)));
  }
  return out;
}

/** The demo's attestation policy: simulated SNP/TDX accepted, report data bound to the enclave key. */
const DEMO_POLICY = parsePolicy(`
version: 1
name: demo-simulated
platforms: [snp, tdx]
allowSimulated: true
reportData: { require: [publicKeyHash] }
snp: { measurements: any }
tdx: { mrtd: any }
`);

/**
 * Measures this machine for real (16 samples, 250 ms apart, the 30 largest
 * processes plus one "other" row per owner), proves the memory-autoscaling
 * decision (p90 of total usage > 85 % of MemTotal ⇔ scale out) and signs the
 * commitment with the enclave key.
 */
async function proveMachineMemory(pool: ProverPool, enclave: EnclaveSigner) {
  process.stdout.write('\nmeasuring this machine (/proc, 16 samples x 250 ms) for a memory-autoscaling proof…\n');
  const window = await collectTelemetry({ samples: 16, intervalMs: 250, maxProcesses: 30 });
  if (window.errors.length) process.stdout.write(`  collector notes: ${window.errors.length} (e.g. ${window.errors[0]!.what}: ${window.errors[0]!.detail})\n`);
  const { params, data } = memoryClaimInput(window);
  const capacity = 512;
  await devSetup(pool, 'memory', capacity, { onProgress: (e) => e.stage !== 'cached' && process.stderr.write(`setup memory/${capacity} [${e.stage}] ${e.message}\n`) });
  const r = await prove(pool, memoryClaim, { params, data, capacity });
  process.stdout.write(`proved the scaling decision in ${(r.timings.proveMs / 1000).toFixed(2)} s over ${data.usageKiB.length} samples x ${data.usageKiB[0]!.length} processes\n`);
  return attachAttestation(r.bundle, enclave);
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('synthesize a day of traffic, prove its latency SLA, verify the bundle (what `npm start` runs)')
    .option('--requests <n>', `number of requests in the day (max ${LATENCY_CAPACITIES[LATENCY_CAPACITIES.length - 1]})`, '1000')
    .option('--sla <expr>', 'SLA to prove', 'p95<100ms,p99<500ms,min=1000')
    .option('--seed <n>', 'random seed', '1')
    .option('--out <file>', 'also write the bundle here')
    .option('--home <dir>', 'veritee home directory')
    .option('--no-telemetry', 'skip the memory-autoscaling proof from this machine\'s telemetry')
    .option('--console [host:port]', `then write the bundles to <home>/console/bundles and serve the web console (default ${DEFAULT_CONSOLE_LISTEN}) until Ctrl-C`)
    .action(async (o: { requests: string; sla: string; seed: string; out?: string; home?: string; telemetry: boolean; console?: string | boolean }) => {
      const n = parseIntegerOption('--requests', o.requests, 1, LATENCY_CAPACITIES[LATENCY_CAPACITIES.length - 1]!);
      const seed = parseIntegerOption('--seed', o.seed, 0, 2 ** 32 - 1);
      const capacity = latencyCapacityFor(n);
      const dayStartUs = Date.UTC(2026, 10, 20) * 1000;
      const periodEndUs = dayStartUs + 86_400_000_000;
      const { minN, slots } = parseSla(o.sla);
      const absolute = synthesizeDay(n, dayStartUs, seed);
      const records = absolute.map((v) => v - dayStartUs);
      process.stdout.write(`veritee demo: ${n} synthetic requests on 2026-11-20 (diurnal load, log-normal latency with a slow tail)\n`);
      const home = homeOf(o);
      const enclave = await createSimulatedEnclave({ platform: 'snp' });
      const { result, memory } = await withPool(home, async (pool) => {
        await ensureDevKeys(pool, capacity);
        process.stdout.write(`proving the SLA "${o.sla}" in zero knowledge (${capacity}-record size class)…\n`);
        const result = await prove(pool, latencyClaim, { params: { periodStartUs: dayStartUs, periodEndUs, minN, slots }, data: { records }, capacity });
        const memory = o.telemetry ? await proveMachineMemory(pool, enclave) : undefined;
        return { result, memory };
      });
      process.stdout.write(`proved in ${(result.timings.proveMs / 1000).toFixed(2)} s (witness ${result.timings.witnessMs} ms)\n`);
      // The collector's enclave key signs the commitment; its hash is in the TEE's report data.
      const bundle = attachAttestation(result.bundle, enclave);
      process.stdout.write('signed the commitment with an enclave key bound in (simulated) SEV-SNP evidence\n\n');
      if (o.out) writeJsonFile(o.out, bundle);
      warnLoudly(['The demo runs in the SIMULATED TEE and uses keys from a DEV setup on this machine:', 'it verifies with allowSimulated and allowDevSetup. Neither is accepted by default.']);
      const keys = loadKeyRingFromHome(home);
      // The verifier pins the SLA it cares about: a bundle proving another SLA is refused.
      const opts = { keys, policy: DEMO_POLICY, at: new Date(), allowDevSetup: true, expect: { kind: 'latency', sla: o.sla } };
      const t0 = performance.now();
      const v = await verifyBundle(bundle, opts);
      const cold = performance.now() - t0;
      const t1 = performance.now();
      await verifyBundle(bundle, opts);
      const warm = performance.now() - t1;
      process.stdout.write(`${v.ok ? 'VERIFIED' : 'NOT VERIFIED'} (evidence -> enclave key -> signature -> proof) in TypeScript: ${cold.toFixed(0)} ms cold, ${warm.toFixed(0)} ms warm\n`);
      printChecks(v.checks);
      for (const l of summarizeClaim(result.bundle)) process.stdout.write(`  ${l}\n`);
      process.stdout.write('\nNo request was revealed: the bundle holds the commitment, the public outputs and a Groth16 proof of five curve points.\n');
      let memOk = true;
      if (memory) {
        const m = await verifyBundle(memory, { ...opts, expect: { kind: 'memory', percentile: 90, threshold: 85 } });
        memOk = m.ok;
        process.stdout.write(`\nAutoscaling from this machine's real memory telemetry: ${m.ok ? 'VERIFIED' : 'NOT VERIFIED'} (evidence -> enclave key -> signature -> proof)\n`);
        printChecks(m.checks.filter((c) => !c.name.startsWith('evidence.') || !c.ok));
        for (const l of summarizeClaim(memory)) process.stdout.write(`  ${l}\n`);
      }
      process.exitCode = v.ok && memOk ? 0 : 1;
      if (o.console) {
        // The console reads the demo's output directory; the page verifies the bundles itself.
        const dir = consoleBundlesDir(home);
        mkdirSync(dir, { recursive: true });
        writeJsonFile(join(dir, `latency-${new Date(dayStartUs / 1000).toISOString().slice(0, 10)}.json`), bundle);
        if (memory) writeJsonFile(join(dir, `memory-${memory.createdAt.replace(/[:.]/g, '-')}.json`), memory);
        // DEVELOPMENT: a KMS and a control plane in this process (simulated TEE, in-memory), for the console's KMS and control-plane pages.
        process.stdout.write('\nstarting a demo KMS and control plane in this process (SIMULATED TEE, in-memory databases)…\n');
        const servicePool = new ProverPool({ home, size: 1 });
        const { startDemoServices } = await import('@veritee/console/demo');
        // The bundles pages work without them: a failure here is reported, not fatal.
        const services = await startDemoServices({ pool: servicePool, onProgress: (l) => process.stdout.write(`${l}\n`) }).catch((e: unknown) => {
          process.stderr.write(`the demo KMS and control plane did not start (${e instanceof VeriteeError ? `${e.code}: ${e.message}` : String((e as Error)?.message ?? e).slice(0, 300)}); the console runs without their pages\n`);
          return undefined;
        });
        const c = await startConsole({ listen: typeof o.console === 'string' ? o.console : DEFAULT_CONSOLE_LISTEN, bundlesDir: dir, home, ...(services ? { kms: services.kms, cp: services.cp } : {}) });
        process.stdout.write(`\nweb console: ${c.url} — verify these bundles in your browser (bundles in ${dir}; KMS and control plane pages from the demo services; Ctrl-C stops it)\n`);
        const stop = () => void c.close().then(() => services?.close()).then(() => servicePool.close()).then(() => process.exit(process.exitCode ?? 0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }
    });
}
