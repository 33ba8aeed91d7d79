/** "Proofs": every bundle the console can see, filterable by claim and period, with plots of the proven numbers. */
import { listBundles, type BundleEntry } from './api.js';
import { chart, type HLine, type Series } from './charts.js';
import { clear, field, fmtMs, fmtTime, h } from './dom.js';

type Claim = { kind: string; params: Record<string, unknown>; outputs: Record<string, unknown> };
type Entry = BundleEntry & { claim?: Claim };

const dayOf = (us: number) => new Date(Math.floor(us / 1000)).toISOString().slice(0, 10);
const pct = (bp: number) => `${(bp / 100).toFixed(bp % 100 ? 2 : 0)}`;
const fmtDate = (us: number) => fmtTime(us).slice(0, 16).replace('T', ' ');

export async function renderProofsPage(root: HTMLElement): Promise<void> {
  clear(root);
  root.append(h('h1', {}, 'Proofs'), h('p', { role: 'status' }, 'Loading the bundle list…'));
  let list: { dir: string; bundles: Entry[] };
  try {
    list = (await listBundles()) as { dir: string; bundles: Entry[] };
  } catch (e) {
    clear(root);
    root.append(h('h1', {}, 'Proofs'), h('p', { class: 'bad' }, `Could not list bundles: ${(e as Error).message}`));
    return;
  }
  const kinds = [...new Set(list.bundles.map((b) => b.kind).filter((k): k is string => !!k))].sort();
  const kindSel = h('select', { id: 'filter-kind' }, h('option', { value: '' }, 'every claim'), ...kinds.map((k) => h('option', { value: k }, k)));
  const from = h('input', { type: 'date', id: 'filter-from' });
  const to = h('input', { type: 'date', id: 'filter-to' });
  const out = h('div', { id: 'proofs-out' });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter bundles' }, field('Claim', kindSel), field('Period from', from), field('Period to', to));
  filters.addEventListener('submit', (e) => e.preventDefault());
  const update = () => {
    const sel = list.bundles.filter((b) => {
      if (kindSel.value && b.kind !== kindSel.value) return false;
      if (from.value && (b.periodEndUs === undefined || dayOf(b.periodEndUs) < from.value)) return false;
      if (to.value && (b.periodStartUs === undefined || dayOf(b.periodStartUs) > to.value)) return false;
      return true;
    });
    renderList(out, sel);
  };
  for (const c of [kindSel, from, to]) c.addEventListener('change', update);
  clear(root);
  root.append(
    h('h1', {}, 'Proofs'),
    h('p', { class: 'lead' }, `${list.bundles.length} bundle${list.bundles.length === 1 ? '' : 's'} in ${list.dir}. The plots show the numbers the bundles claim; open one on the Verify page to check its proof and attestation in this browser.`),
    filters,
    out,
  );
  update();
}

function renderList(out: HTMLElement, sel: Entry[]): void {
  clear(out);
  const table = h(
    'table',
    { id: 'bundle-table' },
    h('caption', {}, `${sel.length} bundle${sel.length === 1 ? '' : 's'}`),
    h('thead', {}, h('tr', {}, ...['Bundle', 'Claim', 'Period', 'Made', 'Attested', 'Setup', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h(
      'tbody',
      {},
      ...sel.map((b) =>
        h(
          'tr',
          { 'data-bundle': b.name },
          h('th', { scope: 'row' }, b.name),
          h('td', {}, b.kind ?? (b.problem ? `unreadable: ${b.problem}` : '?')),
          h('td', {}, b.periodStartUs !== undefined && b.periodEndUs !== undefined ? `${fmtDate(b.periodStartUs)} – ${fmtDate(b.periodEndUs)}` : '—'),
          h('td', {}, b.createdAt ?? '—'),
          h('td', {}, b.attested ? 'yes (evidence + enclave signature)' : 'no'),
          h('td', {}, b.setup === 'dev' ? 'DEV (forgeable)' : (b.setup ?? '—')),
          h('td', {}, h('a', { href: `#/verify?bundle=${encodeURIComponent(`/api/bundles/${b.name}`)}` }, `Verify ${b.name}`)),
        ),
      ),
    ),
  );
  out.append(h('div', { class: 'scroll' }, table));
  const charts = h('section', { 'aria-label': 'Plots' });
  const lat = sel.filter((b) => b.claim?.kind === 'latency');
  if (lat.length) charts.append(...latencyCharts(lat));
  const scaling = sel.filter((b) => b.claim?.kind === 'memory' || b.claim?.kind === 'cpu');
  if (scaling.length) charts.append(scalingChart(scaling));
  const gw = sel.filter((b) => b.claim?.kind === 'gateway');
  if (gw.length) charts.append(gatewayChart(gw));
  if (!charts.childElementCount) charts.append(h('p', {}, 'No latency, scaling or gateway bundle matches the filter: nothing to plot.'));
  out.append(charts);
}

type Slot = { percentileBp: number; thresholdUs: number; enforce: boolean };
type SlotOut = { valueUs: number; exceeding: number };

function latencyCharts(lat: Entry[]): HTMLElement[] {
  const sorted = [...lat].sort((a, b) => (a.periodEndUs ?? 0) - (b.periodEndUs ?? 0));
  const last = sorted[sorted.length - 1]!;
  const slots = (last.claim!.params.slots ?? []) as Slot[];
  const outs = (last.claim!.outputs.slots ?? []) as SlotOut[];
  const n = Number(last.claim!.outputs.n);
  const compliant = last.claim!.outputs.compliant === true;
  const ladder: Series = {
    label: `proven percentiles of ${last.name}`,
    cls: 'c0',
    line: true,
    points: slots.map((sl, i) => ({ x: Math.max(1, outs[i]?.valueUs ?? 0), y: sl.percentileBp / 100, note: `p${pct(sl.percentileBp)} = ${fmtMs(outs[i]?.valueUs ?? 0)}, ${outs[i]?.exceeding ?? '?'} of ${n} at or over the bound` })),
  };
  const vlines = slots.filter((sl) => sl.enforce).map((sl) => ({ label: `SLA p${pct(sl.percentileBp)} < ${fmtMs(sl.thresholdUs)}`, x: sl.thresholdUs, cls: 'bound' }));
  const figs = [
    chart({
      title: `Latency distribution, ${last.name} (${fmtDate(last.periodStartUs ?? 0)} – ${fmtDate(last.periodEndUs ?? 0)}): ${compliant ? 'SLA met' : 'SLA NOT met'}`,
      desc: `Proven p50, p95 and p99 latencies over ${n} requests against the SLA bounds. ${slots.map((sl, i) => `p${pct(sl.percentileBp)} ${fmtMs(outs[i]?.valueUs ?? 0)}${sl.enforce ? ` (bound ${fmtMs(sl.thresholdUs)})` : ''}`).join('; ')}.`,
      xLabel: 'latency (log scale)',
      yLabel: 'percentile',
      xFormat: (x) => fmtMs(x),
      yFormat: (y) => `p${y.toFixed(0)}`,
      series: [ladder],
      vlines,
      yMin: 0,
      yMax: 100,
      logX: true,
    }),
  ];
  if (sorted.length > 1) {
    const bySlot = new Map<number, Series>();
    const hlines: HLine[] = [];
    sorted.forEach((b) => {
      const ss = (b.claim!.params.slots ?? []) as Slot[];
      const os = (b.claim!.outputs.slots ?? []) as SlotOut[];
      ss.forEach((sl, i) => {
        const ser = bySlot.get(sl.percentileBp) ?? { label: `p${pct(sl.percentileBp)}`, cls: `c${bySlot.size % 4}`, line: true, points: [] };
        bySlot.set(sl.percentileBp, ser);
        ser.points.push({ x: b.periodEndUs ?? 0, y: (os[i]?.valueUs ?? 0) / 1000, note: b.name });
        if (sl.enforce && !hlines.some((l) => l.y === sl.thresholdUs / 1000)) hlines.push({ label: `SLA p${pct(sl.percentileBp)} < ${fmtMs(sl.thresholdUs)}`, y: sl.thresholdUs / 1000, cls: 'bound' });
      });
    });
    figs.push(
      chart({
        title: 'Proven latency percentiles per period',
        desc: `p50, p95 and p99 of ${sorted.length} periods with the SLA bounds.`,
        xLabel: 'period end',
        yLabel: 'latency (ms)',
        xFormat: (x) => fmtDate(x).slice(5),
        yFormat: (y) => `${y.toFixed(0)}`,
        series: [...bySlot.values()],
        hlines,
      }),
    );
  }
  return figs;
}

function scalingChart(bs: Entry[]): HTMLElement {
  const series: Series[] = [];
  const hlines: HLine[] = [];
  for (const kind of ['memory', 'cpu'] as const) {
    const of = bs.filter((b) => b.claim!.kind === kind);
    if (!of.length) continue;
    series.push({
      label: `${kind} ${kind === 'memory' ? 'usage (percentile of totals)' : 'mean load band'}; filled = scale out`,
      cls: kind === 'memory' ? 'c0' : 'c1',
      line: true,
      points: of.map((b) => {
        const p = b.claim!.params;
        const o = b.claim!.outputs;
        const y = kind === 'memory' ? Number(o.usageBp) / 100 : Number(o.band) * 10;
        return { x: b.periodEndUs ?? 0, y, filled: o.scaleOut === true, note: `${o.scaleOut ? 'scale out' : 'no scale-out'}, threshold ${pct(Number(p.thresholdBp))} %${kind === 'memory' ? `, p${pct(Number(p.percentileBp))}` : `, band ${y}–${y + 10} %`} (${b.name})` };
      }),
    });
    for (const t of new Set(of.map((b) => Number(b.claim!.params.thresholdBp)))) hlines.push({ label: `${kind} threshold ${pct(t)} %`, y: t / 100, cls: 'bound' });
  }
  return chart({
    title: 'Scaling decisions against their thresholds',
    desc: `${bs.length} proven scaling decision${bs.length === 1 ? '' : 's'}: usage against the scale-out threshold; a filled point is a decision to scale out.`,
    xLabel: 'period end',
    yLabel: 'usage (%)',
    xFormat: (x) => fmtDate(x).slice(5),
    yFormat: (y) => `${y.toFixed(0)} %`,
    series,
    hlines,
    yMin: 0,
    yMax: 100,
  });
}

function gatewayChart(bs: Entry[]): HTMLElement {
  const hlines: HLine[] = [];
  for (const t of new Set(bs.map((b) => Number(b.claim!.params.minAvailabilityBp)))) hlines.push({ label: `min availability ${pct(t)} %`, y: t / 100, cls: 'bound' });
  return chart({
    title: 'Gateway health over time',
    desc: `Proven backend health of ${bs.length} period${bs.length === 1 ? '' : 's'} against the availability bound; a filled point is a compliant period.`,
    xLabel: 'period end',
    yLabel: 'health (%)',
    xFormat: (x) => fmtDate(x).slice(5),
    yFormat: (y) => `${y.toFixed(1)} %`,
    series: [
      {
        label: 'health (passed checks); filled = compliant',
        cls: 'c2',
        line: true,
        points: bs.map((b) => ({ x: b.periodEndUs ?? 0, y: Number(b.claim!.outputs.healthBp) / 100, filled: b.claim!.outputs.compliant === true, note: `${b.claim!.outputs.n} requests, ${b.claim!.outputs.nChecks} checks (${b.name})` })),
      },
    ],
    hlines,
    yMin: 0,
    yMax: 100,
  });
}
