/**
 * @module evidence/configfs-tsm
 * A guest-side evidence provider over Linux configfs-tsm
 * (Documentation/ABI/testing/configfs-tsm, Linux ≥ 6.7): create a report entry
 * under /sys/kernel/config/tsm/report, write the 64-byte report data to
 * `inblob`, read `provider` (sev_guest / tdx_guest), `generation`, `outblob`
 * (the SNP attestation report or the TDX quote) and `auxblob` (SNP: the host's
 * certificate table), re-read `generation` to make sure no other writer raced
 * us, and remove the entry. /dev/sev-guest and /dev/tdx_guest need ioctls that
 * Node cannot issue without a native addon; kernels with configfs-tsm expose
 * both platforms through it.
 *
 * The file-system calls go through {@link TsmFs}, so tests can run the protocol
 * against a fake tree; everything read is then parsed and checked for real.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fromHex, quoteInput, toBase64, toHex, VeriteeError } from '@veritee/core';
import { guidFromBytes } from '../guid.js';

export const CONFIGFS_TSM_REPORT = '/sys/kernel/config/tsm/report';
const MAX_BLOB = 1024 * 1024;

/** The file-system operations the provider uses. */
export interface TsmFs {
  mkdir(path: string): void;
  rmdir(path: string): void;
  writeFile(path: string, data: Uint8Array): void;
  readFile(path: string): Uint8Array;
  exists(path: string): boolean;
}

export const nodeTsmFs: TsmFs = {
  mkdir: (p) => fs.mkdirSync(p),
  rmdir: (p) => fs.rmdirSync(p),
  writeFile: (p, d) => fs.writeFileSync(p, d),
  readFile: (p) => {
    const fd = fs.openSync(p, 'r');
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        total += n;
        if (total > MAX_BLOB) throw new VeriteeError('IMAGE_EVIDENCE_INVALID', `${p} is larger than ${MAX_BLOB} bytes`);
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return new Uint8Array(Buffer.concat(chunks));
    } finally {
      fs.closeSync(fd);
    }
  },
  exists: (p) => fs.existsSync(p),
};

export type TsmPlatform = 'snp' | 'tdx';

export interface TsmReport {
  platform: TsmPlatform;
  provider: string;
  /** SNP: the 1184-byte attestation report; TDX: the quote. */
  outblob: Uint8Array;
  /** SNP: the host's certificate table (may be empty). */
  auxblob?: Uint8Array;
  generation: number;
}

export interface ConfigfsTsmOptions {
  /** Default /sys/kernel/config/tsm/report. */
  root?: string;
  fs?: TsmFs;
  /** SNP VMPL to request (privlevel), default 0. */
  privlevel?: number;
}

const PROVIDERS: Record<string, TsmPlatform> = { sev_guest: 'snp', tdx_guest: 'tdx' };

/** Requests one report with `reportData` (64 bytes) through configfs-tsm. */
export function requestTsmReport(reportData: Uint8Array, opts: ConfigfsTsmOptions = {}): TsmReport {
  if (reportData.length !== 64) throw new VeriteeError('INTERNAL', 'report data must be 64 bytes');
  const f = opts.fs ?? nodeTsmFs;
  const root = opts.root ?? CONFIGFS_TSM_REPORT;
  if (!f.exists(root)) {
    throw new VeriteeError('IMAGE_EVIDENCE_UNAVAILABLE', `${quoteInput(root, 120)} does not exist: no configfs-tsm (Linux ≥ 6.7 with the sev-guest or tdx-guest driver, configfs mounted)`);
  }
  const entry = join(root, `veritee-${toHex(randomBytes(8))}`);
  try {
    f.mkdir(entry);
  } catch (e) {
    throw new VeriteeError('IMAGE_EVIDENCE_UNAVAILABLE', `cannot create a report entry under ${quoteInput(root, 120)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const read = (name: string) => {
      try {
        return f.readFile(join(entry, name));
      } catch (e) {
        if (e instanceof VeriteeError) throw e;
        throw new VeriteeError('IMAGE_EVIDENCE_UNAVAILABLE', `cannot read ${name} of the configfs-tsm report: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    const text = (name: string) => new TextDecoder().decode(read(name)).trim();
    if (opts.privlevel !== undefined) f.writeFile(join(entry, 'privlevel'), new TextEncoder().encode(String(opts.privlevel)));
    try {
      f.writeFile(join(entry, 'inblob'), reportData);
    } catch (e) {
      throw new VeriteeError('IMAGE_EVIDENCE_UNAVAILABLE', `cannot write the report data: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const provider = text('provider');
    const platform = PROVIDERS[provider];
    if (!platform) throw new VeriteeError('IMAGE_EVIDENCE_UNAVAILABLE', `configfs-tsm provider ${quoteInput(provider, 40)} is not sev_guest or tdx_guest`);
    const gen = Number(text('generation'));
    const outblob = read('outblob');
    const auxblob = platform === 'snp' && f.exists(join(entry, 'auxblob')) ? read('auxblob') : undefined;
    const gen2 = Number(text('generation'));
    if (!Number.isInteger(gen) || gen !== gen2) throw new VeriteeError('IMAGE_EVIDENCE_INVALID', `the configfs-tsm report entry changed while it was read (generation ${gen} → ${gen2}): another writer raced this request`);
    if (outblob.length === 0) throw new VeriteeError('IMAGE_EVIDENCE_INVALID', 'the configfs-tsm outblob is empty');
    return { platform, provider, outblob, ...(auxblob && auxblob.length ? { auxblob } : {}), generation: gen };
  } finally {
    try {
      f.rmdir(entry);
    } catch {
      // The kernel removes nothing by itself; a stale entry is harmless and holds no secret.
    }
  }
}

/** SNP certificate-table GUIDs (SEV-SNP GHCB spec, "extended guest request"). */
export const SNP_CERT_GUIDS = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
} as const;

/** Parses an SNP certificate table: {GUID, u32 offset, u32 length}…, ended by an all-zero entry. */
export function parseSnpCertTable(table: Uint8Array): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  const dv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  for (let off = 0; ; off += 24) {
    if (off + 24 > table.length) throw new VeriteeError('IMAGE_EVIDENCE_INVALID', 'the SNP certificate table has no terminating entry');
    const guid = guidFromBytes(table.subarray(off, off + 16));
    const o = dv.getUint32(off + 16, true);
    const l = dv.getUint32(off + 20, true);
    if (guid === '00000000-0000-0000-0000-000000000000' && o === 0 && l === 0) break;
    if (o + l > table.length || o < off + 24) throw new VeriteeError('IMAGE_EVIDENCE_INVALID', `SNP certificate table entry ${guid} points outside the table`);
    const name = (Object.keys(SNP_CERT_GUIDS) as (keyof typeof SNP_CERT_GUIDS)[]).find((k) => SNP_CERT_GUIDS[k] === guid) ?? guid;
    out[name] = table.subarray(o, o + l);
  }
  return out;
}

/** The evidence envelope @veritee/attestation verifies, from a configfs-tsm report. */
export function tsmReportToEnvelope(r: TsmReport): Record<string, unknown> {
  if (r.platform === 'tdx') return { platform: 'tdx', evidence: { quote: toBase64(r.outblob) } };
  const certs = r.auxblob ? parseSnpCertTable(r.auxblob) : {};
  const chain: Record<string, string> = {};
  for (const k of ['vcek', 'vlek', 'ask', 'ark'] as const) if (certs[k]) chain[k] = toBase64(certs[k]!);
  return { platform: 'snp', evidence: { attestation_report: toBase64(r.outblob), ...(Object.keys(chain).length ? { cert_chain: chain } : {}) } };
}

export { fromHex };
