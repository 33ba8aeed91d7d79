/**
 * @module deploy
 * `veritee build policy`: from a verified build to the attestation policy of the
 * artifact's deployment, closing the loop from commit to running code.
 *
 * The artifact is bound to the workload TEE by the launch-time field the host sets and
 * the hardware measures: SEV-SNP HOST_DATA = SHA-256(artifact) (32 bytes), TDX MRCONFIGID =
 * SHA-384(artifact) (48 bytes). The policy pins that value, the workload's launch
 * measurements (given by the operator, or `any` with a warning comment) and requires a
 * nonce binding; its description names the commit and the provenance digest.
 *
 * INVARIANT: no policy is produced from a build that did not verify.
 */
import { createHash } from 'node:crypto';
import { quoteInput, VeriteeError } from '@veritee/core';
import { parsePolicy, type Policy } from '@veritee/attestation';
import type { BuildVerification } from './verify.js';

export interface DeploymentPolicyOptions {
  platform: 'snp' | 'tdx';
  /** The workload's allowed launch measurements (SNP) / MRTDs (TDX), 48-byte hex; none: `any`. */
  launchMeasurements?: string[];
  name?: string;
}

export interface DeploymentPolicy {
  /** YAML text with comments. */
  yaml: string;
  /** The same, validated by the attestation policy parser. */
  policy: Policy;
  /** The value the deployment must carry (HOST_DATA or MRCONFIGID), hex. */
  binding: string;
}

export function deploymentPolicy(v: BuildVerification, artifact: Uint8Array, o: DeploymentPolicyOptions): DeploymentPolicy {
  if (!v.ok || !v.statement) {
    const first = v.failures[0];
    throw new VeriteeError(first?.code ?? 'BUILD_PROVENANCE_INVALID', `no deployment policy from a build that does not verify: ${v.failures.map((c) => c.name).join(', ') || 'not verified'}`);
  }
  const sha256 = createHash('sha256').update(artifact).digest('hex');
  if (sha256 !== v.artifactSha256) throw new VeriteeError('BUILD_ARTIFACT_MISMATCH', 'the artifact bytes are not the ones that were verified');
  for (const m of o.launchMeasurements ?? []) {
    if (!/^[0-9a-f]{96}$/.test(m)) throw new VeriteeError('INPUT_INVALID', `launch measurement ${quoteInput(m)} must be 48 bytes of lowercase hex`);
  }
  const src = v.statement.predicate.buildDefinition.externalParameters.source;
  const commit = src.digest.gitCommit;
  const binding = o.platform === 'snp' ? sha256 : createHash('sha384').update(artifact).digest('hex');
  const name = o.name ?? `deploy-${commit.slice(0, 12)}`;
  const measurements = o.launchMeasurements?.length ? `[${o.launchMeasurements.map((m) => `"${m}"`).join(', ')}]` : 'any';
  const warn = o.launchMeasurements?.length ? '' : '    # WARNING: no launch measurement given: pin the workload image measurement (veritee image / --launch-measurement)\n';
  // printable ASCII only, no quotes or backslashes: the text lands in YAML (a comment and a quoted string)
  const description = `artifact ${v.subject ?? 'artifact'} sha256 ${sha256} built from ${src.uri} commit ${commit}`.replace(/[^\x20-\x7e]|["\\]/g, '?').slice(0, 1000);
  const yaml =
    `# veritee deployment policy generated from a verified build\n` +
    `# ${description}\n` +
    `version: 1\nname: ${name}\ndescription: "${description}"\nplatforms: [${o.platform}]\nreportData:\n  require: [nonce]\n` +
    (o.platform === 'snp'
      ? `snp:\n${warn}    measurements: ${measurements}\n  hostData: ["${binding}"]    # SHA-256 of the artifact, set by the host at launch\n`.replace(/^ {4}measurements/m, '  measurements').replace(/^ {4}# WARNING/m, '  # WARNING')
      : `tdx:\n${warn}    mrtd: ${measurements}\n  mrConfigId: ["${binding}"]  # SHA-384 of the artifact, set by the host at launch\n`.replace(/^ {4}mrtd/m, '  mrtd').replace(/^ {4}# WARNING/m, '  # WARNING'));
  const policy = parsePolicy(yaml, { source: 'deployment policy' });
  return { yaml, policy, binding };
}
