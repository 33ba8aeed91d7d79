/**
 * The TPM 2.0 structures on their own: TPMS_ATTEST bounds, signature forms, PCR banks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { concatBytes, isVeriteeError } from '@veritee/core';
import { checkPcrDigest, describeSelection, parseTpmSignature, parseTpmsAttestQuote } from './tpm.js';

const be16 = (v: number) => Uint8Array.of(v >> 8, v & 255);
const be32 = (v: number) => Uint8Array.of(v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
const tpm2b = (b: Uint8Array) => concatBytes(be16(b.length), b);

function attest(opts: { extra?: Uint8Array; banks?: Array<[number, Uint8Array]>; digest?: Uint8Array } = {}): Uint8Array {
  const banks = opts.banks ?? [[0x000b, Uint8Array.of(0xff, 0, 0)]];
  return concatBytes(
    be32(0xff544347),
    be16(0x8018),
    tpm2b(new Uint8Array(34)),
    tpm2b(opts.extra ?? new Uint8Array(32)),
    new Uint8Array(17),
    new Uint8Array(8),
    be32(banks.length),
    ...banks.map(([h, bm]) => concatBytes(be16(h), Uint8Array.of(bm.length), bm)),
    tpm2b(opts.digest ?? new Uint8Array(32)),
  );
}

const code = (c: string) => (e: unknown) => isVeriteeError(e) && e.code === c;

test('TPMS_ATTEST: extraData over 64 bytes, a bitmap over 4 bytes and every truncation are refused', () => {
  assert.throws(() => parseTpmsAttestQuote(attest({ extra: new Uint8Array(65) })), /extraData is 65 bytes; at most 64/);
  assert.throws(() => parseTpmsAttestQuote(attest({ banks: [[0x000b, new Uint8Array(5)]] })), /sizeofSelect is 5/);
  const full = attest();
  for (let n = 0; n < full.length; n++) assert.throws(() => parseTpmsAttestQuote(full.subarray(0, n)), code('ATTEST_REPORT_TRUNCATED'), `length ${n}`);
  assert.equal(parseTpmsAttestQuote(full).selections[0]!.pcrs.join(','), '0,1,2,3,4,5,6,7');
});

test('PCR digest: only one SHA-256 bank; other banks are refused rather than half-checked', () => {
  const pcrs = Array.from({ length: 24 }, (_, i) => new Uint8Array(32).fill(i));
  const digest = new Uint8Array(createHash('sha256').update(concatBytes(...pcrs.slice(0, 8))).digest());
  assert.equal(checkPcrDigest(parseTpmsAttestQuote(attest({ digest })), pcrs).ok, true);
  const sha1 = checkPcrDigest(parseTpmsAttestQuote(attest({ banks: [[0x0004, Uint8Array.of(0xff, 0, 0)]], digest })), pcrs);
  assert.equal(sha1.ok, false);
  assert.match(sha1.detail, /hash bank 0x4/);
  const two = checkPcrDigest(parseTpmsAttestQuote(attest({ banks: [[0x000b, Uint8Array.of(0xff, 0, 0)], [0x000b, Uint8Array.of(0, 1, 0)]], digest })), pcrs);
  assert.equal(two.ok, false);
  // an empty selection quotes nothing
  assert.equal(checkPcrDigest(parseTpmsAttestQuote(attest({ banks: [[0x000b, Uint8Array.of(0, 0, 0)]], digest })), pcrs).ok, false);
  assert.equal(describeSelection([0, 1, 2, 7, 9, 10]), '0-2, 7, 9-10');
});

test('TPM signature: bare bytes must be exactly the modulus size; a TPMT_SIGNATURE must be complete and SHA-256', () => {
  assert.equal(parseTpmSignature(new Uint8Array(256), 256).form, 'raw');
  const tpmt = concatBytes(be16(0x0016), be16(0x000b), tpm2b(new Uint8Array(256)));
  assert.deepEqual([parseTpmSignature(tpmt, 256).scheme, parseTpmSignature(tpmt, 256).form], ['rsapss', 'tpmt']);
  assert.throws(() => parseTpmSignature(new Uint8Array(255), 256), /neither a 256-byte RSA signature nor a TPMT_SIGNATURE/);
  assert.throws(() => parseTpmSignature(concatBytes(tpmt, Uint8Array.of(0)), 256), /1 byte\(s\) after its end/);
  assert.throws(() => parseTpmSignature(concatBytes(be16(0x0014), be16(0x0004), tpm2b(new Uint8Array(256))), 256), /only SHA-256/);
  assert.throws(() => parseTpmSignature(concatBytes(be16(0x0014), be16(0x000b), tpm2b(new Uint8Array(128))), 256), /holds 128 signature bytes/);
});
