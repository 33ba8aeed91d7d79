/**
 * @module plane/engines
 * TEST SUPPORT: the real engines the control-plane tests run — nats-server (JetStream),
 * etcd and kube-apiserver — found in the engine cache (~/.cache/veritee/bin, or
 * VERITEE_ENGINE_BIN), built there by scripts/engines/build-k8s.sh when missing (never
 * skipped), started on loopback in a temporary directory and stopped after.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeriteeError } from '@veritee/core';

export function engineBinDir(): string {
  return process.env.VERITEE_ENGINE_BIN ?? join(homedir(), '.cache', 'veritee', 'bin');
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'scripts', 'engines', 'build-k8s.sh'))) return dir;
    dir = dirname(dir);
  }
  throw new VeriteeError('CP_ENGINE_UNAVAILABLE', 'scripts/engines/build-k8s.sh not found above the control-plane package');
}

/** The path of an engine binary, building it first when the cache lacks it (minutes, once). */
export function ensureEngine(name: 'nats-server' | 'etcd' | 'kube-apiserver'): string {
  const bin = join(engineBinDir(), name);
  if (existsSync(bin)) return bin;
  const r = spawnSync('bash', [join(repoRoot(), 'scripts', 'engines', 'build-k8s.sh'), name], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 40 * 60_000 });
  if (r.status !== 0 || !existsSync(bin)) throw new VeriteeError('CP_ENGINE_UNAVAILABLE', `building ${name} failed (exit ${String(r.status)}); see scripts/engines/build-k8s.sh`);
  return bin;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface RunningEngine {
  url: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export function stopProcess(p: ChildProcess, graceMs = 5000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

/** Waits until `probe` resolves true (every 100 ms), or fails with CP_ENGINE_UNAVAILABLE. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, proc?: ChildProcess, log?: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) throw new VeriteeError('CP_ENGINE_UNAVAILABLE', `${what} exited (${String(proc.exitCode ?? proc.signalCode)}): ${log?.().slice(-800) ?? ''}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new VeriteeError('CP_ENGINE_UNAVAILABLE', `${what} did not become ready in ${timeoutMs} ms: ${log?.().slice(-800) ?? ''}`);
}

/** A throw-away JetStream server on 127.0.0.1 with its store in a temporary directory. */
export async function startNats(): Promise<RunningEngine> {
  const bin = ensureEngine('nats-server');
  const dir = mkdtempSync(join(tmpdir(), 'veritee-nats-'));
  const port = await freePort();
  const monitor = await freePort();
  let out = '';
  const proc = spawn(bin, ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  await waitFor('nats-server', async () => (await fetch(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`)).ok, 20_000, proc, () => out);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    proc,
    stop: async () => {
      await stopProcess(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunningKubernetes {
  /** https://127.0.0.1:port of kube-apiserver. */
  server: string;
  /** PEM of the API server's self-signed serving certificate (trust it as the CA). */
  caPem: string;
  /** Bearer tokens: admin (system:masters), the control plane's user, a user with no rights. */
  tokens: { admin: string; controlPlane: string; nobody: string };
  /** Users behind those tokens (for RBAC bindings). */
  users: { controlPlane: string; nobody: string };
  /** Stops kube-apiserver only (etcd keeps the state), to play an orchestrator outage. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port, state and certificate. */
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * etcd and kube-apiserver on loopback: static token authentication and RBAC authorisation,
 * serving certificate generated into a temporary directory. No controllers or nodes run: a
 * Deployment's `/scale` subresource works without them.
 */
export async function startKubernetes(): Promise<RunningKubernetes> {
  const { randomBytes, generateKeyPairSync } = await import('node:crypto');
  const { writeFileSync, readFileSync } = await import('node:fs');
  const etcdBin = ensureEngine('etcd');
  const apiBin = ensureEngine('kube-apiserver');
  const dir = mkdtempSync(join(tmpdir(), 'veritee-k8s-'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  let etcdLog = '';
  const etcd = spawn(
    etcdBin,
    ['--name', 'default', '--data-dir', join(dir, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`, '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-cluster', `default=http://127.0.0.1:${peerPort}`, '--listen-metrics-urls', ''],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  etcd.stdout!.on('data', (d: Buffer) => (etcdLog = (etcdLog + d.toString()).slice(-4000)));
  etcd.stderr!.on('data', (d: Buffer) => (etcdLog = (etcdLog + d.toString()).slice(-4000)));
  try {
    await waitFor('etcd', async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok, 60_000, etcd, () => etcdLog);
  } catch (e) {
    await stopProcess(etcd);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const tokens = { admin: randomBytes(24).toString('hex'), controlPlane: randomBytes(24).toString('hex'), nobody: randomBytes(24).toString('hex') };
  const users = { controlPlane: 'veritee-control-plane', nobody: 'nobody' };
  writeFileSync(join(dir, 'tokens.csv'), `${tokens.admin},admin,1,"system:masters"\n${tokens.controlPlane},${users.controlPlane},2\n${tokens.nobody},${users.nobody},3\n`, { mode: 0o600 });
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
  const args = [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--secure-port=${apiPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--cert-dir=${join(dir, 'certs')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--anonymous-auth=false',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--enable-priority-and-fairness=false',
    '--disable-admission-plugins=ServiceAccount',
    '--profiling=false',
  ];
  let api: ChildProcess | undefined;
  let apiLog = '';
  const startApiServer = async () => {
    apiLog = '';
    const p = spawn(apiBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d: Buffer) => (apiLog = (apiLog + d.toString()).slice(-6000)));
    p.stderr!.on('data', (d: Buffer) => (apiLog = (apiLog + d.toString()).slice(-6000)));
    api = p;
    const { Agent, request } = await import('node:https');
    const agent = new Agent({ rejectUnauthorized: false });
    const ready = () =>
      new Promise<boolean>((resolve) => {
        const req = request({ host: '127.0.0.1', port: apiPort, path: '/readyz', headers: { authorization: `Bearer ${tokens.admin}` }, agent, timeout: 2000 }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        });
        req.on('error', () => resolve(false));
        req.on('timeout', () => req.destroy());
        req.end();
      });
    await waitFor('kube-apiserver', ready, 180_000, p, () => apiLog);
  };
  const stopApiServer = async () => {
    if (api) await stopProcess(api, 10_000);
    api = undefined;
  };
  try {
    await startApiServer();
  } catch (e) {
    await stopApiServer();
    await stopProcess(etcd);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const caPem = readFileSync(join(dir, 'certs', 'apiserver.crt'), 'utf8');
  return {
    server: `https://127.0.0.1:${apiPort}`,
    caPem,
    tokens,
    users,
    stopApiServer,
    startApiServer,
    stop: async () => {
      await stopApiServer();
      await stopProcess(etcd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
