/**
 * @module pg-cluster
 * TEST SUPPORT: a throw-away PostgreSQL 15 cluster in a temporary directory, listening only
 * on a unix socket in that (mode 0700) directory, no TCP, removed on {@link PgCluster.stop}.
 *
 * The binaries come from `/usr/lib/postgresql/15/bin` (override with VERITEE_PG_BIN). When
 * they are missing and the process runs as root, `apt-get install -y postgresql-15` is run
 * (once, with an `apt-get update` first if needed): the tests install PostgreSQL rather than
 * skip. PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres`
 * user through `runuser`.
 */
import { aptInstall } from '@veritee/core/apt';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VeriteeError } from '@veritee/core';

export interface PgCluster {
  /** `postgres://veritee@localhost:<port>/postgres?host=<socket dir>` */
  url: string;
  /** The socket directory (libpq `host`). */
  host: string;
  port: number;
  /** Directory holding the unix socket. */
  socketDir: string;
  /** Stops the server (immediate mode) and removes the directory. */
  stop(): Promise<void>;
}

const DEFAULT_BIN = '/usr/lib/postgresql/15/bin';

function ensureBinaries(bin: string): void {
  if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return;
  if (process.getuid?.() !== 0) {
    throw new VeriteeError('KMS_STORAGE_FAILED', `PostgreSQL binaries are missing in ${bin} and this process is not root; install postgresql-15`);
  }
  const r = aptInstall(['postgresql-15'], { stdio: 'capture' });
  if (!r.ok || !existsSync(join(bin, 'initdb'))) {
    throw new VeriteeError('KMS_STORAGE_FAILED', `apt-get install -y postgresql-15 failed (${r.output.trim().split('\n').slice(-1)[0]?.slice(0, 200) ?? ''}); PostgreSQL is needed for these tests`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Starts a fresh cluster; call `stop()` when done (also on failure paths). */
export async function startPgCluster(opts: { bin?: string } = {}): Promise<PgCluster> {
  const bin = opts.bin ?? process.env['VERITEE_PG_BIN'] ?? DEFAULT_BIN;
  ensureBinaries(bin);
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'veritee-pg-'));
  const run = (cmd: string, args: string[]): void => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] as const : [join(bin, cmd), args] as const;
    try {
      execFileSync(full[0], full[1] as string[], { stdio: 'pipe', timeout: 120_000 });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new VeriteeError('KMS_STORAGE_FAILED', `${cmd} failed: ${(err.stderr?.toString() || err.message).slice(0, 400)}`);
    }
  };
  try {
    if (asRoot) {
      const ids = execFileSync('id', ['-u', 'postgres']).toString().trim();
      const gid = execFileSync('id', ['-g', 'postgres']).toString().trim();
      chownSync(dir, Number(ids), Number(gid));
    }
    const data = join(dir, 'data');
    run('initdb', ['-D', data, '-U', 'veritee', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    let port = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      port = await freePort();
      try {
        run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', `-k ${dir} -p ${port} -c listen_addresses='' -F -c max_connections=200`, 'start']);
        break;
      } catch (e) {
        if (attempt === 4) throw e;
      }
    }
    let stopped = false;
    return {
      url: `postgres://veritee@localhost:${port}/postgres?host=${encodeURIComponent(dir)}`,
      host: dir,
      port,
      socketDir: dir,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
