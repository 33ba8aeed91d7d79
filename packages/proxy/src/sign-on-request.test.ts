/**
 * The cheap common case: evidence once per connection (later responses name it with a
 * connection-specific Attestation-Report-Ref), signatures only on request
 * (`Veritee-Sign: 1`), and the v1 behaviour on demand. The client fails closed: a
 * response on a connection it did not verify, a signature asked for but missing or
 * invalid, an evidence reference that is not its connection's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { isVeriteeError, type VeriteeError } from '@veritee/core';
import { createAttestedClient, verifyAttestedResponse, type VerifiedSession } from './client.js';
import { createAttestingProxy } from './server.js';
import {
  ATTEST_PATH,
  bindingMessage,
  EVIDENCE_REF_HEADER,
  evidenceRef,
  EXPORTER_BYTES,
  EXPORTER_LABEL,
  parseSignatureHeader,
  responseMessage,
  SIGNATURE_HEADER,
} from './protocol.js';
import { devPolicy, sharedTee, startProxy, startUpstream, type RunningProxy, type Upstream } from './testing/fixtures.js';

const EMPTY_SHA256 = createHash('sha256').digest('hex');
let upstream: Upstream;

before(async () => {
  upstream = await startUpstream();
  await sharedTee();
});
after(async () => {
  await upstream.close();
});

const rejectsWith = (code: string, pattern?: RegExp) => (e: unknown) => {
  assert.ok(isVeriteeError(e), `expected a VeriteeError, got ${String(e)}`);
  assert.equal((e as VeriteeError).code, code, (e as VeriteeError).message);
  if (pattern) assert.match((e as VeriteeError).message, pattern);
  return true;
};

async function sdk(p: RunningProxy, extra: Partial<Parameters<typeof createAttestedClient>[0]> = {}) {
  return createAttestedClient({ baseUrl: p.url, policy: devPolicy(), simulatedAnchors: (await sharedTee()).anchors, maxConnections: 1, ...extra });
}

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  trailers: NodeJS.Dict<string>;
  body: Buffer;
  /** The TLS exporter of the connection, computed on the client's end. */
  exporter: Buffer;
}

/** One keep-alive TLS connection to the proxy, driven by hand (no SDK). */
function rawConnection(port: number) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const send = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) =>
    new Promise<Raw>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, method, path, headers, agent, maxHeaderSize: 256 * 1024 }, (res) => {
        const exporter = (res.socket as TLSSocket).exportKeyingMaterial(EXPORTER_BYTES, EXPORTER_LABEL, Buffer.alloc(0));
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, body: Buffer.concat(chunks), exporter }));
      });
      req.on('error', reject);
      req.end(body);
    });
  /** The binding, checked by hand (signature over this connection's exporter): the state the SDK keeps per connection. */
  const bind = async (): Promise<VerifiedSession> => {
    const nonce = randomBytes(32);
    const r = await send('POST', ATTEST_PATH, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ nonce: nonce.toString('hex') })));
    assert.equal(r.status, 200);
    const doc = JSON.parse(r.body.toString('utf8')) as { evidence: string; enclaveKey: { spki: string }; signature: string };
    const spki = Buffer.from(doc.enclaveKey.spki, 'base64url');
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const pkh = createHash('sha256').update(spki).digest();
    assert.ok(nodeVerify('sha256', bindingMessage(r.exporter, nonce, pkh), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(doc.signature, 'base64url')));
    assert.equal(r.headers['attestation-report'], doc.evidence, 'the binding response carries its evidence in full');
    return {
      info: { id: r.exporter.toString('hex').slice(0, 12), attested: true, exporter: r.exporter.toString('hex') },
      exporter: r.exporter,
      key,
      keyId: pkh.toString('hex').slice(0, 16),
      evidence: doc.evidence,
      evidenceRef: evidenceRef(r.exporter, doc.evidence),
    };
  };
  return { send, bind, close: () => agent.destroy() };
}

const received = (r: Raw, signatureRequested: boolean, target = '/hello') => ({
  headers: r.headers,
  trailers: r.trailers,
  method: 'GET',
  target,
  requestHash: EMPTY_SHA256,
  status: r.status,
  responseBody: r.body,
  signatureRequested,
});

describe('evidence once per connection, signatures on request', () => {
  let p: RunningProxy;
  before(async () => {
    p = await startProxy(upstream.url);
  });
  after(async () => {
    await p.close();
  });

  test('the SDK by default: unsigned responses that name the evidence of its verified connection', async () => {
    const client = await sdk(p);
    try {
      for (let i = 0; i < 2; i++) {
        const res = await client.fetch('/hello');
        assert.equal(res.status, 200);
        assert.equal((await res.text()).length, 1024);
        assert.equal(res.attestation.verified, true);
        if (!res.attestation.verified) return;
        assert.equal(res.attestation.signed, false);
        assert.equal(res.attestation.signedIn, undefined);
        assert.equal(res.attestation.evidence, 'ref', 'the evidence came with the binding; responses name it');
        assert.equal(res.headers.get('veritee-signature'), null);
        assert.equal(res.headers.get('attestation-report'), null);
        assert.match(res.headers.get(EVIDENCE_REF_HEADER)!, /^[0-9a-f]{64}$/);
      }
      // One request asks for a transferable signature.
      const signed = await client.fetch('/hello', { signed: true });
      assert.equal(signed.attestation.verified && signed.attestation.signed, true);
      assert.equal(signed.attestation.verified && signed.attestation.signedIn, 'header');
      assert.match(signed.headers.get('veritee-signature')!, /^v=1, alg=ES256, /);
      assert.equal(client.sessions.length, 1, 'one connection, one binding');
      // The veritee request headers are for the proxy: the upstream never sees them.
      const seen = JSON.parse(await (await client.fetch('/headers', { signed: true, headers: { 'veritee-evidence': 'full' } })).text()) as string[];
      assert.ok(!seen.some((h) => /^veritee-/i.test(h)), `upstream saw ${seen.join(', ')}`);
    } finally {
      await client.close();
    }
  });

  test('a raw connection: the evidence on its first response, then only its reference; Veritee-Evidence: full and Veritee-Sign: 1 on request', async () => {
    const c = rawConnection(p.port);
    try {
      const first = await c.send('GET', '/hello');
      const evidence = first.headers['attestation-report'] as string;
      assert.ok(evidence.length > 1000, 'the first response of a connection carries the evidence');
      assert.equal(first.headers[EVIDENCE_REF_HEADER], undefined);
      assert.equal(first.headers[SIGNATURE_HEADER], undefined, 'not signed unless asked');
      const second = await c.send('GET', '/hello');
      assert.equal(second.headers['attestation-report'], undefined);
      assert.equal(second.headers[EVIDENCE_REF_HEADER], evidenceRef(second.exporter, evidence), 'the reference names this evidence on this connection');
      assert.equal((await c.send('GET', '/hello', { 'veritee-evidence': 'full' })).headers['attestation-report'], evidence);
      // A signed response: transferable, checked here with the enclave key alone.
      const signed = await c.send('GET', '/hello?q=1', { 'veritee-sign': '1' });
      const sig = parseSignatureHeader(signed.headers[SIGNATURE_HEADER] as string);
      const message = responseMessage({ exporter: signed.exporter, method: 'GET', target: '/hello?q=1', requestBodySha256: EMPTY_SHA256, status: 200, responseBodySha256: createHash('sha256').update(signed.body).digest('hex') });
      const key = createPublicKey({ key: Buffer.from(p.enclave.spki), format: 'der', type: 'spki' });
      assert.ok(nodeVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig.sig, 'base64url')));
    } finally {
      c.close();
    }
  });

  test('large unsigned responses stream through without a trailer; asked for, the signature comes in the trailer', async () => {
    const client = await sdk(p);
    try {
      const plain = await client.fetch('/big?bytes=3000000');
      assert.equal((await plain.arrayBuffer()).byteLength, 3_000_000);
      assert.equal(plain.attestation.verified && plain.attestation.signed, false);
      const signed = await client.fetch('/big?bytes=3000000', { signed: true });
      assert.equal((await signed.arrayBuffer()).byteLength, 3_000_000);
      assert.equal(signed.attestation.verified && signed.attestation.signedIn, 'trailer');
    } finally {
      await client.close();
    }
  });

  test("signResponses 'always' and evidence 'always' keep the v1 behaviour; the SDK verifies what it did not ask for", async () => {
    const v1 = await startProxy(upstream.url, { signResponses: 'always', evidence: 'always' });
    const c = rawConnection(v1.port);
    const client = await sdk(v1);
    try {
      for (let i = 0; i < 2; i++) {
        const r = await c.send('GET', '/hello');
        assert.ok((r.headers['attestation-report'] as string).length > 1000);
        assert.match(r.headers[SIGNATURE_HEADER] as string, /^v=1, alg=ES256, /);
      }
      const res = await client.fetch('/hello');
      assert.equal(res.attestation.verified && res.attestation.signed, true);
      assert.equal(res.attestation.verified && res.attestation.evidence, 'report');
    } finally {
      c.close();
      await client.close();
      await v1.close();
    }
  });

  test('unknown signResponses or evidence settings are refused at start-up', async () => {
    await assert.rejects(
      createAttestingProxy({ host: 'x', upstream: upstream.url, enclave: p.enclave, logger: false, signResponses: 'sometimes' as 'always' }),
      rejectsWith('INPUT_INVALID', /signResponses must be 'on-request' or 'always'/),
    );
    await assert.rejects(
      createAttestingProxy({ host: 'x', upstream: upstream.url, enclave: p.enclave, logger: false, evidence: 'never' as 'once' }),
      rejectsWith('INPUT_INVALID', /evidence must be 'once' or 'always'/),
    );
  });
});

describe('the client fails closed', () => {
  test('a response on a connection the client did not verify is refused', async () => {
    const p = await startProxy(upstream.url);
    const c = rawConnection(p.port);
    try {
      const session = await c.bind();
      const r = await c.send('GET', '/hello');
      // Control: the same response, checked against the session verified on its connection.
      const ok = verifyAttestedResponse(session, received(r, false));
      assert.equal(ok.verified && ok.evidence, 'ref');
      assert.throws(() => verifyAttestedResponse(undefined, received(r, false)), rejectsWith('PROXY_BINDING_INVALID', /arrived on a connection this client did not verify/));
      // A response of another connection (its own reference) against this session.
      const other = rawConnection(p.port);
      await other.bind();
      const foreign = await other.send('GET', '/hello');
      other.close();
      assert.throws(() => verifyAttestedResponse(session, received(foreign, false)), rejectsWith('PROXY_BINDING_INVALID', /not the evidence verified for this connection/));
      // Asked for a signature, got none.
      assert.throws(() => verifyAttestedResponse(session, received(r, true)), rejectsWith('PROXY_RESPONSE_UNSIGNED', /though this client asked for one/));
      // A signed response moved to another request target does not verify.
      const signed = await c.send('GET', '/hello', { 'veritee-sign': '1' });
      assert.equal(verifyAttestedResponse(session, received(signed, true)).verified, true);
      assert.throws(() => verifyAttestedResponse(session, received(signed, true, '/other')), rejectsWith('PROXY_RESPONSE_SIGNATURE_INVALID', /does not verify/));
    } finally {
      c.close();
      await p.close();
    }
  });

  test('a signature asked for but stripped on the way: PROXY_RESPONSE_UNSIGNED', async () => {
    const p = await startProxy(upstream.url, { unsafeResponseHeadersHook: (h) => void delete h[SIGNATURE_HEADER] });
    const every = await sdk(p, { signedResponses: true });
    const once = await sdk(p);
    try {
      await assert.rejects(every.fetch('/hello'), rejectsWith('PROXY_RESPONSE_UNSIGNED', /no Veritee-Signature/));
      await assert.rejects(once.fetch('/hello', { signed: true }), rejectsWith('PROXY_RESPONSE_UNSIGNED', /no Veritee-Signature/));
      // Control: not asked, not needed.
      assert.equal((await once.fetch('/hello')).attestation.verified, true);
    } finally {
      await every.close();
      await once.close();
      await p.close();
    }
  });

  test('an invalid signature is refused, asked for or not', async () => {
    const flip = (h: Record<string, unknown>) => {
      const v = h[SIGNATURE_HEADER];
      if (typeof v === 'string') h[SIGNATURE_HEADER] = v.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    };
    const p = await startProxy(upstream.url, { signResponses: 'always', unsafeResponseHeadersHook: flip });
    const asking = await sdk(p, { signedResponses: true });
    const notAsking = await sdk(p);
    try {
      await assert.rejects(asking.fetch('/hello'), rejectsWith('PROXY_RESPONSE_SIGNATURE_INVALID', /does not verify for this session/));
      await assert.rejects(notAsking.fetch('/hello'), rejectsWith('PROXY_RESPONSE_SIGNATURE_INVALID', /does not verify for this session/));
    } finally {
      await asking.close();
      await notAsking.close();
      await p.close();
    }
  });

  test("an evidence reference that is not the connection's, or none at all, is refused", async () => {
    let swap: string | undefined;
    const p = await startProxy(upstream.url, {
      unsafeResponseHeadersHook: (h) => {
        if (swap === 'none') {
          delete h[EVIDENCE_REF_HEADER];
          delete h['attestation-report'];
        } else if (swap !== undefined && h[EVIDENCE_REF_HEADER] !== undefined) h[EVIDENCE_REF_HEADER] = swap;
      },
    });
    // A genuine reference, from another connection to the same proxy.
    const other = rawConnection(p.port);
    await other.bind();
    const foreignRef = (await other.send('GET', '/hello')).headers[EVIDENCE_REF_HEADER] as string;
    other.close();
    const client = await sdk(p);
    try {
      assert.equal((await client.fetch('/hello')).attestation.verified, true, 'control');
      swap = foreignRef;
      await assert.rejects(client.fetch('/hello'), rejectsWith('PROXY_BINDING_INVALID', /not the evidence verified for this connection/));
      swap = 'none';
      await assert.rejects(client.fetch('/hello'), rejectsWith('PROXY_RESPONSE_UNSIGNED', /neither Attestation-Report nor Attestation-Report-Ref/));
    } finally {
      await client.close();
      await p.close();
    }
  });
});
