/**
 * KMS releases through the whole KBS exchange on loopback, on both storage backends:
 *
 *   node --import tsx packages/kms/bench/kms.bench.ts [--releases 1000] [--concurrency 1000]
 *        [--transit-ops 2000] [--transit-concurrency 32] [--backends embedded,postgres]
 *
 * Each release is a fresh workload (KmsClient): new P-256 key, POST /kbs/v0/auth, simulated
 * SNP evidence bound to the runtime-data hash (signed by the simulator, in this process),
 * POST /kbs/v0/attest (full verification, EAR token, audit entry), GET /kbs/v0/resource
 * (policy, decrypt at rest, JWE, audit entry), JWE decryption. `--concurrency` of them run
 * at once. Then transit encrypt and decrypt through HTTP with one attested session.
 * PostgreSQL is a throw-away cluster (initdb/pg_ctl in a temp dir), removed afterwards.
 * Client and server share this process, so the figures are a lower bound for the server.
 */
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { SimulatedTee } from '@veritee/attestation';
import { Kms, KmsClient, buildKmsServer, openEmbedded, openPostgres, rootKeyBytes, simulatedEvidenceProvider, startPgCluster, type SqlDb } from '@veritee/kms';
import { parsePolicy } from '@veritee/attestation';
import { randomBytes } from 'node:crypto';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const RELEASES = Number(arg('releases', '1000'));
const CONCURRENCY = Number(arg('concurrency', '1000'));
const TRANSIT_OPS = Number(arg('transit-ops', '2000'));
const TRANSIT_CONC = Number(arg('transit-concurrency', '32'));
const BACKENDS = arg('backends', 'embedded,postgres').split(',');

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function pool<T>(n: number, conc: number, fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, conc) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

interface Row {
  backend: string;
  releases: number;
  errors: number;
  perSec: number;
  p50: number;
  p99: number;
  encPerSec: number;
  decPerSec: number;
  errSample?: string;
}

async function run(backend: string): Promise<Row> {
  const cluster = backend === 'postgres' ? await startPgCluster() : undefined;
  let db: SqlDb | undefined;
  try {
    db = cluster ? await openPostgres(cluster.url, { max: 20 }) : await openEmbedded();
    const tee = await SimulatedTee.create({ platforms: ['snp'] });
    const kms = await Kms.open({
      db,
      rootKey: rootKeyBytes(new Uint8Array(randomBytes(32))),
      attestationPolicy: parsePolicy({ name: 'bench', platforms: ['snp'], allowSimulated: true, reportData: { require: ['nonce'] }, snp: { measurements: 'any' } }),
      simulatedAnchors: tee.anchors,
      maxPendingSessions: 100_000,
    });
    await kms.policies.put('tenant-a', '', { rules: [{ name: 'bench', allowSimulated: true }] });
    await kms.secrets.put('tenant-a', 'db/password', { value: 'bench-secret' });
    await kms.transit.create('tenant-a', 'bench');
    const app = await buildKmsServer({ kms, rateLimit: { burst: 1e9, perSecond: 1e9 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      // warm-up
      await new KmsClient({ url, evidence: simulatedEvidenceProvider(tee, 'snp') }).getSecret('tenant-a/db/password');
      const lat: number[] = [];
      let errors = 0;
      let errSample: string | undefined;
      const t0 = performance.now();
      await pool(RELEASES, CONCURRENCY, async () => {
        const s = performance.now();
        try {
          const v = await new KmsClient({ url, evidence: simulatedEvidenceProvider(tee, 'snp'), timeoutMs: 600_000 }).getSecretText('tenant-a/db/password');
          if (v !== 'bench-secret') throw new Error('wrong value');
          lat.push(performance.now() - s);
        } catch (e) {
          errors++;
          errSample ??= (e as Error).message.slice(0, 160);
        }
      });
      const secs = (performance.now() - t0) / 1000;

      // transit through HTTP, one attested session
      const client = new KmsClient({ url, evidence: simulatedEvidenceProvider(tee, 'snp') });
      const token = await client.attest();
      const call = async (op: string, body: object): Promise<Record<string, unknown>> => {
        const r = await fetch(`${url}/kms/v0/transit/tenant-a/${op}/bench`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
        if (r.status !== 200) throw new Error(`transit ${op}: HTTP ${r.status}`);
        return (await r.json()) as Record<string, unknown>;
      };
      const pt = Buffer.alloc(256, 7).toString('base64');
      const cts: string[] = [];
      let e0 = performance.now();
      await pool(TRANSIT_OPS, TRANSIT_CONC, async () => {
        cts.push(String((await call('encrypt', { plaintext: pt })).ciphertext));
      });
      const encPerSec = TRANSIT_OPS / ((performance.now() - e0) / 1000);
      e0 = performance.now();
      await pool(TRANSIT_OPS, TRANSIT_CONC, async (i) => {
        await call('decrypt', { ciphertext: cts[i] });
      });
      const decPerSec = TRANSIT_OPS / ((performance.now() - e0) / 1000);
      return { backend, releases: RELEASES, errors, perSec: lat.length / secs, p50: pct(lat, 50), p99: pct(lat, 99), encPerSec, decPerSec, ...(errSample ? { errSample } : {}) };
    } finally {
      await app.close();
    }
  } finally {
    await db?.close();
    await cluster?.stop();
  }
}

const rows: Row[] = [];
for (const b of BACKENDS) rows.push(await run(b));
console.log(`\n## KMS: ${RELEASES} secret releases through the whole KBS exchange, ${CONCURRENCY} concurrent (simulated SNP); transit with 256-byte plaintexts, ${TRANSIT_CONC} concurrent\n`);
console.log('| backend | releases | errors | releases/s | p50 ms | p99 ms | transit encrypt ops/s | transit decrypt ops/s |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.backend} | ${r.releases} | ${r.errors} | ${r.perSec.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.encPerSec.toFixed(0)} | ${r.decPerSec.toFixed(0)} |`);
  if (r.errSample) console.log(`\nfirst error (${r.backend}): ${r.errSample}`);
}
console.log(`\n(${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; client and server in one process)`);
process.exit(rows.some((r) => r.errors > 0) ? 1 : 0);
