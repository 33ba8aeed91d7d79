/**
 * TDX RTMR0–2 of a direct-boot TD: committed vectors from an independent Python
 * implementation (scripts/tdx_rtmr_reference.py), which the test re-runs; what each
 * input moves (and what it must not); coded refusals of bad kernels, firmware and
 * memory sizes; and the event-log replay (a CCEL-format log), including tampered
 * and malformed logs. Not cross-checked against hardware or dstack-mr itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex, VeriteeError } from '@veritee/core';
import { authenticodeSha384, fvAppLoadOption, OVMF_BOOT0000_DIGEST_PRE_202505, OVMF_DXEFV_GUID, OVMF_UIAPP_FILE_GUID, predictTdxRtmrs, sha384, type TdxRtmrInput } from './tdx/rtmr.js';
import { compareTdxEventLog, parseTdxEventLog } from './tdx/event-log.js';
import { measureTdx } from './tdx/mrtd.js';
import { writeTdxEventLog } from './testing/event-log-writer.js';
import { deterministicBytes, syntheticFirmware, syntheticKernel, syntheticTdvf, SYNTHETIC_LAYOUTS, SYNTHETIC_TDVF_SECTIONS, type SyntheticKernelSpec, type SyntheticTdvfSection } from './testing/synthetic.js';

interface Blob {
  label: string;
  size: number;
}
interface Case {
  name: string;
  tdvf: { label: string; sections: SyntheticTdvfSection[] };
  kernel: SyntheticKernelSpec;
  initrd?: Blob;
  memoryBytes: number;
  append: string;
  acpi?: { tables: Blob; rsdp: Blob; loader: Blob };
  expected: { rtmr0: string | null; rtmr1: string; rtmr2: string; events: [number, string][] };
}
const vectors = JSON.parse(readFileSync(fileURLToPath(new URL('../test/vectors/tdx/rtmr.json', import.meta.url)), 'utf8')) as { cases: Case[] };
const reference = fileURLToPath(new URL('../scripts/tdx_rtmr_reference.py', import.meta.url));
const code = (c: string, includes?: string) => (e: unknown) => e instanceof VeriteeError && e.code === c && (includes === undefined || e.message.includes(includes));
const blob = (b: Blob) => deterministicBytes(b.label, b.size);

function inputOf(c: Case): TdxRtmrInput {
  return {
    firmware: syntheticTdvf(c.tdvf.label, c.tdvf.sections),
    kernel: syntheticKernel(c.kernel),
    memoryBytes: c.memoryBytes,
    append: c.append,
    ...(c.initrd ? { initrd: blob(c.initrd) } : {}),
    ...(c.acpi ? { acpi: { tables: blob(c.acpi.tables), rsdp: blob(c.acpi.rsdp), loader: blob(c.acpi.loader) } } : {}),
  };
}

const GiB = 2 ** 30;
const base = (): TdxRtmrInput => inputOf(vectors.cases[0]!);

test('TDX RTMR vectors: RTMR0-2 and every event digest match the reference implementation, which is re-run now', () => {
  assert.ok(vectors.cases.length >= 5);
  const tmp = mkdtempSync(join(tmpdir(), 'veritee-rtmr-'));
  try {
    for (const c of vectors.cases) {
      const input = inputOf(c);
      const r = predictTdxRtmrs(input);
      assert.equal(r.rtmr0 ?? null, c.expected.rtmr0, `${c.name} RTMR0`);
      assert.equal(r.rtmr1, c.expected.rtmr1, `${c.name} RTMR1`);
      assert.equal(r.rtmr2, c.expected.rtmr2, `${c.name} RTMR2`);
      assert.deepEqual(r.events.map((e) => [e.rtmr, e.digest]), c.expected.events, `${c.name} events`);
      assert.equal(r.events.filter((e) => e.rtmr === 0).length, c.acpi ? 13 : 0);
      assert.equal(r.events.filter((e) => e.rtmr === 2).length, c.initrd ? 2 : 1);
      // the reference, re-run on the same bytes
      const w = (n: string, d: Uint8Array | string) => {
        const p = join(tmp, n);
        writeFileSync(p, d);
        return p;
      };
      const args = [reference, w('fw', input.firmware as Uint8Array), w('kernel', input.kernel), input.initrd ? w('initrd', input.initrd) : '-', String(c.memoryBytes), w('cmdline', c.append)];
      if (input.acpi) args.push(w('tables', input.acpi.tables), w('rsdp', input.acpi.rsdp), w('loader', input.acpi.loader));
      assert.deepEqual(JSON.parse(execFileSync('python3', args, { encoding: 'utf8' })), c.expected, `${c.name}: reference re-run`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('dstack-mr vectors (the published calculator, built from source): MRTD in both orders and RTMR0-2 match; the one divergence is named', () => {
  const v = JSON.parse(readFileSync(fileURLToPath(new URL('../test/vectors/tdx/dstack-mr.json', import.meta.url)), 'utf8')) as {
    cfvDigest: string;
    cases: (Omit<Case, 'expected'> & { trailingWithoutCertificate: boolean; expected: { mrtd: { 'single-pass': string; 'two-pass': string }; rtmr0: string; rtmr1: string; rtmr2: string } })[];
  };
  assert.ok(v.cases.filter((c) => !c.trailingWithoutCertificate).length >= 4);
  for (const c of v.cases) {
    const input = { ...inputOf(c as unknown as Case), cfvDigest: v.cfvDigest };
    const r = predictTdxRtmrs(input);
    assert.equal(measureTdx({ firmware: input.firmware, pageOrder: 'single-pass' }).mrtd, c.expected.mrtd['single-pass'], `${c.name} MRTD single-pass`);
    assert.equal(measureTdx({ firmware: input.firmware, pageOrder: 'two-pass' }).mrtd, c.expected.mrtd['two-pass'], `${c.name} MRTD two-pass`);
    assert.equal(r.rtmr0, c.expected.rtmr0, `${c.name} RTMR0`);
    assert.equal(r.rtmr2, c.expected.rtmr2, `${c.name} RTMR2`);
    if (!c.trailingWithoutCertificate) {
      assert.equal(r.rtmr1, c.expected.rtmr1, `${c.name} RTMR1`);
    } else {
      // bytes after the last section, no certificate table: the Authenticode specification
      // (and EDK2, and signify) hash them, dstack-mr does not. Cut them off and the two agree.
      assert.notEqual(r.rtmr1, c.expected.rtmr1, `${c.name}: the known divergence`);
      const k = input.kernel;
      const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
      const sec = 0x44 + 20 + 240;
      const end = Math.max(dv.getUint32(sec + 20, true) + dv.getUint32(sec + 16, true), dv.getUint32(sec + 60, true) + dv.getUint32(sec + 56, true));
      assert.ok(end < k.length && end % 8 === 0 && k.length % 8 === 0);
      assert.equal(predictTdxRtmrs({ ...input, kernel: k.subarray(0, end) }).rtmr1, c.expected.rtmr1, `${c.name}: without the trailing bytes`);
    }
  }
});

test('Boot0000: the derived UiApp load-option digest is the constant dstack-mr publishes for OVMF before edk2-stable202505', () => {
  assert.equal(OVMF_BOOT0000_DIGEST_PRE_202505, '23ada07f5261f12f34a0bd8e46760962d6b4d576a416f1fea1c64bc656b1d28eacf7047ae6e967c58fd2a98bfa74c298');
  assert.notEqual(toHex(sha384(fvAppLoadOption(OVMF_DXEFV_GUID, OVMF_UIAPP_FILE_GUID, 'UiApp', 0x101))), OVMF_BOOT0000_DIGEST_PRE_202505);
});

test('TDX RTMRs move with their own inputs only', () => {
  const b = base();
  const r = predictTdxRtmrs(b);
  const with_ = (o: Partial<TdxRtmrInput>) => predictTdxRtmrs({ ...b, ...o });
  // the command line: RTMR2 only; an initrd adds " initrd=initrd" to what is measured
  const cmd = with_({ append: b.append + ' x' });
  assert.deepEqual([cmd.rtmr0, cmd.rtmr1, cmd.rtmr2 === r.rtmr2], [r.rtmr0, r.rtmr1, false]);
  assert.equal(r.inputs.measuredCmdline, `${b.append} initrd=initrd`);
  // same-size initrd content: RTMR2 only; a different size is patched into the kernel: RTMR1 too
  const initrd = Uint8Array.from(b.initrd!);
  initrd[1000] ^= 1;
  const i1 = with_({ initrd });
  assert.deepEqual([i1.rtmr0, i1.rtmr1, i1.rtmr2 === r.rtmr2], [r.rtmr0, r.rtmr1, false]);
  const i2 = with_({ initrd: b.initrd!.subarray(0, b.initrd!.length - 4096) });
  assert.notEqual(i2.rtmr1, r.rtmr1);
  // a kernel code byte: RTMR1 only; the PE CheckSum and the certificate table are not hashed
  const k = Uint8Array.from(b.kernel);
  k[5000] ^= 1;
  const k1 = with_({ kernel: k });
  assert.deepEqual([k1.rtmr0, k1.rtmr1 === r.rtmr1, k1.rtmr2], [r.rtmr0, false, r.rtmr2]);
  const signed = syntheticKernel({ label: 'signed', size: 100_000, protocol: 0x20f, loadflags: 1, xloadflags: 0x40, initrdAddrMax: 0, certTable: 4096 });
  const resigned = Uint8Array.from(signed);
  resigned[signed.length - 100] ^= 0xff; // inside the certificate table
  resigned[0x44 + 20 + 64] ^= 0xff; // CheckSum
  assert.equal(Buffer.from(authenticodeSha384(resigned)).toString('hex'), Buffer.from(authenticodeSha384(signed)).toString('hex'));
  resigned[signed.length - 4096 - 10] ^= 1; // trailing data before the certificate table is hashed
  assert.notEqual(Buffer.from(authenticodeSha384(resigned)).toString('hex'), Buffer.from(authenticodeSha384(signed)).toString('hex'));
  // ACPI tables: RTMR0 only
  const t = Uint8Array.from(b.acpi!.tables);
  t[7] ^= 1;
  const a1 = with_({ acpi: { ...b.acpi!, tables: t } });
  assert.deepEqual([a1.rtmr0 === r.rtmr0, a1.rtmr1, a1.rtmr2], [false, r.rtmr1, r.rtmr2]);
  // the CFV (variables) moves RTMR0, not MRTD-style code pages
  const fw = Uint8Array.from(b.firmware as Uint8Array);
  fw[0x100] ^= 1; // inside the CFV
  assert.notEqual(with_({ firmware: fw }).rtmr0, r.rtmr0);
  // RAM: 2 GiB and 4 GiB place the initrd alike (RTMR1 equal) but differ in the TD HOB (RTMR0); 2.5 GiB (below the 0xB0000000 split) moves it
  const g4 = with_({ memoryBytes: 4 * GiB });
  assert.equal(g4.rtmr1, r.rtmr1);
  assert.notEqual(g4.rtmr0, r.rtmr0);
  assert.notEqual(with_({ memoryBytes: 2560 * 2 ** 20 }).rtmr1, r.rtmr1);
  // a different Boot0000 digest (a newer OVMF): RTMR0 only
  const bo = with_({ boot0000Digest: 'ab'.repeat(48) });
  assert.deepEqual([bo.rtmr0 === r.rtmr0, bo.rtmr1], [false, r.rtmr1]);
  // without ACPI tables RTMR0 is not predicted at all
  const { acpi: _acpi, ...noAcpi } = b;
  assert.equal(predictTdxRtmrs(noAcpi).rtmr0, undefined);
});

test('TDX RTMR bad input: not a bzImage, no EFI stub, truncated sections, an initrd that does not fit, bad RAM sizes, firmware without TDVF/CFV', () => {
  const b = base();
  const k = (mut: (k: Uint8Array) => void) => {
    const x = Uint8Array.from(b.kernel);
    mut(x);
    return x;
  };
  assert.throws(() => predictTdxRtmrs({ ...b, kernel: k((x) => x.set([0, 0, 0, 0], 0x202)) }), code('IMAGE_KERNEL_INVALID', 'HdrS'));
  assert.throws(() => predictTdxRtmrs({ ...b, kernel: k((x) => x.set([0, 0], 0)) }), code('IMAGE_KERNEL_INVALID', 'MZ'));
  assert.throws(() => predictTdxRtmrs({ ...b, kernel: k((x) => x.set([0, 0], 0x40)) }), code('IMAGE_KERNEL_INVALID', 'PE signature'));
  assert.throws(() => predictTdxRtmrs({ ...b, kernel: b.kernel.subarray(0, 50_000) }), code('IMAGE_KERNEL_INVALID', 'beyond the end'));
  assert.throws(() => predictTdxRtmrs({ ...b, kernel: b.kernel.subarray(0, 0x800) }), code('IMAGE_KERNEL_INVALID', 'too short'));
  assert.throws(() => predictTdxRtmrs({ ...b, memoryBytes: 512 * 2 ** 20, initrd: new Uint8Array(600 * 2 ** 20) }), code('IMAGE_KERNEL_INVALID', 'does not fit'));
  assert.throws(() => predictTdxRtmrs({ ...b, memoryBytes: 2 * GiB + 1 }), code('INPUT_INVALID'));
  assert.throws(() => predictTdxRtmrs({ ...b, memoryBytes: 128 * 2 ** 20 }), code('INPUT_INVALID'));
  assert.throws(() => predictTdxRtmrs({ ...b, append: 'a\nb' }), code('INPUT_INVALID'));
  assert.throws(() => predictTdxRtmrs({ ...b, boot0000Digest: 'xyz' }), code('INPUT_INVALID'));
  assert.throws(() => predictTdxRtmrs({ ...b, firmware: syntheticFirmware(SYNTHETIC_LAYOUTS['ovmfx64-like']!) }), code('IMAGE_FIRMWARE_SECTION_MISSING'));
  const noCfv = syntheticTdvf('no cfv', SYNTHETIC_TDVF_SECTIONS.filter((s) => s.type !== 1));
  assert.throws(() => predictTdxRtmrs({ ...b, firmware: noCfv }), code('IMAGE_FIRMWARE_SECTION_MISSING', 'CFV'));
  const { acpi: _a, ...noAcpi } = b;
  assert.equal(predictTdxRtmrs({ ...noAcpi, firmware: noCfv }).rtmr0, undefined, 'without ACPI tables the CFV is not needed');
  const noHob = syntheticTdvf('no hob', SYNTHETIC_TDVF_SECTIONS.filter((s) => s.type !== 2));
  assert.throws(() => predictTdxRtmrs({ ...b, firmware: noHob }), code('IMAGE_FIRMWARE_SECTION_MISSING', 'TD_HOB'));
});

test('TDX event log: a CCEL-format log of the predicted events replays to the predicted RTMRs; tampered, short or malformed logs are refused', () => {
  const p = predictTdxRtmrs(base());
  const events = p.events.map((e) => ({ rtmr: e.rtmr, type: 0x80000001, digest: e.digest, data: new TextEncoder().encode(e.event) }));
  // an RTMR3 event (runtime, e.g. an application extend) does not disturb RTMR0-2
  const withRtmr3 = [...events, { rtmr: 3, type: 0x80000001, digest: 'cd'.repeat(48) }];
  const log = parseTdxEventLog(writeTdxEventLog(withRtmr3));
  assert.equal(log.events.length, p.events.length + 1);
  assert.deepEqual(log.rtmrs.slice(0, 3), [p.rtmr0, p.rtmr1, p.rtmr2]);
  assert.notEqual(log.rtmrs[3], '00'.repeat(48));
  assert.deepEqual(compareTdxEventLog(p, log).compared, [0, 1, 2]);

  // a different kernel in the log: RTMR1, event 0, named
  const tampered = events.map((e, i) => (i === 13 ? { ...e, digest: 'ee'.repeat(48) } : e));
  assert.equal(p.events[13]!.rtmr, 1);
  assert.throws(() => compareTdxEventLog(p, parseTdxEventLog(writeTdxEventLog(tampered))), code('IMAGE_RTMR_MISMATCH', 'RTMR1'));
  assert.throws(() => compareTdxEventLog(p, parseTdxEventLog(writeTdxEventLog(tampered))), code('IMAGE_RTMR_MISMATCH', 'event 0 (kernel'));
  // a missing initrd event
  assert.throws(() => compareTdxEventLog(p, parseTdxEventLog(writeTdxEventLog(events.slice(0, -1)))), code('IMAGE_RTMR_MISMATCH', 'RTMR2'));
  // an extra ACPI-like event in RTMR0
  const extra = [...events.slice(0, 5), { rtmr: 0, type: 6, digest: '01'.repeat(48) }, ...events.slice(5)];
  assert.throws(() => compareTdxEventLog(p, parseTdxEventLog(writeTdxEventLog(extra))), code('IMAGE_RTMR_MISMATCH', 'RTMR0'));

  const good = writeTdxEventLog(events, 0);
  assert.throws(() => parseTdxEventLog(good.subarray(0, good.length - 30)), code('IMAGE_EVENT_LOG_INVALID', 'cut off'));
  assert.throws(() => parseTdxEventLog(good.subarray(0, 20)), code('IMAGE_EVENT_LOG_INVALID'));
  const notSpec = Uint8Array.from(good);
  notSpec[32] = 0x58; // "Spec ID" → "Xpec ID"
  assert.throws(() => parseTdxEventLog(notSpec), code('IMAGE_EVENT_LOG_INVALID', 'Spec ID'));
  const noSha384 = Uint8Array.from(good);
  noSha384[32 + 28] = 0x0b; // the declared algorithm becomes SHA-256's id
  assert.throws(() => parseTdxEventLog(noSha384), code('IMAGE_EVENT_LOG_INVALID', 'SHA-384'));
  const badIndex = Uint8Array.from(good);
  badIndex[32 + 33] = 9; // the first record's MR index
  assert.throws(() => parseTdxEventLog(badIndex), code('IMAGE_EVENT_LOG_INVALID', 'register 9'));
  const hugeData = Uint8Array.from(good);
  new DataView(hugeData.buffer).setUint32(32 + 33 + 62, 0x7fffffff, true);
  assert.throws(() => parseTdxEventLog(hugeData), code('IMAGE_EVENT_LOG_INVALID', 'claims'));
});
