/**
 * "Attestation": the enclaves (nodes) that signed the platform's bundles and their
 * latest evidence, verified here in the browser against the policy the user picks.
 */
import { anchorsFromJson, publicKeyHash, verifyEvidence, type AttestationResult, type EvidenceEnvelope } from '@veritee/attestation';
import { fromBase64 } from '@veritee/core';
import { fetchSameOrigin, listBundles } from './api.js';
import { clear, field, h } from './dom.js';
import { MAX_BUNDLE_CHARS, policyOf } from './verifier.js';

const MAX_NODES_BUNDLES = 50;

interface NodeEvidence {
  key: string;
  bundles: string[];
  latest: { name: string; createdAt: string; envelope: EvidenceEnvelope; anchors?: Record<string, unknown> };
}

/**
 * The earliest end of validity the evidence states: the signing certificate's notAfter
 * (SNP VCEK/VLEK) and any time a passed check names as a validity end (TDX collateral).
 */
export function expiryOf(r: AttestationResult): string | undefined {
  const times: string[] = [];
  const leaf = (r.claims?.platformData as { leafCertificate?: { notAfter?: unknown } } | undefined)?.leafCertificate?.notAfter;
  if (typeof leaf === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(leaf)) times.push(leaf);
  for (const c of r.checks) {
    if (!c.ok) continue;
    for (const m of c.detail.matchAll(/(?:\.\.|until)\s+(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)/g)) times.push(m[1]!);
  }
  return times.sort()[0];
}

export async function renderAttestationPage(root: HTMLElement): Promise<void> {
  clear(root);
  const policySel = h('select', { id: 'att-policy' }, h('option', { value: 'production' }, 'Production (strict)'), h('option', { value: 'demo' }, 'Demo (SNP/TDX, any measurement)'));
  const allowSim = h('input', { type: 'checkbox', id: 'att-allow-simulated' });
  const out = h('div', { id: 'nodes', 'aria-live': 'polite' });
  root.append(
    h('h1', {}, 'Attestation'),
    h('p', { class: 'lead' }, 'Each node is an enclave key that signed bundles. Its latest evidence is verified here, in your browser, against the policy you pick.'),
    h(
      'form',
      { class: 'filters', 'aria-label': 'Attestation policy' },
      field('Policy', policySel),
      h('div', { class: 'check' }, allowSim, h('label', { for: allowSim.id }, 'Allow evidence from the SIMULATED TEE (proves nothing about hardware)')),
    ),
    out,
  );
  out.append(h('p', { role: 'status' }, 'Loading bundles…'));
  let nodes: NodeEvidence[];
  try {
    nodes = await collectNodes();
  } catch (e) {
    clear(out);
    out.append(h('p', { class: 'bad' }, `Could not read the bundles: ${(e as Error).message}`));
    return;
  }
  const render = () => void renderNodes(out, nodes, policySel.value as 'production' | 'demo', allowSim.checked);
  policySel.addEventListener('change', render);
  allowSim.addEventListener('change', render);
  render();
}

async function collectNodes(): Promise<NodeEvidence[]> {
  const { bundles } = await listBundles();
  const attested = bundles.filter((b) => b.attested).sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '')).slice(0, MAX_NODES_BUNDLES);
  const byKey = new Map<string, NodeEvidence>();
  for (const b of attested) {
    const text = await fetchSameOrigin(`/api/bundles/${encodeURIComponent(b.name)}`, MAX_BUNDLE_CHARS);
    const j = JSON.parse(text) as { createdAt: string; signature?: { publicKey: string }; evidence?: { envelope: EvidenceEnvelope; simulatedAnchors?: Record<string, unknown> } };
    if (!j.signature || !j.evidence) continue;
    const n = byKey.get(j.signature.publicKey);
    if (n) {
      n.bundles.push(b.name);
      continue;
    }
    byKey.set(j.signature.publicKey, { key: j.signature.publicKey, bundles: [b.name], latest: { name: b.name, createdAt: j.createdAt, envelope: j.evidence.envelope, ...(j.evidence.simulatedAnchors ? { anchors: j.evidence.simulatedAnchors } : {}) } });
  }
  return [...byKey.values()];
}

async function renderNodes(out: HTMLElement, nodes: NodeEvidence[], policyKind: 'production' | 'demo', allowSim: boolean): Promise<void> {
  clear(out);
  if (!nodes.length) {
    out.append(h('p', {}, 'No attested bundle yet: no node to show.'));
    return;
  }
  const base = policyOf({ kind: policyKind });
  const policy = allowSim ? { ...base, allowSimulated: true } : { ...base, allowSimulated: false };
  const at = new Date();
  for (const n of nodes) {
    let r: AttestationResult | undefined;
    let error: string | undefined;
    try {
      const spki = fromBase64(n.key, 'signature.publicKey');
      r = await verifyEvidence(n.latest.envelope, {
        policy,
        at,
        publicKeyHash: publicKeyHash(spki),
        ...(allowSim && n.latest.anchors ? { simulatedAnchors: anchorsFromJson(n.latest.anchors) } : {}),
      });
    } catch (e) {
      error = (e as Error).message;
    }
    const c = r?.claims;
    const expiry = r ? expiryOf(r) : undefined;
    const rows: [string, string][] = c
      ? [
          ['Platform', `${c.platform}${c.simulated ? ' (SIMULATED TEE)' : ''}${c.cloud ? `, ${c.cloud.provider}` : ''}`],
          ['Product, signer', `${c.product}, ${c.signer}`],
          ['Measurement', c.measurement],
          ...Object.entries(c.measurements).map(([k, v]) => [`Measurement ${k}`, v] as [string, string]),
          ['TCB', `${c.tcb.components.map((t) => `${t.name}=${t.value}`).join(', ')}${c.tcb.status ? ` (status ${c.tcb.status})` : ''}`],
          ['Debug', c.debug ? 'YES (debuggable: secrets are not protected)' : 'no'],
          ['Expiry', expiry ? `${expiry} (earliest end of the signing certificate or collateral)` : 'not stated by the evidence'],
        ]
      : [];
    const verdict = r ? (r.ok ? `verified against ${r.policyId}` : `${r.status.toUpperCase()}: ${r.failures.map((f) => f.name).join(', ')}`) : `error: ${error}`;
    out.append(
      h(
        'article',
        { class: 'node', 'data-verdict': r?.ok ? 'pass' : 'fail' },
        h('h2', {}, `Node ${n.key.slice(-16)}`),
        h('p', { class: r?.ok ? 'good' : 'bad' }, `Verdict: ${verdict} at ${at.toISOString()}`),
        h('p', {}, `Latest evidence from bundle ${n.latest.name} (${n.latest.createdAt}); ${n.bundles.length} bundle${n.bundles.length === 1 ? '' : 's'} signed by this key.`),
        rows.length ? h('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, h('code', {}, v))])) : null,
        r ? h('details', {}, h('summary', {}, `All ${r.checks.length} checks`), h('ul', {}, ...r.checks.map((ck) => h('li', { class: ck.ok ? 'good' : 'bad' }, `${ck.ok ? '✓' : '✗'} ${ck.name}: ${ck.detail}`)))) : null,
        c ? h('details', {}, h('summary', {}, 'Raw claims'), h('pre', {}, JSON.stringify(c, null, 2))) : null,
      ),
    );
  }
}
