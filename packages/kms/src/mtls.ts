/**
 * @module mtls
 * Mutual TLS between attested workloads with KMS-issued certificates. Both ends present a
 * workload certificate (from `KmsClient.getCertificate`) and check the other's the way a
 * peer must: the chain to the KMS CA (in the TLS handshake), then the SPIFFE ID and the
 * attestation extension against what this side expects (tenant, workload, accepted
 * measurements, simulated or not), then, when a status source is given, that the KMS has
 * not revoked the certificate (its lease) since it was issued.
 *
 * A peer whose certificate the CA signed but whose attestation is not the expected one is
 * refused: the CA's signature alone is not enough.
 *
 * - server: {@link attestedMtlsServer} asks every client for a certificate (handshake fails
 *   without one from the CA), checks the attestation before the handler runs (403
 *   `KMS_CERTIFICATE_INVALID` otherwise) and hands the handler the verified peer;
 * - client: {@link attestedMtlsRequest} checks the server's certificate (attestation and
 *   status) after the handshake and before a byte of the request is written.
 *
 * Time is an explicit input (`clock`).
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import { request as httpRequest, type IncomingMessage, type RequestOptions, type ServerResponse } from 'node:http';
import { connect, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { systemClock, VeriteeError, type Clock } from '@veritee/core';
import { verifyWorkloadCertificate, type VerifiedWorkloadCert } from './ca.js';

export interface PeerCheck {
  /** The KMS workload CA (PEM), e.g. from the bootstrap cache or /kms/v0/ca/bundle. */
  caPem: string;
  trustDomain?: string;
  expect?: { tenant?: string; workload?: string; measurements?: string[]; allowSimulated?: boolean };
  /** The KMS's view of a certificate (e.g. `KmsClient.certificateStatus`); anything but `good` refuses. */
  status?: (serial: string) => Promise<string>;
  clock?: Clock;
}

/** Checks a peer certificate (DER) against `check`; throws KMS_CERTIFICATE_INVALID naming the failed check. */
export async function checkPeerCertificate(raw: Uint8Array, check: PeerCheck): Promise<VerifiedWorkloadCert> {
  const v = verifyWorkloadCertificate(raw, {
    caCert: check.caPem,
    at: (check.clock ?? systemClock).now(),
    ...(check.trustDomain ? { trustDomain: check.trustDomain } : {}),
    ...(check.expect ? { expect: check.expect } : {}),
  });
  if (check.status) {
    let st: string;
    try {
      st = await check.status(v.serial);
    } catch {
      throw new VeriteeError('KMS_CERTIFICATE_INVALID', `workload certificate rejected: its status could not be obtained from the KMS (fail closed)`);
    }
    if (st !== 'good') throw new VeriteeError('KMS_CERTIFICATE_INVALID', `workload certificate rejected: the KMS reports it ${st}`);
  }
  return v;
}

export interface AttestedMtlsServerOptions {
  certPem: string;
  keyPem: string;
  peer: PeerCheck;
  handler: (req: IncomingMessage, res: ServerResponse, peer: VerifiedWorkloadCert) => void | Promise<void>;
  /** Called with each refusal (for logs/tests): the error code and message, never key material. */
  onRefused?: (code: string, message: string) => void;
}

/** An https server for attested peers only (see the module comment). */
export function attestedMtlsServer(opts: AttestedMtlsServerOptions): Server {
  return createHttpsServer({ key: opts.keyPem, cert: opts.certPem, ca: opts.peer.caPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (req, res) => {
    void (async () => {
      let peer: VerifiedWorkloadCert;
      try {
        const raw = (req.socket as TLSSocket).getPeerCertificate().raw;
        if (!raw) throw new VeriteeError('KMS_CERTIFICATE_INVALID', 'workload certificate rejected: the client presented none');
        peer = await checkPeerCertificate(new Uint8Array(raw), opts.peer);
      } catch (e) {
        const err = e instanceof VeriteeError ? e : new VeriteeError('KMS_CERTIFICATE_INVALID', 'workload certificate rejected');
        opts.onRefused?.(err.code, err.message);
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: err.code, message: err.message } }));
        return;
      }
      await opts.handler(req, res, peer);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"INTERNAL","message":"internal error"}}');
    });
  });
}

/**
 * One request to an attested peer over mTLS. The server's certificate is checked (CA in
 * the handshake; SPIFFE ID, attestation and status right after) before the request is
 * sent. Answers are capped at 1 MiB.
 */
export function attestedMtlsRequest(
  url: string,
  opts: { certPem: string; keyPem: string; peer: PeerCheck; method?: string; body?: string; headers?: Record<string, string>; timeoutMs?: number },
): Promise<{ status: number; body: string; peer: VerifiedWorkloadCert }> {
  const u = new URL(url);
  if (u.protocol !== 'https:') return Promise.reject(new VeriteeError('INPUT_INVALID', 'mTLS peers are https:// URLs'));
  let peer: VerifiedWorkloadCert | undefined;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: Number(u.port || 443),
        path: `${u.pathname}${u.search}`,
        method: opts.method ?? 'GET',
        headers: { ...(opts.headers ?? {}), ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}) },
        timeout: opts.timeoutMs ?? 30_000,
        createConnection: (_o: unknown, done: (err: Error | null, s?: Duplex) => void) => {
          const s = connect({
            host: u.hostname,
            port: Number(u.port || 443),
            key: opts.keyPem,
            cert: opts.certPem,
            ca: opts.peer.caPem,
            minVersion: 'TLSv1.3',
            // identity is the SPIFFE ID and the attestation, checked below, not a DNS name
            checkServerIdentity: () => undefined,
          });
          s.once('secureConnect', () => {
            checkPeerCertificate(new Uint8Array(s.getPeerCertificate().raw), opts.peer).then(
              (v) => {
                peer = v;
                done(null, s);
              },
              (e: unknown) => {
                s.destroy();
                done(e as Error);
              },
            );
          });
          s.once('error', (e) => done(e));
          return undefined;
        },
      } as unknown as RequestOptions,
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1024 * 1024) req.destroy(new VeriteeError('INPUT_TOO_LARGE', 'peer answer exceeds 1 MiB'));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), peer: peer! }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new VeriteeError('INPUT_INVALID', 'mTLS peer timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}
