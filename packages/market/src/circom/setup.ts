/**
 * @module circom/setup
 * A local, one-party Groth16 setup for a compiled circom circuit, with snarkjs:
 *
 * 1. powers of tau: `powersoftau new` (BN254, 2^power), one contribution with
 *    fresh random entropy, `prepare phase2`; cached per power under
 *    `<cache>/ptau/` with the file's SHA-256, checked each time it is reused;
 * 2. phase 2: `groth16 setup` (zkey from the R1CS and the ptau), one `zkey
 *    contribute` with fresh entropy, then the verification key.
 *
 * THREAT MODEL: whoever runs this saw every secret of both phases and can forge
 * proofs for the circuit. The key document says so (`setup.kind: "dev"` with a
 * warning) and the circom proof system refuses such keys unless told
 * `allowDevSetup`. A circuit meant for a market with money on it needs a
 * multi-party ceremony; a key from one is labelled `external`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toEpochMs, VeriteeError } from '@veritee/core';
import { commitEntry, defaultCircomCacheDir, sha256File, stagingDir } from './cache.js';
import type { CircomArtifacts } from './compile.js';
import { CIRCOM_VK_FORMAT, parseCircomVerificationKey, type CircomVerificationKeyDocument } from './format.js';
import { snarkjs } from './snarkjs.js';

/** Largest power of tau made locally (2^20 constraints; beyond that, import a public ptau). */
export const CIRCOM_MAX_LOCAL_POWER = 20;
/** Smallest power made (tiny circuits share one file). */
export const CIRCOM_MIN_POWER = 8;

export const DEV_SETUP_WARNING = 'one-party local setup (powers of tau and zkey contribution made by one process): whoever ran it can forge proofs; use a multi-party ceremony for anything of value';

export interface SetupCircomOptions {
  /** Cache directory for the ptau (default ~/.cache/veritee/circom or $VERITEE_CIRCOM_CACHE). */
  cacheDir?: string;
  /** Where the zkey and verification key are written (default `<cache>/setups/<r1cs hash>-<random>`). */
  outDir?: string;
  /** Name recorded with the zkey contribution. */
  contributor?: string;
  /** The setup's creation time (recorded in the key document). */
  now: Date | string | number;
}

/** A setup made elsewhere (a multi-party snarkjs ceremony) to check and label `external`. */
export interface ImportCircomSetupOptions {
  /** The final powers of tau the phase 2 started from (prepared for phase 2). */
  ptau: string;
  /** The final zkey of the phase-2 ceremony. */
  zkey: string;
  /** When the import happened (recorded in the key document). */
  now: Date | string | number;
}

export interface CircomSetup {
  /** The proving key (snarkjs .zkey). */
  zkey: string;
  /** The verification key document (also written as `verification_key.json` next to the zkey). */
  verificationKey: CircomVerificationKeyDocument;
  ptau: { file: string; power: number; sha256: string; cached: boolean };
  timings: { ptauMs: number; zkeyMs: number };
}

/** The power of tau a circuit needs: 2^power ≥ constraints + public signals + 1. */
export function requiredPower(a: Pick<CircomArtifacts, 'constraints' | 'publicSignals'>): number {
  const need = a.constraints + a.publicSignals + 1;
  let p = CIRCOM_MIN_POWER;
  while (2 ** p < need) p++;
  return p;
}

const entropy = () => randomBytes(32).toString('hex');

/** The local phase-1 file for 2^power, made once and reused while its hash holds. */
export async function localPtau(power: number, cacheDir = defaultCircomCacheDir()): Promise<{ file: string; sha256: string; cached: boolean }> {
  if (!Number.isInteger(power) || power < 1 || power > CIRCOM_MAX_LOCAL_POWER) {
    throw new VeriteeError('CIRCOM_SETUP_FAILED', `a local powers of tau of power ${power} is not made here (1 to ${CIRCOM_MAX_LOCAL_POWER}): the circuit is too large for a local dev setup`);
  }
  const dir = join(cacheDir, 'ptau', `pot${power}-dev`);
  const file = join(dir, 'final.ptau');
  const hashFile = join(dir, 'final.ptau.sha256');
  if (existsSync(file) && existsSync(hashFile)) {
    const want = readFileSync(hashFile, 'utf8').trim();
    const got = sha256File(file);
    if (got === want) return { file, sha256: got, cached: true };
    // An altered file: make a new one rather than trust it.
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(join(cacheDir, 'ptau'), { recursive: true });
  const s = await snarkjs();
  const work = stagingDir(dir);
  try {
    const curve = await s.curves.getCurveFromName('bn128');
    await s.powersOfTau.newAccumulator(curve, power, join(work, '0.ptau'));
    await s.powersOfTau.contribute(join(work, '0.ptau'), join(work, '1.ptau'), 'veritee local dev', entropy());
    await s.powersOfTau.preparePhase2(join(work, '1.ptau'), join(work, 'final.ptau'));
    rmSync(join(work, '0.ptau'));
    rmSync(join(work, '1.ptau'));
    const sha256 = sha256File(join(work, 'final.ptau'));
    writeFileSync(join(work, 'final.ptau.sha256'), `${sha256}\n`);
    commitEntry(work, dir);
    // Another process may have committed its own file first: report the one in place.
    return { file, sha256: sha256File(file), cached: false };
  } catch (e) {
    if (e instanceof VeriteeError) throw e;
    throw new VeriteeError('CIRCOM_SETUP_FAILED', `the local powers of tau (2^${power}) could not be made: ${(e as Error).message?.slice(0, 200)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Makes a dev (one-party) proving key and verification key document for compiled artifacts. */
export async function setupCircom(artifacts: CircomArtifacts, opts: SetupCircomOptions): Promise<CircomSetup> {
  const createdAt = new Date(toEpochMs(opts.now, 'setup time')).toISOString();
  if (sha256File(artifacts.r1cs) !== artifacts.r1csSha256) throw new VeriteeError('CIRCOM_SETUP_FAILED', `${artifacts.r1cs} no longer hashes to ${artifacts.r1csSha256}: recompile the circuit`);
  const cacheDir = opts.cacheDir ?? defaultCircomCacheDir();
  const power = requiredPower(artifacts);
  const t0 = performance.now();
  const ptau = await localPtau(power, cacheDir);
  const t1 = performance.now();
  const outDir = opts.outDir ?? join(cacheDir, 'setups', `${artifacts.r1csSha256.slice(0, 16)}-${randomBytes(4).toString('hex')}`);
  mkdirSync(outDir, { recursive: true });
  const s = await snarkjs();
  const zkey = join(outDir, `${artifacts.name}.zkey`);
  const z0 = `${zkey}.0`;
  let contributionHash: Uint8Array;
  try {
    await s.zKey.newZKey(artifacts.r1cs, ptau.file, z0);
    contributionHash = await s.zKey.contribute(z0, zkey, opts.contributor ?? 'veritee local dev', entropy());
  } catch (e) {
    throw new VeriteeError('CIRCOM_SETUP_FAILED', `the Groth16 setup of ${artifacts.name} failed: ${(e as Error).message?.slice(0, 200)}`);
  } finally {
    rmSync(z0, { force: true });
  }
  const groth16 = await s.zKey.exportVerificationKey(zkey);
  const doc: CircomVerificationKeyDocument = parseCircomVerificationKey({
    format: CIRCOM_VK_FORMAT,
    circuit: { name: artifacts.name, r1csSha256: artifacts.r1csSha256, constraints: artifacts.constraints, compiler: artifacts.compiler },
    setup: {
      kind: 'dev',
      createdAt,
      warning: DEV_SETUP_WARNING,
      power,
      ptauSha256: ptau.sha256,
      contributions: [{ name: (opts.contributor ?? 'veritee local dev').slice(0, 64), hash: Buffer.from(contributionHash).toString('hex') }],
    },
    groth16,
  });
  writeFileSync(join(outDir, 'verification_key.json'), `${JSON.stringify(doc, null, 2)}\n`);
  const t2 = performance.now();
  return { zkey, verificationKey: doc, ptau: { ...ptau, power }, timings: { ptauMs: t1 - t0, zkeyMs: t2 - t1 } };
}

/** Collects snarkjs's log lines (its verifiers report details only there). */
function collectingLogger(lines: string[]) {
  const push = (...a: unknown[]) => {
    if (lines.length < 10_000) lines.push(a.map(String).join(' '));
  };
  return { info: push, warn: push, error: push, debug: () => undefined };
}

/** Phase-2 contributions as `snarkjs zkey verify` lists them (name, 64-byte hash). */
function contributionsFromLog(lines: string[]): { name: string; hash: string }[] {
  const out: { name: string; hash: string }[] = [];
  for (const l of lines) {
    const m = /^contribution #(\d+) ?(.*):\n([\s0-9a-f]+)$/.exec(l);
    if (m) out.push({ name: m[2]!.trim().slice(0, 64), hash: m[3]!.replace(/\s+/g, '') });
  }
  return out;
}

/**
 * Checks a Groth16 setup made elsewhere and labels its key `external`: the phase-1
 * file with `snarkjs powersoftau verify` (its contribution chain) and the zkey with
 * `snarkjs zkey verify` against the circuit's R1CS and that ptau (every phase-2
 * contribution). A file that does not verify is CEREMONY_INVALID. The key is still
 * only as trustworthy as its contributors: the circom proof system accepts
 * `external` keys only when told `allowExternalSetup`.
 */
export async function importCircomSetup(artifacts: CircomArtifacts, opts: ImportCircomSetupOptions): Promise<CircomSetup> {
  const createdAt = new Date(toEpochMs(opts.now, 'import time')).toISOString();
  for (const f of [opts.ptau, opts.zkey, artifacts.r1cs]) {
    if (!existsSync(f)) throw new VeriteeError('INPUT_FILE_UNREADABLE', `${f} does not exist`);
  }
  if (sha256File(artifacts.r1cs) !== artifacts.r1csSha256) throw new VeriteeError('CIRCOM_SETUP_FAILED', `${artifacts.r1cs} no longer hashes to ${artifacts.r1csSha256}: recompile the circuit`);
  const s = await snarkjs();
  const t0 = performance.now();
  const lines: string[] = [];
  let phase1: boolean;
  let phase2: boolean;
  try {
    phase1 = await s.powersOfTau.verify(opts.ptau, collectingLogger(lines));
  } catch (e) {
    throw new VeriteeError('CEREMONY_INVALID', `the powers of tau ${opts.ptau} cannot be read: ${String((e as Error)?.message ?? e).slice(0, 200)}`);
  }
  if (!phase1) throw new VeriteeError('CEREMONY_INVALID', `the powers of tau ${opts.ptau} does not verify (snarkjs powersoftau verify)`);
  const t1 = performance.now();
  const zlines: string[] = [];
  try {
    phase2 = await s.zKey.verifyFromR1cs(artifacts.r1cs, opts.ptau, opts.zkey, collectingLogger(zlines));
  } catch (e) {
    throw new VeriteeError('CEREMONY_INVALID', `the zkey ${opts.zkey} cannot be checked against ${artifacts.name}: ${String((e as Error)?.message ?? e).slice(0, 200)}`);
  }
  if (!phase2) throw new VeriteeError('CEREMONY_INVALID', `the zkey ${opts.zkey} does not verify against the circuit ${artifacts.name} and the powers of tau (snarkjs zkey verify)`);
  const contributions = contributionsFromLog(zlines);
  const groth16 = await s.zKey.exportVerificationKey(opts.zkey);
  const power = requiredPower(artifacts);
  const doc = parseCircomVerificationKey({
    format: CIRCOM_VK_FORMAT,
    circuit: { name: artifacts.name, r1csSha256: artifacts.r1csSha256, constraints: artifacts.constraints, compiler: artifacts.compiler },
    setup: {
      kind: 'external',
      createdAt,
      warning: `imported: phase 1 and the ${contributions.length} phase-2 contribution(s) verified with snarkjs; as trustworthy as its contributors`,
      ptauSha256: sha256File(opts.ptau),
      contributions,
    },
    groth16,
  });
  const t2 = performance.now();
  return { zkey: opts.zkey, verificationKey: doc, ptau: { file: opts.ptau, power, sha256: doc.setup.ptauSha256!, cached: false }, timings: { ptauMs: t1 - t0, zkeyMs: t2 - t1 } };
}
