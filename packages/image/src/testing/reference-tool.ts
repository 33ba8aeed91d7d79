/**
 * @module testing/reference-tool
 * The reference tools the vectors are cross-checked with, installed on demand
 * into ~/.cache/veritee (never skipped): PyPI's sev-snp-measure in a venv, and
 * Debian's ovmf package for the real firmware files.
 */
import { aptInstall } from '@veritee/core/apt';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const SEV_SNP_MEASURE_VERSION = '0.0.13';
export const VENV = join(homedir(), '.cache', 'veritee', 'venv');
export const DEBIAN_OVMF_CODE_4M = '/usr/share/OVMF/OVMF_CODE_4M.fd';

/** Path of the sev-snp-measure script, installing it with pip when missing. */
export function ensureSevSnpMeasure(): string {
  const bin = join(VENV, 'bin', 'sev-snp-measure');
  if (existsSync(bin)) return bin;
  mkdirSync(join(homedir(), '.cache', 'veritee'), { recursive: true });
  if (!existsSync(join(VENV, 'bin', 'python'))) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(join(VENV, 'bin', 'pip'), ['install', '-q', `sev-snp-measure==${SEV_SNP_MEASURE_VERSION}`], { stdio: 'inherit' });
  return bin;
}

/** Installs Debian's ovmf package when its code volume is missing (as root). */
export function ensureDebianOvmf(): string {
  if (existsSync(DEBIAN_OVMF_CODE_4M)) return DEBIAN_OVMF_CODE_4M;
  const r = aptInstall(['ovmf']);
  if (!r.ok || !existsSync(DEBIAN_OVMF_CODE_4M)) throw new Error('could not install Debian ovmf (apt-get install -y ovmf)');
  return DEBIAN_OVMF_CODE_4M;
}

export interface ToolArgs {
  ovmf: string;
  vcpus: number;
  vcpuType?: string;
  vmm: 'qemu' | 'ec2' | 'gce';
  guestFeatures?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
}

/** Runs sev-snp-measure in snp mode; returns its hex measurement or its error output. */
export function runSevSnpMeasure(bin: string, a: ToolArgs, cwd: string): { ok: true; measurement: string } | { ok: false; error: string } {
  const args = ['--mode', 'snp', '--vcpus', String(a.vcpus), '--vmm-type', a.vmm === 'qemu' ? 'QEMU' : a.vmm, '--ovmf', a.ovmf];
  if (a.vcpuType) args.push('--vcpu-type', a.vcpuType);
  if (a.guestFeatures) args.push('--guest-features', a.guestFeatures);
  if (a.kernel) args.push('--kernel', a.kernel);
  if (a.initrd) args.push('--initrd', a.initrd);
  if (a.append !== undefined) args.push('--append', a.append);
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, error: (r.stderr || r.stdout).trim().split('\n').pop() ?? 'failed' };
  const m = /([0-9a-f]{96})\s*$/.exec(r.stdout);
  if (!m) return { ok: false, error: `unexpected output: ${r.stdout.slice(0, 200)}` };
  return { ok: true, measurement: m[1]! };
}
