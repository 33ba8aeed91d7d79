/**
 * @module commands/kms
 * `veritee kms …`: the key management service and its workload client.
 *
 * - `serve (--db DIR | --postgres URL) --root-key FILE [--policy FILE] [--sim-anchors FILE]
 *   [--admin-jwks FILE] [--listen HOST:PORT] [--tls-cert F --tls-key F [--admin-client-ca F]]` runs the KMS.
 * - `fetch kbs:///<repo>/<type>/<tag> --kms URL --tee sim-snp|sim-tdx|snp|tdx [--ca FILE]
 *   [--evidence-cmd CMD] [--sim-anchors-out FILE] [--out FILE]` runs the KBS exchange
 *   from the workload and prints (or writes) the secret.
 * - `secret put <tenant>/<path> (--value V | --file F)` and `policy put <tenant> --file F
 *   [--prefix P]` write directly to the database (bootstrap, before any admin exists).
 * - `audit verify (--db | --postgres) --root-key FILE [--expect-head SEQ:HASH]` checks
 *   the hash chain and MACs; exit 1 on any edit, deletion or truncation.
 *
 * The simulated TEE (`--tee sim-*`) creates a fresh simulated key hierarchy in the client;
 * `--sim-anchors-out` writes its anchors where a `serve --sim-anchors` (re-read on
 * change) finds them. DEVELOPMENT ONLY: labelled, and refused by production policies.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseJsonStrict, toHex, VeriteeError } from '@veritee/core';
import type { TrustAnchors } from '@veritee/attestation';

/** Loaded when a kms command runs, not at CLI start-up (PGlite is large). */
const kmsLib = () => import('@veritee/kms');
const attestation = () => import('@veritee/attestation');

interface DbOpts {
  db?: string;
  postgres?: string;
  rootKey: string;
}

function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new VeriteeError('CLI_USAGE_INVALID', `--listen "${v.slice(0, 60)}" must be HOST:PORT or PORT`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

function readText(path: string, what: string, max = 1024 * 1024): string {
  try {
    if (statSync(path).size > max) throw new VeriteeError('INPUT_TOO_LARGE', `${what} ${path} is over ${max} bytes`);
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof VeriteeError) throw e;
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

async function openDb(o: DbOpts) {
  const k = await kmsLib();
  if ((o.db === undefined) === (o.postgres === undefined)) throw new VeriteeError('CLI_USAGE_INVALID', 'give exactly one of --db DIR (embedded) or --postgres URL');
  return o.db !== undefined ? k.openEmbedded(o.db) : k.openPostgres(o.postgres!);
}

async function openKms(o: DbOpts & { policy?: string; simAnchors?: string }) {
  const k = await kmsLib();
  const a = await attestation();
  const db = await openDb(o);
  try {
    let anchorsCache: { mtime: number; anchors: TrustAnchors } | undefined;
    const simulatedAnchors = o.simAnchors
      ? () => {
          // Re-read when the file changes, so a dev workload can publish fresh simulator anchors.
          if (!existsSync(o.simAnchors!)) return undefined;
          const mtime = statSync(o.simAnchors!).mtimeMs;
          if (!anchorsCache || anchorsCache.mtime !== mtime) {
            anchorsCache = { mtime, anchors: a.anchorsFromJson(parseJsonStrict(readText(o.simAnchors!, 'anchors file'), { what: 'anchors file' })) };
          }
          return anchorsCache.anchors;
        }
      : undefined;
    const kms = await k.Kms.open({
      db,
      rootKey: k.simulatedRootKeyFile(o.rootKey),
      attestationPolicy: o.policy ? a.loadPolicy(o.policy) : a.productionPolicy(),
      ...(simulatedAnchors ? { simulatedAnchors } : {}),
    });
    return { kms, db, k };
  } catch (e) {
    await db.close();
    throw e;
  }
}

// ---- serve ----------------------------------------------------------------------------

interface ServeOpts extends DbOpts {
  policy?: string;
  simAnchors?: string;
  adminJwks?: string;
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  adminClientCa?: string;
  log?: boolean;
}

async function serveCommand(o: ServeOpts): Promise<void> {
  const { host, port } = parseListen(o.listen);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new VeriteeError('CLI_USAGE_INVALID', 'give both --tls-cert and --tls-key, or neither');
  if (o.adminClientCa !== undefined && o.tlsCert === undefined) throw new VeriteeError('CLI_USAGE_INVALID', '--admin-client-ca (mTLS admin authentication) needs --tls-cert and --tls-key');
  const { kms, db, k } = await openKms(o);
  const adminJwks = o.adminJwks ? (parseJsonStrict(readText(o.adminJwks, 'admin JWKS'), { what: 'admin JWKS' }) as { keys: never[] }) : undefined;
  const app = await k.buildKmsServer({
    kms,
    ...(adminJwks ? { adminJwks } : {}),
    logger: o.log === true,
    ...(o.tlsCert ? { https: { cert: readText(o.tlsCert, 'TLS certificate'), key: readText(o.tlsKey!, 'TLS key') } } : {}),
    ...(o.adminClientCa ? { adminClientCa: readText(o.adminClientCa, 'admin client CA') } : {}),
  });
  let address: string;
  try {
    address = await app.listen({ host, port });
  } catch (e) {
    await db.close();
    throw new VeriteeError('SERVICE_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  process.stderr.write(`veritee kms: listening on ${address} (${db.backend} storage; root key: ${kms.rootKeyLabel})\n`);
  // scheduled rotation of transit keys with an auto_rotate_period (every instance may tick; a period rotates once)
  const rotation = k.transitRotationScheduler(kms);
  rotation.start();
  if (o.simAnchors) process.stderr.write(`veritee kms: accepting SIMULATED evidence anchored in ${o.simAnchors} when the policy allows it (development only)\n`);
  const stop = () => {
    void rotation
      .stop()
      .then(() => app.close())
      .then(() => db.close())
      .then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// ---- fetch ----------------------------------------------------------------------------

interface FetchOpts {
  kms: string;
  tee: string;
  ca?: string;
  evidenceCmd?: string;
  simAnchorsOut?: string;
  out?: string;
}

async function fetchCommand(resource: string, o: FetchOpts): Promise<void> {
  const k = await kmsLib();
  k.parseResourcePath(resource);
  const m = /^(sim-)?(snp|tdx)$/.exec(o.tee);
  if (!m) throw new VeriteeError('CLI_USAGE_INVALID', '--tee must be sim-snp, sim-tdx, snp or tdx');
  const platform = m[2] as 'snp' | 'tdx';
  let provider: import('@veritee/kms').EvidenceProvider;
  if (m[1]) {
    const a = await attestation();
    const tee = await a.SimulatedTee.create({ platforms: [platform] });
    if (o.simAnchorsOut) writeFileSync(o.simAnchorsOut, JSON.stringify(a.anchorsToJson(tee.anchors), null, 2) + '\n');
    process.stderr.write(`veritee kms fetch: using a SIMULATED ${platform} TEE (development only)\n`);
    provider = k.simulatedEvidenceProvider(tee, platform);
  } else {
    if (!o.evidenceCmd) throw new VeriteeError('CLI_USAGE_INVALID', `--tee ${platform} needs --evidence-cmd: a command that prints a veritee evidence envelope for the report data in $VERITEE_REPORT_DATA (hex)`);
    const cmd = o.evidenceCmd;
    provider = {
      tee: platform,
      evidence: (reportData) =>
        new Promise((resolve, reject) => {
          execFile('/bin/sh', ['-c', cmd], { env: { ...process.env, VERITEE_REPORT_DATA: toHex(reportData) }, maxBuffer: 2 * 1024 * 1024, timeout: 60_000 }, (err, stdout) => {
            if (err) reject(new VeriteeError('INPUT_INVALID', `--evidence-cmd failed: ${err.message.slice(0, 200)}`));
            else resolve(stdout.trim());
          });
        }),
    };
  }
  const client = new k.KmsClient({ url: o.kms, evidence: provider, ...(o.ca ? { ca: readText(o.ca, 'CA certificate') } : {}) });
  const secret = await client.getSecret(resource);
  if (o.out) {
    try {
      writeFileSync(o.out, secret, { mode: 0o600 });
    } catch (e) {
      throw new VeriteeError('INPUT_FILE_UNWRITABLE', `cannot write ${o.out}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    process.stderr.write(`veritee kms fetch: ${secret.length} bytes written to ${o.out}\n`);
  } else {
    process.stdout.write(secret);
  }
}

// ---- direct database commands -----------------------------------------------------------

async function withKms<T>(o: DbOpts, fn: (kms: import('@veritee/kms').Kms) => Promise<T>): Promise<T> {
  const { kms, db } = await openKms(o);
  try {
    return await fn(kms);
  } finally {
    await db.close();
  }
}

async function secretPut(target: string, o: DbOpts & { value?: string; file?: string; cas?: string }): Promise<void> {
  const i = target.indexOf('/');
  if (i <= 0) throw new VeriteeError('CLI_USAGE_INVALID', 'secret put needs <tenant>/<path>');
  if ((o.value === undefined) === (o.file === undefined)) throw new VeriteeError('CLI_USAGE_INVALID', 'give exactly one of --value or --file');
  const value = o.value ?? readText(o.file!, 'secret file', 64 * 1024);
  const cas = o.cas === undefined ? undefined : Number(o.cas);
  if (cas !== undefined && !(Number.isInteger(cas) && cas >= 0)) throw new VeriteeError('CLI_USAGE_INVALID', '--cas must be a non-negative integer');
  const r = await withKms(o, (kms) => kms.secrets.put(target.slice(0, i), target.slice(i + 1), { value }, cas !== undefined ? { cas } : {}));
  process.stdout.write(`${target}: version ${r.version}\n`);
}

async function policyPut(tenant: string, o: DbOpts & { file: string; prefix: string }): Promise<void> {
  const doc = parseJsonStrict(readText(o.file, 'policy file'), { what: 'KMS policy', code: 'KMS_POLICY_INVALID' });
  const v = await withKms(o, (kms) => kms.policies.put(tenant, o.prefix, doc));
  process.stdout.write(`${tenant}/${o.prefix || '(tenant-wide)'}: policy version ${v}\n`);
}

async function auditVerify(o: DbOpts & { expectHead?: string }): Promise<void> {
  const k = await kmsLib();
  let expectHead: { seq: number; hash: string } | undefined;
  if (o.expectHead !== undefined) {
    const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(o.expectHead);
    if (!m) throw new VeriteeError('CLI_USAGE_INVALID', '--expect-head must be SEQ:HASH (as printed by an earlier verify)');
    expectHead = { seq: Number(m[1]), hash: m[2]! };
  }
  const db = await openDb(o);
  try {
    const keys = new k.Keyring(await k.simulatedRootKeyFile(o.rootKey).unseal());
    const v = await k.verifyAudit(db, keys, expectHead ? { expectHead } : {});
    for (const p of v.problems) process.stderr.write(`✗ ${p}\n`);
    k.assertAuditOk(v);
    process.stdout.write(`✓ audit log verified: ${v.entries} entries; head ${v.head ? `${v.head.seq}:${v.head.hash}` : '(empty)'}\n`);
  } finally {
    await db.close();
  }
}

export function registerKmsCommands(program: Command): void {
  const cmd = program.command('kms').description('key management for attested workloads (KBS-compatible)');
  const dbOptions = (c: Command) =>
    c
      .option('--db <dir>', 'embedded database directory (PGlite)')
      .option('--postgres <url>', 'PostgreSQL connection URL')
      .requiredOption('--root-key <file>', 'root key file (simulated TEE seal, development only; created if missing)');

  dbOptions(cmd.command('serve').description('run the KMS'))
    .option('--policy <file>', 'attestation appraisal policy (default: the production policy)')
    .option('--sim-anchors <file>', 'simulated TEE anchors (development only; re-read when the file changes)')
    .option('--admin-jwks <file>', 'JWKS of the keys that sign admin JWTs')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8444')
    .option('--tls-cert <file>', 'TLS certificate chain (PEM)')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--admin-client-ca <file>', 'PEM CA of admin client certificates (mTLS admin authentication; needs --tls-cert)')
    .option('--log', 'request logs on stdout (pino; never secrets, tokens or cookies)')
    .action((o: ServeOpts) => serveCommand(o));

  cmd
    .command('fetch')
    .description('fetch a secret from inside the TEE: kbs:///<repository>/<type>/<tag>')
    .argument('<resource>', 'kbs:///<repository>/<type>/<tag>')
    .requiredOption('--kms <url>', 'KMS base URL')
    .requiredOption('--tee <tee>', 'sim-snp, sim-tdx (development only), snp or tdx')
    .option('--ca <file>', 'CA certificate for https')
    .option('--evidence-cmd <cmd>', 'hardware TEEs: command printing an evidence envelope for $VERITEE_REPORT_DATA')
    .option('--sim-anchors-out <file>', 'simulated TEE: write its anchors here (for serve --sim-anchors)')
    .option('--out <file>', 'write the secret to a file (mode 0600) instead of stdout')
    .action((resource: string, o: FetchOpts) => fetchCommand(resource, o));

  const secret = cmd.command('secret').description('write secrets directly to the database');
  dbOptions(secret.command('put').argument('<tenant/path>', 'tenant and secret path, e.g. tenant-a/db/password'))
    .option('--value <value>', 'the secret value')
    .option('--file <file>', 'read the secret value from a file')
    .option('--cas <version>', 'check-and-set: the version expected to be current (0 = must not exist)')
    .action((target: string, o: DbOpts & { value?: string; file?: string; cas?: string }) => secretPut(target, o));

  const policy = cmd.command('policy').description('write release policies directly to the database');
  dbOptions(policy.command('put').argument('<tenant>', 'tenant'))
    .requiredOption('--file <file>', 'policy document (JSON)')
    .option('--prefix <prefix>', 'path prefix ("" = tenant-wide)', '')
    .action((tenant: string, o: DbOpts & { file: string; prefix: string }) => policyPut(tenant, o));

  const audit = cmd.command('audit').description('the hash-chained audit log');
  dbOptions(audit.command('verify').description('verify every hash and MAC of the audit chain'))
    .option('--expect-head <seq:hash>', 'a head printed by an earlier verify: detects truncation')
    .action((o: DbOpts & { expectHead?: string }) => auditVerify(o));
}
