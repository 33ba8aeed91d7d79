/**
 * `veritee market router …` through commander, in process (the lead wires the commands
 * under `veritee market`; here a program is built with a `market` command of its own):
 * two sealed provers (simulated TEE, real prover, dev keys in the shared test home), one
 * of them with a measurement the policy refuses, a router in front, then `directory` and
 * `prove` as a client would run them. Refusals come back as coded VeriteeErrors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { isVeriteeError } from '@veritee/core';
import { parseSla } from '@veritee/zk';
import { testHome } from '@veritee/zk/testing';
import { registerMarketRouterCommands, type MarketRouterCliIo } from './market-router.js';

const SIM_MEASUREMENT = createHash('sha384').update('veritee simulated SEV-SNP guest').digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'veritee-market-router-'));
const f = (name: string) => join(dir, name);
const home = testHome();
const services: { what: string; url: string; close: () => Promise<void> }[] = [];

function run(args: string[]): Promise<{ out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: MarketRouterCliIo = { out: (s) => out.push(s), err: (s) => err.push(s), onListening: (what, url, close) => services.push({ what, url, close }) };
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerMarketRouterCommands(program.command('market'), io);
  return program.parseAsync(['node', 'veritee', 'market', 'router', ...args]).then(() => ({ out: out.join(''), err: err.join('') }));
}

const policy = (measurement: string) =>
  JSON.stringify({ name: 'cli-router', platforms: ['snp'], allowSimulated: true, reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: [measurement] } });

before(async () => {
  await run(['backend', '--id', 'good', '--listen', '127.0.0.1:0', '--sim-anchors-out', f('anchors.json'), '--dev-setup', '--home', home]);
  await run(['backend', '--id', 'other', '--listen', '127.0.0.1:0', '--sim-measurement', 'cd'.repeat(48), '--sim-anchors-out', f('anchors-other.json'), '--home', home]);
  const [good, other] = services;
  await run(['serve', '--backends', `good=${good!.url},other=${other!.url}`, '--listen', '127.0.0.1:0']);
  writeFileSync(f('policy.json'), policy(SIM_MEASUREMENT));
  writeFileSync(f('policy-none.json'), policy('ef'.repeat(48)));
  let a = 5;
  const rnd = () => (a = (a * 1103515245 + 12345) % 2147483648) / 2147483648;
  const records: number[] = [];
  for (let i = 0; i < 600; i++) {
    const s = Math.floor(rnd() * 3_500_000_000);
    records.push(s, s + 1000 + Math.floor(rnd() * 200_000));
  }
  const periodStartUs = 1_763_596_800_000_000;
  writeFileSync(f('input.json'), JSON.stringify({ claim: 'latency', params: { periodStartUs, periodEndUs: periodStartUs + 3_600_000_000, ...parseSla('p95<150ms,p99<250ms,min=500') }, records }));
});

after(async () => {
  for (const s of services.reverse()) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const routerUrl = () => services.find((s) => s.what === 'router')!.url;

test('directory: the backend with the allowed measurement is accepted, the other refused with its code', async () => {
  // The two backends run separate simulators: pin the good one's anchors.
  const r = await run(['directory', '--router', routerUrl(), '--policy', f('policy.json'), '--sim-anchors', f('anchors.json')]);
  const doc = JSON.parse(r.out) as { accepted: { id: string; measurement: string; simulated: boolean }[]; rejected: { id: string; code: string }[] };
  assert.deepEqual(
    doc.accepted.map((b) => [b.id, b.measurement, b.simulated]),
    [['good', SIM_MEASUREMENT, true]],
  );
  assert.deepEqual(doc.rejected.map((b) => b.id), ['other']);
  assert.match(doc.rejected[0]!.code, /^ATTEST_/);
  assert.match(r.err, /Simulator anchors pinned/);
});

test('prove: sealed end to end through the router; the bundle is written and verified; the summary names the backend', async () => {
  const r = await run(['prove', '--router', routerUrl(), '--policy', f('policy.json'), '--sim-anchors', f('anchors.json'), '--input', f('input.json'), '--out', f('bundle.json'), '--allow-dev-setup', '--home', home]);
  const summary = JSON.parse(r.out) as { backend: string; requestId: string; receipt: { signature: string } };
  assert.equal(summary.backend, 'good');
  assert.match(summary.requestId, /^[0-9a-f]{32}$/);
  assert.match(r.err, /backend other not used: ATTEST_/);
  const bundle = JSON.parse(readFileSync(f('bundle.json'), 'utf8')) as { claim: { kind: string } };
  assert.equal(bundle.claim.kind, 'latency');
  // Without --allow-dev-setup, the dev-key bundle is refused (after the routed proof).
  await assert.rejects(run(['prove', '--router', routerUrl(), '--policy', f('policy.json'), '--sim-anchors', f('anchors.json'), '--input', f('input.json'), '--out', f('bundle2.json'), '--home', home]), (e: unknown) => isVeriteeError(e) && /^ZK_/.test(e.code));
});

test('refusals: no backend passes the policy; a named backend that does not pass; bad options', async () => {
  await assert.rejects(run(['prove', '--router', routerUrl(), '--policy', f('policy-none.json'), '--sim-anchors', f('anchors.json'), '--input', f('input.json')]), (e: unknown) => isVeriteeError(e, 'ROUTER_NO_ATTESTED_BACKEND'));
  await assert.rejects(run(['prove', '--router', routerUrl(), '--policy', f('policy.json'), '--sim-anchors', f('anchors.json'), '--input', f('input.json'), '--backend', 'other']), (e: unknown) => isVeriteeError(e, 'ROUTER_NO_ATTESTED_BACKEND'));
  await assert.rejects(run(['directory', '--router', routerUrl(), '--policy', f('policy-none.json'), '--sim-anchors', f('anchors.json')]), (e: unknown) => isVeriteeError(e, 'ROUTER_NO_ATTESTED_BACKEND'));
  await assert.rejects(run(['serve', '--backends', 'a=http://127.0.0.1:1,a=http://127.0.0.1:2', '--listen', '127.0.0.1:0']), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
  await assert.rejects(run(['backend', '--id', 'x', '--tee', 'snp', '--listen', '127.0.0.1:0']), (e: unknown) => isVeriteeError(e, 'ATTEST_PLATFORM_UNSUPPORTED'));
  await assert.rejects(run(['directory', '--router', 'not a url', '--policy', f('policy.json')]), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
});
