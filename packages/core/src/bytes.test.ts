import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bigintToBytesBE, bytesEqual, bytesToBigintBE, bytesToBigintLE, canonicalJson, concatBytes, fixedClock, fromBase64, fromHex, isVeriteeError, toBase64, toBase64Url, toEpochMs, toHex } from './index.js';

test('hex round trip and errors', () => {
  assert.equal(toHex(fromHex('00ff10AB')), '00ff10ab');
  assert.equal(toHex(fromHex('0x0102')), '0102');
  assert.throws(() => fromHex('abc', 'nonce'), (e: unknown) => isVeriteeError(e, 'INPUT_HEX_INVALID') && /nonce/.test((e as Error).message));
  assert.throws(() => fromHex('zz'), (e: unknown) => isVeriteeError(e, 'INPUT_HEX_INVALID'));
});

test('base64 and base64url agree with Node for every length', () => {
  for (let n = 0; n < 40; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
    assert.equal(toBase64(b), Buffer.from(b).toString('base64'));
    assert.equal(toBase64Url(b), Buffer.from(b).toString('base64url'));
    assert.deepEqual(fromBase64(Buffer.from(b).toString('base64')), b);
    assert.deepEqual(fromBase64(Buffer.from(b).toString('base64url')), b);
  }
  assert.throws(() => fromBase64('a$b'), (e: unknown) => isVeriteeError(e, 'INPUT_BASE64_INVALID'));
  assert.throws(() => fromBase64('abcde'), (e: unknown) => isVeriteeError(e, 'INPUT_BASE64_INVALID'));
});

test('integers, concatenation and constant-time equality', () => {
  assert.deepEqual(bigintToBytesBE(258n, 4), Uint8Array.from([0, 0, 1, 2]));
  assert.throws(() => bigintToBytesBE(65536n, 2));
  assert.equal(bytesToBigintBE(Uint8Array.from([1, 2])), 258n);
  assert.equal(bytesToBigintLE(Uint8Array.from([1, 2])), 513n);
  assert.deepEqual(concatBytes(Uint8Array.from([1]), Uint8Array.from([2, 3])), Uint8Array.from([1, 2, 3]));
  assert.equal(bytesEqual(Uint8Array.from([1, 2]), Uint8Array.from([1, 2])), true);
  assert.equal(bytesEqual(Uint8Array.from([1, 2]), Uint8Array.from([1, 3])), false);
  assert.equal(bytesEqual(Uint8Array.from([1]), Uint8Array.from([1, 0])), false);
});

test('canonical JSON sorts keys and refuses what JSON cannot hold', () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: 2 }, u: undefined }), '{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}');
  assert.throws(() => canonicalJson({ a: NaN }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
  assert.throws(() => canonicalJson({ a: 1n }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
});

test('the clock is explicit', () => {
  assert.equal(fixedClock('2025-06-01T00:00:00Z').now(), Date.UTC(2025, 5, 1));
  assert.equal(toEpochMs(5), 5);
  assert.throws(() => toEpochMs('not a time', 'at'), (e: unknown) => isVeriteeError(e, 'INPUT_TIME_INVALID') && /at/.test((e as Error).message));
});
