/**
 * @module keystore
 * Reads verification key documents from the veritee home directory (Node only).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { VeriteeError } from '@veritee/core';
import { KeyRing, parseVerificationKeyDocument, type VerificationKeyDocument } from './keys.js';

/** The veritee home directory: $VERITEE_HOME or ~/.veritee. */
export function veriteeHome(): string {
  return process.env.VERITEE_HOME || join(homedir(), '.veritee');
}

export function readVerificationKeyFile(path: string): VerificationKeyDocument {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new VeriteeError('ZK_VK_INVALID', `${path}: ${(e as Error).message}`);
  }
  return parseVerificationKeyDocument(json, path);
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
