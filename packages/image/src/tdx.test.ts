/**
 * TDX MRTD: committed vectors from an independent Python implementation
 * (scripts/tdx_mrtd_reference.py), which the test re-runs; both QEMU page
 * orders; bad TDVF files refused. Not cross-checked against hardware or a real
 * TDVF build (none is available here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeriteeError } from '@veritee/core';
import { measureTdx } from './tdx/mrtd.js';
import { syntheticFirmware, syntheticTdvf, SYNTHETIC_LAYOUTS, SYNTHETIC_TDVF_SECTIONS, type SyntheticTdvfSection } from './testing/synthetic.js';

const vectors = JSON.parse(readFileSync(fileURLToPath(new URL('../test/vectors/tdx/synthetic-tdvf.json', import.meta.url)), 'utf8')) as {
  cases: { name: string; label: string; sections: SyntheticTdvfSection[]; firmwareSha256: string; mrtd: { 'single-pass': string; 'two-pass': string } }[];
};
const reference = fileURLToPath(new URL('../scripts/tdx_mrtd_reference.py', import.meta.url));
const code = (c: string) => (e: unknown) => e instanceof VeriteeError && e.code === c;

test('TDX vectors: MRTD in both page orders matches the reference implementation, which is re-run now', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'veritee-tdx-'));
  try {
    assert.ok(vectors.cases.length >= 2);
    for (const c of vectors.cases) {
      const fw = syntheticTdvf(c.label, c.sections);
      assert.equal(createHash('sha256').update(fw).digest('hex'), c.firmwareSha256, c.name);
      assert.equal(measureTdx({ firmware: fw }).mrtd, c.mrtd['single-pass'], `${c.name} single-pass`);
      assert.equal(measureTdx({ firmware: fw, pageOrder: 'two-pass' }).mrtd, c.mrtd['two-pass'], `${c.name} two-pass`);
      assert.notEqual(c.mrtd['single-pass'], c.mrtd['two-pass']);
      const p = join(tmp, 'fw.fd');
      writeFileSync(p, fw);
      assert.deepEqual(JSON.parse(execFileSync('python3', [reference, p], { encoding: 'utf8' })), c.mrtd, `${c.name}: reference re-run`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('TDX transcript and sensitivity: one step per section; a changed code byte changes MRTD, a changed PAGE_AUG region does not', () => {
  const fw = syntheticTdvf();
  const r = measureTdx({ firmware: fw });
  assert.deepEqual(r.transcript.map((s) => s.component), ['BFV', 'CFV', 'TD_HOB', 'TEMP_MEM', 'PERM_MEM', 'TEMP_MEM']);
  assert.equal(r.transcript[0]!.chunksExtended, 0x17c000 / 256);
  assert.equal(r.transcript[4]!.pagesAdded, 0);
  const code1 = Uint8Array.from(fw);
  code1[0x90000] ^= 1; // inside the BFV
  assert.notEqual(measureTdx({ firmware: code1 }).mrtd, r.mrtd);
  const vars = Uint8Array.from(fw);
  vars[0x100] ^= 1; // inside the CFV: added, not extended into MRTD
  assert.equal(measureTdx({ firmware: vars }).mrtd, r.mrtd);
});

test('TDX bad input: no TDVF metadata, a bad signature, misaligned or unknown sections are refused', () => {
  assert.throws(() => measureTdx({ firmware: syntheticFirmware(SYNTHETIC_LAYOUTS['ovmfx64-like']!) }), code('IMAGE_FIRMWARE_SECTION_MISSING'));
  const sig = syntheticTdvf();
  sig[sig.length - 0x2000] = 0;
  assert.throws(() => measureTdx({ firmware: sig }), code('IMAGE_FIRMWARE_INVALID'));
  const s0 = SYNTHETIC_TDVF_SECTIONS[0]!;
  assert.throws(() => measureTdx({ firmware: syntheticTdvf('x', [{ ...s0, memoryAddress: s0.memoryAddress + 8 }]) }), code('IMAGE_FIRMWARE_INVALID'));
  assert.throws(() => measureTdx({ firmware: syntheticTdvf('x', [{ ...s0, type: 9 }]) }), code('IMAGE_FIRMWARE_INVALID'));
  assert.throws(() => measureTdx({ firmware: syntheticTdvf('x', [{ ...s0, rawDataSize: 0x1000 }]) }), code('IMAGE_FIRMWARE_INVALID'));
  assert.throws(() => measureTdx({ firmware: syntheticTdvf('x', [{ ...s0, attributes: 8 }]) }), code('IMAGE_FIRMWARE_INVALID'));
});
