/**
 * @module commands/market
 * `veritee market`: the prover marketplace (@veritee/market).
 *
 *   veritee market serve --dev [--host 127.0.0.1] [--port 8790] [--db DIR | --postgres URL] [--nats URL] [--match-every-ms 500]
 *   veritee market create --market URL (--spec market.json | --dev-claim disk --id ID --allow-image HEX…) [--collateral N] [--slash N] [--slash-reward-bp N] [--home DIR]
 *   veritee market ask create --market URL --market-id ID --public public.json [--private private.json] --max-price N
 *                             --requester-key FILE [--start-price N] [--window-s N] [--expiry-s N] [--proving-s N] [--deadline-s N]
 *                             [--id ID] [--allow-simulated] [--engine-measurement HEX]
 *   veritee market ask status --market URL ID
 *   veritee market ask result --market URL ID [--out proof.json] [--allow-dev-setup]
 *   veritee market generator run --market URL --markets ID[,ID…] --id GID --key FILE --dev [--stake N] [--max-concurrent N]
 *                                [--cost N] [--proving-ms N] [--image-measurement HEX] [--home DIR] [--duration-s N]
 *
 *   veritee market router backend|serve|directory|prove …   (one endpoint in front of many attested provers: commands/market-router.ts)
 *
 * DEVELOPMENT ONLY parts are refused unless asked for: `serve` and `generator run` run their
 * enclave in the simulated TEE (`--dev`), `--dev-claim` and `--allow-dev-setup` use veritee
 * claims with dev trusted-setup keys, `--allow-simulated` accepts the engine's simulated evidence.
 */
import { chmodSync, existsSync } from 'node:fs';
import type { Command } from 'commander';
import { fromHex, quoteInput, toHex, VeriteeError } from '@veritee/core';
import { assertWritable, readJsonFile, readTextFile, warnLoudly, writeOutputFile } from '../io.js';
import { homeOf, listenOrFail, parseIntegerOption, withPool } from './common.js';
import { registerMarketRouterCommands } from './market-router.js';

const credits = (flag: string, v: string) => parseIntegerOption(flag, v, 0, 1e12);
const seconds = (flag: string, v: string) => parseIntegerOption(flag, v, 1, 30 * 86_400);

function hexMeasurement(flag: string, v: string): Uint8Array {
  if (!/^[0-9a-f]{96}$/.test(v)) throw new VeriteeError('INPUT_INVALID', `${flag} must be 48 bytes of lowercase hex (an SNP launch measurement)`);
  return fromHex(v, flag);
}

/** A 32-byte secret from a file holding its hex; made (mode 0600) when the file does not exist. */
function secretFile(path: string, what: string): Uint8Array {
  if (!existsSync(path)) {
    assertWritable(path, what);
    const s = crypto.getRandomValues(new Uint8Array(32));
    writeOutputFile(path, toHex(s) + '\n', what);
    chmodSync(path, 0o600);
    return s;
  }
  const text = readTextFile(path, what, { maxBytes: 1024 }).trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new VeriteeError('INPUT_INVALID', `${what} ${quoteInput(path, 200)} must hold 32 bytes of hex`);
  return fromHex(text, what);
}

function requireDev(dev: boolean | undefined, what: string): void {
  if (dev !== true) throw new VeriteeError('INPUT_INVALID', `${what} runs its enclave in the SIMULATED TEE only; pass --dev to accept that (development only)`);
}

export function registerMarketCommands(program: Command): void {
  const market = program.command('market').description('prover marketplace: markets per circuit, asks, generators, a matching engine in a TEE');
  registerMarketRouterCommands(market);

  market
    .command('serve')
    .description('run the market service (order book, ledger, matching engine)')
    .option('--dev', 'run the matching engine in the simulated TEE and accept simulated generator evidence (development only)')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (0 = any)', '8790')
    .option('--db <dir>', 'embedded database directory (default: in memory)')
    .option('--postgres <url>', 'PostgreSQL connection URL instead of the embedded database')
    .option('--nats <url>', 'also publish every event to NATS JetStream')
    .option('--match-every-ms <ms>', 'how often the engine matches and settles', '500')
    .action(async (o: { dev?: boolean; host: string; port: string; db?: string; postgres?: string; nats?: string; matchEveryMs: string }) => {
      requireDev(o.dev, 'market serve');
      const port = parseIntegerOption('--port', o.port, 0, 65535);
      const every = parseIntegerOption('--match-every-ms', o.matchEveryMs, 10, 3_600_000);
      const m = await import('@veritee/market');
      const t = await import('@veritee/market/testing');
      const { SimulatedTee } = await import('@veritee/attestation');
      warnLoudly(['market serve --dev: the matching engine runs in a SIMULATED TEE and generators may attest with simulated evidence.', 'Nothing here is confidential against the machine operator. Development only.']);
      const tee = await SimulatedTee.create({ platforms: ['snp'] });
      const db = o.postgres ? await m.openPostgres(o.postgres) : await m.openEmbedded(o.db);
      const engine = await m.MatchingEngine.create({ tee, measurement: t.measurement(0xee) });
      // Both proof systems: veritee claims (dev-setup keys accepted under --dev) and bring-your-own circom.
      const systems = m.builtinProofSystems({ allowDevSetup: true });
      const mk = new m.Market({ db, engine, proofSystems: systems, allowSimulated: true });
      const app = await m.buildMarketServer({ market: mk, matchEveryMs: every });
      const publisher = o.nats ? await m.startJetStreamPublisher({ market: mk, servers: o.nats }) : undefined;
      const addr = await listenOrFail('the market', o.host, port, () => app.listen({ host: o.host, port }));
      process.stdout.write(JSON.stringify({ url: addr, engineMeasurement: toHex(t.measurement(0xee)), backend: db.backend, jetstream: publisher !== undefined }) + '\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await app.close();
      await publisher?.stop();
      await db.close();
    });

  market
    .command('create')
    .description('create a market (its sample proof must verify)')
    .requiredOption('--market <url>', 'market service URL')
    .option('--spec <file>', 'market spec JSON: id, proofSystem, verificationKey, allowedMeasurements, collateral, slashPenalty, slashRewardBp, sample')
    .option('--dev-claim <kind>', 'build the spec for a veritee claim with a dev-setup key and a sample proof made here (development only; "disk")')
    .option('--id <id>', 'market id (with --dev-claim)')
    .option('--allow-image <hex...>', 'allowed prover image measurements (with --dev-claim; none = public inputs only)')
    .option('--collateral <n>', 'collateral per assignment', '300')
    .option('--slash <n>', 'slashing penalty', '200')
    .option('--slash-reward-bp <bp>', 'share of a slash paid to whoever completes the ask', '6000')
    .option('--home <dir>', 'veritee home (keys)')
    .action(async (o: { market: string; spec?: string; devClaim?: string; id?: string; allowImage?: string[]; collateral: string; slash: string; slashRewardBp: string; home?: string }) => {
      const m = await import('@veritee/market');
      let spec: unknown;
      if (o.spec) spec = readJsonFile(o.spec, 'market spec');
      else if (o.devClaim) {
        if (o.devClaim !== 'disk') throw new VeriteeError('CLAIM_UNKNOWN', `--dev-claim supports "disk" (the smallest claim), not ${quoteInput(o.devClaim, 40)}`);
        if (!o.id) throw new VeriteeError('CLI_USAGE_INVALID', '--dev-claim needs --id');
        warnLoudly(['market create --dev-claim: the verification key comes from a DEV trusted setup (forgeable by whoever ran it). Development only.']);
        const t = await import('@veritee/market/testing');
        spec = await withPool(homeOf(o), async (pool) => {
          const vk = await t.smallClaimKey(pool);
          const s = t.smallClaimInputs(1);
          return {
            id: o.id,
            proofSystem: t.VERITEE_CLAIM_SYSTEM,
            verificationKey: vk,
            allowedMeasurements: o.allowImage ?? [],
            collateral: credits('--collateral', o.collateral),
            slashPenalty: credits('--slash', o.slash),
            slashRewardBp: parseIntegerOption('--slash-reward-bp', o.slashRewardBp, 0, 10_000),
            sample: { publicInputs: s.publicInputs, proof: await t.proveVeriteeClaim(pool, vk, s.publicInputs, s.privateInputs) },
          };
        });
      } else throw new VeriteeError('CLI_USAGE_INVALID', 'give --spec FILE or --dev-claim KIND');
      const r = await new m.MarketClient(o.market).createMarket(spec);
      process.stdout.write(JSON.stringify(r) + '\n');
    });

  const ask = market.command('ask').description("requesters' asks");
  ask
    .command('create')
    .description('create an ask; private inputs are encrypted to the attested matching engine first')
    .requiredOption('--market <url>', 'market service URL')
    .requiredOption('--market-id <id>', 'market id')
    .requiredOption('--public <file>', 'public inputs (JSON)')
    .option('--private <file>', 'private inputs (JSON), encrypted to the engine')
    .requiredOption('--max-price <n>', 'the most you pay (escrowed; the surplus over the bid is refunded)')
    .option('--start-price <n>', 'reverse-Dutch start price (default: --max-price, a fixed reward)')
    .option('--window-s <s>', 'the price rises from start to max over this many seconds', '60')
    .option('--expiry-s <s>', 'the ask must be taken within this many seconds', '300')
    .option('--proving-s <s>', 'an assignee must submit within this many seconds', '120')
    .option('--deadline-s <s>', 'no proof accepted after this many seconds', '900')
    .requiredOption('--requester-key <file>', 'your Ed25519 secret (hex); made if missing; it alone may cancel the ask')
    .option('--id <id>', 'ask id (default random)')
    .option('--allow-simulated', "accept the engine's simulated TEE evidence (development only)")
    .option('--engine-measurement <hex>', "the engine image you expect (its launch measurement)")
    .action(async (o: { market: string; marketId: string; public: string; private?: string; maxPrice: string; startPrice?: string; windowS: string; expiryS: string; provingS: string; deadlineS: string; requesterKey: string; id?: string; allowSimulated?: boolean; engineMeasurement?: string }) => {
      const m = await import('@veritee/market');
      const now = Date.now();
      const maxPrice = credits('--max-price', o.maxPrice);
      const c = new m.MarketClient(o.market, { allowSimulated: o.allowSimulated === true, ...(o.engineMeasurement ? { engineMeasurements: [toHex(hexMeasurement('--engine-measurement', o.engineMeasurement))] } : {}) });
      const v = await c.createAsk(
        {
          ...(o.id ? { id: o.id } : {}),
          marketId: o.marketId,
          requesterSecret: secretFile(o.requesterKey, '--requester-key'),
          startPrice: o.startPrice ? credits('--start-price', o.startPrice) : maxPrice,
          maxPrice,
          startMs: now,
          endMs: now + seconds('--window-s', o.windowS) * 1000,
          assignmentExpiryMs: now + seconds('--expiry-s', o.expiryS) * 1000,
          provingTimeMs: seconds('--proving-s', o.provingS) * 1000,
          deadlineMs: now + seconds('--deadline-s', o.deadlineS) * 1000,
          publicInputs: readJsonFile(o.public, 'public inputs'),
          ...(o.private ? { privateInputs: readJsonFile(o.private, 'private inputs') } : {}),
        },
        now,
      );
      process.stdout.write(JSON.stringify(v) + '\n');
    });
  ask
    .command('status')
    .description('the state of an ask')
    .requiredOption('--market <url>', 'market service URL')
    .argument('<id>', 'ask id')
    .action(async (id: string, o: { market: string }) => {
      const m = await import('@veritee/market');
      const v = await new m.MarketClient(o.market).status(id);
      process.stdout.write(JSON.stringify(v) + '\n');
    });
  ask
    .command('result')
    .description('fetch the proof of a complete ask and verify it locally')
    .requiredOption('--market <url>', 'market service URL')
    .argument('<id>', 'ask id')
    .option('--out <file>', 'write the result (proof, key, public inputs) here')
    .option('--allow-dev-setup', 'accept veritee-claim keys from a dev trusted setup (development only)')
    .action(async (id: string, o: { market: string; out?: string; allowDevSetup?: boolean }) => {
      const m = await import('@veritee/market');
      const systems = m.builtinProofSystems({ allowDevSetup: o.allowDevSetup === true });
      if (o.out) assertWritable(o.out);
      const r = await new m.MarketClient(o.market).result(id, systems);
      if (o.out) writeOutputFile(o.out, JSON.stringify(r, null, 2) + '\n', 'result file');
      process.stdout.write(JSON.stringify({ askId: r.askId, marketId: r.marketId, verified: true, vkDigest: r.vkDigest, completedBy: r.completedBy }) + '\n');
    });

  const gen = market.command('generator').description('proof generators');
  gen
    .command('run')
    .description('register, join markets with an attested key each, then claim, decrypt (in the TEE), prove and submit assignments')
    .requiredOption('--market <url>', 'market service URL')
    .requiredOption('--markets <ids>', 'market ids to join, comma-separated')
    .requiredOption('--id <id>', 'generator id')
    .requiredOption('--key <file>', 'Ed25519 identity secret (hex); made if missing')
    .option('--dev', 'run the enclave in the simulated TEE (development only)')
    .option('--stake <n>', 'stake', '10000')
    .option('--max-concurrent <n>', 'declared compute: concurrent jobs', '1')
    .option('--cost <n>', 'bid per proof', '100')
    .option('--proving-ms <ms>', 'proposed proving time', '30000')
    .option('--image-measurement <hex>', 'the simulated image measurement (48 bytes hex)', 'a1'.repeat(48))
    .option('--home <dir>', 'veritee home (keys)')
    .option('--duration-s <s>', 'stop after this many seconds (default: until interrupted)')
    .action(async (o: { market: string; markets: string; id: string; key: string; dev?: boolean; stake: string; maxConcurrent: string; cost: string; provingMs: string; imageMeasurement: string; home?: string; durationS?: string }) => {
      requireDev(o.dev, 'market generator run');
      const m = await import('@veritee/market');
      const t = await import('@veritee/market/testing');
      const { SimulatedTee } = await import('@veritee/attestation');
      const ids = o.markets.split(',').filter((s) => s.length > 0);
      if (!ids.length) throw new VeriteeError('CLI_USAGE_INVALID', '--markets lists no market');
      const secret = secretFile(o.key, '--key');
      const image = hexMeasurement('--image-measurement', o.imageMeasurement);
      await withPool(homeOf(o), async (pool) => {
        const tee = await SimulatedTee.create({ platforms: ['snp'] });
        const g = m.runGenerator({
          url: o.market,
          generatorId: o.id,
          identitySecret: secret,
          stake: credits('--stake', o.stake),
          maxConcurrent: parseIntegerOption('--max-concurrent', o.maxConcurrent, 1, 1024),
          markets: ids.map((marketId) => ({ marketId, cost: credits('--cost', o.cost), provingTimeMs: parseIntegerOption('--proving-ms', o.provingMs, 1, 7 * 86_400_000) })),
          tee,
          measurement: image,
          prove: (a) => t.proveVeriteeClaim(pool, a.verificationKey, a.publicInputs, a.privateInputs),
          onEvent: (e) => process.stdout.write(JSON.stringify(e) + '\n'),
        });
        await g.ready;
        process.stdout.write(JSON.stringify({ generator: o.id, joined: ids }) + '\n');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
          if (o.durationS) setTimeout(resolve, seconds('--duration-s', o.durationS) * 1000).unref();
        });
        await g.stop();
      });
    });
}
