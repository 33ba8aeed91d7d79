/**
 * @module plane/agent
 * The node agent (`veritee cp agent`, inside the node's TEE): attests to the control plane,
 * collects telemetry with the collector, and sends it over an attested channel — the
 * attesting proxy in front of the control plane, whose TLS session is bound to the control
 * plane's evidence by exported keying material (@veritee/proxy's client refuses anything
 * else) — each report signed by the agent's own enclave key, which the agent's evidence binds.
 *
 * UNTRUSTED CONTROL PLANE MODE (`mode: 'untrusted'`, e.g. a managed Kubernetes whose control
 * plane belongs to someone else): the agent enacts on its own orchestrator, and only a
 * command signed by the attested control plane's key (the key whose hash the attested TLS
 * session proved) for a workload it runs. It then watches the decision's proof: when the
 * bundle arrives it verifies it itself (its own keys, the claim in the SIGNED command, not
 * the server's copy); a proof that fails, does not verify, or misses the deadline raises an
 * alarm and, with `revert`, restores the previous replica count.
 */
import { createHash } from 'node:crypto';
import { VeriteeError } from '@veritee/core';
import type { Policy, TrustAnchors } from '@veritee/attestation';
import { createAttestedClient, type AttestedClient, type Enclave } from '@veritee/proxy';
import type { KeyRing } from '@veritee/zk/verify';
import { collectTelemetry, type CollectOptions } from '../telemetry/sampler.js';
import { collectGpu } from './gpu.js';
import { telemetryMessage, verifyCommand, type CommandPayload } from './command.js';
import { checkDecisionBundle } from './queue.js';
import { mtlsCall, type MtlsIdentity } from './mtls.js';
import type { Decision } from './log.js';
import type { Orchestrator } from './orchestrator.js';
import type { WorkloadSpec } from './workload.js';

export interface AgentOptions {
  agentId: string;
  /** https://host:port of the attesting proxy in front of the control plane (or of its mTLS listener with `mtls`). */
  controlPlaneUrl: string;
  /** Policy the control plane's evidence must satisfy (the attesting-proxy channel). */
  policy: Policy;
  /**
   * The channel over mTLS with KMS workload certificates instead of the attesting proxy:
   * this agent's certificate and key, and what the control plane's certificate must show
   * (tenant, workload, measurements, KMS status). The control plane's command key must then
   * be its certificate's key (mtls.ts).
   */
  mtls?: MtlsIdentity;
  allowSimulated?: boolean;
  simulatedAnchors?: TrustAnchors;
  /** The agent's enclave key and evidence source. */
  enclave: Enclave;
  mode?: 'trusted' | 'untrusted';
  /** Untrusted mode: where the agent enacts, and the workloads it runs there. */
  orchestrator?: Orchestrator;
  workloads?: WorkloadSpec[];
  /** Untrusted mode: verification keys for the proofs, and whether dev setups are accepted. */
  keys?: KeyRing;
  allowDevSetup?: boolean;
  /** Untrusted mode: restore the previous replica count when a proof fails. */
  revert?: boolean;
  onAlarm?: (a: { decisionId: string; reason: string; reverted: boolean }) => void;
  clock?: () => number;
  timeoutMs?: number;
  /**
   * http://127.0.0.1:PORT of the attesting proxy's request counters (`veritee proxy
   * --counters-listen`): each report then carries the arrivals of the window's period, for
   * volume rules proven with the volume claim.
   */
  requestCountersUrl?: string;
}

export interface SendResult {
  decision: Decision | null;
  note: string | null;
  /** What the control plane measured on the report (unavailable metrics with their code). */
  measurements?: { metric: string; direction: 'out' | 'in'; value: number; above: boolean; unavailable?: string; code?: string }[];
  /** Untrusted mode: the command the agent verified and enacted. */
  enacted?: CommandPayload;
}

export interface RequestsPart {
  periodStartUs: number;
  periodEndUs: number;
  arrivalsUs: number[];
}

const MAX_COUNTERS_BYTES = 2 * 1024 * 1024;

/**
 * Reads the proxy's request arrivals in [fromUs, toUs) from its loopback counters endpoint.
 * Never throws: a failure becomes `requestsUnavailable` (CP_REQUESTS_UNAVAILABLE) in the
 * report, so volume rules take no decision while the other rules still do.
 */
export async function readRequestCounters(baseUrl: string, fromUs: number, toUs: number, timeoutMs = 5000): Promise<{ requests: RequestsPart } | { requestsUnavailable: { code: 'CP_REQUESTS_UNAVAILABLE'; reason: string } }> {
  const unavailable = (reason: string) => ({ requestsUnavailable: { code: 'CP_REQUESTS_UNAVAILABLE' as const, reason: reason.slice(0, 300) } });
  let url: URL;
  try {
    url = new URL(`/v1/requests?fromUs=${fromUs}&toUs=${toUs}`, baseUrl);
  } catch {
    return unavailable(`the request counters URL ${baseUrl.slice(0, 100)} is not a URL`);
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const len = Number(res.headers.get('content-length') ?? NaN);
    if (!(len <= MAX_COUNTERS_BYTES)) {
      await res.body?.cancel();
      return unavailable(`the request counters answered without a length or above ${MAX_COUNTERS_BYTES} bytes`);
    }
    const json = (await res.json()) as { periodStartUs?: unknown; periodEndUs?: unknown; arrivalsUs?: unknown; error?: { code?: string; message?: string } };
    if (!res.ok) return unavailable(`the request counters answered ${res.status}: ${json.error?.code ?? ''} ${json.error?.message ?? ''}`.trim());
    const { periodStartUs, periodEndUs, arrivalsUs } = json;
    if (!Number.isSafeInteger(periodStartUs) || !Number.isSafeInteger(periodEndUs) || !Array.isArray(arrivalsUs) || !arrivalsUs.every((x) => Number.isSafeInteger(x))) {
      return unavailable('the request counters answered a malformed period');
    }
    return { requests: { periodStartUs: periodStartUs as number, periodEndUs: periodEndUs as number, arrivalsUs: arrivalsUs as number[] } };
  } catch (e) {
    return unavailable(`the request counters at ${url.origin} cannot be read: ${(e as Error).message}`);
  }
}

interface Watched {
  cmd: CommandPayload;
  w: WorkloadSpec;
  deadlineMs: number;
}

export class ControlPlaneAgent {
  private readonly client: AttestedClient | undefined;
  /** mTLS channel: SHA-256 of the control plane certificate's key, as checked on the last call. */
  private mtlsKeyHash: string | undefined;
  private cpSpki: Buffer | undefined;
  private seq = Date.now();
  private readonly watching = new Map<string, Watched>();
  readonly alarms: { decisionId: string; reason: string; reverted: boolean }[] = [];

  constructor(private readonly opts: AgentOptions) {
    if (opts.mtls) return;
    this.client = createAttestedClient({
      baseUrl: opts.controlPlaneUrl,
      policy: opts.policy,
      ...(opts.allowSimulated ? { allowSimulated: true } : {}),
      ...(opts.simulatedAnchors ? { simulatedAnchors: opts.simulatedAnchors } : {}),
      timeoutMs: opts.timeoutMs ?? 30_000,
    });
  }

  private async call(path: string, body: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    let res: { ok: boolean; status: number };
    let text: string;
    const init = { method: body ? 'POST' : 'GET', headers: { 'content-type': 'application/json', ...headers }, ...(body ? { body } : {}) };
    if (this.opts.mtls) {
      const r = await mtlsCall(new URL(path, this.opts.controlPlaneUrl).toString(), this.opts.mtls, { ...init, timeoutMs: this.opts.timeoutMs ?? 30_000 });
      this.mtlsKeyHash = r.peerKeySha256;
      res = { ok: r.status >= 200 && r.status < 300, status: r.status };
      text = r.text;
    } else {
      const f = await this.client!.fetch(path, init);
      res = f;
      text = await f.text();
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new VeriteeError('CP_ORCHESTRATOR_UNAVAILABLE', `the control plane answered ${res.status} with a non-JSON body`);
    }
    if (!res.ok) {
      const e = (json['error'] ?? {}) as { code?: string; message?: string };
      throw new VeriteeError((e.code as never) ?? 'INTERNAL', e.message ?? `control plane answered ${res.status}`);
    }
    return json;
  }

  /** The attested TLS session's enclave key hash (what the proxy's evidence bound). */
  private attestedKeyHash(): string {
    if (this.opts.mtls) {
      if (!this.mtlsKeyHash) throw new VeriteeError('CP_COMMAND_SIGNATURE_INVALID', 'no verified mTLS session with the control plane');
      return this.mtlsKeyHash;
    }
    const s = this.client!.sessions.find((x) => x.attested && x.enclaveKey);
    if (!s?.enclaveKey) throw new VeriteeError('CP_COMMAND_SIGNATURE_INVALID', 'no attested session with the control plane');
    return s.enclaveKey;
  }

  /** Attests this agent to the control plane (challenge, evidence binding its key and the nonce). */
  async attest(): Promise<{ attestedUntilMs: number }> {
    const ch = await this.call('/v1/agents/challenge', JSON.stringify({ agentId: this.opts.agentId }));
    const nonce = String(ch['nonce']);
    const spki = Buffer.from(String(ch['controlPlaneSpki']), 'base64url');
    // The control plane's signing key must be the key its attested TLS session proved.
    if (createHash('sha256').update(spki).digest('hex') !== this.attestedKeyHash()) {
      throw new VeriteeError('CP_COMMAND_SIGNATURE_INVALID', "the control plane's signing key is not the key its attestation binds");
    }
    this.cpSpki = spki;
    const evidence = await this.opts.enclave.evidenceHeader(Buffer.from(nonce, 'hex'));
    const r = await this.call('/v1/agents/attest', JSON.stringify({ agentId: this.opts.agentId, nonce, spki: this.opts.enclave.spkiBase64Url, evidence, ...(this.opts.enclave.simulatedAnchorsJson() ? { simulatedAnchors: this.opts.enclave.simulatedAnchorsJson() } : {}) }));
    return { attestedUntilMs: Number(r['attestedUntilMs']) };
  }

  private signedHeaders(body: string): Record<string, string> {
    return { 'veritee-agent': this.opts.agentId, 'veritee-agent-signature': this.opts.enclave.sign(telemetryMessage(this.opts.agentId, body)).toString('base64url') };
  }

  /**
   * Collects one window (and GPU samples, and the proxy's request arrivals over the window's
   * period when `requestCountersUrl` is set) and sends it.
   */
  async collectAndSend(workload: string, collect: CollectOptions = {}, extra: { requests?: RequestsPart } = {}): Promise<SendResult> {
    const window = await collectTelemetry({ samples: 16, intervalMs: 1000, maxProcesses: 30, ...collect });
    const gpu = await collectGpu();
    let requests: Record<string, unknown> = extra.requests ? { requests: extra.requests } : {};
    if (!extra.requests && this.opts.requestCountersUrl) requests = await readRequestCounters(this.opts.requestCountersUrl, window.startedAtUs, Math.max(window.endedAtUs, window.startedAtUs + 1));
    return this.send({ version: 1, workload, node: this.opts.agentId, window, gpu, ...requests });
  }

  /** Sends a report (its `seq` is set here, strictly increasing). */
  async send(report: Record<string, unknown>): Promise<SendResult> {
    const body = JSON.stringify({ ...report, seq: ++this.seq });
    const r = await this.call('/v1/telemetry', body, this.signedHeaders(body));
    const decision = (r['decision'] ?? null) as Decision | null;
    const out: SendResult = { decision, note: (r['note'] ?? null) as string | null, ...(Array.isArray(r['measurements']) ? { measurements: r['measurements'] as NonNullable<SendResult['measurements']> } : {}) };
    if (decision && this.opts.mode === 'untrusted') out.enacted = await this.enactCommand(decision);
    return out;
  }

  /** Untrusted mode: verify the command's signature, enact it, report, and watch its proof. */
  async enactCommand(decision: Pick<Decision, 'command' | 'proof'>): Promise<CommandPayload> {
    if (!this.cpSpki) throw new VeriteeError('CP_COMMAND_SIGNATURE_INVALID', 'the agent has not attested the control plane yet');
    const cmd = verifyCommand(decision.command, this.cpSpki);
    const w = this.opts.workloads?.find((x) => x.name === cmd.workload);
    if (!w || !this.opts.orchestrator) throw new VeriteeError('CP_COMMAND_SIGNATURE_INVALID', `the command names workload ${cmd.workload.slice(0, 63)}, which this agent does not run`);
    if (cmd.replicas < w.minReplicas || cmd.replicas > w.maxReplicas) throw new VeriteeError('CP_COMMAND_SIGNATURE_INVALID', `the command asks for ${cmd.replicas} replicas, outside [${w.minReplicas}, ${w.maxReplicas}]`);
    let ok = true;
    let detail = '';
    try {
      await this.opts.orchestrator.scale(w, cmd.replicas);
    } catch (e) {
      ok = false;
      detail = (e as Error).message;
    }
    const body = JSON.stringify({ ok, detail });
    await this.call(`/v1/decisions/${encodeURIComponent(cmd.decisionId)}/enacted`, body, this.signedHeaders(body)).catch(() => undefined);
    if (ok) this.watching.set(cmd.decisionId, { cmd, w, deadlineMs: decision.proof.deadlineMs });
    return cmd;
  }

  /**
   * Untrusted mode: fetches the proofs of watched decisions and verifies them here. Returns
   * the ids verified, alarmed, and still waiting.
   */
  async checkProofs(): Promise<{ verified: string[]; alarmed: string[]; waiting: string[] }> {
    const res = { verified: [] as string[], alarmed: [] as string[], waiting: [] as string[] };
    const now = (this.opts.clock ?? Date.now)();
    for (const [id, wd] of this.watching) {
      const r = await this.call(`/v1/decisions/${encodeURIComponent(id)}`, '');
      const d = r['decision'] as Decision;
      let problem: string | undefined;
      if (d.proof.state === 'verified' && d.proof.bundle !== undefined) {
        // Every claim of the SIGNED command, each against its own bundle (the server's copy of
        // the claims is not trusted: a bundle must prove what the control plane signed).
        const signed = wd.cmd.claims ?? (wd.cmd.claim ? [wd.cmd.claim] : []);
        const bundles = Array.isArray(d.claims) && d.claims.length > 0 ? d.claims.map((c) => c?.proof?.bundle) : [d.proof.bundle];
        if (signed.length === 0) problem = 'the command names no claim';
        else if (bundles.length !== signed.length) problem = `the control plane shows ${bundles.length} proven claim(s), the command signed ${signed.length}`;
        else {
          for (const [i, claim] of signed.entries()) {
            const p = checkDecisionBundle(bundles[i], claim, { keys: this.opts.keys!, allowDevSetup: this.opts.allowDevSetup ?? false, at: now });
            if (p) {
              problem = signed.length > 1 ? `claim ${i} (${claim.kind}): ${p}` : p;
              break;
            }
          }
        }
        if (!problem) {
          res.verified.push(id);
          this.watching.delete(id);
          continue;
        }
      } else if (d.proof.state === 'failed' || d.proof.state === 'unprovable') problem = `the control plane reports the proof ${d.proof.state}: ${d.proof.error ?? ''}`;
      else if (now > wd.deadlineMs) problem = 'no proof before the deadline';
      if (!problem) {
        res.waiting.push(id);
        continue;
      }
      let reverted = false;
      if (this.opts.revert && this.opts.orchestrator) {
        try {
          await this.opts.orchestrator.scale(wd.w, wd.cmd.from);
          reverted = true;
        } catch {
          reverted = false;
        }
      }
      const alarm = { decisionId: id, reason: problem.slice(0, 300), reverted };
      this.alarms.push(alarm);
      this.opts.onAlarm?.(alarm);
      res.alarmed.push(id);
      this.watching.delete(id);
    }
    return res;
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}
