#!/usr/bin/env node
/**
 * @module bin
 * The `veritee` command. Every failure is printed as `error[CODE]: message` and mapped
 * to the exit status of its code (1 = verification failed, 2 = bad input,
 * 3 = environment); stack traces only with VERITEE_DEBUG=1.
 */
import { runCli } from './program.js';

runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 3;
  },
);
