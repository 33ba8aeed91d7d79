/**
 * @module commands/ohttp
 * `veritee ohttp ...`: Oblivious HTTP (RFC 9458).
 *
 * - `gateway --target URL [--allow-target URL ...] [--listen HOST:PORT] [--simulated]
 *   [--replay-window 60s] [--replay-max N]` runs the gateway (inside the TEE), refusing
 *   replayed encapsulated requests inside the window (on by default; `0` turns it off). Without a hardware evidence source it needs
 *   `--simulated` (development: SIMULATED evidence, accepted only by policies that set
 *   allowSimulated).
 * - `relay --gateway URL [--listen HOST:PORT]` runs the relay (outside the TEE).
 * - `request URL --relay URL --gateway-keys URL --policy FILE [--data @file] [--method M]`
 *   verifies the gateway's attestation and key configuration, then sends one request
 *   through the relay; the response body goes to stdout, the verdict to stderr
 *   (`-i` adds status and headers, `-f` exits 1 when the target answers >= 400). A policy
 *   that allows simulated evidence gets a loud banner on stderr, saying whether the
 *   simulator's anchors were pinned (`--sim-anchors`) or taken from the gateway (proves nothing).
 *
 * Every address and URL option is checked (IP literals with net.isIP) before anything listens
 * or connects: a bad one is INPUT_INVALID, exit 2.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { parseJsonStrict, quoteInput, VeriteeError } from '@veritee/core';
import type { TrustAnchors } from '@veritee/attestation';
import { readBytesFile, warnLoudly } from '../io.js';
import { listenOrFail, parseHeaderOption, parseIntegerOption, parseSecondsOption } from './common.js';

/** Loaded when an ohttp command runs, not at CLI start-up. */
const ohttp = () => import('@veritee/ohttp');
const attestation = () => import('@veritee/attestation');

const MAX_DATA_BYTES = 1024 * 1024;

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** `HOST:PORT`, `[IPv6]:PORT` or `PORT`; HOST an IP literal (checked with net.isIP) or a host name, never a malformed address like 999.1.1.1. */
function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new VeriteeError('INPUT_INVALID', `--listen ${quoteInput(v)} must be HOST:PORT or PORT`);
  const host = m[1] || m[2] || '127.0.0.1';
  const ok = m[1] ? isIP(host) === 6 : isIP(host) !== 0 || (!/^[\d.]+$/.test(host) && DNS_NAME.test(host));
  if (!ok) throw new VeriteeError('INPUT_INVALID', `--listen ${quoteInput(v)}: ${quoteInput(host)} is not an IP address or host name`);
  return { host, port };
}

/** An absolute http(s) URL without credentials or fragment (the WHATWG parser refuses malformed IP hosts such as 999.1.1.1). */
function httpUrl(v: string, what: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new VeriteeError('INPUT_INVALID', `${what} ${quoteInput(v)} is not an absolute URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new VeriteeError('INPUT_INVALID', `${what} ${quoteInput(v)} must be http or https`);
  if (u.username || u.password || u.hash) throw new VeriteeError('INPUT_INVALID', `${what} ${quoteInput(v)} must not carry credentials or a fragment`);
  return v;
}

/** `--replay-window`: `0`/`off`, seconds, or a number with ms, s, m or h. */
function parseDuration(v: string, flag: string): number {
  if (v === 'off') return 0;
  const m = /^(\d{1,9}(?:\.\d{1,3})?)(ms|s|m|h)?$/.exec(v);
  if (!m) throw new VeriteeError('INPUT_INVALID', `${flag} ${quoteInput(v)} must be a duration such as 60s, 5m, 500ms, or 0/off`);
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(m[1]) * scale);
  if (ms > 24 * 3_600_000) throw new VeriteeError('INPUT_INVALID', `${flag} ${quoteInput(v)} is longer than 24 h`);
  return ms;
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
  replayWindow: string;
  replayMax: string;
}

async function gatewayCommand(o: GatewayOpts): Promise<void> {
  const { buildGateway, KeyStore, parseTarget, simulatedEvidenceProvider } = await ohttp();
  const { host, port } = parseListen(o.listen);
  for (const t of [o.target, ...o.allowTarget]) parseTarget(t);
  const replayWindowMs = parseDuration(o.replayWindow, '--replay-window');
  const replayMax = /^\d{1,9}$/.test(o.replayMax) ? Number(o.replayMax) : NaN;
  if (!(replayMax > 0 && replayMax <= 50_000_000)) throw new VeriteeError('INPUT_INVALID', `--replay-max must be an integer from 1 to 50000000 (got ${quoteInput(o.replayMax)})`);
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
    replayWindowMs,
    replayMaxEntries: replayMax,
    ...(rotate !== undefined ? { rotateEveryMs: rotate * 1000 } : {}),
  });
  const address = await listenOrFail('veritee ohttp gateway', host, port, () => app.listen({ host, port }));
  process.stderr.write(
    [
      `veritee ohttp gateway: listening on ${address}`,
      `  SIMULATED TEE (${o.platform}): evidence is refused by every policy without allowSimulated (development only)`,
      `  key configs: ${address}/ohttp-keys   attestation: ${address}/attestation   requests: POST ${address}/gateway`,
      `  key config sha256 ${keys.digestHex()}; targets: ${app.targets.map((t) => t.origin + t.prefix).join(', ')}`,
      replayWindowMs > 0
        ? `  replay window ${replayWindowMs / 1000} s (at most ${replayMax} requests remembered): a repeated encapsulated request is refused`
        : '  replay window OFF: a replayed encapsulated request is forwarded again (the target must tolerate replays)',
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
  httpUrl(o.gateway, '--gateway');
  if (o.egressAddress !== undefined && isIP(o.egressAddress) === 0) {
    throw new VeriteeError('INPUT_INVALID', `--egress-address ${quoteInput(o.egressAddress)} is not an IPv4 or IPv6 address literal`);
  }
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
  httpUrl(url, 'target URL');
  httpUrl(o.relay, '--relay');
  httpUrl(o.gatewayKeys, '--gateway-keys');
  if (o.attestation !== undefined) httpUrl(o.attestation, '--attestation');
  const policy = loadPolicy(o.policy);
  let body: Uint8Array | undefined;
  if (o.data !== undefined) body = o.data.startsWith('@') ? readFileLimited(o.data.slice(1), '--data file') : Buffer.from(o.data, 'utf8');
  const headers: Array<[string, string]> = [];
  for (const h of o.header) {
    headers.push(parseHeaderOption(h));
  }
  let simulatedAnchors: TrustAnchors | undefined;
  const anchorsFile = o.simAnchors ?? process.env['VERITEE_SIM_ANCHORS'];
  if (anchorsFile !== undefined && anchorsFile !== '') {
    const doc = parseJsonStrict(readFileLimited(anchorsFile, 'anchors file').toString('utf8'), { what: `anchors file ${quoteInput(anchorsFile, 200)}` });
    simulatedAnchors = anchorsFromJson(doc);
  }
  // As `veritee request` does: a policy that admits the simulator, without pinned anchors,
  // trusts the anchors the gateway itself serves, and so proves nothing about the gateway.
  if (policy.allowSimulated) {
    warnLoudly([
      'SIMULATED evidence is accepted (development only).',
      simulatedAnchors ? `Simulator anchors pinned from ${anchorsFile}.` : 'No --sim-anchors: the anchors the GATEWAY offers are trusted, which proves nothing.',
    ]);
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
    .option('--replay-window <duration>', 'refuse an encapsulated request already received this recently (RFC 9458 §6.5); 0 or off disables', '60s')
    .option('--replay-max <n>', 'most requests the replay window remembers (then 503 until some expire)', '250000')
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
    .option('--sim-anchors <file>', 'simulated trust anchors to pin instead of trusting those the gateway serves (policy must allow simulated; env VERITEE_SIM_ANCHORS)')
    .option('-i, --include', 'print the response status and headers before the body')
    .option('-f, --fail', 'exit 1 when the target answers 400 or more')
    .action((url: string, o: RequestOpts) => requestCommand(url, o));
}
