/**
 * `veritee streams`: two sensors make keys into one registry, sign their readings,
 * `run` refuses a replayed line and proves the windows (real prover, dev keys),
 * `verify` accepts them only with --allow-dev-setup and refuses results with a
 * dropped reading or a changed output; bad input answers with STREAM_* codes, no
 * stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testHome } from '@veritee/zk/testing';
import { hasStackTrace, runCli } from '../testing.js';

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
    const r = await runCli(['streams', 'sensor', 'sign', '--key', f(`plug-${id}.key.json`), '--readings', f(`p${id}.jsonl`), '--out', f(`s${id}.jsonl`)]);
    assert.equal(r.code, 0, r.stderr);
  }
  const s1 = readFileSync(f('s1.jsonl'), 'utf8').trim().split('\n');
  const s2 = readFileSync(f('s2.jsonl'), 'utf8').trim().split('\n');
  // arrival order: interleaved by time, plug-2's reading 2 replayed
  writeFileSync(f('in.jsonl'), [s1[0], s2[0], s1[1], s2[1], s2[1], s1[2], s2[2], s1[3], s2[3], s1[4], s1[5], s1[6], s1[7]].join('\n') + '\n');
  assert.doesNotMatch(readFileSync(f('s1.jsonl'), 'utf8'), /secretKey/);

  const run = await runCli(['streams', 'run', '--sensors', f('sensors.json'), '--input', f('in.jsonl'), '--window', '15m', '--threshold', '215', '--out', f('results.jsonl'), '--home', home]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /refused STREAM_SEQUENCE_REPLAY: sensor plug-2: reading 2 was already accepted/);
  const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as { accepted: number; windows: number; refused: Record<string, number> };
  assert.deepEqual([summary.accepted, summary.windows, summary.refused], [12, 2, { STREAM_SEQUENCE_REPLAY: 1 }]);

  const verify = (file: string, ...extra: string[]) => runCli(['streams', 'verify', file, '--sensors', f('sensors.json'), '--home', home, ...extra]);
  const ok = await verify(f('results.jsonl'), '--allow-dev-setup', '--threshold', '215');
  assert.equal(ok.code, 0, ok.stderr);
  // window 0: plug-1 100..140 (600), plug-2 200..230 (860) → n 9, sum 1460, mean 162, above 215: 220, 230 → 2
  assert.match(ok.stdout, /n 9, sum 1460, mean 162, above 2/);
  assert.match(ok.stdout, /n 3, sum 1230, mean 410, above 3/);
  assert.match(ok.stdout, /VERIFIED: 2 windows, 12 readings/);
  expectError(await verify(f('results.jsonl')), 'STREAM_PROOF_INVALID', 1);
  expectError(await verify(f('results.jsonl'), '--allow-dev-setup', '--threshold', '216'), 'STREAM_COMMITMENT_MISMATCH', 1);

  const lines = readFileSync(f('results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { readings: unknown[]; bundle: { claim: { outputs: { sum: number } } } });
  const write = (name: string, ls: unknown[]) => writeFileSync(f(name), ls.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const dropped = structuredClone(lines);
  dropped[0]!.readings.splice(1, 1);
  write('dropped.jsonl', dropped);
  expectError(await verify(f('dropped.jsonl'), '--allow-dev-setup'), 'STREAM_SEQUENCE_GAP', 1);
  const changed = structuredClone(lines);
  changed[1]!.bundle.claim.outputs.sum += 1;
  write('changed.jsonl', changed);
  expectError(await verify(f('changed.jsonl'), '--allow-dev-setup'), 'STREAM_PROOF_INVALID', 1);
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
});
