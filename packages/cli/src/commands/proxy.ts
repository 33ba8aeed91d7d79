/**
 * @module commands/proxy
 * `veritee proxy` (the attesting TLS reverse proxy), `veritee request` (the attested
 * client on the command line), `veritee prover serve` (the remote prover service), and
 * the `--remote` path of `veritee prove latency` (options and flow live here; zk.ts
 * only branches to them).
 *
 * Output discipline: response bodies and proof summaries on stdout; attestation
 * summaries, warnings and progress on stderr.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { Option, type Command } from 'commander';
import { quoteInput, VeriteeError } from '@veritee/core';
import type { Policy, TrustAnchors } from '@veritee/attestation';
import type { AttestedClient, ResponseAttestation, SessionInfo } from '@veritee/proxy';
import { loadKeyRingFromHome, ProverPool, type LatencyParams, type ProofBundle } from '@veritee/zk';
import { assertWritable, printChecks, readBytesFile, readJsonFile, warnLoudly, writeOutputFile } from '../io.js';
import { homeOf, listenOrFail, parseHeaderOption, parseIntegerOption, parseLogLevel } from './common.js';

/** Certificates, keys and CA files are small; request bodies from a file up to 64 MiB. */
const MAX_PEM_BYTES = 1024 * 1024;
const MAX_BODY_FILE_BYTES = 64 * 1024 * 1024;

const proxyLib = () => import('@veritee/proxy');
const attestation = () => import('@veritee/attestation');

function parseListen(v: string, defaultHost: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new VeriteeError('INPUT_INVALID', `--listen ${quoteInput(v, 80)} must be HOST:PORT, :PORT or PORT`);
  return { host: m[1] || m[2] || defaultHost, port };
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  return parseIntegerOption(flag, v, 1, Number.MAX_SAFE_INTEGER);
}

function readFileOrFail(path: string, what: string, maxBytes = MAX_PEM_BYTES): Buffer {
  return readBytesFile(path, what, { maxBytes });
}

/**
 * Checks a PEM certificate chain and private key before the proxy starts: garbage,
 * a key of another kind or a key that does not belong to the leaf certificate is
 * `TLS_CREDENTIALS_INVALID` naming the file, not an internal error at the first
 * handshake.
 */
function checkTlsCredentials(cert: Buffer, certPath: string, key: Buffer, keyPath: string): void {
  const pems = cert.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new VeriteeError('TLS_CREDENTIALS_INVALID', `--cert ${quoteInput(certPath, 200)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  let leaf: X509Certificate;
  try {
    const certs = pems.map((p) => new X509Certificate(p));
    leaf = certs[0]!;
  } catch (e) {
    throw new VeriteeError('TLS_CREDENTIALS_INVALID', `--cert ${quoteInput(certPath, 200)} is not a valid PEM certificate chain: ${quoteInput((e as Error).message, 120)}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new VeriteeError('TLS_CREDENTIALS_INVALID', `--key ${quoteInput(keyPath, 200)} is not a valid PEM private key: ${quoteInput((e as Error).message, 120)}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new VeriteeError('TLS_CREDENTIALS_INVALID', `--key ${quoteInput(keyPath, 200)} does not belong to the certificate in --cert ${quoteInput(certPath, 200)} (${quoteInput(leaf.subject.replace(/\n/g, ', '), 80)})`);
  }
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(130); // second signal: stop now
    stopping = true;
    process.stderr.write('shutting down: finishing in-flight requests (signal again to stop now)\n');
    void stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

// ---- veritee proxy ------------------------------------------------------------------------

interface ProxyOpts {
  host: string;
  upstream: string;
  listen: string;
  cert?: string;
  key?: string;
  tee: string;
  simMeasurement?: string;
  simDebug?: boolean;
  simAnchorsOut?: string;
  maxBody?: string;
  maxHeader?: string;
  maxBuffer?: string;
  upstreamTimeout?: string;
  headersTimeout?: string;
  requestTimeout?: string;
  idleTimeout?: string;
  shutdownTimeout?: string;
  logLevel: string;
  accessLog: boolean;
  signResponses: string;
  evidence: string;
  countersListen?: string;
}

async function proxyCommand(o: ProxyOpts): Promise<void> {
  const { createAttestingProxy, createCountersServer, Enclave, RequestCounter, simulatedEvidenceProvider } = await proxyLib();
  const { anchorsToJson } = await attestation();
  if ((o.cert === undefined) !== (o.key === undefined)) throw new VeriteeError('INPUT_INVALID', 'give both --cert and --key, or neither (a self-signed certificate is made)');
  const tlsMaterial = o.cert !== undefined && o.key !== undefined ? { cert: readFileOrFail(o.cert, 'certificate'), key: readFileOrFail(o.key, 'private key') } : undefined;
  if (tlsMaterial) checkTlsCredentials(tlsMaterial.cert, o.cert!, tlsMaterial.key, o.key!);
  const logLevel = parseLogLevel(o.logLevel);
  if (o.signResponses !== 'on-request' && o.signResponses !== 'always') throw new VeriteeError('INPUT_INVALID', `--sign-responses ${quoteInput(o.signResponses, 40)} must be on-request or always`);
  if (o.evidence !== 'once' && o.evidence !== 'always') throw new VeriteeError('INPUT_INVALID', `--evidence ${quoteInput(o.evidence, 40)} must be once or always`);
  const kind = o.tee === 'sim' ? 'sim-snp' : o.tee;
  if (kind !== 'sim-snp' && kind !== 'sim-tdx') {
    throw new VeriteeError('ATTEST_PLATFORM_UNSUPPORTED', `--tee ${o.tee}: this build has the simulated TEE only (sim-snp, sim-tdx); see packages/proxy/README.md for hardware evidence providers`);
  }
  const provider = await simulatedEvidenceProvider({
    platform: kind === 'sim-tdx' ? 'tdx' : 'snp',
    ...(o.simMeasurement !== undefined ? { measurement: o.simMeasurement } : {}),
    ...(o.simDebug ? { debug: true } : {}),
  });
  warnLoudly([
    `SIMULATED TEE (${kind}): evidence is signed by test keys made at startup.`,
    'Attested clients refuse it unless their policy sets allowSimulated (development only).',
  ]);
  if (o.simAnchorsOut && provider.simulatedAnchors) {
    writeOutputFile(o.simAnchorsOut, JSON.stringify(anchorsToJson(provider.simulatedAnchors), null, 2) + '\n', '--sim-anchors-out');
    process.stderr.write(`simulated trust anchors written to ${o.simAnchorsOut} (clients: --sim-anchors ${o.simAnchorsOut})\n`);
  }
  const enclave = Enclave.create(provider);
  const { host, port } = parseListen(o.listen, '0.0.0.0');
  const countersAt = o.countersListen !== undefined ? parseListen(o.countersListen, '127.0.0.1') : undefined;
  if (countersAt && !/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/.test(countersAt.host)) {
    throw new VeriteeError('INPUT_INVALID', `--counters-listen ${quoteInput(o.countersListen!, 80)}: the request counters are served on loopback only (127.0.0.1, ::1): arrival times are private telemetry`);
  }
  const requestCounter = countersAt ? new RequestCounter() : undefined;
  const limits = {
    ...(o.maxBody ? { maxRequestBodyBytes: positiveInt(o.maxBody, '--max-body')! } : {}),
    ...(o.maxHeader ? { maxHeaderBytes: positiveInt(o.maxHeader, '--max-header')! } : {}),
    ...(o.maxBuffer ? { maxBufferedResponseBytes: positiveInt(o.maxBuffer, '--max-buffer')! } : {}),
  };
  const timeouts = {
    ...(o.upstreamTimeout ? { upstreamMs: positiveInt(o.upstreamTimeout, '--upstream-timeout')! } : {}),
    ...(o.headersTimeout ? { headersMs: positiveInt(o.headersTimeout, '--headers-timeout')! } : {}),
    ...(o.requestTimeout ? { requestMs: positiveInt(o.requestTimeout, '--request-timeout')! } : {}),
    ...(o.idleTimeout ? { idleMs: positiveInt(o.idleTimeout, '--idle-timeout')! } : {}),
    ...(o.shutdownTimeout ? { shutdownMs: positiveInt(o.shutdownTimeout, '--shutdown-timeout')! } : {}),
  };
  const proxy = await createAttestingProxy({
    host: o.host,
    upstream: o.upstream,
    enclave,
    logLevel,
    accessLog: o.accessLog,
    signResponses: o.signResponses,
    evidence: o.evidence,
    limits,
    timeouts,
    ...(tlsMaterial ? { tls: tlsMaterial } : {}),
    ...(requestCounter ? { requestCounter } : {}),
  });
  const a = await listenOrFail('veritee proxy', host, port, () => proxy.listen(port, host));
  const counters = requestCounter ? createCountersServer(requestCounter) : undefined;
  if (counters && countersAt) {
    const c = await listenOrFail('veritee proxy request counters', countersAt.host, countersAt.port, () => counters.listen(countersAt.port, countersAt.host));
    process.stderr.write(`request counters: http://${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port}/v1/requests (loopback)\n`);
  }
  process.stderr.write(
    `veritee proxy: https://${o.host}:${a.port} (listening on ${a.address}:${a.port}) -> ${o.upstream}\n` +
      `enclave key sha256:${Buffer.from(enclave.publicKeyHash).toString('hex')}${tlsMaterial ? '' : ' (self-signed TLS certificate)'}\n`,
  );
  onSignals(async () => {
    await counters?.close();
    await proxy.close();
  });
}

// ---- the attested client on the command line ----------------------------------------------

interface ClientOpts {
  policy?: string;
  allowSimulated?: boolean;
  simAnchors?: string;
  acceptLegacy?: boolean;
  ca?: string;
  at?: string;
}

async function loadClientPolicy(o: ClientOpts, fallback?: () => Promise<Policy>): Promise<Policy> {
  const { loadPolicy } = await attestation();
  if (o.policy !== undefined) return loadPolicy(o.policy);
  if (fallback) return fallback();
  throw new VeriteeError('INPUT_INVALID', '--policy <file> is required: it says which TEEs (platforms, measurements) may receive your data');
}

/** Builds an attested client for `baseUrl` from CLI options, with loud warnings for weakened checks. */
export async function clientFromOptions(baseUrl: string, o: ClientOpts, policy: Policy, onSession?: (s: SessionInfo) => void): Promise<AttestedClient> {
  const { createAttestedClient } = await proxyLib();
  const { anchorsFromJson } = await attestation();
  let simulatedAnchors: TrustAnchors | undefined;
  const anchorsFile = o.simAnchors ?? process.env['VERITEE_SIM_ANCHORS'];
  if (anchorsFile) simulatedAnchors = anchorsFromJson(readJsonFile(anchorsFile, 'simulated anchors file'));
  const simulated = o.allowSimulated === true || policy.allowSimulated;
  if (simulated) {
    warnLoudly([
      'SIMULATED evidence is accepted (development only).',
      simulatedAnchors ? `Simulator anchors pinned from ${anchorsFile}.` : 'No --sim-anchors: the anchors the SERVER offers are trusted, which proves nothing.',
    ]);
  }
  return createAttestedClient({
    baseUrl,
    policy,
    ...(o.allowSimulated ? { allowSimulated: true } : {}),
    ...(simulatedAnchors ? { simulatedAnchors } : {}),
    ...(o.acceptLegacy ? { acceptLegacy: true } : {}),
    ...(o.ca ? { ca: readFileOrFail(o.ca, 'CA file') } : {}),
    ...(o.at ? { at: o.at } : {}),
    ...(onSession ? { onSession } : {}),
  });
}

/** One line about a verified (or unverified) session, for stderr. */
export function describeSession(s: SessionInfo): string {
  if (!s.attested) return `NOT ATTESTED: ${s.reason ?? 'nothing was verified'}`;
  const c = s.result?.claims;
  const m = c ? `${c.measurement.slice(0, 16)}…` : '?';
  return `attested: ${c?.platform ?? '?'}${c?.simulated ? ' (SIMULATED)' : ''} measurement ${m}, ${s.result?.policyId ?? ''}, enclave key ${s.enclaveKey?.slice(0, 16)}…, session ${s.id}, ${s.tlsVersion ?? ''}`;
}

function describeResponse(a: ResponseAttestation): string {
  if (!a.verified) return 'response: NOT VERIFIED (legacy server)';
  if (!a.signed) return `response: on the verified session (evidence ${a.evidence === 'ref' ? 'by reference' : 'in full'}), not signed (--no-sign); response body sha256 ${a.responseBodySha256.slice(0, 16)}…`;
  return `response: signature verified (${a.signedIn}); request body sha256 ${a.requestBodySha256.slice(0, 16)}…, response body sha256 ${a.responseBodySha256.slice(0, 16)}…`;
}

interface RequestOpts extends ClientOpts {
  method?: string;
  data?: string;
  header?: string[];
  out?: string;
  include?: boolean;
  fail?: boolean;
  verbose?: boolean;
  sign?: boolean;
}

async function requestCommand(target: string, o: RequestOpts): Promise<void> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new VeriteeError('INPUT_INVALID', `${quoteInput(target)} is not a URL (expected https://host[:port]/path)`);
  }
  // Every option is checked before the policy is read or anything is sent.
  const headers: Record<string, string> = {};
  for (const h of o.header ?? []) {
    const [name, value] = parseHeaderOption(h);
    headers[name] = value;
  }
  if (o.out) assertWritable(o.out);
  const policy = await loadClientPolicy(o);
  let body: Buffer | undefined;
  if (o.data !== undefined) body = o.data.startsWith('@') ? readFileOrFail(o.data.slice(1), 'request body file', MAX_BODY_FILE_BYTES) : Buffer.from(o.data, 'utf8');
  if (body && !headers['content-type']) headers['content-type'] = 'application/octet-stream';
  const client = await clientFromOptions(url.origin, o, policy, (s) => process.stderr.write(describeSession(s) + '\n'));
  try {
    // One request from the command line: ask for the transferable signature unless --no-sign.
    const res = await client.fetch(url.pathname + url.search, { method: o.method ?? (body ? 'POST' : 'GET'), headers, body: body ?? null, signed: o.sign !== false });
    if (!res.attestation.verified) warnLoudly([`${url.origin} presents no attestation: NOTHING was verified.`, 'The response could come from anyone who holds its TLS certificate.']);
    process.stderr.write(`HTTP ${res.status} ${res.statusText}\n${describeResponse(res.attestation)}\n`);
    if (o.verbose && res.attestation.verified) printChecks(res.attestation.session.result?.checks ?? [], (s) => process.stderr.write(s));
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (o.include) {
      let head = `HTTP ${res.status} ${res.statusText}\n`;
      res.headers.forEach((v, k) => (head += `${k}: ${k === 'attestation-report' ? `${v.slice(0, 32)}… (${v.length} chars)` : v}\n`));
      process.stdout.write(head + '\n');
    }
    if (o.out) writeOutputFile(o.out, bytes, '--out');
    else process.stdout.write(bytes);
    if (o.fail && res.status >= 400) process.exitCode = 1;
  } finally {
    await client.close();
  }
}

// ---- remote proving: `veritee prove latency --remote` ---------------------------------------

export interface RemoteProveCliOptions extends ClientOpts {
  remote?: string;
  allowUnattested?: boolean;
  home?: string;
}

/** Adds `--remote`, `--policy`, `--allow-unattested` (and the simulated-TEE knobs) to a prove command. */
export function addRemoteProveOptions(cmd: Command): Command {
  return cmd
    .option('--remote <url>', 'prove on a remote prover behind an attesting proxy (https://host:port): the records are sent only after its TEE is verified')
    .option('--policy <file>', 'with --remote: the attestation policy the remote prover must satisfy')
    .option('--allow-unattested', 'with --remote: accept a prover that presents no attestation (nothing about it is verified)')
    .addOption(new Option('--allow-simulated', 'with --remote: accept a SIMULATED TEE (development only)').hideHelp())
    .addOption(new Option('--sim-anchors <file>', 'with --remote: pin the simulated TEE anchors').hideHelp());
}

/**
 * Sends the claim input to the remote prover through an attested client, waits, and
 * verifies the bundle locally with the trusted keys of the veritee home.
 */
export async function proveLatencyOnRemote(
  o: RemoteProveCliOptions,
  input: { params: LatencyParams; records: number[]; capacity: number },
): Promise<ProofBundle> {
  const { proveLatencyRemote } = await proxyLib();
  const { productionPolicy } = await attestation();
  const remote = o.remote!;
  if (!o.policy && !o.allowUnattested) {
    throw new VeriteeError('INPUT_INVALID', '--remote needs --policy <file> (which TEEs may receive your records), or --allow-unattested to send them to an unverified prover');
  }
  const policy = await loadClientPolicy(o, async () => productionPolicy());
  const client = await clientFromOptions(remote, { ...o, acceptLegacy: o.allowUnattested === true }, policy, (s) => process.stderr.write(describeSession(s) + '\n'));
  // Ctrl-C / SIGTERM: cancel the remote job rather than leave it running; again: stop now.
  const interrupt = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(130);
    process.stderr.write(`${sig}: cancelling the remote job (signal again to stop now)…\n`);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const keys = () => loadKeyRingFromHome(homeOf(o));
    process.stderr.write(`sending ${input.records.length / 2} records to ${remote} (${input.capacity}-record size class)…\n`);
    const r = await proveLatencyRemote(client, input, {
      keys,
      allowDevSetup: true,
      signal: interrupt.signal,
      onStatus: (j) => process.stderr.write(`remote job ${j.id.slice(0, 12)}…: ${j.status}${j.timings ? ` (prove ${j.timings.proveMs} ms)` : ''}\n`),
      onCancel: (j) => {
        if (j) process.stderr.write(`remote job ${j.id.slice(0, 12)}…: ${j.status}\n`);
      },
    });
    if (!r.submitted.verified) {
      warnLoudly([
        `UNATTESTED PROVER: ${remote} presents no attestation.`,
        'Your records were sent to a server that was NOT verified (--allow-unattested).',
        'The proof below is checked locally, but who saw the records is not.',
      ]);
    }
    process.stderr.write(`local verification of the returned bundle: ${r.verification.ok ? 'VERIFIED' : 'FAILED'}\n`);
    printChecks(r.verification.checks, (s) => process.stderr.write(s));
    if (r.verification.key?.setup === 'dev') warnLoudly(['The remote proof uses DEV keys (from a single-party trusted setup).', 'They are in your key store; whoever ran that setup could forge proofs.']);
    if (!r.verification.ok) {
      const f = r.verification.checks.find((c) => !c.ok);
      throw new VeriteeError(f?.code ?? 'ZK_PROOF_INVALID', `the bundle from ${remote} does not verify locally: ${f?.name}: ${f?.detail}`);
    }
    return r.verification.bundle!;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
}

// ---- veritee prover serve ----------------------------------------------------------------

interface ProverServeOpts {
  listen: string;
  home?: string;
  poolSize?: string;
  maxJobs?: string;
  devSetup?: boolean;
}

async function proverServeCommand(o: ProverServeOpts): Promise<void> {
  const { buildProverService } = await proxyLib();
  const { host, port } = parseListen(o.listen, '127.0.0.1');
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    warnLoudly([`The prover listens on ${host}, not loopback.`, 'Private inputs should reach it only through the attesting proxy (veritee proxy).']);
  }
  if (o.devSetup) warnLoudly(['--dev-setup: missing keys are made by a DEV trusted setup (single party, forgeable).']);
  const poolSize = positiveInt(o.poolSize, '--pool-size');
  const maxJobs = positiveInt(o.maxJobs, '--max-jobs');
  const pool = new ProverPool({ home: homeOf(o), ...(poolSize ? { size: poolSize } : {}) });
  const app = await buildProverService({ pool, logger: true, ...(o.devSetup ? { devSetup: true } : {}), ...(maxJobs ? { maxJobs } : {}) });
  let address: string;
  try {
    address = await listenOrFail('veritee prover serve', host, port, () => app.listen({ host, port }));
  } catch (e) {
    await pool.close();
    throw e;
  }
  process.stderr.write(`veritee prover serve: listening on ${address} (put \`veritee proxy --upstream ${address}\` in front of it)\n`);
  onSignals(async () => {
    await app.close();
    await pool.close();
  });
}

export function registerProxyCommands(program: Command): void {
  program
    .command('proxy')
    .description('attesting TLS reverse proxy: TLS 1.3 ends inside the TEE, sessions are bound to attestation, responses are signed on request')
    .requiredOption('--host <name>', 'public host name (certificate subject)')
    .requiredOption('--upstream <url>', 'the service behind the proxy, inside the TEE, e.g. http://127.0.0.1:8082')
    .option('--listen <[host]:port>', 'address to listen on', ':8443')
    .option('--cert <file>', 'PEM certificate chain (default: a self-signed certificate made at startup)')
    .option('--key <file>', 'PEM private key of --cert')
    .option('--tee <kind>', 'evidence source: sim-snp or sim-tdx (simulated, development only)', 'sim-snp')
    .option('--sim-measurement <hex>', 'simulated launch measurement / MRTD (48 bytes hex)')
    .option('--sim-debug', 'simulate a debug-mode TEE (policies refuse it)')
    .option('--sim-anchors-out <file>', "write the simulated TEE's trust anchors here (for clients' --sim-anchors)")
    .option('--max-body <bytes>', 'largest request body (default 16 MiB)')
    .option('--max-header <bytes>', 'largest request head (default 16 KiB)')
    .option('--max-buffer <bytes>', 'responses up to this size are signed in a header, larger ones in a trailer (default 1 MiB)')
    .option('--upstream-timeout <ms>', 'upstream inactivity before 504 (default 30000)')
    .option('--headers-timeout <ms>', 'time to receive the request head (default 10000)')
    .option('--request-timeout <ms>', 'time to receive the whole request (default 60000)')
    .option('--idle-timeout <ms>', 'keep-alive idle time (default 5000)')
    .option('--shutdown-timeout <ms>', 'graceful shutdown limit for in-flight requests (default 30000)')
    .option('--log-level <level>', 'pino level', 'info')
    .option('--no-access-log', 'no log line per request')
    .option('--sign-responses <when>', 'on-request: sign responses whose request says Veritee-Sign: 1; always: sign every response', 'on-request')
    .option('--evidence <where>', 'once: full evidence in the binding and the first response of a connection, then Attestation-Report-Ref; always: on every response', 'once')
    .option('--counters-listen <[host]:port>', 'serve the request counters (arrival times, for `veritee cp agent --requests`) on this loopback address')
    .action(proxyCommand);

  program
    .command('request')
    .description('an HTTP request through the attested client: the TEE and the session binding are verified before anything is sent')
    .argument('<url>', 'https://host[:port]/path of an attesting proxy')
    .option('--policy <file>', 'attestation policy the server must satisfy (required)')
    .option('-X, --method <method>', 'HTTP method (default GET, or POST with --data)')
    .option('-d, --data <data>', 'request body: text, or @file')
    .option('-H, --header <header...>', 'extra header(s), "Name: value"')
    .option('-o, --out <file>', 'write the response body to a file instead of stdout')
    .option('-i, --include', 'print the response headers before the body')
    .option('-f, --fail', 'exit 1 on an HTTP status >= 400')
    .option('-v, --verbose', 'print every attestation check')
    .option('--allow-simulated', 'accept a SIMULATED TEE (development only)')
    .option('--sim-anchors <file>', 'pin the simulated TEE anchors (from `veritee proxy --sim-anchors-out`)')
    .option('--accept-legacy', 'accept a server without attestation (the output says nothing was verified)')
    .option('--ca <file>', 'CA certificate(s) for legacy servers')
    .option('--at <time>', 'verification time, RFC 3339 (default: now)')
    .option('--no-sign', 'do not ask for an enclave-signed response (the verified session still authenticates the TEE)')
    .action(requestCommand);

  const prover = program.command('prover').description('the zero-knowledge prover as a service');
  prover
    .command('serve')
    .description('serve the prover over HTTP on loopback (POST /v1/prove, GET /v1/jobs/:id, GET /v1/jobs/:id/bundle); put `veritee proxy` in front')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8082')
    .option('--home <dir>', 'veritee home directory (default $VERITEE_HOME or ~/.veritee)')
    .option('--pool-size <n>', 'prover processes (default: one per two cores)')
    .option('--max-jobs <n>', 'most unfinished jobs (default 16)')
    .option('--dev-setup', 'run a DEV trusted setup for size classes without keys')
    .action(proverServeCommand);
}
