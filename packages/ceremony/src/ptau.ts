/**
 * @module ptau
 * Imports a snarkjs powers-of-tau file (e.g. the public Perpetual Powers of Tau)
 * as phase 1: `snarkjs powersoftau verify` checks its whole contribution history
 * first, then the Go engine converts it (checking every point and the same-ratio
 * consistency of the powers) into the phase-2 ceremony's start.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VeriteeError } from '@veritee/core';
import { runEngine, type CeremonyManifest, type EngineOptions } from './engine.js';

/** Where snarkjs's CLI is (snarkjs is a devDependency; production installs snarkjs@0.7.6). */
export function snarkjsCli(): string {
  try {
    // The package's exports hide build/cli.cjs: resolve its CommonJS entry beside it.
    const cli = join(dirname(createRequire(import.meta.url).resolve('snarkjs')), 'cli.cjs');
    if (existsSync(cli)) return cli;
  } catch {
    /* not installed */
  }
  throw new VeriteeError('CEREMONY_PTAU_INVALID', 'snarkjs is not installed: `npm install snarkjs@0.7.6` to verify .ptau files (a .ptau is never imported unverified)');
}

export interface PtauVerification {
  ok: boolean;
  /** snarkjs's output with colour codes removed (contribution hashes and names). */
  output: string;
  ms: number;
}

/** Runs `snarkjs powersoftau verify <file>`; ok only if it exits 0 and says "Powers of Tau Ok!". */
export async function verifyPtau(file: string, opts: { timeoutMs?: number } = {}): Promise<PtauVerification> {
  const cli = snarkjsCli();
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'powersoftau', 'verify', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const add = (b: Buffer) => {
      if (out.length < 1_000_000) out += b.toString('utf8');
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 6 * 3_600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new VeriteeError('CEREMONY_PTAU_INVALID', `cannot run snarkjs: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      // eslint-disable-next-line no-control-regex
      const output = out.replace(/\u001b\[[0-9;]*m/g, '');
      resolve({ ok: code === 0 && /Powers of Tau Ok!/.test(output) && !/\[ERROR\]/.test(output), output, ms: Date.now() - t0 });
    });
  });
}

/** Verifies a .ptau with snarkjs, then starts a phase-2 ceremony from it. */
export async function initFromPtau(
  args: { dir: string; circuit: string; size: number; ptau: string; label?: string },
  opts: { engine?: EngineOptions } = {},
): Promise<{ manifest: CeremonyManifest; snarkjs: PtauVerification; initMs: number; stateBytes: number }> {
  const v = await verifyPtau(args.ptau);
  if (!v.ok) {
    const line = v.output.split('\n').find((l) => /ERROR/.test(l)) ?? v.output.split('\n').slice(-3).join(' ');
    throw new VeriteeError('CEREMONY_PTAU_INVALID', `snarkjs powersoftau verify refused ${args.ptau}: ${line.trim().slice(0, 300)}`);
  }
  const r = await runEngine<{ manifest: CeremonyManifest; initMs: number; stateBytes: number }>(
    'init',
    { dir: args.dir, circuit: args.circuit, size: args.size, ptau: args.ptau, label: args.label },
    opts.engine,
  );
  return { ...r, snarkjs: v };
}
