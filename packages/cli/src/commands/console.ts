/**
 * @module commands/console
 * `veritee console [--listen HOST:PORT] [--bundles DIR] [--home DIR]`: serves the
 * web console (the browser verifier and the platform's pages) on loopback, with a
 * read-only API over a directory of proof bundles and the home's verification keys.
 * `veritee demo --console` starts it over the demo's bundles.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { buildConsoleServer, parseConsoleListen } from '@veritee/console';
import { homeOf, listenOrFail } from './common.js';

export const DEFAULT_CONSOLE_LISTEN = '127.0.0.1:8799';

/** Where the demo writes its bundles and the console reads them by default: <home>/console/bundles. */
export function consoleBundlesDir(home: string): string {
  return join(home, 'console', 'bundles');
}

/** Starts the console server; returns its URL and a close function. */
export async function startConsole(o: { listen: string; bundlesDir: string; home: string }): Promise<{ url: string; close: () => Promise<void> }> {
  const { host, port } = parseConsoleListen(o.listen);
  const app = await buildConsoleServer({ bundlesDir: o.bundlesDir, home: o.home });
  await listenOrFail('veritee console', host, port, () => app.listen({ host, port }));
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
  return { url, close: () => app.close() };
}

export function registerConsoleCommand(program: Command): void {
  program
    .command('console')
    .description('serve the web console on loopback: verify bundles in your browser, see attestation and proofs')
    .option('--listen <host:port>', 'loopback address to listen on', DEFAULT_CONSOLE_LISTEN)
    .option('--bundles <dir>', 'directory of proof bundles to list (default <home>/console/bundles, where `veritee demo` writes)')
    .option('--home <dir>', 'veritee home directory: its verification keys are offered to the page (default $VERITEE_HOME or ~/.veritee)')
    .action(async (o: { listen: string; bundles?: string; home?: string }) => {
      const home = homeOf(o);
      const bundlesDir = o.bundles ?? consoleBundlesDir(home);
      const c = await startConsole({ listen: o.listen, bundlesDir, home });
      process.stdout.write(`veritee console: ${c.url} (bundles from ${bundlesDir}; Ctrl-C stops it)\n`);
      const stop = () => void c.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
