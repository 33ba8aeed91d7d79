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
export async function collectGpu(opts: { samples?: number; intervalMs?: number; binary?: string } = {}): Promise<GpuReport> {
  const bin = opts.binary ?? 'nvidia-smi';
  const out: GpuReport['samples'] = [];
  for (let i = 0; i < (opts.samples ?? 1); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
    const r = await new Promise<{ ok: true; text: string } | { ok: false; reason: string }>((resolve) => {
      execFile(bin, QUERY, { timeout: 5000, maxBuffer: 64 * 1024 }, (err, stdout) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          resolve({ ok: false, reason: code === 'ENOENT' ? `${bin} not found (no NVIDIA driver on this node)` : `${bin} failed: ${err.message.split('\n')[0]!.slice(0, 200)}` });
        } else resolve({ ok: true, text: stdout });
      });
    });
    if (!r.ok) return { available: false, reason: r.reason, samples: [] };
    try {
      const rows = parseNvidiaSmi(r.text);
      if (rows.length === 0) return { available: false, reason: `${bin} lists no GPU`, samples: [] };
      out.push(rows);
    } catch (e) {
      return { available: false, reason: (e as Error).message, samples: [] };
    }
  }
  return { available: true, samples: out };
}
