/**
 * @module policy
 * The attestation policy of a measured image: the launch measurements it may
 * have (SEV-SNP MEASUREMENT, or TDX MRTD), the HOST_DATA / MRCONFIGID it must be
 * launched with (its component-tree root) and whether the image enforces that
 * root at boot (`veritee image enforce`). The inclusion verifier accepts a
 * component-tree root from evidence only when the attested measurement is one
 * of an enforcing image's: HOST_DATA and MRCONFIGID are chosen by the host and
 * not covered by the launch measurement, so the root means "the image contains
 * these components" only if the measured image itself refuses to run otherwise.
 */
import { parseJsonStrict, quoteInput, VeriteeError } from '@veritee/core';
import type { ImageManifest } from './manifest.js';

export const POLICY_FORMAT = 'veritee.image-policy/v1';

export interface ImagePolicy {
  format: typeof POLICY_FORMAT;
  platform: 'snp' | 'tdx';
  /** Accepted launch measurements: SNP MEASUREMENT or TDX MRTD, 96 hex digits each. */
  measurements: string[];
  /** HOST_DATA (SNP, 64 hex) or MRCONFIGID (TDX, 96 hex) the image must be launched with. */
  hostData: string;
  /** The component-tree root (64 hex) and tree depth of the image's manifest. */
  componentRoot: string;
  depth: number;
  /** The image runs `veritee image enforce` before any workload (asserted by whoever builds the image). */
  enforcing: boolean;
}

function bad(msg: string): VeriteeError {
  return new VeriteeError('IMAGE_MANIFEST_INVALID', msg);
}

const HEX96 = /^[0-9a-f]{96}$/;

/** The policy for an image from its manifest and predicted measurement(s). */
export function buildImagePolicy(opts: { manifest: ImageManifest; platform: 'snp' | 'tdx'; measurements: string[]; enforcing: boolean }): ImagePolicy {
  const measurements = [...new Set(opts.measurements.map((m) => m.replace(/^0x/i, '').toLowerCase()))].sort();
  if (measurements.length === 0) throw bad('an image policy needs at least one launch measurement');
  for (const m of measurements) if (!HEX96.test(m)) throw bad(`measurement ${quoteInput(m, 100)} is not 48 bytes of hex`);
  return {
    format: POLICY_FORMAT,
    platform: opts.platform,
    measurements,
    hostData: opts.platform === 'snp' ? opts.manifest.hostData.snp : opts.manifest.hostData.tdx,
    componentRoot: opts.manifest.root,
    depth: opts.manifest.depth,
    enforcing: opts.enforcing,
  };
}

export function parseImagePolicy(text: string, what = 'image policy'): ImagePolicy {
  const v = parseJsonStrict(text, { what, code: 'IMAGE_MANIFEST_INVALID' }) as Record<string, unknown>;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${what} is not a JSON object`);
  const keys = Object.keys(v).sort().join(',');
  if (keys !== 'componentRoot,depth,enforcing,format,hostData,measurements,platform') throw bad(`${what} must have exactly format, platform, measurements, hostData, componentRoot, depth, enforcing (has ${quoteInput(keys, 120)})`);
  if (v.format !== POLICY_FORMAT) throw bad(`${what} format is not ${POLICY_FORMAT}`);
  if (v.platform !== 'snp' && v.platform !== 'tdx') throw bad(`${what} platform must be snp or tdx`);
  if (!Array.isArray(v.measurements) || v.measurements.length === 0 || !v.measurements.every((m) => typeof m === 'string' && HEX96.test(m))) throw bad(`${what} measurements must be a non-empty list of 96 lower-case hex digits`);
  const hdLen = v.platform === 'snp' ? 64 : 96;
  if (typeof v.hostData !== 'string' || !new RegExp(`^[0-9a-f]{${hdLen}}$`).test(v.hostData)) throw bad(`${what} hostData must be ${hdLen} lower-case hex digits for ${v.platform}`);
  if (typeof v.componentRoot !== 'string' || !/^[0-9a-f]{64}$/.test(v.componentRoot) || !v.hostData.startsWith(v.componentRoot) || /[^0]/.test(v.hostData.slice(64))) {
    throw bad(`${what} hostData does not carry its componentRoot`);
  }
  if (v.depth !== 10 && v.depth !== 20) throw bad(`${what} depth must be 10 or 20`);
  if (typeof v.enforcing !== 'boolean') throw bad(`${what} enforcing must be true or false`);
  return v as unknown as ImagePolicy;
}

export interface PolicyCheck {
  name: string;
  ok: boolean;
  detail: string;
  code?: string;
}

/**
 * Checks attested claims against an image policy. Returns one check per
 * property; `ok` only when the platform matches, the measurement is listed, the
 * image enforces its tree and the host data is the policy's.
 */
export function checkImagePolicy(policy: ImagePolicy, claims: { platform: string; measurement: string; hostData?: string }): { ok: boolean; checks: PolicyCheck[] } {
  const checks: PolicyCheck[] = [];
  const field = policy.platform === 'snp' ? 'HOST_DATA' : 'MRCONFIGID';
  const mName = policy.platform === 'snp' ? 'launch measurement' : 'MRTD';
  if (claims.platform !== policy.platform) {
    checks.push({ name: 'image.platform', ok: false, code: 'IMAGE_MEASUREMENT_NOT_ENFORCING', detail: `the evidence is ${quoteInput(claims.platform, 20)}, the image policy is for ${policy.platform}` });
  }
  const m = claims.measurement.toLowerCase();
  if (policy.measurements.includes(m)) checks.push({ name: 'image.measurement', ok: true, detail: `the attested ${mName} is one of the image's ${policy.measurements.length}` });
  else checks.push({ name: 'image.measurement', ok: false, code: 'IMAGE_MEASUREMENT_NOT_ENFORCING', detail: `the attested ${mName} ${quoteInput(m, 100)} is not one of the image policy's` });
  if (policy.enforcing) checks.push({ name: 'image.enforcing', ok: true, detail: `the image enforces its component tree at boot (veritee image enforce), so ${field} is checked against the files present` });
  else checks.push({ name: 'image.enforcing', ok: false, code: 'IMAGE_MEASUREMENT_NOT_ENFORCING', detail: `the image policy does not say the image enforces its component tree: a ${field} root is chosen by the host and proves nothing about the image` });
  const hd = (claims.hostData ?? '').toLowerCase();
  if (hd === policy.hostData) checks.push({ name: 'image.host_data', ok: true, detail: `${field} is the image's component-tree root ${policy.componentRoot.slice(0, 16)}…` });
  else checks.push({ name: 'image.host_data', ok: false, code: 'INCLUSION_ROOT_MISMATCH', detail: `${field} is not the image policy's component-tree root` });
  return { ok: checks.every((c) => c.ok), checks };
}
