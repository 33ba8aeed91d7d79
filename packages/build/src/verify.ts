/**
 * @module verify
 * `verifyBuild`: from an artifact back to the builder, every link checked and listed:
 *
 *   artifact.subject      the artifact's SHA-256 is a subject of the provenance
 *   bundle.format         the Sigstore bundle holds one DSSE signature by a public key
 *   bundle.signature      the DSSE signature verifies (@sigstore/verify) with the builder key,
 *                         whose SHA-256 is the bundle's key hint
 *   provenance.format     the payload is an in-toto Statement v1 with SLSA v1 provenance
 *   provenance.file       provenance.json (if present) is exactly the signed payload
 *   binding.report_data   the evidence's report data binds SHA-256(payload) and the key
 *                         (BUILD_SIGNER_NOT_ATTESTED when it attests another key,
 *                         BUILD_EVIDENCE_BINDING_MISMATCH when another provenance)
 *   builder.evidence      the evidence verifies (signatures, chain, TCB, debug, ...) under
 *                         the policy's builder section
 *   builder.measurement   the builder's launch measurement is one the policy pins
 *                         (BUILD_BUILDER_MEASUREMENT_MISMATCH)
 *   builder.id            runDetails.builder.id is one the policy accepts
 *   build.sealed          the provenance records a sealed, network-less build phase
 *   source.commit         the source commit is the one asked for / allowed by the policy
 *   source.repository     the source URI is one the policy allows (when it lists some)
 *   inputs.verified       no preloaded inputs and no skipped dependency check, unless the
 *                         policy sets allowPreloaded
 *   inputs.merkle         inputs.json recomputes to the recorded input Merkle root and
 *                         lists exactly the resolved dependencies (when present)
 *
 * kettle layout (`provenance.json` + `evidence.json`, no Sigstore bundle): `kettle.layout`
 * replaces the bundle checks (kettle's required fields), and the binding is kettle's
 * provenance checksum (SHA-256 of the compact JSON, `kettleChecksum`) as the report data. Everything else (including the builder measurement kettle leaves unchecked) is
 * checked the same way; kettle records no sealing, so the default policy refuses it.
 *
 * INVARIANT: `ok` only when every check ran and passed. A check that cannot run because
 * an earlier link is broken fails ("not evaluated"), it is never skipped.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bytesEqual, fromHex, fromUtf8, parseJsonStrict, quoteInput, sha256, toHex, VeriteeError, type ErrorCode } from '@veritee/core';
import { anchorsFromJson, computeReportData, MAX_EVIDENCE_BYTES, verifyEvidence, type TrustAnchors } from '@veritee/attestation';
import { bindingNonce } from './binding.js';
import { checkKettleStatement, kettleChecksum, merkleRootOf, parseStatement, IN_TOTO_PAYLOAD_TYPE, type Statement } from './provenance.js';
import { openBundle, verifyBundleSignature } from './sign.js';
import type { BuildPolicy } from './policy.js';
import { inputMerkleRoot, LEAF_KINDS, type InputLeaf } from './merkle.js';

export interface BuildCheck {
  name: string;
  ok: boolean;
  detail: string;
  code?: ErrorCode;
}

export interface BuildVerification {
  ok: boolean;
  checks: BuildCheck[];
  failures: BuildCheck[];
  /** The verified statement (present when the signature and layout checks passed). */
  statement?: Statement;
  /** The subject the artifact matched. */
  subject?: string;
  /** Hex SHA-256 of the artifact. */
  artifactSha256: string;
}

/** Where a build's files are (defaults: the names `runBuild` writes in `dir`). */
export interface BuildFiles {
  dir?: string;
  bundle?: string;
  evidence?: string;
  key?: string;
  anchors?: string;
  inputs?: string;
  provenance?: string;
  binding?: string;
}

export interface VerifyBuildOptions {
  /** The artifact: its bytes, or a path. */
  artifact: Uint8Array | string;
  files: BuildFiles;
  policy: BuildPolicy;
  /** Verification time (certificates of the evidence are checked at this instant). */
  at: Date;
  /** The commit the caller expects (full hex id). */
  sourceCommit?: string;
  /** The client nonce the build was requested with (build service). */
  nonce?: Uint8Array;
  /** `veritee` (Sigstore bundle), `kettle` (provenance.json + evidence.json, bound by report data) or auto (default: veritee when the bundle exists). */
  layout?: 'auto' | 'veritee' | 'kettle';
  /** Simulated-TEE anchors; default the build's builder-anchors.json (only used when the policy allows simulated evidence). */
  anchors?: TrustAnchors;
}

const LIMITS = { bundle: 64 << 20, evidence: MAX_EVIDENCE_BYTES, key: 16 << 10, anchors: 1 << 20, inputs: 256 << 20, provenance: 64 << 20 };

function readBounded(path: string, max: number, what: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `${what} ${quoteInput(path)} cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (size > max) throw new VeriteeError('INPUT_TOO_LARGE', `${what} ${quoteInput(path)} is ${size} bytes, over the ${max}-byte limit`);
  return readFileSync(path);
}

function hashFile(path: string): string {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new VeriteeError('INPUT_FILE_UNREADABLE', `artifact ${quoteInput(path)} is not a readable file`);
  const h = createHash('sha256');
  // bounded memory: hash in 8 MiB chunks
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(8 << 20);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

const pass = (name: string, detail: string): BuildCheck => ({ name, ok: true, detail });
const fail = (name: string, code: ErrorCode, detail: string): BuildCheck => ({ name, ok: false, detail, code });

function pemToSpki(pem: string): Uint8Array {
  try {
    const key = createPublicKey(pem);
    return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
  } catch {
    throw new VeriteeError('BUILD_SIGNATURE_INVALID', 'builder-key.pem is not a PEM public key');
  }
}

function checkMerkle(s: Statement, inputsText: string): BuildCheck {
  const name = 'inputs.merkle';
  const doc = parseJsonStrict(inputsText, { what: 'inputs.json', code: 'BUILD_PROVENANCE_INVALID' }) as { leaves?: unknown };
  const leaves = doc.leaves;
  if (!Array.isArray(leaves) || !leaves.every((l) => l && typeof l === 'object' && LEAF_KINDS.includes((l as InputLeaf).kind) && typeof (l as InputLeaf).name === 'string' && typeof (l as InputLeaf).value === 'string')) {
    return fail(name, 'BUILD_PROVENANCE_INVALID', 'inputs.json has no valid leaves list');
  }
  const recorded = merkleRootOf(s);
  if (!recorded) return fail(name, 'BUILD_PROVENANCE_INVALID', 'the provenance records no input_merkle_root byproduct');
  const root = inputMerkleRoot(leaves as InputLeaf[]);
  if (root !== recorded) return fail(name, 'BUILD_PROVENANCE_INVALID', `inputs.json hashes to ${root.slice(0, 16)}…, the provenance records ${recorded.slice(0, 16)}…`);
  const depLeaves = new Set((leaves as InputLeaf[]).filter((l) => l.kind === 'dependency').map((l) => `${l.name.split(' ')[0]} ${l.value}`));
  const provDeps = new Set(
    (s.predicate.buildDefinition.resolvedDependencies ?? []).map((d) => {
      const alg = d.digest?.['sha512'] ? 'sha512' : d.digest?.['sha384'] ? 'sha384' : 'sha256';
      return `${d.uri} ${alg}:${d.digest?.[alg]}`;
    }),
  );
  const missing = [...provDeps].filter((d) => !depLeaves.has(d));
  const extra = [...depLeaves].filter((d) => !provDeps.has(d));
  if (missing.length || extra.length) {
    return fail(name, 'BUILD_PROVENANCE_INVALID', `resolvedDependencies and the Merkle leaves differ: ${quoteInput([...missing, ...extra].slice(0, 3).join(', '), 200)}`);
  }
  const commit = (leaves as InputLeaf[]).find((l) => l.kind === 'parameter' && l.name === 'sourceCommit')?.value;
  if (commit !== s.predicate.buildDefinition.externalParameters.source.digest.gitCommit) {
    return fail(name, 'BUILD_PROVENANCE_INVALID', 'the Merkle leaves name another source commit than the provenance');
  }
  return pass(name, `${leaves.length} input leaves recompute to the recorded root ${root.slice(0, 16)}… and list the ${provDeps.size} resolved dependencies`);
}

/**
 * The report data kettle's evidence carries for `digest` = kettle's provenance checksum:
 * az-snp/az-tdx (and other TPM-quoted platforms): the TPM quote's extraData, the 32 bytes
 * themselves; bare SNP/TDX: attestation-rs pads the 32 bytes with zeros to the 64 bytes of
 * report data (`pad_report_data`), and its verifier compares with trailing zeros stripped.
 */
export function kettleReportData(evidenceText: string, digest: Uint8Array): Uint8Array {
  const platform = /"platform"\s*:\s*"([a-z-]{2,10})"/.exec(evidenceText.slice(0, 4096))?.[1] ?? '';
  if (platform.startsWith('az-') || platform === 'nvidia') return digest;
  const rd = new Uint8Array(64);
  rd.set(digest);
  return rd;
}

/**
 * Why the report data does not bind this provenance and key. The builder writes what it
 * bound next to the evidence (`binding.json`: `{publicKeyHash, provenanceSha256}`, hex);
 * those hints are untrusted until they recompute to the evidence's signed report
 * data, and then tell apart a provenance re-signed by another key (the evidence attests a
 * different key: BUILD_SIGNER_NOT_ATTESTED) from evidence bound to another provenance
 * (BUILD_EVIDENCE_BINDING_MISMATCH). Without hints, or when they do not recompute, the
 * failure is BUILD_EVIDENCE_BINDING_MISMATCH.
 */
function bindingFailure(bindingPath: string, actualHex: string | undefined, payload: Uint8Array, spki: Uint8Array, nonce: Uint8Array | undefined, detail: string): BuildCheck {
  const generic = fail('binding.report_data', 'BUILD_EVIDENCE_BINDING_MISMATCH', `the evidence does not bind this provenance and key: ${quoteInput(detail || 'report data not checked', 300)}`);
  let hint: { publicKeyHash?: unknown; provenanceSha256?: unknown } | undefined;
  try {
    if (!existsSync(bindingPath)) return generic;
    hint = parseJsonStrict(readBounded(bindingPath, 4096, 'binding.json').toString('utf8'), { what: 'binding.json', maxDepth: 4 }) as typeof hint;
  } catch {
    return generic;
  }
  const hex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  if (!actualHex || !hint || !hex64(hint.publicKeyHash) || !hex64(hint.provenanceSha256)) return generic;
  let recomputed: string;
  try {
    recomputed = toHex(computeReportData({ publicKeyHash: fromHex(hint.publicKeyHash, 'binding.publicKeyHash'), nonce: bindingNonce(fromHex(hint.provenanceSha256, 'binding.provenanceSha256'), nonce) }));
  } catch {
    return generic;
  }
  if (recomputed !== actualHex.toLowerCase()) return generic;
  const keyHash = toHex(sha256(spki));
  if (hint.publicKeyHash !== keyHash) {
    return fail('binding.report_data', 'BUILD_SIGNER_NOT_ATTESTED', `the provenance is signed by key ${keyHash.slice(0, 16)}…, but the builder evidence attests key ${hint.publicKeyHash.slice(0, 16)}…: re-signed by another key`);
  }
  const provHash = toHex(sha256(payload));
  if (hint.provenanceSha256 !== provHash) {
    return fail('binding.report_data', 'BUILD_EVIDENCE_BINDING_MISMATCH', `the evidence binds provenance ${hint.provenanceSha256.slice(0, 16)}…, not this provenance ${provHash.slice(0, 16)}…`);
  }
  return fail('binding.report_data', 'BUILD_EVIDENCE_BINDING_MISMATCH', 'the evidence binds this provenance and key with another client nonce');
}

/** Verifies an artifact against a build's signed provenance and evidence (see the module doc). */
export async function verifyBuild(o: VerifyBuildOptions): Promise<BuildVerification> {
  let dir = o.files.dir ?? '.';
  // kettle writes its build into <project>/kettle-build/: accept the project directory too
  if (o.layout !== 'veritee' && !o.files.provenance && !existsSync(join(dir, 'provenance.json')) && !existsSync(join(dir, 'provenance.sigstore.json')) && existsSync(join(dir, 'kettle-build', 'provenance.json'))) {
    dir = join(dir, 'kettle-build');
  }
  const path = (k: keyof Omit<BuildFiles, 'dir'>, def: string) => o.files[k] ?? join(dir, def);
  const checks: BuildCheck[] = [];
  const artifactSha256 = typeof o.artifact === 'string' ? hashFile(o.artifact) : toHex(sha256(o.artifact));

  // The signed payload and the key (nothing below is trusted before these pass).
  let payload: Uint8Array | undefined;
  let spki: Uint8Array | undefined;
  let statement: Statement | undefined;
  let bundleJson: unknown;
  let kettleDigest: Uint8Array | undefined;
  const layout = o.layout && o.layout !== 'auto' ? o.layout : existsSync(path('bundle', 'provenance.sigstore.json')) ? 'veritee' : 'kettle';
  if (layout === 'kettle') {
    // kettle: provenance.json is authenticated by the evidence alone (sha256 in report data)
    try {
      const bytes = new Uint8Array(readBounded(path('provenance', 'provenance.json'), LIMITS.provenance, 'provenance'));
      const text = fromUtf8(bytes);
      checkKettleStatement(text);
      kettleDigest = kettleChecksum(text);
      payload = bytes;
      checks.push(pass('kettle.layout', `kettle layout (Lunal kettle's provenance fields); its checksum, SHA-256 of the compact JSON, ${toHex(kettleDigest).slice(0, 16)}…, is authenticated only by the builder evidence's report data`));
    } catch (e) {
      checks.push(fail('kettle.layout', (e as VeriteeError).code ?? 'BUILD_PROVENANCE_INVALID', (e as Error).message));
    }
  } else try {
    bundleJson = parseJsonStrict(readBounded(path('bundle', 'provenance.sigstore.json'), LIMITS.bundle, 'Sigstore bundle').toString('utf8'), {
      what: 'Sigstore bundle',
      code: 'BUILD_PROVENANCE_INVALID',
    });
    const opened = openBundle(bundleJson);
    if (opened.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new VeriteeError('BUILD_PROVENANCE_INVALID', `DSSE payload type is ${quoteInput(opened.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
    spki = pemToSpki(readBounded(path('key', 'builder-key.pem'), LIMITS.key, 'builder key').toString('utf8'));
    if (toHex(sha256(spki)) !== opened.hint) {
      throw new VeriteeError('BUILD_SIGNER_NOT_ATTESTED', `the bundle is signed by key ${quoteInput(opened.hint, 20)}, not by the builder key (builder-key.pem, ${toHex(sha256(spki)).slice(0, 16)}…): re-signed by another key`);
    }
    checks.push(pass('bundle.format', `Sigstore bundle v0.3 with a DSSE envelope (${IN_TOTO_PAYLOAD_TYPE}) signed by public key ${opened.hint.slice(0, 16)}…`));
    payload = opened.payload;
  } catch (e) {
    const err = e instanceof VeriteeError ? e : new VeriteeError('BUILD_PROVENANCE_INVALID', (e as Error).message);
    checks.push(fail('bundle.format', err.code, err.message));
  }
  if (layout === 'kettle') {
    // no DSSE signature in this layout
  } else if (payload && spki) {
    try {
      verifyBundleSignature(bundleJson, spki);
      checks.push(pass('bundle.signature', `DSSE signature verifies (@sigstore/verify) with builder key ${toHex(sha256(spki)).slice(0, 16)}…`));
    } catch (e) {
      checks.push(fail('bundle.signature', (e as VeriteeError).code ?? 'BUILD_SIGNATURE_INVALID', (e as Error).message));
      payload = undefined;
    }
  } else checks.push(fail('bundle.signature', 'BUILD_SIGNATURE_INVALID', 'not evaluated: the bundle could not be opened'));

  if (payload) {
    try {
      statement = parseStatement(fromUtf8(payload));
      checks.push(pass('provenance.format', `in-toto Statement v1, SLSA v1 provenance, buildType ${quoteInput(statement.predicate.buildDefinition.buildType, 80)}`));
    } catch (e) {
      checks.push(fail('provenance.format', 'BUILD_PROVENANCE_INVALID', (e as Error).message));
    }
  } else checks.push(fail('provenance.format', 'BUILD_PROVENANCE_INVALID', 'not evaluated: no verified payload'));

  const provFile = path('provenance', 'provenance.json');
  if (layout === 'kettle') {
    // provenance.json is the payload itself
  } else if (payload && existsSync(provFile)) {
    const onDisk = readBounded(provFile, LIMITS.provenance, 'provenance');
    checks.push(
      bytesEqual(new Uint8Array(onDisk), payload)
        ? pass('provenance.file', 'provenance.json is byte for byte the signed payload')
        : fail('provenance.file', 'BUILD_PROVENANCE_INVALID', 'provenance.json differs from the payload the bundle signs'),
    );
  } else if (payload) checks.push(pass('provenance.file', 'no separate provenance.json; the signed payload is used'));
  else checks.push(fail('provenance.file', 'BUILD_PROVENANCE_INVALID', 'not evaluated: no verified payload'));

  // artifact ↔ subject
  if (statement) {
    const hit = statement.subject.find((s) => s.digest.sha256 === artifactSha256);
    checks.push(
      hit
        ? pass('artifact.subject', `artifact sha256 ${artifactSha256.slice(0, 16)}… is subject ${quoteInput(hit.name, 120)}`)
        : fail('artifact.subject', 'BUILD_ARTIFACT_MISMATCH', `artifact sha256 ${artifactSha256.slice(0, 16)}… matches none of the ${statement.subject.length} subjects`),
    );
  } else checks.push(fail('artifact.subject', 'BUILD_ARTIFACT_MISMATCH', 'not evaluated: no verified provenance'));

  // evidence ↔ key + provenance ↔ policy (including the builder's launch measurement)
  if (payload && (spki || layout === 'kettle')) {
    try {
      const evidenceText = readBounded(path('evidence', 'evidence.json'), LIMITS.evidence, 'evidence').toString('utf8');
      let anchors = o.anchors;
      if (!anchors && o.policy.builder.allowSimulated && existsSync(path('anchors', 'builder-anchors.json'))) {
        anchors = anchorsFromJson(parseJsonStrict(readBounded(path('anchors', 'builder-anchors.json'), LIMITS.anchors, 'builder anchors').toString('utf8'), { what: 'builder anchors' }));
      }
      const binding = spki
        ? { policy: o.policy.builder, nonce: bindingNonce(sha256(payload), o.nonce), publicKeyHash: sha256(spki) }
        : // kettle: sha256(provenance) is the report data (az-*: the TPM quote's extraData; SNP/TDX: the first 32 of 64 bytes, zeros after)
          { policy: { ...o.policy.builder, reportData: { require: [] } }, expectedReportData: kettleReportData(evidenceText, kettleDigest ?? sha256(payload)) };
      const result = await verifyEvidence(evidenceText, { ...binding, at: o.at, ...(anchors ? { simulatedAnchors: anchors } : {}) });
      // the report-data checks (the platform's and the policy's) are the binding link
      const rd = result.checks.filter((c) => /(^|\.)report_data$/.test(c.name));
      const rdFailed = rd.filter((c) => !c.ok);
      const meas = result.checks.find((c) => c.name === 'policy.measurement');
      const rest = result.checks.filter((c) => !rd.includes(c) && c !== meas);
      const restFailed = rest.filter((c) => !c.ok);
      checks.push(
        rd.some((c) => c.name === 'policy.report_data') && rdFailed.length === 0
          ? pass('binding.report_data', kettleDigest ? `evidence report data is kettle's provenance checksum ${toHex(kettleDigest).slice(0, 16)}…` : `evidence report data binds SHA-256(provenance) ${toHex(sha256(payload)).slice(0, 16)}… and the builder key`)
          : spki
            ? bindingFailure(path('binding', 'binding.json'), result.claims?.reportData, payload, spki, o.nonce, rdFailed.map((c) => c.detail).join('; '))
            : fail('binding.report_data', 'BUILD_EVIDENCE_BINDING_MISMATCH', `the evidence does not bind this provenance: ${quoteInput(rdFailed.map((c) => c.detail).join('; ') || 'report data not checked', 300)}`),
      );
      checks.push(
        restFailed.length === 0 && rest.length > 0
          ? pass('builder.evidence', `${result.platform} evidence verifies (${rest.length} checks${result.claims?.simulated ? ', SIMULATED TEE' : ''})`)
          : fail('builder.evidence', 'BUILD_BUILDER_UNTRUSTED', `builder evidence fails: ${quoteInput(restFailed.map((c) => `${c.name}: ${c.detail}`).join('; ') || 'no checks ran', 400)}`),
      );
      checks.push(
        meas?.ok
          ? pass('builder.measurement', `builder launch measurement ${result.claims?.measurement.slice(0, 16)}… is pinned by the policy`)
          : fail('builder.measurement', meas ? 'BUILD_BUILDER_MEASUREMENT_MISMATCH' : 'BUILD_BUILDER_UNTRUSTED', `builder launch measurement is outside the policy: ${meas ? meas.detail : 'not checked'}`),
      );
    } catch (e) {
      const msg = e instanceof VeriteeError ? `${e.code}: ${e.message}` : (e as Error).message;
      checks.push(fail('binding.report_data', 'BUILD_EVIDENCE_BINDING_MISMATCH', `not evaluated: ${quoteInput(msg, 300)}`));
      checks.push(fail('builder.evidence', 'BUILD_BUILDER_UNTRUSTED', quoteInput(msg, 300)));
      checks.push(fail('builder.measurement', 'BUILD_BUILDER_UNTRUSTED', 'not evaluated: the evidence could not be verified'));
    }
  } else {
    for (const [n, c] of [['binding.report_data', 'BUILD_EVIDENCE_BINDING_MISMATCH'], ['builder.evidence', 'BUILD_BUILDER_UNTRUSTED'], ['builder.measurement', 'BUILD_BUILDER_UNTRUSTED']] as const) {
      checks.push(fail(n, c, 'not evaluated: no verified provenance and key'));
    }
  }

  // provenance content ↔ policy
  if (statement) {
    const bid = statement.predicate.runDetails.builder.id;
    checks.push(
      o.policy.builderIds.includes(bid)
        ? pass('builder.id', `builder ${quoteInput(bid, 120)}`)
        : fail('builder.id', 'BUILD_SOURCE_MISMATCH', `builder ${quoteInput(bid, 120)} is not one the policy accepts (${o.policy.builderIds.join(', ')})`),
    );
    const sealing = statement.predicate.buildDefinition.internalParameters?.sealing;
    if (!o.policy.requireSealed) checks.push(pass('build.sealed', `not required by the policy (provenance records: ${sealing?.sealed ? `sealed by ${sealing.method}` : 'no sealed phase'})`));
    else if (!sealing || sealing.sealed !== true || sealing.network !== 'none') {
      checks.push(fail('build.sealed', 'BUILD_NOT_SEALED', 'the provenance does not record a build phase sealed from the network (internalParameters.sealing)'));
    } else if (!(o.policy.sandboxes as string[]).includes(sealing.method)) {
      checks.push(fail('build.sealed', 'BUILD_NOT_SEALED', `sealed by ${quoteInput(sealing.method, 40)}, the policy accepts ${o.policy.sandboxes.join(', ')}`));
    } else checks.push(pass('build.sealed', `build phase sealed by ${sealing.method}, network none${sealing.readOnlyInputs ? ', read-only inputs' : ''}, clean environment`));

    const src = statement.predicate.buildDefinition.externalParameters.source;
    const commit = src.digest.gitCommit;
    const want = o.sourceCommit?.toLowerCase();
    if (want !== undefined && want !== commit) checks.push(fail('source.commit', 'BUILD_SOURCE_MISMATCH', `built from commit ${commit}, expected ${quoteInput(want, 64)}`));
    else if (o.policy.sourceCommits && !o.policy.sourceCommits.includes(commit)) checks.push(fail('source.commit', 'BUILD_SOURCE_MISMATCH', `commit ${commit} is not among the policy's source commits`));
    else checks.push(pass('source.commit', want || o.policy.sourceCommits ? `built from commit ${commit} as required` : `built from commit ${commit} (no expected commit given)`));
    if (o.policy.sourceUris) {
      checks.push(
        o.policy.sourceUris.includes(src.uri)
          ? pass('source.repository', `source ${quoteInput(src.uri, 120)}`)
          : fail('source.repository', 'BUILD_SOURCE_MISMATCH', `source ${quoteInput(src.uri, 120)} is not among the policy's repositories`),
      );
    }
    const ip = statement.predicate.buildDefinition.internalParameters;
    const pre = ip?.preloaded ?? [];
    const depCount = statement.predicate.buildDefinition.resolvedDependencies?.length ?? 0;
    const unchecked = ip?.dependencyFetch !== 'verified' && depCount > 0;
    if (pre.length === 0 && !unchecked) checks.push(pass('inputs.verified', `every input is pinned source or a fetched-and-verified dependency (${depCount})`));
    else {
      const what = [pre.length ? `preloaded ${pre.map((p) => `${quoteInput(p.name, 60)} (tree ${p.digest.sha256.slice(0, 16)}…)`).join(', ')}` : '', unchecked ? `${depCount} dependencies not fetched and checked (dependencyFetch: ${quoteInput(String(ip?.dependencyFetch ?? 'absent'), 20)})` : '']
        .filter(Boolean)
        .join('; ');
      checks.push(o.policy.allowPreloaded ? pass('inputs.verified', `accepted by allowPreloaded: ${what}`) : fail('inputs.verified', 'BUILD_INPUTS_UNVERIFIED', `${what}; the policy does not set allowPreloaded`));
    }
    const inputsPath = path('inputs', 'inputs.json');
    if (existsSync(inputsPath)) {
      try {
        checks.push(checkMerkle(statement, readBounded(inputsPath, LIMITS.inputs, 'inputs.json').toString('utf8')));
      } catch (e) {
        checks.push(fail('inputs.merkle', 'BUILD_PROVENANCE_INVALID', (e as Error).message));
      }
    } else checks.push(pass('inputs.merkle', `no inputs.json; the recorded root ${merkleRootOf(statement)?.slice(0, 16) ?? '(none)'}… was not recomputed`));
  } else {
    for (const [n, c] of [['builder.id', 'BUILD_SOURCE_MISMATCH'], ['build.sealed', 'BUILD_NOT_SEALED'], ['source.commit', 'BUILD_SOURCE_MISMATCH']] as const) {
      checks.push(fail(n, c, 'not evaluated: no verified provenance'));
    }
  }

  const failures = checks.filter((c) => !c.ok);
  const subject = statement?.subject.find((s) => s.digest.sha256 === artifactSha256)?.name;
  return {
    ok: failures.length === 0,
    checks,
    failures,
    artifactSha256,
    ...(statement && failures.length === 0 ? { statement } : {}),
    ...(subject ? { subject } : {}),
  };
}
