// The console's audit-chain check against a real KMS audit log (embedded PGlite, the KMS's
// own AuditLog writing it): an intact log verifies; an edited, deleted, reordered or
// truncated one does not, naming the entry — and it agrees with the KMS's own verifier
// (which also checks MACs with the root key).
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parsePolicy } from '@veritee/attestation';
import { Kms, openEmbedded, rootKeyBytes, verifyAudit, type SqlDb } from '@veritee/kms';
import { auditEntryHash, AUDIT_GENESIS, parseAuditHead, verifyAuditChain, type AuditRecordJson } from './audit-chain.js';

let db: SqlDb;
let kms: Kms;

before(async () => {
  db = await openEmbedded();
  kms = await Kms.open({ db, rootKey: rootKeyBytes(new Uint8Array(randomBytes(32))), attestationPolicy: parsePolicy({ name: 't', platforms: ['snp'], allowSimulated: true, snp: { measurements: 'any' } }) });
});
after(() => db.close());

beforeEach(async () => {
  await tamper('DELETE FROM kms_audit');
  for (let i = 0; i < 8; i++) {
    await kms.audit.append({ tenant: i % 2 ? 'acme' : '', actor: i % 3 ? `session:${i}` : 'system', action: i % 2 ? 'kbs.release' : 'kbs.attest', decision: i === 5 ? 'deny' : 'allow', resource: `acme/app/k${i}`, policyVersions: { app: i }, reason: `r\u00e9ason "${i}"\n` });
  }
});

/** What the console's browser gets: the KMS's list, through JSON. */
const listed = async (): Promise<AuditRecordJson[]> => JSON.parse(JSON.stringify(await kms.audit.list())) as AuditRecordJson[];

test('an intact log verifies, the hash formula is the KMS one, and MACs are said to be unchecked', async () => {
  const records = await listed();
  const v = verifyAuditChain(records);
  assert.deepEqual(v.problems, []);
  assert.equal(v.ok, true);
  assert.equal(v.entries, 8);
  assert.deepEqual(v.head, { seq: 8, hash: records[7]!.hash });
  assert.equal(v.macsChecked, false);
  assert.equal(v.headChecked, false);
  assert.equal(records[0]!.prevHash, AUDIT_GENESIS);
  assert.equal(auditEntryHash(1, Date.parse(records[0]!.at), AUDIT_GENESIS, records[0]!.entry), records[0]!.hash);
  assert.equal(verifyAuditChain(records, { expectHead: parseAuditHead(`8:${records[7]!.hash}`) }).ok, true);
  assert.equal(verifyAuditChain(records, { expectHead: { seq: 3, hash: records[2]!.hash } }).ok, true, 'a log that grew past the recorded head still reaches it');
  assert.equal((await verifyAudit(db, kms.keys)).ok, true);
});

test('an edited entry is caught (as the KMS itself catches it)', async () => {
  await tamper(`UPDATE kms_audit SET entry = replace(entry, '"decision":"deny"', '"decision":"allow"') WHERE seq = 6`);
  const v = verifyAuditChain(await listed());
  assert.equal(v.ok, false);
  assert.deepEqual(v.problems.map((p) => [p.kind, p.seq]), [['edited', 6]]);
  assert.match(v.problems[0]!.detail, /entry 6: its content does not match its hash \(edited\)/);
  const k = await verifyAudit(db, kms.keys);
  assert.ok(k.problems.some((p) => /entry 6: content does not match/.test(p)));
  // The time is part of the hash too.
  await beforeEachAgain();
  await tamper('UPDATE kms_audit SET at_ms = at_ms + 1 WHERE seq = 2');
  assert.deepEqual(verifyAuditChain(await listed()).problems.map((p) => [p.kind, p.seq]), [['edited', 2]]);
});

test('deleted entries are caught: in the middle, and at the head of the log', async () => {
  await tamper('DELETE FROM kms_audit WHERE seq IN (3, 4)');
  const v = verifyAuditChain(await listed());
  assert.equal(v.ok, false);
  assert.deepEqual(v.problems.map((p) => p.kind), ['deleted', 'deleted']);
  assert.match(v.problems[0]!.detail, /entries 3\.\.4 are missing \(the next present is 5\): deleted/);
  assert.match(v.problems[1]!.detail, /entry 5: prev_hash does not match/);
  await beforeEachAgain();
  await tamper('DELETE FROM kms_audit WHERE seq = 1');
  const h = verifyAuditChain(await listed());
  assert.deepEqual(h.problems.map((p) => [p.kind, p.seq]), [['deleted', 1], ['deleted', 2]]);
});

test('reordered entries are caught', async () => {
  const r = await listed();
  [r[3], r[4]] = [r[4]!, r[3]!];
  const v = verifyAuditChain(r);
  assert.equal(v.ok, false);
  assert.ok(v.problems.some((p) => p.kind === 'reordered' && p.seq === 4), JSON.stringify(v.problems));
});

test('a truncated tail is caught against a recorded head, and only then (said so)', async () => {
  const full = await listed();
  const head = { seq: 8, hash: full[7]!.hash };
  await tamper('DELETE FROM kms_audit WHERE seq > 5');
  const cut = await listed();
  const v = verifyAuditChain(cut, { expectHead: head });
  assert.equal(v.ok, false);
  assert.deepEqual(v.problems.map((p) => [p.kind, p.seq]), [['truncated', 8]]);
  assert.match(v.problems[0]!.detail, /the recorded head 8 is gone: the log ends at 5 \(truncated\)/);
  const blind = verifyAuditChain(cut);
  assert.equal(blind.ok, true, 'without a recorded head a shorter chain is a valid younger chain');
  assert.equal(blind.headChecked, false);
  assert.equal(verifyAuditChain([]).ok, false, 'an empty log fails closed');
});

test('a log rewritten from an edit on (hashes recomputed) passes the chain but not the recorded head', async () => {
  const full = await listed();
  const head = { seq: 8, hash: full[7]!.hash };
  // Someone with the database (not the root key) edits entry 6 and recomputes every hash after it.
  const forged = full.map((r) => ({ ...r, entry: { ...r.entry } }));
  forged[5]!.entry['decision'] = 'allow';
  let prev = forged[4]!.hash;
  for (const r of forged.slice(5)) {
    r.prevHash = prev;
    r.hash = auditEntryHash(r.seq, Date.parse(r.at), prev, r.entry);
    prev = r.hash;
  }
  assert.equal(verifyAuditChain(forged).ok, true, 'the chain alone cannot see it: the MACs (root key) or a recorded head can');
  const v = verifyAuditChain(forged, { expectHead: head });
  assert.deepEqual(v.problems.map((p) => [p.kind, p.seq]), [['edited', 8]]);
});

test('malformed records fail closed', () => {
  const v = verifyAuditChain([{ seq: 1, at: 'x', entry: {}, prevHash: AUDIT_GENESIS, hash: 'zz' }, null, 'str']);
  assert.equal(v.ok, false);
  assert.ok(v.problems.every((p) => p.kind === 'malformed'));
  assert.throws(() => parseAuditHead('8:ABC'), /SEQ:HASH/);
});

/** What someone who owns the database can do: the append-only trigger is switched off around the edit. */
async function tamper(sql: string): Promise<void> {
  await db.query('ALTER TABLE kms_audit DISABLE TRIGGER kms_audit_append_only');
  try {
    await db.query(sql);
  } finally {
    await db.query('ALTER TABLE kms_audit ENABLE TRIGGER kms_audit_append_only');
  }
}

async function beforeEachAgain(): Promise<void> {
  await tamper('DELETE FROM kms_audit');
  for (let i = 0; i < 8; i++) await kms.audit.append({ tenant: '', actor: 'system', action: 'kbs.attest', decision: i === 5 ? 'deny' : 'allow' });
}
