/**
 * @module mtls-service
 * TEST SUPPORT and demonstration: one veritee workload service as its own process. It
 * attests to the KMS (its TEE's evidence comes from the parent over IPC: the parent plays
 * the simulated hardware), obtains a workload certificate, and then either serves mTLS
 * (role `server`) or calls a peer over mTLS on request (role `client`). Each side checks
 * the other's attestation extension and asks the KMS for the certificate's status.
 *
 * env: VERITEE_KMS_URL, VERITEE_ROLE (server|client), VERITEE_TENANT, VERITEE_WORKLOAD,
 * VERITEE_PEER_WORKLOAD, VERITEE_PEER_MEASUREMENT (hex).
 * IPC out: {t:'evidence', id, reportData}, {t:'ready', url?, spiffeId, serial}, {t:'served', peer},
 * {t:'refused', code, message}, {t:'result', id, status?, body?, peer?, error?}.
 * IPC in: {t:'evidence', id, envelope}, {t:'call', id, url}.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { EvidenceEnvelope } from '@veritee/attestation';
import { toHex } from '@veritee/core';
import { KmsClient } from './client.js';
import { attestedMtlsRequest, attestedMtlsServer, type PeerCheck } from './mtls.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const send = (m: Record<string, unknown>) => process.send!(m);
const waiting = new Map<string, (e: EvidenceEnvelope) => void>();
const kms = new KmsClient({
  url: env('VERITEE_KMS_URL'),
  evidence: {
    tee: 'snp',
    evidence: (reportData) =>
      new Promise((resolve) => {
        const id = randomBytes(8).toString('hex');
        waiting.set(id, resolve);
        send({ t: 'evidence', id, reportData: toHex(reportData) });
      }),
  },
});
process.on('message', (m: { t: string; id: string; envelope?: EvidenceEnvelope; url?: string }) => {
  if (m.t === 'evidence') {
    waiting.get(m.id)?.(m.envelope!);
    waiting.delete(m.id);
  } else if (m.t === 'call') {
    attestedMtlsRequest(m.url!, { certPem: cert.certPem, keyPem: cert.keyPem, peer })
      .then((r) => send({ t: 'result', id: m.id, status: r.status, body: r.body, peer: r.peer.spiffeId }))
      .catch((e: Error & { code?: string }) => send({ t: 'result', id: m.id, error: `${e.code ?? 'ERROR'}: ${e.message}` }));
  }
});

const tenant = env('VERITEE_TENANT');
const cert = await kms.getCertificate(tenant, env('VERITEE_WORKLOAD'));
const peer: PeerCheck = {
  caPem: cert.caPem,
  expect: { tenant, workload: env('VERITEE_PEER_WORKLOAD'), measurements: [env('VERITEE_PEER_MEASUREMENT')], allowSimulated: true },
  status: (serial) => kms.certificateStatus(serial),
};
if (env('VERITEE_ROLE') === 'server') {
  const server = attestedMtlsServer({
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    peer,
    onRefused: (code, message) => send({ t: 'refused', code, message }),
    handler: (_req, res, p) => {
      send({ t: 'served', peer: p.spiffeId });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ service: cert.spiffeId, peer: p.spiffeId, peerMeasurement: p.attestation.measurement }));
    },
  });
  server.listen(0, '127.0.0.1', () => send({ t: 'ready', url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/hello`, spiffeId: cert.spiffeId, serial: cert.serial }));
} else {
  send({ t: 'ready', spiffeId: cert.spiffeId, serial: cert.serial });
}
