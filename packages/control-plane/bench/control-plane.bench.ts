/**
 * The control plane's speed, on this machine (loopback, real engines):
 *
 *   node --import tsx packages/control-plane/bench/control-plane.bench.ts [--decisions 50] [--proofs 6]
 *        [--sustained-seconds 120] [--workloads 100] [--workers 1] [--no-kubernetes] [--only-sustained]
 *
 * 1. telemetry → decision → enacted: ControlPlane.ingest of a parsed report (measure every
 *    rule with the claim's reference computation, record in the embedded log, enact), on the
 *    local process pool and on a real kube-apiserver (/scale). p50 / p99 ms.
 * 2. decision → verified bundle: the in-process queue proving with the real Go prover
 *    (memory claim, 16 samples × 8 processes, size class 512), the control plane verifying
 *    the bundle. p50 / p99 s, one decision at a time.
 * 3. sustained: `--workloads` workloads each evaluated once per minute (one report every
 *    60 s / workloads), every evaluation a decision (loads alternate, cool-downs 0), so every
 *    evaluation is a proof job: does one prover keep up, and what is the queue depth at the end?
 *    The run is `--sustained-seconds` long (default 2 minutes, not 10): the depth is reported
 *    together with the rate it grows at. `--workers N` proves with N prover processes in
 *    parallel (what `cp serve --workers N` runs); `--only-sustained` skips parts 1 and 2.
 */
import { cpus, loadavg } from 'node:os';
import { devSetup, ProverPool } from '@veritee/zk';
import { KeyRing } from '@veritee/zk/verify';
import { testHome } from '@veritee/zk/testing';
import { openEmbeddedLog, parseTelemetryReport, proverWorker, quantile, InProcessQueue, KubernetesOrchestrator, startKubernetes } from '../src/index.js';
import { syntheticWindow, testPlane } from '../src/plane/testing.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const DECISIONS = Number(arg('decisions', '50'));
const PROOFS = Number(arg('proofs', '6'));
const SUSTAINED_S = Number(arg('sustained-seconds', '120'));
const WORKLOADS = Number(arg('workloads', '100'));
const WORKERS = Number(arg('workers', '1'));
const ONLY_SUSTAINED = args.includes('--only-sustained');
const K8S = !args.includes('--no-kubernetes') && !ONLY_SUSTAINED;

let seq = 0;
const report = (workload: string, memBp: number) => parseTelemetryReport({ version: 1, workload, node: 'bench', seq: ++seq, window: syntheticWindow({ memBp }) });
const spec = (name: string, target: Record<string, unknown>, max = 1000) => ({ name, minReplicas: 1, maxReplicas: max, target, rules: [{ metric: 'memory', scaleOutAbove: 8500, scaleInBelow: 3000 }], cooldown: { outMs: 0, inMs: 0 } });
const ms = (xs: number[]) => `${quantile(xs, 0.5).toFixed(1)} | ${quantile(xs, 0.99).toFixed(1)}`;

console.log(`machine: ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
console.log('| measurement | n | p50 | p99 |');
console.log('|---|---|---|---|');

// 1a. local process pool
if (!ONLY_SUSTAINED) {
  const tp = await testPlane(await openEmbeddedLog(), { queue: new InProcessQueue(async () => new Promise(() => undefined)) });
  await tp.cp.addWorkload(spec('web', { kind: 'process', command: ['sleep', '600'] }, 3));
  const lat: number[] = [];
  for (let i = 0; i < DECISIONS; i++) {
    const r = await tp.cp.ingest(report('web', i % 2 === 0 ? 9200 : 2000));
    if (r.decision?.enact.state !== 'enacted') throw new Error('not enacted');
    lat.push(r.timings.enactMs!);
  }
  console.log(`| telemetry → decision → enacted, process pool (ms) | ${lat.length} | ${ms(lat)} |`);
  await tp.close();
}

// 1b. Kubernetes
if (K8S) {
  const kube = await startKubernetes();
  try {
    const { AppsV1Api, KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: kube.server, caData: Buffer.from(kube.caPem).toString('base64') }], users: [{ name: 'u', token: kube.tokens.admin }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'a', image: 'registry.invalid/a:1' }] } } } },
    });
    const orch = new KubernetesOrchestrator(kc);
    const tp = await testPlane(await openEmbeddedLog(), { queue: new InProcessQueue(async () => new Promise(() => undefined)), plane: { orchestrators: { kubernetes: orch } } });
    await tp.cp.addWorkload(spec('web', { kind: 'kubernetes', namespace: 'default', deployment: 'web' }, 3));
    const lat: number[] = [];
    for (let i = 0; i < DECISIONS; i++) {
      const r = await tp.cp.ingest(report('web', i % 2 === 0 ? 9200 : 2000));
      if (r.decision?.enact.state !== 'enacted') throw new Error(`not enacted: ${r.decision?.enact.error}`);
      lat.push(r.timings.enactMs!);
    }
    console.log(`| telemetry → decision → enacted, Kubernetes /scale (ms) | ${lat.length} | ${ms(lat)} |`);
    await tp.close();
  } finally {
    await kube.stop();
  }
}

// 2. decision → verified bundle
const prover = new ProverPool({ home: testHome(), size: WORKERS });
const keys = new KeyRing();
keys.add(await devSetup(prover, 'memory', 512));
if (!ONLY_SUSTAINED) {
  const q = new InProcessQueue(proverWorker(prover));
  const tp = await testPlane(await openEmbeddedLog(), { queue: q, keys, plane: { clock: Date.now } });
  await tp.cp.addWorkload(spec('web', { kind: 'process', command: ['sleep', '600'] }, 3));
  const lag: number[] = [];
  for (let i = 0; i < PROOFS; i++) {
    const d = (await tp.cp.ingest(report('web', i % 2 === 0 ? 9200 : 2000))).decision!;
    await q.drained();
    const v = (await tp.log.decision(d.id))!;
    if (v.proof.state !== 'verified') throw new Error(`proof ${v.proof.state}: ${v.proof.error}`);
    lag.push((v.proof.verifiedMs! - v.atMs) / 1000);
  }
  console.log(`| decision → verified bundle, memory claim 512 (s) | ${lag.length} | ${lag.length ? `${quantile(lag, 0.5).toFixed(2)} | ${quantile(lag, 0.99).toFixed(2)}` : '-'} |`);
  await tp.close();
}

// 3. sustained
{
  const q = new InProcessQueue(proverWorker(prover), { concurrency: WORKERS });
  const tp = await testPlane(await openEmbeddedLog(), { queue: q, keys, plane: { clock: Date.now } });
  for (let i = 0; i < WORKLOADS; i++) await tp.cp.addWorkload(spec(`w${i}`, { kind: 'process', command: ['true'] }, 2));
  const gapMs = 60_000 / WORKLOADS;
  const t0 = Date.now();
  let evaluations = 0;
  const depth: [number, number][] = [];
  while (Date.now() - t0 < SUSTAINED_S * 1000) {
    const i = evaluations % WORKLOADS;
    const round = Math.floor(evaluations / WORKLOADS);
    await tp.cp.ingest(report(`w${i}`, round % 2 === 0 ? 9200 : 2000));
    evaluations++;
    if (evaluations % WORKLOADS === 0) depth.push([(Date.now() - t0) / 1000, await q.depth()]);
    const next = t0 + evaluations * gapMs;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  const elapsed = (Date.now() - t0) / 1000;
  const finalDepth = await q.depth();
  const verified = tp.cp.metrics.get('veritee_cp_proofs_verified_total');
  console.log(`\nsustained (${WORKERS} proof worker${WORKERS > 1 ? 's' : ''}, load at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}): ${WORKLOADS} workloads evaluated once a minute for ${elapsed.toFixed(0)} s: ${evaluations} evaluations (every one a decision and a proof job), ${verified} proofs verified, queue depth at the end ${finalDepth}`);
  console.log(`queue depth after each round of ${WORKLOADS}: ${depth.map(([t, d]) => `${t.toFixed(0)} s: ${d}`).join(', ')}`);
  const rate = (verified / elapsed) * 60;
  console.log(`proving rate ${rate.toFixed(1)} proofs/min against ${WORKLOADS} jobs/min: ${rate >= WORKLOADS ? 'keeps up' : `does not keep up; extrapolated depth after 10 min ≈ ${Math.round((WORKLOADS - rate) * 10)}`}`);
  await q.close();
  await tp.close();
}
await prover.close();
