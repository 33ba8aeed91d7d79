/**
 * @module guest/main
 * The program the measured image's init runs (bundled into
 * /usr/lib/veritee/veritee-guest.mjs, executed by the image's own Node.js):
 *
 *   boot    enforce the component tree (`enforceImage`) against the HOST_DATA the
 *           platform attests, then start the workload (`agent`) and return its status;
 *           refuse, with the error code on the console, when it does not match.
 *   agent   the workload: a minimal stand-in for the veritee agent (it reports that it
 *           started, with the enforced root) that only ever runs after enforcement passed.
 *
 * Evidence: configfs-tsm when the platform has it (SEV-SNP / TDX guests). Without it a
 * production image refuses (IMAGE_EVIDENCE_UNAVAILABLE). A DEVELOPMENT image
 * (veritee.mode=dev on the measured kernel command line) falls back to a SIMULATED TEE
 * whose HOST_DATA is what the host put in QEMU's fw_cfg entry opt/veritee/host_data —
 * like the real HOST_DATA chosen by the host at launch and not covered by the launch
 * measurement — answered with the simulator's signed reports; it says so on the console.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex, toVeriteeError, VeriteeError } from '@veritee/core';
import { SimulatedTee } from '@veritee/attestation';
import { enforceImage } from '../enforce.js';
import { parseManifest } from '../manifest.js';
import { simulatedTsm } from './simulated-tsm.js';

export const GUEST_MANIFEST = '/etc/veritee/manifest.json';
export const FW_CFG_HOST_DATA = '/sys/firmware/qemu_fw_cfg/by_name/opt/veritee/host_data/raw';

const log = (s: string) => process.stdout.write(`${s}\n`);

function kernelParam(cmdline: string, key: string): string | undefined {
  for (const w of cmdline.split(/\s+/)) if (w.startsWith(`${key}=`)) return w.slice(key.length + 1);
  return undefined;
}

async function boot(): Promise<number> {
  const cmdline = readFileSync('/proc/cmdline', 'utf8');
  const mode = kernelParam(cmdline, 'veritee.mode');
  if (mode !== 'production' && mode !== 'dev') throw new VeriteeError('IMAGE_MANIFEST_INVALID', 'veritee.mode is not production or dev on the kernel command line');
  const manifest = parseManifest(readFileSync(GUEST_MANIFEST, 'utf8'), GUEST_MANIFEST);
  log(`veritee-image: mode ${mode}; enforcing ${manifest.components.length} components, scope ${JSON.stringify(manifest.scope)}, manifest root ${manifest.root}`);
  const t0 = Date.now();
  let r;
  try {
    r = await enforceImage({ manifest, root: '/' });
  } catch (e) {
    // Only a development image, and only when the platform has no usable configfs-tsm.
    if (mode !== 'dev' || !(e instanceof VeriteeError) || e.code !== 'IMAGE_EVIDENCE_UNAVAILABLE') throw e;
    if (!existsSync(FW_CFG_HOST_DATA)) throw new VeriteeError('IMAGE_EVIDENCE_UNAVAILABLE', `development image: ${e.message}; and no fw_cfg ${FW_CFG_HOST_DATA} to simulate HOST_DATA from`);
    const text = readFileSync(FW_CFG_HOST_DATA, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new VeriteeError('IMAGE_EVIDENCE_INVALID', 'the fw_cfg host_data is not 64 hex digits');
    log(`veritee-image: DEVELOPMENT IMAGE: no usable configfs-tsm (${e.message}); using a SIMULATED TEE with the host-chosen HOST_DATA from fw_cfg`);
    const tee = await SimulatedTee.create({ platforms: ['snp'] });
    r = await enforceImage({ manifest, root: '/', tsm: simulatedTsm(tee, fromHex(text)) });
  }
  log(`veritee-image: ENFORCED ${r.components} components match the attested ${r.platform} root ${r.root} (${r.provider}, ${Date.now() - t0} ms)`);
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'agent'], { stdio: 'inherit', env: { ...process.env, VERITEE_IMAGE_ROOT: r.root, VERITEE_IMAGE_MODE: mode } });
  return await new Promise<number>((resolve) => {
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function agent(): Promise<number> {
  // No network: the init brings no interface up (not even loopback).
  log(`veritee-agent: started (pid ${process.pid}), mode ${process.env['VERITEE_IMAGE_MODE'] ?? '?'}, component root ${process.env['VERITEE_IMAGE_ROOT'] ?? '?'}`);
  return 0;
}

async function main(): Promise<void> {
  const cmd = process.argv[2];
  try {
    if (cmd === 'boot') process.exitCode = await boot();
    else if (cmd === 'agent') process.exitCode = await agent();
    else {
      log('usage: veritee-guest.mjs boot|agent');
      process.exitCode = 2;
    }
  } catch (e) {
    const err = toVeriteeError(e);
    log(`veritee-image: REFUSED ${err.code}: ${err.message}`);
    log('veritee-image: the workload was not started');
    process.exitCode = err.info.exit;
  }
}

await main();
