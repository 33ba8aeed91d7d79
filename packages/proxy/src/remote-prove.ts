/**
 * @module remote-prove
 * The client side of the remote prover: send a latency claim's private inputs to an
 * attested prover (through {@link createAttestedClient}), wait for the job, download the
 * proof bundle and verify it locally with the caller's trusted keys.
 *
 * THREAT MODEL: the prover is trusted with the records only because the attested client
 * verified the TEE and the session binding before the request body left. The bundle it
 * returns is NOT trusted: it is verified here with verifyProofBundle and the caller's
 * own key ring, like any bundle from anywhere.
 */
import { ERROR_CODES, VeriteeError, type ErrorCode } from '@veritee/core';
import { verifyProofBundle, type BundleVerification, type KeyRing, type LatencyParams } from '@veritee/zk';
import type { AttestedClient, AttestedResponse, ResponseAttestation } from './client.js';
import type { JobView } from './prover-service.js';

export interface RemoteProveInput {
  params: LatencyParams;
  /** Offsets from the period start: [start0, end0, ...]. */
  records: readonly number[];
  capacity?: number;
}

export interface RemoteProveOptions {
  /** Keys the caller trusts, for the local verification of the bundle. */
  /** Trusted keys, or a function that reads them once the bundle has arrived (so keys made meanwhile count). */
  keys: KeyRing | (() => KeyRing);
  /** Accept bundles made with DEV keys (that are in `keys`). */
  allowDevSetup?: boolean;
  /** Poll interval (default 500 ms). */
  pollMs?: number;
  /** Give up after this long (default 15 minutes). */
  timeoutMs?: number;
  onStatus?: (job: JobView) => void;
  /**
   * Aborting (Ctrl-C in the CLI) cancels the remote job (`DELETE /v1/jobs/:id`), then
   * rejects with ZK_PROVER_CANCELLED. A submission under way is let finish first, so
   * that a job the prover accepted is never left running without its id.
   */
  signal?: AbortSignal;
  /** Called with the server's answer to the cancellation. */
  onCancel?: (job: JobView | undefined, error?: VeriteeError) => void;
}

export interface RemoteProveResult {
  bundle: unknown;
  verification: BundleVerification;
  job: JobView;
  /** Attestation of the request that carried the private inputs. */
  submitted: ResponseAttestation;
  /** Attestation of the response that carried the bundle. */
  received: ResponseAttestation;
}

/** Turns a service error body into a VeriteeError with the service's code when it is one of ours. */
export async function errorFromResponse(res: Response, what: string): Promise<VeriteeError> {
  let code: ErrorCode = res.status === 502 ? 'PROXY_UPSTREAM_UNAVAILABLE' : res.status === 504 ? 'PROXY_UPSTREAM_TIMEOUT' : 'INTERNAL';
  let message = `${what} answered HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body?.error?.code && Object.prototype.hasOwnProperty.call(ERROR_CODES, body.error.code)) code = body.error.code as ErrorCode;
    if (body?.error?.message) message = `${what}: ${body.error.message}`;
  } catch {
    /* not JSON: keep the status */
  }
  return new VeriteeError(code, message);
}

/** Waits ms, or less when the signal aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Asks the prover to cancel a job (bounded: 10 s), then throws ZK_PROVER_CANCELLED. */
async function cancelRemote(client: AttestedClient, job: JobView, opts: RemoteProveOptions): Promise<never> {
  let after: JobView | undefined;
  let failure: VeriteeError | undefined;
  try {
    const r = await client.fetch(`/v1/jobs/${job.id}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
    if (r.status === 200) after = (await r.json()) as JobView;
    else failure = await errorFromResponse(r, `cancelling remote job ${job.id.slice(0, 12)}…`);
  } catch (e) {
    failure = e instanceof VeriteeError ? e : new VeriteeError('PROXY_UPSTREAM_UNAVAILABLE', `cancelling remote job ${job.id.slice(0, 12)}…: ${(e as Error).message}`);
  }
  opts.onCancel?.(after, failure);
  throw new VeriteeError(
    'ZK_PROVER_CANCELLED',
    after
      ? after.status === 'cancelled'
        ? `remote job ${job.id.slice(0, 12)}… cancelled by the caller (the prover reports it cancelled)`
        : `remote job ${job.id.slice(0, 12)}…: interrupted by the caller; the job had already ended (${after.status}) and its result was not fetched`
      : `remote job ${job.id.slice(0, 12)}…: interrupted, but the prover did not confirm the cancellation (${failure?.message ?? 'no answer'})`,
  );
}

/** Sends the inputs, waits for the proof and verifies it locally. */
export async function proveLatencyRemote(client: AttestedClient, input: RemoteProveInput, opts: RemoteProveOptions): Promise<RemoteProveResult> {
  if (opts.signal?.aborted) throw new VeriteeError('ZK_PROVER_CANCELLED', 'remote proof cancelled before the records were sent');
  const body = JSON.stringify({ claim: 'latency', params: input.params, records: input.records, ...(input.capacity ? { capacity: input.capacity } : {}) });
  const submitted = (await client.fetch('/v1/prove', { method: 'POST', headers: { 'content-type': 'application/json' }, body })) as AttestedResponse;
  if (submitted.status !== 202) throw await errorFromResponse(submitted, 'remote prover');
  let job = (await submitted.json()) as JobView;
  opts.onStatus?.(job);
  const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
  while (job.status === 'queued' || job.status === 'running') {
    if (opts.signal?.aborted) return cancelRemote(client, job, opts);
    if (Date.now() > deadline) throw new VeriteeError('ZK_PROVER_TIMEOUT', `remote job ${job.id} did not finish within ${opts.timeoutMs ?? 900_000} ms`);
    await pause(opts.pollMs ?? 500, opts.signal);
    if (opts.signal?.aborted) return cancelRemote(client, job, opts);
    const r = await client.fetch(`/v1/jobs/${job.id}`);
    if (r.status !== 200) throw await errorFromResponse(r, `remote job ${job.id}`);
    const next = (await r.json()) as JobView;
    if (next.status !== job.status) opts.onStatus?.(next);
    job = next;
  }
  if (job.status !== 'succeeded') {
    const code: ErrorCode = job.error && Object.prototype.hasOwnProperty.call(ERROR_CODES, job.error.code) ? job.error.code : 'ZK_PROVER_FAILED';
    throw new VeriteeError(code, `remote job ${job.id} ${job.status}: ${job.error?.message ?? 'no reason given'}`);
  }
  const res = (await client.fetch(`/v1/jobs/${job.id}/bundle`)) as AttestedResponse;
  if (res.status !== 200) throw await errorFromResponse(res, `remote job ${job.id} bundle`);
  let bundle: unknown;
  try {
    bundle = await res.json();
  } catch {
    throw new VeriteeError('ZK_BUNDLE_INVALID', `remote job ${job.id} returned a bundle that is not JSON`);
  }
  const keys = typeof opts.keys === 'function' ? opts.keys() : opts.keys;
  const verification = verifyProofBundle(bundle, { keys, allowDevSetup: opts.allowDevSetup === true });
  return { bundle, verification, job, submitted: submitted.attestation, received: res.attestation };
}
