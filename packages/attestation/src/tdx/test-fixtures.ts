/**
 * @module tdx/test-fixtures
 * Test-only loaders for the real TDX fixtures (packages/attestation/test/fixtures/tdx) and the
 * golden claim files beside the tests.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { intelPcsCollateral } from '../dcap/collateral.js';
import { readFixture } from '../testing/fixtures.js';

export const AT_V4 = new Date('2025-06-25T00:00:00Z');
export const AT_EXPIRED = new Date('2026-11-21T00:00:00Z');
export const AT_V5 = new Date('2026-03-01T00:00:00Z');
export const AT_DEBUG = new Date('2026-03-20T00:00:00Z');

const text = (rel: string) => new TextDecoder().decode(readFixture(rel));

export const phalaV4Quote = (): Uint8Array => readFixture('tdx/phala-v4-quote.bin');
export const phalaV4Collateral = (): Record<string, unknown> => JSON.parse(text('tdx/phala-v4-collateral.json')) as Record<string, unknown>;
export const phalaV5Quote = (): Uint8Array => readFixture('tdx/phala-v5-outdated-quote.bin');
export const phalaV5Collateral = (): Record<string, unknown> => JSON.parse(text('tdx/phala-v5-outdated-collateral.json')) as Record<string, unknown>;
export const debugQuote = (): Uint8Array => readFixture('tdx/debug-td-v4-quote.bin');
export const lunalHeader = (): string => text('lunal/attestation-report-header.txt').trim();

/** The Intel PCS files of FMSPC 50806f000000 in the Intel PCS collateral layout. */
export function debugPcsCollateral(): Record<string, unknown> {
  const d = 'tdx/intel-pcs-50806f000000/';
  return intelPcsCollateral({
    tcbInfoJson: text(`${d}tcb_info_50806f000000.json`),
    qeIdentityJson: text(`${d}td_qe_identity.json`),
    tcbInfoIssuerChainPem: text(`${d}tcb_signing_chain.pem`),
    qeIdentityIssuerChainPem: text(`${d}qe_identity_signing_chain.pem`),
    pckCrlDer: readFixture(`${d}pck_crl_platform.der`),
    rootCaCrlDer: readFixture(`${d}root_ca_crl.der`),
  });
}

/**
 * Path of a golden file in src/tdx/testdata, whether the test runs from src (tsx) or dist
 * (tsc): the source copy, so UPDATE_GOLDEN=1 rewrites what is committed, not the build output.
 */
export function goldenPath(name: string): string {
  const here = fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));
  const src = here.replace(/([\\/])dist([\\/])(?!.*[\\/]dist[\\/])/, '$1src$2');
  return existsSync(src) || process.env.UPDATE_GOLDEN === '1' ? src : here;
}

/**
 * Compares `value` (as JSON) with the golden file; with UPDATE_GOLDEN=1 rewrites it instead.
 * Returns the parsed golden value.
 */
export function golden(name: string, value: unknown): unknown {
  const p = goldenPath(name);
  const json = `${JSON.stringify(value, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(p)) {
    if (process.env.UPDATE_GOLDEN !== '1') throw new Error(`golden file ${p} is missing: run with UPDATE_GOLDEN=1`);
    writeFileSync(p, json);
  }
  return JSON.parse(readFileSync(p, 'utf8')) as unknown;
}
