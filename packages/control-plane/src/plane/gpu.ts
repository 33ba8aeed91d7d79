/**
 * @module plane/gpu
 * GPU telemetry through `nvidia-smi`, degrading cleanly: on a node without it (or without a
 * GPU, or with a driver that fails) the report says `available: false` and why, and GPU
 * rules simply take no decision (counted in the metrics), never an error.
 */
import { execFile } from 'node:child_process';
import type { GpuReport } from './report.js';

const QUERY = ['--query-gpu=utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'];

/** Parses `nvidia-smi --query-gpu=utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(text: string): { utilBp: number; memUsedBytes: number; memTotalBytes: number }[] {
  const rows = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return rows.map((l, i) => {
    const f = l.split(',').map((x) => x.trim());
    const n = f.map(Number);
    if (f.length !== 3 || n.some((x) => !Number.isFinite(x) || x < 0)) throw new Error(`nvidia-smi line ${i + 1} is not "utilization, memory.used, memory.total"`);
    return { utilBp: Math.min(10_000, Math.round(n[0]! * 100)), memUsedBytes: Math.round(n[1]! * 1024 * 1024), memTotalBytes: Math.round(n[2]! * 1024 * 1024) };
  });
}

/** Samples the GPUs `samples` times, `intervalMs` apart (default once). */
export async function collectGpu(opts: { samples?: number; intervalMs?: number; binary?: string; env?: NodeJS.ProcessEnv } = {}): Promise<GpuReport> {
  const bin = opts.binary ?? 'nvidia-smi';
  const out: GpuReport['samples'] = [];
  for (let i = 0; i < (opts.samples ?? 1); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
    const r = await new Promise<{ ok: true; text: string } | { ok: false; reason: string }>((resolve) => {
      try {
        execFile(bin, QUERY, { timeout: 5000, maxBuffer: 64 * 1024, ...(opts.env ? { env: opts.env } : {}) }, (err, stdout) => {
          if (err) {
            const code = (err as NodeJS.ErrnoException).code;
            resolve({ ok: false, reason: code === 'ENOENT' ? `${bin.slice(0, 100)} not found (no NVIDIA driver on this node)` : `${bin.slice(0, 100)} failed: ${err.message.split('\n')[0]!.slice(0, 180)}` });
          } else resolve({ ok: true, text: stdout });
        });
      } catch (e) {
        resolve({ ok: false, reason: `${bin.slice(0, 100)} cannot be run: ${(e as Error).message.slice(0, 180)}` });
      }
    });
    if (!r.ok) return { available: false, code: 'CP_GPU_UNAVAILABLE', reason: r.reason.slice(0, 300), samples: [] };
    try {
      const rows = parseNvidiaSmi(r.text);
      if (rows.length === 0) return { available: false, code: 'CP_GPU_UNAVAILABLE', reason: `${bin} lists no GPU`, samples: [] };
      out.push(rows);
    } catch (e) {
      return { available: false, code: 'CP_GPU_UNAVAILABLE', reason: (e as Error).message.slice(0, 300), samples: [] };
    }
  }
  return { available: true, samples: out };
}
