/**
 * SPDM GET_MEASUREMENTS request/response parsing against the real Hopper report
 * (test/fixtures/nvidia/hopper-report.hex, 4117 bytes = 37-byte request +
 * 4080-byte response), with truncation at every field boundary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { fromHex, isVeriteeError, toHex } from '@veritee/core';
import { readFixture } from '../testing/fixtures.js';
import { parseSpdmRequest, SPDM_REQUEST_LAYOUT } from './spdm-request.js';
import {
  formatVbiosVersion,
  MAX_SPDM_EVIDENCE_BYTES,
  MAX_SPDM_TRAILING_BYTES,
  nvidiaOpaqueConfig,
  parseNvidiaOpaqueData,
  parseSpdmEvidence,
} from './spdm-response.js';
import { parsePemChain } from './cert-chain.js';

const text = (rel: string): string => new TextDecoder().decode(readFixture(rel));
const REPORT = fromHex(text('nvidia/hopper-report.hex').trim());
const NONCE = '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb';

// Absolute offsets in the fixture (request || response). R = 37 is where the response starts.
const R = 37;
const RECORD = R + 8; // MeasurementRecord, 64 blocks * 55 bytes = 3520
const NONCE_RESP = RECORD + 3520; // 3565: responder nonce
const OPAQUE_LEN = NONCE_RESP + 32; // 3597: OpaqueLength (= 422)
const OPAQUE = OPAQUE_LEN + 2; // 3599: OpaqueData
const SIG = OPAQUE + 422; // 4021: signature (96 bytes) = signed length
const END = SIG + 96; // 4117

function expectCode(fn: () => unknown, code: string, label: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isVeriteeError(e), `${label}: not a VeriteeError: ${String(e)}`);
    assert.equal(e.code, code, `${label}: ${e.message}`);
    return;
  }
  assert.fail(`${label}: did not throw`);
}

test('fixture layout: request is 37 bytes, response ends exactly after a 96-byte signature', () => {
  assert.equal(REPORT.length, END);
  const e = parseSpdmEvidence(REPORT);
  assert.equal(e.request.length, 37);
  assert.equal(e.request.version, 0x11);
  assert.equal(e.request.code, 0xe0);
  assert.equal(e.request.param1, 0x01);
  assert.equal(e.request.param2, 0xff);
  assert.equal(e.request.slotId, 0);
  assert.equal(toHex(e.request.nonce), NONCE);
  assert.equal(e.response.version, 0x11);
  assert.equal(e.response.code, 0x60);
  assert.equal(e.response.numberOfBlocks, 64);
  assert.equal(e.response.recordLength, 3520);
  assert.equal(e.response.opaqueLength, 422);
  assert.equal(e.signedBytes.length, SIG);
  assert.equal(e.signature.length, 96);
  assert.deepEqual(e.signature, REPORT.subarray(SIG));
  // responder nonce is a different value from the requester's
  assert.equal(toHex(e.response.nonce), 'b4b8a06aaaa35542839388e159d447a5d6f6194998fd86513e2d591ccf640985');
  for (const [i, b] of e.response.blocks.entries()) {
    assert.equal(b.index, i + 1);
    assert.equal(b.specification, 1);
    assert.equal(b.size, 51);
    assert.equal(b.value.length, 48);
  }
});

test('what is signed: SHA-384 over request || response minus signature (checked with node:crypto, independently)', () => {
  const leaf = parsePemChain(text('nvidia/hopper-cert-chain.txt'))[0]!;
  const key = createPublicKey({ key: Buffer.from(leaf.spki), format: 'der', type: 'spki' });
  const sig = REPORT.subarray(SIG);
  const v = (data: Uint8Array): boolean => nodeVerify('sha384', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  assert.equal(v(REPORT.subarray(0, SIG)), true, 'request || response-without-signature');
  assert.equal(v(REPORT.subarray(R, SIG)), false, 'response alone');
  assert.equal(v(REPORT), false, 'everything');
  assert.deepEqual(parseSpdmEvidence(REPORT).signedBytes, REPORT.subarray(0, SIG));
});

test('parsed claims equal hopper-report-claims.txt (measurements and opaque config)', () => {
  const expected = JSON.parse(text('nvidia/hopper-report-claims.txt')) as {
    measurements: Record<string, string>;
    config: Record<string, unknown>;
  };
  const e = parseSpdmEvidence(REPORT);
  const measurements = Object.fromEntries(e.response.blocks.map((b) => [String(b.index), toHex(b.value)]));
  assert.deepEqual(measurements, expected.measurements);
  assert.deepEqual(nvidiaOpaqueConfig(e.response.opaqueFields), expected.config);
});

test('opaque data: vbios formatting, duplicates and broken TLVs are refused', () => {
  assert.equal(formatVbiosVersion(fromHex('009f009601000000')), '96.00.9f.00.01');
  assert.deepEqual(parseNvidiaOpaqueData(new Uint8Array()), []);
  const item = (t: number, d: number[]): number[] => [t & 0xff, t >> 8, d.length & 0xff, d.length >> 8, ...d];
  assert.deepEqual(
    parseNvidiaOpaqueData(new Uint8Array(item(3, [0x31, 0]))).map((f) => [f.type, f.name]),
    [[3, 'driver_version']],
  );
  assert.equal(parseNvidiaOpaqueData(new Uint8Array(item(99, [1]))).at(0)?.name, 'type_99');
  expectCode(() => parseNvidiaOpaqueData(new Uint8Array([...item(3, [1]), ...item(3, [2])])), 'ATTEST_EVIDENCE_INVALID', 'duplicate');
  expectCode(() => parseNvidiaOpaqueData(new Uint8Array([...item(3, [1]), 0, 0])), 'ATTEST_EVIDENCE_INVALID', 'short header');
  expectCode(() => parseNvidiaOpaqueData(new Uint8Array([3, 0, 5, 0, 1])), 'ATTEST_EVIDENCE_INVALID', 'short data');
});

test('truncated at every field boundary: ATTEST_REPORT_TRUNCATED naming the field', () => {
  const boundaries: [number, string][] = [
    [0, 'empty: SPDMVersion missing'],
    [1, 'after SPDMVersion (request offset 0)'],
    [2, 'after RequestResponseCode (1)'],
    [3, 'after Param1 (2)'],
    [4, 'after Param2 (3)'],
    [20, 'inside Nonce (4..35)'],
    [36, 'after Nonce, SlotIDParam (36) missing'],
    [R, 'request complete (37), response empty'],
    [R + 1, 'after response SPDMVersion (response offset 0)'],
    [R + 2, 'after RequestResponseCode (1)'],
    [R + 3, 'after Param1 (2)'],
    [R + 4, 'after Param2 (3)'],
    [R + 5, 'after NumberOfBlocks (4)'],
    [R + 7, 'inside MeasurementRecordLength (5..7)'],
    [RECORD, 'after MeasurementRecordLength (8): record missing'],
    [RECORD + 1, 'after block 1 Index'],
    [RECORD + 2, 'after block 1 MeasurementSpecification'],
    [RECORD + 4, 'after block 1 MeasurementSize'],
    [RECORD + 5, 'after block 1 DMTF value type'],
    [RECORD + 7, 'after block 1 DMTF value size'],
    [RECORD + 55, 'after block 1 value (block 2 starts)'],
    [RECORD + 63 * 55, 'block 64 starts'],
    [NONCE_RESP, 'record complete (3565), responder Nonce missing'],
    [NONCE_RESP + 16, 'inside responder Nonce'],
    [OPAQUE_LEN, 'after Nonce (3597), OpaqueLength missing'],
    [OPAQUE_LEN + 1, 'inside OpaqueLength'],
    [OPAQUE, 'after OpaqueLength (3599), OpaqueData missing'],
    [OPAQUE + 2, 'after first opaque item type'],
    [OPAQUE + 4, 'after first opaque item size'],
    [OPAQUE + 12, 'after first opaque item (vbios_version, 8 bytes)'],
    [SIG, 'OpaqueData complete (4021), Signature missing'],
    [SIG + 1, 'first byte of Signature'],
    [SIG + 48, 'after r (Signature is r||s)'],
    [END - 1, 'one byte short of the end (4116)'],
  ];
  for (const [len, label] of boundaries) {
    expectCode(() => parseSpdmEvidence(REPORT.slice(0, len)), 'ATTEST_REPORT_TRUNCATED', `truncated to ${len} (${label})`);
  }
});

test('every truncation length 0..4116 throws a VeriteeError, never anything else', () => {
  for (let len = 0; len < END; len++) {
    try {
      parseSpdmEvidence(REPORT.subarray(0, len));
      assert.fail(`length ${len} parsed`);
    } catch (e) {
      assert.ok(isVeriteeError(e), `length ${len}: ${String(e)}`);
    }
  }
});

test('trailing bytes: up to the limit they are returned apart and never signed; beyond it refused', () => {
  const plain = parseSpdmEvidence(REPORT);
  assert.equal(plain.trailing.length, 0);
  for (const n of [1, 7, MAX_SPDM_TRAILING_BYTES]) {
    const b = new Uint8Array(END + n).fill(0xee);
    b.set(REPORT);
    const e = parseSpdmEvidence(b);
    assert.equal(e.trailing.length, n);
    assert.ok(e.trailing.every((x) => x === 0xee));
    assert.deepEqual(e.signedBytes, plain.signedBytes, `${n}: signed bytes unchanged`);
    assert.deepEqual(e.signature, plain.signature, `${n}: signature window unchanged`);
    assert.equal(e.response.length, plain.response.length);
    assert.deepEqual(e.response.opaqueFields, plain.response.opaqueFields);
  }
  const over = new Uint8Array(END + MAX_SPDM_TRAILING_BYTES + 1);
  over.set(REPORT);
  expectCode(() => parseSpdmEvidence(over), 'ATTEST_TRAILING_BYTES', 'one byte over the trailing limit');
});

test('oversized: inputs beyond the size limit are refused', () => {
  const huge = new Uint8Array(MAX_SPDM_EVIDENCE_BYTES + 1);
  huge.set(REPORT);
  expectCode(() => parseSpdmEvidence(huge), 'INPUT_TOO_LARGE', 'over the limit');
});

test('inconsistent lengths and values are refused', () => {
  const mutate = (off: number, v: number): Uint8Array => {
    const b = REPORT.slice();
    b[off] = v;
    return b;
  };
  expectCode(() => parseSpdmEvidence(mutate(0, 0x12)), 'ATTEST_REPORT_VERSION', 'request SPDM 1.2');
  expectCode(() => parseSpdmEvidence(mutate(0, 0x10)), 'ATTEST_REPORT_VERSION', 'request SPDM 1.0');
  expectCode(() => parseSpdmEvidence(mutate(1, 0xe1)), 'ATTEST_EVIDENCE_INVALID', 'not GET_MEASUREMENTS');
  expectCode(() => parseSpdmEvidence(mutate(2, 0x00)), 'ATTEST_EVIDENCE_INVALID', 'no signature requested');
  expectCode(() => parseSpdmEvidence(mutate(R, 0x12)), 'ATTEST_REPORT_VERSION', 'response version differs');
  expectCode(() => parseSpdmEvidence(mutate(R + 1, 0x61)), 'ATTEST_EVIDENCE_INVALID', 'not MEASUREMENTS');
  expectCode(() => parseSpdmEvidence(mutate(R + 4, 65)), 'ATTEST_EVIDENCE_INVALID', 'NumberOfBlocks 65 > record');
  expectCode(() => parseSpdmEvidence(mutate(R + 4, 63)), 'ATTEST_EVIDENCE_INVALID', 'NumberOfBlocks 63 < record');
  expectCode(() => parseSpdmEvidence(mutate(R + 5, 0xc1)), 'ATTEST_EVIDENCE_INVALID', 'record length + 1');
  expectCode(() => parseSpdmEvidence(mutate(RECORD + 1, 0x02)), 'ATTEST_EVIDENCE_INVALID', 'non-DMTF block');
  expectCode(() => parseSpdmEvidence(mutate(RECORD + 55, 1)), 'ATTEST_EVIDENCE_INVALID', 'duplicate index 1');
  expectCode(() => parseSpdmEvidence(mutate(RECORD + 5, 47)), 'ATTEST_EVIDENCE_INVALID', 'DMTF size != MeasurementSize - 3');
  expectCode(() => parseSpdmEvidence(mutate(3, 0x05)), 'ATTEST_EVIDENCE_INVALID', 'request for one index, 64 returned');
  // OpaqueLength one less: the signature window shifts by one and a trailing byte remains;
  // the opaque items no longer fit, so it is refused (and the signed OpaqueLength changed anyway)
  expectCode(() => parseSpdmEvidence(mutate(OPAQUE_LEN, 421 & 0xff)), 'ATTEST_EVIDENCE_INVALID', 'opaque length - 1');
});

test('the request length follows from its own fields: 37 bytes parse alone', () => {
  assert.equal(SPDM_REQUEST_LAYOUT.end, 37);
  const r = parseSpdmRequest(REPORT.slice(0, 37));
  assert.equal(r.length, 37);
  assert.equal(toHex(r.nonce), NONCE);
  // the response alone is not a request
  expectCode(() => parseSpdmRequest(REPORT.subarray(R)), 'ATTEST_EVIDENCE_INVALID', 'response as request');
});

test('random byte mutations either parse or throw a VeriteeError', () => {
  let seed = 4242;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 3000; i++) {
    const b = REPORT.slice();
    // bias towards the headers, where lengths live
    for (let k = 0; k < 1 + rnd(3); k++) b[rnd(4) === 0 ? rnd(b.length) : [R + 4, R + 5, R + 6, R + 7, OPAQUE_LEN, OPAQUE_LEN + 1, OPAQUE + 2, RECORD + 2, RECORD + 5][rnd(9)]!] = rnd(256);
    try {
      parseSpdmEvidence(b);
    } catch (e) {
      assert.ok(isVeriteeError(e), `iteration ${i}: ${String(e)}`);
    }
  }
});
