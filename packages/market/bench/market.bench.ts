/**
 * Market benchmark (prints Markdown tables):
 *
 * 1. matching throughput: 100 generators, 10,000 public-input asks on one market; ask
 *    creation (escrow) per second, one engine sweep (score, seeded tie-break, signed record,
 *    collateral lock, event) in asks matched per second, then a settlement sweep past the
 *    deadline (10,000 slashes + refunds) per second; the ledger invariants after. On PGlite
 *    and on PostgreSQL 15 (a throw-away cluster).
 * 2. private asks: the same sweep for 1,000 asks whose inputs the engine opens and
 *    re-encrypts (HPKE) to the chosen generator.
 * 3. end to end with real proofs: N private asks (disk claim, 128 cells, Go prover) over
 *    HTTP, two generators (run with runGenerator), from the requester's encryption to the
 *    completed, paid ask; the ledger invariants after.
 *
 * Run: node --import tsx packages/market/bench/market.bench.ts [--asks 10000] [--generators 100] [--e2e 40] [--no-postgres]
 */
import { loadavg } from 'node:os';
import { utf8, sha256 } from '@veritee/core';
import { SimulatedTee } from '@veritee/attestation';
import { startPgCluster } from '@veritee/kms';
import { veriteeHome } from '@veritee/zk';
import { inputsAad, publicKeyOf, sealTo, signValue } from '../src/crypto.js';
import { joinMessage, type Market } from '../src/market.js';
import { buildMarketServer } from '../src/server.js';
import { MarketClient, runGenerator } from '../src/client.js';
import { hexOf, measurement, openTestMarket, proveVeriteeClaim, ProverPool, smallClaimInputs, smallClaimKey, VERITEE_CLAIM_SYSTEM, type TestMarket } from '../src/testing.js';
import type { InputCheckingProofSystem } from '../src/market.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N_ASKS = arg('--asks', 10_000);
const N_GENS = arg('--generators', 100);
const N_E2E = arg('--e2e', 40);
const withPg = !process.argv.includes('--no-postgres');
const load = () => loadavg()[0]!.toFixed(1);
const T0 = Date.UTC(2026, 11, 6, 12);

/** A proof system for the throughput runs: keys and proofs are opaque and never checked (no proof is submitted there). */
const opaque: InputCheckingProofSystem = {
  id: 'bench-opaque',
  parseVerificationKey: (vk) => ({ canonical: vk, digest: hexOf(sha256(utf8(JSON.stringify(vk)))) }),
  verify: async (_vk, _pub, proof) => proof === 'sample',
};

async function populate(m: Market, tee: SimulatedTee, o: { asks: number; gens: number; private: boolean }): Promise<{ createMs: number }> {
  await m.createMarket({ id: 'bench', proofSystem: 'bench-opaque', verificationKey: { k: 1 }, allowedMeasurements: [hexOf(measurement(0xa1))], collateral: 10, slashPenalty: 6, slashRewardBp: 5000, sample: { publicInputs: null, proof: 'sample' } }, T0);
  const { EnclaveKeys } = await import('../src/crypto.js');
  for (let g = 0; g < o.gens; g++) {
    const id = `gen-${g}`;
    const secret = sha256(utf8(id));
    await m.registerGenerator({ id, identityKey: publicKeyOf(secret), stake: 100_000, maxConcurrent: Math.ceil((o.asks * 1.2) / o.gens) }, T0);
    const cost = 100 + ((g * 37) % 400);
    const provingTimeMs = 5_000 + ((g * 7919) % 50_000);
    let keys;
    let keysDigest: string | null = null;
    if (o.private) {
      keys = (await EnclaveKeys.create({ tee, role: 'generator', subject: `${id}/bench`, measurement: measurement(0xa1) })).attested;
      const { canonicalJsonBytes, toHex } = await import('@veritee/core');
      keysDigest = toHex(sha256(canonicalJsonBytes(keys)));
    }
    await m.joinMarket({ generatorId: id, marketId: 'bench', cost, provingTimeMs, ...(keys ? { keys } : {}), signature: signValue(secret, joinMessage({ generatorId: id, marketId: 'bench', cost, provingTimeMs, keysDigest })) }, T0);
  }
  const req = sha256(utf8('requester'));
  const t0 = performance.now();
  for (let i = 0; i < o.asks; i++) {
    const id = `ask-${i}`;
    const privateInputs = o.private ? await sealTo(m.engine.attested.hpkePublicKey, utf8(JSON.stringify({ i })), inputsAad('bench', id)) : undefined;
    await m.createAsk({ id, marketId: 'bench', requesterKey: publicKeyOf(req), startPrice: 200, maxPrice: 1000, startMs: T0, endMs: T0 + 60_000, assignmentExpiryMs: T0 + 3_600_000, provingTimeMs: 60_000, deadlineMs: T0 + 7_200_000, publicInputs: { i }, ...(privateInputs ? { privateInputs } : {}) }, T0);
  }
  return { createMs: performance.now() - t0 };
}

interface Row {
  backend: string;
  kind: string;
  asks: number;
  gens: number;
  createPerS: number;
  matched: number;
  matchPerS: number;
  /** Matched per CPU second of this process (PostgreSQL's own CPU is not counted). */
  matchPerCpuS: number;
  settlePerS: number;
  ledgerOk: boolean;
  load: string;
}

async function throughput(backend: 'embedded' | 'postgres', kind: 'public' | 'private', asks: number, gens: number, pgUrl?: string): Promise<Row> {
  const tee = await SimulatedTee.create({ platforms: ['snp'], at: T0 });
  const t: TestMarket = await openTestMarket({ tee, systems: [opaque], ...(pgUrl ? { postgresUrl: pgUrl } : {}) });
  try {
    const { createMs } = await populate(t.market, tee, { asks, gens, private: kind === 'private' });
    process.stderr.write(`${backend}/${kind}: ${asks} asks created in ${(createMs / 1000).toFixed(1)} s; matching…\n`);
    const t1 = performance.now();
    const cpu0 = process.cpuUsage();
    const r = await t.market.match(T0 + 45_000); // price 800: every generator's bid fits
    const matchMs = performance.now() - t1;
    const cpu = process.cpuUsage(cpu0);
    const matchCpuS = (cpu.user + cpu.system) / 1e6;
    const t2 = performance.now();
    const s = await t.market.settle(T0 + 7_200_000); // past every deadline: slash all, refund all
    const settleMs = performance.now() - t2;
    const c = await t.market.ledgerCheck();
    if (s.expired !== asks) throw new Error(`settled ${s.expired} of ${asks}`);
    return { backend, kind, asks, gens, createPerS: asks / (createMs / 1000), matched: r.matched, matchPerS: r.matched / (matchMs / 1000), matchPerCpuS: r.matched / matchCpuS, settlePerS: asks / (settleMs / 1000), ledgerOk: c.ok && c.escrowed === c.paid + c.refunded + c.escrowHeld, load: load() };
  } finally {
    await t.close();
  }
}

async function endToEnd(n: number): Promise<Record<string, string | number | boolean>> {
  const pool = new ProverPool({ home: veriteeHome(), size: 2 });
  const tee = await SimulatedTee.create({ platforms: ['snp'] });
  const t = await openTestMarket({ tee });
  const app = await buildMarketServer({ market: t.market, matchEveryMs: 50 });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const gens = [];
  try {
    const vk = await smallClaimKey(pool);
    const s = smallClaimInputs(1);
    const client = new MarketClient(url, { allowSimulated: true });
    await client.createMarket({ id: 'disk', proofSystem: VERITEE_CLAIM_SYSTEM, verificationKey: vk, allowedMeasurements: [hexOf(measurement(0xa1))], collateral: 50, slashPenalty: 20, slashRewardBp: 5000, sample: { publicInputs: s.publicInputs, proof: await proveVeriteeClaim(pool, vk, s.publicInputs, s.privateInputs) } });
    for (const id of ['p1', 'p2']) {
      const g = runGenerator({ url, generatorId: id, identitySecret: sha256(utf8(id)), stake: 100_000, maxConcurrent: 2, markets: [{ marketId: 'disk', cost: 100, provingTimeMs: 30_000 }], tee, measurement: measurement(0xa1), prove: (a) => proveVeriteeClaim(pool, a.verificationKey, a.publicInputs, a.privateInputs) });
      gens.push(g);
      await g.ready;
    }
    const req = sha256(utf8('requester'));
    const created = new Map<string, number>();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const now = Date.now();
      const inp = smallClaimInputs(100 + i);
      await client.createAsk({ id: `e2e-${i}`, marketId: 'disk', requesterSecret: req, startPrice: 500, maxPrice: 500, startMs: now, endMs: now, assignmentExpiryMs: now + 3_600_000, provingTimeMs: 600_000, deadlineMs: now + 3_600_000, publicInputs: inp.publicInputs, privateInputs: inp.privateInputs }, now);
      created.set(`e2e-${i}`, performance.now());
    }
    const latencies: number[] = [];
    let after = 0;
    while (latencies.length < n) {
      for (const e of await client.events(after, 5000)) {
        after = e.seq;
        if (e.type === 'ask.completed' && created.has(e.askId!)) latencies.push(performance.now() - created.get(e.askId!)!);
      }
    }
    const wall = performance.now() - t0;
    latencies.sort((a, b) => a - b);
    const c = await client.ledger();
    return { asks: n, wallS: (wall / 1000).toFixed(1), perAskS: (wall / 1000 / n).toFixed(2), p50S: (latencies[Math.floor(n / 2)]! / 1000).toFixed(1), maxS: (latencies[n - 1]! / 1000).toFixed(1), ledgerOk: c.ok && c.paid === 100 * n, load: load() };
  } finally {
    for (const g of gens) await g.stop();
    await app.close();
    await t.close();
    await pool.close();
  }
}

const rows: Row[] = [];
rows.push(await throughput('embedded', 'public', N_ASKS, N_GENS));
if (withPg) {
  const pg = await startPgCluster();
  try {
    rows.push(await throughput('postgres', 'public', N_ASKS, N_GENS, pg.url));
  } finally {
    await pg.stop();
  }
}
rows.push(await throughput('embedded', 'private', Math.min(1000, N_ASKS), N_GENS));
console.log('\n## Matching throughput\n');
console.log('| backend | asks | generators | create asks/s | matched | matched/s | matched per CPU-s (this process) | settle (slash+refund)/s | ledger consistent | load (1 min) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|---:|');
for (const r of rows) console.log(`| ${r.backend} (${r.kind}) | ${r.asks} | ${r.gens} | ${r.createPerS.toFixed(0)} | ${r.matched} | ${r.matchPerS.toFixed(0)} | ${r.matchPerCpuS.toFixed(0)} | ${r.settlePerS.toFixed(0)} | ${r.ledgerOk ? 'yes' : 'NO'} | ${r.load} |`);
if (N_E2E > 0) {
  const e = await endToEnd(N_E2E);
  console.log('\n## End to end with real proofs (disk claim, 128 cells; 2 generators, 2 Go provers; HTTP)\n');
  console.log('| asks | wall | per ask | create→complete p50 | max | ledger consistent | load (1 min) |');
  console.log('|---:|---:|---:|---:|---:|---|---:|');
  console.log(`| ${e.asks} | ${e.wallS} s | ${e.perAskS} s | ${e.p50S} s | ${e.maxS} s | ${e.ledgerOk ? 'yes' : 'NO'} | ${e.load} |`);
}
if (rows.some((r) => !r.ledgerOk)) process.exit(1);
