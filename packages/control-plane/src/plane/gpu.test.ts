/**
 * GPU telemetry degrades cleanly: the collector runs `nvidia-smi` through PATH; with a PATH
 * that lacks it (this machine has no GPU), with one that fails like a driver that cannot be
 * reached, or with one that prints garbage, the report says `available: false` with the code
 * CP_GPU_UNAVAILABLE, the control plane reports the GPU rule unavailable with that code and
 * takes no decision on it, and every other rule still decides. A working `nvidia-smi` (a real
 * executable on PATH printing what the driver prints) is read.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectGpu } from './gpu.js';
import { parseTelemetryReport } from './report.js';
import { openEmbeddedLog } from './db.js';
import { syntheticWindow, testPlane } from './testing.js';

let dir: string;
const bins: Record<string, string> = {};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'veritee-gpu-'));
  const make = (name: string, script: string) => {
    const d = mkdtempSync(join(dir, `${name}-`));
    writeFileSync(join(d, 'nvidia-smi'), `#!/bin/sh\n${script}\n`);
    chmodSync(join(d, 'nvidia-smi'), 0o755);
    bins[name] = d;
  };
  make('working', 'echo "87, 1024, 81920"; echo "3, 0, 81920"');
  make('driver-down', 'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver." >&2; exit 9');
  make('garbage', 'echo "[N/A], [N/A], [N/A]"');
  make('no-gpu', 'exit 0');
  bins['empty'] = mkdtempSync(join(dir, 'empty-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a PATH without nvidia-smi: unavailable with CP_GPU_UNAVAILABLE, not an error', async () => {
  const r = await collectGpu({ env: { PATH: bins['empty']! } });
  assert.deepEqual(r, { available: false, code: 'CP_GPU_UNAVAILABLE', reason: 'nvidia-smi not found (no NVIDIA driver on this node)', samples: [] });
});

test('nvidia-smi on PATH is read; a failing driver, garbage or no GPU are unavailable with the code', async () => {
  const ok = await collectGpu({ env: { PATH: bins['working']! }, samples: 2, intervalMs: 10 });
  assert.equal(ok.available, true);
  assert.equal(ok.code, undefined);
  assert.equal(ok.samples.length, 2);
  assert.deepEqual(ok.samples[0]!.map((g) => g.utilBp), [8700, 300]);
  for (const [name, why] of [
    ['driver-down', /nvidia-smi failed: Command failed/],
    ['garbage', /line 1 is not "utilization, memory\.used, memory\.total"/],
    ['no-gpu', /lists no GPU/],
  ] as const) {
    const r = await collectGpu({ env: { PATH: bins[name]! } });
    assert.equal(r.available, false, name);
    assert.equal(r.code, 'CP_GPU_UNAVAILABLE', name);
    assert.match(r.reason!, why, name);
    assert.ok(r.reason!.length <= 300);
  }
});

test('the control plane reports a GPU rule unavailable with its code and still decides on the other rules', async () => {
  const tp = await testPlane(await openEmbeddedLog());
  try {
    await tp.cp.addWorkload({
      name: 'web',
      minReplicas: 1,
      maxReplicas: 3,
      target: { kind: 'process', command: ['sleep', '300'] },
      rules: [
        { metric: 'gpu', scaleOutAbove: 8000 },
        { metric: 'memory', scaleOutAbove: 8500 },
      ],
      cooldown: { outMs: 0, inMs: 0 },
    });
    const gpu = await collectGpu({ env: { PATH: bins['empty']! } });
    const calm = await tp.cp.ingest(parseTelemetryReport({ version: 1, workload: 'web', node: 'n', seq: 1, window: syntheticWindow({ memBp: 5000 }), gpu }));
    assert.equal(calm.decision, undefined);
    assert.match(calm.note!, /no rule crossed/);
    const g = calm.measurements.find((m) => m.metric === 'gpu')!;
    assert.equal(g.code, 'CP_GPU_UNAVAILABLE');
    assert.match(g.unavailable!, /nvidia-smi not found/);
    const hot = await tp.cp.ingest(parseTelemetryReport({ version: 1, workload: 'web', node: 'n', seq: 2, window: syntheticWindow({ memBp: 9300 }), gpu }));
    assert.equal(hot.decision?.metric, 'memory', 'memory still decides');
    assert.deepEqual(hot.decision?.claims.map((c) => c.kind), ['memory']);
    const m = await tp.cp.metricsText();
    assert.match(m, /veritee_cp_gpu_unavailable_total 2/);
    assert.match(m, /veritee_cp_metric_unavailable_total\{code="CP_GPU_UNAVAILABLE",metric="gpu"\} 2/);
  } finally {
    await tp.close();
  }
});

test('a report whose GPU part claims another code, or an over-long reason, is refused as malformed', () => {
  const base = { version: 1, workload: 'web', node: 'n', seq: 1, window: syntheticWindow({}) };
  assert.throws(() => parseTelemetryReport({ ...base, gpu: { available: false, code: 'OTHER', samples: [] } }), /CP_TELEMETRY_INVALID|gpu\.code/);
  assert.throws(() => parseTelemetryReport({ ...base, gpu: { available: false, reason: 'x'.repeat(301), samples: [] } }), /gpu\.reason/);
});
