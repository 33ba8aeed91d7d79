/**
 * @module enforce
 * Enforcement inside the measured guest: ask the platform for a fresh report
 * (configfs-tsm), read the HOST_DATA (SNP) or MRCONFIGID (TDX) the VM was
 * launched with, hash the components actually present within the manifest's
 * scope, and refuse unless their component-tree root is the attested one. Only
 * then may workloads start (`veritee image enforce … -- <command>`).
 *
 * The manifest file shipped in the image only supplies the scope, the tree depth
 * and, on a mismatch, the names to report: the decision compares what is on disk
 * with what the hardware attests, so a tampered manifest cannot help.
 */
import { randomBytes } from 'node:crypto';
import { inclusionRoot, inclusionRootFromHostData, inclusionRootToHex, quoteInput, toHex, VeriteeError } from '@veritee/core';
import { computeReportData, parseSnpReport, parseTdxQuote, verifyEvidence, type Policy } from '@veritee/attestation';
import { collectComponents, diffComponents, type ImageManifest, type WalkOptions } from './manifest.js';
import { requestTsmReport, tsmReportToEnvelope, type ConfigfsTsmOptions, type TsmReport } from './evidence/configfs-tsm.js';
import { checkImagePolicy, type ImagePolicy, type PolicyCheck } from './policy.js';

export interface EnforceOptions {
  manifest: ImageManifest;
  /** The image's root directory (default "/"). */
  root?: string;
  /** configfs-tsm location and file-system access (tests use a fake tree). */
  tsm?: ConfigfsTsmOptions;
  /** Also verify the report's signature chain and TCB under this attestation policy. */
  verify?: { policy: Policy; at: Date; simulatedAnchors?: unknown };
  /** Also require the attested launch measurement to be one of this image policy's. */
  imagePolicy?: ImagePolicy;
  walk?: WalkOptions;
}

export interface EnforceResult {
  platform: 'snp' | 'tdx';
  provider: string;
  /** The attested and recomputed component-tree root. */
  root: string;
  components: number;
  measurement: string;
  checks: PolicyCheck[];
}

interface Attested {
  platform: 'snp' | 'tdx';
  reportData: Uint8Array;
  hostData: Uint8Array;
  measurement: Uint8Array;
}

function readAttested(r: TsmReport): Attested {
  try {
    if (r.platform === 'snp') {
      const rep = parseSnpReport(r.outblob);
      return { platform: 'snp', reportData: rep.reportData, hostData: rep.hostData, measurement: rep.measurement };
    }
    const q = parseTdxQuote(r.outblob);
    return { platform: 'tdx', reportData: q.td.reportData, hostData: q.td.mrConfigId, measurement: q.td.mrTd };
  } catch (e) {
    throw new VeriteeError('IMAGE_EVIDENCE_INVALID', `the ${r.provider} report is malformed: ${(e as Error).message}`);
  }
}

const sample = (names: string[]) => names.slice(0, 5).map((n) => quoteInput(n, 80)).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');

/** Runs the enforcement; resolves only when the image matches its attested root. */
export async function enforceImage(opts: EnforceOptions): Promise<EnforceResult> {
  const checks: PolicyCheck[] = [];
  const nonce = new Uint8Array(randomBytes(32));
  const reportData = computeReportData({ nonce });
  const report = requestTsmReport(reportData, opts.tsm);
  const att = readAttested(report);
  if (toHex(att.reportData) !== toHex(reportData)) {
    throw new VeriteeError('IMAGE_EVIDENCE_INVALID', 'the report does not carry the report data of this request: it is not a fresh answer');
  }
  checks.push({ name: 'evidence.fresh', ok: true, detail: `a ${att.platform} report (${report.provider}) answering this request's nonce` });

  if (opts.verify) {
    const r = await verifyEvidence(tsmReportToEnvelope(report) as never, {
      policy: opts.verify.policy,
      at: opts.verify.at,
      nonce,
      ...(opts.verify.simulatedAnchors ? { simulatedAnchors: opts.verify.simulatedAnchors as never } : {}),
    });
    if (!r.ok) {
      const bad = r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      throw new VeriteeError('IMAGE_EVIDENCE_INVALID', `the platform report does not verify: ${bad.slice(0, 3).join('; ')}`);
    }
    checks.push({ name: 'evidence.verified', ok: true, detail: `signature chain and policy ${r.claims?.simulated ? '(SIMULATED TEE) ' : ''}verified` });
  }

  const field = att.platform === 'snp' ? 'HOST_DATA' : 'MRCONFIGID';
  let attestedRoot: bigint;
  try {
    attestedRoot = inclusionRootFromHostData(att.hostData);
  } catch (e) {
    throw new VeriteeError('IMAGE_COMPONENT_MISMATCH', `the VM was launched with a ${field} that is not a component-tree root (${(e as Error).message}): refusing to start`);
  }
  const found = collectComponents(opts.root ?? '/', opts.manifest.scope, opts.walk);
  const root = inclusionRoot(found, opts.manifest.depth);
  if (root !== attestedRoot) {
    const d = diffComponents(opts.manifest.components, found);
    const parts = [d.changed.length ? `changed: ${sample(d.changed)}` : '', d.added.length ? `added: ${sample(d.added)}` : '', d.removed.length ? `removed: ${sample(d.removed)}` : ''].filter(Boolean);
    const vsManifest = opts.manifest.root === inclusionRootToHex(attestedRoot) ? 'compared with the manifest' : 'the manifest shipped in the image is not the attested one either; compared with it';
    throw new VeriteeError(
      'IMAGE_COMPONENT_MISMATCH',
      `the ${found.length} components present give root ${inclusionRootToHex(root)}, but the VM was launched with ${field} root ${inclusionRootToHex(attestedRoot)}: refusing to start (${vsManifest}: ${parts.join('; ') || 'no difference in names or digests, the scope or depth differs'})`,
    );
  }
  checks.push({ name: 'image.components', ok: true, detail: `the ${found.length} components present give the attested ${field} root ${inclusionRootToHex(root)}` });

  if (opts.imagePolicy) {
    const p = checkImagePolicy(opts.imagePolicy, { platform: att.platform, measurement: toHex(att.measurement), hostData: toHex(att.hostData) });
    checks.push(...p.checks);
    if (!p.ok) {
      const bad = p.checks.filter((c) => !c.ok);
      throw new VeriteeError(bad[0]!.code === 'INCLUSION_ROOT_MISMATCH' ? 'IMAGE_COMPONENT_MISMATCH' : 'IMAGE_MEASUREMENT_NOT_ENFORCING', `the image policy is not met: ${bad.map((c) => c.detail).join('; ')}`);
    }
  }
  return { platform: att.platform, provider: report.provider, root: inclusionRootToHex(root), components: found.length, measurement: toHex(att.measurement), checks };
}
