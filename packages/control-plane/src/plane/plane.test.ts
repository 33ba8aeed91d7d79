/**
 * The control plane end to end on both decision-log backends (PGlite and a real PostgreSQL
 * 15 started for the test): decisions from telemetry enacted at once on the process pool,
 * proven in the background by the real Go prover and verified; evaluation windows,
 * cool-downs, bounds; failed, forged and late proofs flagged in the log, the API and the
 * metrics; an orchestrator that is down (pending, retried, never lost) or that refuses
 * (reported once, not retried); agents that are not attested, lapsed, forged or replayed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError, VeriteeError } from '@veritee/core';
import { devSetup, ProverPool } from '@veritee/zk';
import { KeyRing } from '@veritee/zk/verify';
import { testHome } from '@veritee/zk/testing';
import { logBackends, syntheticWindow, testPlane, simulatedEnclave, type SyntheticLoad, type TestPlane } from './testing.js';
import { parseTelemetryReport } from './report.js';
import { InProcessQueue, proverWorker, type ProveFn } from './queue.js';
import { buildControlPlaneServer } from './server.js';
import { telemetryMessage, verifyCommand } from './command.js';
import type { Orchestrator } from './orchestrator.js';
import type { WorkloadSpec } from './workload.js';

let prover: ProverPool;
const keys = new KeyRing();

before(async () => {
  prover = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(prover, 'memory', 512));
});
after(async () => {
  await prover.close();
});

const workload = (over: Record<string, unknown> = {}) => ({
  name: 'web',
  minReplicas: 1,
  maxReplicas: 4,
  target: { kind: 'process', command: ['sleep', '300'] },
  rules: [{ metric: 'memory', scaleOutAbove: 8500, scaleInBelow: 3000 }],
  cooldown: { outMs: 60_000, inMs: 60_000 },
  proofDeadlineMs: 120_000,
  ...over,
});

let seq = 0;
const report = (load: SyntheticLoad, over: Record<string, unknown> = {}) =>
  parseTelemetryReport({ version: 1, workload: 'web', node: 'n1', seq: ++seq, window: syntheticWindow(load), ...over });

/** An orchestrator that fails as told, then delegates. */
class Flaky implements Orchestrator {
  readonly kind = 'process' as const;
  calls = 0;
  constructor(
    private readonly inner: Orchestrator,
    public failWith: VeriteeError | undefined,
  ) {}
  async scale(w: WorkloadSpec, n: number): Promise<number> {
    this.calls++;
    if (this.failWith) throw this.failWith;
    return this.inner.scale(w, n);
  }
  current(w: WorkloadSpec) {
    return this.inner.current(w);
  }
  close() {
    return this.inner.close();
  }
}

for (const backend of logBackends()) {
  describe(`control plane on the ${backend.name} decision log`, () => {
    after(() => backend.close());
    let tp: TestPlane;
    const open = async (o: Parameters<typeof testPlane>[1] = {}) => (tp = await testPlane(await backend.open(), { keys, ...o }));
    const close = () => tp.close();

    test('telemetry → decision → enacted at once → proven in the background and verified', async () => {
      await open({ proveFn: proverWorker(prover) });
      try {
        await tp.cp.addWorkload(workload());
        assert.equal(tp.pool.pids('web').length, 1);
        const r = await tp.cp.ingest(report({ memBp: 9200 }));
        const d = r.decision!;
        assert.equal(d.direction, 'out');
        assert.equal(d.from, 1);
        assert.equal(d.to, 2);
        assert.match(d.reason, /^memory 9\d{3} bp > 8500 bp$/);
        assert.equal(d.enact.state, 'enacted', 'enacted before any proof exists');
        assert.equal(d.proof.state, 'queued');
        assert.equal(tp.pool.pids('web').length, 2);
        assert.ok(r.timings.enactMs! < 5000);
        // The signed command verifies with the control plane's key.
        assert.equal(verifyCommand(d.command, tp.enclave.spki).replicas, 2);
        await (tp.queue as InProcessQueue).drained();
        const v = (await tp.log.decision(d.id))!;
        assert.equal(v.proof.state, 'verified', v.proof.error);
        assert.equal(v.flag, undefined);
        const b = v.proof.bundle as { claim: { kind: string; params: { thresholdBp: number }; outputs: { scaleOut: boolean } } };
        assert.equal(b.claim.kind, 'memory');
        assert.equal(b.claim.params.thresholdBp, 8500);
        assert.equal(b.claim.outputs.scaleOut, true);
        const m = await tp.cp.metricsText();
        assert.match(m, /veritee_cp_decisions_total\{direction="out",metric="memory"\} 1/);
        assert.match(m, /veritee_cp_proofs_verified_total 1/);
        assert.match(m, /veritee_cp_decisions\{enact="enacted",flag="none",proof="verified"\} 1/);
        assert.match(m, /veritee_cp_proof_lag_ms_count 1/);
        assert.match(m, /veritee_cp_proof_queue_depth 0/);
        // The API serves the log.
        const app = await buildControlPlaneServer(tp.cp);
        const list = await app.inject({ method: 'GET', url: '/v1/decisions' });
        assert.equal(list.json().decisions[0].id, d.id);
        assert.equal((await app.inject({ method: 'GET', url: `/v1/decisions/${d.id}` })).json().decision.proof.state, 'verified');
        assert.equal((await app.inject({ method: 'GET', url: '/v1/decisions/nope' })).json().error.code, 'CP_DECISION_NOT_FOUND');
        assert.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /# TYPE veritee_cp_decisions_total counter/);
        await app.close();
      } finally {
        await close();
      }
    });

    test('cool-downs, evaluation windows and bounds hold decisions back; scale-in below the lower threshold', async () => {
      await open();
      try {
        await tp.cp.addWorkload(workload({ windowMs: 30_000, maxReplicas: 3, cooldown: { outMs: 120_000, inMs: 60_000 } }));
        const a = await tp.cp.ingest(report({ memBp: 9000 }));
        assert.equal(a.decision, undefined);
        assert.match(a.note!, /held 0 ms of the 30000 ms window/);
        tp.clock.advance(15_000);
        // A dip resets the window.
        assert.match((await tp.cp.ingest(report({ memBp: 5000 }))).note!, /no rule crossed/);
        tp.clock.advance(1000);
        assert.match((await tp.cp.ingest(report({ memBp: 9000 }))).note!, /held 0 ms/);
        tp.clock.advance(30_000);
        const b = await tp.cp.ingest(report({ memBp: 9000 }));
        assert.equal(b.decision?.to, 2);
        tp.clock.advance(30_000);
        assert.match((await tp.cp.ingest(report({ memBp: 9000 }))).note!, /held 0 ms/);
        tp.clock.advance(30_000);
        assert.match((await tp.cp.ingest(report({ memBp: 9000 }))).note!, /cool-down/);
        tp.clock.advance(60_000);
        assert.equal((await tp.cp.ingest(report({ memBp: 9000 }))).decision?.to, 3);
        tp.clock.advance(120_000);
        await tp.cp.ingest(report({ memBp: 9000 }));
        tp.clock.advance(31_000);
        assert.match((await tp.cp.ingest(report({ memBp: 9000 }))).note!, /already at maxReplicas \(3\)/);
        // Scale in: every report of the window at or below 30 %.
        await tp.cp.ingest(report({ memBp: 2000 }));
        tp.clock.advance(31_000);
        const c = await tp.cp.ingest(report({ memBp: 2000 }));
        assert.equal(c.decision?.direction, 'in');
        assert.equal(c.decision?.to, 2);
        assert.equal(c.decision?.claim?.expectScaleOut, false);
        assert.equal(c.decision?.claim?.params['thresholdBp'], 3000);
        assert.equal(tp.pool.pids('web').length, 2);
        const wl = await tp.log.workload('web');
        assert.equal(wl?.replicas, 2);
      } finally {
        await close();
      }
    });

    test('a proof that fails, proves something else, or misses its deadline is flagged in the log, the API and the metrics', async () => {
      // Worker 1 fails every attempt; worker 2 proves the same data with another threshold
      // (a real, valid proof of the wrong statement); worker 3 never answers.
      let mode: 'fail' | 'other' | 'hang' = 'fail';
      const real = proverWorker(prover);
      const proveFn: ProveFn = async (job) => {
        if (mode === 'fail') throw new VeriteeError('ZK_PROVER_UNAVAILABLE', 'prover crashed');
        if (mode === 'other') return real({ ...job, params: { ...job.params, thresholdBp: 9900 } });
        return new Promise(() => undefined);
      };
      await open({ proveFn });
      try {
        await tp.cp.addWorkload(workload({ cooldown: { outMs: 0, inMs: 0 } }));
        const q = tp.queue as InProcessQueue;
        const d1 = (await tp.cp.ingest(report({ memBp: 9200 }))).decision!;
        await q.drained();
        let v = (await tp.log.decision(d1.id))!;
        assert.equal(v.proof.state, 'failed');
        assert.equal(v.flag, 'proof-failed');
        assert.match(v.proof.error!, /ZK_PROVER_UNAVAILABLE: prover crashed/);
        assert.equal(v.enact.state, 'enacted', 'the decision was enacted regardless');

        mode = 'other';
        const d2 = (await tp.cp.ingest(report({ memBp: 9200 }))).decision!;
        await q.drained();
        v = (await tp.log.decision(d2.id))!;
        assert.equal(v.flag, 'proof-failed');
        assert.match(v.proof.error!, /CP_PROOF_INVALID: the bundle proves thresholdBp = 9900, the decision used 8500/);

        mode = 'hang';
        const d3 = (await tp.cp.ingest(report({ memBp: 9200 }))).decision!;
        tp.clock.advance(119_000);
        await tp.cp.tick();
        assert.equal((await tp.log.decision(d3.id))!.flag, undefined);
        tp.clock.advance(2000);
        await tp.cp.tick();
        v = (await tp.log.decision(d3.id))!;
        assert.equal(v.flag, 'proof-late');
        assert.equal(v.proof.state, 'queued');

        assert.deepEqual(
          tp.alarms.map((a) => a.flag),
          ['proof-failed', 'proof-failed', 'proof-late'],
        );
        const m = await tp.cp.metricsText();
        assert.match(m, /veritee_cp_decisions_flagged_total\{flag="proof-failed"\} 2/);
        assert.match(m, /veritee_cp_decisions_flagged_total\{flag="proof-late"\} 1/);
        assert.match(m, /veritee_cp_proof_failures_total 2/);
        assert.match(m, /veritee_cp_proof_queue_depth 1/);
        const app = await buildControlPlaneServer(tp.cp);
        const flagged = (await app.inject({ method: 'GET', url: '/v1/decisions' })).json().decisions.map((d: { flag?: string }) => d.flag);
        assert.deepEqual(flagged, ['proof-late', 'proof-failed', 'proof-failed']);
        await app.close();
      } finally {
        await close();
      }
    });

    test('an orchestrator that is down leaves the decision pending, retried with backoff until enacted, by any control plane on the log', async () => {
      await open();
      try {
        const flaky = new Flaky(tp.pool, undefined);
        (tp.cp.opts.orchestrators as Record<string, Orchestrator>).process = flaky;
        await tp.cp.addWorkload(workload());
        flaky.failWith = new VeriteeError('CP_ORCHESTRATOR_UNAVAILABLE', 'connection refused');
        const d = (await tp.cp.ingest(report({ memBp: 9200 }))).decision!;
        assert.equal(d.enact.state, 'pending');
        assert.equal(d.enact.attempts, 1);
        assert.equal(d.enact.nextAttemptMs, tp.clock.t + 1000);
        await tp.cp.tick();
        assert.equal(flaky.calls, 2, 'not retried before its backoff');
        tp.clock.advance(1000);
        await tp.cp.tick();
        assert.equal(flaky.calls, 3);
        const p = (await tp.log.decision(d.id))!;
        assert.equal(p.enact.state, 'pending');
        assert.equal(p.enact.nextAttemptMs, tp.clock.t + 2000, 'backoff doubles');
        // The orchestrator comes back; a second control plane on the same log finishes the job.
        flaky.failWith = undefined;
        tp.clock.advance(2000);
        const other = await testPlane(tp.log.db, { keys });
        (other.cp.opts.orchestrators as Record<string, Orchestrator>).process = flaky;
        other.clock.t = tp.clock.t;
        await other.cp.tick();
        const e = (await tp.log.decision(d.id))!;
        assert.equal(e.enact.state, 'enacted');
        assert.equal(e.enact.attempts, 3);
        assert.equal(tp.pool.pids('web').length, 2);
        await other.cp.close();
        await other.pool.close();
      } finally {
        await close();
      }
    });

    test('a refused scale is reported once and never retried', async () => {
      await open();
      try {
        const flaky = new Flaky(tp.pool, undefined);
        (tp.cp.opts.orchestrators as Record<string, Orchestrator>).process = flaky;
        await tp.cp.addWorkload(workload());
        flaky.failWith = new VeriteeError('CP_ORCHESTRATOR_DENIED', 'forbidden: cannot update deployments/scale');
        const d = (await tp.cp.ingest(report({ memBp: 9200 }))).decision!;
        assert.equal(d.enact.state, 'denied');
        assert.equal(d.flag, 'enact-denied');
        tp.clock.advance(3_600_000);
        await tp.cp.tick();
        await tp.cp.tick();
        assert.equal(flaky.calls, 2, 'registration + one attempt, no retries');
        assert.deepEqual(tp.alarms.map((a) => a.flag), ['enact-denied']);
        assert.match(await tp.cp.metricsText(), /veritee_cp_enact_failures_total\{reason="CP_ORCHESTRATOR_DENIED"\} 1/);
      } finally {
        await close();
      }
    });

    test('GPU rules without nvidia-smi take no decision; a GPU decision is flagged unprovable', async () => {
      await open();
      try {
        await tp.cp.addWorkload(workload({ rules: [{ metric: 'gpu', scaleOutAbove: 8000 }] }));
        const a = await tp.cp.ingest(report({}, { gpu: { available: false, reason: 'nvidia-smi not found', samples: [] } }));
        assert.equal(a.decision, undefined);
        assert.equal(a.measurements[0]!.unavailable, 'nvidia-smi not found');
        const b = await tp.cp.ingest(report({}, { gpu: { available: true, samples: [[{ utilBp: 9500, memUsedBytes: 1, memTotalBytes: 2 }]] } }));
        assert.equal(b.decision?.proof.state, 'unprovable');
        assert.equal(b.decision?.flag, 'unprovable');
        assert.match(await tp.cp.metricsText(), /veritee_cp_gpu_unavailable_total 1/);
      } finally {
        await close();
      }
    });

    test('workload registration over the API: admin token, validation, duplicates', async () => {
      await open();
      try {
        const app = await buildControlPlaneServer(tp.cp, { adminToken: 's3cret-admin' });
        const post = (body: unknown, token?: string) =>
          app.inject({ method: 'POST', url: '/v1/workloads', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, payload: JSON.stringify(body) });
        assert.equal((await post(workload())).json().error.code, 'CP_ADMIN_UNAUTHENTICATED');
        assert.equal((await post(workload(), 'wrong-token!')).statusCode, 401);
        assert.equal((await post(workload(), 's3cret-admin')).statusCode, 201);
        assert.equal((await post(workload(), 's3cret-admin')).json().error.code, 'CP_WORKLOAD_EXISTS');
        const bad = await post(workload({ name: 'api', rules: [{ metric: 'memory', scaleOutAbove: 8500, step: 9 }] }), 's3cret-admin');
        assert.equal(bad.statusCode, 400);
        assert.equal(bad.json().error.code, 'CP_WORKLOAD_INVALID');
        const dup = await app.inject({ method: 'POST', url: '/v1/workloads', headers: { authorization: 'Bearer s3cret-admin' }, payload: '{"name":"a","name":"b"}' });
        assert.equal(dup.json().error.code, 'INPUT_JSON_INVALID');
        const list = (await app.inject({ method: 'GET', url: '/v1/workloads' })).json().workloads;
        assert.deepEqual(list.map((w: { name: string; replicas: number }) => [w.name, w.replicas]), [['web', 1]]);
        await app.close();
      } finally {
        await close();
      }
    });

    test('telemetry is accepted only from an attested agent whose attestation has not lapsed, signed by its key, never replayed', async () => {
      await open({ plane: { agentAttestationTtlMs: 60_000 } });
      try {
        await tp.cp.addWorkload(workload());
        const app = await buildControlPlaneServer(tp.cp);
        const agent = await simulatedEnclave();
        const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
          app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
        const body = (s: number, load: SyntheticLoad = { memBp: 5000 }) => JSON.stringify({ version: 1, workload: 'web', node: 'n1', seq: s, window: syntheticWindow(load) });
        const signed = (b: string, id = 'node-1', key = agent) => ({ 'veritee-agent': id, 'veritee-agent-signature': key.sign(telemetryMessage(id, b)).toString('base64url') });
        const attest = async (enclave = agent, id = 'node-1', nonceOverride?: string) => {
          const { nonce } = (await post('/v1/agents/challenge', { agentId: id })).json();
          return post('/v1/agents/attest', { agentId: id, nonce: nonceOverride ?? nonce, spki: enclave.spkiBase64Url, evidence: await enclave.evidenceHeader(Buffer.from(nonce, 'hex')) });
        };

        const b1 = body(1);
        let r = await post('/v1/telemetry', b1, signed(b1));
        assert.equal(r.statusCode, 401);
        assert.equal(r.json().error.code, 'CP_AGENT_UNATTESTED');

        // Evidence from a debug-mode TEE fails the policy.
        const debugAgent = await simulatedEnclave({ debug: true });
        r = await attest(debugAgent);
        assert.equal(r.json().error.code, 'CP_AGENT_ATTESTATION_FAILED');
        assert.match(r.json().error.message, /debug/i);
        // Evidence that binds another key than the one presented.
        const { nonce } = (await post('/v1/agents/challenge', { agentId: 'node-1' })).json();
        r = await post('/v1/agents/attest', { agentId: 'node-1', nonce, spki: (await simulatedEnclave()).spkiBase64Url, evidence: await agent.evidenceHeader(Buffer.from(nonce, 'hex')) });
        assert.equal(r.json().error.code, 'CP_AGENT_ATTESTATION_FAILED');
        // A nonce is single use.
        r = await post('/v1/agents/attest', { agentId: 'node-1', nonce, spki: agent.spkiBase64Url, evidence: await agent.evidenceHeader(Buffer.from(nonce, 'hex')) });
        assert.match(r.json().error.message, /nonce was not issued to it, was used, or expired/);

        r = await attest();
        assert.equal(r.statusCode, 200, r.body);
        r = await post('/v1/telemetry', b1, signed(b1));
        assert.equal(r.statusCode, 200, r.body);
        assert.match(r.json().note, /no rule crossed/);
        // Replay of the same report, a forged signature, another agent's key.
        r = await post('/v1/telemetry', b1, signed(b1));
        assert.equal(r.json().error.code, 'CP_AGENT_SIGNATURE_INVALID');
        const b2 = body(2, { memBp: 9200 });
        r = await post('/v1/telemetry', b2, signed(b2, 'node-1', await simulatedEnclave()));
        assert.equal(r.json().error.code, 'CP_AGENT_SIGNATURE_INVALID');
        r = await post('/v1/telemetry', b2, { 'veritee-agent': 'node-1', 'veritee-agent-signature': signed(b1)['veritee-agent-signature'] });
        assert.equal(r.json().error.code, 'CP_AGENT_SIGNATURE_INVALID');
        // Malformed telemetry from an attested agent: refused with a code.
        const bad = JSON.stringify({ version: 1, workload: 'web', node: 'n1', seq: 5, window: { version: 1 } });
        r = await post('/v1/telemetry', bad, signed(bad));
        assert.equal(r.statusCode, 400);
        assert.equal(r.json().error.code, 'CP_TELEMETRY_INVALID');
        r = await post('/v1/telemetry', b2, signed(b2));
        assert.equal(r.json().decision.to, 2);
        // Lapsed attestation.
        tp.clock.advance(61_000);
        const b3 = body(3);
        r = await post('/v1/telemetry', b3, signed(b3));
        assert.equal(r.json().error.code, 'CP_AGENT_ATTESTATION_LAPSED');
        assert.equal((await attest()).statusCode, 200);
        assert.equal((await post('/v1/telemetry', b3, signed(b3))).statusCode, 200);

        const m = await tp.cp.metricsText();
        assert.match(m, /veritee_cp_telemetry_refused_total\{code="CP_AGENT_UNATTESTED"\} 1/);
        assert.match(m, /veritee_cp_telemetry_refused_total\{code="CP_AGENT_ATTESTATION_LAPSED"\} 1/);
        assert.match(m, /veritee_cp_telemetry_refused_total\{code="CP_AGENT_SIGNATURE_INVALID"\} 3/);
        assert.match(m, /veritee_cp_telemetry_refused_total\{code="CP_TELEMETRY_INVALID"\} 1/);
        assert.match(m, /veritee_cp_agent_refusals_total\{code="CP_AGENT_ATTESTATION_FAILED"\} 3/);
        await app.close();
      } finally {
        await close();
      }
    });
  });
}

test('errors from the plane carry their codes', () => {
  assert.ok(isVeriteeError(new VeriteeError('CP_PROOF_INVALID', 'x'), 'CP_PROOF_INVALID'));
});
