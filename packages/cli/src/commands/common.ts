/**
 * @module commands/common
 * Options and resources shared by the zero-knowledge commands.
 */
import { ProverPool, veriteeHome, type ProgressEvent } from '@veritee/zk';

export function homeOf(opts: { home?: string }): string {
  return opts.home ?? veriteeHome();
}

/** Runs `fn` with a prover pool, always closing it. */
export async function withPool<T>(home: string, fn: (pool: ProverPool) => Promise<T>): Promise<T> {
  const pool = new ProverPool({ home });
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

/** Progress lines on stderr, so stdout stays machine-readable. */
export function progressPrinter(prefix: string): (e: ProgressEvent) => void {
  return (e) => process.stderr.write(`${prefix} [${e.stage}] ${e.message}\n`);
}
