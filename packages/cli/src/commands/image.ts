/**
 * @module commands/image
 * `veritee image measure` (predict the SEV-SNP launch measurement / TDX MRTD and
 * RTMR0-2 of a boot configuration, `--explain` for the transcript, `--event-log` to
 * replay a TD event log against the prediction), `image manifest`
 * (the component manifest and its HOST_DATA / MRCONFIGID root), `image policy`
 * (the attestation policy for an image) and `image enforce` (inside the guest:
 * refuse to start workloads unless the files present give the attested root).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { quoteInput, VeriteeError } from '@veritee/core';
import { loadPolicy } from '@veritee/attestation';
import {
  bootImage,
  buildImage,
  buildImagePolicy,
  buildManifest,
  enforceImage,
  measureSnp,
  measureTdx,
  compareTdxEventLog,
  deriveFlippedRootByte,
  deriveTamperedComponent,
  parseTdxEventLog,
  predictTdxRtmrs,
  parseFirmware,
  parseImagePolicy,
  parseManifest,
  parseVmm,
  readBoundedFile,
  VCPU_TYPES,
  VMM_TYPES,
  type ImageManifest,
  type ImagePolicy,
  type ImageDigests,
  type TdxRtmrPrediction,
} from '@veritee/image';

export interface ImageIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const defaultIo: ImageIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

const collect = (v: string, prev: string[] = []) => [...prev, v];

function writeOut(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNWRITABLE', `cannot write ${quoteInput(path, 200)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function readText(path: string, what: string, max = 64 * 1024 * 1024): string {
  return new TextDecoder().decode(readBoundedFile(path, what, max));
}

function intFlag(flag: string, v: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) throw new VeriteeError('INPUT_INVALID', `${flag} ${quoteInput(v, 20)} must be an integer in ${min}..${max}`);
  return Number(v);
}

/** QEMU -m sizes: bytes, or a whole number of M / G (binary). */
export function parseMemory(v: string): number {
  const m = /^([0-9]{1,15})([MG])?$/i.exec(v);
  if (!m) throw new VeriteeError('INPUT_INVALID', `--memory ${quoteInput(v, 30)} must be like 2G, 4096M or a byte count`);
  const n = Number(m[1]);
  return m[2] === undefined ? n : n * (m[2].toUpperCase() === 'G' ? 2 ** 30 : 2 ** 20);
}

/** Image policies named by `veritee verify --image-policy` (strictly parsed). */
export function readImagePolicies(files: string[] | undefined): ImagePolicy[] {
  return (files ?? []).map((f) => parseImagePolicy(readText(f, 'image policy', 16 * 1024 * 1024), `image policy ${quoteInput(f, 200)}`));
}

function readManifest(path: string): ImageManifest {
  return parseManifest(readText(path, 'image manifest'), `image manifest ${quoteInput(path, 200)}`);
}

export function registerImageCommands(program: Command, io: ImageIo = defaultIo): void {
  const image = program.command('image').description('measured VM images: launch measurements, component manifests, policies, enforcement');

  image
    .command('measure')
    .description('predict the launch measurement of a confidential VM (SEV-SNP MEASUREMENT, or TDX MRTD and with --kernel RTMR0-2) from its boot components')
    .addOption(new Option('--platform <p>', 'snp or tdx').choices(['snp', 'tdx']).makeOptionMandatory())
    .option('--ovmf <file>', 'the firmware: OVMF code volume (snp) or TDVF (tdx)')
    .option('--kernel <file>', 'measured direct boot: the kernel (snp: needs an AmdSev OVMF build)')
    .option('--initrd <file>', 'measured direct boot: the initrd')
    .option('--append <cmdline>', 'measured direct boot: the kernel command line')
    .option('--vcpus <n>', 'number of vCPUs (snp: one VMSA each)')
    .option('--vcpu-type <type>', `snp: QEMU vCPU model (${Object.keys(VCPU_TYPES).join(', ')})`)
    .option('--vmm <vmm>', `snp: ${VMM_TYPES.join(', ')}`, 'qemu')
    .option('--guest-features <hex>', 'snp: VMSA SEV_FEATURES', '0x1')
    .addOption(new Option('--page-order <order>', 'tdx: how the VMM adds TDVF pages (QEMU ≥ 9 single-pass, older two-pass)').choices(['single-pass', 'two-pass']).default('single-pass'))
    .option('--memory <size>', 'tdx with --kernel: guest RAM as QEMU -m (e.g. 2G, 4096M); it places the initrd and shapes the TD HOB')
    .option('--acpi-tables <file>', 'tdx RTMR0: the VM\'s fw_cfg etc/acpi/tables')
    .option('--acpi-rsdp <file>', 'tdx RTMR0: the VM\'s fw_cfg etc/acpi/rsdp')
    .option('--acpi-loader <file>', 'tdx RTMR0: the VM\'s fw_cfg etc/table-loader')
    .option('--boot0000-digest <hex>', 'tdx RTMR0: SHA-384 of the Boot0000 variable as the firmware measures it (default: OVMF before edk2-stable202505)')
    .option('--event-log <file>', 'tdx: a TD event log (CCEL, TCG2 format) to replay and compare with the prediction')
    .option('--explain', 'print the transcript: the digest after each component')
    .option('--json', 'machine-readable output (measurement, inputs, transcript)')
    .option('--out <file>', 'also write the JSON result to this file')
    .action((o: { platform: 'snp' | 'tdx'; ovmf?: string; kernel?: string; initrd?: string; append?: string; vcpus?: string; vcpuType?: string; vmm: string; guestFeatures: string; pageOrder: 'single-pass' | 'two-pass'; memory?: string; acpiTables?: string; acpiRsdp?: string; acpiLoader?: string; boot0000Digest?: string; eventLog?: string; explain?: boolean; json?: boolean; out?: string }) => {
      if (!o.ovmf) throw new VeriteeError('INPUT_INVALID', '--ovmf <file> is required: the firmware the VM boots');
      let result: { measurement?: string; transcript: { component: string; digestAfter?: string }[] } & Record<string, unknown>;
      if (o.platform === 'snp') {
        if (o.vcpus === undefined) throw new VeriteeError('INPUT_INVALID', '--vcpus <n> is required for snp: each vCPU adds a VMSA to the measurement');
        const vcpus = intFlag('--vcpus', o.vcpus, 1, 512);
        if (!/^(0x)?[0-9a-fA-F]{1,16}$/.test(o.guestFeatures)) throw new VeriteeError('INPUT_INVALID', `--guest-features ${quoteInput(o.guestFeatures, 30)} must be hex`);
        const vmm = parseVmm(o.vmm);
        const firmware = parseFirmware(readBoundedFile(o.ovmf, 'firmware', 64 * 1024 * 1024), `firmware ${quoteInput(o.ovmf, 200)}`);
        result = measureSnp({
          firmware,
          vcpus,
          vmm,
          guestFeatures: BigInt(o.guestFeatures.startsWith('0x') ? o.guestFeatures : '0x' + o.guestFeatures),
          ...(o.vcpuType !== undefined ? { vcpuType: o.vcpuType } : {}),
          ...(o.kernel !== undefined ? { kernel: readBoundedFile(o.kernel, 'kernel') } : {}),
          ...(o.initrd !== undefined ? { initrd: readBoundedFile(o.initrd, 'initrd') } : {}),
          ...(o.append !== undefined ? { append: o.append } : {}),
        }) as never;
      } else {
        for (const [flag, v] of [['--vcpu-type', o.vcpuType], ['--vcpus', o.vcpus]] as const) {
          if (v !== undefined) throw new VeriteeError('INPUT_INVALID', `${flag} is not used for tdx: the vCPUs enter RTMR0 through the ACPI tables (--acpi-tables)`);
        }
        if (o.kernel === undefined) {
          for (const [flag, v] of [['--initrd', o.initrd], ['--append', o.append], ['--memory', o.memory], ['--acpi-tables', o.acpiTables], ['--acpi-rsdp', o.acpiRsdp], ['--acpi-loader', o.acpiLoader], ['--boot0000-digest', o.boot0000Digest], ['--event-log', o.eventLog]] as const) {
            if (v !== undefined) throw new VeriteeError('INPUT_INVALID', `${flag} needs --kernel: RTMRs are predicted for a direct-boot TD (TDVF + kernel + initrd + command line)`);
          }
        }
        const firmware = parseFirmware(readBoundedFile(o.ovmf, 'TDVF firmware', 64 * 1024 * 1024), `TDVF ${quoteInput(o.ovmf, 200)}`);
        const mrtd = measureTdx({ firmware, pageOrder: o.pageOrder });
        let rtmrs: TdxRtmrPrediction | undefined;
        let replay: ReturnType<typeof compareTdxEventLog> | undefined;
        if (o.kernel !== undefined) {
          if (o.memory === undefined) throw new VeriteeError('INPUT_INVALID', '--memory <size> is required with --kernel for tdx: QEMU places the initrd (patched into the measured kernel) by guest RAM');
          const acpiFiles = [o.acpiTables, o.acpiRsdp, o.acpiLoader];
          const given = acpiFiles.filter((f) => f !== undefined).length;
          if (given !== 0 && given !== 3) throw new VeriteeError('IMAGE_ACPI_TABLES_MISSING', 'RTMR0 needs all three of --acpi-tables, --acpi-rsdp and --acpi-loader (the VM\'s fw_cfg files)');
          rtmrs = predictTdxRtmrs({
            firmware,
            kernel: readBoundedFile(o.kernel, 'kernel'),
            memoryBytes: parseMemory(o.memory),
            ...(o.initrd !== undefined ? { initrd: readBoundedFile(o.initrd, 'initrd') } : {}),
            ...(o.append !== undefined ? { append: o.append } : {}),
            ...(given === 3
              ? { acpi: { tables: readBoundedFile(o.acpiTables!, 'ACPI tables', 16 * 1024 * 1024), rsdp: readBoundedFile(o.acpiRsdp!, 'ACPI RSDP', 1024 * 1024), loader: readBoundedFile(o.acpiLoader!, 'ACPI table loader', 16 * 1024 * 1024) } }
              : {}),
            ...(o.boot0000Digest !== undefined ? { boot0000Digest: o.boot0000Digest } : {}),
          });
          if (o.eventLog !== undefined) replay = compareTdxEventLog(rtmrs, parseTdxEventLog(readBoundedFile(o.eventLog, 'TDX event log', 16 * 1024 * 1024)));
        }
        result = { ...mrtd, ...(rtmrs ? { rtmrs } : {}), ...(replay ? { eventLog: replay } : {}) } as never;
        const json = JSON.stringify(result, null, 2) + '\n';
        if (o.out) writeOut(o.out, json);
        if (o.json) return io.stdout(json);
        if (o.explain) {
          for (const s of mrtd.transcript) io.stdout(`MRTD  ${s.component.padEnd(14)} gpa ${s.gpa.padEnd(12)} ${String(s.pagesAdded).padStart(5)} page(s) added, ${String(s.chunksExtended).padStart(6)} chunk(s) extended${s.input ? `  ${s.input}` : ''}\n`);
          for (const e of rtmrs?.events ?? []) io.stdout(`RTMR${e.rtmr} ${e.event}\n      digest ${e.digest}\n      → ${e.after}\n`);
        }
        io.stdout(`TDX MRTD: ${mrtd.mrtd}\n`);
        if (rtmrs) {
          io.stdout(rtmrs.rtmr0 ? `TDX RTMR0: ${rtmrs.rtmr0}\n` : 'TDX RTMR0: not predicted (it covers the VM\'s ACPI tables: give --acpi-tables, --acpi-rsdp and --acpi-loader)\n');
          io.stdout(`TDX RTMR1: ${rtmrs.rtmr1}\nTDX RTMR2: ${rtmrs.rtmr2}\n`);
          if (rtmrs.inputs.initrdAddress) io.stdout(`  (initrd placed at ${rtmrs.inputs.initrdAddress} for ${rtmrs.inputs.memoryBytes} bytes of RAM; measured command line ${JSON.stringify(rtmrs.inputs.measuredCmdline)})\n`);
        }
        if (replay) io.stdout(`TDX event log: ${replay.events} events replayed; RTMR${replay.compared.join(', RTMR')} match the prediction\n`);
        return;
      }
      const json = JSON.stringify(result, null, 2) + '\n';
      if (o.out) writeOut(o.out, json);
      if (o.json) return io.stdout(json);
      if (o.explain) {
        for (const s of result.transcript as unknown as Record<string, unknown>[]) {
          const input = s.input ? `  ${String(s.input)}` : '';
          io.stdout(`${String(s.component).padEnd(36)} ${String(s.pageType).padEnd(10)} gpa ${String(s.gpa).padEnd(14)} ${String(s.pages).padStart(5)} page(s)${input}\n    → ${String(s.digestAfter)}\n`);
        }
      }
      io.stdout(`SEV-SNP launch measurement: ${String(result.measurement)}\n`);
    });

  image
    .command('manifest')
    .description("build an image's component manifest (every file and symlink in scope, SHA-256 each) and its component-tree root for HOST_DATA / MRCONFIGID")
    .requiredOption('--root <dir>', 'the image root file system (a directory)')
    .option('--include <path>', 'a path to cover, relative to the root (repeatable; default everything)', collect)
    .option('--exclude <path>', 'a path to leave out (repeatable), e.g. var, tmp, proc', collect)
    .option('--depth <d>', 'tree depth: 10 or 20', '20')
    .requiredOption('--out <file>', 'where to write the manifest (JSON)')
    .action((o: { root: string; include?: string[]; exclude?: string[]; depth: string; out: string }) => {
      const depth = o.depth === '10' ? 10 : o.depth === '20' ? 20 : NaN;
      if (Number.isNaN(depth)) throw new VeriteeError('INPUT_INVALID', `--depth ${quoteInput(o.depth, 10)} must be 10 or 20`);
      const t0 = Date.now();
      const m = buildManifest(o.root, { include: o.include ?? [], exclude: o.exclude ?? [] }, { depth });
      writeOut(o.out, JSON.stringify(m, null, 1) + '\n');
      io.stdout(
        [
          `components: ${m.components.length} (scope: include ${m.scope.include.map((p) => p || '/').join(', ')}${m.scope.exclude.length ? `; exclude ${m.scope.exclude.join(', ')}` : ''}) in ${Date.now() - t0} ms`,
          `root: ${m.root}`,
          `SEV-SNP HOST_DATA: ${m.hostData.snp}`,
          `TDX MRCONFIGID:    ${m.hostData.tdx}`,
          `manifest written to ${o.out}`,
        ].join('\n') + '\n',
      );
    });

  image
    .command('policy')
    .description('emit the attestation policy of an image: accepted launch measurements + the HOST_DATA / MRCONFIGID its manifest requires')
    .requiredOption('--manifest <file>', 'the image manifest (veritee image manifest)')
    .addOption(new Option('--platform <p>', 'snp or tdx').choices(['snp', 'tdx']).makeOptionMandatory())
    .option('--measurement <hex>', 'an accepted launch measurement (repeatable)', collect)
    .option('--measurement-file <file>', 'a `veritee image measure --json` result (repeatable)', collect)
    .option('--enforcing', 'assert that the image runs `veritee image enforce` before any workload (required for inclusion proofs to count)')
    .option('--out <file>', 'write the policy here instead of stdout')
    .action((o: { manifest: string; platform: 'snp' | 'tdx'; measurement?: string[]; measurementFile?: string[]; enforcing?: boolean; out?: string }) => {
      const manifest = readManifest(o.manifest);
      const measurements = [...(o.measurement ?? [])];
      for (const f of o.measurementFile ?? []) {
        const v = JSON.parse(readText(f, 'measurement result', 16 * 1024 * 1024)) as { measurement?: unknown; mrtd?: unknown; platform?: unknown };
        const m = o.platform === 'snp' ? v.measurement : v.mrtd;
        if (v.platform !== o.platform || typeof m !== 'string') throw new VeriteeError('IMAGE_MANIFEST_INVALID', `${quoteInput(f, 200)} is not a ${o.platform} result of veritee image measure --json`);
        measurements.push(m);
      }
      const policy = buildImagePolicy({ manifest, platform: o.platform, measurements, enforcing: o.enforcing === true });
      const text = JSON.stringify(policy, null, 2) + '\n';
      if (!policy.enforcing) io.stderr('warning: without --enforcing, inclusion proofs against this image are refused (its HOST_DATA root is chosen by the host)\n');
      if (o.out) {
        writeOut(o.out, text);
        io.stdout(`policy written to ${o.out} (${policy.measurements.length} measurement(s), ${policy.platform === 'snp' ? 'HOST_DATA' : 'MRCONFIGID'} ${policy.hostData.slice(0, 16)}…)\n`);
      } else io.stdout(text);
    });

  image
    .command('enforce')
    .description('inside the measured guest: refuse to start unless the files present give the HOST_DATA / MRCONFIGID root the platform attests; then run the command after --')
    .requiredOption('--manifest <file>', 'the image manifest (its scope and depth are used; the decision compares disk with the attested root)')
    .option('--root <dir>', 'the image root file system', '/')
    .option('--tsm-root <dir>', 'configfs-tsm report directory', '/sys/kernel/config/tsm/report')
    .option('--policy <file>', 'also require the launch measurement to be one of this image policy')
    .option('--attestation-policy <file>', 'also verify the report signature chain and TCB under this attestation policy (YAML/JSON)')
    .argument('[command...]', 'the workload to start when the image matches')
    .action(async (command: string[], o: { manifest: string; root: string; tsmRoot: string; policy?: string; attestationPolicy?: string }) => {
      const manifest = readManifest(o.manifest);
      const imagePolicy = o.policy ? parseImagePolicy(readText(o.policy, 'image policy'), `image policy ${quoteInput(o.policy, 200)}`) : undefined;
      const verify = o.attestationPolicy ? { policy: loadPolicy(o.attestationPolicy), at: new Date() } : undefined;
      const r = await enforceImage({ manifest, root: o.root, tsm: { root: o.tsmRoot }, ...(imagePolicy ? { imagePolicy } : {}), ...(verify ? { verify } : {}) });
      for (const c of r.checks) io.stderr(`  ✓ ${c.name}: ${c.detail}\n`);
      io.stderr(`image enforced: ${r.components} components match the attested root ${r.root}\n`);
      if (command.length === 0) return;
      const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit' });
      const status = await new Promise<number>((resolve, reject) => {
        child.on('error', (e) => reject(new VeriteeError('INPUT_INVALID', `cannot start ${quoteInput(command[0]!, 120)}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
        child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
      });
      process.exitCode = status;
    });

  image
    .command('build')
    .description('build the measured VM image reproducibly from Debian packages (mmdebstrap, squashfs + dm-verity, static init), twice, comparing digests')
    .addOption(new Option('--mode <mode>', 'production (no shell, no package manager) or dev (labelled on the measured command line)').choices(['production', 'dev']).default('production'))
    .option('--once', 'build once (no reproducibility comparison)')
    .option('--cache-dir <dir>', 'where builds are kept (default ~/.cache/veritee/image)')
    .option('--suite <suite>', 'Debian suite', 'trixie')
    .option('--mirror <url>', 'Debian mirror', 'http://deb.debian.org/debian')
    .option('--json', 'print the artifacts and digests as JSON')
    .action(async (o: { mode: 'production' | 'dev'; once?: boolean; cacheDir?: string; suite: string; mirror: string; json?: boolean }) => {
      const a = await buildImage({ mode: o.mode, twice: o.once !== true, suite: o.suite, mirror: o.mirror, ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}), log: (s) => io.stderr(`${s}\n`) });
      if (o.json) return io.stdout(JSON.stringify(a, null, 2) + '\n');
      io.stdout(
        [
          `${a.built ? `built (${a.buildSeconds.map((s) => `${s.toFixed(0)} s`).join(' + ')}${o.once ? '' : ', two builds with identical digests'})` : 'cached build'}: ${a.dir}`,
          ...(['vmlinuz', 'initrd', 'squashfs', 'verity'] as const).map((k) => `${k.padEnd(9)} ${String(a.sizes[k]).padStart(10)} bytes  sha256 ${a.digests[k === 'initrd' ? 'initrd' : k === 'squashfs' ? 'rootfsSquashfs' : k === 'verity' ? 'rootfsVerity' : 'vmlinuz']}`),
          `dm-verity root hash ${a.digests.verityRootHash}`,
          `component-tree root (HOST_DATA) ${a.digests.componentRoot} over ${a.digests.components} components`,
          `kernel command line: ${a.cmdline}`,
        ].join('\n') + '\n',
      );
    });

  image
    .command('boot')
    .description('boot a built image under QEMU (no SEV/TDX here: a dev image simulates the TEE with --host-data) and print its console')
    .requiredOption('--dir <dir>', 'a build directory of veritee image build (holds vmlinuz, initrd.cpio, rootfs.squashfs, rootfs.verity, digests.json)')
    .option('--host-data <hex>', 'the HOST_DATA the host chooses (64 hex digits; default the image\'s own component root)')
    .option('--timeout <s>', 'seconds before the guest is stopped', '300')
    .option('--attack <kind>', 'boot a derived attack instead: tampered-component (usr/lib/os-release changed, manifest root kept) or flipped-root-byte (one squashfs byte flipped, verity hash kept); the image must refuse it')
    .action(async (o: { dir: string; hostData?: string; timeout: string; attack?: string }) => {
      const d = JSON.parse(readText(join(o.dir, 'digests.json'), 'image digests', 1024 * 1024)) as ImageDigests;
      if (typeof d.cmdline !== 'string' || typeof d.componentRoot !== 'string') throw new VeriteeError('INPUT_INVALID', `${quoteInput(o.dir, 200)} is not a build directory of veritee image build`);
      if (o.attack !== undefined && o.attack !== 'tampered-component' && o.attack !== 'flipped-root-byte') throw new VeriteeError('INPUT_INVALID', `--attack ${quoteInput(o.attack, 40)} must be tampered-component or flipped-root-byte`);
      const timeoutMs = intFlag('--timeout', o.timeout, 10, 3600) * 1000;
      let parts = { vmlinuz: join(o.dir, 'vmlinuz'), initrd: join(o.dir, 'initrd.cpio'), squashfs: join(o.dir, 'rootfs.squashfs'), verity: join(o.dir, 'rootfs.verity'), cmdline: d.cmdline };
      if (o.attack !== undefined) {
        const base = { ...parts, dir: o.dir, manifest: join(o.dir, 'manifest.json'), digests: d, sizes: { vmlinuz: 0, initrd: 0, squashfs: 0, verity: 0 }, built: false, buildSeconds: [] };
        const v = o.attack === 'tampered-component' ? await deriveTamperedComponent(base, 'usr/lib/os-release', (s) => io.stderr(`${s}\n`)) : deriveFlippedRootByte(base);
        io.stderr(`attack ${v.name}: ${v.change} (${v.dir})\n`);
        parts = { vmlinuz: v.vmlinuz, initrd: v.initrd, squashfs: v.squashfs, verity: v.verity, cmdline: v.cmdline };
      }
      const r = await bootImage({ ...parts, hostData: o.hostData ?? d.componentRoot, timeoutMs });
      io.stdout(r.console);
      io.stderr(`guest powered off after ${r.seconds.toFixed(1)} s (${r.accel})\n`);
      if (!/veritee-image: ENFORCED/.test(r.console)) process.exitCode = 1;
    });
}
