/**
 * @module bootstrap
 * Client SDK bootstrap. On first contact the client asks the KMS for its bootstrap
 * document (workload CA, published reference measurements, TLS key pin, token keys) with a
 * fresh nonce, and accepts it only when the KMS's own TEE evidence verifies under the
 * client's policy and binds both the nonce and the SHA-256 of the document, and (over
 * https) when the TLS key it talked to is the one the document pins. The document is
 * cached; later connections use the cached CA and TLS pin and never trust first contact
 * again.
 *
 * @example
 * const boot = await bootstrapKms({ url, policy, cachePath: '/var/lib/app/kms.json' });
 * const kms = new KmsClient({ url, evidence, ...boot.clientOptions });
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { canonicalJson, parseJsonStrict, sha256, toHex, utf8, VeriteeError } from '@veritee/core';
import { verifyEvidence, type AttestationResult, type Policy, type TrustAnchors } from '@veritee/attestation';
import { send } from './client.js';
import type { BootstrapDocument } from './kms.js';

export interface BootstrapCache {
  url: string;
  document: BootstrapDocument;
  /** The KMS's own measurement when it was first trusted. */
  kmsMeasurement: string;
  fetchedAt: string;
}

export interface BootstrapResult {
  cache: BootstrapCache;
  /** True when this call did the first contact (false: read from the cache). */
  fresh: boolean;
  /** Options for {@link KmsClient}: CA and TLS pin from the cache. */
  clientOptions: { ca?: string; pinSpkiSha256?: string };
  result?: AttestationResult;
}

function optionsOf(c: BootstrapCache): BootstrapResult['clientOptions'] {
  return { ca: c.document.ca, ...(c.document.tlsSpkiSha256 ? { pinSpkiSha256: c.document.tlsSpkiSha256 } : {}) };
}

/**
 * Returns the cached bootstrap for `url`, or performs the attested first contact and caches it.
 * `policy` appraises the KMS's own evidence (and should pin its measurement).
 */
export async function bootstrapKms(opts: {
  url: string;
  policy: Policy;
  cachePath?: string;
  at?: Date;
  simulatedAnchors?: TrustAnchors;
  timeoutMs?: number;
}): Promise<BootstrapResult> {
  if (opts.cachePath && existsSync(opts.cachePath)) {
    const c = parseJsonStrict(readFileSync(opts.cachePath, 'utf8'), { what: 'KMS bootstrap cache' }) as BootstrapCache;
    if (c.url !== opts.url) throw new VeriteeError('INPUT_INVALID', `bootstrap cache ${opts.cachePath} is for ${c.url}, not ${opts.url}`);
    return { cache: c, fresh: false, clientOptions: optionsOf(c) };
  }
  const nonce = new Uint8Array(randomBytes(32));
  const u = new URL('/kms/v0/bootstrap', opts.url);
  u.searchParams.set('nonce', toHex(nonce));
  const a = await send(u, 'GET', { accept: 'application/json' }, undefined, { timeoutMs: opts.timeoutMs ?? 30_000, insecureFirstContact: true });
  if (a.status !== 200) throw new VeriteeError('KMS_RESPONSE_INVALID', `KMS bootstrap answered HTTP ${a.status}`);
  const body = parseJsonStrict(a.body, { what: 'KMS bootstrap answer', code: 'KMS_RESPONSE_INVALID' }) as { document?: BootstrapDocument; evidence?: unknown };
  if (!body.document || typeof body.document !== 'object' || body.document.v !== 1 || typeof body.document.ca !== 'string' || !body.evidence) {
    throw new VeriteeError('KMS_RESPONSE_INVALID', 'KMS bootstrap answer lacks a document or evidence');
  }
  const result = await verifyEvidence(body.evidence as never, {
    policy: opts.policy,
    at: opts.at ?? new Date(),
    nonce,
    publicKeyHash: sha256(utf8(canonicalJson(body.document))),
    ...(opts.simulatedAnchors ? { simulatedAnchors: opts.simulatedAnchors } : {}),
  });
  if (!result.ok || !result.claims) {
    throw new VeriteeError('KMS_ATTESTATION_FAILED', `the KMS's own attestation failed: ${result.failures.map((f) => `${f.name}: ${f.detail}`).join(' | ')}`);
  }
  if (u.protocol === 'https:') {
    if (!body.document.tlsSpkiSha256) throw new VeriteeError('KMS_RESPONSE_INVALID', 'the KMS serves https but its attested document pins no TLS key');
    if (a.peerSpkiSha256 !== body.document.tlsSpkiSha256) throw new VeriteeError('KMS_RESPONSE_INVALID', 'the TLS key of this connection is not the one the KMS attested (man in the middle?)');
  }
  const cache: BootstrapCache = { url: opts.url, document: body.document, kmsMeasurement: result.claims.measurement, fetchedAt: new Date().toISOString() };
  if (opts.cachePath) {
    writeFileSync(opts.cachePath, JSON.stringify(cache, null, 2) + '\n', { mode: 0o600 });
    chmodSync(opts.cachePath, 0o600);
  }
  return { cache, fresh: true, clientOptions: optionsOf(cache), result };
}
