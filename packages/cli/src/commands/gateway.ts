/**
 * @module commands/gateway
 * `veritee gateway serve --config gateway.yaml`: the API gateway inside the TEE
 * (@veritee/gateway); SIGHUP reloads the configuration without dropping connections.
 * `veritee gateway slas https://gw:8443 --policy policy.yaml`: fetches the published SLA
 * bundles over an attested session and verifies each one (whole chain), printing the
 * SLA history. (Not `veritee ohttp gateway`, the Oblivious HTTP gateway.)
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { VeriteeError } from '@veritee/core';
import { loadKeyRingFromHome, productionBundlePolicy, verifyBundle, veriteeHome } from '@veritee/zk';
import { printChecks, warnLoudly } from '../io.js';
import { homeOf } from './common.js';
import { clientFromOptions } from './proxy.js';

interface ServeOpts {
  config: string;
  simAnchorsOut?: string;
}

async function serveCommand(o: ServeOpts): Promise<void> {
  const { Gateway, loadGatewayConfig, configBaseDir } = await import('@veritee/gateway');
  const { Enclave, simulatedEvidenceProvider } = await import('@veritee/proxy');
  const { anchorsToJson } = await import('@veritee/attestation');
  const path = resolve(o.config);
  const config = loadGatewayConfig(path);
  const provider = await simulatedEvidenceProvider({ platform: config.tee === 'sim-tdx' ? 'tdx' : 'snp' });
  warnLoudly([`SIMULATED TEE (${config.tee}): evidence is signed by test keys made at startup.`, 'Attested clients refuse it unless their policy sets allowSimulated (development only).']);
  if (config.slas.devSetup) warnLoudly(['slas.devSetup: missing proving keys are made by a DEV trusted setup (single party, forgeable).']);
  if (o.simAnchorsOut && provider.simulatedAnchors) writeFileSync(o.simAnchorsOut, JSON.stringify(anchorsToJson(provider.simulatedAnchors), null, 2) + '\n');
  const enclave = Enclave.create(provider);
  const gw = await Gateway.create({ config, enclave, baseDir: configBaseDir(path), home: config.slas.home ?? veriteeHome() });
  const a = await gw.listen();
  process.stderr.write(
    `veritee gateway: https://${config.host}:${a.port} (listening on ${a.address}:${a.port}), ${config.routes.length} routes, ${config.pools.size} pools\n` +
      `enclave key sha256:${Buffer.from(enclave.publicKeyHash).toString('hex')}; SLA proofs ${config.slas.enabled ? `every ${typeof config.slas.period === 'string' ? config.slas.period : `${config.slas.period.seconds} s`}` : 'off'}\n`,
  );
  process.on('SIGHUP', () => {
    try {
      gw.reload(loadGatewayConfig(path), path);
      process.stderr.write(`configuration reloaded from ${path}\n`);
    } catch (e) {
      const err = e as VeriteeError;
      process.stderr.write(`error[${err.code ?? 'INTERNAL'}]: reload refused, the running configuration stays: ${err.message}\n`);
    }
  });
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write('shutting down: finishing in-flight requests (signal again to stop now)\n');
    void gw.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

interface SlasOpts {
  policy?: string;
  allowSimulated?: boolean;
  simAnchors?: string;
  allowDevSetup?: boolean;
  home?: string;
  json?: boolean;
  at?: string;
}

async function slasCommand(target: string, o: SlasOpts): Promise<void> {
  const { loadPolicy } = await import('@veritee/attestation');
  let base: URL;
  try {
    base = new URL(target);
  } catch {
    throw new VeriteeError('INPUT_INVALID', `"${target.slice(0, 200)}" is not a URL (expected https://host[:port])`);
  }
  if (!o.policy) throw new VeriteeError('INPUT_INVALID', '--policy <file> is required: it says which TEEs may have produced the SLA bundles');
  const policy = loadPolicy(o.policy);
  const client = await clientFromOptions(base.origin, o, policy);
  const keys = loadKeyRingFromHome(homeOf(o));
  if (o.allowDevSetup) warnLoudly(['--allow-dev-setup: proofs made with DEV keys are accepted; whoever ran a dev setup can forge them.']);
  const at = o.at ? new Date(o.at) : new Date();
  try {
    const res = await client.fetch('/.well-known/veritee/slas');
    if (res.status !== 200) throw new VeriteeError('PROXY_UPSTREAM_UNAVAILABLE', `${base.origin} answered ${res.status} for its SLA index`);
    const text = await res.text();
    const { parseJsonStrict } = await import('@veritee/core');
    const index = parseJsonStrict(text, { what: 'SLA index' }) as { format?: string; entries?: { periodStart: string; periodEnd: string; group: string; kind: string; status: string; n: number; compliant?: boolean; detail?: string; bundle?: string; sla?: string }[] };
    if (index.format !== 'veritee.gateway.slas/v1' || !Array.isArray(index.entries)) throw new VeriteeError('INPUT_INVALID', `${base.origin} did not serve a veritee.gateway.slas/v1 index`);
    const rows: Record<string, unknown>[] = [];
    let failed = 0;
    for (const e of index.entries) {
      const row: Record<string, unknown> = { period: `${e.periodStart}/${e.periodEnd}`, group: e.group, kind: e.kind, status: e.status, n: e.n };
      if (e.bundle) {
        if (!e.bundle.startsWith('/.well-known/veritee/slas/')) throw new VeriteeError('INPUT_INVALID', 'the SLA index names a bundle outside /.well-known/veritee/slas/');
        row['bundle'] = e.bundle;
        const br = await client.fetch(e.bundle);
        const btext = await br.text();
        const v = await verifyBundle(btext, {
          keys,
          policy: { ...productionBundlePolicy(), ...policy, reportData: { ...policy.reportData, require: ['publicKeyHash'] } },
          at,
          allowDevSetup: o.allowDevSetup === true,
          ...(o.allowSimulated ? { allowSimulated: true } : {}),
          expect: e.kind === 'latency' ? `kind=latency,period=${e.periodStart}/${e.periodEnd}${e.sla ? `,sla=${e.sla}` : ''}` : `kind=gateway,period=${e.periodStart}/${e.periodEnd}`,
        });
        row['verified'] = v.ok;
        row['compliant'] = (v.bundle?.claim.outputs as { compliant?: boolean } | undefined)?.compliant;
        if (!v.ok) {
          failed++;
          row['failures'] = v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
        }
        if (!o.json && !v.ok) printChecks(v.checks.filter((c) => !c.ok), (s) => process.stderr.write(s));
      } else if (e.detail) row['detail'] = e.detail;
      rows.push(row);
    }
    if (o.json) process.stdout.write(JSON.stringify({ origin: base.origin, entries: rows }, null, 2) + '\n');
    else {
      for (const r of rows) {
        const verdict = r['verified'] === undefined ? '' : r['verified'] ? (r['compliant'] ? 'VERIFIED, COMPLIANT' : 'VERIFIED, NOT COMPLIANT') : 'NOT VERIFIED';
        process.stdout.write(`${r['period']}  ${String(r['kind']).padEnd(8)} ${String(r['group']).padEnd(16)} n=${String(r['n']).padEnd(7)} ${String(r['status']).padEnd(13)} ${verdict}${r['detail'] ? `  (${String(r['detail']).slice(0, 120)})` : ''}\n`);
      }
    }
    if (failed) {
      process.stderr.write(`error[ZK_PROOF_INVALID]: ${failed} published bundle${failed > 1 ? 's' : ''} did not verify\n`);
      process.exitCode = 1;
    }
  } finally {
    await client.close();
  }
}

export function registerGatewayCommands(program: Command): void {
  const gw = program.command('gateway').description('the API gateway inside the TEE, and the SLA proofs over the traffic it served');
  gw.command('serve')
    .description('serve the API gateway: TLS ends in the TEE (attested), routes, balancing, health checks, rate limits, JWT and mTLS auth; SIGHUP reloads --config')
    .requiredOption('--config <file>', 'gateway configuration (YAML or JSON; see packages/gateway/README.md)')
    .option('--sim-anchors-out <file>', "write the simulated TEE's trust anchors here (for clients' --sim-anchors)")
    .action(serveCommand);
  gw.command('slas')
    .description('fetch the SLA bundles a gateway published, over an attested session, and verify each (whole chain)')
    .argument('<url>', 'https://host[:port] of the gateway')
    .option('--policy <file>', 'attestation policy the gateway must satisfy (required)')
    .option('--allow-simulated', 'accept a SIMULATED TEE (development only)')
    .option('--sim-anchors <file>', 'pin the simulated TEE anchors')
    .option('--allow-dev-setup', 'accept proofs made with DEV keys')
    .option('--at <time>', 'verification time, RFC 3339 (default now)')
    .option('--json', 'machine-readable result on stdout')
    .addOption(new Option('--home <dir>', 'veritee home with the trusted verification keys'))
    .action(slasCommand);
}
