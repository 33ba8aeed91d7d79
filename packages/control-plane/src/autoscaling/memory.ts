/**
 * @module autoscaling/memory
 * Turns a measured telemetry window into the inputs of the memory-autoscaling
 * claim (the shapes of @veritee/zk's MemoryParams / MemoryData): usage per
 * sample and process in KiB, swap pages (in + out) and page faults per sample,
 * and the memory allocated to the workload (the machine's MemTotal by default).
 */
import { VeriteeError } from '@veritee/core';
import type { TelemetryWindow } from '../telemetry/window.js';

export interface MemoryClaimInput {
  params: { periodStartUs: number; periodEndUs: number; allocatedKiB: number; percentileBp: number; thresholdBp: number };
  data: { usageKiB: number[][]; swapPages: number[]; pageFaults: number[] };
}

export function memoryClaimInput(
  w: TelemetryWindow,
  opts: { allocatedKiB?: number; percentileBp?: number; thresholdBp?: number } = {},
): MemoryClaimInput {
  if (w.samples.length === 0) throw new VeriteeError('TELEMETRY_WINDOW_INVALID', 'the telemetry window has no samples');
  const nProc = w.samples[0]!.processes.length;
  if (nProc === 0) throw new VeriteeError('TELEMETRY_WINDOW_INVALID', 'the telemetry window has no processes');
  const usageKiB = w.samples.map((s, i) => {
    if (s.processes.length !== nProc) throw new VeriteeError('TELEMETRY_WINDOW_INVALID', `sample ${i} has ${s.processes.length} processes, expected ${nProc}`);
    return s.processes.map((p) => Math.floor(p.rssBytes / 1024));
  });
  return {
    params: {
      // The period is the window, widened to whole microseconds so that end > start.
      periodStartUs: w.startedAtUs,
      periodEndUs: Math.max(w.endedAtUs, w.startedAtUs + 1),
      allocatedKiB: opts.allocatedKiB ?? Math.floor(w.memTotalBytes / 1024),
      percentileBp: opts.percentileBp ?? 9000,
      thresholdBp: opts.thresholdBp ?? 8500,
    },
    data: {
      usageKiB,
      swapPages: w.samples.map((s) => s.swapInPages + s.swapOutPages),
      pageFaults: w.samples.map((s) => s.pageFaults),
    },
  };
}
