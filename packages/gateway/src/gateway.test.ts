/**
 * The gateway end to end on loopback: real HTTP upstreams, real TLS 1.3 through the
 * attesting proxy, the simulated TEE. Routing and balancing, health checks and passive
 * ejection, rate limits, JWT auth (refused requests never reach an upstream), request
 * validation, reload on a live keep-alive connection, and refused configurations.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { isVeriteeError } from '@veritee/core';
import { parseGatewayConfig } from './config.js';
import { baseConfig, send, startBackend, startGateway, type Backend, type Reply } from './testing.js';

const errorCode = (r: Reply) => (JSON.parse(r.body) as { error: { code: string } }).error.code;

describe('configuration', () => {
  const pools = { a: { backends: ['http://127.0.0.1:9001'] } };
  const refused = (cfg: unknown, pattern: RegExp) =>
    assert.throws(
      () => parseGatewayConfig(cfg),
      (e: unknown) => isVeriteeError(e, 'GATEWAY_CONFIG_INVALID') && pattern.test(e.message),
    );

  test('an unknown field is refused, naming it and where it is', () => {
    refused({ pools, routes: [{ name: 'r', pathPrefix: '/', pool: 'a', timeout: 5 }] }, /routes\[0\]: unknown field "timeout"/);
    refused({ pools, routes: [{ name: 'r', pathPrefix: '/', pool: 'a' }], colour: 'blue' }, /unknown field "colour"/);
  });

  test('two routes claiming the same host and prefix overlap and are refused', () => {
    refused(
      {
        pools,
        routes: [
          { name: 'one', pathPrefix: '/api', pool: 'a' },
          { name: 'two', pathPrefix: '/api/', pool: 'a' },
        ],
      },
      /routes\[1\] \(two\) overlaps routes\[0\] \(one\): both claim host \* and path prefix \/api/,
    );
    // Nested prefixes and different hosts are not overlaps.
    parseGatewayConfig({ pools, routes: [{ name: 'one', pathPrefix: '/api', pool: 'a' }, { name: 'two', pathPrefix: '/api/v2', pool: 'a' }, { name: 'three', host: 'x.example', pathPrefix: '/api', pool: 'a' }] });
  });

  test('a bad upstream URL, an unknown pool, a bad SLA and bad YAML are refused', () => {
    refused({ pools: { a: { backends: ['https://127.0.0.1:9001'] } }, routes: [{ name: 'r', pathPrefix: '/', pool: 'a' }] }, /pools\.a\.backends\[0\].*http:\/\//);
    refused({ pools: { a: { backends: ['not a url'] } }, routes: [{ name: 'r', pathPrefix: '/', pool: 'a' }] }, /pools\.a\.backends\[0\]: "not a url" is not an upstream URL/);
    refused({ pools: { a: { backends: ['http://127.0.0.1:1/x?q=1'] } }, routes: [{ name: 'r', pathPrefix: '/', pool: 'a' }] }, /query or fragment/);
    refused({ pools, routes: [{ name: 'r', pathPrefix: '/', pool: 'b' }] }, /routes\[0\]\.pool: no pool named "b"/);
    refused({ pools, routes: [{ name: 'r', pathPrefix: 'api', pool: 'a' }] }, /routes\[0\]\.pathPrefix: must start with "\/"/);
    refused({ pools, routes: [{ name: 'r', pathPrefix: '/', pool: 'a' }], slas: { latency: 'p95 under 100ms' } }, /slas\.latency: SLA term/);
    refused('pools: {a: [\n', /not valid YAML/);
    refused('pools: {}\npools: {}\nroutes: []\n', /not valid YAML/);
  });
});

describe('routing, balancing, limits and auth', () => {
  let a: Backend, b: Backend, slow: Backend, admin: Backend;
  let g: Awaited<ReturnType<typeof startGateway>>;
  let token: (claims: Record<string, unknown>, exp?: number) => Promise<string>;
  let foreignToken: string;

  before(async () => {
    [a, b, slow, admin] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('slow', 60), startBackend('admin')]);
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    token = (claims, exp = Math.floor(Date.now() / 1000) + 300) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://issuer.example').setAudience('gw').setExpirationTime(exp).sign(privateKey);
    const other = await generateKeyPair('ES256');
    foreignToken = await new SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://issuer.example').setAudience('gw').setExpirationTime('5m').sign(other.privateKey);
    g = await startGateway(
      baseConfig({
        jwks: { main: { keys: [jwk] } },
        pools: {
          rr: { balance: 'round-robin', backends: [a.url, b.url], healthCheck: false },
          lo: { balance: 'least-outstanding', backends: [slow.url, a.url], healthCheck: false },
          admin: { backends: [admin.url], healthCheck: false },
        },
        routes: [
          { name: 'rr', pathPrefix: '/rr', pool: 'rr', stripPrefix: true, methods: ['GET', 'POST'], maxBodyBytes: 10, requireHeaders: ['x-tenant'], forbidHeaders: ['x-debug'] },
          { name: 'lo', pathPrefix: '/lo', pool: 'lo' },
          { name: 'limited', pathPrefix: '/limited', pool: 'rr', rateLimit: { ratePerSec: 0.5, burst: 3 } },
          { name: 'admin', pathPrefix: '/admin', pool: 'admin', auth: { jwks: 'main', issuer: 'https://issuer.example', audience: 'gw' }, rateLimit: { ratePerSec: 0.5, burst: 2 } },
        ],
      }),
    );
  });
  after(async () => {
    await g.close();
    await Promise.all([a, b, slow, admin].map((x) => x.close()));
  });

  test('round robin alternates the backends; the prefix is stripped when asked', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await send(g.url, '/rr/x?y=1', { headers: { 'x-tenant': 't' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-path'], '/x?y=1');
      seen.push(r.body);
    }
    assert.deepEqual(seen, ['a', 'b', 'a', 'b', 'a', 'b']);
  });

  test('least-outstanding sends concurrent load away from the slow backend', async () => {
    const slowBefore = slow.hits;
    const aBefore = a.hits;
    const agents = Array.from({ length: 12 }, () => new https.Agent({ keepAlive: false, rejectUnauthorized: false }));
    const rs = await Promise.all(agents.map(async (agent, i) => {
      await new Promise((r) => setTimeout(r, i * 8));
      return send(g.url, '/lo/z', { agent });
    }));
    assert.ok(rs.every((r) => r.status === 200));
    const toSlow = slow.hits - slowBefore;
    const toA = a.hits - aBefore;
    assert.equal(toSlow + toA, 12);
    assert.ok(toA > toSlow, `fast backend got ${toA}, slow got ${toSlow}`);
  });

  test('validation: unknown route 404, method 405, body too large 413, header rules 400 — none reaches an upstream', async () => {
    const before = a.hits + b.hits;
    const cases: [Reply, number, string][] = [
      // Veritee-Sign: 1 asks for the enclave's signature (responses are signed on request).
      [await send(g.url, '/nowhere', { headers: { 'veritee-sign': '1' } }), 404, 'GATEWAY_NO_ROUTE'],
      [await send(g.url, '/rr/x', { method: 'DELETE', headers: { 'x-tenant': 't', 'veritee-sign': '1' } }), 405, 'GATEWAY_METHOD_NOT_ALLOWED'],
      [await send(g.url, '/rr/x', { method: 'POST', headers: { 'x-tenant': 't', 'content-type': 'text/plain', 'veritee-sign': '1' }, body: 'more than ten bytes' }), 413, 'PROXY_REQUEST_TOO_LARGE'],
      [await send(g.url, '/rr/x', { headers: { 'veritee-sign': '1' } }), 400, 'GATEWAY_REQUEST_REJECTED'],
      [await send(g.url, '/rr/x', { headers: { 'x-tenant': 't', 'x-debug': '1', 'veritee-sign': '1' } }), 400, 'GATEWAY_REQUEST_REJECTED'],
    ];
    for (const [r, status, code] of cases) {
      assert.equal(r.status, status, r.body);
      assert.equal(errorCode(r), code);
      assert.ok(r.headers['veritee-signature'], 'refusals are signed like any response');
    }
    assert.equal(cases[1]![0].headers['allow'], 'GET, POST');
    assert.equal(a.hits + b.hits, before);
    // A small body passes.
    assert.equal((await send(g.url, '/rr/x', { method: 'POST', headers: { 'x-tenant': 't' }, body: 'ok' })).status, 200);
  });

  test('a client over its token bucket gets 429 with Retry-After, and the upstream never sees it', async () => {
    const before = a.hits + b.hits;
    const statuses: number[] = [];
    let last!: Reply;
    for (let i = 0; i < 5; i++) {
      last = await send(g.url, '/limited/p');
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.equal(errorCode(last), 'GATEWAY_RATE_LIMITED');
    assert.ok(Number(last.headers['retry-after']) >= 1, 'Retry-After in seconds');
    assert.equal(a.hits + b.hits - before, 3);
    assert.ok(g.gw.counters.rateLimited >= 2);
  });

  test('auth: missing, malformed, foreign-signed, expired, wrong-audience tokens are 401 and never reach the upstream', async () => {
    const before = admin.hits;
    const bad = [
      {},
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: `Bearer ${foreignToken}` },
      { authorization: `Bearer ${await token({ sub: 'alice' }, Math.floor(Date.now() / 1000) - 3600)}` },
      { authorization: 'Bearer abc.def.ghi' },
    ];
    for (const headers of bad) {
      const r = await send(g.url, '/admin/x', { headers: headers as Record<string, string> });
      assert.equal(r.status, 401, JSON.stringify(headers).slice(0, 40));
      assert.equal(errorCode(r), 'GATEWAY_UNAUTHENTICATED');
      assert.match(String(r.headers['www-authenticate']), /^Bearer realm="admin"/);
      assert.ok(!r.body.includes('eyJ'), 'the token is never echoed');
    }
    assert.equal(admin.hits, before, 'no refused request reached the upstream');
    const ok = await send(g.url, '/admin/x', { headers: { authorization: `Bearer ${await token({ sub: 'alice' })}` } });
    assert.equal(ok.status, 200);
    assert.equal(admin.hits, before + 1);
  });

  test('non-canonical paths that could slip past a route (encoded, dot and empty segments) are refused, never forwarded', async () => {
    const before = admin.hits + a.hits + b.hits;
    for (const path of ['/%61dmin/x', '/rr/../admin/x', '//admin/x', '/admin%2Fx', '/rr/%2e%2e/admin', '/rr\\..\\admin', '/rr/x%zz']) {
      const r = await send(g.url, path, { headers: { 'x-tenant': 't' } });
      assert.equal(r.status, 400, path);
      assert.equal(errorCode(r), 'GATEWAY_REQUEST_REJECTED', path);
    }
    assert.equal(admin.hits + a.hits + b.hits, before);
    // Reserved characters may stay encoded.
    assert.equal((await send(g.url, '/rr/a%20b%3Fc', { headers: { 'x-tenant': 't' } })).status, 200);
  });

  test('authenticated clients are rate-limited per subject, not per address', async () => {
    const alice = await token({ sub: 'alice2' });
    const bob = await token({ sub: 'bob' });
    const s = async (t: string) => (await send(g.url, '/admin/y', { headers: { authorization: `Bearer ${t}` } })).status;
    assert.deepEqual([await s(alice), await s(alice), await s(alice)], [200, 200, 429]);
    assert.equal(await s(bob), 200, 'another subject from the same address has its own bucket');
  });
});

describe('health checks, ejection and reload', () => {
  test('a failing /healthz marks a backend down; it comes back after healthyAfter passes', async () => {
    const [x, y] = await Promise.all([startBackend('x'), startBackend('y')]);
    const g = await startGateway(
      baseConfig({
        pools: { p: { backends: [x.url, y.url], healthCheck: { intervalMs: 3_600_000, unhealthyAfter: 2, healthyAfter: 1 } } },
        routes: [{ name: 'r', pathPrefix: '/', pool: 'p' }],
      }),
    );
    try {
      const pool = g.gw.pools.get('p')!;
      await pool.firstRound;
      x.healthy = false;
      await pool.checkAll();
      assert.equal(pool.backends[0]!.up, true, 'one failure is not enough');
      await pool.checkAll();
      assert.equal(pool.backends[0]!.up, false);
      const bodies = await Promise.all([1, 2, 3, 4].map(() => send(g.url, '/').then((r) => r.body)));
      assert.deepEqual(bodies, ['y', 'y', 'y', 'y']);
      x.healthy = true;
      await pool.checkAll();
      assert.equal(pool.backends[0]!.up, true);
    } finally {
      await g.close();
      await Promise.all([x.close(), y.close()]);
    }
  });

  test('a killed backend is ejected after consecutive failures; traffic moves to the live one', async () => {
    const [x, y] = await Promise.all([startBackend('x'), startBackend('y')]);
    const g = await startGateway(
      baseConfig({
        pools: { p: { backends: [x.url, y.url], healthCheck: false, ejection: { consecutiveFailures: 2, ejectMs: 60_000 } } },
        routes: [{ name: 'r', pathPrefix: '/', pool: 'p' }],
      }),
    );
    try {
      await x.close();
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await send(g.url, '/', { agent: new https.Agent({ keepAlive: false, rejectUnauthorized: false }) })).status);
      // Round robin: x fails twice (502) and is ejected; everything after goes to y.
      assert.deepEqual(statuses, [502, 200, 502, 200, 200, 200, 200, 200]);
      const bx = g.gw.pools.get('p')!.backends[0]!;
      assert.equal(bx.ejections, 1);
      assert.ok(bx.ejectedUntil > Date.now());
    } finally {
      await g.close();
      await y.close();
    }
  });

  test('reload: new routes apply on a live keep-alive connection; a bad reload keeps the old configuration', async () => {
    const [x, y] = await Promise.all([startBackend('x'), startBackend('y')]);
    const cfg = (url: string) => baseConfig({ pools: { p: { backends: [url], healthCheck: false } }, routes: [{ name: 'r', pathPrefix: '/', pool: 'p' }] });
    const g = await startGateway(cfg(x.url));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    try {
      let sockets = 0;
      g.gw.proxy.server.on('secureConnection', () => sockets++);
      assert.equal((await send(g.url, '/', { agent })).body, 'x');
      g.gw.reload(parseGatewayConfig(cfg(y.url)));
      assert.equal((await send(g.url, '/', { agent })).body, 'y');
      assert.equal(sockets, 1, 'the same connection carried both requests');
      assert.throws(() => g.gw.reload('pools: {p: {backends: [ftp://x]}}\nroutes: [{name: r, pathPrefix: /, pool: p}]\n'), (e: unknown) => isVeriteeError(e, 'GATEWAY_CONFIG_INVALID'));
      assert.throws(() => g.gw.reload(parseGatewayConfig({ ...cfg(y.url), listen: '127.0.0.1:1' })), /listen cannot change without a restart/);
      assert.equal((await send(g.url, '/', { agent })).body, 'y');
    } finally {
      agent.destroy();
      await g.close();
      await Promise.all([x.close(), y.close()]);
    }
  });

  test('the in-flight limit answers 503 GATEWAY_OVERLOADED', async () => {
    const s = await startBackend('s', 300);
    const g = await startGateway(baseConfig({ limits: { maxInFlight: 2 }, pools: { p: { backends: [s.url], healthCheck: false } }, routes: [{ name: 'r', pathPrefix: '/', pool: 'p' }] }));
    try {
      const rs = await Promise.all(Array.from({ length: 5 }, () => send(g.url, '/', { agent: new https.Agent({ keepAlive: false, rejectUnauthorized: false }) })));
      const over = rs.filter((r) => r.status === 503);
      assert.ok(over.length >= 1, `statuses ${rs.map((r) => r.status).join(',')}`);
      assert.equal(errorCode(over[0]!), 'GATEWAY_OVERLOADED');
    } finally {
      await g.close();
      await s.close();
    }
  });
});

describe('attested clients, metrics, records', () => {
  test('refusals with a request body are signed over that body: the attested client verifies them', async () => {
    const x = await startBackend('x');
    const g = await startGateway(
      baseConfig({
        metrics: true,
        jwks: { main: { keys: [{ ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'k' }] } },
        pools: { p: { backends: [x.url], healthCheck: false } },
        routes: [
          { name: 'open', pathPrefix: '/open', pool: 'p' },
          { name: 'locked', pathPrefix: '/locked', pool: 'p', auth: { jwks: 'main' } },
        ],
      }),
    );
    const { createAttestedClient } = await import('@veritee/proxy');
    const { parsePolicy } = await import('@veritee/attestation');
    const client = createAttestedClient({ baseUrl: g.url, policy: parsePolicy({ name: 'dev', platforms: ['snp'], allowSimulated: true, snp: { measurements: 'any' } }), allowSimulated: true, signedResponses: true });
    try {
      const ok = await client.fetch('/open/a', { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.attestation.verified, true);
      const refused = await client.fetch('/locked/a', { method: 'POST', body: 'secret payload', headers: { 'content-type': 'text/plain' } });
      assert.equal(refused.status, 401);
      assert.equal(refused.attestation.verified, true, 'the 401 is signed over the body the client sent');
      if (refused.attestation.verified) assert.notEqual(refused.attestation.requestBodySha256, 'incomplete');
      assert.equal(x.hits, 1, 'the refused request never reached the upstream');
      const m = await client.fetch('/.well-known/veritee/metrics');
      const text = await m.text();
      assert.match(text, /^veritee_gateway_requests_total\{group="open",class="2xx"\} 1$/m);
      assert.match(text, /^veritee_gateway_refused_total\{reason="unauthenticated"\} 1$/m);
      assert.match(text, /^veritee_gateway_backend_up\{pool="p",backend="0"\} 1$/m);
      assert.ok(!text.includes('/locked/a') && !text.includes('127.0.0.1'), 'no path or address in metrics');
    } finally {
      await client.close();
      await g.close();
      await x.close();
    }
  });

  test('records carry timings, status, flags and group only: nothing identifying', async () => {
    const x = await startBackend('x');
    const g = await startGateway(baseConfig({ pools: { p: { backends: [x.url], healthCheck: false } }, routes: [{ name: 'r', pathPrefix: '/r', pool: 'p' }] }));
    try {
      await send(g.url, '/r/secret-path?token=abc', { headers: { authorization: 'Bearer zzz', 'x-user': 'alice' } });
      await send(g.url, '/nowhere');
      const start = Math.floor(Date.now() / 3_600_000) * 3_600_000;
      const p = g.gw.store.seal(start)!;
      assert.equal(p.requests.length, 2);
      for (const r of p.requests) assert.deepEqual(Object.keys(r).sort(), ['endUs', 'flags', 'group', 'startUs', 'status']);
      assert.equal(p.requests[0]!.status, 200);
      assert.equal(p.requests[0]!.flags, 1 | 4, 'connection ok, served');
      assert.equal(p.requests[1]!.status, 404);
      assert.equal(p.requests[1]!.flags, 1, 'answered by the gateway, not served');
      assert.ok(p.requests[0]!.endUs > p.requests[0]!.startUs);
    } finally {
      await g.close();
      await x.close();
    }
  });
});

describe('client certificates (mTLS)', () => {
  test('a route with mtls: a certificate from the configured CA passes; none, or one from another CA, is 401 and never reaches the upstream', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'veritee-mtls-'));
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ca = (name: string) => {
      ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    };
    const client = (name: string, issuer: string) => {
      ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      writeFileSync(join(dir, 'ext.cnf'), 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', 'ext.cnf');
      return { cert: readFileSync(join(dir, `${name}.pem`)), key: readFileSync(join(dir, `${name}.key`)) };
    };
    ca('ca');
    ca('rogue-ca');
    const alice = client('alice', 'ca');
    const mallory = client('mallory', 'rogue-ca');
    const x = await startBackend('x');
    const g = await startGateway(
      baseConfig({
        mtls: { ca: join(dir, 'ca.pem') },
        pools: { p: { backends: [x.url], healthCheck: false } },
        routes: [
          { name: 'secure', pathPrefix: '/secure', pool: 'p', mtls: true, rateLimit: { ratePerSec: 0.01, burst: 1 } },
          { name: 'open', pathPrefix: '/open', pool: 'p' },
        ],
      }),
    );
    const agent = (c?: { cert: Buffer; key: Buffer }) => new https.Agent({ keepAlive: false, rejectUnauthorized: false, ...(c ?? {}) });
    try {
      assert.equal((await send(g.url, '/open/a', { agent: agent() })).status, 200, 'routes without mtls take clients without certificates');
      const hits = x.hits;
      for (const c of [undefined, mallory]) {
        const r = await send(g.url, '/secure/a', { agent: agent(c) });
        assert.equal(r.status, 401);
        assert.equal(errorCode(r), 'GATEWAY_UNAUTHENTICATED');
        assert.match(String(r.headers['www-authenticate']), /^Mutual/);
      }
      assert.equal(x.hits, hits, 'refused requests never reached the upstream');
      assert.equal((await send(g.url, '/secure/a', { agent: agent(alice) })).status, 200);
      assert.equal((await send(g.url, '/secure/a', { agent: agent(alice) })).status, 429, 'rate-limited per certificate');
      assert.throws(() => parseGatewayConfig({ pools: { p: { backends: [x.url] } }, routes: [{ name: 'r', pathPrefix: '/', pool: 'p', mtls: true }] }), /routes\[0\]\.mtls: needs a top-level mtls\.ca/);
    } finally {
      await g.close();
      await x.close();
    }
  });
  test('a reload that changes the TLS certificate (SIGHUP) keeps verifying client certificates', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { X509Certificate } = await import('node:crypto');
    const dir = mkdtempSync(join(tmpdir(), 'veritee-mtls-reload-'));
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const selfSigned = (name: string, ext: string[]) => ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`, ...ext);
    selfSigned('ca', ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    selfSigned('server-a', []);
    selfSigned('server-b', []);
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'alice.key', '-out', 'alice.csr', '-subj', '/CN=alice');
    writeFileSync(join(dir, 'ext.cnf'), 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
    ssl('x509', '-req', '-in', 'alice.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'alice.pem', '-days', '1', '-extfile', 'ext.cnf');
    const alice = { cert: readFileSync(join(dir, 'alice.pem')), key: readFileSync(join(dir, 'alice.key')) };
    const x = await startBackend('x');
    const cfg = (server: string) =>
      baseConfig({
        tls: { cert: join(dir, `${server}.pem`), key: join(dir, `${server}.key`) },
        mtls: { ca: join(dir, 'ca.pem') },
        pools: { p: { backends: [x.url], healthCheck: false } },
        routes: [{ name: 'secure', pathPrefix: '/secure', pool: 'p', mtls: true }],
      });
    const g = await startGateway(cfg('server-a'));
    const serial = (name: string) => new X509Certificate(readFileSync(join(dir, `${name}.pem`))).serialNumber;
    const call = () =>
      new Promise<{ status: number; serial: string }>((resolve, reject) => {
        const u = new URL(g.url);
        const req = https.request({ host: u.hostname, port: u.port, path: '/secure/a', agent: false, rejectUnauthorized: false, ...alice }, (res) => {
          const s = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, serial: s }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      assert.deepEqual(await call(), { status: 200, serial: serial('server-a') });
      g.gw.reload(parseGatewayConfig(cfg('server-b')));
      assert.deepEqual(await call(), { status: 200, serial: serial('server-b') }, 'the new certificate is served and the client CA still applies');
    } finally {
      await g.close();
      await x.close();
    }
  });
});
