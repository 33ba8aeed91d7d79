/**
 * @module build/boot
 * Boots a built image under QEMU (software emulation, TCG; KVM only when asked):
 * direct kernel boot of vmlinuz + initrd.cpio with the measured command line, the
 * squashfs root and its verity tree as two read-only virtio disks, and the host-chosen
 * HOST_DATA (for the development image's simulated TEE) in the fw_cfg entry
 * opt/veritee/host_data. The serial console is collected (bounded) until the guest
 * powers off; there is no SEV or TDX here, so no launch measurement is checked by QEMU.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { VeriteeError } from '@veritee/core';
import { ensureTools } from './image-build.js';

export interface BootOptions {
  vmlinuz: string;
  initrd: string;
  squashfs: string;
  verity: string;
  cmdline: string;
  /** SEV-SNP HOST_DATA the host chooses (64 hex digits), handed over by fw_cfg. */
  hostData?: string;
  memoryMiB?: number;
  /** Use KVM (default: software emulation, TCG). */
  kvm?: boolean;
  timeoutMs?: number;
}

export interface BootResult {
  console: string;
  /** QEMU's exit status (0 when the guest powered off). */
  status: number | null;
  seconds: number;
  accel: 'kvm' | 'tcg';
}

const MAX_CONSOLE = 2 * 1024 * 1024;

export async function bootImage(o: BootOptions): Promise<BootResult> {
  ensureTools([{ cmd: 'qemu-system-x86_64', pkg: 'qemu-system-x86' }], 'IMAGE_BOOT_FAILED');
  if (o.hostData !== undefined && !/^[0-9a-f]{64}$/.test(o.hostData)) throw new VeriteeError('INPUT_INVALID', 'hostData must be 64 lowercase hex digits');
  if (/[,\n]/.test(o.squashfs + o.verity)) throw new VeriteeError('INPUT_INVALID', 'image paths must not contain commas or newlines');
  // KVM only when asked: a /dev/kvm that opens is no proof that it works (here it hangs the guest).
  const kvm = o.kvm === true;
  if (kvm) {
    try {
      accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch {
      throw new VeriteeError('IMAGE_BOOT_FAILED', '/dev/kvm is not usable');
    }
  }
  const args = [
    '-machine', 'q35', ...(kvm ? ['-cpu', 'host'] : []), '-accel', kvm ? 'kvm' : 'tcg', '-m', String(o.memoryMiB ?? 1024),
    '-nodefaults', '-no-reboot', '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
    '-kernel', o.vmlinuz, '-initrd', o.initrd, '-append', o.cmdline,
    '-drive', `file=${o.squashfs},format=raw,if=virtio,readonly=on`,
    '-drive', `file=${o.verity},format=raw,if=virtio,readonly=on`,
    ...(o.hostData ? ['-fw_cfg', `name=opt/veritee/host_data,string=${o.hostData}`] : []),
  ];
  const t0 = Date.now();
  const child = spawn('qemu-system-x86_64', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const take = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > MAX_CONSOLE) out = out.slice(out.length - MAX_CONSOLE);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const timeoutMs = o.timeoutMs ?? 420_000;
  return await new Promise<BootResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new VeriteeError('IMAGE_BOOT_FAILED', `the guest did not power off within ${timeoutMs / 1000} s; console head: ${out.slice(0, 1500)}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new VeriteeError('IMAGE_BOOT_FAILED', `cannot start qemu-system-x86_64: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ console: out.replace(/\r/g, ''), status, seconds: (Date.now() - t0) / 1000, accel: kvm ? 'kvm' : 'tcg' });
    });
  });
}
