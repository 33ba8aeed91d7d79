import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { certificateSerial, selfSignedCertificate } from './tls-cert.js';

test('serials are minimal positive DER integers whatever the random bytes', () => {
  // A random first byte of 0x00 or 0x80 followed by a byte below 0x80 used to give a
  // non-minimal INTEGER, which OpenSSL refuses ("illegal padding").
  for (const first of [0x00, 0x80, 0x7f, 0xff]) {
    const random = new Uint8Array(16).fill(0x01);
    random[0] = first;
    const serial = certificateSerial(random);
    assert.ok(serial[0]! >= 0x40 && serial[0]! < 0x80, `first byte ${serial[0]}`);
    const c = selfSignedCertificate('localhost', { serial: random });
    const x = new X509Certificate(c.cert); // throws on a malformed encoding
    assert.equal(x.serialNumber.length, 32);
    assert.ok(x.checkPrivateKey(createPrivateKey(c.key)));
  }
});

