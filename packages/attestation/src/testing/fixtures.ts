/**
 * @module testing/fixtures
 * Locates the real-hardware fixtures kept in this package at `test/fixtures/` (see the
 * README there for where each file came from and the verdict it must get). Tests run
 * from `src/` (tsx) or from `dist/` (after tsc); both sit one level below the package
 * root, so the folder is found relative to this module, never by searching upwards
 * and never outside the repository. The build does not copy the fixtures: tests read
 * them from the source tree. Test-only helper.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `packages/attestation/test/fixtures`, from `src/testing/` or `dist/testing/`. */
const ROOT = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

/** Absolute path of `packages/attestation/test/fixtures`. Throws if it is not there. */
export function fixturesRoot(): string {
  if (!existsSync(ROOT)) throw new Error(`attestation fixtures not found at ${ROOT} (they belong to the repository)`);
  return ROOT;
}

/** Absolute path of a fixture, `rel` relative to `test/fixtures` (e.g. `snp/milan-v2-report.bin`). */
export function fixturePath(rel: string): string {
  const root = fixturesRoot();
  const p = resolve(root, rel);
  if (!p.startsWith(root)) throw new Error(`fixture path ${rel} leaves ${root}`);
  return p;
}

/** Bytes of a fixture, `rel` relative to `test/fixtures`. */
export function readFixture(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(rel)));
}
