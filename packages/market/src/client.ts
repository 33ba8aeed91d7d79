/**
 * @module client
 * The requester SDK and the generator client over the market's HTTP API.
 *
 * Requester: {@link MarketClient.createAsk} first verifies the engine's attested keys
 * (evidence, binding, and — when given — its expected measurement) and only then encrypts
 * the private inputs to the engine's HPKE key, bound to (market, ask). `result` verifies the
 * returned proof locally with the requester's own ProofSystem before returning it.
 *
 * Generator: {@link runGenerator} registers, creates an attested key per market inside its
 * (simulated) TEE, joins, then follows the event stream (long poll) and, for each
 * assignment, claims, decrypts inside the TEE, proves and submits.
 */
import { fromUtf8, utf8, VeriteeError, type ErrorCode, ERROR_CODES } from '@veritee/core';
import type { SimulatedTee } from '@veritee/attestation';
import { assignmentAad, EnclaveKeys, inputsAad, publicKeyOf, sealTo, signValue, verifyAttestedKeys, type AttestedKeys } from './crypto.js';
import { verifyEngineSignature } from './engine.js';
import { cancelMessage, claimMessage, joinMessage, proofDigest, submitMessage, type AskResult, type AskView, type Assignment, type LedgerCheck, type MarketEvent } from './market.js';
import type { ProofSystem } from './proof-system.js';
import { canonicalJsonBytes, sha256, toHex } from '@veritee/core';

export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export class MarketHttp {
  constructor(readonly baseUrl: string, private readonly timeoutMs = 60_000) {}

  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new VeriteeError('MARKET_UNAVAILABLE', `the market at ${this.baseUrl} could not be reached: ${(e as Error).message.slice(0, 120)}`);
    }
    const reader = res.body?.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (reader) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size > MAX_RESPONSE_BYTES) {
          await reader.cancel();
          throw new VeriteeError('INPUT_TOO_LARGE', `the market's answer is over ${MAX_RESPONSE_BYTES} bytes`);
        }
        chunks.push(value);
      }
    }
    const text = fromUtf8(Buffer.concat(chunks));
    let json: unknown;
    try {
      json = text.length ? JSON.parse(text) : undefined;
    } catch {
      throw new VeriteeError('INPUT_JSON_INVALID', `the market answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = json as { code?: string; message?: string } | undefined;
      const code = e?.code && e.code in ERROR_CODES ? (e.code as ErrorCode) : 'INTERNAL';
      throw new VeriteeError(code, String(e?.message ?? `HTTP ${res.status}`).slice(0, 300));
    }
    return json as T;
  }
}

export interface CreateAskOptions {
  id?: string;
  marketId: string;
  /** Ed25519 secret (32 bytes): its public key alone may cancel the ask. */
  requesterSecret: Uint8Array;
  startPrice: number;
  maxPrice: number;
  startMs: number;
  endMs: number;
  assignmentExpiryMs: number;
  provingTimeMs: number;
  deadlineMs: number;
  publicInputs: unknown;
  /** Plain private inputs (JSON): encrypted here to the engine's attested key. */
  privateInputs?: unknown;
}

export class MarketClient {
  readonly http: MarketHttp;
  private engineKeys: AttestedKeys | undefined;

  constructor(baseUrl: string, private readonly o: { allowSimulated?: boolean; engineMeasurements?: readonly string[] } = {}) {
    this.http = new MarketHttp(baseUrl);
  }

  /** The engine's keys, verified (evidence at `now`, simulated only if allowed, measurement if given). */
  async engine(now: number): Promise<AttestedKeys> {
    if (this.engineKeys) return this.engineKeys;
    const k = await this.http.call<AttestedKeys>('GET', '/v0/engine');
    await verifyAttestedKeys(k, { at: now, role: 'engine', subject: 'engine', allowSimulated: this.o.allowSimulated === true, ...(this.o.engineMeasurements ? { allowedMeasurements: this.o.engineMeasurements } : {}) });
    this.engineKeys = k;
    return k;
  }

  async createMarket(spec: unknown): Promise<{ id: string; vkDigest: string; created: boolean }> {
    return this.http.call('POST', '/v0/markets', spec);
  }

  async createAsk(a: CreateAskOptions, now: number): Promise<AskView> {
    const id = a.id ?? `ask-${toHex(crypto.getRandomValues(new Uint8Array(12)))}`;
    let privateInputs;
    if (a.privateInputs !== undefined) {
      const engine = await this.engine(now);
      privateInputs = await sealTo(engine.hpkePublicKey, utf8(JSON.stringify(a.privateInputs)), inputsAad(a.marketId, id));
    }
    const spec = {
      id,
      marketId: a.marketId,
      requesterKey: publicKeyOf(a.requesterSecret),
      startPrice: a.startPrice,
      maxPrice: a.maxPrice,
      startMs: a.startMs,
      endMs: a.endMs,
      assignmentExpiryMs: a.assignmentExpiryMs,
      provingTimeMs: a.provingTimeMs,
      deadlineMs: a.deadlineMs,
      publicInputs: a.publicInputs,
      ...(privateInputs ? { privateInputs } : {}),
    };
    return this.http.call('POST', '/v0/asks', spec);
  }

  async status(askId: string): Promise<AskView> {
    return this.http.call('GET', `/v0/asks/${encodeURIComponent(askId)}`);
  }

  async cancel(askId: string, requesterSecret: Uint8Array): Promise<AskView> {
    return this.http.call('POST', `/v0/asks/${encodeURIComponent(askId)}/cancel`, { signature: signValue(requesterSecret, cancelMessage(askId)) });
  }

  /**
   * The proof of a complete ask, verified here against the market's key with the caller's
   * own ProofSystem (MARKET_PROOF_REJECTED if it does not verify; the key digest must match).
   */
  async result(askId: string, systems: ReadonlyMap<string, ProofSystem>): Promise<AskResult> {
    const r = await this.http.call<AskResult>('GET', `/v0/asks/${encodeURIComponent(askId)}/result`);
    const sys = systems.get(r.proofSystem);
    if (!sys) throw new VeriteeError('MARKET_PROOF_SYSTEM_UNKNOWN', `no local proof system "${String(r.proofSystem).slice(0, 64)}" to verify the result with`);
    const { canonical, digest } = sys.parseVerificationKey(r.verificationKey);
    if (digest !== r.vkDigest) throw new VeriteeError('MARKET_PROOF_REJECTED', 'the verification key sent with the result is not the market key it names');
    if (!(await sys.verify(canonical, r.publicInputs, r.proof))) throw new VeriteeError('MARKET_PROOF_REJECTED', `the proof returned for ask ${askId} does not verify locally`);
    return r;
  }

  async events(after: number, waitMs = 0): Promise<MarketEvent[]> {
    return (await this.http.call<{ events: MarketEvent[] }>('GET', `/v0/events?after=${after}&waitMs=${waitMs}`, undefined, waitMs + 30_000)).events;
  }

  async ledger(): Promise<LedgerCheck> {
    return this.http.call('GET', '/v0/ledger');
  }
}

export interface GeneratorMarket {
  marketId: string;
  cost: number;
  provingTimeMs: number;
}

/** Makes a proof for an assignment (inside the generator's TEE): verification key, public and private inputs. */
export type ProveFn = (o: { marketId: string; verificationKey: unknown; publicInputs: unknown; privateInputs: unknown }) => Promise<unknown>;

export interface GeneratorOptions {
  url: string;
  generatorId: string;
  /** Ed25519 identity secret (32 bytes). */
  identitySecret: Uint8Array;
  stake: number;
  maxConcurrent: number;
  markets: GeneratorMarket[];
  /** DEVELOPMENT ONLY: the simulated TEE the generator's keys live in, and its image measurement. */
  tee: SimulatedTee;
  measurement: Uint8Array;
  prove: ProveFn;
  /** Test hook: decrypt the inputs, then never submit (a stalling generator). */
  stall?: boolean;
  /** Verify the engine's signature on assignments with these keys (recommended). */
  engineKeys?: AttestedKeys;
  onEvent?: (e: { kind: 'claimed' | 'submitted' | 'rejected' | 'failed' | 'stalled'; askId: string; attempt: number; detail?: string }) => void;
}

export interface RunningGenerator {
  /** Decrypted private inputs seen by this generator, by ask id (tests check who read what). */
  readonly seen: Map<string, unknown>;
  stop(): Promise<void>;
  /** Resolves once the initial registration and joins are done. */
  ready: Promise<void>;
}

/** Runs a generator until `stop()`. */
export function runGenerator(o: GeneratorOptions): RunningGenerator {
  const http = new MarketHttp(o.url);
  const keys = new Map<string, EnclaveKeys>();
  const seen = new Map<string, unknown>();
  const inFlight = new Set<string>();
  const done = new Set<string>();
  const vks = new Map<string, unknown>();
  let stopped = false;
  const abort = new AbortController();

  const ready = (async () => {
    await http.call('POST', '/v0/generators', { id: o.generatorId, identityKey: publicKeyOf(o.identitySecret), stake: o.stake, maxConcurrent: o.maxConcurrent });
    for (const m of o.markets) {
      const k = await EnclaveKeys.create({ tee: o.tee, role: 'generator', subject: `${o.generatorId}/${m.marketId}`, measurement: o.measurement });
      keys.set(m.marketId, k);
      const keysDigest = toHex(sha256(canonicalJsonBytes(k.attested)));
      const signature = signValue(o.identitySecret, joinMessage({ generatorId: o.generatorId, marketId: m.marketId, cost: m.cost, provingTimeMs: m.provingTimeMs, keysDigest }));
      await http.call('POST', `/v0/markets/${encodeURIComponent(m.marketId)}/join`, { generatorId: o.generatorId, cost: m.cost, provingTimeMs: m.provingTimeMs, keys: k.attested, signature });
      const market = await http.call<{ verificationKey: unknown }>('GET', `/v0/markets/${encodeURIComponent(m.marketId)}`);
      vks.set(m.marketId, market.verificationKey);
    }
  })();

  const work = async (a: Assignment): Promise<void> => {
    const tag = `${a.askId}#${a.attempt}`;
    try {
      if (o.engineKeys && !verifyEngineSignature(o.engineKeys, a.assignment)) throw new VeriteeError('MARKET_SIGNATURE_INVALID', 'the assignment is not signed by the engine');
      const claimed = await http.call<Assignment>('POST', `/v0/asks/${encodeURIComponent(a.askId)}/claim`, { generatorId: o.generatorId, attempt: a.attempt, signature: signValue(o.identitySecret, claimMessage({ askId: a.askId, generatorId: o.generatorId, attempt: a.attempt })) });
      o.onEvent?.({ kind: 'claimed', askId: a.askId, attempt: a.attempt });
      let priv: unknown;
      if (claimed.inputs) {
        const k = keys.get(a.marketId);
        if (!k) throw new VeriteeError('MARKET_ATTESTATION_INVALID', `no enclave key for market ${a.marketId}`);
        const pt = await k.open(claimed.inputs, assignmentAad(a.marketId, a.askId, o.generatorId, a.attempt));
        priv = JSON.parse(fromUtf8(pt));
        seen.set(a.askId, priv);
      }
      if (o.stall) {
        o.onEvent?.({ kind: 'stalled', askId: a.askId, attempt: a.attempt });
        return; // never submits; never retried either
      }
      const proof = await o.prove({ marketId: a.marketId, verificationKey: vks.get(a.marketId), publicInputs: claimed.publicInputs, privateInputs: priv });
      const signature = signValue(o.identitySecret, submitMessage({ askId: a.askId, generatorId: o.generatorId, attempt: a.attempt, proofDigest: proofDigest(proof) }));
      await http.call('POST', `/v0/asks/${encodeURIComponent(a.askId)}/submit`, { generatorId: o.generatorId, attempt: a.attempt, signature, proof });
      o.onEvent?.({ kind: 'submitted', askId: a.askId, attempt: a.attempt });
    } catch (e) {
      const code = (e as VeriteeError).code;
      o.onEvent?.({ kind: code === 'MARKET_PROOF_REJECTED' ? 'rejected' : 'failed', askId: a.askId, attempt: a.attempt, detail: `${code ?? ''} ${(e as Error).message}`.slice(0, 300) });
    } finally {
      inFlight.delete(tag);
      done.add(tag);
    }
  };

  const loop = (async () => {
    await ready;
    let after = 0;
    while (!stopped) {
      try {
        const list = await http.call<Assignment[]>('GET', `/v0/generators/${encodeURIComponent(o.generatorId)}/assignments`);
        for (const a of list) {
          const tag = `${a.askId}#${a.attempt}`;
          if (inFlight.has(tag) || done.has(tag)) continue;
          inFlight.add(tag);
          void work(a);
        }
        // wait for the next event (any), so assignments are picked up as they happen
        const r = await http.call<{ events: MarketEvent[] }>('GET', `/v0/events?after=${after}&waitMs=2000`, undefined, 35_000);
        if (r.events.length) after = r.events[r.events.length - 1]!.seq;
      } catch {
        if (stopped) break;
        await new Promise((res) => setTimeout(res, 200));
      }
    }
  })();

  return {
    seen,
    ready,
    stop: async () => {
      stopped = true;
      abort.abort();
      await loop.catch(() => undefined);
      while (inFlight.size) await new Promise((res) => setTimeout(res, 20));
    },
  };
}
