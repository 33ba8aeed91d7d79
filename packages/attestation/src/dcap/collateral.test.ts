import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVeriteeError } from '@veritee/core';
import { intelPcsCollateral, parseDcapCollateral, parseDcapCollateralUncached, rawJsonMember } from './collateral.js';
import { readFixture } from '../testing/fixtures.js';
import { debugPcsCollateral, phalaV4Collateral } from '../tdx/test-fixtures.js';

const pcsText = (f: string) => new TextDecoder().decode(readFixture(`tdx/intel-pcs-50806f000000/${f}`));

describe('dcap/collateral', () => {
  it('normalises the dcap-qvl JSON layout', () => {
    const c = parseDcapCollateralUncached(phalaV4Collateral());
    assert.equal(c.source, 'dcap-qvl');
    assert.equal(c.tcbInfo.value.id, 'TDX');
    assert.equal(c.tcbInfo.value.version, 3);
    assert.equal(c.tcbInfo.value.fmspc, 'b0c06f000000');
    assert.equal(c.tcbInfo.value.tcbLevels.length, 2);
    assert.equal(c.tcbInfo.value.tcbLevels[0]!.tdxComponents.length, 16);
    assert.deepEqual(c.tcbInfo.value.tcbLevels[1]!.advisoryIds.slice(0, 2), ['INTEL-SA-00106', 'INTEL-SA-00115']);
    assert.equal(c.tcbInfo.value.tdxModuleIdentities.map((m) => m.id).join(','), 'TDX_03,TDX_01');
    assert.equal(c.qeIdentity.value.id, 'TD_QE');
    assert.equal(c.qeIdentity.value.mrsigner, 'dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5');
    assert.equal(c.tcbInfo.signature.length, 64);
    assert.equal(c.tcbInfo.issuerChain.length, 2);
    assert.match(c.pckCrl.issuer, /PCK Platform CA/);
    assert.match(c.rootCaCrl.issuer, /Root CA/);
    assert.equal(c.pckCrl.nextUpdate?.toISOString(), '2025-07-19T10:00:35.000Z');
  });

  it('normalises the Intel PCS files into the same shape, keeping the exact signed bytes', () => {
    const c = parseDcapCollateralUncached(debugPcsCollateral());
    assert.equal(c.source, 'intel-pcs');
    assert.equal(c.tcbInfo.value.fmspc, '50806f000000');
    assert.equal(c.tcbInfo.value.tcbLevels.length, 5);
    assert.equal(c.qeIdentity.value.id, 'TD_QE');
    const text = pcsText('tcb_info_50806f000000.json');
    const body = new TextDecoder().decode(c.tcbInfo.body);
    assert.ok(text.includes(body) && body.startsWith('{"id":"TDX"') && body.endsWith(']}'));
    assert.equal(c.pckCrl.revoked.size > 0, true);
    // Same normalised keys for both layouts.
    const a = parseDcapCollateralUncached(phalaV4Collateral());
    assert.deepEqual(Object.keys(a).sort(), Object.keys(c).sort());
    assert.deepEqual(Object.keys(a.tcbInfo.value).sort(), Object.keys(c.tcbInfo.value).sort());
  });

  it('accepts PCS CRLs as PEM or hex too, and a pre-parsed TCB info object', () => {
    const files = debugPcsCollateral();
    const der = Buffer.from(files.pckCrl as string, 'base64');
    const pem = `-----BEGIN X509 CRL-----\n${der.toString('base64')}\n-----END X509 CRL-----\n`;
    const c = parseDcapCollateralUncached({ ...files, pckCrl: pem, rootCaCrl: Buffer.from(files.rootCaCrl as string, 'base64').toString('hex') });
    assert.equal(c.pckCrl.id, parseDcapCollateralUncached(files).pckCrl.id);
    const obj = parseDcapCollateralUncached({ ...files, tcbInfo: JSON.parse(files.tcbInfo as string) });
    // Intel's PCS emits compact JSON, so re-serialising reproduces the signed bytes.
    assert.deepEqual(obj.tcbInfo.body, parseDcapCollateralUncached(files).tcbInfo.body);
  });

  it('rawJsonMember returns the exact text of a member, whitespace, escapes and nesting included', () => {
    const t = ' { "a" : "x\\"}" , "tcbInfo" : {"k": [1, {"s": "}]"}], "n": -1.5e3 } , "signature":"ab" } ';
    assert.equal(rawJsonMember(t, 'tcbInfo', 't'), '{"k": [1, {"s": "}]"}], "n": -1.5e3 }');
    assert.equal(rawJsonMember(t, 'signature', 't'), '"ab"');
    assert.throws(() => rawJsonMember(t, 'missing', 't'), (e: unknown) => isVeriteeError(e, 'ATTEST_COLLATERAL_MISSING'));
    assert.throws(() => rawJsonMember('{"a": {', 'a', 't'), (e: unknown) => isVeriteeError(e, 'ATTEST_COLLATERAL_INVALID'));
    assert.throws(() => rawJsonMember('[1]', 'a', 't'), (e: unknown) => isVeriteeError(e, 'ATTEST_COLLATERAL_INVALID'));
  });

  it('builds the PCS layout from files', () => {
    const c = intelPcsCollateral({
      tcbInfoJson: '{}',
      qeIdentityJson: '{}',
      tcbInfoIssuerChainPem: 'x',
      qeIdentityIssuerChainPem: 'y',
      pckCrlDer: Uint8Array.of(1, 2),
      rootCaCrlDer: Uint8Array.of(3),
    });
    assert.deepEqual(c, { tcbInfo: '{}', qeIdentity: '{}', tcbInfoIssuerChain: 'x', qeIdentityIssuerChain: 'y', pckCrl: 'AQI=', rootCaCrl: 'Aw==' });
  });

  it('refuses malformed collateral with named fields', () => {
    const c = phalaV4Collateral();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...c, tcb_info_signature: 'zz' }, 'ATTEST_COLLATERAL_INVALID', /tcb_info_signature/],
      [{ ...c, tcb_info: '{"id":"TDX","version":3}' }, 'ATTEST_COLLATERAL_INVALID', /tcb_info: issueDate/],
      [{ ...c, qe_identity: 'not json' }, 'ATTEST_COLLATERAL_INVALID', /qe_identity: not valid JSON/],
      [{ ...c, pck_crl: 'abcd' }, 'ATTEST_COLLATERAL_INVALID', /pck_crl/],
      [{ ...c, tcb_info_issuer_chain: 'no pem here' }, 'ATTEST_COLLATERAL_INVALID', /tcb_info_issuer_chain/],
      [{ ...c, root_ca_crl: 42 }, 'ATTEST_COLLATERAL_INVALID', /root_ca_crl/],
      [{ ...c, tcb_info: undefined }, 'ATTEST_COLLATERAL_MISSING', /tcb_info/],
      [{ ...c, tcb_info: 'x'.repeat(1024 * 1024 + 1) }, 'INPUT_TOO_LARGE', /tcb_info/],
      [{ unrelated: true }, 'ATTEST_COLLATERAL_MISSING', /tcbInfo/],
    ];
    for (const [input, code, re] of cases) {
      assert.throws(
        () => parseDcapCollateralUncached(input),
        (e: unknown) => isVeriteeError(e) && e.code === code && re.test(e.message),
        `${code} ${re}`,
      );
    }
  });

  it('caches by object identity and by content', () => {
    const a = phalaV4Collateral();
    const pa = parseDcapCollateral(a);
    assert.equal(parseDcapCollateral(a), pa);
    assert.equal(parseDcapCollateral(phalaV4Collateral()), pa);
  });
});
