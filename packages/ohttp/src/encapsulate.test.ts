import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, isVeriteeError, toHex } from '@veritee/core';
import { decapsulate, encapsulate, REQUEST_HEADER_BYTES, type KeyLookup } from './encapsulate.js';
import { decodeKeyConfig, encodeKeyConfig, KeyStore, type GatewayKey } from './keyconfig.js';
import { AEAD_AES_128_GCM, AEAD_AES_256_GCM, AEAD_CHACHA20_POLY1305, importX25519KeyPair, type HpkeBackend } from './hpke.js';
import { decodeRequest, decodeResponse, encodeResponse } from './bhttp.js';

// RFC 9458 Appendix A, every value as published.
const RFC = {
  serverSecretKey: '3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a',
  keyConfig: '01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e79815500080001000100010003',
  request: '00034745540568747470730b6578616d706c652e636f6d012f',
  ephemeralSecretKey: 'bc51d5e930bda26589890ac7032f70ad12e4ecb37abb1b65b1256c9c48999c73',
  encapsulatedRequest:
    '010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b4726374e469135906992e1268c594d2a10c695d858c40a026e7965e7d86b83dd440b2c0185204b4d63525',
  response: '0140c8',
  responseNonce: 'c789e7151fcba46158ca84b04464910d',
  encapsulatedResponse: 'c789e7151fcba46158ca84b04464910d86f9013e404feea014e7be4a441f234f857fbd',
};

async function rfcLookup(backend: HpkeBackend): Promise<KeyLookup> {
  const config = decodeKeyConfig(fromHex(RFC.keyConfig));
  const key: GatewayKey = { config, keyPair: await importX25519KeyPair(fromHex(RFC.serverSecretKey), backend) };
  return { backend, lookup: (id) => (id === config.keyId ? key : undefined) };
}

for (const backend of ['node', 'webcrypto'] as const) {
  test(`RFC 9458 Appendix A reproduced byte for byte (${backend} primitives)`, async () => {
    // the key configuration: from the secret key, key ID 1, HKDF-SHA256 with AES-128-GCM and ChaCha20-Poly1305
    const store = await KeyStore.create({
      backend,
      initial: {
        keyId: 1,
        privateKey: fromHex(RFC.serverSecretKey),
        symmetric: [
          { kdfId: 1, aeadId: AEAD_AES_128_GCM },
          { kdfId: 1, aeadId: AEAD_CHACHA20_POLY1305 },
        ],
      },
    });
    assert.equal(toHex(encodeKeyConfig(store.activeConfigs()[0]!)), RFC.keyConfig);

    // the encapsulated request, with the RFC's ephemeral key
    const config = decodeKeyConfig(fromHex(RFC.keyConfig));
    const { request, responseContext } = await encapsulate(config, fromHex(RFC.request), {
      backend,
      ephemeralPrivateKey: fromHex(RFC.ephemeralSecretKey),
    });
    assert.equal(toHex(request), RFC.encapsulatedRequest);

    // the gateway opens it
    const d = await decapsulate(await rfcLookup(backend), request);
    assert.equal(toHex(d.request), RFC.request);
    const req = decodeRequest(d.request);
    assert.deepEqual([req.method, req.scheme, req.authority, req.path], ['GET', 'https', 'example.com', '/']);

    // the encapsulated response, with the RFC's response nonce
    const encResponse = d.responseContext.seal(fromHex(RFC.response), { responseNonce: fromHex(RFC.responseNonce) });
    assert.equal(toHex(encResponse), RFC.encapsulatedResponse);

    // the client opens the RFC's own bytes
    const response = responseContext.open(fromHex(RFC.encapsulatedResponse));
    assert.equal(toHex(response), RFC.response);
    assert.equal(decodeResponse(response).status, 200);
  });
}

test('both primitive sets interoperate for every AEAD (node client, webcrypto gateway and back)', async () => {
  for (const aeadId of [AEAD_AES_128_GCM, AEAD_CHACHA20_POLY1305, AEAD_AES_256_GCM]) {
    for (const [client, gateway] of [
      ['node', 'webcrypto'],
      ['webcrypto', 'node'],
    ] as const) {
      const store = await KeyStore.create({ backend: gateway, symmetric: [{ kdfId: 1, aeadId }] });
      const body = new TextEncoder().encode(`aead ${aeadId}`);
      const { request, responseContext, aeadId: used } = await encapsulate(store.activeConfigs(), body, { backend: client });
      assert.equal(used, aeadId);
      const d = await decapsulate(store, request);
      assert.deepEqual(d.request, body);
      const res = encodeResponse({ informational: [], status: 204, headers: [], content: new Uint8Array(0), trailers: [] });
      assert.deepEqual(responseContext.open(d.responseContext.seal(res)), res);
    }
  }
});

test('a response context opens one response only', async () => {
  const store = await KeyStore.create();
  const { request, responseContext } = await encapsulate(store.activeConfigs(), new Uint8Array([0]));
  const d = await decapsulate(store, request);
  const sealed = d.responseContext.seal(new Uint8Array([1]));
  assert.throws(() => d.responseContext.seal(new Uint8Array([1])));
  assert.deepEqual(responseContext.open(sealed), new Uint8Array([1]));
  assert.throws(() => responseContext.open(sealed), (e) => isVeriteeError(e, 'OHTTP_RESPONSE_INVALID'));
});

test('decapsulation rejects truncation at every field boundary of the RFC request', async () => {
  const keys = await rfcLookup('node');
  const full = fromHex(RFC.encapsulatedRequest); // 78 bytes
  // hdr is 7 bytes (key ID 1 | KEM 2 | KDF 2 | AEAD 2), enc is 32 (bytes 7..38), then ct = 25-byte BHTTP + 16-byte tag.
  const cuts: Array<[number, string]> = [
    [0, 'empty'],
    [1, 'after key ID'],
    [3, 'after KEM ID'],
    [5, 'after KDF ID'],
    [6, 'inside AEAD ID'],
    [REQUEST_HEADER_BYTES, 'after hdr, before enc'],
    [REQUEST_HEADER_BYTES + 31, 'one byte short of enc'],
    [REQUEST_HEADER_BYTES + 32, 'after enc, no ciphertext'],
    [REQUEST_HEADER_BYTES + 32 + 15, 'shorter than the AEAD tag'],
  ];
  for (const [n, where] of cuts) {
    await assert.rejects(decapsulate(keys, full.subarray(0, n)), (e) => isVeriteeError(e, 'OHTTP_REQUEST_INVALID'), `cut at ${n} (${where})`);
  }
  // a tag's worth of ciphertext but not the real one (cut inside the ciphertext): the AEAD fails
  for (const n of [REQUEST_HEADER_BYTES + 32 + 16, full.length - 1]) {
    await assert.rejects(decapsulate(keys, full.subarray(0, n)), (e) => isVeriteeError(e, 'OHTTP_DECRYPT_FAILED'), `cut at ${n}`);
  }
});

test('decapsulation: unknown key ID, wrong KEM, unoffered suite, tampered bytes', async () => {
  const keys = await rfcLookup('node');
  const full = fromHex(RFC.encapsulatedRequest);
  const flip = (i: number, v?: number) => {
    const b = full.slice();
    b[i] = v ?? b[i]! ^ 0x01;
    return b;
  };
  await assert.rejects(decapsulate(keys, flip(0, 2)), (e) => isVeriteeError(e, 'OHTTP_KEY_UNKNOWN')); // key ID 2
  await assert.rejects(decapsulate(keys, flip(2, 0x10)), (e) => isVeriteeError(e, 'OHTTP_KEY_UNKNOWN')); // KEM 0x0010 (P-256)
  await assert.rejects(decapsulate(keys, flip(6, 0x02)), (e) => isVeriteeError(e, 'OHTTP_SUITE_UNSUPPORTED')); // AES-256-GCM not offered
  await assert.rejects(decapsulate(keys, flip(10)), (e) => isVeriteeError(e, 'OHTTP_DECRYPT_FAILED')); // inside enc
  await assert.rejects(decapsulate(keys, flip(50)), (e) => isVeriteeError(e, 'OHTTP_DECRYPT_FAILED')); // inside ct
  await assert.rejects(decapsulate(keys, flip(full.length - 1)), (e) => isVeriteeError(e, 'OHTTP_DECRYPT_FAILED')); // last tag byte
});

test('a tampered or truncated response is refused by the client', async () => {
  const store = await KeyStore.create();
  for (const mutate of [(b: Uint8Array) => b.subarray(0, 16 + 15), (b: Uint8Array) => ((b[b.length - 1]! ^= 1), b), (b: Uint8Array) => ((b[0]! ^= 1), b)]) {
    const { request, responseContext } = await encapsulate(store.activeConfigs(), new Uint8Array([0]));
    const d = await decapsulate(store, request);
    const sealed = mutate(d.responseContext.seal(new Uint8Array([1, 2, 3])));
    assert.throws(() => responseContext.open(sealed), (e) => isVeriteeError(e, 'OHTTP_RESPONSE_INVALID') || isVeriteeError(e, 'OHTTP_DECRYPT_FAILED'));
  }
});
