import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { isVeriteeError, toHex } from '@veritee/core';
import { readFixture } from '../testing/fixtures.js';
import { checkValidity, parseAmdCert, readAmdExtensions, verifyIssuedBy } from './certs.js';
import { T, decodeOid, decodeSmallUint, decodeTime, enc, integer, oid, readOne, time } from './der.js';
import { AMD_ROOT_FINGERPRINTS, SNP_PRODUCTS, amdRoots } from './roots.js';

const milanVcek = readFixture('snp/milan-v2-vcek.der');

test('bundled roots equal the fixture files byte for byte and their pinned fingerprints', () => {
  for (const p of SNP_PRODUCTS) {
    for (const k of ['ark', 'ask', 'asvk'] as const) {
      const bundled = amdRoots()[p][k];
      assert.equal(toHex(bundled), toHex(readFixture(`roots/amd/${p}/${k}.der`)), `${p} ${k}`);
      assert.equal(createHash('sha256').update(bundled).digest('hex'), AMD_ROOT_FINGERPRINTS[`${p}.${k}`], `${p} ${k} fingerprint`);
    }
  }
});

test('each bundled ARK is self-signed and signs its ASK and ASVK (RSA-PSS SHA-384, verified for real)', () => {
  for (const p of SNP_PRODUCTS) {
    const r = amdRoots()[p];
    const ark = parseAmdCert(r.ark);
    const ask = parseAmdCert(r.ask);
    const asvk = parseAmdCert(r.asvk);
    assert.equal(ark.keyDescription, 'rsa:4096');
    assert.ok(ark.isCa && ask.isCa && asvk.isCa);
    assert.equal(ark.sigAlgProblem, undefined);
    assert.ok(verifyIssuedBy(ark, ark).ok, `${p} ARK self-signature`);
    assert.ok(verifyIssuedBy(ask, ark).ok, `${p} ASK`);
    assert.ok(verifyIssuedBy(asvk, ark).ok, `${p} ASVK`);
    assert.match(ark.commonName, /^ARK-/);
    // cross-product chains fail
    for (const q of SNP_PRODUCTS) {
      if (q === p) continue;
      assert.equal(verifyIssuedBy(ask, parseAmdCert(amdRoots()[q].ark)).ok, false, `${p} ASK under ${q} ARK`);
    }
  }
});

test('fixture VCEK: chains to the Milan ASK, decodes AMD extensions', () => {
  const vcek = parseAmdCert(milanVcek);
  assert.equal(vcek.commonName, 'SEV-VCEK');
  assert.equal(vcek.serialHex, '00');
  assert.equal(vcek.keyDescription, 'ec:secp384r1');
  assert.equal(vcek.notAfter.toISOString(), '2030-01-24T17:58:26.000Z');
  assert.ok(verifyIssuedBy(vcek, parseAmdCert(amdRoots().milan.ask)).ok);
  assert.equal(verifyIssuedBy(vcek, parseAmdCert(amdRoots().milan.asvk)).ok, false);
  assert.equal(verifyIssuedBy(vcek, parseAmdCert(amdRoots().genoa.ask)).ok, false);
  const e = readAmdExtensions(vcek);
  assert.deepEqual(e.errors, []);
  assert.equal(e.productName, 'Milan-B0');
  assert.deepEqual([e.bootloader, e.tee, e.snp, e.microcode, e.fmc], [3, 0, 8, 115, undefined]);
  assert.equal(toHex(e.hwId!).slice(0, 16), 'c38427a30d4c7af9');
});

test('fixture VLEK: chains to the Milan ASVK, no hwID, cspID present, ucode 217 (two-byte INTEGER)', () => {
  const v = parseAmdCert(readFixture('snp/vlek-v3-vlek.der'));
  assert.equal(v.commonName, 'SEV-VLEK');
  assert.ok(verifyIssuedBy(v, parseAmdCert(amdRoots().milan.asvk)).ok);
  assert.equal(verifyIssuedBy(v, parseAmdCert(amdRoots().milan.ask)).ok, false);
  const e = readAmdExtensions(v);
  assert.equal(e.hwId, undefined);
  assert.equal(e.cspId, 'CN=cc-us-east-2.amazonaws.com');
  assert.equal(e.microcode, 217);
});

test('invalid VCEKs (legacy raw hwID and OCTET STRING hwID) do not chain to AMD', () => {
  for (const f of ['snp/invalid-vcek-legacy.der', 'snp/invalid-vcek-new.der']) {
    const c = parseAmdCert(readFixture(f));
    for (const p of SNP_PRODUCTS) assert.equal(verifyIssuedBy(c, parseAmdCert(amdRoots()[p].ask)).ok, false, `${f} under ${p}`);
    // both hwID encodings decode to the same 64 bytes
    assert.equal(toHex(readAmdExtensions(c).hwId!), toHex(Uint8Array.from({ length: 64 }, (_, i) => i)));
  }
});

test('a flipped byte anywhere in the VCEK breaks parsing or the chain', () => {
  const ask = parseAmdCert(amdRoots().milan.ask);
  // positions: inside the TBS (issuer, key, extensions) and inside the signature value
  for (const pos of [20, 200, 300, 420, 600, 720, milanVcek.length - 200, milanVcek.length - 1]) {
    const m = Uint8Array.from(milanVcek);
    m[pos] ^= 0x01;
    try {
      const c = parseAmdCert(m);
      assert.equal(verifyIssuedBy(c, ask).ok, false, `flip at ${pos} still verifies`);
    } catch (e) {
      assert.ok(isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'), `flip at ${pos}: ${String(e)}`);
    }
  }
});

test('malformed certificates give ATTEST_EVIDENCE_INVALID, never a crash', () => {
  for (let n = 0; n < milanVcek.length; n += 37) {
    assert.throws(() => parseAmdCert(milanVcek.subarray(0, n)), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'), `truncated to ${n}`);
  }
  for (let i = 0; i < 200; i++) {
    const g = new Uint8Array(randomBytes(1 + (i % 64) * 20));
    if (i % 2) g[0] = 0x30;
    try {
      parseAmdCert(g);
    } catch (e) {
      assert.ok(isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'), String(e));
    }
  }
  assert.throws(() => parseAmdCert(new Uint8Array(0)), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'));
  const extra = new Uint8Array(milanVcek.length + 1);
  extra.set(milanVcek);
  assert.throws(() => parseAmdCert(extra), /trailing/);
});

test('validity is checked at the given instant, inclusive bounds', () => {
  const c = parseAmdCert(milanVcek);
  assert.ok(checkValidity(c, c.notBefore).ok);
  assert.ok(checkValidity(c, c.notAfter).ok);
  assert.ok(checkValidity(c, new Date('2025-06-01T00:00:00Z')).ok);
  const early = checkValidity(c, new Date(c.notBefore.getTime() - 1));
  assert.equal(early.ok, false);
  assert.match(early.detail, /not yet valid/);
  const late = checkValidity(c, new Date(c.notAfter.getTime() + 1));
  assert.equal(late.ok, false);
  assert.match(late.detail, /expired/);
});

test('DER helpers round-trip', () => {
  for (const o of ['1.3.6.1.4.1.3704.1.3.8', '2.16.840.1.101.3.4.2.2', '1.2.840.113549.1.1.10']) {
    const b = oid(o);
    assert.equal(decodeOid(b, readOne(b, 'oid')), o);
  }
  for (const v of [0, 1, 127, 128, 217, 255, 65536]) {
    const b = integer(v);
    assert.equal(decodeSmallUint(b, readOne(b, 'int')), v);
  }
  for (const d of ['2025-06-01T00:00:00Z', '2049-12-31T23:59:59Z', '2050-01-01T00:00:00Z', '1999-02-03T04:05:06Z']) {
    const b = time(new Date(d));
    assert.equal(decodeTime(b, readOne(b, 'time')).toISOString(), new Date(d).toISOString());
  }
  // out-of-range fields are refused, not rolled over
  for (const bad of ['251301000000Z', '250132000000Z', '250101240000Z', '2501010000Z', '250101000000+0100']) {
    const b = enc(T.UTC_TIME, new TextEncoder().encode(bad));
    assert.throws(() => decodeTime(b, readOne(b, 'time')), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID'), bad);
  }
});
