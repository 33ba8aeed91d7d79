/**
 * "Control plane": workloads and every scaling decision with the proof status the control
 * plane reports, and each decision's proof bundles verified again here, in the browser,
 * against the keys the user trusts: the bundle must verify and prove what the decision did.
 */
import { KeyRing } from '@veritee/zk/verify';
import { checkDecision, normalizeDecision, type DecisionCheck, type NormalizedDecision } from '../../src/decision-check.js';
import { fetchSameOrigin, getService, listKeys, ServiceError } from './api.js';
import { chart, type Series } from './charts.js';
import { clear, field, fmtTime, h } from './dom.js';
import { parseKeyText, type TrustedKey } from './verifier.js';

const MAX_KEY_CHARS = 4 * 1024 * 1024;
const LIMIT = 500;

const errText = (e: unknown) => (e instanceof ServiceError ? `${e.code}: ${e.message}` : (e as Error).message);
const ms = (t: number | undefined) => (t === undefined || !t ? '—' : fmtTime(t * 1000));

async function consoleKeys(): Promise<TrustedKey[]> {
  const { keys } = await listKeys();
  const out: TrustedKey[] = [];
  for (const k of keys) {
    if (k.problem) continue;
    try {
      out.push(parseKeyText(await fetchSameOrigin(`/api/keys/${encodeURIComponent(k.id)}`, MAX_KEY_CHARS), `console:${k.id}`));
    } catch {
      /* unreadable keys are not trusted */
    }
  }
  return out;
}

export async function renderCpPage(root: HTMLElement): Promise<void> {
  clear(root);
  const userKeys: TrustedKey[] = [];
  const keyFiles = h('input', { type: 'file', id: 'cp-key-files', multiple: true, accept: '.json,application/json' });
  const trustServer = h('input', { type: 'checkbox', id: 'cp-trust-server-keys' });
  const allowDev = h('input', { type: 'checkbox', id: 'cp-allow-dev' });
  const workloadSel = h('select', { id: 'cp-workload' }, h('option', { value: '' }, 'All workloads'));
  const status = h('p', { id: 'cp-status', role: 'status', 'aria-live': 'polite' }, 'Asking the control plane…');
  const verifyBtn = h('button', { type: 'submit', id: 'cp-verify', class: 'primary' }, 'Verify the proofs in this browser');
  const workloadsOut = h('section', { id: 'cp-workloads', 'aria-labelledby': 'wl-title' });
  const out = h('section', { id: 'decisions', 'aria-live': 'polite', 'aria-labelledby': 'dec-title' });
  keyFiles.addEventListener('change', () => {
    void (async () => {
      for (const f of Array.from(keyFiles.files ?? [])) {
        try {
          if (f.size > MAX_KEY_CHARS) throw new Error(`${f.size} bytes; the limit is ${MAX_KEY_CHARS}`);
          userKeys.push(parseKeyText(await f.text(), `file ${f.name}`));
        } catch (e) {
          status.textContent = `Key ${f.name} not loaded: ${(e as Error).message}`;
        }
      }
    })();
  });
  const form = h(
    'form',
    { 'aria-label': 'What you trust' },
    h(
      'fieldset',
      {},
      h('legend', {}, 'What you trust'),
      field('Verification key files (vk.json)', keyFiles, 'Keys you obtained yourself.'),
      h('div', { class: 'check' }, trustServer, h('label', { for: trustServer.id }, 'Trust the verification keys this console serves (you then trust whoever runs it)')),
      h('div', { class: 'check' }, allowDev, h('label', { for: allowDev.id }, 'Allow keys from a DEV trusted setup'), h('p', { class: 'hint' }, 'Whoever ran a dev setup can forge proofs.')),
      field('Workload', workloadSel),
    ),
    verifyBtn,
  );
  root.append(
    h('h1', {}, 'Control plane: scaling decisions'),
    h('p', { class: 'lead' }, 'Each decision is enacted at once and proven in the background. The status the control plane reports is shown beside the result of checking the proof again here, in your browser.'),
    status,
    form,
    workloadsOut,
    out,
  );

  let decisions: NormalizedDecision[] = [];
  try {
    const { workloads } = await getService<{ workloads: { name: string; replicas: number; minReplicas?: number; maxReplicas?: number; rules?: { metric: string; scaleOutAbove?: number; scaleInBelow?: number }[]; lastScaledMs?: number }[] }>('cp', 'workloads');
    for (const w of workloads) workloadSel.append(h('option', { value: w.name }, w.name));
    clear(workloadsOut);
    workloadsOut.append(
      h('h2', { id: 'wl-title' }, `Workloads (${workloads.length})`),
      h(
        'ul',
        {},
        ...workloads.map((w) =>
          h('li', { 'data-workload': w.name }, h('code', {}, w.name), `: ${w.replicas} replica${w.replicas === 1 ? '' : 's'} (${w.minReplicas ?? '?'}..${w.maxReplicas ?? '?'}); rules ${(w.rules ?? []).map((r) => `${r.metric} out > ${r.scaleOutAbove ?? '—'} bp, in < ${r.scaleInBelow ?? '—'} bp`).join('; ') || '—'}; last scaled ${ms(w.lastScaledMs)}`),
        ),
      ),
    );
  } catch (e) {
    status.textContent = `Control plane not available: ${errText(e)}`;
    status.className = 'bad';
    root.dataset.cp = e instanceof ServiceError && e.code === 'CONSOLE_SERVICE_NOT_CONFIGURED' ? 'not-configured' : 'unavailable';
    verifyBtn.disabled = true;
    return;
  }

  const load = async () => {
    const q = workloadSel.value ? `&workload=${encodeURIComponent(workloadSel.value)}` : '';
    const { decisions: raw } = await getService<{ decisions: unknown[] }>('cp', `decisions?limit=${LIMIT}${q}`);
    decisions = (Array.isArray(raw) ? raw : []).map(normalizeDecision).filter((d): d is NormalizedDecision => d !== undefined);
    status.textContent = `${decisions.length} decision${decisions.length === 1 ? '' : 's'} from the control plane.`;
    showDecisions(out, decisions, undefined);
  };
  const verify = async () => {
    verifyBtn.disabled = true;
    try {
      await load();
      const keys = [...userKeys, ...(trustServer.checked ? await consoleKeys() : [])];
      const ring = new KeyRing();
      for (const k of keys) ring.add(k.doc);
      const t0 = performance.now();
      const results = new Map<string, DecisionCheck>();
      for (const d of decisions) results.set(d.id, checkDecision(d, { keys: ring, allowDevSetup: allowDev.checked }));
      const took = performance.now() - t0;
      const bundles = decisions.reduce((n, d) => n + d.bundles.length, 0);
      out.dataset.ms = took.toFixed(1);
      out.dataset.bundles = String(bundles);
      status.textContent = `Checked ${bundles} proof bundle${bundles === 1 ? '' : 's'} of ${decisions.length} decisions in ${took.toFixed(0)} ms in this browser, trusting ${keys.length} key${keys.length === 1 ? '' : 's'}${allowDev.checked ? ' (DEV setups accepted: whoever ran one can forge proofs)' : ''}.`;
      showDecisions(out, decisions, results);
    } catch (e) {
      status.textContent = `Could not read the decisions: ${errText(e)}`;
    } finally {
      verifyBtn.disabled = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void verify();
  });
  workloadSel.addEventListener('change', () => void load().catch((e) => (status.textContent = `Could not read the decisions: ${errText(e)}`)));
  try {
    await load();
  } catch (e) {
    status.textContent = `Could not read the decisions: ${errText(e)}`;
  }
}

const VERDICT_TEXT: Record<DecisionCheck['verdict'], string> = {
  verified: 'VERIFIED here',
  failed: 'NOT VERIFIED here',
  'no-proof': 'no proof yet',
  unprovable: 'no claim covers this metric',
};

function showDecisions(out: HTMLElement, decisions: NormalizedDecision[], results: Map<string, DecisionCheck> | undefined): void {
  clear(out);
  out.append(h('h2', { id: 'dec-title' }, `Decisions (${decisions.length}, newest first)`));
  if (!decisions.length) {
    out.append(h('p', {}, 'No scaling decision yet.'));
    return;
  }
  const rows = decisions.map((d) => {
    const r = results?.get(d.id);
    const cls = r ? (r.verdict === 'verified' ? 'good' : r.verdict === 'failed' ? 'bad' : '') : '';
    const detail = r?.claims.length
      ? h(
          'details',
          {},
          h('summary', {}, `${r.claims.reduce((n, c) => n + c.checks.length, 0)} checks`),
          ...r.claims.map((c) =>
            h('div', {}, h('p', {}, h('code', {}, c.claim.kind), ` ${c.ok ? 'verified' : 'FAILED'}`), h('ul', { class: 'claim-checks' }, ...c.checks.map((ck) => h('li', { class: ck.ok ? 'good' : 'bad', 'data-check': ck.name, 'data-ok': String(ck.ok) }, `${ck.ok ? '✓' : '✗'} ${ck.name}: ${ck.detail}`)))),
          ),
        )
      : null;
    return h(
      'tr',
      { 'data-decision': d.id, 'data-cp-proof': d.proofState, ...(r ? { 'data-browser': r.verdict, 'data-disagrees': String(r.disagrees) } : {}) },
      h('td', {}, d.seq),
      h('td', {}, h('code', {}, d.workload), ` ${d.metric} ${d.direction}: ${d.from} → ${d.to}`, h('br', {}), h('span', { class: 'hint' }, d.reason)),
      h('td', { class: cls }, r ? VERDICT_TEXT[r.verdict] : 'not checked yet', r?.disagrees ? h('strong', { class: 'bad' }, ' — disagrees with the control plane') : null, detail),
      h('td', { class: d.proofState === 'verified' ? 'good' : d.proofState === 'failed' ? 'bad' : '' }, d.proofState, d.flag ? ` (flag: ${d.flag})` : '', d.proofError ? h('span', { class: 'hint' }, ` ${d.proofError.slice(0, 200)}`) : null),
      h('td', {}, d.enactState),
      h('td', {}, ms(d.atMs)),
    );
  });
  out.append(replicasChart(decisions, results));
  out.append(
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { id: 'decision-table' },
        h('thead', {}, h('tr', {}, ...['Seq', 'Decision', 'Proof (checked in this browser)', 'Proof (control plane says)', 'Enacted', 'Time'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...rows),
      ),
    ),
  );
}

/** Replicas in force after each decision, per workload; a filled point is a decision whose proof verified (here once checked, else as the control plane says). */
function replicasChart(decisions: NormalizedDecision[], results: Map<string, DecisionCheck> | undefined): HTMLElement {
  const byWorkload = new Map<string, Series>();
  for (const d of [...decisions].sort((a, b) => a.atMs - b.atMs)) {
    let sr = byWorkload.get(d.workload);
    if (!sr) {
      if (byWorkload.size >= 4) continue;
      sr = { label: `${d.workload}: replicas after each decision; filled = proof verified`, cls: `c${byWorkload.size}`, line: true, points: [] };
      byWorkload.set(d.workload, sr);
    }
    const verified = results ? results.get(d.id)?.verdict === 'verified' : d.proofState === 'verified';
    sr.points.push({ x: d.atMs * 1000, y: d.to, filled: verified, note: `${d.metric} ${d.direction} ${d.from} → ${d.to}: ${d.reason}; proof ${results ? (results.get(d.id)?.verdict ?? 'not checked') : d.proofState}` });
  }
  const ys = decisions.flatMap((d) => [d.from, d.to]);
  return chart({
    title: 'Replicas over time',
    desc: `Replicas in force after each of ${decisions.length} scaling decision${decisions.length === 1 ? '' : 's'}; a filled point is a decision whose proof verified${results ? ' in this browser' : ' (as the control plane says)'}.`,
    xLabel: 'decision time',
    yLabel: 'replicas',
    xFormat: (x) => fmtTime(x).slice(5, 16),
    yFormat: (y) => y.toFixed(0),
    series: [...byWorkload.values()],
    yMin: 0,
    yMax: Math.max(1, ...ys) + 1,
  });
}
