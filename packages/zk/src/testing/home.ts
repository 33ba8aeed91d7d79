/**
 * @module testing/home
 * Test helpers: a veritee home shared by every test run on this machine (so the
 * dev setup of the 1024 size class runs once), found from the repository root.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'prover', 'go.mod'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('repository root not found');
}

/** $VERITEE_TEST_HOME or <repo>/.veritee/test-home. */
export function testHome(): string {
  return process.env.VERITEE_TEST_HOME ?? join(repoRoot(), '.veritee', 'test-home');
}
