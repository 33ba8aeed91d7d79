/**
 * @module circom/prove
 * Proves a circom circuit with snarkjs Groth16: the witness from the circuit's
 * wasm generator, then the proof from the zkey.
 *
 * The witness generator is the circuit author's code (circom `var` loops may run
 * as long as the inputs make them), so it runs in a worker thread that is ended
 * after `witnessTimeoutMs` (CIRCOM_WITNESS_FAILED); its console output (circom
 * `log()`, assertion traces) is captured, not printed. The Groth16 prover is
 * snarkjs over the zkey, bounded by the circuit size, and runs in this process.
 *
 * Inputs are a JSON object of signal names to numbers, decimal strings, bigints or
 * (nested) arrays of them. Inputs that do not satisfy the circuit, or that do not
 * name its input signals, are CIRCOM_WITNESS_FAILED: no proof is made for them.
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
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

/** Default limit on witness generation. */
export const CIRCOM_WITNESS_TIMEOUT_MS = 60_000;

export interface ProveCircomOptions {
  /** End witness generation after this long (default {@link CIRCOM_WITNESS_TIMEOUT_MS}). */
  witnessTimeoutMs?: number;
}

type InputValue = string | number | bigint | InputValue[];

/**
 * Checks circuit inputs without running the circuit: an object of signal names to
 * non-negative integers or nested arrays of them, at most
 * {@link CIRCOM_MAX_INPUT_VALUES} values. Throws CIRCOM_WITNESS_FAILED or INPUT_TOO_LARGE.
 */
export function checkCircomInputs(inputs: unknown): Record<string, InputValue> {
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

/** Decimal strings to bigints (what snarkjs's unstringifyBigInts does for the generator). */
function toBigInts(v: InputValue): bigint | number | unknown[] {
  if (Array.isArray(v)) return v.map(toBigInts);
  return typeof v === 'string' ? BigInt(v) : v;
}

let runtimePath: string | undefined;

/** circom_runtime's CommonJS build, as snarkjs resolves it. */
function circomRuntime(): string {
  if (!runtimePath) {
    try {
      const req = createRequire(import.meta.url);
      runtimePath = createRequire(req.resolve('snarkjs')).resolve('circom_runtime');
    } catch {
      throw new VeriteeError('CIRCOM_TOOL_FAILED', 'snarkjs (and its circom_runtime) is not installed: `npm install snarkjs@0.7.6` in @veritee/market');
    }
  }
  return runtimePath;
}

const WITNESS_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const { WitnessCalculatorBuilder } = require(workerData.runtime);
(async () => {
  const wc = await WitnessCalculatorBuilder(readFileSync(workerData.wasm));
  const bin = await wc.calculateWTNSBin(workerData.input, true);
  parentPort.postMessage({ ok: true, data: bin }, [bin.buffer]);
})().catch((e) => parentPort.postMessage({ ok: false, message: String((e && e.message) || e) }));
`;

/** Runs the circuit's witness generator in a worker thread, ended after `timeoutMs`. */
function witnessInWorker(wasm: string, input: Record<string, unknown>, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WITNESS_WORKER, { eval: true, workerData: { runtime: circomRuntime(), wasm, input }, stdout: true, stderr: true });
    // Drain the captured console so a chatty circuit cannot fill the pipe.
    worker.stdout.resume();
    worker.stderr.resume();
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void worker.terminate();
      f();
    };
    const timer = setTimeout(() => finish(() => reject(new VeriteeError('CIRCOM_WITNESS_FAILED', `witness generation did not finish within ${Math.round(timeoutMs / 100) / 10} s (a loop in the circuit that these inputs do not end?)`))), timeoutMs);
    worker.on('message', (m: { ok: boolean; data?: Uint8Array; message?: string }) =>
      finish(() => (m.ok ? resolve(m.data!) : reject(new VeriteeError('CIRCOM_WITNESS_FAILED', `the inputs do not satisfy the circuit: ${witnessProblem(m.message)}`)))),
    );
    worker.on('error', (e) => finish(() => reject(new VeriteeError('CIRCOM_WITNESS_FAILED', `the inputs do not satisfy the circuit: ${witnessProblem(e)}`))));
    worker.on('exit', (code) => finish(() => reject(new VeriteeError('CIRCOM_TOOL_FAILED', `the witness worker exited (${code}) without a result`))));
  });
}

/** Why the witness generator refused, in one line (assertion and template, or missing signal). */
function witnessProblem(e: unknown): string {
  const msg = String((e as Error)?.message ?? e).replace(/\s+/g, ' ').trim();
  const m = /Error in template (\S+) line: (\d+)/.exec(msg);
  if (/Assert Failed/i.test(msg)) return `a constraint fails${m ? ` (template ${m[1]}, line ${m[2]})` : ''}`;
  return msg.slice(0, 200); // a missing or extra input signal, named by the generator
}

/** Computes the witness and a Groth16 proof for `inputs`. */
export async function proveCircom(artifacts: CircomProvingArtifacts, inputs: unknown, opts: ProveCircomOptions = {}): Promise<CircomProof> {
  const input = checkCircomInputs(inputs);
  for (const f of [artifacts.wasm, artifacts.zkey]) {
    try {
      statSync(f);
    } catch {
      throw new VeriteeError('INPUT_FILE_UNREADABLE', `${quoteInput(f, 200)} cannot be read`);
    }
  }
  const s = await snarkjs();
  const t0 = performance.now();
  const data = await witnessInWorker(artifacts.wasm, Object.fromEntries(Object.entries(input).map(([k, v]) => [k, toBigInts(v)])), opts.witnessTimeoutMs ?? CIRCOM_WITNESS_TIMEOUT_MS);
  const wtns = { type: 'mem' as const, data };
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
