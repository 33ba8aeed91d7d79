/**
 * The client SDK against honest and dishonest servers, on loopback with the simulated
 * TEE: a man in the middle that re-encrypts, replayed evidence, a body altered after
 * signing, debug-mode and wrong-measurement TEEs, a fake TEE, legacy servers.
 * In every refused case the request body must not have reached anyone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { isVeriteeError, type VeriteeError } from '@veritee/core';
import { parsePolicy, SimulatedTee, type EvidenceEnvelope } from '@veritee/attestation';
import { createAttestedClient } from './client.js';
import { simulatedEvidenceProvider, type EvidenceProvider } from './enclave.js';
import { ATTEST_PATH } from './protocol.js';
import { selfSignedCertificate } from './tls-cert.js';
import {
  devPolicy,
  OTHER_MEASUREMENT,
  SIM_MEASUREMENT,
  sharedTee,
  startMitm,
  startProxy,
  startUpstream,
  type Upstream,
} from './testing/fixtures.js';

const SECRET = 'PRIVATE-INPUT-do-not-leak-8d1f';
let upstream: Upstream;
let tee: SimulatedTee;

before(async () => {
  upstream = await startUpstream();
  tee = await sharedTee();
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

function assertNobodySawTheSecret(extra: string[] = []): void {
  for (const b of [...upstream.bodies, ...extra]) assert.ok(!b.includes(SECRET), 'the private request body reached someone');
}

describe('session binding', () => {
  test('a man in the middle that terminates TLS and re-encrypts is detected before the body is sent', async () => {
    const p = await startProxy(upstream.url);
    const mitm = await startMitm(p.port);
    const client = createAttestedClient({ baseUrl: mitm.url, policy: devPolicy(), simulatedAnchors: tee.anchors });
    try {
      await assert.rejects(
        client.fetch('/echo', { method: 'POST', body: SECRET }),
        rejectsWith('PROXY_BINDING_INVALID', /did not sign this TLS session's exporter/),
      );
      // The MITM relayed the binding (it saw the nonce) and nothing else.
      assert.deepEqual([...new Set(mitm.paths)], [ATTEST_PATH]);
      assert.ok(mitm.bodies.length >= 1 && mitm.bodies.every((b) => /^\{"nonce":"[0-9a-f]{64}"\}$/.test(b)), `MITM saw: ${mitm.bodies.join(' | ')}`);
      assertNobodySawTheSecret(mitm.bodies);
      // Control: the same client options straight to the proxy work.
      const direct = createAttestedClient({ baseUrl: p.url, policy: devPolicy(), simulatedAnchors: tee.anchors });
      const res = await direct.fetch('/echo', { method: 'POST', body: 'harmless' });
      assert.equal(res.attestation.verified, true);
      await direct.close();
    } finally {
      await client.close();
      await mitm.close();
      await p.close();
    }
  });

  test('a binding document with a duplicate key is refused as malformed before anything else is read', async () => {
    const p = await startProxy(upstream.url);
    // Repeat the binding's first member in front of it: JSON.parse would read the same document.
    const mitm = await startMitm(p.port, (path, body) => {
      if (!path.startsWith(ATTEST_PATH) || body[0] !== 0x7b) return body;
      const text = body.toString('utf8');
      const [k, v] = Object.entries(JSON.parse(text) as Record<string, unknown>)[0]!;
      return Buffer.from(`{${JSON.stringify(k)}:${JSON.stringify(v)},${text.slice(1)}`);
    });
    const client = createAttestedClient({ baseUrl: mitm.url, policy: devPolicy(), simulatedAnchors: tee.anchors });
    try {
      await assert.rejects(client.fetch('/echo', { method: 'POST', body: SECRET }), rejectsWith('PROXY_BINDING_INVALID', /binding response is malformed: .*duplicate key/));
      assertNobodySawTheSecret(mitm.bodies);
    } finally {
      await client.close();
      await mitm.close();
      await p.close();
    }
  });

  test('replayed evidence bound to an old nonce is refused', async () => {
    const real = await simulatedEvidenceProvider({ tee });
    let armed = false;
    let recorded: EvidenceEnvelope | undefined;
    const replaying: EvidenceProvider = {
      platform: real.platform,
      simulated: true,
      simulatedAnchors: real.simulatedAnchors,
      async evidence(reportData) {
        if (!armed) return real.evidence(reportData);
        recorded ??= await real.evidence(reportData); // the first binding's evidence, forever
        return recorded;
      },
    };
    const p = await startProxy(upstream.url, { provider: replaying });
    armed = true;
    try {
      const first = createAttestedClient({ baseUrl: p.url, policy: devPolicy(), simulatedAnchors: tee.anchors });
      assert.equal((await first.fetch('/json')).attestation.verified, true, 'the first session gets fresh evidence');
      await first.close();
      const second = createAttestedClient({ baseUrl: p.url, policy: devPolicy(), simulatedAnchors: tee.anchors });
      await assert.rejects(second.fetch('/echo', { method: 'POST', body: SECRET }), rejectsWith('ATTEST_REPORT_DATA_MISMATCH', /does not bind the given public-key hash \+ nonce/));
      await second.close();
      assertNobodySawTheSecret();
    } finally {
      await p.close();
    }
  });

  test('each new TLS connection is bound anew; a verified session is reused on its connection', async () => {
    // The proxy closes a connection after 2 s without a request.
    const p = await startProxy(upstream.url, { timeouts: { idleMs: 2000 } });
    const client = createAttestedClient({ baseUrl: p.url, policy: devPolicy(), simulatedAnchors: tee.anchors, maxConnections: 1 });
    try {
      await client.fetch('/json');
      await client.fetch('/json');
      assert.equal(client.sessions.length, 1);
      await new Promise((r) => setTimeout(r, 3400)); // the proxy closes the idle connection (node adds ~1 s)
      const res = await client.fetch('/json');
      assert.equal(res.attestation.verified, true);
      assert.equal(client.sessions.length, 2);
      assert.notEqual(client.sessions[0]!.id, client.sessions[1]!.id);
      assert.notEqual(client.sessions[0]!.nonce, client.sessions[1]!.nonce);
    } finally {
      await client.close();
      await p.close();
    }
  });
});

describe('responses', () => {
  test('a response whose body was altered after signing is refused', async () => {
    const p = await startProxy(upstream.url, {
      unsafeAfterSignHook: (body) => {
        const b = Buffer.from(body);
        if (b.length) b[0] = b[0]! ^ 1;
        return b;
      },
    });
    const client = createAttestedClient({ baseUrl: p.url, policy: devPolicy(), simulatedAnchors: tee.anchors, signedResponses: true });
    try {
      await assert.rejects(client.fetch('/hello'), rejectsWith('PROXY_RESPONSE_SIGNATURE_INVALID', /altered after signing/));
    } finally {
      await client.close();
      await p.close();
    }
  });
});

describe('policy', () => {
  const refused = async (label: string, opts: Parameters<typeof startProxy>[1], policy: ReturnType<typeof devPolicy>, code: string, pattern?: RegExp) => {
    const p = await startProxy(upstream.url, opts);
    const hits = upstream.hits;
    const client = createAttestedClient({ baseUrl: p.url, policy, simulatedAnchors: tee.anchors });
    try {
      await assert.rejects(client.fetch('/echo', { method: 'POST', body: SECRET }), rejectsWith(code, pattern), label);
      assert.equal(upstream.hits, hits, `${label}: nothing reached the upstream`);
      assertNobodySawTheSecret();
    } finally {
      await client.close();
      await p.close();
    }
  };

  test('a debug-mode TEE is refused', async () => {
    await refused('debug', { sim: { debug: true } }, devPolicy(), 'ATTEST_DEBUG_REFUSED', /debug mode/);
  });

  test('a TEE with the wrong measurement is refused', async () => {
    await refused('measurement', { sim: { measurement: OTHER_MEASUREMENT } }, devPolicy(), 'ATTEST_MEASUREMENT_MISMATCH', new RegExp(OTHER_MEASUREMENT));
  });

  test('simulated evidence is refused by a policy that does not allow it', async () => {
    const prod = parsePolicy({ platforms: ['snp'], snp: { measurements: [SIM_MEASUREMENT] } });
    const p = await startProxy(upstream.url);
    const client = createAttestedClient({ baseUrl: p.url, policy: prod });
    try {
      await assert.rejects(client.fetch('/echo', { method: 'POST', body: SECRET }), (e: unknown) => isVeriteeError(e) && e.code.startsWith('ATTEST_') && /simulated|chain/i.test(e.message));
      assertNobodySawTheSecret();
    } finally {
      await client.close();
      await p.close();
    }
  });

  test('a different (fake) simulated TEE is refused when the anchors are pinned', async () => {
    const fake = await SimulatedTee.create({ platforms: ['snp'] });
    const provider = await simulatedEvidenceProvider({ tee: fake });
    const p = await startProxy(upstream.url, { provider });
    const client = createAttestedClient({ baseUrl: p.url, policy: devPolicy(), simulatedAnchors: tee.anchors });
    try {
      await assert.rejects(client.fetch('/echo', { method: 'POST', body: SECRET }), (e: unknown) => isVeriteeError(e) && e.code.startsWith('ATTEST_'));
      assertNobodySawTheSecret();
    } finally {
      await client.close();
      await p.close();
    }
  });
});

describe('legacy servers', () => {
  let server: https.Server;
  let url: string;
  let cert: string;
  const seen: string[] = [];
  before(async () => {
    const c = selfSignedCertificate('localhost');
    cert = c.cert;
    server = https.createServer({ cert: c.cert, key: c.key }, (req, res) => {
      let b = '';
      req.on('data', (x: Buffer) => (b += x.toString()));
      req.on('end', () => {
        if (b) seen.push(b);
        // Like many servers, it closes the connection after a 404: the client must reconnect.
        res.writeHead(req.url === ATTEST_PATH ? 404 : 200, { 'content-type': 'text/plain', ...(req.url === ATTEST_PATH ? { connection: 'close' } : {}) });
        res.end('legacy');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('a server without Attestation-Report is refused by default, before the body is sent', async () => {
    const client = createAttestedClient({ baseUrl: url, policy: devPolicy(), ca: cert });
    await assert.rejects(client.fetch('/x', { method: 'POST', body: SECRET }), rejectsWith('PROXY_UNATTESTED', /presents no attestation/));
    await client.close();
    assert.ok(!seen.some((b) => b.includes(SECRET)));
  });

  test('with acceptLegacy the response says nothing was verified; the certificate must still be trusted', async () => {
    const untrusted = createAttestedClient({ baseUrl: url, policy: devPolicy(), acceptLegacy: true });
    await assert.rejects(untrusted.fetch('/x'), rejectsWith('PROXY_UNATTESTED', /certificate is not trusted/));
    await untrusted.close();
    const client = createAttestedClient({ baseUrl: url, policy: devPolicy(), acceptLegacy: true, ca: cert });
    const res = await client.fetch('/x', { method: 'POST', body: 'hello' });
    assert.equal(await res.text(), 'legacy');
    assert.equal(res.attestation.verified, false);
    assert.equal(res.attestation.legacy, true);
    assert.match(!res.attestation.verified ? res.attestation.reason : '', /nothing was verified/);
    await client.close();
  });

  test('plain http:// is refused unless legacy servers are accepted', () => {
    assert.throws(() => createAttestedClient({ baseUrl: 'http://127.0.0.1:1', policy: devPolicy() }), rejectsWith('PROXY_UNATTESTED', /no TLS session to bind/));
  });
});
