/**
 * @module commands/attest-token
 * `veritee attest check-token <token> --jwks FILE|URL --audience ID [--accept affirming|warning]
 * [--issuer ISS] [--at RFC3339] [--json]`: what a relying party runs on an EAR token from
 * `veritee attest serve`. It passes (exit 0) only if the token is signed by a key in the
 * JWKS, names this issuer, is fresh at `--at`, was issued for `--audience`, and its verdict
 * (`ear.status` of every submodule) is affirming (or warning, with `--accept warning`).
 * Exit 1 with ATTEST_TOKEN_INVALID or ATTEST_TOKEN_NOT_AFFIRMING otherwise, 2 for bad input.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Command } from 'commander';
import { quoteInput, toEpochMs, VeriteeError } from '@veritee/core';

const attestation = () => import('@veritee/attestation');

const MAX_TOKEN_BYTES = 64 * 1024;
const MAX_JWKS_BYTES = 256 * 1024;

/** Reads at most `max` bytes (counting what is read, so pipes and devices are bounded too). */
function readBounded(path: string, what: string, max: number): string {
  let fd: number;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `cannot read ${what} ${quoteInput(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (;;) {
      let r: number;
      try {
        r = readSync(fd, buf, n, buf.length - n, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw new VeriteeError('INPUT_FILE_UNREADABLE', `cannot read ${what} ${quoteInput(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (r === 0) break;
      n += r;
      if (n > max) throw new VeriteeError('INPUT_TOO_LARGE', `${what} ${quoteInput(path)} is over the ${max}-byte limit`);
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

async function loadJwks(src: string): Promise<unknown> {
  let text: string;
  if (/^https?:\/\//i.test(src)) {
    let res: Response;
    try {
      res = await fetch(src, { signal: AbortSignal.timeout(10_000), redirect: 'error' });
    } catch (e) {
      throw new VeriteeError('INPUT_FILE_UNREADABLE', `cannot fetch the JWKS from ${quoteInput(src)}: ${quoteInput((e as Error).message)}`);
    }
    if (!res.ok) throw new VeriteeError('INPUT_FILE_UNREADABLE', `the JWKS at ${quoteInput(src)} answered HTTP ${res.status}`);
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > MAX_JWKS_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `the JWKS at ${quoteInput(src)} is over ${MAX_JWKS_BYTES} bytes`);
    text = body.toString('utf8');
  } else {
    text = readBounded(src, 'JWKS file', MAX_JWKS_BYTES);
  }
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch (e) {
    throw new VeriteeError('INPUT_JSON_INVALID', `the JWKS ${quoteInput(src)} is not valid JSON: ${quoteInput((e as Error).message)}`);
  }
  if (jwks === null || typeof jwks !== 'object' || !Array.isArray((jwks as { keys?: unknown }).keys)) {
    throw new VeriteeError('INPUT_INVALID', `the JWKS ${quoteInput(src)} has no "keys" array`);
  }
  return jwks;
}

interface CheckTokenOpts {
  jwks: string;
  audience: string;
  accept: string;
  issuer?: string;
  at?: string;
  json?: boolean;
}

async function checkTokenCommand(tokenArg: string, o: CheckTokenOpts): Promise<void> {
  const { verifyResultToken } = await attestation();
  if (o.accept !== 'affirming' && o.accept !== 'warning') throw new VeriteeError('INPUT_INVALID', `--accept must be affirming or warning (got ${quoteInput(o.accept)})`);
  const token = (tokenArg === '-' || tokenArg.startsWith('@') ? readBounded(tokenArg === '-' ? '-' : tokenArg.slice(1), 'token file', MAX_TOKEN_BYTES) : tokenArg).trim();
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) throw new VeriteeError('INPUT_INVALID', 'the token is not a compact JWS (three base64url parts)');
  const at = new Date(toEpochMs(o.at ?? new Date(), '--at'));
  const jwks = await loadJwks(o.jwks);
  const claims = await verifyResultToken(token, jwks as Parameters<typeof verifyResultToken>[1], {
    at,
    audience: o.audience,
    accept: o.accept,
    ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
  });
  if (o.json) {
    process.stdout.write(JSON.stringify(claims, null, 2) + '\n');
    return;
  }
  const lines = [`✓ token accepted for audience ${quoteInput(o.audience)} at ${at.toISOString()} (expires ${new Date(claims.exp * 1000).toISOString()})`];
  for (const [name, sub] of Object.entries(claims.submods)) lines.push(`  ${name}: ${sub['ear.status']} (${sub['ear.appraisal-policy-id']})`);
  process.stdout.write(lines.join('\n') + '\n');
}

/** Adds `check-token` to the `attest` command group. */
export function registerCheckTokenCommand(attest: Command): void {
  attest
    .command('check-token')
    .description("check an EAR token as a relying party: signature (JWKS), issuer, freshness, audience and verdict; exit 0 only if accepted")
    .argument('<token>', 'the token, @file, or - for stdin')
    .requiredOption('--jwks <file|url>', "the service's JWKS (GET /.well-known/jwks.json) as a file or URL")
    .requiredOption('--audience <id>', "your relying-party id: the token's aud must name it")
    .option('--accept <verdict>', 'affirming (default), or warning to also accept warning verdicts', 'affirming')
    .option('--issuer <iss>', 'expected issuer (default veritee-attestation)')
    .option('--at <time>', 'verification time, RFC 3339 (default: now)')
    .option('--json', 'print the verified claims as JSON')
    .action((token: string, o: CheckTokenOpts) => checkTokenCommand(token, o));
}
