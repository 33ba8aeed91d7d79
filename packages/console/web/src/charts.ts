/**
 * Inline SVG plots, drawn here (no chart library): each is an <svg role="img">
 * with a title and description, and its numbers are also given as a table.
 */
import { h, s, uid } from './dom.js';

export interface Series {
  label: string;
  /** CSS class for colour (see style.css: .c0 … .c3, .bound). */
  cls: string;
  points: { x: number; y: number; filled?: boolean; note?: string }[];
  line?: boolean;
}

export interface HLine {
  label: string;
  y: number;
  cls: string;
}

export interface ChartSpec {
  title: string;
  desc: string;
  xLabel: string;
  yLabel: string;
  xFormat: (x: number) => string;
  yFormat: (y: number) => string;
  series: Series[];
  hlines?: HLine[];
  /** Vertical bound lines (e.g. SLA thresholds on a latency axis). */
  vlines?: { label: string; x: number; cls: string }[];
  yMin?: number;
  yMax?: number;
  xMin?: number;
  xMax?: number;
  logX?: boolean;
}

const W = 640;
const H = 260;
const M = { l: 64, r: 16, t: 16, b: 44 };

function ticks(min: number, max: number, n = 5): number[] {
  if (max <= min) return [min];
  const step0 = (max - min) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((k) => k >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(v);
  return out;
}

export function chart(spec: ChartSpec): HTMLElement {
  const all = spec.series.flatMap((x) => x.points);
  const xs = [...all.map((p) => p.x), ...(spec.vlines ?? []).map((v) => v.x)];
  const ys = [...all.map((p) => p.y), ...(spec.hlines ?? []).map((l) => l.y)];
  let xMin = spec.xMin ?? Math.min(...xs);
  let xMax = spec.xMax ?? Math.max(...xs);
  if (spec.logX) {
    // A margin on both sides, so points and bound lines at the ends stay readable.
    xMin = spec.xMin ?? xMin / 1.6;
    xMax = spec.xMax ?? xMax * 1.6;
  } else if (xMin === xMax) {
    xMin -= 1;
    xMax += 1;
  }
  const yMin = spec.yMin ?? Math.min(0, ...ys);
  let yMax = spec.yMax ?? Math.max(...ys) * 1.1;
  if (yMax <= yMin) yMax = yMin + 1;
  const lx = (v: number) => (spec.logX ? Math.log10(Math.max(v, 1e-9)) : v);
  const X = (v: number) => M.l + ((lx(v) - lx(xMin)) / (lx(xMax) - lx(xMin) || 1)) * (W - M.l - M.r);
  const Y = (v: number) => H - M.b - ((v - yMin) / (yMax - yMin)) * (H - M.t - M.b);
  const titleId = uid('t');
  const descId = uid('d');
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, class: 'chart', preserveAspectRatio: 'xMidYMid meet' }, s('title', { id: titleId }, spec.title), s('desc', { id: descId }, spec.desc));
  // Axes and grid.
  for (const v of ticks(yMin, yMax)) {
    svg.append(s('line', { x1: M.l, x2: W - M.r, y1: Y(v), y2: Y(v), class: 'grid' }), s('text', { x: M.l - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'tick' }, spec.yFormat(v)));
  }
  const xt = spec.logX ? [1, 10, 100, 1000, 10000, 100000, 1e6].flatMap((k) => [k, 2 * k, 5 * k]).filter((v) => v >= xMin && v <= xMax) : ticks(xMin, xMax, 4);
  for (const v of xt) svg.append(s('text', { x: X(v), y: H - M.b + 16, 'text-anchor': 'middle', class: 'tick' }, spec.xFormat(v)));
  svg.append(
    s('line', { x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b, class: 'axis' }),
    s('line', { x1: M.l, x2: M.l, y1: M.t, y2: H - M.b, class: 'axis' }),
    s('text', { x: (M.l + W - M.r) / 2, y: H - 6, 'text-anchor': 'middle', class: 'label' }, spec.xLabel),
    s('text', { x: 14, y: (M.t + H - M.b) / 2, 'text-anchor': 'middle', class: 'label', transform: `rotate(-90 14 ${(M.t + H - M.b) / 2})` }, spec.yLabel),
  );
  for (const l of spec.hlines ?? []) {
    svg.append(s('line', { x1: M.l, x2: W - M.r, y1: Y(l.y), y2: Y(l.y), class: `hl ${l.cls}` }), s('text', { x: W - M.r - 4, y: Y(l.y) - 4, 'text-anchor': 'end', class: `note ${l.cls}` }, l.label));
  }
  for (const v of spec.vlines ?? []) {
    svg.append(s('line', { x1: X(v.x), x2: X(v.x), y1: M.t, y2: H - M.b, class: `hl ${v.cls}` }), s('text', X(v.x) > W * 0.7 ? { x: X(v.x) - 4, y: M.t + 12, 'text-anchor': 'end', class: `note ${v.cls}` } : { x: X(v.x) + 4, y: M.t + 12, class: `note ${v.cls}` }, v.label));
  }
  for (const sr of spec.series) {
    const pts = [...sr.points].sort((a, b) => a.x - b.x);
    if (sr.line && pts.length > 1) svg.append(s('polyline', { points: pts.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' '), class: `ln ${sr.cls}` }));
    for (const p of pts) {
      svg.append(s('circle', { cx: X(p.x).toFixed(1), cy: Y(p.y).toFixed(1), r: 5, class: `pt ${sr.cls}${p.filled === false ? ' hollow' : ''}` }, s('title', {}, `${sr.label}: ${spec.yFormat(p.y)} at ${spec.xFormat(p.x)}${p.note ? ` (${p.note})` : ''}`)));
    }
  }
  const legend = h('ul', { class: 'legend' }, ...spec.series.map((sr) => h('li', {}, h('span', { class: `sw ${sr.cls}`, 'aria-hidden': 'true' }), sr.label)));
  const table = h(
    'details',
    {},
    h('summary', {}, 'The numbers as a table'),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Series'), h('th', { scope: 'col' }, spec.xLabel), h('th', { scope: 'col' }, spec.yLabel), h('th', { scope: 'col' }, 'Note'))),
      h('tbody', {}, ...spec.series.flatMap((sr) => sr.points.map((p) => h('tr', {}, h('td', {}, sr.label), h('td', {}, spec.xFormat(p.x)), h('td', {}, spec.yFormat(p.y)), h('td', {}, p.note ?? ''))))),
    ),
  );
  return h('figure', { class: 'figure' }, svg, h('figcaption', {}, spec.title), legend, table);
}
