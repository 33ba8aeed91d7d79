/**
 * @module client
 * The contributor: asks the coordinator for a turn, downloads the last state
 * (checking the hash the coordinator announces), adds fresh randomness with the
 * Go engine, uploads the new state and returns the contribution hash to publish.
 * The randomness never leaves the engine process (gnark draws it from
 * crypto/rand and discards it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERROR_CODES, quoteInput, sha256, toHex, VeriteeError, type ErrorCode } from '@veritee/core';
import { CEREMONY_NAME_RE } from '@veritee/zk';
import { runEngine, type EngineOptions } from './engine.js';

export interface ContributeOptions {
  /** Coordinator base URL, e.g. http://127.0.0.1:8790 */
  url: string;
  /** The name published with the contribution. */
  name: string;
  engine?: EngineOptions;
  /** Per-request HTTP timeout (default 5 minutes: states can be large). */
  httpTimeoutMs?: number;
  /** Largest state downloaded (default 512 MiB). */
  maxStateBytes?: number;
  onProgress?: (stage: string, message: string) => void;
  fetch?: typeof fetch;
}

export interface ContributionReceipt {
  index: number;
  name: string;
  /** The contribution hash to publish (and to require in verifiers' policy). */
  sha256: string;
  contributeMs: number;
  verifyMs: number;
  stateBytes: number;
}

async function coordinatorError(res: Response, what: string): Promise<VeriteeError> {
  let body: { error?: { code?: string; message?: string } } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    /* not JSON */
  }
  const c = body.error?.code;
  const code: ErrorCode = c && c in ERROR_CODES ? (c as ErrorCode) : 'PROXY_UPSTREAM_UNAVAILABLE';
  return new VeriteeError(code, `${what}: HTTP ${res.status}: ${quoteInput(String(body.error?.message ?? res.statusText), 300)}`);
}

/** Contributes to a phase-2 ceremony run by a coordinator. */
export async function contributeRemote(opts: ContributeOptions): Promise<ContributionReceipt> {
  if (!CEREMONY_NAME_RE.test(opts.name)) throw new VeriteeError('INPUT_INVALID', `contributor name ${quoteInput(opts.name, 80)} must be 1-64 letters, digits, space and ._@+:-`);
  const f = opts.fetch ?? fetch;
  const base = opts.url.replace(/\/+$/, '');
  const timeout = () => AbortSignal.timeout(opts.httpTimeoutMs ?? 300_000);
  const progress = opts.onProgress ?? (() => {});
  const maxBytes = opts.maxStateBytes ?? 512 * 1024 * 1024;

  const turn = await f(`${base}/v1/ceremony/turn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: opts.name }), signal: timeout() });
  if (turn.status !== 201) throw await coordinatorError(turn, 'asking for a turn');
  const t = (await turn.json()) as { token: string; index: number; expiresAt: string };
  progress('turn', `slot ${t.index} held until ${t.expiresAt}`);

  const st = await f(`${base}/v1/ceremony/state`, { signal: timeout() });
  if (st.status !== 200) throw await coordinatorError(st, 'downloading the state');
  const declared = Number(st.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new VeriteeError('INPUT_TOO_LARGE', `the state is ${declared} bytes, over ${maxBytes}`);
  const prev = Buffer.from(await st.arrayBuffer());
  if (prev.length > maxBytes) throw new VeriteeError('INPUT_TOO_LARGE', `the state is ${prev.length} bytes, over ${maxBytes}`);
  const announced = st.headers.get('x-veritee-state-sha256');
  if (announced !== toHex(sha256(prev))) throw new VeriteeError('CEREMONY_INVALID', 'the downloaded state does not hash to what the coordinator announced');
  if (Number(st.headers.get('x-veritee-state-index')) !== t.index - 1) throw new VeriteeError('CEREMONY_TURN', 'the state is not the one this slot builds on (another contribution landed)');
  progress('download', `state ${t.index - 1}: ${prev.length} bytes, sha256 ${announced}`);

  const tmp = mkdtempSync(join(tmpdir(), 'veritee-contribute-'));
  try {
    writeFileSync(join(tmp, 'prev.bin'), prev);
    const c = await runEngine<{ sha256: string; contributeMs: number; bytes: number }>('contribute', { in: join(tmp, 'prev.bin'), out: join(tmp, 'next.bin') }, opts.engine);
    progress('contribute', `contribution ${c.sha256} in ${c.contributeMs} ms`);
    const next = readFileSync(join(tmp, 'next.bin'));
    const up = await f(`${base}/v1/ceremony/contribution`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${t.token}` },
      body: next,
      signal: timeout(),
    });
    if (up.status !== 201) throw await coordinatorError(up, 'uploading the contribution');
    const r = (await up.json()) as { index: number; name: string; sha256: string; verifyMs: number };
    if (r.sha256 !== c.sha256) throw new VeriteeError('CEREMONY_INVALID', `the coordinator recorded ${r.sha256}, not the contribution made here (${c.sha256})`);
    return { index: r.index, name: r.name, sha256: c.sha256, contributeMs: c.contributeMs, verifyMs: r.verifyMs, stateBytes: next.length };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
