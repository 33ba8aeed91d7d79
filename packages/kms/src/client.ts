/**
 * @module client
 * Workload-side SDK: runs the KBS exchange from inside the TEE and returns secrets.
 *
 * @example
 * const kms = new KmsClient({ url: 'https://kms:8444', evidence: hardwareEvidenceProvider, ca });
 * const password = await kms.getSecretText('tenant-a/db/password');
 *
 * Per client a fresh P-256 key pair is generated; its public JWK is the KBS `tee-pubkey`,
 * bound into the evidence through the runtime-data hash, and every resource comes back as
 * a JWE that only this private key opens. The private key never leaves the process.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { flattenedDecrypt, type JWK } from 'jose';
import { parseJsonStrict, quoteInput, VeriteeError } from '@veritee/core';
import { computeReportData, type EvidenceEnvelope, type Platform, type SimulatedTee } from '@veritee/attestation';
import { generateTeeKeyPair, KBS_PROTOCOL_VERSION, runtimeDataHash, type KbsTee } from './kms.js';
import { SESSION_COOKIE } from './server.js';

/** Produces evidence whose report data is the given 64 bytes. */
export interface EvidenceProvider {
  readonly tee: KbsTee;
  evidence(reportData: Uint8Array): Promise<EvidenceEnvelope | string>;
}

/** DEVELOPMENT ONLY: evidence from a {@link SimulatedTee}. */
export function simulatedEvidenceProvider(tee: SimulatedTee, platform: Platform & KbsTee, overrides: Record<string, unknown> = {}): EvidenceProvider {
  return {
    tee: platform,
    evidence: async (reportData) => tee.evidence(platform, { ...overrides, reportData } as never),
  };
}

export interface KmsClientOptions {
  /** Base URL, e.g. `https://kms:8444`. */
  url: string;
  evidence: EvidenceProvider;
  /** PEM CA certificate(s) for https. */
  ca?: string | Buffer;
  /** https: the SHA-256 (hex) of the KMS TLS key's SPKI, e.g. from a bootstrap cache; any other key is refused. */
  pinSpkiSha256?: string;
  /** Request timeout (default 30 s). */
  timeoutMs?: number;
}

export interface HttpAnswer {
  status: number;
  /** https: SHA-256 (hex) of the server certificate's SPKI. */
  peerSpkiSha256?: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const MAX_ANSWER = 2 * 1024 * 1024;

function spkiSha256(raw: Buffer): string {
  return createHash('sha256').update(new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/**
 * One HTTP(S) exchange. `pinSpkiSha256` refuses any server key but that one (checked during
 * the handshake); `insecureFirstContact` skips CA validation and leaves the decision to the
 * caller, who must check `peerSpkiSha256` against attested data (bootstrap only).
 */
export function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  opts: { ca?: string | Buffer; timeoutMs: number; pinSpkiSha256?: string; insecureFirstContact?: boolean },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    const fn = https ? httpsRequest : httpRequest;
    const tlsOpts = https
      ? {
          ...(opts.ca ? { ca: opts.ca } : {}),
          ...(opts.insecureFirstContact ? { rejectUnauthorized: false } : {}),
          ...(opts.pinSpkiSha256
            ? {
                checkServerIdentity: (_host: string, cert: { raw: Buffer }) =>
                  spkiSha256(cert.raw) === opts.pinSpkiSha256 ? undefined : new VeriteeError('KMS_RESPONSE_INVALID', 'the KMS TLS key is not the pinned (attested) one'),
              }
            : {}),
        }
      : {};
    const req = fn(url, { method, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) }, timeout: opts.timeoutMs, ...tlsOpts }, (res) => {
      const sock = res.socket as TLSSocket;
      const peer = https && typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : undefined;
      const peerSpki = peer && peer.raw ? spkiSha256(peer.raw) : undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER) {
          req.destroy();
          reject(new VeriteeError('KMS_RESPONSE_INVALID', `KMS answer exceeds ${MAX_ANSWER} bytes`));
        } else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ...(peerSpki ? { peerSpkiSha256: peerSpki } : {}) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => reject(e instanceof VeriteeError ? e : new VeriteeError('KMS_RESPONSE_INVALID', `cannot reach the KMS at ${url.origin}: ${e.message}`)));
    req.end(body);
  });
}

function errorFrom(a: HttpAnswer, what: string): VeriteeError {
  try {
    const e = (JSON.parse(a.body) as { error?: { code?: string; message?: string } }).error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') {
      return new VeriteeError(e.code as never, `${what}: ${e.message.slice(0, 2000)}`);
    }
  } catch {
    /* fall through */
  }
  return new VeriteeError('KMS_RESPONSE_INVALID', `${what}: HTTP ${a.status} ${quoteInput(a.body, 120)}`);
}

/** `kbs:///tenant-a/db/password` or `tenant-a/db/password` → `[repo, type, tag]`. */
export function parseResourcePath(path: string): [string, string, string] {
  const p = path.startsWith('kbs:///') ? path.slice(7) : path.startsWith('kbs://') ? path.slice(6).replace(/^[^/]*\//, '') : path;
  const parts = p.split('/');
  if (parts.length !== 3 || parts.some((s) => !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s))) {
    throw new VeriteeError('INPUT_INVALID', `resource ${quoteInput(path, 80)} must be kbs:///<repository>/<type>/<tag>`);
  }
  return parts as [string, string, string];
}

export class KmsClient {
  private keys?: { publicJwk: JWK; privateKey: CryptoKey };
  private session?: { cookie: string; token: string };
  private readonly base: URL;

  constructor(private readonly opts: KmsClientOptions) {
    this.base = new URL(opts.url);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') throw new VeriteeError('INPUT_INVALID', 'KMS URL must be http(s)://');
  }

  private async call(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<HttpAnswer> {
    return send(new URL(path, this.base), method, { accept: 'application/json', ...headers }, body === undefined ? undefined : JSON.stringify(body), {
      ...(this.opts.ca ? { ca: this.opts.ca } : {}),
      ...(this.opts.pinSpkiSha256 ? { pinSpkiSha256: this.opts.pinSpkiSha256 } : {}),
      timeoutMs: this.opts.timeoutMs ?? 30_000,
    });
  }

  /** Runs auth + attest; returns the EAR token (also kept for later requests). */
  async attest(): Promise<string> {
    this.keys ??= await generateTeeKeyPair();
    const a = await this.call('POST', '/kbs/v0/auth', {}, { version: KBS_PROTOCOL_VERSION, tee: this.opts.evidence.tee, 'extra-params': '' });
    if (a.status !== 200) throw errorFrom(a, 'KBS auth refused');
    const setCookie = ([] as string[]).concat(a.headers['set-cookie'] ?? []);
    const cookie = setCookie.map((c) => c.split(';')[0]!).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    if (!cookie) throw new VeriteeError('KMS_RESPONSE_INVALID', `KBS auth answer has no ${SESSION_COOKIE} cookie`);
    const challenge = parseJsonStrict(a.body, { what: 'KBS challenge', code: 'KMS_RESPONSE_INVALID' }) as { nonce?: unknown };
    if (typeof challenge.nonce !== 'string' || challenge.nonce.length > 512) throw new VeriteeError('KMS_RESPONSE_INVALID', 'KBS challenge has no nonce');
    const rd = runtimeDataHash(challenge.nonce, this.keys.publicJwk);
    const evidence = await this.opts.evidence.evidence(computeReportData({ nonce: rd }));
    const t = await this.call('POST', '/kbs/v0/attest', { cookie }, { 'tee-pubkey': this.keys.publicJwk, 'tee-evidence': evidence });
    if (t.status !== 200) throw errorFrom(t, 'KBS attestation refused');
    const token = (parseJsonStrict(t.body, { what: 'KBS attest answer', code: 'KMS_RESPONSE_INVALID' }) as { token?: unknown }).token;
    if (typeof token !== 'string') throw new VeriteeError('KMS_RESPONSE_INVALID', 'KBS attest answer has no token');
    this.session = { cookie, token };
    return token;
  }

  /** The secret at `tenant/type/tag` (or `kbs:///tenant/type/tag`) as bytes. */
  async getSecret(path: string): Promise<Uint8Array> {
    const [repo, type, tag] = parseResourcePath(path);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.session) await this.attest();
      const r = await this.call('GET', `/kbs/v0/resource/${repo}/${type}/${tag}`, { authorization: `Bearer ${this.session!.token}` });
      if (r.status === 401 && attempt === 0) {
        this.session = undefined; // expired or revoked: attest once more
        continue;
      }
      if (r.status !== 200) throw errorFrom(r, `release of ${repo}/${type}/${tag} refused`);
      return this.open(r.body);
    }
    throw new VeriteeError('KMS_NOT_ATTESTED', 'the KMS refused the session twice');
  }

  /**
   * A workload certificate for this client's attested key: `tenant`/`workload` (SPIFFE ID
   * `spiffe://<td>/tenant/<t>/workload/<w>`), the attestation in an extension, valid no
   * longer than the session. Returns the PEM key too (the TEE key never leaves the process
   * otherwise: use it for TLS only).
   */
  async getCertificate(tenant: string, workload: string, opts: { dns?: string[]; ttlSeconds?: number } = {}): Promise<{ certPem: string; keyPem: string; caPem: string; spiffeId: string; serial: string; notAfter: string }> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.session) await this.attest();
      const r = await this.call('POST', '/kms/v0/ca/issue', { authorization: `Bearer ${this.session!.token}` }, { tenant, workload, ...(opts.dns ? { dns: opts.dns } : {}), ...(opts.ttlSeconds ? { ttl: opts.ttlSeconds } : {}) });
      if (r.status === 401 && attempt === 0) {
        this.session = undefined;
        continue;
      }
      if (r.status !== 200) throw errorFrom(r, `certificate for ${tenant}/${workload} refused`);
      const b = parseJsonStrict(r.body, { what: 'KMS certificate answer', code: 'KMS_RESPONSE_INVALID' }) as { certificate?: unknown; chain?: unknown; spiffe_id?: unknown; serial?: unknown; not_after?: unknown };
      if (typeof b.certificate !== 'string' || !Array.isArray(b.chain) || typeof b.chain[0] !== 'string' || typeof b.serial !== 'string' || typeof b.spiffe_id !== 'string') {
        throw new VeriteeError('KMS_RESPONSE_INVALID', 'KMS certificate answer lacks certificate, chain, serial or spiffe_id');
      }
      const { privateKeyPem } = await import('./ca.js');
      return { certPem: b.certificate, keyPem: privateKeyPem(this.keys!.privateKey), caPem: b.chain[0], spiffeId: b.spiffe_id, serial: b.serial, notAfter: String(b.not_after) };
    }
    throw new VeriteeError('KMS_NOT_ATTESTED', 'the KMS refused the session twice');
  }

  /** The KMS's status of a workload certificate (by serial): good, revoked, expired or unknown. */
  async certificateStatus(serial: string): Promise<'good' | 'revoked' | 'expired' | 'unknown'> {
    if (!/^[0-9a-fA-F]{2,64}$/.test(serial)) throw new VeriteeError('INPUT_INVALID', 'certificate serial must be hex');
    const r = await this.call('GET', `/kms/v0/ca/status/${serial.toLowerCase()}`, {});
    if (r.status !== 200) throw errorFrom(r, 'certificate status refused');
    const st = (parseJsonStrict(r.body, { what: 'KMS certificate status', code: 'KMS_RESPONSE_INVALID' }) as { status?: unknown }).status;
    if (st !== 'good' && st !== 'revoked' && st !== 'expired' && st !== 'unknown') throw new VeriteeError('KMS_RESPONSE_INVALID', 'KMS certificate status is not good/revoked/expired/unknown');
    return st;
  }

  async getSecretText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.getSecret(path));
  }

  private async open(body: string): Promise<Uint8Array> {
    const jwe = parseJsonStrict(body, { what: 'KBS resource JWE', code: 'KMS_RESPONSE_INVALID' });
    try {
      const { plaintext } = await flattenedDecrypt(jwe as never, this.keys!.privateKey, { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] });
      return plaintext;
    } catch {
      throw new VeriteeError('KMS_RESPONSE_INVALID', 'the resource JWE does not decrypt with this workload key');
    }
  }
}
