import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVeriteeError } from '@veritee/core';
import { MAX_QUOTE_BYTES, parseDcapQuote } from './quote.js';
import { phalaV4Quote, phalaV5Quote } from '../tdx/test-fixtures.js';

function setU32(b: Uint8Array, off: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(off, v, true);
}

/**
 * The first `n` bytes of a v4 quote with its length fields patched to what remains, so the
 * parser stops at the field that `n` cuts rather than at the outer signature-data length.
 */
function consistentV4Prefix(q: Uint8Array, n: number): Uint8Array {
  const b = q.slice(0, n);
  if (n >= 636) setU32(b, 632, n - 636); // signature_data_len
  if (n >= 770) setU32(b, 766, n - 770); // certification_data_size (type 6)
  return b;
}

function expectTruncated(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isVeriteeError(e, 'ATTEST_REPORT_TRUNCATED'), `expected ATTEST_REPORT_TRUNCATED, got ${String(e)}`);
    assert.match((e as Error).message, new RegExp(`\\b${field.replace(/\./g, '\\.')} needs`), (e as Error).message);
    return true;
  });
}

describe('dcap/quote: v4 layout', () => {
  const q = phalaV4Quote();

  it('parses the phala v4 quote: header, TD 1.0 body, signature data, 70 trailing bytes', () => {
    const p = parseDcapQuote(q);
    assert.equal(p.header.version, 4);
    assert.equal(p.header.attestationKeyType, 2);
    assert.equal(p.header.teeType, 0x81);
    assert.equal(p.bodyType, 2);
    assert.equal(p.body.length, 584);
    assert.equal(p.signedBytes.length, 632);
    assert.equal(p.signature.qeAuthData.length, 32);
    assert.equal(p.signature.certDataType, 5);
    assert.equal(p.trailingBytes, 70);
    assert.match(new TextDecoder().decode(p.signature.certData), /^-----BEGIN CERTIFICATE-----/);
  });

  // Field boundaries of the v4 fixture (offsets from the start of the quote):
  //   0 header(48) | 48 body(584) | 632 signature_data_len(4) | 636 quote_signature(64) |
  //   700 attestation_key(64) | 764 certification_data_type(2) | 766 certification_data_size(4) |
  //   770 qe_report(384) | 1154 qe_report_signature(64) | 1218 qe_auth_data_size(2) |
  //   1220 qe_auth_data(32) | 1252 pck_certification_data_type(2) | 1254 pck_certification_data_size(4) |
  //   1258 pck_certification_data(...)
  const boundaries: [number, string][] = [
    [0, 'header'],
    [1, 'header'],
    [47, 'header'],
    [48, 'body'],
    [631, 'body'],
    [632, 'signature_data_len'],
    [635, 'signature_data_len'],
    [636, 'signature_data.quote_signature'],
    [699, 'signature_data.quote_signature'],
    [700, 'signature_data.attestation_key'],
    [763, 'signature_data.attestation_key'],
    [764, 'signature_data.certification_data_type'],
    [766, 'signature_data.certification_data_size'],
    [769, 'signature_data.certification_data_size'],
    [770, 'qe_report'],
    [1153, 'qe_report'],
    [1154, 'qe_report_signature'],
    [1217, 'qe_report_signature'],
    [1218, 'qe_auth_data_size'],
    [1220, 'qe_auth_data'],
    [1251, 'qe_auth_data'],
    [1252, 'pck_certification_data_type'],
    [1254, 'pck_certification_data_size'],
    [1258, 'pck_certification_data'],
    [2000, 'pck_certification_data'],
  ];
  for (const [n, field] of boundaries) {
    it(`truncated to ${n} bytes (length fields patched) -> ATTEST_REPORT_TRUNCATED naming ${field}`, () => {
      expectTruncated(() => parseDcapQuote(consistentV4Prefix(q, n)), field);
    });
  }

  it('every plain prefix up to the end of the signature data throws a VeriteeError, never anything else', () => {
    const end = q.length - 70;
    for (let n = 0; n < end; n += n < 1300 ? 1 : 97) {
      assert.throws(() => parseDcapQuote(q.subarray(0, n)), (e: unknown) => isVeriteeError(e, 'ATTEST_REPORT_TRUNCATED'), `prefix ${n}`);
    }
    assert.equal(parseDcapQuote(q.subarray(0, end)).trailingBytes, 0);
  });

  it('tolerates extra trailing bytes and records them', () => {
    const b = new Uint8Array(q.length + 100);
    b.set(q);
    assert.equal(parseDcapQuote(b).trailingBytes, 170);
  });

  it('refuses oversized input before parsing', () => {
    const big = new Uint8Array(MAX_QUOTE_BYTES + 1);
    big.set(q);
    assert.throws(() => parseDcapQuote(big), (e: unknown) => isVeriteeError(e, 'INPUT_TOO_LARGE'));
  });

  it('refuses a signature_data_len of 0xffffffff as truncation, not a crash', () => {
    const b = q.slice();
    setU32(b, 632, 0xffffffff);
    assert.throws(() => parseDcapQuote(b), (e: unknown) => isVeriteeError(e, 'ATTEST_REPORT_TRUNCATED'));
  });

  it('refuses unsupported versions, key types and certification data types', () => {
    const v3 = q.slice();
    v3[0] = 3;
    assert.throws(() => parseDcapQuote(v3), (e: unknown) => isVeriteeError(e, 'ATTEST_REPORT_VERSION'));
    const p384 = q.slice();
    p384[2] = 3;
    assert.throws(() => parseDcapQuote(p384), (e: unknown) => isVeriteeError(e, 'ATTEST_REPORT_VERSION'));
    const tee = q.slice();
    tee[4] = 0x42;
    assert.throws(() => parseDcapQuote(tee), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'));
    const cd = q.slice();
    cd[764] = 4;
    assert.throws(() => parseDcapQuote(cd), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID') && /type 4/.test((e as Error).message));
  });
});

describe('dcap/quote: v5 layout', () => {
  const q = phalaV5Quote();

  it('parses the v5 quote with its body descriptor (type 3, TD 1.5, 648 bytes)', () => {
    const p = parseDcapQuote(q);
    assert.equal(p.header.version, 5);
    assert.equal(p.bodyType, 3);
    assert.equal(p.body.length, 648);
    assert.equal(p.signedBytes.length, 48 + 6 + 648);
    assert.equal(p.trailingBytes, 0);
  });

  // 0 header(48) | 48 body.type(2) | 50 body.size(4) | 54 body(648) | 702 signature_data_len(4) | 706 ...
  const boundaries: [number, string][] = [
    [47, 'header'],
    [48, 'body.type'],
    [49, 'body.type'],
    [50, 'body.size'],
    [53, 'body.size'],
    [54, 'body'],
    [701, 'body'],
    [702, 'signature_data_len'],
    [706, 'signature_data'],
  ];
  for (const [n, field] of boundaries) {
    it(`truncated to ${n} bytes -> ATTEST_REPORT_TRUNCATED naming ${field}`, () => {
      expectTruncated(() => parseDcapQuote(q.subarray(0, n)), field);
    });
  }

  it('refuses a body size that disagrees with the body type, and unknown body types', () => {
    const b = q.slice();
    setU32(b, 50, 584);
    assert.throws(() => parseDcapQuote(b), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'));
    const t = q.slice();
    t[48] = 9;
    assert.throws(() => parseDcapQuote(t), (e: unknown) => isVeriteeError(e, 'ATTEST_REPORT_VERSION'));
    const sgx = q.slice();
    sgx[48] = 1;
    setU32(sgx, 50, 384);
    assert.throws(() => parseDcapQuote(sgx), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'));
  });

  it('parses a v5 quote with a TD 1.0 body (type 2, 584 bytes), signing header || descriptor || body', () => {
    const v4 = phalaV4Quote();
    const b = new Uint8Array(v4.length + 6);
    b.set(v4.subarray(0, 48));
    b[0] = 5;
    b.set(Uint8Array.of(2, 0, 0x48, 0x02, 0, 0), 48); // type 2, size 584
    b.set(v4.subarray(48), 54);
    const p = parseDcapQuote(b);
    assert.equal(p.header.version, 5);
    assert.equal(p.bodyType, 2);
    assert.deepEqual(p.body, v4.subarray(48, 632));
    assert.equal(p.signedBytes.length, 638);
    assert.equal(p.trailingBytes, 70);
  });
});
