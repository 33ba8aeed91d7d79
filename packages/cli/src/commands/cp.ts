/**
 * @module commands/cp
 * `veritee cp` (alias `control-plane`): the autoscaling control plane.
 *
 *   veritee cp serve [--port 8790] [--proxy-port 8791] [--db DIR | --postgres URL] [--nats URL] [--kubeconfig FILE]
 *                    [--simulated] [--allow-dev-setup] [--agent-policy FILE] [--admin-token-env VAR]
 *   veritee cp workload add <file.json|yaml> [--url http://127.0.0.1:8790] [--token-env VAR]
 *   veritee cp workload list [--url …]
 *   veritee cp decisions [--url …] [--workload NAME] [--limit N] [--verify]
 *   veritee cp agent --url https://127.0.0.1:8791 --workload NAME [--once] [--interval 60s] [--samples 16] [--simulated]
 *   veritee cp worker --nats URL   (a prover worker consuming proof jobs from JetStream)
 *
 * The admin API (workloads, decisions) listens on loopback; agents reach the control plane
 * through the attesting proxy in front of it (`--proxy-port`), which binds each TLS session
 * to the control plane's attestation.
 */
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { checkYamlNesting, parseJsonStrict, VeriteeError } from '@veritee/core';
import { homeOf, parseIntegerOption, parseSecondsOption } from './common.js';
import { readTextFile } from '../io.js';

const DEFAULT_URL = 'http://127.0.0.1:8790';
/** Prover processes one machine runs for the control plane (each holds its proving keys in memory). */
const MAX_WORKERS = 64;

async function api(url: string, path: string, init: { method?: string; body?: string; token?: string } = {}): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(new URL(path, url), {
      method: init.method ?? 'GET',
      headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
  } catch (e) {
    throw new VeriteeError('CP_ORCHESTRATOR_UNAVAILABLE', `cannot reach the control plane at ${url}: ${(e as Error).message}`);
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const err = (json['error'] ?? {}) as { code?: string; message?: string };
    throw new VeriteeError((err.code ?? 'INTERNAL') as never, err.message ?? `the control plane answered ${res.status}`);
  }
  return json;
}

function tokenFrom(env: string | undefined): string | undefined {
  if (env === undefined) return undefined;
  const v = process.env[env];
  if (!v) throw new VeriteeError('INPUT_INVALID', `--token-env ${env}: the variable is not set`);
  return v;
}

export function registerCpCommands(program: Command): void {
  const cp = program.command('cp').alias('control-plane').description('autoscaling control plane: decisions from attested telemetry, enacted at once, proven in the background');

  cp.command('serve')
    .description('run the control plane (admin API on loopback, agents through the attesting proxy)')
    .option('--port <n>', 'admin API port on 127.0.0.1 (0: any)', '8790')
    .option('--proxy-port <n>', 'attesting proxy port for agents (0: any)', '8791')
    .option('--db <dir>', 'embedded decision log directory (default: in memory)')
    .option('--postgres <url>', 'PostgreSQL decision log (postgres://…)')
    .option('--nats <url>', 'proof jobs on NATS JetStream (default: an in-process queue)')
    .option('--kubeconfig <file>', 'enable the Kubernetes orchestrator with this kubeconfig')
    .option('--simulated', 'DEVELOPMENT: simulated TEE evidence for the control plane, and accept simulated agents')
    .option('--allow-dev-setup', 'accept proofs made with dev trusted setups')
    .option('--agent-policy <file>', 'attestation policy agents must satisfy')
    .option('--admin-token-env <var>', 'environment variable holding the admin bearer token')
    .option('--home <dir>', 'veritee home (verification and proving keys)')
    .option('--workers <n>', 'proof workers in this process (in-process queue): N prover processes proving N decisions in parallel', '1')
    .action(async (o: { port: string; proxyPort: string; db?: string; postgres?: string; nats?: string; kubeconfig?: string; simulated?: boolean; allowDevSetup?: boolean; agentPolicy?: string; adminTokenEnv?: string; home?: string; workers: string }) => {
      const plane = await import('@veritee/control-plane');
      const { ProverPool, loadKeyRingFromHome } = await import('@veritee/zk');
      const { Enclave, simulatedEvidenceProvider, createAttestingProxy } = await import('@veritee/proxy');
      const { loadPolicy, parsePolicy, SimulatedTee } = await import('@veritee/attestation');
      if (!o.simulated) throw new VeriteeError('INPUT_INVALID', 'this build has no hardware evidence provider for the control plane: run with --simulated (development)');
      const port = parseIntegerOption('--port', o.port, 0, 65535);
      const proxyPort = parseIntegerOption('--proxy-port', o.proxyPort, 0, 65535);
      const workers = parseIntegerOption('--workers', o.workers, 1, MAX_WORKERS);
      if (o.nats && workers > 1) throw new VeriteeError('INPUT_INVALID', '--workers applies to the in-process queue; with --nats, run `veritee cp worker --workers N` on the prover machines');
      const home = homeOf(o);
      const tee = await SimulatedTee.create({ platforms: ['snp', 'tdx'] });
      const enclave = Enclave.create(await simulatedEvidenceProvider({ tee }));
      const agentPolicy = o.agentPolicy
        ? loadPolicy(o.agentPolicy)
        : parsePolicy({ name: 'cp-dev-agents', platforms: ['snp', 'tdx'], allowSimulated: true, reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: 'any' }, tdx: { mrtd: 'any' } });
      const db = o.postgres ? await plane.openPostgresLog(o.postgres) : await plane.openEmbeddedLog(o.db);
      const prover = new ProverPool({ home, size: o.nats ? 1 : workers });
      const queue = o.nats ? await plane.JetStreamQueue.connect({ servers: o.nats }) : new plane.InProcessQueue(plane.proverWorker(prover), { concurrency: workers });
      const orchestrators: Record<string, import('@veritee/control-plane').Orchestrator> = { process: new plane.ProcessPoolOrchestrator() };
      if (o.kubeconfig) orchestrators['kubernetes'] = plane.KubernetesOrchestrator.fromKubeconfigFile(o.kubeconfig);
      const cpl = new plane.ControlPlane({
        log: new plane.DecisionLog(db),
        orchestrators,
        queue,
        keys: loadKeyRingFromHome(home),
        allowDevSetup: o.allowDevSetup === true,
        signer: enclave,
        agentPolicy,
        // Development: agents run their own simulators, whose anchors they offer (proves nothing).
        ...(o.simulated ? { trustOfferedSimulatedAnchors: true } : {}),
        onAlarm: (a) => process.stderr.write(`ALARM decision ${a.decisionId}: ${a.flag}: ${a.detail}\n`),
      });
      cpl.start(1000);
      const adminToken = o.adminTokenEnv ? tokenFrom(o.adminTokenEnv) : undefined;
      const app = await plane.buildControlPlaneServer(cpl, { ...(adminToken ? { adminToken } : {}) });
      await app.listen({ port, host: '127.0.0.1' });
      const addr = app.server.address() as { port: number };
      const proxy = await createAttestingProxy({ host: 'localhost', upstream: `http://127.0.0.1:${addr.port}`, enclave, logger: false });
      const pa = await proxy.listen(proxyPort, '127.0.0.1');
      process.stdout.write(`control plane: http://127.0.0.1:${addr.port} (admin), agents: https://127.0.0.1:${pa.port} (attested), log: ${db.backend}, queue: ${queue.kind}${o.nats ? '' : `, proof workers: ${workers}`}\n`);
      const stop = async () => {
        cpl.stop();
        await proxy.close();
        await app.close();
        await queue.close();
        await prover.close();
        for (const orch of Object.values(orchestrators)) await orch.close();
        await db.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });

  const wl = cp.command('workload').description('register and list workloads');
  wl.command('add <file>')
    .description('register a workload and its scaling policy (JSON or YAML)')
    .option('--url <url>', 'control plane admin URL', DEFAULT_URL)
    .option('--token-env <var>', 'environment variable holding the admin bearer token')
    .action(async (file: string, o: { url: string; tokenEnv?: string }) => {
      const text = readTextFile(file, 'workload file', { maxBytes: 1024 * 1024 });
      let doc: unknown;
      if (/\.ya?ml$/i.test(file)) {
        checkYamlNesting(text, { what: 'workload file' });
        try {
          doc = parseYaml(text);
        } catch (e) {
          throw new VeriteeError('CP_WORKLOAD_INVALID', `workload file: ${(e as Error).message.split('\n')[0]}`);
        }
      } else doc = parseJsonStrict(text, { what: 'workload file', code: 'CP_WORKLOAD_INVALID' });
      // Validated here first, so a bad policy is refused without a round trip.
      const { parseWorkloadSpec } = await import('@veritee/control-plane');
      parseWorkloadSpec(doc);
      const token = tokenFrom(o.tokenEnv);
      const r = await api(o.url, '/v1/workloads', { method: 'POST', body: JSON.stringify(doc), ...(token ? { token } : {}) });
      const w = r['workload'] as { name: string; replicas: number; minReplicas: number; maxReplicas: number };
      process.stdout.write(`registered ${w.name}: ${w.replicas} replicas (min ${w.minReplicas}, max ${w.maxReplicas})\n`);
    });
  wl.command('list')
    .description('list workloads with the replica count in force')
    .option('--url <url>', 'control plane admin URL', DEFAULT_URL)
    .option('--json', 'print JSON')
    .action(async (o: { url: string; json?: boolean }) => {
      const r = await api(o.url, '/v1/workloads');
      const list = r['workloads'] as { name: string; replicas: number; minReplicas: number; maxReplicas: number; target: { kind: string }; rules: { metric: string }[] }[];
      if (o.json) return void process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      for (const w of list) process.stdout.write(`${w.name}\t${w.target.kind}\t${w.replicas} replicas [${w.minReplicas}, ${w.maxReplicas}]\t${w.rules.map((x) => x.metric).join(',')}\n`);
      if (list.length === 0) process.stdout.write('no workloads\n');
    });

  cp.command('decisions')
    .description('the decision log; --verify checks every proof here (exit 1 if any decision is flagged or does not verify)')
    .option('--url <url>', 'control plane admin URL', DEFAULT_URL)
    .option('--workload <name>', 'only this workload')
    .option('--limit <n>', 'most recent N', '50')
    .option('--verify', 'verify each bundle locally against its decision')
    .option('--allow-dev-setup', 'accept dev trusted setup keys when verifying')
    .option('--home <dir>', 'veritee home (verification keys)')
    .option('--json', 'print JSON')
    .action(async (o: { url: string; workload?: string; limit: string; verify?: boolean; allowDevSetup?: boolean; home?: string; json?: boolean }) => {
      const limit = parseIntegerOption('--limit', o.limit, 1, 10_000);
      const q = new URLSearchParams({ limit: String(limit), ...(o.workload ? { workload: o.workload } : {}) });
      const r = await api(o.url, `/v1/decisions?${q}`);
      const list = r['decisions'] as import('@veritee/control-plane').Decision[];
      let bad = 0;
      const { checkDecisionBundle } = await import('@veritee/control-plane');
      const keys = o.verify ? (await import('@veritee/zk')).loadKeyRingFromHome(homeOf(o)) : undefined;
      const rows = list.map((d) => {
        let check = '';
        if (o.verify) {
          // Every claim the decision rests on, each against its own bundle.
          const claims = d.claims?.length ? d.claims : d.claim ? [{ ...d.claim, proof: { bundle: d.proof.bundle } }] : [];
          if (d.proof.state === 'verified' && claims.length > 0) {
            let p: string | undefined;
            for (const [i, c] of claims.entries()) {
              p = checkDecisionBundle(c.proof.bundle, c, { keys: keys!, allowDevSetup: o.allowDevSetup === true });
              if (p) {
                p = claims.length > 1 ? `claim ${i} (${c.kind}): ${p}` : p;
                break;
              }
            }
            check = p ? `VERIFY FAILED: ${p}` : `verified here${claims.length > 1 ? ` (${claims.length} claims)` : ''}`;
          } else check = d.proof.state === 'queued' && !d.flag ? 'proof pending' : 'NOT VERIFIED';
          if (!check.startsWith('verified here') && check !== 'proof pending') bad++;
        }
        if (d.flag) bad += o.verify ? 0 : 0;
        return { d, check };
      });
      if (o.json) process.stdout.write(JSON.stringify(rows.map((x) => ({ ...x.d, ...(o.verify ? { localCheck: x.check } : {}) })), null, 2) + '\n');
      else {
        for (const { d, check } of rows) {
          process.stdout.write(
            `${new Date(d.atMs).toISOString()} ${d.id.slice(0, 8)} ${d.workload} ${d.from}→${d.to} (${d.reason}) enact=${d.enact.state} proof=${d.proof.state}${(d.claims?.length ?? 0) > 1 ? ` claims=${d.claims.map((c) => `${c.kind}:${c.proof.state}`).join(',')}` : ''}${d.flag ? ` FLAGGED:${d.flag}` : ''}${check ? ` [${check}]` : ''}\n`,
          );
        }
        if (list.length === 0) process.stdout.write('no decisions\n');
      }
      if (o.verify && (bad > 0 || list.some((d) => d.flag))) {
        process.exitCode = 1;
        process.stderr.write(`${bad} decision(s) not verified here, ${list.filter((d) => d.flag).length} flagged\n`);
      }
    });

  cp.command('agent')
    .description('node agent: attest, collect telemetry, send it over the attested channel')
    .requiredOption('--url <url>', 'https URL of the attesting proxy in front of the control plane')
    .requiredOption('--workload <name>', 'workload this node runs')
    .option('--agent-id <id>', 'agent id (default: the host name)')
    .option('--samples <n>', 'samples per window', '16')
    .option('--sample-interval <duration>', 'seconds between samples', '1')
    .option('--interval <seconds>', 'seconds between windows', '60')
    .option('--once', 'send one window and exit')
    .option('--simulated', 'DEVELOPMENT: simulated evidence for this agent, accept a simulated control plane')
    .option('--policy <file>', "attestation policy the control plane's evidence must satisfy")
    .option('--requests <url>', 'request counters of the attesting proxy in front of the workload (`veritee proxy --counters-listen`), e.g. http://127.0.0.1:9464')
    .action(async (o: { url: string; workload: string; agentId?: string; samples: string; sampleInterval: string; interval: string; once?: boolean; simulated?: boolean; policy?: string; requests?: string }) => {
      const { ControlPlaneAgent } = await import('@veritee/control-plane');
      const { Enclave, simulatedEvidenceProvider } = await import('@veritee/proxy');
      const { loadPolicy, parsePolicy } = await import('@veritee/attestation');
      const { hostname } = await import('node:os');
      if (!o.simulated) throw new VeriteeError('INPUT_INVALID', 'this build has no hardware evidence provider for the agent: run with --simulated (development)');
      const samples = parseIntegerOption('--samples', o.samples, 1, 128);
      const sampleMs = parseSecondsOption('--sample-interval', o.sampleInterval, 3600) * 1000;
      const every = parseSecondsOption('--interval', o.interval, 86_400) * 1000;
      const policy = o.policy
        ? loadPolicy(o.policy)
        : parsePolicy({ name: 'cp-dev', platforms: ['snp', 'tdx'], allowSimulated: true, reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: 'any' }, tdx: { mrtd: 'any' } });
      const agentId = (o.agentId ?? hostname()).replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 128);
      if (o.requests !== undefined) {
        let u: URL | undefined;
        try {
          u = new URL(o.requests);
        } catch {
          u = undefined;
        }
        if (!u || u.protocol !== 'http:' || !/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/.test(u.hostname) || u.pathname !== '/' || u.search) {
          throw new VeriteeError('INPUT_INVALID', `--requests ${JSON.stringify(o.requests.slice(0, 100))} must be http://127.0.0.1:PORT (the proxy's loopback request counters)`);
        }
      }
      const agent = new ControlPlaneAgent({ agentId, controlPlaneUrl: o.url, policy, allowSimulated: true, enclave: Enclave.create(await simulatedEvidenceProvider()), ...(o.requests ? { requestCountersUrl: o.requests } : {}) });
      try {
        const a = await agent.attest();
        process.stdout.write(`agent ${agentId}: attested until ${new Date(a.attestedUntilMs).toISOString()}\n`);
        for (;;) {
          const r = await agent.collectAndSend(o.workload, { samples, intervalMs: Math.max(10, sampleMs) });
          for (const m of r.measurements ?? []) if (m.unavailable) process.stderr.write(`${m.metric} unavailable [${m.code ?? 'CP_TELEMETRY_INVALID'}]: ${m.unavailable}\n`);
          process.stdout.write(r.decision ? `decision ${r.decision.id}: ${r.decision.from}→${r.decision.to} (${r.decision.reason})\n` : `no decision: ${r.note}\n`);
          if (o.once) break;
          await new Promise((res) => setTimeout(res, every));
        }
      } finally {
        await agent.close();
      }
    });

  cp.command('worker')
    .description('prover worker: consume proof jobs from NATS JetStream and publish results')
    .requiredOption('--nats <url>', 'NATS server URL')
    .option('--home <dir>', 'veritee home (proving keys)')
    .option('--name <name>', 'worker name in results', `worker-${process.pid}`)
    .option('--workers <n>', 'consumers in this process, each with its own prover process', '1')
    .action(async (o: { nats: string; home?: string; name: string; workers: string }) => {
      const { runJetStreamWorker, proverWorker } = await import('@veritee/control-plane');
      const { ProverPool } = await import('@veritee/zk');
      const n = parseIntegerOption('--workers', o.workers, 1, MAX_WORKERS);
      const prover = new ProverPool({ home: homeOf(o), size: n });
      const ws: import('@veritee/control-plane').JetStreamWorker[] = [];
      for (let i = 0; i < n; i++) ws.push(await runJetStreamWorker({ servers: o.nats, name: n > 1 ? `${o.name}-${i}` : o.name, prove: proverWorker(prover) }));
      process.stdout.write(`worker ${o.name}: consuming proof jobs (${n} in parallel)\n`);
      const stop = async () => {
        for (const w of ws) await w.close();
        await prover.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
