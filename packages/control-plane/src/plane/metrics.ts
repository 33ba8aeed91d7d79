/**
 * @module plane/metrics
 * A small Prometheus text-format (0.0.4) registry: counters, gauges and summaries with
 * p50/p99 over the last 1000 observations. Label values are escaped as the format requires.
 */

type Labels = Record<string, string>;

const HELP: Record<string, [type: 'counter' | 'gauge' | 'summary', help: string]> = {
  veritee_cp_decisions_total: ['counter', 'Scaling decisions taken, by direction and metric.'],
  veritee_cp_decisions: ['gauge', 'Decisions in the log by enactment state, proof state and flag.'],
  veritee_cp_decisions_flagged_total: ['counter', 'Decisions flagged: proof-failed, proof-late, unprovable, enact-denied.'],
  veritee_cp_proofs_verified_total: ['counter', 'Decision proofs verified by the control plane.'],
  veritee_cp_proof_failures_total: ['counter', 'Decision proofs that failed or did not verify.'],
  veritee_cp_proofs_late_total: ['counter', 'Decisions without a verified proof at their deadline.'],
  veritee_cp_proof_lag_ms: ['summary', 'Decision to verified bundle, milliseconds.'],
  veritee_cp_decide_to_enact_ms: ['summary', 'Telemetry received to decision enacted, milliseconds.'],
  veritee_cp_proof_queue_depth: ['gauge', 'Proof jobs not yet finished.'],
  veritee_cp_enact_failures_total: ['counter', 'Failed enactments by error code (denied: not retried; unavailable: retried).'],
  veritee_cp_queue_errors_total: ['counter', 'Proof jobs that could not be queued.'],
  veritee_cp_telemetry_reports_total: ['counter', 'Telemetry reports evaluated.'],
  veritee_cp_telemetry_refused_total: ['counter', 'Telemetry reports refused, by error code.'],
  veritee_cp_agent_refusals_total: ['counter', 'Agent attestations refused, by error code.'],
  veritee_cp_agent_attestations_total: ['counter', 'Agent attestations accepted.'],
  veritee_cp_agents_attested: ['gauge', 'Agents whose attestation has not lapsed.'],
  veritee_cp_workloads: ['gauge', 'Registered workloads.'],
  veritee_cp_gpu_unavailable_total: ['counter', 'GPU rules evaluated on a report without GPU telemetry (no nvidia-smi).'],
};

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const key = (l: Labels) =>
  Object.keys(l)
    .sort()
    .map((k) => `${k}="${esc(l[k]!)}"`)
    .join(',');

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export class Metrics {
  private readonly values = new Map<string, Map<string, number>>();
  private readonly samples = new Map<string, number[]>();

  inc(name: string, labels: Labels, by = 1): void {
    this.add(name, labels, by);
  }

  add(name: string, labels: Labels, by: number): void {
    const m = this.values.get(name) ?? new Map<string, number>();
    this.values.set(name, m);
    const k = key(labels);
    m.set(k, (m.get(k) ?? 0) + by);
  }

  set(name: string, labels: Labels, v: number): void {
    const m = this.values.get(name) ?? new Map<string, number>();
    this.values.set(name, m);
    m.set(key(labels), v);
  }

  get(name: string, labels: Labels = {}): number {
    return this.values.get(name)?.get(key(labels)) ?? 0;
  }

  observe(name: string, v: number): void {
    const s = this.samples.get(name) ?? [];
    this.samples.set(name, s);
    s.push(v);
    if (s.length > 1000) s.shift();
  }

  observations(name: string): readonly number[] {
    return this.samples.get(name) ?? [];
  }

  /** The exposition text of this registry, with `extra`'s values overriding same-named ones. */
  render(extra?: Metrics): string {
    const names = new Set([...this.values.keys(), ...this.samples.keys(), ...(extra ? [...extra.values.keys()] : [])]);
    const out: string[] = [];
    for (const name of [...names].sort()) {
      const [type, help] = HELP[name] ?? ['gauge', name];
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      if (type === 'summary') {
        const s = this.samples.get(name) ?? [];
        for (const q of [0.5, 0.99]) out.push(`${name}{quantile="${q}"} ${s.length ? quantile(s, q) : 'NaN'}`);
        out.push(`${name}_sum ${s.reduce((a, b) => a + b, 0)}`, `${name}_count ${s.length}`);
        continue;
      }
      const m = extra?.values.get(name) ?? this.values.get(name)!;
      for (const [k, v] of m) out.push(`${name}${k ? `{${k}}` : ''} ${v}`);
    }
    return out.join('\n') + '\n';
  }
}
