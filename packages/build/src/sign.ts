/**
 * @module sign
 * The enclave key and the Sigstore bundle. The builder generates an ECDSA P-256 key in
 * the (simulated) TEE, binds SHA-256 of its SubjectPublicKeyInfo into the evidence's
 * report data, and signs the provenance as a DSSE envelope (payload type
 * `application/vnd.in-toto+json`) packaged as a Sigstore bundle v0.3 with
 * `@sigstore/sign` — offline: a local public key, no Fulcio certificate, no Rekor entry,
 * no timestamp. `@sigstore/verify` checks it against that one key.
 *
 * The bundle's `publicKey.hint` is the hex SHA-256 of the key's SPKI: the same value the
 * report data binds, so a verifier finds the key the evidence vouches for.
 */
import { createPublicKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { DSSEBundleBuilder, type Bundle, type Signer } from '@sigstore/sign';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { quoteInput, sha256, toHex, VeriteeError } from '@veritee/core';
import { IN_TOTO_PAYLOAD_TYPE } from './provenance.js';

export interface EnclaveKey {
  privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** PEM of the public key. */
  publicPem: string;
  /** Hex SHA-256 of the SPKI (the bundle hint and the report-data binding). */
  hint: string;
}

/** A fresh P-256 key, as the builder makes one per build inside the TEE. */
export function generateEnclaveKey(): EnclaveKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return fromPublic(publicKey, privateKey);
}

function fromPublic(publicKey: KeyObject, privateKey: KeyObject): EnclaveKey {
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  return { privateKey, spki, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), hint: toHex(sha256(spki)) };
}

/** Signs `payload` (the statement bytes) into a DSSE Sigstore bundle (JSON object). */
export async function signProvenance(payload: Uint8Array, key: EnclaveKey): Promise<Record<string, unknown>> {
  const signer: Signer = {
    sign: async (data: Buffer) => ({
      signature: nodeSign('sha256', data, key.privateKey),
      key: { $case: 'publicKey', publicKey: key.publicPem, hint: key.hint },
    }),
  };
  const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
  const bundle: Bundle = await builder.create({ data: Buffer.from(payload), type: IN_TOTO_PAYLOAD_TYPE });
  return bundleToJSON(bundle) as unknown as Record<string, unknown>;
}

export interface OpenedBundle {
  payload: Uint8Array;
  payloadType: string;
  hint: string;
}

/** Parses the bundle JSON (already strictly parsed) and returns its DSSE payload. Throws BUILD_PROVENANCE_INVALID. */
export function openBundle(json: unknown): OpenedBundle {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    throw new VeriteeError('BUILD_PROVENANCE_INVALID', `the Sigstore bundle is malformed: ${quoteInput((e as Error).message, 160)}`);
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw new VeriteeError('BUILD_PROVENANCE_INVALID', 'the Sigstore bundle does not hold a DSSE envelope');
  const vm = bundle.verificationMaterial.content;
  if (vm.$case !== 'publicKey') throw new VeriteeError('BUILD_PROVENANCE_INVALID', `the Sigstore bundle is signed with ${vm.$case}, not the builder's public key`);
  if (bundle.content.dsseEnvelope.signatures.length !== 1) throw new VeriteeError('BUILD_PROVENANCE_INVALID', 'the DSSE envelope must carry exactly one signature');
  return { payload: new Uint8Array(bundle.content.dsseEnvelope.payload), payloadType: bundle.content.dsseEnvelope.payloadType, hint: vm.publicKey.hint };
}

/** Verifies the bundle's DSSE signature with `spki` (P-256) using @sigstore/verify. Throws BUILD_SIGNATURE_INVALID. */
export function verifyBundleSignature(json: unknown, spki: Uint8Array): void {
  const hint = toHex(sha256(spki));
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw new VeriteeError('BUILD_SIGNATURE_INVALID', 'the builder key is not a valid public key');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new VeriteeError('BUILD_SIGNATURE_INVALID', 'the builder key is not an ECDSA P-256 key');
  }
  const trust = toTrustMaterial(
    { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] },
    { [hint]: { rawBytes: Buffer.from(spki), keyDetails: 5 as never /* PublicKeyDetails.PKIX_ECDSA_P256_SHA_256 */, validFor: { start: new Date(0) } } },
  );
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    verifier.verify(toSignedEntity(bundleFromJSON(json)));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new VeriteeError('BUILD_SIGNATURE_INVALID', `the provenance signature does not verify with the builder key ${hint.slice(0, 16)}…: ${quoteInput(code ?? (e as Error).message, 120)}`);
  }
}
