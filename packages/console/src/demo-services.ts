/**
 * @module demo-services
 * DEVELOPMENT ONLY (`veritee demo --console`, and the console's browser tests): a real KMS
 * and a real control plane started in this process on loopback, so the console's KMS and
 * control-plane pages have something to show. Both run in the SIMULATED TEE, on embedded
 * in-memory databases, and are given some history through their ordinary APIs:
 *
 * - KMS: an admin (an ES256 admin JWT minted here, role kms-admin) writes a release policy,
 *   two secrets and a transit key; a workload in the simulated TEE attests and fetches a
 *   secret, then attests again for a new session (a re-attestation), and a request for a
 *   path its policy does not cover is denied. Every step is in the hash-chained audit log.
 * - Control plane: a workload scaled by memory on the process orchestrator (copies of
 *   `sleep`), with a threshold set below this machine's memory use so that one report of
 *   real telemetry (/proc) leads to a scale-out decision, proven in the background by the
 *   Go prover with the home's DEV memory key and verified by the control plane.
 *
 * Nothing here is a production path: the admin token is printed nowhere and lives only in
 * this process; closing stops both services and their processes.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { parsePolicy, SimulatedTee } from '@veritee/attestation';
import { ADMIN_AUDIENCE, buildKmsServer, Kms, KmsClient, openEmbedded, rootKeyBytes, simulatedEvidenceProvider, type SqlDb } from '@veritee/kms';
import {
  buildControlPlaneServer,
  collectTelemetry,
  ControlPlane,
  DecisionLog,
  InProcessQueue,
  openEmbeddedLog,
  parseTelemetryReport,
  ProcessPoolOrchestrator,
  proverWorker,
  type CpDb,
} from '@veritee/control-plane';
import { createSimulatedEnclave, devSetup, type ProverPool } from '@veritee/zk';
import { KeyRing } from '@veritee/zk/verify';

export interface DemoServices {
  kms: { url: string; token: string };
  cp: { url: string };
  /** The control plane's decision ids, newest last. */
  decisions: string[];
  /** The two in-memory databases (the console's tests tamper with them to show that the pages catch it). */
  databases: { kms: SqlDb; cp: CpDb };
  /** Resolves when every queued proof has been verified or failed. */
  proofsDone(): Promise<void>;
  close(): Promise<void>;
}

const url = (a: ReturnType<import('node:net').Server['address']>) => `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;

/** Starts the demo KMS and control plane; `pool` proves the control plane's decisions (its home needs no keys: a DEV memory key is set up). */
export async function startDemoServices(opts: { pool: ProverPool; tenant?: string; onProgress?: (line: string) => void }): Promise<DemoServices> {
  const say = opts.onProgress ?? (() => undefined);
  const tenant = opts.tenant ?? 'demo-tenant';
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    // ---- KMS ---------------------------------------------------------------------
    const tee = await SimulatedTee.create({ platforms: ['snp', 'tdx'] });
    const db = await openEmbedded();
    closers.push(() => db.close());
    const kms = await Kms.open({
      db,
      rootKey: rootKeyBytes(new Uint8Array(randomBytes(32)), 'in-memory root key (demo)'),
      attestationPolicy: parsePolicy({ name: 'kms-demo', platforms: ['snp', 'tdx'], allowSimulated: true, reportData: { require: ['nonce'] }, snp: { measurements: 'any' }, tdx: { mrtd: 'any' } }),
      simulatedAnchors: tee.anchors,
    });
    const kp = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(kp.publicKey)), alg: 'ES256', use: 'sig' };
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ roles: ['kms-admin'] }).setProtectedHeader({ alg: 'ES256' }).setSubject('veritee-console').setAudience(ADMIN_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 7 * 86_400).sign(kp.privateKey);
    const kapp = await buildKmsServer({ kms, adminJwks: { keys: [jwk] } });
    await kapp.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => kapp.close());
    const kmsUrl = url(kapp.server.address());
    const admin = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${kmsUrl}/kms/v0/tenants/${tenant}/${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      if (!r.ok) throw new Error(`demo KMS ${method} ${path}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
    };
    await admin('PUT', 'policies?prefix=app', { rules: [{ name: 'demo-simulated', platforms: ['snp', 'tdx'], allowSimulated: true }] });
    await admin('POST', 'secrets/data/app/db-password', { data: { password: randomBytes(12).toString('base64url') } });
    await admin('POST', 'secrets/data/app/db-password', { data: { password: randomBytes(12).toString('base64url') } });
    await admin('POST', 'secrets/data/app/api-key', { data: { key: randomBytes(16).toString('hex') } });
    await admin('POST', 'secrets/data/ops/break-glass', { data: { code: randomBytes(8).toString('hex') } });
    await admin('POST', 'transit/keys/app-data', {});
    const workload = new KmsClient({ url: kmsUrl, evidence: simulatedEvidenceProvider(tee, 'snp') });
    await workload.getSecret(`${tenant}/app/db-password`);
    const again = new KmsClient({ url: kmsUrl, evidence: simulatedEvidenceProvider(tee, 'snp') });
    await again.getSecret(`${tenant}/app/api-key`);
    await again.getSecret(`${tenant}/ops/break-glass`).catch(() => undefined); // no policy covers ops/: denied, and audited
    say(`demo KMS (SIMULATED TEE, in-memory): ${kmsUrl}`);

    // ---- control plane -------------------------------------------------------------
    const keys = new KeyRing();
    keys.add(await devSetup(opts.pool, 'memory', 512));
    const log = new DecisionLog(await openEmbeddedLog());
    closers.push(() => log.db.close());
    const queue = new InProcessQueue(proverWorker(opts.pool));
    closers.push(() => queue.close());
    const orchestrator = new ProcessPoolOrchestrator({ graceMs: 2000 });
    closers.push(() => orchestrator.close());
    const enclave = await createSimulatedEnclave({ platform: 'snp' });
    const cp = new ControlPlane({
      log,
      orchestrators: { process: orchestrator },
      queue,
      keys,
      allowDevSetup: true,
      signer: { sign: (m) => enclave.sign(m), spki: enclave.publicKey },
      agentPolicy: parsePolicy({ name: 'cp-demo-agents', platforms: ['snp', 'tdx'], allowSimulated: true, reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: 'any' }, tdx: { mrtd: 'any' } }),
      onAlarm: (a) => say(`control plane ALARM ${a.decisionId}: ${a.flag}: ${a.detail}`),
    });
    closers.push(() => cp.close());
    const capp = await buildControlPlaneServer(cp);
    await capp.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => capp.close());
    const cpUrl = url(capp.server.address());
    await cp.addWorkload({ name: 'demo-web', minReplicas: 1, maxReplicas: 3, target: { kind: 'process', command: ['sleep', '86400'] }, rules: [{ metric: 'memory', scaleOutAbove: 1 }], cooldown: { outMs: 0, inMs: 0 }, proofDeadlineMs: 600_000 });
    const window = await collectTelemetry({ samples: 4, intervalMs: 100, maxProcesses: 30 });
    const r = await cp.ingest(parseTelemetryReport({ version: 1, workload: 'demo-web', node: 'this-machine', seq: 1, window }));
    const decisions = r.decision ? [r.decision.id] : [];
    say(`demo control plane (SIMULATED TEE, in-memory): ${cpUrl}; ${decisions.length} decision${decisions.length === 1 ? '' : 's'} from this machine's telemetry, proving in the background`);
    return {
      kms: { url: kmsUrl, token },
      cp: { url: cpUrl },
      decisions,
      databases: { kms: db, cp: log.db },
      proofsDone: () => queue.drained(),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
