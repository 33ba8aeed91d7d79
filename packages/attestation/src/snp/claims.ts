/**
 * @module snp/claims
 * Normalised claims from a parsed SEV-SNP report and the certificate chain that was
 * checked. Pure mapping: no verification happens here.
 */
import { toHex } from '@veritee/core';
import type { Claims, TcbComponent } from '../types.js';
import type { AmdCert, AmdExtensions } from './certs.js';
import { snpReportToJson, u64Hex, type SnpReport, type SnpTcbVersion } from './parse.js';

/** TCB components in a fixed order: bootloader, tee, snp, microcode[, fmc]. */
export function tcbComponents(t: SnpTcbVersion): TcbComponent[] {
  const out: TcbComponent[] = [
    { name: 'bootloader', value: t.bootloader },
    { name: 'tee', value: t.tee },
    { name: 'snp', value: t.snp },
    { name: 'microcode', value: t.microcode },
  ];
  if (t.fmc !== undefined) out.push({ name: 'fmc', value: t.fmc });
  return out;
}

export interface SnpClaimContext {
  signer: 'vcek' | 'vlek';
  /** Product the chain verified under, else the CPUID product, else 'unknown'. */
  product: string;
  simulated: boolean;
  /** Certificates that were checked, leaf first (only the leaf when no chain was found). */
  chain: AmdCert[];
  leafExtensions?: AmdExtensions;
}

export function buildSnpClaims(r: SnpReport, ctx: SnpClaimContext): Claims {
  const platformData: Record<string, unknown> = snpReportToJson(r);
  const leaf = ctx.chain[0];
  if (leaf) {
    const ext = ctx.leafExtensions;
    const cert: Record<string, unknown> = {
      subject: leaf.subject,
      issuer: leaf.issuer,
      serial: leaf.serialHex,
      notBefore: leaf.notBefore.toISOString(),
      notAfter: leaf.notAfter.toISOString(),
      sha256: leaf.fingerprint,
    };
    if (ext?.productName !== undefined) cert['productName'] = ext.productName;
    if (ext?.cspId !== undefined) cert['cspId'] = ext.cspId;
    platformData['leafCertificate'] = cert;
  }
  return {
    platform: 'snp',
    simulated: ctx.simulated,
    measurement: toHex(r.measurement),
    measurements: {},
    reportData: toHex(r.reportData),
    hostData: toHex(r.hostData),
    tcb: { components: tcbComponents(r.reportedTcb) },
    debug: r.policy.debug,
    vmpl: r.vmpl,
    attributes: u64Hex(r.policy.raw),
    chipId: toHex(r.chipId),
    signer: ctx.signer,
    product: ctx.product,
    certChain: ctx.chain.map((c) => c.subject),
    version: r.version,
    platformData,
  };
}
