/**
 * @module testing
 * Runs the CLI as a child process, from the compiled dist/ or (under tsx) src/.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the run in milliseconds. */
  ms: number;
}

export interface CliRunOptions {
  env?: Record<string, string>;
  /** A file (or device, or FIFO) to open as the child's standard input. */
  stdinFile?: string;
  cwd?: string;
  /** Kill the child after this long (the run then reports code -1). */
  timeoutMs?: number;
}

/** The path of the CLI entry point this module runs. */
export function cliBinPath(): string {
  return fileURLToPath(new URL('./bin' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url));
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCliWith(args, { env });
}

export function runCliWith(args: string[], opts: CliRunOptions = {}): Promise<CliRun> {
  const bin = cliBinPath();
  const nodeArgs = import.meta.url.endsWith('.ts') ? ['--import', 'tsx', bin] : [bin];
  const stdinFd = opts.stdinFile !== undefined ? openSync(opts.stdinFile, 'r') : undefined;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], {
      env: { ...process.env, ...(opts.env ?? {}) },
      stdio: [stdinFd ?? 'ignore', 'pipe', 'pipe'],
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    if (stdinFd !== undefined) closeSync(stdinFd);
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** True when the text contains a JavaScript stack trace. */
export const hasStackTrace = (s: string): boolean => /\n\s+at .+[:(]/.test(s);
