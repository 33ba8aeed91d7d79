/**
 * `veritee cp` as a user runs it: serve (admin API + attesting proxy), workload add/list,
 * an agent sending one real telemetry window over the attested channel, decisions --verify;
 * and the refusals (a policy outside its bounds, before any round trip; a server that is down).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testHome } from '@veritee/zk/testing';

const bin = fileURLToPath(new URL('../bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'veritee-cp-cli-'));
let server: ChildProcess;
let admin = '';
let agents = '';

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 120_000, env: { ...process.env, VERITEE_HOME: testHome(), ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  server = spawn(process.execPath, [bin, 'cp', 'serve', '--simulated', '--allow-dev-setup', '--port', '0', '--proxy-port', '0', '--home', testHome(), '--workers', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`cp serve did not start: ${out}`)), 60_000);
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /control plane: (http:\/\/[0-9.:]+) \(admin\), agents: (https:\/\/[0-9.:]+).*queue: in-process, proof workers: 2\n/.exec(out);
      if (m) {
        admin = m[1]!;
        agents = m[2]!;
        clearTimeout(t);
        resolve();
      }
    });
  });
});
after(async () => {
  server?.kill('SIGTERM');
  await new Promise((r) => server?.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
});

test('workload add (YAML) and list, an agent sends one window over the attested channel, decisions --verify', async () => {
  const f = join(dir, 'web.yaml');
  writeFileSync(f, 'name: web\nminReplicas: 1\nmaxReplicas: 3\ntarget: { kind: process, command: [sleep, "300"] }\nrules:\n  - { metric: memory, scaleOutAbove: 9900 }\n');
  const add = await run(['cp', 'workload', 'add', f, '--url', admin]);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /registered web: 1 replicas \(min 1, max 3\)/);
  const list = await run(['cp', 'workload', 'list', '--url', admin]);
  assert.match(list.stdout, /^web\tprocess\t1 replicas \[1, 3\]\tmemory$/m);
  const ag = await run(['cp', 'agent', '--url', agents, '--workload', 'web', '--simulated', '--once', '--samples', '2', '--sample-interval', '0.05', '--agent-id', 'cli-node']);
  assert.equal(ag.code, 0, ag.stderr);
  assert.match(ag.stdout, /agent cli-node: attested until/);
  assert.match(ag.stdout, /no decision: no rule crossed its threshold/);
  const dec = await run(['cp', 'decisions', '--url', admin, '--verify', '--allow-dev-setup']);
  assert.equal(dec.code, 0, dec.stderr);
  assert.match(dec.stdout, /no decisions/);
  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(metrics, /veritee_cp_telemetry_reports_total 1/);
  assert.match(metrics, /veritee_cp_agents_attested 1/);
});

test('a policy that would scale above max is refused before any round trip; a duplicate is refused by the server', async () => {
  const f = join(dir, 'bad.json');
  writeFileSync(f, JSON.stringify({ name: 'bad', minReplicas: 1, maxReplicas: 2, target: { kind: 'process', command: ['true'] }, rules: [{ metric: 'cpu', scaleOutAbove: 8000, step: 3 }] }));
  const r = await run(['cp', 'workload', 'add', f, '--url', 'http://127.0.0.1:1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /CP_WORKLOAD_INVALID/);
  assert.match(r.stderr, /step 3 would scale above maxReplicas 2/);
  const g = join(dir, 'web2.json');
  writeFileSync(g, JSON.stringify({ name: 'web', minReplicas: 1, maxReplicas: 2, target: { kind: 'process', command: ['true'] }, rules: [{ metric: 'cpu', scaleOutAbove: 8000 }] }));
  const dup = await run(['cp', 'workload', 'add', g, '--url', admin]);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /CP_WORKLOAD_EXISTS/);
});

test('the agent refuses to run without an evidence provider, and reports a control plane that is down', async () => {
  const r = await run(['cp', 'agent', '--url', agents, '--workload', 'web', '--once']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--simulated/);
  const d = await run(['cp', 'decisions', '--url', 'http://127.0.0.1:1']);
  assert.equal(d.code, 3);
  assert.match(d.stderr, /cannot reach the control plane/);
});

test('an agent on a node whose PATH lacks nvidia-smi reports the GPU rule unavailable with its code and exits 0', async () => {
  const f = join(dir, 'gpu.json');
  writeFileSync(f, JSON.stringify({ name: 'gpuweb', minReplicas: 1, maxReplicas: 2, target: { kind: 'process', command: ['sleep', '300'] }, rules: [{ metric: 'gpu', scaleOutAbove: 8000 }, { metric: 'volume', scaleOutAbove: 600 }] }));
  assert.equal((await run(['cp', 'workload', 'add', f, '--url', admin])).code, 0);
  const empty = mkdtempSync(join(dir, 'path-'));
  const ag = await run(['cp', 'agent', '--url', agents, '--workload', 'gpuweb', '--simulated', '--once', '--samples', '2', '--sample-interval', '0.05', '--agent-id', 'gpu-node', '--requests', 'http://127.0.0.1:1'], { PATH: empty });
  assert.equal(ag.code, 0, ag.stderr);
  assert.match(ag.stderr, /^gpu unavailable \[CP_GPU_UNAVAILABLE\]: nvidia-smi not found \(no NVIDIA driver on this node\)$/m);
  assert.match(ag.stderr, /^volume unavailable \[CP_REQUESTS_UNAVAILABLE\]: the request counters at http:\/\/127\.0\.0\.1:1 cannot be read/m);
  assert.match(ag.stdout, /no decision: no rule crossed its threshold/);
});

test('--workers and --requests are validated before anything starts', async () => {
  for (const args of [
    ['cp', 'serve', '--simulated', '--workers', '0'],
    ['cp', 'serve', '--simulated', '--workers', '65'],
    ['cp', 'serve', '--simulated', '--workers', '2', '--nats', 'nats://127.0.0.1:1'],
    ['cp', 'worker', '--nats', 'nats://127.0.0.1:1', '--workers', 'many'],
    ['cp', 'agent', '--url', agents, '--workload', 'web', '--simulated', '--once', '--requests', 'http://10.0.0.1:9464'],
    ['cp', 'agent', '--url', agents, '--workload', 'web', '--simulated', '--once', '--requests', 'https://127.0.0.1:9464'],
  ]) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /INPUT_INVALID/, args.join(' '));
  }
});
