/**
 * @module keystore
 * Reads verification key documents from the veritee home directory (Node only).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { VeriteeError } from '@veritee/core';
import { KeyRing, parseVerificationKeyText, type VerificationKeyDocument } from './keys.js';

/** The veritee home directory: $VERITEE_HOME or ~/.veritee. */
export function veriteeHome(): string {
  return process.env.VERITEE_HOME || join(homedir(), '.veritee');
}

/**
 * Reads a verification key document. An unreadable file is INPUT_FILE_UNREADABLE;
 * text that is not strict JSON (duplicate keys, deep nesting) or not a key document
 * is ZK_VK_INVALID.
 */
export function readVerificationKeyFile(path: string): VerificationKeyDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `verification key ${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
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
