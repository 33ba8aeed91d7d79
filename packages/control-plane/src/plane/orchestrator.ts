/**
 * @module plane/orchestrator
 * Where decisions are enacted. Two adapters behind one interface:
 *
 * - {@link ProcessPoolOrchestrator} (embedded default): N copies of a command, started and
 *   stopped (SIGTERM, then SIGKILL after a grace period) on this machine;
 * - {@link KubernetesOrchestrator}: a Deployment's `/scale` subresource through
 *   `@kubernetes/client-node` (kubernetes.ts).
 *
 * Failures are classified so that the control plane knows what to do with the decision:
 * CP_ORCHESTRATOR_DENIED (authorisation: reported, never retried) or
 * CP_ORCHESTRATOR_UNAVAILABLE (down or erroring: the decision stays pending, retried).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { VeriteeError } from '@veritee/core';
import type { WorkloadSpec } from './workload.js';

export interface Orchestrator {
  readonly kind: 'process' | 'kubernetes';
  /** Sets the workload's replica count; resolves with the count now in force. */
  scale(w: WorkloadSpec, replicas: number): Promise<number>;
  /** The replica count in force, or undefined if the orchestrator does not know the workload. */
  current(w: WorkloadSpec): Promise<number | undefined>;
  close(): Promise<void>;
}

interface Pool {
  children: ChildProcess[];
}

/** N copies of `target.command` per workload (argv, no shell), on this machine. */
export class ProcessPoolOrchestrator implements Orchestrator {
  readonly kind = 'process' as const;
  private readonly pools = new Map<string, Pool>();
  /** Exits of copies that the pool did not stop (crash): name → count. */
  readonly crashes = new Map<string, number>();

  constructor(private readonly opts: { graceMs?: number } = {}) {}

  async scale(w: WorkloadSpec, replicas: number): Promise<number> {
    if (w.target.kind !== 'process') throw new VeriteeError('CP_WORKLOAD_INVALID', `workload ${w.name} is not a process-pool workload`);
    const pool = this.pools.get(w.name) ?? { children: [] };
    this.pools.set(w.name, pool);
    pool.children = pool.children.filter((c) => c.exitCode === null && c.signalCode === null);
    const [cmd, ...args] = w.target.command;
    while (pool.children.length < replicas) {
      const child = spawn(cmd!, args, { stdio: 'ignore', env: { ...process.env, VERITEE_REPLICA: String(pool.children.length) } });
      const started = await new Promise<Error | undefined>((resolve) => {
        child.once('spawn', () => resolve(undefined));
        child.once('error', (e) => resolve(e));
      });
      if (started) throw new VeriteeError('CP_ORCHESTRATOR_UNAVAILABLE', `cannot start ${cmd}: ${started.message}`);
      child.once('exit', () => {
        if (!(child as ChildProcess & { stopping?: boolean }).stopping) this.crashes.set(w.name, (this.crashes.get(w.name) ?? 0) + 1);
      });
      pool.children.push(child);
    }
    const extra = pool.children.splice(replicas);
    await Promise.all(extra.map((c) => this.stop(c)));
    return pool.children.length;
  }

  async current(w: WorkloadSpec): Promise<number | undefined> {
    const pool = this.pools.get(w.name);
    if (!pool) return undefined;
    return pool.children.filter((c) => c.exitCode === null && c.signalCode === null).length;
  }

  /** The pids of a workload's running copies. */
  pids(name: string): number[] {
    return (this.pools.get(name)?.children ?? []).filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid!);
  }

  private stop(c: ChildProcess): Promise<void> {
    (c as ChildProcess & { stopping?: boolean }).stopping = true;
    if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => c.kill('SIGKILL'), this.opts.graceMs ?? 5000);
      c.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      c.kill('SIGTERM');
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].flatMap((p) => p.children.map((c) => this.stop(c))));
    this.pools.clear();
  }
}
