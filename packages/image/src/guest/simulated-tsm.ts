/**
 * @module guest/simulated-tsm
 * DEVELOPMENT ONLY: an in-memory configfs-tsm (the kernel's report interface) answered
 * by the simulated TEE's signed SEV-SNP reports carrying `hostData`. A development image
 * uses it when the platform has no configfs-tsm (QEMU without SEV); a production image
 * never does.
 */
import type { SimulatedTee } from '@veritee/attestation';
import type { ConfigfsTsmOptions, TsmFs } from '../evidence/configfs-tsm.js';

/** An in-memory configfs-tsm answered by the simulated TEE with `hostData`. */
export function simulatedTsm(tee: SimulatedTee, hostData: Uint8Array): ConfigfsTsmOptions {
  const files = new Map<string, Uint8Array>();
  const enc = (s: string) => new TextEncoder().encode(s);
  const root = '/run/veritee-simulated-tsm';
  const fs: TsmFs = {
    exists: (p) => p === root || files.has(p),
    mkdir: (p) => {
      files.set(`${p}/provider`, enc('sev_guest\n'));
      files.set(`${p}/generation`, enc('0\n'));
    },
    rmdir: (p) => {
      for (const k of [...files.keys()]) if (k.startsWith(`${p}/`)) files.delete(k);
    },
    writeFile: (p, data) => {
      if (!p.endsWith('/inblob')) return;
      const dir = p.slice(0, -'/inblob'.length);
      const env = tee.evidence('snp', { reportData: data, hostData }) as unknown as { evidence: { attestation_report: string } };
      files.set(`${dir}/outblob`, new Uint8Array(Buffer.from(env.evidence.attestation_report, 'base64')));
      files.set(`${dir}/generation`, enc('1\n'));
    },
    readFile: (p) => {
      const f = files.get(p);
      if (!f) throw Object.assign(new Error(`${p}: no such file`), { code: 'ENOENT' });
      return f;
    },
  };
  return { root, fs };
}

