/**
 * The proxy end to end on loopback with the simulated TEE: signing (header and
 * trailer), limits and clear errors (413, 431, 400, 408, 502, 504), graceful shutdown
 * and logs without bodies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { isVeriteeError } from '@veritee/core';
import { createAttestedClient, type AttestedClient } from './client.js';
import { devPolicy, logCapture, sharedTee, startProxy, startRacyUpstream, startUpstream, type RunningProxy, type Upstream } from './testing/fixtures.js';
import { checkTlsCredentials, createAttestingProxy, redactPath } from './server.js';
import { selfSignedCertificate } from './tls-cert.js';
import { Enclave, simulatedEvidenceProvider } from './enclave.js';
import { ATTEST_PATH } from './protocol.js';

let upstream: Upstream;

before(async () => {
  upstream = await startUpstream();
  await sharedTee();
});
after(async () => {
  await upstream.close();
});

async function clientFor(p: RunningProxy, extra: Partial<Parameters<typeof createAttestedClient>[0]> = {}): Promise<AttestedClient> {
  return createAttestedClient({ baseUrl: p.url, policy: devPolicy(), simulatedAnchors: (await sharedTee()).anchors, ...extra });
}

/** Sends raw bytes over TLS to the proxy and returns everything it answers. */
function raw(port: number, bytes: string | Buffer, opts: { waitMs?: number; keepOpen?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      s.write(bytes);
      if (!opts.keepOpen) {
        /* the request is complete */
      }
    });
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', (e) => (out ? resolve(out) : reject(e)));
    setTimeout(() => {
      s.destroy();
      resolve(out);
    }, opts.waitMs ?? 3000).unref();
  });
}

function bodyOf(rawResponse: string): { status: number; json: { error?: { code: string; message: string } } } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(rawResponse)?.[1]);
  const body = rawResponse.slice(rawResponse.indexOf('\r\n\r\n') + 4);
  return { status, json: JSON.parse(body) as { error?: { code: string; message: string } } };
}

describe('proxying and signing', () => {
  let p: RunningProxy;
  let client: AttestedClient;
  before(async () => {
    p = await startProxy(upstream.url, { limits: { maxBufferedResponseBytes: 1024 * 1024 } });
    client = await clientFor(p, { signedResponses: true });
  });
  after(async () => {
    await client.close();
    await p.close();
  });

  test('a GET goes through, signed in a header, with the evidence of the session', async () => {
    const res = await client.fetch('/hello');
    assert.equal(res.status, 200);
    assert.equal((await res.text()).length, 1024);
    assert.equal(res.attestation.verified, true);
    if (!res.attestation.verified) return;
    assert.equal(res.attestation.signedIn, 'header');
    assert.equal(res.attestation.session.result?.claims?.platform, 'snp');
    assert.equal(res.attestation.session.tlsVersion, 'TLSv1.3');
    // The evidence came with the binding; this response names it (evidence once per connection).
    assert.equal(res.attestation.evidence, 'ref');
    assert.match(res.headers.get('attestation-report-ref')!, /^[0-9a-f]{64}$/);
    assert.match(res.headers.get('veritee-signature')!, /^v=1, alg=ES256, key=[0-9a-f]{16}, req=[0-9a-f]{64}, res=[0-9a-f]{64}, sig=[A-Za-z0-9_-]{86}$/);
  });

  test('a request body is hashed as it streams; the signature covers it; the upstream sees x-forwarded-proto', async () => {
    const body = Buffer.alloc(200_000, 'q');
    const res = await client.fetch('/echo?x=1', { method: 'POST', body });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-seen-forwarded-proto'), 'https');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
    assert.equal(res.attestation.verified && res.attestation.requestBodySha256, createHash('sha256').update(body).digest('hex'));
  });

  test('a response larger than the buffer is streamed and signed in a trailer', async () => {
    const res = await client.fetch('/big?bytes=3000000');
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 3_000_000);
    assert.equal(res.attestation.verified && res.attestation.signedIn, 'trailer');
  });

  test('HEAD, 204 and 404 from the upstream are signed too', async () => {
    for (const [method, path, status] of [['HEAD', '/hello', 200], ['GET', '/status/204', 204], ['GET', '/nope', 404]] as const) {
      const res = await client.fetch(path, { method });
      assert.equal(res.status, status, `${method} ${path}`);
      assert.equal(res.attestation.verified, true, `${method} ${path}`);
    }
  });

  test('one TLS connection, one binding: sequential requests reuse the verified session', async () => {
    const c = await clientFor(p, { maxConnections: 1 });
    for (let i = 0; i < 3; i++) assert.equal((await c.fetch('/json')).status, 200);
    assert.equal(c.sessions.length, 1);
    await c.close();
  });

  test('the proxy speaks TLS 1.3 only', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: p.port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, () => resolve(s));
        s.on('error', reject);
      }),
    );
  });
});

describe('bad requests get clear errors with stable codes', () => {
  let p: RunningProxy;
  let client: AttestedClient;
  before(async () => {
    p = await startProxy(upstream.url, {
      limits: { maxRequestBodyBytes: 1024, maxHeaderBytes: 2048 },
      timeouts: { headersMs: 400, requestMs: 800, upstreamMs: 300 },
    });
    client = await clientFor(p, { signedResponses: true });
  });
  after(async () => {
    await client.close();
    await p.close();
  });

  test('413: a declared body over the limit never reaches the upstream; the answer is signed', async () => {
    const before = upstream.hits;
    const res = await client.fetch('/echo', { method: 'POST', body: Buffer.alloc(2048, 'x') });
    assert.equal(res.status, 413);
    const j = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(j.error.code, 'PROXY_REQUEST_TOO_LARGE');
    assert.match(j.error.message, /1024-byte limit/);
    assert.equal(res.attestation.verified && res.attestation.requestBodySha256, 'incomplete');
    assert.equal(upstream.hits, before);
  });

  test('413: a chunked body that grows past the limit is cut off', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: p.port, method: 'POST', path: '/echo', rejectUnauthorized: false }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(600, 'a'));
      setTimeout(() => req.end(Buffer.alloc(600, 'b')), 50);
    });
    assert.equal(answer.status, 413);
    assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'PROXY_REQUEST_TOO_LARGE');
  });

  test('431: request headers over the limit', async () => {
    const out = await raw(p.port, `GET /hello HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(4096)}\r\n\r\n`);
    const { status, json } = bodyOf(out);
    assert.equal(status, 431);
    assert.equal(json.error?.code, 'PROXY_HEADERS_TOO_LARGE');
  });

  test('400: a malformed request line', async () => {
    const out = await raw(p.port, 'THIS IS NOT HTTP\r\n\r\n');
    const { status, json } = bodyOf(out);
    assert.equal(status, 400);
    assert.equal(json.error?.code, 'PROXY_REQUEST_MALFORMED');
  });

  test('400: a binding request without a proper nonce', async () => {
    const body = JSON.stringify({ nonce: 'abc' });
    const out = await raw(p.port, `POST ${ATTEST_PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    const { status, json } = bodyOf(out);
    assert.equal(status, 400);
    assert.equal(json.error?.code, 'PROXY_REQUEST_MALFORMED');
    assert.match(json.error!.message, /64 hex digits/);
  });

  test('408: a client that never finishes its headers (slowloris) is cut off', async () => {
    const t0 = Date.now();
    const out = await raw(p.port, 'GET /hello HTTP/1.1\r\nhost: x\r\n', { waitMs: 5000, keepOpen: true });
    const { status, json } = bodyOf(out);
    assert.equal(status, 408);
    assert.equal(json.error?.code, 'PROXY_REQUEST_TIMEOUT');
    assert.ok(Date.now() - t0 < 4000, 'cut off by the headers timeout');
  });

  test('408: a request body that trickles in slower than the request timeout', async () => {
    const hits = upstream.hits;
    const out = await raw(p.port, 'POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly-a-few-bytes', { waitMs: 5000, keepOpen: true });
    const { status, json } = bodyOf(out);
    assert.equal(status, 408);
    assert.equal(json.error?.code, 'PROXY_REQUEST_TIMEOUT');
    // The upstream may have seen the request start; it never saw a complete one answered.
    assert.ok(upstream.hits - hits <= 1);
  });

  test('504: a slow upstream', async () => {
    const res = await client.fetch('/slow?ms=3000');
    assert.equal(res.status, 504);
    const j = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(j.error.code, 'PROXY_UPSTREAM_TIMEOUT');
    assert.match(j.error.message, /did not answer GET \/slow within 300 ms/);
    assert.equal(res.attestation.verified, true, 'errors made by the proxy are signed too');
  });

  test('502: upstream down', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const p2 = await startProxy(`http://127.0.0.1:${port}`);
    const c2 = await clientFor(p2);
    try {
      const res = await c2.fetch('/anything', { method: 'POST', body: 'x' });
      assert.equal(res.status, 502);
      const j = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(j.error.code, 'PROXY_UPSTREAM_UNAVAILABLE');
      assert.match(j.error.message, /refused the connection/);
      assert.equal(res.attestation.verified, true);
    } finally {
      await c2.close();
      await p2.close();
    }
  });

  test('an origin-form target is required', async () => {
    const out = await raw(p.port, 'GET http://elsewhere.example/ HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    const { status, json } = bodyOf(out);
    assert.equal(status, 400);
    assert.equal(json.error?.code, 'PROXY_REQUEST_MALFORMED');
  });
});

describe('lifecycle and logs', () => {
  test('graceful shutdown finishes an in-flight request, then refuses new connections', async () => {
    const p = await startProxy(upstream.url);
    const client = await clientFor(p);
    await client.fetch('/json'); // connection bound
    const inFlight = client.fetch('/slow?ms=700');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(p.proxy.inFlight, 1);
    const closing = p.close();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'slow');
    assert.equal(res.attestation.verified, true);
    await closing;
    const c2 = await clientFor(p);
    await assert.rejects(c2.fetch('/json'), (e: unknown) => isVeriteeError(e, 'PROXY_UPSTREAM_UNAVAILABLE'));
    await c2.close();
    await client.close();
  });

  test('logs carry method, path and status, never bodies, queries, nonces or headers', async () => {
    const cap = logCapture();
    const p = await startProxy(upstream.url, { logger: cap.logger });
    const client = await clientFor(p, { signedResponses: true });
    const secret = 'TOP-SECRET-RECORDS-4711';
    const res = await client.fetch(`/echo?token=${secret}Q`, { method: 'POST', body: `${secret}-body`, headers: { authorization: `Bearer ${secret}H` } });
    assert.equal(await res.text(), `${secret}-body`);
    await client.close();
    await p.close();
    const text = cap.text();
    assert.ok(!text.includes(secret), `a secret leaked into the logs:\n${text}`);
    assert.ok(!text.includes(res.attestation.session.nonce!), 'the nonce is not logged');
    const lines = cap.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    const access = lines.find((l) => l['path'] === '/echo');
    assert.ok(access, 'an access line for /echo');
    assert.equal(access['method'], 'POST');
    assert.equal(access['status'], 200);
    assert.equal(access['signed'], 'header');
    assert.ok(lines.some((l) => l['msg'] === 'session bound'));
  });
});

describe('request heads are refused whole, never trimmed (431)', () => {
  let p: RunningProxy;
  before(async () => {
    p = await startProxy(upstream.url); // defaults: 16 KiB head, 200 fields
  });
  after(async () => {
    await p.close();
  });

  const head = (fields: string[]) => `GET /headers HTTP/1.1\r\n${fields.map((f) => f + '\r\n').join('')}\r\n`;

  test('250 filler fields then Authorization: 431, and the upstream sees nothing', async () => {
    const hits = upstream.hits;
    const fields = ['host: x', 'connection: close'];
    for (let i = 0; i < 250; i++) fields.push(`x-fill-${i}: v`);
    fields.push('authorization: Bearer after-the-200th');
    const { status, json } = bodyOf(await raw(p.port, head(fields)));
    assert.equal(status, 431);
    assert.equal(json.error?.code, 'PROXY_HEADERS_TOO_LARGE');
    assert.match(json.error!.message, /253 header fields exceed the limit of 200/);
    assert.equal(upstream.hits, hits, 'not forwarded');
  });

  test('a 2,000-field head of about 20 KB: 431 (separators count), not forwarded', async () => {
    const hits = upstream.hits;
    const fields = ['host: x', 'connection: close'];
    for (let i = 0; fields.length < 2000; i++) fields.push(`x${i}: ab`);
    const h = head(fields);
    assert.ok(h.length > 19_000 && h.length < 22_000, `head is ${h.length} bytes`);
    const { status, json } = bodyOf(await raw(p.port, h));
    assert.equal(status, 431);
    assert.equal(json.error?.code, 'PROXY_HEADERS_TOO_LARGE');
    assert.equal(upstream.hits, hits, 'not forwarded');
  });

  test('few fields but a head over 16 KiB once separators count: 431', async () => {
    // 196 fields whose names and values alone stay under 16 KiB (node's own count), but
    // whose lines with ": " and CRLF do not.
    const fields = ['host: x', 'connection: close'];
    for (let i = 0; fields.length < 196; i++) fields.push(`x-${String(i).padStart(3, '0')}: ${'v'.repeat(78)}`);
    const h = head(fields);
    assert.ok(h.length > 16_384, `head is ${h.length} bytes`);
    assert.ok(fields.reduce((n, f) => n + f.length - 2, 0) < 16_384, 'names and values alone fit');
    const { status, json } = bodyOf(await raw(p.port, h));
    assert.equal(status, 431);
    assert.match(json.error!.message, /request head of \d+ bytes exceeds 16384 bytes/);
  });

  test('a head just under both limits is forwarded intact, every field in order', async () => {
    const fields = ['host: x', 'connection: close'];
    for (let i = 0; fields.length < 199; i++) fields.push(`x-fill-${String(i).padStart(3, '0')}: ${'v'.repeat(60)}`);
    const base = head([...fields, 'authorization: Bearer ']).length;
    const auth = `authorization: Bearer ${'t'.repeat(16_384 - base)}`;
    fields.push(auth);
    const h = head(fields);
    assert.equal(fields.length, 200);
    assert.equal(h.length, 16_384);
    const out = await raw(p.port, h);
    assert.match(out, /^HTTP\/1\.1 200/);
    // Unsigned, the upstream's chunked answer streams through chunked.
    let body = out.slice(out.indexOf('\r\n\r\n') + 4);
    if (/\r\ntransfer-encoding: chunked\r\n/i.test(out.slice(0, out.indexOf('\r\n\r\n') + 2))) {
      let plain = '';
      for (let at = 0; ; ) {
        const eol = body.indexOf('\r\n', at);
        const n = parseInt(body.slice(at, eol), 16);
        if (!n) break;
        plain += body.slice(eol + 2, eol + 2 + n);
        at = eol + 2 + n + 2;
      }
      body = plain;
    }
    const seen = JSON.parse(body) as string[];
    const pairs: string[] = [];
    for (let i = 0; i < seen.length; i += 2) pairs.push(`${seen[i]!.toLowerCase()}: ${seen[i + 1]}`);
    const expected = fields.filter((f) => !f.startsWith('connection:'));
    assert.deepEqual(
      pairs.filter((x) => !x.startsWith('x-forwarded-') && !x.startsWith('connection:')),
      expected,
      'every field reached the upstream unchanged',
    );
    // One field more, or one byte more: refused.
    assert.equal(bodyOf(await raw(p.port, head([...fields, 'x-one-more: 1']))).status, 431);
    assert.equal(bodyOf(await raw(p.port, head([...fields.slice(0, -1), auth + 't']))).status, 431);
  });
});

describe('TLS credentials are checked at start-up', () => {
  test('a certificate and a key that do not belong together: TLS_CREDENTIALS_INVALID, no server', async () => {
    const a = selfSignedCertificate('localhost');
    const b = selfSignedCertificate('localhost');
    const enclave = Enclave.create(await simulatedEvidenceProvider({ tee: await sharedTee() }));
    await assert.rejects(
      createAttestingProxy({ host: 'localhost', upstream: upstream.url, enclave, logger: false, tls: { cert: a.cert, key: b.key } }),
      (e: unknown) => isVeriteeError(e, 'TLS_CREDENTIALS_INVALID') && /is not the private key of/.test((e as Error).message),
    );
  });

  test('garbage PEM: TLS_CREDENTIALS_INVALID naming the file; a matching pair passes and serves', async () => {
    const good = selfSignedCertificate('localhost');
    assert.throws(
      () => checkTlsCredentials('-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n', good.key, { cert: 'certificate "/etc/x/cert.pem"' }),
      (e: unknown) => isVeriteeError(e, 'TLS_CREDENTIALS_INVALID') && /certificate "\/etc\/x\/cert\.pem" is not a PEM/.test((e as Error).message),
    );
    assert.throws(
      () => checkTlsCredentials(good.cert, 'garbage', { key: 'private key "k.pem"' }),
      (e: unknown) => isVeriteeError(e, 'TLS_CREDENTIALS_INVALID') && /private key "k\.pem" is not a PEM/.test((e as Error).message),
    );
    checkTlsCredentials(good.cert, good.key);
    const p = await startProxy(upstream.url, { tls: good });
    try {
      const c = await clientFor(p);
      assert.equal((await c.fetch('/json')).status, 200);
      await c.close();
    } finally {
      await p.close();
    }
  });
});

describe('keep-alive race with the upstream', () => {
  test('the upstream resets a reused keep-alive connection: an idempotent request is sent again on a new one (200)', async () => {
    const up = await startRacyUpstream(); // every second request on a connection is reset
    const cap = logCapture();
    const p = await startProxy(up.url, { logger: cap.logger });
    const c = await clientFor(p, { maxConnections: 1 });
    try {
      for (let i = 0; i < 4; i++) {
        const res = await c.fetch(`/r${i}`);
        const text = await res.text();
        assert.equal(res.status, 200, `request ${i}: ${text}`);
        assert.equal(text, 'ok');
        assert.equal(res.attestation.verified, true);
      }
      assert.equal(up.answered, 4);
      assert.ok(up.resets >= 1, 'the race happened');
      assert.ok(cap.lines().some((l) => (JSON.parse(l) as { retried?: boolean }).retried === true), 'the retry is logged');
      // A POST (not idempotent) on a reused connection is not resent: 502 that says why.
      assert.equal((await (await c.fetch('/warm')).text()), 'ok'); // a pooled connection, used once
      const post = await c.fetch('/p', { method: 'POST', body: 'x' });
      assert.equal(post.status, 502);
      const j = (await post.json()) as { error: { code: string; message: string } };
      assert.equal(j.error.code, 'PROXY_UPSTREAM_UNAVAILABLE');
      assert.match(j.error.message, /reused keep-alive connection before answering \(not retried/);
      assert.equal(up.answered, 5, 'the POST was not sent again');
      // The cause of the 502 is in the log: a reset on a reused connection.
      const warn = cap.lines().map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'upstream request failed');
      assert.equal(warn?.['errno'], 'ECONNRESET');
      assert.equal(warn?.['reusedSocket'], true);
      assert.equal(warn?.['method'], 'POST');
    } finally {
      await c.close();
      await p.close();
      await up.close();
    }
  });

  test('an upstream with a tiny keep-alive timeout: the proxy closes idle connections first (even a POST gets through)', async () => {
    const up = await startRacyUpstream({ idleResetMs: 300 }); // keep-alive timeout 300 ms
    const p = await startProxy(up.url, { timeouts: { upstreamIdleMs: 100 } });
    const c = await clientFor(p, { maxConnections: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await c.fetch('/p', { method: 'POST', body: `x${i}` });
        const text = await res.text();
        assert.equal(res.status, 200, `request ${i}: ${text}`);
        await new Promise((r) => setTimeout(r, 400)); // past the upstream's timeout
      }
      assert.equal(up.resets, 0, 'no request was written on a connection the upstream had given up');
      assert.equal(up.answered, 3);
      assert.equal(up.connections, 3);
    } finally {
      await c.close();
      await p.close();
      await up.close();
    }
  });
});

test('redactPath: no query, job ids and other capability-like segments hidden', () => {
  const id = 'a3'.repeat(16);
  assert.equal(redactPath(`/v1/jobs/${id}?x=1`), '/v1/jobs/[redacted]');
  assert.equal(redactPath(`/v1/jobs/${id}/bundle`), '/v1/jobs/[redacted]/bundle');
  assert.equal(redactPath(`/jobs/short`), '/jobs/[redacted]');
  assert.equal(redactPath(`/files/${'f'.repeat(64)}`), '/files/[redacted]');
  assert.equal(redactPath('/v1/prove'), '/v1/prove');
  assert.equal(redactPath('/healthz'), '/healthz');
});

describe('start-up failures have codes', () => {
  test('a port in use: SERVICE_LISTEN_FAILED naming the address', async () => {
    const p = await startProxy(upstream.url);
    const enclave = Enclave.create(await simulatedEvidenceProvider({ tee: await sharedTee() }));
    const second = await createAttestingProxy({ host: 'localhost', upstream: upstream.url, enclave, logger: false });
    try {
      await assert.rejects(second.listen(p.port, '127.0.0.1'), (e: unknown) => isVeriteeError(e, 'SERVICE_LISTEN_FAILED') && new RegExp(`127\\.0\\.0\\.1:${p.port}: the address is already in use`).test((e as Error).message));
    } finally {
      await p.close();
    }
  });

  test('an unknown log level: INPUT_INVALID listing the levels', async () => {
    const enclave = Enclave.create(await simulatedEvidenceProvider({ tee: await sharedTee() }));
    await assert.rejects(
      createAttestingProxy({ host: 'localhost', upstream: upstream.url, enclave, logLevel: 'bogus' }),
      (e: unknown) => isVeriteeError(e, 'INPUT_INVALID') && /log level "bogus" is not one of trace, debug, info, warn, error, fatal, silent/.test((e as Error).message),
    );
  });
});
