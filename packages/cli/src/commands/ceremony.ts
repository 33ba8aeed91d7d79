/**
 * @module commands/ceremony
 * `veritee zk ceremony …`: multi-party trusted setups (phase 1 or a verified
 * .ptau, phase 2 per circuit and size class, coordinator service, contributor,
 * beacon, verification, keys), and `veritee zk setup --ceremony` (a local
 * multi-contributor ceremony for every circuit).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { quoteInput, VeriteeError } from '@veritee/core';
import { claimDefinition, claimKinds, CEREMONY_NAME_RE } from '@veritee/zk';
import {
  buildCoordinator,
  circuitDomain,
  contributeRemote,
  initFromPtau,
  readManifest,
  runEngine,
  runLocalCeremony,
  stateFile,
  verifyPtau,
  type CeremonyVerification,
} from '@veritee/ceremony';
import { warnLoudly } from '../io.js';
import { homeOf } from './common.js';

const homeOption = () => new Option('--home <dir>', 'veritee home directory (default $VERITEE_HOME or ~/.veritee)');
const BEACON_RE = /^[0-9a-f]{32,128}$/;

function out(line: string): void {
  process.stdout.write(line + '\n');
}

function checkName(name: string): string {
  if (!CEREMONY_NAME_RE.test(name)) throw new VeriteeError('INPUT_INVALID', `--name ${quoteInput(name, 80)} must be 1-64 letters, digits, space and ._@+:- (it is published in the transcript)`);
  return name;
}

function checkBeacon(b: string, iterations: string): { beacon: string; iterations: number } {
  if (!BEACON_RE.test(b)) throw new VeriteeError('INPUT_INVALID', `--beacon must be 16-64 bytes of lowercase hex (a public value announced in advance, e.g. a future drand round), got ${quoteInput(b, 80)}`);
  const n = Number(iterations);
  if (!Number.isInteger(n) || n < 0 || n > 24) throw new VeriteeError('INPUT_INVALID', `--iterations must be an integer 0..24 (log2 of the sha256 iterations), got ${quoteInput(iterations, 20)}`);
  return { beacon: b, iterations: n };
}

function printVerification(v: CeremonyVerification): void {
  const c = v.vk.setup.ceremony!;
  out(`circuit ${v.vk.circuit} v${v.vk.circuitVersion}, size ${v.vk.capacity}: ${v.vk.constraints} constraints, domain ${c.domain}`);
  out(`phase 1: ${c.phase1} (${c.phase1Sha256})`);
  out(`constraint system ${c.r1csSha256}; initial state ${c.initSha256} (recomputed)`);
  c.contributions.forEach((k, i) => out(`contribution #${i + 1} ${k.name}: ${k.sha256}`));
  out(`beacon ${c.beacon} (2^${c.beaconIterationsExp} sha256 iterations)`);
  out(`transcript ${c.transcriptSha256}: VERIFIED (${v.transcriptBytes} bytes; initialize ${v.timings.initializeMs} ms, contributions ${v.timings.contributionsMs} ms, seal ${v.timings.sealMs} ms)`);
}

/** `veritee zk setup --ceremony`: a local ceremony for each circuit's chosen size classes (kept unless --force). */
export async function runCeremonySetup(o: { circuit?: string; size?: string; home?: string; force?: boolean }, circuits: string[]): Promise<void> {
  const home = homeOf(o);
  const beacon = randomBytes(32).toString('hex');
  warnLoudly([
    'LOCAL CEREMONY: every contributor below runs on this machine, so these keys are only as',
    'trustworthy as this machine. For production keys run `veritee zk ceremony serve` and let',
    'independent parties (verifiers too) `veritee zk ceremony contribute --url …`.',
  ]);
  for (const circuit of circuits) {
    const d = await circuitDomain(circuit, undefined);
    const sizes = o.size === 'all' ? d.sizes : o.size && o.size !== 'smallest' ? [Number(o.size)] : [Math.min(...d.sizes)];
    for (const size of sizes) {
      const id = `${d.circuit}-v${d.circuitVersion}-${size}`;
      const vk = join(home, 'keys', id, 'vk.json');
      if (!o.force && existsSync(vk) && (JSON.parse(readFileSync(vk, 'utf8')) as { setup?: { kind?: string } }).setup?.kind === 'ceremony') {
        out(`${circuit}/${size}: ceremony keys already present (use --force to run a new ceremony)`);
        continue;
      }
      rmSync(join(home, 'ceremonies', id), { recursive: true, force: true });
      const r = await runLocalCeremony({
        workDir: join(home, 'ceremonies'),
        home,
        circuit,
        size,
        contributors: ['local-1', 'local-2', 'local-3'],
        beacon,
        onProgress: (s, m) => process.stderr.write(`${circuit}/${size} [${s}] ${m}\n`),
      });
      const c = r.verification.vk.setup.ceremony!;
      out(`${circuit}/${size}: ceremony keys installed, transcript ${c.transcriptSha256} (${r.dir})`);
    }
  }
}

/** Registers `veritee zk ceremony …` under the existing `zk` command. */
export function registerCeremonyCommands(program: Command): void {
  const zk = program.commands.find((c) => c.name() === 'zk') ?? program.command('zk').description('zero-knowledge keys and prover');
  const cer = zk.command('ceremony').description('multi-party trusted setup: keys nobody has to trust (see @veritee/ceremony README)');

  const p1 = cer.command('phase1').description('powers of tau run as a veritee ceremony (or use `init --ptau` with a snarkjs .ptau)');
  p1.command('new')
    .description('start a phase-1 ceremony for domains up to 2^power')
    .requiredOption('--dir <dir>', 'phase-1 directory')
    .requiredOption('--power <p>', 'log2 of the largest domain (see `veritee zk ceremony domain`)')
    .action(async (o: { dir: string; power: string }) => {
      await runEngine('phase1-new', { dir: o.dir, power: Number(o.power) });
      out(`phase-1 ceremony for 2^${o.power} started in ${o.dir}`);
    });
  p1.command('contribute')
    .description('contribute to the phase-1 ceremony in a directory (fresh randomness, verified, appended)')
    .requiredOption('--dir <dir>', 'phase-1 directory')
    .requiredOption('--name <name>', 'your name, published in the transcript')
    .action(async (o: { dir: string; name: string }) => {
      const m = JSON.parse(readFileSync(join(o.dir, 'phase1.json'), 'utf8')) as { contributions: unknown[] };
      const next = join(o.dir, `incoming-${m.contributions.length + 1}.bin`);
      const c = await runEngine<{ sha256: string; contributeMs: number }>('phase1-contribute', { in: join(o.dir, stateFile(m.contributions.length)), out: next });
      await runEngine('phase1-accept', { dir: o.dir, name: checkName(o.name), file: next });
      out(`contribution hash (publish it): ${c.sha256}`);
    });
  p1.command('seal')
    .description('verify the phase-1 transcript, apply the beacon and write srs.bin')
    .requiredOption('--dir <dir>', 'phase-1 directory')
    .requiredOption('--beacon <hex>', 'public random value announced before the last contribution')
    .option('--iterations <e>', 'log2 of the sha256 iterations over the beacon', '10')
    .action(async (o: { dir: string; beacon: string; iterations: string }) => {
      const b = checkBeacon(o.beacon, o.iterations);
      const m = await runEngine<{ srsSha256: string; transcriptSha256: string }>('phase1-seal', { dir: o.dir, beacon: b.beacon, iterations: b.iterations });
      out(`phase 1 sealed: srs.bin ${m.srsSha256}, transcript ${m.transcriptSha256}`);
    });
  p1.command('verify')
    .description('re-verify a sealed phase-1 transcript')
    .requiredOption('--dir <dir>', 'phase-1 directory')
    .action(async (o: { dir: string }) => {
      const r = await runEngine<{ manifest: { power: number; contributions: { name: string; sha256: string }[]; transcriptSha256: string }; verifyMs: number }>('phase1-verify', { dir: o.dir });
      r.manifest.contributions.forEach((k, i) => out(`contribution #${i + 1} ${k.name}: ${k.sha256}`));
      out(`phase 1 (2^${r.manifest.power}) transcript ${r.manifest.transcriptSha256}: VERIFIED in ${r.verifyMs} ms`);
    });

  cer
    .command('domain')
    .description('constraints, FFT domain and phase-1 power a circuit size class needs')
    .requiredOption('--circuit <name>', `circuit: ${claimKinds().join(', ')}, or ceremony-selftest`)
    .option('--size <n>', 'size class (default the smallest)')
    .action(async (o: { circuit: string; size?: string }) => {
      const d = await circuitDomain(o.circuit, o.size ? Number(o.size) : undefined);
      out(`${d.circuit} v${d.circuitVersion} size ${d.size}: ${d.constraints} constraints, domain ${d.domain} (phase-1 power ${d.power}); sizes ${d.sizes.join(', ')}`);
    });

  cer
    .command('init')
    .description('start phase 2 for one circuit and size class (deterministic: verifiers recompute it)')
    .requiredOption('--dir <dir>', 'ceremony directory (created)')
    .requiredOption('--circuit <name>', `circuit: ${claimKinds().join(', ')}, or ceremony-selftest`)
    .requiredOption('--size <n>', 'size class')
    .option('--srs <file>', 'phase-1 result (srs.bin of a sealed veritee phase 1)')
    .option('--ptau <file>', 'a snarkjs .ptau (e.g. Perpetual Powers of Tau), verified with `snarkjs powersoftau verify` first')
    .option('--label <text>', 'phase-1 label recorded in the transcript')
    .action(async (o: { dir: string; circuit: string; size: string; srs?: string; ptau?: string; label?: string }) => {
      if (!!o.srs === !!o.ptau) throw new VeriteeError('CLI_USAGE_INVALID', 'give exactly one of --srs and --ptau');
      if (o.ptau) {
        const r = await initFromPtau({ dir: o.dir, circuit: o.circuit, size: Number(o.size), ptau: o.ptau, ...(o.label ? { label: o.label } : {}) });
        out(`snarkjs powersoftau verify: OK (${r.snarkjs.ms} ms)`);
        out(`phase 2 for ${r.manifest.circuit}/${r.manifest.capacity} started in ${o.dir}: ${r.manifest.constraints} constraints, initial state ${r.manifest.ceremony.initSha256} (${r.stateBytes} bytes, ${r.initMs} ms)`);
      } else {
        const r = await runEngine<{ manifest: { circuit: string; capacity: number; constraints: number; ceremony: { initSha256: string } }; stateBytes: number; initMs: number }>('init', { dir: o.dir, circuit: o.circuit, size: Number(o.size), srs: o.srs, label: o.label });
        out(`phase 2 for ${r.manifest.circuit}/${r.manifest.capacity} started in ${o.dir}: ${r.manifest.constraints} constraints, initial state ${r.manifest.ceremony.initSha256} (${r.stateBytes} bytes, ${r.initMs} ms)`);
      }
    });

  cer
    .command('contribute')
    .description('add your randomness: to a coordinator (--url) or to a ceremony directory (--dir); prints the hash to publish')
    .requiredOption('--name <name>', 'your name, published in the transcript')
    .option('--url <url>', 'coordinator base URL')
    .option('--dir <dir>', 'local ceremony directory')
    .action(async (o: { name: string; url?: string; dir?: string }) => {
      checkName(o.name);
      if (!!o.url === !!o.dir) throw new VeriteeError('CLI_USAGE_INVALID', 'give exactly one of --url and --dir');
      if (o.url) {
        const r = await contributeRemote({ url: o.url, name: o.name, onProgress: (s, m) => process.stderr.write(`[${s}] ${m}\n`) });
        out(`contribution #${r.index} by ${r.name} accepted (contributed in ${r.contributeMs} ms, verified by the coordinator in ${r.verifyMs} ms)`);
        out(`contribution hash (publish it; verifiers can require it): ${r.sha256}`);
        return;
      }
      const m = readManifest(o.dir!);
      const i = m.ceremony.contributions.length;
      const next = join(o.dir!, `incoming-${i + 1}.bin`);
      const c = await runEngine<{ sha256: string; contributeMs: number }>('contribute', { in: join(o.dir!, stateFile(i)), out: next });
      const a = await runEngine<{ verifyMs: number }>('accept', { dir: o.dir!, name: o.name, file: next });
      out(`contribution #${i + 1} by ${o.name} accepted (${c.contributeMs} ms, verified in ${a.verifyMs} ms)`);
      out(`contribution hash (publish it; verifiers can require it): ${c.sha256}`);
    });

  cer
    .command('serve')
    .description('coordinate a phase-2 ceremony over HTTP: one contributor at a time, each verified before it is accepted')
    .requiredOption('--dir <dir>', 'ceremony directory (from `init`)')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port', '8790')
    .option('--slot-seconds <s>', 'how long a contributor holds its turn', '600')
    .action(async (o: { dir: string; host: string; port: string; slotSeconds: string }) => {
      const app = buildCoordinator({ dir: o.dir, slotMs: Number(o.slotSeconds) * 1000, logger: true });
      try {
        await app.listen({ host: o.host, port: Number(o.port) });
      } catch (e) {
        throw new VeriteeError('SERVICE_LISTEN_FAILED', `cannot listen on ${o.host}:${o.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      process.stderr.write(`ceremony coordinator for ${o.dir} on http://${o.host}:${o.port} (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void app.close().then(() => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  cer
    .command('beacon')
    .description('close the ceremony with a public random beacon (announced in advance; verifiers re-derive it)')
    .requiredOption('--dir <dir>', 'ceremony directory')
    .requiredOption('--beacon <hex>', 'the beacon value, e.g. a drand round fixed before the last contribution')
    .option('--iterations <e>', 'log2 of the sha256 iterations over the beacon', '10')
    .action(async (o: { dir: string; beacon: string; iterations: string }) => {
      const b = checkBeacon(o.beacon, o.iterations);
      const m = await runEngine<{ ceremony: { transcriptSha256: string; contributions: unknown[] } }>('beacon', { dir: o.dir, beacon: b.beacon, iterations: b.iterations });
      out(`sealed after ${m.ceremony.contributions.length} contributions; transcript ${m.ceremony.transcriptSha256}`);
    });

  cer
    .command('verify')
    .description('verify the whole transcript (hash chain, proofs of knowledge, re-run initialization, beacon) and list every contribution')
    .requiredOption('--dir <dir>', 'ceremony directory (downloaded transcript)')
    .option('--circuit <name>', "the circuit you expect (default: the transcript's, rebuilt from this veritee)")
    .option('--size <n>', 'the size class you expect')
    .option('--beacon <hex>', 'the beacon you expect (as announced)')
    .option('--srs <file>', 'the sealed veritee phase 1 (srs.bin, verified with `phase1 verify`) the transcript must start from')
    .option('--ptau <file>', 'the .ptau (verified with snarkjs) the transcript must start from')
    .option('--require-contribution <hash...>', 'contribution hashes that must be in the transcript (yours)')
    .option('--installed', 'also check the keys installed in the veritee home against the transcript')
    .addOption(homeOption())
    .action(async (o: { dir: string; circuit?: string; size?: string; beacon?: string; srs?: string; ptau?: string; requireContribution?: string[]; installed?: boolean; home?: string }) => {
      if (o.ptau) {
        const p = await verifyPtau(o.ptau);
        if (!p.ok) throw new VeriteeError('CEREMONY_PTAU_INVALID', `snarkjs powersoftau verify refused ${quoteInput(o.ptau, 200)}`);
      }
      const v = await runEngine<CeremonyVerification>('verify', { dir: o.dir, circuit: o.circuit, size: o.size, srs: o.srs, ptau: o.ptau, home: o.installed ? homeOf(o) : undefined });
      printVerification(v);
      const c = v.vk.setup.ceremony!;
      if (o.beacon !== undefined && o.beacon.toLowerCase() !== c.beacon) throw new VeriteeError('CEREMONY_MISMATCH', `the transcript's beacon ${c.beacon} is not the announced ${quoteInput(o.beacon, 130)}`);
      const missing = (o.requireContribution ?? []).filter((h) => !c.contributions.some((k) => k.sha256 === h.toLowerCase()));
      if (missing.length) throw new VeriteeError('ZK_CEREMONY_POLICY', `the transcript lacks contribution ${missing.map((m) => quoteInput(m, 70)).join(', ')}`);
      if (o.srs || o.ptau) out(`phase 1: the transcript starts from ${o.srs ?? o.ptau}`);
      if (o.installed) out('installed keys: they are the ones this transcript produces');
    });

  cer
    .command('finalize')
    .description('verify the transcript and install its keys (pk, vk, vk.json with the transcript record) in the veritee home')
    .requiredOption('--dir <dir>', 'ceremony directory')
    .addOption(homeOption())
    .action(async (o: { dir: string; home?: string }) => {
      const home = homeOf(o);
      const v = await runEngine<CeremonyVerification>('finalize', { dir: o.dir, home });
      printVerification(v);
      out(`keys installed in ${join(home, 'keys', `${v.vk.circuit}-v${v.vk.circuitVersion}-${v.vk.capacity}`)}`);
    });

  cer
    .command('status')
    .description('show a ceremony directory: circuit, contributions, sealed or not')
    .requiredOption('--dir <dir>', 'ceremony directory')
    .action(async (o: { dir: string }) => {
      const m = readManifest(o.dir);
      out(`${m.circuit} v${m.circuitVersion} size ${m.capacity}: ${m.constraints} constraints, domain ${m.ceremony.domain}, phase 1 ${m.ceremony.phase1}`);
      m.ceremony.contributions.forEach((k, i) => out(`contribution #${i + 1} ${k.name}: ${k.sha256}`));
      out(m.sealed ? `sealed with beacon ${m.ceremony.beacon}; transcript ${m.ceremony.transcriptSha256}` : 'open for contributions');
    });

  cer
    .command('local')
    .description('run a whole ceremony on this machine (rehearsal): phase 1, N contributors, beacon, verify, install keys')
    .requiredOption('--circuit <name>', `circuit: ${claimKinds().join(', ')}, ceremony-selftest, or all`)
    .option('--size <n>', 'size class, smallest or all', 'smallest')
    .option('--contributors <names>', 'comma-separated contributor names', 'local-1,local-2,local-3')
    .option('--beacon <hex>', 'beacon (default: 32 random bytes)')
    .option('--ptau <file>', 'use this snarkjs .ptau (verified first) as phase 1')
    .option('--work-dir <dir>', 'where transcripts go (default HOME/ceremonies)')
    .addOption(homeOption())
    .action(async (o: { circuit: string; size: string; contributors: string; beacon?: string; ptau?: string; workDir?: string; home?: string }) => {
      const home = homeOf(o);
      const names = o.contributors.split(',').map((s) => checkName(s.trim()));
      const beacon = checkBeacon(o.beacon ?? randomBytes(32).toString('hex'), '10').beacon;
      const circuits = o.circuit === 'all' ? claimKinds() : [o.circuit];
      if (o.circuit !== 'all' && o.circuit !== 'ceremony-selftest' && !claimDefinition(o.circuit)) throw new VeriteeError('CLAIM_UNKNOWN', `no circuit named ${quoteInput(o.circuit, 40)} (have: ${claimKinds().join(', ')}, ceremony-selftest)`);
      if (o.ptau && !existsSync(o.ptau)) throw new VeriteeError('INPUT_FILE_UNREADABLE', `--ptau ${quoteInput(o.ptau, 200)} does not exist`);
      for (const circuit of circuits) {
        const d = await circuitDomain(circuit, undefined);
        const sizes = o.size === 'all' ? d.sizes : o.size === 'smallest' ? [Math.min(...d.sizes)] : [Number(o.size)];
        for (const size of sizes) {
          const r = await runLocalCeremony({
            workDir: o.workDir ?? join(home, 'ceremonies'),
            home,
            circuit,
            size,
            contributors: names,
            beacon,
            ...(o.ptau ? { ptau: o.ptau } : {}),
            onProgress: (s, m) => process.stderr.write(`${circuit}/${size} [${s}] ${m}\n`),
          });
          printVerification(r.verification);
          out(`timings: phase 1 ${r.timings.phase1Ms} ms, init ${r.timings.initMs} ms, contributions ${r.timings.contributeMs.join('/')} ms, accept-verify ${r.timings.acceptMs.join('/')} ms, verify+install ${r.timings.verifyAndInstallMs} ms`);
        }
      }
    });
}
