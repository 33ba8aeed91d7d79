/**
 * The agents' channel over mTLS with workload certificates from a real KMS (its CA, its
 * attestation of each workload, its certificate status): the agent attests, sends telemetry
 * and gets a decision whose command is signed with the control plane's certificate key. An
 * agent whose certificate the same CA issued to another workload is refused by the control
 * plane; a control plane whose certificate shows another measurement is refused by the agent
 * before anything is sent; a control plane signing with a key other than its certificate's is
 * refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { parsePolicy, SimulatedTee } from '@veritee/attestation';
import { fromHex, isVeriteeError } from '@veritee/core';
import { buildKmsServer, Kms, KmsClient, openEmbedded, rootKeyBytes, simulatedEvidenceProvider, type SqlDb, type PeerCheck } from '@veritee/kms';
import { ControlPlaneAgent } from './agent.js';
import { verifyCommand } from './command.js';
import { openEmbeddedLog } from './db.js';
import { listenAgentsMtls, pemSigner, type MtlsIdentity } from './mtls.js';
import { buildControlPlaneServer } from './server.js';
import { devAgentPolicy, sharedTee, simulatedEnclave, syntheticWindow, testPlane, type TestPlane } from './testing.js';

const TENANT = 'fleet';
const M_CP = 'c0'.repeat(48);
const M_AGENT = 'a9'.repeat(48);
const M_OTHER = '0b'.repeat(48);

let db: SqlDb;
let kmsApp: FastifyInstance;
let kmsUrl: string;
let tee: SimulatedTee;
const certs: Record<string, { certPem: string; keyPem: string; caPem: string; serial: string; kms: KmsClient }> = {};
let tp: TestPlane;
let app: FastifyInstance;
let cpUrl: string;
let closeMtls: () => Promise<void>;
const refused: string[] = [];

async function issue(workload: string, measurement: string) {
  const kms = new KmsClient({ url: kmsUrl, evidence: simulatedEvidenceProvider(tee, 'snp', { measurement: fromHex(measurement) }) });
  const c = await kms.getCertificate(TENANT, workload);
  return { ...c, kms };
}

const expectOf = (workload: string, measurement: string, kms: KmsClient): PeerCheck => ({
  caPem: certs['cp']!.caPem,
  expect: { tenant: TENANT, workload, measurements: [measurement], allowSimulated: true },
  status: (serial) => kms.certificateStatus(serial),
});

before(async () => {
  db = await openEmbedded();
  const now = Date.now(); // real time: TLS checks certificate validity against the wall clock
  tee = await SimulatedTee.create({ at: now, platforms: ['snp'] });
  const kms = await Kms.open({
    db,
    rootKey: rootKeyBytes(new Uint8Array(randomBytes(32))),
    attestationPolicy: parsePolicy({ name: 'kms-dev', platforms: ['snp'], allowSimulated: true, reportData: { require: ['nonce'] }, snp: { measurements: 'any' } }),
    simulatedAnchors: tee.anchors,
  });
  await kms.policies.put(TENANT, '', { rules: [{ name: 'dev', allowSimulated: true }] });
  await kms.policies.put(TENANT, 'ca/control-plane', { rules: [{ name: 'cp-build', measurements: [M_CP], allowSimulated: true }] });
  await kms.policies.put(TENANT, 'ca/node-agent', { rules: [{ name: 'agent-build', measurements: [M_AGENT], allowSimulated: true }] });
  await kms.policies.put(TENANT, 'ca/batch', { rules: [{ name: 'batch-build', measurements: [M_OTHER], allowSimulated: true }] });
  kmsApp = await buildKmsServer({ kms, rateLimit: { burst: 10_000, perSecond: 10_000 } });
  kmsUrl = await kmsApp.listen({ host: '127.0.0.1', port: 0 });
  certs['cp'] = await issue('control-plane', M_CP);
  certs['agent'] = await issue('node-agent', M_AGENT);
  certs['batch'] = await issue('batch', M_OTHER);

  // The control plane signs its commands with its certificate's key.
  tp = await testPlane(await openEmbeddedLog(), { plane: { signer: pemSigner(certs['cp'].keyPem) } });
  await tp.cp.addWorkload({ name: 'web', minReplicas: 1, maxReplicas: 3, target: { kind: 'process', command: ['sleep', '300'] }, rules: [{ metric: 'memory', scaleOutAbove: 8500 }], cooldown: { outMs: 0, inMs: 0 } });
  app = await buildControlPlaneServer(tp.cp);
  const srv = await listenAgentsMtls(app, { certPem: certs['cp'].certPem, keyPem: certs['cp'].keyPem, peer: expectOf('node-agent', M_AGENT, certs['cp'].kms), onRefused: (code, m) => refused.push(`${code}: ${m}`) });
  cpUrl = srv.url;
  closeMtls = srv.close;
});
after(async () => {
  await closeMtls?.();
  await app?.close();
  await tp?.close();
  await kmsApp?.close();
  await db?.close();
});

const agentWith = async (mtls: MtlsIdentity, url = cpUrl) =>
  new ControlPlaneAgent({ agentId: 'node-m', controlPlaneUrl: url, policy: devAgentPolicy(), simulatedAnchors: (await sharedTee()).anchors, enclave: await simulatedEnclave(), mtls });

const agentIdentity = (over: Partial<PeerCheck['expect']> = {}, who = 'agent'): MtlsIdentity => ({
  certPem: certs[who]!.certPem,
  keyPem: certs[who]!.keyPem,
  peer: { ...expectOf('control-plane', M_CP, certs[who]!.kms), expect: { tenant: TENANT, workload: 'control-plane', measurements: [M_CP], allowSimulated: true, ...over } },
});

test('over mTLS with KMS certificates: the agent attests, sends telemetry, and the command is signed by the certified key', async () => {
  const a = await agentWith(agentIdentity());
  try {
    await a.attest();
    const r = await a.send({ version: 1, workload: 'web', node: 'node-m', window: syntheticWindow({ memBp: 9200 }) });
    assert.equal(r.decision?.direction, 'out');
    assert.equal(r.decision?.enact.state, 'enacted');
    const cmd = verifyCommand(r.decision!.command, pemSigner(certs['cp']!.keyPem).spki);
    assert.equal(cmd.replicas, 2);
  } finally {
    await a.close();
  }
});

test('a certificate the KMS issued to another workload is refused by the control plane; nothing reaches the plane', async () => {
  const before = await tp.cp.metricsText();
  const a = await agentWith(agentIdentity({}, 'batch'));
  try {
    await assert.rejects(a.attest(), (e: unknown) => isVeriteeError(e) && e.code === 'KMS_CERTIFICATE_INVALID' && /workload|measurement/.test(e.message));
    assert.ok(refused.some((x) => /^KMS_CERTIFICATE_INVALID: .*(workload|measurement)/.test(x)), refused.join('\n'));
    assert.equal(await tp.cp.metricsText(), before);
  } finally {
    await a.close();
  }
});

test('a control plane whose certificate shows another measurement is refused by the agent before anything is sent', async () => {
  const n = refused.length;
  const a = await agentWith(agentIdentity({ measurements: [M_OTHER] }));
  try {
    await assert.rejects(a.attest(), (e: unknown) => isVeriteeError(e) && e.code === 'KMS_CERTIFICATE_INVALID' && /measurement .* is not an accepted one/.test(e.message));
    assert.equal(refused.length, n);
  } finally {
    await a.close();
  }
});

test('a control plane that signs with a key other than its certificate key is refused', async () => {
  const other = await testPlane(await openEmbeddedLog()); // signs with a simulated enclave key
  const otherApp = await buildControlPlaneServer(other.cp);
  const srv = await listenAgentsMtls(otherApp, { certPem: certs['cp']!.certPem, keyPem: certs['cp']!.keyPem, peer: expectOf('node-agent', M_AGENT, certs['cp']!.kms) });
  const a = await agentWith(agentIdentity(), srv.url);
  try {
    await assert.rejects(a.attest(), (e: unknown) => isVeriteeError(e) && e.code === 'CP_COMMAND_SIGNATURE_INVALID' && /not the key its attestation binds/.test(e.message));
  } finally {
    await a.close();
    await srv.close();
    await otherApp.close();
    await other.close();
  }
});

test('pemSigner takes P-256 keys only', () => {
  const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  assert.throws(() => pemSigner(ed), (e: unknown) => isVeriteeError(e) && e.code === 'INPUT_INVALID');
});
