/**
 * @module testing
 * Runs the CLI as a child process, from the compiled dist/ or (under tsx) src/.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const bin = new URL('./bin' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url);
  const nodeArgs = import.meta.url.endsWith('.ts') ? ['--import', 'tsx', fileURLToPath(bin)] : [fileURLToPath(bin)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** True when the text contains a JavaScript stack trace. */
export const hasStackTrace = (s: string): boolean => /\n\s+at .+[:(]/.test(s);
