/**
 * @module format
 * Human summaries of claims (each claim kind supplies its own lines).
 */
import { claimDefinition, type ProofBundle } from '@veritee/zk';

export function summarizeClaim(bundle: Pick<ProofBundle, 'claim' | 'proof' | 'commitment'>): string[] {
  const c = bundle.claim;
  const def = claimDefinition(c.kind);
  return [
    `claim: ${c.kind} v${c.version} (size class ${bundle.proof.capacity})`,
    ...(def?.summarize ? def.summarize(c.params, c.outputs) : [JSON.stringify(c.outputs)]),
    `commitment: ${bundle.commitment}`,
  ];
}
