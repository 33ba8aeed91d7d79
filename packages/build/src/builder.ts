/**
 * @module builder
 * `runBuild`: one attestable build inside the (simulated) TEE.
 *
 *  1. pin: commit + tree of the source, an export of exactly that commit, the digest of
 *     every file and lockfile, the lockfile's dependencies (purl + digest), toolchain
 *     versions, the build parameters; the input Merkle root over all of them;
 *  2. fetch: the builder downloads only the declared dependencies and checks each digest;
 *  3. seal: the build command runs with no network (sandbox.ts), a clean environment,
 *     read-only dependencies and toolchain, its own /tmp;
 *  4. hash the artifacts; write SLSA v1 provenance; sign it (DSSE, Sigstore bundle) with a
 *     key generated for this build; bind SHA-256(provenance) and the key into the
 *     evidence's report data; the evidence carries the builder's launch measurement.
 *
 * Output directory: `artifacts/`, `provenance.json` (the signed statement bytes),
 * `provenance.sigstore.json`, `evidence.json`, `binding.json` (what the report data binds),
 * `builder-key.pem`, `builder-measurement.json` (what the simulated measurement covers),
 * `builder-anchors.json` (SIMULATED trust anchors), `inputs.json` (the
 * Merkle leaves), `build.log`, `result.json`.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { fromHex, quoteInput, sha256, toHex, VeriteeError } from '@veritee/core';
import { anchorsToJson, SimulatedTee } from '@veritee/attestation';
import { exportCommit, findLockfiles, hashSourceFiles, inputLeaves, measurePreload, pinSource, resolveDependencies, toolchainVersions, type Preload, type ResolvedDependency } from './inputs.js';
import { inputMerkleRoot, orderLeaves } from './merkle.js';
import { fetchDependencies } from './fetch.js';
import { chooseSandbox, networkAttempt, runSealed, sealingOf, type SandboxMethod, type Sealing } from './sandbox.js';
import { BUILD_TYPES, IN_TOTO_STATEMENT_V1, SLSA_PROVENANCE_V1, VERITEE_BUILDER_ID } from './provenance.js';
import { generateEnclaveKey, signProvenance } from './sign.js';
import { builderManifest, builderMeasurement } from './measurement.js';
import { buildReportData } from './binding.js';

export const BUILDER_VERSION = '0.1.0';

export interface BuildProgress {
  phase: 'pin' | 'fetch' | 'seal' | 'hash' | 'sign' | 'attest' | 'done';
  message: string;
}

export interface BuildOptions {
  /** A local git repository (directory or file:// URL). */
  source: string;
  /** Revision to build (default HEAD). */
  rev?: string;
  /** Shell command run in the sealed phase, in the export's root. */
  command: string;
  /** Artifact paths (files or directories) relative to the source root. */
  artifacts: string[];
  /** Output directory (created; must be empty or absent). */
  outDir: string;
  /** Evidence platform of the simulated TEE (default snp). */
  platform?: 'snp' | 'tdx';
  /** Sandbox (default auto: bwrap, else unshare as root). */
  sandbox?: SandboxMethod | 'auto';
  /** A client's 32-byte nonce bound into the evidence (build service). */
  nonce?: Uint8Array;
  /** The simulated TEE (default: one made for this build). */
  tee?: SimulatedTee;
  /** Clock (default now). */
  now?: () => Date;
  /** Build timeout (default 30 min). */
  timeoutMs?: number;
  /**
   * Host directories made available read-only to the build at `<root>/<name>`, each
   * measured file by file into the input Merkle tree and recorded in the provenance
   * (kettle's "preloaded-and-measured"; a policy must allow them).
   */
  preload?: Preload[];
  /** Fetch and check the lockfile's dependencies (default true). False records `dependencyFetch: skipped`. */
  fetch?: boolean;
  /** Parent of the scratch directory (default the OS temp dir). */
  workRoot?: string;
  onProgress?: (p: BuildProgress) => void;
  onOutput?: (chunk: string) => void;
}

export interface BuildSubject {
  name: string;
  digest: { sha256: string };
}

export interface BuildResult {
  outDir: string;
  commit: string;
  tree: string;
  subjects: BuildSubject[];
  /** Hex SHA-256 of provenance.json (the DSSE payload). */
  provenanceSha256: string;
  /** Hex SHA-256 of the builder key's SPKI. */
  keyHash: string;
  measurement: string;
  merkleRoot: string;
  sealing: Sealing;
  dependencies: number;
  /** Milliseconds per phase. */
  timings: Record<'pin' | 'fetch' | 'build' | 'hash' | 'sign' | 'attest' | 'total', number>;
}

function checkArtifactPath(p: string): string {
  const n = normalize(p).replace(/\/+$/, '');
  if (!p || p.startsWith('/') || n === '..' || n.startsWith(`..${sep}`) || n.includes('\0')) {
    throw new VeriteeError('INPUT_INVALID', `artifact path ${quoteInput(p)} must be relative to the source root and stay inside it`);
  }
  return n === '' ? '.' : n;
}

function collectFiles(root: string, rel: string, out: string[]): void {
  const abs = join(root, rel);
  // a build may plant symbolic links: no component of an artifact path may leave the tree
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    return;
  }
  if (real !== realpathSync(root) && !real.startsWith(realpathSync(root) + sep)) {
    throw new VeriteeError('BUILD_ARTIFACT_MISSING', `artifact ${quoteInput(rel)} resolves outside the build tree (a symbolic link); only regular files inside it are artifacts`);
  }
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) throw new VeriteeError('BUILD_ARTIFACT_MISSING', `artifact ${quoteInput(rel)} is a symbolic link; only regular files are artifacts`);
  if (st.isDirectory()) {
    for (const name of readdirSync(abs).sort()) collectFiles(root, rel === '.' ? name : `${rel}/${name}`, out);
  } else if (st.isFile()) out.push(rel);
}

function writeOut(path: string, data: string | Uint8Array): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNWRITABLE', `cannot write ${quoteInput(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function prepareOut(outDir: string): void {
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNWRITABLE', `cannot create ${quoteInput(outDir)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (readdirSync(outDir).length > 0) throw new VeriteeError('INPUT_FILE_UNWRITABLE', `output directory ${quoteInput(outDir)} is not empty`);
}

function lastLines(log: string, n: number): string {
  return log.trimEnd().split('\n').slice(-n).join(' | ');
}

/** Runs one attestable build (see the module doc). Throws a VeriteeError naming the failed phase. */
export async function runBuild(o: BuildOptions): Promise<BuildResult> {
  const now = o.now ?? (() => new Date());
  const progress = (phase: BuildProgress['phase'], message: string) => o.onProgress?.({ phase, message });
  const t0 = performance.now();
  if (!o.command.trim()) throw new VeriteeError('INPUT_INVALID', 'the build command is empty');
  if (o.artifacts.length === 0) throw new VeriteeError('INPUT_INVALID', 'name at least one artifact path');
  const artifactPaths = o.artifacts.map(checkArtifactPath);
  const method = chooseSandbox(o.sandbox ?? 'auto');
  prepareOut(o.outDir);
  const startedOn = now();

  // 1. pin
  const ref = pinSource(o.source, o.rev);
  progress('pin', `source ${ref.uri} at ${ref.commit} (tree ${ref.tree})`);
  const work = mkdtempSync(join(o.workRoot ?? tmpdir(), 'veritee-build-'));
  try {
    const srcDir = join(work, 'src');
    const depsDir = join(work, 'deps');
    const tmpDir = join(work, 'tmp');
    for (const d of [srcDir, join(depsDir, 'npm-cache'), tmpDir]) mkdirSync(d, { recursive: true });
    exportCommit(ref, srcDir);
    const files = hashSourceFiles(ref, srcDir);
    const lockfiles = findLockfiles(files);
    const dependencies: ResolvedDependency[] = resolveDependencies(srcDir, lockfiles);
    const toolchain = toolchainVersions();
    const measurement = builderMeasurement();
    const parameters = { buildCommand: o.command, artifacts: JSON.stringify(artifactPaths), sandbox: method, builderMeasurement: measurement, sourceCommit: ref.commit, sourceTree: ref.tree };
    const preloads = (o.preload ?? []).map((p) => measurePreload(p, inputMerkleRoot));
    const doFetch = o.fetch !== false;
    const leaves = orderLeaves(inputLeaves({ files, lockfiles, dependencies, preloads, toolchain, parameters: { ...parameters, dependencyFetch: doFetch ? 'verified' : 'skipped' } }));
    const merkleRoot = inputMerkleRoot(leaves);
    progress('pin', `${files.length} source files, ${lockfiles.length} lockfiles, ${dependencies.length} dependencies; input Merkle root ${merkleRoot}`);
    const tPin = performance.now();

    // 2. fetch
    for (const p of preloads) progress('pin', `preloaded ${p.name} from ${p.path}: ${p.files} files, tree ${p.sha256}`);
    progress('fetch', doFetch ? `fetching ${dependencies.length} declared dependencies` : `dependency fetch SKIPPED (${dependencies.length} declared dependencies not checked)`);
    const fetched = doFetch
      ? await fetchDependencies(dependencies, { exportDir: srcDir, cacheDir: join(depsDir, 'npm-cache'), onProgress: (m) => progress('fetch', m) })
      : { fetched: 0, bytes: 0, ms: 0 };
    const tFetch = performance.now();

    // 3. seal
    progress('seal', `running the build sealed (${method}, no network): ${quoteInput(o.command, 200)}`);
    const run = await runSealed({
      method,
      command: o.command,
      workDir: srcDir,
      depsDir,
      tmpDir,
      sourceDateEpoch: ref.commitTime,
      preloads,
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      ...(o.onOutput ? { onOutput: o.onOutput } : {}),
    });
    writeOut(join(o.outDir, 'build.log'), run.log);
    if (run.timedOut) throw new VeriteeError('BUILD_COMMAND_FAILED', `the build command did not finish within ${Math.round((o.timeoutMs ?? 30 * 60_000) / 1000)} s and was killed (full log: build.log)`);
    if (run.exitCode !== 0) {
      const net = networkAttempt(run.log);
      if (net !== undefined) {
        throw new VeriteeError('BUILD_NETWORK_IN_SEALED_PHASE', `the build tried to reach the network during the sealed phase and failed (exit ${run.exitCode}): ${quoteInput(net, 200)}; fetch dependencies through the lockfile instead`);
      }
      throw new VeriteeError('BUILD_COMMAND_FAILED', `the build command exited with ${run.signal ?? run.exitCode}: ${quoteInput(lastLines(run.log, 3), 300)} (full log: build.log)`);
    }
    const tBuild = performance.now();

    // 4. hash outputs
    const found: string[] = [];
    for (const a of artifactPaths) collectFiles(srcDir, a, found);
    const names = [...new Set(found)].sort();
    if (names.length === 0) throw new VeriteeError('BUILD_ARTIFACT_MISSING', `the build produced no file under ${artifactPaths.map((p) => quoteInput(p)).join(', ')}`);
    const subjects: BuildSubject[] = names.map((name) => {
      const data = readFileSync(join(srcDir, name));
      const target = join(o.outDir, 'artifacts', name);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(join(srcDir, name), target);
      return { name, digest: { sha256: createHash('sha256').update(data).digest('hex') } };
    });
    progress('hash', `${subjects.length} artifacts hashed`);
    const tHash = performance.now();

    // 5. provenance, signature
    const rootLock = lockfiles.find((l) => !l.path.includes('/')) ?? lockfiles[0];
    const isNpm = lockfiles.some((l) => l.path === 'package-lock.json' || l.path === 'npm-shrinkwrap.json');
    const sealing = sealingOf(method);
    const statement = {
      _type: IN_TOTO_STATEMENT_V1,
      subject: subjects,
      predicateType: SLSA_PROVENANCE_V1,
      predicate: {
        buildDefinition: {
          buildType: isNpm ? BUILD_TYPES.npm : BUILD_TYPES.shell,
          externalParameters: {
            buildCommand: o.command,
            artifacts: artifactPaths,
            source: { uri: ref.uri, digest: { gitCommit: ref.commit, gitTree: ref.tree } },
          },
          internalParameters: {
            ...(rootLock ? { lockfileHash: { sha256: rootLock.sha256 } } : {}),
            lockfiles: lockfiles.map((l) => ({ path: l.path, digest: { sha256: l.sha256 } })),
            toolchain: { ...toolchain, 'veritee-build': { version: BUILDER_VERSION, digest: { sha384: measurement } } },
            sealing,
            dependencyFetch: doFetch ? 'verified' : 'skipped',
            ...(preloads.length ? { preloaded: preloads.map((p) => ({ name: p.name, digest: { sha256: p.sha256 }, files: p.files })) } : {}),
            sourceDateEpoch: ref.commitTime,
          },
          resolvedDependencies: dependencies.map((d) => ({ name: d.name, uri: d.uri, digest: d.digest, downloadLocation: d.downloadLocation })),
        },
        runDetails: {
          builder: { id: VERITEE_BUILDER_ID, version: { 'veritee-build': BUILDER_VERSION } },
          metadata: { invocationId: randomUUID(), startedOn: startedOn.toISOString(), finishedOn: now().toISOString() },
          byproducts: [{ name: 'input_merkle_root', digest: { sha256: merkleRoot } }],
        },
      },
    };
    const payload = new TextEncoder().encode(JSON.stringify(statement, null, 2) + '\n');
    const key = generateEnclaveKey();
    const bundle = await signProvenance(payload, key);
    const provenanceSha256 = toHex(sha256(payload));
    progress('sign', `provenance ${provenanceSha256} signed by builder key ${key.hint}`);
    const tSign = performance.now();

    // 6. evidence: the report data binds the provenance digest and the key
    const platform = o.platform ?? 'snp';
    const tee = o.tee ?? (await SimulatedTee.create({ platforms: [platform], at: now() }));
    const reportData = buildReportData(payload, key.spki, o.nonce);
    const m = fromHex(measurement, 'builder measurement');
    const evidence = platform === 'snp' ? tee.evidence('snp', { reportData, measurement: m }) : tee.evidence('tdx', { reportData, mrtd: m });
    progress('attest', `${platform} evidence (SIMULATED) with builder measurement ${measurement}`);
    const tAttest = performance.now();

    writeOut(join(o.outDir, 'provenance.json'), payload);
    writeOut(join(o.outDir, 'provenance.sigstore.json'), JSON.stringify(bundle, null, 2) + '\n');
    writeOut(join(o.outDir, 'evidence.json'), JSON.stringify({ ...evidence, note: SimulatedTee.LABEL }, null, 2) + '\n');
    // what the report data binds, so a verifier can say which link broke (untrusted until it recomputes)
    writeOut(join(o.outDir, 'binding.json'), JSON.stringify({ version: 1, publicKeyHash: key.hint, provenanceSha256 }, null, 2) + '\n');
    writeOut(join(o.outDir, 'builder-key.pem'), key.publicPem);
    writeOut(join(o.outDir, 'builder-measurement.json'), JSON.stringify(builderManifest(), null, 2) + '\n');
    writeOut(join(o.outDir, 'builder-anchors.json'), JSON.stringify(anchorsToJson(tee.anchors), null, 2) + '\n');
    writeOut(join(o.outDir, 'inputs.json'), JSON.stringify({ version: 1, merkleRoot, leaves }, null, 2) + '\n');
    const timings = {
      pin: tPin - t0,
      fetch: tFetch - tPin,
      build: tBuild - tFetch,
      hash: tHash - tBuild,
      sign: tSign - tHash,
      attest: tAttest - tSign,
      total: performance.now() - t0,
    };
    const result: BuildResult = {
      outDir: o.outDir,
      commit: ref.commit,
      tree: ref.tree,
      subjects,
      provenanceSha256,
      keyHash: key.hint,
      measurement,
      merkleRoot,
      sealing,
      dependencies: fetched.fetched,
      timings,
    };
    const { outDir: _o, ...summary } = result;
    writeOut(join(o.outDir, 'result.json'), JSON.stringify({ ...summary, nonce: o.nonce ? toHex(o.nonce) : undefined, platform }, null, 2) + '\n');
    progress('done', `built ${subjects.length} artifacts from ${ref.commit}`);
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

