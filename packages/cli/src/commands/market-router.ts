/**
 * @module commands/market-router
 * `veritee market router`: one public endpoint in front of many attested provers
 * (@veritee/market, src/router).
 *
 *   veritee market router backend --id ID [--listen HOST:PORT] [--tee sim-snp|sim-tdx] [--sim-measurement HEX]
 *                                 [--sim-anchors-out FILE] [--dev-setup] [--pool-size N] [--max-in-flight N] [--home DIR]
 *   veritee market router serve --backends ID=URL[,ID=URL...] [--listen HOST:PORT]
 *   veritee market router directory --router URL --policy FILE [--allow-simulated] [--sim-anchors FILE]
 *   veritee market router prove --router URL --policy FILE --input FILE [--backend ID] [--out FILE]
 *                               [--allow-simulated] [--sim-anchors FILE] [--allow-dev-setup] [--home DIR]
 *
 * `backend` is a sealed prover (inside the TEE; this build has the simulated TEE only);
 * `serve` is the router (untrusted: it holds no secret); `directory` and `prove` are the
 * client, which verifies every backend itself and seals its input to the one it chose.
 * The lead wires {@link registerMarketRouterCommands} under `veritee market`.
 */
import type { Command } from 'commander';
import { quoteInput, VeriteeError } from '@veritee/core';
import type { Policy, TrustAnchors } from '@veritee/attestation';
import { MAX_JSON_BYTES, readJsonFile, warnLoudly, writeOutputFile } from '../io.js';
import { homeOf, listenOrFail, parseIntegerOption } from './common.js';

const market = () => import('@veritee/market');
const attestation = () => import('@veritee/attestation');

/** Where the commands write, and (for tests) who is told about a started service instead of waiting for signals. */
export interface MarketRouterCliIo {
  out(s: string): void;
  err(s: string): void;
  /** Called when a service listens; without it, SIGINT/SIGTERM stop the service. */
  onListening?(what: 'router' | 'backend', url: string, close: () => Promise<void>): void;
}

const processIo: MarketRouterCliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

function parseListen(v: string, defaultHost: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new VeriteeError('INPUT_INVALID', `--listen ${quoteInput(v, 80)} must be HOST:PORT, :PORT or PORT`);
  return { host: m[1] || m[2] || defaultHost, port };
}

function whenStopped(io: MarketRouterCliIo, what: 'router' | 'backend', url: string, close: () => Promise<void>): void {
  if (io.onListening) return io.onListening(what, url, close);
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(130);
    stopping = true;
    io.err('shutting down (signal again to stop now)\n');
    void close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

interface ClientOpts {
  router: string;
  policy: string;
  allowSimulated?: boolean;
  simAnchors?: string;
}

async function clientSetup(o: ClientOpts, io: MarketRouterCliIo): Promise<{ policy: Policy; simulatedAnchors?: TrustAnchors }> {
  const { loadPolicy, anchorsFromJson } = await attestation();
  const policy = loadPolicy(o.policy);
  const simulatedAnchors = o.simAnchors ? anchorsFromJson(readJsonFile(o.simAnchors, 'simulated anchors file', 'INPUT_JSON_INVALID', { maxBytes: MAX_JSON_BYTES })) : undefined;
  if (o.allowSimulated || policy.allowSimulated) {
    const lines = [
      'SIMULATED evidence is accepted (development only).',
      simulatedAnchors ? `Simulator anchors pinned from ${o.simAnchors}.` : 'No --sim-anchors: the anchors the DIRECTORY offers are trusted, which proves nothing.',
    ];
    if (io === processIo) warnLoudly(lines);
    else io.err(lines.join('\n') + '\n');
  }
  return { policy, ...(simulatedAnchors ? { simulatedAnchors } : {}) };
}

const measurementOf = (b: { attestation: { claims?: unknown } }) => {
  const c = b.attestation.claims as { measurement?: string; platform?: string; simulated?: boolean } | undefined;
  return { platform: c?.platform, measurement: c?.measurement, simulated: c?.simulated === true };
};

/** Registers `router …` under the `market` command. */
export function registerMarketRouterCommands(marketCommand: Command, io: MarketRouterCliIo = processIo): Command {
  const router = marketCommand.command('router').description('one public endpoint in front of many attested provers: clients verify the prover TEE and seal their inputs to it end to end');

  router
    .command('backend')
    .description('a sealed prover (inside the TEE): attests its HPKE and signing keys, opens inputs sealed to it, proves, signs the result')
    .requiredOption('--id <id>', 'backend id (lowercase letters, digits, . _ -), bound into its attestation')
    .option('--listen <[host]:port>', 'address to listen on (the router must reach it)', '127.0.0.1:8091')
    .option('--tee <kind>', 'evidence source: sim-snp or sim-tdx (simulated, development only)', 'sim-snp')
    .option('--sim-measurement <hex>', 'simulated launch measurement / MRTD (48 bytes hex)')
    .option('--sim-anchors-out <file>', "write the simulated TEE's trust anchors here (for clients' --sim-anchors)")
    .option('--dev-setup', 'make missing proving keys with a DEV trusted setup (single party, forgeable)')
    .option('--pool-size <n>', 'prover processes')
    .option('--max-in-flight <n>', 'most sealed requests at once (default 8)')
    .option('--home <dir>', 'veritee home (keys)')
    .action(async (o: { id: string; listen: string; tee: string; simMeasurement?: string; simAnchorsOut?: string; devSetup?: boolean; poolSize?: string; maxInFlight?: string; home?: string }) => {
      const { buildSealedProver, latencyProver } = await market();
      const { simulatedEvidenceProvider } = await import('@veritee/proxy');
      const { ProverPool } = await import('@veritee/zk');
      const { anchorsToJson } = await attestation();
      if (o.tee !== 'sim-snp' && o.tee !== 'sim-tdx') throw new VeriteeError('ATTEST_PLATFORM_UNSUPPORTED', `--tee ${quoteInput(o.tee, 40)}: this build has the simulated TEE only (sim-snp, sim-tdx)`);
      const { host, port } = parseListen(o.listen, '127.0.0.1');
      const poolSize = o.poolSize !== undefined ? parseIntegerOption('--pool-size', o.poolSize, 1, 256) : undefined;
      const maxInFlight = o.maxInFlight !== undefined ? parseIntegerOption('--max-in-flight', o.maxInFlight, 1, 10_000) : undefined;
      const provider = await simulatedEvidenceProvider({ platform: o.tee === 'sim-tdx' ? 'tdx' : 'snp', ...(o.simMeasurement !== undefined ? { measurement: o.simMeasurement } : {}) });
      const warn = [`SIMULATED TEE (${o.tee}): evidence is signed by test keys made at startup; clients refuse it unless their policy allows simulated evidence.`];
      if (o.devSetup) warn.push('--dev-setup: missing keys are made by a DEV trusted setup (single party, forgeable).');
      if (io === processIo) warnLoudly(warn);
      else io.err(warn.join('\n') + '\n');
      if (o.simAnchorsOut && provider.simulatedAnchors) writeOutputFile(o.simAnchorsOut, JSON.stringify(anchorsToJson(provider.simulatedAnchors), null, 2) + '\n', '--sim-anchors-out');
      const pool = new ProverPool({ home: homeOf(o), ...(poolSize ? { size: poolSize } : {}) });
      const app = await buildSealedProver({ backendId: o.id, provider, prove: latencyProver(pool, { devSetup: o.devSetup === true }), ...(maxInFlight ? { maxInFlight } : {}), logger: io === processIo });
      let address: string;
      try {
        address = await listenOrFail('veritee market router backend', host, port, () => app.listen({ host, port }));
      } catch (e) {
        await pool.close();
        throw e;
      }
      io.err(`sealed prover ${o.id}: ${address} key sha256:${app.keyHash}\n`);
      whenStopped(io, 'backend', address, async () => {
        await app.close();
        await pool.close();
      });
    });

  router
    .command('serve')
    .description('the router: a directory of the backends (their attestation for the client nonce, their load) and a forwarder of sealed inputs')
    .requiredOption('--backends <list>', 'id=url pairs, comma separated, e.g. p1=http://10.0.0.5:8091,p2=http://10.0.0.6:8091')
    .option('--listen <[host]:port>', 'address to listen on', ':8090')
    .option('--attest-timeout <ms>', 'time limit of a backend attestation (default 10000)')
    .option('--prove-timeout <ms>', 'time limit of a forwarded sealed request (default 900000)')
    .action(async (o: { backends: string; listen: string; attestTimeout?: string; proveTimeout?: string }) => {
      const { buildMarketRouter, parseBackendList } = await market();
      const backends = parseBackendList(o.backends);
      const { host, port } = parseListen(o.listen, '0.0.0.0');
      const app = await buildMarketRouter({
        backends,
        logger: io === processIo,
        ...(o.attestTimeout ? { attestTimeoutMs: parseIntegerOption('--attest-timeout', o.attestTimeout, 1, 600_000) } : {}),
        ...(o.proveTimeout ? { proveTimeoutMs: parseIntegerOption('--prove-timeout', o.proveTimeout, 1, 86_400_000) } : {}),
      });
      const address = await listenOrFail('veritee market router', host, port, () => app.listen({ host, port }));
      io.err(`market router: ${address} in front of ${backends.map((b) => b.id).join(', ')}\n`);
      whenStopped(io, 'router', address, () => app.close());
    });

  router
    .command('directory')
    .description("ask the router for its backends and verify each one's attestation against your policy (with a fresh nonce)")
    .requiredOption('--router <url>', 'the router, e.g. http://router.example.com:8090')
    .requiredOption('--policy <file>', 'attestation policy: which TEEs (platforms, measurements) may receive your inputs')
    .option('--allow-simulated', 'accept a SIMULATED TEE (development only)')
    .option('--sim-anchors <file>', 'pin the simulated TEE anchors')
    .action(async (o: ClientOpts) => {
      const { fetchDirectory, verifyDirectory } = await market();
      const { randomBytes } = await import('node:crypto');
      const setup = await clientSetup(o, io);
      const nonce = randomBytes(32).toString('hex');
      const check = await verifyDirectory(await fetchDirectory(o.router, nonce), nonce, setup.policy, { ...setup, ...(o.allowSimulated ? { allowSimulated: true } : {}) });
      io.out(
        JSON.stringify({
          nonce,
          accepted: check.accepted.map((b) => ({ id: b.id, load: b.load ?? null, keyHash: b.keyHash, ...measurementOf(b) })),
          rejected: check.rejected,
        }) + '\n',
      );
      if (check.accepted.length === 0) throw new VeriteeError('ROUTER_NO_ATTESTED_BACKEND', `no backend behind ${quoteInput(o.router, 200)} passes the policy ${quoteInput(o.policy, 200)}`);
    });

  router
    .command('prove')
    .description('prove through the router: verify the backends, seal the input to the least loaded verified one, check its signed result and the proof bundle')
    .requiredOption('--router <url>', 'the router')
    .requiredOption('--policy <file>', 'attestation policy for the prover TEE')
    .requiredOption('--input <file>', 'the prover input as JSON: {"claim":"latency","params":{…},"records":[…]}')
    .option('--backend <id>', 'use this backend only (it must still pass the policy)')
    .option('--out <file>', 'write the proof bundle here (default: stdout)')
    .option('--allow-simulated', 'accept a SIMULATED TEE (development only)')
    .option('--sim-anchors <file>', 'pin the simulated TEE anchors')
    .option('--allow-dev-setup', 'accept a bundle proven with DEV keys')
    .option('--home <dir>', 'veritee home (the verification keys)')
    .action(async (o: ClientOpts & { input: string; backend?: string; out?: string; allowDevSetup?: boolean; home?: string }) => {
      const { routedProve } = await market();
      const { loadKeyRingFromHome } = await import('@veritee/zk');
      const setup = await clientSetup(o, io);
      const input = readJsonFile(o.input, 'prover input', 'INPUT_JSON_INVALID', { maxBytes: MAX_JSON_BYTES });
      const r = await routedProve(o.router, setup.policy, input, {
        ...setup,
        ...(o.allowSimulated ? { allowSimulated: true } : {}),
        ...(o.backend ? { backendId: o.backend } : {}),
        keys: () => loadKeyRingFromHome(homeOf(o)),
        ...(o.allowDevSetup ? { allowDevSetup: true } : {}),
      });
      for (const x of r.rejected) io.err(`backend ${x.id} not used: ${x.code}\n`);
      io.err(`proven by ${r.backend.id} (key sha256:${r.backend.keyHash.slice(0, 16)}…, ${measurementOf(r.backend).measurement?.slice(0, 16) ?? '?'}…), result signed; bundle verified\n`);
      const bundle = JSON.stringify(r.bundle, null, 2) + '\n';
      const summary = JSON.stringify({ backend: r.backend.id, keyHash: r.backend.keyHash, requestId: r.requestId, receipt: r.receipt, ms: r.ms }) + '\n';
      // stdout holds one JSON document: the bundle, or (with --out) the summary.
      if (o.out) {
        writeOutputFile(o.out, bundle, '--out');
        io.out(summary);
      } else {
        io.out(bundle);
        io.err(summary);
      }
    });

  return router;
}
