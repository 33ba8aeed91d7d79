/**
 * @module circom/release
 * snarkjs keeps one multi-threaded BN254 curve (worker threads) per process once
 * any operation has run; a long-lived service keeps it, a command or a test ends it
 * here so the process can exit.
 */

/** Ends snarkjs's curve worker threads (they come back on the next operation). */
export async function releaseCircomResources(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  const c = g.curve_bn128;
  if (c) await c.terminate(); // also clears the global
}
