/**
 * @module commands/audit
 * `veritee audit --records FILE --bundle B --opening O`: a holder of the raw
 * records checks that a bundle was computed from exactly those records (see
 * @veritee/zk audit.ts). The opening is the JSON `prove --opening-out` writes
 * ({"salt": "<decimal>"}); `--salt` gives the salt directly.
 */
import { Command } from 'commander';
import { parseJsonStrict, quoteInput, VeriteeError } from '@veritee/core';
import { auditBundle, detectRecordsFormat, LATENCY_CLAIM, parseProofBundle, parseRecordsText, toPeriodOffsets, type LatencyParams } from '@veritee/zk';
import { MAX_JSON_BYTES, MAX_RECORDS_BYTES, printChecks, readTextFile } from '../io.js';
import { homeOf, withPool } from './common.js';

function parseSalt(v: string, what: string): bigint {
  if (!/^(0|[1-9][0-9]{0,77})$/.test(v)) throw new VeriteeError('INPUT_INVALID', `${what} ${quoteInput(v, 40)} must be a decimal field element`);
  return BigInt(v);
}

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('check that a proof bundle was computed from exactly these records (needs the salt from `prove --opening-out`)')
    .requiredOption('--bundle <file>', 'the proof bundle')
    .option('--records <file>', 'latency: the request records (CSV start_us,end_us or JSON Lines), absolute microseconds')
    .option('--data <file>', 'other claims: the private data as JSON, in the form of the claim module ({"data": {...}})')
    .option('--opening <file>', 'the opening JSON written by `prove --opening-out` ({"salt": "..."})')
    .option('--salt <decimal>', 'the salt, instead of --opening')
    .option('--home <dir>', 'veritee home directory with the proving key of the bundle (default $VERITEE_HOME or ~/.veritee)')
    .option('--json', 'machine-readable result on stdout')
    .action(async (o: { bundle: string; records?: string; data?: string; opening?: string; salt?: string; home?: string; json?: boolean }) => {
      const text = readTextFile(o.bundle, 'proof bundle', { maxBytes: MAX_JSON_BYTES });
      const bundle = parseProofBundle(text);
      if ((o.opening === undefined) === (o.salt === undefined)) throw new VeriteeError('INPUT_INVALID', 'give the salt with exactly one of --opening and --salt');
      let salt: bigint;
      if (o.opening !== undefined) {
        const op = parseJsonStrict(readTextFile(o.opening, 'opening', { maxBytes: 4096 }), { what: 'opening', code: 'INPUT_JSON_INVALID', maxDepth: 4 }) as { salt?: unknown };
        if (typeof op !== 'object' || op === null || typeof op.salt !== 'string') throw new VeriteeError('INPUT_INVALID', 'the opening must be a JSON object with a decimal "salt"');
        salt = parseSalt(op.salt, 'opening salt');
      } else {
        salt = parseSalt(o.salt!, '--salt');
      }
      let data: unknown;
      if (bundle.claim.kind === LATENCY_CLAIM) {
        if (!o.records) throw new VeriteeError('INPUT_INVALID', 'a latency bundle is audited against --records');
        const recText = readTextFile(o.records, 'records file', { maxBytes: MAX_RECORDS_BYTES });
        const fmt = detectRecordsFormat(o.records, recText);
        data = (p: LatencyParams) => ({ records: toPeriodOffsets(parseRecordsText(recText, fmt), p.periodStartUs, p.periodEndUs) });
      } else {
        if (!o.data) throw new VeriteeError('INPUT_INVALID', `a ${bundle.claim.kind} bundle is audited against --data`);
        const d = parseJsonStrict(readTextFile(o.data, 'data file', { maxBytes: MAX_RECORDS_BYTES }), { what: 'data file', code: 'INPUT_JSON_INVALID', maxDepth: 16 }) as { data?: unknown };
        if (typeof d !== 'object' || d === null || d.data === undefined) throw new VeriteeError('INPUT_INVALID', 'the data file must be a JSON object {"data": {...}}');
        data = d.data;
      }
      const r = await withPool(homeOf(o), (pool) => auditBundle(pool, { bundle: text, data, salt }));
      if (o.json) process.stdout.write(JSON.stringify({ ok: r.ok, checks: r.checks }, null, 2) + '\n');
      else {
        process.stdout.write(`${r.ok ? 'AUDIT PASSED' : 'AUDIT FAILED'}: ${quoteInput(o.bundle, 200)} (${bundle.claim.kind} v${bundle.claim.version})\n`);
        printChecks(r.checks);
      }
      const failed = r.checks.filter((c) => !c.ok);
      if (failed.length) process.stderr.write(`error[${failed[0]!.code ?? 'ZK_AUDIT_MISMATCH'}]: ${failed[0]!.name}: ${failed[0]!.detail}\n`);
      process.exitCode = r.ok ? 0 : 1;
    });
}
