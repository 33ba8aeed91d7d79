/**
 * @module testing/envelopes
 * Test-only: the real fixtures of `packages/attestation/test/fixtures` wrapped in evidence
 * envelopes, with the verification times their README states.
 */
import { readFileSync } from 'node:fs';
import { fromUtf8, toBase64 } from '@veritee/core';
import type { EvidenceEnvelope } from '../types.js';
import { fixturePath, readFixture } from './fixtures.js';

/** Verification times from the fixture README. */
export const FIXTURE_TIMES = {
  snp: new Date('2025-06-01T00:00:00Z'),
  vlekExpired: new Date('2026-11-21T00:00:00Z'),
  tdxV4: new Date('2025-06-25T00:00:00Z'),
  tdxV4Expired: new Date('2026-11-21T00:00:00Z'),
  tdxV5Outdated: new Date('2026-03-01T00:00:00Z'),
  tdxDebug: new Date('2026-03-20T00:00:00Z'),
  nvidia: new Date('2025-06-01T00:00:00Z'),
} as const;

/** Launch measurements / MRTDs / fixture facts used by test policies. */
export const FIXTURE_FACTS = {
  milanMeasurement: 'a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c',
  vlekMeasurement: '8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0',
  debugPolicyMeasurement: 'b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01',
  phalaV4Mrtd: '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7',
  phalaV4Rtmr0: '44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0',
  nvidiaNonce: '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb',
  nvidiaBlock2: '8048dfd18fe229bf16eb9d30cca0f11a24dafe6eb731de1462984645a0b189b77c4e4e17de727a5e19e3d07de51da338',
} as const;

export function snpFixture(name: 'milan-v2' | 'vlek-v3' | 'debug-policy'): EvidenceEnvelope {
  const report = readFixture(`snp/${name}-report.bin`);
  const signer = name === 'vlek-v3' ? 'vlek' : 'vcek';
  const cert = readFixture(`snp/${name}-${signer}.der`);
  return { platform: 'snp', evidence: { attestation_report: toBase64(report), cert_chain: { [signer]: toBase64(cert) } } };
}

/** The SNP milan report with a VCEK that does not chain to AMD. */
export function snpWithInvalidVcek(which: 'legacy' | 'new'): EvidenceEnvelope {
  const env = snpFixture('milan-v2');
  (env.evidence as { cert_chain: Record<string, string> }).cert_chain = { vcek: toBase64(readFixture(`snp/invalid-vcek-${which}.der`)) };
  return env;
}

function intelPcsFiles(): Record<string, unknown> {
  const dir = 'tdx/intel-pcs-50806f000000';
  const text = (f: string) => readFileSync(fixturePath(`${dir}/${f}`), 'utf8');
  return {
    tcbInfo: text('tcb_info_50806f000000.json'),
    qeIdentity: text('td_qe_identity.json'),
    tcbInfoIssuerChain: text('tcb_signing_chain.pem'),
    qeIdentityIssuerChain: text('qe_identity_signing_chain.pem'),
    pckCrl: toBase64(readFixture(`${dir}/pck_crl_platform.der`)),
    rootCaCrl: toBase64(readFixture(`${dir}/root_ca_crl.der`)),
  };
}

export function tdxFixture(name: 'phala-v4' | 'phala-v5-outdated' | 'debug-td-v4', opts: { collateral?: boolean } = {}): EvidenceEnvelope {
  const quote = readFixture(`tdx/${name}-quote.bin`);
  const env: EvidenceEnvelope = { platform: 'tdx', evidence: { quote: toBase64(quote) } };
  if (opts.collateral !== false) {
    env.collateral =
      name === 'debug-td-v4'
        ? intelPcsFiles()
        : (JSON.parse(fromUtf8(readFixture(`tdx/${name}-collateral.json`))) as Record<string, unknown>);
  }
  return env;
}

export function nvidiaFixture(): EvidenceEnvelope {
  const hex = fromUtf8(readFixture('nvidia/hopper-report.hex')).trim();
  const spdm = new Uint8Array(Buffer.from(hex, 'hex'));
  const chain = fromUtf8(readFixture('nvidia/hopper-cert-chain.txt'));
  return { platform: 'nvidia', evidence: { spdm: toBase64(spdm), cert_chain: chain } };
}

/** The legacy `Attestation-Report` header value (base64(gzip(TDX quote))). */
export function legacyHeader(): string {
  return fromUtf8(readFixture('lunal/attestation-report-header.txt')).trim();
}
