/**
 * NVIDIA device certificate chain: the real 5-certificate Hopper chain
 * (FMC leaf -> GSP BROM -> GH100 Provisioner ICA 1 -> GH100 Identity -> Device Identity CA)
 * against the bundled root, plus broken variants.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isVeriteeError, toHex } from '@veritee/core';
import { readFixture } from '../testing/fixtures.js';
import {
  anchorFromDer,
  checkValidityAt,
  leafIdentity,
  parseCertificate,
  parsePemChain,
  toPem,
  verifyChain,
  MAX_CERTS_IN_CHAIN,
} from './cert-chain.js';
import { NVIDIA_DEVICE_ROOT_SHA256, nvidiaDeviceRootDer } from './roots.js';
import { createSimNvidiaAuthority } from '../sim/nvidia.js';

const PEM = new TextDecoder().decode(readFixture('nvidia/hopper-cert-chain.txt'));
const ROOT = anchorFromDer(nvidiaDeviceRootDer(), false);
const AT = new Date('2025-06-01T00:00:00Z');

function expectCode(fn: () => unknown, code: string, label: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isVeriteeError(e), `${label}: ${String(e)}`);
    assert.equal(e.code, code, `${label}: ${e.message}`);
    return;
  }
  assert.fail(`${label}: did not throw`);
}

test('bundled root is byte-identical to the fixture root and has the published SHA-256', () => {
  const fixtureRoot = parsePemChain(new TextDecoder().decode(readFixture('roots/nvidia-device-root.pem')))[0]!;
  assert.deepEqual(nvidiaDeviceRootDer(), fixtureRoot.der);
  assert.equal(createHash('sha256').update(nvidiaDeviceRootDer()).digest('hex'), NVIDIA_DEVICE_ROOT_SHA256);
});

test('fixture chain: 5 certificates, leaf first, chains to the bundled root', async () => {
  const certs = parsePemChain(PEM);
  assert.equal(certs.length, 5);
  assert.match(certs[0]!.subject, /CN=GH100 A01 GSP FMC LF/);
  assert.deepEqual(certs[4]!.der, nvidiaDeviceRootDer());
  const r = await verifyChain(certs, [ROOT]);
  assert.equal(r.ok, true, r.detail);
  assert.equal(r.simulated, false);
  assert.equal(r.path.length, 5);
  assert.equal(checkValidityAt(r.path, AT).ok, true);
});

test('the chain also verifies when the root is not sent', async () => {
  const certs = parsePemChain(PEM).slice(0, 4);
  const r = await verifyChain(certs, [ROOT]);
  assert.equal(r.ok, true, r.detail);
  assert.equal(r.path.length, 5);
});

test('leaf identity: FWID (DICE extension), device id (SAN), serial', () => {
  const leaf = parsePemChain(PEM)[0]!;
  const id = leafIdentity(leaf);
  assert.equal(id.fwid, 'f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d');
  assert.equal(id.deviceName, 'NVIDIA:GH100:48B02D92494BADF4');
  assert.equal(id.deviceId, '48b02d92494badf4');
  assert.equal(id.serialNumber, '53C22BA15E5D68088282DA074ED9FB37AA585771');
  assert.equal(leaf.keyCurve, '1.3.132.0.34'); // P-384
});

test('validity: before any notBefore (latest is ICA 1, 2022-03-01) -> ATTEST_CERT_EXPIRED', () => {
  const certs = parsePemChain(PEM);
  for (const c of certs) assert.equal(c.notAfter.toISOString(), '9999-12-31T23:59:59.000Z');
  const early = checkValidityAt(certs, new Date('2019-01-01T00:00:00Z'));
  assert.equal(early.ok, false);
  assert.equal(early.code, 'ATTEST_CERT_EXPIRED');
  const beforeIca = checkValidityAt(certs, new Date('2022-02-28T23:59:59Z'));
  assert.equal(beforeIca.code, 'ATTEST_CERT_EXPIRED');
  assert.match(beforeIca.detail, /Provisioner ICA 1/);
  assert.equal(checkValidityAt(certs, new Date('2022-03-01T00:00:00Z')).ok, true);
  assert.equal(checkValidityAt(certs, new Date('9999-12-31T23:59:59Z')).ok, true);
});

test('broken chains are refused: missing intermediate, reordered, root only, leaf only', async () => {
  const certs = parsePemChain(PEM);
  const cases: [string, typeof certs][] = [
    ['missing intermediate', [certs[0]!, certs[1]!, certs[3]!, certs[4]!]],
    ['reordered', [certs[1]!, certs[0]!, certs[2]!, certs[3]!, certs[4]!]],
    ['root only', [certs[4]!]],
    ['leaf only', [certs[0]!]],
    ['empty', []],
  ];
  for (const [label, chain] of cases) {
    const r = await verifyChain(chain, [ROOT]);
    assert.equal(r.ok, false, label);
    assert.equal(r.code, 'ATTEST_CERT_CHAIN_INVALID', label);
  }
});

test('a bit flip inside any certificate breaks the chain', async () => {
  const certs = parsePemChain(PEM);
  for (let i = 0; i < 4; i++) {
    const der = certs[i]!.der.slice();
    // flip a bit in the last byte of the subject name (inside the TBS): still parses, signature breaks
    const at = indexOf(der, certs[i]!.subjectRaw) + certs[i]!.subjectRaw.length - 1;
    assert.ok(at > 0);
    der[at]! ^= 0x01;
    const tampered = [...certs];
    tampered[i] = parseCertificate(der, `tampered ${i}`);
    const r = await verifyChain(tampered, [ROOT]);
    assert.equal(r.ok, false, `certificate ${i + 1}`);
    assert.equal(r.code, 'ATTEST_CERT_CHAIN_INVALID');
  }
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

test('a flipped bit in the root as sent is not trusted (only the exact bundled bytes are)', async () => {
  const certs = parsePemChain(PEM);
  const der = certs[4]!.der.slice();
  der[der.length - 10]! ^= 0x01; // inside the root's signature
  const r = await verifyChain([...certs.slice(0, 4), parseCertificate(der)], [ROOT]);
  assert.equal(r.ok, false);
});

test('simulated anchors: real chain stays real; simulated chain only with its anchor', async () => {
  const sim = await createSimNvidiaAuthority();
  const simAnchor = anchorFromDer(sim.anchors.nvidiaRoot!, true);
  const real = await verifyChain(parsePemChain(PEM), [ROOT, simAnchor]);
  assert.equal(real.ok, true);
  assert.equal(real.simulated, false);
  const simCerts = parsePemChain(sim.certChainPem);
  const without = await verifyChain(simCerts, [ROOT]);
  assert.equal(without.ok, false);
  const withAnchor = await verifyChain(simCerts, [ROOT, simAnchor]);
  assert.equal(withAnchor.ok, true, withAnchor.detail);
  assert.equal(withAnchor.simulated, true);
  // another simulator's root does not help
  const other = await createSimNvidiaAuthority();
  const wrong = await verifyChain(simCerts, [ROOT, anchorFromDer(other.anchors.nvidiaRoot!, true)]);
  assert.equal(wrong.ok, false);
});

test('PEM input errors are VeriteeErrors', () => {
  expectCode(() => parsePemChain(''), 'ATTEST_EVIDENCE_INVALID', 'empty');
  expectCode(() => parsePemChain('hello'), 'ATTEST_EVIDENCE_INVALID', 'no PEM');
  expectCode(() => parsePemChain('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'), 'ATTEST_EVIDENCE_INVALID', 'not DER');
  expectCode(() => parsePemChain('-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----'), 'INPUT_BASE64_INVALID', 'not base64');
  const one = toPem(nvidiaDeviceRootDer());
  expectCode(() => parsePemChain(one.repeat(MAX_CERTS_IN_CHAIN + 1)), 'ATTEST_EVIDENCE_INVALID', 'too many');
  expectCode(() => parsePemChain('x'.repeat(70_000)), 'INPUT_TOO_LARGE', 'too long');
});

test('certificate parser never throws anything but VeriteeError on mangled DER', () => {
  const der = parsePemChain(PEM)[0]!.der;
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 2000; i++) {
    const b = der.slice(0, i % 7 === 0 ? rnd(der.length) : der.length);
    for (let k = 0; k < 3; k++) if (b.length) b[rnd(b.length)] = rnd(256);
    try {
      parseCertificate(b);
    } catch (e) {
      assert.ok(isVeriteeError(e), `iteration ${i}: ${String(e)}`);
    }
  }
  assert.equal(toHex(parseCertificate(der).fwid!.digest).length, 96);
});
