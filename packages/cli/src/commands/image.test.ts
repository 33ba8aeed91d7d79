/**
 * `veritee image …` in process: measure prints the vector's measurement and a
 * transcript, refuses bad firmware with codes; manifest → policy round trip;
 * enforce refuses when no configfs-tsm answers and never starts the command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { isVeriteeError } from '@veritee/core';
import { parseImagePolicy, parseManifest } from '@veritee/image';
import { readImagePolicies, registerImageCommands } from './image.js';

async function run(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerImageCommands(program, { stdout: (s) => (out.stdout += s), stderr: (s) => (out.stderr += s) });
  await program.parseAsync(['node', 'veritee', 'image', ...args]);
  return out;
}

const coded = (code: string, includes?: string) => (e: unknown) => isVeriteeError(e) && e.code === code && (includes === undefined || e.message.includes(includes));

async function synthetic(dir: string): Promise<{ amd: string; x64: string; kernel: string; tdvf: string }> {
  const s = (await import(new URL('../../../image/dist/testing/synthetic.js', import.meta.url).href)) as typeof import('@veritee/image') & {
    syntheticFirmware: (spec: unknown) => Uint8Array;
    syntheticTdvf: () => Uint8Array;
    deterministicBytes: (l: string, n: number) => Uint8Array;
    SYNTHETIC_LAYOUTS: Record<string, unknown>;
  };
  const p = { amd: join(dir, 'amd.fd'), x64: join(dir, 'x64.fd'), kernel: join(dir, 'vmlinuz'), tdvf: join(dir, 'tdvf.fd') };
  writeFileSync(p.amd, s.syntheticFirmware(s.SYNTHETIC_LAYOUTS['amdsev-like']));
  writeFileSync(p.x64, s.syntheticFirmware(s.SYNTHETIC_LAYOUTS['ovmfx64-like']));
  writeFileSync(p.tdvf, s.syntheticTdvf());
  return p;
}

test('image measure: the vector measurement, --explain transcript, --json, and coded refusals', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-cli-image-'));
  try {
    const f = await synthetic(dir);
    const vec = JSON.parse(readFileSync(fileURLToPath(new URL('../../../image/test/vectors/snp/ovmfx64-like.json', import.meta.url)), 'utf8')) as { cases: { name: string; expected: string }[] };
    const want = vec.cases.find((c) => c.name === 'qemu-EPYC-Milan-4')!.expected;
    const r = await run(['measure', '--platform', 'snp', '--ovmf', f.x64, '--vcpus', '4', '--vcpu-type', 'EPYC-Milan']);
    assert.equal(r.stdout, `SEV-SNP launch measurement: ${want}\n`);
    const ex = await run(['measure', '--platform', 'snp', '--ovmf', f.x64, '--vcpus', '4', '--vcpu-type', 'EPYC-Milan', '--explain']);
    assert.match(ex.stdout, /^firmware +NORMAL +gpa 0xffe00000 +512 page\(s\)/);
    assert.match(ex.stdout, /vmsa\[3\] \(AP, eip 0xffffb00c\)/);
    const out = join(dir, 'm.json');
    const js = await run(['measure', '--platform', 'snp', '--ovmf', f.x64, '--vcpus', '4', '--vcpu-type', 'EPYC-Milan', '--json', '--out', out]);
    assert.equal(JSON.parse(js.stdout).measurement, want);
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).inputs.vcpuSignature, '0xa00f11');
    const tdx = await run(['measure', '--platform', 'tdx', '--ovmf', f.tdvf]);
    assert.match(tdx.stdout, /^TDX MRTD: [0-9a-f]{96}\n$/);

    await assert.rejects(run(['measure', '--platform', 'snp', '--ovmf', f.x64, '--kernel', f.amd, '--vcpus', '1', '--vcpu-type', 'EPYC-v4']), coded('IMAGE_FIRMWARE_SECTION_MISSING', 'SNP_KERNEL_HASHES'));
    await assert.rejects(run(['measure', '--platform', 'snp', '--ovmf', f.x64, '--vcpus', '1', '--vcpu-type', 'EPYC-Zen9']), coded('IMAGE_VCPU_TYPE_UNKNOWN', 'EPYC-Zen9'));
    await assert.rejects(run(['measure', '--platform', 'snp', '--ovmf', f.x64, '--vcpus', '1', '--vcpu-type', 'EPYC', '--vmm', 'xen']), coded('INPUT_INVALID', 'xen'));
    await assert.rejects(run(['measure', '--platform', 'snp', '--ovmf', f.x64, '--vcpu-type', 'EPYC']), coded('INPUT_INVALID', '--vcpus'));
    await assert.rejects(run(['measure', '--platform', 'snp', '--ovmf', f.x64, '--vcpus', 'two', '--vcpu-type', 'EPYC']), coded('INPUT_INVALID', '--vcpus'));
    await assert.rejects(run(['measure', '--platform', 'snp', '--ovmf', f.kernel, '--vcpus', '1', '--vcpu-type', 'EPYC']), coded('INPUT_FILE_UNREADABLE'));
    writeFileSync(f.kernel, 'not a firmware');
    await assert.rejects(run(['measure', '--platform', 'snp', '--ovmf', f.kernel, '--vcpus', '1', '--vcpu-type', 'EPYC']), coded('IMAGE_FIRMWARE_INVALID', 'vmlinuz'));
    await assert.rejects(run(['measure', '--platform', 'tdx', '--ovmf', f.x64]), coded('IMAGE_FIRMWARE_SECTION_MISSING'));
    await assert.rejects(run(['measure', '--platform', 'snp', '--ovmf', f.x64, '--vcpus', '1', '--vcpu-type', 'EPYC', '--json', '--out', join(dir, 'no/such/dir/m.json')]), coded('INPUT_FILE_UNWRITABLE'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image measure --platform tdx with a kernel: MRTD and RTMR0-2 of the committed vector, --explain events, event-log replay, coded refusals', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-cli-tdx-'));
  try {
    const s = (await import(new URL('../../../image/dist/testing/synthetic.js', import.meta.url).href)) as {
      syntheticTdvf: (label?: string, sections?: unknown) => Uint8Array;
      syntheticKernel: (spec: unknown) => Uint8Array;
      deterministicBytes: (l: string, n: number) => Uint8Array;
    };
    const w = (await import(new URL('../../../image/dist/testing/event-log-writer.js', import.meta.url).href)) as {
      writeTdxEventLog: (events: { rtmr: number; type: number; digest: string }[]) => Uint8Array;
    };
    type Blob = { label: string; size: number };
    const vec = JSON.parse(readFileSync(fileURLToPath(new URL('../../../image/test/vectors/tdx/rtmr.json', import.meta.url)), 'utf8')) as {
      cases: { name: string; tdvf: { label: string; sections: unknown }; kernel: unknown; initrd: Blob; memoryBytes: number; append: string; acpi: Record<'tables' | 'rsdp' | 'loader', Blob>; expected: { rtmr0: string; rtmr1: string; rtmr2: string; events: [number, string][] } }[];
    };
    const c = vec.cases.find((x) => x.name === 'modern-2g-initrd-acpi')!;
    const p = (n: string, d: Uint8Array | string) => {
      const f = join(dir, n);
      writeFileSync(f, d);
      return f;
    };
    const fw = p('tdvf.fd', s.syntheticTdvf(c.tdvf.label, c.tdvf.sections));
    const kernel = p('vmlinuz', s.syntheticKernel(c.kernel));
    const initrd = p('initrd', s.deterministicBytes(c.initrd.label, c.initrd.size));
    const acpi = ['tables', 'rsdp', 'loader'].map((k) => p(k, s.deterministicBytes(c.acpi[k as 'tables'].label, c.acpi[k as 'tables'].size)));
    const args = ['measure', '--platform', 'tdx', '--ovmf', fw, '--kernel', kernel, '--initrd', initrd, '--append', c.append, '--memory', '2G', '--acpi-tables', acpi[0]!, '--acpi-rsdp', acpi[1]!, '--acpi-loader', acpi[2]!];
    const r = await run(args);
    assert.match(r.stdout, /^TDX MRTD: [0-9a-f]{96}\n/);
    assert.ok(r.stdout.includes(`TDX RTMR0: ${c.expected.rtmr0}\nTDX RTMR1: ${c.expected.rtmr1}\nTDX RTMR2: ${c.expected.rtmr2}\n`), r.stdout);
    assert.ok(r.stdout.includes(`measured command line ${JSON.stringify(c.append + ' initrd=initrd')}`));
    // the same RAM given in MiB or bytes
    assert.equal((await run(args.map((a) => (a === '2G' ? '2048M' : a)))).stdout, r.stdout);
    assert.equal((await run(args.map((a) => (a === '2G' ? String(2 ** 31) : a)))).stdout, r.stdout);
    const ex = await run([...args, '--explain']);
    assert.match(ex.stdout, /^MRTD  BFV /);
    assert.match(ex.stdout, /RTMR0 TD HOB[^\n]*\n      digest [0-9a-f]{96}\n/);
    assert.match(ex.stdout, /RTMR1 kernel: Authenticode SHA-384 of the QEMU-patched bzImage/);
    assert.ok(ex.stdout.includes(`RTMR2 initrd (EV_EVENT_TAG)\n      digest ${c.expected.events.at(-1)![1]}\n      → ${c.expected.rtmr2}`));
    const js = JSON.parse((await run([...args, '--json'])).stdout) as { mrtd: string; rtmrs: { rtmr1: string; events: unknown[] } };
    assert.equal(js.rtmrs.rtmr1, c.expected.rtmr1);
    assert.equal(js.rtmrs.events.length, c.expected.events.length);
    // without ACPI tables RTMR0 is said to be not predicted, never printed
    const noAcpi = await run(args.slice(0, 13));
    assert.match(noAcpi.stdout, /TDX RTMR0: not predicted/);
    assert.doesNotMatch(noAcpi.stdout, /TDX RTMR0: [0-9a-f]/);
    // event-log replay
    const good = p('ccel.bin', w.writeTdxEventLog(c.expected.events.map(([rtmr, digest]) => ({ rtmr, type: 0x80000001, digest }))));
    assert.match((await run([...args, '--event-log', good])).stdout, /TDX event log: 20 events replayed; RTMR0, RTMR1, RTMR2 match the prediction\n$/);
    const other = p('ccel-other.bin', w.writeTdxEventLog(c.expected.events.map(([rtmr, digest], i) => ({ rtmr, type: 0x80000001, digest: i === 19 ? 'aa'.repeat(48) : digest }))));
    await assert.rejects(run([...args, '--event-log', other]), coded('IMAGE_RTMR_MISMATCH', 'RTMR2'));
    await assert.rejects(run([...args, '--event-log', p('junk.bin', 'not an event log at all, not even close')]), coded('IMAGE_EVENT_LOG_INVALID'));

    await assert.rejects(run(['measure', '--platform', 'tdx', '--ovmf', fw, '--initrd', initrd]), coded('INPUT_INVALID', '--initrd needs --kernel'));
    await assert.rejects(run(['measure', '--platform', 'tdx', '--ovmf', fw, '--event-log', good]), coded('INPUT_INVALID', '--event-log needs --kernel'));
    await assert.rejects(run(['measure', '--platform', 'tdx', '--ovmf', fw, '--kernel', kernel]), coded('INPUT_INVALID', '--memory'));
    await assert.rejects(run(['measure', '--platform', 'tdx', '--ovmf', fw, '--kernel', kernel, '--memory', 'lots']), coded('INPUT_INVALID', '--memory'));
    await assert.rejects(run(['measure', '--platform', 'tdx', '--ovmf', fw, '--kernel', kernel, '--memory', '2G', '--vcpus', '4']), coded('INPUT_INVALID', 'ACPI'));
    await assert.rejects(run(['measure', '--platform', 'tdx', '--ovmf', fw, '--kernel', kernel, '--memory', '2G', '--acpi-tables', acpi[0]!]), coded('IMAGE_ACPI_TABLES_MISSING'));
    await assert.rejects(run(['measure', '--platform', 'tdx', '--ovmf', fw, '--kernel', initrd, '--memory', '2G']), coded('IMAGE_KERNEL_INVALID'));
    await assert.rejects(run(['measure', '--platform', 'tdx', '--ovmf', fw, '--kernel', kernel, '--memory', '2G', '--boot0000-digest', 'beef', ...args.slice(13)]), coded('INPUT_INVALID', 'Boot0000'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image manifest → image policy; enforce without configfs-tsm refuses and does not start the command', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-cli-image-'));
  try {
    const root = join(dir, 'rootfs');
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/bin/agent'), 'agent');
    writeFileSync(join(root, 'usr/bin/tool'), 'tool');
    const m = join(dir, 'manifest.json');
    const r = await run(['manifest', '--root', root, '--include', 'usr', '--depth', '10', '--out', m]);
    const manifest = parseManifest(readFileSync(m, 'utf8'));
    assert.equal(manifest.components.length, 3);
    assert.match(r.stdout, new RegExp(`SEV-SNP HOST_DATA: ${manifest.hostData.snp}`));

    const meas = 'ab'.repeat(48);
    const p = join(dir, 'policy.json');
    await run(['policy', '--manifest', m, '--platform', 'snp', '--measurement', meas, '--enforcing', '--out', p]);
    const policy = parseImagePolicy(readFileSync(p, 'utf8'));
    assert.deepEqual(policy.measurements, [meas]);
    assert.equal(policy.hostData, manifest.hostData.snp);
    // What `veritee verify --image-policy` reads: strict documents only.
    assert.deepEqual(readImagePolicies([p]), [policy]);
    assert.deepEqual(readImagePolicies(undefined), []);
    writeFileSync(join(dir, 'dup.json'), readFileSync(p, 'utf8').replace('"enforcing": true', '"enforcing": true, "enforcing": true'));
    assert.throws(() => readImagePolicies([join(dir, 'dup.json')]), coded('IMAGE_MANIFEST_INVALID'));
    const warn = await run(['policy', '--manifest', m, '--platform', 'tdx', '--measurement', meas]);
    assert.match(warn.stderr, /without --enforcing/);
    assert.equal(parseImagePolicy(warn.stdout).hostData, manifest.hostData.tdx);

    writeFileSync(join(dir, 'bad.json'), readFileSync(m, 'utf8').replace(manifest.root, '00'.repeat(32)));
    await assert.rejects(run(['policy', '--manifest', join(dir, 'bad.json'), '--platform', 'snp', '--measurement', meas]), coded('IMAGE_MANIFEST_INVALID'));
    await assert.rejects(run(['manifest', '--root', root, '--depth', '12', '--out', m]), coded('INPUT_INVALID', '--depth'));

    const marker = join(dir, 'started');
    await assert.rejects(run(['enforce', '--manifest', m, '--root', root, '--tsm-root', join(dir, 'no-tsm'), 'touch', marker]), coded('IMAGE_EVIDENCE_UNAVAILABLE'));
    mkdirSync(join(dir, 'empty-tsm'));
    await assert.rejects(run(['enforce', '--manifest', m, '--root', root, '--tsm-root', join(dir, 'empty-tsm'), 'touch', marker]), coded('IMAGE_EVIDENCE_UNAVAILABLE', 'provider'));
    assert.equal(existsSync(marker), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image build / boot: bad input is refused before anything is built or booted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-cli-image-boot-'));
  try {
    await assert.rejects(run(['build', '--mode', 'debug']), (e: unknown) => (e as { code?: string }).code === 'commander.invalidArgument');
    await assert.rejects(run(['build', '--mode', 'dev', '--mirror', 'ftp://example.org/debian']), coded('INPUT_INVALID', 'mirror'));
    writeFileSync(join(dir, 'digests.json'), '{"cmdline": 3}');
    await assert.rejects(run(['boot', '--dir', dir]), coded('INPUT_INVALID', 'not a build directory'));
    writeFileSync(join(dir, 'digests.json'), JSON.stringify({ cmdline: 'console=ttyS0', componentRoot: 'ab'.repeat(32) }));
    await assert.rejects(run(['boot', '--dir', dir, '--host-data', 'xyz']), coded('INPUT_INVALID', 'hostData'));
    await assert.rejects(run(['boot', '--dir', dir, '--timeout', '5']), coded('INPUT_INVALID', '--timeout'));
    await assert.rejects(run(['boot', '--dir', dir, '--attack', 'rootkit']), coded('INPUT_INVALID', '--attack'));
    // attack variants are derived beside the build directory (<build>/../variants): keep them in the temp dir
    const build = join(dir, 'a');
    mkdirSync(build);
    writeFileSync(join(build, 'rootfs.squashfs'), new Uint8Array(8192));
    writeFileSync(join(build, 'digests.json'), JSON.stringify({ cmdline: 'console=ttyS0', componentRoot: 'ab'.repeat(32), rootfsSquashfs: 'cd'.repeat(32) }));
    await assert.rejects(run(['boot', '--dir', build, '--attack', 'flipped-root-byte']), coded('IMAGE_BUILD_FAILED', 'not a squashfs'));
    assert.ok(existsSync(join(dir, 'variants')), 'the variant was attempted beside the build, inside the temp dir');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
