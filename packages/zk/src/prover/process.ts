/**
 * @module prover/process
 * One long-lived Go prover process (prover/bin/veritee-prover) driven over its
 * JSON-lines protocol on stdin/stdout (documented in prover/internal/server).
 * Requests run one at a time inside a process; {@link ProverPool} runs several.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { VeriteeError, type ErrorCode, ERROR_CODES } from '@veritee/core';

export interface ProgressEvent {
  stage: string;
  message: string;
}

export interface ProverRequest {
  /** info, setup, load, prove, verify, or an op a claim adds (inclusion: merkle). */
  op: string;
  [key: string]: unknown;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onProgress?: (e: ProgressEvent) => void;
}

/** Finds the prover binary: $VERITEE_PROVER_BIN, else prover/bin/veritee-prover in the repository. */
export function defaultProverBinary(): string {
  if (process.env.VERITEE_PROVER_BIN) return process.env.VERITEE_PROVER_BIN;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'prover', 'bin', 'veritee-prover');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return join(process.cwd(), 'prover', 'bin', 'veritee-prover');
}

export interface ProverProcessOptions {
  binary?: string;
  /** veritee home (keys live in HOME/keys). */
  home: string;
}

/** A running prover process. */
export class ProverProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail = '';
  private exited = false;
  private killed = false;

  constructor(opts: ProverProcessOptions) {
    const binary = opts.binary ?? defaultProverBinary();
    if (!existsSync(binary)) {
      throw new VeriteeError('ZK_PROVER_UNAVAILABLE', `prover binary not found at ${binary}: run \`npm install\` (it builds prover/ with Go)`);
    }
    this.child = spawn(binary, ['--home', opts.home], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.on('error', (e) => this.fail(new VeriteeError('ZK_PROVER_UNAVAILABLE', `prover failed to start: ${e.message}`)));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const why = signal ? `signal ${signal}` : `exit status ${code}`;
      this.fail(new VeriteeError('ZK_PROVER_FAILED', `prover process ended (${why})${this.stderrTail ? `: ${this.stderrTail.trim().slice(-500)}` : ''}`));
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    this.child.stdin.on('error', () => undefined);
    const rl = createInterface({ input: this.child.stdout });
    rl.on('line', (line) => this.onLine(line));
  }

  get alive(): boolean {
    return !this.exited && !this.killed;
  }

  private fail(err: VeriteeError): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private onLine(line: string): void {
    let msg: { id?: number; ok?: boolean; result?: unknown; error?: { code: string; message: string }; event?: string; stage?: string; message?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not a protocol line
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.event === 'progress') {
      p.onProgress?.({ stage: msg.stage ?? '', message: msg.message ?? '' });
      return;
    }
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else {
      const code = (msg.error?.code && msg.error.code in ERROR_CODES ? msg.error.code : 'ZK_PROVER_FAILED') as ErrorCode;
      p.reject(new VeriteeError(code, msg.error?.message ?? 'prover error'));
    }
  }

  /** Sends one request and resolves with its result. */
  request<T>(req: ProverRequest, onProgress?: (e: ProgressEvent) => void): Promise<T> {
    if (this.exited) return Promise.reject(new VeriteeError('ZK_PROVER_UNAVAILABLE', 'prover process is not running'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(onProgress ? { onProgress } : {}) });
      this.child.stdin.write(JSON.stringify({ ...req, id }) + '\n');
    });
  }

  /** Stops the process (kills it if a request is running: this is how requests are cancelled). */
  kill(): void {
    this.killed = true;
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Asks the process to exit after its current request. */
  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end();
    const t = setTimeout(() => this.kill(), 5000);
    await done;
    clearTimeout(t);
  }
}
