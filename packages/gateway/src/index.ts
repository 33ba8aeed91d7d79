/**
 * @module @veritee/gateway
 * The API gateway inside the TEE: TLS ends in the TEE with the attesting proxy's EKM
 * binding; routes by host and path prefix to upstream pools (round-robin or
 * least-outstanding, active health checks, passive ejection); per-client token buckets;
 * bearer JWTs against a JWKS; request validation per route. Its own request and
 * health-check records (nothing identifying) feed scheduled latency-SLA and gateway-health
 * proofs, signed with the attested key and published at /.well-known/veritee/slas.
 *
 * @example
 * const config = loadGatewayConfig('gateway.yaml');
 * const enclave = Enclave.create(await simulatedEvidenceProvider());
 * const gw = await Gateway.create({ config, enclave, home: veriteeHome() });
 * await gw.listen();
 */
export { Gateway, METRICS_PATH, nowUs, signerFromEnclave, configBaseDir, type GatewayOptions } from './gateway.js';
export { loadGatewayConfig, parseGatewayConfig, parseListen, type GatewayConfig, type GatewayConfigInput, type PoolConfig, type RouteConfig } from './config.js';
export { Pool, type Backend, type HealthCheckResult } from './balancer.js';
export { RateLimiter, type RateLimit } from './ratelimit.js';
export { RecordStore, Spool, periodFunction, FLAG_CONNECTION_OK, FLAG_RATE_LIMITED, FLAG_SERVED, NO_GROUP, type RequestRecord, type CheckRecord, type PeriodRecords } from './records.js';
export { ProofScheduler, SLAS_PATH, SLAS_FORMAT, type SlaEntry, type SlaIndex, type EntryStatus } from './scheduler.js';
export { renderMetrics } from './metrics.js';
