/**
 * @module claims/gateway
 * The API gateway health claim. Private: per request its status class,
 * connection outcome and whether the rate limiter fired (a 5-bit code, see
 * @veritee/core commitment/gateway), and the backend health-check results.
 * Public: the reporting period, the SLA thresholds (policy) and the outputs:
 *
 *   success        = requests whose connection succeeded with a 1xx..4xx response (4xx are client errors)
 *   healthBp       = floor(10000 * success / n)                          two decimals: 9995 = 99.95 %
 *   errorRateOk    = 10000 * #5xx < max5xxBp * n                          "5xx rate < 0.1 %"
 *   availabilityOk = 10000 * #passed checks > minAvailabilityBp * nChecks  "backend availability > 99 %" (false without checks)
 *   connectionOk   = 10000 * #connection ok > minConnectionBp * n          "connection success > 99.5 %"
 *   rateLimitOk    = #rate limited <= maxRateLimited                      "violations = 0"
 *   compliant      = all four
 *
 * Requests carry no timestamps: the reporting period is bound in the commitment
 * the enclave signs. Circuit: prover/internal/circuits/gateway.
 */
import { z } from 'zod';
import { CODE_CLASS_MASK, CODE_CONNECTION_OK, CODE_RATE_LIMITED, gatewayCommitment, isRequestCode, requestCode, VeriteeError, type GatewayRequest } from '@veritee/core';
import { defineClaim, publicInputLayout, type ClaimBundle } from './claim.js';
import { integerKey, percentKey, periodKey } from './expect-keys.js';
import { parsePeriod } from './records.js';
import { checkBp, checkCount, checkParam, shapeMisfit, floorRatio, isoPeriod, pct, productGreater, validatePeriod } from './telemetry.js';

export const GATEWAY_CLAIM = 'gateway';
/** 2: one log-derivative identity per histogram (issue 9; v1 proofs are unsound and not accepted). */
export const GATEWAY_CIRCUIT_VERSION = 2;
export const GATEWAY_CLASSES: Readonly<Record<number, { requests: number; checks: number }>> = {
  1024: { requests: 1024, checks: 64 },
  16384: { requests: 16384, checks: 1024 },
  65536: { requests: 65536, checks: 4096 },
};
export const GATEWAY_CAPACITIES = [1024, 16384, 65536] as const;
export const GATEWAY_DEFAULTS = { max5xxBp: 10, minAvailabilityBp: 9900, minConnectionBp: 9950, maxRateLimited: 0 } as const;

export interface GatewayParams {
  periodStartUs: number;
  periodEndUs: number;
  /** The 5xx rate must stay below this, basis points. */
  max5xxBp: number;
  /** Backend availability (passed health checks) must exceed this, basis points. */
  minAvailabilityBp: number;
  /** Connection success must exceed this, basis points. */
  minConnectionBp: number;
  /** Allowed rate-limit events. */
  maxRateLimited: number;
}

export interface GatewayOutputs {
  n: number;
  nChecks: number;
  healthBp: number;
  errorRateOk: boolean;
  availabilityOk: boolean;
  connectionOk: boolean;
  rateLimitOk: boolean;
  compliant: boolean;
}

export interface GatewayData {
  /** Request codes ({@link requestCode}). */
  requests: readonly number[];
  /** Backend health-check results (true = passed). */
  checks: readonly boolean[];
}

/** Request records to codes. */
export function gatewayRequestCodes(requests: readonly GatewayRequest[]): number[] {
  return requests.map((r, i) => {
    try {
      return requestCode(r);
    } catch (e) {
      throw new VeriteeError('RECORD_FIELD_INVALID', `request ${i + 1}: ${(e as Error).message}`);
    }
  });
}

export function validateGatewayParams(p: GatewayParams): void {
  validatePeriod(p);
  checkBp('5xx limit', p.max5xxBp);
  checkBp('availability minimum', p.minAvailabilityBp);
  checkBp('connection minimum', p.minConnectionBp);
  checkParam('maxRateLimited', p.maxRateLimited, 0, 2 ** 32 - 1);
}

export function validateGatewayData(d: GatewayData): void {
  if (d.requests.length === 0) throw new VeriteeError('INPUT_FILE_EMPTY', 'there are no requests');
  d.requests.forEach((c, i) => {
    if (!isRequestCode(c)) throw new VeriteeError('RECORD_FIELD_INVALID', `request ${i + 1}: ${c} is not a request code`);
  });
  if (!d.checks.every((c) => typeof c === 'boolean')) throw new VeriteeError('RECORD_FIELD_INVALID', 'health-check results must be booleans');
  const max = GATEWAY_CLASSES[GATEWAY_CAPACITIES[GATEWAY_CAPACITIES.length - 1]]!;
  if (d.requests.length > max.requests || d.checks.length > max.checks) {
    throw new VeriteeError('CLAIM_TOO_MANY_RECORDS', `${d.requests.length} requests and ${d.checks.length} health checks exceed the largest size class (${max.requests}, ${max.checks})`);
  }
}

/** Counts of the reference computation (private; exported for tests and tools). */
export function gatewayCounts(d: GatewayData): { success: number; fiveXX: number; connectionOk: number; rateLimited: number; passed: number } {
  const c = { success: 0, fiveXX: 0, connectionOk: 0, rateLimited: 0, passed: 0 };
  for (const code of d.requests) {
    const cls = code & CODE_CLASS_MASK;
    if (code & CODE_CONNECTION_OK) {
      c.connectionOk++;
      if (cls >= 2 && cls <= 5) c.success++;
    }
    if (cls === 6) c.fiveXX++;
    if (code & CODE_RATE_LIMITED) c.rateLimited++;
  }
  for (const ok of d.checks) if (ok) c.passed++;
  return c;
}

/** The plain reference computation the circuit must agree with. */
export function computeGatewayOutputs(p: GatewayParams, d: GatewayData): GatewayOutputs {
  const c = gatewayCounts(d);
  const n = d.requests.length;
  const nChecks = d.checks.length;
  const errorRateOk = productGreater(p.max5xxBp, n, c.fiveXX, 10000);
  const availabilityOk = productGreater(c.passed, 10000, p.minAvailabilityBp, nChecks);
  const connectionOk = productGreater(c.connectionOk, 10000, p.minConnectionBp, n);
  const rateLimitOk = c.rateLimited <= p.maxRateLimited;
  return {
    n,
    nChecks,
    healthBp: floorRatio(c.success, 10000, n),
    errorRateOk,
    availabilityOk,
    connectionOk,
    rateLimitOk,
    compliant: errorRateOk && availabilityOk && connectionOk && rateLimitOk,
  };
}

const met = (ok: boolean) => (ok ? 'met' : 'MISSED');

const u = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const gatewayClaim = defineClaim<GatewayParams, GatewayOutputs, GatewayData, GatewayParams, typeof GATEWAY_CLAIM>({
  kind: GATEWAY_CLAIM,
  version: GATEWAY_CIRCUIT_VERSION,
  capacities: GATEWAY_CAPACITIES,
  unit: 'request',
  title: 'API gateway health: a health score and SLA compliance over every request and the backend health checks',
  schema: z.object({
    params: z.object({ periodStartUs: u, periodEndUs: u, max5xxBp: u, minAvailabilityBp: u, minConnectionBp: u, maxRateLimited: u }).strict(),
    outputs: z
      .object({
        n: u,
        nChecks: u,
        healthBp: u,
        errorRateOk: z.boolean(),
        availabilityOk: z.boolean(),
        connectionOk: z.boolean(),
        rateLimitOk: z.boolean(),
        compliant: z.boolean(),
      })
      .strict(),
  }),
  validate(params, outputs, capacity) {
    validateGatewayParams(params);
    const sh = GATEWAY_CLASSES[capacity];
    if (!sh) throw new VeriteeError('ZK_PUBLIC_INPUT_MISMATCH', `gateway has no size class ${capacity}`);
    checkCount('n', outputs.n, 1, sh.requests);
    checkCount('nChecks', outputs.nChecks, 0, sh.checks);
    checkCount('healthBp', outputs.healthBp, 0, 10000);
  },
  publicInputs: publicInputLayout('commitment', 'n', 'nChecks', 'periodStartUs', 'periodEndUs', 'max5xxBp', 'minAvailabilityBp', 'minConnectionBp', 'maxRateLimited', 'healthBp', 'errorRateOk', 'availabilityOk', 'connectionOk', 'rateLimitOk', 'compliant'),
  summarize: (p, o) => [
    isoPeriod(p),
    `requests: ${o.n}, backend health checks: ${o.nChecks}`,
    `health score: ${pct(o.healthBp)} of requests connected and answered without a 5xx (rounded down)`,
    `5xx rate < ${pct(p.max5xxBp)}: ${met(o.errorRateOk)}`,
    `backend availability > ${pct(p.minAvailabilityBp)}: ${met(o.availabilityOk)}`,
    `connection success > ${pct(p.minConnectionBp)}: ${met(o.connectionOk)}`,
    `rate-limit events <= ${p.maxRateLimited}: ${met(o.rateLimitOk)}`,
    `SLA: ${o.compliant ? 'COMPLIANT' : 'NOT COMPLIANT'}`,
  ],
  // `prove` also takes request records ({status, connectionOk, rateLimited}) and turns them into codes.
  normalize: (d) => {
    const rs = d.requests as readonly (number | GatewayRequest)[];
    return rs.length > 0 && typeof rs[0] === 'object' ? { ...d, requests: gatewayRequestCodes(rs as readonly GatewayRequest[]) } : d;
  },
  check(params, data) {
    validateGatewayParams(params);
    validateGatewayData(data);
  },
  misfit: (c, _p, d) => shapeMisfit(GATEWAY_CLASSES, c, { requests: d.requests.length, checks: d.checks.length }, `${d.requests.length} requests and ${d.checks.length} health checks`),
  compute: computeGatewayOutputs,
  commit: (p, d, salt) => gatewayCommitment({ salt, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs, requests: d.requests, checks: d.checks }),
  sample(r) {
    const n = 50_000, nChecks = 1440;
    const requests = Array.from({ length: n }, () => {
      const x = r();
      return requestCode({ status: x < 0.0004 ? 503 : x < 0.03 ? 404 : 200, connectionOk: x > 0.0008, rateLimited: false });
    });
    const checks = Array.from({ length: nChecks }, () => r() > 0.002);
    const P0 = Date.UTC(2026, 10, 20) * 1000;
    return { size: `${n.toLocaleString('en')} requests + ${nChecks} checks`, elements: n, target: '≤ 10 s', params: { periodStartUs: P0, periodEndUs: P0 + 24 * 3600_000_000, ...GATEWAY_DEFAULTS }, data: { requests, checks } };
  },
  statement: (p, o) => ({ n: o.n, periodStartUs: p.periodStartUs, periodEndUs: p.periodEndUs }),
  expectations: [
    periodKey(parsePeriod),
    percentKey('max5xx', 'max5xxBp', (p) => p.max5xxBp),
    percentKey('minAvailability', 'minAvailabilityBp', (p) => p.minAvailabilityBp),
    percentKey('minConnection', 'minConnectionBp', (p) => p.minConnectionBp),
    integerKey('maxRateLimited', (p) => p.maxRateLimited, 'a count, an integer'),
  ],
});

export type GatewayBundle = ClaimBundle<typeof GATEWAY_CLAIM, GatewayParams, GatewayOutputs>;
