/**
 * @module cloud/policy-checks
 * The policy checks for cloud variants and TPM PCRs (`policy.cloud`, `policy.pcrs`), called
 * from verify.ts. They run only when the policy constrains them or the claims carry them,
 * so results for bare SNP/TDX/NVIDIA evidence under older policies are unchanged.
 *
 * `policy.cloud` compares the attester's claim (the envelope tag): it can refuse evidence
 * labelled for another cloud, but it proves no cloud (see cloud/tags.ts).
 */
import type { Check, Claims } from '../types.js';

export type CloudRequirement = 'azure' | 'gcp' | 'none';

export interface CloudPolicy {
  cloud?: CloudRequirement[] | undefined;
  /** PCR index → allowed values (lowercase hex, SHA-256 bank). */
  pcrs?: Record<string, string[]> | undefined;
}

const short = (hex: string) => (hex.length > 24 ? `${hex.slice(0, 16)}…${hex.slice(-8)}` : hex);

export function checkCloudPolicy(policy: CloudPolicy, c: Claims): Check | undefined {
  const name = 'policy.cloud';
  const got: CloudRequirement = c.cloud?.provider ?? 'none';
  const shown = c.cloud ? `${c.cloud.tag} (the attester's claim${c.cloud.basis === 'hcl-report' ? ', with an Azure HCL report' : '; nothing in the evidence proves it'})` : 'no cloud variant';
  if (policy.cloud === undefined) return c.cloud ? { name, ok: true, detail: `${shown}; the policy accepts any cloud variant` } : undefined;
  return policy.cloud.includes(got)
    ? { name, ok: true, detail: `${shown} is accepted (policy: ${policy.cloud.join(', ')})` }
    : { name, ok: false, code: 'ATTEST_POLICY_VIOLATION', detail: `${shown} is not accepted: the policy requires cloud ${policy.cloud.join(' or ')}` };
}

export function checkPcrPolicy(policy: CloudPolicy, c: Claims): { check: Check; pinned: boolean } | undefined {
  const name = 'policy.pcrs';
  const want = policy.pcrs;
  if (want === undefined || Object.keys(want).length === 0) {
    if (c.pcrs === undefined) return undefined;
    return { check: { name, ok: true, detail: `${Object.keys(c.pcrs).length} quoted PCR(s) exposed; the policy pins none` }, pinned: false };
  }
  if (c.pcrs === undefined) {
    return { check: { name, ok: false, code: 'ATTEST_PCR_MISMATCH', detail: `the policy pins PCR ${Object.keys(want).join(', ')} but the ${c.platform} evidence carries no TPM quote` }, pinned: true };
  }
  const bad: string[] = [];
  for (const [index, values] of Object.entries(want).sort((a, b) => Number(a[0]) - Number(b[0]))) {
    const v = c.pcrs[index];
    if (v === undefined) bad.push(`PCR ${index} is not covered by the TPM quote`);
    else if (!values.includes(v.toLowerCase())) bad.push(`PCR ${index} = ${short(v)} is not among the ${values.length} allowed value(s)`);
  }
  return bad.length
    ? { check: { name, ok: false, code: 'ATTEST_PCR_MISMATCH', detail: bad.join('; ') }, pinned: true }
    : { check: { name, ok: true, detail: `PCR ${Object.keys(want).sort((a, b) => Number(a) - Number(b)).join(', ')} match the policy` }, pinned: true };
}
