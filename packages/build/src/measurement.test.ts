/**
 * The simulated builder measurement: a manifest of what the builder runs (runtime, its
 * own code, its module closure, the host tools it executes) that recomputes to the
 * measurement; any component changing changes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { builderManifest, builderMeasurement, measurementOfManifest, MEASURED_TOOLS } from './index.js';

test('the manifest covers the runtime, the builder, its module closure and the tools, and recomputes to the measurement', () => {
  const m = builderManifest();
  assert.equal(m.simulated, true);
  assert.match(m.note, /SIMULATED/);
  assert.match(m.measurement, /^[0-9a-f]{96}$/);
  assert.equal(m.measurement, builderMeasurement());
  assert.equal(measurementOfManifest(m.components), m.measurement);
  const by = new Map(m.components.map((c) => [c.name, c]));
  assert.equal(by.get('runtime')!.digest, createHash('sha256').update(readFileSync(process.execPath)).digest('hex'));
  assert.equal(by.get('runtime')!.version, process.versions.node);
  assert.ok(by.get('builder')!.files! >= 10);
  for (const dep of ['module:@veritee/core', 'module:@veritee/attestation', 'module:@sigstore/sign', 'module:@sigstore/verify', 'module:zod', 'module:fastify']) assert.ok(by.has(dep), dep);
  for (const t of MEASURED_TOOLS) assert.ok(by.has(`tool:${t}`), t);
  assert.match(by.get('tool:bwrap')!.digest, /^[0-9a-f]{64}$/);
  // sorted by name: the order a verifier recomputes in
  assert.deepEqual(m.components.map((c) => c.name), [...m.components.map((c) => c.name)].sort());
});

test('any changed component (a patched dependency, another node, a missing tool) changes the measurement', () => {
  const m = builderManifest();
  for (const name of ['runtime', 'builder', 'module:@sigstore/verify', 'tool:git']) {
    const changed = m.components.map((c) => (c.name === name ? { ...c, digest: '0'.repeat(64) } : c));
    assert.notEqual(measurementOfManifest(changed), m.measurement, name);
  }
  assert.notEqual(measurementOfManifest(m.components.map((c) => (c.name === 'tool:bwrap' ? { ...c, digest: 'absent' } : c))), m.measurement);
  assert.notEqual(measurementOfManifest(m.components.filter((c) => c.name !== 'module:zod')), m.measurement);
  assert.throws(() => measurementOfManifest([...m.components, m.components[0]!]), /repeated/);
  assert.throws(() => measurementOfManifest([{ name: 'x', digest: 'zz' }]), /SHA-256/);
});
