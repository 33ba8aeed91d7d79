import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { parseWorkloadSpec } from './workload.js';
import { parseTelemetryReport, measure } from './report.js';
import { syntheticWindow } from './testing.js';
import { parseNvidiaSmi, collectGpu } from './gpu.js';

const base = {
  name: 'web',
  minReplicas: 1,
  maxReplicas: 5,
  target: { kind: 'process', command: ['sleep', '300'] },
  rules: [{ metric: 'memory', scaleOutAbove: 8500, scaleInBelow: 3000 }],
};

const refused = (input: unknown, code: string, re: RegExp) =>
  assert.throws(() => parseWorkloadSpec(input), (e: unknown) => isVeriteeError(e) && e.code === code && re.test(e.message));

test('a valid workload gets its defaults: replicas = min, cool-downs, window, deadline', () => {
  const w = parseWorkloadSpec(base);
  assert.equal(w.replicas, 1);
  assert.deepEqual(w.cooldown, { outMs: 60_000, inMs: 300_000 });
  assert.equal(w.windowMs, 0);
  assert.equal(w.proofDeadlineMs, 600_000);
  assert.equal(w.rules[0]!.step, 1);
});

test('policies that would scale outside [min, max] are refused at registration', () => {
  refused({ ...base, rules: [{ metric: 'memory', scaleOutAbove: 8500, step: 5 }] }, 'CP_WORKLOAD_INVALID', /step 5 would scale above maxReplicas 5/);
  refused({ ...base, rules: [{ metric: 'cpu', scaleOutAbove: 8000, scaleInBelow: 1000, stepIn: 9 }] }, 'CP_WORKLOAD_INVALID', /stepIn 9 would scale below minReplicas/);
  refused({ ...base, replicas: 7 }, 'CP_WORKLOAD_INVALID', /replicas 7 is outside \[1, 5\]/);
  refused({ ...base, minReplicas: 6 }, 'CP_WORKLOAD_INVALID', /maxReplicas 5 is below minReplicas 6/);
  refused({ ...base, minReplicas: 5 }, 'CP_WORKLOAD_INVALID', /would scale outside the bounds/);
});

test('malformed policies are refused with the field named', () => {
  refused({ ...base, rules: [{ metric: 'memory', scaleOutAbove: 3000, scaleInBelow: 3000 }] }, 'CP_WORKLOAD_INVALID', /scaleInBelow 3000 must be below scaleOutAbove/);
  refused({ ...base, rules: [{ metric: 'memory', scaleOutAbove: 12000 }] }, 'CP_WORKLOAD_INVALID', /above 10000/);
  refused({ ...base, rules: [{ metric: 'sound', scaleOutAbove: 1 }] }, 'CP_WORKLOAD_INVALID', /rules\.0\.metric/);
  refused({ ...base, name: 'Web_1' }, 'CP_WORKLOAD_INVALID', /workload name/);
  refused({ ...base, extra: 1 }, 'CP_WORKLOAD_INVALID', /workload/);
  refused({ ...base, rules: [base.rules[0], base.rules[0]] }, 'CP_WORKLOAD_INVALID', /second rule for the same metric/);
  refused({ ...base, target: { kind: 'kubernetes', namespace: 'default' } }, 'CP_WORKLOAD_INVALID', /target\.deployment/);
});

const report = (over: Record<string, unknown> = {}) => ({ version: 1, workload: 'web', node: 'n1', seq: 1, window: syntheticWindow({ memBp: 9200 }), ...over });

test('malformed telemetry is refused with CP_TELEMETRY_INVALID naming the problem', () => {
  const bad = (v: unknown, re: RegExp) => assert.throws(() => parseTelemetryReport(v), (e: unknown) => isVeriteeError(e, 'CP_TELEMETRY_INVALID') && re.test(e.message));
  bad(report({ version: 2 }), /version/);
  bad(report({ seq: -1 }), /seq/);
  bad(report({ window: { ...syntheticWindow(), samples: [] } }), /samples/);
  const w = syntheticWindow();
  w.samples[1]!.processes.pop();
  bad(report({ window: w }), /processes/);
  bad(report({ requests: { periodStartUs: 10, periodEndUs: 5, arrivalsUs: [] } }), /period ends before it starts/);
  bad(report({ requests: { periodStartUs: 0, periodEndUs: 60_000_000, arrivalsUs: [60_000_000] } }), /arrivalsUs\[0\]/);
  bad(report({ gpu: { available: true, samples: [[{ utilBp: 20_000, memUsedBytes: 0, memTotalBytes: 0 }]] } }), /gpu/);
  bad({ ...report(), window: undefined }, /window/);
});

test('measurements agree with the claims: memory, cpu, disk, volume; gpu degrades when absent', () => {
  const r = parseTelemetryReport(
    report({
      window: syntheticWindow({ memBp: 9200, cpuBp: 9000, diskBp: 9500 }),
      requests: { periodStartUs: 0, periodEndUs: 60_000_000, arrivalsUs: Array.from({ length: 700 }, (_, i) => i * 1000) },
    }),
  );
  const mem = measure(r, 'memory', 8500);
  assert.equal(mem.above, true);
  assert.ok(mem.value >= 9100 && mem.value <= 9200, `memory ${mem.value}`);
  assert.equal(measure(r, 'memory', 9500).above, false);
  assert.equal(measure(r, 'cpu', 8000).above, true);
  assert.equal(measure(r, 'cpu', 9500).above, false);
  assert.equal(measure(r, 'disk', 9000).above, true);
  assert.equal(measure(r, 'volume', 600).above, true);
  assert.equal(measure(r, 'volume', 600).value, 700);
  assert.equal(measure(r, 'volume', 700).above, false);
  const gpu = measure(r, 'gpu', 5000);
  assert.equal(gpu.above, false);
  assert.match(gpu.unavailable!, /no GPU telemetry/);
  assert.equal(gpu.claim, undefined);
  const g2 = parseTelemetryReport(report({ gpu: { available: true, samples: [[{ utilBp: 9000, memUsedBytes: 1, memTotalBytes: 2 }]] } }));
  assert.equal(measure(g2, 'gpu', 5000).above, true);
});

test('nvidia-smi: parsed when present, a clean "unavailable" when it is not', async () => {
  assert.deepEqual(parseNvidiaSmi('87, 1024, 81920\n3, 0, 81920\n'), [
    { utilBp: 8700, memUsedBytes: 1024 * 1024 * 1024, memTotalBytes: 81920 * 1024 * 1024 },
    { utilBp: 300, memUsedBytes: 0, memTotalBytes: 81920 * 1024 * 1024 },
  ]);
  assert.throws(() => parseNvidiaSmi('N/A, 1, 2'), /line 1/);
  const none = await collectGpu({ binary: '/nonexistent/nvidia-smi' });
  assert.equal(none.available, false);
  assert.match(none.reason!, /not found/);
  const failing = await collectGpu({ binary: 'false' });
  assert.equal(failing.available, false);
  assert.match(failing.reason!, /failed/);
});
