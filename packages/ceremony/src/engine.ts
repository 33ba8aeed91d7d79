/**
 * @module engine
 * Runs the Go ceremony engine (`veritee-prover ceremony <command>`, gnark's
 * mpcsetup underneath) and maps its one-line JSON answer to a result or a
 * VeriteeError. All cryptography happens in Go; this module only orchestrates.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ERROR_CODES, VeriteeError, type ErrorCode } from '@veritee/core';
import { defaultProverBinary, type CeremonyRecord, type VerificationKeyDocument } from '@veritee/zk';

export interface EngineOptions {
  /** The prover binary (default: $VERITEE_PROVER_BIN or prover/bin/veritee-prover). */
  binary?: string;
  /** Kill the engine after this long (default 1 hour). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Most stdout the engine may print (a manifest of 10,000 contributions fits). */
const MAX_OUTPUT = 16 * 1024 * 1024;

/** Runs one engine command; flags are `--key value` pairs (undefined values are left out). */
export async function runEngine<T = unknown>(command: string, flags: Record<string, string | number | undefined>, opts: EngineOptions = {}): Promise<T> {
  const binary = opts.binary ?? defaultProverBinary();
  if (!existsSync(binary)) throw new VeriteeError('ZK_PROVER_UNAVAILABLE', `prover binary not found at ${binary}: run \`npm install\` (it builds prover/ with Go)`);
  const args = ['ceremony', command];
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) args.push(`--${k}`, String(v));
  return new Promise<T>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const timeoutMs = opts.timeoutMs ?? 3_600_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => reject(new VeriteeError('ZK_PROVER_TIMEOUT', `ceremony ${command} did not finish within ${timeoutMs} ms`)));
    }, timeoutMs);
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(new VeriteeError('ZK_PROVER_CANCELLED', `ceremony ${command} was cancelled`)));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_OUTPUT) {
        child.kill('SIGKILL');
        finish(() => reject(new VeriteeError('ZK_PROVER_FAILED', `ceremony ${command} printed more than ${MAX_OUTPUT} bytes`)));
        return;
      }
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString('utf8');
    });
    child.on('error', (e) => finish(() => reject(new VeriteeError('ZK_PROVER_UNAVAILABLE', `cannot start ${binary}: ${e.message}`))));
    child.on('close', (code) => {
      finish(() => {
        const text = Buffer.concat(out).toString('utf8').trim();
        let msg: { ok?: boolean; result?: unknown; error?: { code?: string; message?: string } };
        try {
          msg = JSON.parse(text.split('\n').pop() ?? '');
        } catch {
          reject(new VeriteeError('ZK_PROVER_FAILED', `ceremony ${command} exited ${code} without a result${stderr ? `: ${stderr.slice(0, 300)}` : ''}`));
          return;
        }
        if (msg.ok === true) resolve(msg.result as T);
        else {
          const c = msg.error?.code;
          const known: ErrorCode = c && c in ERROR_CODES ? (c as ErrorCode) : 'ZK_PROVER_FAILED';
          reject(new VeriteeError(known, String(msg.error?.message ?? 'ceremony engine failed').slice(0, 2000)));
        }
      });
    });
  });
}

/** A phase-2 ceremony manifest (prover/internal/ceremony.Manifest). */
export interface CeremonyManifest {
  format: 'veritee.ceremony/v2';
  circuit: string;
  circuitVersion: number;
  capacity: number;
  constraints: number;
  /** The record the keys will carry; transcriptSha256 and beacon are '' until sealed. */
  ceremony: CeremonyRecord;
  sealed: boolean;
  contributedAt?: string[];
}

/** The result of `verify` / `finalize`. */
export interface CeremonyVerification {
  vk: VerificationKeyDocument;
  timings: { compileMs: number; initializeMs: number; contributionsMs: number; sealMs: number };
  transcriptBytes: number;
  totalMs: number;
}

/** Name of the i-th state file in a ceremony directory (0 = initial). */
export function stateFile(i: number): string {
  return `state-${String(i).padStart(4, '0')}.bin`;
}
