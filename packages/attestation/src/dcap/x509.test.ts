import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isVeriteeError } from '@veritee/core';
import { parseDcapCollateralUncached } from './collateral.js';
import { dcapAnchors, parsePckChain } from './pck.js';
import { parseTdxQuote } from '../tdx/parse.js';
import { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from './roots/intel-sgx-root-ca.js';
import { checkRevocation, crlCurrent, parseCert, parseCrl, pemBlocks, verifyChain } from './x509.js';
import { readFixture } from '../testing/fixtures.js';
import { AT_V4, phalaV4Collateral, phalaV4Quote } from '../tdx/test-fixtures.js';

const pckChain = () => {
  const q = parseTdxQuote(phalaV4Quote()).quote;
  return parsePckChain(q.signature.certData, q.signature.certDataType);
};

describe('dcap/x509', () => {
  it('the bundled Intel SGX Root CA is byte-identical to the fixture and has the published fingerprint', () => {
    const der = pemBlocks(INTEL_SGX_ROOT_CA_PEM)[0]!;
    assert.equal(createHash('sha256').update(der).digest('hex'), INTEL_SGX_ROOT_CA_SHA256);
    const fixture = pemBlocks(new TextDecoder().decode(readFixture('roots/intel-sgx-root-ca.pem')))[0]!;
    assert.deepEqual(der, fixture);
    const root = parseCert(der);
    assert.equal(root.subject, 'CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US');
    assert.equal(root.isCa, true);
    assert.equal(root.pathLen, 1);
  });

  it('verifies the phala PCK chain to the Intel root, and only to it', () => {
    const chain = pckChain();
    const ok = verifyChain(chain, dcapAnchors(), AT_V4, 'PCK chain');
    assert.equal(ok.ok, true, ok.detail);
    assert.equal(ok.anchor?.simulated, false);
    // Without the root in the chain, the pinned root is appended.
    const short = verifyChain(chain.slice(0, 2), dcapAnchors(), AT_V4, 'PCK chain');
    assert.equal(short.ok, true, short.detail);
    assert.equal(short.chain.length, 3);
    // Leaf alone: its issuer is not a trusted root.
    assert.equal(verifyChain(chain.slice(0, 1), dcapAnchors(), AT_V4, 'x').code, 'ATTEST_CERT_CHAIN_INVALID');
    // Out of order.
    assert.equal(verifyChain([chain[1]!, chain[0]!, chain[2]!], dcapAnchors(), AT_V4, 'x').code, 'ATTEST_CERT_CHAIN_INVALID');
    // A leaf cannot issue.
    assert.equal(verifyChain([chain[0]!, chain[0]!, chain[2]!], dcapAnchors(), AT_V4, 'x').code, 'ATTEST_CERT_CHAIN_INVALID');
    assert.equal(verifyChain([], dcapAnchors(), AT_V4, 'x').code, 'ATTEST_CERT_CHAIN_INVALID');
    // Validity periods are checked at `at` (cached structure, fresh time check).
    assert.equal(verifyChain(chain, dcapAnchors(), new Date('2033-01-01T00:00:00Z'), 'x').code, 'ATTEST_CERT_EXPIRED');
    assert.equal(verifyChain(chain, dcapAnchors(), AT_V4, 'x').ok, true);
  });

  it('a certificate signed by another key fails', () => {
    const chain = pckChain();
    const der = chain[0]!.der.slice();
    der[der.length - 10] ^= 1; // inside the signature value
    const forged = parseCert(der);
    assert.equal(verifyChain([forged, chain[1]!, chain[2]!], dcapAnchors(), AT_V4, 'x').code, 'ATTEST_CERT_CHAIN_INVALID');
  });

  it('CRLs: issuer signature, revocation of a listed serial, currency', () => {
    const c = parseDcapCollateralUncached(phalaV4Collateral());
    const chain = verifyChain(pckChain(), dcapAnchors(), AT_V4, 'x').chain;
    assert.equal(checkRevocation(chain, [c.rootCaCrl, c.pckCrl], 'x').ok, true);
    // No PCK CRL: the leaf cannot be checked.
    assert.equal(checkRevocation(chain, [c.rootCaCrl], 'x').code, 'ATTEST_COLLATERAL_MISSING');
    // The same (genuinely signed) CRL with the leaf's serial listed: revoked.
    const revoked = { ...c.pckCrl, revoked: new Set([...c.pckCrl.revoked, chain[0]!.serialHex]) };
    const r = checkRevocation(chain, [c.rootCaCrl, revoked], 'x');
    assert.equal(r.code, 'ATTEST_CERT_REVOKED');
    assert.match(r.detail, /is revoked/);
    // Revoked serials are parsed as whole bytes without leading zero bytes.
    for (const s of c.pckCrl.revoked) assert.match(s, /^(?!00)([0-9a-f]{2})+$/);
    // Currency.
    assert.equal(crlCurrent(c.pckCrl, AT_V4).ok, true);
    assert.equal(crlCurrent(c.pckCrl, new Date('2025-08-01T00:00:00Z')).code, 'ATTEST_COLLATERAL_EXPIRED');
    assert.equal(crlCurrent(c.pckCrl, new Date('2025-06-01T00:00:00Z')).code, 'ATTEST_COLLATERAL_EXPIRED');
  });

  it('a CRL with a broken signature is refused', () => {
    const c = parseDcapCollateralUncached(phalaV4Collateral());
    const der = c.pckCrl.der.slice();
    der[der.length - 5] ^= 1;
    const bad = parseCrl(der);
    const chain = verifyChain(pckChain(), dcapAnchors(), AT_V4, 'x').chain;
    assert.equal(checkRevocation(chain, [c.rootCaCrl, bad], 'x').code, 'ATTEST_COLLATERAL_INVALID');
  });

  it('malformed DER is a VeriteeError, never an exception of another kind', () => {
    const der = pckChain()[0]!.der;
    for (let n = 0; n < der.length; n += 7) {
      assert.throws(() => parseCert(der.subarray(0, n)), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'), `prefix ${n}`);
    }
    const crl = readFixture('tdx/intel-pcs-50806f000000/root_ca_crl.der');
    for (let n = 0; n < crl.length; n += 5) {
      assert.throws(() => parseCrl(crl.subarray(0, n)), (e: unknown) => isVeriteeError(e, 'ATTEST_COLLATERAL_INVALID'), `prefix ${n}`);
    }
    assert.throws(() => parseCert(Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff)), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'));
    assert.throws(() => parseCert(Uint8Array.of(0x30, 0x80, 0, 0)), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'));
  });
});
