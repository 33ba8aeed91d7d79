/**
 * @module prove-worker
 * The proving worker thread: commitments (Poseidon2 in TypeScript, about 1.4 s for 65,536
 * latency records) and the Go prover run here, never on the event loop that serves
 * traffic. The prover process inherits GOMAXPROCS from this worker's environment (set by
 * the scheduler), which bounds the CPU a proof takes. Bundles come back unsigned: the
 * enclave key stays in the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isVeriteeError } from '@veritee/core';
import { devSetup, gatewayClaim, latencyClaim, prove, ProverPool, type GatewayParams, type LatencyParams } from '@veritee/zk';

export type ProveJobBody = { kind: 'latency'; params: LatencyParams; records: number[] } | { kind: 'gateway'; params: GatewayParams; requests: number[]; checks: boolean[] };
export type ProveJob = ProveJobBody & { id: number };

export type ProveReply = { id: number; bundle: unknown; proveMs: number; totalMs: number } | { id: number; error: { code: string; message: string } };

const { home, devSetup: allowDevSetup, timeoutMs } = workerData as { home: string; devSetup: boolean; timeoutMs: number };
const pool = new ProverPool({ home, size: 1, timeoutMs });

async function run(job: ProveJob): Promise<ProveReply> {
  const once = async () =>
    job.kind === 'latency'
      ? prove(pool, latencyClaim, { params: job.params, data: { records: job.records } })
      : prove(pool, gatewayClaim, { params: job.params, data: { requests: job.requests, checks: job.checks } });
  try {
    let r;
    try {
      r = await once();
    } catch (e) {
      if (!allowDevSetup || !isVeriteeError(e, 'ZK_SETUP_MISSING')) throw e;
      const capacity = /\((\d+) records\)/.exec(e.message);
      // The smallest class that fits is what `prove` asked for.
      await devSetup(pool, job.kind, Number(capacity?.[1] ?? 1024));
      r = await once();
    }
    return { id: job.id, bundle: r.bundle, proveMs: r.timings.proveMs, totalMs: r.timings.totalMs };
  } catch (e) {
    return { id: job.id, error: { code: isVeriteeError(e) ? e.code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) } };
  }
}

parentPort!.on('message', (m: ProveJob | 'close') => {
  if (m === 'close') {
    void pool.close().then(() => process.exit(0));
    return;
  }
  void run(m).then((r) => parentPort!.postMessage(r));
});
