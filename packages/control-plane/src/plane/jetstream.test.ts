/**
 * Proof jobs on a real NATS JetStream server (started here, loopback, temp dir): a worker
 * killed mid-proof has its job redelivered and finished by another worker (real prover);
 * a re-submitted job is dropped (decision id = message id) and a duplicate result changes
 * nothing; a job that keeps failing is retried with backoff, then dead-lettered and the
 * decision flagged.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VeriteeError } from '@veritee/core';
import { devSetup, ProverPool } from '@veritee/zk';
import { KeyRing } from '@veritee/zk/verify';
import { testHome } from '@veritee/zk/testing';
import { startNats, type RunningEngine } from './engines.js';
import { JetStreamQueue, runJetStreamWorker } from './jetstream.js';
import { proverWorker } from './queue.js';
import { openEmbeddedLog } from './db.js';
import { parseTelemetryReport } from './report.js';
import { syntheticWindow, testPlane, type TestPlane } from './testing.js';

let nats: RunningEngine;
let prover: ProverPool;
const keys = new KeyRing();
let tp: TestPlane;
let queue: JetStreamQueue;
const retry = { maxAttempts: 3, baseMs: 300, maxMs: 1000 };
const ACK_WAIT = 1500;

before(async () => {
  nats = await startNats();
  prover = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(prover, 'memory', 512));
  keys.add(await devSetup(prover, 'cpu', 512));
  queue = await JetStreamQueue.connect({ servers: nats.url, ackWaitMs: ACK_WAIT, retry });
  tp = await testPlane(await openEmbeddedLog(), { queue, keys });
  await tp.cp.addWorkload({ name: 'web', minReplicas: 1, maxReplicas: 9, target: { kind: 'process', command: ['sleep', '300'] }, rules: [{ metric: 'memory', scaleOutAbove: 8500 }], cooldown: { outMs: 0, inMs: 0 } });
});
after(async () => {
  await tp?.close();
  await prover?.close();
  await nats?.stop();
});

let seq = 0;
const decide = async () => (await tp.cp.ingest(parseTelemetryReport({ version: 1, workload: 'web', node: 'n1', seq: ++seq, window: syntheticWindow({ memBp: 9200 }) }))).decision!;

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const indexJs = fileURLToPath(new URL('../index.js', import.meta.url));

test('a worker killed mid-proof: the job is redelivered and finished by another worker, then verified', async () => {
  // Worker A runs in its own process and never finishes: it reports the job, then is killed.
  const a = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(indexJs)});
       await m.runJetStreamWorker({ servers: ${JSON.stringify(nats.url)}, name: 'A', ackWaitMs: ${ACK_WAIT}, retry: ${JSON.stringify(retry)},
         onJob: (j, n) => process.stdout.write('JOB ' + j.decisionId + ' ' + n + '\\n'), prove: () => new Promise(() => {}) });
       process.stdout.write('READY\\n');`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  a.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await until('worker A', async () => (out.includes('READY') ? true : undefined));
  const d = await decide();
  assert.equal(d.enact.state, 'enacted');
  await until('worker A to take the job', async () => (out.includes(`JOB ${d.id} 1`) ? true : undefined));
  a.kill('SIGKILL');
  assert.equal(await queue.depth(), 1, 'the job stays in the work queue while unacked');

  const deliveries: number[] = [];
  const b = await runJetStreamWorker({ servers: nats.url, name: 'B', ackWaitMs: ACK_WAIT, retry, prove: proverWorker(prover), onJob: (_j, n) => deliveries.push(n) });
  try {
    const v = await until('the proof', async () => {
      const x = await tp.log.decision(d.id);
      return x?.proof.state === 'verified' ? x : undefined;
    });
    assert.equal(v.flag, undefined);
    assert.deepEqual(deliveries, [2], 'redelivered once, to B');
    assert.deepEqual(b.done, [d.id]);
    await until('an empty queue', async () => ((await queue.depth()) === 0 ? true : undefined));

    // Idempotent: the same job again is dropped by JetStream (decision id = message id)…
    await queue.submit({ decisionId: d.id, kind: 'memory', params: {}, data: {}, expectScaleOut: true });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await queue.depth(), 0);
    assert.deepEqual(deliveries, [2]);
    // …and a second result for a verified decision changes nothing.
    const before = (await tp.log.decision(d.id))!;
    await tp.cp.handleResult({ decisionId: d.id, ok: false, error: 'late duplicate failure' });
    assert.deepEqual(await tp.log.decision(d.id), before);
  } finally {
    await b.close();
  }
});

test('a job that keeps failing is retried with backoff, then dead-lettered and its decision flagged', async () => {
  const times: number[] = [];
  const c = await runJetStreamWorker({
    servers: nats.url,
    name: 'C',
    ackWaitMs: ACK_WAIT,
    retry,
    prove: async () => {
      times.push(Date.now());
      throw new VeriteeError('ZK_PROVER_UNAVAILABLE', 'prover out of memory');
    },
  });
  try {
    const d = await decide();
    const v = await until('the flag', async () => {
      const x = await tp.log.decision(d.id);
      return x?.flag ? x : undefined;
    });
    assert.equal(v.flag, 'proof-failed');
    assert.match(v.proof.error!, /ZK_PROVER_UNAVAILABLE: prover out of memory/);
    assert.equal(times.length, 3, 'three deliveries');
    assert.ok(times[1]! - times[0]! >= 250 && times[2]! - times[1]! >= 250, `backoff between attempts: ${times.map((t) => t - times[0]!).join(', ')}`);
    const dead = await queue.deadLetters();
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.decisionId, d.id);
    assert.equal((dead[0] as unknown as { deliveries: number }).deliveries, 3);
    assert.equal((dead[0] as unknown as { job: { data?: unknown } }).job.data, undefined, 'no private telemetry in the dead-letter stream');
    assert.match(await tp.cp.metricsText(), /veritee_cp_decisions_flagged_total\{flag="proof-failed"\} 1/);
  } finally {
    await c.close();
  }
});

test('a two-claim scale-in is two jobs (keys id and id.1), each proven and verified; a re-submitted second claim is dropped', async () => {
  await tp.cp.addWorkload({
    name: 'multi',
    minReplicas: 1,
    maxReplicas: 3,
    replicas: 3,
    target: { kind: 'process', command: ['sleep', '300'] },
    rules: [
      { metric: 'memory', scaleOutAbove: 8500, scaleInBelow: 3000 },
      { metric: 'cpu', scaleOutAbove: 8000, scaleInBelow: 2000 },
    ],
    cooldown: { outMs: 0, inMs: 0 },
  });
  const d = (await tp.cp.ingest(parseTelemetryReport({ version: 1, workload: 'multi', node: 'n1', seq: ++seq, window: syntheticWindow({ memBp: 2000, cpuBp: 1000 }) }))).decision!;
  assert.deepEqual(d.claims.map((c) => c.kind), ['memory', 'cpu']);
  assert.equal(await queue.depth(), 2, 'one job per claim, neither taken for a duplicate of the other');
  const w = await runJetStreamWorker({ servers: nats.url, name: 'M', ackWaitMs: ACK_WAIT, retry, prove: proverWorker(prover) });
  try {
    const v = await until('both proofs', async () => {
      const x = await tp.log.decision(d.id);
      return x?.proof.state === 'verified' ? x : undefined;
    });
    assert.deepEqual(v.claims.map((c) => c.proof.state), ['verified', 'verified']);
    assert.deepEqual([...w.done].sort(), [d.id, `${d.id}.1`].sort());
    await queue.submit({ decisionId: d.id, claimIndex: 1, kind: 'cpu', params: {}, data: {}, expectScaleOut: false });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await queue.depth(), 0, 'the same claim again is dropped (message id = job key)');
  } finally {
    await w.close();
  }
});

test('an unreachable NATS server is CP_QUEUE_UNAVAILABLE', async () => {
  await assert.rejects(JetStreamQueue.connect({ servers: 'nats://127.0.0.1:1' }), (e: unknown) => (e as VeriteeError).code === 'CP_QUEUE_UNAVAILABLE');
});
