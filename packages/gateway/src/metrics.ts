/**
 * @module metrics
 * Prometheus text exposition (format 0.0.4) of the gateway's counters: requests by route
 * group and status class, refusals by reason, backends (up, ejected, outstanding), records
 * held, spool size and proofs. Labels are configuration names only (groups, pools,
 * backend positions): never a path, address or subject.
 */
import type { Gateway } from './gateway.js';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(g: Gateway): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, rows: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) {
      const l = Object.entries(labels);
      out.push(`${name}${l.length ? `{${l.map(([k, x]) => `${k}="${esc(x)}"`).join(',')}}` : ''} ${v}`);
    }
  };
  metric(
    'veritee_gateway_requests_total',
    'counter',
    'Requests finished, by route group and status class.',
    [...g.counters.requests].map(([k, v]) => {
      const [group, cls] = k.split('|');
      return [{ group: group || 'none', class: cls! }, v];
    }),
  );
  metric('veritee_gateway_requests_in_flight', 'gauge', 'Requests being served.', [[{}, g.requestsInFlight]]);
  metric('veritee_gateway_refused_total', 'counter', 'Requests refused by the gateway, by reason.', [
    [{ reason: 'rate_limited' }, g.counters.rateLimited],
    [{ reason: 'unauthenticated' }, g.counters.authFailures],
    [{ reason: 'overloaded' }, g.counters.overloaded],
    [{ reason: 'no_backend' }, g.counters.noBackend],
  ]);
  metric('veritee_gateway_connections_dropped_total', 'counter', 'Connections refused at the connection limit.', [[{}, g.counters.droppedConnections]]);
  const now = Date.now();
  const backends: [Record<string, string>, number][] = [];
  const ejected: [Record<string, string>, number][] = [];
  const outstanding: [Record<string, string>, number][] = [];
  const ejections: [Record<string, string>, number][] = [];
  for (const [name, p] of g.pools) {
    for (const b of p.backends) {
      const l = { pool: name, backend: String(b.index) };
      backends.push([l, b.up ? 1 : 0]);
      ejected.push([l, b.ejectedUntil > now ? 1 : 0]);
      outstanding.push([l, b.outstanding]);
      ejections.push([l, b.ejections]);
    }
  }
  metric('veritee_gateway_backend_up', 'gauge', 'Active health of each backend (1 up).', backends);
  metric('veritee_gateway_backend_ejected', 'gauge', 'Backends passively ejected now (1 ejected).', ejected);
  metric('veritee_gateway_backend_outstanding', 'gauge', 'Requests outstanding per backend.', outstanding);
  metric('veritee_gateway_backend_ejections_total', 'counter', 'Passive ejections per backend.', ejections);
  metric('veritee_gateway_rate_limit_clients', 'gauge', 'Rate-limit buckets held.', [[{}, g.limiter.size]]);
  metric('veritee_gateway_records_in_memory', 'gauge', 'Request records held in memory.', [[{}, g.store.inMemory]]);
  metric('veritee_gateway_records_late_total', 'counter', 'Records that finished after their period was sealed (not proven).', [[{}, g.store.late]]);
  metric('veritee_gateway_spool_bytes', 'gauge', 'Size of the encrypted record spool.', [[{}, g.store.spoolBytes]]);
  const s = g.scheduler.stats;
  metric('veritee_gateway_proofs_total', 'counter', 'SLA proofs made and published.', [[{}, s.proofs]]);
  metric('veritee_gateway_proofs_failed_total', 'counter', 'SLA proofs that failed.', [[{}, s.failed]]);
  metric('veritee_gateway_periods_skipped_total', 'counter', 'Periods not proven because the prover was behind.', [[{}, s.skipped]]);
  metric('veritee_gateway_prove_seconds_total', 'counter', 'Wall time spent proving.', [[{}, s.proveMs / 1000]]);
  if (g.kmsCertificate) {
    const k = g.kmsCertificate;
    metric('veritee_gateway_kms_certificate_renewals_total', 'counter', 'TLS certificate renewals at the KMS.', [[{}, k.stats.renewals]]);
    metric('veritee_gateway_kms_certificate_renewal_failures_total', 'counter', 'Failed TLS certificate renewal attempts (the current certificate stays).', [[{}, k.stats.failures]]);
    metric('veritee_gateway_kms_certificate_expiry_seconds', 'gauge', 'Seconds until the current TLS certificate expires.', [[{}, Math.round((k.current.notAfterMs - now) / 1000)]]);
  }
  if (g.kmsClients) {
    const c = g.kmsClients.stats;
    metric('veritee_gateway_kms_client_checks_total', 'counter', 'KMS client certificates checked, by outcome.', [
      [{ outcome: 'accepted' }, c.checks - c.refused - c.unavailable],
      [{ outcome: 'refused' }, c.refused],
      [{ outcome: 'kms_unavailable' }, c.unavailable],
    ]);
    metric('veritee_gateway_kms_status_lookups_total', 'counter', 'Certificate status lookups sent to the KMS.', [[{}, c.lookups]]);
  }
  if (g.publisher) {
    const p = g.publisher.stats;
    metric('veritee_gateway_bundles_published_total', 'counter', 'Bundles posted to the control plane, by outcome.', [
      [{ outcome: 'stored' }, p.published],
      [{ outcome: 'duplicate' }, p.duplicates],
      [{ outcome: 'rejected' }, p.rejected],
      [{ outcome: 'dropped' }, p.dropped],
    ]);
    metric('veritee_gateway_bundles_pending', 'gauge', 'Bundles waiting for the control plane.', [[{}, g.publisher.pending]]);
  }
  metric('veritee_gateway_reloads_total', 'counter', 'Configuration reloads applied.', [[{}, g.counters.reloads]]);
  return out.join('\n') + '\n';
}
