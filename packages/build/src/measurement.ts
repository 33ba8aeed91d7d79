/**
 * @module measurement
 * The builder's launch measurement in the simulated TEE. A real builder runs in a CVM
 * whose launch measurement covers its firmware, kernel and the builder program; in
 * simulation the measurement is SHA-384 over the builder program itself (the compiled
 * files of this package, in a fixed order) and the Node.js version, so any change to the
 * builder changes the measurement a build policy pins.
 *
 * MEASUREMENT = SHA-384("veritee.build.builder/v1" || 0x00 || node version || 0x00 ||
 *               for each file (sorted by path): path || 0x00 || SHA-256(file))
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concatBytes, sha256, sha384, toHex, utf8 } from '@veritee/core';

export const MEASUREMENT_DOMAIN = 'veritee.build.builder/v1';

function builderFiles(dir: string, root: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) builderFiles(p, root, out);
    else if (name.endsWith('.js') && !name.endsWith('.test.js') && !relative(root, p).startsWith('testing')) out.push(p);
  }
  return out;
}

let cached: string | undefined;

/** The simulated builder's launch measurement (48 bytes, hex). */
export function builderMeasurement(): string {
  if (cached) return cached;
  const root = dirname(fileURLToPath(import.meta.url));
  const files = builderFiles(root, root, []).sort((a, b) => (relative(root, a) < relative(root, b) ? -1 : 1));
  const parts: Uint8Array[] = [utf8(MEASUREMENT_DOMAIN), new Uint8Array([0]), utf8(process.versions.node), new Uint8Array([0])];
  for (const f of files) parts.push(utf8(relative(root, f)), new Uint8Array([0]), sha256(readFileSync(f)));
  cached = toHex(sha384(concatBytes(...parts)));
  return cached;
}
