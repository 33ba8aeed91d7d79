/**
 * @module circom/snarkjs
 * snarkjs 0.7.6, loaded on first use. snarkjs keeps one multi-threaded BN254
 * curve (worker threads) per process once any operation has run; a long-lived
 * service keeps it, a command or a test ends it with `releaseCircomResources`
 * (release.ts, kept apart so that the package's declarations never name snarkjs,
 * which ships no types).
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
