/**
 * `veritee streams`: two sensors make keys into one registry, sign their readings and
 * end markers, `run` refuses a replayed line and proves the windows (real prover, dev
 * keys), `verify` accepts them only with --allow-dev-setup and refuses results with a
 * dropped reading, a dropped window, a changed output or a missing end marker. A run
 * killed (SIGKILL, a real child process) mid-window and started again from its state
 * file gives the results of an uninterrupted run. A YAML pipeline runs sliding windows
 * with two workers. Bad input answers with STREAM_* codes, no stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testHome } from '@veritee/zk/testing';
import { cliBinPath, hasStackTrace, runCli } from '../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-streams-'));
const home = testHome();
const f = (name: string) => join(dir, name);
const T0 = Date.UTC(2026, 0, 5) * 1000;

function expectError(r: { code: number; stdout: string; stderr: string }, code: string, exit = 2): void {
  assert.equal(r.code, exit, `exit status for ${code}: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`error\\[${code}\\]`), r.stderr);
  assert.equal(hasStackTrace(r.stderr), false, 'no stack trace');
}

test('streams sensor keygen | sign, run, verify', async () => {
  for (const id of ['plug-1', 'plug-2']) {
    const r = await runCli(['streams', 'sensor', 'keygen', '--id', id, '--out', f(`${id}.key.json`), '--registry', f('sensors.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(f(`${id}.key.json`)).mode & 0o777, 0o600);
    assert.match(r.stdout, new RegExp(`"id":"${id}"`));
  }
  const reg = JSON.parse(readFileSync(f('sensors.json'), 'utf8')) as { sensors: { id: string }[] };
  assert.deepEqual(
    reg.sensors.map((s) => s.id),
    ['plug-1', 'plug-2'],
  );
  expectError(await runCli(['streams', 'sensor', 'keygen', '--id', 'plug-1', '--out', f('again.json'), '--registry', f('sensors.json')]), 'STREAM_SENSOR_KEY_INVALID');
  expectError(await runCli(['streams', 'sensor', 'keygen', '--id', 'plug-3', '--out', f('plug-1.key.json')]), 'INPUT_FILE_UNWRITABLE');
  expectError(await runCli(['streams', 'sensor', 'keygen', '--id', 'bad id', '--out', f('x.json')]), 'STREAM_SENSOR_KEY_INVALID');

  // plug-1: 5 readings in window 0 and 3 in window 1; plug-2: 4 in window 0
  const rows = (n: number, start: number, base: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ ts: start + i * 60_000_000, value: base + 10 * i })).join('\n') + '\n';
  writeFileSync(f('p1.jsonl'), rows(5, T0, 100) + rows(3, T0 + 900_000_000, 400));
  writeFileSync(f('p2.jsonl'), rows(4, T0 + 30_000_000, 200));
  for (const id of ['1', '2']) {
    const r = await runCli(['streams', 'sensor', 'sign', '--key', f(`plug-${id}.key.json`), '--readings', f(`p${id}.jsonl`), '--out', f(`s${id}.jsonl`), '--close']);
    assert.equal(r.code, 0, r.stderr);
  }
  const s1 = readFileSync(f('s1.jsonl'), 'utf8').trim().split('\n');
  const s2 = readFileSync(f('s2.jsonl'), 'utf8').trim().split('\n');
  // arrival order: interleaved by time, plug-2's reading 2 replayed
  assert.equal(s1.length, 9); // 8 readings and the end marker
  assert.match(s1[8]!, /"close":true,"sensor":"plug-1","lastSeq":8/);
  writeFileSync(f('in.jsonl'), [s1[0], s2[0], s1[1], s2[1], s2[1], s1[2], s2[2], s1[3], s2[3], s2[4], s1[4], s1[5], s1[6], s1[7], s1[8]].join('\n') + '\n');
  assert.doesNotMatch(readFileSync(f('s1.jsonl'), 'utf8'), /secretKey/);

  const run = await runCli(['streams', 'run', '--sensors', f('sensors.json'), '--input', f('in.jsonl'), '--window', '15m', '--threshold', '215', '--out', f('results.jsonl'), '--home', home]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /refused STREAM_SEQUENCE_REPLAY: sensor plug-2: reading 2 was already accepted/);
  const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as { accepted: number; windows: number; refused: Record<string, number>; head: { seq: number } };
  assert.deepEqual([summary.accepted, summary.windows, summary.refused, summary.head.seq], [12, 2, { STREAM_SEQUENCE_REPLAY: 1 }, 2]);

  const verify = (file: string, ...extra: string[]) => runCli(['streams', 'verify', file, '--sensors', f('sensors.json'), '--home', home, ...extra]);
  const ok = await verify(f('results.jsonl'), '--allow-dev-setup', '--threshold', '215');
  assert.equal(ok.code, 0, ok.stderr);
  // window 0: plug-1 100..140 (600), plug-2 200..230 (860) → n 9, sum 1460, mean 162, above 215: 220, 230 → 2
  assert.match(ok.stdout, /n 9, sum 1460, mean 162, above 2/);
  assert.match(ok.stdout, /n 3, sum 1230, mean 410, above 3/);
  assert.match(ok.stdout, /VERIFIED: 2 windows, 12 readings, .*closed \{"plug-1":8,"plug-2":4\}, chain head 2 [0-9a-f]{64}/);
  assert.equal((await verify(f('results.jsonl'), '--allow-dev-setup', '--require-end')).code, 0);
  expectError(await verify(f('results.jsonl')), 'STREAM_PROOF_INVALID', 1);
  expectError(await verify(f('results.jsonl'), '--allow-dev-setup', '--threshold', '216'), 'STREAM_COMMITMENT_MISMATCH', 1);

  const lines = readFileSync(f('results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { readings: unknown[]; bundle: { claim: { outputs: { sum: number } } } });
  const write = (name: string, ls: unknown[]) => writeFileSync(f(name), ls.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const dropped = structuredClone(lines);
  dropped[0]!.readings.splice(1, 1);
  write('dropped.jsonl', dropped);
  expectError(await verify(f('dropped.jsonl'), '--allow-dev-setup'), 'STREAM_CHAIN_BROKEN', 1);
  write('first-window.jsonl', [lines[0]]); // the second window (with the end markers) dropped
  assert.equal((await verify(f('first-window.jsonl'), '--allow-dev-setup')).code, 0);
  expectError(await verify(f('first-window.jsonl'), '--allow-dev-setup', '--require-end'), 'STREAM_END_MISSING', 1);
  write('second-window.jsonl', [lines[1]]);
  expectError(await verify(f('second-window.jsonl'), '--allow-dev-setup'), 'STREAM_CHAIN_BROKEN', 1);
  const changed = structuredClone(lines);
  changed[1]!.bundle.claim.outputs.sum += 1;
  write('changed.jsonl', changed);
  expectError(await verify(f('changed.jsonl'), '--allow-dev-setup'), 'STREAM_CHAIN_BROKEN', 1); // the outputs are part of the record's id
  const swapped = structuredClone(lines);
  swapped[0]!.bundle = swapped[1]!.bundle;
  write('swapped.jsonl', swapped);
  expectError(await verify(f('swapped.jsonl'), '--allow-dev-setup'), 'STREAM_CHAIN_BROKEN', 1);
  writeFileSync(f('garbage.jsonl'), '{"format":1}\n');
  expectError(await verify(f('garbage.jsonl'), '--allow-dev-setup'), 'STREAM_RESULT_INVALID', 1);
});

test('streams: bad input answers with codes', async () => {
  const r = await runCli(['streams', 'sensor', 'keygen', '--id', 'k', '--out', f('k.json'), '--registry', f('reg.json')]);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(f('bad-readings.jsonl'), '{"ts": 1, "value": 4294967296}\n');
  expectError(await runCli(['streams', 'sensor', 'sign', '--key', f('k.json'), '--readings', f('bad-readings.jsonl'), '--out', f('o.jsonl')]), 'STREAM_READING_INVALID');
  writeFileSync(f('bad-key.json'), '{"version":1}');
  writeFileSync(f('one.jsonl'), '{"ts": 1, "value": 1}\n');
  expectError(await runCli(['streams', 'sensor', 'sign', '--key', f('bad-key.json'), '--readings', f('one.jsonl'), '--out', f('o.jsonl')]), 'STREAM_SENSOR_KEY_INVALID');
  const base = ['streams', 'run', '--sensors', f('reg.json'), '--input', f('one.jsonl'), '--threshold', '1', '--out', f('r.jsonl')];
  expectError(await runCli([...base, '--window', '15 minutes']), 'STREAM_WINDOW_INVALID');
  expectError(await runCli([...base.slice(0, -4), '--threshold', '4294967296', '--out', f('r.jsonl'), '--window', '1m']), 'CLAIM_PARAMS_INVALID');
  // every line refused (not a signed reading): nothing to prove
  expectError(await runCli([...base, '--window', '1m', '--home', home]), 'STREAM_RESULT_INVALID', 1);
  expectError(await runCli(['streams', 'run', '--sensors', f('nope.json'), '--input', f('one.jsonl'), '--threshold', '1', '--out', f('r.jsonl'), '--window', '1m']), 'INPUT_FILE_UNREADABLE');
  expectError(await runCli([...base, '--window', '1m', '--nats', 'nats://127.0.0.1:1']), 'STREAM_QUEUE_UNAVAILABLE', 3);
  expectError(await runCli([...base, '--window', '1m', '--kafka', '127.0.0.1:1', '--home', home]), 'STREAM_QUEUE_UNAVAILABLE', 3);
  expectError(await runCli([...base, '--window', '1m', '--slide', '2m']), 'STREAM_WINDOW_INVALID', 2);
  expectError(await runCli([...base, '--window', '1m', '--workers', '0']), 'STREAM_PIPELINE_INVALID', 2);
  expectError(await runCli(['streams', 'run', '--input', f('one.jsonl')]), 'STREAM_PIPELINE_INVALID', 2);
  writeFileSync(f('p.yaml'), 'version: 1\nsensors: reg.json\nsource: { input: one.jsonl }\nwindow: { kind: hopping, size: 1m }\naggregate: { kind: streamagg, threshold: 1 }\nsink: { kind: file, path: r.jsonl }\n');
  expectError(await runCli(['streams', 'run', f('p.yaml')]), 'STREAM_PIPELINE_INVALID', 2);
  expectError(await runCli(['streams', 'run', f('p.yaml'), '--window', '1m']), 'STREAM_PIPELINE_INVALID', 2);
  writeFileSync(f('state.json'), '{"format":"veritee.streams.state.v1"}');
  expectError(await runCli([...base, '--window', '1m', '--state', f('state.json'), '--home', home]), 'STREAM_STATE_INVALID', 2);
});

/** One sensor, 3 windows of 1 minute, 6 readings each, and its end marker. */
async function restartFixture(): Promise<{ input: string; reg: string; n: number }> {
  const key = f('r.key.json');
  const reg = f('r-sensors.json');
  assert.equal((await runCli(['streams', 'sensor', 'keygen', '--id', 'meter', '--out', key, '--registry', reg])).code, 0);
  const rows = Array.from({ length: 18 }, (_, i) => JSON.stringify({ ts: T0 + i * 10_000_000, value: 50 + 7 * i })).join('\n') + '\n';
  writeFileSync(f('r.jsonl'), rows);
  const r = await runCli(['streams', 'sensor', 'sign', '--key', key, '--readings', f('r.jsonl'), '--out', f('r-signed.jsonl'), '--close']);
  assert.equal(r.code, 0, r.stderr);
  return { input: f('r-signed.jsonl'), reg, n: 19 };
}

const ids = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { id: string }).id);

test('streams run --state: killed (SIGKILL) mid-window and restarted, the results are those of an uninterrupted run', async () => {
  const { input, reg, n } = await restartFixture();
  const args = (out: string, ...extra: string[]) => ['streams', 'run', '--sensors', reg, '--input', input, '--window', '1m', '--threshold', '100', '--out', out, '--home', home, ...extra];
  const whole = await runCli(args(f('whole.jsonl')));
  assert.equal(whole.code, 0, whole.stderr);
  assert.equal(ids(f('whole.jsonl')).length, 3);

  // the first window is proven when reading 7 arrives; kill once reading 13 (the first
  // of window 3) is being handled: window 2's proof is under way, its readings only in the state
  const state = f('run.state.json');
  const child = spawn(process.execPath, [cliBinPath(), ...args(f('killed.jsonl'), '--state', state)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string | null>((resolve) => child.once('exit', (_c, sig) => resolve(sig)));
  let position = 0;
  for (let i = 0; i < 6000 && position < 12; i++) {
    await new Promise((r) => setTimeout(r, 25));
    if (existsSync(state)) position = (JSON.parse(readFileSync(state, 'utf8')) as { position: number }).position;
    assert.equal(child.exitCode, null, `the run ended before it was killed: ${stderr}`);
  }
  assert.equal(position, 12);
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const saved = JSON.parse(readFileSync(state, 'utf8')) as { position: number; snapshot: { open: unknown[]; resultSeq: number } };
  assert.equal(saved.snapshot.resultSeq, 1);
  assert.equal(saved.snapshot.open.length, 6); // window 2's readings, not yet proven
  assert.equal(ids(f('killed.jsonl')).length, 1);

  const again = await runCli(args(f('killed.jsonl'), '--state', state));
  assert.equal(again.code, 0, again.stderr);
  const summary = JSON.parse(again.stdout.trim().split('\n').pop()!) as { resumedAt: number; processed: number; refused: Record<string, number> };
  assert.deepEqual([summary.resumedAt, summary.processed, summary.refused], [12, n - 12, {}]);
  // no gap, no duplicate: the same chain, record for record
  assert.deepEqual(ids(f('killed.jsonl')), ids(f('whole.jsonl')));
  const v = await runCli(['streams', 'verify', f('killed.jsonl'), '--sensors', reg, '--home', home, '--allow-dev-setup', '--require-end']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /VERIFIED: 3 windows, 18 readings, sequences \{"meter":18\}, closed \{"meter":18\}/);
  // run again with the finished state: nothing left to do, nothing written twice
  const done = await runCli(args(f('killed.jsonl'), '--state', state));
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual(ids(f('killed.jsonl')), ids(f('whole.jsonl')));
  // the state of another pipeline is refused
  expectError(await runCli(['streams', 'run', '--sensors', reg, '--input', input, '--window', '2m', '--threshold', '100', '--out', f('other.jsonl'), '--home', home, '--state', state]), 'STREAM_STATE_INVALID');
});

test('streams run pipeline.yaml: sliding windows, two workers, results verify', async () => {
  const key = f('y.key.json');
  assert.equal((await runCli(['streams', 'sensor', 'keygen', '--id', 'y', '--out', key, '--registry', f('y-sensors.json')])).code, 0);
  // readings at 1, 2, 6, 7 minutes; windows of 10 minutes every 5: [-5, 5) holds 1, 2; [0, 10) all four; [5, 15) 6, 7
  writeFileSync(f('y.jsonl'), [1, 2, 6, 7].map((m, i) => JSON.stringify({ ts: T0 + m * 60_000_000, value: 10 * (i + 1) })).join('\n') + '\n');
  assert.equal((await runCli(['streams', 'sensor', 'sign', '--key', key, '--readings', f('y.jsonl'), '--out', f('y-signed.jsonl'), '--close'])).code, 0);
  writeFileSync(
    f('pipeline.yaml'),
    ['version: 1', 'sensors: y-sensors.json', 'source:', '  input: y-signed.jsonl', 'window: { kind: sliding, size: 10m, slide: 5m }', 'aggregate: { kind: streamagg, threshold: 25 }', 'sink: { kind: file, path: y-results.jsonl }', 'workers: 2', ''].join('\n'),
  );
  const r = await runCli(['streams', 'run', f('pipeline.yaml'), '--home', home]);
  assert.equal(r.code, 0, r.stderr);
  const v = await runCli(['streams', 'verify', f('y-results.jsonl'), '--sensors', f('y-sensors.json'), '--home', home, '--allow-dev-setup', '--require-end']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /n 2, sum 30, mean 15, above 0\n.*n 4, sum 100, mean 25, above 2\n.*n 2, sum 70, mean 35, above 2\n/);
  assert.match(v.stdout, /VERIFIED: 3 windows, 4 readings/);
});
