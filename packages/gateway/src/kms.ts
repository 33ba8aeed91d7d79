/**
 * @module kms
 * The gateway and the KMS (@veritee/kms): its TLS certificate, and client certificates.
 *
 * - **Server certificate**: the gateway attests to the KMS (KBS exchange with the enclave's
 *   evidence provider) and gets a workload certificate for `tenant/workload` with its host
 *   name as a DNS SAN. It is renewed at two thirds of its lifetime; a failed renewal is
 *   retried (every tenth of the remaining lifetime, at least 1 s) while the old certificate
 *   stays in use. New handshakes get the new certificate; open connections keep theirs.
 * - **Client certificates**: the KMS CA is added to the CAs clients may present certificates
 *   of. A client certificate the KMS CA issued is checked per request: CA signature and
 *   validity at the gateway's clock, SPIFFE ID and attestation extension (tenant; simulated
 *   evidence only when allowed), and its lease status at the KMS — revoked, expired or
 *   unknown is refused, and a KMS that cannot be asked refuses too (fail closed); with
 *   `statusCacheMs` a `good` answer is reused that long (a revocation then takes effect
 *   within it; the default 0 asks on every request). The
 *   client's identity is its SPIFFE ID: rate limits and route allow-lists use it.
 *
 * Time is an explicit input (`now`).
 */
import { X509Certificate } from 'node:crypto';
import { VeriteeError, type ErrorCode } from '@veritee/core';
import { verifyWorkloadCertificate, type KmsClient } from '@veritee/kms';

export interface KmsCertificate {
  certPem: string;
  keyPem: string;
  caPem: string;
  spiffeId: string;
  serial: string;
  /** When it was obtained (the gateway's clock), ms. */
  obtainedMs: number;
  notAfterMs: number;
}

/** Renewal time of a certificate obtained at `obtainedMs` that expires at `notAfterMs`: two thirds of its lifetime. */
export function renewalTime(obtainedMs: number, notAfterMs: number): number {
  return obtainedMs + Math.floor(((notAfterMs - obtainedMs) * 2) / 3);
}

export interface KmsServerCertOptions {
  client: KmsClient;
  tenant: string;
  workload: string;
  dns: string[];
  ttlSeconds?: number;
  now: () => number;
  /** Called with every new certificate after the first (install it for new handshakes). */
  apply: (c: KmsCertificate) => void;
  onLog?: (level: 'info' | 'warn', obj: Record<string, unknown>, msg: string) => void;
}

/** The gateway's TLS certificate from the KMS, renewed at 2/3 of its lifetime. */
export class KmsServerCertificate {
  private cert: KmsCertificate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Renewals done, and failed attempts (metrics). */
  readonly stats = { renewals: 0, failures: 0 };
  /** When the next renewal attempt is due (ms, gateway clock). */
  nextAttemptMs = 0;

  constructor(private readonly opts: KmsServerCertOptions) {}

  get current(): KmsCertificate {
    if (!this.cert) throw new VeriteeError('INTERNAL', 'no KMS certificate obtained yet');
    return this.cert;
  }

  /** Attests to the KMS and obtains a certificate (throws KMS_* / GATEWAY_KMS_UNAVAILABLE). */
  async obtain(): Promise<KmsCertificate> {
    let r: Awaited<ReturnType<KmsClient['getCertificate']>>;
    try {
      r = await this.opts.client.getCertificate(this.opts.tenant, this.opts.workload, { dns: this.opts.dns, ...(this.opts.ttlSeconds ? { ttlSeconds: this.opts.ttlSeconds } : {}) });
    } catch (e) {
      if (e instanceof VeriteeError && e.code !== 'KMS_RESPONSE_INVALID') throw e;
      throw new VeriteeError('GATEWAY_KMS_UNAVAILABLE', `the gateway's TLS certificate could not be obtained from the KMS: ${(e as Error).message.slice(0, 300)}`);
    }
    // The certificate's own notAfter decides (the KMS answer's field is informative).
    const notAfterMs = Date.parse(new X509Certificate(r.certPem).validTo);
    if (!Number.isFinite(notAfterMs)) throw new VeriteeError('KMS_RESPONSE_INVALID', 'the KMS certificate has no readable notAfter');
    const c: KmsCertificate = { certPem: r.certPem, keyPem: r.keyPem, caPem: r.caPem, spiffeId: r.spiffeId, serial: r.serial, obtainedMs: this.opts.now(), notAfterMs };
    this.cert = c;
    return c;
  }

  /** Schedules renewals of the current certificate. */
  start(): void {
    this.schedule(renewalTime(this.current.obtainedMs, this.current.notAfterMs));
  }

  private schedule(atMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.nextAttemptMs = atMs;
    this.timer = setTimeout(() => void this.renew().catch(() => undefined), Math.max(0, atMs - this.opts.now()));
    this.timer.unref();
  }

  /** Renews now; on failure keeps the current certificate and retries later. */
  async renew(): Promise<KmsCertificate> {
    const old = this.current;
    try {
      const c = await this.obtain();
      this.opts.apply(c);
      this.stats.renewals++;
      this.opts.onLog?.('info', { serial: c.serial, notAfter: new Date(c.notAfterMs).toISOString(), previous: old.serial }, 'TLS certificate renewed at the KMS');
      this.schedule(renewalTime(c.obtainedMs, c.notAfterMs));
      return c;
    } catch (e) {
      this.cert = old;
      this.stats.failures++;
      const now = this.opts.now();
      const retryMs = Math.max(1000, Math.floor((old.notAfterMs - now) / 10));
      this.opts.onLog?.('warn', { code: (e as VeriteeError).code, err: (e as Error).message.slice(0, 300), serial: old.serial, retryInMs: retryMs }, 'TLS certificate renewal failed: the current one stays until it expires');
      this.schedule(now + retryMs);
      throw e;
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

export type ClientCheck = { ok: true; spiffeId: string; serial: string } | { ok: false; code: ErrorCode; message: string };

/** Checks client certificates the KMS CA issued (see the module comment). */
export class KmsClientAuth {
  private readonly ca: X509Certificate;
  /** Status lookups and their failures (metrics). */
  readonly stats = { checks: 0, refused: 0, unavailable: 0, lookups: 0 };
  /** serial → when the KMS last said `good` (only with statusCacheMs; bounded). */
  private readonly good = new Map<string, number>();
  /** Per TLS connection: its certificate, verified once (a connection's certificate cannot change). */
  private readonly verified = new WeakMap<object, { spiffeId: string; serial: string; notBeforeMs: number; notAfterMs: number }>();

  constructor(
    private readonly opts: {
      caPem: string;
      client: Pick<KmsClient, 'certificateStatus'>;
      tenant?: string;
      trustDomain?: string;
      allowSimulated: boolean;
      now: () => number;
      /** Reuse a `good` status for this long (ms); 0 (default): ask the KMS on every request. */
      statusCacheMs?: number;
    },
  ) {
    this.ca = new X509Certificate(opts.caPem);
  }

  /** Whether this connection's KMS certificate was verified already. */
  knows(connection: object): boolean {
    return this.verified.has(connection);
  }

  /** Whether the KMS CA issued this certificate (DER): then {@link check} decides. */
  issued(raw: Buffer): boolean {
    try {
      return new X509Certificate(raw).checkIssued(this.ca);
    } catch {
      return false;
    }
  }

  /**
   * Verifies a client certificate and asks the KMS for its status (per request; fail
   * closed). With `connection` (the TLS socket), the certificate's signature, SPIFFE ID and
   * attestation extension are verified on its first request only; its validity is checked
   * against the clock and its status asked on every request.
   */
  async check(raw: Buffer, connection?: object): Promise<ClientCheck> {
    this.stats.checks++;
    let spiffeId: string;
    let serial: string;
    const now = this.opts.now();
    const known = connection ? this.verified.get(connection) : undefined;
    try {
      if (known) {
        if (now < known.notBeforeMs || now > known.notAfterMs) throw new Error(`outside its validity (${new Date(known.notBeforeMs).toISOString()} to ${new Date(known.notAfterMs).toISOString()}, time ${new Date(now).toISOString()})`);
        spiffeId = known.spiffeId;
        serial = known.serial;
      } else {
        const v = verifyWorkloadCertificate(new Uint8Array(raw), {
          caCert: this.opts.caPem,
          at: now,
          ...(this.opts.trustDomain ? { trustDomain: this.opts.trustDomain } : {}),
          expect: { ...(this.opts.tenant ? { tenant: this.opts.tenant } : {}), allowSimulated: this.opts.allowSimulated },
        });
        spiffeId = v.spiffeId;
        serial = v.serial;
        if (connection) this.verified.set(connection, { spiffeId, serial, notBeforeMs: Date.parse(v.notBefore), notAfterMs: Date.parse(v.notAfter) });
      }
    } catch (e) {
      this.stats.refused++;
      return { ok: false, code: 'GATEWAY_UNAUTHENTICATED', message: `client certificate refused: ${(e as Error).message.replace(/^workload certificate rejected: /, '').slice(0, 200)}` };
    }
    const ttl = this.opts.statusCacheMs ?? 0;
    const seen = ttl > 0 ? this.good.get(serial) : undefined;
    if (seen !== undefined && this.opts.now() - seen < ttl) return { ok: true, spiffeId, serial };
    let status: string;
    try {
      this.stats.lookups++;
      const asked = this.opts.now();
      status = await this.opts.client.certificateStatus(serial);
      if (ttl > 0 && status === 'good') {
        this.good.delete(serial);
        if (this.good.size >= 10_000) this.good.delete(this.good.keys().next().value!);
        this.good.set(serial, asked);
      }
    } catch (e) {
      this.stats.unavailable++;
      return { ok: false, code: 'GATEWAY_KMS_UNAVAILABLE', message: `the status of the client certificate could not be obtained from the KMS, so it is refused (fail closed): ${(e as Error).message.slice(0, 160)}` };
    }
    if (status !== 'good') {
      this.good.delete(serial);
      this.stats.refused++;
      return { ok: false, code: 'GATEWAY_UNAUTHENTICATED', message: `client certificate refused: the KMS reports it ${status}` };
    }
    return { ok: true, spiffeId, serial };
  }
}

/** Whether `id` is on an allow-list of SPIFFE IDs (an entry ending in "/*" allows everything under it). */
export function spiffeAllowed(list: readonly string[], id: string): boolean {
  return list.some((e) => (e.endsWith('/*') ? id.startsWith(e.slice(0, -1)) : id === e));
}
