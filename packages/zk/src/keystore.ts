/**
 * @module keystore
 * Reads verification key documents from the veritee home directory (Node only).
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readTextFileBounded } from '@veritee/core/node-fs';
import { KeyRing, parseVerificationKeyText, type VerificationKeyDocument } from './keys.js';

/** The veritee home directory: $VERITEE_HOME or ~/.veritee. */
export function veriteeHome(): string {
  return process.env.VERITEE_HOME || join(homedir(), '.veritee');
}

/** Largest verification key document read (they are a few KiB). */
export const MAX_VK_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Reads a verification key document. A file that cannot be read is bad input
 * (`INPUT_FILE_UNREADABLE`, `INPUT_TOO_LARGE`); text that is not strict JSON (duplicate
 * keys, deep nesting) or not a key document is `ZK_VK_INVALID`.
 */
export function readVerificationKeyFile(path: string): VerificationKeyDocument {
  const text = readTextFileBounded(path, { what: 'verification key file', maxBytes: MAX_VK_FILE_BYTES });
  return parseVerificationKeyText(text, path);
}

/** A key ring holding every `keys/<id>/vk.json` under a veritee home directory. */
export function loadKeyRingFromHome(home = veriteeHome()): KeyRing {
  const ring = new KeyRing();
  const dir = join(home, 'keys');
  if (!existsSync(dir)) return ring;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name, 'vk.json');
    if (existsSync(p)) ring.add(readVerificationKeyFile(p));
  }
  return ring;
}
