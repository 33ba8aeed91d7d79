import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, isVeriteeError, toHex, type Clock } from '@veritee/core';
import {
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  AEAD_CHACHA20_POLY1305,
  decodeKeyConfig,
  decodeKeyConfigs,
  encodeKeyConfig,
  encodeKeyConfigs,
  KeyStore,
  selectSuite,
  type KeyConfig,
} from './keyconfig.js';
import { decapsulate, encapsulate } from './encapsulate.js';

const RFC_CONFIG = '01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e79815500080001000100010003';
const configInvalid = (e: unknown) => isVeriteeError(e, 'OHTTP_KEY_CONFIG_INVALID');

test('RFC 9458 key configuration: decoded and re-encoded', () => {
  const c = decodeKeyConfig(fromHex(RFC_CONFIG));
  assert.equal(c.keyId, 1);
  assert.equal(c.kemId, 0x0020);
  assert.equal(toHex(c.publicKey), '31e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e798155');
  assert.deepEqual(c.symmetric, [
    { kdfId: 1, aeadId: AEAD_AES_128_GCM },
    { kdfId: 1, aeadId: AEAD_CHACHA20_POLY1305 },
  ]);
  assert.equal(toHex(encodeKeyConfig(c)), RFC_CONFIG);
});

test('application/ohttp-keys: 2-byte length prefixes; bare configurations accepted as a fallback', () => {
  const a = decodeKeyConfig(fromHex(RFC_CONFIG));
  const b: KeyConfig = { ...a, keyId: 7, symmetric: [{ kdfId: 1, aeadId: AEAD_AES_256_GCM }] };
  const list = encodeKeyConfigs([a, b]);
  assert.equal(toHex(list.subarray(0, 2)), '002d'); // 45 bytes
  assert.equal(list.length, 2 + 45 + 2 + 41);
  assert.deepEqual(decodeKeyConfigs(list), [a, b]);
  // the pre-RFC bare form (concatenated configurations)
  assert.deepEqual(decodeKeyConfigs(new Uint8Array([...encodeKeyConfig(a), ...encodeKeyConfig(b)])), [a, b]);
  // an unknown KEM inside a length-prefixed list is skipped
  const unknown = new Uint8Array([0, 10, 9, 0x00, 0x99, 0xaa, 0, 4, 0, 1, 0, 1]);
  assert.deepEqual(decodeKeyConfigs(new Uint8Array([...unknown, ...list])), [a, b]);
  assert.throws(() => decodeKeyConfigs(unknown), (e) => isVeriteeError(e, 'OHTTP_SUITE_UNSUPPORTED'));
  // duplicate key IDs, empty body
  assert.throws(() => decodeKeyConfigs(encodeKeyConfigs([a, a])), configInvalid);
  assert.throws(() => decodeKeyConfigs(new Uint8Array(0)), configInvalid);
});

test('key configuration truncated at every field boundary', () => {
  // Offsets: 0 key ID | 1..2 KEM ID | 3..34 public key (Npk = 32) | 35..36 symmetric
  // length (8) | 37..40 HKDF-SHA256 + AES-128-GCM | 41..44 HKDF-SHA256 + ChaCha20-Poly1305.
  const full = fromHex(RFC_CONFIG);
  assert.equal(full.length, 45);
  for (const [n, where] of [
    [0, 'empty'],
    [1, 'after key ID'],
    [2, 'inside KEM ID'],
    [3, 'after KEM ID'],
    [34, 'one byte short of the public key'],
    [35, 'after the public key'],
    [36, 'inside the symmetric length'],
    [37, 'after the symmetric length'],
    [41, 'after the first suite'],
    [44, 'inside the second suite'],
  ] as const) {
    assert.throws(() => decodeKeyConfig(full.subarray(0, n)), configInvalid, `cut at ${n} (${where})`);
  }
  assert.throws(() => decodeKeyConfig(new Uint8Array([...full, 0])), configInvalid); // trailing byte
  const badLen = full.slice();
  badLen[36] = 6; // a symmetric length that is not a multiple of 4
  assert.throws(() => decodeKeyConfig(badLen), configInvalid);
  // in a list: a length prefix that overruns, a prefix that disagrees with the content
  assert.throws(() => decodeKeyConfigs(new Uint8Array([0, 46, ...full])), configInvalid);
  assert.throws(() => decodeKeyConfigs(new Uint8Array([0])), configInvalid);
});

test('client suite selection follows the AEAD preference within the gateway order', () => {
  const a = decodeKeyConfig(fromHex(RFC_CONFIG));
  assert.equal(selectSuite(a).aeadId, AEAD_AES_128_GCM);
  assert.equal(selectSuite(a, [AEAD_CHACHA20_POLY1305]).aeadId, AEAD_CHACHA20_POLY1305);
  assert.throws(() => selectSuite(a, [AEAD_AES_256_GCM]), (e) => isVeriteeError(e, 'OHTTP_SUITE_UNSUPPORTED'));
  const weird: KeyConfig = { ...a, keyId: 3, symmetric: [{ kdfId: 2, aeadId: 1 }] }; // HKDF-SHA384: not supported
  assert.equal(selectSuite([weird, a]).config.keyId, 1);
});

function manualClock(start: number): Clock & { set(ms: number): void } {
  let now = start;
  return { now: () => now, set: (ms) => (now = ms) };
}

test('key rotation: the old key is accepted during the grace period and refused after it', async () => {
  const t0 = Date.parse('2025-06-01T00:00:00Z');
  const clock = manualClock(t0);
  const store = await KeyStore.create({ clock, graceMs: 60_000 });
  const oldConfigs = store.activeConfigs();
  const oldDigest = toHex(store.digest());
  const body = new Uint8Array([1, 2, 3]);

  clock.set(t0 + 1000);
  const next = await store.rotate();
  assert.notEqual(next.keyId, oldConfigs[0]!.keyId);
  assert.deepEqual(store.activeConfigs(), [next]); // only the new key is published
  assert.notEqual(toHex(store.digest()), oldDigest);
  assert.deepEqual(store.status().map((s) => [s.keyId, s.state, s.acceptedUntil]), [
    [oldConfigs[0]!.keyId, 'grace', new Date(t0 + 1000 + 60_000).toISOString()],
    [next.keyId, 'active', undefined],
  ]);

  // within the grace period (rotated at t0+1000, grace 60 s): accepted
  clock.set(t0 + 1000 + 59_999);
  const early = await encapsulate(oldConfigs, body);
  assert.deepEqual((await decapsulate(store, early.request)).request, body);

  // at the end of the grace period: refused as an unknown key
  clock.set(t0 + 1000 + 60_000);
  const late = await encapsulate(oldConfigs, body);
  await assert.rejects(decapsulate(store, late.request), (e) => isVeriteeError(e, 'OHTTP_KEY_UNKNOWN'));
  assert.equal(store.status().length, 1);

  // the new key keeps working
  const fresh = await encapsulate(store.activeConfigs(), body);
  assert.deepEqual((await decapsulate(store, fresh.request)).request, body);
});

test('key IDs: sequential, wrap at 255, never reused while in grace', async () => {
  const clock = manualClock(0);
  const store = await KeyStore.create({ clock, graceMs: 10, initial: { keyId: 254 } });
  assert.equal((await store.rotate()).keyId, 255);
  assert.equal((await store.rotate()).keyId, 0); // 254 and 255 still in grace
  await assert.rejects(store.add({ keyId: 0 }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
  clock.set(100);
  assert.equal((await store.rotate()).keyId, 1);
  assert.deepEqual(
    store.status().map((s) => [s.keyId, s.state]),
    [
      [0, 'grace'],
      [1, 'active'],
    ],
  );
});
