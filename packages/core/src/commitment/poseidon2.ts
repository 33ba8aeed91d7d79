/**
 * @module commitment/poseidon2
 * Poseidon2 over BN254 with width 16 (gnark-crypto's instance) and veritee's
 * sponge: rate 15, capacity 1 (state[15]), zero initial state, zero-filled last
 * block, digest = state[0]. Bit-identical to prover/internal/sponge (checked by
 * vectors generated from the Go code).
 */
import { DIAG_M1, FULL_ROUNDS, PARTIAL_ROUNDS, ROUND_KEYS, WIDTH } from './poseidon2-constants.js';
import { FR_MODULUS as P } from './field.js';

export const SPONGE_RATE = WIDTH - 1;

const RK: bigint[][] = ROUND_KEYS.map((r) => r.map((h) => BigInt('0x' + h)));
const DIAG: bigint[] = DIAG_M1.map((h) => BigInt('0x' + h));

const sbox = (x: bigint): bigint => {
  const x2 = (x * x) % P;
  const x4 = (x2 * x2) % P;
  return (x4 * x) % P;
};

/** M4 = [[5,7,1,3],[4,6,1,1],[1,3,5,7],[1,1,4,6]] on each chunk of four. */
function matM4(s: bigint[]): void {
  for (let i = 0; i < s.length; i += 4) {
    const a = s[i]!, b = s[i + 1]!, c = s[i + 2]!, d = s[i + 3]!;
    const t0 = a + b;
    const t1 = c + d;
    const t2 = 2n * b + t1;
    const t3 = 2n * d + t0;
    const t4 = 4n * t1 + t3;
    const t5 = 4n * t0 + t2;
    s[i] = (t3 + t5) % P;
    s[i + 1] = t5 % P;
    s[i + 2] = (t2 + t4) % P;
    s[i + 3] = t4 % P;
  }
}

function matExternal(s: bigint[]): void {
  matM4(s);
  const sums = [0n, 0n, 0n, 0n];
  for (let i = 0; i < s.length; i++) sums[i & 3]! += s[i]!;
  for (let i = 0; i < s.length; i++) s[i] = (s[i]! + sums[i & 3]!) % P;
}

function matInternal(s: bigint[]): void {
  let sum = 0n;
  for (const x of s) sum += x;
  sum %= P;
  for (let i = 0; i < s.length; i++) s[i] = (s[i]! * DIAG[i]! + sum) % P;
}

/** Applies the permutation in place to a state of WIDTH field elements. */
export function poseidon2Permute(state: bigint[]): void {
  if (state.length !== WIDTH) throw new Error(`poseidon2: state must have ${WIDTH} elements`);
  matExternal(state);
  const half = FULL_ROUNDS / 2;
  for (let r = 0; r < half; r++) {
    const k = RK[r]!;
    for (let i = 0; i < WIDTH; i++) state[i] = sbox((state[i]! + k[i]!) % P);
    matExternal(state);
  }
  for (let r = half; r < half + PARTIAL_ROUNDS; r++) {
    state[0] = sbox((state[0]! + RK[r]![0]!) % P);
    matInternal(state);
  }
  for (let r = half + PARTIAL_ROUNDS; r < FULL_ROUNDS + PARTIAL_ROUNDS; r++) {
    const k = RK[r]!;
    for (let i = 0; i < WIDTH; i++) state[i] = sbox((state[i]! + k[i]!) % P);
    matExternal(state);
  }
}

/** veritee's Poseidon2 sponge digest of field elements (each < r). */
export function poseidon2Sponge(inputs: readonly bigint[]): bigint {
  const state: bigint[] = new Array<bigint>(WIDTH).fill(0n);
  const blocks = Math.max(1, Math.ceil(inputs.length / SPONGE_RATE));
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < SPONGE_RATE; i++) {
      const k = b * SPONGE_RATE + i;
      if (k < inputs.length) state[i] = (state[i]! + inputs[k]!) % P;
    }
    poseidon2Permute(state);
  }
  return state[0]!;
}
