/**
 * @module @veritee/proxy
 * The attesting TLS reverse proxy (server.ts), its client SDK (client.ts), the remote
 * prover service (prover-service.ts) and its client (remote-prove.ts). The wire
 * protocol, and exactly which bytes are signed, is in protocol.ts.
 *
 * @example
 * import { createAttestedClient } from '@veritee/proxy';
 * const client = createAttestedClient({ baseUrl: 'https://prover.example.com', policy });
 * const res = await client.fetch('/v1/prove', { method: 'POST', body });
 */
export * from './protocol.js';
export { Enclave, simulatedEvidenceProvider, type EvidenceProvider, type SimulatedProviderOptions } from './enclave.js';
export { createCountersServer, DEFAULT_COUNTER_CAPACITY, nowUs, RequestCounter, type CountersServer, type RequestPeriod } from './counters.js';
export { selfSignedCertificate, type SelfSignedCertificate } from './tls-cert.js';
export {
  checkTlsCredentials,
  createAttestingProxy,
  listenError,
  parseUpstreamUrl,
  randomNonceHex,
  redactPath,
  responseErrorCode,
  type AttestingProxy,
  type AttestingProxyOptions,
  type DispatchDecision,
  type ProxyLimits,
  type ProxyTimeouts,
  type UpstreamTarget,
} from './server.js';
export {
  createAttestedClient,
  type AttestedClient,
  type AttestedClientOptions,
  type AttestedRequestInit,
  type AttestedResponse,
  type ResponseAttestation,
  type SessionInfo,
  verifyAttestedResponse,
  type ReceivedResponse,
  type VerifiedSession,
} from './client.js';
export { buildProverService, clientSafeError, jobRef, ProveRequestSchema, type ProverServiceOptions, type ProveRequest, type JobStatus, type JobView, type ProverJob } from './prover-service.js';
export { proveLatencyRemote, errorFromResponse, type RemoteProveInput, type RemoteProveOptions, type RemoteProveResult } from './remote-prove.js';
