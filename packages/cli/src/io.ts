/**
 * @module io
 * Small helpers shared by commands: reading files with coded errors, writing
 * results, printing check lists.
 */
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { VeriteeError } from '@veritee/core';

export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

export function readTextFile(path: string, what: string): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `${what} "${path}" cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > MAX_INPUT_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `${what} "${path}" is ${size} bytes, over the ${MAX_INPUT_BYTES} byte limit`);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `${what} "${path}" cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function readJsonFile(path: string, what: string, code: 'INPUT_JSON_INVALID' | 'ZK_BUNDLE_INVALID' = 'INPUT_JSON_INVALID'): unknown {
  const text = readTextFile(path, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new VeriteeError(code, `${what} "${path}" is not valid JSON: ${(e as Error).message}`);
  }
}

export function writeJsonFile(path: string, value: unknown): void {
  try {
    writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `cannot write "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export interface PrintableCheck {
  name: string;
  ok: boolean;
  detail: string;
  code?: string;
}

export function printChecks(checks: PrintableCheck[], out: (s: string) => void = (s) => process.stdout.write(s)): void {
  for (const c of checks) out(`  ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}${!c.ok && c.code ? ` [${c.code}]` : ''}\n`);
}

/** A loud banner on stderr (dev setups, simulated TEEs, unattested requests). */
export function warnLoudly(lines: string[]): void {
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  const bar = '!'.repeat(width);
  process.stderr.write(`${bar}\n${lines.map((l) => `! ${l.padEnd(width - 4)} !`).join('\n')}\n${bar}\n`);
}
