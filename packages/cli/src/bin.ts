#!/usr/bin/env node
/**
 * @module bin
 * The `veritee` command. Every failure is printed as `error[CODE]: message` and mapped
 * to the exit status of its code (1 = verification failed, 2 = bad input,
 * 3 = environment); stack traces only with VERITEE_DEBUG=1.
 */
import { reportError, runCli } from './program.js';

// An error thrown outside a command's promise (a server's event handler, a timer)
// is still reported in the one format and ends the process with its code.
const fatal = (e: unknown): void => {
  process.exit(reportError(e));
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
    // A failed command may leave handles open (a half-started server, a prover
    // pool): do not linger (stdout and stderr are synchronous for files, pipes and
    // terminals on Linux). Successful commands (servers) keep running.
    if (code !== 0) process.exit(code);
  },
  (e: unknown) => {
    process.exit(reportError(e));
  },
);
