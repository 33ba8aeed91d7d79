/**
 * The node agent over the attested channel: the control plane behind the real attesting
 * proxy (TLS session bound to its evidence by exported keying material), real telemetry from
 * the collector, and the untrusted-control-plane mode — the agent enacts only commands
 * signed by the attested control plane, verifies each proof itself, and alarms and reverts
 * when one does not hold.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttestingProxy, type AttestingProxy } from '@veritee/proxy';
import { devSetup, ProverPool } from '@veritee/zk';
import { KeyRing } from '@veritee/zk/verify';
import { testHome } from '@veritee/zk/testing';
import type { FastifyInstance } from 'fastify';
import { ControlPlaneAgent } from './agent.js';
import { openEmbeddedLog } from './db.js';
import { buildControlPlaneServer } from './server.js';
import { devAgentPolicy, sharedTee, simulatedEnclave, syntheticWindow, testPlane, type TestPlane } from './testing.js';
import { InProcessQueue, proverWorker } from './queue.js';
import { ProcessPoolOrchestrator } from './orchestrator.js';
import { parseWorkloadSpec } from './workload.js';
import { signCommand } from './command.js';

let prover: ProverPool;
const keys = new KeyRing();
let tp: TestPlane;
let app: FastifyInstance;
let proxy: AttestingProxy;
let url: string;
const nodePool = new ProcessPoolOrchestrator({ graceMs: 2000 });

const web = { name: 'web', minReplicas: 1, maxReplicas: 4, target: { kind: 'process', command: ['sleep', '300'] }, rules: [{ metric: 'memory', scaleOutAbove: 8500 }], cooldown: { outMs: 0, inMs: 0 } };

before(async () => {
  prover = new ProverPool({ home: testHome(), size: 1 });
  keys.add(await devSetup(prover, 'memory', 512));
  keys.add(await devSetup(prover, 'cpu', 512));
  tp = await testPlane(await openEmbeddedLog(), { proveFn: proverWorker(prover), keys, plane: { enactBy: 'agent' } });
  await tp.cp.addWorkload(web);
  app = await buildControlPlaneServer(tp.cp);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  proxy = await createAttestingProxy({ host: 'localhost', upstream: `http://127.0.0.1:${port}`, enclave: tp.enclave, logger: false });
  url = `https://127.0.0.1:${(await proxy.listen(0, '127.0.0.1')).port}`;
});
after(async () => {
  await proxy?.close();
  await app?.close();
  await tp?.close();
  await nodePool.close();
  await prover?.close();
});

const agent = async (over: Partial<ConstructorParameters<typeof ControlPlaneAgent>[0]> = {}) =>
  new ControlPlaneAgent({
    agentId: 'node-1',
    controlPlaneUrl: url,
    policy: devAgentPolicy(),
    simulatedAnchors: (await sharedTee()).anchors,
    enclave: await simulatedEnclave(),
    mode: 'untrusted',
    orchestrator: nodePool,
    workloads: [parseWorkloadSpec(web)],
    keys,
    allowDevSetup: true,
    revert: true,
    clock: tp.clock.now,
    ...over,
  });

test('the agent attests both ways over the attesting proxy and sends real telemetry from the collector', async () => {
  const a = await agent();
  try {
    await a.attest();
    const r = await a.collectAndSend('web', { samples: 2, intervalMs: 50 });
    assert.equal(r.decision, null, 'this machine is not at 85 % memory');
    assert.match(r.note!, /no rule crossed/);
  } finally {
    await a.close();
  }
});

test('an agent refuses a control plane whose attestation fails its policy (nothing is sent)', async () => {
  const a = await agent({ policy: devAgentPolicy({ snp: { measurements: ['ab'.repeat(48)] } }) });
  try {
    await assert.rejects(a.attest(), /measurement/i);
  } finally {
    await a.close();
  }
});

test('untrusted mode: a signed command is enacted by the agent, its proof verified by the agent', async () => {
  const a = await agent();
  try {
    await a.attest();
    await nodePool.scale(parseWorkloadSpec(web), 1);
    const r = await a.send({ version: 1, workload: 'web', node: 'node-1', window: syntheticWindow({ memBp: 9200 }) });
    assert.equal(r.enacted?.replicas, 2);
    assert.equal(nodePool.pids('web').length, 2);
    const d = (await tp.log.decision(r.decision!.id))!;
    assert.equal(d.enact.state, 'enacted', 'the agent reported its enactment');
    await (tp.queue as InProcessQueue).drained();
    const c = await a.checkProofs();
    assert.deepEqual(c.verified, [d.id]);
    assert.deepEqual(a.alarms, []);
  } finally {
    await a.close();
  }
});

test('untrusted mode: a proof the control plane calls verified but that proves something else raises an alarm and reverts', async () => {
  const a = await agent();
  try {
    await a.attest();
    // The control plane's queue is switched to prove another statement (threshold 99 %),
    // and the (compromised) control plane marks that bundle verified anyway.
    const real = proverWorker(prover);
    const r = await a.send({ version: 1, workload: 'web', node: 'node-1', window: syntheticWindow({ memBp: 9200 }) });
    assert.equal(nodePool.pids('web').length, 3);
    const id = r.decision!.id;
    const job = { decisionId: id, kind: 'memory', params: { ...r.decision!.claim!.params, thresholdBp: 9900 }, data: undefined as unknown, expectScaleOut: false };
    await (tp.queue as InProcessQueue).drained();
    const other = await real({ ...job, data: (await import('../autoscaling/memory.js')).memoryClaimInput(syntheticWindow({ memBp: 9200 }), { thresholdBp: 9900 }).data });
    await tp.log.db.query(`UPDATE cp_decisions SET proof_state = 'verified', bundle = $2, flag = NULL WHERE id = $1`, [id, JSON.stringify(other)]);
    await tp.log.db.query(`UPDATE cp_decision_claims SET proof_state = 'verified', bundle = $2 WHERE decision_id = $1 AND idx = 0`, [id, JSON.stringify(other)]);
    const c = await a.checkProofs();
    assert.deepEqual(c.alarmed, [id]);
    assert.equal(a.alarms[0]!.reverted, true);
    assert.match(a.alarms[0]!.reason, /thresholdBp = 9900, the decision used 8500/);
    assert.equal(nodePool.pids('web').length, 2, 'reverted to the previous count');
  } finally {
    await a.close();
  }
});

test('untrusted mode: a two-claim scale-in is verified claim by claim; a second bundle that proves another claim raises an alarm naming it', async () => {
  const api = { name: 'api', minReplicas: 1, maxReplicas: 3, replicas: 3, target: { kind: 'process', command: ['sleep', '300'] }, rules: [{ metric: 'memory', scaleOutAbove: 8500, scaleInBelow: 3000 }, { metric: 'cpu', scaleOutAbove: 8000, scaleInBelow: 2000 }], cooldown: { outMs: 0, inMs: 0 } };
  await tp.cp.addWorkload(api);
  await nodePool.scale(parseWorkloadSpec(api), 3);
  const a = await agent({ workloads: [parseWorkloadSpec(web), parseWorkloadSpec(api)] });
  try {
    await a.attest();
    const low = { version: 1, workload: 'api', node: 'node-1', window: syntheticWindow({ memBp: 2000, cpuBp: 1000 }) };
    const r1 = await a.send(low);
    assert.equal(r1.enacted?.replicas, 2);
    assert.deepEqual(r1.enacted?.claims?.map((c) => [c.kind, c.expectScaleOut]), [['memory', false], ['cpu', false]], 'the signed command carries both claims');
    await (tp.queue as InProcessQueue).drained();
    assert.deepEqual((await a.checkProofs()).verified, [r1.decision!.id]);
    const r2 = await a.send(low);
    assert.equal(nodePool.pids('api').length, 1);
    await (tp.queue as InProcessQueue).drained();
    const id = r2.decision!.id;
    // The (compromised) control plane serves the memory bundle as the proof of the CPU claim.
    await tp.log.db.query(`UPDATE cp_decision_claims SET bundle = (SELECT bundle FROM cp_decision_claims WHERE decision_id = $1 AND idx = 0) WHERE decision_id = $1 AND idx = 1`, [id]);
    const c = await a.checkProofs();
    assert.deepEqual(c.alarmed, [id]);
    const alarm = a.alarms.find((x) => x.decisionId === id)!;
    assert.match(alarm.reason, /^claim 1 \(cpu\): the bundle proves a memory claim, the decision needs cpu$/);
    assert.equal(alarm.reverted, true);
    assert.equal(nodePool.pids('api').length, 2, 'reverted to the previous count');
  } finally {
    await a.close();
  }
});

test('untrusted mode: a forged or tampered command is refused and nothing is enacted', async () => {
  const a = await agent();
  try {
    await a.attest();
    const before = nodePool.pids('web').length;
    const d = (await tp.log.decisions({ limit: 1 }))[0]!;
    const tampered = { ...d.command, payload: d.command.payload.replace(/"replicas":\d+/, '"replicas":4') };
    await assert.rejects(a.enactCommand({ command: tampered, proof: d.proof }), (e: unknown) => (e as { code?: string }).code === 'CP_COMMAND_SIGNATURE_INVALID');
    const mallory = await simulatedEnclave();
    const forged = signCommand(mallory, { v: 1, decisionId: 'x', workload: 'web', from: 2, replicas: 4, atMs: 0, claim: null });
    await assert.rejects(a.enactCommand({ command: forged, proof: d.proof }), /not by the attested control plane/);
    assert.equal(nodePool.pids('web').length, before);
  } finally {
    await a.close();
  }
});
