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
  const token = await issueResultToken({ ...result, nonce }, signer, { at: T.snp, ttlSeconds: 600, audience: 'https://rp.example' });
  const claims = await verifyResultToken(token, resultJwks(signer), { at: new Date(T.snp.getTime() + 599_000), audience: 'https://rp.example' });
  assert.equal(claims.aud, 'https://rp.example');
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
  const any = { anyAudience: true } as const;
  await refused(verifyResultToken(token, jwks, { ...any, at: new Date(T.snp.getTime() + 60_000) }), /expired/);
  await refused(verifyResultToken(token, jwks, { ...any, at: new Date(T.snp.getTime() - 1000) }), /issued after|iat/);
  await refused(verifyResultToken(token, resultJwks(other), { ...any, at: T.snp }), /no key|signature/);
  const [h, p, s] = token.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
  payload.submods.snp['ear.status'] = 'affirming';
  payload.submods.snp['veritee.verified'] = true;
  payload.exp += 10_000;
  const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
  await refused(verifyResultToken(forged, jwks, { ...any, at: T.snp }), /signature/);
  await refused(verifyResultToken(token, jwks, { ...any, at: T.snp, issuer: 'someone-else' }), /iss/);
  // Both keys in the JWKS (rotation): accepted.
  await verifyResultToken(token, resultJwks([other, signer]), { ...any, at: T.snp });
});

test('a failed result is still a signed token, saying contraindicated', async () => {
  const signer = await createResultSigner();
  const strict = parsePolicy({ platforms: ['snp'], reportData: { require: ['nonce'] }, snp: { measurements: 'any' } });
  const result = await verifyEvidence(snpFixture('milan-v2'), { policy: strict, at: T.snp });
  assert.equal(result.ok, false);
  const claims = await verifyResultToken(await issueResultToken(result, signer, { at: T.snp }), resultJwks(signer), { at: T.snp, anyAudience: true, accept: 'any' });
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
    await verifyResultToken(await issueResultToken(r, again, { at: T.snp }), resultJwks(signer), { at: T.snp, issuer: 'https://verifier.example', anyAudience: true });
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pemFile = join(dir, 'key.pem');
    writeFileSync(pemFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const fromPem = await loadResultSigner(pemFile);
    await verifyResultToken(await issueResultToken(r, fromPem, { at: T.snp }), resultJwks(fromPem), { at: T.snp, anyAudience: true });
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
  const claims = await verifyResultToken(honest, jwks, { at: T.snp, anyAudience: true, accept: 'any' });
  assert.equal(tokenAffirms(claims), false);
  // The same claims, with `"ear.status": "affirming"` (and veritee.verified true) appended
  // after the real values: JSON.parse (and so jose) would keep the affirming ones.
  const text = Buffer.from(honest.split('.')[1]!, 'base64url').toString('utf8');
  const dup = text.replace('"ear.status":"contraindicated"', '"ear.status":"contraindicated","ear.status":"affirming"').replace('"veritee.verified":false', '"veritee.verified":false,"veritee.verified":true');
  assert.notEqual(dup, text);
  assert.equal(tokenAffirms(JSON.parse(dup) as Parameters<typeof tokenAffirms>[0]), true, 'last-wins parsing would affirm');
  const forged = await new CompactSign(new TextEncoder().encode(dup)).setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'JWT' }).sign(signer.privateKey);
  await assert.rejects(verifyResultToken(forged, jwks, { at: T.snp, anyAudience: true, accept: 'any' }), (e) => isVeriteeError(e, 'ATTEST_TOKEN_INVALID') && /duplicate key "ear.status"/.test(e.message));
  // a duplicate in the protected header too
  const dupHeader = await new CompactSign(new TextEncoder().encode(text)).setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'JWT' }).sign(signer.privateKey);
  const [h, p, s] = dupHeader.split('.');
  const hText = Buffer.from(h!, 'base64url').toString('utf8').replace('"typ":"JWT"', '"typ":"JWT","typ":"JWT"');
  await assert.rejects(verifyResultToken(`${Buffer.from(hText).toString('base64url')}.${p}.${s}`, jwks, { at: T.snp, anyAudience: true, accept: 'any' }), (e) => isVeriteeError(e, 'ATTEST_TOKEN_INVALID') && /duplicate key "typ"/.test(e.message));
});

test('audience: a token for relying party A is refused at B; a token without aud is refused when an audience is expected', async () => {
  const signer = await createResultSigner();
  const jwks = resultJwks(signer);
  const r = await verifyEvidence(snpFixture('milan-v2'), { policy, at: T.snp });
  assert.equal(r.ok, true);
  const forA = await issueResultToken(r, signer, { at: T.snp, audience: 'https://a.example' });
  const forNobody = await issueResultToken(r, signer, { at: T.snp });
  const invalid = (re: RegExp) => (e: unknown) => isVeriteeError(e, 'ATTEST_TOKEN_INVALID') && re.test(e.message);

  assert.equal((await verifyResultToken(forA, jwks, { at: T.snp, audience: 'https://a.example' })).aud, 'https://a.example');
  await assert.rejects(verifyResultToken(forA, jwks, { at: T.snp, audience: 'https://b.example' }), invalid(/not issued for this audience.*"https:\/\/b\.example".*aud/));
  await assert.rejects(verifyResultToken(forNobody, jwks, { at: T.snp, audience: 'https://a.example' }), invalid(/no aud/));
  // One of several accepted audiences.
  await verifyResultToken(forA, jwks, { at: T.snp, audience: ['https://b.example', 'https://a.example'] });
  // Not saying who you are is a programming error, not an accept.
  await assert.rejects(verifyResultToken(forNobody, jwks, { at: T.snp }), (e) => isVeriteeError(e, 'INPUT_INVALID') && /audience/.test(e.message));
  await assert.rejects(verifyResultToken(forA, jwks, { at: T.snp, audience: '' }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
  // Opting out is explicit.
  await verifyResultToken(forNobody, jwks, { at: T.snp, anyAudience: true });
});

test('verdict: a correctly signed contraindicated token is refused with ATTEST_TOKEN_NOT_AFFIRMING; warning only when asked', async () => {
  const signer = await createResultSigner();
  const jwks = resultJwks(signer);
  const strict = parsePolicy({ platforms: ['snp'], reportData: { require: ['nonce'] }, snp: { measurements: 'any' } });
  const failed = await verifyEvidence(snpFixture('milan-v2'), { policy: strict, at: T.snp });
  assert.equal(failed.ok, false);
  const bad = await issueResultToken(failed, signer, { at: T.snp, audience: 'rp' });
  const notAffirming = (e: unknown) =>
    isVeriteeError(e, 'ATTEST_TOKEN_NOT_AFFIRMING') && /contraindicated/.test(e.message) && /policy\.report_data/.test(e.message);
  await assert.rejects(verifyResultToken(bad, jwks, { at: T.snp, audience: 'rp' }), notAffirming);
  await assert.rejects(verifyResultToken(bad, jwks, { at: T.snp, audience: 'rp', accept: 'warning' }), notAffirming);

  // A warning verdict (here: hand-signed, same key) passes only with accept: 'warning'.
  const good = await verifyEvidence(snpFixture('milan-v2'), { policy, at: T.snp });
  const warned = await issueResultToken({ ...good, appraisal: { ...good.appraisal, status: 'warning' } }, signer, { at: T.snp, audience: 'rp' });
  await assert.rejects(verifyResultToken(warned, jwks, { at: T.snp, audience: 'rp' }), (e) => isVeriteeError(e, 'ATTEST_TOKEN_NOT_AFFIRMING') && /warning/.test(e.message));
  const claims = await verifyResultToken(warned, jwks, { at: T.snp, audience: 'rp', accept: 'warning' });
  assert.equal(claims.submods['snp']?.['ear.status'], 'warning');
  // One contraindicated submodule among affirming ones fails the whole token.
  const mixed = await issueResultToken([good, failed], signer, { at: T.snp, audience: 'rp' });
  await assert.rejects(verifyResultToken(mixed, jwks, { at: T.snp, audience: 'rp' }), (e) => isVeriteeError(e, 'ATTEST_TOKEN_NOT_AFFIRMING'));
  // accept: 'any' hands the claims over for the caller to judge.
  assert.equal((await verifyResultToken(mixed, jwks, { at: T.snp, audience: 'rp', accept: 'any' })).submods['snp-1']?.['ear.status'], 'contraindicated');
});
