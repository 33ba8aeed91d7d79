/**
 * @module circom/prove
 * Proves a circom circuit with snarkjs Groth16: the witness from the circuit's
 * wasm generator (in memory), then the proof from the zkey.
 *
 * Inputs are a JSON object of signal names to numbers, decimal strings, bigints or
 * (nested) arrays of them. Inputs that do not satisfy the circuit, or that do not
 * name its input signals, are CIRCOM_WITNESS_FAILED: no proof is made for them.
 */
import { statSync } from 'node:fs';
import { quoteInput, VeriteeError } from '@veritee/core';
import { snarkjs } from './snarkjs.js';
import type { SnarkjsProof } from './format.js';

export interface CircomProvingArtifacts {
  /** The witness generator (`CircomArtifacts.wasm`). */
  wasm: string;
  /** The proving key (`CircomSetup.zkey`). */
  zkey: string;
}

export interface CircomProof {
  proof: SnarkjsProof;
  publicSignals: string[];
  timings: { witnessMs: number; proveMs: number };
}

/** Most input values (all array elements counted). */
export const CIRCOM_MAX_INPUT_VALUES = 1_000_000;

type InputValue = string | number | bigint | InputValue[];

function checkInputs(inputs: unknown): Record<string, InputValue> {
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new VeriteeError('CIRCOM_WITNESS_FAILED', 'circuit inputs must be an object of signal names to values');
  }
  let count = 0;
  const value = (v: unknown, path: string, depth: number): void => {
    if (depth > 8) throw new VeriteeError('CIRCOM_WITNESS_FAILED', `input ${path}: nested too deeply`);
    if (Array.isArray(v)) {
      v.forEach((x, i) => value(x, `${path}[${i}]`, depth + 1));
      return;
    }
    if (++count > CIRCOM_MAX_INPUT_VALUES) throw new VeriteeError('INPUT_TOO_LARGE', `more than ${CIRCOM_MAX_INPUT_VALUES} input values`);
    const ok = (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'bigint' && v >= 0n) || (typeof v === 'string' && /^(0|[1-9][0-9]{0,77})$/.test(v));
    if (!ok) throw new VeriteeError('CIRCOM_WITNESS_FAILED', `input ${path}: expected an integer (non-negative number, bigint or decimal string)`);
  };
  for (const [k, v] of Object.entries(inputs)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.]{0,127}$/.test(k)) throw new VeriteeError('CIRCOM_WITNESS_FAILED', `input name ${quoteInput(k, 64)} is not a signal name`);
    value(v, k, 0);
  }
  return inputs as Record<string, InputValue>;
}

/** Why the witness generator refused, in one line (assertion and template, or missing signal). */
function witnessProblem(e: unknown): string {
  const msg = String((e as Error)?.message ?? e).replace(/\s+/g, ' ').trim();
  const m = /Error in template (\S+) line: (\d+)/.exec(msg);
  if (/Assert Failed/i.test(msg)) return `a constraint fails${m ? ` (template ${m[1]}, line ${m[2]})` : ''}`;
  const sig = /Signal not found|Too many values for input signal|Not enough values for input signal|Not all inputs have been set/i.exec(msg);
  if (sig) return msg.slice(0, 200);
  return msg.slice(0, 200);
}

/** Computes the witness and a Groth16 proof for `inputs`. */
export async function proveCircom(artifacts: CircomProvingArtifacts, inputs: unknown): Promise<CircomProof> {
  const input = checkInputs(inputs);
  for (const f of [artifacts.wasm, artifacts.zkey]) {
    try {
      statSync(f);
    } catch {
      throw new VeriteeError('INPUT_FILE_UNREADABLE', `${quoteInput(f, 200)} cannot be read`);
    }
  }
  const s = await snarkjs();
  const wtns: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
  const t0 = performance.now();
  try {
    await s.wtns.calculate(input, artifacts.wasm, wtns);
  } catch (e) {
    throw new VeriteeError('CIRCOM_WITNESS_FAILED', `the inputs do not satisfy the circuit: ${witnessProblem(e)}`);
  }
  const t1 = performance.now();
  let r: Awaited<ReturnType<typeof s.groth16.prove>>;
  try {
    r = await s.groth16.prove(artifacts.zkey, wtns);
  } catch (e) {
    throw new VeriteeError('CIRCOM_TOOL_FAILED', `snarkjs could not prove: ${String((e as Error)?.message ?? e).slice(0, 200)}`);
  }
  const t2 = performance.now();
  return { proof: r.proof as SnarkjsProof, publicSignals: r.publicSignals, timings: { witnessMs: t1 - t0, proveMs: t2 - t1 } };
}
