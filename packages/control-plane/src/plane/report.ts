/**
 * @module plane/report
 * The telemetry report an agent sends to the control plane, and how one report turns into
 * the inputs of the claims that prove decisions taken on it.
 *
 * A report carries a telemetry window from the collector (the shapes of
 * telemetry/window.ts), optionally the arrival offsets of the requests the attesting proxy
 * counted over a period (request volume), and GPU samples from `nvidia-smi` (absent when
 * the node has no GPU: `gpu.available = false` with the reason).
 *
 * Every malformed report is refused with CP_TELEMETRY_INVALID naming the field.
 */
import { z } from 'zod';
import { VeriteeError } from '@veritee/core';
import { claimDefinition } from '@veritee/zk/verify';
import { parseTelemetryWindow, type TelemetryWindow } from '../telemetry/window.js';
import { memoryClaimInput } from '../autoscaling/memory.js';
import { CLAIM_OF, type Metric } from './workload.js';

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const GpuReportSchema = z.strictObject({
  available: z.boolean(),
  reason: z.string().max(300).optional(),
  /** Why it is unavailable, as a stable code (CP_GPU_UNAVAILABLE). */
  code: z.literal('CP_GPU_UNAVAILABLE').optional(),
  /** One row per sample and GPU: utilisation in basis points, memory in bytes. */
  samples: z.array(z.array(z.strictObject({ utilBp: u.max(10_000), memUsedBytes: u, memTotalBytes: u })).max(64)).max(4096).default([]),
});
export type GpuReport = z.output<typeof GpuReportSchema>;

export const TelemetryReportSchema = z.strictObject({
  version: z.literal(1),
  workload: z.string().min(1).max(63),
  node: z.string().min(1).max(253),
  /** Strictly increasing per agent (replayed reports are refused). */
  seq: u,
  window: z.unknown(),
  requests: z
    .strictObject({
      periodStartUs: u,
      periodEndUs: u,
      /** Arrival offsets, µs from the period start. */
      arrivalsUs: z.array(u).max(65_536),
    })
    .optional(),
  /** The agent could not read the proxy's request counters (volume rules then take no decision). */
  requestsUnavailable: z.strictObject({ code: z.literal('CP_REQUESTS_UNAVAILABLE'), reason: z.string().max(300) }).optional(),
  gpu: GpuReportSchema.optional(),
});

export type TelemetryReport = Omit<z.output<typeof TelemetryReportSchema>, 'window'> & { window: TelemetryWindow };

/** Parses a report (already JSON); CP_TELEMETRY_INVALID on any problem. */
export function parseTelemetryReport(input: unknown): TelemetryReport {
  const r = TelemetryReportSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new VeriteeError('CP_TELEMETRY_INVALID', `telemetry report ${i.path.join('.') || '(document)'}: ${i.message}`);
  }
  let window: TelemetryWindow;
  try {
    window = parseTelemetryWindow(r.data.window, 'telemetry report window');
  } catch (e) {
    throw new VeriteeError('CP_TELEMETRY_INVALID', (e as Error).message);
  }
  if (window.samples.length === 0) throw new VeriteeError('CP_TELEMETRY_INVALID', 'telemetry report window: no samples');
  const q = r.data.requests;
  if (q) {
    if (q.periodEndUs <= q.periodStartUs) throw new VeriteeError('CP_TELEMETRY_INVALID', 'telemetry report requests: the period ends before it starts');
    const len = q.periodEndUs - q.periodStartUs;
    const i = q.arrivalsUs.findIndex((t) => t >= len);
    if (i >= 0) throw new VeriteeError('CP_TELEMETRY_INVALID', `telemetry report requests.arrivalsUs[${i}]: outside the ${len} µs period`);
  }
  return { ...r.data, window };
}

/** The input of one claim evaluation (what a proof job proves). */
export interface ClaimInput {
  kind: string;
  params: Record<string, unknown>;
  data: unknown;
}

/** One metric measured on a report against one threshold. */
export interface Measurement {
  metric: Metric;
  /** The measured value: basis points of capacity, or requests per minute (volume). */
  value: number;
  /** True when value > threshold (the claims' strict comparison). */
  above: boolean;
  /** What proves it (absent for gpu). */
  claim?: ClaimInput;
  /** Why nothing could be measured (no GPU, no requests, no mounts). */
  unavailable?: string;
  /** With `unavailable`: its stable code (CP_GPU_UNAVAILABLE, CP_REQUESTS_UNAVAILABLE, CP_TELEMETRY_INVALID). */
  code?: 'CP_GPU_UNAVAILABLE' | 'CP_REQUESTS_UNAVAILABLE' | 'CP_TELEMETRY_INVALID';
}

function nearestRank(values: number[], percentileBp: number): number {
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((percentileBp * s.length) / 10_000));
  return s[Math.min(rank, s.length) - 1]!;
}

/** Runs the claim's own reference computation (the circuit agrees with it, or proving fails). */
function claimScaleOut(c: ClaimInput): boolean {
  const def = claimDefinition(c.kind);
  if (!def) throw new VeriteeError('INTERNAL', `claim ${c.kind} is not registered`);
  const data = def.normalize ? def.normalize(c.data) : c.data;
  try {
    def.check(c.params, data);
  } catch (e) {
    throw new VeriteeError('CP_TELEMETRY_INVALID', `telemetry report does not fit the ${c.kind} claim: ${(e as Error).message}`);
  }
  return Boolean((def.compute(c.params, data) as { scaleOut: boolean }).scaleOut);
}

/** Measures `metric` on a report against `thresholdBp` (bp, or requests per minute for volume). */
export function measure(report: TelemetryReport, metric: Metric, threshold: number): Measurement {
  const w = report.window;
  const period = { periodStartUs: w.startedAtUs, periodEndUs: Math.max(w.endedAtUs, w.startedAtUs + 1) };
  switch (metric) {
    case 'memory': {
      const ci = memoryClaimInput(w, { thresholdBp: threshold });
      const totals = ci.data.usageKiB.map((r) => r.reduce((a, b) => a + b, 0));
      const value = Math.floor((nearestRank(totals, ci.params.percentileBp) * 10_000) / ci.params.allocatedKiB);
      const claim = { kind: 'memory', params: { ...ci.params }, data: ci.data };
      return { metric, value, above: claimScaleOut(claim), claim };
    }
    case 'cpu': {
      const nP = w.samples[0]!.processes.length;
      const customer = w.samples[0]!.processes.map((p) => p.owner === 'customer');
      const usageMilli = w.samples.map((s) => s.processes.map((p) => p.cpuPermille * w.cpuCount));
      const capacityMilli = w.cpuCount * 1000;
      const params = { ...period, capacityMilli, percentileBp: 9500, thresholdBp: threshold, platformLimitBp: 10_000 };
      if (nP === 0) return { metric, value: 0, above: false, unavailable: 'no processes in the window', code: 'CP_TELEMETRY_INVALID' };
      const perSample = usageMilli.map((row) => row.reduce((a, v, p) => a + (customer[p] ? v : 0), 0));
      const value = Math.floor((nearestRank(perSample, params.percentileBp) * 10_000) / capacityMilli);
      const claim = { kind: 'cpu', params, data: { customer, usageMilli } };
      return { metric, value, above: claimScaleOut(claim), claim };
    }
    case 'disk': {
      if (w.mounts.length === 0) return { metric, value: 0, above: false, unavailable: 'no mounts in the window', code: 'CP_TELEMETRY_INVALID' };
      const nS = w.samples.length;
      const mounts = w.mounts.map((m) => ({
        usedKiB: Math.floor(m.bytesUsed / 1024),
        totalKiB: Math.floor((m.bytesUsed + m.bytesAvailable) / 1024),
        inodesUsed: m.inodesUsed,
        inodesTotal: m.inodesTotal,
        queueDepth: m.queueDepthSamples.length === nS ? m.queueDepthSamples.map((q) => Math.min(65_535, Math.round(q))) : Array.from({ length: nS }, () => 0),
      }));
      const value = Math.max(...mounts.map((m) => (m.totalKiB === 0 ? 0 : Math.floor((m.usedKiB * 10_000) / m.totalKiB))));
      const params = { ...period, usageThresholdBp: threshold, inodeThresholdBp: 10_000, queueThreshold: 65_535 };
      const claim = { kind: 'disk', params, data: { mounts } };
      return { metric, value, above: claimScaleOut(claim), claim };
    }
    case 'volume': {
      const q = report.requests;
      if (!q) return { metric, value: 0, above: false, unavailable: report.requestsUnavailable?.reason ?? 'no request counts in the report', code: 'CP_REQUESTS_UNAVAILABLE' };
      // The volume claim proves n >= 1 requests: an idle period cannot be proven either way.
      if (q.arrivalsUs.length === 0) return { metric, value: 0, above: false, unavailable: 'no request arrived in the period (the volume claim proves at least one)', code: 'CP_REQUESTS_UNAVAILABLE' };
      const params = { periodStartUs: q.periodStartUs, periodEndUs: q.periodEndUs, thresholdPerMin: threshold };
      const value = Math.floor((q.arrivalsUs.length * 60_000_000) / (q.periodEndUs - q.periodStartUs));
      const claim = { kind: 'volume', params, data: { times: q.arrivalsUs } };
      return { metric, value, above: claimScaleOut(claim), claim };
    }
    case 'gpu': {
      const g = report.gpu;
      if (!g || !g.available || g.samples.length === 0) return { metric, value: 0, above: false, unavailable: g?.reason ?? 'no GPU telemetry in the report', code: 'CP_GPU_UNAVAILABLE' };
      const per = g.samples.map((row) => (row.length ? Math.max(...row.map((x) => x.utilBp)) : 0));
      const value = Math.floor(per.reduce((a, b) => a + b, 0) / per.length);
      return { metric, value, above: value > threshold };
    }
  }
}

export { CLAIM_OF };
