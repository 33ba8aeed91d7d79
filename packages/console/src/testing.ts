/**
 * @module testing
 * Test fixtures for the console: real proof bundles made with the Go prover and the
 * shared test home's dev keys (VERITEE_TEST_HOME), signed by an enclave key in the
 * simulated SNP TEE, as `veritee demo` makes them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstall } from '@veritee/core/apt';
import { attachAttestation, createSimulatedEnclave, devSetup, latencyClaim, memoryClaim, parseSla, prove, ProverPool } from '@veritee/zk';
import { testHome } from '@veritee/zk/testing';
import { defaultAssetsDir } from './server.js';

const DAY_US = 86_400_000_000;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 4294967296;
  };
}

/** n requests over a day: latencies log-normal-ish around `medianMs` with a 1 % slow tail. */
function dayOfRequests(n: number, medianMs: number, seed: number): number[] {
  const r = rng(seed);
  const starts = Array.from({ length: n }, () => Math.floor(r() * (DAY_US - 10_000_000))).sort((a, b) => a - b);
  const out: number[] = [];
  for (const s of starts) {
    let ms = medianMs * Math.exp(0.4 * (r() + r() + r() - 1.5));
    if (r() < 0.01) ms += 150 + 150 * r();
    out.push(s, s + Math.max(1, Math.round(ms * 1000)));
  }
  return out;
}

export interface ConsoleFixtures {
  dir: string;
  /** File names in `dir`. */
  latency: string[];
  memory: string[];
  home: string;
}

/**
 * Writes to `dir`: two days of latency SLA bundles and two memory-scaling bundles
 * (one scale-out, one not), all attested by one simulated-SNP enclave key.
 */
export async function makeConsoleFixtures(dir: string): Promise<ConsoleFixtures> {
  mkdirSync(dir, { recursive: true });
  const home = testHome();
  const pool = new ProverPool({ home, size: 1 });
  const enclave = await createSimulatedEnclave({ platform: 'snp' });
  const latency: string[] = [];
  const memory: string[] = [];
  try {
    await devSetup(pool, 'latency', 1024);
    await devSetup(pool, 'memory', 512);
    const { minN, slots } = parseSla('p95<100ms,p99<500ms,min=500');
    for (const [i, day] of [Date.UTC(2026, 10, 18), Date.UTC(2026, 10, 19)].entries()) {
      const start = day * 1000;
      const r = await prove(pool, latencyClaim, { params: { periodStartUs: start, periodEndUs: start + DAY_US, minN, slots }, data: { records: dayOfRequests(800, 30 + 15 * i, 7 + i) }, capacity: 1024 });
      const name = `latency-${new Date(day).toISOString().slice(0, 10)}.json`;
      writeFileSync(join(dir, name), JSON.stringify(attachAttestation(r.bundle, enclave), null, 2));
      latency.push(name);
    }
    for (const [i, level] of [0.55, 0.93].entries()) {
      const start = Date.UTC(2026, 10, 19, 12 + i) * 1000;
      const allocatedKiB = 8_000_000;
      const usageKiB = Array.from({ length: 16 }, (_, s) => [0.5, 0.3, 0.15, 0.05].map((share) => Math.round(allocatedKiB * level * share * (0.97 + 0.002 * s))));
      const r = await prove(pool, memoryClaim, {
        params: { periodStartUs: start, periodEndUs: start + 16 * 60_000_000, allocatedKiB, percentileBp: 9000, thresholdBp: 8500 },
        data: { swapPages: new Array(16).fill(0), pageFaults: new Array(16).fill(10), usageKiB },
        capacity: 512,
      });
      const name = `memory-${i + 1}.json`;
      writeFileSync(join(dir, name), JSON.stringify(attachAttestation(r.bundle, enclave), null, 2));
      memory.push(name);
    }
  } finally {
    await pool.close();
  }
  return { dir, latency, memory, home };
}

/** Debian's chromium, which the browser tests drive with playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

/** Installs Debian's chromium when it is missing (the tests need a real browser; they never skip). */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (!aptInstall(['chromium']).ok || !existsSync(CHROMIUM)) throw new Error('could not install Debian chromium (apt-get install -y chromium)');
}

/** Builds the browser app when dist-web is missing (npm install / scripts/build.mjs normally does). */
export function ensureAssets(): void {
  if (existsSync(join(defaultAssetsDir(), 'index.html'))) return;
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const r = spawnSync(process.execPath, [join(repo, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join('packages', 'console', 'web', 'vite.config.mjs')], { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('vite build of the console failed');
}
