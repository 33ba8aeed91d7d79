/**
 * @module commands/attest
 * `veritee attest ...`:
 *
 * - `verify <evidence> --policy FILE [--nonce HEX] [--public-key-hash HEX] [--at RFC3339] [--json]`
 *   prints every check (`✓`/`✗ name: detail`) and exits 0 only if all pass
 *   (1 = verification failed, 2 = bad input, through the program's uniform handler);
 * - `serve [--listen HOST:PORT] [--policies DIR] [--max-nonces N] [--max-nonces-per-client N]
 *   [--trust-proxy IPS] [--audience ID]` runs the attestation service;
 * - `sim --platform snp|tdx|nvidia|az-snp|az-tdx|gcp-snp|gcp-tdx (--report-data HEX | --nonce HEX) --out FILE` writes
 *   SIMULATED evidence (labelled) and its trust anchors (`FILE.anchors.json`).
 */
import type { Command } from 'commander';
import { isIP } from 'node:net';
import { registerCheckTokenCommand } from './attest-token.js';
import { ERROR_CODES, fromHex, quoteInput, toEpochMs, VeriteeError, type ErrorCode } from '@veritee/core';
import type { AttestationResult, Platform, SimulatedTee, TrustAnchors } from '@veritee/attestation';
import { assertWritable, readJsonFile, readTextFile, writeOutputFile } from '../io.js';
import { listenOrFail, parseIntegerOption } from './common.js';

/** The attestation package is loaded when an attest command runs, not at CLI start-up. */
const attestation = () => import('@veritee/attestation');
/** Evidence files are size-checked before reading; same limit as verifyEvidence (1 MiB). */
const MAX_EVIDENCE_BYTES = 1024 * 1024;

function readInput(path: string, what: string, maxBytes = MAX_EVIDENCE_BYTES): string {
  // Bounded by bytes actually read: stdin, pipes and devices report size 0.
  return readTextFile(path, what, { maxBytes, stdin: true });
}

function readJson(path: string, what: string): unknown {
  return readJsonFile(path, what, 'INPUT_JSON_INVALID', { stdin: true });
}

function hex32(v: string | undefined, what: string): Uint8Array | undefined {
  if (v === undefined) return undefined;
  const b = fromHex(v, what);
  if (b.length !== 32) throw new VeriteeError('INPUT_INVALID', `${what} must be 32 bytes (64 hex digits), got ${b.length} bytes`);
  return b;
}

function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v;
}

/** The error a failed verification ends with: the first failure's code if it is a verification code. */
function failureError(r: AttestationResult): VeriteeError {
  const first = r.failures.find((f) => f.code !== undefined)?.code;
  // The first failure's own code, so the exit status is the one docs/ERRORS.md gives it:
  // malformed evidence (bad base64, truncated report) is bad input (2), not a policy verdict (1).
  const code: ErrorCode = first !== undefined && first in ERROR_CODES ? first : 'ATTEST_POLICY_VIOLATION';
  const what = r.status === 'unverified' ? 'evidence is unverified (collateral missing)' : ERROR_CODES[code].exit === 2 ? 'evidence is malformed' : 'verification failed';
  return new VeriteeError(code, `${what}: ${r.failures.length} check(s) failed (${r.failures.map((f) => f.name).join(', ')})`);
}

interface VerifyOpts {
  policy: string;
  nonce?: string;
  publicKeyHash?: string;
  reportData?: string;
  at?: string;
  collateral?: string;
  simAnchors?: string;
  json?: boolean;
}

async function verifyCommand(file: string, o: VerifyOpts): Promise<void> {
  const { anchorsFromJson, formatResult, loadPolicy, verifyEvidence } = await attestation();
  const policy = loadPolicy(o.policy);
  const at = new Date(toEpochMs(o.at ?? new Date(), '--at'));
  const nonce = hex32(o.nonce, '--nonce');
  const pkh = hex32(o.publicKeyHash, '--public-key-hash');
  const raw = o.reportData !== undefined ? fromHex(o.reportData, '--report-data') : undefined;
  const evidence = readInput(file, 'evidence file');
  const collateral = o.collateral !== undefined ? (readJson(o.collateral, 'collateral file') as Record<string, unknown>) : undefined;
  const simulatedAnchors: TrustAnchors | undefined = o.simAnchors !== undefined ? anchorsFromJson(readJson(o.simAnchors, 'anchors file')) : undefined;

  const result = await verifyEvidence(evidence, {
    policy,
    at,
    ...(nonce ? { nonce } : {}),
    ...(pkh ? { publicKeyHash: pkh } : {}),
    ...(raw ? { expectedReportData: raw } : {}),
    ...(collateral ? { collateral } : {}),
    ...(simulatedAnchors ? { simulatedAnchors } : {}),
  });
  process.stdout.write((o.json ? JSON.stringify(result, jsonReplacer, 2) : formatResult(result)) + '\n');
  if (!result.ok) throw failureError(result);
}

interface ServeOpts {
  listen: string;
  policies: string;
  signingKey?: string;
  nonceTtl?: string;
  maxNonces: string;
  maxNoncesPerClient: string;
  trustProxy?: string;
  audience?: string;
  simAnchors?: string;
}

function positiveIntOption(v: string, flag: string): number {
  const n = /^\d{1,15}$/.test(v) ? Number(v) : NaN;
  if (!(Number.isSafeInteger(n) && n > 0)) throw new VeriteeError('INPUT_INVALID', `${flag} must be a positive integer (got ${quoteInput(v)})`);
  return n;
}

/** `--trust-proxy`: comma-separated IP literals or CIDRs (IPv4 /0-32, IPv6 /0-128). */
function trustProxyList(v: string): string[] {
  const out: string[] = [];
  for (const raw of v.split(',')) {
    const item = raw.trim();
    const [addr, bits, extra] = item.split('/');
    const family = isIP(addr ?? '');
    const max = family === 4 ? 32 : 128;
    const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
    if (family === 0 || !okBits || extra !== undefined) {
      throw new VeriteeError('INPUT_INVALID', `--trust-proxy entry ${quoteInput(item)} is not an IP address or CIDR (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)`);
    }
    out.push(item);
  }
  return out;
}

function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new VeriteeError('INPUT_INVALID', `--listen ${quoteInput(v, 80)} must be HOST:PORT or PORT`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

async function serveCommand(o: ServeOpts): Promise<void> {
  const { anchorsFromJson, buildAttestationServer, loadResultSigner } = await attestation();
  const { host, port } = parseListen(o.listen);
  const ttl = o.nonceTtl !== undefined ? parseIntegerOption('--nonce-ttl', o.nonceTtl, 1, 604_800) : undefined;
  const maxNonces = positiveIntOption(o.maxNonces, '--max-nonces');
  const maxNoncesPerClient = positiveIntOption(o.maxNoncesPerClient, '--max-nonces-per-client');
  const trustProxy = o.trustProxy !== undefined ? trustProxyList(o.trustProxy) : undefined;
  if (o.audience !== undefined && !/^[\x21-\x7e]{1,256}$/.test(o.audience)) {
    throw new VeriteeError('INPUT_INVALID', `--audience must be 1 to 256 printable ASCII characters without spaces (got ${quoteInput(o.audience)})`);
  }
  const signer = o.signingKey !== undefined ? await loadResultSigner(o.signingKey) : undefined;
  const simulatedAnchors = o.simAnchors !== undefined ? anchorsFromJson(readJson(o.simAnchors, 'anchors file')) : undefined;
  const app = await buildAttestationServer({
    policies: o.policies,
    logger: true,
    maxNonces,
    maxNoncesPerClient,
    ...(trustProxy ? { trustProxy } : {}),
    ...(o.audience !== undefined ? { defaultAudience: o.audience } : {}),
    ...(signer ? { signer } : {}),
    ...(ttl !== undefined ? { nonceTtlSeconds: ttl } : {}),
    ...(simulatedAnchors ? { simulatedAnchors } : {}),
  });
  if (!signer) app.log.warn('no --signing-key: result tokens are signed by a key generated for this process');
  const address = await listenOrFail('veritee attest serve', host, port, () => app.listen({ host, port }));
  process.stderr.write(`veritee attest serve: listening on ${address}\n`);
  const close = () => {
    void app.close().then(() => process.exit(0));
  };
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
}

interface SimOpts {
  platform: string;
  reportData?: string;
  nonce?: string;
  publicKeyHash?: string;
  out: string;
  anchorsOut?: string;
  measurement?: string;
  debug?: boolean;
}

async function simCommand(o: SimOpts): Promise<void> {
  const { anchorsToJson, computeReportData, SimulatedTee, PLATFORMS, hardwareOf } = await attestation();
  const platform = o.platform as Platform;
  if (!PLATFORMS.includes(platform)) throw new VeriteeError('INPUT_INVALID', `--platform must be one of ${PLATFORMS.join(', ')} (got ${quoteInput(o.platform, 40)})`);
  const hw = hardwareOf(platform);
  if ((o.reportData === undefined) === (o.nonce === undefined && o.publicKeyHash === undefined)) {
    throw new VeriteeError('INPUT_INVALID', 'give either --report-data HEX, or --nonce HEX and/or --public-key-hash HEX');
  }
  let reportData: Uint8Array;
  if (o.reportData !== undefined) reportData = fromHex(o.reportData, '--report-data');
  else {
    const nonce = hex32(o.nonce, '--nonce');
    const pkh = hex32(o.publicKeyHash, '--public-key-hash');
    reportData = computeReportData({ ...(nonce ? { nonce } : {}), ...(pkh ? { publicKeyHash: pkh } : {}) });
  }
  const overrides: Record<string, unknown> = {};
  if (o.measurement !== undefined) {
    const m = fromHex(o.measurement, '--measurement');
    if (hw === 'snp') overrides['measurement'] = m;
    else if (hw === 'tdx') overrides['mrtd'] = m;
    else overrides['measurements'] = [m];
  }
  if (o.debug) {
    if (hw === 'nvidia') throw new VeriteeError('INPUT_INVALID', '--debug applies to snp and tdx (and their cloud variants) only');
    overrides['debug'] = true;
  }
  assertWritable(o.out);
  assertWritable(o.anchorsOut ?? o.out.replace(/(\.json)?$/, '.anchors.json'), '--anchors-out');
  const tee = await SimulatedTee.create({ platforms: [platform] });
  const envelope = { ...tee.evidence(platform, { ...overrides, reportData } as Parameters<SimulatedTee['evidence']>[1]), note: SimulatedTee.LABEL };
  const anchorsOut = o.anchorsOut ?? o.out.replace(/(\.json)?$/, '.anchors.json');
  writeOutputFile(o.out, JSON.stringify(envelope, null, 2) + '\n', '--out');
  writeOutputFile(anchorsOut, JSON.stringify(anchorsToJson(tee.anchors), null, 2) + '\n', 'anchors file');
  process.stdout.write(
    `wrote SIMULATED ${platform} evidence to ${o.out} and its test trust anchors to ${anchorsOut}\n` +
      `(development only: it verifies only under a policy with allowSimulated: true and --sim-anchors ${anchorsOut})\n`,
  );
}

export function registerAttestCommands(program: Command): void {
  const attest = program.command('attest').description('verify TEE attestation evidence (SEV-SNP, TDX, NVIDIA)');

  attest
    .command('verify')
    .description('verify evidence against a policy; prints every check; exit 0 only if all pass')
    .argument('<evidence>', 'evidence file: envelope JSON or an Attestation-Report header value ("-" for stdin)')
    .requiredOption('--policy <file>', 'policy file (YAML or JSON)')
    .option('--nonce <hex>', 'the 32-byte nonce the evidence must bind (veritee.report-data/v1)')
    .option('--public-key-hash <hex>', 'SHA-256 of the enclave public key the evidence must bind')
    .option('--report-data <hex>', 'raw expected report data (64 bytes; NVIDIA: 32-byte SPDM nonce)')
    .option('--at <time>', 'verification time, RFC 3339 (default: now)')
    .option('--collateral <file>', 'TDX collateral (JSON) for evidence that carries none')
    .option('--sim-anchors <file>', 'simulated trust anchors (from `veritee attest sim`); used only if the policy allows simulated evidence')
    .option('--json', 'print the whole result as JSON')
    .action((file: string, o: VerifyOpts) => verifyCommand(file, o));

  attest
    .command('serve')
    .description('run the attestation service (nonces, verification, EAR tokens, JWKS)')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8787')
    .option('--policies <dir>', 'directory of named policy files (*.yaml, *.yml, *.json)', 'policies')
    .option('--signing-key <file>', 'token signing key: private P-256 JWK (JSON) or PKCS#8 PEM')
    .option('--nonce-ttl <seconds>', 'nonce lifetime', '300')
    .option('--max-nonces <n>', 'most unused nonces held at once, all clients (then 429 ATTEST_NONCE_LIMIT)', '100000')
    .option('--max-nonces-per-client <n>', 'most unused nonces held at once for one client address (IPv6: per /64)', '1000')
    .option('--trust-proxy <list>', 'reverse proxies (IPs/CIDRs, comma-separated) whose X-Forwarded-For names the client')
    .option('--audience <id>', "token audience (aud) when a request names none; relying parties check it against their own id")
    .option('--sim-anchors <file>', 'simulated trust anchors, for policies that allow simulated evidence')
    .action((o: ServeOpts) => serveCommand(o));
  registerCheckTokenCommand(attest);

  attest
    .command('sim')
    .description('write SIMULATED evidence (development only) and its test trust anchors')
    .requiredOption('--platform <platform>', 'snp, tdx, nvidia, or a cloud variant: az-snp, az-tdx (HCL report + vTPM quote), gcp-snp, gcp-tdx')
    .option('--report-data <hex>', 'report data to embed (SNP/TDX up to 64 bytes; NVIDIA 32 or 64)')
    .option('--nonce <hex>', 'bind this 32-byte nonce (veritee.report-data/v1) instead of --report-data')
    .option('--public-key-hash <hex>', 'bind this public-key hash (veritee.report-data/v1)')
    .option('--measurement <hex>', 'launch measurement (SNP) / MRTD (TDX) / first GPU measurement (NVIDIA)')
    .option('--debug', 'mark the simulated guest as debug (SNP, TDX)')
    .requiredOption('--out <file>', 'where to write the evidence envelope (JSON)')
    .option('--anchors-out <file>', 'where to write the trust anchors (default: <out>.anchors.json)')
    .action((o: SimOpts) => simCommand(o));
}
