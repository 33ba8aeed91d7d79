/**
 * @module apt
 * Installs missing Debian packages for tests and builds that need a real tool
 * (bubblewrap, PostgreSQL, OVMF, mmdebstrap …). Several test files may do this at
 * once, so every apt-get call waits for the dpkg lock (up to 15 minutes) instead of
 * failing on it; a failed install is retried once after `apt-get update`.
 * Node-only: import from `@veritee/core/apt`.
 */
import { spawnSync, type StdioOptions } from 'node:child_process';

/** How long an apt-get call waits for another one's dpkg lock, in seconds. */
export const APT_LOCK_TIMEOUT_S = 900;

export interface AptResult {
  ok: boolean;
  /** apt-get's last output (stdout and stderr), when captured. */
  output: string;
}

/** Runs `apt-get install -y <packages>` (update and retry once on failure). */
export function aptInstall(packages: readonly string[], opts: { stdio?: 'inherit' | 'capture'; recommends?: boolean; timeoutMs?: number } = {}): AptResult {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const capture = opts.stdio === 'capture';
  const stdio: StdioOptions = capture ? 'pipe' : 'inherit';
  const lock = ['-o', `DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S}`];
  const run = (args: string[]) => spawnSync('apt-get', [...lock, ...args], { env, stdio, encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 1_800_000 });
  const install = ['install', '-y', ...(opts.recommends === false ? ['--no-install-recommends'] : []), ...packages];
  let r = run(install);
  if (r.status !== 0) {
    run(['update']);
    r = run(install);
  }
  return { ok: r.status === 0, output: capture ? `${r.stdout ?? ''}${r.stderr ?? ''}` : '' };
}
