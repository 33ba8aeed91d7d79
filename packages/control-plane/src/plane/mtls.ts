/**
 * @module plane/mtls
 * The agents' channel over mutual TLS with workload certificates from the KMS (the KMS's
 * CA issues each attested workload a certificate carrying its attestation: SPIFFE ID,
 * measurement, simulated or not; @veritee/kms mtls.ts).
 *
 * - control plane: {@link listenAgentsMtls} serves the control plane's API to agents whose
 *   certificate chains to the KMS CA AND whose attestation extension is the expected one
 *   (tenant, agent workload, measurements) AND which the KMS has not revoked; anything else
 *   is refused in the handshake or with 403 KMS_CERTIFICATE_INVALID before a route runs.
 * - agent: {@link mtlsCall} checks the control plane's certificate the same way right after
 *   the handshake, before a byte of the request is written, and returns the SHA-256 of the
 *   certificate's key: the control plane signs its commands with THAT key
 *   ({@link pemSigner} over the KMS-issued key), so the agent acts only on commands of the
 *   workload whose attestation the KMS certified.
 */
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, X509Certificate } from 'node:crypto';
import { request as httpRequest, type RequestOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { VeriteeError } from '@veritee/core';
import { attestedMtlsServer, checkPeerCertificate, type PeerCheck } from '@veritee/kms';
import type { Signer } from './command.js';

/** The KMS-issued certificate and key of one end, and what it expects of the other. */
export interface MtlsIdentity {
  certPem: string;
  keyPem: string;
  peer: PeerCheck;
}

/** An ES256 signer over a PEM P-256 private key (the key of a KMS workload certificate). */
export function pemSigner(keyPem: string): Signer {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new VeriteeError('INPUT_INVALID', 'the signing key must be an EC P-256 key');
  const spki = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  return { spki, sign: (message) => new Uint8Array(nodeSign('sha256', message, { key, dsaEncoding: 'ieee-p1363' })) };
}

/** Serves `app` (the control plane's routes) to attested agents over mTLS on 127.0.0.1 (or `host`). */
export async function listenAgentsMtls(app: FastifyInstance, o: MtlsIdentity & { port?: number; host?: string; onRefused?: (code: string, message: string) => void }): Promise<{ url: string; close(): Promise<void> }> {
  await app.ready();
  const server = attestedMtlsServer({ certPem: o.certPem, keyPem: o.keyPem, peer: o.peer, handler: (req, res) => app.routing(req, res), ...(o.onRefused ? { onRefused: o.onRefused } : {}) });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const MAX_ANSWER = 8 * 1024 * 1024;

/**
 * One request to the control plane over mTLS: its certificate is checked (chain in the
 * handshake; SPIFFE ID, attestation, KMS status right after) before the request is sent.
 * Returns the answer and the SHA-256 (hex) of the control plane certificate's SPKI.
 */
export function mtlsCall(url: string, id: MtlsIdentity, init: { method: string; body?: string; headers?: Record<string, string>; timeoutMs?: number }): Promise<{ status: number; text: string; peerKeySha256: string }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(new VeriteeError('INPUT_INVALID', `control plane URL ${url.slice(0, 100)} is not a URL`));
  }
  if (u.protocol !== 'https:') return Promise.reject(new VeriteeError('INPUT_INVALID', 'the control plane over mTLS is an https:// URL'));
  let peerKeySha256 = '';
  const port = Number(u.port || 443);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host,
        port,
        path: `${u.pathname}${u.search}`,
        method: init.method,
        headers: { ...(init.headers ?? {}), ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}) },
        timeout: init.timeoutMs ?? 30_000,
        createConnection: (_o: unknown, done: (err: Error | null, s?: Duplex) => void) => {
          const s = connect({ host, port, key: id.keyPem, cert: id.certPem, ca: id.peer.caPem, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
          s.once('secureConnect', () => {
            const raw = s.getPeerCertificate().raw;
            checkPeerCertificate(new Uint8Array(raw), id.peer).then(
              () => {
                peerKeySha256 = createHash('sha256').update(new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
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
          if (size > MAX_ANSWER) req.destroy(new VeriteeError('INPUT_TOO_LARGE', `the control plane's answer exceeds ${MAX_ANSWER} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), peerKeySha256 }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new VeriteeError('CP_ORCHESTRATOR_UNAVAILABLE', 'the control plane did not answer in time')));
    req.on('error', (e) => reject(e instanceof VeriteeError ? e : new VeriteeError('CP_ORCHESTRATOR_UNAVAILABLE', `cannot reach the control plane at ${u.origin} over mTLS: ${e.message}`)));
    req.end(init.body);
  });
}
