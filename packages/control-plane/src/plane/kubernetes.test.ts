/**
 * The Kubernetes adapter against a real kube-apiserver + etcd (built from the Go module
 * proxy into ~/.cache/veritee/bin, started here on loopback with token auth and RBAC): the
 * control plane's user may only get/update deployments/scale in `default`. A decision
 * scales the Deployment through /scale at once; a scale the RBAC denies is reported and
 * never retried; with the API server down the decision stays pending and is enacted after
 * it comes back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startKubernetes, type RunningKubernetes } from './engines.js';
import { KubernetesOrchestrator } from './kubernetes.js';
import { openEmbeddedLog } from './db.js';
import { parseTelemetryReport } from './report.js';
import { syntheticWindow, testPlane, type TestPlane } from './testing.js';
import { quantile } from './metrics.js';

let kube: RunningKubernetes;
let admin: k8s.KubeConfig;
let tp: TestPlane;

const kc = (server: string, token: string, caPem: string) => {
  const c = new k8s.KubeConfig();
  c.loadFromOptions({
    clusters: [{ name: 'c', server, caData: Buffer.from(caPem).toString('base64') }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return c;
};

const deployment = (name: string, namespace: string): k8s.V1Deployment => ({
  metadata: { name, namespace },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } },
  },
});

before(async () => {
  kube = await startKubernetes();
  admin = kc(kube.server, kube.tokens.admin, kube.caPem);
  const apps = admin.makeApiClient(k8s.AppsV1Api);
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core.createNamespace({ body: { metadata: { name: 'locked' } } });
  await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('web', 'default') });
  await apps.createNamespacedDeployment({ namespace: 'locked', body: deployment('web', 'locked') });
  // Only what the control plane uses: get/update of deployments/scale, in `default` only.
  await rbac.createNamespacedRole({ namespace: 'default', body: { metadata: { name: 'veritee-scaler' }, rules: [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'update'] }] } });
  await rbac.createNamespacedRoleBinding({
    namespace: 'default',
    body: { metadata: { name: 'veritee-scaler' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'veritee-scaler' }, subjects: [{ kind: 'User', name: kube.users.controlPlane, apiGroup: 'rbac.authorization.k8s.io' }] },
  });
  const orch = new KubernetesOrchestrator(kc(kube.server, kube.tokens.controlPlane, kube.caPem));
  tp = await testPlane(await openEmbeddedLog(), { plane: { orchestrators: { kubernetes: orch } } });
});

after(async () => {
  await tp?.close();
  await kube?.stop();
});

const replicasOf = async (namespace: string) => (await admin.makeApiClient(k8s.AppsV1Api).readNamespacedDeploymentScale({ name: 'web', namespace })).spec?.replicas;

let seq = 0;
const hot = (workload: string) => parseTelemetryReport({ version: 1, workload, node: 'n1', seq: ++seq, window: syntheticWindow({ memBp: 9200 }) });
const spec = (name: string, namespace: string) => ({ name, minReplicas: 1, maxReplicas: 10, target: { kind: 'kubernetes', namespace, deployment: 'web' }, rules: [{ metric: 'memory', scaleOutAbove: 8500 }], cooldown: { outMs: 0, inMs: 0 } });

test('a decision scales the Deployment through /scale at once (RBAC: deployments/scale get+update only)', async () => {
  await tp.cp.addWorkload(spec('web', 'default'));
  const lat: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await tp.cp.ingest(hot('web'));
    assert.equal(r.decision?.enact.state, 'enacted', r.decision?.enact.error);
    assert.equal(r.decision?.to, i + 2);
    lat.push(r.timings.enactMs!);
  }
  assert.equal(await replicasOf('default'), 6);
  process.stdout.write(`# kubernetes telemetry→decision→enacted: p50 ${quantile(lat, 0.5).toFixed(1)} ms, p99 ${quantile(lat, 0.99).toFixed(1)} ms (n=${lat.length})\n`);
  // The control plane's user can do nothing else, e.g. delete the Deployment.
  const own = kc(kube.server, kube.tokens.controlPlane, kube.caPem).makeApiClient(k8s.AppsV1Api);
  await assert.rejects(own.deleteNamespacedDeployment({ name: 'web', namespace: 'default' }), (e: unknown) => (e as { code?: number }).code === 403);
});

test('a scale the RBAC denies is reported (flagged, metrics) and never retried', async () => {
  await tp.cp.addWorkload(spec('locked-web', 'locked'));
  const d = (await tp.cp.ingest(hot('locked-web'))).decision!;
  assert.equal(d.enact.state, 'denied');
  assert.equal(d.flag, 'enact-denied');
  assert.match(d.enact.error!, /Kubernetes refused scaling deployment locked\/web \(403\)/);
  tp.clock.advance(3_600_000);
  await tp.cp.tick();
  const again = (await tp.log.decision(d.id))!;
  assert.equal(again.enact.state, 'denied');
  assert.equal(again.enact.attempts, 1, 'not retried');
  assert.equal(await replicasOf('locked'), 1);
  assert.match(await tp.cp.metricsText(), /veritee_cp_enact_failures_total\{reason="CP_ORCHESTRATOR_DENIED"\} 2/);
});

test('with the API server down, the decision stays pending and is enacted once it is back', async () => {
  await kube.stopApiServer();
  const d = (await tp.cp.ingest(hot('web'))).decision!;
  assert.equal(d.enact.state, 'pending');
  assert.match(d.enact.error!, /Kubernetes scaling deployment default\/web failed/);
  tp.clock.advance(1000);
  await tp.cp.tick();
  assert.equal((await tp.log.decision(d.id))!.enact.state, 'pending');
  await kube.startApiServer();
  tp.clock.advance(60_000);
  await tp.cp.tick();
  const e = (await tp.log.decision(d.id))!;
  assert.equal(e.enact.state, 'enacted', e.enact.error);
  assert.equal(e.enact.attempts, 3);
  assert.equal(await replicasOf('default'), 7);
});
