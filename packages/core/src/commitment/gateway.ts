/**
 * @module commitment/gateway
 * The commitment to API gateway telemetry, identical to prover/internal/commitment:
 *
 *   inputs = [tag, n, nChecks, salt, periodStartUs, periodEndUs, checks, pack5(code_0 .. code_{n-1})]
 *   checks = H(pack2(check_0 .. check_{nChecks-1}))    1 = failed, 2 = passed
 *   code   = (statusClass + 1) + 8 * connectionOk + 16 * rateLimited
 *
 * statusClass is 0 when no HTTP response was produced and 1..5 for 1xx..5xx.
 * Codes are never 0 (0 is the circuit's padding). 50 codes share a field element.
 */
import { VeriteeError } from '../errors.js';
import { domainTag } from './latency.js';
import { poseidon2Sponge } from './poseidon2.js';
import { hashItems, packItems } from './telemetry.js';

export const GATEWAY_DOMAIN = 'veritee.gateway.v1';
export const REQUEST_CODE_BITS = 5;
export const CHECK_CODE_BITS = 2;
export const CODE_CLASS_MASK = 7;
export const CODE_CONNECTION_OK = 8;
export const CODE_RATE_LIMITED = 16;

/** One request as the gateway saw it. */
export interface GatewayRequest {
  /** HTTP status (100..599), or 0 when no response was produced. */
  status: number;
  /** The client connection was established and completed (no refusal, reset, TLS failure or timeout). */
  connectionOk: boolean;
  /** The gateway's rate limiter fired for this request. */
  rateLimited: boolean;
}

/** The 5-bit code of a request; throws on a status outside 0 and 100..599. */
export function requestCode(r: GatewayRequest): number {
  const s = r.status;
  if (!Number.isInteger(s) || (s !== 0 && (s < 100 || s > 599))) throw new VeriteeError('RECORD_FIELD_INVALID', `HTTP status ${s} is not 0 (no response) or 100..599`);
  const statusClass = s === 0 ? 0 : Math.floor(s / 100);
  return statusClass + 1 + (r.connectionOk ? CODE_CONNECTION_OK : 0) + (r.rateLimited ? CODE_RATE_LIMITED : 0);
}

/** Whether c is a request code (not padding, class field 1..6). */
export function isRequestCode(c: number): boolean {
  return Number.isInteger(c) && c > 0 && c < 32 && (c & CODE_CLASS_MASK) >= 1 && (c & CODE_CLASS_MASK) <= 6;
}

export interface GatewayCommitmentInput {
  salt: bigint;
  periodStartUs: number;
  periodEndUs: number;
  /** Request codes ({@link requestCode}). */
  requests: readonly number[];
  /** Backend health-check results (true = passed). */
  checks: readonly boolean[];
}

/** The digest of the health-check results. */
export function gatewayChecksDigest(checks: readonly boolean[]): bigint {
  return hashItems(
    checks.map((ok) => (ok ? 2 : 1)),
    CHECK_CODE_BITS,
  );
}

/** The request codes packed 50 per element; validates every code. */
export function packRequestCodes(requests: readonly number[]): bigint[] {
  requests.forEach((c, i) => {
    if (!isRequestCode(c)) throw new VeriteeError('RECORD_FIELD_INVALID', `request ${i + 1}: ${c} is not a request code`);
  });
  return packItems(requests, REQUEST_CODE_BITS);
}

/** Computes the gateway commitment (a BN254 scalar). */
export function gatewayCommitment(input: GatewayCommitmentInput): bigint {
  return poseidon2Sponge([
    domainTag(GATEWAY_DOMAIN),
    BigInt(input.requests.length),
    BigInt(input.checks.length),
    input.salt,
    BigInt(input.periodStartUs),
    BigInt(input.periodEndUs),
    gatewayChecksDigest(input.checks),
    ...packRequestCodes(input.requests),
  ]);
}
