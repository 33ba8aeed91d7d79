/**
 * @module commands/zk
 * `veritee prove <claim>` (one command per registered claim, its options from
 * the claim's definition), `veritee verify`, `veritee zk setup|info`.
 */
import { chmodSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parseJsonStrict, quoteInput, toEpochMs, VeriteeError } from '@veritee/core';
import { loadPolicy } from '@veritee/attestation';
import {
  capacityOf,
  devSetup,
  KeyRing,
  LATENCY_CLAIM,
  latencyCapacityFor,
  loadKeyRingFromHome,
  prove as zkProve,
  readVerificationKeyFile,
  verifyBundle,
  productionBundlePolicy,
  claimDefinition,
  claimDefinitions,
  claimKinds,
  attachAttestation,
  createSimulatedEnclave,
  formatExpectation,
  parseExpectationText,
  parseProofBundle,
  resolveExpectation,
  type ClaimDefinition,
  type ExpectationTerm,
  type LatencyParams,
  type ProverPool,
  type VerificationKeyDocument,
} from '@veritee/zk';
import { assertWritable, MAX_JSON_BYTES, MAX_RECORDS_BYTES, printChecks, readTextFile, warnLoudly, writeJsonFile, writeOutputFile } from '../io.js';
import { summarizeClaim } from '../format.js';
import { homeOf, parseIntegerOption, progressPrinter, withPool } from './common.js';
import { runCeremonySetup } from './ceremony.js';
import { addRemoteProveOptions, proveLatencyOnRemote, type RemoteProveCliOptions } from './proxy.js';

const homeOption = () => new Option('--home <dir>', 'veritee home directory (default $VERITEE_HOME or ~/.veritee)');

/** Makes sure keys exist for a size class of a claim's circuit, running a loud dev setup if needed. */
export async function ensureDevKeys(pool: ProverPool, capacity: number, kind: string = LATENCY_CLAIM): Promise<VerificationKeyDocument> {
  let announced = false;
  return devSetup(pool, kind, capacity, {
    onProgress: (e) => {
      if (e.stage === 'cached') return;
      if (!announced) {
        warnLoudly([`No keys for ${kind}/${capacity}: running a DEV trusted setup.`, 'Dev keys can be forged by whoever made them; verifiers refuse them', 'unless given --allow-dev-setup.']);
        announced = true;
      }
      progressPrinter('setup')(e);
    },
  });
}

function parseSize(def: ClaimDefinition, v: string | undefined): number | undefined {
  if (v === undefined || v === 'auto') return undefined;
  // Digits only: Number() would read "0x400" or "1.024e3" as 1024.
  const c = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!def.capacities.includes(c)) throw new VeriteeError('INPUT_INVALID', `--size must be auto or one of ${def.capacities.join(', ')} (got ${quoteInput(v, 40)})`);
  return c;
}

/** `--input <file>`: the generic prove input `{ "params": {...}, "data": {...} }` (strict JSON) of a claim without its own options. */
function readProveInput(path: string): { params: unknown; data: unknown } {
  const v = parseJsonStrict(readTextFile(path, 'prove input'), { what: `prove input ${quoteInput(path, 80)}`, code: 'INPUT_JSON_INVALID' });
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !('params' in v) || !('data' in v) || Object.keys(v).length !== 2) {
    throw new VeriteeError('INPUT_INVALID', `prove input ${quoteInput(path, 80)} must be an object {"params": {...}, "data": {...}}`);
  }
  return v as { params: unknown; data: unknown };
}

type ProveCliOptions = { out: string; size: string; setup: boolean; simTee?: string; home?: string; input?: string } & RemoteProveCliOptions & Record<string, string | boolean | undefined>;

/** `veritee prove <kind>` for one claim: its own options (or --input), then the options every claim shares. */
function registerProveCommand(prove: Command, def: ClaimDefinition): void {
  const cmd = prove.command(def.kind).description(def.cli?.description ?? `prove a ${def.kind} claim: ${def.title}`);
  // Remote proving (the prover service of packages/proxy) serves latency claims.
  if (def.kind === LATENCY_CLAIM) addRemoteProveOptions(cmd);
  for (const o of def.cli?.options ?? [{ flags: '--input <file>', description: 'the prove input, JSON {"params": {...}, "data": {...}} (see the claim module in packages/zk/src/claims)', required: true }]) {
    const opt = new Option(o.flags, o.description);
    if (o.required) opt.makeOptionMandatory();
    if (o.default !== undefined) opt.default(o.default);
    cmd.addOption(opt);
  }
  cmd
    .requiredOption('--out <file>', 'where to write the proof bundle')
    .option('--size <n>', `size class: auto or ${def.capacities.join('|')}`, 'auto')
    .option('--no-setup', 'fail instead of running a dev setup when keys are missing')
    .option('--sim-tee <platform>', 'sign the claim with an enclave key inside the SIMULATED TEE (snp|tdx; development only)')
    .option('--opening-out <file>', 'where to write the opening (the secret salt) that `veritee audit` needs; keep it with the records')
    .addOption(homeOption())
    .action(async (o: ProveCliOptions & { openingOut?: string }) => {
      const simTee = o.simTee;
      if (simTee !== undefined && simTee !== 'snp' && simTee !== 'tdx') throw new VeriteeError('INPUT_INVALID', `--sim-tee must be snp or tdx (got ${quoteInput(simTee, 40)})`);
      assertWritable(o.out);
      if (o.openingOut !== undefined) assertWritable(o.openingOut, '--opening-out');
      // Records files are bounded by the records limit; other inputs (component lists) by the general one.
      const readText = (path: string, what: string) => readTextFile(path, what, what === 'records file' ? { maxBytes: MAX_RECORDS_BYTES } : {});
      const input = def.cli ? def.cli.read(o, readText) : readProveInput(String(o.input));
      const size = parseSize(def, o.size);
      if (o.remote) {
        const { params, data } = input as { params: LatencyParams; data: { records: number[] } };
        const capacity = size ?? latencyCapacityFor(data.records.length / 2);
        const bundle = await proveLatencyOnRemote(o, { params, records: data.records, capacity });
        writeJsonFile(o.out, bundle);
        for (const l of summarizeClaim(bundle)) process.stdout.write(l + '\n');
        process.stdout.write(`proof written to ${o.out} (proven remotely by ${o.remote}, verified locally)\n`);
        return;
      }
      const result = await withPool(homeOf(o), async (pool) => {
        let capacity: number | undefined = size;
        if (def.prepare) {
          // Its parameters are completed by the prover; they name the size class (inclusion: the depth).
          capacity ??= capacityOf(def, input.params, input.data);
        } else {
          // Size the proof before any setup: bad input fails fast, and the setup is for the class used.
          const data = def.normalize ? def.normalize(input.data) : input.data;
          def.check(input.params, data);
          capacity ??= capacityOf(def, input.params, data);
          const misfit = def.misfit(capacity, input.params, data);
          if (misfit) throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', misfit);
        }
        if (o.setup) await ensureDevKeys(pool, capacity!, def.kind);
        process.stderr.write(`proving a ${def.kind} claim in the ${capacity} size class…\n`);
        return zkProve(pool, def.kind, { params: input.params, data: input.data, ...(capacity !== undefined ? { capacity } : {}) });
      });
      let bundle: object = result.bundle;
      if (simTee) {
        warnLoudly([`Signing with an enclave key inside the SIMULATED ${simTee.toUpperCase()} TEE (development only).`]);
        bundle = attachAttestation(result.bundle, await createSimulatedEnclave({ platform: simTee }));
      }
      writeJsonFile(o.out, bundle);
      if (o.openingOut !== undefined) {
        writeOutputFile(o.openingOut, JSON.stringify({ format: 'veritee.opening/v1', salt: result.opening.salt }) + '\n', '--opening-out');
        chmodSync(o.openingOut, 0o600); // the salt is the secret that hides the records
      }
      for (const l of summarizeClaim(result.bundle)) process.stdout.write(l + '\n');
      process.stdout.write(`proof written to ${o.out} (prove ${result.timings.proveMs} ms, total ${result.timings.totalMs} ms)\n`);
    });
}

export function registerZkCommands(program: Command): void {
  const prove = program.command('prove').description('prove a claim about private data');
  for (const def of claimDefinitions()) registerProveCommand(prove, def);

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
    .option('--min-contributors <n>', 'ceremony keys only: at least this many distinct contributors')
    .option('--require-transcript <hash...>', 'ceremony keys only: accept only these transcript hashes (pins α, β, K to a transcript you or someone you trust verified with `veritee zk ceremony verify`)')
    .option('--image-policy <file>', 'inclusion bundles: the policy of an image that enforces its component tree (veritee image policy --enforcing; repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'machine-readable result on stdout')
    .addOption(homeOption())
    .action(async (file: string, o: { expect?: string[]; policy?: string; at?: string; proofOnly?: boolean; allowSimulated?: boolean; json?: boolean; allowDevSetup?: boolean; vk?: string[]; home?: string; requireContribution?: string[]; requireContributor?: string[]; minContributors?: string; requireTranscript?: string[] }) => {
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
        ceremony: {
          requireContributions: o.requireContribution ?? [],
          requireContributors: o.requireContributor ?? [],
          ...(o.minContributors !== undefined ? { minContributors: parseIntegerOption('--min-contributors', o.minContributors, 1, 10000) } : {}),
          ...(o.requireTranscript ? { requireTranscripts: o.requireTranscript } : {}),
        },
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
