/**
 * `veritee market`: serve (dev), create a market from a veritee claim with a dev key, run a
 * generator, create a private ask, follow its status and fetch the result, verified locally
 * (real Go prover, real HTTP, simulated TEE). Dev-only parts are refused without their flags;
 * refusals carry codes and no stack trace.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { testHome } from '@veritee/zk/testing';
import { cliBinPath, hasStackTrace, runCli } from '../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-market-'));
const f = (name: string) => join(dir, name);
const home = testHome();
const children: ChildProcess[] = [];

after(async () => {
  for (const c of children) {
    if (c.exitCode === null) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  }
});

function expectError(r: { code: number; stdout: string; stderr: string }, code: string, exit = 2): void {
  assert.equal(r.code, exit, `exit status for ${code}: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`error\\[${code}\\]`), r.stderr);
  assert.equal(hasStackTrace(r.stderr), false, 'no stack trace');
}

/** Starts a long-running CLI command; resolves with it and its first stdout line. */
function startCli(args: string[]): Promise<{ child: ChildProcess; first: string; lines: string[] }> {
  const child = spawn(process.execPath, [cliBinPath(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      lines.push(l);
      if (lines.length === 1) resolve({ child, first: l, lines });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${String(code)}: ${err}`)));
  });
}

test('market: dev-only commands are refused without --dev', async () => {
  expectError(await runCli(['market', 'serve', '--port', '0']), 'INPUT_INVALID');
  expectError(await runCli(['market', 'generator', 'run', '--market', 'http://127.0.0.1:1', '--markets', 'm', '--id', 'g', '--key', f('nokey')]), 'INPUT_INVALID');
  expectError(await runCli(['market', 'create', '--market', 'http://127.0.0.1:1']), 'CLI_USAGE_INVALID');
});

test('market serve | create | generator run | ask create, status, result', async () => {
  const serve = await startCli(['market', 'serve', '--dev', '--port', '0', '--match-every-ms', '100']);
  const { url } = JSON.parse(serve.first) as { url: string };
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const image = 'a1'.repeat(48);
  const created = await runCli(['market', 'create', '--market', url, '--dev-claim', 'disk', '--id', 'disk', '--allow-image', image, '--home', home]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal((JSON.parse(created.stdout) as { created: boolean }).created, true);
  const gen = await startCli(['market', 'generator', 'run', '--dev', '--market', url, '--markets', 'disk', '--id', 'g1', '--key', f('g1.key'), '--image-measurement', image, '--home', home, '--duration-s', '300']);
  assert.deepEqual(JSON.parse(gen.first), { generator: 'g1', joined: ['disk'] });
  assert.equal(statSync(f('g1.key')).mode & 0o777, 0o600);

  writeFileSync(f('public.json'), JSON.stringify({ kind: 'disk', params: { periodStartUs: 1_795_000_000_000_000, periodEndUs: 1_795_000_040_000_000, usageThresholdBp: 8500, inodeThresholdBp: 9000, queueThreshold: 32 } }));
  writeFileSync(f('private.json'), JSON.stringify({ mounts: [{ usedKiB: 900, totalKiB: 1000, inodesUsed: 5, inodesTotal: 100, queueDepth: [1, 40, 3, 4] }] }));
  const askArgs = ['market', 'ask', 'create', '--market', url, '--market-id', 'disk', '--public', f('public.json'), '--private', f('private.json'), '--max-price', '500', '--requester-key', f('req.key'), '--id', 'cli-ask'];
  // the engine's evidence is simulated: refused unless allowed
  expectError(await runCli(askArgs), 'MARKET_ATTESTATION_INVALID', 1);
  const ask = await runCli([...askArgs, '--allow-simulated']);
  assert.equal(ask.code, 0, ask.stderr);
  assert.equal((JSON.parse(ask.stdout) as { id: string }).id, 'cli-ask');
  let state = '';
  for (let i = 0; i < 600 && state !== 'complete'; i++) {
    const st = await runCli(['market', 'ask', 'status', '--market', url, 'cli-ask']);
    assert.equal(st.code, 0, st.stderr);
    state = (JSON.parse(st.stdout) as { state: string }).state;
    if (state !== 'complete') await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(state, 'complete');
  // the result is verified locally: it needs the dev-setup key accepted explicitly
  expectError(await runCli(['market', 'ask', 'result', '--market', url, 'cli-ask']), 'ZK_DEV_SETUP_REFUSED', 1);
  const res = await runCli(['market', 'ask', 'result', '--market', url, 'cli-ask', '--allow-dev-setup', '--out', f('result.json')]);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual((JSON.parse(res.stdout) as { verified: boolean; completedBy: string }).verified, true);
  const saved = JSON.parse(readFileSync(f('result.json'), 'utf8')) as { proof: { claim: { outputs: { performanceIssue: boolean; maxUsageBp: number } } } };
  assert.equal(saved.proof.claim.outputs.performanceIssue, true);
  assert.equal(saved.proof.claim.outputs.maxUsageBp, 9000);
  assert.ok(gen.lines.some((l) => l.includes('"submitted"')));
  expectError(await runCli(['market', 'ask', 'status', '--market', url, 'no-such-ask']), 'MARKET_NOT_FOUND');
  expectError(await runCli(['market', 'ask', 'create', '--market', url, '--market-id', 'disk', '--public', f('public.json'), '--max-price', '-1', '--requester-key', f('req.key')]), 'INPUT_INVALID');
});
