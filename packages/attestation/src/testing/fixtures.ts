/**
 * @module testing/fixtures
 * Locates the shared real-hardware fixtures (`<parent>/shared/fixtures/attestation`)
 * from tests running either from `src/` (tsx) or from `dist/` (after tsc): it walks
 * up from this module's directory until a directory holding
 * `shared/fixtures/attestation` is found. Test-only helper.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** Absolute path of `shared/fixtures/attestation`. Throws if it cannot be found. */
export function fixturesRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'shared', 'fixtures', 'attestation');
    if (existsSync(candidate)) {
      cachedRoot = candidate;
      return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`shared/fixtures/attestation not found above ${dirname(fileURLToPath(import.meta.url))}`);
}

/** Absolute path of a fixture, `rel` relative to `shared/fixtures/attestation` (e.g. `snp/milan-v2-report.bin`). */
export function fixturePath(rel: string): string {
  return resolve(fixturesRoot(), rel);
}

/** Bytes of a fixture, `rel` relative to `shared/fixtures/attestation`. */
export function readFixture(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(rel)));
}
