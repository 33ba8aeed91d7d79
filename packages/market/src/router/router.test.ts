/**
 * The market router end to end on loopback: three sealed provers (simulated TEE, the real
 * Go prover through one shared pool, 1024 size class, dev keys cached in the test home),
 * a fourth whose measurement the policy does not allow, one router in front, and the
 * client library. Then a malicious router (a real Fastify front that rewrites what the
 * honest router says and does) tries to divert, replay and alter; the client must refuse
 * each with a code, and the provers must never open what was not sealed to them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { isVeriteeError, VeriteeError } from '@veritee/core';
import { parsePolicy, SimulatedTee, type Policy } from '@veritee/attestation';
import { simulatedEvidenceProvider } from '@veritee/proxy';
import { devSetup, KeyRing, parseSla, ProverPool } from '@veritee/zk';
import { chooseBackend, fetchDirectory, routedProve, sealInput, sendSealed, verifyDirectory, type VerifiedBackend } from './client.js';
import type { Directory, SealedInput } from './protocol.js';
import { buildMarketRouter, parseBackendList, type MarketRouter } from './router.js';
import { buildSealedProver, latencyProver, type SealedProver, type SealedProveFn } from './sealed-prover.js';

const SIM_MEASUREMENT = createHash('sha384').update('veritee simulated SEV-SNP guest').digest('hex');
const OTHER_MEASUREMENT = 'ab'.repeat(48);

function testHome(): string {
  if (process.env.VERITEE_TEST_HOME) return process.env.VERITEE_TEST_HOME;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'prover', 'go.mod'))) return join(dir, '.veritee', 'test-home');
    dir = dirname(dir);
  }
  throw new Error('repository root not found');
}

function devPolicy(): Policy {
  return parsePolicy({
    name: 'router-test',
    platforms: ['snp'],
    allowSimulated: true,
    reportData: { require: ['nonce', 'publicKeyHash'] },
    snp: { measurements: [SIM_MEASUREMENT] },
  });
}

/** A deterministic latency claim input (the prover service's request body): n records in one hour. */
function latencyInput(n: number, seed = 7): { claim: 'latency'; params: unknown; records: number[] } {
  let a = seed;
  const r = () => (a = (a * 1103515245 + 12345) % 2147483648) / 2147483648;
  const records: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.floor(r() * 3_500_000_000);
    records.push(s, s + 1000 + Math.floor(r() * 200_000));
  }
  const periodStartUs = 1_763_596_800_000_000;
  return { claim: 'latency', params: { periodStartUs, periodEndUs: periodStartUs + 3_600_000_000, ...parseSla('p95<150ms,p99<250ms,min=500') }, records };
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** A gate a prove function can wait at (to hold a request in flight). */
function gate() {
  let open: () => void = () => {};
  let p = Promise.resolve();
  return {
    close() {
      p = new Promise<void>((r) => (open = r));
    },
    open: () => open(),
    wait: () => p,
  };
}

let tee: SimulatedTee;
let pool: ProverPool;
let keys: KeyRing;
const provers: Record<string, SealedProver> = {};
const urls: Record<string, string> = {};
let router: MarketRouter;
let routerUrl: string;
const hold = gate();
/** Bodies the honest router received on its sealed route (to show it only ever sees ciphertext). */
const routerSaw: string[] = [];
const opts = () => ({ simulatedAnchors: tee.anchors, keys, allowDevSetup: true });

before(async () => {
  tee = await SimulatedTee.create({ platforms: ['snp'] });
  pool = new ProverPool({ home: testHome(), size: 1 });
  keys = new KeyRing();
  keys.add(await devSetup(pool, 'latency', 1024)); // cached in the shared test home
  const real = latencyProver(pool);
  const gated: SealedProveFn = async (input, signal) => {
    await hold.wait();
    return real(input, signal);
  };
  // "a-bad" sorts first: were it ever acceptable, a tie on load would pick it.
  const specs: [string, string, SealedProveFn][] = [
    ['p1', SIM_MEASUREMENT, gated],
    ['p2', SIM_MEASUREMENT, real],
    ['p3', SIM_MEASUREMENT, real],
    ['a-bad', OTHER_MEASUREMENT, real],
  ];
  for (const [id, measurement, prove] of specs) {
    const provider = await simulatedEvidenceProvider({ tee, measurement });
    provers[id] = await buildSealedProver({ backendId: id, provider, prove });
    urls[id] = await listen(provers[id]!);
  }
  router = await buildMarketRouter({ backends: parseBackendList(['p1', 'p2', 'p3', 'a-bad'].map((id) => `${id}=${urls[id]}`).join(',')) });
  router.addHook('preHandler', async (req) => {
    if (Buffer.isBuffer(req.body)) routerSaw.push(req.body.toString('utf8'));
  });
  routerUrl = await listen(router);
});

after(async () => {
  hold.open();
  await router?.close();
  for (const p of Object.values(provers)) await p.close();
  await pool?.close();
});

const opened = () => Object.fromEntries(Object.entries(provers).map(([id, p]) => [id, p.opened]));
const rejectsWith = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(isVeriteeError(e), `expected a VeriteeError, got ${String(e)}`);
  assert.equal((e as VeriteeError).code, code, (e as Error).message);
  if (re) assert.match((e as Error).message, re);
  return true;
};

describe('honest router', () => {
  test('happy path: a verified prover proves sealed inputs; the router forwards only ciphertext; the bundle verifies', async () => {
    const before = opened();
    const input = latencyInput(600, 11);
    const r = await routedProve(routerUrl, devPolicy(), input, opts());
    assert.equal(r.verification?.ok, true);
    assert.equal(r.backend.id, 'p1', 'all loads 0: the smallest acceptable id');
    assert.equal(provers.p1!.opened, before.p1! + 1);
    for (const id of ['p2', 'p3', 'a-bad']) assert.equal(provers[id]!.opened, before[id], `${id} opened nothing`);
    assert.deepEqual(
      r.rejected.map((x) => [x.id, x.code]),
      [['a-bad', 'ATTEST_MEASUREMENT_MISMATCH']],
    );
    assert.equal(r.backend.keyHash, provers.p1!.keyHash);
    // The router saw the request, but no record value in it.
    const seen = routerSaw.at(-1)!;
    assert.match(seen, /"requestId":"[0-9a-f]{32}"/);
    assert.ok(!seen.includes(String(input.records[0])) && !seen.includes('periodStartUs'), 'the router saw plaintext');
  });

  test('directory: every backend attested for the client nonce; the unallowed measurement is refused; a stale nonce is refused', async () => {
    const nonce = 'ab'.repeat(32);
    const dir = await fetchDirectory(routerUrl, nonce);
    assert.deepEqual(dir.backends.map((b) => b.id), ['p1', 'p2', 'p3', 'a-bad']);
    const check = await verifyDirectory(dir, nonce, devPolicy(), { simulatedAnchors: tee.anchors });
    assert.deepEqual(check.accepted.map((b) => b.id), ['p1', 'p2', 'p3']);
    assert.deepEqual(check.rejected.map((b) => b.code), ['ATTEST_MEASUREMENT_MISMATCH']);
    // The same evidence checked against another nonce: report data no longer matches.
    const other = await verifyDirectory({ ...dir, nonce: 'cd'.repeat(32) }, 'cd'.repeat(32), devPolicy(), { simulatedAnchors: tee.anchors });
    assert.equal(other.accepted.length, 0);
    assert.ok(other.rejected.slice(0, 3).every((b) => b.code === 'ATTEST_REPORT_DATA_MISMATCH'), JSON.stringify(other.rejected));
    await assert.rejects(verifyDirectory(dir, 'cd'.repeat(32), devPolicy()), rejectsWith('ROUTER_DIRECTORY_INVALID'));
    // A strict (production-like) policy refuses every simulated prover.
    const strict = parsePolicy({ platforms: ['snp'], reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: [SIM_MEASUREMENT] } });
    const s = await verifyDirectory(dir, nonce, strict, {});
    assert.equal(s.accepted.length, 0);
  });

  test('a backend whose measurement is not allowed is never used, even when asked for by name', async () => {
    const before = opened();
    await assert.rejects(routedProve(routerUrl, devPolicy(), latencyInput(600), { ...opts(), backendId: 'a-bad' }), rejectsWith('ROUTER_NO_ATTESTED_BACKEND'));
    assert.deepEqual(opened(), before);
  });

  test('load-aware: with p1 holding a request, the directory reports it and the client picks the least loaded verified backend', async () => {
    hold.close();
    const first = routedProve(routerUrl, devPolicy(), latencyInput(600, 21), { ...opts(), backendId: 'p1' });
    for (let i = 0; i < 500 && provers.p1!.inFlight === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(provers.p1!.inFlight, 1);
    const nonce = 'ef'.repeat(32);
    const dir = await fetchDirectory(routerUrl, nonce);
    assert.deepEqual(dir.backends.map((b) => [b.id, b.load]), [['p1', 1], ['p2', 0], ['p3', 0], ['a-bad', 0]]);
    const second = await routedProve(routerUrl, devPolicy(), latencyInput(600, 22), opts());
    assert.equal(second.backend.id, 'p2');
    assert.equal(second.verification?.ok, true);
    hold.open();
    const r1 = await first;
    assert.equal(r1.backend.id, 'p1');
    assert.equal(r1.verification?.ok, true);
  });

  test('chooseBackend: least load, unknown load last, ties by id', () => {
    const b = (id: string, load?: number) => ({ id, load }) as VerifiedBackend;
    assert.equal(chooseBackend([b('c', 2), b('b', 1), b('a', 1)]).id, 'a');
    assert.equal(chooseBackend([b('a'), b('z', 9)]).id, 'z');
    assert.equal(chooseBackend([b('a', 0), b('b', 5)], 'b').id, 'b');
    assert.throws(() => chooseBackend([]), rejectsWith('ROUTER_NO_ATTESTED_BACKEND'));
    assert.throws(() => chooseBackend([b('a', 0)], 'x'), rejectsWith('ROUTER_NO_ATTESTED_BACKEND'));
  });

  test('router refusals: unknown backend, missing nonce, bad backend lists', async () => {
    const r = await fetch(`${routerUrl}/v1/backends/nope/sealed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'ROUTER_BACKEND_UNKNOWN');
    const d = await fetch(`${routerUrl}/v1/directory`);
    assert.equal(d.status, 400);
    assert.throws(() => parseBackendList('p1=http://x,p1=http://y'), rejectsWith('INPUT_INVALID', /twice/));
    assert.throws(() => parseBackendList('P1=http://x'), rejectsWith('INPUT_INVALID'));
    assert.throws(() => parseBackendList('p1=ftp://x'), rejectsWith('INPUT_INVALID'));
    assert.throws(() => parseBackendList(''), rejectsWith('INPUT_INVALID'));
  });

  test('a prover refuses malformed sealed inputs and reports an unreachable backend as unattested', async () => {
    const r = await fetch(`${urls.p2}/v1/sealed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ backendId: 'p2' }) });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'INPUT_INVALID');
    const lonely = await buildMarketRouter({ backends: [{ id: 'gone', url: 'http://127.0.0.1:9' }], attestTimeoutMs: 2000 });
    const u = await listen(lonely);
    try {
      await assert.rejects(routedProve(u, devPolicy(), latencyInput(600), opts()), rejectsWith('ROUTER_NO_ATTESTED_BACKEND', /gone: ROUTER_BACKEND_UNATTESTED/));
    } finally {
      await lonely.close();
    }
  });

  test("a prover's own refusal comes back sealed and signed, with its code", async () => {
    const bad = latencyInput(600);
    bad.records[3] = bad.records[2]! - 5; // record 1 ends before it starts
    await assert.rejects(routedProve(routerUrl, devPolicy(), bad, { ...opts(), backendId: 'p3' }), (e: unknown) => {
      assert.ok(isVeriteeError(e));
      assert.equal(e.code, 'RECORD_END_BEFORE_START');
      assert.match(e.message, /backend p3 refused the input \(its signed answer\)/);
      return true;
    });
  });
});

describe('limits', () => {
  test('a prover at its in-flight limit answers 503 PROXY_PROVER_BUSY (before opening) and reports its load', async () => {
    const g = gate();
    g.close();
    const busy = await buildSealedProver({
      backendId: 'busy',
      provider: await simulatedEvidenceProvider({ tee }),
      maxInFlight: 1,
      prove: async () => {
        await g.wait();
        throw new VeriteeError('ZK_PROVER_CANCELLED', 'let go by the test');
      },
    });
    const url = await listen(busy);
    const r2 = await buildMarketRouter({ backends: [{ id: 'busy', url }] });
    const u2 = await listen(r2);
    try {
      const first = routedProve(u2, devPolicy(), { any: 1 }, { simulatedAnchors: tee.anchors });
      for (let i = 0; i < 500 && busy.inFlight === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal((await fetchDirectory(u2, '99'.repeat(32))).backends[0]!.load, 1);
      await assert.rejects(routedProve(u2, devPolicy(), { any: 2 }, { simulatedAnchors: tee.anchors }), rejectsWith('PROXY_PROVER_BUSY'));
      assert.equal(busy.opened, 1, 'the refused request was not opened');
      g.open();
      // The prover's own failure comes back signed, with its code.
      await assert.rejects(first, rejectsWith('ZK_PROVER_CANCELLED', /its signed answer/));
    } finally {
      g.open();
      await r2.close();
      await busy.close();
    }
  });

  test('bodies over the cap are refused by the router (413 INPUT_TOO_LARGE) and never reach a prover', async () => {
    const before = opened();
    const big = JSON.stringify({ backendId: 'p2', keyHash: provers.p2!.keyHash, requestId: '0'.repeat(32), enc: 'A'.repeat(43), ct: 'A'.repeat(13 * 1024 * 1024) });
    const r = await fetch(`${routerUrl}/v1/backends/p2/sealed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'INPUT_TOO_LARGE');
    assert.deepEqual(opened(), before);
  });
});

// ---- a malicious router -------------------------------------------------------------

interface Evil {
  directory?: (d: Directory) => Directory | Promise<Directory>;
  /** Handles a sealed request instead of forwarding it (forward() forwards it honestly). */
  sealed?: (s: SealedInput, id: string, forward: (s: SealedInput, id: string) => Promise<{ status: number; body: unknown }>) => Promise<{ status: number; body: unknown }>;
}

/** A real HTTP front with the router's API that rewrites what the honest router says and does. */
async function startEvilRouter(evil: Evil): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify({ bodyLimit: 16 * 1024 * 1024 });
  const forward = async (s: SealedInput, id: string) => {
    const r = await fetch(`${routerUrl}/v1/backends/${id}/sealed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(s) });
    return { status: r.status, body: await r.json() };
  };
  app.get<{ Querystring: { nonce: string } }>('/v1/directory', async (req) => {
    const d = (await (await fetch(`${routerUrl}/v1/directory?nonce=${req.query.nonce}`)).json()) as Directory;
    return evil.directory ? evil.directory(d) : d;
  });
  app.post<{ Params: { id: string }; Body: SealedInput }>('/v1/backends/:id/sealed', async (req, reply) => {
    const a = evil.sealed ? await evil.sealed(req.body, req.params.id, forward) : await forward(req.body, req.params.id);
    return reply.code(a.status).send(a.body);
  });
  const url = await listen(app);
  return { url, close: () => app.close() };
}

describe('malicious router: every diversion is caught by the client', () => {
  let impostor: SealedProver; // an unattested prover (wrong measurement) that claims to be p1
  let foreign: SealedProver; // a prover on another simulator (right measurement, anchors not the pinned ones)
  let foreignTee: SimulatedTee;
  before(async () => {
    impostor = await buildSealedProver({ backendId: 'p1', provider: await simulatedEvidenceProvider({ tee, measurement: OTHER_MEASUREMENT }), prove: latencyProver(pool) });
    foreignTee = await SimulatedTee.create({ platforms: ['snp'] });
    foreign = await buildSealedProver({ backendId: 'p1', provider: await simulatedEvidenceProvider({ tee: foreignTee }), prove: latencyProver(pool) });
  });
  after(async () => {
    await impostor.close();
    await foreign.close();
  });
  const attestOf = async (p: SealedProver, nonce: string) => (await p.inject({ method: 'POST', url: '/v1/attest', payload: { nonce } })).json();

  test('(a) directory entries swapped to an unattested prover, or to a prover on a simulator of its own: refused, never used', async () => {
    for (const [who, prover, code] of [
      ['wrong measurement', () => impostor, 'ATTEST_MEASUREMENT_MISMATCH'],
      ['foreign simulator', () => foreign, 'ATTEST_CERT_CHAIN_INVALID'],
    ] as const) {
      const evil = await startEvilRouter({
        directory: async (d) => ({ ...d, backends: await Promise.all(d.backends.map(async (b) => (b.id === 'a-bad' ? b : { ...b, attestation: await attestOf(prover(), d.nonce) }))) }),
        sealed: async () => assert.fail('no sealed request may leave the client'),
      });
      try {
        await assert.rejects(routedProve(evil.url, devPolicy(), latencyInput(600), opts()), (e: unknown) => {
          assert.ok(isVeriteeError(e, 'ROUTER_NO_ATTESTED_BACKEND'), String(e));
          assert.ok(e.message.includes(`p1: ${code}`), `${who}: ${e.message}`);
          return true;
        });
      } finally {
        await evil.close();
      }
    }
    assert.equal(impostor.opened + foreign.opened, 0);
    // Why simulator anchors must be pinned: unpinned, the anchors a directory offers are
    // trusted, and anyone can run a simulator with the right measurement.
    const nonce0 = '77'.repeat(32);
    const swapped: Directory = { version: 'veritee.market.router/v1', nonce: nonce0, backends: [{ id: 'p1', attestation: await attestOf(foreign, nonce0) }] };
    assert.equal((await verifyDirectory(swapped, nonce0, devPolicy(), {})).accepted.length, 1);
    assert.equal((await verifyDirectory(swapped, nonce0, devPolicy(), { simulatedAnchors: tee.anchors })).accepted.length, 0);
    // Only p1 swapped: the client routes around it to a genuine prover.
    const evil = await startEvilRouter({
      directory: async (d) => ({ ...d, backends: await Promise.all(d.backends.map(async (b) => (b.id === 'p1' ? { ...b, attestation: await attestOf(impostor, d.nonce) } : b))) }),
    });
    try {
      const nonce = '12'.repeat(32);
      const check = await verifyDirectory(await fetchDirectory(evil.url, nonce), nonce, devPolicy(), { simulatedAnchors: tee.anchors });
      assert.deepEqual(check.accepted.map((b) => b.id), ['p2', 'p3']);
      assert.deepEqual(check.rejected.map((b) => [b.id, b.code]), [['p1', 'ATTEST_MEASUREMENT_MISMATCH'], ['a-bad', 'ATTEST_MEASUREMENT_MISMATCH']]);
    } finally {
      await evil.close();
    }
  });

  test("(b1) the router substitutes its own encryption key (keeps p1's evidence): the report data does not bind it", async () => {
    const evil = await startEvilRouter({
      directory: async (d) => ({
        ...d,
        backends: await Promise.all(
          d.backends.map(async (b) => (b.attestation ? { ...b, attestation: { ...b.attestation, keys: { ...b.attestation.keys, hpke: (await attestOf(impostor, d.nonce)).keys.hpke } } } : b)),
        ),
      }),
      sealed: async () => assert.fail('no sealed request may leave the client'),
    });
    try {
      await assert.rejects(routedProve(evil.url, devPolicy(), latencyInput(600), opts()), rejectsWith('ROUTER_NO_ATTESTED_BACKEND', /p1: ATTEST_REPORT_DATA_MISMATCH/));
    } finally {
      await evil.close();
    }
  });

  test('(b1) relabelled entries (p2 listed as p1) are refused: the prover attests its own id', async () => {
    const evil = await startEvilRouter({
      directory: (d) => ({ ...d, backends: d.backends.map((b) => (b.id === 'p1' ? { ...b, attestation: d.backends.find((x) => x.id === 'p2')!.attestation } : b)) }),
    });
    try {
      const nonce = '34'.repeat(32);
      const check = await verifyDirectory(await fetchDirectory(evil.url, nonce), nonce, devPolicy(), { simulatedAnchors: tee.anchors });
      assert.deepEqual(check.rejected.find((b) => b.id === 'p1')?.code, 'ROUTER_DIRECTORY_INVALID');
    } finally {
      await evil.close();
    }
  });

  test('(b2) forwarded to another backend than the verified one: that backend cannot open it', async () => {
    const before = opened();
    const answers: string[] = [];
    const evil = await startEvilRouter({
      sealed: async (s, id, forward) => {
        const to = id === 'p1' ? 'p2' : 'p1';
        // As sent, and with the address rewritten so the other prover's pre-check passes.
        const plain = await forward(s, to);
        const other = provers[to]!;
        const rewritten = await forward({ ...s, backendId: to, keyHash: other.keyHash }, to);
        answers.push((plain.body as { error: { code: string } }).error.code, (rewritten.body as { error: { code: string } }).error.code);
        return rewritten;
      },
    });
    try {
      await assert.rejects(routedProve(evil.url, devPolicy(), latencyInput(600), { ...opts(), backendId: 'p1' }), rejectsWith('ROUTER_SEALED_INPUT_INVALID'));
      assert.deepEqual(answers, ['ROUTER_SEALED_INPUT_INVALID', 'ROUTER_SEALED_INPUT_INVALID']);
      assert.deepEqual(opened(), before, 'no prover opened the diverted input');
    } finally {
      await evil.close();
    }
  });

  test("(b3) the router answers with another prover's genuine result (to a request of its own): refused", async () => {
    const evil = await startEvilRouter({
      sealed: async (s, _id, forward) => {
        // The router seals its own input to p2 and passes p2's genuine signed answer off as p1's.
        const nonce = '56'.repeat(32);
        const check = await verifyDirectory(await fetchDirectory(routerUrl, nonce), nonce, devPolicy(), { simulatedAnchors: tee.anchors });
        const p2 = check.accepted.find((b) => b.id === 'p2')!;
        const own = await sealInput(p2, latencyInput(600, 99));
        const genuine = await forward(own.sealed, 'p2');
        assert.equal(genuine.status, 200);
        void s;
        return genuine;
      },
    });
    try {
      await assert.rejects(routedProve(evil.url, devPolicy(), latencyInput(600), { ...opts(), backendId: 'p1' }), rejectsWith('ROUTER_RESULT_INVALID', /names backend p2/));
    } finally {
      await evil.close();
    }
  });

  test('(c) a sealed input replayed to another backend and to the same one: both refused, proven once', async () => {
    const replays: { to: string; status: number; code: string }[] = [];
    const evil = await startEvilRouter({
      sealed: async (s, id, forward) => {
        const genuine = await forward(s, id);
        for (const to of ['p3', id]) {
          const r = await forward(to === id ? s : { ...s, backendId: to, keyHash: provers[to]!.keyHash }, to);
          replays.push({ to, status: r.status, code: (r.body as { error: { code: string } }).error.code });
        }
        return genuine;
      },
    });
    const before = opened();
    try {
      const r = await routedProve(evil.url, devPolicy(), latencyInput(600, 31), { ...opts(), backendId: 'p2' });
      assert.equal(r.verification?.ok, true, 'the genuine answer still verifies');
      assert.deepEqual(replays, [
        { to: 'p3', status: 422, code: 'ROUTER_SEALED_INPUT_INVALID' },
        { to: 'p2', status: 409, code: 'ROUTER_REQUEST_REPLAYED' },
      ]);
      assert.equal(provers.p2!.opened, before.p2! + 1);
      assert.equal(provers.p3!.opened, before.p3);
    } finally {
      await evil.close();
    }
  });

  test('(c) replay window: a stale input is refused before opening; moving its issue time breaks the AEAD; ids are remembered for the window', async () => {
    let now = Date.UTC(2026, 0, 1);
    const clocked = await buildSealedProver({
      backendId: 'clocked',
      provider: await simulatedEvidenceProvider({ tee }),
      clock: { now: () => now },
      replayWindowMs: 60_000,
      prove: async (input) => ({ bundle: input }),
    });
    const url = await listen(clocked);
    const r2 = await buildMarketRouter({ backends: [{ id: 'clocked', url }] });
    const u2 = await listen(r2);
    try {
      const nonce = '5a'.repeat(32);
      const check = await verifyDirectory(await fetchDirectory(u2, nonce), nonce, devPolicy(), { simulatedAnchors: tee.anchors });
      const b = check.accepted[0]!;
      const { sealed } = await sealInput(b, { x: 1 }, now - 61_000);
      await assert.rejects(sendSealed(u2, sealed), rejectsWith('ROUTER_REQUEST_STALE'));
      // A router that moves the issue time into the window: the AEAD binding refuses it.
      await assert.rejects(sendSealed(u2, { ...sealed, issuedAt: now }), rejectsWith('ROUTER_SEALED_INPUT_INVALID'));
      const fresh = await sealInput(b, { x: 2 }, now);
      assert.equal(((await sendSealed(u2, fresh.sealed)) as { requestId: string }).requestId, fresh.sealed.requestId);
      now += 30_000;
      await assert.rejects(sendSealed(u2, fresh.sealed), rejectsWith('ROUTER_REQUEST_REPLAYED'));
      // The same input twice at once: opened once only.
      const twin = await sealInput(b, { x: 3 }, now);
      const both = await Promise.allSettled([sendSealed(u2, twin.sealed), sendSealed(u2, twin.sealed)]);
      assert.equal(both.filter((x) => x.status === 'fulfilled').length, 1);
      assert.ok(both.some((x) => x.status === 'rejected' && isVeriteeError(x.reason, 'ROUTER_REQUEST_REPLAYED')));
      now += 31_000; // out of the window: refused as stale, never opened twice
      await assert.rejects(sendSealed(u2, fresh.sealed), rejectsWith('ROUTER_REQUEST_STALE'));
      assert.equal(clocked.opened, 2);
    } finally {
      await r2.close();
      await clocked.close();
    }
  });

  test('(d) an altered result (ciphertext, signature, request id, or an old answer replayed): refused', async () => {
    const alter: Record<string, (b: Record<string, string>) => Record<string, string>> = {
      ciphertext: (b) => ({ ...b, ct: flip(b.ct!) }),
      signature: (b) => ({ ...b, signature: flip(b.signature!) }),
      'request id': (b) => ({ ...b, requestId: 'f'.repeat(32) }),
    };
    let previous: unknown;
    for (const [what, f] of [...Object.entries(alter), ['an earlier answer', null] as const]) {
      const evil = await startEvilRouter({
        sealed: async (s, id, forward) => {
          const genuine = await forward(s, id);
          if (f === null) return { status: 200, body: previous };
          previous = genuine.body;
          return { status: 200, body: f(genuine.body as Record<string, string>) };
        },
      });
      try {
        await assert.rejects(routedProve(evil.url, devPolicy(), latencyInput(600, 40), { ...opts(), backendId: 'p3' }), rejectsWith('ROUTER_RESULT_INVALID'), what);
      } finally {
        await evil.close();
      }
    }
  });

  test('a directory for another nonce (a replayed directory) is refused', async () => {
    const evil = await startEvilRouter({ directory: (d) => ({ ...d, nonce: '00'.repeat(32) }) });
    try {
      await assert.rejects(routedProve(evil.url, devPolicy(), latencyInput(600), opts()), rejectsWith('ROUTER_DIRECTORY_INVALID'));
    } finally {
      await evil.close();
    }
  });
});

/** Flips one bit in the middle of a base64url string's decoded bytes. */
function flip(b64: string): string {
  const b = Buffer.from(b64, 'base64url');
  b[b.length >> 1]! ^= 1;
  return b.toString('base64url');
}
