/**
 * @module commands/build
 * `veritee build`: attestable builds (package @veritee/build).
 *
 *   veritee build --source <git dir|file:// URL> --cmd "<command>" --artifacts dist/ --out build-result/
 *   veritee build verify <artifact> --provenance build-result/ --policy build-policy.yaml [--source-commit SHA]
 *     (also kettle's result directory: provenance.json + evidence.json, --layout kettle)
 *   veritee build measurement [--policy-template]
 *   veritee build policy <artifact> --provenance … --policy … [--launch-measurement HEX…] [--out deploy.yaml]
 *   veritee build reproduce --source … --cmd … --artifacts … --out dir/   (builds twice, reports what differs)
 *   veritee build compare <result-a> <result-b>
 *   veritee build serve [--host 127.0.0.1] [--port 8790]   (POST /build, SSE events, GET result)
 *
 * The builder runs in the SIMULATED TEE (development only): its evidence is refused by
 * every policy that does not set `allowSimulated: true` in its builder section.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fromHex, quoteInput, toEpochMs, VeriteeError } from '@veritee/core';
import { buildService, builderManifest, builderMeasurement, compareBuilds, deploymentPolicy, devBuildPolicyYaml, formatReproducibility, reproduceBuild, loadBuildPolicy, runBuild, verifyBuild, type BuildFiles, type SandboxMethod } from '@veritee/build';
import { listenError } from '@veritee/proxy';
import { printChecks, warnLoudly } from '../io.js';

interface BuildOpts {
  source: string;
  cmd?: string;
  artifacts?: string[];
  out?: string;
  rev?: string;
  platform: string;
  sandbox: string;
  nonce?: string;
  json?: boolean;
  preload?: string[];
  fetch: boolean;
}

interface VerifyOpts {
  provenance: string;
  policy: string;
  sourceCommit?: string;
  nonce?: string;
  at?: string;
  json?: boolean;
  layout: string;
}

function usage(msg: string): VeriteeError {
  return new VeriteeError('CLI_USAGE_INVALID', msg);
}

function nonceOf(hex: string | undefined): Uint8Array | undefined {
  if (hex === undefined) return undefined;
  const n = fromHex(hex.replace(/^0x/, ''), '--nonce');
  if (n.length !== 32) throw new VeriteeError('INPUT_INVALID', `--nonce must be 32 bytes of hex (got ${n.length})`);
  return n;
}

/** `--provenance`: a build-result directory, or the bundle file inside one. */
export function buildFilesOf(provenance: string): BuildFiles {
  if (!existsSync(provenance)) throw new VeriteeError('INPUT_FILE_UNREADABLE', `--provenance ${quoteInput(provenance)} does not exist`);
  if (statSync(provenance).isDirectory()) {
    // kettle writes its result into <dir>/kettle-build
    const kettle = join(provenance, 'kettle-build');
    if (!existsSync(join(provenance, 'provenance.sigstore.json')) && existsSync(kettle)) return { dir: kettle };
    return { dir: provenance };
  }
  return { dir: dirname(provenance), bundle: provenance };
}

export function registerBuildCommands(program: Command): void {
  const build = program
    .command('build')
    .description('attestable builds: build a git commit in the (simulated) TEE, sealed from the network, with signed SLSA provenance')
    .option('--source <dir|url>', 'local git repository (directory or file:// URL)', '.')
    .option('--cmd <command>', 'build command, run sealed (no network) in the export of the commit')
    .option('--artifacts <paths...>', 'artifact files or directories, relative to the repository root')
    .option('--out <dir>', 'output directory (empty or absent)')
    .option('--rev <rev>', 'revision to build', 'HEAD')
    .option('--platform <snp|tdx>', 'evidence platform of the simulated TEE', 'snp')
    .option('--sandbox <auto|bwrap|unshare>', 'network sealing', 'auto')
    .option('--nonce <hex>', "a client's 32-byte nonce to bind into the evidence")
    .option('--preload <name=dir...>', 'a host directory bound read-only at <name> in the build root, measured file by file (a policy must allowPreloaded)')
    .option('--no-fetch', 'do not fetch and check the lockfile dependencies (recorded; a policy must allowPreloaded)')
    .option('--json', 'print the result as JSON')
    .argument('[subcommand...]')
    .action(async (sub: string[], o: BuildOpts) => {
      if (sub.length > 0) {
        throw new VeriteeError('CLI_COMMAND_UNKNOWN', `no command "veritee build ${quoteInput(sub[0]!, 40).slice(1, -1)}" (verify, policy, measurement, reproduce, compare, serve)`);
      }
      if (!o.cmd || !o.artifacts?.length || !o.out) throw usage('veritee build needs --cmd, --artifacts and --out (see veritee build --help)');
      if (o.platform !== 'snp' && o.platform !== 'tdx') throw usage(`--platform ${quoteInput(o.platform)}: snp or tdx`);
      if (!['auto', 'bwrap', 'unshare'].includes(o.sandbox)) throw usage(`--sandbox ${quoteInput(o.sandbox)}: auto, bwrap or unshare`);
      const nonce = nonceOf(o.nonce);
      const preload = (o.preload ?? []).map((p) => {
        const i = p.indexOf('=');
        if (i <= 0 || i === p.length - 1) throw usage(`--preload ${quoteInput(p)}: write name=directory`);
        return { name: p.slice(0, i), path: p.slice(i + 1) };
      });
      warnLoudly(['veritee build runs in a SIMULATED TEE (development only):', 'its evidence proves nothing about real hardware.']);
      const r = await runBuild({
        source: o.source,
        rev: o.rev ?? 'HEAD',
        command: o.cmd,
        artifacts: o.artifacts,
        outDir: o.out,
        platform: o.platform,
        sandbox: o.sandbox as SandboxMethod | 'auto',
        ...(nonce ? { nonce } : {}),
        preload,
        fetch: o.fetch,
        onProgress: (p) => process.stderr.write(`build [${p.phase}] ${p.message}\n`),
      });
      if (o.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        `built ${r.subjects.length} artifact(s) from ${r.commit} (sealed: ${r.sealing.method}, ${r.dependencies} verified dependencies)\n` +
          r.subjects.map((s) => `  ${s.digest.sha256}  ${s.name}\n`).join('') +
          `provenance sha256 ${r.provenanceSha256}\nbuilder key sha256 ${r.keyHash}\nbuilder measurement ${r.measurement}\ninput Merkle root ${r.merkleRoot}\n` +
          `timings ms: ${Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}\nwrote ${o.out}\n`,
      );
    });

  build
    .command('verify <artifact>')
    .description('verify an artifact: subject digest, DSSE signature, builder key, evidence, builder launch measurement, sealing, source commit')
    .requiredOption('--provenance <dir|bundle>', 'the build-result directory (or its provenance.sigstore.json)')
    .requiredOption('--policy <file>', 'build policy (YAML/JSON)')
    .option('--source-commit <sha>', 'the commit the artifact must come from')
    .option('--nonce <hex>', 'the client nonce the build was requested with')
    .option('--at <time>', 'verification time (RFC 3339; default now)')
    .option('--layout <auto|veritee|kettle>', "veritee's Sigstore bundle or kettle's provenance.json + evidence.json", 'auto')
    .option('--json', 'print the checks as JSON')
    .action(async (artifact: string, o: VerifyOpts, cmd: Command) => {
      // the parent's --json is parsed by the parent (commander reads its options anywhere)
      const json = o.json === true || cmd.parent?.opts<{ json?: boolean }>().json === true;
      if (o.sourceCommit !== undefined && !/^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$/.test(o.sourceCommit)) {
        throw new VeriteeError('INPUT_INVALID', `--source-commit ${quoteInput(o.sourceCommit)} is not a full git commit id`);
      }
      if (!['auto', 'veritee', 'kettle'].includes(o.layout)) throw usage(`--layout ${quoteInput(o.layout)}: auto, veritee or kettle`);
      const nonce = nonceOf(o.nonce);
      const v = await verifyBuild({
        layout: o.layout as 'auto' | 'veritee' | 'kettle',
        artifact,
        files: buildFilesOf(o.provenance),
        policy: loadBuildPolicy(o.policy),
        at: new Date(toEpochMs(o.at ?? Date.now(), '--at')),
        ...(o.sourceCommit ? { sourceCommit: o.sourceCommit.toLowerCase() } : {}),
        ...(nonce ? { nonce } : {}),
      });
      if (json) process.stdout.write(JSON.stringify({ ok: v.ok, artifactSha256: v.artifactSha256, subject: v.subject, checks: v.checks }, null, 2) + '\n');
      else {
        process.stdout.write(`${v.ok ? 'VERIFIED' : 'REFUSED'}: ${quoteInput(artifact)} (sha256 ${v.artifactSha256})\n`);
        printChecks(v.checks);
      }
      if (!v.ok) {
        const first = v.failures[0]!;
        throw new VeriteeError(first.code ?? 'BUILD_PROVENANCE_INVALID', `build verification failed: ${v.failures.length} of ${v.checks.length} checks failed (${v.failures.map((c) => c.name).join(', ')})`);
      }
    });

  build
    .command('measurement')
    .description("print the simulated builder's launch measurement (what a build policy pins)")
    .option('--policy-template', 'print a development build policy pinning it (for --platform snp or tdx)')
    .option('--manifest', 'print what the simulated measurement covers (runtime, builder code, module closure, tools) as JSON')
    .action((o: { policyTemplate?: boolean; manifest?: boolean }, cmd: Command) => {
      const platform = cmd.parent?.opts<{ platform: string }>().platform ?? 'snp';
      if (platform !== 'snp' && platform !== 'tdx') throw usage(`--platform ${quoteInput(platform)}: snp or tdx`);
      if (o.manifest) {
        process.stdout.write(JSON.stringify(builderManifest(), null, 2) + '\n');
        return;
      }
      process.stdout.write(o.policyTemplate ? devBuildPolicyYaml(builderMeasurement(), platform) : `${builderMeasurement()}\n`);
    });

  build
    .command('serve')
    .description('build service (POST /build, GET /build/{id}/events as server-sent events, GET /build/{id}/result); run it behind veritee proxy')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port', '8790')
    .option('--max-queued <n>', 'builds waiting behind the running one before 429', '4')
    .option('--attested', "serve only through the attesting proxy (TLS whose evidence carries the builder measurement): clients attest the builder before they send source")
    .option('--sim-anchors-out <file>', 'with --attested: write the simulated TEE trust anchors clients need (development)')
    .action(async (o: { host: string; port: string; maxQueued: string; attested?: boolean; simAnchorsOut?: string }, cmd: Command) => {
      const port = Number(o.port);
      if (!/^\d{1,5}$/.test(o.port) || port > 65535) throw usage(`--port ${quoteInput(o.port)}: a port number`);
      if (!/^\d{1,3}$/.test(o.maxQueued)) throw usage(`--max-queued ${quoteInput(o.maxQueued)}: a small whole number`);
      if (o.simAnchorsOut && !o.attested) throw usage('--sim-anchors-out needs --attested');
      const sandbox = cmd.parent?.opts<{ sandbox: string }>().sandbox ?? 'auto';
      warnLoudly(['veritee build serve runs builds in a SIMULATED TEE (development only).', o.attested ? 'Clients attest the builder (its measurement) on the TLS connection before sending source.' : 'Use --attested (or put it behind veritee proxy) so clients attest the builder first.']);
      const { SimulatedTee, anchorsToJson } = await import('@veritee/attestation');
      const tee = await SimulatedTee.create({ platforms: ['snp', 'tdx'] });
      const app = buildService({ maxQueued: Number(o.maxQueued), sandbox: sandbox as SandboxMethod | 'auto', logger: true, tee });
      let proxy: { close(): Promise<void> } | undefined;
      try {
        if (o.attested) {
          // the build service on a private loopback port; only the attesting proxy is reachable on --host:--port
          const upstream = await app.listen({ host: '127.0.0.1', port: 0 });
          const { Enclave, createAttestingProxy, simulatedEvidenceProvider } = await import('@veritee/proxy');
          const enclave = Enclave.create(await simulatedEvidenceProvider({ tee, measurement: builderMeasurement() }));
          const p = await createAttestingProxy({ host: o.host, upstream, enclave, logger: false });
          const a = await p.listen(port, o.host);
          proxy = p;
          if (o.simAnchorsOut) writeFileSync(o.simAnchorsOut, JSON.stringify(anchorsToJson(tee.anchors), null, 2) + '\n');
          process.stderr.write(`attested build service on https://${o.host.includes(':') ? `[${o.host}]` : o.host}:${a.port} (builder measurement ${builderMeasurement()})\n`);
        } else {
          await app.listen({ host: o.host, port });
          process.stderr.write(`build service on http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}\n`);
        }
      } catch (e) {
        if (e instanceof VeriteeError) throw e;
        throw listenError(e as NodeJS.ErrnoException, o.host, port);
      }
      const stop = () => void Promise.all([proxy?.close(), app.close()]).then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  build
    .command('policy <artifact>')
    .description("verify a build, then write the attestation policy of the artifact's deployment (SNP HOST_DATA = sha256, TDX MRCONFIGID = sha384 of the artifact)")
    .requiredOption('--provenance <dir|bundle>', 'the build-result directory')
    .requiredOption('--policy <file>', 'build policy the build must satisfy')
    .option('--source-commit <sha>', 'the commit the artifact must come from')
    .option('--launch-measurement <hex...>', "the workload's allowed launch measurements / MRTDs (48 bytes hex)")
    .option('--name <name>', 'policy name')
    .option('--out <file>', 'write the policy here instead of stdout')
    .action(async (artifact: string, o: { provenance: string; policy: string; sourceCommit?: string; launchMeasurement?: string[]; name?: string; out?: string }, cmd: Command) => {
      const platform = cmd.parent?.opts<{ platform: string }>().platform ?? 'snp';
      if (platform !== 'snp' && platform !== 'tdx') throw usage(`--platform ${quoteInput(platform)}: snp or tdx`);
      if (o.sourceCommit !== undefined && !/^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$/.test(o.sourceCommit)) {
        throw new VeriteeError('INPUT_INVALID', `--source-commit ${quoteInput(o.sourceCommit)} is not a full git commit id`);
      }
      let bytes: Uint8Array;
      try {
        if (statSync(artifact).size > 2 ** 31) throw new VeriteeError('INPUT_TOO_LARGE', `artifact ${quoteInput(artifact)} is over 2 GiB`);
        bytes = new Uint8Array(readFileSync(artifact));
      } catch (e) {
        if (e instanceof VeriteeError) throw e;
        throw new VeriteeError('INPUT_FILE_UNREADABLE', `artifact ${quoteInput(artifact)} cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      const v = await verifyBuild({
        artifact: bytes,
        files: buildFilesOf(o.provenance),
        policy: loadBuildPolicy(o.policy),
        at: new Date(),
        ...(o.sourceCommit ? { sourceCommit: o.sourceCommit.toLowerCase() } : {}),
      });
      if (!v.ok) printChecks(v.checks, (t) => process.stderr.write(t));
      const d = deploymentPolicy(v, bytes, { platform, ...(o.launchMeasurement ? { launchMeasurements: o.launchMeasurement.map((m) => m.toLowerCase()) } : {}), ...(o.name ? { name: o.name } : {}) });
      if (o.out) {
        try {
          writeFileSync(o.out, d.yaml);
        } catch (e) {
          throw new VeriteeError('INPUT_FILE_UNWRITABLE', `cannot write ${quoteInput(o.out)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
        }
        process.stderr.write(`wrote ${o.out} (${platform === 'snp' ? 'HOST_DATA' : 'MRCONFIGID'} ${d.binding})\n`);
      } else process.stdout.write(d.yaml);
    });

  build
    .command('reproduce')
    .description('build the same commit twice (into <out>/a and <out>/b) and report what differs (attestable is not reproducible); takes the build options')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.parent!.opts<BuildOpts>();
      if (!o.cmd || !o.artifacts?.length || !o.out) throw usage('veritee build reproduce needs --cmd, --artifacts and --out');
      warnLoudly(['veritee build runs in a SIMULATED TEE (development only).']);
      const { report } = await reproduceBuild({
        source: o.source,
        rev: o.rev ?? 'HEAD',
        command: o.cmd,
        artifacts: o.artifacts,
        outDir: o.out,
        sandbox: o.sandbox as SandboxMethod | 'auto',
        onProgress: (p) => process.stderr.write(`build [${p.phase}] ${p.message}\n`),
      });
      process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatReproducibility(report));
    });

  build
    .command('compare <a> <b>')
    .description('compare two build results (diffoscope on differing files when installed)')
    .action((a: string, b: string, _o: unknown, cmd: Command) => {
      const report = compareBuilds(a, b);
      process.stdout.write(cmd.parent?.opts<{ json?: boolean }>().json ? JSON.stringify(report, null, 2) + '\n' : formatReproducibility(report));
    });
}
