/**
 * @module program
 * Builds the commander program and runs it with uniform error handling.
 */
import { Command, CommanderError } from 'commander';
import { toVeriteeError, VeriteeError } from '@veritee/core';
import { registerAttestCommands } from './commands/attest.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerZkCommands } from './commands/zk.js';
import { registerInclusionCommands } from './commands/inclusion.js';
import { registerProxyCommands } from './commands/proxy.js';
import { registerOhttpCommands } from './commands/ohttp.js';
import { registerCollectCommands } from './commands/collect.js';
import { registerImageCommands } from './commands/image.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('veritee')
    .description('veritee: attestation proves what software was loaded; veritee proofs prove what it did')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError();
  registerZkCommands(program);
  registerInclusionCommands(program);
  registerAttestCommands(program);
  registerProxyCommands(program);
  registerOhttpCommands(program);
  registerCollectCommands(program);
  registerImageCommands(program);
  registerDemoCommand(program);
  return program;
}

/** Prints a VeriteeError the way every command does, and returns the exit status. */
export function reportError(e: unknown): number {
  const err = toVeriteeError(e);
  process.stderr.write(`error[${err.code}]: ${err.message}\n`);
  if (process.env.VERITEE_DEBUG === '1' && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  return err.info.exit;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help / version are not errors; usage mistakes are bad input.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return 0;
      return 2;
    }
    if (e instanceof VeriteeError || e instanceof Error) return reportError(e);
    return reportError(e);
  }
}
