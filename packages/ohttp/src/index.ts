/**
 * @module @veritee/ohttp
 * Oblivious HTTP (RFC 9458) with Binary HTTP (RFC 9292) and HPKE (RFC 9180, via
 * @hpke/core): a gateway that runs inside the TEE and attests its key configuration, a
 * relay that runs outside it, and a client that checks both.
 *
 * @example
 * import { OhttpClient } from '@veritee/ohttp';
 * const client = await OhttpClient.connect({ relayUrl, keysUrl: `${relayUrl}/ohttp-keys`, policy });
 * const res = await client.request({ url: 'http://127.0.0.1:8080/hello' });
 */

// client
export {
  OhttpClient,
  verifyGateway,
  defaultAttestationUrl,
  closeSharedAgent,
  type OhttpClientOptions,
  type OhttpRequestInit,
  type OhttpResponse,
  type GatewayCheckOptions,
  type VerifiedGateway,
} from './client.js';

// servers
export {
  buildGateway,
  simulatedEvidenceProvider,
  parseTarget,
  ATTESTATION_FORMAT,
  OHTTP_KEY_PROBLEM_TYPE,
  DATE_PROBLEM_TYPE,
  type GatewayOptions,
  type GatewayServer,
  type GatewayStats,
  type GatewayAttestation,
  type EvidenceProvider,
  type SimulatedProviderOptions,
  type AllowedTarget,
} from './gateway.js';
export { buildRelay, type RelayOptions, type RelayServer, type RelayStats } from './relay.js';
export { ReplayWindow, replayKey, DEFAULT_REPLAY_WINDOW_MS, DEFAULT_REPLAY_MAX_ENTRIES, type ReplayWindowOptions } from './replay.js';

// protocol layers
export {
  KeyStore,
  encodeKeyConfig,
  decodeKeyConfig,
  encodeKeyConfigs,
  decodeKeyConfigs,
  keyConfigDigest,
  selectSuite,
  DEFAULT_SYMMETRIC,
  DEFAULT_AEAD_PREFERENCE,
  OHTTP_KEYS_MEDIA_TYPE,
  type KeyConfig,
  type SymmetricSuite,
  type SelectedSuite,
  type KeyStoreOptions,
  type NewKeyOptions,
  type GatewayKey,
  type KeyStatus,
} from './keyconfig.js';
export {
  encapsulate,
  decapsulate,
  ClientResponseContext,
  ServerResponseContext,
  BHTTP_LABELS,
  OHTTP_REQUEST_MEDIA_TYPE,
  OHTTP_RESPONSE_MEDIA_TYPE,
  REQUEST_HEADER_BYTES,
  type EncapsulateOptions,
  type EncapsulatedRequest,
  type DecapsulatedRequest,
  type KeyLookup,
  type Labels,
} from './encapsulate.js';
export {
  encodeRequest,
  encodeResponse,
  decodeRequest,
  decodeResponse,
  decodeMessage,
  fieldValue,
  BHTTP_MEDIA_TYPE,
  type BhttpRequest,
  type BhttpResponse,
  type BhttpInformational,
  type BhttpMode,
  type FieldLine,
  type EncodeOptions,
  type DecodeOptions,
  type DecodedRequest,
  type DecodedResponse,
} from './bhttp.js';
export {
  KEM_X25519_HKDF_SHA256,
  KDF_HKDF_SHA256,
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  AEAD_CHACHA20_POLY1305,
  type HpkeBackend,
} from './hpke.js';
