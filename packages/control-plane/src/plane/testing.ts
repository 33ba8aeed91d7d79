/**
 * @module plane/testing
 * TEST SUPPORT: synthetic telemetry windows with chosen loads, the two decision-log
 * backends (PGlite, and a throw-away PostgreSQL cluster started with the KMS's helper), and
 * a control plane wired with a simulated TEE.
 */
import { parsePolicy, SimulatedTee, type Policy } from '@veritee/attestation';
import { startPgCluster, type PgCluster } from '@veritee/kms';
import { Enclave, simulatedEvidenceProvider } from '@veritee/proxy';
import { KeyRing } from '@veritee/zk/verify';
import type { TelemetryWindow } from '../telemetry/window.js';
import { openEmbeddedLog, openPostgresLog, type CpDb } from './db.js';
import { DecisionLog } from './log.js';
import { ControlPlane, type ControlPlaneOptions } from './plane.js';
import { InProcessQueue, type ProveFn, type ProofQueue } from './queue.js';
import { ProcessPoolOrchestrator } from './orchestrator.js';

const GIB = 1024 ** 3;

export interface SyntheticLoad {
  /** Memory in use, basis points of memTotal (default 5000). */
  memBp?: number;
  /** Customer CPU, basis points of the machine (default 3000). */
  cpuBp?: number;
  /** Disk usage of the one mount, basis points (default 5000). */
  diskBp?: number;
  samples?: number;
  processes?: number;
  /** Window start, µs since the epoch. */
  startUs?: number;
  intervalMs?: number;
}

/** A valid telemetry window whose memory / CPU / disk loads are about the given shares. */
export function syntheticWindow(l: SyntheticLoad = {}): TelemetryWindow {
  const nS = l.samples ?? 16;
  const nP = l.processes ?? 8;
  const intervalMs = l.intervalMs ?? 1000;
  const startUs = l.startUs ?? 1_795_000_000_000_000;
  const memTotalBytes = 16 * GIB;
  const cpuCount = 2;
  const memBp = l.memBp ?? 5000;
  const cpuBp = l.cpuBp ?? 3000;
  const diskBp = l.diskBp ?? 5000;
  const samples = Array.from({ length: nS }, (_, k) => {
    const total = Math.floor((memTotalBytes * memBp) / 10_000);
    const customerCpu = Math.round(cpuBp / 10); // per mille of the machine
    const nCust = Math.ceil(nP / 2);
    return {
      atUs: startUs + (k + 1) * intervalMs * 1000,
      processes: Array.from({ length: nP }, (_, i) => {
        const customer = i < nCust;
        return {
          pid: 100 + i,
          comm: customer ? `app${i}` : `sys${i}`,
          rssBytes: Math.floor(total / nP),
          cpuPermille: customer ? Math.floor(customerCpu / nCust) + (i < customerCpu % nCust ? 1 : 0) : 5,
          owner: customer ? ('customer' as const) : ('platform' as const),
        };
      }),
      cpuBusyPermille: Math.min(1000, Math.round(cpuBp / 10) + 50),
      memAvailableBytes: memTotalBytes - total,
      swapUsedBytes: 0,
      swapInPages: 0,
      swapOutPages: 0,
      pageFaults: 100 + k,
      majorFaults: 0,
    };
  });
  const bytesTotal = 100 * GIB;
  const bytesUsed = Math.floor((bytesTotal * diskBp) / 10_000);
  return {
    version: 1,
    startedAtUs: startUs,
    endedAtUs: startUs + nS * intervalMs * 1000,
    intervalMs,
    clockTicksPerSecond: 100,
    cpuCount,
    memTotalBytes,
    swapTotalBytes: 0,
    samples,
    mounts: [
      {
        path: '/',
        fsType: 'ext4',
        device: '/dev/vda',
        majorMinor: '254:0',
        bytesUsed,
        bytesAvailable: bytesTotal - bytesUsed,
        bytesTotal,
        inodesUsed: 1000,
        inodesTotal: 1_000_000,
        queueDepthSamples: Array.from({ length: nS }, () => 0.5),
        inFlightSamples: Array.from({ length: nS }, () => 0),
      },
    ],
    errors: [],
  };
}

export interface LogBackend {
  name: 'embedded' | 'postgres';
  open(): Promise<CpDb>;
  close(): Promise<void>;
}

/** PGlite in memory, and PostgreSQL 15 (a throw-away cluster from @veritee/kms's test helper). */
export function logBackends(): LogBackend[] {
  let cluster: PgCluster | undefined;
  let n = 0;
  return [
    { name: 'embedded', open: () => openEmbeddedLog(), close: async () => undefined },
    {
      name: 'postgres',
      open: async () => {
        cluster ??= await startPgCluster();
        // A fresh database per open, so tests do not see each other's decisions.
        const db = `cp_test_${process.pid}_${++n}`;
        const admin = await openPostgresLog(cluster.url, { max: 1 });
        await admin.query(`CREATE DATABASE ${db}`);
        await admin.close();
        return openPostgresLog(cluster.url.replace(/\/postgres\?/, `/${db}?`), { max: 10 });
      },
      close: async () => {
        await cluster?.stop();
        cluster = undefined;
      },
    },
  ];
}

let teePromise: Promise<SimulatedTee> | undefined;
export function sharedTee(): Promise<SimulatedTee> {
  teePromise ??= SimulatedTee.create({ platforms: ['snp', 'tdx'] });
  return teePromise;
}

/** Dev policy: simulated evidence binding a key and a nonce. */
export function devAgentPolicy(extra: Record<string, unknown> = {}): Policy {
  return parsePolicy({ name: 'cp-dev', platforms: ['snp', 'tdx'], allowSimulated: true, reportData: { require: ['nonce', 'publicKeyHash'] }, snp: { measurements: 'any' }, tdx: { mrtd: 'any' }, ...extra });
}

export async function simulatedEnclave(opts: { debug?: boolean } = {}): Promise<Enclave> {
  return Enclave.create(await simulatedEvidenceProvider({ tee: await sharedTee(), ...(opts.debug ? { debug: true } : {}) }));
}

/** A movable clock. */
export class TestClock {
  constructor(public t = Date.now()) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestPlane {
  cp: ControlPlane;
  log: DecisionLog;
  pool: ProcessPoolOrchestrator;
  queue: ProofQueue;
  clock: TestClock;
  enclave: Enclave;
  keys: KeyRing;
  alarms: { decisionId: string; flag: string; detail: string }[];
  close(): Promise<void>;
}

/** A control plane on `db` with a process pool, an in-process queue proving with `proveFn`. */
export async function testPlane(db: CpDb, opts: { proveFn?: ProveFn; queue?: ProofQueue; keys?: KeyRing; plane?: Partial<ControlPlaneOptions> } = {}): Promise<TestPlane> {
  const clock = new TestClock();
  const pool = new ProcessPoolOrchestrator({ graceMs: 2000 });
  const queue = opts.queue ?? new InProcessQueue(opts.proveFn ?? (async () => new Promise(() => undefined)), { retry: { maxAttempts: 2, baseMs: 10, maxMs: 20 } });
  const keys = opts.keys ?? new KeyRing();
  const enclave = await simulatedEnclave();
  const tee = await sharedTee();
  const alarms: TestPlane['alarms'] = [];
  const log = new DecisionLog(db);
  const cp = new ControlPlane({
    log,
    orchestrators: { process: pool },
    queue,
    keys,
    allowDevSetup: true,
    signer: enclave,
    agentPolicy: devAgentPolicy(),
    simulatedAnchors: tee.anchors,
    clock: clock.now,
    enactRetry: { baseMs: 1000, maxMs: 8000 },
    onAlarm: (a) => alarms.push(a),
    ...opts.plane,
  });
  return {
    cp,
    log,
    pool,
    queue,
    clock,
    enclave,
    keys,
    alarms,
    close: async () => {
      await cp.close();
      await queue.close();
      await pool.close();
      await db.close();
    },
  };
}
