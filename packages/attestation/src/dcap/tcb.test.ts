import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDcapCollateralUncached, type QeIdentity, type TcbInfo } from './collateral.js';
import { parseEnclaveReport } from './quote.js';
import { convergeStatus, isAcceptableTcbStatus, matchPlatformTcbLevel, mergeAdvisories, ratePlatformTcb, rateQeIdentity, rateTdxModule } from './tcb.js';
import { debugPcsCollateral, phalaV4Collateral, phalaV5Collateral } from '../tdx/test-fixtures.js';

const info = (c: Record<string, unknown>): TcbInfo => parseDcapCollateralUncached(c).tcbInfo.value;
const teeSvn = (...b: number[]) => Uint8Array.from([...b, ...new Array(16 - b.length).fill(0)]);

describe('dcap/tcb: platform TCB level', () => {
  it('phala v4 platform matches the UpToDate level', () => {
    const r = ratePlatformTcb(info(phalaV4Collateral()), { sgxComponents: [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 11, teeTcbSvn: teeSvn(6, 1, 3) });
    assert.equal(r.ok, true);
    assert.equal(r.status, 'UpToDate');
  });

  it('a lower PCESVN falls through to the OutOfDate level with its advisories', () => {
    const r = ratePlatformTcb(info(phalaV4Collateral()), { sgxComponents: [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 6, teeTcbSvn: teeSvn(6, 1, 3) });
    assert.equal(r.status, 'OutOfDate');
    assert.ok(r.advisoryIds.includes('INTEL-SA-00837'));
  });

  it('phala v5 platform (SGX component 7 = 3 < 5 everywhere) matches no level', () => {
    const r = ratePlatformTcb(info(phalaV5Collateral()), { sgxComponents: [3, 3, 2, 2, 4, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 13, teeTcbSvn: teeSvn(7, 1, 3) });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ATTEST_TCB_OUTDATED');
  });

  it('TDX components are compared from index 2 when the module major version (TEE_TCB_SVN[1]) > 0', () => {
    const i = info(phalaV4Collateral()); // level 0 needs tdx [5,0,2,...]
    const sgx = [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
    // Module SVN 1 < 5 but major 1: bytes 0-1 are rated by the module identity, not the level.
    assert.equal(matchPlatformTcbLevel(i, { sgxComponents: sgx, pceSvn: 11, teeTcbSvn: teeSvn(1, 1, 2) })?.tcbStatus, 'UpToDate');
    // Major 0: byte 0 is compared (1 < 5), so no level matches.
    assert.equal(matchPlatformTcbLevel(i, { sgxComponents: sgx, pceSvn: 11, teeTcbSvn: teeSvn(1, 0, 2) }), undefined);
    // Late microcode (byte 2) below the level.
    assert.equal(matchPlatformTcbLevel(i, { sgxComponents: sgx, pceSvn: 11, teeTcbSvn: teeSvn(6, 1, 1) }), undefined);
  });

  it('debug TD platform (FMSPC 50806f000000) rates OutOfDate at the 2023-02-15 level', () => {
    const r = ratePlatformTcb(info(debugPcsCollateral()), { sgxComponents: [5, 5, 13, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 11, teeTcbSvn: teeSvn(3, 0, 5) });
    assert.equal(r.status, 'OutOfDate');
    assert.match(r.detail, /2023-02-15/);
  });
});

describe('dcap/tcb: TDX module identity', () => {
  const i = info(phalaV5Collateral()); // TDX_01: isvsvn 6 UpToDate, 4 OutOfDate, 2 OutOfDate
  const zero48 = new Uint8Array(48);
  const zero8 = new Uint8Array(8);

  it('rates TEE_TCB_SVN[0] against TDX_<major> levels', () => {
    assert.equal(rateTdxModule(i, { teeTcbSvn: teeSvn(7, 1), mrSignerSeam: zero48, seamAttributes: zero8 }).status, 'UpToDate');
    const old = rateTdxModule(i, { teeTcbSvn: teeSvn(5, 1), mrSignerSeam: zero48, seamAttributes: zero8 });
    assert.equal(old.status, 'OutOfDate');
    assert.deepEqual(old.advisoryIds, ['INTEL-SA-01036', 'INTEL-SA-01099']);
    assert.equal(rateTdxModule(i, { teeTcbSvn: teeSvn(1, 1), mrSignerSeam: zero48, seamAttributes: zero8 }).ok, false);
    assert.equal(rateTdxModule(i, { teeTcbSvn: teeSvn(7, 2), mrSignerSeam: zero48, seamAttributes: zero8 }).code, 'ATTEST_TCB_MISMATCH');
  });

  it('refuses a foreign MRSIGNERSEAM or SEAMATTRIBUTES', () => {
    const signer = new Uint8Array(48).fill(1);
    assert.equal(rateTdxModule(i, { teeTcbSvn: teeSvn(7, 1), mrSignerSeam: signer, seamAttributes: zero8 }).code, 'ATTEST_TCB_MISMATCH');
    assert.equal(rateTdxModule(i, { teeTcbSvn: teeSvn(3, 0), mrSignerSeam: signer, seamAttributes: zero8 }).code, 'ATTEST_TCB_MISMATCH');
    assert.equal(rateTdxModule(i, { teeTcbSvn: teeSvn(3, 0), mrSignerSeam: zero48, seamAttributes: Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0) }).code, 'ATTEST_TCB_MISMATCH');
    assert.equal(rateTdxModule(i, { teeTcbSvn: teeSvn(3, 0), mrSignerSeam: zero48, seamAttributes: zero8 }).ok, true);
  });
});

describe('dcap/tcb: QE identity', () => {
  const ident: QeIdentity = parseDcapCollateralUncached(phalaV4Collateral()).qeIdentity.value;
  function qe(p: { mrSigner?: string; prodId?: number; svn?: number; attributes?: number; misc?: number }) {
    const raw = new Uint8Array(384);
    raw.set(Buffer.from(p.mrSigner ?? ident.mrsigner, 'hex'), 128);
    raw[48] = p.attributes ?? 0x11;
    new DataView(raw.buffer).setUint32(16, p.misc ?? 0, true);
    new DataView(raw.buffer).setUint16(256, p.prodId ?? 2, true);
    new DataView(raw.buffer).setUint16(258, p.svn ?? 4, true);
    return parseEnclaveReport(raw);
  }

  it('accepts the TD QE and rates its ISVSVN', () => {
    assert.equal(rateQeIdentity(ident, qe({}), 'TD_QE').status, 'UpToDate');
    assert.equal(rateQeIdentity(ident, qe({ svn: 9 }), 'TD_QE').status, 'UpToDate');
    assert.equal(rateQeIdentity(ident, qe({ svn: 3 }), 'TD_QE').code, 'ATTEST_TCB_OUTDATED');
  });

  it('refuses another signer, product, MISCSELECT, masked ATTRIBUTES (DEBUG QE) or identity id', () => {
    assert.equal(rateQeIdentity(ident, qe({ mrSigner: '00'.repeat(32) }), 'TD_QE').code, 'ATTEST_TCB_MISMATCH');
    assert.equal(rateQeIdentity(ident, qe({ prodId: 1 }), 'TD_QE').code, 'ATTEST_TCB_MISMATCH');
    assert.equal(rateQeIdentity(ident, qe({ misc: 1 }), 'TD_QE').code, 'ATTEST_TCB_MISMATCH');
    assert.equal(rateQeIdentity(ident, qe({ attributes: 0x13 }), 'TD_QE').code, 'ATTEST_TCB_MISMATCH'); // DEBUG bit
    assert.equal(rateQeIdentity(ident, qe({ attributes: 0x15 }), 'TD_QE').ok, true); // bit 2 is masked out (FB)
    assert.equal(rateQeIdentity(ident, qe({}), 'QE').code, 'ATTEST_COLLATERAL_INVALID');
  });
});

describe('dcap/tcb: status convergence (Intel QVL rules)', () => {
  it('an OutOfDate module or QE downgrades; Revoked wins; others keep the platform status', () => {
    assert.equal(convergeStatus('UpToDate', undefined), 'UpToDate');
    assert.equal(convergeStatus('UpToDate', 'UpToDate'), 'UpToDate');
    assert.equal(convergeStatus('UpToDate', 'OutOfDate'), 'OutOfDate');
    assert.equal(convergeStatus('SWHardeningNeeded', 'OutOfDate'), 'OutOfDate');
    assert.equal(convergeStatus('ConfigurationNeeded', 'OutOfDate'), 'OutOfDateConfigurationNeeded');
    assert.equal(convergeStatus('ConfigurationAndSWHardeningNeeded', 'OutOfDate'), 'OutOfDateConfigurationNeeded');
    assert.equal(convergeStatus('OutOfDate', 'UpToDate'), 'OutOfDate');
    assert.equal(convergeStatus('UpToDate', 'Revoked'), 'Revoked');
    assert.equal(convergeStatus('Revoked', 'UpToDate'), 'Revoked');
    assert.equal(convergeStatus('UpToDate', 'Bogus'), 'Bogus');
  });

  it('the verifier passes every known status except Revoked; the policy decides the rest', () => {
    for (const s of ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded']) {
      assert.equal(isAcceptableTcbStatus(s), true, s);
    }
    assert.equal(isAcceptableTcbStatus('Revoked'), false);
    assert.equal(isAcceptableTcbStatus('Bogus'), false);
    assert.deepEqual(mergeAdvisories(['B', 'A'], ['A', 'C']), ['A', 'B', 'C']);
  });
});
