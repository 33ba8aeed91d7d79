/**
 * @module commands/console
 * `veritee console [--listen HOST:PORT] [--bundles DIR] [--home DIR] [--kms URL
 * --kms-token-file FILE] [--cp URL]`: serves the web console (the browser verifier and
 * the platform's pages) on loopback, with a read-only API over a directory of proof
 * bundles and the home's verification keys, and a read-only GET relay to a KMS (with its
 * admin token, which stays in this process) and a control plane, both on loopback.
 * `veritee demo --console` starts it over the demo's bundles, KMS and control plane.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { VeriteeError } from '@veritee/core';
import { readFileBounded } from '@veritee/core/node-fs';
import { buildConsoleServer, parseConsoleListen, parseUpstreamUrl } from '@veritee/console';
import { homeOf, listenOrFail } from './common.js';

export const DEFAULT_CONSOLE_LISTEN = '127.0.0.1:8799';

/** Where the demo writes its bundles and the console reads them by default: <home>/console/bundles. */
export function consoleBundlesDir(home: string): string {
  return join(home, 'console', 'bundles');
}

/** Starts the console server; returns its URL and a close function. */
export async function startConsole(o: { listen: string; bundlesDir: string; home: string; kms?: { url: string; token?: string }; cp?: { url: string } }): Promise<{ url: string; close: () => Promise<void> }> {
  const { host, port } = parseConsoleListen(o.listen);
  const app = await buildConsoleServer({ bundlesDir: o.bundlesDir, home: o.home, ...(o.kms ? { kms: o.kms } : {}), ...(o.cp ? { cp: o.cp } : {}) });
  await listenOrFail('veritee console', host, port, () => app.listen({ host, port }));
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
  return { url, close: () => app.close() };
}

/** Reads a bearer token from a file: one line of token characters (at most 16 KiB). */
export function readToken(file: string): string {
  const text = readFileBounded(file, { what: 'KMS admin token file', maxBytes: 16 * 1024 }).toString('utf8').trim();
  if (!/^[A-Za-z0-9._~+/=-]{1,8192}$/.test(text)) throw new VeriteeError('INPUT_INVALID', `${file} does not hold a bearer token (one line of base64url / JWT characters)`);
  return text;
}

export function registerConsoleCommand(program: Command): void {
  program
    .command('console')
    .description('serve the web console on loopback: verify bundles in your browser, see attestation and proofs')
    .option('--listen <host:port>', 'loopback address to listen on', DEFAULT_CONSOLE_LISTEN)
    .option('--bundles <dir>', 'directory of proof bundles to list (default <home>/console/bundles, where `veritee demo` writes)')
    .option('--home <dir>', 'veritee home directory: its verification keys are offered to the page (default $VERITEE_HOME or ~/.veritee)')
    .option('--kms <url>', 'a KMS on loopback to show (read-only: metadata and the audit log, never secret values)')
    .option('--kms-token-file <file>', 'file holding a KMS admin JWT (role kms-admin) the console sends to the KMS; it never reaches the browser')
    .option('--cp <url>', 'a control plane on loopback to show (decisions and their proofs)')
    .action(async (o: { listen: string; bundles?: string; home?: string; kms?: string; kmsTokenFile?: string; cp?: string }) => {
      const home = homeOf(o);
      const bundlesDir = o.bundles ?? consoleBundlesDir(home);
      if (o.kmsTokenFile !== undefined && o.kms === undefined) throw new VeriteeError('CLI_USAGE_INVALID', '--kms-token-file needs --kms URL');
      const kms = o.kms !== undefined ? { url: parseUpstreamUrl('kms', o.kms), ...(o.kmsTokenFile !== undefined ? { token: readToken(o.kmsTokenFile) } : {}) } : undefined;
      const cp = o.cp !== undefined ? { url: parseUpstreamUrl('cp', o.cp) } : undefined;
      const c = await startConsole({ listen: o.listen, bundlesDir, home, ...(kms ? { kms } : {}), ...(cp ? { cp } : {}) });
      process.stdout.write(`veritee console: ${c.url} (bundles from ${bundlesDir}${kms ? `; KMS ${kms.url}${kms.token ? ' with an admin token' : ' without a token'}` : ''}${cp ? `; control plane ${cp.url}` : ''}; Ctrl-C stops it)\n`);
      const stop = () => void c.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
