/**
 * @module audit-chain
 * Verifies the KMS audit log's hash chain where it is read (the console runs this in the
 * browser; it imports no Node built-in). The KMS writes, per entry,
 *
 *   hash_n = SHA-256( "veritee.kms.audit/v1" \n seq \n at_ms \n prev_hash \n canonical-JSON(entry) )
 *
 * with prev_hash of entry 1 = 64 zeros (packages/kms/src/audit.ts). From the records the
 * KMS's `GET /kms/v0/audit` returns, this recomputes every hash and checks that:
 * - sequence numbers run 1, 2, 3 … (a gap is a deleted entry; a first entry other than 1
 *   or a prev_hash of entry 1 other than zeros is a deleted head);
 * - each prev_hash is the hash of the entry before it (reordered or deleted entries);
 * - each hash matches the entry's content (an edited entry);
 * - the chain still reaches a head recorded earlier, when one is given (a truncated tail:
 *   without such a head, a shorter chain is indistinguishable from a younger one).
 *
 * NOT checked: the entries' MACs. They are keyed by the KMS root key, which never leaves
 * the KMS; someone who can rewrite the whole database can recompute every hash from the
 * edited entry on, which only `veritee kms audit verify` (MACs) or a recorded head catches.
 */
import { canonicalJson, sha256, toHex, utf8 } from '@veritee/core';

export const AUDIT_GENESIS = '0'.repeat(64);

/** One record as `GET /kms/v0/audit` returns it. */
export interface AuditRecordJson {
  seq: number;
  at: string;
  entry: Record<string, unknown>;
  prevHash: string;
  hash: string;
  mac?: string;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

export type AuditProblemKind = 'malformed' | 'deleted' | 'reordered' | 'edited' | 'truncated';

export interface AuditProblem {
  kind: AuditProblemKind;
  seq: number;
  detail: string;
}

export interface AuditChainResult {
  ok: boolean;
  entries: number;
  head: AuditHead | null;
  problems: AuditProblem[];
  /** Always false: MACs need the KMS root key. */
  macsChecked: false;
  /** Whether a recorded head was given (without one a truncated tail cannot be seen). */
  headChecked: boolean;
}

/** At most this many problems are listed (a rewritten log would otherwise list every entry). */
export const MAX_AUDIT_PROBLEMS = 50;

const HEX64 = /^[0-9a-f]{64}$/;

/** The chain hash of one entry (the KMS's formula). */
export function auditEntryHash(seq: number, atMs: number, prevHash: string, entry: unknown): string {
  return toHex(sha256(utf8(`veritee.kms.audit/v1\n${seq}\n${atMs}\n${prevHash}\n${canonicalJson(entry)}`)));
}

/** Parses `SEQ:HASH` (as `veritee kms audit verify` prints a head). */
export function parseAuditHead(text: string): AuditHead {
  const m = /^\s*(\d{1,15}):([0-9a-f]{64})\s*$/.exec(text);
  if (!m) throw new Error('a recorded head is SEQ:HASH (a sequence number, a colon, 64 lowercase hex digits)');
  return { seq: Number(m[1]), hash: m[2]! };
}

function wellFormed(r: unknown): r is AuditRecordJson {
  const x = r as Partial<AuditRecordJson> | null;
  return (
    x !== null &&
    typeof x === 'object' &&
    Number.isSafeInteger(x.seq) &&
    (x.seq as number) >= 1 &&
    typeof x.at === 'string' &&
    !Number.isNaN(Date.parse(x.at)) &&
    x.entry !== null &&
    typeof x.entry === 'object' &&
    !Array.isArray(x.entry) &&
    typeof x.prevHash === 'string' &&
    HEX64.test(x.prevHash) &&
    typeof x.hash === 'string' &&
    HEX64.test(x.hash)
  );
}

/** Verifies the whole log, in the order given (the KMS lists it by seq). Fails closed: no records is not ok. */
export function verifyAuditChain(records: readonly unknown[], opts: { expectHead?: AuditHead } = {}): AuditChainResult {
  const problems: AuditProblem[] = [];
  const add = (p: AuditProblem) => {
    if (problems.length < MAX_AUDIT_PROBLEMS) problems.push(p);
  };
  let prev = AUDIT_GENESIS;
  let expected = 1;
  let head: AuditHead | null = null;
  const hashAt = new Map<number, string>();
  for (const [i, r] of records.entries()) {
    if (!wellFormed(r)) {
      add({ kind: 'malformed', seq: expected, detail: `record ${i + 1} is not an audit record (seq, at, entry, prevHash, hash)` });
      expected += 1;
      continue;
    }
    if (r.seq < expected) add({ kind: 'reordered', seq: r.seq, detail: `entry ${r.seq} appears after entry ${expected - 1}: reordered or duplicated` });
    else if (r.seq > expected) add({ kind: 'deleted', seq: expected, detail: `entr${r.seq - 1 > expected ? `ies ${expected}..${r.seq - 1} are` : `y ${expected} is`} missing (the next present is ${r.seq}): deleted` });
    if (r.prevHash !== prev) {
      add({ kind: r.seq === expected ? 'reordered' : 'deleted', seq: r.seq, detail: `entry ${r.seq}: prev_hash does not match the hash of the entry before it` });
    }
    let recomputed: string;
    try {
      recomputed = auditEntryHash(r.seq, Date.parse(r.at), r.prevHash, r.entry);
    } catch {
      recomputed = '';
    }
    if (recomputed !== r.hash) add({ kind: 'edited', seq: r.seq, detail: `entry ${r.seq}: its content does not match its hash (edited)` });
    hashAt.set(r.seq, r.hash);
    prev = r.hash;
    expected = r.seq + 1;
    head = { seq: r.seq, hash: r.hash };
  }
  if (records.length === 0) add({ kind: 'truncated', seq: 0, detail: 'the log is empty' });
  if (opts.expectHead) {
    const h = opts.expectHead;
    const got = hashAt.get(h.seq);
    if (got === undefined) add({ kind: 'truncated', seq: h.seq, detail: `the recorded head ${h.seq} is gone: the log ends at ${head ? head.seq : 'nothing'} (truncated)` });
    else if (got !== h.hash) add({ kind: 'edited', seq: h.seq, detail: `entry ${h.seq} no longer has the recorded head hash (rewritten)` });
  }
  return { ok: problems.length === 0, entries: records.length, head, problems, macsChecked: false, headChecked: opts.expectHead !== undefined };
}
