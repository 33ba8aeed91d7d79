/**
 * The NVIDIA verifier end to end on the real Hopper report: the good fixture passes and
 * yields the claims of hopper-report-claims.txt (and the golden testdata/hopper.claims.json);
 * wrong nonce, bit flips (measurement, signature, certificate), truncation, oversize,
 * an expired `at` and SNP-shaped envelopes all fail with the right codes, without throwing.
 *
 * Regenerate the golden file: UPDATE_GOLDEN=1 node --import tsx --test packages/attestation/src/nvidia/verify.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, toBase64, toHex } from '@veritee/core';
import type { EvidenceEnvelope, VerificationResult, VerifyParams } from '../types.js';
import { readFixture } from '../testing/fixtures.js';
import { nvidiaVerifier, parseSpdmEvidence } from './index.js';
import { MAX_SPDM_BASE64_CHARS } from './evidence.js';
import { MAX_SPDM_TRAILING_BYTES } from './spdm-response.js';
import { createSimNvidiaAuthority, simNvidiaEvidence } from '../sim/nvidia.js';
import { parsePemChain, toPem } from './cert-chain.js';

const text = (rel: string): string => new TextDecoder().decode(readFixture(rel));
const REPORT = fromHex(text('nvidia/hopper-report.hex').trim());
const PEM = text('nvidia/hopper-cert-chain.txt');
const NONCE = fromHex('931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb');
const AT = new Date('2025-06-01T00:00:00Z'); // chain valid 2022-03-01 .. 9999-12-31
const UUID = '1111-2222-33333-444444-555555'; // the uuid Trustee's test pairs with this report
const SIG = 4021; // signature offset (= signed length)

function envelope(spdm: Uint8Array = REPORT, pem: string = PEM, extra: Record<string, unknown> = {}): EvidenceEnvelope {
  return { platform: 'nvidia', evidence: { spdm: toBase64(spdm), cert_chain: pem, ...extra } };
}

async function run(env: unknown, params: Partial<VerifyParams> = {}): Promise<VerificationResult> {
  return nvidiaVerifier.verify(env as EvidenceEnvelope, { at: AT, expectedNonce: NONCE, ...params });
}

function failed(r: VerificationResult): Record<string, string | undefined> {
  return Object.fromEntries(r.checks.filter((c) => !c.ok).map((c) => [c.name, c.code]));
}

const here = dirname(fileURLToPath(import.meta.url));
/** The committed golden file under src/ (also when the test runs from dist/), so UPDATE_GOLDEN=1 rewrites the source copy. */
function goldenPath(): string {
  const rel = join('testdata', 'hopper.claims.json');
  const fromSrc = join(here.replace(/([\\/])dist([\\/]|$)(?!.*[\\/]dist([\\/]|$))/, '$1src$2'), rel);
  return existsSync(fromSrc) ? fromSrc : join(here, rel);
}

test('the real Hopper report verifies: every check passes', async () => {
  const r = await run(envelope());
  assert.equal(r.ok, true, JSON.stringify(failed(r)));
  assert.deepEqual(
    r.checks.map((c) => c.name),
    [
      'nvidia.envelope',
      'nvidia.parse',
      'nvidia.cert_chain',
      'nvidia.cert_validity',
      'nvidia.signature',
      'nvidia.fwid',
      'nvidia.device',
      'nvidia.nonce',
      'nvidia.measurements',
    ],
  );
  assert.equal(r.notes, undefined);
  assert.match(r.checks.find((c) => c.name === 'nvidia.device')!.detail, /^NVIDIA GPU, chip GH100 \(Hopper\), named by the leaf certificate \(NVIDIA:GH100:48B02D92494BADF4\)/);
  const c = r.claims!;
  assert.equal(c.platform, 'nvidia');
  assert.equal(c.simulated, false);
  assert.equal(c.signer, 'nvidia-device');
  assert.equal(c.product, 'hopper');
  assert.equal(c.debug, false);
  assert.equal(c.version, 0x11);
  assert.equal(c.reportData, toHex(NONCE));
  assert.equal(c.chipId, '48b02d92494badf4');
  assert.equal(c.certChain.length, 5);
  assert.equal(c.certChain[4], 'CN=NVIDIA Device Identity CA, O=NVIDIA');
});

test('without expectedNonce the nonce check is not run and the report still verifies', async () => {
  const r = await nvidiaVerifier.verify(envelope(), { at: AT });
  assert.equal(r.ok, true);
  assert.equal(r.checks.some((c) => c.name === 'nvidia.nonce'), false);
});

test('claims equal hopper-report-claims.txt (arch, config, measurements, uuid)', async () => {
  const expected = JSON.parse(text('nvidia/hopper-report-claims.txt')) as Record<string, unknown>;
  const r = await run(envelope(REPORT, PEM, { uuid: UUID }));
  assert.equal(r.ok, true);
  const c = r.claims!;
  const pd = c.platformData as { arch: string; config: Record<string, unknown>; uuid: string; uuidSigned: boolean };
  const measurements = Object.fromEntries(Object.entries(c.measurements).map(([k, v]) => [k.replace(/^gpu\./, ''), v]));
  assert.deepEqual({ arch: pd.arch, config: pd.config, measurements, uuid: pd.uuid }, expected);
  assert.equal(pd.uuidSigned, false);
  assert.equal(pd.config.driver_version, '550.90.07');
  assert.equal(pd.config.vbios_version, '96.00.9f.00.01');
});

test('measurement = SHA-384 over the 64 values in index order (recomputed independently)', async () => {
  const expected = JSON.parse(text('nvidia/hopper-report-claims.txt')) as { measurements: Record<string, string> };
  const h = createHash('sha384');
  for (let i = 1; i <= 64; i++) h.update(Buffer.from(expected.measurements[String(i)]!, 'hex'));
  const r = await run(envelope());
  assert.equal(r.claims!.measurement, h.digest('hex'));
});

test('golden claims: testdata/hopper.claims.json', async () => {
  const r = await run(envelope(REPORT, PEM, { uuid: UUID }));
  const json = JSON.stringify(r.claims, null, 2) + '\n';
  const path = goldenPath();
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, json);
  assert.deepEqual(r.claims, JSON.parse(readFileSync(path, 'utf8')));
});

test('wrong nonce is rejected (ATTEST_REPORT_DATA_MISMATCH); the rest still passes', async () => {
  const wrong = NONCE.slice();
  wrong[31]! ^= 0x01;
  const r = await run(envelope(), { expectedNonce: wrong });
  assert.equal(r.ok, false);
  assert.deepEqual(failed(r), { 'nvidia.nonce': 'ATTEST_REPORT_DATA_MISMATCH' });
  const short = await run(envelope(), { expectedNonce: NONCE.slice(0, 16) });
  assert.deepEqual(failed(short), { 'nvidia.nonce': 'ATTEST_REPORT_DATA_MISMATCH' });
});

test('bit flip in a measurement value -> signature fails', async () => {
  const b = REPORT.slice();
  const block2Value = 37 + 8 + 55 + 7; // block 2 starts at record + 55; its value after 7 header bytes
  b[block2Value]! ^= 0x80;
  const r = await run(envelope(b));
  assert.equal(r.ok, false);
  assert.deepEqual(failed(r), { 'nvidia.signature': 'ATTEST_SIGNATURE_INVALID' });
  assert.notEqual(r.claims!.measurements['gpu.2'], '8048dfd18fe229bf16eb9d30cca0f11a24dafe6eb731de1462984645a0b189b77c4e4e17de727a5e19e3d07de51da338');
});

test('bit flips in the signature (r and s), the request nonce and the opaque data -> failure', async () => {
  for (const [off, label] of [
    [SIG, 'r first byte'],
    [SIG + 95, 's last byte'],
    [4 + 5, 'request nonce'],
    [3599 + 50, 'opaque data'],
    [37 + 8 + 3520 + 3, 'responder nonce'],
  ] as const) {
    const b = REPORT.slice();
    b[off]! ^= 0x01;
    const r = await run(envelope(b));
    assert.equal(r.ok, false, label);
    assert.equal(failed(r)['nvidia.signature'], 'ATTEST_SIGNATURE_INVALID', label);
  }
});

test('bit flip in a certificate -> chain fails (leaf, intermediate); flipped leaf key -> signature fails too', async () => {
  const certs = parsePemChain(PEM);
  const flip = (i: number, off: (der: Uint8Array) => number): string => {
    const der = certs[i]!.der.slice();
    der[off(der)]! ^= 0x01;
    return certs.map((c, k) => toPem(k === i ? der : c.der)).join('');
  };
  // last byte of the leaf's signature value
  let r = await run(envelope(REPORT, flip(0, (d) => d.length - 1)));
  assert.equal(failed(r)['nvidia.cert_chain'], 'ATTEST_CERT_CHAIN_INVALID');
  assert.equal(r.ok, false);
  // inside intermediate 3's TBS (byte 40: in the serial/issuer area)
  r = await run(envelope(REPORT, flip(2, () => 40)));
  assert.equal(r.ok, false);
  assert.ok(failed(r)['nvidia.cert_chain'] !== undefined);
  // the leaf's public key (last byte of its SPKI)
  const leaf = certs[0]!;
  const spkiEnd = indexOf(leaf.der, leaf.spki) + leaf.spki.length - 1;
  r = await run(envelope(REPORT, flip(0, () => spkiEnd)));
  assert.equal(r.ok, false);
  const f = failed(r);
  assert.ok(f['nvidia.cert_chain'] !== undefined || f['nvidia.signature'] !== undefined, JSON.stringify(f));
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

test('time outside the chain validity -> ATTEST_CERT_EXPIRED', async () => {
  const r = await run(envelope(), { at: new Date('2019-01-01T00:00:00Z') });
  assert.equal(r.ok, false);
  assert.deepEqual(failed(r), { 'nvidia.cert_validity': 'ATTEST_CERT_EXPIRED' });
  await assert.rejects(nvidiaVerifier.verify(envelope(), { at: new Date('nope') }), { code: 'INPUT_TIME_INVALID' });
});

test('truncated evidence at field boundaries -> failed nvidia.parse with ATTEST_REPORT_TRUNCATED, no throw', async () => {
  // request: 1 version, 2 code, 3 param1, 4 param2, 36 nonce, 37 slot | response (37+): 38 version,
  // 42 NumberOfBlocks, 45 record length, 3565 record end, 3597 nonce end, 3599 OpaqueLength, 4021 opaque end, 4069 r
  for (const len of [1, 2, 3, 4, 36, 37, 38, 42, 45, 100, 3565, 3597, 3599, 3605, 4021, 4069, 4116]) {
    const r = await run(envelope(REPORT.slice(0, len)));
    assert.equal(r.ok, false, `length ${len}`);
    assert.equal(failed(r)['nvidia.parse'], 'ATTEST_REPORT_TRUNCATED', `length ${len}`);
    assert.equal(r.claims, undefined);
    assert.equal(failed(r)['nvidia.signature'], 'ATTEST_SIGNATURE_INVALID'); // not run -> failed
  }
  const empty = await run({ platform: 'nvidia', evidence: { spdm: '', cert_chain: PEM } });
  assert.deepEqual(failed(empty), { 'nvidia.envelope': 'ATTEST_EVIDENCE_INVALID' });
});

test('oversized evidence -> INPUT_TOO_LARGE / trailing bytes refused, no throw', async () => {
  const big = await run({ platform: 'nvidia', evidence: { spdm: 'A'.repeat(MAX_SPDM_BASE64_CHARS + 1), cert_chain: PEM } });
  assert.deepEqual(failed(big), { 'nvidia.envelope': 'INPUT_TOO_LARGE' });
  const bigPem = await run({ platform: 'nvidia', evidence: { spdm: toBase64(REPORT), cert_chain: PEM.repeat(20) } });
  assert.deepEqual(failed(bigPem), { 'nvidia.envelope': 'INPUT_TOO_LARGE' });
  const decodedTooBig = new Uint8Array(256 * 1024 + 3);
  decodedTooBig.set(REPORT);
  const r1 = await run(envelope(decodedTooBig));
  assert.equal(failed(r1)['nvidia.parse'], 'INPUT_TOO_LARGE');
  const trailing = new Uint8Array(REPORT.length + MAX_SPDM_TRAILING_BYTES + 1);
  trailing.set(REPORT);
  const r2 = await run(envelope(trailing));
  assert.equal(failed(r2)['nvidia.parse'], 'ATTEST_TRAILING_BYTES');
});

test('SNP-shaped envelopes are refused', async () => {
  const snpReport = readFixture('snp/milan-v2-report.bin');
  const vcek = readFixture('snp/milan-v2-vcek.der');
  // SNP evidence labelled nvidia
  const a = await run({ platform: 'nvidia', evidence: { attestation_report: toBase64(snpReport), cert_chain: { vcek: toBase64(vcek) } } });
  assert.equal(a.ok, false);
  assert.deepEqual(failed(a), { 'nvidia.envelope': 'ATTEST_EVIDENCE_INVALID' });
  // SNP report bytes smuggled into the spdm field, VCEK as the chain
  const b = await run(envelope(snpReport, toPem(vcek)));
  assert.equal(b.ok, false);
  assert.equal(failed(b)['nvidia.parse'], 'ATTEST_REPORT_VERSION');
  assert.equal(failed(b)['nvidia.cert_chain'], 'ATTEST_CERT_CHAIN_INVALID');
  // NVIDIA evidence labelled snp
  const c = await run({ ...envelope(), platform: 'snp' });
  assert.deepEqual(failed(c), { 'nvidia.envelope': 'ATTEST_PLATFORM_UNSUPPORTED' });
  // unknown keys, wrong types
  const d = await run({ platform: 'nvidia', evidence: { spdm: toBase64(REPORT), cert_chain: PEM, extra: 1 } });
  assert.deepEqual(failed(d), { 'nvidia.envelope': 'ATTEST_EVIDENCE_INVALID' });
  for (const junk of [null, 42, 'x', [], { platform: 'nvidia' }, { platform: 'nvidia', evidence: { spdm: 1, cert_chain: PEM } }]) {
    const r = await run(junk);
    assert.equal(r.ok, false);
    assert.ok(r.checks.every((k) => k.ok || typeof k.code === 'string'));
  }
});

test('parseSpdmEvidence is exported and agrees with the verifier', () => {
  const e = parseSpdmEvidence(REPORT);
  assert.equal(e.response.blocks.length, 64);
});

// ---- unsigned trailing bytes after the signature ---------------------------------------------

const withTail = (b: Uint8Array, tail: number[]): Uint8Array => {
  const out = new Uint8Array(b.length + tail.length);
  out.set(b);
  out.set(tail, b.length);
  return out;
};
const verdict = (r: VerificationResult) => r.checks.map((c) => [c.name, c.ok, c.code ?? null]);

test('trailing 0x00 after the signature: verifies exactly as without it, plus a note naming the byte', async () => {
  const plain = await run(envelope());
  const tailed = await run(envelope(withTail(REPORT, [0x00])));
  assert.equal(tailed.ok, true, JSON.stringify(failed(tailed)));
  assert.deepEqual(verdict(tailed), verdict(plain)); // every check ran, with the same outcome
  for (const name of ['nvidia.signature', 'nvidia.cert_chain', 'nvidia.fwid', 'nvidia.device', 'nvidia.nonce', 'nvidia.measurements']) {
    assert.equal(tailed.checks.find((c) => c.name === name)!.detail, plain.checks.find((c) => c.name === name)!.detail, name);
  }
  assert.match(tailed.checks.find((c) => c.name === 'nvidia.signature')!.detail, /over 4021 bytes/); // the tail is not signed
  const { trailingBytes, ...restTailed } = tailed.claims!.platformData;
  const { trailingBytes: none, ...restPlain } = plain.claims!.platformData;
  assert.equal(trailingBytes, 1);
  assert.equal(none, 0);
  assert.deepEqual({ ...tailed.claims!, platformData: restTailed }, { ...plain.claims!, platformData: restPlain });
  assert.equal(tailed.notes?.length, 1);
  assert.match(tailed.notes![0]!, /^nvidia\.parse: 1 unsigned trailing byte\(s\) after the 96-byte signature \(at evidence offset 4117: 00\) were ignored/);
  assert.equal(plain.notes, undefined);
});

test('trailing byte + a flipped signed byte: still fails on the signature (the tail changes nothing)', async () => {
  const b = REPORT.slice();
  b[SIG - 1]! ^= 0x01; // last byte of the opaque data: signed
  const r = await run(envelope(withTail(b, [0x00])));
  assert.equal(r.ok, false);
  assert.deepEqual(failed(r), { 'nvidia.signature': 'ATTEST_SIGNATURE_INVALID' });
  // a flip in the signature itself, with a tail
  const s = REPORT.slice();
  s[SIG + 10]! ^= 0x01;
  assert.deepEqual(failed(await run(envelope(withTail(s, [0x00])))), { 'nvidia.signature': 'ATTEST_SIGNATURE_INVALID' });
  // the tail's content is never read: any value, same verdict
  assert.equal((await run(envelope(withTail(REPORT, [0xff, 0x60, 0x11])))).ok, true);
});

test(`trailing bytes: ${MAX_SPDM_TRAILING_BYTES} are tolerated, one more is refused (ATTEST_TRAILING_BYTES) and the other checks still run`, async () => {
  const atLimit = await run(envelope(withTail(REPORT, new Array<number>(MAX_SPDM_TRAILING_BYTES).fill(0))));
  assert.equal(atLimit.ok, true, JSON.stringify(failed(atLimit)));
  assert.match(atLimit.notes![0]!, new RegExp(`^nvidia\\.parse: ${MAX_SPDM_TRAILING_BYTES} unsigned trailing byte\\(s\\).*: 0{32}…\\) were ignored`));
  const over = await run(envelope(withTail(REPORT, new Array<number>(MAX_SPDM_TRAILING_BYTES + 1).fill(0))));
  assert.equal(over.ok, false);
  const parse = over.checks.find((c) => c.name === 'nvidia.parse')!;
  assert.equal(parse.code, 'ATTEST_TRAILING_BYTES');
  assert.match(parse.detail, new RegExp(`${MAX_SPDM_TRAILING_BYTES + 1} unsigned byte\\(s\\) follow the 96-byte signature; at most ${MAX_SPDM_TRAILING_BYTES} are tolerated`));
  assert.equal(over.checks.find((c) => c.name === 'nvidia.cert_chain')!.ok, true); // the chain was still checked
  assert.equal(over.claims, undefined);
});

test('real H100 report from a confidential-containers CI run (one 0x00 after the signature) verifies, with a note', async () => {
  const spdm = fromHex(text('nvidia/hopper-coco-report.hex').trim());
  assert.equal(spdm.length, 4130);
  assert.equal(spdm[4129], 0x00);
  const nonce = fromHex('87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec');
  const r = await run(envelope(spdm, text('nvidia/hopper-coco-cert-chain.txt')), { expectedNonce: nonce, at: new Date('2026-01-07T00:00:00Z') });
  assert.equal(r.ok, true, JSON.stringify(failed(r)));
  assert.equal(r.checks.length, 9); // every check ran
  assert.match(r.checks.find((c) => c.name === 'nvidia.signature')!.detail, /over 4033 bytes/);
  assert.deepEqual(r.notes?.map((n) => /1 unsigned trailing byte\(s\) after the 96-byte signature \(at evidence offset 4129: 00\)/.test(n)), [true]);
  assert.equal(r.claims!.chipId, '48b02d51037534ee');
  assert.equal((r.claims!.platformData.config as Record<string, unknown>).driver_version, '580.95.05');
  // without the trailing byte it verifies the same
  const bare = await run(envelope(spdm.subarray(0, 4129), text('nvidia/hopper-coco-cert-chain.txt')), { expectedNonce: nonce, at: new Date('2026-01-07T00:00:00Z') });
  assert.deepEqual(verdict(bare), verdict(r));
  assert.equal(bare.notes, undefined);
});

// ---- device class: NVSwitch and other chips are refused by name ----------------------------

test('NVSwitch evidence (leaf names chip LS10) is refused: "NVSwitch evidence is not supported"', async () => {
  const auth = await createSimNvidiaAuthority({ chip: 'LS10' });
  const nonce = new Uint8Array(32).fill(7);
  const env = simNvidiaEvidence(auth, { nonce });
  const r = await nvidiaVerifier.verify(env, { at: AT, expectedNonce: nonce, simulatedAnchors: auth.anchors });
  assert.equal(r.ok, false);
  assert.deepEqual(failed(r), { 'nvidia.device': 'ATTEST_PLATFORM_UNSUPPORTED' }); // signature, chain, FWID all pass
  assert.match(r.checks.find((c) => c.name === 'nvidia.device')!.detail, /^NVSwitch evidence is not supported: the leaf certificate names NVSwitch chip LS10 \(NVIDIA:LS10:[0-9A-F]{16}\)/);
});

test('NVSwitch evidence (NVSwitch-only opaque fields, signed) is refused by name, not by the FWID check', async () => {
  const auth = await createSimNvidiaAuthority();
  const nonce = new Uint8Array(32).fill(9);
  const env = simNvidiaEvidence(auth, {
    nonce,
    extraOpaqueFields: [
      { type: 22, data: new Uint8Array(8).fill(0xab) }, // switch_pdi
      { type: 24, data: new Uint8Array([3, 0, 0, 0]) }, // position_id
    ],
  });
  const r = await nvidiaVerifier.verify(env, { at: AT, expectedNonce: nonce, simulatedAnchors: auth.anchors });
  assert.deepEqual(failed(r), { 'nvidia.device': 'ATTEST_PLATFORM_UNSUPPORTED' });
  assert.equal(r.checks.find((c) => c.name === 'nvidia.fwid')!.ok, true);
  assert.match(r.checks.find((c) => c.name === 'nvidia.device')!.detail, /^NVSwitch evidence is not supported: the report carries NVSwitch-only opaque field\(s\) 22 switch_pdi, 24 position_id/);
  // the same simulated GPU without those fields passes
  const ok = await nvidiaVerifier.verify(simNvidiaEvidence(auth, { nonce }), { at: AT, expectedNonce: nonce, simulatedAnchors: auth.anchors });
  assert.equal(ok.ok, true, JSON.stringify(failed(ok)));
});

test('another chip (GB100) is refused by name; a leaf without a device name leaves the class unknown', async () => {
  const auth = await createSimNvidiaAuthority({ chip: 'GB100' });
  const nonce = new Uint8Array(32).fill(1);
  const r = await nvidiaVerifier.verify(simNvidiaEvidence(auth, { nonce }), { at: AT, simulatedAnchors: auth.anchors });
  assert.deepEqual(failed(r), { 'nvidia.device': 'ATTEST_PLATFORM_UNSUPPORTED' });
  assert.match(r.checks.find((c) => c.name === 'nvidia.device')!.detail, /^NVIDIA device chip GB100 \(NVIDIA:GB100:[0-9A-F]{16}\) is not supported: veritee verifies Hopper GPU \(GH100\) reports only/);
  // the real report with the second certificate (no device name) as the leaf
  const certs = parsePemChain(PEM);
  const r2 = await run(envelope(REPORT, certs.slice(1).map((c) => toPem(c.der)).join('')));
  const device = r2.checks.find((c) => c.name === 'nvidia.device')!;
  assert.equal(device.code, 'ATTEST_EVIDENCE_INVALID');
  assert.match(device.detail, /names no NVIDIA device \(no NVIDIA:<chip>:<id> subjectAltName\): the device class cannot be established/);
});
