/**
 * @module commands/ohttp
 * `veritee ohttp ...`: Oblivious HTTP (RFC 9458).
 *
 * - `gateway --target URL [--allow-target URL ...] [--listen HOST:PORT] [--simulated]`
 *   runs the gateway (inside the TEE). Without a hardware evidence source it needs
 *   `--simulated` (development: SIMULATED evidence, accepted only by policies that set
 *   allowSimulated).
 * - `relay --gateway URL [--listen HOST:PORT]` runs the relay (outside the TEE).
 * - `request URL --relay URL --gateway-keys URL --policy FILE [--data @file] [--method M]`
 *   verifies the gateway's attestation and key configuration, then sends one request
 *   through the relay; the response body goes to stdout, the verdict to stderr
 *   (`-i` adds status and headers, `-f` exits 1 when the target answers >= 400).
 */
import type { Command } from 'commander';
import { parseJsonStrict, quoteInput, VeriteeError } from '@veritee/core';
import type { TrustAnchors } from '@veritee/attestation';
import { readBytesFile } from '../io.js';
import { listenOrFail, parseHeaderOption, parseIntegerOption, parseSecondsOption } from './common.js';

/** Loaded when an ohttp command runs, not at CLI start-up. */
const ohttp = () => import('@veritee/ohttp');
const attestation = () => import('@veritee/attestation');

const MAX_DATA_BYTES = 1024 * 1024;

function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new VeriteeError('INPUT_INVALID', `--listen ${quoteInput(v, 80)} must be HOST:PORT or PORT`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

function positiveSeconds(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  return parseSecondsOption(what, v);
}

function readFileLimited(path: string, what: string): Buffer {
  // Bounded by bytes actually read: stdin ("-"), pipes and devices report size 0.
  return readBytesFile(path, what, { maxBytes: MAX_DATA_BYTES, stdin: true });
}

function waitForSignal(close: () => Promise<void>): void {
  const stop = () => {
    void close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// ---- gateway ----------------------------------------------------------------------------------

interface GatewayOpts {
  target: string;
  allowTarget: string[];
  listen: string;
  simulated?: boolean;
  platform: string;
  rotateEvery?: string;
  grace: string;
  maxRequestBytes: string;
}

async function gatewayCommand(o: GatewayOpts): Promise<void> {
  const { buildGateway, KeyStore, simulatedEvidenceProvider } = await ohttp();
  const { host, port } = parseListen(o.listen);
  if (!o.simulated) {
    throw new VeriteeError(
      'ATTEST_PLATFORM_UNSUPPORTED',
      'no TEE evidence source is available to this gateway (hardware evidence collection is not implemented yet); run with --simulated for development',
    );
  }
  if (o.platform !== 'snp' && o.platform !== 'tdx') throw new VeriteeError('INPUT_INVALID', `--platform must be snp or tdx (got ${quoteInput(o.platform, 40)})`);
  const rotate = positiveSeconds(o.rotateEvery, '--rotate-every');
  const grace = positiveSeconds(o.grace, '--grace')!;
  const maxRequestBytes = parseIntegerOption('--max-request-bytes', o.maxRequestBytes, 1, 1024 * 1024 * 1024);
  const evidence = await simulatedEvidenceProvider({ platform: o.platform });
  const keys = await KeyStore.create({ graceMs: grace * 1000 });
  const app = await buildGateway({
    target: o.target,
    allowTargets: o.allowTarget,
    keys,
    evidence,
    logger: true,
    maxRequestBytes,
    ...(rotate !== undefined ? { rotateEveryMs: rotate * 1000 } : {}),
  });
  const address = await listenOrFail('veritee ohttp gateway', host, port, () => app.listen({ host, port }));
  process.stderr.write(
    [
      `veritee ohttp gateway: listening on ${address}`,
      `  SIMULATED TEE (${o.platform}): evidence is refused by every policy without allowSimulated (development only)`,
      `  key configs: ${address}/ohttp-keys   attestation: ${address}/attestation   requests: POST ${address}/gateway`,
      `  key config sha256 ${keys.digestHex()}; targets: ${app.targets.map((t) => t.origin + t.prefix).join(', ')}`,
      '',
    ].join('\n'),
  );
  waitForSignal(() => app.close());
}

// ---- relay -------------------------------------------------------------------------------------

interface RelayOpts {
  gateway: string;
  listen: string;
  egressAddress?: string;
}

async function relayCommand(o: RelayOpts): Promise<void> {
  const { buildRelay } = await ohttp();
  const { host, port } = parseListen(o.listen);
  const app = await buildRelay({ gateway: o.gateway, logger: true, ...(o.egressAddress ? { localAddress: o.egressAddress } : {}) });
  const address = await listenOrFail('veritee ohttp relay', host, port, () => app.listen({ host, port }));
  process.stderr.write(
    `veritee ohttp relay: listening on ${address}, forwarding to ${app.gatewayUrl.toString()}\n` +
      `  clients: POST ${address}/ (message/ohttp-req); keys ${address}/ohttp-keys; attestation ${address}/attestation\n`,
  );
  waitForSignal(() => app.close());
}

// ---- request -------------------------------------------------------------------------------------

interface RequestOpts {
  relay: string;
  gatewayKeys: string;
  attestation?: string;
  policy: string;
  data?: string;
  method?: string;
  header: string[];
  simAnchors?: string;
  include?: boolean;
  fail?: boolean;
}

async function requestCommand(url: string, o: RequestOpts): Promise<void> {
  const { OhttpClient, closeSharedAgent } = await ohttp();
  const { loadPolicy, anchorsFromJson } = await attestation();
  const policy = loadPolicy(o.policy);
  let body: Uint8Array | undefined;
  if (o.data !== undefined) body = o.data.startsWith('@') ? readFileLimited(o.data.slice(1), '--data file') : Buffer.from(o.data, 'utf8');
  const headers: Array<[string, string]> = [];
  for (const h of o.header) {
    headers.push(parseHeaderOption(h));
  }
  let simulatedAnchors: TrustAnchors | undefined;
  if (o.simAnchors !== undefined) {
    const doc = parseJsonStrict(readFileLimited(o.simAnchors, 'anchors file').toString('utf8'), { what: `anchors file ${quoteInput(o.simAnchors, 200)}` });
    simulatedAnchors = anchorsFromJson(doc);
  }
  try {
    const client = await OhttpClient.connect({
      relayUrl: o.relay,
      keysUrl: o.gatewayKeys,
      policy,
      ...(o.attestation ? { attestationUrl: o.attestation } : {}),
      ...(simulatedAnchors ? { simulatedAnchors } : {}),
    });
    const g = client.gateway;
    process.stderr.write(
      `✓ gateway attestation verified: ${g.platform}${g.simulated ? ' (SIMULATED, accepted because the policy allows it)' : ''}, ` +
        `${g.attestation.policyId}; key configuration sha256 ${g.keyConfigSha256.slice(0, 16)}… is bound to the TEE\n`,
    );
    const res = await client.request({
      url,
      ...(o.method ? { method: o.method } : {}),
      headers,
      ...(body ? { body } : {}),
    });
    if (o.include) {
      const head = [`HTTP ${res.status}`, ...res.headers.map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
      process.stdout.write(head);
    }
    process.stdout.write(res.body);
    process.stderr.write(`← ${res.status} through the relay (${res.body.length} bytes)\n`);
    // Like curl -f: the exchange worked, but the target refused; exit 1 (verification/outcome failed).
    if (o.fail && res.status >= 400) process.exitCode = 1;
  } finally {
    await closeSharedAgent();
  }
}

export function registerOhttpCommands(program: Command): void {
  const cmd = program.command('ohttp').description('Oblivious HTTP: gateway (inside the TEE), relay (outside), client');
  const collect = (v: string, prev: string[]) => [...prev, v];

  cmd
    .command('gateway')
    .description('run the oblivious gateway: publishes attested key configurations, decrypts requests, forwards to allowed targets')
    .requiredOption('--target <url>', 'default target (requests without an authority go here; always allowed)')
    .option('--allow-target <url>', 'another allowed target, http(s)://host[:port][/path-prefix] (repeatable)', collect, [] as string[])
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8282')
    .option('--simulated', 'use the simulated TEE for evidence (development only; labelled SIMULATED)')
    .option('--platform <platform>', 'simulated platform: snp or tdx', 'snp')
    .option('--rotate-every <seconds>', 'rotate the HPKE key this often (default: never)')
    .option('--grace <seconds>', 'how long a rotated-out key is still accepted', '3600')
    .option('--max-request-bytes <n>', 'largest encapsulated request', String(1024 * 1024))
    .action((o: GatewayOpts) => gatewayCommand(o));

  cmd
    .command('relay')
    .description('run the oblivious relay: forwards opaque bodies to the gateway, strips everything that identifies the client')
    .requiredOption('--gateway <url>', 'gateway base URL (its /gateway, /ohttp-keys and /attestation are used)')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8283')
    .option('--egress-address <ip>', 'local address for connections to the gateway')
    .action((o: RelayOpts) => relayCommand(o));

  cmd
    .command('request')
    .description('verify the gateway (attestation binds its key configuration) and send one request through the relay')
    .argument('<url>', 'target URL (goes inside the encrypted request)')
    .requiredOption('--relay <url>', 'relay resource URL (POST)')
    .requiredOption('--gateway-keys <url>', 'where to fetch application/ohttp-keys (through the relay, e.g. RELAY/ohttp-keys, or out of band)')
    .requiredOption('--policy <file>', 'attestation policy (YAML or JSON) the gateway must satisfy')
    .option('--attestation <url>', 'gateway attestation URL (default: "attestation" beside --gateway-keys)')
    .option('--data <data>', 'request body: a string, @file, or @- for stdin')
    .option('--method <method>', 'request method (default GET, or POST with --data)')
    .option('-H, --header <header>', 'request header "Name: value" (repeatable)', collect, [] as string[])
    .option('--sim-anchors <file>', 'simulated trust anchors to use instead of those the gateway serves (policy must allow simulated)')
    .option('-i, --include', 'print the response status and headers before the body')
    .option('-f, --fail', 'exit 1 when the target answers 400 or more')
    .action((url: string, o: RequestOpts) => requestCommand(url, o));
}
