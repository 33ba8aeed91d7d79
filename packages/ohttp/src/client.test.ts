/**
 * The client refuses gateways whose attestation does not bind the key configuration it
 * would encrypt to. Each case is a fake gateway on loopback that lies in one way; a
 * counting relay proves that no request was ever sent.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromHex, isVeriteeError, toBase64, toHex } from '@veritee/core';
import { anchorsToJson, computeReportData, SimulatedTee, type EvidenceEnvelope } from '@veritee/attestation';
import { OhttpClient, closeSharedAgent, verifyGateway, defaultAttestationUrl } from './client.js';
import { KeyStore } from './keyconfig.js';
import { ATTESTATION_FORMAT, type GatewayAttestation } from './gateway.js';
import { devPolicy } from './testing.js';

let tee: SimulatedTee;
let attested: KeyStore; // the keys the (simulated) TEE attests
let other: KeyStore; // keys an attacker would like the client to use

/** How the fake gateway answers; each test sets it. */
let serveKeys: () => Uint8Array;
let serveAttestation: (nonceHex: string) => Partial<GatewayAttestation> & { evidence?: EvidenceEnvelope };
let fake: Server;
let fakeUrl: string;
let relayHits = 0;
let relay: Server;
let relayUrl: string;

function doc(keys: KeyStore, nonceHex: string, reportData: Uint8Array, over: Partial<GatewayAttestation> = {}): GatewayAttestation {
  return {
    format: ATTESTATION_FORMAT,
    keyConfigSha256: toHex(keys.digest()),
    keyConfigs: toBase64(keys.encoded()),
    nonce: nonceHex,
    binding: 'test',
    platform: 'tdx',
    simulated: true,
    evidence: tee.evidence('tdx', { reportData }),
    simulatedAnchors: anchorsToJson(tee.anchors),
    ...over,
  };
}

const honest = (nonceHex: string) => doc(attested, nonceHex, computeReportData({ publicKeyHash: attested.digest(), nonce: fromHex(nonceHex) }));

before(async () => {
  tee = await SimulatedTee.create({ platforms: ['tdx'] });
  attested = await KeyStore.create();
  other = await KeyStore.create();
  fake = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/ohttp-keys') {
      res.writeHead(200, { 'content-type': 'application/ohttp-keys' }).end(Buffer.from(serveKeys()));
    } else if (u.pathname === '/attestation') {
      const a: unknown = serveAttestation(u.searchParams.get('nonce') ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end(typeof a === 'string' ? a : JSON.stringify(a));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  relay = createServer((req, res) => {
    relayHits++;
    req.resume();
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
});

after(async () => {
  await closeSharedAgent();
  for (const s of [fake, relay]) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

const connect = (policy = devPolicy()) => OhttpClient.connect({ relayUrl, keysUrl: `${fakeUrl}/ohttp-keys`, policy });

async function refused(code: string): Promise<void> {
  const hits = relayHits;
  await assert.rejects(connect(), (e) => isVeriteeError(e) && e.code === code, `expected ${code}`);
  assert.equal(relayHits, hits, 'nothing was sent through the relay');
}

test('an honest gateway is accepted (the fake serves attested keys with bound evidence)', async () => {
  serveKeys = () => attested.encoded();
  serveAttestation = honest;
  const g = await verifyGateway({ keysUrl: `${fakeUrl}/ohttp-keys`, policy: devPolicy() });
  assert.equal(g.keyConfigSha256, toHex(attested.digest()));
  assert.equal(g.simulated, true);
  assert.equal(defaultAttestationUrl(`${fakeUrl}/ohttp-keys`), `${fakeUrl}/attestation`);
});

test('refused: the keys served are not the keys the attestation describes (swapped in transit)', async () => {
  serveKeys = () => other.encoded();
  serveAttestation = honest;
  await refused('OHTTP_KEY_BINDING_MISMATCH');
});

test('refused: the document describes the served keys, but the evidence binds other keys', async () => {
  serveKeys = () => other.encoded();
  serveAttestation = (n) =>
    doc(other, n, computeReportData({ publicKeyHash: attested.digest(), nonce: fromHex(n) }), {
      keyConfigSha256: toHex(other.digest()),
      keyConfigs: toBase64(other.encoded()),
    });
  await refused('OHTTP_KEY_BINDING_MISMATCH');
});

test('refused: the evidence binds the nonce but no key configuration', async () => {
  serveKeys = () => attested.encoded();
  serveAttestation = (n) => doc(attested, n, computeReportData({ nonce: fromHex(n) }));
  await refused('OHTTP_KEY_BINDING_MISMATCH');
});

test('refused: replayed evidence (bound to the keys and an old nonce, echoing the new nonce)', async () => {
  const old = new Uint8Array(32).fill(1);
  serveKeys = () => attested.encoded();
  serveAttestation = (n) => doc(attested, n, computeReportData({ publicKeyHash: attested.digest(), nonce: old }));
  await refused('OHTTP_KEY_BINDING_MISMATCH');
});

test('refused: evidence for another nonce than the one sent', async () => {
  serveKeys = () => attested.encoded();
  serveAttestation = (n) => ({ ...honest(n), nonce: '00'.repeat(32) });
  await refused('ATTEST_NONCE_INVALID');
});

test('refused: simulated evidence under a policy without allowSimulated, and a measurement not allowed', async () => {
  serveKeys = () => attested.encoded();
  serveAttestation = honest;
  const hits = relayHits;
  await assert.rejects(connect(devPolicy({ allowSimulated: false })), (e) => isVeriteeError(e, 'ATTEST_SIMULATED_REFUSED'));
  await assert.rejects(connect(devPolicy({ platforms: ['tdx'], tdx: { mrtd: ['ab'.repeat(48)] } })), (e) => isVeriteeError(e, 'ATTEST_MEASUREMENT_MISMATCH'));
  // a gateway that hides that its evidence is simulated gains nothing: the chain only verifies with the simulator's anchors
  serveAttestation = (n) => {
    const d = honest(n);
    delete d.simulatedAnchors;
    return { ...d, simulated: false };
  };
  await assert.rejects(connect(devPolicy({ allowSimulated: false })), (e) => isVeriteeError(e) && e.code.startsWith('ATTEST_'));
  assert.equal(relayHits, hits);
});

test('refused: an attestation document with a duplicate key (JSON.parse would read the last value)', async () => {
  serveKeys = () => attested.encoded();
  // The honest document with a second "platform" in front: last-wins parsing accepts it.
  const dup = (n: string) => JSON.stringify(honest(n)).replace('"platform":', '"platform":"snp","platform":');
  assert.equal((JSON.parse(dup('ab'.repeat(32))) as { platform: string }).platform, 'tdx');
  serveAttestation = dup as unknown as typeof serveAttestation;
  await refused('INPUT_JSON_INVALID');
  await assert.rejects(connect(), (e) => isVeriteeError(e) && /duplicate key "platform"/.test(e.message));
  serveAttestation = honest;
  await connect(); // and the same document without the duplicate is accepted
});

test('refused: malformed documents and key configurations', async () => {
  serveKeys = () => attested.encoded();
  serveAttestation = (n) => ({ ...honest(n), format: 'something-else' as typeof ATTESTATION_FORMAT });
  await refused('ATTEST_EVIDENCE_INVALID');
  serveKeys = () => new Uint8Array([0, 50, 1, 2, 3]);
  serveAttestation = honest;
  await refused('OHTTP_KEY_CONFIG_INVALID');
});

test('an unencapsulated refusal from the relay is reported as its word, quoted and bounded (no raw control bytes)', async () => {
  serveKeys = () => attested.encoded();
  serveAttestation = honest;
  const hostile = createServer((req, res) => {
    req.resume();
    res
      .writeHead(400, { 'content-type': 'application/problem+json' })
      .end(JSON.stringify({ type: 'about:blank', status: 400, code: 'OHTTP_REPLAY', detail: '\x1b[2J' + 'x'.repeat(100_000) }));
  });
  await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', r));
  try {
    const client = await OhttpClient.connect({ relayUrl: `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/`, keysUrl: `${fakeUrl}/ohttp-keys`, policy: devPolicy() });
    await assert.rejects(client.request({ url: 'http://target.example/' }), (e) => {
      assert.ok(isVeriteeError(e, 'OHTTP_RELAY_ERROR'), String(e));
      assert.ok(e.message.length < 500, `message is ${e.message.length} characters`);
      assert.ok(!e.message.includes('\x1b'), 'control bytes are escaped');
      assert.match(e.message, /\\x1b\[2J/);
      return true;
    });
  } finally {
    hostile.closeAllConnections();
    await new Promise<void>((r) => hostile.close(() => r()));
  }
});
