/**
 * @module prove-gateway
 * Proving API gateway health (health score and SLA compliance) over every
 * request of a reporting period and the backend health checks.
 *
 * @example
 * const { bundle } = await proveGateway(pool, {
 *   params: { periodStartUs, periodEndUs, ...GATEWAY_DEFAULTS },
 *   requests: [{ status: 200, connectionOk: true, rateLimited: false }, ...], // or codes
 *   checks: [true, true, ...],
 * });
 */
import { gatewayCommitment, VeriteeError, type GatewayRequest } from '@veritee/core';
import { proveClaim, randomSalt, type ProveResult } from './prove.js';
import { pick } from './prove-options.js';
import type { ProverPool, RequestOptions } from './prover/pool.js';
import {
  computeGatewayOutputs,
  gatewayCapacityFor,
  gatewayClaim,
  gatewayProverInput,
  gatewayRequestCodes,
  GATEWAY_CLASSES,
  validateGatewayData,
  validateGatewayParams,
  type GatewayBundle,
  type GatewayData,
  type GatewayParams,
} from './claims/gateway.js';

export interface ProveGatewayOptions extends RequestOptions {
  params: GatewayParams;
  /** Request records, or their codes (see requestCode in @veritee/core). */
  requests: readonly GatewayRequest[] | readonly number[];
  /** Backend health-check results (true = passed). */
  checks: readonly boolean[];
  salt?: bigint;
  capacity?: number;
}

export type ProveGatewayResult = Omit<ProveResult, 'bundle'> & { bundle: GatewayBundle };

export async function proveGateway(pool: ProverPool, opts: ProveGatewayOptions): Promise<ProveGatewayResult> {
  const t0 = performance.now();
  const { params } = opts;
  validateGatewayParams(params);
  const requests = opts.requests.length > 0 && typeof opts.requests[0] === 'object' ? gatewayRequestCodes(opts.requests as readonly GatewayRequest[]) : (opts.requests as readonly number[]);
  const data: GatewayData = { requests, checks: opts.checks };
  validateGatewayData(data);
  const capacity = opts.capacity ?? gatewayCapacityFor(requests.length, data.checks.length);
  const shape = GATEWAY_CLASSES[capacity];
  if (!shape || requests.length > shape.requests || data.checks.length > shape.checks) {
    throw new VeriteeError('INPUT_INVALID', `size class ${capacity} cannot hold ${requests.length} requests and ${data.checks.length} health checks`);
  }
  const salt = opts.salt ?? randomSalt();
  const commitment = gatewayCommitment({ salt, periodStartUs: params.periodStartUs, periodEndUs: params.periodEndUs, requests, checks: data.checks });
  const r = await proveClaim(pool, {
    def: gatewayClaim,
    capacity,
    params,
    outputs: computeGatewayOutputs(params, data),
    commitment,
    proverInput: gatewayProverInput(params, salt, data),
    ...pick(opts),
  });
  return { ...r, bundle: r.bundle as unknown as GatewayBundle, timings: { ...r.timings, totalMs: Math.round(performance.now() - t0) } };
}
