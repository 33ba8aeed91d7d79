/**
 * @module io
 * Small helpers shared by commands: reading files with coded errors and a limit
 * counted in bytes actually read (devices, pipes and FIFOs report size 0), strict
 * JSON, writing results, printing check lists.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseJsonStrict, quoteInput, VeriteeError, type ErrorCode } from '@veritee/core';
import { readFileBounded, writeFileChecked } from '@veritee/core/node-fs';

/** Default limit for a user-named input file (component lists of 2^20 entries fit). */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;
/** Records files: 65,536 records take a few MiB; comments leave plenty of room. */
export const MAX_RECORDS_BYTES = 64 * 1024 * 1024;
/** JSON documents (bundles, anchors, collateral, windows). */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

export interface ReadOptions {
  /** Largest accepted size in bytes (default {@link MAX_INPUT_BYTES}). */
  maxBytes?: number;
  /** Whether "-" reads standard input. */
  stdin?: boolean;
}

/** The bytes of a user-named file (or stdin for "-" when allowed), bounded. */
export function readBytesFile(path: string, what: string, opts: ReadOptions = {}): Buffer {
  return readFileBounded(path, { what, maxBytes: opts.maxBytes ?? MAX_INPUT_BYTES, ...(opts.stdin ? { stdin: true } : {}) });
}

/** A user-named text file (UTF-8), bounded. */
export function readTextFile(path: string, what: string, opts: ReadOptions = {}): string {
  return readBytesFile(path, what, opts).toString('utf8');
}

/** A user-named JSON file, bounded, parsed strictly (no duplicate keys, bounded nesting, no recursion). */
export function readJsonFile(path: string, what: string, code: ErrorCode = 'INPUT_JSON_INVALID', opts: ReadOptions = {}): unknown {
  const text = readTextFile(path, what, { maxBytes: MAX_JSON_BYTES, ...opts });
  return parseJsonStrict(text, { what: `${what} ${path === '-' && opts.stdin ? 'from standard input' : quoteInput(path, 200)}`, code });
}

/**
 * Checks, before any work is done, that `path` can be written: its directory exists
 * and is writable, and it is not a directory. A proof that takes minutes is not
 * made only to be lost to a typo in --out.
 */
export function assertWritable(path: string, what = '--out'): void {
  const fail = (why: string): never => {
    throw new VeriteeError('INPUT_FILE_UNWRITABLE', `${what} ${quoteInput(path, 200)} cannot be written: ${why}`, { path });
  };
  if (path === '') fail('the file name is empty');
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) fail('it is a directory');
    if (st) accessSync(path, constants.W_OK);
    else {
      const dir = statSync(dirname(path), { throwIfNoEntry: false });
      if (!dir) fail(`the directory ${quoteInput(dirname(path), 200)} does not exist`);
      if (!dir!.isDirectory()) fail(`${quoteInput(dirname(path), 200)} is not a directory`);
      accessSync(dirname(path), constants.W_OK);
    }
  } catch (e) {
    if (e instanceof VeriteeError) throw e;
    fail((e as NodeJS.ErrnoException).code ?? String(e));
  }
}

/** Writes a JSON result; an unwritable path is `INPUT_FILE_UNWRITABLE` naming it. */
export function writeJsonFile(path: string, value: unknown): void {
  writeFileChecked(path, JSON.stringify(value, null, 2) + '\n');
}

/** Writes an output file; an unwritable path is `INPUT_FILE_UNWRITABLE` naming it. */
export function writeOutputFile(path: string, data: string | Uint8Array, what = 'output file'): void {
  writeFileChecked(path, data, what);
}

/** Longest message the final printer writes. */
export const MAX_ERROR_MESSAGE = 2000;

/**
 * The last line of defence before a message reaches a terminal: control
 * characters (including CR and LF, so no fake line can be started), DEL, C1
 * controls, bidi overrides and lone surrogates are escaped, and the message is cut
 * to `max` characters.
 */
export function sanitizeForTerminal(s: string, max = MAX_ERROR_MESSAGE): string {
  const escaped = quoteInput(s, max);
  // quoteInput wraps in quotes and escapes quotes and backslashes; undo only those for a message.
  const m = /^"([\s\S]*)"(… \(\d+ more characters\))?$/.exec(escaped);
  if (!m) return escaped;
  return m[1]!.replace(/\\(["\\])/g, '$1') + (m[2] ?? '');
}

export interface PrintableCheck {
  name: string;
  ok: boolean;
  detail: string;
  code?: string;
}

export function printChecks(checks: PrintableCheck[], out: (s: string) => void = (s) => process.stdout.write(s)): void {
  // Check details can quote what a verifier found in the input: escaped and bounded here.
  for (const c of checks) out(`  ${c.ok ? '✓' : '✗'} ${sanitizeForTerminal(c.name, 200)}: ${sanitizeForTerminal(c.detail, 1000)}${!c.ok && c.code ? ` [${c.code}]` : ''}\n`);
}

/** A loud banner on stderr (dev setups, simulated TEEs, unattested requests). */
export function warnLoudly(lines: string[]): void {
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  const bar = '!'.repeat(width);
  process.stderr.write(`${bar}\n${lines.map((l) => `! ${l.padEnd(width - 4)} !`).join('\n')}\n${bar}\n`);
}
