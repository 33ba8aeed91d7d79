/**
 * Every decision lists every claim it rests on, and each is proven by the real Go prover:
 * a scale-out on the one rule that crossed, a scale-in on EVERY rule (memory, CPU, disk and
 * request volume each at or below its lower threshold), each claim with its own proof job,
 * bundle and state, on both decision-log backends. A wrong proof of one claim flags the
 * decision naming that claim; a GPU part leaves the decision unprovable; a decision recorded
 * in the single-claim format still reads and verifies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { devSetup, ProverPool } from '@veritee/zk';
import { KeyRing } from '@veritee/zk/verify';
import { testHome } from '@veritee/zk/testing';
import { logBackends, syntheticWindow, testPlane, type SyntheticLoad, type TestPlane } from './testing.js';
import { parseTelemetryReport } from './report.js';
import { InProcessQueue, jobKey, proverWorker, type ProofJob, type ProveFn } from './queue.js';
import { buildControlPlaneServer } from './server.js';
import { verifyCommand } from './command.js';

let prover: ProverPool;
const keys = new KeyRing();

before(async () => {
  prover = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(prover, 'memory', 512));
  keys.add(await devSetup(prover, 'cpu', 512));
  keys.add(await devSetup(prover, 'disk', 128));
  keys.add(await devSetup(prover, 'volume', 1024));
});
after(async () => {
  await prover.close();
});

const START_US = 1_795_000_000_000_000;
const rules = [
  { metric: 'memory', scaleOutAbove: 8500, scaleInBelow: 3000 },
  { metric: 'cpu', scaleOutAbove: 8000, scaleInBelow: 2000 },
  { metric: 'disk', scaleOutAbove: 9000, scaleInBelow: 4000 },
  { metric: 'volume', scaleOutAbove: 600, scaleInBelow: 60 },
];
const workload = (over: Record<string, unknown> = {}) => ({
  name: 'web',
  minReplicas: 1,
  maxReplicas: 4,
  replicas: 3,
  target: { kind: 'process', command: ['sleep', '300'] },
  rules,
  cooldown: { outMs: 0, inMs: 0 },
  proofDeadlineMs: 600_000,
  ...over,
});

let seq = 0;
/** A 16 s window with the given loads, and `n` requests spread over it. */
const report = (load: SyntheticLoad, n: number, over: Record<string, unknown> = {}) =>
  parseTelemetryReport({
    version: 1,
    workload: 'web',
    node: 'n1',
    seq: ++seq,
    window: syntheticWindow({ startUs: START_US, ...load }),
    requests: { periodStartUs: START_US, periodEndUs: START_US + 16_000_000, arrivalsUs: Array.from({ length: n }, (_, i) => i * Math.floor(16_000_000 / Math.max(n, 1))) },
    ...over,
  });

const LOW: SyntheticLoad = { memBp: 2000, cpuBp: 1000, diskBp: 3000 };

for (const backend of logBackends()) {
  describe(`claims of decisions on the ${backend.name} decision log`, () => {
    after(() => backend.close());
    let tp: TestPlane;
    const open = async (o: Parameters<typeof testPlane>[1] = {}) => (tp = await testPlane(await backend.open(), { keys, ...o }));

    test('a scale-in rests on every rule: four claims (memory, CPU, disk, volume), each proven showing no scale-out, all verified', async () => {
      const jobs: ProofJob[] = [];
      const real = proverWorker(prover);
      await open({ proveFn: async (job) => (jobs.push(job), real(job)) });
      try {
        await tp.cp.addWorkload(workload());
        const r = await tp.cp.ingest(report(LOW, 10)); // 10 requests in 16 s: 37 per minute
        const d = r.decision!;
        assert.equal(d.direction, 'in');
        assert.equal(d.to, 2);
        assert.deepEqual(
          d.claims.map((c) => [c.index, c.metric, c.kind, c.expectScaleOut, c.threshold, c.proof.state]),
          [
            [0, 'memory', 'memory', false, 3000, 'queued'],
            [1, 'cpu', 'cpu', false, 2000, 'queued'],
            [2, 'disk', 'disk', false, 4000, 'queued'],
            [3, 'volume', 'volume', false, 60, 'queued'],
          ],
        );
        assert.equal(d.claims[3]!.value, 37);
        assert.match(d.reason, /^memory \d+ bp <= 3000 bp and cpu \d+ bp <= 2000 bp and disk \d+ bp <= 4000 bp and volume 37 requests\/min <= 60 requests\/min$/);
        // The single-claim fields still name the first claim.
        assert.deepEqual(d.claim, { kind: 'memory', params: d.claims[0]!.params, expectScaleOut: false });
        // The signed command carries every claim.
        const cmd = verifyCommand(d.command, tp.enclave.spki);
        assert.deepEqual(cmd.claims?.map((c) => c.kind), ['memory', 'cpu', 'disk', 'volume']);
        await (tp.queue as InProcessQueue).drained();
        assert.deepEqual(jobs.map(jobKey).sort(), [d.id, `${d.id}.1`, `${d.id}.2`, `${d.id}.3`].sort(), 'one job per claim');
        const v = (await tp.log.decision(d.id))!;
        assert.equal(v.proof.state, 'verified', v.proof.error);
        assert.equal(v.flag, undefined);
        for (const c of v.claims) {
          assert.equal(c.proof.state, 'verified', `${c.kind}: ${c.proof.error}`);
          const b = c.proof.bundle as { claim: { kind: string; params: Record<string, unknown>; outputs: { scaleOut: boolean } } };
          assert.equal(b.claim.kind, c.kind);
          assert.equal(b.claim.outputs.scaleOut, false, `${c.kind} proves no scale-out`);
          assert.deepEqual(b.claim.params, c.params);
        }
        assert.deepEqual(v.proof.bundle, v.claims[0]!.proof.bundle, 'proof.bundle is the first claim\'s');
        const vb = v.claims[3]!.proof.bundle as { claim: { params: { thresholdPerMin: number }; outputs: { n: number } } };
        assert.equal(vb.claim.params.thresholdPerMin, 60);
        assert.equal(vb.claim.outputs.n, 10);
        const m = await tp.cp.metricsText();
        assert.match(m, /veritee_cp_proofs_verified_total 1/);
        assert.match(m, /veritee_cp_claim_proofs_verified_total\{kind="volume"\} 1/);
        // A result delivered again for a verified claim changes nothing.
        await tp.cp.handleResult({ decisionId: d.id, claimIndex: 2, ok: false, error: 'late failure' });
        assert.equal((await tp.log.decision(d.id))!.claims[2]!.proof.state, 'verified');
        // The API lists the claims with their proofs.
        const app = await buildControlPlaneServer(tp.cp);
        const api = (await app.inject({ method: 'GET', url: '/v1/decisions?workload=web' })).json().decisions[0];
        assert.deepEqual(api.claims.map((c: { kind: string; proof: { state: string } }) => `${c.kind}:${c.proof.state}`), ['memory:verified', 'cpu:verified', 'disk:verified', 'volume:verified']);
        await app.close();
      } finally {
        await tp.close();
      }
    });

    test('a scale-out rests on the one rule that crossed, a scale-in on every rule, each proven', async () => {
      await open({ proveFn: proverWorker(prover) });
      try {
        await tp.cp.addWorkload(workload({ rules: [rules[1], rules[3]], replicas: 2 }));
        const out = (await tp.cp.ingest(report({ cpuBp: 9000 }, 400))).decision!; // CPU 90 % and 1500 requests/min: both above
        assert.equal(out.direction, 'out');
        assert.deepEqual(out.claims.map((c) => [c.kind, c.expectScaleOut]), [['cpu', true]], 'the first rule that crossed, alone');
        assert.equal(out.metric, 'cpu');
        const inn = (await tp.cp.ingest(report({ cpuBp: 1000 }, 5))).decision!;
        assert.equal(inn.direction, 'in');
        assert.deepEqual(inn.claims.map((c) => [c.kind, c.expectScaleOut]), [['cpu', false], ['volume', false]]);
        await (tp.queue as InProcessQueue).drained();
        for (const id of [out.id, inn.id]) assert.equal((await tp.log.decision(id))!.proof.state, 'verified');
      } finally {
        await tp.close();
      }
    });

    test('a wrong proof of one claim flags the decision naming that claim, the others stay verified', async () => {
      const real = proverWorker(prover);
      // The disk job is proven with another threshold: a real, valid proof of the wrong statement.
      const proveFn: ProveFn = async (job) => (job.kind === 'disk' ? real({ ...job, params: { ...job.params, usageThresholdBp: 9999 } }) : real(job));
      await open({ proveFn });
      try {
        await tp.cp.addWorkload(workload());
        const d = (await tp.cp.ingest(report(LOW, 10))).decision!;
        await (tp.queue as InProcessQueue).drained();
        const v = (await tp.log.decision(d.id))!;
        assert.equal(v.proof.state, 'failed');
        assert.equal(v.flag, 'proof-failed');
        assert.match(v.proof.error!, /^claim 2 \(disk\): CP_PROOF_INVALID: the bundle proves usageThresholdBp = 9999, the decision used 4000/);
        assert.deepEqual(v.claims.map((c) => c.proof.state), ['verified', 'verified', 'failed', 'verified']);
        assert.deepEqual(tp.alarms.map((a) => a.flag), ['proof-failed']);
      } finally {
        await tp.close();
      }
    });

    test('a scale-in resting on a GPU rule is unprovable and says which part; the other claims are still proven', async () => {
      await open({ proveFn: proverWorker(prover) });
      try {
        await tp.cp.addWorkload(workload({ rules: [rules[0], { metric: 'gpu', scaleOutAbove: 9000, scaleInBelow: 2000 }] }));
        const gpu = { available: true, samples: [[{ utilBp: 500, memUsedBytes: 1, memTotalBytes: 2 }]] };
        const d = (await tp.cp.ingest(report(LOW, 0, { gpu }))).decision!;
        assert.equal(d.direction, 'in');
        assert.equal(d.proof.state, 'unprovable');
        assert.equal(d.flag, 'unprovable');
        assert.equal(d.proof.error, 'no claim proves gpu decisions');
        assert.deepEqual(d.claims.map((c) => c.kind), ['memory']);
        await (tp.queue as InProcessQueue).drained();
        const v = (await tp.log.decision(d.id))!;
        assert.equal(v.claims[0]!.proof.state, 'verified');
        assert.equal(v.proof.state, 'unprovable', 'a verified part does not make the whole decision proven');
        assert.equal(v.flag, 'unprovable');
      } finally {
        await tp.close();
      }
    });

    test('two claims verified at the same moment (two workers) leave the decision verified: the decision row is locked', async () => {
      await open();
      try {
        await tp.cp.addWorkload(workload());
        const claims = [0, 1].map((index) => ({ index, metric: 'memory' as const, kind: 'memory', params: { i: index }, expectScaleOut: false, value: 1, threshold: 2, proof: { state: 'queued' as const } }));
        for (let round = 0; round < 5; round++) {
          const id = `race-${round}`;
          const rec = await tp.log.recordDecision({
            id,
            workload: 'web',
            atMs: tp.clock.t,
            metric: 'memory',
            direction: round % 2 === 0 ? 'in' : 'out',
            from: round % 2 === 0 ? 3 : 2,
            to: round % 2 === 0 ? 2 : 3,
            reason: 'race',
            claim: { kind: 'memory', params: { i: 0 }, expectScaleOut: false },
            claims,
            enact: { state: 'enacted', attempts: 1 },
            proof: { state: 'queued', deadlineMs: tp.clock.t + 60_000 },
            command: { payload: '{}', signature: '', keyId: '' },
          });
          assert.ok(rec);
          const [a, b] = await Promise.all([tp.log.setClaimVerified(id, 0, { b: 0 }, tp.clock.t), tp.log.setClaimVerified(id, 1, { b: 1 }, tp.clock.t)]);
          assert.ok(a.changed && b.changed);
          assert.deepEqual([a.decision, b.decision].sort(), ['queued', 'verified'], 'exactly one of them completes the decision');
          const v = (await tp.log.decision(id))!;
          assert.equal(v.proof.state, 'verified');
          assert.deepEqual(v.proof.bundle, { b: 0 });
        }
      } finally {
        await tp.close();
      }
    });

    test('a decision recorded in the single-claim format reads with its one claim and takes its result', async () => {
      await open();
      try {
        await tp.cp.addWorkload(workload());
        const claim = { kind: 'memory', params: { thresholdBp: 3000 }, expectScaleOut: false };
        const rec = await tp.log.recordDecision({
          id: 'legacy-1',
          workload: 'web',
          atMs: tp.clock.t,
          metric: 'memory',
          direction: 'in',
          from: 3,
          to: 2,
          reason: 'memory 2000 bp <= 3000 bp',
          claim,
          claims: [],
          enact: { state: 'enacted', attempts: 1 },
          proof: { state: 'queued', deadlineMs: tp.clock.t + 60_000 },
          command: { payload: '{}', signature: '', keyId: '' },
        });
        assert.ok(rec);
        const d = (await tp.log.decision('legacy-1'))!;
        assert.deepEqual(d.claims.map((c) => [c.index, c.kind, c.proof.state]), [[0, 'memory', 'queued']]);
        assert.equal((await tp.log.setClaimVerified('legacy-1', 1, { x: 1 }, tp.clock.t)).changed, false, 'no second claim');
        const u = await tp.log.setClaimVerified('legacy-1', 0, { x: 1 }, tp.clock.t);
        assert.deepEqual(u, { changed: true, decision: 'verified' });
        const v = (await tp.log.decision('legacy-1'))!;
        assert.equal(v.proof.state, 'verified');
        assert.deepEqual(v.claims[0]!.proof.bundle, { x: 1 });
        assert.equal((await tp.log.setClaimFailed('legacy-1', 0, 'late')).changed, false, 'a verified proof is never overwritten');
      } finally {
        await tp.close();
      }
    });
  });
}

test('two proof workers prove two claims at once (cp serve --workers 2): a 4-claim decision, at most 2 in flight, all verified', async () => {
  const pool2 = new ProverPool({ home: testHome(), size: 2 });
  const real = proverWorker(pool2);
  let inFlight = 0;
  let most = 0;
  const proveFn: ProveFn = async (job) => {
    most = Math.max(most, ++inFlight);
    try {
      return await real(job);
    } finally {
      inFlight--;
    }
  };
  const [embedded] = logBackends();
  const tp = await testPlane(await embedded!.open(), { keys, queue: new InProcessQueue(proveFn, { concurrency: 2 }) });
  try {
    await tp.cp.addWorkload(workload());
    const d = (await tp.cp.ingest(report(LOW, 10))).decision!;
    assert.equal(d.claims.length, 4);
    await (tp.queue as InProcessQueue).drained();
    assert.equal(most, 2, 'two proofs ran at the same time, never more');
    const v = (await tp.log.decision(d.id))!;
    assert.equal(v.proof.state, 'verified', v.proof.error);
  } finally {
    await tp.close();
    await pool2.close();
  }
});
