/**
 * `veritee audit` end to end at the 1024 size class: a latency v3 bundle
 * proven from a CSV passes an audit with its records (in any order) and its
 * opening, and fails with ZK_AUDIT_MISMATCH when one record is changed or
 * dropped, or the salt is wrong; bad inputs have their codes.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testHome } from '@veritee/zk/testing';
import { hasStackTrace, runCli } from '../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-audit-'));
const home = testHome();
const P0 = Date.parse('2025-06-01T00:00:00Z') * 1000;
const PERIOD = '2025-06-01T00:00:00Z/2025-06-01T01:00:00Z';
const bundle = join(dir, 'bundle.json');
const opening = join(dir, 'opening.json');

const rows: [number, number][] = [];
for (let i = 0; i < 300; i++) {
  const s = P0 + Math.floor((i * 3_600_000_000) / 300);
  rows.push([s, s + 20_000 + ((i * 7919) % 90_000)]);
}
const csv = (rs: [number, number][]) => 'start_us,end_us\n' + rs.map(([s, e]) => `${s},${e}`).join('\n') + '\n';
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

before(async () => {
  const r = await runCli(['prove', 'latency', '--records', file('records.csv', csv(rows)), '--period', PERIOD, '--sla', 'p95<100ms', '--out', bundle, '--opening-out', opening, '--home', home]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(opening).mode & 0o777, 0o600, 'the opening is private');
  assert.equal(JSON.parse(readFileSync(bundle, 'utf8')).claim.version, 3);
});

test('audit passes for exactly the records the bundle was proven from, in any order', async () => {
  const r = await runCli(['audit', '--bundle', bundle, '--records', join(dir, 'records.csv'), '--opening', opening, '--home', home]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^AUDIT PASSED/);
  for (const c of ['records.valid', 'outputs.recomputed', 'commitment.digest', 'commitment.key', 'commitment.proof']) assert.match(r.stdout, new RegExp(`✓ ${c.replace('.', '\\.')}`));
  const shuffled = [...rows.slice(150), ...rows.slice(0, 150)].reverse();
  const salt = JSON.parse(readFileSync(opening, 'utf8')).salt as string;
  const j = await runCli(['audit', '--bundle', bundle, '--records', file('shuffled.csv', csv(shuffled)), '--salt', salt, '--home', home, '--json']);
  assert.equal(j.code, 0, j.stdout + j.stderr);
  assert.equal(JSON.parse(j.stdout).ok, true);
});

test('one record changed, one dropped, or another salt: the audit fails with ZK_AUDIT_MISMATCH', async () => {
  const check = async (name: string, recs: [number, number][], failing: RegExp, salt?: string) => {
    const args = ['audit', '--bundle', bundle, '--records', file(`${name}.csv`, csv(recs)), '--home', home, '--json'];
    const r = await runCli(salt ? [...args, '--salt', salt] : [...args, '--opening', opening]);
    assert.equal(r.code, 1, `${name}: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, /error\[ZK_AUDIT_MISMATCH\]/, name);
    assert.equal(hasStackTrace(r.stderr), false);
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    assert.equal(out.ok, false);
    const failed = out.checks.filter((c) => !c.ok).map((c) => c.name);
    assert.ok(failed.includes('commitment.digest') && failed.includes('commitment.proof'), `${name}: ${failed.join(',')}`);
    assert.match(failed.join(','), failing, name);
  };
  // a latency changed by 1 us that moves no output: only the commitments notice
  const changed = rows.map((r) => [...r] as [number, number]);
  changed[10]![1] += 1;
  await check('changed', changed, /^commitment\.digest,commitment\.proof$/);
  await check('dropped', rows.slice(1), /outputs\.recomputed/);
  await check('salt', rows, /^commitment\.digest,commitment\.proof$/, '12345');
});

test('bad audit inputs have their codes', async () => {
  const both = await runCli(['audit', '--bundle', bundle, '--records', join(dir, 'records.csv'), '--opening', opening, '--salt', '1', '--home', home]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /error\[INPUT_INVALID\]/);
  const badSalt = await runCli(['audit', '--bundle', bundle, '--records', join(dir, 'records.csv'), '--salt', '0x12', '--home', home]);
  assert.match(badSalt.stderr, /error\[INPUT_INVALID\]/);
  const outside = await runCli(['audit', '--bundle', bundle, '--records', file('outside.csv', csv([[P0 - 5, P0 + 10]])), '--opening', opening, '--home', home]);
  assert.equal(outside.code, 2, outside.stderr);
  assert.match(outside.stderr, /error\[RECORD_OUTSIDE_PERIOD\]/);
});
