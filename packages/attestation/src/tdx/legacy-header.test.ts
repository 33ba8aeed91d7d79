import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fromBase64, isVeriteeError } from '@veritee/core';
import { parseLegacyAttestationHeader, MAX_LEGACY_HEADER_CHARS, MAX_LEGACY_QUOTE_BYTES } from './legacy-header.js';
import { golden, lunalHeader, phalaV4Quote } from './test-fixtures.js';
import { tdxVerifier } from './verify.js';

const AT = new Date('2025-06-25T00:00:00Z');

describe('tdx/legacy-header', () => {
  it('parses the lunal Attestation-Report header into a TDX envelope (8000-byte v4 quote)', () => {
    const env = parseLegacyAttestationHeader(lunalHeader());
    assert.equal(env.platform, 'tdx');
    assert.equal(env.collateral, undefined);
    const quote = fromBase64(env.evidence.quote as string);
    assert.equal(quote.length, 8000);
    assert.equal(quote[0], 4);
  });

  it('without collateral the verdict is "unverified: collateral missing", not a pass', async () => {
    const r = await tdxVerifier.verify(parseLegacyAttestationHeader(lunalHeader()), { at: AT });
    assert.equal(r.ok, false);
    const c = r.checks.find((x) => x.name === 'tdx.collateral')!;
    assert.equal(c.ok, false);
    assert.equal(c.code, 'ATTEST_COLLATERAL_MISSING');
    assert.match(c.detail, /^unverified: collateral missing/);
    // The quote itself is genuine: its signatures and PCK chain verify.
    for (const n of ['tdx.pck_chain', 'tdx.qe_report_signature', 'tdx.qe_report_binding', 'tdx.quote_signature']) {
      assert.equal(r.checks.find((x) => x.name === n)?.ok, true, n);
    }
    assert.equal(r.claims?.platformData.fmspc, '00806f050000');
    assert.deepEqual(JSON.parse(JSON.stringify(r.claims)), golden('lunal-legacy.claims.json', r.claims));
  });

  it('refuses a zip bomb at the output limit (zip-bomb safe gunzip)', () => {
    const bomb = gzipSync(new Uint8Array(MAX_LEGACY_QUOTE_BYTES * 16)); // ~1 MiB of zeros, compresses to ~1 KiB
    assert.ok(bomb.length < 4096);
    assert.throws(
      () => parseLegacyAttestationHeader(bomb.toString('base64')),
      (e: unknown) => isVeriteeError(e, 'INPUT_TOO_LARGE'),
    );
  });

  it('refuses an oversized header, bad base64, non-gzip data, corrupt gzip and a non-quote payload', () => {
    assert.throws(() => parseLegacyAttestationHeader('A'.repeat(MAX_LEGACY_HEADER_CHARS + 1)), (e: unknown) => isVeriteeError(e, 'INPUT_TOO_LARGE'));
    assert.throws(() => parseLegacyAttestationHeader('%%%'), (e: unknown) => isVeriteeError(e, 'INPUT_BASE64_INVALID'));
    assert.throws(() => parseLegacyAttestationHeader(''), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'));
    assert.throws(() => parseLegacyAttestationHeader(Buffer.from(phalaV4Quote()).toString('base64')), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'));
    const gz = gzipSync(phalaV4Quote());
    const corrupt = Buffer.from(gz);
    corrupt[corrupt.length - 6] ^= 0xff; // CRC32
    assert.throws(() => parseLegacyAttestationHeader(corrupt.toString('base64')), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'));
    assert.throws(() => parseLegacyAttestationHeader(gzipSync(Buffer.from('hello')).toString('base64')), (e: unknown) => isVeriteeError(e, 'ATTEST_REPORT_TRUNCATED'));
  });

  it('a gzip of the phala v4 quote round-trips', () => {
    const env = parseLegacyAttestationHeader(gzipSync(phalaV4Quote()).toString('base64'));
    assert.deepEqual(fromBase64(env.evidence.quote as string), phalaV4Quote());
  });
});
