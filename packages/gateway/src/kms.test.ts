/**
 * The gateway with a real KMS on loopback (@veritee/kms server, embedded PGlite): the
 * gateway's TLS certificate comes from the KMS and is renewed; client certificates of
 * attested workloads are checked per request (attestation extension, SPIFFE allow-lists,
 * lease status at the KMS), rate limits follow the SPIFFE identity, a revoked workload is
 * refused on its open connection, and a KMS that cannot be reached refuses (fail closed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { X509Certificate, randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { parsePolicy, SimulatedTee } from '@veritee/attestation';
import { fromHex, isVeriteeError } from '@veritee/core';
import { Enclave, simulatedEvidenceProvider as proxyEvidence } from '@veritee/proxy';
import { buildKmsServer, Kms, KmsClient, openEmbedded, rootKeyBytes, simulatedEvidenceProvider, type SqlDb } from '@veritee/kms';
import { Gateway } from './gateway.js';
import { parseGatewayConfig } from './config.js';
import { KmsClientAuth, renewalTime, spiffeAllowed } from './kms.js';
import { baseConfig, gatewayTestHome, startBackend, type Backend } from './testing.js';

const TENANT = 'shop';
const M_BILLING = 'b1'.repeat(48);
const M_ANALYTICS = 'a7'.repeat(48);
const M_OTHER = 'c3'.repeat(48);
const ID = (w: string) => `spiffe://veritee.local/tenant/${TENANT}/workload/${w}`;

let db: SqlDb;
let kms: Kms;
let app: FastifyInstance;
let kmsUrl: string;
let tee: SimulatedTee;

before(async () => {
  db = await openEmbedded();
  tee = await SimulatedTee.create({ platforms: ['snp'] });
  kms = await Kms.open({
    db,
    rootKey: rootKeyBytes(new Uint8Array(randomBytes(32))),
    attestationPolicy: parsePolicy({ name: 'kms-dev', platforms: ['snp'], allowSimulated: true, reportData: { require: ['nonce'] }, snp: { measurements: 'any' } }),
    simulatedAnchors: tee.anchors,
  });
  await kms.policies.put(TENANT, '', { rules: [{ name: 'dev', allowSimulated: true }] });
  await kms.policies.put('elsewhere', '', { rules: [{ name: 'dev', allowSimulated: true }] });
  app = await buildKmsServer({ kms, rateLimit: { burst: 10_000, perSecond: 10_000 } });
  kmsUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app?.close();
  await db?.close();
});

async function workload(tenant: string, name: string, measurement: string): Promise<{ cert: string; key: string; serial: string; spiffeId: string }> {
  const c = new KmsClient({ url: kmsUrl, evidence: simulatedEvidenceProvider(tee, 'snp', { measurement: fromHex(measurement) }) });
  const r = await c.getCertificate(tenant, name);
  return { cert: r.certPem, key: r.keyPem, serial: r.serial, spiffeId: r.spiffeId };
}

interface Answer {
  status: number;
  body: string;
  code?: string;
  headers: Record<string, unknown>;
  peerSerial?: string;
  localPort?: number;
}

function get(url: string, path: string, agent: https.Agent, ca: string): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = https.request({ host: u.hostname, port: u.port, path, agent, ca, servername: 'localhost' }, (res) => {
      const s = res.socket as TLSSocket;
      const peerSerial = s.getPeerCertificate().serialNumber?.toLowerCase();
      const localPort = s.localPort;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          /* a backend's plain text */
        }
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, ...(code ? { code } : {}), ...(peerSerial ? { peerSerial } : {}), ...(localPort ? { localPort } : {}) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('renewal at two thirds of the lifetime; SPIFFE allow-lists', () => {
  assert.equal(renewalTime(0, 900_000), 600_000);
  assert.equal(renewalTime(1000, 1000 + 300_000), 201_000);
  assert.ok(spiffeAllowed([ID('billing')], ID('billing')));
  assert.ok(!spiffeAllowed([ID('billing')], ID('billing-2')));
  assert.ok(spiffeAllowed([`spiffe://veritee.local/tenant/${TENANT}/*`], ID('anything')));
  assert.ok(!spiffeAllowed([`spiffe://veritee.local/tenant/${TENANT}/*`], `spiffe://veritee.local/tenant/${TENANT}x/workload/w`));
});

test('configurations: allowClients needs kms client certificates and mtls; tls files and a KMS certificate exclude each other', () => {
  const pools = { p: { backends: ['http://127.0.0.1:9'] } };
  const refused = (cfg: unknown, re: RegExp) =>
    assert.throws(
      () => parseGatewayConfig(cfg),
      (e: unknown) => isVeriteeError(e, 'GATEWAY_CONFIG_INVALID') && re.test((e as Error).message),
    );
  refused({ pools, routes: [{ name: 'r', pathPrefix: '/', pool: 'p', mtls: true, allowClients: [ID('billing')] }] }, /needs a top-level mtls\.ca .* or kms/);
  refused({ pools, kms: { url: 'http://127.0.0.1:1', tenant: TENANT, workload: 'gw', clientCertificates: false }, mtls: { ca: 'x.pem' }, routes: [{ name: 'r', pathPrefix: '/', pool: 'p', mtls: true, allowClients: [ID('billing')] }] }, /allowClients: needs mtls: true and kms\.clientCertificates/);
  refused({ pools, kms: { url: 'http://127.0.0.1:1', tenant: TENANT, workload: 'gw' }, routes: [{ name: 'r', pathPrefix: '/', pool: 'p', mtls: true, allowClients: ['https://billing'] }] }, /must be a SPIFFE ID/);
  refused({ pools, tls: { cert: 'c.pem', key: 'k.pem' }, kms: { url: 'http://127.0.0.1:1', tenant: TENANT, workload: 'gw' }, routes: [{ name: 'r', pathPrefix: '/', pool: 'p' }] }, /the KMS issues the TLS certificate/);
  refused({ pools, kms: { url: 'ftp://kms', tenant: TENANT, workload: 'gw' }, routes: [{ name: 'r', pathPrefix: '/', pool: 'p' }] }, /kms\.url/);
});

test('status cache (opt-in): a good status is reused for statusCacheMs, a revoked one never; default asks every time', async () => {
  const w = await workload(TENANT, 'cached', M_OTHER);
  const raw = new X509Certificate(w.cert).raw;
  const kc = new KmsClient({ url: kmsUrl, evidence: simulatedEvidenceProvider(tee, 'snp') });
  let t = Date.now();
  const caPem = (await kc.getCertificate(TENANT, 'probe')).caPem;
  const make = (statusCacheMs?: number) => new KmsClientAuth({ caPem, client: kc, tenant: TENANT, allowSimulated: true, now: () => t, ...(statusCacheMs !== undefined ? { statusCacheMs } : {}) });
  const perRequest = make();
  for (let i = 0; i < 3; i++) assert.equal((await perRequest.check(raw)).ok, true);
  assert.equal(perRequest.stats.lookups, 3);
  const cached = make(1000);
  for (let i = 0; i < 3; i++) assert.equal((await cached.check(raw)).ok, true);
  assert.equal(cached.stats.lookups, 1);
  t += 1001;
  assert.equal((await cached.check(raw)).ok, true);
  assert.equal(cached.stats.lookups, 2, 'asked again once the cached answer is older than statusCacheMs');
  await kms.revokeSessionsAndLeases({ measurement: M_OTHER }, 'test');
  t += 1001;
  for (let i = 0; i < 2; i++) {
    const r = await cached.check(raw);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /revoked/);
  }
  assert.equal(cached.stats.lookups, 4, 'a revoked status is not cached');

  // Per connection the certificate is verified once; its validity is still checked against the clock on each request.
  const w2 = await workload(TENANT, 'conn', M_BILLING);
  const conn = {};
  const perConn = make();
  assert.equal(perConn.knows(conn), false);
  assert.equal((await perConn.check(new X509Certificate(w2.cert).raw, conn)).ok, true);
  assert.equal(perConn.knows(conn), true);
  const again = await perConn.check(Buffer.alloc(0), conn);
  assert.deepEqual(again, { ok: true, spiffeId: ID('conn'), serial: w2.serial });
  t = Date.parse(new X509Certificate(w2.cert).validTo) + 1000;
  const late = await perConn.check(Buffer.alloc(0), conn);
  assert.equal(late.ok, false);
  assert.match(late.ok ? '' : late.message, /outside its validity/);
  assert.equal((await perConn.check(new X509Certificate(w2.cert).raw)).ok, false, 'and without the connection: expired');
});

test('a gateway without a reachable KMS does not start', async () => {
  const cfg = parseGatewayConfig(baseConfig({ kms: { url: 'http://127.0.0.1:1', tenant: TENANT, workload: 'gateway', timeoutMs: 2000 }, pools: { p: { backends: ['http://127.0.0.1:9'], healthCheck: false } }, routes: [{ name: 'r', pathPrefix: '/', pool: 'p' }] }));
  const enclave = Enclave.create(await proxyEvidence({ tee }));
  await assert.rejects(Gateway.create({ config: cfg, enclave, home: gatewayTestHome(), logger: false }), (e: unknown) => isVeriteeError(e, 'GATEWAY_KMS_UNAVAILABLE'));
});

test('KMS certificates: the gateway serves with one and renews it; clients are checked per request by SPIFFE ID, attestation and lease status; fail closed', { timeout: 120_000 }, async () => {
  const backend: Backend = await startBackend('pay');
  const enclave = Enclave.create(await proxyEvidence({ tee }));
  const config = parseGatewayConfig(
    baseConfig({
      kms: { url: kmsUrl, tenant: TENANT, workload: 'gateway', allowSimulatedClients: true, timeoutMs: 3000 },
      metrics: true,
      pools: { p: { backends: [backend.url], healthCheck: false } },
      routes: [
        { name: 'pay', pathPrefix: '/pay', pool: 'p', mtls: true, allowClients: [ID('billing')], rateLimit: { ratePerSec: 0.001, burst: 2 } },
        { name: 'any', pathPrefix: '/any', pool: 'p', mtls: true, rateLimit: false },
        { name: 'open', pathPrefix: '/open', pool: 'p' },
      ],
    }),
  );
  const gw = await Gateway.create({ config, enclave, home: gatewayTestHome(), logger: false });
  const a = await gw.listen();
  const url = `https://127.0.0.1:${a.port}`;
  const agents: https.Agent[] = [];
  const agent = (c?: { cert: string; key: string }, keepAlive = false) => {
    const ag = new https.Agent({ keepAlive, maxSockets: 1, ...(c ? { cert: c.cert, key: c.key } : {}) });
    agents.push(ag);
    return ag;
  };
  try {
    const served = gw.kmsCertificate!.current;
    const ca = served.caPem;
    assert.equal(served.spiffeId, ID('gateway'));
    // The gateway's certificate chains to the KMS CA, names its host, and is what TLS presents.
    const x = new X509Certificate(served.certPem);
    assert.ok(x.checkIssued(new X509Certificate(ca)) && x.verify(new X509Certificate(ca).publicKey));
    assert.match(String(x.subjectAltName), /DNS:localhost/);
    const open = await get(url, '/open/x', agent(), ca); // rejectUnauthorized (default): the KMS CA is the only trust
    assert.equal(open.status, 200);
    assert.equal(open.peerSerial, served.serial);
    // Renewal is due at two thirds of the lifetime.
    assert.equal(gw.kmsCertificate!.nextAttemptMs, renewalTime(served.obtainedMs, served.notAfterMs));
    assert.ok(served.notAfterMs > served.obtainedMs + 60_000);

    const billing = await workload(TENANT, 'billing', M_BILLING);
    const analytics = await workload(TENANT, 'analytics', M_ANALYTICS);
    const foreign = await workload('elsewhere', 'billing', M_OTHER);
    const hits0 = backend.hits;

    // Allow-list by SPIFFE ID: billing passes, analytics (valid certificate, same CA, same tenant) is 403.
    assert.equal((await get(url, '/pay/1', agent(billing), ca)).status, 200);
    const forbidden = await get(url, '/pay/2', agent(analytics), ca);
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.code, 'GATEWAY_FORBIDDEN');
    assert.match(forbidden.body, /workload\/analytics/);
    // Any workload of the gateway's tenant on /any; none, or another tenant's, is 401.
    const analyticsAgent = agent(analytics, true);
    const first = await get(url, '/any/1', analyticsAgent, ca);
    assert.equal(first.status, 200);
    // Revocation is checked per request: analytics' open keep-alive connection is refused after its lease is revoked.
    const r = await kms.revokeSessionsAndLeases({ measurement: M_ANALYTICS }, 'incident: analytics build compromised');
    assert.ok(r.leases >= 1);
    const revoked = await get(url, '/any/2', analyticsAgent, ca);
    assert.equal(revoked.localPort, first.localPort, 'the same connection');
    assert.equal(revoked.status, 401);
    assert.match(revoked.body, /the KMS reports it revoked/);

    const none = await get(url, '/any/1', agent(), ca);
    assert.equal(none.status, 401);
    assert.equal(none.code, 'GATEWAY_UNAUTHENTICATED');
    assert.match(String(none.headers['www-authenticate']), /^Mutual/);
    const other = await get(url, '/any/1', agent(foreign), ca);
    assert.equal(other.status, 401);
    assert.match(other.body, /tenant elsewhere is not shop/);
    assert.equal(backend.hits, hits0 + 2, 'refused requests never reached the upstream');

    // The rate limit follows the SPIFFE ID, not the certificate: a second certificate of billing (new key, new serial) shares the bucket.
    const billing2 = await workload(TENANT, 'billing', M_BILLING);
    assert.notEqual(billing2.serial, billing.serial);
    assert.equal((await get(url, '/pay/3', agent(billing2), ca)).status, 200);
    const limited = await get(url, '/pay/4', agent(billing), ca);
    assert.equal(limited.status, 429);
    assert.equal(limited.code, 'GATEWAY_RATE_LIMITED');

    // Renewal: a new certificate for new handshakes, and client certificates still verify (the client CA is kept).
    const hitsBefore = backend.hits;
    const renewed = await gw.kmsCertificate!.renew();
    assert.notEqual(renewed.serial, served.serial);
    assert.equal(gw.kmsCertificate!.nextAttemptMs, renewalTime(renewed.obtainedMs, renewed.notAfterMs));
    const after = await get(url, '/any/3', agent(billing), ca);
    assert.equal(after.status, 200, after.body);
    assert.equal(after.peerSerial, renewed.serial);
    assert.equal(gw.proxy.certificate, renewed.certPem);

    // The KMS goes away: client certificates are refused (503, fail closed), renewal fails and the current certificate stays.
    await app.close();
    const down = await get(url, '/any/4', agent(billing), ca);
    assert.equal(down.status, 503);
    assert.equal(down.code, 'GATEWAY_KMS_UNAVAILABLE');
    assert.match(down.body, /fail closed/);
    assert.equal(backend.hits, hitsBefore + 1);
    await assert.rejects(gw.kmsCertificate!.renew(), (e: unknown) => isVeriteeError(e, 'GATEWAY_KMS_UNAVAILABLE'));
    assert.equal(gw.kmsCertificate!.current.serial, renewed.serial);
    assert.equal(gw.kmsCertificate!.stats.failures, 1);
    assert.ok(gw.kmsCertificate!.nextAttemptMs > Date.now() && gw.kmsCertificate!.nextAttemptMs < renewed.notAfterMs);
    assert.equal((await get(url, '/open/y', agent(), ca)).peerSerial, renewed.serial);
    const metrics = (await get(url, '/.well-known/veritee/metrics', agent(), ca)).body;
    assert.match(metrics, /^veritee_gateway_kms_certificate_renewals_total 1$/m);
    assert.match(metrics, /^veritee_gateway_kms_certificate_renewal_failures_total 1$/m);
    assert.match(metrics, /^veritee_gateway_kms_client_checks_total\{outcome="kms_unavailable"\} 1$/m);
    assert.match(metrics, /^veritee_gateway_kms_client_checks_total\{outcome="refused"\} 2$/m);
  } finally {
    for (const ag of agents) ag.destroy();
    await gw.close();
    await backend.close();
  }
});
