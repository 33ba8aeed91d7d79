/**
 * @module format
 * Human summaries of claims.
 */
import { formatDuration, formatSla, type ProofBundle } from '@veritee/zk';

const ms = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(us % 1000 === 0 ? 0 : 1)} ms` : `${us} us`);

export function summarizeClaim(bundle: ProofBundle): string[] {
  const c = bundle.claim;
  const p = c.params;
  const lines = [
    `claim: ${c.kind} v${c.version} (${bundle.proof.capacity}-record size class)`,
    `period: ${new Date(p.periodStartUs / 1000).toISOString()} .. ${new Date(p.periodEndUs / 1000).toISOString()}`,
    `requests: n = ${c.outputs.n}${p.minN ? ` (SLA minimum ${p.minN})` : ''}`,
  ];
  p.slots.forEach((s, i) => {
    const o = c.outputs.slots[i]!;
    const bound = s.enforce ? `  SLA < ${formatDuration(s.thresholdUs)}: ${o.valueUs < s.thresholdUs ? 'met' : 'MISSED'}, ${o.exceeding} requests at or over it` : '';
    lines.push(`p${s.percentileBp / 100}: ${ms(o.valueUs)}${bound}`);
  });
  lines.push(`SLA "${formatSla(p)}": ${c.outputs.compliant ? 'COMPLIANT' : 'NOT COMPLIANT'}`);
  lines.push(`commitment: ${bundle.commitment}`);
  return lines;
}
