/**
 * @module program
 * Builds the commander program and runs it with uniform error handling: every
 * failure, including commander's usage errors and an unknown command at any level,
 * ends as one `error[CODE]: message` line on stderr and the exit status of the code
 * in docs/ERRORS.md (1 = verification failed, 2 = bad input, 3 = environment).
 */
import { Command, CommanderError } from 'commander';
import { ERROR_CODES, isVeriteeError, quoteInput, toVeriteeError, VeriteeError, type ErrorCode } from '@veritee/core';
import { sanitizeForTerminal } from './io.js';
import { registerAttestCommands } from './commands/attest.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerZkCommands } from './commands/zk.js';
import { registerInclusionCommands } from './commands/inclusion.js';
import { registerProxyCommands } from './commands/proxy.js';
import { registerOhttpCommands } from './commands/ohttp.js';
import { registerCollectCommands } from './commands/collect.js';
import { registerCpCommands } from './commands/cp.js';
import { registerKmsCommands } from './commands/kms.js';

export { MAX_ERROR_MESSAGE, sanitizeForTerminal } from './io.js';
import { registerBuildCommands } from './commands/build.js';
import { registerGatewayCommands } from './commands/gateway.js';
import { registerCeremonyCommands } from './commands/ceremony.js';
import { registerImageCommands } from './commands/image.js';
import { registerConsoleCommand } from './commands/console.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerStreamsCommands } from './commands/streams.js';
import { registerMarketCommands } from './commands/market.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('veritee')
    .description('veritee: attestation proves what software was loaded; veritee proofs prove what it did')
    .version('0.1.0')
    // Commander's errors become CommanderErrors (mapped in runCli) instead of process.exit;
    // its own "error: …" line is not printed: runCli prints the `error[CODE]:` line.
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: () => {} });
  registerZkCommands(program);
  registerInclusionCommands(program);
  registerCeremonyCommands(program);
  registerAttestCommands(program);
  registerProxyCommands(program);
  registerOhttpCommands(program);
  registerCollectCommands(program);
  registerCpCommands(program);
  registerKmsCommands(program);
  registerBuildCommands(program);
  registerGatewayCommands(program);
  registerImageCommands(program);
  registerAuditCommand(program);
  registerDemoCommand(program);
  registerConsoleCommand(program);
  registerStreamsCommands(program);
  registerMarketCommands(program);
  return program;
}

/** The CLI's exit status for an error code: the `exit` column of docs/ERRORS.md. */
export function exitStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].exit;
}

/** Prints an error the way every command does (`error[CODE]: message`) and returns the exit status. */
export function reportError(e: unknown): number {
  const err = toVeriteeError(e);
  process.stderr.write(`error[${err.code}]: ${sanitizeForTerminal(err.message)}\n`);
  if (process.env.VERITEE_DEBUG === '1' && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  return exitStatusOf(err.code);
}

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function visibleSubcommands(cmd: Command): string[] {
  return cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => c.name());
}

/**
 * Walks the command words of `args` (after node and the script) and refuses the
 * first one that names no command at its level, before commander can answer an
 * unknown word with the parent's help and exit 0. Returns the deepest command found.
 */
export function resolveCommandPath(program: Command, args: readonly string[]): Command {
  let cmd = program;
  let i = 0;
  while (cmd.commands.length > 0) {
    // A command with subcommands AND an action of its own (`veritee build --source …`)
    // takes its own options and arguments: commander parses those.
    const ownAction = (cmd as unknown as { _actionHandler?: unknown })._actionHandler != null;
    if (ownAction && i < args.length && args[i]!.startsWith('-') && args[i] !== '-' && args[i] !== '--help' && args[i] !== '-h') return cmd;
    // Other commands with subcommands take no options of their own besides --help/--version.
    while (i < args.length && args[i]!.startsWith('-') && args[i] !== '-') {
      if (args[i] === '--') return cmd;
      i++;
    }
    if (i >= args.length) return cmd;
    const word = args[i++]!;
    if (word === 'help') continue; // `veritee help <command>`: the next word names a command here
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub && ownAction && cmd.registeredArguments.length > 0) return cmd;
    if (!sub) {
      const names = visibleSubcommands(cmd);
      const nearest = [...names].sort((x, y) => editDistance(word, x) - editDistance(word, y) || x.localeCompare(y))[0];
      throw new VeriteeError(
        'CLI_COMMAND_UNKNOWN',
        `${commandPath(cmd)} has no command ${quoteInput(word, 40)}${nearest ? `; did you mean "${nearest}"?` : ''} (commands: ${names.join(', ')}; see \`${commandPath(cmd)} --help\`)`,
        { command: commandPath(cmd), unknown: word.slice(0, 80), ...(nearest ? { suggestion: nearest } : {}) },
      );
    }
    cmd = sub;
  }
  return cmd;
}

/** A commander usage error as a VeriteeError (`CLI_USAGE_INVALID`), or undefined for help/version. */
export function usageError(e: CommanderError, cmd: Command): VeriteeError | undefined {
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return undefined;
  const path = commandPath(cmd);
  if (e.code === 'commander.help') {
    // A command that needs a subcommand was given none (its help is already on stderr).
    return new VeriteeError('CLI_USAGE_INVALID', `${path} needs a command: ${visibleSubcommands(cmd).join(', ')}`, { command: path });
  }
  const what = e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim();
  const code: ErrorCode = e.code === 'commander.unknownCommand' ? 'CLI_COMMAND_UNKNOWN' : 'CLI_USAGE_INVALID';
  return new VeriteeError(code, `${path}: ${what} (see \`${path} --help\`)`, { command: path, commander: e.code });
}

/** Runs the CLI on `argv` (node, script, args…) and returns the exit status. */
export async function runCli(argv: string[], program: Command = buildProgram()): Promise<number> {
  let cmd: Command = program;
  try {
    cmd = resolveCommandPath(program, argv.slice(2));
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      const err = usageError(e, cmd);
      return err ? reportError(err) : 0;
    }
    if (!isVeriteeError(e) && process.env.VERITEE_DEBUG !== '1' && e instanceof Error) {
      // An unexpected error: INTERNAL with its message, the stack only with VERITEE_DEBUG=1.
      return reportError(new VeriteeError('INTERNAL', `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}`));
    }
    return reportError(e);
  }
}
