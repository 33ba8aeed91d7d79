import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { isVeriteeError, toHex } from '@veritee/core';
import { parseTdReport, parseTdxQuote } from './parse.js';
import { debugQuote, lunalHeader, phalaV4Quote, phalaV5Quote } from './test-fixtures.js';
import { readFixture } from '../testing/fixtures.js';

// Cross-check: @phala/dcap-qvl's own parser (CommonJS) must read the same fields.
const require = createRequire(import.meta.url);
const qvl = require('@phala/dcap-qvl') as { Quote: { parse(b: Uint8Array): any } };

const lunalQuote = () => new Uint8Array(gunzipSync(Buffer.from(lunalHeader(), 'base64')));

describe('tdx/parse', () => {
  const cases: [string, () => Uint8Array][] = [
    ['phala v4', phalaV4Quote],
    ['phala v5 (TD 1.5)', phalaV5Quote],
    ['debug TD v4', debugQuote],
    ['lunal v4 (8000 bytes, zero padded)', lunalQuote],
  ];
  for (const [label, load] of cases) {
    it(`${label}: every TD report field matches dcap-qvl's parser`, () => {
      const raw = load();
      const { quote, td } = parseTdxQuote(raw);
      const ref = qvl.Quote.parse(raw);
      const r = ref.report.asTd10();
      const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
      assert.equal(quote.header.version, ref.header.version);
      assert.equal(toHex(td.teeTcbSvn), hex(r.teeTcbSvn));
      assert.equal(toHex(td.mrSeam), hex(r.mrSeam));
      assert.equal(toHex(td.mrSignerSeam), hex(r.mrSignerSeam));
      assert.equal(toHex(td.seamAttributes), hex(r.seamAttributes));
      assert.equal(toHex(td.tdAttributes), hex(r.tdAttributes));
      assert.equal(toHex(td.xfam), hex(r.xfam));
      assert.equal(toHex(td.mrTd), hex(r.mrTd));
      assert.equal(toHex(td.mrConfigId), hex(r.mrConfigId));
      assert.equal(toHex(td.mrOwner), hex(r.mrOwner));
      assert.equal(toHex(td.mrOwnerConfig), hex(r.mrOwnerConfig));
      assert.deepEqual(td.rtmrs.map(toHex), [r.rtMr0, r.rtMr1, r.rtMr2, r.rtMr3].map(hex));
      assert.equal(toHex(td.reportData), hex(r.reportData));
      const td15 = ref.report.asTd15();
      if (td15) {
        assert.equal(td.kind, 'td15');
        assert.equal(toHex(td.teeTcbSvn2!), hex(td15.teeTcbSvn2));
        assert.equal(toHex(td.mrServiceTd!), hex(td15.mrServiceTd));
      } else assert.equal(td.kind, 'td10');
      assert.equal(quote.signedBytes.length, ref.signedLength());
      const auth = ref.authData.intoV3();
      assert.equal(toHex(quote.signature.qeReport.raw), hex(auth.qeReport));
      assert.equal(toHex(quote.signature.attestationKey), hex(auth.ecdsaAttestationKey));
      assert.equal(toHex(quote.signature.qeAuthData), hex(auth.qeAuthData));
    });
  }

  it('DEBUG is TDATTRIBUTES bit 0: set in the debug fixture only', () => {
    assert.equal(parseTdxQuote(debugQuote()).td.debug, true);
    assert.equal(parseTdxQuote(phalaV4Quote()).td.debug, false);
    assert.equal(parseTdxQuote(phalaV5Quote()).td.debug, false);
    assert.equal(parseTdxQuote(lunalQuote()).td.debug, false);
  });

  it('the lunal quote is v4 with 3065 zero bytes after the signature data', () => {
    const { quote } = parseTdxQuote(lunalQuote());
    assert.equal(quote.raw.length, 8000);
    assert.equal(quote.trailingBytes, 3065);
    assert.ok(quote.raw.subarray(8000 - 3065).every((b) => b === 0));
  });

  it('field offsets of a synthetic TD 1.5 body', () => {
    const body = Uint8Array.from({ length: 648 }, (_, i) => i & 0xff);
    const td = parseTdReport(body, 3);
    assert.equal(td.teeTcbSvn[0], 0);
    assert.equal(td.mrSeam[0], 16);
    assert.equal(td.mrSignerSeam[0], 64);
    assert.equal(td.seamAttributes[0], 112);
    assert.equal(td.tdAttributes[0], 120);
    assert.equal(td.xfam[0], 128);
    assert.equal(td.mrTd[0], 136);
    assert.equal(td.mrConfigId[0], 184);
    assert.equal(td.mrOwner[0], 232 & 0xff);
    assert.equal(td.mrOwnerConfig[0], 280 & 0xff);
    assert.deepEqual(td.rtmrs.map((r) => r[0]), [328, 376, 424, 472].map((x) => x & 0xff));
    assert.equal(td.reportData[0], 520 & 0xff);
    assert.equal(td.teeTcbSvn2![0], 584 & 0xff);
    assert.equal(td.mrServiceTd![0], 600 & 0xff);
    assert.equal(td.debug, false); // byte 120 = 0x78: bit 0 clear
    assert.throws(() => parseTdReport(body.subarray(0, 647), 3), (e: unknown) => isVeriteeError(e, 'ATTEST_REPORT_TRUNCATED'));
    assert.throws(() => parseTdReport(body, 1), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'));
  });

  it('an SNP report given as a TDX quote is refused with a clear error', () => {
    const snp = readFixture('snp/milan-v2-report.bin');
    assert.throws(() => parseTdxQuote(snp), (e: unknown) => isVeriteeError(e, 'ATTEST_REPORT_VERSION') && /version 2/.test((e as Error).message));
  });
});
