/**
 * @module local
 * A whole ceremony on one machine, for rehearsals and `veritee zk ceremony local`:
 * phase 1 (a veritee powers-of-tau ceremony, or a verified .ptau), phase 2 with
 * several contributors, the beacon, a full verification of the transcript and the
 * keys installed in the veritee home. Every contributor here is the same machine,
 * so these keys are only as trustworthy as this machine; the production path runs
 * the same steps with `serve` and remote `contribute`.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VeriteeError } from '@veritee/core';
import { runEngine, stateFile, type CeremonyManifest, type CeremonyVerification, type EngineOptions } from './engine.js';
import { initFromPtau } from './ptau.js';

export interface CircuitDomain {
  circuit: string;
  circuitVersion: number;
  size: number;
  sizes: number[];
  constraints: number;
  domain: number;
  power: number;
  /** sha256 of the constraint system (what a transcript's r1csSha256 must be). */
  r1csSha256: string;
}

/** The constraint count, FFT domain and phase-1 power a circuit's size class needs. */
export function circuitDomain(circuit: string, size: number | undefined, engine?: EngineOptions): Promise<CircuitDomain> {
  return runEngine<CircuitDomain>('domain', { circuit, size }, engine);
}

export interface LocalCeremonyOptions {
  /** Where phase-1 and phase-2 transcripts go. */
  workDir: string;
  /** veritee home to install the keys in (keys/<circuit>-v<version>-<size>). */
  home: string;
  circuit: string;
  size: number;
  contributors: string[];
  /** Public beacon (hex, 16-64 bytes) and log2 of its sha256 iterations. */
  beacon: string;
  beaconIterationsExp?: number;
  /** Use this verified .ptau as phase 1 instead of a local powers-of-tau ceremony. */
  ptau?: string;
  engine?: EngineOptions;
  onProgress?: (stage: string, message: string) => void;
}

export interface LocalCeremonyResult {
  dir: string;
  manifest: CeremonyManifest;
  verification: CeremonyVerification;
  timings: { phase1Ms: number; initMs: number; contributeMs: number[]; acceptMs: number[]; verifyAndInstallMs: number };
}

/** Runs a phase-1 veritee ceremony of 2^power with the given contributors; returns the srs.bin path. */
export async function localPhase1(dir: string, power: number, contributors: string[], beacon: string, exp: number, engine?: EngineOptions): Promise<string> {
  const srs = join(dir, 'srs.bin');
  if (existsSync(srs)) {
    await runEngine('phase1-verify', { dir }, engine); // reuse only a phase 1 that verifies
    return srs;
  }
  await runEngine('phase1-new', { dir, power }, engine);
  for (let i = 0; i < contributors.length; i++) {
    const next = join(dir, `incoming-${i + 1}.bin`);
    await runEngine('phase1-contribute', { in: join(dir, stateFile(i)), out: next }, engine);
    await runEngine('phase1-accept', { dir, name: contributors[i], file: next }, engine);
  }
  await runEngine('phase1-seal', { dir, beacon, iterations: exp }, engine);
  return srs;
}

/** Runs a full ceremony for one circuit and size class and installs its keys. */
export async function runLocalCeremony(o: LocalCeremonyOptions): Promise<LocalCeremonyResult> {
  if (o.contributors.length === 0) throw new VeriteeError('INPUT_INVALID', 'a ceremony needs at least one contributor');
  const progress = o.onProgress ?? (() => {});
  const exp = o.beaconIterationsExp ?? 10;
  const d = await circuitDomain(o.circuit, o.size, o.engine);
  const dir = join(o.workDir, `${d.circuit}-v${d.circuitVersion}-${d.size}`);
  if (existsSync(join(dir, 'ceremony.json'))) throw new VeriteeError('CEREMONY_STATE', `${dir} already holds a ceremony; remove it or use another --work-dir`);
  mkdirSync(o.workDir, { recursive: true });
  let t0 = Date.now();
  if (o.ptau) {
    progress('phase1', `verifying ${o.ptau} with snarkjs and importing it for a domain of ${d.domain}`);
    await initFromPtau({ dir, circuit: o.circuit, size: o.size, ptau: o.ptau }, { engine: o.engine });
  } else {
    const p1 = join(o.workDir, `phase1-pow${d.power}`);
    progress('phase1', `powers of tau for 2^${d.power} (${o.contributors.length} contributors)`);
    const srs = await localPhase1(p1, d.power, o.contributors, o.beacon, exp, o.engine);
    const phase1Ms = Date.now() - t0;
    t0 = Date.now();
    progress('init', `${d.circuit} v${d.circuitVersion} size ${d.size}: ${d.constraints} constraints, domain ${d.domain}`);
    await runEngine('init', { dir, circuit: o.circuit, size: o.size, srs, label: `veritee-phase1-pow${d.power}` }, o.engine);
    return finish(o, dir, phase1Ms, Date.now() - t0, exp, progress);
  }
  return finish(o, dir, 0, Date.now() - t0, exp, progress);
}

async function finish(o: LocalCeremonyOptions, dir: string, phase1Ms: number, initMs: number, exp: number, progress: (s: string, m: string) => void): Promise<LocalCeremonyResult> {
  const contributeMs: number[] = [];
  const acceptMs: number[] = [];
  for (let i = 0; i < o.contributors.length; i++) {
    const next = join(dir, `incoming-${i + 1}.bin`);
    const c = await runEngine<{ sha256: string; contributeMs: number }>('contribute', { in: join(dir, stateFile(i)), out: next }, o.engine);
    const a = await runEngine<{ sha256: string; verifyMs: number }>('accept', { dir, name: o.contributors[i], file: next }, o.engine);
    contributeMs.push(c.contributeMs);
    acceptMs.push(a.verifyMs);
    progress('contribute', `${o.contributors[i]}: ${c.sha256} (${c.contributeMs} ms, verified in ${a.verifyMs} ms)`);
  }
  await runEngine('beacon', { dir, beacon: o.beacon, iterations: exp }, o.engine);
  const t0 = Date.now();
  const verification = await runEngine<CeremonyVerification>('finalize', { dir, home: o.home }, o.engine);
  progress('finalize', `transcript ${verification.vk.setup.ceremony?.transcriptSha256} verified and keys installed`);
  const manifest = JSON.parse(readFileSync(join(dir, 'ceremony.json'), 'utf8')) as CeremonyManifest;
  return { dir, manifest, verification, timings: { phase1Ms, initMs, contributeMs, acceptMs, verifyAndInstallMs: Date.now() - t0 } };
}
