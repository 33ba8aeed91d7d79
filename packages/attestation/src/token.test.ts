import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVeriteeError } from '@veritee/core';
import { parsePolicy } from './policy.js';
import { verifyEvidence } from './verify.js';
import {
  createResultSigner,
  EAR_PROFILE,
  exportSignerJwk,
  issueResultToken,
  loadResultSigner,
  resultJwks,
  tokenAffirms,
  verifyResultToken,
} from './token.js';
import { FIXTURE_TIMES as T, snpFixture } from './testing/envelopes.js';

const policy = parsePolicy({ name: 'fixtures', platforms: ['snp'], reportData: { require: [] }, snp: { measurements: 'any' } });
const nonce = 'ab'.repeat(32);

test('an EAR token carries status, trustworthiness vector, policy id, claims and nonce; verifies against the JWKS', async () => {
  const signer = await createResultSigner();
  const result = await verifyEvidence(snpFixture('milan-v2'), { policy, at: T.snp });
  assert.equal(result.ok, true);
  const token = await issueResultToken({ ...result, nonce }, signer, { at: T.snp, ttlSeconds: 600 });
  const claims = await verifyResultToken(token, resultJwks(signer), { at: new Date(T.snp.getTime() + 599_000) });
  assert.equal(claims.eat_profile, EAR_PROFILE);
  assert.equal(claims.iat, T.snp.getTime() / 1000);
  assert.equal(claims.exp, T.snp.getTime() / 1000 + 600);
  assert.equal(claims.eat_nonce, nonce);
  assert.deepEqual(claims['ear.verifier-id'].developer, 'veritee');
  const sub = claims.submods['snp'];
  assert.ok(sub);
  assert.equal(sub['ear.status'], 'affirming');
  assert.equal(sub['ear.trustworthiness-vector'].hardware, 2);
  assert.equal(sub['ear.appraisal-policy-id'], 'veritee:policy/fixtures');
  assert.equal(sub['veritee.verified'], true);
  assert.equal(sub['veritee.claims']?.measurement, result.claims?.measurement);
  assert.equal('platformData' in (sub['veritee.claims'] ?? {}), false);
  assert.ok(tokenAffirms(claims));
  const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
  assert.deepEqual(header, { alg: 'ES256', kid: signer.kid, typ: 'JWT' });
});

test('a token is refused after exp, before iat, with another key, or tampered', async () => {
  const signer = await createResultSigner();
  const other = await createResultSigner();
  const result = await verifyEvidence(snpFixture('milan-v2'), { policy, at: T.snp });
  const token = await issueResultToken(result, signer, { at: T.snp, ttlSeconds: 60 });
  const jwks = resultJwks(signer);
  const refused = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e) => isVeriteeError(e, 'ATTEST_TOKEN_INVALID') && re.test(e.message));
  await refused(verifyResultToken(token, jwks, { at: new Date(T.snp.getTime() + 60_000) }), /expired/);
  await refused(verifyResultToken(token, jwks, { at: new Date(T.snp.getTime() - 1000) }), /issued after|iat/);
  await refused(verifyResultToken(token, resultJwks(other), { at: T.snp }), /no key|signature/);
  const [h, p, s] = token.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
  payload.submods.snp['ear.status'] = 'affirming';
  payload.submods.snp['veritee.verified'] = true;
  payload.exp += 10_000;
  const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
  await refused(verifyResultToken(forged, jwks, { at: T.snp }), /signature/);
  await refused(verifyResultToken(token, jwks, { at: T.snp, issuer: 'someone-else' }), /iss/);
  // Both keys in the JWKS (rotation): accepted.
  await verifyResultToken(token, resultJwks([other, signer]), { at: T.snp });
});

test('a failed result is still a signed token, saying contraindicated', async () => {
  const signer = await createResultSigner();
  const strict = parsePolicy({ platforms: ['snp'], reportData: { require: ['nonce'] }, snp: { measurements: 'any' } });
  const result = await verifyEvidence(snpFixture('milan-v2'), { policy: strict, at: T.snp });
  assert.equal(result.ok, false);
  const claims = await verifyResultToken(await issueResultToken(result, signer, { at: T.snp }), resultJwks(signer), { at: T.snp });
  assert.equal(claims.submods['snp']?.['ear.status'], 'contraindicated');
  assert.deepEqual(claims.submods['snp']?.['veritee.failed-checks'], ['policy.report_data']);
  assert.equal(tokenAffirms(claims), false);
});

test('several results become several submodules; signing keys persist as JWK or PKCS#8', async () => {
  const signer = await createResultSigner({ issuer: 'https://verifier.example' });
  const r = await verifyEvidence(snpFixture('milan-v2'), { policy, at: T.snp });
  const token = await issueResultToken([r, r], signer, { at: T.snp, audience: 'kms' });
  const claims = await verifyResultToken(token, resultJwks(signer), { at: T.snp, issuer: 'https://verifier.example', audience: 'kms' });
  assert.deepEqual(Object.keys(claims.submods), ['snp', 'snp-1']);

  const dir = mkdtempSync(join(tmpdir(), 'veritee-token-'));
  try {
    const jwkFile = join(dir, 'key.jwk');
    writeFileSync(jwkFile, JSON.stringify(await exportSignerJwk(signer)));
    const again = await loadResultSigner(jwkFile, { issuer: 'https://verifier.example' });
    assert.equal(again.kid, signer.kid);
    await verifyResultToken(await issueResultToken(r, again, { at: T.snp }), resultJwks(signer), { at: T.snp, issuer: 'https://verifier.example' });
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pemFile = join(dir, 'key.pem');
    writeFileSync(pemFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const fromPem = await loadResultSigner(pemFile);
    await verifyResultToken(await issueResultToken(r, fromPem, { at: T.snp }), resultJwks(fromPem), { at: T.snp });
    writeFileSync(pemFile, 'garbage');
    await assert.rejects(loadResultSigner(pemFile), (e) => isVeriteeError(e, 'INPUT_INVALID'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a token whose payload holds a duplicate key is refused, even with a valid signature', async () => {
  const { CompactSign } = await import('jose');
  const signer = await createResultSigner();
  const result = await verifyEvidence(snpFixture('milan-v2'), { policy, at: T.snp });
  // a failed result: its submodule says contraindicated
  const failed = { ...result, ok: false, appraisal: { ...result.appraisal, status: 'contraindicated' as const } };
  const honest = await issueResultToken(failed, signer, { at: T.snp, ttlSeconds: 600 });
  const jwks = resultJwks(signer);
  const claims = await verifyResultToken(honest, jwks, { at: T.snp });
  assert.equal(tokenAffirms(claims), false);
  // The same claims, with `"ear.status": "affirming"` (and veritee.verified true) appended
  // after the real values: JSON.parse (and so jose) would keep the affirming ones.
  const text = Buffer.from(honest.split('.')[1]!, 'base64url').toString('utf8');
  const dup = text.replace('"ear.status":"contraindicated"', '"ear.status":"contraindicated","ear.status":"affirming"').replace('"veritee.verified":false', '"veritee.verified":false,"veritee.verified":true');
  assert.notEqual(dup, text);
  assert.equal(tokenAffirms(JSON.parse(dup) as Parameters<typeof tokenAffirms>[0]), true, 'last-wins parsing would affirm');
  const forged = await new CompactSign(new TextEncoder().encode(dup)).setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'JWT' }).sign(signer.privateKey);
  await assert.rejects(verifyResultToken(forged, jwks, { at: T.snp }), (e) => isVeriteeError(e, 'ATTEST_TOKEN_INVALID') && /duplicate key "ear.status"/.test(e.message));
  // a duplicate in the protected header too
  const dupHeader = await new CompactSign(new TextEncoder().encode(text)).setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'JWT' }).sign(signer.privateKey);
  const [h, p, s] = dupHeader.split('.');
  const hText = Buffer.from(h!, 'base64url').toString('utf8').replace('"typ":"JWT"', '"typ":"JWT","typ":"JWT"');
  await assert.rejects(verifyResultToken(`${Buffer.from(hText).toString('base64url')}.${p}.${s}`, jwks, { at: T.snp }), (e) => isVeriteeError(e, 'ATTEST_TOKEN_INVALID') && /duplicate key "typ"/.test(e.message));
});
