/**
 * @module nvidia/verify
 * Verifies an NVIDIA Hopper GPU attestation report (SPDM 1.1 GET_MEASUREMENTS request +
 * signed MEASUREMENTS response, device certificate chain in PEM).
 *
 * THREAT MODEL: the envelope, the SPDM bytes and every certificate come from the
 * attacker. Trusted: the bundled NVIDIA device identity root (roots.ts), the caller's
 * `at`, `expectedNonce` and, only when passed, `simulatedAnchors.nvidiaRoot`.
 *
 * INVARIANT: `ok` is true only if every check below ran and passed. A check that cannot
 * run (its input did not parse) is reported as failed. Every check runs that can, so a
 * caller sees all problems at once. Malformed input never throws: it becomes a failed
 * check carrying a VeriteeError code. Only an invalid `params.at` throws.
 *
 * Steps (check names):
 *   1 nvidia.envelope      zod shape, platform, size limits, base64
 *   2 nvidia.parse         request (length from its fields) then response; up to
 *                          MAX_SPDM_TRAILING_BYTES unsigned bytes after the signature are
 *                          ignored and reported as a note, more are refused
 *   3 nvidia.cert_chain    leaf -> ... -> NVIDIA root (or simulated anchor): names, CA, ECDSA signatures
 *   4 nvidia.cert_validity every certificate of the path valid at `at`
 *   5 nvidia.signature     ECDSA P-384 / SHA-384 over request || response-without-signature, leaf key
 *     nvidia.fwid          the report's FWID opaque field equals the leaf certificate's DICE FWID
 *     nvidia.device        the device is a Hopper GPU (GH100): NVSwitch or other chips refused by name
 *   6 nvidia.nonce         requester nonce equals `expectedNonce` (only when given)
 *   7 nvidia.measurements  at least one DMTF measurement block; exposed as gpu.<index>
 */
import { VeriteeError, bytesEqual, toHex, toVeriteeError, type ErrorCode } from '@veritee/core';
import type { Check, Claims, EvidenceEnvelope, PlatformVerifier, VerificationResult, VerifyParams } from '../types.js';
import { decodeNvidiaEvidence, type DecodedNvidiaEvidence } from './evidence.js';
import { describeSpdm, OPAQUE, parseSpdmEvidence, SPDM_P384_SIGNATURE_SIZE, type SpdmEvidence } from './spdm-response.js';
import {
  anchorFromDer,
  bufferSource,
  checkValidityAt,
  importEcKey,
  parsePemChain,
  verifyChain,
  type ChainOutcome,
  type ParsedCert,
  type TrustAnchor,
} from './cert-chain.js';
import { nvidiaDeviceRootDer } from './roots.js';
import { buildNvidiaClaims } from './claims.js';
import { SPDM_NONCE_SIZE } from './spdm-request.js';
import { deviceClassCode, nvidiaDeviceClass } from './device.js';

/** At most this many trailing bytes are shown (hex) in the note. */
const TRAILING_SHOWN = 16;

let realAnchor: TrustAnchor | undefined;
function bundledAnchor(): TrustAnchor {
  realAnchor ??= anchorFromDer(nvidiaDeviceRootDer(), false);
  return realAnchor;
}

/** ECDSA P-384 / SHA-384 over `signed`, raw r || s, with the leaf's key. */
export async function verifySpdmSignature(leaf: ParsedCert, signed: Uint8Array, signature: Uint8Array): Promise<{ ok: boolean; detail: string }> {
  if (signature.length !== SPDM_P384_SIGNATURE_SIZE) return { ok: false, detail: `signature is ${signature.length} bytes, expected 96 (P-384 r||s)` };
  let k;
  try {
    k = await importEcKey(leaf);
  } catch (e) {
    return { ok: false, detail: `leaf key unusable: ${toVeriteeError(e).message}` };
  }
  if (k.curve !== 'P-384') return { ok: false, detail: `leaf key is ${k.curve}, SPDM signatures here are ECDSA P-384` };
  const ok = await globalThis.crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, k.key, bufferSource(signature), bufferSource(signed));
  return ok
    ? { ok: true, detail: `ECDSA P-384/SHA-384 over ${signed.length} bytes (request || response without signature) verifies under ${leaf.label}` }
    : { ok: false, detail: `ECDSA P-384/SHA-384 signature over ${signed.length} bytes does not verify under ${leaf.label}` };
}

export async function verifyNvidia(envelope: EvidenceEnvelope, params: VerifyParams): Promise<VerificationResult> {
  if (!(params?.at instanceof Date) || Number.isNaN(params.at.getTime())) {
    throw new VeriteeError('INPUT_TIME_INVALID', 'VerifyParams.at must be a valid Date (the verification time)');
  }
  const checks: Check[] = [];
  const pass = (name: string, detail: string): void => void checks.push({ name, ok: true, detail });
  const fail = (name: string, code: ErrorCode, detail: string): void => void checks.push({ name, ok: false, detail, code });
  const failFrom = (name: string, e: unknown): void => {
    const v = toVeriteeError(e);
    fail(name, v.code, v.message);
  };
  const notRun = (name: string, code: ErrorCode, why: string): void => fail(name, code, `not run: ${why}`);
  const notes: string[] = [];

  // 1 envelope
  let input: DecodedNvidiaEvidence;
  try {
    input = decodeNvidiaEvidence(envelope);
    pass('nvidia.envelope', `nvidia envelope: ${input.spdm.length} SPDM bytes, ${input.certChainPem.length}-character PEM chain`);
  } catch (e) {
    failFrom('nvidia.envelope', e);
    return { ok: false, platform: 'nvidia', checks };
  }

  // 2 parse request + response
  let ev: SpdmEvidence | undefined;
  try {
    ev = parseSpdmEvidence(input.spdm);
    pass('nvidia.parse', describeSpdm(ev));
    const t = ev.trailing;
    if (t.length > 0) {
      const shown = toHex(t.subarray(0, TRAILING_SHOWN)) + (t.length > TRAILING_SHOWN ? '…' : '');
      notes.push(
        `nvidia.parse: ${t.length} unsigned trailing byte(s) after the 96-byte signature (at evidence offset ${input.spdm.length - t.length}: ${shown}) were ignored; they are covered by no signature and used for nothing`,
      );
    }
  } catch (e) {
    failFrom('nvidia.parse', e);
  }

  // 3 chain to the root
  let certs: ParsedCert[] | undefined;
  let chain: ChainOutcome | undefined;
  try {
    certs = parsePemChain(input.certChainPem);
    const anchors: TrustAnchor[] = [bundledAnchor()];
    const simRoot = params.simulatedAnchors?.nvidiaRoot;
    if (simRoot !== undefined) anchors.push(anchorFromDer(simRoot, true));
    chain = await verifyChain(certs, anchors);
    if (chain.ok) pass('nvidia.cert_chain', chain.detail);
    else fail('nvidia.cert_chain', chain.code ?? 'ATTEST_CERT_CHAIN_INVALID', chain.detail);
  } catch (e) {
    failFrom('nvidia.cert_chain', e);
  }

  // 4 validity at `at` (of the checked path; of the presented certificates if the chain failed)
  const validityPath = chain?.ok ? chain.path : certs;
  if (validityPath !== undefined && validityPath.length > 0) {
    const v = checkValidityAt(validityPath, params.at);
    if (v.ok) pass('nvidia.cert_validity', v.detail);
    else fail('nvidia.cert_validity', v.code ?? 'ATTEST_CERT_EXPIRED', v.detail);
  } else {
    notRun('nvidia.cert_validity', 'ATTEST_CERT_CHAIN_INVALID', 'the certificate chain did not parse');
  }

  // 5 signature (+ FWID binding between report and leaf)
  const leaf = certs?.[0];
  if (ev !== undefined && leaf !== undefined) {
    try {
      const s = await verifySpdmSignature(leaf, ev.signedBytes, ev.signature);
      if (s.ok) pass('nvidia.signature', s.detail);
      else fail('nvidia.signature', 'ATTEST_SIGNATURE_INVALID', s.detail);
    } catch (e) {
      failFrom('nvidia.signature', e);
    }
    const reportFwid = ev.response.opaqueFields.find((f) => f.type === OPAQUE.fwid);
    if (reportFwid === undefined) fail('nvidia.fwid', 'ATTEST_EVIDENCE_INVALID', 'the report carries no FWID opaque field to bind the leaf certificate');
    else if (leaf.fwid === undefined) fail('nvidia.fwid', 'ATTEST_CERT_CHAIN_INVALID', `${leaf.label} carries no DICE FWID (2.23.133.5.4.1)`);
    else if (!bytesEqual(reportFwid.data, leaf.fwid.digest)) {
      fail('nvidia.fwid', 'ATTEST_CERT_CHAIN_INVALID', `report FWID ${toHex(reportFwid.data)} differs from the leaf certificate FWID ${toHex(leaf.fwid.digest)}`);
    } else pass('nvidia.fwid', `report FWID equals the leaf certificate FWID ${toHex(leaf.fwid.digest)}`);
  } else {
    const why = ev === undefined ? 'the SPDM evidence did not parse' : 'the certificate chain did not parse';
    notRun('nvidia.signature', 'ATTEST_SIGNATURE_INVALID', why);
    notRun('nvidia.fwid', 'ATTEST_CERT_CHAIN_INVALID', why);
  }

  // device class: a Hopper GPU, not an NVSwitch or another chip (named, not left to FWID)
  if (ev === undefined && leaf === undefined) notRun('nvidia.device', 'ATTEST_EVIDENCE_INVALID', 'neither the SPDM evidence nor the certificate chain parsed');
  else {
    const d = nvidiaDeviceClass(leaf, ev?.response.opaqueFields);
    const code = deviceClassCode(d);
    if (code === undefined) pass('nvidia.device', d.detail);
    else fail('nvidia.device', code, d.detail);
  }

  // 6 nonce
  if (params.expectedNonce !== undefined) {
    const want = params.expectedNonce;
    if (ev === undefined) notRun('nvidia.nonce', 'ATTEST_REPORT_DATA_MISMATCH', 'the SPDM evidence did not parse');
    else if (want.length !== SPDM_NONCE_SIZE) {
      fail('nvidia.nonce', 'ATTEST_REPORT_DATA_MISMATCH', `expectedNonce is ${want.length} bytes, an SPDM nonce is ${SPDM_NONCE_SIZE}`);
    } else if (!bytesEqual(ev.request.nonce, want)) {
      fail('nvidia.nonce', 'ATTEST_REPORT_DATA_MISMATCH', `request nonce ${toHex(ev.request.nonce)} is not the expected ${toHex(want)}`);
    } else pass('nvidia.nonce', `request nonce equals the expected ${toHex(want)}`);
  }

  // 7 measurements
  if (ev === undefined) notRun('nvidia.measurements', 'ATTEST_EVIDENCE_INVALID', 'the SPDM evidence did not parse');
  else if (ev.response.blocks.length === 0) fail('nvidia.measurements', 'ATTEST_EVIDENCE_INVALID', 'the response holds no measurement block');
  else {
    const idx = ev.response.blocks.map((b) => b.index).sort((a, b) => a - b);
    pass('nvidia.measurements', `${idx.length} DMTF measurement block(s), indices ${idx[0]}..${idx[idx.length - 1]}`);
  }

  let claims: Claims | undefined;
  if (ev !== undefined) {
    const opts: { certs: ParsedCert[]; simulated: boolean; uuid?: string } = {
      certs: chain?.ok ? chain.path : (certs ?? []),
      simulated: chain?.ok === true && chain.simulated,
    };
    if (input.uuid !== undefined) opts.uuid = input.uuid;
    claims = buildNvidiaClaims(ev, opts);
  }
  const result: VerificationResult = { ok: checks.every((c) => c.ok), platform: 'nvidia', checks };
  if (claims !== undefined) result.claims = claims;
  if (notes.length > 0) result.notes = notes;
  return result;
}

export const nvidiaVerifier: PlatformVerifier = {
  platform: 'nvidia',
  verify: verifyNvidia,
};
