/**
 * @module @veritee/kms
 * Key management for attested workloads: a KBS-compatible attestation/resource protocol,
 * Vault-KV-v2-like secrets encrypted under a TEE-sealed root key, per-tenant path
 * policies, an admin API and a hash-chained audit log; storage on embedded PGlite or
 * PostgreSQL with one SQL dialect.
 */
export { openEmbedded, openPostgres, type SqlDb, type Querier } from './db.js';
export { simulatedRootKeyFile, rootKeyBytes, Keyring, SIM_SEALING_LABEL, type RootKeySource } from './rootkey.js';
export { SecretStore, DEFAULT_MAX_VERSIONS, checkTenant, checkPath, type SecretMetadata, type SecretRead, type SecretVersionMeta } from './secrets.js';
export { PolicyStore, parseKmsPolicy, ruleFailure, type KmsPolicyDocument, type KmsRule, type Decision, type PolicyEvaluation } from './policy.js';
export { AuditLog, verifyAudit, assertAuditOk, type AuditEntry, type AuditRecord, type AuditVerification } from './audit.js';
export { Kms, runtimeDataHash, checkTeePubkey, resourceBytes, generateTeeKeyPair, KBS_PROTOCOL_VERSION, DEFAULT_AUDIENCE, type KmsOptions, type AttestedSession, type KbsTee } from './kms.js';
export { buildKmsServer, SESSION_COOKIE, ADMIN_AUDIENCE, type KmsServerOptions, type AdminIdentity } from './server.js';
export { KmsClient, simulatedEvidenceProvider, parseResourcePath, type EvidenceProvider, type KmsClientOptions } from './client.js';
export { startPgCluster, type PgCluster } from './pg-cluster.js';
export { TransitStore, type TransitKeyInfo } from './transit.js';
export { revokeOnReattestationFailure, type RevocationLink } from './revocation.js';
export { WorkloadCa, verifyWorkloadCertificate, privateKeyPem, ATTESTATION_EXT_OID, DEFAULT_CERT_TTL_SECONDS, type AttestationExtension, type VerifiedWorkloadCert } from './ca.js';
export { TeeRegistry, teeIdentity, type RegisteredTee } from './registry.js';
export { bootstrapKms, type BootstrapCache, type BootstrapResult } from './bootstrap.js';
export type { BootstrapDocument } from './kms.js';
export { transitRotationScheduler, type RotationScheduler } from './rotation.js';
export { attestedMtlsServer, attestedMtlsRequest, checkPeerCertificate, type PeerCheck, type AttestedMtlsServerOptions } from './mtls.js';
