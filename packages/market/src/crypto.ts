/**
 * @module crypto
 * The keys of the marketplace's enclaves (the matching engine and each generator's prover
 * image) and the encryption of private inputs.
 *
 * ATTESTED KEYS (veritee.market.keys/v1): an enclave holds an HPKE key (DHKEM X25519,
 * HKDF-SHA256, AES-128-GCM; RFC 9180) and an Ed25519 signing key. Both public keys, its role
 * and its subject (`engine`, or `<generator>/<market>`) are bound into TEE evidence:
 *
 *   report_data = veritee.report-data/v1 with publicKeyHash =
 *                 SHA-256(canonical JSON {type, role, subject, hpkePublicKey, signingKey})
 *
 * so a key is trusted only for the role and subject it was attested for; the measurement in
 * the evidence says which image holds it.
 *
 * PRIVATE INPUTS: HPKE base mode, info "veritee.market/v1", AEAD associated data the
 * canonical JSON of {type: "veritee.market.inputs/v1", marketId, askId} (requester → engine)
 * or {type: "veritee.market.assignment/v1", marketId, askId, generatorId, attempt}
 * (engine → generator). A ciphertext moved to another ask, market, generator or attempt does
 * not open (MARKET_INPUT_BINDING_INVALID). No unauthenticated fallback exists.
 *
 * THREAT MODEL: simulated evidence proves nothing about hardware; it is accepted only when
 * the caller passes `allowSimulated` (development), and is labelled `simulated` in the result.
 */
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { ed25519 } from '@noble/curves/ed25519.js';
import { canonicalJsonBytes, concatBytes, fromBase64, fromHex, sha256, toBase64, toHex, utf8, VeriteeError } from '@veritee/core';
import {
  anchorsFromJson,
  anchorsToJson,
  computeReportData,
  parsePolicy,
  productionPolicyDocument,
  SimulatedTee,
  verifyEvidence,
  type EvidenceEnvelope,
} from '@veritee/attestation';

export const KEYS_TYPE = 'veritee.market.keys/v1';
const INFO = utf8('veritee.market/v1');

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });

/** A sealed message: the HPKE encapsulated key and ciphertext, base64. */
export interface Sealed {
  enc: string;
  ct: string;
}

/** The public, attested half of an enclave's keys. */
export interface AttestedKeys {
  type: typeof KEYS_TYPE;
  role: 'engine' | 'generator';
  subject: string;
  /** X25519 HPKE public key, hex. */
  hpkePublicKey: string;
  /** Ed25519 public key, hex. */
  signingKey: string;
  evidence: EvidenceEnvelope;
  /** Simulated TEE anchors (development only; used only when the verifier allows simulated evidence). */
  simulatedAnchors?: Record<string, unknown>;
}

/** The key hash bound into the report data for these keys. */
export function keysBinding(k: Pick<AttestedKeys, 'role' | 'subject' | 'hpkePublicKey' | 'signingKey'>): Uint8Array {
  return sha256(canonicalJsonBytes({ type: KEYS_TYPE, role: k.role, subject: k.subject, hpkePublicKey: k.hpkePublicKey, signingKey: k.signingKey }));
}

export function inputsAad(marketId: string, askId: string): Uint8Array {
  return canonicalJsonBytes({ type: 'veritee.market.inputs/v1', marketId, askId });
}

export function assignmentAad(marketId: string, askId: string, generatorId: string, attempt: number): Uint8Array {
  return canonicalJsonBytes({ type: 'veritee.market.assignment/v1', marketId, askId, generatorId, attempt });
}

/** Encrypts `plaintext` to an HPKE public key (hex) with associated data `aad`. */
export async function sealTo(publicKeyHex: string, plaintext: Uint8Array, aad: Uint8Array): Promise<Sealed> {
  const pk = await suite.kem.deserializePublicKey(toArrayBuffer(fromHex(publicKeyHex, 'HPKE public key')));
  const { enc, ct } = await suite.seal({ recipientPublicKey: pk, info: toArrayBuffer(INFO) }, toArrayBuffer(plaintext), toArrayBuffer(aad));
  return { enc: toBase64(new Uint8Array(enc)), ct: toBase64(new Uint8Array(ct)) };
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.slice().buffer as ArrayBuffer;
}

/** The digest that identifies a sealed message (replay detection). */
export function sealedDigest(s: Sealed): string {
  return toHex(sha256(concatBytes(utf8(s.enc), new Uint8Array([0]), utf8(s.ct))));
}

/**
 * An enclave's private keys (inside the simulated TEE). Create with {@link EnclaveKeys.create};
 * the secret seed never leaves this object except through `exportSeed` (for a generator
 * that keeps its keys across restarts).
 */
export class EnclaveKeys {
  private constructor(
    private readonly seed: Uint8Array,
    private readonly hpke: CryptoKeyPair,
    private readonly edSecret: Uint8Array,
    readonly attested: AttestedKeys,
  ) {}

  /**
   * DEVELOPMENT ONLY: keys inside a simulated TEE, bound into SNP evidence with the given
   * launch measurement (48 bytes). `seed` (32 bytes) derives the keys; random when absent.
   */
  static async create(o: { tee: SimulatedTee; role: 'engine' | 'generator'; subject: string; measurement: Uint8Array; seed?: Uint8Array }): Promise<EnclaveKeys> {
    const seed = o.seed ?? crypto.getRandomValues(new Uint8Array(32));
    const hpke = await suite.kem.deriveKeyPair(toArrayBuffer(sha256(concatBytes(seed, utf8('hpke')))));
    const edSecret = sha256(concatBytes(seed, utf8('ed25519')));
    const hpkePublicKey = toHex(new Uint8Array(await suite.kem.serializePublicKey(hpke.publicKey)));
    const signingKey = toHex(ed25519.getPublicKey(edSecret));
    const base = { role: o.role, subject: o.subject, hpkePublicKey, signingKey };
    const evidence = o.tee.boundEvidence('snp', { publicKeyHash: keysBinding(base) }, { measurement: o.measurement });
    const attested: AttestedKeys = { type: KEYS_TYPE, ...base, evidence, simulatedAnchors: anchorsToJson(o.tee.anchors) };
    return new EnclaveKeys(seed, hpke, edSecret, attested);
  }

  exportSeed(): Uint8Array {
    return this.seed.slice();
  }

  /** Opens a message sealed to this enclave with associated data `aad`; MARKET_INPUT_BINDING_INVALID when it does not. */
  async open(s: Sealed, aad: Uint8Array): Promise<Uint8Array> {
    try {
      const pt = await suite.open({ recipientKey: this.hpke, enc: toArrayBuffer(fromBase64(s.enc, 'enc')), info: toArrayBuffer(INFO) }, toArrayBuffer(fromBase64(s.ct, 'ct')), toArrayBuffer(aad));
      return new Uint8Array(pt);
    } catch {
      throw new VeriteeError('MARKET_INPUT_BINDING_INVALID', 'the encrypted inputs do not open for this market and ask with this key');
    }
  }

  sign(message: Uint8Array): string {
    return toHex(ed25519.sign(message, this.edSecret));
  }
}

/** Verifies an Ed25519 signature (hex) over canonical JSON of `value`. */
export function verifySigned(publicKeyHex: string, value: unknown, signatureHex: string): boolean {
  try {
    return ed25519.verify(fromHex(signatureHex, 'signature'), canonicalJsonBytes(value), fromHex(publicKeyHex, 'public key'));
  } catch {
    return false;
  }
}

/** Signs canonical JSON of `value` with an Ed25519 secret key (32 bytes). */
export function signValue(secret: Uint8Array, value: unknown): string {
  return toHex(ed25519.sign(canonicalJsonBytes(value), secret));
}

export function publicKeyOf(secret: Uint8Array): string {
  return toHex(ed25519.getPublicKey(secret));
}

export interface KeysVerification {
  measurement: string;
  simulated: boolean;
}

/**
 * Checks attested keys: the evidence verifies (simulated only when `allowSimulated`), binds
 * exactly these keys for `role` and `subject`, and (when given) the measurement is allowed.
 * MARKET_ATTESTATION_INVALID otherwise.
 */
export async function verifyAttestedKeys(
  k: AttestedKeys,
  o: { at: number; role: 'engine' | 'generator'; subject: string; allowSimulated: boolean; allowedMeasurements?: readonly string[] },
): Promise<KeysVerification> {
  const fail = (m: string): never => {
    throw new VeriteeError('MARKET_ATTESTATION_INVALID', m);
  };
  if (k?.type !== KEYS_TYPE) fail(`attested keys must have type ${KEYS_TYPE}`);
  if (k.role !== o.role || k.subject !== o.subject) fail(`the keys are attested for ${String(k.role)} ${String(k.subject).slice(0, 80)}, not ${o.role} ${o.subject}`);
  if (!/^[0-9a-f]{64}$/.test(k.hpkePublicKey) || !/^[0-9a-f]{64}$/.test(k.signingKey)) fail('the HPKE and signing keys must be 32 bytes hex');
  const policy = parsePolicy({ ...productionPolicyDocument, name: 'market', allowSimulated: o.allowSimulated, reportData: { require: ['publicKeyHash'] } });
  let anchors;
  if (o.allowSimulated && k.simulatedAnchors) {
    try {
      anchors = anchorsFromJson(k.simulatedAnchors);
    } catch {
      fail('the simulated anchors are malformed');
    }
  }
  let r;
  try {
    r = await verifyEvidence(k.evidence, { policy, at: o.at, publicKeyHash: keysBinding(k), ...(anchors ? { simulatedAnchors: anchors } : {}) });
  } catch (e) {
    return fail(`the evidence could not be verified: ${(e as Error).message.slice(0, 200)}`);
  }
  if (!r.ok || !r.claims) return fail(`the evidence does not verify: ${r.failures.map((f) => f.name).join(', ').slice(0, 300)}`);
  const measurement = r.claims.measurement;
  if (o.allowedMeasurements && !o.allowedMeasurements.includes(measurement)) fail('the image measurement is not one the market allows');
  return { measurement, simulated: r.claims.simulated };
}

export { SimulatedTee };
