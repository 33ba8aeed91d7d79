/**
 * @module commands/zk
 * `veritee prove latency`, `veritee verify`, `veritee zk setup|info`.
 */
import { Command, Option } from 'commander';
import { quoteInput, toEpochMs, VeriteeError } from '@veritee/core';
import { loadPolicy } from '@veritee/attestation';
import {
  devSetup,
  detectRecordsFormat,
  KeyRing,
  LATENCY_CAPACITIES,
  LATENCY_CLAIM,
  latencyCapacityFor,
  loadKeyRingFromHome,
  parsePeriod,
  parseRecordsText,
  parseSla,
  proveLatency,
  readVerificationKeyFile,
  toPeriodOffsets,
  verifyBundle,
  productionBundlePolicy,
  claimDefinition,
  claimKinds,
  attachAttestation,
  createSimulatedEnclave,
  formatExpectation,
  parseExpectationText,
  parseProofBundle,
  resolveExpectation,
  type ExpectationTerm,
  type ProverPool,
  type VerificationKeyDocument,
} from '@veritee/zk';
import { assertWritable, MAX_JSON_BYTES, MAX_RECORDS_BYTES, printChecks, readJsonFile, readTextFile, warnLoudly, writeJsonFile } from '../io.js';
import { summarizeClaim } from '../format.js';
import { homeOf, progressPrinter, withPool } from './common.js';
import { runCeremonySetup } from './ceremony.js';
import { addRemoteProveOptions, proveLatencyOnRemote, type RemoteProveCliOptions } from './proxy.js';

const homeOption = () => new Option('--home <dir>', 'veritee home directory (default $VERITEE_HOME or ~/.veritee)');

/** Makes sure keys exist for a size class, running a loud dev setup if needed. */
export async function ensureDevKeys(pool: ProverPool, capacity: number): Promise<VerificationKeyDocument> {
  let announced = false;
  return devSetup(pool, LATENCY_CLAIM, capacity, {
    onProgress: (e) => {
      if (e.stage === 'cached') return;
      if (!announced) {
        warnLoudly([`No keys for ${LATENCY_CLAIM}/${capacity}: running a DEV trusted setup.`, 'Dev keys can be forged by whoever made them; verifiers refuse them', 'unless given --allow-dev-setup.']);
        announced = true;
      }
      progressPrinter('setup')(e);
    },
  });
}

function parseSize(v: string | undefined, n?: number): number {
  if (v === undefined || v === 'auto') return latencyCapacityFor(n ?? 1);
  // Digits only: Number() would read "0x400" or "1.024e3" as 1024.
  const c = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!(LATENCY_CAPACITIES as readonly number[]).includes(c)) {
    throw new VeriteeError('INPUT_INVALID', `--size must be auto or one of ${LATENCY_CAPACITIES.join(', ')} (got ${quoteInput(v, 40)})`);
  }
  return c;
}

export function registerZkCommands(program: Command): void {
  const prove = program.command('prove').description('prove a claim about private data');
  addRemoteProveOptions(prove.command('latency'))
    .description('prove latency percentiles and an SLA verdict over request records')
    .requiredOption('--records <file>', 'records as CSV (start_us,end_us) or JSON Lines ({"start_us","end_us"})')
    .requiredOption('--period <start/end>', 'reporting period, RFC 3339 or microseconds: 2025-06-01T00:00:00Z/2025-06-02T00:00:00Z')
    .requiredOption('--sla <expr>', 'SLA, e.g. "p95<100ms,p99<500ms,min=10000"')
    .requiredOption('--out <file>', 'where to write the proof bundle')
    .option('--size <n>', `size class: auto or ${LATENCY_CAPACITIES.join('|')}`, 'auto')
    .option('--no-setup', 'fail instead of running a dev setup when keys are missing')
    .option('--sim-tee <platform>', 'sign the commitment with an enclave key inside the SIMULATED TEE (snp|tdx; development only)')
    .addOption(homeOption())
    .action(async (o: { records: string; period: string; sla: string; out: string; size: string; setup: boolean; simTee?: string; home?: string } & RemoteProveCliOptions) => {
      const simTee = o.simTee;
      if (simTee !== undefined && simTee !== 'snp' && simTee !== 'tdx') throw new VeriteeError('INPUT_INVALID', `--sim-tee must be snp or tdx (got ${quoteInput(simTee, 40)})`);
      assertWritable(o.out);
      const { periodStartUs, periodEndUs } = parsePeriod(o.period);
      const { minN, slots } = parseSla(o.sla);
      const text = readTextFile(o.records, 'records file', { maxBytes: MAX_RECORDS_BYTES });
      const absolute = parseRecordsText(text, detectRecordsFormat(o.records, text));
      const records = toPeriodOffsets(absolute, periodStartUs, periodEndUs);
      const n = records.length / 2;
      const capacity = parseSize(o.size, n);
      if (capacity < n) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${n} records do not fit the ${capacity}-record size class`);
      const params = { periodStartUs, periodEndUs, minN, slots };
      if (o.remote) {
        const bundle = await proveLatencyOnRemote(o, { params, records, capacity });
        writeJsonFile(o.out, bundle);
        for (const l of summarizeClaim(bundle)) process.stdout.write(l + '\n');
        process.stdout.write(`proof written to ${o.out} (proven remotely by ${o.remote}, verified locally)\n`);
        return;
      }
      const result = await withPool(homeOf(o), async (pool) => {
        if (o.setup) await ensureDevKeys(pool, capacity);
        process.stderr.write(`proving ${n} records in the ${capacity}-record size class…\n`);
        return proveLatency(pool, { params, records, capacity });
      });
      let bundle: object = result.bundle;
      if (simTee) {
        warnLoudly([`Signing with an enclave key inside the SIMULATED ${simTee.toUpperCase()} TEE (development only).`]);
        bundle = attachAttestation(result.bundle, await createSimulatedEnclave({ platform: simTee }));
      }
      writeJsonFile(o.out, bundle);
      for (const l of summarizeClaim(result.bundle)) process.stdout.write(l + '\n');
      process.stdout.write(`proof written to ${o.out} (prove ${result.timings.proveMs} ms, total ${result.timings.totalMs} ms)\n`);
    });

  program
    .command('verify')
    .description('verify a proof bundle end to end (evidence -> enclave key -> signature -> proof); exits 0 only if every check passes')
    .argument('<bundle>', 'proof bundle (veritee.proof/v2 JSON)')
    .option(
      '--expect <terms>',
      'the claim parameters you require, KEY=VALUE terms: "sla=p95<100ms,p99<500ms", "kind=memory,threshold=85" (keys: kind and the claim\'s parameters; sla/name run to the end, write them last; repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--policy <file>', 'attestation policy (YAML/JSON); default: the strict production policy, report data bound to the enclave key')
    .option('--at <time>', 'verification time for certificates and collateral (RFC 3339; default now)')
    .option('--proof-only', 'check the proof alone; the attestation chain is NOT checked')
    .option('--allow-simulated', 'accept evidence from the simulated TEE (development only)')
    .option('--allow-dev-setup', 'accept keys from a DEV trusted setup (forgeable by whoever ran it)')
    .option('--vk <file...>', 'trust these verification key documents (in addition to the key store)')
    .option('--require-contribution <hash...>', 'ceremony keys only: contribution hashes that must be in the transcript (yours)')
    .option('--require-contributor <name...>', 'ceremony keys only: contributor names that must be in the transcript')
    .option('--image-policy <file>', 'inclusion bundles: the policy of an image that enforces its component tree (veritee image policy --enforcing; repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'machine-readable result on stdout')
    .addOption(homeOption())
    .action(async (file: string, o: { expect?: string[]; policy?: string; at?: string; proofOnly?: boolean; allowSimulated?: boolean; json?: boolean; allowDevSetup?: boolean; vk?: string[]; home?: string; requireContribution?: string[]; requireContributor?: string[] }) => {
      // A bundle that cannot be read, is not strict JSON (duplicate keys), is not a
      // bundle or has an unsupported version is bad input: error[CODE], exit 2.
      // Every named input is read first, so a missing or oversized file is reported as such.
      const text = readTextFile(file, 'proof bundle', { maxBytes: MAX_JSON_BYTES });
      const keys: KeyRing = loadKeyRingFromHome(homeOf(o));
      for (const p of o.vk ?? []) keys.add(readVerificationKeyFile(p));
      const policy = o.policy ? loadPolicy(o.policy) : productionBundlePolicy();
      const parsed = parseProofBundle(text);
      // So is a malformed --expect, or a key the claim kind does not have.
      const terms: ExpectationTerm[] = (o.expect ?? []).flatMap((t) => parseExpectationText(t, '--expect'));
      if (terms.length) resolveExpectation(terms, parsed.claim.kind, '--expect');
      const at = o.at ? new Date(toEpochMs(o.at, '--at')) : new Date();
      const imagePolicies = (await import('./image.js')).readImagePolicies((o as { imagePolicy?: string[] }).imagePolicy);
      const warnings: string[] = [];
      if (o.allowDevSetup) warnings.push('--allow-dev-setup: proofs made with DEV keys are accepted; whoever ran a dev setup can forge them.');
      if (o.allowSimulated) warnings.push('--allow-simulated: evidence from the SIMULATED TEE is accepted; it proves nothing about hardware.');
      if (o.proofOnly) warnings.push('--proof-only: the attestation chain (evidence, enclave signature) is NOT checked.');
      const parameters = formatExpectation(parsed.claim);
      if (!terms.length) {
        warnings.push(
          'no --expect: the verdict is relative to parameters the PROVER chose.',
          'Check them (printed below) or pin them with',
          `  --expect ${JSON.stringify(parameters.length > 160 ? parameters.slice(0, 157) + '...' : parameters)}`,
        );
      }
      if (warnings.length) warnLoudly(warnings);
      const r = await verifyBundle(text, {
        keys,
        policy,
        imagePolicies,
        at,
        allowDevSetup: o.allowDevSetup === true,
        ceremony: { requireContributions: o.requireContribution ?? [], requireContributors: o.requireContributor ?? [] },
        ...(o.allowSimulated ? { allowSimulated: true } : {}),
        proofOnly: o.proofOnly === true,
        ...(terms.length ? { expect: terms } : {}),
      });
      if (o.json) {
        process.stdout.write(
          JSON.stringify({ ok: r.ok, attested: r.attested, parameters, expected: terms.length ? terms.map((t) => t.text) : null, checks: r.checks, key: r.key, claim: r.bundle?.claim, commitment: r.bundle?.commitment, createdAt: r.bundle?.createdAt }, null, 2) + '\n',
        );
      } else {
        process.stdout.write(`${r.ok ? (r.attested ? 'VERIFIED (attested)' : 'VERIFIED (proof only)') : 'NOT VERIFIED'}: ${quoteInput(file, 200)}\n`);
        const pinned = r.checks.find((c) => c.name === 'claim.expected');
        process.stdout.write(`parameters: ${parameters}\n`);
        process.stdout.write(`  ${pinned ? (pinned.ok ? `pinned by --expect (${terms.map((t) => t.key).join(', ')})` : 'NOT the parameters --expect asked for') : 'chosen by the prover, NOT pinned (no --expect)'}\n`);
        printChecks(r.checks);
        if (r.bundle) for (const l of summarizeClaim(r.bundle)) process.stdout.write(`  ${l}\n`);
      }
      const failed = r.checks.filter((c) => !c.ok);
      if (failed.length) {
        const first = failed[0]!;
        process.stderr.write(`error[${first.code ?? 'ZK_PROOF_INVALID'}]: ${first.name}: ${first.detail}${failed.length > 1 ? ` (and ${failed.length - 1} more failed check${failed.length > 2 ? 's' : ''})` : ''}\n`);
      }
      process.exitCode = r.ok ? 0 : 1;
    });

  const zk = program.command('zk').description('zero-knowledge keys and prover');
  zk.command('setup')
    .description('run the DEV trusted setup for a circuit size class (cached under the veritee home)')
    .option('--circuit <name>', `circuit: ${claimKinds().join(', ')}`, LATENCY_CLAIM)
    .option('--size <n>', 'size class, or all (see `veritee zk info`)', 'smallest')
    .option('--force', 'redo the setup even if keys exist')
    .option('--ceremony', 'instead of a dev setup, run a local multi-contributor ceremony (every circuit unless --circuit is given)')
    .addOption(homeOption())
    .action(async (o: { circuit: string; size: string; force?: boolean; home?: string; ceremony?: boolean }, cmd: Command) => {
      if (o.ceremony) return runCeremonySetup(o, cmd.getOptionValueSource('circuit') === 'cli' ? [o.circuit] : claimKinds());
      const def = claimDefinition(o.circuit);
      if (!def) throw new VeriteeError('CLAIM_UNKNOWN', `no circuit named ${quoteInput(o.circuit, 40)} (have: ${claimKinds().join(', ')})`);
      const classes = [...def.capacities];
      let sizes: number[];
      if (o.size === 'all') sizes = classes;
      else if (o.size === 'smallest') sizes = [Math.min(...classes)];
      else if (/^[0-9]+$/.test(o.size) && classes.includes(Number(o.size))) sizes = [Number(o.size)];
      else throw new VeriteeError('INPUT_INVALID', `--size must be smallest, all or one of ${classes.join(', ')} for ${def.kind} (got ${quoteInput(o.size, 40)})`);
      warnLoudly(['DEV TRUSTED SETUP: one party makes these keys and could forge proofs.', 'Verifiers refuse them unless given --allow-dev-setup.']);
      await withPool(homeOf(o), async (pool) => {
        for (const capacity of sizes) {
          const doc = await devSetup(pool, def.kind, capacity, { force: o.force === true, onProgress: progressPrinter(`${def.kind}/${capacity}`) });
          process.stdout.write(`${def.kind}/${capacity}: ${doc.constraints} constraints, setup ${doc.setup.kind} (${doc.setup.createdAt})\n`);
        }
      });
    });
  zk.command('info')
    .description('show circuits, size classes and keys')
    .option('--json', 'machine-readable output')
    .addOption(homeOption())
    .action(async (o: { json?: boolean; home?: string }) => {
      const home = homeOf(o);
      const info = await withPool(home, (pool) => pool.request<InfoResult>({ op: 'info' }));
      const ring = loadKeyRingFromHome(home);
      const keys = ring.entries().map(([hash, d]) => ({ hash, circuit: d.circuit, capacity: d.capacity, constraints: d.constraints, setup: d.setup.kind, createdAt: d.setup.createdAt }));
      if (o.json) {
        process.stdout.write(JSON.stringify({ ...info, trustedKeys: keys }, null, 2) + '\n');
        return;
      }
      process.stdout.write(`veritee home: ${home}\nprover: ${info.protocol}, ${info.gnark ? `gnark ${info.gnark}, ` : ''}${info.goVersion}, ${info.cpus} CPUs\n`);
      for (const c of info.circuits) {
        process.stdout.write(`circuit ${c.name} v${c.version}: size classes ${c.capacities.join(', ')}; ${c.publicInputs.length} public inputs\n`);
        for (const k of c.keys) {
          const doc = keys.find((x) => x.circuit === c.name && x.capacity === k.capacity);
          process.stdout.write(`  ${String(k.capacity).padStart(6)}: ${doc ? `keys present, ${doc.constraints} constraints, ${doc.setup.toUpperCase()} setup, vk ${doc.hash.slice(0, 16)}…` : 'no keys (run `veritee zk setup --size ' + k.capacity + '`)'}\n`);
        }
      }
    });
}

interface InfoResult {
  protocol: string;
  gnark: string;
  goVersion: string;
  cpus: number;
  circuits: { name: string; version: number; capacities: number[]; publicInputs: string[]; keys: { capacity: number; present: boolean }[] }[];
}
