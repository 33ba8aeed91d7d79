/**
 * @module circom/snarkjs
 * snarkjs 0.7.6, loaded on first use. snarkjs keeps one multi-threaded BN254
 * curve (worker threads) per process once any operation has run; a long-lived
 * service keeps it, a command or a test ends it with {@link releaseCircomResources}
 * so the process can exit.
 */
import { VeriteeError } from '@veritee/core';

export type Snarkjs = typeof import('snarkjs');

let loaded: Promise<Snarkjs> | undefined;

export function snarkjs(): Promise<Snarkjs> {
  loaded ??= import('snarkjs').catch(() => {
    loaded = undefined;
    throw new VeriteeError('CIRCOM_TOOL_FAILED', 'snarkjs is not installed: `npm install snarkjs@0.7.6` in @veritee/market');
  });
  return loaded;
}

/** Ends snarkjs's curve worker threads (they come back on the next operation). */
export async function releaseCircomResources(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  const c = g.curve_bn128;
  if (c) await c.terminate(); // also clears the global
}
