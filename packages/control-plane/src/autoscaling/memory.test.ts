import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { collectTelemetry } from '../telemetry/sampler.js';
import { memoryClaimInput } from './memory.js';

test('a real window becomes memory-claim input with consistent shapes and units', async () => {
  const w = await collectTelemetry({ samples: 3, intervalMs: 50, maxProcesses: 8 });
  const { params, data } = memoryClaimInput(w);
  assert.equal(data.usageKiB.length, 3);
  assert.ok(data.usageKiB.every((row) => row.length === data.usageKiB[0]!.length && row.length <= 10));
  assert.equal(params.allocatedKiB, Math.floor(w.memTotalBytes / 1024));
  assert.ok(params.periodEndUs > params.periodStartUs);
  assert.equal(data.swapPages.length, 3);
  assert.ok(data.usageKiB[0]!.some((kib) => kib > 0));
  assert.deepEqual(memoryClaimInput(w, { thresholdBp: 5000 }).params.thresholdBp, 5000);
});

test('an empty window is refused with a code', () => {
  assert.throws(
    () => memoryClaimInput({ samples: [] } as never),
    (e: unknown) => isVeriteeError(e, 'TELEMETRY_WINDOW_INVALID'),
  );
});
