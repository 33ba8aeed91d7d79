/**
 * @module binding
 * What the builder's evidence binds (veritee.report-data/v1 from @veritee/attestation):
 *
 *   publicKeyHash = SHA-256(SPKI of the enclave signing key)
 *   nonce         = SHA-256("veritee.build.provenance/v1" || 0x00 || SHA-256(provenance) || client nonce)
 *
 * where `provenance` is the exact DSSE payload (statement bytes) and the client nonce is
 * 32 bytes (zeros when the build was not requested with one). The domain tag keeps a
 * build binding from ever equalling a verifier nonce of another protocol.
 */
import { concatBytes, sha256, utf8, VeriteeError } from '@veritee/core';
import { computeReportData, publicKeyHash } from '@veritee/attestation';

export const BUILD_BINDING_DOMAIN = 'veritee.build.provenance/v1';

export function bindingNonce(provenanceSha256: Uint8Array, clientNonce?: Uint8Array): Uint8Array {
  if (provenanceSha256.length !== 32) throw new VeriteeError('INPUT_INVALID', 'provenance digest must be 32 bytes');
  const n = clientNonce ?? new Uint8Array(32);
  if (n.length !== 32) throw new VeriteeError('INPUT_INVALID', `the client nonce must be 32 bytes (got ${n.length})`);
  return sha256(concatBytes(utf8(BUILD_BINDING_DOMAIN), new Uint8Array([0]), provenanceSha256, n));
}

/** The 64 bytes of report data of a build's evidence. */
export function buildReportData(provenance: Uint8Array, spki: Uint8Array, clientNonce?: Uint8Array): Uint8Array {
  return computeReportData({ publicKeyHash: publicKeyHash(spki), nonce: bindingNonce(sha256(provenance), clientNonce) });
}
