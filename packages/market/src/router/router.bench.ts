/**
 * Benchmark: a small latency claim (600 records, 1024 size class, dev keys) proven
 * directly (in process: the prover pool, then the bundle verified) and routed (a router
 * in front of 3 sealed provers on loopback sharing that pool: directory with evidence
 * from all 3, verified here; HPKE seal; forward; prove; open, check the signature, verify
 * the bundle). One warm-up of each, then `--runs` alternating runs (default 3); prints a
 * Markdown table with each run, the routed/direct ratio and the routed time split, and
 * the load average. Also the router's overhead alone: the same routed flow with a prover
 * function that returns at once (no proof), so what remains is directory, attestation,
 * sealing and forwarding.
 *
 *   node --import tsx packages/market/src/router/router.bench.ts [--runs 3]
 *   (or, after a build: node packages/market/dist/router/router.bench.js)
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { parsePolicy, SimulatedTee } from '@veritee/attestation';
import { simulatedEvidenceProvider } from '@veritee/proxy';
import { devSetup, KeyRing, parseSla, ProverPool, veriteeHome, verifyProofBundle } from '@veritee/zk';
import { routedProve } from './client.js';
import { buildMarketRouter } from './router.js';
import { buildSealedProver, latencyProver, type SealedProveFn, type SealedProver } from './sealed-prover.js';

const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1] ?? 3) || 3;
const home = process.env.VERITEE_TEST_HOME ?? veriteeHome();
const SIM_MEASUREMENT = createHash('sha384').update('veritee simulated SEV-SNP guest').digest('hex');
const policy = parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: [SIM_MEASUREMENT] } });

function input(seed: number) {
  let a = seed;
  const r = () => (a = (a * 1103515245 + 12345) % 2147483648) / 2147483648;
  const records: number[] = [];
  for (let i = 0; i < 600; i++) {
    const s = Math.floor(r() * 3_500_000_000);
    records.push(s, s + 1000 + Math.floor(r() * 200_000));
  }
  const periodStartUs = 1_763_596_800_000_000;
  return { claim: 'latency' as const, params: { periodStartUs, periodEndUs: periodStartUs + 3_600_000_000, ...parseSla('p95<150ms,p99<250ms,min=500') }, records };
}

const load0 = loadavg();
const tee = await SimulatedTee.create({ platforms: ['snp'] });
const pool = new ProverPool({ home, size: 1 });
const keys = new KeyRing();
keys.add(await devSetup(pool, 'latency', 1024));
const real = latencyProver(pool);
const instant: SealedProveFn = async () => ({ bundle: { none: true } });

async function stack(prove: SealedProveFn) {
  const provers: SealedProver[] = [];
  for (const id of ['p1', 'p2', 'p3']) {
    const p = await buildSealedProver({ backendId: id, provider: await simulatedEvidenceProvider({ tee }), prove });
    await p.listen({ host: '127.0.0.1', port: 0 });
    provers.push(p);
  }
  const router = await buildMarketRouter({ backends: provers.map((p, i) => ({ id: `p${i + 1}`, url: `http://127.0.0.1:${(p.server.address() as AddressInfo).port}` })) });
  await router.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(router.server.address() as AddressInfo).port}`;
  return { url, close: async () => Promise.all([router.close(), ...provers.map((p) => p.close())]) };
}

const proving = await stack(real);
const bare = await stack(instant);

async function direct(seed: number): Promise<number> {
  const t = performance.now();
  const r = await real(input(seed), new AbortController().signal);
  const v = verifyProofBundle(r.bundle, { keys, allowDevSetup: true });
  if (!v.ok) throw new Error('direct bundle does not verify');
  return performance.now() - t;
}
async function routed(seed: number) {
  const t = performance.now();
  const r = await routedProve(proving.url, policy, input(seed), { simulatedAnchors: tee.anchors, keys, allowDevSetup: true });
  return { ms: performance.now() - t, split: r.ms };
}

await direct(1);
await routed(2);
const rows: string[] = [];
const ratios: number[] = [];
for (let i = 0; i < runs; i++) {
  const d = await direct(10 + i);
  const r = await routed(20 + i);
  ratios.push(r.ms / d);
  const s = r.split;
  rows.push(`| ${i + 1} | ${d.toFixed(0)} | ${r.ms.toFixed(0)} | ${(r.ms / d).toFixed(2)} | ${(r.ms - d).toFixed(0)} | ${(s.directory + s.verify).toFixed(0)} | ${s.seal.toFixed(1)} | ${s.prove.toFixed(0)} | ${s.open.toFixed(0)} |`);
}
const bareMs: number[] = [];
await routedProve(bare.url, policy, { any: 1 }, { simulatedAnchors: tee.anchors });
for (let i = 0; i < 10; i++) {
  const t = performance.now();
  await routedProve(bare.url, policy, { any: i }, { simulatedAnchors: tee.anchors });
  bareMs.push(performance.now() - t);
}
bareMs.sort((a, b) => a - b);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log('\n## market router: routed vs direct prove (latency claim, 600 records, 1024 class)\n');
console.log('| run | direct ms | routed ms | ratio | added ms | directory + verify 3 backends ms | seal ms | forward + prove ms | open + verify bundle ms |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nmedian ratio routed/direct: ${med(ratios).toFixed(2)}`);
console.log(`router overhead alone (no proof, 10 runs, 3 backends): median ${med(bareMs).toFixed(1)} ms, min ${bareMs[0]!.toFixed(1)} ms, max ${bareMs.at(-1)!.toFixed(1)} ms`);
console.log(`load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

await proving.close();
await bare.close();
await pool.close();
