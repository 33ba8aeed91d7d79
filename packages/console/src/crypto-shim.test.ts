// The browser build's node:crypto / Buffer / zlib shims give Node's answers: every
// case below is run through Node and through the shim, valid and tampered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import { gzipSync } from 'node:zlib';
import * as shim from './shims/node-crypto.js';
import { BrowserBuffer } from './shims/buffer.js';
import { gunzipSync } from './shims/node-zlib.js';

const msg = new TextEncoder().encode('veritee statement bytes');
const flip = (b: Uint8Array, i = 5): Uint8Array => {
  const c = Uint8Array.from(b);
  c[i % c.length] ^= 1;
  return c;
};

test('createHash matches Node for sha1/256/384/512, chunked and hex', () => {
  for (const alg of ['sha1', 'sha256', 'sha384', 'sha512']) {
    const a = nodeCrypto.createHash(alg).update(msg).update('tail').digest('hex');
    const b = shim.createHash(alg).update(msg).update('tail').digest('hex');
    assert.equal(b, a, alg);
    assert.deepEqual(Uint8Array.from(shim.createHash(alg).update(msg).digest()), Uint8Array.from(nodeCrypto.createHash(alg).update(msg).digest()));
  }
  assert.throws(() => shim.createHash('md5'), /Invalid digest/);
});

for (const curve of ['prime256v1', 'secp384r1'] as const) {
  test(`ECDSA ${curve}: DER and IEEE P1363 signatures, SPKI and JWK keys, same verdicts as Node`, () => {
    const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync('ec', { namedCurve: curve });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const key = shim.createPublicKey({ key: spki, format: 'der', type: 'spki' });
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails.namedCurve, curve);
    const jwkKey = shim.createPublicKey({ key: jwk, format: 'jwk' });
    for (const hash of ['sha256', 'sha384']) {
      for (const dsaEncoding of ['der', 'ieee-p1363'] as const) {
        const sig = new Uint8Array(nodeCrypto.sign(hash, msg, { key: privateKey, dsaEncoding }));
        for (const [m, s] of [[msg, sig], [flip(msg), sig], [msg, flip(sig, 40)], [msg, sig.subarray(1)]] as const) {
          const want = nodeCrypto.verify(hash, m, { key: publicKey, dsaEncoding }, s);
          assert.equal(shim.verify(hash, m, { key, dsaEncoding }, s), want, `${hash} ${dsaEncoding}`);
          assert.equal(shim.verify(hash, m, { key: jwkKey, dsaEncoding }, s), want);
        }
        assert.equal(shim.verify(hash, msg, { key, dsaEncoding }, sig), true);
      }
    }
  });
}

test('ECDSA: a high-S signature (OpenSSL accepts it) verifies in both; a point off the curve is refused', () => {
  const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const sig = new Uint8Array(nodeCrypto.sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const s = BigInt('0x' + Buffer.from(sig.subarray(32)).toString('hex'));
  const high = Uint8Array.from(sig);
  high.set(Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'), 32);
  assert.equal(nodeCrypto.verify('sha256', msg, { key: publicKey, dsaEncoding: 'ieee-p1363' }, high), true);
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  assert.equal(shim.verify('sha256', msg, { key: shim.createPublicKey(spki), dsaEncoding: 'ieee-p1363' }, high), true);
  const bad = Uint8Array.from(spki);
  bad[bad.length - 1] ^= 1;
  assert.throws(() => nodeCrypto.createPublicKey({ key: Buffer.from(bad), format: 'der', type: 'spki' }));
  assert.throws(() => shim.createPublicKey({ key: bad, format: 'der', type: 'spki' }));
});

test('RSA PKCS#1 v1.5 and PSS (fixed, digest-length and auto salt, odd modulus sizes): same verdicts as Node', () => {
  for (const bits of [2048, 2050, 3072]) {
    const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: bits });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const key = shim.createPublicKey({ key: spki, format: 'der', type: 'spki' });
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.equal(key.asymmetricKeyDetails.modulusLength, bits);
    const jwkKey = shim.createPublicKey({ key: publicKey.export({ format: 'jwk' }) as Record<string, unknown>, format: 'jwk' });
    const P = nodeCrypto.constants;
    const cases: { hash: string; padding: number; saltSign?: number; saltVerify?: number }[] = [
      { hash: 'sha256', padding: P.RSA_PKCS1_PADDING },
      { hash: 'sha384', padding: P.RSA_PKCS1_PADDING },
      { hash: 'sha384', padding: P.RSA_PKCS1_PSS_PADDING, saltSign: 48, saltVerify: 48 },
      { hash: 'sha384', padding: P.RSA_PKCS1_PSS_PADDING, saltSign: 32, saltVerify: 48 },
      { hash: 'sha256', padding: P.RSA_PKCS1_PSS_PADDING, saltSign: 32, saltVerify: P.RSA_PSS_SALTLEN_AUTO },
      { hash: 'sha256', padding: P.RSA_PKCS1_PSS_PADDING, saltSign: P.RSA_PSS_SALTLEN_MAX_SIGN, saltVerify: P.RSA_PSS_SALTLEN_AUTO },
      { hash: 'sha256', padding: P.RSA_PKCS1_PSS_PADDING, saltSign: 0, saltVerify: P.RSA_PSS_SALTLEN_DIGEST },
    ];
    for (const c of cases) {
      const sig = new Uint8Array(nodeCrypto.sign(c.hash, msg, { key: privateKey, padding: c.padding, ...(c.saltSign !== undefined ? { saltLength: c.saltSign } : {}) }));
      for (const [m, s] of [[msg, sig], [flip(msg), sig], [msg, flip(sig, 77)], [msg, sig.subarray(1)]] as const) {
        const opts = { padding: c.padding, ...(c.saltVerify !== undefined ? { saltLength: c.saltVerify } : {}) };
        const want = nodeCrypto.verify(c.hash, m, { key: publicKey, ...opts }, s);
        assert.equal(shim.verify(c.hash, m, { key, ...opts }, s), want, `${bits} ${JSON.stringify(c)}`);
        assert.equal(shim.verify(c.hash, m, { key: jwkKey, ...opts }, s), want);
      }
    }
    // A signature whose leading byte is zero, sent without it: OpenSSL takes it for PSS, not for PKCS#1 v1.5.
    for (const padding of [P.RSA_PKCS1_PSS_PADDING, P.RSA_PKCS1_PADDING]) {
      let sig: Uint8Array;
      let m: Uint8Array;
      let i = 0;
      do {
        m = new TextEncoder().encode(`message ${i++}`);
        sig = new Uint8Array(nodeCrypto.sign('sha256', m, { key: privateKey, padding }));
      } while (sig[0] !== 0 && i < 5000);
      assert.equal(sig[0], 0, 'found a signature with a leading zero byte');
      const short = sig.subarray(1);
      assert.equal(shim.verify('sha256', m, { key, padding }, short), nodeCrypto.verify('sha256', m, { key: publicKey, padding }, short), `${bits} short, padding ${padding}`);
    }
  }
});

test('Buffer shim: hex, base64, base64url and utf8 agree with Node', () => {
  const bytes = nodeCrypto.randomBytes(257);
  for (const enc of ['hex', 'base64', 'base64url', 'latin1'] as const) {
    const text = bytes.toString(enc);
    assert.equal(BrowserBuffer.from(bytes).toString(enc), text, enc);
    assert.deepEqual(Uint8Array.from(BrowserBuffer.from(text, enc)), Uint8Array.from(bytes), enc);
  }
  for (let n = 0; n < 5; n++) assert.equal(BrowserBuffer.from(bytes.subarray(0, n)).toString('base64'), bytes.subarray(0, n).toString('base64'));
  assert.equal(BrowserBuffer.from('héllo', 'utf8').toString('hex'), Buffer.from('héllo').toString('hex'));
  assert.equal(BrowserBuffer.compare(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), Buffer.compare(Buffer.of(1, 2), Buffer.of(1, 3)));
  assert.equal(BrowserBuffer.compare(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), 0);
  assert.equal(BrowserBuffer.concat([Uint8Array.of(1), Uint8Array.of(2, 3)]).toString('hex'), '010203');
});

test('gunzipSync shim inflates what zlib compressed and refuses output above maxOutputLength', () => {
  const data = nodeCrypto.randomBytes(5000);
  const gz = gzipSync(Buffer.concat([data, Buffer.alloc(100_000)]));
  assert.deepEqual(Uint8Array.from(gunzipSync(gz).subarray(0, 5000)), Uint8Array.from(data));
  assert.equal(gunzipSync(gz).length, 105_000);
  assert.throws(() => gunzipSync(gz, { maxOutputLength: 10_000 }), (e: unknown) => e instanceof RangeError && (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE');
  assert.throws(() => gunzipSync(flip(gz, 20)));
});

test('the shim refuses to make keys or sign (the browser only verifies)', () => {
  assert.throws(() => shim.generateKeyPairSync(), /not available in the browser/);
  assert.throws(() => shim.sign(), /not available in the browser/);
});
